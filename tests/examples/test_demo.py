"""examples/demo.py: name server + server + client in one command, stopped cleanly."""
from __future__ import annotations

import subprocess

import pytest

from tests.examples._harness import EXAMPLES, PYTHON, example_env


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, str(EXAMPLES / "demo.py"), *args], capture_output=True, text=True,
                          timeout=60, env=example_env(), stdin=subprocess.DEVNULL)


def test_demo_with_name_server() -> None:
    cp = run_demo("--name", "pytest")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    out = cp.stdout
    assert "PYRO:Pyro.NameServer@127.0.0.1:" in out
    assert "client -> server: get_fortune('pytest')" in out
    assert "server -> client:" in out and "Hello, pytest." in out
    assert "round trip:" in out
    assert "name server: PYRONAME:example.greeting@127.0.0.1:" in out
    assert "falling back" not in out
    assert "[demo] OK" in out
    # everything stopped cleanly by Ctrl-C
    assert "server stopped (exit status 0)" in out
    assert "name server stopped (exit status 0)" in out


@pytest.mark.parametrize("serializer", ["json", "marshal"])
def test_demo_without_name_server(serializer: str) -> None:
    cp = run_demo("--no-ns", "--serializer", serializer)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"[serializer {serializer}]" in cp.stdout
    assert "Hello, demo." in cp.stdout


def test_demo_fails_with_nonzero_status() -> None:
    # a client that cannot finish within the step timeout: the demo must fail, stop everything, exit non-zero
    cp = run_demo("--timeout", "0.01")
    assert cp.returncode != 0
    assert "FAILED" in cp.stderr
    assert "all stopped" in cp.stdout
