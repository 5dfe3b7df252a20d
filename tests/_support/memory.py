"""Measuring memory in tests: bytes as bounds, never time."""
from __future__ import annotations

import contextlib
import tracemalloc
from typing import Iterator


@contextlib.contextmanager
def peak_allocation() -> Iterator[list[int]]:
    """Yields a list that receives the peak of traced allocations (bytes above the start) of the block."""
    result: list[int] = []
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        yield result
        result.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        if started:
            tracemalloc.stop()
