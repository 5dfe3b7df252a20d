"""Pyro4.futures: Future (asynchronous calls of any callable) and FutureResult, with call chains.

This is the Pyro4 API; new code should use Python's own :mod:`concurrent.futures` instead.
"""
from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Callable

__all__ = ["Future", "FutureResult", "_ExceptionWrapper"]

log = logging.getLogger("Pyro5.compatibility.futures")


class _ExceptionWrapper:
    """Holds an exception that occurred in the background call, so that reading the value re-raises it."""

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception

    def raiseIt(self) -> None:
        raise self.exception

    def __repr__(self) -> str:
        return "<_ExceptionWrapper %r>" % (self.exception,)


class FutureResult:
    """
    The result of an asynchronous call (a Future, an asynchronous proxy call, or an asynchronous batch).
    ``value`` blocks until the result is there (and raises the exception of the call, if it failed),
    ``ready`` tells whether it is there, ``wait(timeout)`` waits for it.
    ``then(call, *args, **kwargs)`` adds a call to the chain: it receives the previous value as first argument.
    ``iferror(handler)`` registers a handler that is called with the exception, if one occurs.
    """

    def __init__(self) -> None:
        self.__ready = threading.Event()
        self.__value: Any = None
        self.callchain: list[tuple[Callable, tuple, dict]] = []
        self.valueLock = threading.Lock()
        self.exceptionhandler: Callable[[BaseException], Any] | None = None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the result; returns True when it is available, False when the timeout expired."""
        return self.__ready.wait(timeout)

    @property
    def ready(self) -> bool:
        """Is the result available?"""
        return self.__ready.is_set()

    def get_value(self) -> Any:
        self.__ready.wait()
        if isinstance(self.__value, _ExceptionWrapper):
            self.__value.raiseIt()
        return self.__value

    def set_value(self, value: Any) -> None:
        with self.valueLock:
            self.__value = value
            if isinstance(value, _ExceptionWrapper):
                self._handle_exception(value.exception)
            else:
                for call, args, kwargs in self.callchain:
                    try:
                        self.__value = call(self.__value, *args, **kwargs)
                    except Exception as x:
                        self.__value = _ExceptionWrapper(x)
                        self._handle_exception(x)
                        break
            self.callchain = []
            self.__ready.set()

    value = property(get_value, set_value, None, "The result value of the call. Reading it blocks until it is there.")

    def _handle_exception(self, exception: BaseException) -> None:
        if self.exceptionhandler is not None:
            try:
                self.exceptionhandler(exception)
            except Exception:
                log.exception("exception handler of a FutureResult failed")

    def set_cancelled(self) -> None:
        self.set_value(_ExceptionWrapper(RuntimeError("future has been cancelled")))

    def then(self, call: Callable, *args: Any, **kwargs: Any) -> "FutureResult":
        """Add a call to the chain; it gets the result so far as its first argument. Returns self."""
        with self.valueLock:
            if self.__ready.is_set():
                # the value is already known: process it right away
                if not isinstance(self.__value, _ExceptionWrapper):
                    try:
                        self.__value = call(self.__value, *args, **kwargs)
                    except Exception as x:
                        self.__value = _ExceptionWrapper(x)
                        self._handle_exception(x)
            else:
                self.callchain.append((call, args, kwargs))
        return self

    def iferror(self, exceptionhandler: Callable[[BaseException], Any]) -> "FutureResult":
        """Register a handler that is called with the exception when the call (or a chained call) fails."""
        with self.valueLock:
            self.exceptionhandler = exceptionhandler
            if self.__ready.is_set() and isinstance(self.__value, _ExceptionWrapper):
                self._handle_exception(self.__value.exception)
        return self


class Future:
    """
    Holds a callable that will be executed asynchronously (in a background thread) when you call the
    Future object; that returns a :class:`FutureResult` right away.
    ``then`` chains more calls, ``iferror`` registers an exception handler, ``delay`` postpones the
    evaluation and ``cancel`` prevents it (if it hasn't started yet).
    """

    def __init__(self, somecallable: Callable) -> None:
        if not callable(somecallable):
            raise TypeError("Future needs a callable, not %r" % (somecallable,))
        self.callable = somecallable
        self.chain: list[tuple[Callable, tuple, dict]] = []
        self.exceptionhandler: Callable[[BaseException], Any] | None = None
        self.call_delay = 0.0
        self.cancelled = False
        self.completed = False
        self._cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._running = False

    def __call__(self, *args: Any, **kwargs: Any) -> FutureResult:
        """Start the asynchronous call with these arguments; returns a FutureResult immediately."""
        if self.completed:
            raise RuntimeError("the future has already been evaluated")
        if self.cancelled:
            raise RuntimeError("the future has been cancelled")
        self.completed = True
        result = FutureResult()
        thread = threading.Thread(target=self._asynccall, args=(result, args, kwargs),
                                  name="Pyro4-compat-future", daemon=True)
        thread.start()
        return result

    def _asynccall(self, asyncresult: FutureResult, args: tuple, kwargs: dict) -> None:
        if self.call_delay > 0:
            self._cancel_event.wait(self.call_delay)
        with self._lock:
            if self.cancelled:
                asyncresult.set_cancelled()
                return
            self._running = True
        try:
            value = self.callable(*args, **kwargs)
            for call, cargs, ckwargs in self.chain:
                value = functools.partial(call, value)(*cargs, **ckwargs)
        except Exception as x:
            if self.exceptionhandler is not None:
                try:
                    self.exceptionhandler(x)
                except Exception:
                    log.exception("exception handler of a Future failed")
            asyncresult.value = _ExceptionWrapper(x)
        else:
            asyncresult.value = value

    def delay(self, seconds: float) -> None:
        """Delay the evaluation of the future for this many seconds (must be set before calling it)."""
        if self.completed:
            raise RuntimeError("the future has already been evaluated")
        if self.cancelled:
            raise RuntimeError("the future has been cancelled")
        self.call_delay = float(seconds)

    def cancel(self) -> bool:
        """Cancel the future if its callable hasn't started running yet (e.g. during its delay); returns success."""
        with self._lock:
            if self._running:
                return False
            self.cancelled = True
            self._cancel_event.set()
            return True

    def then(self, call: Callable, *args: Any, **kwargs: Any) -> "Future":
        """Add a call to the chain, executed after the previous one with its result as first argument."""
        if self.completed:
            raise RuntimeError("the future has already been evaluated")
        self.chain.append((call, args, kwargs))
        return self

    def iferror(self, exceptionhandler: Callable[[BaseException], Any]) -> "Future":
        """Register a handler that is called with the exception if the call (or a chained call) fails."""
        self.exceptionhandler = exceptionhandler
        return self
