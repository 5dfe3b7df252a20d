"""The big body buffer a server's MessageReader may reuse (Pyro5._wire_reader.recycle_buffer): the next big message
is received into the buffer of the one before it (no new memory), and its data is exactly its own bytes."""
from __future__ import annotations

import os

import pytest

from Pyro5 import _wire_reader, protocol
from Pyro5.protocol import MessageReader

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _no_spare():
    _wire_reader.release_spare_buffer()
    yield
    _wire_reader.release_spare_buffer()


def _wire(payload: bytes, seq: int = 1) -> bytes:
    return protocol.SendingMessage(protocol.MSG_INVOKE, 0, seq, 4, payload).data


def _receive(reader: MessageReader, wire: bytes, first: int = 4096, step: int = 300_000) -> protocol.ReceivingMessage:
    """What a server's connection does: one recv() of `first` bytes, then recv_into() the reader's buffer."""
    assert reader.feed(wire[:first]) == []
    pos = first
    while True:
        with reader.recv_buffer(step) as buf:
            n = min(len(buf), len(wire) - pos)
            buf[:n] = wire[pos:pos + n]
        pos += n
        got = reader.received(n)
        if got:
            assert pos == len(wire)
            return got[0]


def _server_reader() -> MessageReader:
    reader = MessageReader()
    reader.keep_buffers = True
    return reader


def _let_go(msg: protocol.ReceivingMessage) -> tuple[bool, int]:
    """What the dispatcher does once the call is deserialized: (kept?, id of the buffer)."""
    data, msg.data = msg.data, b""
    ident = id(data)
    kept = _wire_reader.recycle_buffer(data)
    del data
    return kept, ident


def test_next_big_message_reuses_the_buffer_of_the_one_before():
    first = os.urandom(MIB)
    msg = _receive(_server_reader(), _wire(first))
    assert msg.data == first and type(msg.data) is bytearray
    kept, ident = _let_go(msg)
    assert kept and len(_wire_reader._spare) == 1
    second = os.urandom(MIB)
    msg2 = _receive(_server_reader(), _wire(second, 2))      # (another connection's reader: one spare per process)
    assert id(msg2.data) == ident and msg2.data == second
    assert _wire_reader._spare == []


@pytest.mark.parametrize("size", [MIB - 1000, 300_000, 3 * MIB + 5, 40 * MIB + 3])
def test_a_smaller_message_gets_the_buffer_cut_to_its_size_and_a_bigger_one_a_new_buffer(size):
    msg = _receive(_server_reader(), _wire(os.urandom(3 * MIB)))
    kept, ident = _let_go(msg)
    assert kept
    old = _wire_reader._spare[0]    # (held here: a freed buffer's id may come back for the new one)
    payload = os.urandom(size)
    msg2 = _receive(_server_reader(), _wire(payload, 2))
    assert msg2.data == payload and len(msg2.data) == size      # (never the old message's bytes after its end)
    assert (msg2.data is old) == (size <= 3 * MIB)
    assert _wire_reader._spare == []            # (a spare too small for the message is freed, not kept)


def test_a_big_spare_is_taken_at_once_whatever_arrived():
    # a body above _AT_ONCE normally gets its one buffer once a 16th of it arrived; a kept buffer costs no new
    # memory, so the reader takes it for the first bytes already (no pieces to copy in later)
    msg = _receive(_server_reader(), _wire(os.urandom(20 * MIB)))
    kept, ident = _let_go(msg)
    assert kept
    reader = _server_reader()
    wire = _wire(os.urandom(20 * MIB), 2)
    assert reader.feed(wire[:100]) == []
    with reader.recv_buffer() as buf:
        assert len(buf) == 20 * MIB - 60
    assert _wire_reader._spare == []


def test_only_a_buffer_nothing_else_refers_to_is_kept():
    msg = _receive(_server_reader(), _wire(os.urandom(MIB)))
    data, msg.data = msg.data, b""
    view = memoryview(data)      # (e.g. a deserialized object that still uses the buffer)
    assert not _wire_reader.recycle_buffer(data)
    view.release()
    assert _wire_reader.recycle_buffer(data)
    # at most one buffer, only bytearrays, only big ones
    assert not _wire_reader.recycle_buffer(bytearray(2 * MIB))
    _wire_reader.release_spare_buffer()
    assert not _wire_reader.recycle_buffer(bytes(2 * MIB))
    assert not _wire_reader.recycle_buffer(bytearray(_wire_reader._RECYCLE_MIN - 1))
    assert _wire_reader._spare == []


def test_readers_without_keep_buffers_and_small_messages_leave_the_spare_alone():
    msg = _receive(_server_reader(), _wire(os.urandom(MIB)))
    kept, ident = _let_go(msg)
    assert kept
    payload = os.urandom(MIB)
    client = _receive(MessageReader(), _wire(payload, 2))        # (a proxy's reader: data is bytes)
    assert client.data == payload and type(client.data) is bytes
    small = _receive(_server_reader(), _wire(os.urandom(100_000), 3))
    assert len(small.data) == 100_000
    assert len(_wire_reader._spare) == 1 and id(_wire_reader._spare[0]) == ident


def test_a_message_cut_off_in_the_reused_buffer_is_never_returned():
    old = b"o" * MIB
    msg = _receive(_server_reader(), _wire(old))
    kept, _ = _let_go(msg)
    assert kept
    reader = _server_reader()
    wire = _wire(b"n" * MIB, 2)
    assert reader.feed(wire[:4096]) == []
    with reader.recv_buffer(1000) as buf:
        buf[:] = wire[4096:5096]
    assert reader.received(1000) == []
    with pytest.raises(protocol.errors.ConnectionClosedError):
        reader.eof()


def test_release_frees_the_spare():
    msg = _receive(_server_reader(), _wire(os.urandom(MIB)))
    assert _let_go(msg)[0]
    _wire_reader.release_spare_buffer()
    assert _wire_reader._spare == []


@pytest.mark.parametrize("keep", [True, False])
def test_the_tail_of_a_big_body_fed_as_bytes_goes_into_the_reader_buffer(keep):
    # a server receives most of a big body into the reader's buffer and its last few KiB as a bytes object: those
    # are copied into the buffer (the body stays that one buffer), not kept as a piece to join the body from,
    # which cost a second copy of the whole body and, on a server, a third buffer of its size in the heap
    payload = os.urandom(MIB)
    wire = _wire(payload)
    reader = MessageReader()
    reader.keep_buffers = keep
    assert reader.feed(wire[:65536]) == []
    with reader.recv_buffer(len(wire) - 65536 - 5000) as buf:
        buf[:] = wire[65536:len(wire) - 5000]
        buffer = buf.obj
    assert reader.received(len(wire) - 65536 - 5000) == []
    msg = reader.feed(wire[len(wire) - 5000:])[0]
    assert msg.data == payload
    if keep:
        assert msg.data is buffer
    else:
        assert type(msg.data) is bytes


def test_a_body_fed_only_as_bytes_pieces_is_still_kept_by_reference():
    payload = os.urandom(300_000)
    wire = _wire(payload)
    reader = MessageReader()
    assert reader.feed(wire[:40]) == []         # (the header alone: then the body's bytes pieces)
    piece = wire[40:100_000]
    assert reader.feed(piece) == []
    assert reader._chunk is None and reader._parts[0] is piece
    msg = reader.feed(wire[100_000:])[0]
    assert msg.data == payload


@pytest.mark.parametrize("keep", [True, False])
def test_the_early_pieces_of_a_big_body_are_mappings_of_their_own_on_a_server(keep):
    # (no kept buffer) a 10 MiB body is collected in pieces until a 16th of it arrived, then in one buffer of its
    # size: a server's reader takes those pieces from anonymous mappings, which go back to the system at once
    # (from the heap, their room stayed resident under the big buffer); a proxy's reader from the heap
    import mmap
    payload = os.urandom(10 * MIB)
    wire = _wire(payload)
    reader = MessageReader()
    reader.keep_buffers = keep
    assert reader.feed(wire[:4096]) == []
    pos = 4096
    kinds = []
    while True:
        with reader.recv_buffer(300_000) as buf:
            kinds.append(type(buf.obj))
            n = len(buf)
            buf[:] = wire[pos:pos + n]
        pos += n
        got = reader.received(n)
        if got:
            break
    assert got[0].data == payload and type(got[0].data) is (bytearray if keep else bytes)
    early = mmap.mmap if keep else bytearray
    assert kinds[0] is early and kinds[-1] is bytearray    # (the early pieces, then the body's one buffer)
    assert set(kinds) == {early, bytearray}


def test_the_early_pieces_are_copied_into_the_body_buffer_without_a_temporary_copy():
    # (bytearray slice assignment from a piece that is not a bytearray first copies it into a temporary one: for
    # a 100 MiB body 4 MiB of heap, which stayed resident in a server)
    from tests._support.memory import peak_allocation
    payload = os.urandom(10 * MIB)
    wire = _wire(payload)
    reader = _server_reader()
    assert reader.feed(wire[:65536]) == []      # (a bytes piece, kept by reference)
    source = memoryview(wire)
    pos = 65536
    got: list = []
    with peak_allocation() as peak:
        while not got:
            with reader.recv_buffer(500_000) as buf:
                n = len(buf)
                buf[:] = source[pos:pos + n]
            pos += n
            got = reader.received(n)
    assert got[0].data == payload
    assert peak[0] < 10 * MIB + 256 * 1024      # (the body's buffer; the pieces are mappings, not traced)
