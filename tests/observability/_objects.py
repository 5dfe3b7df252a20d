"""Remote objects of the observability tests."""
from __future__ import annotations

import threading

from Pyro5.callcontext import current_context
from Pyro5.server import expose, oneway


@expose
class Calc:
    def __init__(self) -> None:
        self._value = 1
        self.oneway_done = threading.Event()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def add(self, a, b):
        return a + b

    def fail(self):
        raise ValueError("deliberately")

    def items(self, n):
        return (i for i in range(n))

    @oneway
    def fire(self, x):
        self.oneway_done.set()

    @oneway
    def block_oneway(self):
        """block(), as a oneway call"""
        self.block()

    def annotations_seen(self):
        return {k: v.decode("latin-1") for k, v in current_context.annotations.items()}

    def block(self):
        """waits until release is set (at most 10 s), holding the lock: the stuck call of the watchdog tests"""
        with self.lock:
            self.entered.set()
            return self.release.wait(10)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v
