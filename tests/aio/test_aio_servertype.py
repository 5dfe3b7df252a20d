"""config.SERVERTYPE = "asyncio" (PYRO_SERVERTYPE=asyncio): a plain Daemon runs the asyncio engine, so
requestLoop(), serve(), pyro5-ns (with its broadcast responder combined into the loop) and pyro5-echoserver work
unchanged on it. Each runs as a subprocess of this interpreter; every wait is bounded."""
from __future__ import annotations

import asyncio
import os
import sys

import pytest

import Pyro5
from Pyro5.aio import client as aio
from Pyro5.aio.client import AsyncProxy
from Pyro5.api import Proxy
from tests._support import refpyro
from tests._support.nsproc import Proc


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYRO_SERVERTYPE"] = "asyncio"
    env["PYTHONUNBUFFERED"] = "1"
    return env


SERVE = r'''
from Pyro5.api import config, expose, serve

@expose
class Thing:
    def add(self, a, b):
        return a + b

    async def servertype(self):
        return type(self._pyroDaemon.transportServer).__name__

    def stop(self):
        self._pyroDaemon.shutdown()

assert config.SERVERTYPE == "asyncio"
serve({Thing(): "thing"}, host="127.0.0.1", use_ns=False, verbose=True)
print("SERVE RETURNED", flush=True)
'''


def test_serve_and_request_loop(tmp_path):
    proc = Proc([sys.executable, "-c", SERVE], tmp_path / "serve.log", _env())
    try:
        uri = proc.wait_line(r"uri = (\S+)").group(1)
        proc.wait_line(r"Pyro daemon running")
        with Proxy(uri) as p:
            assert p.add(1, 2) == 3 and p.servertype() == "AsyncioServer"
            p.stop()
        proc.wait_line(r"^SERVE RETURNED")
        assert proc.process.wait(20) == 0
    finally:
        proc.stop()


NS = r'''
import threading
from Pyro5 import config
import Pyro5.nameserver as N
uri, daemon, _ = N.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
bc = N.BroadcastServer(uri, bchost="127.0.0.1", bcport=0)
daemon.combine(bc)                   # the broadcast responder served by the asyncio loop
print("READY", uri, bc.sock.getsockname()[1], type(daemon.transportServer).__name__, flush=True)
daemon.requestLoop()
'''


def test_name_server_with_broadcast_on_the_asyncio_server():
    process = refpyro.start_python(NS, env=_env())
    try:
        nsuri, bcport, servertype = process.ready.split()
        assert servertype == "AsyncioServer"
        Pyro5.config.BROADCAST_ADDRS = "127.0.0.1"
        Pyro5.config.NS_HOST = ""

        async def main():
            assert await aio.broadcast_lookup(int(bcport)) == nsuri
            async with AsyncProxy(nsuri) as ns:
                await ns.register("example.x", "PYRO:x@127.0.0.1:5555")
                assert str(await ns.lookup("example.x")) == "PYRO:x@127.0.0.1:5555"
                assert "example.x" in await ns.list()
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        process.stop()


def test_pyro5_ns_command(tmp_path):
    proc = Proc([sys.executable, "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"],
                tmp_path / "ns.log", _env())
    try:
        uri = proc.wait_line(r"^URI = (\S+)").group(1)
        with Proxy(uri) as ns:
            ns.register("a.b", "PYRO:b@127.0.0.1:1234")
            assert ns.lookup("a.b").object == "b"
            assert "a.b" in ns.list()
    finally:
        proc.stop()


def test_pyro5_echoserver_command(tmp_path):
    proc = Proc([sys.executable, "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0", "-N"],
                tmp_path / "echo.log", _env())
    try:
        uri = proc.wait_line(r"^echo uri: (\S+)").group(1)
        with Proxy(uri) as echo:
            assert echo.echo("hi") == "hi"
            with pytest.raises(ValueError, match="generated error"):
                echo.error()
            echo.shutdown()
        proc.wait_line(r"echoserver exiting")
        assert proc.process.wait(20) == 0
    finally:
        proc.stop()
