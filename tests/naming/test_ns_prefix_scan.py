"""The prefix scan of the memory storage (a sorted name index) and of the sql storage (a range query): the same
answers as filtering every name, through additions, removals, re-additions, leases and odd characters."""
from __future__ import annotations

import random

import pytest

from Pyro5._ns_name_index import NameIndex
from Pyro5._ns_storage import MemoryStorage
from Pyro5._ns_store_sql import SqlStorage, _prefix_upper

ODD_NAMES = ["a", "a.b", "a.b.c", "ab", "a\uffff", "a\U0010ffff", "a\U0010ffffz", "b", "\U0010ffff", "\U0010ffff\U0010ffff",
             "é", "é.x", "a\ud7ff", "a\ue000", "a%", "a_", "a*", "a[", "A.b"]
PREFIXES = ["", "a", "a.", "a.b", "a\U0010ffff", "\U0010ffff", "é", "a%", "a_", "a*", "a[", "x", "A", "a\ud7ff"]


@pytest.fixture(params=["memory", "sql"])
def storage(request, tmp_path):
    store = MemoryStorage() if request.param == "memory" else SqlStorage(tmp_path / "names.sqlite")
    yield store
    store.close()


def expected(store, prefix):
    return sorted((name, entry) for name, entry in store.items() if name.startswith(prefix))


def test_prefix_scan_matches_a_full_scan(storage):
    for i, name in enumerate(ODD_NAMES):
        storage.put(name, "PYRO:obj%d@localhost:%d" % (i, 5000 + i), frozenset({"tag%d" % (i % 3)}))
    for prefix in PREFIXES:
        assert storage.scan_prefix(prefix) == expected(storage, prefix), prefix
    assert storage.optimized_prefix_list("a.", return_metadata=True) == {
        "a.b": ("PYRO:obj1@localhost:5001", {"tag1"}), "a.b.c": ("PYRO:obj2@localhost:5002", {"tag2"})}


def test_prefix_scan_follows_changes(storage):
    rnd = random.Random(5)
    names = ["n.%03d" % i for i in range(300)]
    for step in range(400):
        name = rnd.choice(names)
        action = rnd.random()
        if action < 0.6:
            storage.put(name, "PYRO:x@localhost:%d" % (1000 + step), frozenset())
        elif name in storage:
            del storage[name]
        if step % 7 == 0:
            prefix = "n.%02d" % rnd.randrange(30) if step % 3 else "n."
            assert storage.scan_prefix(prefix) == expected(storage, prefix)
    storage.delete_prefix("n.1")
    assert storage.scan_prefix("n.1") == []
    assert storage.scan_prefix("n.") == expected(storage, "n.")
    storage.clear()
    assert storage.scan_prefix("") == []
    storage.put("n.5", "PYRO:x@localhost:1", frozenset())
    assert [name for name, _e in storage.scan_prefix("n")] == ["n.5"]


def test_prefix_scan_without_names_of_an_expired_lease(storage):
    lease = storage.grant_lease(3600)
    storage.put("leased.1", "PYRO:x@localhost:1", frozenset(), lease)
    storage.put("leased.2", "PYRO:x@localhost:2", frozenset(), lease)
    storage.put("kept", "PYRO:x@localhost:3", frozenset())
    assert [n for n, _e in storage.scan_prefix("leased.")] == ["leased.1", "leased.2"]
    storage.revoke_lease(lease)
    assert storage.scan_prefix("leased.") == []
    storage.put("leased.1", "PYRO:y@localhost:4", frozenset())
    assert storage.scan_prefix("leased.") == [("leased.1", ("PYRO:y@localhost:4", frozenset()))]


def test_name_index_rebuilds_when_mostly_stale():
    data: dict[str, int] = {"k%04d" % i: i for i in range(1000)}
    index = NameIndex()
    assert index.scan("k00", data, data, len(data)) == ["k%04d" % i for i in range(100)]
    for i in range(900):
        del data["k%04d" % i]
        index.removed()
    data["k0001"] = 1
    index.added("k0001")                       # re-added: stale entry and pending entry, reported once
    assert index.scan("k0", data, data, len(data)) == ["k0001"] + ["k%04d" % i for i in range(900, 1000)]
    for i in range(200):
        name = "m%04d" % i
        data[name] = i
        index.added(name)                      # many pending names: sorted in at once
    assert index.scan("m01", data, data, len(data)) == ["m%04d" % i for i in range(100, 200)]


def test_prefix_upper_bound():
    assert _prefix_upper("") is None
    assert _prefix_upper("ab") == "ac"
    assert _prefix_upper("a\U0010ffff") == "b"
    assert _prefix_upper("\U0010ffff") is None
    assert _prefix_upper("a\ud7ff") == "a\ue000"
