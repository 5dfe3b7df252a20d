"""Pyro4 programs (name server, server, client) run unchanged as separate processes on our stack, with just
`from Pyro5.compatibility import Pyro4` added at the top."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests._support.refpyro import start_python

NS_PROGRAM = r"""
from Pyro5.compatibility import Pyro4
import Pyro4.naming
uri, daemon, bcserver = Pyro4.naming.startNS(host="127.0.0.1", port=0, enableBroadcast=False)
print("READY", uri.host, uri.port, flush=True)
daemon.requestLoop()
"""

SERVER_PROGRAM = r"""
from Pyro5.compatibility import Pyro4
import sys
import Pyro4
import Pyro4.errors

ns_host, ns_port, mode, servertype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


@Pyro4.expose
@Pyro4.behavior(instance_mode="single")
class GreetingMaker(object):
    def get_fortune(self, name):
        return "Hello, {0}. Here is your fortune message:\n" \
               "Behold the warranty -- the bold print giveth and the fine print taketh away.".format(name)

    @Pyro4.oneway
    def shutdown(self):
        self._pyroDaemon.shutdown()

    @property
    def version(self):
        return Pyro4.constants.VERSION


Pyro4.config.SERVERTYPE = servertype
Pyro4.config.SERIALIZERS_ACCEPTED = {"serpent", "json", "marshal"}
Pyro4.config.REQUIRE_EXPOSE = True
daemon = Pyro4.Daemon(host="127.0.0.1")
if mode == "requestLoop":
    ns = Pyro4.locateNS(host=ns_host, port=ns_port)
    uri = daemon.register(GreetingMaker)
    ns.register("example.greeting", uri)
    print("READY", uri, flush=True)
    daemon.requestLoop()
else:
    Pyro4.config.NS_HOST = ns_host
    Pyro4.config.NS_PORT = ns_port
    print("READY serveSimple", flush=True)
    Pyro4.Daemon.serveSimple({GreetingMaker: "example.greeting"}, daemon=daemon, ns=True, verbose=False)
print("server exits")
"""

CLIENT_PROGRAM = r"""
from Pyro5.compatibility import Pyro4
import sys
import time
import Pyro4.errors
import Pyro4.futures
import Pyro4.util
from Pyro4 import Proxy

sys.excepthook = Pyro4.util.excepthook
Pyro4.config.SERIALIZER = "json"
ns_host, ns_port = sys.argv[1], int(sys.argv[2])
name = "PYRONAME:example.greeting@%s:%d" % (ns_host, ns_port)
deadline = time.monotonic() + 20
while True:       # serveSimple registers the name right after the server printed READY
    try:
        Pyro4.resolve(name)
        break
    except Pyro4.errors.NamingError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)

greeting_maker = Pyro4.Proxy(name)
print(greeting_maker.get_fortune("Irmen").splitlines()[0])
print("version", greeting_maker.version == Pyro4.__version__)

# a Future around a proxy method, with a call chain (the Pyro4 tips and tricks)
future = Pyro4.Future(greeting_maker.get_fortune).then(lambda text: text.splitlines()[0].upper())
print(future("future").value)

# an asynchronous proxy: calls return a FutureResult
async_maker = Proxy(name)
async_maker._pyroAsync()
result = async_maker.get_fortune("async").then(len)
print("async result ready:", result.wait(10), result.value > 20)

# batch
batch = Pyro4.batch(greeting_maker)
batch.get_fortune("a")
batch.get_fortune("b")
print("batch results", len(list(batch())))

# errors are Pyro5's classes under their Pyro4 names
try:
    Pyro4.Proxy("PYRONAME:does.not.exist@%s:%d" % (ns_host, ns_port)).get_fortune("x")
except Pyro4.errors.NamingError:
    print("naming error ok")
try:
    greeting_maker.nonexisting()
except AttributeError:
    print("attribute error ok")
try:
    greeting_maker._pyroHmacKey = b"secret"
except Pyro4.errors.PyroError as x:
    print("hmac refused:", "SSL" in str(x))

ns = Pyro4.locateNS(ns_host, ns_port)
print("listed", sorted(ns.list(prefix="example.")))
greeting_maker.shutdown()
"""


@pytest.fixture
def nameserver_process():
    proc = start_python(NS_PROGRAM)
    try:
        host, port = proc.ready.split()
        yield host, port
    finally:
        proc.stop()


@pytest.mark.parametrize("mode,servertype", [("requestLoop", "thread"), ("serveSimple", "multiplex")])
def test_pyro4_server_and_client_programs(nameserver_process, mode, servertype):
    host, port = nameserver_process
    server = start_python(SERVER_PROGRAM, host, port, mode, servertype)
    try:
        client = subprocess.run([sys.executable, "-c", CLIENT_PROGRAM, host, port], capture_output=True, text=True,
                                timeout=90)
        assert client.returncode == 0, client.stderr
        assert client.stdout.splitlines() == [
            "Hello, Irmen. Here is your fortune message:",
            "version True",
            "HELLO, FUTURE. HERE IS YOUR FORTUNE MESSAGE:",
            "async result ready: True True",
            "batch results 2",
            "naming error ok",
            "attribute error ok",
            "hmac refused: True",
            "listed ['example.greeting']",
        ]
        # the client asked the server to shut down: its request loop ends and the program exits normally
        assert server.proc.wait(30) == 0
        assert "server exits" in server.proc.stdout.read()
    finally:
        server.stop()


def test_pyro4_program_using_removed_features_gets_clear_errors():
    code = r"""
from Pyro5.compatibility import Pyro4
import Pyro4
for action in ("Pyro4.config.SERIALIZER = 'pickle'", "Pyro4.config.HMAC_KEY = b'k'",
               "Pyro4.config.FLAME_ENABLED = True", "import Pyro4.utils.flame",
               "Pyro4.config.REQUIRE_EXPOSE = False"):
    try:
        exec(action)
    except (NotImplementedError, ImportError) as x:
        print(type(x).__name__, "|", x)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5
    assert "serpent" in lines[0] and "unsafe" in lines[0]
    assert "SSL" in lines[1]
    assert "Flame" in lines[2] and "Flame" in lines[3] and lines[3].startswith("ModuleNotFoundError")
    assert "@expose" in lines[4] or "expose" in lines[4]
