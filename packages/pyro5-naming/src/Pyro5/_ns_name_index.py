"""A sorted index of names for the in-memory storage: a prefix scan costs O(log n + k), not O(n).

The index is a sorted list, built on the first prefix scan and kept up to date cheaply afterwards: a new name
is added to a pending list (merged in at the next scan: inserted one by one when they are few, sorted in
when they are many), a removed name simply stays in the list as a stale entry (the scan checks each candidate
against the live mapping) until stale entries make up half of the list, then the index is rebuilt.
Not thread safe by itself: the storage calls it under its lock.
"""
from __future__ import annotations

import bisect
from collections.abc import Container, Iterable

__all__ = ["NameIndex"]

_INSERT_ONE_BY_ONE = 64      # at most this many pending names are inserted with bisect.insort, more are sorted in


class NameIndex:
    __slots__ = ("_sorted", "_pending", "_stale")

    def __init__(self) -> None:
        self._sorted: list[str] | None = None      # None: not built (no prefix scan so far)
        self._pending: list[str] = []
        self._stale = 0

    def added(self, name: str) -> None:
        """A name that was not in the mapping is in it now."""
        if self._sorted is not None:
            self._pending.append(name)

    def removed(self, count: int = 1) -> None:
        """`count` names left the mapping."""
        if self._sorted is not None:
            self._stale += count

    def clear(self) -> None:
        self._sorted = None
        self._pending = []
        self._stale = 0

    def scan(self, prefix: str, live: Container[str], all_names: Iterable[str], size: int) -> list[str]:
        """The names in `live` (the mapping, of `size` names) that start with prefix, in order."""
        index = self._sorted
        if index is None or self._stale > size // 2 + 64:
            index = self._sorted = sorted(all_names)
            self._pending = []
            self._stale = 0
        elif self._pending:
            if len(self._pending) <= _INSERT_ONE_BY_ONE:
                for name in self._pending:
                    bisect.insort(index, name)
            else:
                index.extend(self._pending)
                index.sort()        # (timsort merges the two sorted runs)
            self._pending = []
        found: list[str] = []
        previous = None
        for i in range(bisect.bisect_left(index, prefix), len(index)):
            name = index[i]
            if not name.startswith(prefix):
                break
            if name != previous and name in live:      # (a removed and re-added name can be there twice)
                found.append(name)
            previous = name
        return found
