"""Shared source for tests/interop/test_wire_interop.py.

`TABLE_CODE` is executed unchanged by our Pyro5 (in the test process) and by the original Pyro5 5.15 (in its own
venv). It only uses public API: Pyro5.protocol, Pyro5.serializers, Pyro5.core.URI, Pyro5.config,
Pyro5.callcontext.current_context. Before executing it, each side defines `PROXY`: an object that serializes as a
Pyro5.client.Proxy (the original's real Proxy, our stand-in with __pyro_class__/__pyro_state__).
"""

TABLE_CODE = r'''
import decimal, datetime, uuid
import Pyro5, Pyro5.core, Pyro5.errors
import Pyro5.protocol as P
import Pyro5.serializers as S
from Pyro5.callcontext import current_context

CORR = uuid.UUID("0123456789abcdef0123456789abcdef")
URI = Pyro5.core.URI("PYRO:objname@localhost:5555")
PLAIN_ARGS = ("hello", 42, "it's", 'say "hi"', "\u00e9\u20ac", "a,(b)", -7, True, None, "")
CALL_ARGS = (1, "two", [3.5, None, True], {"k": "v", "n": -7})
RESULT = {"numbers": [1, 2.5, -3, 2 ** 40], "text": "h\u00e9llo \u20ac", "nested": {"list": [1, [2, 3]]},
          "none": None, "bool": True, "empty": [[], {}, ""]}
TYPES = [(1, 2), {1, 2, 3}, b"\x00\x01bin", 2 ** 70, uuid.UUID(int=77), decimal.Decimal("1.25"),
         datetime.date(2020, 1, 2), 1 + 2j, frozenset([5])]


def exc_value():
    e = ValueError("bad value", 42)
    e._pyroTraceback = ["Traceback (most recent call last):\n", "ValueError: bad value\n"]
    return e


def build(names):
    out = []
    for name in names:
        ser = S.serializers[name]
        sid = ser.serializer_id

        def add(case, msgtype, flags, seq, payload, annotations=None):
            msg = P.SendingMessage(msgtype, flags, seq, sid, payload, annotations)
            out.append([name, case, msg.data.hex()])

        add("call", P.MSG_INVOKE, 0, 11, ser.dumpsCall("objname", "method", CALL_ARGS, {"kw": "v"}))
        add("call-noargs", P.MSG_INVOKE, 0, 65535, ser.dumpsCall("Pyro.Daemon", "ping", (), {}))
        # usual small calls and replies (serpent writes and reads these in one step: Pyro5._serpent_fast)
        add("plain-call", P.MSG_INVOKE, 0, 21, ser.dumpsCall("obj_12345", "echo", PLAIN_ARGS, {}))
        add("plain-call-1", P.MSG_INVOKE, 0, 22, ser.dumpsCall("obj", "m", ("(x,)",), {}))
        add("plain-result", P.MSG_RESULT, 0, 21, ser.dumps(PLAIN_ARGS))
        add("plain-list", P.MSG_RESULT, 0, 22, ser.dumps(["a", -1, 10 ** 17]))
        add("plain-str", P.MSG_RESULT, 0, 23, ser.dumps("it's"))
        add("plain-dict", P.MSG_RESULT, 0, 24, ser.dumps({"a": 1, "b": "x"}))
        add("result", P.MSG_RESULT, 0, 11, ser.dumps(RESULT))
        add("exception", P.MSG_RESULT, P.FLAGS_EXCEPTION, 12, ser.dumps(exc_value()))
        add("pyroerror", P.MSG_RESULT, P.FLAGS_EXCEPTION, 12,
            ser.dumps(Pyro5.errors.NamingError("unknown name: foo")))
        add("oneway", P.MSG_INVOKE, P.FLAGS_ONEWAY, 13, ser.dumpsCall("objname", "fire", (1,), {}))
        add("batch", P.MSG_INVOKE, P.FLAGS_BATCH, 14,
            ser.dumpsCall("objname", "<batch>", (["m1", [1], {}], ["m2", [], {"a": 1}]), {}))
        add("batch-result", P.MSG_RESULT, P.FLAGS_BATCH, 14, ser.dumps([1, "two", None]))
        current_context.correlation_id = CORR
        add("annotations", P.MSG_INVOKE, 0, 15, ser.dumpsCall("objname", "method", (), {}),
            {"XYZZ": b"\x00\x01binary", "CORR": b"abc", "EMPT": b""})
        current_context.correlation_id = None
        Pyro5.config.COMPRESSION = True
        add("compressed", P.MSG_RESULT, 0, 16, ser.dumps(list(range(500))), {"ANNO": b"plain"})
        add("compressed-small", P.MSG_RESULT, 0, 16, ser.dumps([1, 2]))
        Pyro5.config.COMPRESSION = False
        add("uri", P.MSG_RESULT, 0, 17, ser.dumps(URI))
        add("proxy", P.MSG_RESULT, 0, 18, ser.dumps(PROXY))
        # the original's marshal serializer only converts top-level objects: these are skipped where it fails
        for case, make in [("uri-nested", lambda: ser.dumps([URI, {"u": URI}])),
                           ("uri-call", lambda: ser.dumpsCall("objname", "register", ("name", URI), {"safe": True})),
                           ("exception-nested", lambda: ser.dumps({"error": exc_value()}))]:
            try:
                payload = make()
            except Exception:
                continue
            add(case, P.MSG_INVOKE if case.endswith("call") else P.MSG_RESULT, 0, 17, payload)
        add("connect", P.MSG_CONNECT, 0, 19, ser.dumps({"handshake": "hello", "object": "objname"}))
        for i, value in enumerate(TYPES):
            try:
                payload = ser.dumps(value)
            except Exception:
                continue
            add("type%d" % i, P.MSG_RESULT, 0, 20 + i, payload)
    out.append(["-", "ping", P.SendingMessage(P.MSG_PING, 0, 0, 42, b"ping").data.hex()])
    return out


def describe(v):
    if isinstance(v, Pyro5.core.URI):
        return ["URI", str(v)]
    if isinstance(v, BaseException):
        return ["EXC", type(v).__module__ + "." + type(v).__name__, describe(list(v.args)),
                describe(getattr(v, "_pyroTraceback", None))]
    if isinstance(v, dict):
        return ["dict", [[describe(k), describe(x)] for k, x in v.items()]]
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, [describe(x) for x in v]]
    if isinstance(v, (set, frozenset)):
        return [type(v).__name__, sorted(repr(x) for x in v)]
    if isinstance(v, (bytes, bytearray, memoryview)):
        return ["bytes", bytes(v).hex()]
    if type(v).__name__ == "Proxy":
        return ["PROXY", str(v._pyroUri), sorted(v._pyroOneway), sorted(v._pyroMethods), sorted(v._pyroAttrs),
                describe(v._pyroHandshake)]
    return [type(v).__name__, repr(v)]


def decode(hexdata):
    data = bytes.fromhex(hexdata)
    P.ReceivingMessage.validate(data)
    msg = P.ReceivingMessage(data[:40], data[40:])
    info = {"type": msg.type, "flags": msg.flags, "seq": msg.seq, "ser": msg.serializer_id,
            "ann": {k: bytes(v).hex() for k, v in msg.annotations.items()}, "corr": bytes(msg.corr_id).hex()}
    payload = bytes(msg.data)
    if msg.type == P.MSG_PING:
        info["value"] = payload.hex()
    else:
        ser = S.serializers_by_id[msg.serializer_id]
        if msg.type == P.MSG_INVOKE:
            info["value"] = describe(list(ser.loadsCall(payload)))
        else:
            info["value"] = describe(ser.loads(payload))
    return info
'''

# run by the original: build its table and decode ours (given on stdin as JSON)
ORIG_MAIN = r'''
import json, sys
import Pyro5.client
PROXY = Pyro5.client.Proxy("PYRO:objname@localhost:5555")
PROXY._pyroOneway = {"m2"}
PROXY._pyroMethods = {"m2"}
PROXY._pyroAttrs = {"at"}
PROXY._pyroHandshake = {"h": 1}
exec(compile(TABLE_CODE, "table", "exec"))
ours = json.load(sys.stdin)
decoded = {}
for name, case, hexdata in ours["messages"]:
    try:
        decoded[name + "/" + case] = decode(hexdata)
    except Exception as x:
        decoded[name + "/" + case] = {"error": "%s: %s" % (type(x).__name__, x)}
constants = {k: getattr(P, k) for k in dir(P) if k.startswith(("MSG_", "FLAGS_")) or k == "PROTOCOL_VERSION"}
ids = {n: s.serializer_id for n, s in S.serializers.items()}
json.dump({"built": build(ours["names"]), "decoded": decoded, "constants": constants, "ids": ids}, sys.stdout)
'''


class StandInProxy:
    """Serializes like the original's Proxy set up in ORIG_MAIN."""
    __pyro_class__ = "Pyro5.client.Proxy"

    def __pyro_state__(self):
        return ("PYRO:objname@localhost:5555", ("m2",), ("m2",), ("at",), {"h": 1}, None)
