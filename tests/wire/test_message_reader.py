"""Pyro5.protocol.MessageReader: real messages fed in every split, the recv_into interface, malformed input.

The reader is sans-I/O, so these tests need no sockets: the bytes are what SendingMessage puts on the wire
(its layout is checked against the original Pyro5 in test_protocol.py and tests/interop)."""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tracemalloc
import uuid
import zlib

import pytest

import Pyro5
from Pyro5 import errors, protocol, serializers
from Pyro5.callcontext import current_context
from Pyro5.protocol import MessageReader
from tests._support.wire import header

CORR = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture(autouse=True)
def _no_correlation_id():
    current_context.correlation_id = None
    yield
    current_context.correlation_id = None


class Sample:
    """A message as sent (wire bytes) and what the receiver must make of it."""

    def __init__(self, name, msgtype, flags, seq, serializer_id, payload, annotations=None, compress=False,
                 corr=None, value=None):
        Pyro5.config.COMPRESSION = compress
        try:
            msg = protocol.SendingMessage(msgtype, flags, seq, serializer_id, payload, annotations,
                                          correlation_id=corr)
        finally:
            Pyro5.config.COMPRESSION = False
        assert bool(msg.flags & protocol.FLAGS_COMPRESSED) == compress
        self.name = name
        self.wire = msg.data
        self.type, self.flags, self.seq, self.serializer_id = msgtype, flags, seq, serializer_id
        self.payload = bytes(payload)
        self.annotations = dict(annotations or {})
        self.corr = corr
        self.value = value

    def check(self, rm: protocol.ReceivingMessage) -> None:
        assert (rm.type, rm.seq, rm.serializer_id) == (self.type, self.seq, self.serializer_id), self.name
        assert rm.flags == self.flags | (protocol.FLAGS_CORR_ID if self.corr else 0), self.name
        assert rm.data == self.payload and type(rm.data) is bytes, self.name
        assert rm.annotations == self.annotations, self.name
        assert rm.correlation_id == self.corr, self.name
        if self.value is not None:
            ser = serializers.serializers_by_id[self.serializer_id]
            loaded = ser.loadsCall(rm.data) if self.type == protocol.MSG_INVOKE else ser.loads(rm.data)
            assert loaded == self.value, self.name

    def __repr__(self):
        return self.name


def _samples() -> list[Sample]:
    out = []
    big_text = "the quick brown fox jumps over the lazy dog " * 40
    for name, ser in sorted(serializers.serializers.items()):
        sid = ser.serializer_id
        call = ("obj_8a3c", "method", [1, "two", 3.5, [4, 5]], {"kw": "value"})
        out.append(Sample(name + "-invoke", protocol.MSG_INVOKE, 0, 1, sid, ser.dumpsCall(*call), value=call))
        out.append(Sample(name + "-oneway-annotations-corr", protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, 2, sid,
                          ser.dumpsCall(*call), {"ABCD": b"x" * 10, "EMPT": b"", "BIN_": bytes(range(256))},
                          corr=CORR, value=call))
        batch = ("obj_8a3c", "<batch>", [["m1", [1], {}], ["m2", [], {"a": 1}]], {})
        out.append(Sample(name + "-batch", protocol.MSG_INVOKE, protocol.FLAGS_BATCH, 3, sid, ser.dumpsCall(*batch)))
        out.append(Sample(name + "-batch-result", protocol.MSG_RESULT, protocol.FLAGS_BATCH, 3, sid,
                          ser.dumps([1, "two", None]), value=[1, "two", None]))
        out.append(Sample(name + "-stream", protocol.MSG_RESULT, protocol.FLAGS_ITEMSTREAMRESULT, 65535, sid,
                          ser.dumps("7b7c6a1e-stream"), value="7b7c6a1e-stream"))
        out.append(Sample(name + "-compressed", protocol.MSG_RESULT, 0, 4, sid, ser.dumps(big_text),
                          compress=True, value=big_text))
        out.append(Sample(name + "-compressed-annotations", protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, 5, sid,
                          ser.dumpsCall("obj", "m", [big_text], {}), {"ANNO": b"not compressed"}, compress=True,
                          corr=CORR))
        out.append(Sample(name + "-exception", protocol.MSG_RESULT, protocol.FLAGS_EXCEPTION, 6, sid,
                          ser.dumps(errors.NamingError("no such name"))))
        out.append(Sample(name + "-connect", protocol.MSG_CONNECT, 0, 0, sid,
                          ser.dumps({"handshake": "hi", "object": "obj"}), value={"handshake": "hi", "object": "obj"}))
        out.append(Sample(name + "-connectok", protocol.MSG_CONNECTOK, 0, 0, sid, ser.dumps({"meta": {}}),
                          value={"meta": {}}))
        out.append(Sample(name + "-empty", protocol.MSG_RESULT, 0, 7, sid, b""))
        out.append(Sample(name + "-only-annotations", protocol.MSG_RESULT, 0, 8, sid, b"", {"ONLY": b"1234"}))
    out.append(Sample("ping", protocol.MSG_PING, 0, 0, 42, b"ping"))
    return out


SAMPLES = _samples()


def feed_all(reader, pieces):
    got = []
    for piece in pieces:
        got.extend(reader.feed(piece))
    return got


def splits(data: bytes, cuts) -> list[bytes]:
    bounds = [0] + sorted(cuts) + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# --- real messages in every split ------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_every_two_way_split(sample):
    data = sample.wire
    for cut in range(len(data) + 1):
        reader = MessageReader()
        got = feed_all(reader, [data[:cut], data[cut:]])
        assert len(got) == 1, cut
        sample.check(got[0])
        assert reader.state == "reading header" and reader.received_bytes == 0


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_one_byte_at_a_time(sample):
    data = sample.wire
    reader = MessageReader()
    got = []
    for i in range(len(data)):
        got.extend(reader.feed(data[i:i + 1]))
        if i < len(data) - 1:
            assert not got
            assert reader.received_bytes == i + 1
            assert reader.needed == (40 - (i + 1) if i < 39 else len(data) - (i + 1))
    assert len(got) == 1
    sample.check(got[0])


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_all_messages_at_once_and_in_random_splits(kind):
    stream = b"".join(s.wire for s in SAMPLES)
    reader = MessageReader()
    got = reader.feed(kind(stream))
    assert len(got) == len(SAMPLES)
    for sample, rm in zip(SAMPLES, got, strict=True):
        sample.check(rm)
    rnd = random.Random(502)
    for _ in range(200):
        cuts = rnd.sample(range(1, len(stream)), rnd.randint(1, 60))
        got = feed_all(MessageReader(), [kind(p) for p in splits(stream, cuts)])
        assert len(got) == len(SAMPLES)
        for sample, rm in zip(SAMPLES, got, strict=True):
            sample.check(rm)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 39, 40, 41, 64, 100, 1000, 4096])
def test_stream_in_fixed_size_pieces(size):
    stream = b"".join(s.wire for s in SAMPLES)
    got = feed_all(MessageReader(), [stream[i:i + size] for i in range(0, len(stream), size)])
    assert [rm.seq for rm in got] == [s.seq for s in SAMPLES]
    for sample, rm in zip(SAMPLES, got, strict=True):
        sample.check(rm)


def test_body_given_as_exactly_its_bytes_is_not_copied():
    # (what recv_stub does: header, then the body in one recv())
    sample = next(s for s in SAMPLES if s.name == "serpent-invoke")
    reader = MessageReader()
    assert reader.feed(sample.wire[:6]) == [] and reader.needed == 34
    assert reader.feed(sample.wire[6:40]) == [] and reader.needed == len(sample.wire) - 40
    assert reader.state == "reading body" and reader.message_size == len(sample.wire)
    body = bytes(sample.wire[40:])
    msg, = reader.feed(body)
    assert msg.data is body


def test_caller_buffer_is_free_after_feed():
    # the reader keeps no view of the caller's buffer: a transport may reuse and resize it
    data = SAMPLES[1].wire
    for cut in (10, 45, len(data) - 3, len(data)):
        buf = bytearray(data[:cut])
        reader = MessageReader()
        got = reader.feed(buf)
        buf += b"more"          # BufferError if a view on it were kept
        del buf[:]
        rest = bytearray(data[cut:])
        with memoryview(rest) as view:
            got += reader.feed(view)
        rest.extend(b"x")
        assert len(got) == 1


def test_message_types_and_accepted_types():
    reader = MessageReader([protocol.MSG_CONNECT])
    connect = next(s for s in SAMPLES if s.name == "serpent-connect")
    invoke = next(s for s in SAMPLES if s.name == "serpent-invoke")
    connect.check(reader.feed(connect.wire)[0])
    reader.accepted_msgtypes = (protocol.MSG_INVOKE, protocol.MSG_PING)    # may change between messages
    invoke.check(reader.feed(invoke.wire)[0])
    with pytest.raises(errors.ProtocolError, match=r"invalid msg type 1 received \(expected: 4,6\)"):
        reader.feed(connect.wire)


# --- the recv_into interface ---------------------------------------------------------------------------------

def drive_recv_into(reader, stream: bytes, sizes) -> list:
    """What a blocking transport does: recv_into the reader's buffer; sizes says how much each 'recv' gives."""
    got = []
    pos = 0
    sizes = iter(sizes)
    while pos < len(stream):
        with reader.recv_buffer(next(sizes)) as buf:
            n = min(len(buf), len(stream) - pos)
            assert n > 0 and len(buf) <= reader.needed
            buf[:n] = stream[pos:pos + n]
        pos += n
        got.extend(reader.received(n))
    return got


@pytest.mark.parametrize("limit", [1, 3, 6, 40, 1000, 70_000, None])
def test_recv_into_interface(limit):
    stream = b"".join(s.wire for s in SAMPLES)
    got = drive_recv_into(MessageReader(), stream, iter(lambda: limit, object()))
    assert len(got) == len(SAMPLES)
    for sample, rm in zip(SAMPLES, got, strict=True):
        sample.check(rm)


@pytest.mark.parametrize("compress", [False, True])
def test_large_message_in_pieces(compress):
    # a body that spans many receives is collected in growing buffers and joined once
    payload = os.urandom(600_000) + b"abc" * 1_000_000
    sample = Sample("large", protocol.MSG_RESULT, 0, 9, 1, payload, {"ANNO": os.urandom(300_000)},
                    compress=compress)
    rnd = random.Random(7)
    got = drive_recv_into(MessageReader(), sample.wire, iter(lambda: rnd.randint(1, 200_000), None))
    assert len(got) == 1
    sample.check(got[0])
    data = sample.wire
    got = feed_all(MessageReader(), [data[i:i + 65536] for i in range(0, len(data), 65536)])
    sample.check(got[0])


def test_recv_buffer_misuse():
    reader = MessageReader()
    with reader.recv_buffer(10) as buf:
        assert len(buf) == 10
    with pytest.raises(ValueError, match="more bytes"):
        reader.received(41)
    assert reader.received(0) == []


# --- state and end of input ------------------------------------------------------------------------------------

def test_eof():
    data = SAMPLES[0].wire
    reader = MessageReader()
    reader.eof()                          # between messages: a normal close
    reader.feed(data[:20])
    with pytest.raises(errors.ConnectionClosedError, match="received 20 bytes"):
        reader.eof()
    reader.feed(data[20:-1])
    with pytest.raises(errors.ConnectionClosedError, match="received %d of %d bytes" % (len(data) - 1, len(data))):
        reader.eof()
    assert len(reader.feed(data[-1:])) == 1
    reader.eof()


def test_state_constants_and_check_msgtype():
    assert (MessageReader.READING_HEADER, MessageReader.READING_BODY, MessageReader.FAILED) == \
        ("reading header", "reading body", "failed")
    msg, = MessageReader().feed(SAMPLES[0].wire)
    MessageReader.check_msgtype(msg, [protocol.MSG_INVOKE])
    with pytest.raises(errors.ProtocolError, match=r"invalid msg type 4 received \(expected: 1\)"):
        MessageReader.check_msgtype(msg, [protocol.MSG_CONNECT])


def test_properties():
    reader = MessageReader()
    assert (reader.state, reader.needed, reader.received_bytes, reader.message_size) == ("reading header", 40, 0, None)
    data = SAMPLES[0].wire
    reader.feed(data[:45])
    assert (reader.state, reader.needed, reader.received_bytes, reader.message_size) == \
        ("reading body", len(data) - 45, 45, len(data))


# --- malformed input -----------------------------------------------------------------------------------------------

def fails_at(data: bytes, position: int, error=errors.ProtocolError, match=None, **reader_args):
    """Feeding data[:position] is fine (in any split), the next byte raises; whole or split, same error."""
    for step in (1, 7, len(data)):
        reader = MessageReader(**reader_args)
        for i in range(0, position, step):
            assert reader.feed(data[i:min(i + step, position)]) == []
        with pytest.raises(error, match=match):
            reader.feed(data[position:])
        assert reader.state == "failed" and reader.needed == 0
        with pytest.raises(error, match=match):    # a failed reader stays failed
            reader.feed(SAMPLES[0].wire)
    with pytest.raises(error, match=match):
        MessageReader(**reader_args).feed(data)


@pytest.mark.parametrize("data, position, match", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, "not a Pyro message"),
    (b"PYXO" + header()[4:], 2, "not a Pyro message"),
    (header(tag=b"PYRX"), 3, "not a Pyro message"),
    (header(version=501), 5, r"version: 501 received.*502"),
    (header(version=4), 5, r"version: 4 received"),           # a Pyro4 peer
    (header(magic=0x1234), 39, "magic number"),
    (header(msgtype=0), 39, "unknown message type"),
    (header(msgtype=7), 39, "unknown message type"),
    (header(msgtype=255, data_size=1) + b"x", 39, "unknown message type"),
])
def test_bad_headers_fail_as_soon_as_the_byte_arrives(data, position, match):
    fails_at(data, position, match=match)


@pytest.mark.parametrize("msgtype", [protocol.MSG_INVOKE, protocol.MSG_RESULT])
@pytest.mark.parametrize("serializer_id", [0, 5, 42, 255])
def test_any_serializer_id_is_read(msgtype, serializer_id):
    # as the original 5.15 (and recv_stub): the reader reads it, whoever deserializes the payload checks the id
    msg = MessageReader().feed(header(msgtype=msgtype, serializer_id=serializer_id, data_size=1) + b"x")[0]
    assert (msg.type, msg.serializer_id, msg.data) == (msgtype, serializer_id, b"x")


def test_ping_may_name_any_serializer():
    assert MessageReader().feed(header(msgtype=protocol.MSG_PING, serializer_id=0, data_size=4) + b"ping")[0].data \
        == b"ping"


def test_wrong_type_for_the_reader():
    fails_at(SAMPLES[0].wire, 39, match=r"invalid msg type 4 received \(expected: 1\)",
             accepted_msgtypes=[protocol.MSG_CONNECT])


def test_oversized_header_fails_before_the_body():
    Pyro5.config.MAX_MESSAGE_SIZE = 1000
    fails_at(header(data_size=900, annotations_size=101), 39, errors.MessageTooLargeError, "too large")
    fails_at(header(data_size=0xFFFFFFFF, annotations_size=0xFFFFFFFF), 39, errors.MessageTooLargeError)
    reader = MessageReader()
    reader.feed(header(data_size=900, annotations_size=100))    # exactly at the limit: fine
    assert reader.needed == 1000


def test_a_header_claiming_a_huge_body_costs_nothing():
    Pyro5.config.MAX_MESSAGE_SIZE = 2 ** 31
    reader = MessageReader()
    tracemalloc.start()
    try:
        reader.feed(header(data_size=2 ** 31 - 100, annotations_size=0) + b"x" * 1000)
        reader.feed(b"y" * 1000)
        size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert reader.received_bytes == 2040
    with pytest.raises(errors.ConnectionClosedError):
        reader.eof()


@pytest.mark.parametrize("chunks, match", [
    (b"ABCD\x00\x00\x00\x09xyz", "chunk length"),         # length beyond the annotation block
    (b"ABCD\xff\xff\xff\xff", "chunk length"),
    (b"ABCD\x00\x00", "trailing"),                         # incomplete chunk header
    (b"AB\xffD\x00\x00\x00\x01x", "ASCII"),               # non-ascii id
    (b"ABCD\x00\x00\x00\x01xEF", "trailing"),             # garbage after the last chunk
])
def test_bad_annotation_lengths(chunks, match):
    data = header(data_size=2, annotations_size=len(chunks)) + chunks + b"zz"
    for cut in range(len(data)):
        reader = MessageReader()
        reader.feed(data[:cut])
        with pytest.raises(errors.ProtocolError, match=match):
            reader.feed(data[cut:])


def compressed(body: bytes, annotations: bytes = b"") -> bytes:
    return header(flags=protocol.FLAGS_COMPRESSED, data_size=len(body), annotations_size=len(annotations)) + \
        annotations + body


@pytest.mark.parametrize("body, match", [
    (zlib.compress(b"\0" * 10_000_000, 9), "too large"),         # a bomb: 10 KB that inflates to 10 MB
    (zlib.compress(b"hello world" * 50)[:-5], "incomplete"),
    (b"this is not zlib data", "invalid compressed"),
    (b"", "incomplete"),
])
def test_bad_compressed_data(body, match):
    Pyro5.config.MAX_MESSAGE_SIZE = 1_000_000
    data = compressed(body, b"ANNO\x00\x00\x00\x01a")
    for cut in sorted({c for c in (0, 1, 39, 40, 41, 50, len(data) // 2) if c < len(data)} | {len(data) - 1}):
        reader = MessageReader()
        reader.feed(data[:cut])
        with pytest.raises(errors.ProtocolError, match=match):
            reader.feed(data[cut:])


def test_decompression_bomb_in_many_buffers():
    # compressed body larger than one receive buffer, inflating beyond MAX_MESSAGE_SIZE
    Pyro5.config.MAX_MESSAGE_SIZE = 2_000_000
    body = zlib.compress(os.urandom(700_000) + b"\0" * 50_000_000)
    assert 700_000 < len(body) < 2_000_000
    data = compressed(body)
    with pytest.raises(errors.ProtocolError, match="too large"):
        feed_all(MessageReader(), [data[i:i + 100_000] for i in range(0, len(data), 100_000)])
    with pytest.raises(errors.ProtocolError, match="too large"):
        drive_recv_into(MessageReader(), data, iter(lambda: 65536, None))


def test_decompression_exactly_at_the_limit():
    Pyro5.config.MAX_MESSAGE_SIZE = 1_000_000
    body = zlib.compress(os.urandom(300_000) + b"\1" * 700_000)
    data = compressed(body)
    msg, = feed_all(MessageReader(), [data[i:i + 50_000] for i in range(0, len(data), 50_000)])
    assert len(msg.data) == 1_000_000 and msg.flags == 0


def test_good_messages_before_bad_bytes_are_returned_first():
    good = [s.wire for s in SAMPLES[:3]]
    reader = MessageReader()
    got = reader.feed(b"".join(good) + b"JUNK" * 20)
    assert [m.seq for m in got] == [s.seq for s in SAMPLES[:3]]
    assert reader.state == "failed"
    with pytest.raises(errors.ProtocolError, match="not a Pyro message"):
        reader.feed(b"")
    with pytest.raises(errors.ProtocolError, match="not a Pyro message"):
        reader.recv_buffer()


def test_outcome_does_not_depend_on_the_split():
    # mutated messages: whatever the reader makes of them (messages or an error) is the same in every split
    rnd = random.Random(5)
    stream = b"".join(s.wire for s in SAMPLES[:12])
    for _ in range(300):
        data = bytearray(stream)
        for _ in range(rnd.randint(1, 3)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        outcomes = set()
        for _ in range(4):
            reader = MessageReader()
            cuts = rnd.sample(range(1, len(data)), rnd.randint(0, 30))
            got = []
            error = None
            try:
                for piece in splits(bytes(data), cuts) + [b""]:    # (the last feed raises a deferred error)
                    got.extend(reader.feed(piece))
            except errors.ProtocolError as x:
                error = (type(x), re.sub(r"got .*\)", "", str(x)))    # (shows the bytes that arrived)
            outcomes.add((tuple((m.type, m.flags, m.seq, m.data, tuple(m.annotations.items())) for m in got),
                          error))
        assert len(outcomes) == 1, outcomes


def test_logwire(caplog):
    Pyro5.config.LOGWIRE = True
    with caplog.at_level("DEBUG", logger="Pyro5.protocol"):
        MessageReader().feed(SAMPLES[0].wire)
    assert any("wiredata received" in r.getMessage() and r.name == "Pyro5.protocol" for r in caplog.records)


@pytest.mark.parametrize("first", ["Pyro5.protocol", "Pyro5._wire_reader"])
def test_either_module_may_be_imported_first(first):
    code = ("import %s, Pyro5.protocol as p; r = p.MessageReader(); "
            "print(len(r.feed(p.SendingMessage(p.MSG_PING, 0, 0, 42, b'ping').data)))" % first)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "1"), out.stderr



# --- the reader's own buffers for a big body -------------------------------------------------------------------

def test_big_body_ends_in_one_buffer_allocated_as_it_arrives():
    # what a blocking transport does: one recv() of 4096 bytes (header and the start of the body), then the rest
    # with recv_into: the body ends in ONE buffer of its size (no join: the servers' readers keep it as the
    # data), and the memory held never exceeds _EXACT_FACTOR times what arrived (or the first buffer's size)
    from Pyro5 import _wire_reader
    for size in (300_000, 3 * 1024 * 1024 + 17, 40 * 1024 * 1024 + 3):
        payload = os.urandom(size)
        wire = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 5, 2, payload).data
        for keep in (False, True):
            reader = MessageReader()
            reader.keep_buffers = keep
            assert reader.feed(wire[:4096]) == []
            got = []
            pos = 4096
            while not got:
                with reader.recv_buffer(1 << 30) as buf:
                    arrived = pos - 40
                    assert arrived + len(buf) <= max(_wire_reader._AT_ONCE, _wire_reader._EXACT_FACTOR * arrived)
                    n = min(len(buf), 200_000, len(wire) - pos)
                    buf[:n] = wire[pos:pos + n]
                pos += n
                got = reader.received(n)
            assert got[0].data == payload
            # the servers' readers keep that one buffer as the data (no copy); otherwise data is bytes, as always
            assert type(got[0].data) is (bytearray if keep else bytes)


def test_huge_claimed_body_is_buffered_as_it_arrives(monkeypatch):
    # a header that claims a huge body costs memory only as its bytes arrive: each new buffer is at most as big
    # as what arrived so far (or the first buffer's size)
    from Pyro5 import _wire_reader
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", 2 * 1024 ** 3)
    reader = MessageReader()
    claimed = header(protocol.MSG_INVOKE, 2, data_size=1024 ** 3)        # 1 GiB announced
    assert reader.feed(claimed) == []
    total = 0
    for _ in range(6):
        with reader.recv_buffer() as buf:
            assert len(buf) <= max(_wire_reader._FIRST_CHUNK, total)
            size = len(buf)
        assert reader.received(size) == []
        total += size
    assert total < 64 * 1024 * 1024 and reader.needed == 1024 ** 3 - total
