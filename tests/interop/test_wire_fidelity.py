"""Wire-level behaviour where the manual is silent: the same probe script runs with the original Pyro5 5.15 and
with ours, and both must give the same outcomes (exception classes, values, what arrives on the other side).

The probes are written in the API that both share, so each line states the original's behaviour.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from Pyro5 import protocol, serializers
from Pyro5.socketutil import SocketConnection
from tests._support import refpyro

pytestmark = pytest.mark.interop

NAMES = ["serpent", "marshal", "json", "msgpack"]

PROBE = r'''
import array, json, os, ssl, sys
import Pyro5, Pyro5.api, Pyro5.core, Pyro5.protocol as P, Pyro5.serializers as S, Pyro5.socketutil as SU

out = {}

def outcome(f):
    try:
        r = f()
    except Exception as x:
        classes = [c.__name__ for c in type(x).__mro__ if c.__module__ == "builtins"]
        return "raises " + classes[0]        # the first builtin class: what an `except` clause can rely on
    return "ok %r" % (r,)

names = ["serpent", "marshal", "json", "msgpack"]
a = [1]; a.append(a)
d = {}; d["me"] = d
for n in names:
    s = S.serializers[n]
    out["circular list " + n] = outcome(lambda: s.dumps(a) and None)
    out["circular dict " + n] = outcome(lambda: s.dumps(d) and None)
    out["circular call " + n] = outcome(lambda: s.dumpsCall("o", "m", (a,), {}) and None)
for label, t in (("type", type), ("42", 42), ("None", None), ("str", "x"), ("int", int)):
    out["replacement " + label] = outcome(lambda: S.serializers["serpent"].register_type_replacement(t, lambda x: x))
out["URI(None)"] = outcome(lambda: Pyro5.core.URI(None))
out["URI(99999)"] = outcome(lambda: Pyro5.core.URI(99999))
for data in (b"", b"PYR", b"PYRO", b"HTTP"):
    out["validate %r" % data] = outcome(lambda: P.ReceivingMessage.validate(data))
out["ReceivingMessage(str)"] = outcome(lambda: P.ReceivingMessage("x" * 40))
out["api version"] = outcome(lambda: isinstance(Pyro5.api.__version__, str))

# array.array call arguments: what the other side gets
m = S.serializers["marshal"]
arrays = [array.array("u", "abc"), array.array("i", [1, -2]), array.array("d", [1.5]), array.array("B", [7])]
out["marshal arrays sent"] = m.dumpsCall("o", "m", tuple(arrays), {"k": arrays[1]}).hex()

# SendingMessage and the compressed flag
for comp in (False, True):
    Pyro5.config.COMPRESSION = comp
    for size in (4, 1000):
        msg = P.SendingMessage(P.MSG_INVOKE, P.FLAGS_COMPRESSED, 0, 1, b"x" * size)
        out["compressed flag %s %d" % (comp, size)] = msg.flags
Pyro5.config.COMPRESSION = False

# _ExceptionWrapper
w = Pyro5.core._ExceptionWrapper(KeyError("k"))
out["wrapper attrs"] = outcome(lambda: (type(w.exception).__name__, w.exception.args))
out["wrapper raiseIt"] = outcome(w.raiseIt)
for n in names:
    out["wrapper sent " + n] = S.serializers[n].dumps(w).hex()

# sockets
Pyro5.config.COMMTIMEOUT = None
out["COMMTIMEOUT None"] = outcome(lambda: SU.create_socket(bind=("127.0.0.1", 0)).gettimeout())
Pyro5.config.COMMTIMEOUT = 0.0
name = "\0pyro5-fidelity-%d" % os.getpid()
out["abstract bind"] = outcome(lambda: SU.create_socket(bind=name).getsockname() == name.encode())
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
out["ssl neither bind nor connect"] = outcome(
    lambda: (type(SU.create_socket(sslContext=server_ctx)).__name__, ))
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
out["ssl neither, checking host names"] = outcome(lambda: SU.create_socket(sslContext=client_ctx))

print(json.dumps(out))
'''

DECODE = r'''
import json, sys
import Pyro5.serializers as S
inp = json.loads(sys.stdin.read())
out = {"arrays": repr(S.serializers["marshal"].loadsCall(bytes.fromhex(inp["arrays"])))}
for n, h in inp["wrappers"].items():
    w = S.serializers[n].loads(bytes.fromhex(h))
    out[n] = [type(w).__module__ + "." + type(w).__qualname__, type(w.exception).__name__, list(w.exception.args)]
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def orig_env(tmp_path_factory):
    import msgpack
    folder = tmp_path_factory.mktemp("orig-msgpack")
    (folder / "msgpack").symlink_to(Path(msgpack.__file__).parent, target_is_directory=True)
    return refpyro.clean_env(PYTHONPATH=str(folder))


def _run(python: str, code: str, env: dict, stdin: str = "") -> dict:
    p = subprocess.run([python, "-c", code], input=stdin, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def probes(orig_env):
    ours_env = {k: v for k, v in refpyro.clean_env().items()}
    ours_env["PYTHONPATH"] = str(refpyro.REPO)
    return {"orig": _run(refpyro.orig_python(), PROBE, orig_env), "ours": _run(sys.executable, PROBE, ours_env),
            "orig_env": orig_env, "ours_env": ours_env}


def test_same_outcomes_as_the_original(probes):
    orig, ours = probes["orig"], probes["ours"]
    skip = {"marshal arrays sent"} | {k for k in orig if k.startswith("wrapper sent")}
    assert {k: ours[k] for k in orig if k not in skip} == {k: v for k, v in orig.items() if k not in skip}
    # the facts, spelled out
    assert {orig["circular list " + n] for n in ("serpent", "json", "msgpack")} == {"raises ValueError"}
    assert orig["circular list marshal"] == "ok None"
    assert orig["replacement type"] == orig["replacement 42"] == "raises ValueError"
    assert orig["URI(None)"] == orig["URI(99999)"] == "raises TypeError"
    assert orig["validate b'PYR'"] == "raises ValueError" and orig["validate b'PYRO'"] == "ok None"
    assert orig["ReceivingMessage(str)"] == "raises TypeError"
    assert orig["compressed flag False 1000"] == orig["compressed flag True 4"] == 0
    assert orig["compressed flag True 1000"] == protocol.FLAGS_COMPRESSED
    assert orig["COMMTIMEOUT None"] == "ok None"
    assert orig["ssl neither bind nor connect"] == "ok ('SSLSocket',)"


def test_arrays_and_exception_wrappers_arrive_the_same_on_both_sides(probes):
    """What each side sends is decoded by both: the original and ours must read the same values."""
    for sender in ("orig", "ours"):
        sent = probes[sender]
        stdin = json.dumps({"arrays": sent["marshal arrays sent"],
                            "wrappers": {n: sent["wrapper sent " + n] for n in NAMES}})
        by_orig = _run(refpyro.orig_python(), DECODE, probes["orig_env"], stdin)
        by_ours = _run(sys.executable, DECODE, probes["ours_env"], stdin)
        assert by_ours == by_orig, sender
        assert by_orig["arrays"] == "('o', 'm', ['abc', [1, -2], [1.5], [7]], {'k': [1, -2]})"
        for n in NAMES:
            assert by_orig[n] == ["Pyro5.core._ExceptionWrapper", "KeyError", ["k"]]


PING_SERVER = r'''
import Pyro5.api
daemon = Pyro5.api.Daemon(host="127.0.0.1")
print("READY", daemon.locationStr, flush=True)
daemon.requestLoop()
'''


def test_ping_with_a_compressed_flag_gets_its_answer_from_the_original():
    with refpyro.OrigProcess(PING_SERVER) as server:
        host, port = server.ready.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            conn = SocketConnection(sock, keep_open=True)
            ser = serializers.serializers["serpent"]
            hello = ser.dumps({"handshake": "hello", "object": "Pyro.Daemon"})
            conn.send(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 1, ser.serializer_id, hello).data)
            assert protocol.recv_stub(conn).type == protocol.MSG_CONNECTOK
            ping = protocol.SendingMessage(protocol.MSG_PING, protocol.FLAGS_COMPRESSED, 7, 42, b"ping")
            conn.send(ping.data)
            answer = protocol.recv_stub(conn)
            assert (answer.type, answer.seq) == (protocol.MSG_PING, 7)
            # and the original's answer, with its own serializer id, passes our recv_stub unchecked
            assert answer.serializer_id == 42 and answer.serializer_id not in serializers.serializers_by_id
