"""Shared helpers of tests/reliability: the server process under test, a seeded generator of malformed Pyro
frames, the code that throws them at a server, and the client processes of the load test.

The server runs in a subprocess of its own (``python -c "from tests.reliability._fuzz import serve; serve()"``),
so its threads and file descriptors can be counted from the inside and a crash cannot hide. It only uses the
public API (Daemon, expose, config), hosts ``fuzz.target`` and prints ``READY <uri>``.
"""
from __future__ import annotations

import functools
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import types
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[2]

HEADER = struct.Struct("!4sHBBHHII16sHH")
CHUNK = struct.Struct("!4sI")
MAGIC = 0x4dc5
VERSION = 502
MSG_CONNECT, MSG_CONNECTOK, MSG_CONNECTFAIL, MSG_INVOKE, MSG_RESULT, MSG_PING = 1, 2, 3, 4, 5, 6
FLAGS_EXCEPTION, FLAGS_COMPRESSED, FLAGS_ONEWAY, FLAGS_BATCH = 1, 2, 4, 8
SERIALIZER_IDS = {"serpent": 1, "marshal": 2, "json": 3, "msgpack": 4}
OBJECT_ID = "fuzz.target"
#: MAX_MESSAGE_SIZE of the server under test: small, so that the bombs and lying lengths hit the limit
SERVER_MAX_MESSAGE_SIZE = 1024 * 1024


# ------------------------------------------------------------------------------------------------ the server

def _peak_rss_kib(resource: "types.ModuleType") -> int:
    """This process's peak memory (KiB). Linux: VmHWM, the high-water mark of its own memory since it started
    the interpreter; getrusage's ru_maxrss would also count the parent's memory at the time it was spawned
    (the kernel keeps the larger of the two across exec: a big pytest process made the server look big)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def serve() -> None:
    """Entry point of the server process (config from the environment: PYRO_SERVERTYPE etc.)."""
    import resource

    from Pyro5 import config
    from Pyro5.server import Daemon, expose

    calls: Counter = Counter()
    lock = threading.Lock()

    @expose
    class Target:
        def echo(self, value: object) -> object:
            return value

        def work(self, client: int, seq: int, payload: str) -> list:
            with lock:
                calls[(client, seq)] += 1
            return [client, seq, payload[::-1]]

        def summary(self) -> dict:
            with lock:
                return {"calls": sum(calls.values()), "distinct": len(calls),
                        "duplicated": sum(1 for n in calls.values() if n > 1)}

        def stats(self) -> dict:
            return {"threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd")),
                    "maxrss_kib": _peak_rss_kib(resource)}

    config.MAX_MESSAGE_SIZE = SERVER_MAX_MESSAGE_SIZE
    with Daemon(host="127.0.0.1") as daemon:
        uri = daemon.register(Target, OBJECT_ID)
        print("READY", uri, flush=True)
        daemon.requestLoop()


def server_env(servertype: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYRO_SERVERTYPE"] = servertype
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


SERVE_CODE = "from tests.reliability._fuzz import serve; serve()"


def start_server(servertype: str):   # -> refpyro.OrigProcess
    """The server process: ours, or the original Pyro5 5.15 with PYRO5_RELIABILITY_PEER=orig (for comparison
    figures; its venv, see tests/_support/refpyro.py)."""
    from tests._support import refpyro
    peer = os.environ.get("PYRO5_RELIABILITY_PEER", "ours")
    if peer not in ("ours", "orig"):
        raise ValueError("PYRO5_RELIABILITY_PEER must be ours or orig, not %r" % peer)
    python = refpyro.orig_python() if peer == "orig" else None
    env = server_env(servertype)
    if peer == "orig":
        env = refpyro.clean_env(PYRO_SERVERTYPE=servertype, PYTHONPATH=str(REPO))
    proc = refpyro.start_python(SERVE_CODE, python=python, env=env, timeout=60)
    proc.servertype = servertype
    proc.peer = peer
    return proc


# ------------------------------------------------------------------------------------------------ frames

def header(msgtype: int = MSG_INVOKE, serializer: int = 1, flags: int = 0, seq: int = 1, data_size: int = 0,
           annotations_size: int = 0, corr: bytes = b"\0" * 16, reserved: int = 0, magic: int = MAGIC,
           version: int = VERSION, tag: bytes = b"PYRO") -> bytes:
    return HEADER.pack(tag, version, msgtype, serializer, flags, seq, data_size, annotations_size, corr, reserved,
                       magic)


def message(msgtype: int, serializer: int, payload: bytes, flags: int = 0, seq: int = 1,
            annotations: bytes = b"") -> bytes:
    return header(msgtype, serializer, flags, seq, len(payload), len(annotations)) + annotations + payload


def annotation(key: bytes, value: bytes) -> bytes:
    return CHUNK.pack(key, len(value)) + value


def _serialize(name: str, data: object) -> bytes:
    from Pyro5 import serializers
    return serializers.serializers[name].dumps(data)


def _call(name: str, method: str = "echo", args: tuple = (1,)) -> bytes:
    from Pyro5 import serializers
    return serializers.serializers[name].dumpsCall(OBJECT_ID, method, args, {})


#: what the zlib bomb expands to: 256 x the server's MAX_MESSAGE_SIZE (the server must stop at the limit)
ZLIB_BOMB_SIZE = 256 * SERVER_MAX_MESSAGE_SIZE
#: the server's peak resident memory must stay below this (an unbounded decompression alone would pass it)
SERVER_MAX_RSS = ZLIB_BOMB_SIZE


@functools.lru_cache(maxsize=None)
def zlib_bomb(size: int) -> bytes:
    """zlib data that expands to `size` zero bytes (made in 1 MiB steps: never holds `size` bytes)."""
    compressor = zlib.compressobj(6)
    step = bytes(1024 * 1024)
    parts = [compressor.compress(step) for _ in range(size // len(step))]
    return b"".join(parts) + compressor.flush()


# 5,000 empty annotation chunks (2,500 distinct keys, each twice) in 40 KB
_ANNOTATION_BOMB = b"".join(CHUNK.pack(b"%04d" % (i % 2500), 0) for i in range(5000))


@dataclass
class Frame:
    category: str
    data: bytes
    handshake: str | None = None     # serializer name: send a valid connect message first
    valid_first: bool = False        # (after a handshake) a valid call in the same send, before the frame


class FrameGenerator:
    """Seeded: the same seed gives the same frames (a failure names the seed and the frame number)."""

    CATEGORIES = ("random_bytes", "corrupt_header", "lying_length", "overrunning_annotations", "truncated",
                  "undecodable_payload", "wrong_shape", "bomb")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._zlib_bomb: bytes | None = None

    def frames(self, count: int) -> Iterator[Frame]:
        for _ in range(count):
            category = self.rng.choice(self.CATEGORIES)
            frame = getattr(self, "_" + category)()
            if frame.handshake is None and category not in ("random_bytes",) and self.rng.random() < 0.5:
                frame.handshake = self.rng.choice(list(SERIALIZER_IDS))
            if frame.handshake and self.rng.random() < 0.25:
                frame.valid_first = True
            yield frame

    # -- helpers
    def _bytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def _serializer(self) -> str:
        return self.rng.choice(list(SERIALIZER_IDS))

    def _valid(self) -> bytes:
        name = self._serializer()
        return message(MSG_INVOKE, SERIALIZER_IDS[name], _call(name, "echo", (self.rng.randint(0, 10**6),)),
                       seq=self.rng.randint(0, 0xffff))

    # -- categories
    def _random_bytes(self) -> Frame:
        data = self._bytes(self.rng.randint(0, 120))
        if self.rng.random() < 0.3:
            data = b"PYRO" + VERSION.to_bytes(2, "big") + data
        return Frame("random_bytes", data)

    def _corrupt_header(self) -> Frame:
        name = self._serializer()
        payload = _call(name)
        fields = dict(msgtype=MSG_INVOKE, serializer=SERIALIZER_IDS[name], data_size=len(payload))
        which = self.rng.choice(["msgtype", "serializer", "flags", "version", "magic", "tag", "seq", "corr",
                                 "reserved"])
        if which == "msgtype":
            fields["msgtype"] = self.rng.choice([0, MSG_CONNECTOK, MSG_CONNECTFAIL, MSG_RESULT, MSG_PING, 7, 255])
        elif which == "serializer":
            fields["serializer"] = self.rng.choice([0, 5, 42, 99, 255] + list(SERIALIZER_IDS.values()))
        elif which == "flags":
            fields["flags"] = self.rng.randint(0, 0xffff)
        elif which == "version":
            fields["version"] = self.rng.choice([0, 501, 503, 0xffff, 4])
        elif which == "magic":
            fields["magic"] = self.rng.randint(0, 0xffff)
        elif which == "tag":
            fields["tag"] = self.rng.choice([b"PYR0", b"HTTP", b"\0\0\0\0", b"pyro"])
        elif which == "seq":
            fields["seq"] = self.rng.randint(0, 0xffff)
        elif which == "corr":
            fields["corr"] = self._bytes(16)
        else:
            fields["reserved"] = self.rng.randint(1, 0xffff)
        return Frame("corrupt_header", header(**fields) + payload)   # type: ignore[arg-type]

    def _lying_length(self) -> Frame:
        name = self._serializer()
        payload = _call(name)
        lie = self.rng.choice(["longer", "shorter", "huge", "annotations"])
        if lie == "longer":
            size = len(payload) + self.rng.randint(1, 1000)
            return Frame("lying_length", header(serializer=SERIALIZER_IDS[name], data_size=size) + payload)
        if lie == "shorter":
            size = self.rng.randint(0, max(0, len(payload) - 1))
            return Frame("lying_length", header(serializer=SERIALIZER_IDS[name], data_size=size) + payload)
        if lie == "huge":
            size = self.rng.choice([SERVER_MAX_MESSAGE_SIZE + 1, 2**31, 2**32 - 1])
            return Frame("lying_length", header(serializer=SERIALIZER_IDS[name], data_size=size) + payload)
        asize = self.rng.choice([1, 7, 100, 2**32 - 1 - len(payload)])
        return Frame("lying_length", header(serializer=SERIALIZER_IDS[name], data_size=len(payload),
                                            annotations_size=asize) + payload)

    def _overrunning_annotations(self) -> Frame:
        name = self._serializer()
        payload = _call(name)
        kind = self.rng.choice(["overrun", "short_chunk", "non_ascii", "many", "duplicate"])
        if kind == "overrun":
            chunk = CHUNK.pack(b"ABCD", self.rng.randint(10, 10**6)) + b"xy"
        elif kind == "short_chunk":
            chunk = b"AB"
        elif kind == "non_ascii":
            chunk = annotation(b"\xff\xfe\x00\x01", b"value")
        elif kind == "many":
            chunk = b"".join(annotation(b"A%03d" % i, b"") for i in range(self.rng.randint(100, 999)))
        else:
            chunk = annotation(b"CORR", self._bytes(3)) + annotation(b"CORR", self._bytes(40))
        return Frame("overrunning_annotations", message(MSG_INVOKE, SERIALIZER_IDS[name], payload, annotations=chunk))

    def _truncated(self) -> Frame:
        data = self._valid()
        return Frame("truncated", data[:self.rng.randint(1, len(data) - 1)])

    _UNDECODABLE = {
        "serpent": [b"(", b"[1,2", b"{'a':", b"\xff\xfe", b"# serpent utf-8 python3.2\n(1,", b"__import__('os')",
                    b"lambda: 0", b"9" * 5000, b"{" * 10000],
        "json": [b"{", b"[1,", b"\xff", b'{"object": ', b"NaN", b"[" * 100000, b'"\\ud800"', b"9" * 5000],
        "marshal": [b"", b"\xff", b"(", b")\x03\x00\x00\x00", b"\xe9\x00", b"s\xff\xff\xff\x7f",
                    b"[" + struct.pack("<i", 2_000_000)],
        "msgpack": [b"\xc1", b"\x94\x01", b"\xdd\xff\xff\xff\xff", b"\xdc\xff\xff", b"\x91" * 100000,
                    b"\xc7\x05\x07abc", b"\xd9\x10abc"],
    }

    def _undecodable_payload(self) -> Frame:
        name = self._serializer()
        choices = self._UNDECODABLE[name]
        payload = self.rng.choice(choices + [self._bytes(self.rng.randint(1, 200))])
        msgtype = self.rng.choice([MSG_INVOKE, MSG_INVOKE, MSG_CONNECT])
        frame = Frame("undecodable_payload", message(msgtype, SERIALIZER_IDS[name], payload,
                                                      flags=self.rng.choice([0, 0, FLAGS_BATCH, FLAGS_ONEWAY])))
        if msgtype == MSG_INVOKE:
            frame.handshake = name
        return frame

    def _wrong_shape(self) -> Frame:
        """Decodable payloads of the wrong shape: not a call tuple, a private method, class injection."""
        name = self._serializer()
        shapes: list[Callable[[], bytes]] = [
            lambda: _serialize(name, 42),
            lambda: _serialize(name, {"object": OBJECT_ID}),
            lambda: _serialize(name, [OBJECT_ID, "echo"]),
            lambda: _call(name, "_private"),
            lambda: _call(name, "__init__"),
            lambda: _call(name, "nonexisting"),
            lambda: _call(name, "echo", ({"__class__": "os.system", "args": ["true"]},)),
            lambda: _call(name, "echo", ({"__class__": "Pyro5.errors.PyroError", "__exception__": True,
                                          "args": ["x"], "attributes": {"__init__": 1}},)),
            lambda: _serialize(name, [OBJECT_ID, "echo", "not-a-tuple", 5]),
            lambda: _serialize(name, ["other.object", "echo", [1], {}]),
        ]
        payload = self.rng.choice(shapes)()
        flags = self.rng.choice([0, 0, FLAGS_BATCH, FLAGS_ONEWAY])
        return Frame("wrong_shape", message(MSG_INVOKE, SERIALIZER_IDS[name], payload, flags=flags), handshake=name)

    def _bomb(self) -> Frame:
        name = self._serializer()
        kind = self.rng.choice(["zlib", "nesting", "marshal_count", "annotation_count"])
        if kind == "zlib":
            if self._zlib_bomb is None:
                self._zlib_bomb = zlib_bomb(ZLIB_BOMB_SIZE)
            return Frame("bomb", message(MSG_INVOKE, SERIALIZER_IDS[name], self._zlib_bomb, flags=FLAGS_COMPRESSED),
                         handshake=name)
        if kind == "nesting":
            depth = 50_000
            payload = {"serpent": b"[" * depth + b"]" * depth, "json": b"[" * depth + b"]" * depth,
                       "marshal": b"[\x01\x00\x00\x00" * depth + b"N",
                       "msgpack": b"\x91" * depth + b"\xc0"}[name]
            return Frame("bomb", message(MSG_INVOKE, SERIALIZER_IDS[name], payload), handshake=name)
        if kind == "marshal_count":   # a container that declares more elements than there are bytes
            code = self.rng.choice([b"(", b"[", b"<", b">", b"\xa8", b"\xdb"])   # tuple list set frozenset (+ref)
            payload = code + struct.pack("<i", 1_000_000)
            return Frame("bomb", message(MSG_INVOKE, SERIALIZER_IDS["marshal"], payload), handshake="marshal")
        return Frame("bomb", message(MSG_INVOKE, SERIALIZER_IDS[name], _call(name), annotations=_ANNOTATION_BOMB),
                     handshake=name)


# ------------------------------------------------------------------------------------------------ sending

def handshake_bytes(serializer: str) -> bytes:
    payload = _serialize(serializer, {"handshake": "hello", "object": OBJECT_ID})
    return message(MSG_CONNECT, SERIALIZER_IDS[serializer], payload, seq=0)


def _valid_calls() -> dict:
    return {name: message(MSG_INVOKE, ser_id, _call(name, "echo", ("valid first",)), seq=1)
            for name, ser_id in SERIALIZER_IDS.items()}


VALID_CALL = _valid_calls()


def read_messages(data: bytes) -> tuple[list[tuple[int, int]], bytes]:
    """Split what a server sent into (type, flags) of complete Pyro messages, and any rest."""
    found = []
    i = 0
    while len(data) - i >= HEADER.size:
        tag, version, msgtype, _ser, flags, _seq, dsize, asize, _corr, _res, magic = HEADER.unpack_from(data, i)
        if tag != b"PYRO" or version != VERSION or magic != MAGIC or len(data) - i < HEADER.size + dsize + asize:
            break
        found.append((msgtype, flags))
        i += HEADER.size + dsize + asize
    return found, data[i:]


@dataclass
class Outcome:
    frames: int = 0
    connections: int = 0
    by_category: Counter = field(default_factory=Counter)
    replies: Counter = field(default_factory=Counter)      # "exception", "result", "connectfail", "none", ...
    garbage: list = field(default_factory=list)            # bytes from the server that are not Pyro messages
    handshake_refused: int = 0
    valid_first_answered: int = 0                          # valid calls before a bad frame, answered correctly
    valid_first_unanswered: list = field(default_factory=list)


def _recv_all(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    parts = []
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise
        except OSError:     # reset or not connected: the server closed
            break
        if not chunk:
            break
        parts.append(chunk)
    return b"".join(parts)


def throw(address: tuple[str, int], frame: Frame, outcome: Outcome, timeout: float = 20.0) -> None:
    """One connection: (handshake,) the frame, half-close, read everything the server sends until it closes.
    socket.timeout propagates: the server did not close a connection whose client half-closed it."""
    with socket.create_connection(address, timeout=timeout) as sock:
        outcome.connections += 1
        if frame.handshake:
            sock.sendall(handshake_bytes(frame.handshake))
            reply = b""
            while len(reply) < HEADER.size:
                chunk = sock.recv(HEADER.size - len(reply))
                if not chunk:
                    break
                reply += chunk
            fields = HEADER.unpack(reply) if len(reply) == HEADER.size else None
            if fields is None or fields[2] != MSG_CONNECTOK:
                outcome.handshake_refused += 1
                return
            body = fields[6] + fields[7]
            while body > 0:
                chunk = sock.recv(min(body, 65536))
                if not chunk:
                    break
                body -= len(chunk)
        try:
            sock.sendall(VALID_CALL[frame.handshake] + frame.data if frame.valid_first else frame.data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:     # (not socket.timeout: that is a hang, and propagates)
            if isinstance(sys.exc_info()[1], socket.timeout):
                raise
            # the server closed already (it refused an earlier part of the frame)
        outcome.frames += 1
        outcome.by_category[frame.category] += 1
        received = _recv_all(sock, timeout)
    messages, rest = read_messages(received)
    if frame.valid_first:
        if messages and messages[0] == (MSG_RESULT, 0):
            outcome.valid_first_answered += 1
        else:
            outcome.valid_first_unanswered.append((frame.category, messages[:1], frame.data[:60]))
    if rest:
        outcome.garbage.append((frame.category, rest[:60]))
    if not messages:
        outcome.replies["none"] += 1
    for msgtype, flags in messages:
        if msgtype == MSG_RESULT:
            outcome.replies["exception" if flags & FLAGS_EXCEPTION else "result"] += 1
        elif msgtype == MSG_CONNECTFAIL:
            outcome.replies["connectfail"] += 1
        else:
            outcome.replies["type%d" % msgtype] += 1


# ------------------------------------------------------------------------------------------------ load clients

def load_client(uri: str, process: int, processes: int, threads: int, total_calls: int, churn_every: int) -> None:
    """One of `processes` load processes: `threads` threads, each with its own proxy, together making their share
    of `total_calls`, each call with distinct arguments. Prints a JSON summary: ok, wrong, errors (and the first
    few error texts), threads that did not finish."""
    all_threads = processes * threads
    from Pyro5.client import Proxy

    lock = threading.Lock()
    result = {"ok": 0, "wrong": 0, "errors": 0, "error_texts": []}

    def run(thread: int) -> None:
        client = process * threads + thread
        calls_per_thread = total_calls // all_threads + (1 if client < total_calls % all_threads else 0)
        ok = wrong = errors = 0
        texts: list[str] = []
        proxy = Proxy(uri)
        try:
            for seq in range(calls_per_thread):
                if churn_every and seq and seq % churn_every == 0:
                    proxy._pyroRelease()     # connection churn: the next call connects again
                payload = "%d-%d-%d" % (process, thread, seq)
                try:
                    answer = proxy.work(client, seq, payload)
                except Exception as x:     # counted and reported, not retried (a retry could duplicate)
                    errors += 1
                    if len(texts) < 3:
                        texts.append("%s: %s" % (type(x).__name__, x))
                    proxy._pyroRelease()
                    continue
                if answer == [client, seq, payload[::-1]]:
                    ok += 1
                else:
                    wrong += 1
        finally:
            proxy._pyroRelease()
        with lock:
            result["ok"] += ok
            result["wrong"] += wrong
            result["errors"] += errors
            result["error_texts"] = (result["error_texts"] + texts)[:5]   # type: ignore[operator]

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(600)
    result["hung_threads"] = sum(1 for w in workers if w.is_alive())
    print(json.dumps(result), flush=True)


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> object:
    """Poll `condition` until it returns something true or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        threading.Event().wait(interval)


if __name__ == "__main__":   # python tests/reliability/_fuzz.py serve
    if sys.argv[1:] == ["serve"]:
        serve()
