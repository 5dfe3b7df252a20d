"""Interop of the name server: the ORIGINAL Pyro5 5.15 (own venv, black box) against our name server, and our
client/nsc against the original's name server. Everything on 127.0.0.1; broadcasts go to 127.0.0.1 only."""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import Pyro5
from Pyro5 import core, errors
from Pyro5.client import Proxy, locate_ns, resolve
from Pyro5.nameserver import BroadcastServer, start_ns
from tests._support import refpyro

pytestmark = pytest.mark.interop

ORIG_ENV = dict(PYRO_BROADCAST_ADDRS="127.0.0.1")   # (the original cannot take NS_BCHOST from the environment)


def orig_env(**extra: str) -> dict:
    return refpyro.clean_env(**ORIG_ENV, **extra)


def our_env(**extra: str) -> dict:
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env.update(ORIG_ENV, **extra)
    return env


@pytest.fixture(autouse=True)
def _loopback_broadcasts():
    Pyro5.config.BROADCAST_ADDRS = ["127.0.0.1"]
    yield


@contextlib.contextmanager
def _running_ns(storage: str | None = None):
    uri, daemon, _ = start_ns(host="127.0.0.1", port=0, enableBroadcast=False, storage=storage)
    bc = BroadcastServer(uri, bchost="127.0.0.1", bcport=0)
    daemon.combine(bc)
    t = threading.Thread(target=daemon.requestLoop, daemon=True)
    t.start()
    try:
        yield uri, daemon, bc
    finally:
        daemon.shutdown()
        t.join(10)
        bc.close()


@pytest.fixture
def our_ns():
    """Our name server on 127.0.0.1 with a broadcast responder on 127.0.0.1 combined into its loop."""
    with _running_ns() as running:
        yield running


@pytest.fixture
def our_etcd_ns(request, etcd_cluster):
    """Our name server on a fresh prefix of the session's etcd cluster (a registry it could share)."""
    with _running_ns(etcd_cluster.spec("interop-%s" % request.node.name.replace("[", "-").strip("]"))) as running:
        yield running


ORIG_CLIENT = r'''
import sys, json, threading
import Pyro5, Pyro5.api as api, Pyro5.errors as errors
uri, port, serializer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
Pyro5.config.SERIALIZER = serializer
out = {}
ns = api.Proxy(uri)
ns.register("orig.one", "PYRO:one@host:1", metadata={"m1", "m2"})
ns.register("orig.two", api.URI("PYRO:two@host:2"))
out["lookup"] = str(ns.lookup("orig.one"))
out["lookup_type"] = type(ns.lookup("orig.one")).__name__
u, m = ns.lookup("orig.one", return_metadata=True)
out["lookup_meta"] = [str(u), sorted(m)]
out["list"] = ns.list(prefix="orig.")
out["list_regex"] = sorted(ns.list(regex="orig\\.t.*"))
out["list_meta"] = {k: [v[0], sorted(v[1])] for k, v in ns.list(prefix="orig.", return_metadata=True).items()}
out["yp_all"] = {k: [v[0], sorted(v[1])] for k, v in ns.yplookup(meta_all=["m1", "m2"]).items()}
ns.set_metadata("orig.two", ["m2"])
out["yp_any"] = sorted(ns.yplookup(meta_any=["m2"], return_metadata=False))
out["count"] = ns.count()
out["ping"] = ns.ping()
for label, call in [("unknown", lambda: ns.lookup("nope")),
                    ("safe", lambda: ns.register("orig.one", "PYRO:x@h:1", safe=True)),
                    ("regex", lambda: ns.list(regex="[")),
                    ("badmeta", lambda: ns.register("orig.bad", "PYRO:x@h:1", metadata=[1, 2]))]:
    try:
        call()
        out[label] = None
    except (errors.PyroError, TypeError) as x:
        out[label] = [type(x).__name__, str(x)]
class Echo:
    @api.expose
    def hello(self, who):
        return "hello " + who
d = api.Daemon(host="127.0.0.1")
objuri = d.register(Echo)
threading.Thread(target=d.requestLoop, daemon=True).start()
ns.register("orig.echo", objuri, metadata={"echo"})
with api.Proxy("PYRONAME:orig.echo@127.0.0.1:%d" % port) as p:
    out["pyroname"] = p.hello("name")
with api.Proxy("PYROMETA:echo@127.0.0.1:%d" % port) as p:
    out["pyrometa"] = p.hello("meta")
out["resolve"] = str(api.resolve("PYRONAME:orig.echo@127.0.0.1:%d" % port)) == str(objuri)
with api.locate_ns("127.0.0.1", port) as ns2:
    out["located"] = str(ns2._pyroUri)
out["removed"] = ns.remove(prefix="orig.")
out["count_after"] = ns.count()
ns._pyroRelease()
d.shutdown()
print(json.dumps(out))
'''


@pytest.mark.parametrize("serializer", ["serpent", "json", "marshal"])
def test_original_proxy_against_our_ns(our_ns, serializer):
    _check_original_client(*our_ns[:2], serializer)


def test_original_proxy_against_our_etcd_ns(our_etcd_ns):
    _check_original_client(*our_etcd_ns[:2], "serpent")


def _check_original_client(uri: core.URI, daemon, serializer: str) -> None:
    result = refpyro.run_orig(ORIG_CLIENT, str(uri), str(uri.port), serializer, env=orig_env(), timeout=60)
    out = json.loads(result.stdout)
    assert out["lookup"] == "PYRO:one@host:1" and out["lookup_type"] == "URI"
    assert out["lookup_meta"] == ["PYRO:one@host:1", ["m1", "m2"]]
    assert out["list"] == {"orig.one": "PYRO:one@host:1", "orig.two": "PYRO:two@host:2"}
    assert out["list_regex"] == ["orig.two"]
    assert out["list_meta"] == {"orig.one": ["PYRO:one@host:1", ["m1", "m2"]], "orig.two": ["PYRO:two@host:2", []]}
    assert out["yp_all"] == {"orig.one": ["PYRO:one@host:1", ["m1", "m2"]]}
    assert out["yp_any"] == ["orig.one", "orig.two"]
    assert out["count"] == 3 and out["ping"] is None
    assert out["unknown"] == ["NamingError", "unknown name: nope"]
    assert out["safe"] == ["NamingError", "name already registered: orig.one"]
    assert out["regex"][0] == "NamingError" and out["regex"][1].startswith("invalid regex")
    assert out["badmeta"][0] == "TypeError"    # (the original stores int tags; ours refuses them: a difference)
    assert out["pyroname"] == "hello name" and out["pyrometa"] == "hello meta" and out["resolve"] is True
    assert out["located"] == str(uri)
    assert out["removed"] == 3 and out["count_after"] == 1
    assert set(daemon.nameserver.list()) == {"Pyro.NameServer"}


def test_original_locates_our_ns_by_broadcast(our_ns):
    uri, _daemon, bc = our_ns
    code = ("import Pyro5.api as api\n"
            "with api.locate_ns() as ns:\n"
            "    print(ns._pyroUri)\n"
            "    print(ns.lookup('Pyro.NameServer'))\n")
    result = refpyro.run_orig(code, env=orig_env(PYRO_NS_BCPORT=str(bc.getPort()), PYRO_NS_HOST="127.0.0.2",
                                                 PYRO_NS_PORT="1"))
    assert result.stdout.decode().split() == [str(uri), str(uri)]


ORIG_EVIL_REGEX = r'''
import sys, time, threading, Pyro5.api as api, Pyro5.errors as errors
uri = sys.argv[1]
with api.Proxy(uri) as ns:
    ns.register("a" * 60 + "!", "PYRO:x@h:1")
slowest = []
def ping():
    with api.Proxy(uri) as p:
        for _ in range(10):
            t = time.monotonic(); p.ping(); slowest.append(time.monotonic() - t); time.sleep(0.05)
t = threading.Thread(target=ping); t.start()
with api.Proxy(uri) as ns:
    try:
        ns.list(regex="(a|aa)+$")
        print("NO ERROR")
    except errors.NamingError as x:
        print(type(x).__name__, "|", str(x)[:25])
    t.join(20)
    print(max(slowest) < 0.5, sorted(ns.list()))
    print(ns.remove(regex="a+!"))
'''


def test_original_client_sends_a_pathological_regex_to_our_ns(our_ns):
    """The original client gets a NamingError (which it knows) and our name server keeps serving everyone."""
    uri, _daemon, _bc = our_ns
    lines = refpyro.run_orig(ORIG_EVIL_REGEX, str(uri), env=orig_env()).stdout.decode().splitlines()
    assert lines == ["NamingError | regex took too long (more", "True ['Pyro.NameServer', '%s']" % ("a" * 60 + "!"),
                     "1"]


ORIG_SERVER = r'''
import sys, Pyro5.api as api, Pyro5.errors
class Echo:
    @api.expose
    def hello(self, who):
        return "orig says hello " + who
d = api.Daemon(host="127.0.0.1")
objuri = d.register(Echo)
with api.Proxy(sys.argv[1]) as ns:
    ns.register("orig.served", objuri, metadata={"orig-served"})
print("READY", objuri, flush=True)
d.requestLoop()
'''


def test_our_client_calls_object_registered_by_original(our_ns):
    uri, _daemon, _bc = our_ns
    with refpyro.OrigProcess(ORIG_SERVER, str(uri), env=orig_env()) as server:
        loc = "127.0.0.1:%d" % uri.port
        with Proxy("PYRONAME:orig.served@" + loc) as p:
            assert p.hello("us") == "orig says hello us"
        with Proxy("PYROMETA:orig-served@" + loc) as p:
            assert p.hello("meta") == "orig says hello meta"
        assert str(resolve("PYRONAME:orig.served@" + loc)) == server.ready


def _orig_nsc(uri: core.URI, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([refpyro.orig_python(), "-m", "Pyro5.nsc", "-n", "127.0.0.1", "-p", str(uri.port)]
                          + list(args), capture_output=True, text=True, timeout=60, env=orig_env(), input=input)


@pytest.mark.slow
def test_original_nsc_against_our_ns(our_ns):
    _check_original_nsc(*our_ns[:2])


@pytest.mark.slow
def test_original_nsc_against_our_etcd_ns(our_etcd_ns):
    _check_original_nsc(*our_etcd_ns[:2])


def _check_original_nsc(uri: core.URI, daemon) -> None:
    assert _orig_nsc(uri, "ping").stdout == "Name server ping ok.\n"
    assert _orig_nsc(uri, "register", "nsc.obj", "PYRO:obj@host:1").stdout == "Registered nsc.obj\n"
    dup = _orig_nsc(uri, "register", "nsc.obj", "PYRO:obj@host:1")
    assert "Error: NamingError - name already registered: nsc.obj" in dup.stdout
    assert _orig_nsc(uri, "setmeta", "nsc.obj", "tag").stdout == "Metadata updated\n"
    assert _orig_nsc(uri, "lookup", "nsc.obj").stdout == "PYRO:obj@host:1\nmetadata: {'tag'}\n"
    assert _orig_nsc(uri, "list", "nsc").stdout.splitlines() == [
        "--------START LIST - prefix 'nsc'", "nsc.obj --> PYRO:obj@host:1", "    metadata: {'tag'}",
        "--------END LIST - prefix 'nsc'"]
    assert _orig_nsc(uri, "listmatching", "nsc.*").stdout.splitlines()[1] == "nsc.obj --> PYRO:obj@host:1"
    assert _orig_nsc(uri, "yplookup_all", "tag").stdout.splitlines()[1] == "nsc.obj --> PYRO:obj@host:1"
    assert _orig_nsc(uri, "yplookup_any", "tag", "x").stdout.splitlines()[1] == "nsc.obj --> PYRO:obj@host:1"
    assert "Pyro.NameServer --> %s" % uri in _orig_nsc(uri, "list").stdout
    assert "1 items removed." in _orig_nsc(uri, "removematching", "nsc.*", input="y\n").stdout
    assert _orig_nsc(uri, "register", "nsc.two", "PYRO:two@host:1").returncode == 0
    assert _orig_nsc(uri, "remove", "nsc.two").stdout == "Removed nsc.two\n"
    assert set(daemon.nameserver.list()) == {"Pyro.NameServer"}


ORIG_NS = r'''
import threading, Pyro5, Pyro5.nameserver as n
Pyro5.config.BROADCAST_ADDRS = ["127.0.0.1"]
uri, daemon, _ = n.start_ns(host="127.0.0.1", port=0)
bc = n.BroadcastServer(uri, "127.0.0.1", 0)
threading.Thread(target=bc.runInThread, daemon=True).start()
print("READY", uri, bc.getPort(), flush=True)
daemon.requestLoop()
'''


@pytest.fixture(scope="module")
def orig_ns():
    with refpyro.OrigProcess(ORIG_NS, env=orig_env()) as proc:
        uri, bcport = proc.ready.split()
        yield core.URI(uri), int(bcport)


@pytest.mark.parametrize("serializer", ["serpent", "json"])   # the original's marshal cannot send a URI
def test_our_proxy_against_original_ns(orig_ns, serializer):
    uri, _bcport = orig_ns
    Pyro5.config.SERIALIZER = serializer
    prefix = "ours.%s." % serializer
    with Proxy(uri) as ns:
        ns.register(prefix + "one", "PYRO:one@host:1", metadata={"m1", "m2"})
        ns.register(prefix + "two", core.URI("PYRO:two@host:2"))
        found = ns.lookup(prefix + "one")
        assert isinstance(found, core.URI) and str(found) == "PYRO:one@host:1"
        found, meta = ns.lookup(prefix + "one", return_metadata=True)
        assert set(meta) == {"m1", "m2"}
        assert ns.list(prefix=prefix) == {prefix + "one": "PYRO:one@host:1", prefix + "two": "PYRO:two@host:2"}
        assert set(ns.yplookup(meta_all=["m1", "m2"])) == {prefix + "one"}
        ns.set_metadata(prefix + "two", ["m2"])
        assert set(ns.yplookup(meta_any=["m2"], return_metadata=False)) >= {prefix + "one", prefix + "two"}
        with pytest.raises(errors.NamingError, match="unknown name"):
            ns.lookup(prefix + "nope")
        with pytest.raises(errors.NamingError, match="already registered"):
            ns.register(prefix + "one", "PYRO:x@h:1", safe=True)
        with pytest.raises(errors.NamingError, match="invalid regex"):
            ns.list(regex="[")
        assert ns.remove(prefix=prefix) == 2


def test_our_client_locates_original_ns(orig_ns):
    uri, bcport = orig_ns
    with locate_ns("127.0.0.1", uri.port) as ns:
        assert ns._pyroUri == uri
    Pyro5.config.NS_HOST = "127.0.0.2"
    Pyro5.config.NS_PORT = 1
    with locate_ns(port=bcport) as ns:     # broadcast lookup, answered by the original's responder
        assert str(ns._pyroUri) == str(uri)
        ns.register("ours.pyroname", "PYRO:some@127.0.0.1:1")
    assert str(resolve("PYRONAME:ours.pyroname@127.0.0.1:%d" % uri.port)) == "PYRO:some@127.0.0.1:1"


@pytest.mark.slow
def test_our_nsc_against_original_ns(orig_ns):
    _check_our_nsc(orig_ns[0])


@pytest.mark.slow
def test_our_nsc_against_our_etcd_ns(our_etcd_ns):
    _check_our_nsc(our_etcd_ns[0])


def _check_our_nsc(uri: core.URI) -> None:
    bindir = Path(sys.executable).parent
    nsc = [str(bindir / "pyro5-nsc")] if (bindir / "pyro5-nsc").exists() else [sys.executable, "-m", "Pyro5.nsc"]

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(nsc + ["-n", "127.0.0.1", "-p", str(uri.port)] + list(args), capture_output=True,
                              text=True, timeout=60, env=our_env(), input=input)

    assert run("ping").stdout == "Name server ping ok.\n"
    assert run("register", "oursnsc.obj", "PYRO:obj@host:1").stdout == "Registered oursnsc.obj\n"
    assert run("register", "oursnsc.obj", "PYRO:obj@host:1").stderr == \
        "Error: NamingError - name already registered: oursnsc.obj\n"
    assert run("setmeta", "oursnsc.obj", "b", "a").stdout == "Metadata updated\n"
    assert run("lookup", "oursnsc.obj").stdout == "PYRO:obj@host:1\nmetadata: {'a', 'b'}\n"
    assert run("list", "oursnsc").stdout.splitlines() == [
        "--------START LIST - prefix 'oursnsc'", "oursnsc.obj --> PYRO:obj@host:1", "    metadata: {'a', 'b'}",
        "--------END LIST - prefix 'oursnsc'"]
    assert run("listmatching", "oursnsc.*").stdout.splitlines()[1] == "oursnsc.obj --> PYRO:obj@host:1"
    assert run("yplookup_all", "a", "b").stdout.splitlines()[1] == "oursnsc.obj --> PYRO:obj@host:1"
    assert run("yplookup_any", "a", "zz").stdout.splitlines()[1] == "oursnsc.obj --> PYRO:obj@host:1"
    assert run("lookup", "oursnsc.nope").stderr == "Error: NamingError - unknown name: oursnsc.nope\n"
    assert "1 items removed." in run("removematching", "oursnsc.*", input="y\n").stdout
    assert run("remove", "oursnsc.obj").stdout == "Nothing removed\n"


def test_sqlite_storage_file_shared_with_original(tmp_path):
    """A sqlite storage file written by the original's SqlStorage is read by ours, and the other way around."""
    from Pyro5.nameserver import SqlStorage
    orig_db = str(tmp_path / "orig.sqlite")
    refpyro.run_orig("import sys, Pyro5.nameserver as n\n"
                     "s = n.SqlStorage(sys.argv[1])\n"
                     "s['from.orig'] = ('PYRO:o@h:1', frozenset({'m1', 'm2'}))\n"
                     "s['plain'] = ('PYRO:p@h:1', frozenset())\n"
                     "s.close()\n", orig_db, env=orig_env())
    store = SqlStorage(orig_db)
    try:
        assert store["from.orig"] == ("PYRO:o@h:1", frozenset({"m1", "m2"}))
        assert store["plain"] == ("PYRO:p@h:1", frozenset())
        store["from.ours"] = ("PYRO:x@h:2", frozenset({"t"}))
        store["from.orig"] = ("PYRO:o2@h:1", frozenset({"m3"}))   # replace, metadata too
        del store["plain"]
    finally:
        store.close()
    result = refpyro.run_orig("import sys, json, Pyro5.nameserver as n\n"
                              "s = n.SqlStorage(sys.argv[1])\n"
                              "print(json.dumps({k: [v[0], sorted(v[1])] for k, v in s.items()}))\n"
                              "s.close()\n", orig_db, env=orig_env())
    assert json.loads(result.stdout) == {"from.orig": ["PYRO:o2@h:1", ["m3"]], "from.ours": ["PYRO:x@h:2", ["t"]]}


ORIG_TWO_NS = r'''
import sys, Pyro5.api as api, Pyro5.errors
with api.Proxy(sys.argv[1]) as first:
    first.register("orig.shared", "PYRO:shared@127.0.0.1:9", safe=True, metadata={"shared"})
with api.Proxy(sys.argv[2]) as second:
    print(second.lookup("orig.shared"))
    print(sorted(second.yplookup(meta_all=["shared"])))
    try:
        second.register("orig.shared", "PYRO:other@127.0.0.1:9", safe=True)
    except Pyro5.errors.NamingError as x:
        print(type(x).__name__, x)
    print(second.remove("orig.shared"))
with api.Proxy(sys.argv[1]) as first:
    print(sorted(first.list(prefix="orig.")))
'''


def test_original_client_with_two_of_our_ns_on_one_etcd_registry(request, etcd_cluster):
    spec = etcd_cluster.spec("interop-two-%d" % id(request))
    with _running_ns(spec) as (first, _d1, _b1), _running_ns(spec) as (second, _d2, _b2):
        lines = refpyro.run_orig(ORIG_TWO_NS, str(first), str(second), env=orig_env()).stdout.decode().splitlines()
    assert lines == ["PYRO:shared@127.0.0.1:9", "['orig.shared']", "NamingError name already registered: orig.shared",
                     "1", "[]"]
