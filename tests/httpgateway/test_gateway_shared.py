"""The gateway keeps one shared proxy per exposed name (issue 11): requests from many threads share its
connection, a broken connection makes the next request look the name up again."""
from __future__ import annotations

import json
import threading
import time

from Pyro5 import server
from Pyro5.client import Proxy
from Pyro5.utils import httpgateway

from .conftest import HOST, Thing

API = "/pyro/"


def _json(body: bytes):
    return json.loads(body.decode("utf-8"))


def _proxy_of(name: str) -> Proxy:
    app = httpgateway.pyro_app
    key = ((app.ns_host, app.ns_port), name)
    found = [p for k, p in httpgateway._proxies._proxies.items() if k == key]
    assert len(found) == 1
    return found[0]


def test_concurrent_requests_share_one_proxy_and_connection(gateway):
    results: dict = {}
    failures: list = []

    def work(k: int) -> None:
        try:
            for i in range(10):
                status, _, body = gateway.get(API + "http.thing/add?a=%d&b=%d" % (k * 1000, i))
                assert status == 200, body
                results[(k, i)] = _json(body)
        except Exception as x:      # (reported below)
            failures.append(x)
    workers = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not failures
    assert results == {(k, i): "%d%d" % (k * 1000, i) for k in range(6) for i in range(10)}   # (strings)
    proxy = _proxy_of("http.thing")
    link = proxy._Proxy__shared
    assert link._mux is not None and not link._mux.closed     # one connection, many requests in flight


def test_oneway_option_does_not_make_the_method_oneway_for_later_requests(gateway, backend):
    backend.thing.fired.clear()
    status, _, body = gateway.get(API + "http.thing/fire_normal?token=a", headers={"X-Pyro-Options": "oneway"})
    assert status == 200 and body == b""
    assert backend.thing.fired.wait(10)
    status, _, body = gateway.get(API + "http.thing/fire_normal?token=b")
    assert status == 200 and _json(body) == "normal return value"


def test_name_is_looked_up_again_when_its_daemon_is_gone(gateway, backend):
    def serve(thing: Thing):
        daemon = server.Daemon(host=HOST, port=0)
        uri = daemon.register(thing, "moving")
        thread = threading.Thread(target=daemon.requestLoop, daemon=True)
        thread.start()
        return daemon, thread, uri

    def stop(daemon, thread) -> None:
        daemon.shutdown()
        thread.join(10)
        daemon.close()

    first, second = Thing(), Thing()
    first._value, second._value = 1, 2
    daemon, thread, uri = serve(first)
    with Proxy(backend.ns_uri) as ns:
        ns.register("http.moving", uri)
    try:
        status, _, body = gateway.get(API + "http.moving/value")
        assert status == 200 and _json(body) == 1
        stop(daemon, thread)
        proxy = _proxy_of("http.moving")
        deadline = time.monotonic() + 10
        while proxy._pyroConnection is not None and time.monotonic() < deadline:   # (its reader sees the end)
            time.sleep(0.01)
        daemon, thread, uri = serve(second)     # (another port)
        with Proxy(backend.ns_uri) as ns:
            ns.register("http.moving", uri, safe=False)
        status, _, body = gateway.get(API + "http.moving/value")
        assert status == 200 and _json(body) == 2
    finally:
        stop(daemon, thread)
        with Proxy(backend.ns_uri) as ns:
            ns.remove("http.moving")
