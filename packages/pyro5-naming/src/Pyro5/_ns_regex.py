"""Safe evaluation of regular expressions that come from name server clients.

A client's pattern such as ``(a|aa)+$`` can backtrack catastrophically; with the stdlib ``re`` module that
would freeze the whole name server (the match holds the GIL and cannot be interrupted). Patterns are
therefore compiled with the third-party ``regex`` library (re-compatible syntax, VERSION0), which supports a
``timeout`` on matching and releases the GIL while it matches. All matches of one request share one time
budget; when it runs out the request fails with a NamingError and the server carries on.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Optional, TypeVar

import regex

from Pyro5 import errors

__all__ = ["REGEX_TIMEOUT", "compile_pattern", "match_names"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name for the name server parts

#: the total number of seconds the matches of one request may take (the name server uses its own
#: ``Pyro5.nameserver.REGEX_TIMEOUT``; this one is the default of the storages' generic search)
REGEX_TIMEOUT = 1.0

T = TypeVar("T")


def compile_pattern(pattern: str) -> Any:
    """Compile a client's pattern (re syntax); NamingError when it is invalid."""
    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as x:
        raise errors.NamingError("invalid regex: %s" % x) from None


def match_names(pattern: str, items: Iterable[tuple[str, T]], timeout: Optional[float] = None) -> list[tuple[str, T]]:
    """The (name, value) items whose name matches the pattern (at the start, like re.match).

    All matching together may take at most `timeout` seconds (default REGEX_TIMEOUT); when that is exceeded a
    NamingError says so. Never call this while holding a lock other requests need."""
    compiled = compile_pattern(pattern) if isinstance(pattern, str) else pattern
    budget = REGEX_TIMEOUT if timeout is None else float(timeout)
    deadline = time.monotonic() + budget
    found: list[tuple[str, T]] = []
    for name, value in items:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError("regex timed out")
            matched = compiled.match(name, timeout=remaining)
        except TimeoutError:
            message = ("regex took too long (more than %.3g seconds) matching the registered names; "
                       "use a simpler pattern (avoid nested repetition such as (a|aa)+) or a prefix"
                       % budget)
            log.warning("name server rejected a request: %s; pattern %r", message, compiled.pattern[:100])
            raise errors.NamingError(message) from None
        if matched:
            found.append((name, value))
    return found
