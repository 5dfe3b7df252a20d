"""The core's small helpers for a server's fast path: _wire_reader.plain_message takes the usual request from one
receive's bytes (or says None, and the reader takes them as usual), plain_request_message makes the same
message the reader makes of those bytes, and protocol.plain_message_bytes packs a reply exactly as SendingMessage
does (or says None)."""
from __future__ import annotations

import uuid

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5._wire_reader import plain_message, plain_request_message
from tests._support.wire import header

PAYLOAD = b"\x94\xa1e\xa4echo\x92\xa5hello*\x80"     # (any bytes: the core does not deserialize)


def request_bytes(flags: int = 0, seq: int = 7, payload: bytes = PAYLOAD, annotations=None, corr=None,
                  msgtype: int = protocol.MSG_INVOKE) -> bytes:
    return protocol.SendingMessage(msgtype, flags, seq, 4, payload, annotations, correlation_id=corr).data


def reader(prehandshake: bool = False) -> protocol.MessageReader:
    return protocol.MessageReader(prehandshake=prehandshake)


@pytest.mark.parametrize("flags", [0, protocol.FLAGS_ONEWAY, protocol.FLAGS_BATCH])
def test_a_whole_plain_request_and_the_same_message_as_the_reader_makes(flags):
    data = request_bytes(flags=flags, seq=513)
    assert plain_message(reader(), data, protocol.MSG_INVOKE) == (4, flags, 513, PAYLOAD)
    made = plain_request_message(data)
    fed = reader().feed(data)[0]
    for name in ("type", "serializer_id", "flags", "seq", "data_size", "annotations_size", "corr_id", "data",
                 "annotations"):
        assert getattr(made, name) == getattr(fed, name), name
    assert made.correlation_id is None


def test_the_reader_is_unchanged_and_takes_the_same_bytes_afterwards():
    r = reader()
    data = request_bytes()
    assert plain_message(r, data, protocol.MSG_INVOKE) is not None
    assert r.state == r.READING_HEADER and r.received_bytes == 0
    assert [m.data for m in r.feed(data)] == [PAYLOAD]


def test_anything_else_is_none():
    plain = request_bytes()
    cases = {
        "annotations": request_bytes(annotations={"XYZW": b"1"}),
        "correlation id": request_bytes(corr=uuid.uuid4()),
        "ping": request_bytes(msgtype=protocol.MSG_PING),
        "result": request_bytes(msgtype=protocol.MSG_RESULT),
        "part of a message": plain[:-1],
        "a header alone": plain[:40],
        "two messages": plain + plain,
        "not bytes": bytearray(plain),
        "bad tag": b"PYRX" + plain[4:],
        "bad version": plain[:4] + b"\x01\xf5" + plain[6:],
        "bad magic": plain[:-len(PAYLOAD) - 2] + b"\0\0" + PAYLOAD,
        "compressed": header(4, 4, protocol.FLAGS_COMPRESSED, 1, len(PAYLOAD)) + PAYLOAD,
        "empty": b"",
    }
    for name, data in cases.items():
        assert plain_message(reader(), data, protocol.MSG_INVOKE) is None, name


def test_none_before_the_handshake_with_logwire_or_over_the_size_limit(monkeypatch):
    data = request_bytes()
    assert plain_message(reader(prehandshake=True), data, protocol.MSG_INVOKE) is None
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", len(PAYLOAD) - 1)
    assert plain_message(reader(), data, protocol.MSG_INVOKE) is None
    with pytest.raises(errors.MessageTooLargeError):
        reader().feed(data)         # (the reader says what is wrong)
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", len(PAYLOAD))
    assert plain_message(reader(), data, protocol.MSG_INVOKE) is not None
    monkeypatch.setattr(Pyro5.config, "LOGWIRE", True)
    assert plain_message(reader(), data, protocol.MSG_INVOKE) is None


def test_none_while_the_reader_is_inside_a_message_or_failed_or_expects_other_types():
    data = request_bytes()
    r = reader()
    r.feed(data[:10])
    assert plain_message(r, data, protocol.MSG_INVOKE) is None
    r = reader()
    r.feed(data[:45])       # (a header and part of the body)
    assert plain_message(r, data, protocol.MSG_INVOKE) is None
    r = reader()
    with pytest.raises(errors.ProtocolError):
        r.feed(b"HTTP/1.1")
    assert plain_message(r, data, protocol.MSG_INVOKE) is None
    assert plain_message(protocol.MessageReader((protocol.MSG_CONNECT,)), data, protocol.MSG_INVOKE) is None
    assert plain_message(protocol.MessageReader((protocol.MSG_INVOKE,)), data, protocol.MSG_INVOKE) is not None


@pytest.mark.parametrize("size", [0, 1, 100, 101, 5000, 64 * 1024, 64 * 1024 + 1])
@pytest.mark.parametrize("compression", [False, True])
def test_plain_message_bytes_are_what_sending_message_makes(size, compression, monkeypatch):
    monkeypatch.setattr(Pyro5.config, "COMPRESSION", compression)
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    made = protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 65535, payload)
    if size > 100 and (compression or size > 64 * 1024):
        assert made is None     # (compressed, or sent in parts: SendingMessage does that)
    else:
        expected = protocol.SendingMessage(protocol.MSG_RESULT, 0, 65535, 4, payload, correlation_id=None)
        assert made == expected.data


def test_plain_message_bytes_none_for_other_payloads_logwire_or_too_large(monkeypatch):
    assert protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 1, bytearray(b"ab")) is None
    assert protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 1, [b"ab"]) is None
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", 10)
    assert protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 1, b"x" * 11) is None
    assert protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 1, b"x" * 10) is not None
    monkeypatch.setattr(Pyro5.config, "LOGWIRE", True)
    assert protocol.plain_message_bytes(protocol.MSG_RESULT, 4, 1, b"x") is None
