"""Storages of the name server: the interface, the in-memory storage and the storage factory.

A storage maps ``name -> (uri string, frozenset of metadata tags)``. Besides the mapping protocol it offers
the operations that keep a registry correct when several name servers share it (see :class:`StorageBase`):
atomic put-if-absent and compare-and-set, delete by names with a count, an ordered prefix scan, tag lookup,
leases with a TTL (names that disappear unless kept alive) and a leader election for work that exactly one
name server must do (NS_AUTOCLEAN).

Implementations: :class:`MemoryStorage` (here), :class:`~Pyro5._ns_store_sql.SqlStorage` (sqlite) and
:class:`~Pyro5._ns_store_etcd.EtcdStorage` (etcd, shared by several name servers). A custom storage may
subclass ``StorageBase`` and implement only the five mapping methods plus ``close()``: the other methods
have generic implementations, correct for a storage that one name server uses alone (it serializes access
with its lock). Storages are used from several threads, so they must not be bound to the creating thread.
"""
from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any, Optional, Union

from Pyro5 import errors
from Pyro5._ns_name_index import NameIndex
from Pyro5._ns_regex import match_names

__all__ = ["StorageBase", "MemoryStorage", "MappingAdapter", "create_storage", "check_ttl", "Entry"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name for the name server parts

Entry = tuple[str, frozenset]


class StorageBase(MutableMapping):
    """The storage interface: a mapping name -> (uri string, frozenset of metadata) plus the registry
    operations. The generic implementations here rely on the caller's lock (one name server, one process)."""

    #: True when several name servers may use the same registry at the same time (etcd)
    shared = False

    # ---- writes
    def put(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> None:
        """Store the entry unconditionally (replacing an existing one and its lease)."""
        if lease is not None:
            raise errors.NamingError("this storage (%s) does not support registrations with a TTL"
                                     % type(self).__name__)
        self[name] = (uri, frozenset(metadata))

    def put_if_absent(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> bool:
        """Store the entry only when the name is not registered; False when it is (atomic)."""
        if name in self:
            return False
        self.put(name, uri, metadata, lease)
        return True

    def compare_and_set(self, name: str, expected: Entry, new: Entry) -> bool:
        """Replace the entry only when it is still `expected`; keeps the entry's lease. False otherwise."""
        current = self.get(name)
        if current is None or (current[0], frozenset(current[1])) != (expected[0], frozenset(expected[1])):
            return False
        self[name] = (new[0], frozenset(new[1]))
        return True

    def compare_and_delete(self, name: str, uri: str) -> bool:
        """Delete the name only when it is still registered with this uri."""
        current = self.get(name)
        if current is None or current[0] != uri:
            return False
        del self[name]
        return True

    def delete_names(self, names: Iterable[str]) -> int:
        """Delete the names; returns how many were registered."""
        removed = 0
        for name in list(names):
            try:
                del self[name]
                removed += 1
            except KeyError:
                pass
        return removed

    def delete_prefix(self, prefix: str) -> int:
        return self.delete_names([name for name, _entry in self.scan_prefix(prefix)])

    def add_many(self, entries: Iterable[tuple[str, str, frozenset]]) -> None:
        """Bulk import of (name, uri, metadata) entries, unconditionally."""
        for name, uri, metadata in entries:
            self.put(name, uri, frozenset(metadata))

    def remove_items(self, items: Iterable[str]) -> None:
        self.delete_names(items)

    # ---- reads
    def scan_prefix(self, prefix: str) -> list[tuple[str, Entry]]:
        """The entries whose name starts with prefix, ordered by name."""
        return sorted((name, value) for name, value in self.items() if name.startswith(prefix))

    def optimized_prefix_list(self, prefix: str, return_metadata: bool = False) -> dict[str, Any]:
        return _result(dict(self.scan_prefix(prefix)), return_metadata)

    def optimized_regex_list(self, regex: str, return_metadata: bool = False) -> dict[str, Any]:
        # the pattern may come from a client: compiled with the `regex` library and matched with a time limit
        return _result(dict(match_names(regex, list(self.items()))), return_metadata)

    def optimized_metadata_search(self, metadata_all: Optional[Iterable[str]] = None,
                                  metadata_any: Optional[Iterable[str]] = None,
                                  return_metadata: bool = False) -> dict[str, Any]:
        if metadata_all is not None and metadata_any is not None:
            raise ValueError("you can't use meta_all or meta_any at the same time")
        found: dict[str, Entry] = {}
        if metadata_all is not None:
            wanted = frozenset(metadata_all)
            if not wanted:
                return {}
            found = {name: value for name, value in self.items() if wanted.issubset(value[1])}
        elif metadata_any is not None:
            wanted = frozenset(metadata_any)
            found = {name: value for name, value in self.items() if wanted & value[1]}
        return _result(found, return_metadata)

    def everything(self, return_metadata: bool = False) -> dict[str, Any]:
        return _result(dict(self.items()), return_metadata)

    # ---- leases and leadership
    def grant_lease(self, ttl: float) -> int:
        """A new lease of ttl seconds; names put with it disappear when it expires or is revoked."""
        raise errors.NamingError("this storage (%s) does not support registrations with a TTL" % type(self).__name__)

    def keep_alive(self, lease: int) -> float:
        """Renew the lease for its full TTL; returns the TTL, or 0 when the lease has expired (or is unknown)."""
        raise errors.NamingError("this storage (%s) does not support registrations with a TTL" % type(self).__name__)

    def revoke_lease(self, lease: int) -> None:
        """End the lease now: its names are removed."""
        raise errors.NamingError("this storage (%s) does not support registrations with a TTL" % type(self).__name__)

    def elect(self, role: str, candidate: str, ttl: float) -> bool:
        """Campaign for (or renew) the leadership of `role` for ttl seconds; True when candidate leads.
        A storage of one name server has one candidate: it always leads."""
        return True

    def resign(self, role: str, candidate: str) -> None:
        """Give up the leadership of `role` if candidate holds it."""

    def close(self) -> None:
        """Release the resources of the storage (files, connections)."""


def _result(found: dict[str, Entry], return_metadata: bool) -> dict[str, Any]:
    if return_metadata:
        return {name: (uri, set(meta)) for name, (uri, meta) in found.items()}
    return {name: uri for name, (uri, _meta) in found.items()}


def check_ttl(ttl: Any) -> float:
    """A lease TTL in seconds: a positive number of at most a day."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or not 0 < ttl <= 86400:
        raise errors.NamingError("ttl must be a number of seconds > 0 and <= 86400, not %r" % (ttl,))
    return float(ttl)


class MappingAdapter(StorageBase):
    """The registry operations for a custom storage that implements only the mapping protocol."""

    def __init__(self, mapping: Any) -> None:
        self.mapping = mapping

    def __getitem__(self, name: str) -> Entry:
        return self.mapping[name]

    def __setitem__(self, name: str, value: Entry) -> None:
        self.mapping[name] = value

    def __delitem__(self, name: str) -> None:
        del self.mapping[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)

    def __contains__(self, name: object) -> bool:
        return name in self.mapping

    def items(self) -> Any:
        return self.mapping.items()


class MemoryStorage(StorageBase):
    """Fast, volatile in-memory storage (a dict). The default storage of the name server.
    Leases are expiry times on the monotonic clock; expired names are purged before every operation.
    A sorted name index (built at the first prefix scan) keeps list(prefix=...) independent of the number of
    names."""

    def __init__(self, **kwargs: Any) -> None:
        self._data: dict[str, Entry] = {}
        self._index = NameIndex()
        self._lock = threading.RLock()
        self._leases: dict[int, tuple[float, float, set[str]]] = {}   # lease -> (ttl, expires, names)
        self._name_lease: dict[str, int] = {}
        self._lease_ids = itertools.count(1)
        self._next_expiry = math.inf
        self._leaders: dict[str, tuple[str, float]] = {}

    # ---- leases
    def _purge(self) -> None:
        if time.monotonic() < self._next_expiry:
            return
        with self._lock:
            now = time.monotonic()
            for lease, (_ttl, expires, _names) in list(self._leases.items()):
                if expires <= now:
                    self._drop_lease(lease)
            self._next_expiry = min((expires for _t, expires, _n in self._leases.values()), default=math.inf)

    def _drop_lease(self, lease: int) -> int:
        _ttl, _expires, names = self._leases.pop(lease)
        for name in names:
            if self._data.pop(name, None) is not None:
                self._index.removed()
            self._name_lease.pop(name, None)
        return len(names)

    def _attach(self, name: str, lease: Optional[int]) -> None:
        old = self._name_lease.pop(name, None)
        if old is not None and old in self._leases:
            self._leases[old][2].discard(name)
        if lease is not None:
            self._leases[lease][2].add(name)
            self._name_lease[name] = lease

    def _check_lease(self, lease: Optional[int]) -> None:
        if lease is not None and lease not in self._leases:
            raise errors.NamingError("lease %s has expired or does not exist" % lease)

    def grant_lease(self, ttl: float) -> int:
        ttl = check_ttl(ttl)
        with self._lock:
            lease = next(self._lease_ids)
            expires = time.monotonic() + ttl
            self._leases[lease] = (ttl, expires, set())
            self._next_expiry = min(self._next_expiry, expires)
            return lease

    def keep_alive(self, lease: int) -> float:
        with self._lock:
            self._purge()
            if lease not in self._leases:
                return 0.0
            ttl, _expires, names = self._leases[lease]
            self._leases[lease] = (ttl, time.monotonic() + ttl, names)
            self._next_expiry = min((expires for _t, expires, _n in self._leases.values()), default=math.inf)
            return ttl

    def revoke_lease(self, lease: int) -> None:
        with self._lock:
            if lease in self._leases:
                self._drop_lease(lease)

    def elect(self, role: str, candidate: str, ttl: float) -> bool:
        with self._lock:
            now = time.monotonic()
            holder, expires = self._leaders.get(role, (candidate, now))
            if holder != candidate and expires > now:
                return False
            self._leaders[role] = (candidate, now + ttl)
            return True

    def resign(self, role: str, candidate: str) -> None:
        with self._lock:
            if self._leaders.get(role, ("", 0.0))[0] == candidate:
                del self._leaders[role]

    # ---- the mapping and the registry operations
    def put(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> None:
        with self._lock:
            self._purge()
            self._check_lease(lease)
            if name not in self._data:
                self._index.added(name)
            self._data[name] = (str(uri), frozenset(metadata))
            self._attach(name, lease)

    def put_if_absent(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> bool:
        with self._lock:
            self._purge()
            if name in self._data:
                return False
            self.put(name, uri, metadata, lease)
            return True

    def compare_and_set(self, name: str, expected: Entry, new: Entry) -> bool:
        with self._lock:
            self._purge()
            current = self._data.get(name)
            if current is None or current != (expected[0], frozenset(expected[1])):
                return False
            self._data[name] = (str(new[0]), frozenset(new[1]))
            return True

    def __getitem__(self, name: str) -> Entry:
        with self._lock:
            self._purge()
            return self._data[name]

    def __setitem__(self, name: str, value: Entry) -> None:
        uri, metadata = value
        self.put(name, uri, metadata)

    def __delitem__(self, name: str) -> None:
        with self._lock:
            self._purge()
            del self._data[name]
            self._index.removed()
            self._attach(name, None)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._purge()
            return iter(list(self._data))

    def __len__(self) -> int:
        self._purge()
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        self._purge()
        return name in self._data

    def items(self) -> list[tuple[str, Entry]]:  # type: ignore[override]
        with self._lock:
            self._purge()
            return list(self._data.items())

    def scan_prefix(self, prefix: str) -> list[tuple[str, Entry]]:
        with self._lock:
            self._purge()
            data = self._data
            return [(name, data[name]) for name in self._index.scan(prefix, data, data, len(data))]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._index.clear()
            self._leases.clear()
            self._name_lease.clear()
            self._next_expiry = math.inf

    def close(self) -> None:
        self.clear()

    def __repr__(self) -> str:
        return "<%s with %d registrations>" % (type(self).__name__, len(self._data))


def __getattr__(name: str) -> Any:
    # the sqlite and etcd storages live in modules of their own; imported on first use
    if name == "SqlStorage":
        from Pyro5._ns_store_sql import SqlStorage
        return SqlStorage
    if name == "EtcdStorage":
        from Pyro5._ns_store_etcd import EtcdStorage
        return EtcdStorage
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def create_storage(spec: Union[str, StorageBase, None]) -> Any:
    """Make the storage for a name server from a spec: None or "memory" (in-memory), "sql:<file>" (sqlite),
    "etcd://host:port[,host:port...]/prefix" (etcd, shared by name servers), or a storage object (as-is)."""
    if spec is None:
        return MemoryStorage()
    if not isinstance(spec, str):
        return spec
    kind, colon, location = spec.partition(":")
    if spec == "memory":
        return MemoryStorage()
    if kind == "sql":
        if not location:
            raise errors.NamingError("invalid storage %r: give the sqlite database file name, as sql:<file>" % spec)
        from Pyro5._ns_store_sql import SqlStorage
        return SqlStorage(location)
    if kind == "etcd":
        from Pyro5._ns_store_etcd import EtcdStorage
        return EtcdStorage.from_spec(spec)
    if kind == "dbm":
        raise errors.NamingError("invalid storage %r: the dbm storage is not supported by this name server; "
                                 "use sql:<file> for a persistent storage (or memory)" % spec)
    raise errors.NamingError("invalid storage type %r: use memory, sql:<file> or etcd://host:port/prefix" % spec)
