"""Fuzzing both server types with seeded malformed frames (issue 16, "Our own suite").

At least 10,000 generated frames per server type and run (PYRO5_FUZZ_FRAMES raises it, PYRO5_FUZZ_SEED picks
another seed): random bytes, valid headers with one corrupted field, lengths that lie, overrunning annotations,
truncated messages, undecodable payloads and payloads of the wrong shape in each serializer, bombs (zlib,
nesting, marshal element counts, annotation counts). Half of the frames come after a valid connect handshake,
and a quarter of those right behind a valid call (in the same send), which must be answered normally.
After every batch: a normal client still gets correct answers in every serializer, the server's file
descriptors come back to the baseline (no connection left behind) and its thread count does not grow; at the end
its peak resident memory is below 256 MiB (a zlib bomb expands to that much, 256 x its MAX_MESSAGE_SIZE).
The server never sends anything that is not a Pyro message, and closes every connection the client
half-closed (no hang).
"""
from __future__ import annotations

import os
import socket
import time

import pytest

from Pyro5.client import Proxy
from tests.reliability._fuzz import (
    REPO,
    SERIALIZER_IDS,
    SERVER_MAX_RSS,
    FrameGenerator,
    Outcome,
    start_server,
    throw,
    wait_until,
)

FRAMES = int(os.environ.get("PYRO5_FUZZ_FRAMES", "10000"))
SEED = int(os.environ.get("PYRO5_FUZZ_SEED", "20261204"))
BATCH = 500
SERVER_TYPES = ["thread", "multiplex"]


@pytest.fixture(params=SERVER_TYPES)
def server(request):
    proc = start_server(request.param)
    try:
        yield proc
    finally:
        proc.stop()


def _check_normal_clients(uri: str, batch: int) -> None:
    for serializer in SERIALIZER_IDS:
        with Proxy(uri) as p:
            p._pyroSerializer = serializer
            p._pyroTimeout = 20
            value = ["batch", batch, serializer, "é" * batch]
            assert p.echo(value) == value, (batch, serializer)


@pytest.mark.timeout(600)
def test_fuzz_frames(server):
    uri = server.ready
    host, port = uri.split("@")[1].rsplit(":", 1)
    address = (host, int(port))
    seed = SEED * 10 + SERVER_TYPES.index(server.servertype)
    generator = FrameGenerator(seed)
    outcome = Outcome()
    started = time.monotonic()
    with Proxy(uri) as checker:
        checker._pyroTimeout = 20
        baseline = checker.stats()
        peak_threads = baseline["threads"]
        for batch in range((FRAMES + BATCH - 1) // BATCH):
            for number, frame in enumerate(generator.frames(BATCH)):
                try:
                    throw(address, frame, outcome)
                except socket.timeout:
                    pytest.fail("the %s server kept a half-closed connection open: seed %d, batch %d, frame %d "
                                "(%s): %r" % (server.servertype, seed, batch, number, frame.category,
                                              frame.data[:80]))
            assert server.proc.poll() is None, "the server process died"
            _check_normal_clients(uri, batch)
            stats = wait_until(lambda: _settled(checker.stats(), baseline), timeout=15)
            assert stats, "server resources did not come back after batch %d: %r (baseline %r)" % (
                batch, checker.stats(), baseline)
            peak_threads = max(peak_threads, stats["threads"])
        final = checker.stats()
    elapsed = time.monotonic() - started
    assert outcome.frames >= FRAMES
    assert not outcome.garbage, outcome.garbage[:5]
    assert outcome.handshake_refused == 0
    assert not outcome.valid_first_unanswered, outcome.valid_first_unanswered[:5]
    assert outcome.valid_first_answered > FRAMES // 20
    assert set(outcome.by_category) == set(FrameGenerator.CATEGORIES)
    server.stop()
    stderr = server.proc.stderr.read() if server.proc.stderr and not server.proc.stderr.closed else ""
    assert "Traceback" not in (stderr or "")
    assert final["maxrss_kib"] * 1024 < SERVER_MAX_RSS, "the server's peak memory: %d KiB" % final["maxrss_kib"]
    print("\nfuzz %s (%s): %d frames on %d connections in %.1f s; categories %s; replies %s; threads %d (peak %d), "
          "fds %d (baseline %d), server max RSS %.0f MiB; %d valid calls sent just before a bad frame answered"
          % (server.servertype, server.peer, outcome.frames, outcome.connections, elapsed, dict(outcome.by_category),
             dict(outcome.replies), final["threads"], peak_threads, final["fds"], baseline["fds"],
             final["maxrss_kib"] / 1024, outcome.valid_first_answered))


def _settled(stats: dict, baseline: dict) -> dict | None:
    ok = stats["fds"] <= baseline["fds"] and stats["threads"] <= baseline["threads"] + 2
    return stats if ok else None


def test_frame_generator_is_seeded():
    first = [f.data for f in FrameGenerator(7).frames(200)]
    assert first == [f.data for f in FrameGenerator(7).frames(200)]
    assert first != [f.data for f in FrameGenerator(8).frames(200)]
    assert REPO.joinpath("tests", "reliability", "_fuzz.py").exists()
