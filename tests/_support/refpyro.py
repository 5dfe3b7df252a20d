"""The original Pyro5 5.15 from PyPI, in a venv of its own, used by tests/interop and bench/ as a black box.

The venv lives in $PYRO5_ORIG_VENV or <repo>/.cache/pyro5-orig and is created on first use
(`.ci/run` creates it up front). Nothing here imports the original: we only run its interpreter.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import venv
from pathlib import Path
from typing import Callable, Iterator

ORIG_VERSION = "5.15"
REPO = Path(__file__).resolve().parents[2]
_lock = threading.Lock()


def venv_dir() -> Path:
    return Path(os.environ.get("PYRO5_ORIG_VENV", REPO / ".cache" / "pyro5-orig"))


def orig_python() -> str:
    """Path of the interpreter of the original Pyro5's venv, creating the venv when missing."""
    d = venv_dir()
    py = d / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    with _lock:
        ok = py.exists() and subprocess.run(
            [str(py), "-c", f"import Pyro5,sys; sys.exit(Pyro5.__version__ != {ORIG_VERSION!r})"],
            capture_output=True, timeout=60).returncode == 0
        if not ok:
            venv.EnvBuilder(with_pip=True, clear=True).create(d)
            subprocess.run([str(py), "-m", "pip", "install", "-q", f"Pyro5=={ORIG_VERSION}", "msgpack"],
                           check=True, timeout=600)
        elif subprocess.run([str(py), "-c", "import msgpack"], capture_output=True, timeout=60).returncode != 0:
            # Pyro5 does not depend on msgpack; its msgpack serializer needs it installed beside it.
            subprocess.run([str(py), "-m", "pip", "install", "-q", "msgpack"], check=True, timeout=600)
    return str(py)


def clean_env(**extra: str) -> dict:
    """Environment for a child process of the original: no PYRO_* or PYTHONPATH leaking in from ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def run_orig(code: str, *args: str, input: bytes | None = None, timeout: float = 60, env: dict | None = None
             ) -> subprocess.CompletedProcess:
    """Run a snippet with the original Pyro5; raises with its stderr when it fails."""
    p = subprocess.run([orig_python(), "-c", code, *args], input=input, capture_output=True, timeout=timeout,
                       env=env or clean_env())
    if p.returncode != 0:
        raise RuntimeError(f"original Pyro5 snippet failed ({p.returncode}):\n{p.stderr.decode(errors='replace')}")
    return p


def python_for(which: str) -> str:
    """The interpreter of one implementation: "ours" (this test run's) or "orig"/"original" (the reference venv)."""
    if which == "ours":
        return sys.executable
    if which in ("orig", "original"):
        return orig_python()
    raise ValueError(f"unknown implementation {which!r}")


def run_snippet(which: str, code: str, *args: str, timeout: float = 60, env: dict | None = None) -> str:
    """Run the same snippet with either implementation (see python_for) in a clean environment; its stdout.
    Fails the test with the snippet's stderr when it exits non-zero."""
    p = subprocess.run([python_for(which), "-c", code, *args], capture_output=True, timeout=timeout,
                       env=env or clean_env(), text=True)
    assert p.returncode == 0, f"{which} snippet failed ({p.returncode}):\n{p.stderr}"
    return p.stdout


class OrigProcess:
    """A long-running child process of the original Pyro5 (a server, usually).

    The script must print one line `READY <text>` to stdout when it is ready; `.ready` holds <text>.
    Use as a context manager: it is killed on exit.
    """

    def __init__(self, code: str, *args: str, timeout: float = 30, env: dict | None = None):
        self.proc = subprocess.Popen([orig_python(), "-u", "-c", code, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env or clean_env(), text=True)
        self.ready = _wait_ready(self.proc, timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for s in (self.proc.stdout, self.proc.stderr):
            if s:
                s.close()

    def __enter__(self) -> "OrigProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _wait_ready(proc: subprocess.Popen, timeout: float) -> str:
    result: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                result.append(line[5:].strip())
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if not result:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"process did not become ready within {timeout}s; stderr:\n{err}")
    return result[0]


def start_python(code: str, *args: str, python: str | None = None, timeout: float = 30,
                 env: dict | None = None) -> OrigProcess:
    """Same protocol as OrigProcess, but with any interpreter (default: ours, sys.executable)."""
    p = OrigProcess.__new__(OrigProcess)
    p.proc = subprocess.Popen([python or sys.executable, "-u", "-c", code, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env or dict(os.environ), text=True)
    p.ready = _wait_ready(p.proc, timeout)
    return p


@contextlib.contextmanager
def our_processes(code: str) -> Iterator[Callable[..., OrigProcess]]:
    """A starter of `code` with our interpreter and a clean environment (start(*args) -> OrigProcess); every
    process it started is stopped at the end."""
    started: list[OrigProcess] = []

    def start(*args: str) -> OrigProcess:
        proc = start_python(code, *args, python=sys.executable, env=clean_env())
        started.append(proc)
        return proc
    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


if __name__ == "__main__":  # `python3 tests/_support/refpyro.py` prepares the venv (used by .ci/run)
    print(orig_python())
