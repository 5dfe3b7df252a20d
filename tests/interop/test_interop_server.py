"""The original Pyro5 5.15's Proxy (in its own venv, a subprocess) calling our Daemon.

One subprocess run per scenario executes a batch of checks and prints a JSON report; the tests assert on
that report. Our daemon runs in this process (a thread), on 127.0.0.1 / a unix socket in a tmp dir.
"""
from __future__ import annotations

import asyncio
import functools
import json
import socket
import subprocess
import threading

import pytest

import Pyro5
from Pyro5.aio.server import AsyncDaemon
from Pyro5.server import Daemon, behavior, expose, oneway
from tests._support import refpyro
from tests._support.certs import make_certs

pytestmark = pytest.mark.interop

# the client side: runs with the ORIGINAL Pyro5 (argv: uri-location serializer check,check,...)
CLIENT_SCRIPT = r'''
import json, sys, time, uuid
import Pyro5.api, Pyro5.client, Pyro5.errors
location, serializer, checks = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
Pyro5.config.SERIALIZER = serializer
Pyro5.config.COMMTIMEOUT = 10
if len(sys.argv) > 4:
    for k, v in json.loads(sys.argv[4]).items():
        setattr(Pyro5.config, k, v)
report = {}
def check(name, func):
    if name not in checks:
        return
    try:
        report[name] = {"ok": func()}
    except Exception as x:
        report[name] = {"error": type(x).__name__, "message": str(x),
                        "remote_tb": "".join(getattr(x, "_pyroTraceback", None) or [])}
p = Pyro5.client.Proxy("PYRO:thing@" + location)
def handshake():
    q = Pyro5.client.Proxy("PYRO:thing@" + location)
    q._pyroHandshake = {"secret": "letmein"}
    q._pyroBind()
    r = q._pyroHandshakeResponse if hasattr(q, "_pyroHandshakeResponse") else None
    bad = Pyro5.client.Proxy("PYRO:thing@" + location)
    bad._pyroHandshake = {"secret": "wrong"}
    try:
        bad._pyroBind()
        denied = None
    except Pyro5.errors.CommunicationError as x:
        denied = str(x)
    return {"methods": sorted(q._pyroMethods), "attrs": sorted(q._pyroAttrs), "oneway": sorted(q._pyroOneway),
            "denied": denied}
check("handshake", handshake)
check("calls", lambda: [p.add(1, 2), p.add("a", b="b"), p.echo([1, 2.5, "x", None, True]), p.__len__()])
check("attributes", lambda: [p.value, setattr(p, "value", 7), p.value, p.readonly])
def oneway_call():
    t = time.time()
    r = p.slow_oneway(0.5)
    elapsed = time.time() - t
    return [r, elapsed < 0.4, p.wait_oneway()]
check("oneway", oneway_call)
def batch():
    b = Pyro5.api.BatchProxy(p)
    b.add(1, 1); b.echo("x"); b.__len__()
    ok = list(b())
    b = Pyro5.api.BatchProxy(p)
    b.add(1, 1); b.boom(); b.add(2, 2)
    results = b()
    first = next(results)
    try:
        next(results)
        err = None
    except ValueError as x:
        err = str(x)
    return [ok, first, err]
check("batch", batch)
def exception():
    try:
        p.boom()
    except ValueError as x:
        return [str(x), "".join(Pyro5.errors.get_pyro_traceback())]
check("exception", exception)
check("generator", lambda: [list(p.gen(5)), list(p.iterate())])
def autoproxy():
    sub = p.make_sub()
    return [type(sub).__name__, sub.hello(), sorted(sub._pyroMethods)]
check("autoproxy", autoproxy)
def annotations():
    Pyro5.api.current_context.annotations = {"XYZZ": b"hello"}
    corr = uuid.uuid4()
    Pyro5.api.current_context.correlation_id = corr
    try:
        got = p.annotations_echo()
        resp = {k: bytes(v).decode() for k, v in Pyro5.api.current_context.response_annotations.items()}
    finally:
        Pyro5.api.current_context.annotations = {}
        Pyro5.api.current_context.correlation_id = None
    return [got, resp, str(corr)]
check("annotations", annotations)
def daemon_object():
    d = Pyro5.client.Proxy("PYRO:Pyro.Daemon@" + location)
    return [d.ping(), sorted(d.registered()), sorted(d.get_metadata("thing")["methods"])]
check("daemon", daemon_object)
def private():
    out = []
    for name in ("_private", "__class__", "__init__", "nonexisting"):
        try:
            p._pyroInvoke(name, (), {})
            out.append("reachable")
        except AttributeError as x:
            out.append("AttributeError")
    return out
check("private", private)
def blob():
    return p.blob_info(Pyro5.client.SerializedBlob("the info", [1, {"a": 2}]))
check("blob", blob)
p._pyroRelease()
print(json.dumps(report))
'''


@expose
@behavior(instance_mode="single")
class InteropThing:
    def __init__(self):
        self._value = 42
        self.oneway_done = threading.Event()

    def add(self, a, b=2):
        return a + b

    def echo(self, x):
        return x

    def __len__(self):
        return 3

    def boom(self):
        raise ValueError("kaboom from our server")

    def gen(self, n):
        yield from range(n)

    def iterate(self):
        return iter(["a", "b"])

    def make_sub(self):
        sub = InteropSub()
        self._pyroDaemon.register(sub)
        return sub

    def annotations_echo(self):
        ctx = Pyro5.current_context
        ctx.response_annotations = {"RESP": b"from server"}
        return {"annotations": {k: bytes(v).decode() for k, v in ctx.annotations.items()},
                "correlation_id": str(ctx.correlation_id)}

    @oneway
    def slow_oneway(self, delay):
        threading.Event().wait(delay)
        self.oneway_done.set()

    def wait_oneway(self):
        return self.oneway_done.wait(10)

    def blob_info(self, blob):
        return [type(blob).__name__, blob.info, blob.deserialized()]

    def _private(self):
        return "private"

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v

    @property
    def readonly(self):
        return "ro"


@expose
class InteropSub:
    def hello(self):
        return "hello from sub"


class HandshakeDaemon(Daemon):
    def validateHandshake(self, conn, data):
        if isinstance(data, dict) and data.get("secret") == "wrong":
            raise ValueError("wrong secret")
        return "welcome"


class HandshakeAsyncDaemon(AsyncDaemon, HandshakeDaemon):
    """(the same validateHandshake on an AsyncDaemon)"""


@functools.lru_cache(maxsize=None)
def _orig_has_msgpack() -> bool:
    p = subprocess.run([refpyro.orig_python(), "-c", "import msgpack"], capture_output=True, timeout=60)
    return p.returncode == 0


@pytest.fixture
def our_daemon(request):
    """start(**daemon_kwargs) -> (daemon, location); stopped at teardown."""
    started = []

    def start(**kwargs):
        kwargs.setdefault("host", "127.0.0.1")
        if "unixsocket" in kwargs:
            kwargs.pop("host")
        if Pyro5.config.SERVERTYPE == "asyncdaemon":    # (a test's servertype: our AsyncDaemon on an event loop)
            Pyro5.config.SERVERTYPE = "thread"
            d: Daemon = HandshakeAsyncDaemon(**kwargs)
            target = functools.partial(asyncio.run, d.requestLoop())
        else:
            d = HandshakeDaemon(**kwargs)
            target = d.requestLoop
        d.register(InteropThing, "thing")
        t = threading.Thread(target=target, daemon=True)
        t.start()
        started.append((d, t))
        return d, d.locationStr
    yield start
    for d, t in started:
        d.shutdown()
        t.join(10)


ALL_CHECKS = ["handshake", "calls", "attributes", "oneway", "batch", "exception", "generator", "autoproxy",
              "annotations", "daemon", "private", "blob"]


def run_checks(location: str, serializer: str, checks: list[str], config: dict | None = None) -> dict:
    args = [location, serializer, ",".join(checks)]
    if config:
        args.append(json.dumps(config))
    proc = refpyro.run_orig(CLIENT_SCRIPT, *args, timeout=90)
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def _ok(report: dict, name: str):
    entry = report[name]
    assert "ok" in entry, "%s failed: %s" % (name, entry)
    return entry["ok"]


def _assert_report(report: dict, serializer: str) -> None:
    hs = _ok(report, "handshake")
    assert {"add", "echo", "boom", "gen", "make_sub", "slow_oneway", "__len__"} <= set(hs["methods"])
    assert "_private" not in hs["methods"]
    assert hs["attrs"] == ["readonly", "value"] and hs["oneway"] == ["slow_oneway"]
    assert hs["denied"] and "wrong secret" in hs["denied"]
    assert _ok(report, "calls") == [3, "ab", [1, 2.5, "x", None, True], 3]
    assert _ok(report, "oneway") == [None, True, True]
    message, tb = _ok(report, "exception")
    assert message == "kaboom from our server"
    assert "Remote traceback" in tb and "kaboom from our server" in tb and "in boom" in tb
    assert _ok(report, "generator") == [[0, 1, 2, 3, 4], ["a", "b"]]
    got, resp, corr = _ok(report, "annotations")
    assert got["annotations"]["XYZZ"] == "hello" and got["correlation_id"] == corr
    assert resp["RESP"] == "from server"
    ping, registered, methods = _ok(report, "daemon")
    assert ping is None and "thing" in registered and "Pyro.Daemon" in registered and "add" in methods
    assert _ok(report, "private") == ["AttributeError"] * 4
    kind, info, data = _ok(report, "blob")
    assert info == "the info" and data == [1, {"a": 2}]
    if serializer != "marshal":
        # (the original Proxy itself can't do attribute access or batches with marshal: kwargs None bug)
        assert _ok(report, "attributes") == [42, None, 7, "ro"]
        ok, first, err = _ok(report, "batch")
        assert ok == [2, "x", 3] and first == 2 and err == "kaboom from our server"
        name, hello, sub_methods = _ok(report, "autoproxy")
        assert name == "Proxy" and hello == "hello from sub" and sub_methods == ["hello"]


@pytest.mark.parametrize("serializer,servertype", [
    ("serpent", "thread"), ("json", "thread"), ("marshal", "thread"), ("msgpack", "thread"),
    ("serpent", "multiplex"), ("json", "multiplex"),
    ("serpent", "asyncio"), ("json", "asyncio"), ("marshal", "asyncio"), ("msgpack", "asyncio"),
    ("serpent", "asyncdaemon"), ("json", "asyncdaemon"), ("marshal", "asyncdaemon"), ("msgpack", "asyncdaemon")])
def test_original_proxy_calls_our_daemon(our_daemon, serializer, servertype):
    if serializer == "msgpack" and not _orig_has_msgpack():
        pytest.skip("the original Pyro5's venv has no msgpack installed")
    Pyro5.config.SERVERTYPE = servertype
    _, location = our_daemon()
    report = run_checks(location, serializer, ALL_CHECKS)
    _assert_report(report, serializer)


SERIALIZERS = ["serpent", "json", "marshal", "msgpack"]
SERVERTYPES = ["thread", "multiplex", "asyncdaemon"]


def _need_serializer(serializer: str) -> None:
    if serializer == "msgpack" and not _orig_has_msgpack():
        pytest.skip("the original Pyro5's venv has no msgpack installed")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
@pytest.mark.parametrize("servertype", SERVERTYPES)
@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_original_proxy_over_unix_socket(our_daemon, tmp_path, serializer, servertype):
    _need_serializer(serializer)
    Pyro5.config.SERVERTYPE = servertype
    _, location = our_daemon(unixsocket=str(tmp_path / "interop.sock"))
    assert location.startswith("./u:")
    checks = ["handshake", "calls", "exception", "generator", "autoproxy"]
    report = run_checks(location, serializer, checks)
    assert _ok(report, "calls") == [3, "ab", [1, 2.5, "x", None, True], 3]
    assert _ok(report, "exception")[0] == "kaboom from our server"
    assert _ok(report, "generator") == [[0, 1, 2, 3, 4], ["a", "b"]]
    assert _ok(report, "autoproxy")[1] == "hello from sub"


@pytest.mark.parametrize("servertype", SERVERTYPES)
@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_original_proxy_two_way_ssl(our_daemon, serializer, servertype):
    _need_serializer(serializer)
    Pyro5.config.SERVERTYPE = servertype
    certs = make_certs()
    for name, value in certs.as_config("server").items():
        setattr(Pyro5.config, name, value)
    _, location = our_daemon(host="localhost")
    client_config = certs.as_config("client")
    report = run_checks(location, serializer, ["handshake", "calls", "exception", "generator"], client_config)
    assert _ok(report, "calls") == [3, "ab", [1, 2.5, "x", None, True], 3]
    assert _ok(report, "exception")[0] == "kaboom from our server"
    assert _ok(report, "generator") == [[0, 1, 2, 3, 4], ["a", "b"]]
    hs = _ok(report, "handshake")
    assert "add" in hs["methods"] and hs["denied"] and "wrong secret" in hs["denied"]
    # without a client certificate our server refuses the connection
    no_cert = {"SSL": True, "SSL_CACERTS": certs.ca_cert}
    report = run_checks(location, serializer, ["calls"], no_cert)
    assert "error" in report["calls"]
