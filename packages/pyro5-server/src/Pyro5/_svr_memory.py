"""Giving memory back to the operating system after bursts of large messages (glibc).

The socket servers receive large messages in a way that keeps glibc's malloc at its largest heap thresholds
(see _wire_reader._settle_allocator: that avoids a page fault per 4 KiB of every large upload). The price is that
freed memory stays in the heaps: after a burst (many concurrent large calls, each worker thread with a heap
arena of its own) the process would keep hundreds of MiB resident. So a large transfer is noted here, and once
TRIM_DELAY seconds have passed without one, the daemon's housekeeping asks malloc to return its free memory
(malloc_trim). During a burst nothing is trimmed, so the upload speed stays; afterwards the memory is given back
(and the receive buffer kept for the next big message, _wire_reader.recycle_buffer, is freed).

glibc also gives every thread that allocates a malloc arena of its own (up to 8 per CPU), and memory freed in
one arena is never reused by another. A large request is received by the server's loop thread and deserialized
by a worker: with an arena each, every thread kept its own high-water mark, and the server's peak memory was 3-6
times a message instead of 2. Python threads allocate under the GIL, so separate arenas buy no parallelism: a
Daemon asks glibc for ONE arena (mallopt M_ARENA_MAX) before its threads exist, unless the environment sets
MALLOC_ARENA_MAX (the user's choice wins). Threads that allocated before keep the arena they had.
"""
from __future__ import annotations

import ctypes
import logging
import os
import time
from typing import Any, Optional

from ._wire_reader import release_spare_buffer

__all__ = ["LARGE_TRANSFER", "TRIM_DELAY", "note_large_transfer", "release_after_burst", "share_one_arena"]

log = logging.getLogger("Pyro5.server")

LARGE_TRANSFER = 1024 * 1024    # bytes: a message at least this big (received or sent) is part of a burst
TRIM_DELAY = 1.0                # seconds without a large transfer after which memory is given back

_last_large = 0.0
_pending = False
_trim: Optional[Any] = None
_trim_loaded = False
_arenas_limited = False
_M_ARENA_MAX = -8       # glibc's mallopt parameter number


def note_large_transfer() -> None:
    """A large message was received or sent (cheap: called per large message)."""
    global _last_large, _pending
    _last_large = time.monotonic()
    _pending = True


def _glibc_function(name: str, argtypes: list) -> Optional[Any]:
    """A glibc function through ctypes, or None (another C library, or no ctypes)."""
    try:
        if (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            func = getattr(ctypes.CDLL(None), name)
            func.argtypes = argtypes
            func.restype = ctypes.c_int
            return func
    except (AttributeError, ValueError, OSError):
        pass
    return None


def _malloc_trim() -> Optional[Any]:
    global _trim, _trim_loaded
    if not _trim_loaded:
        _trim_loaded = True
        _trim = _glibc_function("malloc_trim", [ctypes.c_size_t])
    return _trim


def share_one_arena() -> bool:
    """(glibc, once per process) Threads created from now on allocate from one malloc arena (see above), unless
    MALLOC_ARENA_MAX is set in the environment. True when the limit was set by this call."""
    global _arenas_limited
    if _arenas_limited or "MALLOC_ARENA_MAX" in os.environ:
        return False
    _arenas_limited = True
    mallopt = _glibc_function("mallopt", [ctypes.c_int, ctypes.c_int])
    return bool(mallopt is not None and mallopt(_M_ARENA_MAX, 1))


def release_after_burst() -> bool:
    """(housekeeping) Give free heap memory back when the last large transfer is TRIM_DELAY seconds ago.
    Returns True when it did."""
    global _pending
    if not _pending or time.monotonic() - _last_large < TRIM_DELAY:
        return False
    _pending = False
    release_spare_buffer()      # (the receive buffer kept for the next big message: see _wire_reader.recycle_buffer)
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    log.debug("gave free memory back to the system after a burst of large messages")
    return True
