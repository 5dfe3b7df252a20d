"""The client's call codec (Pyro5._client_codec) without sockets: the requests a proxy builds, and what it makes of
the daemon's replies. Replies are built here as a daemon builds them and parsed by protocol.MessageReader."""
from __future__ import annotations

import logging
import marshal

import pytest

import Pyro5
from Pyro5 import _client_codec as codec
from Pyro5 import core, errors, protocol, serializers
from Pyro5.client import SerializedBlob
from tests._support.wire import HEADER

SERIALIZERS = sorted(serializers.serializers)


@pytest.fixture(params=SERIALIZERS)
def ser(request):
    return serializers.serializers[request.param]


def received(msg: protocol.SendingMessage) -> protocol.ReceivingMessage:
    """What the peer reads of a message we send (all of its bytes through a MessageReader)."""
    messages = protocol.MessageReader().feed(b"".join(bytes(part) for part in msg.parts))
    assert len(messages) == 1
    return messages[0]


def reply(ser, value, flags=0, seq=7, annotations=None, msgtype=protocol.MSG_RESULT) -> protocol.ReceivingMessage:
    """A daemon's reply carrying `value`, as the proxy receives it."""
    return received(protocol.SendingMessage(msgtype, flags, seq, ser.serializer_id, ser.dumps(value), annotations,
                                            correlation_id=None))


# ---------------------------------------------------------------------------------------------------- requests

def test_connect_request(ser):
    msg = received(codec.connect_request(ser, 3, {"token": 1}, "thing", {"XTRA": b"x"}))
    assert (msg.type, msg.seq, msg.serializer_id, msg.flags) == (protocol.MSG_CONNECT, 3, ser.serializer_id, 0)
    assert msg.annotations == {"XTRA": b"x"}
    assert ser.loads(msg.data) == {"handshake": {"token": 1}, "object": "thing"}


def test_call_request(ser):
    request = codec.call_request(ser, "thing", "add", (1, 2), {"z": 3}, 0, 12, {}, set())
    msg = received(request)
    assert (msg.type, msg.seq, msg.serializer_id, msg.flags) == (protocol.MSG_INVOKE, 12, ser.serializer_id, 0)
    assert msg.annotations == {}
    obj, method, vargs, kwargs = ser.loadsCall(msg.data)
    assert (obj, method, list(vargs), kwargs) == ("thing", "add", [1, 2], {"z": 3})


def test_call_request_oneway_only_for_oneway_methods(ser):
    assert codec.call_request(ser, "thing", "fire", (), {}, 0, 1, {}, {"fire"}).flags == protocol.FLAGS_ONEWAY
    assert codec.call_request(ser, "thing", "ask", (), {}, 0, 1, {}, {"fire"}).flags == 0
    # a oneway flag that the caller gives (a oneway batch, a stream close) stays
    flags = protocol.FLAGS_BATCH | protocol.FLAGS_ONEWAY
    assert codec.call_request(ser, "thing", "<batch>", [], None, flags, 1, {}, set()).flags == flags


def test_batch_request(ser):
    calls = [("a", (1,), {}), ("b", (), {"k": 2})]
    msg = received(codec.call_request(ser, "thing", "<batch>", calls, None, protocol.FLAGS_BATCH, 5, {}, set()))
    assert msg.flags == protocol.FLAGS_BATCH
    obj, method, vargs, kwargs = ser.loadsCall(msg.data)
    assert (obj, method) == ("thing", "<batch>")
    assert [(name, list(args), kw) for name, args, kw in vargs] == [("a", [1], {}), ("b", [], {"k": 2})]


def test_annotations_travel_with_the_request(ser):
    annotations = {"CORR": b"1234", "XTRA": bytearray(b"more")}
    msg = received(codec.call_request(ser, "thing", "m", (), {}, 0, 1, annotations, set()))
    assert msg.annotations == {"CORR": b"1234", "XTRA": b"more"}


def test_bad_annotation_is_refused(ser):
    with pytest.raises(errors.ProtocolError, match="exactly 4 ASCII characters"):
        codec.call_request(ser, "thing", "m", (), {}, 0, 1, {"TOOLONG": b"x"}, set())


def test_blob_request(ser):
    blob = SerializedBlob("the info", ["x", {"a": 1}])
    annotations = {"XTRA": b"x"}
    msg = received(codec.call_request(ser, "thing", "store", (blob,), {}, 0, 2, annotations, set()))
    assert msg.flags == protocol.FLAGS_KEEPSERIALIZED and msg.serializer_id == ser.serializer_id
    assert marshal.loads(msg.annotations["BLBI"]) == ("the info", "thing", "store")
    assert msg.annotations["XTRA"] == b"x" and annotations == {"XTRA": b"x"}    # the caller's dict is not changed
    obj, method, vargs, kwargs = ser.loadsCall(msg.data)
    assert (obj, method, list(vargs)) == ("thing", "store", ["x", {"a": 1}])
    # what the daemon gives the method: the blob still serialized, deserialized on demand
    assert list(SerializedBlob("the info", msg, is_blob=True).deserialized()) == ["x", {"a": 1}]


def test_received_blob_is_forwarded_unchanged(ser):
    original = received(codec.call_request(ser, "thing", "store", (SerializedBlob("i", [1, 2]),), {}, 0, 2, {},
                                           set()))
    forwarded = SerializedBlob("i", original, is_blob=True)
    other = serializers.serializers["serpent" if ser.serializer_id != 1 else "json"]
    msg = received(codec.call_request(other, "next", "store", (forwarded,), {}, 0, 9, {}, set()))
    assert msg.serializer_id == ser.serializer_id and msg.data == original.data     # the payload as it came
    assert marshal.loads(msg.annotations["BLBI"]) == ("i", "next", "store")


def test_blob_must_be_the_only_argument(ser):
    with pytest.raises(errors.SerializeError, match="must be the only argument"):
        codec.call_request(ser, "thing", "m", (SerializedBlob("i", [1]), 2), {}, 0, 1, {}, set())


def test_marshal_big_bytes_argument_is_not_copied():
    ser = serializers.serializers["marshal"]
    big = b"x" * (1024 * 1024)
    request = codec.call_request(ser, "thing", "upload", (big, 1), {}, 0, 1, {}, set())
    assert any(part is big for part in request.parts)        # sent from the caller's bytes object itself
    _, method, vargs, _ = ser.loadsCall(received(request).data)
    assert method == "upload" and vargs[0] == big and vargs[1] == 1


# ---------------------------------------------------------------------------------------------------- replies

def test_connect_result(ser):
    meta = {"methods": ["a"], "oneway": [], "attrs": []}
    msg = reply(ser, {"handshake": "welcome", "meta": meta}, msgtype=protocol.MSG_CONNECTOK)
    assert codec.connect_result(msg, "here") == (meta, "welcome")


def test_connect_refused(ser, caplog):
    caplog.set_level(logging.ERROR, logger="Pyro5.client")
    msg = reply(ser, "go away", msgtype=protocol.MSG_CONNECTFAIL)
    with pytest.raises(errors.CommunicationError, match="connection to here rejected: go away"):
        codec.connect_result(msg, "here")
    assert "connection to here rejected: go away" in caplog.text


def test_connect_result_invalid(ser):
    with pytest.raises(errors.ProtocolError, match="invalid handshake response"):
        codec.connect_result(reply(ser, ["no", "meta"], msgtype=protocol.MSG_CONNECTOK), "here")
    msg = protocol.MessageReader().feed(HEADER.pack(b"PYRO", 502, protocol.MSG_CONNECTOK, 77, 0, 0, 2, 0, b"\0" * 16,
                                                    0, 0x4DC5) + b"{}")[0]
    with pytest.raises(errors.SerializeError, match="invalid serializer id 77"):
        codec.connect_result(msg, "here")


def test_metadata():
    assert codec.metadata({"methods": ("a", "b"), "oneway": ["b"], "attrs": {"x"}}) == ({"b"}, {"a", "b"}, {"x"})
    with pytest.raises(errors.ProtocolError, match="invalid metadata"):
        codec.metadata(["a"])
    with pytest.raises(errors.PyroError, match="doesn't expose any methods or attributes"):
        codec.metadata({"methods": [], "attrs": []})


@pytest.mark.parametrize("value", [42, "text", [1, 2.5, None], {"k": [1, 2]}])
def test_call_result(ser, value):
    result = codec.call_result(reply(ser, value), ser, ser.serializer_id)
    assert result == value or list(result) == value     # (marshal/msgpack may give a tuple as a list)


def test_call_result_with_another_serializer_than_the_proxy(ser):
    other = serializers.serializers["json"]        # a forwarded blob went with this serializer
    assert codec.call_result(reply(other, {"a": 1}), ser, other.serializer_id) == {"a": 1}


def test_reply_with_a_serializer_the_request_did_not_use(ser):
    other = serializers.serializers["serpent" if ser.serializer_id != 1 else "json"]
    with pytest.raises(errors.SerializeError, match="invalid serializer in response: %d \\(the request used %d\\)"
                       % (other.serializer_id, ser.serializer_id)):
        codec.call_result(reply(other, 1), ser, ser.serializer_id)


def test_remote_exception_is_raised_with_its_remote_traceback(ser):
    exc = ValueError("bad value")
    exc._pyroTraceback = ["Traceback (most recent call last):\n", "ValueError: bad value\n"]
    with pytest.raises(ValueError, match="bad value") as raised:
        codec.call_result(reply(ser, exc, flags=protocol.FLAGS_EXCEPTION), ser, ser.serializer_id)
    assert raised.value._pyroTraceback == exc._pyroTraceback
    assert "ValueError: bad value" in "".join(Pyro5.errors.get_pyro_traceback(type(raised.value), raised.value,
                                                                              raised.value.__traceback__))


def test_pyro_error_from_the_daemon(ser):
    with pytest.raises(errors.DaemonError, match="unknown object"):
        codec.call_result(reply(ser, errors.DaemonError("unknown object"), flags=protocol.FLAGS_EXCEPTION), ser,
                          ser.serializer_id)


def test_exception_flag_without_an_exception(ser):
    with pytest.raises(errors.ProtocolError, match="signaled an exception but sent 'oops'"):
        codec.call_result(reply(ser, "oops", flags=protocol.FLAGS_EXCEPTION), ser, ser.serializer_id)


def test_stream_reply(ser):
    msg = reply(ser, None, flags=protocol.FLAGS_ITEMSTREAMRESULT, annotations={"STRM": b"stream-17"})
    result = codec.call_result(msg, ser, ser.serializer_id)
    assert type(result) is codec.StreamReply and result.stream_id == "stream-17"


def test_stream_reply_without_stream_id(ser):
    msg = reply(ser, None, flags=protocol.FLAGS_ITEMSTREAMRESULT)
    with pytest.raises(errors.ProtocolError, match="no stream id received"):
        codec.call_result(msg, ser, ser.serializer_id)


def test_batch_results_raise_the_failed_call(ser):
    results = codec.call_result(reply(ser, [1, "two", core._ExceptionWrapper(KeyError("k"))]), ser,
                                ser.serializer_id)
    got = []
    with pytest.raises(KeyError, match="k"):
        for value in codec.batch_results(results):
            got.append(value)
    assert got == [1, "two"]


def test_result_that_is_not_valid_serialized_data(ser):
    msg = received(protocol.SendingMessage(protocol.MSG_RESULT, 0, 7, ser.serializer_id, b"\xff\x00garbage",
                                           correlation_id=None))
    with pytest.raises(errors.SerializeError):
        codec.call_result(msg, ser, ser.serializer_id)


# ---------------------------------------------------------------------------------------------------- proxy state

def test_proxy_state():
    uri, oneway, methods, attrs, handshake, serializer = codec.proxy_state(
        (b"PYRO:obj@localhost:1", ["o"], ("m", "o"), None, {"h": 1}, "json"))
    assert (str(uri), oneway, methods, attrs, handshake, serializer) == (
        "PYRO:obj@localhost:1", {"o"}, {"m", "o"}, set(), {"h": 1}, "json")


@pytest.mark.parametrize("state, match", [
    (None, "sequence of 6 items"),
    (("PYRO:obj@localhost:1",), "sequence of 6 items"),
    (("PYRO:obj@localhost:1", 5, (), (), "hello", None), "collections of names"),
    (("PYRO:obj@localhost:1", (), (), (), "hello", 3), "serializer must be a name or None"),
])
def test_invalid_proxy_state(state, match):
    with pytest.raises(errors.SerializeError, match=match):
        codec.proxy_state(state)


def test_codec_does_no_io():
    # the codec module uses nothing that does I/O (no socket, select, ssl, socketutil or connection module)
    names = set(vars(codec))
    assert not names & {"socket", "select", "socketutil", "ssl", "ProxyConnection", "_client_conn"}


def test_connect_answer_parsed_once_and_given_as_fresh_sets(ser):
    # the same CONNECTOK bytes again (a program connecting to one object repeatedly): the cached parse, new sets
    payload = ser.dumps({"handshake": "hi", "meta": {"methods": {"a", "b"}, "oneway": {"b"}, "attrs": set()}})
    reply = protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, 0, ser.serializer_id, payload, correlation_id=None)
    first_meta, first_response = codec.connect_result(received(reply), "loc")
    second_meta, second_response = codec.connect_result(received(reply), "loc")
    assert first_response == second_response == "hi"
    assert codec.metadata(first_meta) == codec.metadata(second_meta) == ({"b"}, {"a", "b"}, set())
    assert second_meta is not first_meta
    second_meta["methods"].add("changed")       # a proxy's change does not reach the next connection
    third_meta, _ = codec.connect_result(received(reply), "loc")
    assert set(third_meta["methods"]) == {"a", "b"}


def test_connect_request_same_bytes_for_same_input(ser):
    first = codec.connect_request(ser, 1, "hello", "obj.x", {})
    second = codec.connect_request(ser, 2, "hello", "obj.x", {})
    assert ser.loads(received(first).data) == ser.loads(received(second).data) == {"handshake": "hello",
                                                                                  "object": "obj.x"}
    assert received(second).seq == 2
    other = codec.connect_request(ser, 3, {"token": 1}, "obj.x", {})     # (not cached: a mutable handshake)
    assert ser.loads(received(other).data) == {"handshake": {"token": 1}, "object": "obj.x"}
