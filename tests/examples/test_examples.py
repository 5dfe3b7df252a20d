"""Smoke tests: every example runs on loopback, non-interactively, and prints what it should."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.examples._harness import Runner, uri_of


def test_greeting_without_name_server(runner: Runner) -> None:
    server, ready = runner.start("greeting", "server.py")
    cp = runner.run("greeting", "client.py", uri_of(ready), "Irmen")
    assert "Hello, Irmen. Here is your fortune message:" in cp.stdout
    assert "Behold the warranty" in cp.stdout


def test_greeting_client_reads_input(runner: Runner) -> None:
    server, ready = runner.start("greeting", "server.py")
    cp = runner.run("greeting", "client.py", input=f"{uri_of(ready)}\nSuzy\n")
    assert "Hello, Suzy." in cp.stdout


@pytest.mark.interop
@pytest.mark.parametrize("server_side", ["original", "ours"])
def test_greeting_between_implementations(runner: Runner, orig_python: str, server_side: str) -> None:
    """The same example programs, one side run by the original Pyro5 5.15 and the other by ours."""
    ours = sys.executable
    server_py, client_py = (orig_python, ours) if server_side == "original" else (ours, orig_python)
    _, ready = runner.start("greeting", "server.py", python=server_py)
    cp = runner.run("greeting", "client.py", uri_of(ready), "Interop", python=client_py)
    assert "Hello, Interop. Here is your fortune message:" in cp.stdout


def test_greeting_with_name_server(ns_runner: Runner) -> None:
    ns_runner.start("greeting", "server.py", "--ns", "--name", "example.greeting.test")
    cp = ns_runner.run("greeting", "client.py", "PYRONAME:example.greeting.test", "Irmen")
    assert "Hello, Irmen." in cp.stdout


def test_warehouse(ns_runner: Runner) -> None:
    server, _ = ns_runner.start("warehouse", "warehouse.py")
    cp = ns_runner.run("warehouse", "visit.py")
    out = cp.stdout
    assert "This is Janet." in out and "This is Henry." in out
    assert "Janet takes: bike" in out
    assert "Henry cannot take bike: there is no 'bike' in the warehouse" in out
    assert "Henry takes: laptop" in out
    assert "contains: chair, flashlight, couch, camera, teddy bear, sewing machine" in out
    server.wait_for(r"Henry stored the sewing machine")


def test_bank(ns_runner: Runner) -> None:
    ns_runner.start("bank", "banks.py")
    out = ns_runner.run("bank", "client.py").stdout
    assert "Bank Rabobank:" in out and "Bank ABN:" in out
    assert "Irmen withdraws 250: balance is now -50.0" in out           # Rabobank allows overdraft
    assert "refused (ABN: insufficient funds for Irmen)" in out
    assert "KeyError" in out and "unknown account 'Nobody'" in out
    assert out.count("private method refused") == 2
    assert re.search(r"Suzy\s+500\.00", out)


def test_oneway(runner: Runner) -> None:
    _, ready = runner.start("oneway", "server.py")
    out = runner.run("oneway", "client.py", uri_of(ready)).stdout
    assert "oneway methods: ['fail', 'start_work']" in out
    elapsed = float(re.search(r"returned None after ([\d.]+) ms", out).group(1))
    assert elapsed < 900, out                                        # did not wait for the 1 s of work
    assert "fail() returned without an error" in out
    assert "is_done right away: False" in out
    assert "worked for 1.0 seconds" in out


def test_batch(runner: Runner) -> None:
    _, ready = runner.start("batch", "server.py")
    out = runner.run("batch", "client.py", uri_of(ready)).stdout
    assert "500 normal calls:  total=249500" in out
    assert "500 batched calls: total=249500" in out
    assert "first result: 3" in out
    assert "second result raised ZeroDivisionError" in out
    assert "oneway batch returned: None" in out
    assert "a normal call after the batches: 42" in out


def test_streaming(runner: Runner) -> None:
    _, ready = runner.start("streaming", "server.py")
    out = runner.run("streaming", "client.py", uri_of(ready)).stdout
    assert "a list: [1, 2, 3, 4, 5] list" in out
    assert re.search(r"an iterator: \w+ \[1, 2, 3, 4, 5\]", out)
    assert "a generator: ['item 0', 'item 1', 'item 2']" in out
    assert "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out
    assert len(re.findall(r"^\s+(PYRO|SNAKE|FISH)\s+[\d.]+$", out, re.M)) == 6
    assert "abandoned after item 0" in out


def test_callback(runner: Runner) -> None:
    _, ready = runner.start("callback", "server.py")
    cp = runner.run("callback", "client.py", uri_of(ready))
    out = cp.stdout
    for step in (1, 2, 3):
        assert f"callback from the server: step {step} of 3" in out
    assert "callbacks received: 3" in out
    assert "came back to the server as ZeroDivisionError" in out
    assert "ZeroDivisionError" in cp.stderr                 # @callback logged it in the client too


def test_timeout(runner: Runner) -> None:
    _, ready = runner.start("timeout", "server.py")
    out = runner.run("timeout", "client.py", uri_of(ready)).stdout
    assert "timeout 0.5 s; delay(0.1): slept 0.1 seconds" in out
    m = re.search(r"delay\(2\.0\): TimeoutError after ([\d.]+) s", out)
    assert m and 0.45 <= float(m.group(1)) < 1.9, out                 # the 0.5 s timeout, not the 2 s call
    assert "next call works again: slept 0.0 seconds" in out
    assert "proxy timeout from COMMTIMEOUT: 0.3" in out
    assert "COMMTIMEOUT 0.3 s; delay(1.0): TimeoutError" in out


def test_autoreconnect(runner: Runner) -> None:
    out = runner.run("autoreconnect", "client.py", "--demo", timeout=40).stdout
    pids = re.findall(r"call \d+ on server process (\d+)", out)
    assert len(pids) == 6 and len(set(pids)) == 2, out              # two server processes answered
    assert "reconnected" in out
    assert "done: the proxy survived a server restart" in out


def test_instancemode(runner: Runner) -> None:
    _, ready = runner.start("instancemode", "server.py")
    out = runner.run("instancemode", "client.py", uri_of(ready)).stdout
    assert "session : 2 instance(s)" in out
    assert "single  : 1 instance(s)" in out
    assert "percall : 4 instance(s)" in out
    assert "created : 2 instance(s)" in out and "made by the instance_creator" in out


def test_ssl(runner: Runner, tmp_path: Path) -> None:
    runner.run("ssl", "make_certs.py", str(tmp_path), python=sys.executable)   # needs cryptography
    server, ready = runner.start("ssl", "server.py", str(tmp_path))
    out = runner.run("ssl", "client.py", uri_of(ready), str(tmp_path)).stdout
    assert "server cert ok: pyro5-example-server" in out
    assert "server says: 'hello', sent over SSL by pyro5-example-client" in out
    server.wait_for("accepted client cert: pyro5-example-client")


def test_ssl_refuses_plain_client(runner: Runner, tmp_path: Path) -> None:
    runner.run("ssl", "make_certs.py", str(tmp_path), python=sys.executable)   # needs cryptography
    _, ready = runner.start("ssl", "server.py", str(tmp_path))
    code = ("import sys, Pyro5.api, Pyro5.errors\n"
            "p = Pyro5.api.Proxy(sys.argv[1]); p._pyroTimeout = 5\n"
            "try:\n    p._pyroBind()\nexcept Pyro5.errors.CommunicationError as x:\n"
            "    print('refused:', type(x).__name__)\n")
    out = runner.run("ssl", "-c", code, uri_of(ready)).stdout
    assert "refused:" in out


def test_nsmetadata(ns_runner: Runner) -> None:
    ns_runner.start("nsmetadata", "server.py")
    out = ns_runner.run("nsmetadata", "client.py").stdout
    assert ("all printers: ['example.resource.printer.hallway', 'example.resource.printer.secondfloor']"
            in out)
    assert "printers on the ground floor: ['example.resource.printer.hallway']" in out
    assert out.count("printer or storage:") == 3
    assert "metadata of the disks: ['floor.ground', 'resource.storage']" in out
    assert "after set_metadata: ['floor.basement', 'resource.storage']" in out
    assert "nothing is both: {}" in out
    assert "-> I am example.resource.printer.secondfloor" in out


def test_nssqlite(runner: Runner, tmp_path: Path) -> None:
    out = runner.run("nssqlite", "nssqlite.py", str(tmp_path / "names.sqlite"), timeout=40).stdout
    assert "registered: ['example.sqlite.one', 'example.sqlite.two']" in out
    assert "still there: example.sqlite.one -> PYRO:one@127.0.0.1:5001 metadata=['example', 'first']" in out
    assert "still there: example.sqlite.two -> PYRO:two@127.0.0.1:5002 metadata=[]" in out
    assert "count (including the name server itself): 3" in out


def test_eventloop(runner: Runner) -> None:
    server, _ = runner.start("eventloop", "server.py")
    ns_uri = re.search(r"PYRO:Pyro\.NameServer@\S+", "\n".join(server.out)).group(0)
    out = runner.run("eventloop", "client.py", ns_uri).stdout
    assert "registered names: ['Pyro.NameServer', 'example.eventloop.clock']" in out
    assert re.search(r"the clock says \d\d:\d\d:\d\d - ticks so far: \d+", out)
    assert server.stop() == 0                                  # Ctrl-C ends our loop cleanly
    assert server.out[-1] == "stopped"


def _check_asyncio_output(out: str) -> None:
    assert "add(1, 2) = 3" in out
    assert "1000 concurrent calls, sum of results: 999000" in out
    assert "quick calls while the slow one runs: [1, 2, 3, 4, 5]" in out
    assert "slow_square(12) = 144" in out
    assert "numbers: [0, 1, 2, 3, 4]" in out
    assert "precision: 2" in out and "precision now: 4 - add(0.12345, 0) = 0.1235" in out
    assert "slow_square gave up after 0.2 s (asyncio.wait_for)" in out
    assert "slow_square gave up after 0.2 s (_pyroTimeout)" in out
    assert "logged by the oneway call: ['hello from asyncio']" in out
    assert "the proxy still works: add(20, 22) = 42" in out


def test_sharedproxy(runner: Runner) -> None:
    _, ready = runner.start("sharedproxy", "server.py")
    out = runner.run("sharedproxy", "client.py", uri_of(ready)).stdout
    assert "1000 calls from 16 threads, every result matched: True" in out
    assert "quick calls while the slow one runs: [1, 4, 9, 16, 25]" in out
    assert "slow_square(12) = 144" in out
    assert "slow_square gave up after 0.2 s" in out
    assert "the proxy still works: square(7) = 49" in out


def test_asyncio(runner: Runner) -> None:
    _, ready = runner.start("asyncio", "server.py")
    _check_asyncio_output(runner.run("asyncio", "client.py", uri_of(ready)).stdout)


def test_asyncio_with_name_server(ns_runner: Runner) -> None:
    ns_runner.start("asyncio", "server.py", "--ns")
    _check_asyncio_output(ns_runner.run("asyncio", "client.py", "PYRONAME:example.asyncio").stdout)


def test_asyncio_async_daemon(runner: Runner) -> None:
    _, ready = runner.start("asyncio", "async_server.py")
    _check_asyncio_output(runner.run("asyncio", "client.py", uri_of(ready)).stdout)


def test_asyncio_async_daemon_with_name_server(ns_runner: Runner) -> None:
    ns_runner.start("asyncio", "async_server.py", "--ns")
    _check_asyncio_output(ns_runner.run("asyncio", "client.py", "PYRONAME:example.asyncio").stdout)


def test_asyncio_mixed(ns_runner: Runner) -> None:
    out = ns_runner.run("asyncio", "mixed.py").stdout
    assert "20 concurrent reads, values: [0, 10, 20, 30, 40] ..." in out
    assert "total reads so far: 20" in out
    assert "blocking proxy read: {'sensor': 7, 'value': 70} - total reads: 21" in out
    assert out.rstrip().endswith("done")


def test_observability(runner: Runner) -> None:
    out = runner.run("observability", "traced.py").stdout
    assert "[hook] example.calculator.add(0, 1) from 127.0.0.1 returned 1" in out
    assert "[hook] example.calculator.divide(1, 0) from 127.0.0.1 raised ZeroDivisionError" in out
    assert "total: 6" in out
    spans = [line.split() for line in out.splitlines() if re.match(r"\s+[0-9a-f]{8} [0-9a-f]{16} ", line)]
    if spans:       # (opentelemetry-sdk installed: the test env has it)
        ids = {s[1]: s for s in spans}
        add = [s for s in spans if s[3] == "SERVER" and s[4] == "example.calculator/add"]
        assert len(add) == 3 and len({s[0] for s in spans[:8]}) == 1
        for server in add:     # SERVER add <- CLIENT add <- SERVER total
            client = ids[server[2]]
            assert client[3] == "CLIENT" and ids[client[2]][4] == "example.accountant/total"
        assert [s[5] for s in spans if "divide" in s[4]] == ["ERROR", "ERROR"]
    assert "calls in flight: 1" in out and "example.calculator.wait" in out
    assert re.search(r"example\.calculator\.add\s+3\s+0\s", out)
