"""Interop: our Proxy (pyro5-client) calling the ORIGINAL Pyro5 5.15 Daemon, running in its own venv.

One original server per kind of transport for the whole module (plain TCP with many objects and a name server
object; unix socket; 2-way SSL), every serializer against each. The original is only run and talked to, never
imported. The peer server script is tests/client/peer_server.py.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid

import pytest

import Pyro5
import Pyro5.errors
import Pyro5.serializers
from Pyro5.callcontext import current_context
from Pyro5.client import BatchProxy, Proxy, SerializedBlob, locate_ns
from tests._support import certs as certgen
from tests._support import refpyro
from tests.client._peer import SERIALIZERS, peer_has_msgpack, start_peer

pytestmark = pytest.mark.interop


def poll(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture(scope="module")
def orig():
    with start_peer(kind="orig", nameserver=True) as peer:
        yield peer


@pytest.fixture(params=SERIALIZERS)
def serializer(request):
    if request.param == "msgpack" and not peer_has_msgpack("orig"):
        pytest.skip("msgpack is not installed in the original Pyro5's venv")
    Pyro5.config.SERIALIZER = request.param
    return request.param


@pytest.fixture
def thing(orig, serializer):
    with Proxy(orig.uri("thing")) as p:
        yield p


@pytest.fixture(autouse=True)
def _clean_context():
    yield
    current_context.annotations = {}
    current_context.response_annotations = {}
    current_context.correlation_id = None


def test_plain_calls(thing):
    assert thing.add(40, 2) == 42
    assert thing.echo(["a", 1, 2.5, None, {"k": True}]) == ["a", 1, 2.5, None, {"k": True}]
    assert thing.kw(1, b=3)[:2] == [1, 3]
    assert thing._pyroOneway == {"ow"} and thing._pyroAttrs == {"prop", "readonly"}


def test_attributes(thing):
    thing.prop = 11
    assert thing.prop == 11
    assert thing.readonly == "ro"
    with pytest.raises(AttributeError):
        _ = thing.unexposed


def test_oneway(thing):
    key = uuid.uuid4().hex
    start = time.monotonic()
    assert thing.ow(key, "one") is None
    assert poll(lambda: thing.get(key) == "one")
    assert time.monotonic() - start < 5


def test_batch(thing, serializer):
    batch = BatchProxy(thing)
    batch.add(1, 2)
    batch.echo("x")
    batch.add(3, 4)
    assert list(batch()) == [3, "x", 7]
    key = uuid.uuid4().hex
    batch.ow(key, "batched")
    batch.add(1, 1)
    assert batch(oneway=True) is None
    assert poll(lambda: thing.get(key) == "batched")
    if serializer != "marshal":  # the original can't marshal the exception wrapper in a batch result
        batch.add(1, 1)
        batch.fail()
        results = batch()
        assert next(results) == 2
        with pytest.raises(ValueError, match="boom"):
            next(results)


def test_remote_exception_with_traceback(thing):
    with pytest.raises(ValueError, match="boom") as x:
        thing.fail()
    remote_tb = "".join(x.value._pyroTraceback)
    assert "ValueError: boom" in remote_tb and "in fail" in remote_tb
    text = "".join(Pyro5.errors.get_pyro_traceback(type(x.value), x.value, x.value.__traceback__))
    assert "Remote traceback" in text
    with pytest.raises(TypeError):
        thing.add(1)  # wrong argument count, raised by the original daemon
    assert thing.add(1, 1) == 2


def test_generator_streaming(thing):
    assert list(thing.gen(4)) == [0, 1, 2, 3]
    assert list(thing) == [7, 8, 9]
    key = uuid.uuid4().hex
    stream = thing.tracked_gen(key)
    assert [next(stream) for _ in range(2)] == [0, 1]
    stream.close()  # oneway close_stream to the original daemon
    assert poll(lambda: thing.get(key) == "closed")


def test_autoproxy(thing, serializer):
    if serializer == "marshal":
        pytest.skip("the original can't marshal an autoproxied object")
    sub = thing.getsub()
    assert isinstance(sub, Proxy) and sub.add(1, 1) == 1002
    sub._pyroRelease()
    assert thing.call_back(Proxy(thing._pyroUri), 1, 2) == 3  # our proxy, passed to the original, works there


def test_handshake(orig, serializer):
    received = []

    class HandshakeProxy(Proxy):
        def _pyroValidateHandshake(self, response):
            received.append(response)

    with HandshakeProxy(orig.uri()) as p:
        p._pyroHandshake = {"echo": "secret"}
        assert p.add(1, 2) == 3
    assert received == [{"echoed": "secret"}]
    with Proxy(orig.uri()) as p:
        p._pyroHandshake = "reject"
        with pytest.raises(Pyro5.errors.CommunicationError, match="rejected"):
            p.add(1, 2)


def test_annotations_and_correlation_id(thing, serializer):
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    current_context.annotations = {"ABCD": b"xyz"}
    result = thing.ctx()
    assert result["corr"] == str(corr)
    assert result["ann"]["ABCD"] == "xyz"
    assert current_context.response_annotations == {"RESP": b"yo"}


def test_serialized_blob(thing, serializer):
    if serializer == "json":
        pytest.skip("the original daemon's SerializedBlob.deserialized() is broken for json")
    kind, info, data = thing.blobinfo(SerializedBlob("blob-info", ["x", 2]))
    assert kind == "SerializedBlob" and info == "blob-info" and list(data) == ["x", 2]


def test_name_server_lookup(orig):
    location = orig.uri("Pyro.NameServer").split("@")[1]
    with Proxy("PYRONAME:test.thing@" + location) as p:
        assert p.add(2, 3) == 5
    with Proxy("PYROMETA:meta.thing@" + location) as p:
        assert p.add(2, 4) == 6


def test_proxy_state_matches_original(orig):
    """Our proxy's wire state has the original's layout: compare with what the original itself produces."""
    code = ("import Pyro5.api, Pyro5.serializers, sys\n"
            "p = Pyro5.api.Proxy(sys.argv[1]); p._pyroBind()\n"
            "p._pyroHandshake = 'hs'; p._pyroSerializer = 'json'\n"
            "print(Pyro5.serializers.serializers['json'].dumps(p).decode())\n")
    theirs = json.loads(refpyro.run_orig(code, orig.uri()).stdout)
    with Proxy(orig.uri()) as p:
        p._pyroBind()
        p._pyroHandshake = "hs"
        p._pyroSerializer = "json"
        ours = json.loads(Pyro5.serializers.serializers["json"].dumps(p))
    assert ours["__class__"] == theirs["__class__"] == "Pyro5.client.Proxy"
    assert ours["state"][0] == theirs["state"][0]
    assert [sorted(x) for x in ours["state"][1:4]] == [sorted(x) for x in theirs["state"][1:4]]
    assert ours["state"][4:] == theirs["state"][4:] == ["hs", "json"]
    # and the original turns our serialized proxy back into a working proxy of its own
    code = ("import Pyro5.serializers, sys\n"
            "p = Pyro5.serializers.serializers['json'].loads(sys.argv[1].encode())\n"
            "print(type(p).__name__, p.add(20, 22))\n")
    assert refpyro.run_orig(code, json.dumps(ours)).stdout.split() == [b"Proxy", b"42"]


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
def test_unix_socket():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "orig.sock")
        with start_peer(kind="orig", unixsocket=path) as peer:
            for ser in ("serpent", "json", "marshal"):
                Pyro5.config.SERIALIZER = ser
                with Proxy(peer.uri()) as p:
                    assert p.add(1, 2) == 3
                    assert p._pyroConnection.family() == "Unix"
                    assert list(p.gen(2)) == [0, 1]


def test_ssl_two_way():
    certs = certgen.make_certs()
    with start_peer(kind="orig", config=certs.as_config("server", require_client_cert=True)) as peer:
        for key, value in certs.as_config("client").items():
            setattr(Pyro5.config, key, value)
        for ser in ("serpent", "json", "marshal"):
            Pyro5.config.SERIALIZER = ser
            with Proxy(peer.uri()) as p:
                assert p.add(1, 2) == 3
                cert = p._pyroConnection.getpeercert()
                assert int(cert["serialNumber"], 16) == certs.server_serial
        Pyro5.config.SSL_CLIENTCERT = ""
        Pyro5.config.SSL_CLIENTKEY = ""
        with Proxy(peer.uri()) as p:
            with pytest.raises(Pyro5.errors.CommunicationError):
                p.add(1, 2)  # the original daemon requires our client certificate


_BC_NAMESERVER = """
import Pyro5.nameserver as N
uri, daemon, _ = N.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
bc = N.BroadcastServer(uri, bchost="127.0.0.1", bcport=0)
bc.runInThread()
daemon.nameserver.register("bc.thing", "PYRO:thing@127.0.0.1:5555")
print("READY", uri, bc.sock.getsockname()[1], flush=True)
daemon.requestLoop()
"""


def test_broadcast_lookup_of_original_name_server():
    """Our broadcast lookup (b"GET_NSURI" to NS_BCPORT) finds the original name server's responder."""
    with refpyro.OrigProcess(_BC_NAMESERVER) as ns_process:
        nsuri, bcport = ns_process.ready.split()
        Pyro5.config.BROADCAST_ADDRS = "127.0.0.1"
        Pyro5.config.NS_BCPORT = int(bcport)
        with socket.socket() as s:  # make the direct loopback attempt find nothing
            s.bind(("127.0.0.1", 0))
            Pyro5.config.NS_PORT = s.getsockname()[1]
        with locate_ns() as ns:
            assert str(ns._pyroUri) == nsuri
            assert str(ns.lookup("bc.thing")) == "PYRO:thing@127.0.0.1:5555"


_SCRIPTED_CALLS = """
import sys
import Pyro5.api as P
P.config.SERIALIZER = sys.argv[2]
p = P.Proxy(sys.argv[1])
p._pyroHandshake = {"hs": [1, 2]}
p.add(1, 2)
p.ow(5)
p.add(a=1, b="two")
if sys.argv[2] != "marshal":  # (the original's marshal serializer can't do calls with kwargs None)
    p.prop
    p.prop = 3
    b = P.BatchProxy(p)
    b.add(1, 2)
    b.ow(1)
    list(b())
    b.add(3, 4)
    b(oneway=True)
# last: the original keeps sending the blob's BLBI annotation with every later message (a bug of the original)
p.echo(P.SerializedBlob("blob-info", [1, "x"]))
p._pyroRelease()
"""


class _RecordingDaemon:
    """Records every raw message a client sends; answers the handshake and every call (a raw socket server)."""

    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.uri = "PYRO:thing@127.0.0.1:%d" % self.sock.getsockname()[1]
        self.messages: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import Pyro5.protocol as protocol
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            conn.settimeout(10)
            with conn:
                while True:
                    header = self._recv(conn, 40)
                    if not header:
                        break
                    msg = protocol.ReceivingMessage(header)
                    body = self._recv(conn, msg.data_size + msg.annotations_size)
                    self.messages.append(header + body)
                    msg.add_payload(body)
                    ser = Pyro5.serializers.serializers_by_id[msg.serializer_id]
                    if msg.type == protocol.MSG_CONNECT:
                        answer = {"handshake": "hello", "meta": {"methods": ["add", "ow", "echo"], "oneway": ["ow"],
                                                                 "attrs": ["prop"]}}
                        mtype = protocol.MSG_CONNECTOK
                    elif msg.flags & protocol.FLAGS_ONEWAY:
                        continue
                    else:
                        answer = [None, None] if msg.flags & protocol.FLAGS_BATCH else None
                        mtype = protocol.MSG_RESULT
                    conn.sendall(protocol.SendingMessage(mtype, 0, msg.seq, msg.serializer_id, ser.dumps(answer)).data)

    @staticmethod
    def _recv(conn, size):
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_request_bytes_identical_to_original(ser):
    """Every message our proxy sends is byte-for-byte what the original's proxy sends for the same calls."""
    if ser == "msgpack" and not peer_has_msgpack("orig"):
        pytest.skip("msgpack is not installed in the original Pyro5's venv")
    expected = 5 if ser == "marshal" else 9  # messages of the scripted calls, the connect message included
    theirs = _RecordingDaemon()
    try:
        refpyro.run_orig(_SCRIPTED_CALLS, theirs.uri, ser)
        assert poll(lambda: len(theirs.messages) >= expected)
    finally:
        theirs.close()
    ours = _RecordingDaemon()
    try:
        code = compile(_SCRIPTED_CALLS, "<scripted calls>", "exec")
        import sys
        argv, sys.argv = sys.argv, ["x", ours.uri, ser]
        try:
            exec(code, {"__name__": "scripted"})
        finally:
            sys.argv = argv
        assert poll(lambda: len(ours.messages) >= expected)
    finally:
        ours.close()
    assert len(ours.messages) == len(theirs.messages) == expected
    for mine, original in zip(ours.messages, theirs.messages, strict=True):
        assert mine == original
