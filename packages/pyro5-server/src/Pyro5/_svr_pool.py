"""A bounded, dynamically sized pool of worker threads with an optional job queue.

Used by the thread pool server (requests, or whole connections in the one-thread-per-connection mode) and by
the daemon for oneway calls. At most `max_workers` threads exist; they are started on demand and stop again
after _IDLE_TIMEOUT seconds without work (down to `min_workers`). A job that finds every worker busy waits
in the queue (at most `max_queued` jobs; None: no limit); beyond that, submit() raises NoFreeWorkersError.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable, Optional

__all__ = ["Pool", "PoolError", "NoFreeWorkersError"]

log = logging.getLogger("Pyro5.threadpoolserver")

_IDLE_TIMEOUT = 5.0         # seconds an extra (above the minimum) worker may stay idle before it stops


class PoolError(Exception):
    """The pool has no free worker (or is closed)."""


class NoFreeWorkersError(PoolError):
    """All worker threads of the pool are busy (and its queue, if any, is full)."""


class Pool:
    """Worker threads that run jobs (callables without arguments)."""

    def __init__(self, min_workers: int, max_workers: int, name: str = "Pyro-worker",
                 max_queued: Optional[int] = 0) -> None:
        self.min_workers = max(0, int(min_workers))
        self.max_workers = max(1, int(max_workers), self.min_workers)
        self.max_queued = max_queued
        self._name = name
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._cond = threading.Condition()
        self._workers: set[threading.Thread] = set()
        self._busy_threads: set[threading.Thread] = set()
        self._waiting = 0           # workers waiting for a job
        self._closed = False
        self._counter = 0
        with self._cond:
            for _ in range(self.min_workers):
                self._spawn()

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %d workers, %d busy, %d queued>" % (
            self.__module__, self.__class__.__name__, id(self), len(self._workers), len(self._busy_threads),
            len(self._jobs))

    @property
    def num_workers(self) -> int:
        return len(self._workers)

    @property
    def num_busy(self) -> int:
        return len(self._busy_threads)

    @property
    def num_queued(self) -> int:
        return len(self._jobs)

    @property
    def busy(self) -> frozenset:
        """the worker threads that are running a job (read only snapshot, as the original's pool.busy)"""
        with self._cond:
            return frozenset(self._busy_threads)

    @property
    def idle(self) -> frozenset:
        """the worker threads that wait for a job (read only snapshot, as the original's pool.idle)"""
        with self._cond:
            return frozenset(self._workers - self._busy_threads)

    def _spawn(self) -> None:
        self._counter += 1
        thread = threading.Thread(target=self._work, name="%s-%d" % (self._name, self._counter))
        thread.daemon = True
        self._workers.add(thread)
        thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Run the job on a free worker, or queue it; NoFreeWorkersError when the queue is full too."""
        with self._cond:
            if self._closed:
                raise PoolError("pool is closed")
            if self._waiting > len(self._jobs):
                pass                                    # a waiting worker takes it
            elif len(self._workers) < self.max_workers:
                self._spawn()
            elif self.max_queued is not None and len(self._jobs) >= self.max_queued:
                if self.max_queued:
                    raise NoFreeWorkersError("no free workers: all %d worker threads are busy and %d jobs are "
                                             "queued" % (self.max_workers, len(self._jobs)))
                raise NoFreeWorkersError("no free workers: all %d worker threads are busy" % self.max_workers)
            self._jobs.append(job)
            self._cond.notify()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._cond:
                    while not self._jobs:
                        if self._closed:
                            return
                        self._waiting += 1
                        woken = self._cond.wait(_IDLE_TIMEOUT)
                        self._waiting -= 1
                        if not woken and not self._jobs and len(self._workers) > self.min_workers:
                            return
                    job = self._jobs.popleft()
                    self._busy_threads.add(me)
                try:
                    job()
                except BaseException:       # (a job's SystemExit etc. must not shrink the pool unnoticed)
                    log.exception("unexpected error in worker thread")
                finally:
                    with self._cond:
                        self._busy_threads.discard(me)
        finally:
            with self._cond:
                self._workers.discard(me)
                self._busy_threads.discard(me)

    def close(self, join_timeout: float = 0.5) -> bool:
        """No new jobs; the workers finish the queued ones and stop. Waits up to join_timeout for them;
        returns True when every worker has stopped."""
        with self._cond:
            self._closed = True
            workers = list(self._workers)
            self._cond.notify_all()
        deadline = time.monotonic() + join_timeout
        current = threading.current_thread()
        for thread in workers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in workers if t is not current)
