"""Our name server (pyro5-ns) and a TTL-registered daemon as subprocesses that tests can kill -9 by pid."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

_DAEMON = r'''
import sys, time
from Pyro5 import config
from Pyro5.server import Daemon, expose
from Pyro5.nameserver import TTLRegistration

@expose
class Thing:
    def ping(self):
        return "pong"

config.NS_HOST = sys.argv[3]
daemon = Daemon(host="127.0.0.1")
uri = daemon.register(Thing())
registration = TTLRegistration(sys.argv[1], uri, float(sys.argv[2]), metadata={"ttl-test"}).start()
print("READY", uri, registration.lease, flush=True)
daemon.requestLoop()
'''


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYRO_BROADCAST_ADDRS"] = "127.0.0.1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Proc:
    """A subprocess whose output goes to a file; wait_line() waits (bounded) for a line matching a pattern."""

    def __init__(self, command: list[str], logfile: Path, env: Optional[dict] = None) -> None:
        self.logfile = logfile
        with open(logfile, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env or _env())

    def output(self) -> str:
        return self.logfile.read_text(errors="replace")

    def wait_line(self, pattern: str, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output(), re.M)
            if found:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill9()
                raise AssertionError("no %r from %s; output:\n%s" % (pattern, self.logfile.name, self.output()))
            time.sleep(0.05)

    def kill9(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


class NameServerProcess(Proc):
    """python -m Pyro5.nameserver on 127.0.0.1 with the given storage; .uri and .port once it runs."""

    def __init__(self, storage: str, workdir: Path, port: int = 0, autoclean: Optional[float] = None) -> None:
        env = _env()
        if autoclean is not None:
            env["PYRO_NS_AUTOCLEAN"] = str(autoclean)
        logfile = Path(workdir) / ("ns-%d-%d.log" % (os.getpid(), time.monotonic_ns()))
        super().__init__([sys.executable, "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", str(port), "-x",
                          "-s", storage], logfile, env)
        self.uri = self.wait_line(r"^URI = (\S+)").group(1)
        self.port = int(self.uri.rsplit(":", 1)[1])


class TTLDaemonProcess(Proc):
    """A daemon with one object registered as `name` with a TTL, kept alive through NS_HOST = ns_host."""

    def __init__(self, name: str, ttl: float, ns_host: str, workdir: Path) -> None:
        logfile = Path(workdir) / ("daemon-%d-%d.log" % (os.getpid(), time.monotonic_ns()))
        super().__init__([sys.executable, "-c", _DAEMON, name, str(ttl), ns_host], logfile)
        found = self.wait_line(r"^READY (\S+) (\d+)")
        self.uri, self.lease = found.group(1), int(found.group(2))
