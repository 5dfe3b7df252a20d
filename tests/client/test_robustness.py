"""Timeouts, retries (MAX_RETRIES), reconnecting after a server restart, and thread ownership of proxies."""
from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.client import Proxy
from tests.client._peer import start_peer


def test_timeout(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.3
        assert p._pyroTimeout == 0.3
        start = time.monotonic()
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(2)
        assert time.monotonic() - start < 1.8
        assert p._pyroConnection is None  # released: a late answer must not be taken for the next call
        assert p.add(1, 2) == 3  # reconnects
        p._pyroTimeout = None
        assert p.sleep(0.4) == 0.4


def test_timeout_from_config(peer):
    Pyro5.config.COMMTIMEOUT = 0.3
    with Proxy(peer.uri()) as p:
        assert p._pyroTimeout == 0.3
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(2)


def test_timeout_change_while_connected(peer):
    with Proxy(peer.uri()) as p:
        p._pyroBind()
        p._pyroTimeout = 0.3
        assert p._pyroConnection.timeout == 0.3
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(2)


def test_no_retries_by_default(peer):
    key = uuid.uuid4().hex
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.3
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.slow_first(key, 1.5)


def test_retry_per_proxy(peer):
    key = uuid.uuid4().hex
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.4
        p._pyroMaxRetries = 2
        assert p.slow_first(key, 1.5) == 2  # first attempt timed out, the retry succeeded


def test_retry_from_config(peer):
    Pyro5.config.MAX_RETRIES = 1
    key = uuid.uuid4().hex
    with Proxy(peer.uri()) as p:
        assert p._pyroMaxRetries == 1
        p._pyroTimeout = 0.4
        assert p.slow_first(key, 1.5) == 2


def test_retries_exhausted(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.2
        p._pyroMaxRetries = 1
        start = time.monotonic()
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(1.5)
        assert time.monotonic() - start >= 0.4  # two attempts


def test_server_keeps_serving_after_client_vanishes(peer):
    p = Proxy(peer.uri())
    p._pyroBind()
    p._pyroConnection.sock.shutdown(socket.SHUT_RDWR)  # rude disconnect
    p._pyroRelease()
    with Proxy(peer.uri()) as q:
        assert q.add(1, 2) == 3


@pytest.mark.slow
def test_reconnect_after_server_restart(tmp_path):
    first = start_peer()
    port = first.port
    try:
        p = Proxy(first.uri())
        assert p.add(1, 2) == 3
    finally:
        first.stop()
    with pytest.raises(Pyro5.errors.CommunicationError):
        p.add(1, 2)
    second = start_peer(port=port)
    try:
        p._pyroReconnect(5)
        assert p.add(2, 3) == 5
        p._pyroRelease()
        # automatic retry also reconnects after the server went away and came back
        p._pyroBind()
    finally:
        second.stop()
    third = start_peer(port=port)
    try:
        with pytest.raises(Pyro5.errors.ConnectionClosedError):
            p.add(1, 1)  # the old connection is gone
        assert p.add(1, 1) == 2  # and the proxy reconnects by itself
        p._pyroRelease()
        p._pyroBind()
    finally:
        third.stop()
    fourth = start_peer(port=port)
    try:
        p._pyroMaxRetries = 1
        assert p.add(3, 3) == 6  # with a retry the failure is not even visible
    finally:
        p._pyroRelease()
        fourth.stop()


class _OtherThread:
    def __init__(self, func):
        self.result = None
        self.error = None

        def run():
            try:
                self.result = func()
            except BaseException as x:
                self.error = x

        t = threading.Thread(target=run)
        t.start()
        t.join(20)
        assert not t.is_alive()


def test_ownership(peer):
    with Proxy(peer.uri()) as p:
        assert p.add(1, 2) == 3
        other = _OtherThread(lambda: p.add(1, 2))
        assert type(other.error) is Pyro5.errors.PyroError
        assert "not the owner of this proxy" in str(other.error)
        other = _OtherThread(lambda: p.prop)
        assert type(other.error) is Pyro5.errors.PyroError

        def claim_and_call():
            p._pyroClaimOwnership()
            return p.add(3, 4)

        other = _OtherThread(claim_and_call)
        assert other.error is None and other.result == 7
        with pytest.raises(Pyro5.errors.PyroError, match="not the owner"):
            p.add(1, 1)
        p._pyroClaimOwnership()
        assert p.add(1, 1) == 2  # same connection stayed active


def test_proxy_per_thread(peer):
    results = []

    def worker(n):
        with Proxy(peer.uri()) as p:
            results.append(sum(p.add(n, i) for i in range(20)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == sorted(20 * n + 190 for n in range(5))
