"""The NameServer API over a real proxy, on both storages (memory and sqlite)."""
from __future__ import annotations

import pytest

from Pyro5 import core, errors
from Pyro5.nameserver import NameServer

NS_META = {"class:Pyro5.nameserver.NameServer"}


def test_self_registration(ns, nsproxy):
    assert nsproxy.count() == 1
    assert nsproxy.ping() is None
    uri, meta = nsproxy.lookup("Pyro.NameServer", return_metadata=True)
    assert isinstance(uri, core.URI)
    assert str(uri) == str(ns.uri)
    assert set(meta) == NS_META
    assert nsproxy.list() == {"Pyro.NameServer": str(ns.uri)}
    assert set(nsproxy._pyroMethods) >= {"count", "list", "lookup", "ping", "register", "remove", "set_metadata",
                                        "yplookup"}


def test_register_lookup_list(nsproxy):
    nsproxy.register("printer.hallway", "PYRO:printer2@host:1234", metadata={"printer"})
    nsproxy.register("printer.secondfloor", core.URI("PYRO:printer1@host:1234"), metadata=["printer"])
    nsproxy.register("storage.disks", "PYRO:disks1@host:1234", metadata=("storage", "fast"))
    nsproxy.register("plain", "PYRO:plain@host:1234")
    assert nsproxy.count() == 5
    uri = nsproxy.lookup("printer.hallway")
    assert isinstance(uri, core.URI) and str(uri) == "PYRO:printer2@host:1234"
    uri, meta = nsproxy.lookup("storage.disks", return_metadata=True)
    assert str(uri) == "PYRO:disks1@host:1234" and set(meta) == {"storage", "fast"}
    uri, meta = nsproxy.lookup("plain", return_metadata=True)
    assert not meta
    listing = nsproxy.list()
    assert all(isinstance(v, str) for v in listing.values())
    assert listing["printer.secondfloor"] == "PYRO:printer1@host:1234"
    assert set(nsproxy.list(prefix="printer.")) == {"printer.hallway", "printer.secondfloor"}
    assert set(nsproxy.list(regex=r"printer\.h.*")) == {"printer.hallway"}
    assert set(nsproxy.list(regex="pl")) == {"plain"}      # anchored at the start, like re.match
    assert nsproxy.list(regex="lain") == {}
    full = nsproxy.list(prefix="storage", return_metadata=True)
    assert full == {"storage.disks": ("PYRO:disks1@host:1234", {"storage", "fast"})}
    with pytest.raises(errors.NamingError, match="unknown name: nothere"):
        nsproxy.lookup("nothere")
    with pytest.raises(ValueError):
        nsproxy.list(prefix="a", regex="b")


def test_duplicate_registration(nsproxy):
    nsproxy.register("dup", "PYRO:one@host:1")
    nsproxy.register("dup", "PYRO:two@host:1")   # silently overwrites
    assert str(nsproxy.lookup("dup")) == "PYRO:two@host:1"
    with pytest.raises(errors.NamingError, match="already registered: dup"):
        nsproxy.register("dup", "PYRO:three@host:1", safe=True)
    assert str(nsproxy.lookup("dup")) == "PYRO:two@host:1"
    nsproxy.register("fresh", "PYRO:f@host:1", safe=True)
    assert nsproxy.count() == 3


def test_yplookup(nsproxy):
    nsproxy.register("printer.secondfloor", "PYRO:printer1@host:1234", metadata={"printer"})
    nsproxy.register("printer.hallway", "PYRO:printer2@host:1234", metadata={"printer", "color"})
    nsproxy.register("storage.diskcluster", "PYRO:disks1@host:1234", metadata={"storage"})
    nsproxy.register("nometa", "PYRO:x@host:1234")
    assert set(nsproxy.yplookup(meta_all={"printer"})) == {"printer.secondfloor", "printer.hallway"}
    assert set(nsproxy.yplookup(meta_all=["printer", "color"])) == {"printer.hallway"}
    assert nsproxy.yplookup(meta_all={"printer", "storage"}) == {}
    assert set(nsproxy.yplookup(meta_any={"printer", "storage", "other"})) == \
        {"printer.secondfloor", "printer.hallway", "storage.diskcluster"}
    found = nsproxy.yplookup(meta_all=["storage"])
    assert found == {"storage.diskcluster": ("PYRO:disks1@host:1234", {"storage"})}
    assert nsproxy.yplookup(meta_all=["storage"], return_metadata=False) == \
        {"storage.diskcluster": "PYRO:disks1@host:1234"}
    assert set(nsproxy.yplookup(meta_any=["class:Pyro5.nameserver.NameServer"])) == {"Pyro.NameServer"}
    assert nsproxy.yplookup(meta_all=[]) == {}
    assert nsproxy.yplookup(meta_any=[]) == {}
    assert nsproxy.yplookup() == {}
    with pytest.raises(ValueError):
        nsproxy.yplookup(meta_all=["a"], meta_any=["b"])
    # wrong types: TypeError, as the original (a remote caller gets builtins.TypeError)
    for kwargs in ({"meta_all": "printer"}, {"meta_any": "printer"}, {"meta_all": 42}, {"meta_any": 42}):
        with pytest.raises(TypeError) as caught:
            nsproxy.yplookup(**kwargs)
        assert type(caught.value) is TypeError


def test_set_metadata(nsproxy):
    nsproxy.register("obj", "PYRO:obj@host:1", metadata={"a"})
    nsproxy.set_metadata("obj", ["b", "c"])
    assert set(nsproxy.lookup("obj", return_metadata=True)[1]) == {"b", "c"}
    assert set(nsproxy.yplookup(meta_any=["a"])) == set()
    assert set(nsproxy.yplookup(meta_any=["c"])) == {"obj"}
    nsproxy.set_metadata("obj", [])
    assert not nsproxy.lookup("obj", return_metadata=True)[1]
    nsproxy.set_metadata("obj", {"z"})
    nsproxy.set_metadata("obj", None)
    assert not nsproxy.lookup("obj", return_metadata=True)[1]
    with pytest.raises(errors.NamingError, match="unknown name: nope"):
        nsproxy.set_metadata("nope", ["x"])


def test_remove(nsproxy):
    for name in ["a.1", "a.2", "a.3", "b.1", "b.2", "c"]:
        nsproxy.register(name, "PYRO:%s@host:1" % name)
    assert nsproxy.remove("c") == 1
    assert nsproxy.remove("c") == 0
    assert nsproxy.remove(prefix="a.") == 3
    assert nsproxy.remove(regex=r"b\.1") == 1
    assert set(nsproxy.list()) == {"Pyro.NameServer", "b.2"}
    assert nsproxy.remove() == 0
    # the name server's own registration stays
    assert nsproxy.remove("Pyro.NameServer") == 0
    assert nsproxy.remove(prefix="Pyro") == 0
    assert nsproxy.remove(regex=".*") == 1
    assert set(nsproxy.list()) == {"Pyro.NameServer"}
    nsproxy.register("u", "PYRO:u@host:1")
    assert nsproxy.unregister("u") == 1


@pytest.mark.parametrize("name, error, message", [
    ("", errors.NamingError, "must not be empty"),
    (42, TypeError, "name must be a str"),
    (None, TypeError, "name must be a str"),
    (b"bytes", TypeError, "name must be a str"),
    ("x" * 5000, errors.NamingError, "too long"),
    ("bad\nname", errors.NamingError, "control characters"),
])
def test_bad_names(nsproxy, name, error, message):
    """A name of the wrong type is a TypeError (as the original); a bad value a NamingError (ours only)."""
    nsproxy.register("keep", "PYRO:keep@host:1")
    with pytest.raises(error, match=message):
        nsproxy.register(name, "PYRO:x@host:1")
    with pytest.raises(error, match=message):
        nsproxy.lookup(name)
    with pytest.raises(error, match=message):
        nsproxy.set_metadata(name, ["t"])
    assert set(nsproxy.list()) == {"Pyro.NameServer", "keep"}
    nsproxy.ping()


@pytest.mark.parametrize("uri, error, message", [
    ("notauri", errors.NamingError, "invalid uri"),
    ("PYRO:noloc", errors.NamingError, "invalid uri"),
    (42, TypeError, "only URIs or strings"),
    (None, TypeError, "only URIs or strings"),
    (b"PYRO:x@host:1", TypeError, "only URIs or strings"),
    ("PYRO:x@host:1" + "x" * 5000, errors.NamingError, "too long"),
])
def test_bad_uris(nsproxy, uri, error, message):
    nsproxy.register("keep", "PYRO:keep@host:1")
    with pytest.raises(error, match=message):
        nsproxy.register("new", uri)
    assert set(nsproxy.list()) == {"Pyro.NameServer", "keep"}


@pytest.mark.parametrize("metadata, error, message", [
    ("printer", TypeError, "should not be a str"),
    (42, TypeError, "must be a set, list or tuple"),
    (["ok", 42], TypeError, "tags must be str"),
    ({1: "v"}, TypeError, "tags must be str"),     # (an iterable: its items, the keys, are the tags)
    (["x" * 5000], errors.NamingError, "too long"),
    ([str(i) for i in range(2000)], errors.NamingError, "too many tags"),
])
def test_bad_metadata(nsproxy, metadata, error, message):
    nsproxy.register("keep", "PYRO:keep@host:1", metadata={"m"})
    with pytest.raises(error, match=message):
        nsproxy.register("new", "PYRO:new@host:1", metadata=metadata)
    with pytest.raises(error, match=message):
        nsproxy.set_metadata("keep", metadata)
    assert nsproxy.list(return_metadata=True)["keep"] == ("PYRO:keep@host:1", {"m"})
    assert nsproxy.count() == 2


def test_metadata_from_other_iterables(nsproxy):
    """Like the original: any non-str iterable of str is accepted as metadata (a dict gives its keys)."""
    nsproxy.register("d", "PYRO:d@host:1", metadata={"k1": 1, "k2": 2})
    nsproxy.register("f", "PYRO:f@host:1", metadata=frozenset({"x"}))
    assert nsproxy.lookup("d", return_metadata=True)[1] == {"k1", "k2"}
    assert set(nsproxy.yplookup(meta_any={"k1": None, "x": None})) == {"d", "f"}


def test_bad_regex(nsproxy):
    nsproxy.register("keep", "PYRO:keep@host:1")
    with pytest.raises(errors.NamingError, match="invalid regex"):
        nsproxy.list(regex="[unclosed")
    with pytest.raises(errors.NamingError, match="invalid regex"):
        nsproxy.remove(regex="(")
    with pytest.raises(TypeError, match="regex must be a str"):
        nsproxy.list(regex=5)
    with pytest.raises(TypeError, match="regex must be a str"):
        nsproxy.remove(regex=5)
    with pytest.raises(TypeError, match="prefix must be a str"):
        nsproxy.list(prefix=5)
    with pytest.raises(TypeError, match="prefix must be a str"):
        nsproxy.remove(prefix=5)
    assert nsproxy.remove(5) == 0        # a name that cannot be registered is not there (as the original)
    assert nsproxy.count() == 2


def test_local_name_server_object(storage_spec):
    """NameServer works without any networking too, on both storages."""
    from Pyro5._ns_storage import create_storage
    store = create_storage(storage_spec)
    try:
        ns = NameServer(store)
        ns.register("a", "PYRO:a@h:1", metadata=["t"])
        assert ns.lookup("a", return_metadata=True) == (core.URI("PYRO:a@h:1"), {"t"})
        assert ns.count() == 1
        assert ns.yplookup(meta_any=["t"], return_metadata=False) == {"a": "PYRO:a@h:1"}
        assert ns.remove(regex="a") == 1
        assert ns.count() == 0
    finally:
        store.close()


def test_default_storage_is_memory():
    from Pyro5.nameserver import MemoryStorage
    assert isinstance(NameServer().storage, MemoryStorage)


def test_custom_mapping_storage(start_ns):
    """A user storage that implements only the mapping protocol (and close) works."""
    from collections.abc import MutableMapping

    class DictStorage(MutableMapping):
        def __init__(self):
            self.d = {}
            self.closed = False

        def __getitem__(self, k):
            return self.d[k]

        def __setitem__(self, k, v):
            self.d[k] = v

        def __delitem__(self, k):
            del self.d[k]

        def __iter__(self):
            return iter(list(self.d))

        def __len__(self):
            return len(self.d)

        def close(self):
            self.closed = True

    store = DictStorage()
    rn = start_ns(store)
    with rn.proxy() as p:
        p.register("x.1", "PYRO:x@h:1", metadata=["m"])
        p.register("y.1", "PYRO:y@h:1")
        assert set(p.list(prefix="x")) == {"x.1"}
        assert set(p.list(regex="y")) == {"y.1"}
        assert set(p.yplookup(meta_all=["m"])) == {"x.1"}
        assert p.remove(prefix="x") == 1
        assert p.count() == 2
    rn.stop()
    assert store.closed


def test_nameserver_daemon_close_clears_nameserver(tmp_path):
    """NameServerDaemon.nameserver is the NameServer, and None after close() (as the original)."""
    from Pyro5.nameserver import NameServerDaemon
    daemon = NameServerDaemon(host="127.0.0.1", port=0, storage="sql:" + str(tmp_path / "n.sqlite"))
    nameserver = daemon.nameserver
    assert isinstance(nameserver, NameServer) and daemon.storage is nameserver.storage
    daemon.close()
    assert daemon.nameserver is None and daemon.storage is None
    with pytest.raises(errors.NamingError, match="closed"):
        nameserver.count()      # the storage was closed
    daemon.close()              # twice is fine
