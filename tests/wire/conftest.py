"""Fixtures shared by the wire tests."""
from __future__ import annotations

import socket

import pytest

from Pyro5.socketutil import SocketConnection


@pytest.fixture
def conns():
    """A connected socket pair wrapped in SocketConnections, 5 s timeouts so nothing can hang."""
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    ca, cb = SocketConnection(a), SocketConnection(b)
    yield ca, cb
    ca.close()
    cb.close()
