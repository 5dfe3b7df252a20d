"""Fixtures of the reliability tests: daemons running in a thread (stopped at teardown), thread counting."""
from __future__ import annotations

import threading

from tests.server._helpers import start_daemon  # noqa: F401 (fixtures, shared)


def threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
