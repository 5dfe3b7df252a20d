"""Storages of the name server: the interface, the in-memory storage and the sqlite storage.

A storage is a mutable mapping ``name -> (uri string, frozenset of metadata tags)`` with a few extra
methods that the name server uses for searching (see :class:`StorageBase`). A custom storage can subclass
``StorageBase`` and implement only the five mapping methods plus ``close()``; the search methods have
generic implementations that it may override with faster ones.

The name server serializes all access to its storage with one lock, but a storage may still be used from
several threads (the thread pool server's workers and the autoclean thread) so storages must not be bound
to the thread that created them.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any, Optional, Union

from Pyro5 import errors
from Pyro5._ns_regex import match_names

__all__ = ["StorageBase", "MemoryStorage", "SqlStorage", "create_storage"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name for the name server parts

Entry = tuple[str, frozenset]


class StorageBase(MutableMapping):
    """The storage interface: a mapping name -> (uri string, frozenset of metadata) plus search helpers."""

    def optimized_prefix_list(self, prefix: str, return_metadata: bool = False) -> dict[str, Any]:
        return _result({name: value for name, value in self.items() if name.startswith(prefix)}, return_metadata)

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

    def remove_items(self, items: Iterable[str]) -> None:
        for name in list(items):
            self.pop(name, None)

    def close(self) -> None:
        """Release the resources of the storage (files, connections)."""


def _result(found: dict[str, Entry], return_metadata: bool) -> dict[str, Any]:
    if return_metadata:
        return {name: (uri, set(meta)) for name, (uri, meta) in found.items()}
    return {name: uri for name, (uri, _meta) in found.items()}


class MemoryStorage(StorageBase):
    """Fast, volatile in-memory storage (a dict). The default storage of the name server."""

    def __init__(self, **kwargs: Any) -> None:
        self._data: dict[str, Entry] = {}
        self._lock = threading.RLock()

    def __getitem__(self, name: str) -> Entry:
        with self._lock:
            return self._data[name]

    def __setitem__(self, name: str, value: Entry) -> None:
        uri, metadata = value
        with self._lock:
            self._data[name] = (str(uri), frozenset(metadata))

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._data[name]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def items(self) -> list[tuple[str, Entry]]:  # type: ignore[override]
        with self._lock:
            return list(self._data.items())

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def close(self) -> None:
        self.clear()

    def __repr__(self) -> str:
        return "<%s with %d registrations>" % (type(self).__name__, len(self._data))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pyro_names (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    uri     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pyro_metadata (
    object  INTEGER NOT NULL REFERENCES pyro_names(id) ON DELETE CASCADE,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pyro_metadata_object ON pyro_metadata(object);
CREATE INDEX IF NOT EXISTS pyro_metadata_tag ON pyro_metadata(metadata);
"""


class SqlStorage(StorageBase):
    """Persistent storage in a sqlite database file (registrations survive a restart of the name server).

    One connection, usable from any thread, guarded by a lock; the database runs in WAL mode and every
    change is committed at once. The tables are the same as the original Pyro5's sqlite storage uses, so a
    database file can be shared with it.
    """

    def __init__(self, dbfile: Union[str, "os.PathLike[str]"]) -> None:
        self.dbfile = os.fspath(dbfile)
        self._lock = threading.RLock()
        try:
            self._db: Optional[sqlite3.Connection] = sqlite3.connect(self.dbfile, timeout=10.0,
                                                                     check_same_thread=False)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError:  # pragma: no cover - e.g. a file system without shared memory
                log.warning("sqlite storage %s: WAL journal mode not available", self.dbfile)
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as x:
            raise errors.NamingError("cannot use sqlite storage file %r: %s" % (self.dbfile, x)) from None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise errors.NamingError("the sqlite storage %r is closed" % self.dbfile)
        return self._db

    @staticmethod
    def _delete(db: sqlite3.Connection, names: list[str]) -> int:
        """Delete names and their metadata (explicitly: a database made by the original Pyro5 has no cascade)."""
        removed = 0
        for name in names:
            db.execute("DELETE FROM pyro_metadata WHERE object IN (SELECT id FROM pyro_names WHERE name=?)", (name,))
            removed += db.execute("DELETE FROM pyro_names WHERE name=?", (name,)).rowcount
        return removed

    def _tags(self, db: sqlite3.Connection, rowid: int) -> frozenset:
        return frozenset(row[0] for row in db.execute("SELECT metadata FROM pyro_metadata WHERE object=?",
                                                      (rowid,)))

    def __getitem__(self, name: str) -> Entry:
        with self._lock:
            db = self._conn()
            row = db.execute("SELECT id, uri FROM pyro_names WHERE name=?", (name,)).fetchone()
            if row is None:
                raise KeyError(name)
            return row[1], self._tags(db, row[0])

    def __setitem__(self, name: str, value: Entry) -> None:
        uri, metadata = value
        with self._lock:
            db = self._conn()
            with db:  # one transaction
                self._delete(db, [name])
                rowid = db.execute("INSERT INTO pyro_names(name, uri) VALUES(?,?)", (name, str(uri))).lastrowid
                db.executemany("INSERT INTO pyro_metadata(object, metadata) VALUES(?,?)",
                               [(rowid, tag) for tag in frozenset(metadata)])

    def __delitem__(self, name: str) -> None:
        with self._lock:
            db = self._conn()
            with db:
                if self._delete(db, [name]) == 0:
                    raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter([row[0] for row in self._conn().execute("SELECT name FROM pyro_names")])

    def __len__(self) -> int:
        with self._lock:
            return self._conn().execute("SELECT count(*) FROM pyro_names").fetchone()[0]

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return self._conn().execute("SELECT 1 FROM pyro_names WHERE name=?", (name,)).fetchone() is not None

    def items(self) -> list[tuple[str, Entry]]:  # type: ignore[override]
        with self._lock:
            db = self._conn()
            rows = db.execute("SELECT id, name, uri FROM pyro_names").fetchall()
            tags: dict[int, set[str]] = {}
            for rowid, tag in db.execute("SELECT object, metadata FROM pyro_metadata"):
                tags.setdefault(rowid, set()).add(tag)
            return [(name, (uri, frozenset(tags.get(rowid, ())))) for rowid, name, uri in rows]

    def optimized_prefix_list(self, prefix: str, return_metadata: bool = False) -> dict[str, Any]:
        return _result({name: value for name, value in self.items() if name.startswith(prefix)}, return_metadata)

    def remove_items(self, items: Iterable[str]) -> None:
        with self._lock:
            db = self._conn()
            with db:
                self._delete(db, list(items))

    def clear(self) -> None:
        with self._lock:
            db = self._conn()
            with db:
                db.execute("DELETE FROM pyro_metadata")
                db.execute("DELETE FROM pyro_names")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return "<%s %r>" % (type(self).__name__, self.dbfile)


def create_storage(spec: Union[str, StorageBase, None]) -> Any:
    """Make the storage for a name server from a spec: None or "memory" (in-memory), "sql:<file>" (sqlite),
    or an existing storage object (returned as-is)."""
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
        return SqlStorage(location)
    if kind == "dbm":
        raise errors.NamingError("invalid storage %r: the dbm storage is not supported by this name server; "
                                 "use sql:<file> for a persistent storage (or memory)" % spec)
    raise errors.NamingError("invalid storage type %r: use memory or sql:<file>" % spec)
