"""Fixtures of the observability tests (call hooks, call tracking, OpenTelemetry, pyro5-top): daemons on
127.0.0.1 running in a thread, per server type; the global client hooks are cleared after every test."""
from __future__ import annotations

import pytest

import Pyro5
from tests.server._helpers import SERVERTYPES, RunningDaemon


@pytest.fixture(params=SERVERTYPES)
def servertype(request):
    """Each server type; sets config.SERVERTYPE (the config is reset after every test)."""
    Pyro5.config.SERVERTYPE = request.param
    return request.param


@pytest.fixture
def start_daemon():
    """start_daemon(**daemon_kwargs) -> RunningDaemon (host 127.0.0.1); all are stopped at teardown."""
    from Pyro5.server import Daemon
    running: list[RunningDaemon] = []

    def start(daemon_class=Daemon, **kwargs) -> RunningDaemon:
        kwargs.setdefault("host", "127.0.0.1")
        rd = RunningDaemon(daemon_class(**kwargs))
        running.append(rd)
        return rd

    yield start
    for rd in running:
        rd.stop()


@pytest.fixture(autouse=True)
def _clear_client_hooks():
    yield
    try:
        from Pyro5 import _client_hooks
    except ImportError:     # pragma: no cover - no client installed
        return
    _client_hooks.GLOBAL.interceptors.clear()
    _client_hooks.GLOBAL.observers.clear()
    _client_hooks.GLOBAL.changed()
