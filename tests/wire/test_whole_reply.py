"""Pyro5._wire_reader.whole_reply: the payload of one receive that is exactly one whole plain reply, or None.

For every input it answers None to, the reader (the general path) must still make of the same bytes what it made
before (whole_reply changes nothing); for the input it answers, the payload must be what the reader would give.
Sans-I/O: the bytes are what SendingMessage puts on the wire, or hand-made headers (tests/_support/wire.py)."""
from __future__ import annotations

import uuid

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5._wire_reader import whole_reply
from Pyro5.protocol import MessageReader
from tests._support.wire import header

PAYLOAD = b"\x93\xa5hello\x2a\xc0"     # (any bytes: whole_reply does not deserialize)


def reply(seq=7, serializer_id=4, flags=0, annotations=None, msgtype=protocol.MSG_RESULT, payload=PAYLOAD,
          corr=None) -> bytes:
    return protocol.SendingMessage(msgtype, flags, seq, serializer_id, payload, annotations,
                                   correlation_id=corr).data


def client_reader() -> MessageReader:
    return MessageReader((protocol.MSG_RESULT,))


def test_a_plain_reply_gives_its_payload_as_the_reader_would():
    data = reply()
    reader = client_reader()
    assert whole_reply(reader, data, 7, 4) == PAYLOAD
    # the reader is still between messages and takes the next reply as usual
    assert reader.state == MessageReader.READING_HEADER
    [msg] = reader.feed(data)
    assert msg.data == PAYLOAD and msg.seq == 7 and msg.flags == 0 and msg.annotations == {}
    assert whole_reply(reader, reply(seq=8), 8, 4) == PAYLOAD


def test_a_correlation_id_in_the_reply_is_no_reason_for_the_general_path():
    # (the original daemon puts one on every reply: FLAGS_CORR_ID and the id in the header, the body as without)
    data = reply(corr=uuid.uuid4())
    assert protocol._header.unpack_from(data)[4] == protocol.FLAGS_CORR_ID
    assert whole_reply(client_reader(), data, 7, 4) == PAYLOAD
    [msg] = client_reader().feed(data)
    assert msg.data == PAYLOAD and msg.annotations == {}
    with_exception = reply(corr=uuid.uuid4(), flags=protocol.FLAGS_EXCEPTION)
    assert whole_reply(client_reader(), with_exception, 7, 4) is None


@pytest.mark.parametrize("case", [
    "seq", "serializer", "exception flag", "stream flag", "annotations", "connect type", "invoke type",
    "two messages", "part of a message", "header only", "extra byte", "bad magic", "bad version", "not pyro",
    "not bytes"])
def test_anything_else_is_left_to_the_reader(case):
    data = reply()
    seq, serializer_id = 7, 4
    if case == "seq":
        seq = 8
    elif case == "serializer":
        serializer_id = 1
    elif case == "exception flag":
        data = reply(flags=protocol.FLAGS_EXCEPTION)
    elif case == "stream flag":
        data = reply(flags=protocol.FLAGS_ITEMSTREAMRESULT)
    elif case == "annotations":
        data = reply(annotations={"RESP": b"yo"})
    elif case == "connect type":
        data = reply(msgtype=protocol.MSG_CONNECTOK)
    elif case == "invoke type":
        data = reply(msgtype=protocol.MSG_INVOKE)
    elif case == "two messages":
        data = data + reply(seq=8)
    elif case == "part of a message":
        data = data[:-1]
    elif case == "header only":
        data = data[:40]
    elif case == "extra byte":
        data = data + b"P"
    elif case == "bad magic":
        data = data[:38] + b"\x00\x00" + data[40:]
    elif case == "bad version":
        data = header(version=501, serializer_id=4, seq=7, data_size=len(PAYLOAD)) + PAYLOAD
    elif case == "not pyro":
        data = b"HTTP" + data[4:]
    elif case == "not bytes":
        data = bytearray(data)
    reader = client_reader()
    assert whole_reply(reader, data, seq, serializer_id) is None
    # the reader gets the same bytes and says what it always says about them
    before = _reader_result(client_reader(), data)
    assert _reader_result(reader, data) == before


def _reader_result(reader, data):
    try:
        return [(m.type, m.seq, m.flags, m.data, m.annotations) for m in reader.feed(data)], reader.state
    except errors.ProtocolError as x:
        return type(x), str(x)


def test_a_compressed_reply_is_left_to_the_reader():
    Pyro5.config.COMPRESSION = True
    big = b"z" * 5000
    data = reply(payload=big)
    assert protocol._header.unpack_from(data)[4] & protocol.FLAGS_COMPRESSED
    reader = client_reader()
    assert whole_reply(reader, data, 7, 4) is None
    [msg] = reader.feed(data)
    assert msg.data == big


def test_the_message_size_limit_and_logwire_are_left_to_the_reader(caplog):
    data = reply()
    Pyro5.config.MAX_MESSAGE_SIZE = len(PAYLOAD) - 1
    reader = client_reader()
    assert whole_reply(reader, data, 7, 4) is None
    with pytest.raises(errors.MessageTooLargeError):
        reader.feed(data)
    Pyro5.config.MAX_MESSAGE_SIZE = len(PAYLOAD)
    assert whole_reply(client_reader(), data, 7, 4) == PAYLOAD
    Pyro5.config.LOGWIRE = True
    assert whole_reply(client_reader(), data, 7, 4) is None


def test_a_reader_that_is_not_between_messages_or_failed_or_of_other_types():
    data = reply()
    reader = client_reader()
    assert reader.feed(data[:20]) == []         # (part of a header)
    assert whole_reply(reader, data, 7, 4) is None
    reader = client_reader()
    assert reader.feed(data[:45]) == []         # (a header and part of the body)
    assert whole_reply(reader, data, 7, 4) is None
    reader = client_reader()
    with pytest.raises(errors.ProtocolError):
        reader.feed(b"HTTP/1.1 200 OK\r\n" + b"x" * 40)
    assert whole_reply(reader, data, 7, 4) is None
    with pytest.raises(errors.ProtocolError):
        reader.feed(data)                       # (still failed: the same error)
    assert whole_reply(MessageReader((protocol.MSG_CONNECTOK,)), data, 7, 4) is None
    assert whole_reply(MessageReader(), data, 7, 4) == PAYLOAD      # (any known type accepted)
    assert whole_reply(MessageReader(prehandshake=True), data, 7, 4) is None
