"""A bounded, dynamically sized pool of worker threads with an optional job queue.

Used by the thread pool server (requests, or whole connections in the one-thread-per-connection mode) and by
the daemon for oneway calls. At most `max_workers` threads exist; they are started on demand and stop again
after _IDLE_TIMEOUT seconds without work (down to `min_workers`). A job that finds every worker busy waits
in the queue (at most `max_queued` jobs; None: no limit); beyond that, submit() raises NoFreeWorkersError.
Jobs submitted with unbounded=True (the thread-pool server's oneway calls) wait in a second queue that has no
limit; a free worker alternates between the two queues, so neither kind of job starves the other.
A job goes to the worker that became idle last (a stack, not a queue): a client calling in a loop keeps meeting
the same warm thread, and the memory a large message used stays in that one thread's malloc arena (glibc gives
each thread an arena of its own; handing successive large requests round-robin to N workers kept N copies).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Optional

__all__ = ["Pool", "PoolError", "NoFreeWorkersError"]

log = logging.getLogger("Pyro5.threadpoolserver")

_IDLE_TIMEOUT = 5.0         # seconds an extra (above the minimum) worker may stay idle before it stops


class PoolError(Exception):
    """The pool has no free worker (or is closed)."""


class NoFreeWorkersError(PoolError):
    """All worker threads of the pool are busy (and its queue, if any, is full)."""


_STOP: Any = object()


class _Idle:
    """An idle worker's wake-up: submit() sets `job` and releases `wake` (acquired while the worker waits)."""

    __slots__ = ("thread", "wake", "job")

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.wake = threading.Lock()
        self.wake.acquire()
        self.job: Any = None


class Pool:
    """Worker threads that run jobs (callables without arguments)."""

    def __init__(self, min_workers: int, max_workers: int, name: str = "Pyro-worker",
                 max_queued: Optional[int] = 0) -> None:
        self.min_workers = max(0, int(min_workers))
        self.max_workers = max(1, int(max_workers), self.min_workers)
        self.max_queued = max_queued
        self._name = name
        # the idle workers, the last one to become idle at the end (it gets the next job); jobs that find
        # no idle worker wait in the two deques
        self._idle: list[_Idle] = []
        self._bounded: collections.deque[Callable[[], None]] = collections.deque()
        self._unbounded: collections.deque[Callable[[], None]] = collections.deque()
        self._took_unbounded = False    # the last job a worker took came from the unbounded queue
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._busy_threads: set[threading.Thread] = set()
        # jobs put in the queue and not taken by a worker yet (num_queued; a plain attribute: a lingering worker
        # reads it after every call it answers, see starved)
        self.queued = 0
        self._closed = False
        self._counter = 0
        with self._lock:
            for _ in range(self.min_workers):
                self._spawn()

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %d workers, %d busy, %d queued>" % (
            self.__module__, self.__class__.__name__, id(self), len(self._workers), len(self._busy_threads),
            self.queued)

    @property
    def num_workers(self) -> int:
        return len(self._workers)

    @property
    def num_busy(self) -> int:
        return len(self._busy_threads)

    @property
    def num_queued(self) -> int:
        return self.queued

    @property
    def starved(self) -> bool:
        """Do jobs wait that no worker will take soon? (queued jobs beyond the idle workers and the ones started
        for them; a worker that could wait for more work of its own gives way then)"""
        return self.queued > len(self._workers) - len(self._busy_threads)

    @property
    def busy(self) -> frozenset:
        """the worker threads that are running a job (read only snapshot, as the original's pool.busy)"""
        with self._lock:
            return frozenset(self._busy_threads)

    @property
    def idle(self) -> frozenset:
        """the worker threads that wait for a job (read only snapshot, as the original's pool.idle)"""
        with self._lock:
            return frozenset(self._workers - self._busy_threads)

    def _spawn(self, job: Optional[Callable[[], None]] = None) -> None:
        """(under the lock) A new worker; it runs `job` first, when given."""
        self._counter += 1
        thread = threading.Thread(target=self._work, args=(job,), name="%s-%d" % (self._name, self._counter))
        thread.daemon = True
        self._workers.add(thread)
        if job is not None:
            self._busy_threads.add(thread)
        thread.start()

    def submit(self, job: Callable[[], None], unbounded: bool = False) -> None:
        """Run the job on a free worker (the one that became free last), or queue it; NoFreeWorkersError when
        the queue is full too. unbounded: the job waits in the second queue, which has no limit (never refused
        unless closed)."""
        with self._lock:
            if self._closed:
                raise PoolError("pool is closed")
            if self._idle:
                slot = self._idle.pop()         # (last in, first out: a warm thread, and its malloc arena)
                slot.job = job
                self._busy_threads.add(slot.thread)
                slot.wake.release()
                return
            if len(self._workers) < self.max_workers:
                self._spawn(job)
                return
            if not unbounded and self.max_queued is not None and len(self._bounded) >= self.max_queued:
                if self.max_queued:
                    raise NoFreeWorkersError("no free workers: all %d worker threads are busy and %d jobs are "
                                             "queued" % (self.max_workers, self.queued))
                raise NoFreeWorkersError("no free workers: all %d worker threads are busy" % self.max_workers)
            self.queued += 1
            (self._unbounded if unbounded else self._bounded).append(job)

    def _work(self, job: Optional[Callable[[], None]]) -> None:
        me = threading.current_thread()
        slot = _Idle(me)
        lock = self._lock
        try:
            while job is not _STOP:
                if job is not None:
                    try:
                        job()
                    except BaseException:       # (a job's SystemExit etc. must not shrink the pool unnoticed)
                        log.exception("unexpected error in worker thread")
                    job = None
                with lock:
                    if self.queued:
                        self.queued -= 1
                        job = self._take()
                        continue
                    self._busy_threads.discard(me)
                    if self._closed:
                        return
                    self._idle.append(slot)
                while not slot.wake.acquire(timeout=_IDLE_TIMEOUT):
                    with lock:      # (not woken: stop when the pool has more than its minimum)
                        if slot in self._idle and (self._closed or len(self._workers) > self.min_workers):
                            self._idle.remove(slot)
                            return
                job, slot.job = slot.job, None
        finally:
            with lock:
                self._workers.discard(me)
                self._busy_threads.discard(me)
                if slot in self._idle:
                    self._idle.remove(slot)

    def _take(self) -> Callable[[], None]:
        """(under the lock; a job waits) the next job: alternately from each queue."""
        if self._unbounded and (not self._bounded or not self._took_unbounded):
            self._took_unbounded = True
            return self._unbounded.popleft()
        self._took_unbounded = False
        return self._bounded.popleft()

    def close(self, join_timeout: float = 0.5) -> bool:
        """No new jobs; the workers finish the queued ones and stop. Waits up to join_timeout for them;
        returns True when every worker has stopped."""
        with self._lock:
            if not self._closed:
                self._closed = True
                for slot in self._idle:
                    slot.job = _STOP
                    slot.wake.release()
                self._idle.clear()
            workers = list(self._workers)
        deadline = time.monotonic() + join_timeout
        current = threading.current_thread()
        for thread in workers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in workers if t is not current)
