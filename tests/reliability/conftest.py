"""Fixtures of the reliability tests: daemons running in a thread (stopped at teardown), thread counting."""
from __future__ import annotations

import threading

import pytest

from Pyro5.server import Daemon
from tests.server._helpers import RunningDaemon


@pytest.fixture
def start_daemon():
    """start_daemon(daemon_class=Daemon, **daemon_kwargs) -> RunningDaemon on 127.0.0.1; stopped at teardown."""
    running: list[RunningDaemon] = []

    def start(daemon_class=Daemon, **kwargs) -> RunningDaemon:
        kwargs.setdefault("host", "127.0.0.1")
        rd = RunningDaemon(daemon_class(**kwargs))
        running.append(rd)
        return rd

    yield start
    for rd in running:
        rd.stop()


def threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
