"""Daemon behaviour that existing Pyro5 programs rely on, stated as the original Pyro5 5.15's and checked on both.

Every scenario is one script that runs with either interpreter (ours: sys.executable; the original: its own
venv, a black box) and prints a JSON report; the assertions are the same for both, so each test states what
the original does and proves that ours does the same.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests._support import refpyro

pytestmark = pytest.mark.interop

IMPLEMENTATIONS = ["ours", "original"]


def _env() -> dict:
    return refpyro.clean_env(PYTHONUNBUFFERED="1")


def run_report(which: str, code: str, *args: str) -> dict:
    out = refpyro.run_snippet(which, code, *args, env=_env())
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------ Ctrl-C ends the request loop normally

CTRL_C_SCRIPT = r'''
import sys
import Pyro5.api, Pyro5.server
Pyro5.config.SERVERTYPE = sys.argv[1]
Pyro5.config.POLLTIMEOUT = 0.1

class D(Pyro5.server.Daemon):
    announced = False
    def housekeeping(self):          # called from inside the request loop: the loop is running now
        if not D.announced:
            D.announced = True
            print("READY", flush=True)

@Pyro5.server.expose
class Thing:
    def m(self):
        return 1

d = D(host="127.0.0.1")
if sys.argv[2] == "loop":
    d.register(Thing, "thing")
    d.requestLoop()
    print("AFTER-LOOP registered=%s" % ("thing" in d.objectsById), flush=True)
    d.close()
else:
    Pyro5.server.serve({Thing: "thing"}, daemon=d, use_ns=False, verbose=False)
    print("AFTER-LOOP closed=%s" % (d.transportServer is None), flush=True)
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
@pytest.mark.parametrize("entry", ["loop", "serve"])
def test_ctrl_c_ends_the_loop_normally(which, servertype, entry):
    proc = subprocess.Popen([refpyro.python_for(which), "-c", CTRL_C_SCRIPT, servertype, entry], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(), text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "KeyboardInterrupt" not in err and "Traceback" not in err
    expected = "AFTER-LOOP registered=True" if entry == "loop" else "AFTER-LOOP closed=True"
    assert out.strip().splitlines() == [expected]


# ------------------------------------------------------------------ registration rules and argument errors

REGISTRATION_SCRIPT = r'''
import json
import Pyro5.api, Pyro5.errors, Pyro5.server
from Pyro5.server import Daemon, expose

@expose
class Thing:
    def m(self):
        return 1

@expose
class Other:
    def m(self):
        return 2

def outcome(func, *args):
    try:
        func(*args)
        return "ok"
    except Exception as x:
        kinds = [k for k in ("AttributeError", "TypeError", "ValueError") if isinstance(x, getattr(__builtins__, k))]
        return ["DaemonError" if isinstance(x, Pyro5.errors.DaemonError) else type(x).__name__] + kinds

report = {}
d = Daemon(host="127.0.0.1")
report["register_None"] = outcome(d.register, None)
report["register_int"] = outcome(d.register, 4444)
report["register_id_int"] = outcome(d.register, Thing(), 666)
report["unregister_list"] = outcome(d.unregister, [1, 2])
report["unregister_None"] = outcome(d.unregister, None)
report["unregister_unknown_id"] = outcome(d.unregister, "no-such-id")
by_object, by_id, cls_thing = Thing(), Thing(), Other
d.register(by_object, "by_object")
d.register(by_id, "by_id")
d.register(cls_thing, "cls")
d.unregister(by_object)
d.unregister("by_id")
report["unregistered_by_object_attrs"] = sorted(k for k in vars(by_object) if k.startswith("_pyro"))
report["unregistered_by_id_attrs"] = sorted(k for k in vars(by_id) if k.startswith("_pyro"))
report["unregistered_by_id_still_id"] = by_id._pyroId
report["reregister_after_unregister_by_id"] = outcome(d.register, by_id, "again")
kept = Thing()
d.register(kept, "kept")
d.close()
report["after_close_ids"] = sorted(d.objectsById)
report["after_close_pyroId"] = kept._pyroId
report["after_close_daemon_is_d"] = kept._pyroDaemon is d
d2 = Daemon(host="127.0.0.1")
report["register_class_of_closed_daemon"] = outcome(d2.register, Other)
report["register_forced"] = outcome(lambda: d2.register(Other, force=True))
d2.close()
d3 = Daemon(host="127.0.0.1")
d3.requestLoop = lambda *a: None
report["serve_class_of_closed_daemon"] = outcome(
    lambda: Pyro5.server.serve({Other: "thing"}, daemon=d3, use_ns=False, verbose=False))
print(json.dumps(report))
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_registration_rules(which):
    r = run_report(which, REGISTRATION_SCRIPT)
    assert "AttributeError" in r["register_None"]
    assert "AttributeError" in r["register_int"]
    assert "TypeError" in r["register_id_int"]
    assert r["unregister_list"][0] == "DaemonError"
    assert "ValueError" in r["unregister_None"]
    assert r["unregister_unknown_id"] == "ok"
    assert r["unregistered_by_object_attrs"] == []
    assert r["unregistered_by_id_attrs"] == ["_pyroDaemon", "_pyroId"] and r["unregistered_by_id_still_id"] == "by_id"
    assert r["reregister_after_unregister_by_id"][0] == "DaemonError"
    assert r["after_close_ids"] == ["Pyro.Daemon", "cls", "kept"]
    assert r["after_close_pyroId"] == "kept" and r["after_close_daemon_is_d"] is True
    assert r["register_class_of_closed_daemon"][0] == "DaemonError"
    assert r["register_forced"] == "ok"
    assert r["serve_class_of_closed_daemon"][0] == "DaemonError"


# ------------------------------------------------------------------ expose, combine, pool names, placeholder

MISC_SCRIPT = r'''
import json, logging, socket
import Pyro5.api, Pyro5.errors, Pyro5.server, Pyro5.serializers, Pyro5.svr_threads
from Pyro5.server import Daemon, expose

def outcome(func):
    try:
        func()
        return "ok"
    except Exception as x:
        return type(x).__name__

report = {}

def private_class():
    @expose
    class _Private:
        pass

def above_classmethod():
    class K:
        @expose
        @classmethod
        def f(cls):
            pass

def above_staticmethod():
    class K:
        @expose
        @staticmethod
        def f():
            pass

def below_classmethod():
    class K:
        @classmethod
        @expose
        def f(cls):
            pass

for f in (private_class, above_classmethod, above_staticmethod, below_classmethod):
    report[f.__name__] = outcome(f)

names = []
class Collect(logging.Handler):
    def emit(self, record):
        names.append(record.name)
pyro_log = logging.getLogger("Pyro5")
pyro_log.setLevel(logging.DEBUG)
pyro_log.addHandler(Collect())

a, b = Daemon(host="127.0.0.1"), Daemon(host="127.0.0.1")
report["combine_thread"] = outcome(lambda: a.combine(b))
report["pool_error_classes"] = [c.__name__ for c in Pyro5.svr_threads.NoFreeWorkersError.__mro__[:2]]
pool = a.transportServer.pool
report["pool_idle_busy"] = [len(pool.idle) >= 1, len(pool.busy)]
a.close(); b.close()
Pyro5.config.SERVERTYPE = "multiplex"
a, b = Daemon(host="127.0.0.1"), Daemon(host="127.0.0.1")
a.combine(b)
report["combined_sockets"] = [a.sock in a.sockets, b.sock in a.sockets]
a.close(); b.close()
s1, s2 = socket.socketpair()
Daemon(connected_socket=s1).close()
s1.close(); s2.close()
report["loggers"] = sorted(set(n for n in names if n != "Pyro5"))

d = Daemon(host="127.0.0.1")
report["placeholder"] = {}
for name, ser in sorted(Pyro5.serializers.serializers.items()):
    back = ser.loads(ser.dumps(d))
    report["placeholder"][name] = [type(back).__module__ + "." + type(back).__name__, "unusable" in repr(back),
                                   len(getattr(back, "objectsById", None) or {})]
report["placeholder_json"] = Pyro5.serializers.serializers["json"].dumps(d).decode()
d.close()
print(json.dumps(report))
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_expose_combine_pool_loggers_placeholder(which):
    r = run_report(which, MISC_SCRIPT)
    assert r["private_class"] == "AttributeError"
    assert r["above_classmethod"] == "AttributeError" and r["above_staticmethod"] == "AttributeError"
    assert r["below_classmethod"] == "ok"
    assert r["combine_thread"] == "TypeError"
    assert r["pool_error_classes"] == ["NoFreeWorkersError", "PoolError"]
    assert r["pool_idle_busy"] == [True, 0]
    assert r["combined_sockets"] == [True, True]
    for name in ("Pyro5.server", "Pyro5.threadpoolserver", "Pyro5.multiplexserver",
                 "Pyro5.existingconnectionserver"):
        assert name in r["loggers"]
    assert not any(n.startswith("Pyro5.svr") for n in r["loggers"])
    assert json.loads(r["placeholder_json"]) == {"__class__": "Pyro5.server.Daemon", "state": []}
    for name, (cls, unusable, registered) in r["placeholder"].items():
        assert cls == "Pyro5.server.Daemon" and unusable and registered == 0, name


# ------------------------------------------------------------------ NAT port above 65535

NATPORT_SCRIPT = r'''
import json
import Pyro5.server
d = Pyro5.server.Daemon(host="127.0.0.1", nathost="nat.example.com", natport=99999)
report = {"nat": d.natLocationStr, "uri": str(d.uriFor("thing"))}
d.close()
try:
    Pyro5.server.Daemon(host="127.0.0.1", port=99999)
    report["port"] = "ok"
except Exception as x:
    report["port"] = type(x).__name__
print(json.dumps(report))
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_natport_above_65535(which):
    r = run_report(which, NATPORT_SCRIPT)
    assert r["nat"] == "nat.example.com:99999" and r["uri"] == "PYRO:thing@nat.example.com:99999"
    assert r["port"] != "ok"      # a listening port above 65535 stays refused (the OS would fail anyway)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract unix sockets are Linux only")
@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_abstract_unix_socket(which):
    code = r'''
import json, sys, threading
import Pyro5.api, Pyro5.server, Pyro5.client
@Pyro5.server.expose
class Thing:
    def m(self):
        return 42
d = Pyro5.server.Daemon(unixsocket="\0" + sys.argv[1])
uri = d.register(Thing, "thing")
t = threading.Thread(target=d.requestLoop, daemon=True)
t.start()
with Pyro5.client.Proxy(uri) as p:
    result = p.m()
print(json.dumps({"location": d.locationStr, "uri": str(uri), "result": result}))
'''
    name = "pyro5-test-%s-%d" % (which, os.getpid())
    # (the original's shutdown() fails on abstract sockets; the script ends without it, the thread is a daemon)
    r = run_report(which, code, name)
    assert r["location"] == "./u:\0" + name and r["uri"] == "PYRO:thing@./u:\0" + name and r["result"] == 42


# ------------------------------------------------------------------ a registered class gets the default instance mode

INSTANCE_MODE_SCRIPT = r'''
import json
import Pyro5.api
from Pyro5.server import behavior, expose

class Plain:
    @expose
    def ident(self):
        return id(self)

@behavior(instance_mode="single")
class Single:
    pass

class Derived(Plain):
    pass

report = {"before": hasattr(Plain, "_pyroInstancing")}
with Pyro5.api.Daemon(host="127.0.0.1") as daemon:
    daemon.register(Plain, "plain")
    daemon.register(Single, "single")
    report["plain"] = list(Plain._pyroInstancing)
    report["single"] = list(Single._pyroInstancing)
    report["derived"] = list(getattr(Derived, "_pyroInstancing", ()))
print(json.dumps(report))
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_registering_a_class_sets_its_default_instance_mode(which):
    """register() gives a class without an instance mode the default one, ("session", None), as an attribute of
    the class (a subclass inherits it); a class with one keeps it."""
    report = run_report(which, INSTANCE_MODE_SCRIPT)
    assert report == {"before": False, "plain": ["session", None], "single": ["single", None],
                      "derived": ["session", None]}


# ------------------------------------------------------------------ a response over MAX_MESSAGE_SIZE (a deliberate difference)

TOO_LARGE_SCRIPT = r'''
import json, threading
import Pyro5.api
from Pyro5 import config

@Pyro5.api.expose
class T:
    def echo(self, n):
        return "x" * n
    def fail(self, n):
        raise ValueError("y" * n)

daemon = Pyro5.api.Daemon(host="127.0.0.1")
uri = daemon.register(T(), "t")
config.MAX_MESSAGE_SIZE = 1000
threading.Thread(target=daemon.requestLoop, daemon=True).start()
report = {}
with Pyro5.api.Proxy(uri) as proxy:
    proxy._pyroTimeout = 10
    for method, n in (("echo", 2000), ("fail", 1200), ("fail", 100), ("echo", 10)):
        try:
            result = getattr(proxy, method)(n)
            report["%s %d" % (method, n)] = ["result", len(result)]
        except Exception as x:
            report["%s %d" % (method, n)] = [type(x).__name__, bool(getattr(x, "_pyroTraceback", None))]
daemon.shutdown()
print(json.dumps(report))
'''


@pytest.mark.parametrize("which", IMPLEMENTATIONS)
def test_a_response_over_max_message_size(which):
    """The original's daemon drops the connection when a result or an error response is over MAX_MESSAGE_SIZE: the
    caller gets ConnectionClosedError (and the proxy reconnects for the next call). Ours answers: a result that
    is too large raises MessageTooLargeError in the caller (with the server's traceback when it fits), an error response that
    is too large only with the server's traceback goes without it, and one too large even without it becomes a
    short PyroError. (docs/differences.md)"""
    report = run_report(which, TOO_LARGE_SCRIPT)
    if which == "original":
        assert report == {"echo 2000": ["ConnectionClosedError", False], "fail 1200": ["ConnectionClosedError", False],
                          "fail 100": ["ValueError", True], "echo 10": ["result", 10]}
    else:
        # (whether "echo 2000"'s error carries the traceback depends on the length of the server's file paths)
        assert report.pop("echo 2000")[0] == "MessageTooLargeError"
        assert report == {"fail 1200": ["PyroError", False], "fail 100": ["ValueError", True], "echo 10": ["result", 10]}
