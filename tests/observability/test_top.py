"""pyro5-top (Pyro5.top) against real daemons: ours with call tracking (a call in flight, statistics), ours
without, the original Pyro5 5.15's; the refresh mode; the command as a process."""
from __future__ import annotations

import io
import subprocess
import sys
import threading

import pytest

from Pyro5 import core
from Pyro5.client import Proxy
from Pyro5.top import daemon_uri, main
from tests._support import refpyro
from tests.observability._objects import Calc


@pytest.fixture
def busy_daemon(start_daemon):
    """A tracking daemon with some finished calls and one call in flight (released at teardown)."""
    rd = start_daemon()
    rd.daemon.track_calls()
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    with Proxy(uri) as p:
        for i in range(3):
            p.add(i, 1)
        with pytest.raises(ValueError):
            p.fail()

    def block():
        with Proxy(uri) as p:
            p.block()
    thread = threading.Thread(target=block, daemon=True)
    thread.start()
    assert calc.entered.wait(5)
    yield rd, uri
    calc.release.set()
    thread.join(10)


def test_once_report(busy_daemon):
    rd, uri = busy_daemon
    out = io.StringIO()
    assert main(["--once", str(uri)], out=out) == 0
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("pyro5-top  PYRO:Pyro.Daemon@127.0.0.1:%d" % rd.port)
    assert "objects (2): Pyro.Daemon, calc" in lines
    assert "calls in flight: 1" in lines        # (pyro5-top's own call is not shown)
    row = [line for line in lines if "calc.block" in line and "127.0.0.1:" in line]
    assert len(row) == 1 and "Pyro-worker" in row[0]
    add = [line.split() for line in lines if line.strip().startswith("calc.add ")][0]
    assert add[1:3] == ["3", "0"]
    fail = [line.split() for line in lines if line.strip().startswith("calc.fail ")][0]
    assert fail[1:3] == ["1", "1"]
    assert "\x1b[" not in text


def test_refresh_mode_redraws(busy_daemon):
    rd, uri = busy_daemon
    out = io.StringIO()
    assert main(["--count", "2", "--interval", "0.1", "%s:%d" % rd.address[:2]], out=out) == 0
    assert out.getvalue().count("\x1b[H\x1b[2J") == 2
    assert out.getvalue().count("calls in flight: 1") == 2


def test_untracked_daemon_and_errors(start_daemon, capsys):
    rd = start_daemon()
    rd.daemon.register(Calc(), "calc")
    out = io.StringIO()
    assert main(["--once", "PYRO:calc@127.0.0.1:%d" % rd.port], out=out) == 0
    assert "no calls recorded: is call tracking on?" in out.getvalue()
    assert main(["--once", "PYRO:x@127.0.0.1:1"], out=io.StringIO()) == 1
    assert "Error: CommunicationError" in capsys.readouterr().err
    assert str(daemon_uri("localhost:9999")) == "PYRO:%s@localhost:9999" % core.DAEMON_NAME


ORIG_SERVER = r'''
import Pyro5.api
d = Pyro5.api.Daemon(host="127.0.0.1")
print("READY", d.locationStr, flush=True)
d.requestLoop()
'''


@pytest.mark.interop
def test_original_daemon_has_objects_only():
    with refpyro.OrigProcess(ORIG_SERVER) as orig:
        out = io.StringIO()
        assert main(["--once", orig.ready], out=out) == 0
    assert "objects (1): Pyro.Daemon" in out.getvalue()
    assert "this daemon has no call table" in out.getvalue()


def test_command_as_a_process(busy_daemon):
    rd, uri = busy_daemon
    done = subprocess.run([sys.executable, "-m", "Pyro5.top", "--once", str(uri)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "calls in flight: 1" in done.stdout and "calc.block" in done.stdout
