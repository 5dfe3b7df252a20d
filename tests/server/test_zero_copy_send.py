"""Issue 9: the servers send a reply from its parts (SendingMessage.parts: header, annotations, payload), with
sendmsg() on plain sockets and in slices on TLS, and never join a big payload behind its header.

A 50 MiB bytes result (marshal: serializing it costs its size once) goes to a client in another process, over TCP,
a unix socket and TLS, on both server types. It must arrive intact, and the server's Python allocations while the
call is answered (tracemalloc: the client is not in this process) must stay under 1.5 times the payload: the
serialized payload once, plus little. Joining the message would cost the payload a second time.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

import Pyro5
from Pyro5.server import expose
from tests._support.certs import make_certs
from tests._support.memory import peak_allocation

MIB = 1024 * 1024
SIZE = 50 * MIB

CLIENT = r"""
import hashlib, json, sys
import Pyro5, Pyro5.client
for name, value in json.loads(sys.argv[2]).items():
    setattr(Pyro5.config, name, value)
with Pyro5.client.Proxy(sys.argv[1]) as proxy:
    proxy._pyroSerializer = "marshal"
    proxy._pyroTimeout = 60
    data = proxy.blob()
    print(type(data).__name__, len(data), hashlib.sha256(data).hexdigest())
"""


class BigResult:
    def __init__(self) -> None:
        self.data = os.urandom(SIZE)

    @expose
    def blob(self) -> bytes:
        return self.data


@pytest.mark.parametrize("transport", ["tcp", "unix", "tls"])
def test_big_result_is_sent_without_a_copy(servertype, start_daemon, transport, tmp_path):
    client_config: dict = {}
    kwargs: dict = {}
    if transport == "unix":
        kwargs["unixsocket"] = str(tmp_path / "big.sock")
    elif transport == "tls":
        certs = make_certs()
        for name, value in certs.as_config("server", True).items():
            setattr(Pyro5.config, name, value)
        client_config = certs.as_config("client")
    rd = start_daemon(**kwargs)
    big = BigResult()
    uri = rd.daemon.register(big, "big")
    expected = ["bytes", str(SIZE), hashlib.sha256(big.data).hexdigest()]
    with peak_allocation() as peak:
        out = subprocess.run([sys.executable, "-c", CLIENT, str(uri), json.dumps(client_config)],
                             capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected
    assert SIZE <= peak[0] < 1.5 * SIZE, "server allocated %.1f MiB for a %d MiB result" % (peak[0] / MIB, SIZE // MIB)
