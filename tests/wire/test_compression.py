"""Message compression (config.COMPRESSION): what gets compressed, round trips, bounded decompression."""
from __future__ import annotations

import os
import struct
import zlib

import pytest

import Pyro5
from Pyro5 import errors, protocol, serializers

HEADER = struct.Struct("!4sHBBHHII16sHH")


def compressed_message(payload_plain: bytes, compressed: bytes, annotations: bytes = b"") -> bytes:
    return HEADER.pack(b"PYRO", 502, protocol.MSG_RESULT, 1, protocol.FLAGS_COMPRESSED, 1, len(compressed),
                       len(annotations), b"\0" * 16, 0, 0x4DC5) + annotations + compressed


def test_no_compression_by_default():
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"hello" * 100)
    assert not msg.flags & protocol.FLAGS_COMPRESSED
    assert msg.data[40:] == b"hello" * 100


def test_small_payloads_are_not_compressed():
    Pyro5.config.COMPRESSION = True
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"a" * 100)
    assert not msg.flags & protocol.FLAGS_COMPRESSED
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"a" * 101)
    assert msg.flags & protocol.FLAGS_COMPRESSED


def test_compressed_layout_matches_original():
    Pyro5.config.COMPRESSION = True
    payload = b"hello" * 50
    msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, payload, annotations={"ABCD": b"xyz" * 20})
    # observed from the original: only the payload is compressed, annotations stay plain; flag 2 in header
    expected_payload = b"x^\xcbH\xcd\xc9\xc9\xcf\x18\x89\x04\x00\xf0\ng\xe9"
    fields = HEADER.unpack(msg.data[:40])
    assert fields[4] == protocol.FLAGS_COMPRESSED
    assert fields[6] == len(expected_payload) and fields[7] == 68
    assert msg.data[40:108] == b"ABCD\x00\x00\x00<" + b"xyz" * 20
    assert msg.data[108:] == expected_payload


@pytest.mark.parametrize("payload", [b"x" * 101, b"hello world " * 1000, os.urandom(5000)])
def test_compressed_round_trip(payload):
    Pyro5.config.COMPRESSION = True
    msg = protocol.SendingMessage(protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, 3, 1, payload,
                                  annotations={"ANNO": b"annotation data"})
    assert msg.flags & protocol.FLAGS_COMPRESSED
    Pyro5.config.COMPRESSION = False    # the receiver decompresses regardless of its own setting
    rm = protocol.ReceivingMessage(msg.data[:40], msg.data[40:])
    assert rm.data == payload
    assert rm.annotations == {"ANNO": b"annotation data"}
    assert rm.flags == protocol.FLAGS_ONEWAY        # the compressed flag is removed after decompression


def test_compressed_round_trip_over_socket(conns):
    a, b = conns
    Pyro5.config.COMPRESSION = True
    ser = serializers.serializers["serpent"]
    value = {"numbers": list(range(2000)), "text": "compress me " * 100}
    a.send(protocol.SendingMessage(protocol.MSG_RESULT, 0, 9, ser.serializer_id, ser.dumps(value)).data)
    msg = protocol.recv_stub(b)
    assert ser.loads(msg.data) == value


def test_decompression_bomb_is_bounded():
    Pyro5.config.MAX_MESSAGE_SIZE = 100_000
    bomb = zlib.compress(b"\0" * 10_000_000, 9)      # ~10 KB on the wire, 10 MB when inflated
    assert len(bomb) < 100_000
    data = compressed_message(b"", bomb)
    with pytest.raises(errors.ProtocolError, match="too large"):
        protocol.ReceivingMessage(data[:40], data[40:])


def test_decompression_bomb_over_socket(conns):
    a, b = conns
    Pyro5.config.MAX_MESSAGE_SIZE = 1_000_000
    bomb = zlib.compress(b"A" * 20_000_000, 9)
    a.send(compressed_message(b"", bomb))
    with pytest.raises(errors.ProtocolError, match="MAX_MESSAGE_SIZE"):
        protocol.recv_stub(b)


def test_decompression_exactly_at_limit():
    Pyro5.config.MAX_MESSAGE_SIZE = 10_000
    payload = b"z" * 10_000
    data = compressed_message(payload, zlib.compress(payload))
    assert protocol.ReceivingMessage(data[:40], data[40:]).data == payload
    payload += b"z"
    data = compressed_message(payload, zlib.compress(payload))
    with pytest.raises(errors.ProtocolError):
        protocol.ReceivingMessage(data[:40], data[40:])


@pytest.mark.parametrize("garbage", [b"not zlib at all", zlib.compress(b"x" * 1000)[:-6], b""])
def test_invalid_compressed_data(garbage):
    data = compressed_message(b"", garbage)
    with pytest.raises(errors.ProtocolError, match="compressed"):
        protocol.ReceivingMessage(data[:40], data[40:])
