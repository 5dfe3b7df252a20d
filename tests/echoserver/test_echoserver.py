"""Pyro5.utils.echoserver: every method over a real proxy, and the command line tool as a subprocess."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from Pyro5 import errors
from Pyro5.client import Proxy
from Pyro5.utils import echoserver
from tests._support import net

HOST = "127.0.0.1"


@pytest.fixture
def running():
    """main(returnWithoutLooping=True) with the request loop in a thread, like the CLI runs it."""
    d, echo, uri = echoserver.main(["-H", HOST, "-q"], returnWithoutLooping=True)
    echo._slow_delay = 0.3
    t = threading.Thread(target=d.requestLoop, kwargs={"loopCondition": lambda: not echo._must_shutdown},
                         daemon=True)
    t.start()
    try:
        yield d, echo, uri, t
    finally:
        echo.shutdown()
        d.shutdown()
        t.join(10)
        d.close()


def test_main_returns_daemon_object_and_uri(running):
    d, echo, uri, _ = running
    assert isinstance(echo, echoserver.EchoServer)
    assert uri.object == "test.echoserver"
    assert uri.host == HOST
    assert str(d.uriFor("test.echoserver")) == str(uri)


def test_metadata_of_the_echo_server(running):
    uri = running[2]
    with Proxy(uri) as p:
        p._pyroBind()
        assert p._pyroMethods == {"echo", "error", "error_with_text", "oneway_echo", "slow", "oneway_slow",
                                  "generator", "nan", "inf", "__dunder__", "shutdown"}
        assert p._pyroOneway == {"oneway_echo", "oneway_slow"}
        assert p._pyroAttrs == {"verbose"}


@pytest.mark.parametrize("value", ["hello", 42, 3.5, None, [1, "two", 3.0], {"a": [1, 2]}, "ünïcødé ✓", True])
def test_echo(running, value):
    with Proxy(running[2]) as p:
        assert p.echo(value) == value


def test_error_and_error_with_text(running):
    with Proxy(running[2]) as p:
        with pytest.raises(ValueError) as x:
            p.error()
        assert str(x.value) == "this is the generated error from echoserver echo() method"
        assert "".join(errors.get_pyro_traceback(x.type, x.value, x.tb))
        with pytest.raises(ValueError, match="^the message of the error$"):
            p.error_with_text()
        assert p.echo("still works") == "still works"


def _wait_output(capsys, text: str, seen: list, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in chunk for chunk in seen):
        assert time.monotonic() < deadline, "no %r in the echo server output %r" % (text, seen)
        time.sleep(0.02)
        seen.append(capsys.readouterr().out)


def test_oneway_echo_returns_none_and_is_executed(running, capsys):
    echo = running[1]
    echo._verbose = True
    with Proxy(running[2]) as p:
        assert p.oneway_echo("hi") is None          # not the method's "bogus return value"
        assert p.echo("after") == "after"
        _wait_output(capsys, "oneway_echo: 'hi'", [])


def test_slow(running):
    echo = running[1]
    with Proxy(running[2]) as p:
        start = time.perf_counter()
        assert p.slow() == "Finally, an answer!"
        assert time.perf_counter() - start >= echo._slow_delay * 0.9


def test_oneway_slow_returns_before_the_work_is_done(running, capsys):
    echo = running[1]
    echo._slow_delay = 2.0
    echo._verbose = True
    with Proxy(running[2]) as p:
        p._pyroBind()
        start = time.perf_counter()
        assert p.oneway_slow() is None
        elapsed = time.perf_counter() - start
        seen = [capsys.readouterr().out]
        assert elapsed < echo._slow_delay / 2, "oneway_slow() took %.2fs: the client waited for it" % elapsed
        assert not any("oneway_slow: returning result" in chunk for chunk in seen)   # still working
        start = time.perf_counter()
        assert p.echo("meanwhile") == "meanwhile"     # oneway calls run in their own thread (ONEWAY_THREADED)
        assert time.perf_counter() - start < echo._slow_delay / 2
        _wait_output(capsys, "oneway_slow: waiting a bit...", seen)
        _wait_output(capsys, "oneway_slow: returning result", seen)     # and the work does get done


def test_generator(running):
    with Proxy(running[2]) as p:
        assert list(p.generator()) == ["one", "two", "three"]


def test_nan_inf_and_dunder(running):
    with Proxy(running[2]) as p:
        assert math.isnan(p.nan())
        assert p.inf() == float("inf")
        assert p.__dunder__() == "should be allowed (dunder)"


def test_private_methods_are_not_accessible(running):
    with Proxy(running[2]) as p:
        for name in ("_private", "_EchoServer__private", "_verbose", "_must_shutdown"):
            with pytest.raises(AttributeError):
                getattr(p, name)()


def test_verbose_attribute_prints_calls(running, capsys):
    echo = running[1]
    with Proxy(running[2]) as p:
        assert p.verbose is False
        p.verbose = True
        assert echo.verbose is True and p.verbose is True
        p.echo("logged message")
        p.verbose = False
        p.echo("silent message")
    out = capsys.readouterr().out
    assert re.search(r"\d{4} - echo: 'logged message'", out)
    assert "silent message" not in out


def test_shutdown_ends_the_request_loop(running):
    echo, uri, loop_thread = running[1], running[2], running[3]
    with Proxy(uri) as p:
        p.shutdown()
    loop_thread.join(10)
    assert not loop_thread.is_alive()
    assert echo._must_shutdown


def test_echo_server_object_in_own_daemon():
    from Pyro5.server import Daemon
    with Daemon(host=HOST) as d:
        uri = d.register(echoserver.EchoServer(), "my.echo")
        t = threading.Thread(target=d.requestLoop, daemon=True)
        t.start()
        try:
            with Proxy(uri) as p:
                assert p.echo([1, 2]) == [1, 2]
        finally:
            d.shutdown()
            t.join(10)


# ---------------------------------------------------------------------------------------------- command line

def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env.update(extra)
    return env


class _Cli:
    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "Pyro5.utils.echoserver", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env())
        self.lines: list[str] = []
        self._running = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("echoserver running."):
                self._running.set()

    def wait_running(self) -> None:
        if not self._running.wait(30):
            self.proc.kill()
            raise AssertionError("echoserver did not start: %s\n%s" % (self.lines, self.proc.stderr.read()))

    def value(self, prefix: str) -> str:
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        raise AssertionError("no line %r in %s" % (prefix, self.lines))

    def wait_exit(self) -> int:
        rc = self.proc.wait(20)
        self._reader.join(10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "Pyro5.utils.echoserver", "--help"], capture_output=True, text=True,
                         timeout=30, env=_env())
    assert out.returncode == 0
    for opt in ("--host", "--port", "--unixsocket", "--naming", "--nameserver", "--verbose", "--quiet"):
        assert opt in out.stdout


def test_cli_runs_and_shuts_down_via_remote_call():
    cli = _Cli("-H", HOST)
    try:
        cli.wait_running()
        assert cli.lines[0] == "Starting Pyro's built-in test echo server."
        assert cli.value("object name:") == "test.echoserver"
        uri = cli.value("echo uri:")
        assert uri.startswith("PYRO:test.echoserver@127.0.0.1:")
        with Proxy(uri) as p:
            assert p.echo("cli") == "cli"
            p.shutdown()
        assert cli.wait_exit() == 0
    finally:
        cli.kill()


def test_cli_verbose_prints_calls():
    cli = _Cli("-H", HOST, "-v")
    try:
        cli.wait_running()
        with Proxy(cli.value("echo uri:")) as p:
            assert p.verbose is True
            p.echo("verbose call")
            p.shutdown()
        assert cli.wait_exit() == 0
        assert any(re.search(r" - echo: 'verbose call'$", line) for line in cli.lines)
    finally:
        cli.kill()


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="needs unix domain sockets")
def test_cli_quiet_on_unix_socket(tmp_path):
    sockname = str(tmp_path / "echo.sock")
    proc = subprocess.Popen([sys.executable, "-u", "-m", "Pyro5.utils.echoserver", "-u", sockname, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sockname):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        uri = "PYRO:test.echoserver@./u:" + sockname
        with Proxy(uri) as p:
            p._pyroTimeout = 10
            for _ in range(100):          # the socket file exists slightly before listen() was called
                try:
                    p._pyroBind()
                    break
                except errors.CommunicationError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            assert p.echo("unix") == "unix"
            p.shutdown()
        assert proc.wait(20) == 0
        assert proc.stdout.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_registers_with_existing_name_server():
    from Pyro5 import nameserver
    ns_uri, ns_daemon, _ = nameserver.start_ns(HOST, 0, enableBroadcast=False)
    t = threading.Thread(target=ns_daemon.requestLoop, daemon=True)
    t.start()
    cli = _Cli("-H", HOST, "-n", env=_env(PYRO_NS_HOST=HOST, PYRO_NS_PORT=str(ns_uri.port)))
    try:
        cli.wait_running()
        with Proxy(ns_uri) as ns:
            registered = ns.lookup("test.echoserver")
        assert str(registered) == cli.value("echo uri:")
        with Proxy("PYRONAME:test.echoserver@%s:%d" % (HOST, ns_uri.port)) as p:
            assert p.echo("via ns") == "via ns"
            p.shutdown()
        assert cli.wait_exit() == 0
    finally:
        cli.kill()
        ns_daemon.shutdown()
        t.join(10)
        ns_daemon.close()


def test_cli_naming_without_name_server_fails_clearly():
    import socket

    from Pyro5 import socketutil
    with socket.socket() as s:
        port = socketutil.bind_unused_port(s, HOST)
        out = subprocess.run([sys.executable, "-m", "Pyro5.utils.echoserver", "-H", HOST, "-n"], capture_output=True,
                             text=True, timeout=60, env=_env(PYRO_NS_HOST=HOST, PYRO_NS_PORT=str(port),
                                                             PYRO_NS_BCPORT=str(port)))
    assert out.returncode != 0
    assert "NamingError" in out.stderr or "name server" in out.stderr.lower()


def _free_udp_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _ask_nsuri(port: int, timeout: float) -> bytes | None:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(b"GET_NSURI", (HOST, port))
        try:
            return s.recvfrom(200)[0]
        except OSError:           # timeout, or ICMP port unreachable
            return None


def test_cli_starts_its_own_name_server():
    """-N on a loopback host: a name server but (like the original) no broadcast responder."""
    bcport = _free_udp_port()
    cli = _Cli("-H", HOST, "-N", "-v", env=_env(PYRO_NS_PORT="0", PYRO_NS_BCPORT=str(bcport)))
    try:
        cli.wait_running()
        ns_uri = cli.value("using name server at")
        m = re.match(r"PYRO:Pyro\.NameServer@127\.0\.0\.1:(\d+)$", ns_uri)
        assert m and int(m.group(1)) > 0
        assert "not using a broadcast server" in cli.lines
        assert _ask_nsuri(bcport, timeout=0.5) is None
        with Proxy(ns_uri) as ns:
            assert str(ns.lookup("test.echoserver")) == cli.value("echo uri:")
        with Proxy(cli.value("echo uri:")) as p:
            p.shutdown()
        assert cli.wait_exit() == 0
    finally:
        cli.kill()


def test_cli_name_server_lines_only_when_verbose():
    cli = _Cli("-H", HOST, "-N", env=_env(PYRO_NS_PORT="0"))
    try:
        cli.wait_running()
        assert cli.lines[0] == "Starting Pyro's built-in test echo server."
        assert not any("name server" in line or "broadcast" in line for line in cli.lines), cli.lines
        with Proxy(cli.value("echo uri:")) as p:
            p.shutdown()
        assert cli.wait_exit() == 0
    finally:
        cli.kill()


def test_start_nameserver_without_responder_on_loopback():
    ns = echoserver.start_nameserver(HOST, 0)
    try:
        assert ns.bc_server is None
        with Proxy(ns.uri) as p:
            assert p.ping() is None
    finally:
        ns.stop()
        ns.join(10)
    assert not ns.is_alive()


@pytest.mark.skipif(not net.can_unshare_netns(), reason=net.NETNS_REASON)
def test_cli_name_server_on_non_loopback_host_has_a_broadcast_responder():
    """-N on a non-loopback address also starts the broadcast responder (0.0.0.0:NS_BCPORT), like the original;
    a client finds the name server and the echo server by broadcast. Runs in a private network namespace."""
    import json
    from pathlib import Path
    script = str(Path(__file__).with_name("_netns_echo.py"))
    result = subprocess.run(["unshare", "-rn", sys.executable, script], capture_output=True, text=True, timeout=90,
                            cwd=str(Path(__file__).resolve().parents[2]), env=_env())
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    lines = out["lines"]
    ns_uri = lines[1].removeprefix("using name server at ")
    assert re.fullmatch(r"PYRO:Pyro\.NameServer@10\.99\.0\.1:\d+", ns_uri), lines
    assert lines[2] == "broadcast server running at 0.0.0.0:9091"
    assert out["reply"] == ns_uri
    code, stdout, stderr = out["locate"]
    assert code == 0, stderr
    echo_uri = [line for line in lines if line.startswith("echo uri: ")][0].split(": ")[1]
    assert stdout.splitlines() == [ns_uri, echo_uri, "found"]
    assert out["exit"] == 0, out["stderr"]


ORIG_CLIENT = r"""
import sys, Pyro5.api
p = Pyro5.api.Proxy(sys.argv[1])
print(p.echo([1, "two"]))
print(list(p.generator()))
try:
    p.error_with_text()
except ValueError as x:
    print("ValueError", x)
print(p.verbose)
p.oneway_echo("x")
p.shutdown()
"""


@pytest.mark.interop
def test_original_pyro5_client_uses_our_echo_server():
    from tests._support import refpyro
    cli = _Cli("-H", HOST)
    try:
        cli.wait_running()
        out = refpyro.run_orig(ORIG_CLIENT, cli.value("echo uri:")).stdout.decode().splitlines()
        assert out == ["[1, 'two']", "['one', 'two', 'three']", "ValueError the message of the error", "False"]
        assert cli.wait_exit() == 0
    finally:
        cli.kill()
