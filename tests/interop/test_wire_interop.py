"""Wire compatibility of Pyro5.protocol + Pyro5.serializers with the original Pyro5 5.15 (black box).

One run of the original builds a fixed table of messages (each serializer x call, result, exception, oneway,
batch, annotations + correlation id, compressed, URI, proxy, handshake, assorted types) and decodes the same
table built by us. We compare byte for byte and check that each side decodes the other's messages to the same
values. The original's venv has no msgpack, so the test lends it ours via PYTHONPATH (a folder holding only
a link to the msgpack package).
"""
from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import types
import uuid
from pathlib import Path

import pytest

import Pyro5
from Pyro5 import _wire_hooks, errors, protocol, serializers
from Pyro5.callcontext import current_context
from Pyro5.core import URI
from Pyro5.socketutil import SocketConnection
from tests._support import refpyro
from tests.interop._wire_table import ORIG_MAIN, TABLE_CODE, StandInProxy

pytestmark = pytest.mark.interop

NAMES = ["serpent", "marshal", "json", "msgpack"]

# marshal marks objects that have more than one reference with a flag bit (FLAG_REF); whether a string or a dict
# has a second reference while it's being dumped is an implementation detail of the producer, not part of the
# format. For these cases we compare the decoded values instead of the bytes.
MARSHAL_REF_FLAG_CASES = {"exception", "uri", "pyroerror", "proxy", "uri-call"}


def _our_table() -> dict:
    namespace: dict = {"PROXY": StandInProxy()}
    exec(compile(TABLE_CODE, "table", "exec"), namespace)
    return namespace


@contextlib.contextmanager
def _standin_client():
    """Decode proxies without depending on pyro5-client: a stand-in Pyro5.client.Proxy records the state."""
    class Proxy:
        @classmethod
        def _pyro_from_state(cls, state):
            p = cls.__new__(cls)
            p._pyroUri = URI(state[0])
            p._pyroOneway, p._pyroMethods, p._pyroAttrs = set(state[1]), set(state[2]), set(state[3])
            p._pyroHandshake = state[4]
            return p

    module = types.ModuleType("Pyro5.client")
    module.Proxy = Proxy
    saved = sys.modules.get("Pyro5.client")
    sys.modules["Pyro5.client"] = module
    # the serializers recreate a received proxy through the wire hook that the client registers on import: the
    # stand-in's, whether or not another test imported the real client before (then its hook is put back after)
    saved_hook = _wire_hooks._registry.get("proxy_from_state")
    _wire_hooks.register(proxy_from_state=Proxy._pyro_from_state)
    try:
        yield
    finally:
        if saved_hook is None:
            _wire_hooks._registry.pop("proxy_from_state", None)
        else:
            _wire_hooks.register(proxy_from_state=saved_hook)
        if saved is None:
            sys.modules.pop("Pyro5.client", None)
        else:
            sys.modules["Pyro5.client"] = saved


@pytest.fixture(scope="session")
def orig_env(tmp_path_factory):
    import msgpack
    folder = tmp_path_factory.mktemp("orig-msgpack")
    (folder / "msgpack").symlink_to(Path(msgpack.__file__).parent, target_is_directory=True)
    return refpyro.clean_env(PYTHONPATH=str(folder))


@pytest.fixture(scope="session")
def exchange(orig_env):
    table = _our_table()
    try:
        ours = table["build"](NAMES)
    finally:
        Pyro5.config.COMPRESSION = False
        current_context.correlation_id = None
    code = "TABLE_CODE = %r\n%s" % (TABLE_CODE, ORIG_MAIN)
    p = refpyro.run_orig(code, input=json.dumps({"names": NAMES, "messages": ours}).encode(), env=orig_env)
    theirs = json.loads(p.stdout)
    with _standin_client():
        ours_decoded = {n + "/" + c: table["decode"](h) for n, c, h in ours}
        theirs_decoded = {}
        for n, c, h in theirs["built"]:
            try:
                theirs_decoded[n + "/" + c] = table["decode"](h)
            except Exception as x:   # reported by the tests below
                theirs_decoded[n + "/" + c] = {"error": "%s: %s" % (type(x).__name__, x)}
    return {"ours": ours, "theirs": theirs, "ours_decoded": ours_decoded, "theirs_decoded": theirs_decoded}


def test_constants_and_ids_match_original(exchange):
    constants = exchange["theirs"]["constants"]
    assert constants == {k: getattr(protocol, k) for k in constants}
    assert constants["PROTOCOL_VERSION"] == 502
    assert exchange["theirs"]["ids"] == {n: serializers.serializers[n].serializer_id for n in NAMES}


def test_same_cases_built(exchange):
    ours = [tuple(m[:2]) for m in exchange["ours"]]
    theirs = [tuple(m[:2]) for m in exchange["theirs"]["built"]]
    assert set(theirs) <= set(ours)
    # we can do more than the original here: our marshal serializer converts nested URIs/exceptions too
    assert {c for n, c in set(ours) - set(theirs)} <= {"uri-nested", "uri-call", "exception-nested"}
    assert {n for n, c in set(ours) - set(theirs)} <= {"marshal"}


@pytest.mark.parametrize("name", NAMES + ["-"])
def test_byte_for_byte(exchange, name):
    theirs = {c: h for n, c, h in exchange["theirs"]["built"] if n == name}
    ours = {c: h for n, c, h in exchange["ours"] if n == name}
    assert ours, "no cases for %s" % name
    skip = MARSHAL_REF_FLAG_CASES if name == "marshal" else set()
    different = {c: (bytes.fromhex(ours[c]), bytes.fromhex(theirs[c])) for c in theirs
                 if c not in skip and ours[c] != theirs[c]}
    assert not different
    if skip:   # the skipped ones must still have an identical header and decode identically
        for c in skip & set(theirs):
            assert ours[c][:80] != "" and ours[c][:24] == theirs[c][:24]   # PYRO, version, type, ser, flags, seq
            key = name + "/" + c
            assert exchange["ours_decoded"][key] == exchange["theirs_decoded"][key]


@pytest.mark.parametrize("name", NAMES)
def test_we_decode_original(exchange, name):
    keys = [k for k in exchange["theirs_decoded"] if k.startswith(name + "/")]
    assert len(keys) >= 15
    for key in keys:
        assert "error" not in exchange["theirs_decoded"][key], key
        assert exchange["theirs_decoded"][key] == exchange["ours_decoded"][key], key


@pytest.mark.parametrize("name", NAMES)
def test_original_decodes_ours(exchange, name):
    keys = [k for k in exchange["theirs"]["decoded"] if k.startswith(name + "/")]
    assert len(keys) >= 15
    for key in keys:
        theirs = exchange["theirs"]["decoded"][key]
        assert "error" not in theirs, (key, theirs)
        assert theirs == exchange["ours_decoded"][key], key


def test_decoded_values_are_right(exchange):
    d = exchange["ours_decoded"]
    # exceptions arrive as the same class, with args and the remote traceback
    for name in NAMES:
        exc = d[name + "/exception"]["value"]
        assert exc[0] == "EXC" and exc[1] == "builtins.ValueError"
        assert exc[3][1][1] == ["str", "'ValueError: bad value\\n'"]
        assert d[name + "/exception"]["flags"] == protocol.FLAGS_EXCEPTION
        assert d[name + "/pyroerror"]["value"][1] == "Pyro5.errors.NamingError"
        assert d[name + "/uri"]["value"] == ["URI", "PYRO:objname@localhost:5555"]
        assert d[name + "/uri-nested"]["value"][1][0] == ["URI", "PYRO:objname@localhost:5555"]
        assert d[name + "/exception-nested"]["value"][1][0][1][0] == "EXC"
        assert d[name + "/proxy"]["value"] == ["PROXY", "PYRO:objname@localhost:5555", ["m2"], ["m2"], ["at"],
                                               ["dict", [[["str", "'h'"], ["int", "1"]]]]]
        ann = d[name + "/annotations"]
        assert ann["ann"] == {"XYZZ": b"\x00\x01binary".hex(), "CORR": b"abc".hex(), "EMPT": ""}
        assert ann["corr"] == "0123456789abcdef0123456789abcdef"
        assert ann["flags"] == protocol.FLAGS_CORR_ID
        assert d[name + "/compressed"]["flags"] == 0     # the compressed flag is consumed by decompression
        assert d[name + "/oneway"]["flags"] == protocol.FLAGS_ONEWAY
        assert d[name + "/call-noargs"]["seq"] == 65535


def test_compression_decision_matches(exchange):
    for _name, c, h in exchange["theirs"]["built"]:
        data = bytes.fromhex(h)
        if c == "compressed":
            assert data[9] & protocol.FLAGS_COMPRESSED
        elif c == "compressed-small":
            assert not data[9] & protocol.FLAGS_COMPRESSED


PING_PEER = r"""
import socket, sys
import Pyro5.protocol as P
from Pyro5.socketutil import SocketConnection
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
conn = SocketConnection(sock)
P.SendingMessage.ping(conn)                           # the original pings us ...
msg = P.recv_stub(conn, [P.MSG_PING])                # ... and answers our ping
conn.send(P.SendingMessage(P.MSG_PING, 0, msg.seq, msg.serializer_id, b"pong").data)
msg = P.recv_stub(conn)
print("GOT", msg.type, msg.seq, bytes(msg.data).decode())
conn.close()
"""


def test_ping_both_ways_over_socket():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    port = server.getsockname()[1]
    result: dict = {}

    def peer():
        try:
            result["proc"] = refpyro.run_orig(PING_PEER, str(port), timeout=30)
        except Exception as x:
            result["error"] = x

    t = threading.Thread(target=peer)
    t.start()
    try:
        sock, _ = server.accept()
        sock.settimeout(20)
        conn = SocketConnection(sock)
        ping = protocol.recv_stub(conn, [protocol.MSG_PING])
        conn.send(protocol.SendingMessage(protocol.MSG_PING, 0, ping.seq, ping.serializer_id, b"pong").data)
        protocol.SendingMessage.ping(conn)
        conn.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 321, 1, b"done").data)
        t.join(30)
        conn.close()
    finally:
        server.close()
    assert "error" not in result, result.get("error")
    assert result["proc"].stdout.decode().strip() == "GOT 5 321 done"


# --- our protocol + serializers against the original's Daemon and Proxy, over real sockets ----------------------

ORIG_DAEMON = r"""
import Pyro5, Pyro5.api
@Pyro5.api.expose
class Thing:
    def echo(self, x): return x
    def fail(self): raise ValueError("bad thing", 7)
    def uri(self): return Pyro5.api.URI("PYRO:other@localhost:1234")
    def annotated(self):
        ctx = Pyro5.api.current_context
        ctx.response_annotations = {"RESP": b"ok:" + bytes(ctx.annotations.get("XYZZ", b""))}
        return str(ctx.correlation_id)
    @Pyro5.api.oneway
    def fire(self, x): pass
d = Pyro5.api.Daemon(host="127.0.0.1")
d.register(Thing, "thing")
print("READY", d.locationStr, flush=True)
d.requestLoop()
"""


@pytest.fixture(scope="module")
def orig_daemon(orig_env):
    with refpyro.OrigProcess(ORIG_DAEMON, env=orig_env) as proc:
        host, port = proc.ready.rsplit(":", 1)
        yield host, int(port)


@pytest.mark.parametrize("name", NAMES)
def test_raw_messages_against_original_daemon(orig_daemon, name):
    ser = serializers.serializers[name]
    sid = ser.serializer_id
    conn = SocketConnection(socket.create_connection(orig_daemon, timeout=10))
    try:
        def call(seq, method, vargs=(), flags=0, annotations=None):
            conn.send(protocol.SendingMessage(protocol.MSG_INVOKE, flags, seq, sid,
                                              ser.dumpsCall("thing", method, vargs, {}), annotations).data)
            if flags & protocol.FLAGS_ONEWAY:
                return None
            msg = protocol.recv_stub(conn, [protocol.MSG_RESULT])
            assert msg.seq == seq and msg.serializer_id == sid
            return msg

        conn.send(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, sid,
                                          ser.dumps({"handshake": "hello", "object": "thing"})).data)
        msg = protocol.recv_stub(conn)
        assert msg.type == protocol.MSG_CONNECTOK
        answer = ser.loads(msg.data)
        assert answer["handshake"] == "hello"
        assert {"echo", "fail", "uri", "fire"} <= set(answer["meta"]["methods"])
        assert list(answer["meta"]["oneway"]) == ["fire"]

        msg = call(1, "echo", ([1, "x", None, 2.5, {"k": "v"}],))
        assert ser.loads(msg.data) == [1, "x", None, 2.5, {"k": "v"}]
        assert not msg.flags & protocol.FLAGS_EXCEPTION

        msg = call(2, "fail")
        assert msg.flags & protocol.FLAGS_EXCEPTION
        exc = ser.loads(msg.data)
        assert type(exc) is ValueError and exc.args == ("bad thing", 7)
        assert isinstance(exc._pyroTraceback, list) and "ValueError" in exc._pyroTraceback[-1]

        corr = uuid.uuid4()
        current_context.correlation_id = corr
        try:
            msg = call(3, "annotated", annotations={"XYZZ": b"abc"})
        finally:
            current_context.correlation_id = None
        assert msg.annotations.get("RESP") == b"ok:abc"
        assert msg.correlation_id == corr and ser.loads(msg.data) == str(corr)

        Pyro5.config.COMPRESSION = True
        msg = call(4, "echo", (list(range(1000)),))
        Pyro5.config.COMPRESSION = False
        assert list(ser.loads(msg.data)) == list(range(1000))

        call(5, "fire", (1,), flags=protocol.FLAGS_ONEWAY)
        msg = call(6, "uri")        # no answer came for the oneway call: the next reply is this one
        assert ser.loads(msg.data) == URI("PYRO:other@localhost:1234")

        protocol.SendingMessage.ping(conn)
    finally:
        conn.close()


ORIG_PROXY = r"""
import json, sys
import Pyro5, Pyro5.api, Pyro5.errors
Pyro5.config.COMMTIMEOUT = 10
out = {}
for name in sys.argv[2:]:
    p = Pyro5.api.Proxy("PYRO:thing@127.0.0.1:%s" % sys.argv[1])
    p._pyroSerializer = name
    r = {"echo": repr(p.echo([1, "two", None, {"k": 2.5}])), "uri": str(p.uri())}
    try:
        p.fail()
    except ValueError as x:
        r["fail"] = [repr(x.args), "".join(x._pyroTraceback)]
    try:
        p.pyrofail()
    except Pyro5.errors.NamingError as x:
        r["pyrofail"] = str(x)
    p.fire(1)
    r["after_oneway"] = p.echo("still in sync")
    p._pyroRelease()
    out[name] = r
print(json.dumps(out))
"""


def _serve_connection(conn: SocketConnection, log: list) -> None:
    """A minimal Pyro server made of Pyro5.protocol + Pyro5.serializers only."""
    def pyrofail():
        raise errors.NamingError("no such name")

    def fail():
        raise ValueError("server side failure", 3)

    methods = {"echo": lambda x: x, "fail": fail, "pyrofail": pyrofail, "uri": lambda: URI("PYRO:x@h:1"),
               "fire": lambda x: log.append(("fire", x))}
    try:
        while True:
            msg = protocol.recv_stub(conn)
            ser = serializers.serializers_by_id[msg.serializer_id]
            current_context.correlation_id = msg.correlation_id
            if msg.type == protocol.MSG_CONNECT:
                handshake = ser.loads(msg.data)
                log.append(("connect", handshake))
                meta = {"methods": set(methods), "oneway": {"fire"}, "attrs": set()}
                reply = ser.dumps({"handshake": "hello", "meta": meta})
                conn.send(protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, msg.seq, msg.serializer_id, reply).data)
                continue
            if msg.type == protocol.MSG_PING:
                conn.send(protocol.SendingMessage(protocol.MSG_PING, 0, msg.seq, msg.serializer_id, b"pong").data)
                continue
            obj, method, vargs, kwargs = ser.loadsCall(msg.data)
            flags = 0
            try:
                result = methods[method](*vargs, **kwargs)
            except Exception as x:
                x._pyroTraceback = ["Traceback (our server):\n", "%s: %s\n" % (type(x).__name__, x)]
                result = x
                flags = protocol.FLAGS_EXCEPTION
            if msg.flags & protocol.FLAGS_ONEWAY:
                continue
            conn.send(protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                              ser.dumps(result)).data)
    except errors.ConnectionClosedError:
        pass
    finally:
        current_context.correlation_id = None
        conn.close()


def test_original_proxy_against_our_messages(orig_env):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    port = server.getsockname()[1]
    log: list = []
    result: dict = {}

    def client():
        try:
            result["proc"] = refpyro.run_orig(ORIG_PROXY, str(port), *NAMES, env=orig_env, timeout=60)
        except Exception as x:
            result["error"] = x

    t = threading.Thread(target=client)
    t.start()
    workers = []
    try:
        for _ in NAMES:
            sock, _addr = server.accept()
            sock.settimeout(20)
            w = threading.Thread(target=_serve_connection, args=(SocketConnection(sock), log))
            w.start()
            workers.append(w)
        t.join(60)
    finally:
        server.close()
        for w in workers:
            w.join(20)
    assert "error" not in result, result.get("error")
    out = json.loads(result["proc"].stdout)
    assert set(out) == set(NAMES)
    for name in NAMES:
        r = out[name]
        assert r["echo"] in ("[1, 'two', None, {'k': 2.5}]",)
        assert r["uri"] == "PYRO:x@h:1"
        assert r["fail"] == ["('server side failure', 3)", "Traceback (our server):\nValueError: ('server side "
                                                            "failure', 3)\n"]
        assert r["pyrofail"] == "no such name"
        assert r["after_oneway"] == "still in sync"
    assert [entry for entry in log if entry[0] == "connect"] == [("connect", {"handshake": "hello",
                                                                             "object": "thing"})] * len(NAMES)
    assert log.count(("fire", 1)) == len(NAMES)


def test_message_reader_takes_the_originals_messages_in_any_split(exchange):
    # every message the original built (all four serializers, annotations, correlation id, compression, batch,
    # exceptions, connect, ping), fed to a MessageReader in every two-way split and as one stream in pieces
    def fields(m):
        return m.type, m.flags, m.seq, m.serializer_id, m.data, m.annotations, m.corr_id

    built = [bytes.fromhex(h) for n, c, h in exchange["theirs"]["built"]]
    assert len(built) >= 60
    expected = [fields(protocol.ReceivingMessage(data[:40], data[40:])) for data in built]
    for data, want in zip(built, expected, strict=True):
        for cut in range(len(data) + 1):
            reader = protocol.MessageReader()
            got = reader.feed(data[:cut]) + reader.feed(data[cut:])
            assert [fields(m) for m in got] == [want], cut
    stream = b"".join(built)
    for size in (1, 13, 40, 41, 1000):
        reader = protocol.MessageReader()
        got = [m for i in range(0, len(stream), size) for m in reader.feed(stream[i:i + size])]
        assert [fields(m) for m in got] == expected
