"""Every tool that listens says in one line which address it cannot use, and exits with status 1 (no traceback)."""
from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from Pyro5 import socketutil
from Pyro5._cli import listen_error


@pytest.fixture
def taken() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that another socket listens on."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        yield s.getsockname()[1]


@pytest.fixture
def taken_udp() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)


def _assert_one_line(cp: subprocess.CompletedProcess[str], expected: str) -> None:
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert cp.stderr.splitlines() == [expected], cp.stderr
    assert "Traceback" not in cp.stdout + cp.stderr


IN_USE = "the address is already in use (another program listens there; choose another port)"


def test_name_server(taken: int) -> None:
    cp = _run("Pyro5.nameserver", "-n", "127.0.0.1", "-p", str(taken), "-x")
    _assert_one_line(cp, f"pyro5-ns: cannot listen on 127.0.0.1:{taken}: {IN_USE}")


def test_broadcast_socket_bind_error_names_the_udp_address(taken_udp: int) -> None:
    """The name server's broadcast responder (not started for a loopback host, so tested at the socket level)."""
    with pytest.raises(OSError) as info:
        socketutil.create_bc_socket(bind=("127.0.0.1", taken_udp))
    assert info.value.filename == f"127.0.0.1:{taken_udp} (udp)"
    assert listen_error("pyro5-ns", info.value) == f"pyro5-ns: cannot listen on 127.0.0.1:{taken_udp} (udp): {IN_USE}"


def test_echo_server(taken: int) -> None:
    cp = _run("Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", str(taken))
    _assert_one_line(cp, f"pyro5-echoserver: cannot listen on 127.0.0.1:{taken}: {IN_USE}")
    assert cp.stdout == "Starting Pyro's built-in test echo server.\n"


@pytest.mark.parametrize("server", ["waitress", "wsgiref"])
def test_http_gateway(taken: int, server: str) -> None:
    cp = _run("Pyro5.utils.httpgateway", "-H", "127.0.0.1", "-p", str(taken), "--server", server, "-n", "127.0.0.1",
              "--nsport", "1")
    _assert_one_line(cp, f"pyro5-httpgateway: cannot listen on 127.0.0.1:{taken}: {IN_USE}")


def test_address_not_on_this_machine() -> None:
    cp = _run("Pyro5.nameserver", "-n", "192.0.2.1", "-p", "0", "-x")    # TEST-NET-1: never a local address
    _assert_one_line(cp, "pyro5-ns: cannot listen on 192.0.2.1:0: the address is not available on this machine")


def test_bind_errors_name_the_address(taken: int) -> None:
    with pytest.raises(OSError) as info:
        socketutil.create_socket(bind=("127.0.0.1", taken))
    assert info.value.errno == errno.EADDRINUSE
    assert info.value.filename == f"127.0.0.1:{taken}"
    assert listen_error("tool", info.value) == f"tool: cannot listen on 127.0.0.1:{taken}: {IN_USE}"


def test_listen_error_without_an_address() -> None:
    assert listen_error("tool", OSError(errno.EPERM, "Operation not permitted")) == \
        "tool: cannot listen on the requested address: Operation not permitted"
