"""Smoke tests of the examples for the manual's chapters on exceptions, handshakes, annotations,
SerializedBlob, custom classes, autoproxy, unix sockets, NAT and the thin client."""
from __future__ import annotations

import os
import re
import sys

import pytest

from tests.examples._harness import PYTHON, Runner, uri_of


def test_exceptions(runner: Runner) -> None:
    _, ready = runner.start("exceptions", "server.py")
    out = runner.run("exceptions", "client.py", uri_of(ready)).stdout
    assert "10 / 4 = 2.5" in out
    assert "divide(1, 0) raised ZeroDivisionError: division by zero" in out
    assert "the remote traceback shows the server's frames: True" in out
    assert "Remote traceback:" in out
    assert "withdraw(500) raised ValueError: cannot withdraw 500: the limit is 100" in out
    assert re.search(r"overdraw\(\) raised \w+Error: .*InsufficientFunds", out), out
    assert "no_such_method() raised AttributeError:" in out
    assert "an unknown object id raised CommunicationError:" in out and "unknown object" in out


def test_handshake(runner: Runner) -> None:
    server, ready = runner.start("handshake", "server.py")
    out = runner.run("handshake", "client.py", uri_of(ready)).stdout
    assert "the daemon answered the handshake with: {'welcome': 'you are in'}" in out
    assert "contents: ['gold', 'jewels']" in out
    assert "the wrong secret was refused:" in out and "the handshake secret is wrong" in out
    server.wait_for("accepted a client")
    server.wait_for("refused a client with the wrong secret")


def test_annotations(runner: Runner) -> None:
    server, ready = runner.start("annotations", "server.py")
    out = runner.run("annotations", "client.py", uri_of(ready)).stdout
    assert "result: first: ok" in out and "result: second: ok" in out
    assert "the server annotated its answer: first done for client-42" in out
    assert "the server annotated its answer: second done for client-42" in out
    server.wait_for(r"job 'second' arrived with XTAG=client-42")


@pytest.mark.interop
@pytest.mark.parametrize("server_side", ["original", "ours"])
def test_annotations_between_implementations(runner: Runner, orig_python: str, server_side: str) -> None:
    """Annotations travel both ways between the original Pyro5 5.15 and ours."""
    server_py, client_py = (orig_python, sys.executable) if server_side == "original" else (sys.executable, orig_python)
    server, ready = runner.start("annotations", "server.py", python=server_py)
    out = runner.run("annotations", "client.py", uri_of(ready), python=client_py).stdout
    assert "the server annotated its answer: first done for client-42" in out
    server.wait_for(r"job 'second' arrived with XTAG=client-42")


def test_blob(runner: Runner) -> None:
    server, ready = runner.start("blob", "server.py")
    out = runner.run("blob", "client.py", uri_of(ready)).stdout
    assert "processed fruit order 1: ['apples', 'pears', 'plums'] (sum 15)" in out
    server.wait_for(r"dispatching blob 'fruit order 1' \(SerializedBlob, not deserialized\)")


def test_customclasses(runner: Runner) -> None:
    server, ready = runner.start("customclasses", "server.py")
    out = runner.run("customclasses", "client.py", uri_of(ready)).stdout
    assert "midpoint: Point(2.0, 1.0) is a Point" in out
    assert "without the client's dict_to_class converter: SerializeError:" in out and "shapes.Point" in out
    server.wait_for(r"midpoint of Point\(0.0, 0.0\) and Point\(4.0, 2.0\) \(Point objects\)")


def test_autoproxy(runner: Runner) -> None:
    _, ready = runner.start("autoproxy", "server.py")
    out = runner.run("autoproxy", "client.py", uri_of(ready)).stdout
    assert re.search(r"open\(\) returned a Proxy for obj_\w+", out), out
    assert "Irmen's balance: 150" in out
    assert "the same account again: 150" in out
    assert "the bank's total: 150" in out


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="no unix domain sockets on this platform")
def test_unixsocket(runner: Runner, tmp_path) -> None:
    path = str(tmp_path / "ex.sock")
    server, ready = runner.start("unixsocket", "server.py", path)
    uri = uri_of(ready)
    assert uri == f"PYRO:example.unixsocket@./u:{path}"
    out = runner.run("unixsocket", "client.py", uri).stdout
    assert f"the uri names a socket file: {path}" in out
    assert "echo: hello over a unix socket" in out
    assert f"the server sees: unix socket {path!r}" in out
    assert server.stop() is not None
    assert not os.path.exists(path)                         # the server removed its socket file


def test_nat(runner: Runner) -> None:
    server, ready = runner.start("nat", "server.py")
    public = uri_of(ready)
    m = re.match(r"PYRO:example\.nat@localhost:(\d+)$", public)
    assert m, public
    private = next(line for line in server.out if line.startswith("its uri without NAT:"))
    assert "127.0.0.1:" in private and f":{m.group(1)}" not in private    # a different, private port
    out = runner.run("nat", "client.py", public).stdout
    assert "Hello Irmen, from behind the NAT" in out


def test_thinclient(ns_runner: Runner) -> None:
    ns_runner.start("thinclient", "server.py")
    out = ns_runner.run("thinclient", "client.py").stdout
    assert "sensors: ['example.thinclient.sensor']" in out
    assert "resolved: example.thinclient.sensor" in out
    assert "latest reading (by name): 21.25" in out
    assert "history (by metadata): [20.5, 21.0, 21.25]" in out
    if PYTHON == sys.executable:       # ours; the original's Pyro5.api imports its server modules as well
        assert "server modules loaded: none" in out
