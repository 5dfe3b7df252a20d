"""_wire_reader.whole_message: one small whole message from bytes, the same as a new MessageReader gives for
them; None for anything else (the caller then feeds a reader, which raises the errors)."""
from __future__ import annotations

import pytest

import Pyro5
from Pyro5 import _wire_reader, protocol


def _message(msgtype=protocol.MSG_CONNECTOK, payload=b"payload", annotations=None, seq=3):
    return protocol.SendingMessage(msgtype, 0, seq, 1, payload, annotations, correlation_id=None).data


def _same(a, b):
    assert (a.type, a.seq, a.flags, a.serializer_id, a.corr_id, a.annotations, a.data) == \
        (b.type, b.seq, b.flags, b.serializer_id, b.corr_id, b.annotations, b.data)
    assert type(a.data) is bytes


@pytest.mark.parametrize("annotations", [None, {"NSLK": b"PYRO:x@h:1"}, {"ABCD": b"", "EFGH": b"12345"}])
def test_the_same_message_as_a_reader_gives(annotations):
    data = _message(annotations=annotations)
    msg = _wire_reader.whole_message(data)
    assert msg is not None
    _same(msg, protocol.MessageReader().feed(data)[0])
    assert _wire_reader.whole_message(data, (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)) is not None


def test_not_accepted_type_is_left_to_the_reader():
    data = _message(protocol.MSG_RESULT)
    assert _wire_reader.whole_message(data, (protocol.MSG_CONNECTOK,)) is None
    with pytest.raises(Pyro5.errors.ProtocolError, match="invalid msg type"):
        protocol.MessageReader((protocol.MSG_CONNECTOK,)).feed(data)


@pytest.mark.parametrize("cut", ["part", "two", "header", "bytearray"])
def test_anything_but_one_whole_message_is_none(cut):
    data = _message(annotations={"NSLK": b"x"})
    given = {"part": data[:-1], "two": data + data, "header": data[:40], "bytearray": bytearray(data)}[cut]
    assert _wire_reader.whole_message(given) is None


def test_bad_bytes_are_none_and_the_reader_raises():
    data = bytearray(_message())
    data[39] ^= 0xFF      # (the magic number)
    assert _wire_reader.whole_message(bytes(data)) is None
    with pytest.raises(Pyro5.errors.ProtocolError, match="magic"):
        protocol.MessageReader().feed(bytes(data))
    bad_chunk = bytearray(_message(annotations={"NSLK": b"abc"}))
    bad_chunk[40 + 4:40 + 8] = (1000).to_bytes(4, "big")     # (a chunk longer than the annotations)
    assert _wire_reader.whole_message(bytes(bad_chunk)) is None


def test_compressed_and_logwire_are_left_to_the_reader(monkeypatch):
    monkeypatch.setattr(Pyro5.config, "COMPRESSION", True)
    compressed = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x" * 5000, correlation_id=None).data
    assert _wire_reader.whole_message(compressed) is None
    monkeypatch.setattr(Pyro5.config, "COMPRESSION", False)
    monkeypatch.setattr(Pyro5.config, "LOGWIRE", True)
    assert _wire_reader.whole_message(_message()) is None


def test_prehandshake_limit(monkeypatch):
    data = _message(payload=b"x" * 2000)
    monkeypatch.setattr(Pyro5.config, "MAX_PREHANDSHAKE_SIZE", 1000, raising=False)
    assert _wire_reader.whole_message(data, prehandshake=True) is None
    assert _wire_reader.whole_message(data) is not None
    with pytest.raises(Pyro5.errors.MessageTooLargeError):
        protocol.MessageReader(prehandshake=True).feed(data)
