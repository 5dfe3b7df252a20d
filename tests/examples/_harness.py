"""Smoke-test harness (helpers; the fixtures are in conftest.py) for examples/: real processes on 127.0.0.1, every wait with a timeout.

The interpreter that runs the examples is ours (sys.executable) unless EXAMPLES_PYTHON names another one
(for instance the original Pyro5's venv, to check that the examples only use the documented API);
EXAMPLES_NS_PYTHON does the same for the name server the tests start.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# abspath (not resolve: a venv's python must keep its own path), as the examples run in their own folders
PYTHON = os.path.abspath(os.environ.get("EXAMPLES_PYTHON") or sys.executable)
NS_PYTHON = os.path.abspath(os.environ.get("EXAMPLES_NS_PYTHON") or PYTHON)      # the name server's interpreter
TIMEOUT = 20.0


def example_env(python: str = PYTHON, **extra: str) -> dict[str, str]:
    """Environment for an example process: builtin Pyro config, loopback only, unbuffered output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    if python != sys.executable:
        env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYRO_HOST"] = "127.0.0.1"
    env.update(extra)
    return env


def _default_sigint() -> None:
    """In the child, before exec: Ctrl-C must work even when we were started with SIGINT ignored
    (as background jobs are), because stop() asks servers to shut down cleanly with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Proc:
    """A long-running example process (a server); its stdout is collected line by line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], python: str | None = None):
        self.args = args
        self.proc = subprocess.Popen([python or PYTHON, "-u", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     preexec_fn=_default_sigint if os.name == "posix" else None)
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out, True), daemon=True),
                       threading.Thread(target=self._pump, args=(self.proc.stderr, self.err, False), daemon=True)]
        for t in self._pumps:
            t.start()

    def _pump(self, stream: IO[str], into: list[str], feed: bool) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
            if feed:
                self._lines.put(into[-1])
        if feed:
            self._lines.put(None)

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self.proc.wait(timeout=5)
                pytest.fail(f"{self.args} exited ({self.proc.returncode}) before printing {pattern!r}:\n"
                            + self.output())
            if m := regex.search(line):
                return m
        pytest.fail(f"{self.args} printed no line matching {pattern!r} within {timeout} s:\n" + self.output())

    def output(self) -> str:
        return "--- stdout\n" + "\n".join(self.out) + "\n--- stderr\n" + "\n".join(self.err[-40:])

    def stop(self, timeout: float = 5.0) -> int:
        """Ctrl-C, then terminate, then kill; returns the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        status = self.proc.wait(timeout=timeout)
        for t in self._pumps:                  # collect the rest of its output
            t.join(timeout)
        return status


class Runner:
    """Starts example processes for one test and stops all of them at teardown."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.procs: list[Proc] = []

    def start(self, example: str, *args: str, ready: str = r"^Ready", env: dict[str, str] | None = None,
              timeout: float = TIMEOUT, python: str | None = None) -> tuple[Proc, re.Match[str]]:
        """Start examples/<example>/<args[0]> ... and wait until it prints a line matching `ready`."""
        p = Proc(list(args), EXAMPLES / example, {**self._env_for(python), **(env or {})}, python=python)
        self.procs.append(p)
        return p, p.wait_for(ready, timeout)

    def run(self, example: str, *args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT,
            input: str | None = None, check: bool = True, python: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        """Run examples/<example>/<args[0]> ... to completion (exit status 0 unless check=False)."""
        try:
            cp = subprocess.run([python or PYTHON, "-u", *args], cwd=EXAMPLES / example,
                                env={**self._env_for(python), **(env or {})},
                                capture_output=True, text=True, timeout=timeout, input=input,
                                stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as x:
            pytest.fail(f"{args} did not finish within {timeout} s; stdout so far:\n{x.stdout}\n{x.stderr}")
        if check and cp.returncode != 0:
            pytest.fail(f"{args} failed with exit status {cp.returncode}:\n--- stdout\n{cp.stdout}\n"
                        f"--- stderr\n{cp.stderr}")
        return cp

    def _env_for(self, python: str | None) -> dict[str, str]:
        if python is None or python == PYTHON:
            return self.env
        return example_env(python, **{k: v for k, v in self.env.items() if k.startswith("PYRO_")})

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def uri_of(match: re.Match[str]) -> str:
    """The PYRO uri in a server's ready line (the match Runner.start returns)."""
    m = re.search(r"PYRO:\S+", match.string)
    assert m, match.string
    return m.group(0)
