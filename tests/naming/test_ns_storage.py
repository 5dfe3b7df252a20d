"""Storages: persistence of the sqlite storage, concurrency over real proxies, storage specs."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from Pyro5 import errors
from Pyro5._ns_storage import create_storage
from Pyro5.client import Proxy
from Pyro5.nameserver import MemoryStorage, NameServerDaemon, SqlStorage


def test_sql_persistence_across_restart(start_ns, tmp_path):
    spec = "sql:" + str(tmp_path / "persist.sqlite")
    first = start_ns(spec)
    with first.proxy() as p:
        p.register("kept.one", "PYRO:one@host:1", metadata={"m1", "m2"})
        p.register("kept.two", "PYRO:two@host:2")
        p.register("gone", "PYRO:gone@host:3")
        assert p.remove("gone") == 1
    first.stop()
    second = start_ns(spec)
    assert second.daemon.existing_registrations == 3   # 2 + the old name server entry
    with second.proxy() as p:
        listing = p.list(return_metadata=True)
        assert listing["kept.one"] == ("PYRO:one@host:1", {"m1", "m2"})
        assert listing["kept.two"][0] == "PYRO:two@host:2"
        assert "gone" not in listing
        # the name server re-registered itself with its new uri
        assert listing["Pyro.NameServer"][0] == str(second.uri)
        assert p.count() == 3


def test_sql_storage_uses_wal(tmp_path):
    store = SqlStorage(tmp_path / "wal.sqlite")
    try:
        store["a"] = ("PYRO:a@h:1", frozenset({"x"}))
        with sqlite3.connect(str(tmp_path / "wal.sqlite")) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        store.close()
    with pytest.raises(errors.NamingError, match="closed"):
        store["b"] = ("PYRO:b@h:1", frozenset())


def test_sql_storage_syncs_at_checkpoints_not_per_registration(tmp_path):
    """WAL with synchronous=NORMAL (1): a registration costs no disk flush; what is committed stays readable
    by another connection and after a reopen."""
    store = SqlStorage(tmp_path / "sync.sqlite")
    try:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1
        store.put("a", "PYRO:a@h:1", frozenset({"x"}))
        store.put("a", "PYRO:a@h:2", frozenset())          # replaced: its old metadata goes too
        store.put("b", "PYRO:b@h:1", frozenset({"y", "z"}))
        with sqlite3.connect(str(tmp_path / "sync.sqlite")) as other:
            assert other.execute("SELECT count(*) FROM pyro_names").fetchone()[0] == 2
            assert other.execute("SELECT count(*) FROM pyro_metadata").fetchone()[0] == 2
    finally:
        store.close()
    again = SqlStorage(tmp_path / "sync.sqlite")
    try:
        assert again["a"] == ("PYRO:a@h:2", frozenset())
        assert again["b"] == ("PYRO:b@h:1", frozenset({"y", "z"}))
    finally:
        again.close()


def test_sql_storage_from_other_threads(tmp_path):
    store = SqlStorage(str(tmp_path / "threads.sqlite"))
    try:
        def work(i):
            for j in range(20):
                store["t%d.%d" % (i, j)] = ("PYRO:o@h:1", frozenset({"t%d" % i}))
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(store) == 160
        assert len(store.optimized_metadata_search(metadata_all=["t3"])) == 20
    finally:
        store.close()


def test_concurrent_registrations_lose_nothing(start_ns, storage_spec):
    spec = storage_spec
    rn = start_ns(spec)
    errors_seen: list[BaseException] = []
    barrier = threading.Barrier(20, timeout=30)

    def client(i):
        try:
            with Proxy(rn.uri) as p:
                p._pyroBind()
                barrier.wait()
                for j in range(15):
                    p.register("t%02d.n%02d" % (i, j), "PYRO:obj%d_%d@host:1" % (i, j), metadata=["t%d" % i])
                    if j % 5 == 4:
                        p.set_metadata("t%02d.n%02d" % (i, j), ["t%d" % i, "fifth"])
        except BaseException as x:  # pragma: no cover - reported below
            errors_seen.append(x)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors_seen, errors_seen
    with rn.proxy() as p:
        assert p.count() == 1 + 20 * 15
        listing = p.list()
        for i in range(20):
            for j in range(15):
                assert listing["t%02d.n%02d" % (i, j)] == "PYRO:obj%d_%d@host:1" % (i, j)
        assert len(p.yplookup(meta_all=["fifth"])) == 20 * 3
        assert len(p.yplookup(meta_all=["t7"])) == 15


def test_storage_specs(tmp_path):
    assert isinstance(create_storage(None), MemoryStorage)
    assert isinstance(create_storage("memory"), MemoryStorage)
    store = create_storage("sql:" + str(tmp_path / "spec.sqlite"))
    assert isinstance(store, SqlStorage)
    store.close()
    with pytest.raises(errors.NamingError, match="dbm storage is not supported"):
        create_storage("dbm:" + str(tmp_path / "x.dbm"))
    with pytest.raises(errors.NamingError, match="invalid storage type 'weird'"):
        create_storage("weird")
    with pytest.raises(errors.NamingError, match="sqlite database file name"):
        create_storage("sql:")
    with pytest.raises(errors.NamingError, match="cannot use sqlite storage"):
        create_storage("sql:" + str(tmp_path / "no" / "such" / "dir" / "x.sqlite"))


def test_daemon_with_bad_storage_does_not_bind(tmp_path):
    with pytest.raises(errors.NamingError, match="dbm"):
        NameServerDaemon("127.0.0.1", 0, storage="dbm:x")


def test_servertype_honoured(start_ns):
    import Pyro5
    Pyro5.config.SERVERTYPE = "multiplex"
    rn = start_ns()
    assert "Multiplex" in type(rn.daemon.transportServer).__name__
    with rn.proxy() as p:
        p.register("m", "PYRO:m@h:1")
        assert str(p.lookup("m")) == "PYRO:m@h:1"
