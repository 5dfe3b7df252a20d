"""The sqlite storage of the name server: persistent, and safe to share between processes on one machine.

The tables ``pyro_names`` and ``pyro_metadata`` are the ones the original Pyro5's sqlite storage uses, so a
database file can be shared with it; leases and leaders live in extra tables (``pyro5_*``) that the
original ignores. Lease times are wall-clock (``time.time()``) since other processes read them too.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Optional, Union

from Pyro5 import errors
from Pyro5._ns_storage import Entry, StorageBase, _result, check_ttl, log

__all__ = ["SqlStorage"]

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
CREATE TABLE IF NOT EXISTS pyro5_leases (id INTEGER PRIMARY KEY, ttl REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS pyro5_leases_expires ON pyro5_leases(expires);
CREATE TABLE IF NOT EXISTS pyro5_name_leases (name TEXT PRIMARY KEY, lease INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pyro5_name_leases_lease ON pyro5_name_leases(lease);
CREATE TABLE IF NOT EXISTS pyro5_leaders (role TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
"""


_IN_CHUNK = 500     # ids per "IN (...)" query (sqlite limits the number of parameters)


def _prefix_upper(prefix: str) -> Optional[str]:
    """The smallest string greater than every string that starts with prefix (None: there is none, or the
    prefix is empty). sqlite compares text as UTF-8 bytes, which orders like the code points."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:
            last = 0xE000           # (surrogates can't be encoded)
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


class SqlStorage(StorageBase):
    """Persistent storage in a sqlite database file (registrations survive a restart of the name server).

    One connection, usable from any thread, guarded by a lock; the database runs in WAL mode and every
    change is one transaction (``BEGIN IMMEDIATE``), so name servers in several processes on one file get
    atomic put-if-absent and compare-and-set.
    """

    def __init__(self, dbfile: Union[str, "os.PathLike[str]"]) -> None:
        self.dbfile = os.fspath(dbfile)
        self._lock = threading.RLock()
        try:
            self._db: Optional[sqlite3.Connection] = sqlite3.connect(self.dbfile, timeout=10.0,
                                                                     check_same_thread=False,
                                                                     isolation_level=None)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL with synchronous=NORMAL: no fsync per transaction (the WAL is synced at checkpoints), so a
                # registration is a write to the WAL file, not a disk flush. The database never gets corrupted;
                # a power loss or OS crash (not a crash of the process) may lose the last registrations.
                self._db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError:  # pragma: no cover - e.g. a file system without shared memory
                log.warning("sqlite storage %s: WAL journal mode not available", self.dbfile)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as x:
            raise errors.NamingError("cannot use sqlite storage file %r: %s" % (self.dbfile, x)) from None

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (IMMEDIATE for writes) with expired leases purged first."""
        with self._lock:
            if self._db is None:
                raise errors.NamingError("the sqlite storage %r is closed" % self.dbfile)
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                if write:
                    self._purge(db)
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as x:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise errors.NamingError("sqlite storage %r: %s" % (self.dbfile, x)) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _read(self) -> Any:
        # reads purge too (they need the write lock for that only when something has expired)
        with self._lock:
            if self._db is not None and self._db.execute("SELECT 1 FROM pyro5_leases WHERE expires<=? LIMIT 1",
                                                         (time.time(),)).fetchone():
                with self._tx():
                    pass
        return self._tx(write=False)

    @classmethod
    def _purge(cls, db: sqlite3.Connection) -> None:
        expired = [row[0] for row in db.execute("SELECT id FROM pyro5_leases WHERE expires<=?", (time.time(),))]
        for lease in expired:
            cls._drop_lease(db, lease)

    @classmethod
    def _drop_lease(cls, db: sqlite3.Connection, lease: int) -> None:
        names = [row[0] for row in db.execute("SELECT name FROM pyro5_name_leases WHERE lease=?", (lease,))]
        cls._delete(db, names)
        db.execute("DELETE FROM pyro5_leases WHERE id=?", (lease,))

    @staticmethod
    def _delete(db: sqlite3.Connection, names: list[str]) -> int:
        """Delete names and their metadata (explicitly: a database made by the original Pyro5 has no cascade)."""
        removed = 0
        for name in names:
            db.execute("DELETE FROM pyro_metadata WHERE object IN (SELECT id FROM pyro_names WHERE name=?)", (name,))
            db.execute("DELETE FROM pyro5_name_leases WHERE name=?", (name,))
            removed += db.execute("DELETE FROM pyro_names WHERE name=?", (name,)).rowcount
        return removed

    @staticmethod
    def _insert(db: sqlite3.Connection, name: str, uri: str, metadata: Iterable[str], lease: Optional[int]) -> None:
        rowid = db.execute("INSERT INTO pyro_names(name, uri) VALUES(?,?)", (name, str(uri))).lastrowid
        tags = frozenset(metadata)
        if tags:
            db.executemany("INSERT INTO pyro_metadata(object, metadata) VALUES(?,?)", [(rowid, tag) for tag in tags])
        if lease is not None:
            if db.execute("SELECT 1 FROM pyro5_leases WHERE id=?", (lease,)).fetchone() is None:
                raise errors.NamingError("lease %s has expired or does not exist" % lease)
            db.execute("INSERT INTO pyro5_name_leases(name, lease) VALUES(?,?)", (name, lease))

    @staticmethod
    def _entry(db: sqlite3.Connection, name: str) -> Optional[Entry]:
        row = db.execute("SELECT id, uri FROM pyro_names WHERE name=?", (name,)).fetchone()
        if row is None:
            return None
        tags = frozenset(r[0] for r in db.execute("SELECT metadata FROM pyro_metadata WHERE object=?", (row[0],)))
        return row[1], tags

    # ---- leases and leadership
    def grant_lease(self, ttl: float) -> int:
        ttl = check_ttl(ttl)
        with self._tx() as db:
            return int(db.execute("INSERT INTO pyro5_leases(ttl, expires) VALUES(?,?)",
                                  (ttl, time.time() + ttl)).lastrowid or 0)

    def keep_alive(self, lease: int) -> float:
        with self._tx() as db:
            row = db.execute("SELECT ttl FROM pyro5_leases WHERE id=?", (lease,)).fetchone()
            if row is None:
                return 0.0
            db.execute("UPDATE pyro5_leases SET expires=? WHERE id=?", (time.time() + row[0], lease))
            return float(row[0])

    def revoke_lease(self, lease: int) -> None:
        with self._tx() as db:
            self._drop_lease(db, lease)

    def elect(self, role: str, candidate: str, ttl: float) -> bool:
        with self._tx() as db:
            now = time.time()
            row = db.execute("SELECT holder, expires FROM pyro5_leaders WHERE role=?", (role,)).fetchone()
            if row is not None and row[0] != candidate and row[1] > now:
                return False
            db.execute("INSERT OR REPLACE INTO pyro5_leaders(role, holder, expires) VALUES(?,?,?)",
                       (role, candidate, now + ttl))
            return True

    def resign(self, role: str, candidate: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pyro5_leaders WHERE role=? AND holder=?", (role, candidate))

    # ---- registry operations
    def put(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM pyro_names WHERE name=?", (name,)).fetchone() is not None:
                self._delete(db, [name])
            else:
                db.execute("DELETE FROM pyro5_name_leases WHERE name=?", (name,))
            self._insert(db, name, uri, metadata, lease)

    def put_if_absent(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> bool:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM pyro_names WHERE name=?", (name,)).fetchone() is not None:
                return False
            self._insert(db, name, uri, metadata, lease)
            return True

    def compare_and_set(self, name: str, expected: Entry, new: Entry) -> bool:
        with self._tx() as db:
            if self._entry(db, name) != (expected[0], frozenset(expected[1])):
                return False
            row = db.execute("SELECT lease FROM pyro5_name_leases WHERE name=?", (name,)).fetchone()
            self._delete(db, [name])
            self._insert(db, name, new[0], new[1], row[0] if row else None)
            return True

    def compare_and_delete(self, name: str, uri: str) -> bool:
        with self._tx() as db:
            entry = self._entry(db, name)
            if entry is None or entry[0] != uri:
                return False
            return self._delete(db, [name]) > 0

    def delete_names(self, names: Iterable[str]) -> int:
        with self._tx() as db:
            return self._delete(db, list(names))

    def add_many(self, entries: Iterable[tuple[str, str, frozenset]]) -> None:
        with self._tx() as db:
            for name, uri, metadata in entries:
                self._delete(db, [name])
                self._insert(db, name, uri, metadata, None)

    def __getitem__(self, name: str) -> Entry:
        with self._read() as db:
            entry = self._entry(db, name)
        if entry is None:
            raise KeyError(name)
        return entry

    def __setitem__(self, name: str, value: Entry) -> None:
        uri, metadata = value
        self.put(name, uri, metadata)

    def __delitem__(self, name: str) -> None:
        if self.delete_names([name]) == 0:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        with self._read() as db:
            return iter([row[0] for row in db.execute("SELECT name FROM pyro_names")])

    def __len__(self) -> int:
        with self._read() as db:
            return db.execute("SELECT count(*) FROM pyro_names").fetchone()[0]

    def __contains__(self, name: object) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM pyro_names WHERE name=?", (name,)).fetchone() is not None

    def items(self) -> list[tuple[str, Entry]]:  # type: ignore[override]
        with self._read() as db:
            rows = db.execute("SELECT id, name, uri FROM pyro_names").fetchall()
            tags: dict[int, set[str]] = {}
            for rowid, tag in db.execute("SELECT object, metadata FROM pyro_metadata"):
                tags.setdefault(rowid, set()).add(tag)
        return [(name, (uri, frozenset(tags.get(rowid, ())))) for rowid, name, uri in rows]

    def scan_prefix(self, prefix: str) -> list[tuple[str, Entry]]:
        """A range scan of the name index (name >= prefix and < the next prefix): independent of the number
        of names, unlike a scan of the whole table."""
        upper = _prefix_upper(prefix)
        with self._read() as db:
            if upper is None:
                rows = db.execute("SELECT id, name, uri FROM pyro_names WHERE name>=? ORDER BY name",
                                  (prefix,)).fetchall()
            else:
                rows = db.execute("SELECT id, name, uri FROM pyro_names WHERE name>=? AND name<? ORDER BY name",
                                  (prefix, upper)).fetchall()
            rows = [row for row in rows if isinstance(row[1], str) and row[1].startswith(prefix)]
            tags: dict[int, set[str]] = {}
            for start in range(0, len(rows), _IN_CHUNK):
                ids = [row[0] for row in rows[start:start + _IN_CHUNK]]
                query = "SELECT object, metadata FROM pyro_metadata WHERE object IN (%s)" % ",".join("?" * len(ids))
                for rowid, tag in db.execute(query, ids):
                    tags.setdefault(rowid, set()).add(tag)
        return [(name, (uri, frozenset(tags.get(rowid, ())))) for rowid, name, uri in rows]

    def optimized_prefix_list(self, prefix: str, return_metadata: bool = False) -> dict[str, Any]:
        return _result(dict(self.scan_prefix(prefix)), return_metadata)

    def clear(self) -> None:
        with self._tx() as db:
            for table in ("pyro_metadata", "pyro_names", "pyro5_name_leases", "pyro5_leases"):
                db.execute("DELETE FROM %s" % table)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return "<%s %r>" % (type(self).__name__, self.dbfile)
