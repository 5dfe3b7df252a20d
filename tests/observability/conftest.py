"""Fixtures of the observability tests (call hooks, call tracking, OpenTelemetry, pyro5-top): daemons on
127.0.0.1 running in a thread, per server type; the global client hooks are cleared after every test."""
from __future__ import annotations

import pytest

from tests.server._helpers import servertype, start_daemon  # noqa: F401 (fixtures, shared)


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
