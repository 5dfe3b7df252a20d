"""`from Pyro5.api import ...` gives real types under `mypy --strict`, in a venv where the wheels are installed
as a user installs them (one merged Pyro5/ folder with pyro5-wire's py.typed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging import _venvs

pytestmark = pytest.mark.slow

TYPED_PROGRAM = '''
from __future__ import annotations

from Pyro5.api import URI, Daemon, Proxy, config, expose, locate_ns, serve


@expose
class Greeter:
    def greet(self, name: str) -> str:
        return "hello " + name


def publish() -> URI:
    with Daemon(host="localhost", port=0) as daemon:
        return daemon.register(Greeter, "example.greeter")


def call(uri: URI) -> str:
    config.COMMTIMEOUT = 2.5
    with Proxy(uri) as proxy:
        proxy._pyroTimeout = 1.0
        result: str = proxy.greet("typed")      # remote calls are dynamic: Any, assignable to str
        return result


def find() -> None:
    with locate_ns() as ns:
        ns.ping()
    serve({Greeter: "example.greeter"}, use_ns=False)


reveal_type(Proxy)
reveal_type(Daemon)
reveal_type(URI)
reveal_type(expose)
reveal_type(serve)
reveal_type(locate_ns)
reveal_type(config)
reveal_type(config.COMMTIMEOUT)
'''

WRONG_PROGRAM = '''
from Pyro5.api import Daemon, config

config.COMMTIMEOUT = "soon"
config.NO_SUCH_ITEM = 1
daemon = Daemon(port="9999")
'''


def _mypy(venv: _venvs.Venv, program: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed: use the hatch test environment")
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(cache),
           "--python-executable", venv.python, "--no-error-summary", "--show-error-codes", str(program)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=program.parent,
                          env=_venvs.child_env())


def test_public_api_has_real_types_under_mypy_strict(venv_with, tmp_path: Path) -> None:
    venv = venv_with("pyro5-full")
    program = tmp_path / "typed_user.py"
    program.write_text(TYPED_PROGRAM)
    cp = _mypy(venv, program, tmp_path / "cache")
    notes = [line for line in cp.stdout.splitlines() if "Revealed type is" in line]
    errors = [line for line in cp.stdout.splitlines() if ": error:" in line]
    assert not errors, cp.stdout + cp.stderr
    revealed = "\n".join(notes)
    assert len(notes) == 8, cp.stdout + cp.stderr
    for expected in ("Pyro5.client.Proxy", "Pyro5.server.Daemon", "Pyro5.core.URI", "def [_T] (method_or_class: _T",
                     "def (objects:", "Pyro5.configure.Configuration", '"float"'):
        assert expected in revealed, f"{expected!r} not in:\n{revealed}"
    assert not any(n.endswith('Revealed type is "Any"') for n in notes), revealed   # nothing fell back to Any
    assert "-> Pyro5.client.Proxy" in notes[5], notes[5]                 # locate_ns returns a Proxy


def test_mypy_strict_catches_misuse_of_the_api(venv_with, tmp_path: Path) -> None:
    venv = venv_with("pyro5-full")
    program = tmp_path / "wrong_user.py"
    program.write_text(WRONG_PROGRAM)
    cp = _mypy(venv, program, tmp_path / "cache")
    out = cp.stdout
    assert cp.returncode == 1, out + cp.stderr
    assert 'wrong_user.py:4: error: Incompatible types in assignment (expression has type "str", variable has ' \
           'type "float")' in out, out
    assert "wrong_user.py:5: error:" in out and "NO_SUCH_ITEM" in out, out
    assert "wrong_user.py:6: error:" in out and 'Argument "port" to "Daemon" has incompatible type "str"' in out, out
