"""pyro5-httpgateway serves through waitress (a production WSGI server) by default, wsgiref on request;
pyro_app keeps working in any WSGI server (here: waitress embedded in the test)."""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading

import pytest

from Pyro5.utils import _httpgateway_server, httpgateway


def _start(*args: str) -> tuple[subprocess.Popen[str], str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "Pyro5.utils.httpgateway", "-H", "127.0.0.1", "-p", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    found: list[re.Match[str]] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(r"running on http://127\.0\.0\.1:(\d+)/pyro/ \((\w+)\)", line)
            if m:
                found.append(m)
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(30)
    if not found:
        proc.kill()
        raise AssertionError("the gateway did not start: " + proc.stderr.read() if proc.stderr else "")
    return proc, found[0].group(2), int(found[0].group(1))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(10)
    for s in (proc.stdout, proc.stderr):
        if s:
            s.close()


def _call(port: int, path: str, conn: http.client.HTTPConnection | None = None
          ) -> tuple[int, dict[str, str], bytes, http.client.HTTPConnection]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read(), conn


@pytest.mark.parametrize("server", ["waitress", "wsgiref"])
def test_command_serves_through_the_chosen_wsgi_server(backend, server: str) -> None:
    args = ["-n", backend.ns_uri.host, "--nsport", str(backend.ns_uri.port), "-e", r"http\."]
    if server != "waitress":
        args += ["--server", server]
    proc, kind, port = _start(*args)
    try:
        assert kind == server
        status, headers, body, conn = _call(port, "/pyro/http.thing/add?a=1&b=2")
        assert status == 200 and json.loads(body) == "12"
        if server == "waitress":
            assert headers["Server"] == "pyro5-httpgateway"
            # HTTP/1.1 keep-alive: the next request goes over the same connection
            status2, _, body2, _ = _call(port, "/pyro/http.thing/upper?text=abc", conn)
            assert status2 == 200 and json.loads(body2) == "ABC"
        else:
            assert headers["Server"].startswith("WSGIServer/")
        conn.close()
        status, _, _, conn = _call(port, "/pyro/nothere.thing/add")
        conn.close()
        assert status == 403
    finally:
        _stop(proc)


def test_waitress_handles_concurrent_requests_on_its_threads(backend) -> None:
    """20 clients at once against a gateway with 4 worker threads: every request is answered."""
    proc, _, port = _start("-n", backend.ns_uri.host, "--nsport", str(backend.ns_uri.port), "-e", r"http\.",
                           "--threads", "4")
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        status, _, body, conn = _call(port, f"/pyro/http.thing/upper?text=c{i}")
        conn.close()
        with lock:
            results.append((status, body))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == sorted((200, json.dumps(f"C{i}").encode()) for i in range(20))
    finally:
        _stop(proc)


def test_threads_must_be_positive() -> None:
    cp = subprocess.run([sys.executable, "-m", "Pyro5.utils.httpgateway", "--threads", "0"], capture_output=True,
                        text=True, timeout=30)
    assert cp.returncode == 2 and "--threads must be at least 1" in cp.stderr


def test_pyro_app_in_an_embedded_waitress_server(backend) -> None:
    before = httpgateway.pyro_app.ns_host, httpgateway.pyro_app.ns_port
    httpgateway.pyro_app.ns_host = backend.ns_uri.host
    httpgateway.pyro_app.ns_port = backend.ns_uri.port
    srv = _httpgateway_server.create_server(httpgateway.pyro_app, "127.0.0.1", 0, "waitress", threads=2)
    t = threading.Thread(target=srv.serve, daemon=True)
    t.start()
    try:
        status, _, body, conn = _call(srv.port, "/pyro/http.thing/add?a=3&b=4")
        conn.close()
        assert status == 200 and json.loads(body) == "34"
    finally:
        srv.close()
        t.join(10)
        httpgateway.pyro_app.ns_host, httpgateway.pyro_app.ns_port = before
    assert not t.is_alive()


def test_unknown_server_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown WSGI server 'gunicorn'"):
        _httpgateway_server.create_server(httpgateway.pyro_app, "127.0.0.1", 0, "gunicorn")
