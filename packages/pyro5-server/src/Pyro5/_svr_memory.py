"""Giving memory back to the operating system after bursts of large messages (glibc).

The socket servers receive large messages in a way that keeps glibc's malloc at its largest heap thresholds
(see _wire_reader._settle_allocator: that avoids a page fault per 4 KiB of every large upload). The price is that
freed memory stays in the heaps: after a burst (many concurrent large calls, each worker thread with a heap
arena of its own) the process would keep hundreds of MiB resident. So a large transfer is noted here, and once
TRIM_DELAY seconds have passed without one, the daemon's housekeeping asks malloc to return its free memory
(malloc_trim). During a burst nothing is trimmed, so the upload speed stays; afterwards the memory is given back.
"""
from __future__ import annotations

import ctypes
import logging
import os
import time
from typing import Any, Optional

__all__ = ["LARGE_TRANSFER", "TRIM_DELAY", "note_large_transfer", "release_after_burst"]

log = logging.getLogger("Pyro5.server")

LARGE_TRANSFER = 1024 * 1024    # bytes: a message at least this big (received or sent) is part of a burst
TRIM_DELAY = 1.0                # seconds without a large transfer after which memory is given back

_last_large = 0.0
_pending = False
_trim: Optional[Any] = None
_trim_loaded = False


def note_large_transfer() -> None:
    """A large message was received or sent (cheap: called per large message)."""
    global _last_large, _pending
    _last_large = time.monotonic()
    _pending = True


def _malloc_trim() -> Optional[Any]:
    global _trim, _trim_loaded
    if not _trim_loaded:
        _trim_loaded = True
        try:
            if (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
                func = ctypes.CDLL(None).malloc_trim
                func.argtypes = [ctypes.c_size_t]
                func.restype = ctypes.c_int
                _trim = func
        except (AttributeError, ValueError, OSError):
            _trim = None
    return _trim


def release_after_burst() -> bool:
    """(housekeeping) Give free heap memory back when the last large transfer is TRIM_DELAY seconds ago.
    Returns True when it did."""
    global _pending
    if not _pending or time.monotonic() - _last_large < TRIM_DELAY:
        return False
    _pending = False
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    log.debug("gave free memory back to the system after a burst of large messages")
    return True
