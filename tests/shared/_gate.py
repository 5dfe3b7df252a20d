"""The gate the shared-proxy server tests put their objects behind: it counts the calls inside a method at
once and holds them until `open` is set."""
from __future__ import annotations

import threading


class Gate:
    """What the session objects below record: calls inside a method at once, and the most there were."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.entered = 0
        self.open = threading.Event()

    def run(self, tag):
        with self.lock:
            self.active += 1
            self.entered += 1
            self.most = max(self.most, self.active)
        self.open.wait(20)
        with self.lock:
            self.active -= 1
        return tag
