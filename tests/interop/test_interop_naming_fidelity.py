"""Name server behaviours of issue 8, stated as the ORIGINAL Pyro5 5.15 shows them and checked against the
original (its own venv, black box) and against ours with the same snippets: argument type errors (locally and
over the wire), NameServerDaemon.nameserver, logger names, the start-up output of pyro5-ns and the broadcast
reply behind a NAT (the last two in a private network namespace, so they can use non-loopback addresses)."""
from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from Pyro5.nameserver import start_ns
from tests._support import net, refpyro

pytestmark = pytest.mark.interop

NETNS_SCRIPT = Path(__file__).resolve().parents[1] / "naming" / "_netns_broadcast.py"
INTERPRETERS = ["orig", "ours"]


def run_with(which: str, code: str, *args: str, timeout: float = 60) -> str:
    """Run a snippet with the original's interpreter or ours; returns its stdout."""
    return refpyro.run_snippet(which, code, *args, timeout=timeout,
                               env=refpyro.clean_env(PYRO_BROADCAST_ADDRS="127.0.0.1"))


# ------------------------------------------------------------------------------------------------ argument types

OUTCOME = r'''
import json, Pyro5.errors as errors
def outcome(call):
    try:
        result = call()
    except Exception as x:
        if isinstance(x, errors.PyroError):
            return "PyroError" if type(x) is errors.PyroError else "PyroError." + type(x).__name__
        return "%s.%s" % (type(x).__module__, type(x).__name__)
    return ["ok", result if isinstance(result, (int, type(None))) else sorted(result)]
U = "PYRO:obj@localhost:1234"
def cases(ns):
    return {
        "register name int": lambda: ns.register(42, U),
        "register name None": lambda: ns.register(None, U),
        "register uri int": lambda: ns.register("a", 42),
        "register uri None": lambda: ns.register("a", None),
        "register uri invalid str": lambda: ns.register("a", "notauri"),
        "register metadata str": lambda: ns.register("b", U, metadata="abc"),
        "register metadata int": lambda: ns.register("b", U, metadata=42),
        "register metadata dict": lambda: ns.register("c", U, metadata={"t1": 1}),
        "register metadata tuple": lambda: ns.register("d", U, metadata=("t1", "t2")),
        "register safe twice": lambda: ns.register("d", U, safe=True),
        "set_metadata str": lambda: ns.set_metadata("d", "abc"),
        "set_metadata int": lambda: ns.set_metadata("d", 42),
        "set_metadata name int": lambda: ns.set_metadata(42, ["t"]),
        "set_metadata unknown": lambda: ns.set_metadata("nope", ["t"]),
        "yplookup meta_all str": lambda: ns.yplookup(meta_all="abc"),
        "yplookup meta_all int": lambda: ns.yplookup(meta_all=42),
        "yplookup meta_any str": lambda: ns.yplookup(meta_any="abc"),
        "yplookup meta_any int": lambda: ns.yplookup(meta_any=42),
        "yplookup both": lambda: ns.yplookup(meta_all=["t1"], meta_any=["t2"]),
        "yplookup ok": lambda: ns.yplookup(meta_all=["t1"], return_metadata=False),
        "lookup int": lambda: ns.lookup(42),
        "lookup unknown": lambda: ns.lookup("nope"),
        "list prefix int": lambda: ns.list(prefix=42),
        "list regex int": lambda: ns.list(regex=42),
        "list regex invalid": lambda: ns.list(regex="(("),
        "list both": lambda: ns.list(prefix="a", regex="b"),
        "remove prefix int": lambda: ns.remove(prefix=42),
        "remove regex int": lambda: ns.remove(regex=42),
        "remove name int": lambda: ns.remove(42),
    }
'''

# what the original 5.15 does, locally and for a remote caller (over the wire with serpent)
EXPECTED = {
    "register name int": "builtins.TypeError",
    "register name None": "builtins.TypeError",
    "register uri int": "builtins.TypeError",
    "register uri None": "builtins.TypeError",
    "register uri invalid str": "PyroError",
    "register metadata str": "builtins.TypeError",
    "register metadata int": "builtins.TypeError",
    "register metadata dict": ["ok", None],
    "register metadata tuple": ["ok", None],
    "register safe twice": "PyroError.NamingError",
    "set_metadata str": "builtins.TypeError",
    "set_metadata int": "builtins.TypeError",
    "set_metadata name int": "builtins.TypeError",
    "set_metadata unknown": "PyroError.NamingError",
    "yplookup meta_all str": "builtins.TypeError",
    "yplookup meta_all int": "builtins.TypeError",
    "yplookup meta_any str": "builtins.TypeError",
    "yplookup meta_any int": "builtins.TypeError",
    "yplookup both": "builtins.ValueError",
    "yplookup ok": ["ok", ["c", "d"]],
    "lookup int": "builtins.TypeError",
    "lookup unknown": "PyroError.NamingError",
    "list prefix int": "builtins.TypeError",
    "list regex int": "builtins.TypeError",
    "list regex invalid": "PyroError.NamingError",
    "list both": "builtins.ValueError",
    "remove prefix int": "builtins.TypeError",
    "remove regex int": "builtins.TypeError",
    "remove name int": ["ok", 0],
}
# ours: an invalid uri string is a NamingError, which is a PyroError (so `except PyroError` still catches it)
OURS_DIFFERENT = {"register uri invalid str": "PyroError.NamingError"}

LOCAL = OUTCOME + r'''
from Pyro5.nameserver import NameServer
ns = NameServer()
print(json.dumps({label: outcome(call) for label, call in cases(ns).items()}))
'''

REMOTE = OUTCOME + r'''
import sys, Pyro5.api as api
with api.Proxy(sys.argv[1]) as ns:
    result = {label: outcome(call) for label, call in cases(ns).items()}
    ns.remove(prefix="")   # (the next client starts from an empty name server)
print(json.dumps(result))
'''


def _expected(which: str) -> dict:
    return dict(EXPECTED, **OURS_DIFFERENT) if which == "ours" else EXPECTED


@pytest.mark.parametrize("which", INTERPRETERS)
def test_argument_errors_of_a_local_name_server(which):
    assert json.loads(run_with(which, LOCAL)) == _expected(which)


@pytest.fixture(scope="module")
def our_ns_uri():
    uri, daemon, _ = start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    t = threading.Thread(target=daemon.requestLoop, daemon=True)
    t.start()
    yield str(uri)
    daemon.shutdown()
    t.join(10)
    daemon.close()


ORIG_NS = r'''
import Pyro5.nameserver as n
uri, daemon, _ = n.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
print("READY", uri, flush=True)
daemon.requestLoop()
'''


@pytest.fixture(scope="module")
def orig_ns_uri():
    with refpyro.OrigProcess(ORIG_NS) as proc:
        yield proc.ready


@pytest.mark.parametrize("client", INTERPRETERS)
@pytest.mark.parametrize("server", INTERPRETERS)
def test_argument_errors_over_the_wire(client, server, request):
    """A remote caller receives builtins.TypeError, whichever side is the original."""
    uri = request.getfixturevalue("orig_ns_uri" if server == "orig" else "our_ns_uri")
    assert json.loads(run_with(client, REMOTE, uri)) == _expected(server)


# ------------------------------------------------------------------------------------------------ daemon, logging

DAEMON_ATTR = r'''
import json
from Pyro5.nameserver import NameServerDaemon
d = NameServerDaemon(host="127.0.0.1", port=0)
before = type(d.nameserver).__name__
d.close()
print(json.dumps([before, d.nameserver]))
'''


@pytest.mark.parametrize("which", INTERPRETERS)
def test_nameserver_attribute_is_cleared_by_close(which):
    assert json.loads(run_with(which, DAEMON_ATTR)) == ["NameServer", None]


LOGGERS = r'''
import json, logging, socket, sys, tempfile, os
records = []
class Collect(logging.Handler):
    def emit(self, record):
        records.append(record)
import Pyro5, Pyro5.api as api
from Pyro5 import nameserver
logging.getLogger().addHandler(Collect())
logging.getLogger().setLevel(logging.DEBUG)
logging.getLogger("Pyro5").setLevel(logging.DEBUG)
db = os.path.join(tempfile.mkdtemp(), "ns.sqlite")
uri, daemon, _ = nameserver.start_ns(host="127.0.0.1", port=0, storage="sql:" + db, enableBroadcast=False)
bc = nameserver.BroadcastServer(uri, "127.0.0.1", 0)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(5)
    s.sendto(b"GET_NSURI", ("127.0.0.1", bc.getPort()))
    bc.processRequest()
    s.recvfrom(200)
bc.close()
daemon.nameserver.register("x", "PYRO:x@localhost:1")
try:
    daemon.nameserver.register(42, "PYRO:x@localhost:1")
except TypeError:
    pass
import threading
threading.Thread(target=daemon.requestLoop, daemon=True).start()
api.resolve("PYRONAME:x@127.0.0.1:%d" % uri.port)
daemon.shutdown()
daemon.close()
naming_modules = {"nameserver", "_ns_broadcast", "_ns_storage", "_ns_autoclean", "_ns_regex"}
print(json.dumps({
    "naming": sorted({r.name for r in records if r.module in naming_modules}),
    "locate": sorted({r.name for r in records if r.module in ("core", "_nslookup")}),
}))
'''


@pytest.mark.parametrize("which", INTERPRETERS)
def test_logger_names(which):
    """Every record of the name server (its daemon, storage, broadcast responder) comes from logger
    Pyro5.naming; name server lookups by the client (resolve, locate_ns) from Pyro5.core."""
    assert json.loads(run_with(which, LOGGERS)) == {"naming": ["Pyro5.naming"], "locate": ["Pyro5.core"]}


# ------------------------------------------------------------------------------------------------ private netns

needs_netns = pytest.mark.skipif(not net.can_unshare_netns(), reason=net.NETNS_REASON)


def _netns(which: str, mode: str) -> dict:
    p = subprocess.run(["unshare", "-rn", refpyro.python_for(which), str(NETNS_SCRIPT), mode],
                       capture_output=True, text=True, timeout=120, env=refpyro.clean_env(), cwd="/")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@needs_netns
def test_pyro5_ns_startup_output_matches_the_original_line_by_line():
    """pyro5-ns on loopback, on a LAN address, on all interfaces, with -x, with NAT: the same lines (ports
    aside). -x on a loopback address still says "Not starting broadcast server for localhost."."""
    orig = _netns("orig", "startup")
    ours = _netns("ours", "startup")
    assert list(ours) == list(orig)
    for args in orig:
        assert ours[args]["startup"] == orig[args]["startup"], args
        assert ours[args]["interrupted"] == ["NS shut down."], args
    assert orig["-n 127.0.0.1 -p 0 -x"]["startup"][0] == "Not starting broadcast server for localhost."
    assert orig["-n 10.99.0.1 -p 0"]["startup"][0] == "Broadcast server running on 0.0.0.0:PORT"
    assert orig["-n 10.99.0.1 -p 0 -x"]["startup"][0].startswith("NS running on 10.99.0.1:")


@needs_netns
@pytest.mark.parametrize("which", INTERPRETERS)
def test_broadcast_reply_behind_nat_is_the_internal_address(which):
    """start_ns(nathost=, natport=): start_ns returns and registers the external uri, while the broadcast
    responder (asked from the local network) answers with the internal address."""
    out = _netns(which, "nat")
    for host, seen in out.items():
        assert seen["returned"] == "PYRO:Pyro.NameServer@nat.example.org:5555", host
        assert seen["registered"] == "PYRO:Pyro.NameServer@nat.example.org:5555", host
        assert seen["reply"] == "PYRO:Pyro.NameServer@10.99.0.1:%d" % seen["port"], host
