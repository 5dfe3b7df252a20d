"""pyro5-httpgateway / python -m Pyro5.utils.httpgateway as users run it, and the gateway in front of the
original Pyro5 5.15 (daemon + name server in its own venv)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from tests._support import refpyro


def _start_gateway(*args: str) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "Pyro5.utils.httpgateway", "-H", "127.0.0.1", "-p", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    found: list[str] = []

    def reader() -> None:
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"running on (http://\S+/pyro/)", line)
            if m:
                found.append(m.group(1))
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(30)
    if not found:
        proc.kill()
        raise AssertionError("gateway did not start: %s %s" % ("".join(lines), proc.stderr.read()))
    return proc, found[0]


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)
    for s in (proc.stdout, proc.stderr):
        s.close()


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as x:
        with x:
            return x.code, dict(x.headers), x.read()


def test_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "Pyro5.utils.httpgateway", "--help"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0
    for opt in ("--host", "--port", "--cors", "--expose", "--gatewaykey", "--timeout", "--nshost", "--nsport"):
        assert opt in out.stdout


def test_invalid_expose_regex_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "Pyro5.utils.httpgateway", "-e", "(unclosed"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2
    assert "regex" in out.stderr


def test_cli_gateway_with_options(backend):
    proc, base = _start_gateway("-e", r"http\.", "-g", "clikey", "-t", "5", "-n", backend.ns_uri.host,
                                "--nsport", str(backend.ns_uri.port), "-c", "http://origin.example")
    try:
        status, headers, body = _get(base + "http.thing/add?a=1&b=2", {"X-Pyro-Gateway-Key": "clikey"})
        assert status == 200 and json.loads(body) == "12"
        assert headers["Access-Control-Allow-Origin"] == "http://origin.example"
        assert _get(base + "http.thing/add?a=1&b=2")[0] == 403
        assert _get(base + "test.echoserver/echo?message=x", {"X-Pyro-Gateway-Key": "clikey"})[0] == 403
    finally:
        _stop(proc)


def test_cli_timeout_option_takes_effect(backend):
    """-t/--timeout end to end: a call slower than the timeout fails with Pyro's TimeoutError, a quick one works;
    with a longer --timeout a slow-ish call succeeds."""
    import time
    proc, base = _start_gateway("-t", "0.5", "-n", backend.ns_uri.host, "--nsport", str(backend.ns_uri.port))
    try:
        assert _get(base + "http.thing/add?a=1&b=2")[0] == 200
        started = time.monotonic()
        status, _, body = _get(base + "http.thing/sleep?seconds=4")
        elapsed = time.monotonic() - started
        assert status == 500
        assert json.loads(body)["__class__"] == "Pyro5.errors.TimeoutError"
        assert 0.4 < elapsed < 3.5, "the slow call took %.2fs with --timeout 0.5" % elapsed
        assert _get(base + "http.thing/add?a=3&b=4")[0] == 200   # the gateway goes on
    finally:
        _stop(proc)
    proc, base = _start_gateway("--timeout", "3", "-n", backend.ns_uri.host, "--nsport", str(backend.ns_uri.port))
    try:
        status, _, body = _get(base + "http.thing/sleep?seconds=0.8")
        assert status == 200 and json.loads(body) == "slept"
    finally:
        _stop(proc)


ORIG_BACKEND = r"""
import sys, threading
import Pyro5.api, Pyro5.nameserver
from Pyro5.utils.echoserver import EchoServer
ns_uri, ns_daemon, _ = Pyro5.nameserver.start_ns("127.0.0.1", 0, enableBroadcast=False)
threading.Thread(target=ns_daemon.requestLoop, daemon=True).start()
d = Pyro5.api.Daemon(host="127.0.0.1")
uri = d.register(EchoServer(), "test.echoserver")
ns = Pyro5.api.Proxy(ns_uri)
ns.register("test.echoserver", uri)
print("READY", ns_uri.host, ns_uri.port, flush=True)
d.requestLoop()
"""


@pytest.mark.interop
def test_gateway_in_front_of_original_pyro5(gateway):
    """Our gateway, the original Pyro5 5.15 name server and echo server daemon behind it."""
    with refpyro.OrigProcess(ORIG_BACKEND) as orig:
        host, port = orig.ready.split()
        app = gateway.server.get_app()
        app.ns_host, app.ns_port = host, int(port)
        status, headers, body = gateway.get("/pyro/test.echoserver/echo?message=to%20the%20original")
        assert status == 200 and json.loads(body) == "to the original"
        status, _, body = gateway.get("/pyro/test.echoserver/error")
        assert status == 500 and json.loads(body)["__class__"] == "builtins.ValueError"
        status, _, body = gateway.get("/pyro/test.echoserver/$meta")
        assert status == 200 and "echo" in json.loads(body)["methods"]
        status, _, body = gateway.get("/pyro/test.echoserver/verbose")
        assert status == 200 and json.loads(body) is False
        status, _, body = gateway.get("/pyro/test.echoserver/generator")
        assert status == 200 and json.loads(body) == ["one", "two", "three"]
        status, _, body = gateway.get("/pyro/test.echoserver/oneway_echo?message=x",
                                      headers={"X-Pyro-Options": "oneway"})
        assert status == 200 and body == b""
        status, _, body = gateway.get("/pyro/test.nothing/x")
        assert status == 404 and json.loads(body)["__class__"] == "Pyro5.errors.NamingError"
        status, _, body = gateway.get("/pyro/Pyro.NameServer/list")
        assert status == 200 and "test.echoserver" in json.loads(body)
        status, _, page = gateway.get("/")
        assert status == 200 and b"test.echoserver" in page
