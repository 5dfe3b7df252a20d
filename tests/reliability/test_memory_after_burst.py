"""Issue 16 item 4: memory is given back after bursts of large calls.

The daemon runs in a process of its own (its resident memory is measured from /proc); a few seconds after a
burst, it must be back within twice the burst's payload of its baseline. (Before the fix, an echo of 20 MiB +
a million ints kept ~150 MiB (msgpack, thread server) or ~420 MiB (serpent, multiplex server) resident.)
"""
from __future__ import annotations

import sys
import threading

import pytest
import serpent

import Pyro5
from tests._support import refpyro
from tests.server._helpers import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")

MiB = 1024 * 1024

SERVER = r'''
import sys
import Pyro5.api, Pyro5.server
Pyro5.config.SERVERTYPE = sys.argv[1]
Pyro5.config.POLLTIMEOUT = 0.5

@Pyro5.server.expose
class Sink:
    def upload(self, data):
        return len(data)

    def echo(self, data):
        return data

d = Pyro5.server.Daemon(host="127.0.0.1")
uri = d.register(Sink, "sink")
print("READY", uri, flush=True)      # (the test kills this process at the end)
d.requestLoop()
'''


def _rss(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


@pytest.fixture
def server_process():
    with refpyro.our_processes(SERVER) as start:
        yield start


def _proxy(uri: str, serializer: str):
    from Pyro5.client import Proxy
    Pyro5.config.SERIALIZER = serializer
    proxy = Proxy(uri)
    proxy._pyroTimeout = 120
    return proxy


def _settled(pid: int, baseline: int, payload: int) -> int:
    """Waits (bounded) until the server's resident memory is within 2 x payload of the baseline."""
    values: list[int] = []

    def back() -> bool:
        values.append(_rss(pid))
        return values[-1] - baseline <= 2 * payload
    try:
        wait_for(back, timeout=20, interval=0.25)
    except AssertionError:
        raise AssertionError("resident memory stays %d MiB above the baseline (%d MiB); allowed: %d MiB"
                             % ((values[-1] - baseline) // MiB, baseline // MiB, 2 * payload // MiB)) from None
    return values[-1]


@pytest.mark.parametrize("servertype,serializer", [
    ("thread", "msgpack"),
    ("multiplex", "msgpack"),
    pytest.param("multiplex", "serpent", marks=pytest.mark.slow),
])
def test_echo_round_gives_memory_back(server_process, servertype, serializer):
    server = server_process(servertype)
    pid = server.proc.pid
    with _proxy(server.ready, serializer) as p:
        assert p.upload("warm") == 4
        baseline = _rss(pid)
        data = [b"x" * (20 * MiB), list(range(1_000_000))]
        payload = 20 * MiB + 1_000_000 * 8
        result = p.echo(data)
        echoed = serpent.tobytes(result[0]) if serializer == "serpent" else result[0]
        assert len(echoed) == 20 * MiB and result[1][-1] == 999_999
        del result, data, echoed
    _settled(pid, baseline, payload)


def test_concurrent_uploads_give_memory_back(server_process):
    server = server_process("thread")
    pid = server.proc.pid
    with _proxy(server.ready, "msgpack") as p:
        assert p.upload(b"warm") == 4
    baseline = _rss(pid)
    data = b"x" * (10 * MiB)
    sizes: list[int] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            with _proxy(server.ready, "msgpack") as q:
                sizes.append(q.upload(data))
        except BaseException as x:      # (reported by the assertion below)
            errors.append(x)
    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and sizes == [10 * MiB] * 8
    _settled(pid, baseline, 8 * 10 * MiB)
