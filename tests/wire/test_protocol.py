"""Pyro5.protocol: the 40-byte header, annotations, correlation ids, validation, recv_stub over real sockets."""
from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
import uuid

import pytest

import Pyro5
from Pyro5 import errors, protocol, serializers
from Pyro5.callcontext import current_context

HEADER = struct.Struct("!4sHBBHHII16sHH")

# what the original Pyro5 5.15 produces for SendingMessage(MSG_INVOKE, 0, 42, 1, b"hello") (observed black box)
ORIG_INVOKE_HELLO = (b"PYRO\x01\xf6\x04\x01\x00\x00\x00*\x00\x00\x00\x05\x00\x00\x00\x00" + b"\x00" * 16
                     + b"\x00\x00M\xc5hello")


def header(msgtype=protocol.MSG_RESULT, serializer_id=1, flags=0, seq=1, data_size=0, annotations_size=0,
           corr=b"\0" * 16, tag=b"PYRO", version=502, reserved=0, magic=0x4DC5) -> bytes:
    return HEADER.pack(tag, version, msgtype, serializer_id, flags, seq, data_size, annotations_size, corr,
                       reserved, magic)


@pytest.fixture(autouse=True)
def _no_correlation_id():
    current_context.correlation_id = None
    yield
    current_context.correlation_id = None


def test_constants():
    assert protocol.PROTOCOL_VERSION == 502
    assert (protocol.MSG_CONNECT, protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL, protocol.MSG_INVOKE,
            protocol.MSG_RESULT, protocol.MSG_PING) == (1, 2, 3, 4, 5, 6)
    assert (protocol.FLAGS_EXCEPTION, protocol.FLAGS_COMPRESSED, protocol.FLAGS_ONEWAY, protocol.FLAGS_BATCH,
            protocol.FLAGS_ITEMSTREAMRESULT, protocol.FLAGS_KEEPSERIALIZED, protocol.FLAGS_CORR_ID) == \
        (1, 2, 4, 8, 16, 32, 64)


def test_sending_message_layout_matches_original():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, b"hello")
    assert msg.data == ORIG_INVOKE_HELLO
    assert len(msg.data) == 45
    assert (msg.type, msg.flags, msg.seq, msg.serializer_id) == (protocol.MSG_INVOKE, 0, 42, 1)
    fields = HEADER.unpack(msg.data[:40])
    assert fields == (b"PYRO", 502, 4, 1, 0, 42, 5, 0, b"\0" * 16, 0, 0x4DC5)


def test_flags_and_seq_in_header():
    msg = protocol.SendingMessage(protocol.MSG_RESULT, protocol.FLAGS_EXCEPTION | protocol.FLAGS_BATCH, 65535, 3,
                                  b"x")
    tag, version, mtype, ser, flags, seq, dsize, asize, corr, reserved, magic = HEADER.unpack(msg.data[:40])
    assert (mtype, ser, flags, seq, dsize, asize) == (5, 3, 9, 65535, 1, 0)


@pytest.mark.parametrize("seq", [-1, 65536])
def test_seq_out_of_range(seq):
    with pytest.raises(errors.ProtocolError, match="seq"):
        protocol.SendingMessage(protocol.MSG_INVOKE, 0, seq, 1, b"x")


@pytest.mark.parametrize("payload", [bytearray(b"payload"), memoryview(b"payload")], ids=["bytearray", "memoryview"])
def test_payload_types(payload):
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, payload)
    assert msg.data[40:] == b"payload" and type(msg.data) is bytes
    rm = protocol.ReceivingMessage(msg.data[:40], memoryview(msg.data)[40:])
    assert rm.data == b"payload" and type(rm.data) is bytes


def test_receiving_message_round_trip():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, 7, 2, b"payload",
                                  annotations={"ABCD": b"xyz", "EFGH": b""})
    rm = protocol.ReceivingMessage(msg.data[:40], msg.data[40:])
    assert (rm.type, rm.flags, rm.seq, rm.serializer_id) == (protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, 7, 2)
    assert rm.data == b"payload"
    assert rm.annotations == {"ABCD": b"xyz", "EFGH": b""}
    assert rm.data_size == 7 and rm.annotations_size == 8 + 3 + 8
    assert rm.correlation_id is None


def test_receiving_message_add_payload_later():
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"abc", annotations={"XXXX": b"1"})
    rm = protocol.ReceivingMessage(msg.data[:40])
    assert rm.data is None and rm.annotations == {}
    rm.add_payload(msg.data[40:])
    assert rm.data == b"abc" and rm.annotations == {"XXXX": b"1"}
    with pytest.raises(errors.ProtocolError, match="size mismatch"):
        protocol.ReceivingMessage(msg.data[:40], msg.data[40:-1])


def test_annotations_wire_format():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, b"hello",
                                  annotations={"ABCD": b"xyz", "CORR": bytearray(b"1234")})
    assert msg.data[40:] == b"ABCD\x00\x00\x00\x03xyzCORR\x00\x00\x00\x041234hello"
    assert HEADER.unpack(msg.data[:40])[7] == 23
    mv = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, b"hello", annotations={"ABCD": memoryview(b"xyz")})
    assert mv.data[40:] == b"ABCD\x00\x00\x00\x03xyzhello"


@pytest.mark.parametrize("key", ["ABC", "ABCDE", "", "ÄBCD", 1234, b"ABCD"])
def test_invalid_annotation_ids(key):
    with pytest.raises(errors.ProtocolError, match="4 ASCII"):
        protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, 1, b"", annotations={key: b"x"})


@pytest.mark.parametrize("value", ["text", 42, None, [1]])
def test_invalid_annotation_values(value):
    with pytest.raises(errors.ProtocolError, match="bytes"):
        protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, 1, b"", annotations={"ABCD": value})


@pytest.mark.parametrize("chunks, match", [
    (b"ABCD\x00\x00\x00\x09xyz", "chunk length"),         # length beyond the annotation block
    (b"ABCD\x00\x00", "trailing"),                         # incomplete chunk header
    (b"AB\xffD\x00\x00\x00\x01x", "ASCII"),               # non-ascii id
    (b"ABCD\x00\x00\x00\x01xEF", "trailing"),             # garbage after the last chunk
])
def test_bad_annotation_chunks(chunks, match):
    data = header(data_size=2, annotations_size=len(chunks))
    with pytest.raises(errors.ProtocolError, match=match):
        protocol.ReceivingMessage(data, chunks + b"zz")


def test_correlation_id():
    corr = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")
    current_context.correlation_id = corr
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 65535, 4, b"hello")
    # byte for byte what the original produces (observed): FLAGS_CORR_ID in the header only
    assert msg.data == (b"PYRO\x01\xf6\x05\x04\x00@\xff\xff\x00\x00\x00\x05\x00\x00\x00\x00" + corr.bytes
                        + b"\x00\x00M\xc5hello")
    assert msg.flags == 0
    assert msg.correlation_id == corr
    rm = protocol.ReceivingMessage(msg.data[:40], msg.data[40:])
    assert rm.correlation_id == corr and rm.corr_id == corr.bytes
    assert rm.flags & protocol.FLAGS_CORR_ID
    current_context.correlation_id = None
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 4, b"hello")
    assert msg.data[20:36] == b"\0" * 16 and not msg.data[9] & protocol.FLAGS_CORR_ID


def test_correlation_id_invalid():
    current_context.correlation_id = "not-a-uuid"
    with pytest.raises(errors.ProtocolError, match="correlation_id"):
        protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"")


@pytest.mark.parametrize("data, match", [
    (header(tag=b"XYRO"), "not a Pyro message"),
    (header(version=501), r"version: 501 received.*502"),
    (header(version=4), r"version: 4 received.*502"),
    (header(magic=0x1234), "magic number"),
    (header()[:20], "too short"),
])
def test_receiving_message_bad_headers(data, match):
    with pytest.raises(errors.ProtocolError, match=match):
        protocol.ReceivingMessage(data)


def test_validate():
    good = protocol.SendingMessage(protocol.MSG_PING, 0, 0, 42, b"ping").data
    protocol.ReceivingMessage.validate(good)
    protocol.ReceivingMessage.validate(good[:4])
    protocol.ReceivingMessage.validate(good[:20])
    with pytest.raises(errors.ProtocolError, match="not a Pyro message"):
        protocol.ReceivingMessage.validate(b"GET / HTTP/1.0\r\n")
    with pytest.raises(errors.ProtocolError, match="501"):
        protocol.ReceivingMessage.validate(b"PYRO\x01\xf5")
    with pytest.raises(errors.ProtocolError, match="magic"):
        protocol.ReceivingMessage.validate(good[:38] + b"\0\0")


def test_message_too_large_from_header():
    Pyro5.config.MAX_MESSAGE_SIZE = 100
    with pytest.raises(errors.MessageTooLargeError, match="too large"):
        protocol.ReceivingMessage(header(data_size=90, annotations_size=11))
    protocol.ReceivingMessage(header(data_size=90, annotations_size=10))


def test_message_too_large_to_send():
    Pyro5.config.MAX_MESSAGE_SIZE = 100
    with pytest.raises(errors.MessageTooLargeError, match="MAX_MESSAGE_SIZE"):
        protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x" * 101)
    protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x" * 100)


def test_too_large_is_protocol_error():
    assert issubclass(errors.MessageTooLargeError, errors.ProtocolError)


# --- over real sockets ---------------------------------------------------------------------------------------

def test_recv_stub_round_trip(conns):
    a, b = conns
    current_context.correlation_id = uuid.uuid4()
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, protocol.FLAGS_BATCH, 1234, 1, b"some payload" * 20,
                                  annotations={"ABCD": b"a" * 1000})
    a.send(msg.data)
    rm = protocol.recv_stub(b)
    assert (rm.type, rm.flags & ~protocol.FLAGS_CORR_ID, rm.seq, rm.serializer_id) == \
        (protocol.MSG_INVOKE, protocol.FLAGS_BATCH, 1234, 1)
    assert rm.data == b"some payload" * 20
    assert rm.annotations == {"ABCD": b"a" * 1000}
    assert rm.correlation_id == current_context.correlation_id


def test_recv_stub_several_messages_in_a_row(conns):
    a, b = conns
    a.send(b"".join(protocol.SendingMessage(protocol.MSG_RESULT, 0, seq, 1, b"m%d" % seq).data for seq in range(5)))
    assert [protocol.recv_stub(b).data for _ in range(5)] == [b"m0", b"m1", b"m2", b"m3", b"m4"]


def test_recv_stub_accepted_msgtypes(conns):
    a, b = conns
    a.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x").data)
    assert protocol.recv_stub(b, [protocol.MSG_RESULT, protocol.MSG_PING]).data == b"x"
    a.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x").data)
    with pytest.raises(errors.ProtocolError, match="invalid msg type 5 received"):
        protocol.recv_stub(b, [protocol.MSG_CONNECT])


def test_recv_stub_unknown_msgtype(conns):
    a, b = conns
    a.send(header(msgtype=99))
    with pytest.raises(errors.ProtocolError, match="unknown message type"):
        protocol.recv_stub(b)


@pytest.mark.parametrize("serializer_id", [0, 5, 42, 255])
def test_recv_stub_accepts_any_serializer_id(conns, serializer_id):
    # as the original 5.15: recv_stub reads the message, whoever deserializes it checks the serializer id
    a, b = conns
    a.send(header(msgtype=protocol.MSG_INVOKE, serializer_id=serializer_id, data_size=1) + b"x")
    msg = protocol.recv_stub(b)
    assert (msg.serializer_id, msg.data) == (serializer_id, b"x")
    with pytest.raises(errors.SerializeError, match="unknown serializer id %d" % serializer_id) as exc:
        serializers.get_serializer_by_id(msg.serializer_id)
    assert isinstance(exc.value, (ValueError, KeyError))


@pytest.mark.parametrize("data", [b"", b"P", b"PYR", bytearray(b"PY")])
def test_validate_too_short_is_a_value_error(data):
    # the original 5.15 raises ValueError for fewer than 4 bytes; ours is a ProtocolError too
    with pytest.raises(ValueError, match="at least 4 bytes") as exc:
        protocol.ReceivingMessage.validate(data)
    assert isinstance(exc.value, errors.ProtocolError)


@pytest.mark.parametrize("header_text", ["x" * 40, "PYRO", ""])
def test_receiving_message_from_str_is_a_type_error(header_text):
    with pytest.raises(TypeError, match="bytes-like object is required"):
        protocol.ReceivingMessage(header_text)
    with pytest.raises(TypeError, match="bytes-like object is required"):
        protocol.ReceivingMessage.validate(header_text)


@pytest.mark.parametrize("compression", [False, True])
def test_compressed_flag_only_when_really_compressed(compression):
    Pyro5.config.COMPRESSION = compression
    for payload in (b"ping", b"x" * 50):    # below the compression threshold: never compressed
        msg = protocol.SendingMessage(protocol.MSG_PING, protocol.FLAGS_COMPRESSED, 0, 42, payload)
        assert msg.flags == 0
        received = protocol.ReceivingMessage(msg.data[:40], msg.data[40:])
        assert received.flags & protocol.FLAGS_COMPRESSED == 0 and received.data == payload
        assert int.from_bytes(msg.data[8:10], "big") & protocol.FLAGS_COMPRESSED == 0
    big = protocol.SendingMessage(protocol.MSG_INVOKE, protocol.FLAGS_COMPRESSED, 0, 1, b"y" * 1000)
    assert bool(big.flags & protocol.FLAGS_COMPRESSED) is compression
    assert bool(int.from_bytes(big.data[8:10], "big") & protocol.FLAGS_COMPRESSED) is compression
    assert protocol.ReceivingMessage(big.data[:40], big.data[40:]).data == b"y" * 1000


@pytest.mark.parametrize("compression", [False, True])
@pytest.mark.parametrize("annotations", [None, {"XYZW": b"abc", "BLBI": b"info"}])
def test_message_payload_skips_header_and_annotations(compression, annotations):
    Pyro5.config.COMPRESSION = compression
    ser = serializers.serializers["serpent"]
    payload = ser.dumpsCall("obj", "meth", ([1, 2, 3] * 100,), {})
    sending = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, ser.serializer_id, payload, annotations)
    assert protocol.message_payload(sending) == payload
    received = protocol.ReceivingMessage(sending.data[:40], sending.data[40:])
    assert protocol.message_payload(received) == payload
    assert ser.loadsCall(protocol.message_payload(sending))[2] == ([1, 2, 3] * 100,)


def test_recv_stub_truncated_header(conns):
    a, b = conns
    a.send(header()[:20])
    a.sock.shutdown(socket.SHUT_WR)
    with pytest.raises(errors.ConnectionClosedError):
        protocol.recv_stub(b)


def test_recv_stub_truncated_body(conns):
    a, b = conns
    a.send(header(data_size=100) + b"x" * 50)
    a.sock.shutdown(socket.SHUT_WR)
    with pytest.raises(errors.ConnectionClosedError):
        protocol.recv_stub(b)


def test_recv_stub_closed_connection(conns):
    a, b = conns
    a.sock.shutdown(socket.SHUT_WR)
    with pytest.raises(errors.ConnectionClosedError):
        protocol.recv_stub(b)


def test_recv_stub_oversized_header_fails_before_reading_body(conns):
    a, b = conns
    a.send(header(data_size=2 * 1024 ** 3 - 1, annotations_size=0))   # claims 2 GB; nothing follows
    start = time.monotonic()
    with pytest.raises(errors.MessageTooLargeError, match="too large"):
        protocol.recv_stub(b)
    assert time.monotonic() - start < 4     # raised from the header, not after a receive timeout


def test_recv_stub_oversized_annotations(conns):
    a, b = conns
    a.send(header(data_size=10, annotations_size=0xFFFFFFF0))
    with pytest.raises(errors.MessageTooLargeError):
        protocol.recv_stub(b)


def test_recv_stub_not_pyro_fails_fast(conns):
    a, b = conns
    a.send(b"GET / HTTP/1.0\r\n\r\n")    # fewer than 40 bytes: must not wait for the rest of a header
    start = time.monotonic()
    with pytest.raises(errors.ProtocolError, match="not a Pyro message"):
        protocol.recv_stub(b)
    assert time.monotonic() - start < 4


def test_recv_stub_wrong_version(conns):
    a, b = conns
    a.send(header(version=4))      # a Pyro4 peer
    with pytest.raises(errors.ProtocolError, match=r"version: 4 received.*requires protocol version 502"):
        protocol.recv_stub(b)


def test_recv_stub_wrong_magic(conns):
    a, b = conns
    a.send(header(magic=0xFFFF))
    with pytest.raises(errors.ProtocolError, match="magic"):
        protocol.recv_stub(b)


def test_recv_stub_timeout_on_silence(conns):
    a, b = conns
    b.timeout = 0.2
    with pytest.raises(errors.TimeoutError):
        protocol.recv_stub(b)


def test_ping(conns):
    a, b = conns
    seen = []

    def responder():
        msg = protocol.recv_stub(b, [protocol.MSG_PING])
        seen.append(msg)
        b.send(protocol.SendingMessage(protocol.MSG_PING, 0, msg.seq, msg.serializer_id, b"pong").data)

    t = threading.Thread(target=responder)
    t.start()
    protocol.SendingMessage.ping(a)
    t.join(5)
    assert not t.is_alive()
    assert seen[0].type == protocol.MSG_PING and seen[0].data == b"ping"
    assert seen[0].serializer_id == 42     # what the original sends


def test_ping_gets_wrong_answer(conns):
    a, b = conns

    def responder():
        protocol.recv_stub(b)
        b.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 0, 1, b"nope").data)

    t = threading.Thread(target=responder)
    t.start()
    with pytest.raises(errors.ProtocolError, match="invalid msg type"):
        protocol.SendingMessage.ping(a)
    t.join(5)


def test_log_wiredata(caplog):
    logger = logging.getLogger("Pyro5.test")
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 7, 1, b"zz", annotations={"ABCD": b"x"})
    with caplog.at_level(logging.DEBUG, logger="Pyro5.test"):
        protocol.log_wiredata(logger, "sometext", msg)
    text = caplog.records[-1].getMessage()
    assert text.startswith("sometext: msgtype=5 flags=0x0 ser=1 seq=7 num_annotations=1 "
                           "corr_id=00000000-0000-0000-0000-000000000000\ndata=b'PYRO")


def test_logwire_config(conns, caplog):
    a, b = conns
    Pyro5.config.LOGWIRE = True
    with caplog.at_level(logging.DEBUG, logger="Pyro5.protocol"):
        a.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 3, 1, b"wiredata!").data)
        protocol.recv_stub(b)
    texts = [r.getMessage() for r in caplog.records if r.name == "Pyro5.protocol"]
    assert any(t.startswith("wiredata sending") for t in texts)
    assert any(t.startswith("wiredata received") and "data=b'wiredata!'" in t for t in texts)
    Pyro5.config.LOGWIRE = False
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="Pyro5.protocol"):
        a.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 3, 1, b"quiet").data)
        protocol.recv_stub(b)
    assert not [r for r in caplog.records if r.name == "Pyro5.protocol"]


# --- big payloads: sent as parts, not copied behind the header -------------------------------------------------

@pytest.mark.parametrize("annotations", [None, {"ABCD": b"xyz"}], ids=["plain", "annotated"])
def test_big_payload_is_kept_as_parts(conns, annotations):
    payload = os.urandom(protocol._JOIN_LIMIT + 1)
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 7, 2, payload, annotations=annotations)
    assert len(msg.parts) == (3 if annotations else 2)
    assert msg.parts[-1] is payload                          # the payload itself, not a copy
    assert "size=%d" % (40 + msg.annotations_size + len(payload)) in repr(msg)
    assert len(msg.parts) > 1                                # repr did not join the parts
    a, b = conns
    a.send(msg.parts)
    rm = protocol.recv_stub(b)
    assert rm.data == payload and rm.annotations == (annotations or {})
    data = msg.data                                          # joined on first use, the same bytes
    assert type(data) is bytes and data == b"".join((data[:40], data[40:])) and data[-len(payload):] == payload
    assert msg.parts == (data,) and msg.data is data
    a.send(msg.data)
    assert protocol.recv_stub(b).data == payload


def test_small_payload_is_one_part():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, b"hello")
    assert msg.parts == (ORIG_INVOKE_HELLO,) and msg.data is msg.parts[0]
    big = bytearray(protocol._JOIN_LIMIT + 1)                # mutable payloads are copied at once
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, big)
    assert len(msg.parts) == 1 and msg.data[40:] == big


def test_data_can_be_assigned():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, os.urandom(protocol._JOIN_LIMIT + 1))
    msg.data = bytearray(b"replaced")
    assert msg.data == b"replaced" and type(msg.data) is bytes and msg.parts == (b"replaced",)


def test_big_compressed_payload(conns):
    a, b = conns
    payload = b"compressible " * 20000
    Pyro5.config.COMPRESSION = True         # (tests/conftest.py resets the config after each test)
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, payload)
    assert msg.flags & protocol.FLAGS_COMPRESSED
    a.send(msg.parts)
    assert protocol.recv_stub(b).data == payload


@pytest.mark.parametrize("annotations", [None, {"ABCD": b"xyz"}], ids=["plain", "annotated"])
def test_payload_given_in_parts(conns, annotations):
    a, b = conns
    chunks = [b"head", os.urandom(protocol._JOIN_LIMIT), memoryview(b"tail")]
    joined = b"".join(chunks)
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 3, 2, chunks, annotations=annotations)
    assert msg.data_size == len(joined)
    assert msg.parts[-3:] == tuple(chunks)                   # the chunks themselves, after header (+annotations)
    reference = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 3, 2, joined, annotations=annotations)
    assert msg.data == reference.data
    a.send(protocol.SendingMessage(protocol.MSG_INVOKE, 0, 3, 2, chunks, annotations=annotations).parts)
    rm = protocol.recv_stub(b)
    assert rm.data == joined and rm.annotations == (annotations or {})


def test_payload_in_small_parts_or_compressed_is_joined():
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 42, 1, [b"hel", b"lo"])
    assert msg.parts == (ORIG_INVOKE_HELLO,)
    Pyro5.config.COMPRESSION = True         # (tests/conftest.py resets the config after each test)
    payload = [b"compressible " * 10000, b"more " * 20000]
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, payload)
    assert msg.flags & protocol.FLAGS_COMPRESSED and len(msg.parts) == 1
    assert protocol.ReceivingMessage(msg.data[:40], msg.data[40:]).data == b"".join(payload)


def test_payload_in_parts_too_large():
    Pyro5.config.MAX_MESSAGE_SIZE = 100000
    with pytest.raises(errors.MessageTooLargeError):
        protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, 2, [b"x" * 60000, b"y" * 60000])


class _RecordingConnection:
    """A connection with a recv() of its own (like a server's buffered connection): it sees the sizes asked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked: list[int] = []

    def recv(self, size: int) -> bytes:
        self.asked.append(size)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_recv_stub_reads_annotations_and_data_together_from_a_custom_connection():
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 3, 1, b"data" * 10, {"ANNA": b"a" * 5, "ANNB": b""})
    conn = _RecordingConnection(msg.data)
    received = protocol.recv_stub(conn)
    assert conn.asked == [6, 34, received.annotations_size + received.data_size]
    assert received.annotations == {"ANNA": b"a" * 5, "ANNB": b""} and received.data == b"data" * 10


def test_recv_stub_reads_each_annotation_from_a_socket_connection(conns):
    a, b = conns
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 3, 1, b"data" * 10, {"ANNA": b"a" * 5, "ANNB": b""})
    a.send(msg.parts)
    received = protocol.recv_stub(b)
    assert received.annotations == {"ANNA": b"a" * 5, "ANNB": b""} and received.data == b"data" * 10
    # lying chunk lengths are refused there too
    bad = bytearray(protocol.SendingMessage(protocol.MSG_RESULT, 0, 3, 1, b"xy", {"ANNA": b"abc"}).data)
    bad[44:48] = (1000).to_bytes(4, "big")
    a.send(bytes(bad))
    with pytest.raises(errors.ProtocolError, match="invalid annotation chunk length 1000"):
        protocol.recv_stub(b)
