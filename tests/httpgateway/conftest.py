"""Fixtures: a real name server, a real Pyro daemon with test objects, and the gateway in a real wsgiref server."""
from __future__ import annotations

import http.client
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

import Pyro5
from Pyro5 import server

HOST = "127.0.0.1"
EXPOSE = r"Pyro\.|test\.|http\."


@server.expose
class Thing:
    """The object behind the gateway that the tests call (as 'http.thing')."""

    def __init__(self) -> None:
        self.fired = threading.Event()
        self.fired_token: Any = None
        self._value = 42

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def upper(self, text: str = "default") -> str:
        return text.upper()

    def args(self, *args: Any, **kwargs: Any) -> dict:
        return {"args": list(args), "kwargs": kwargs}

    @property
    def value(self) -> int:
        return self._value

    @server.oneway
    def fire(self, token: str) -> None:
        self.fired_token = token
        self.fired.set()

    def fire_normal(self, token: str) -> str:
        self.fired_token = token
        self.fired.set()
        return "normal return value"

    def correlation(self) -> str:
        return str(Pyro5.current_context.correlation_id)

    def fail(self) -> None:
        raise KeyError("no such key")

    def gen(self):
        yield from range(3)

    def sleep(self, seconds: str) -> str:
        time.sleep(float(seconds))
        return "slept"

    def _private(self) -> str:
        return "private!"


@dataclass
class Backend:
    ns_uri: Any
    daemon: Any
    thing: Thing
    echo: Any
    extra_names: list = field(default_factory=list)


def _loop(daemon) -> threading.Thread:
    t = threading.Thread(target=daemon.requestLoop, name="test-daemon-loop", daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module", params=["memory", "etcd"])
def backend(request):
    """Name server + a daemon with http.thing, test.echoserver and a not-exposed name, all on 127.0.0.1; every
    gateway test runs against a name server on memory storage and on etcd (the session's cluster)."""
    from Pyro5 import nameserver
    from Pyro5.client import Proxy
    from Pyro5.utils.echoserver import EchoServer
    storage = None
    if request.param == "etcd":
        storage = request.getfixturevalue("etcd_cluster").spec("gateway-%d-%s" % (os.getpid(), request.module.__name__
                                                                                   .rsplit(".", 1)[-1]))
    ns_uri, ns_daemon, bc = nameserver.start_ns(HOST, 0, enableBroadcast=False, storage=storage)
    assert bc is None
    ns_thread = _loop(ns_daemon)
    daemon = server.Daemon(host=HOST, port=0)
    thing = Thing()
    echo = EchoServer()
    echo._slow_delay = 0.2
    daemon_thread = _loop(daemon)
    with Proxy(ns_uri) as ns:
        ns.register("http.thing", daemon.register(thing, "http.thing"))
        ns.register("test.echoserver", daemon.register(echo, "test.echoserver"))
        ns.register("secret.thing", daemon.register(Thing(), "secret.thing"))
        ns.register("http.<b>weird</b>&name", daemon.register(Thing(), "weird"))
        ns.register("http.gone", "PYRO:gone@127.0.0.1:1")
    try:
        yield Backend(ns_uri, daemon, thing, echo)
    finally:
        daemon.shutdown()
        ns_daemon.shutdown()
        daemon_thread.join(10)
        ns_thread.join(10)
        daemon.close()
        ns_daemon.close()


@dataclass
class Gateway:
    host: str
    port: int
    server: Any

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | str | None = None,
                timeout: float = 20) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)


@pytest.fixture(scope="module")
def gateway_server():
    from Pyro5.utils import httpgateway
    srv = httpgateway.make_server(HOST, 0, quiet=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(10)


@pytest.fixture
def gateway(backend, gateway_server):
    """The gateway app configured for the backend; settings restored after the test."""
    from Pyro5.utils import httpgateway
    app = httpgateway.pyro_app
    saved = {k: getattr(app, k) for k in ("ns_regex", "cors", "gateway_key", "comm_timeout", "ns_host", "ns_port")}
    app.ns_regex = EXPOSE
    app.cors = "*"
    app.gateway_key = None
    app.comm_timeout = 10.0
    app.ns_host = backend.ns_uri.host
    app.ns_port = backend.ns_uri.port
    try:
        yield Gateway(HOST, gateway_server.server_address[1], gateway_server)
    finally:
        for k, v in saved.items():
            setattr(app, k, v)
        httpgateway._nameserver.reset()
        httpgateway._proxies.clear()
