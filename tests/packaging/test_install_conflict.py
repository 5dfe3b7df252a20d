"""The original Pyro5 5.15 installed beside ours, in a venv, in both orders: pyro5-check-install (also
`python -m Pyro5.check_install` and pyro5-check-config) names the overwritten files and the distribution that
overwrote them, with the fix; the fix works; `import Pyro5` warns where our __init__ is still in place."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.packaging import _venvs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def orig_wheel_dir() -> Path:
    return _venvs.original_pyro5_wheel()


def _install(v: _venvs.Venv, links: list[Path], *requirements: str, extra: tuple[str, ...] = ()) -> None:
    args = []
    for d in links:
        args += ["--find-links", str(d)]
    _venvs.pip(v.python, "install", "-q", "--no-index", "--no-compile", *extra, *args, *requirements)


def _run(v: _venvs.Venv, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, env=_venvs.child_env(),
                          cwd=str(v.path), stdin=subprocess.DEVNULL)


def test_original_installed_after_ours_is_found_and_fixed(tmp_path, wheels, dep_wheels, orig_wheel_dir) -> None:
    links = [next(iter(wheels.values())).parent, dep_wheels, orig_wheel_dir]
    v = _venvs.create_venv(tmp_path / "after", ["pyro5-full"], links[:2])
    ok = _run(v, str(v.script("pyro5-check-install")))
    assert ok.returncode == 0 and "Installation OK: the files of pyro5-wire, pyro5-client" in ok.stdout, ok.stdout

    _install(v, links, _venvs.ORIGINAL_PYRO5)          # e.g. as another package's dependency, later on
    assert "pyro5" in v.installed()                    # the original's name, next to ours

    for cmd in ([str(v.script("pyro5-check-install"))], [v.python, "-m", "Pyro5.check_install"]):
        cp = _run(v, *cmd)
        assert cp.returncode == 1, cp.stdout + cp.stderr
        out = cp.stdout
        assert "Installation problem: the original Pyro5 5.15 is installed beside pyro5" in out, out
        assert "Pyro5/__init__.py (pyro5-wire) was overwritten by Pyro5 5.15" in out, out
        assert "Pyro5/client.py (pyro5-client) was overwritten by Pyro5 5.15" in out, out
        assert "Fix: pip uninstall Pyro5 && pip install --force-reinstall pyro5-wire pyro5-client pyro5-server " \
               "pyro5-naming pyro5-httpgateway pyro5-compat4" in out, out
        # the original's own pyro5-check-config replaced ours: our check names that too
        assert "/bin/pyro5-check-config (pyro5-wire) was overwritten by Pyro5 5.15" in out, out
        assert "... and" not in out                    # the tools list every file

    # the fix from the report
    _venvs.pip(v.python, "uninstall", "-q", "-y", "Pyro5")
    _install(v, links, "pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
             "pyro5-compat4", extra=("--force-reinstall", "--no-deps"))
    fixed = _run(v, str(v.script("pyro5-check-install")))
    assert fixed.returncode == 0, fixed.stdout
    config = _run(v, str(v.script("pyro5-check-config")))
    assert config.returncode == 0 and "Pyro version: 6." in config.stdout, config.stdout + config.stderr
    probe = v.run("import Pyro5, Pyro5.client; print(Pyro5.__version__, Pyro5.client.Proxy.__module__)")
    assert probe.stdout.split() == ["6.0.0", "Pyro5.client"]


def test_ours_installed_after_the_original_warns_at_import(tmp_path, wheels, dep_wheels, orig_wheel_dir) -> None:
    links = [next(iter(wheels.values())).parent, dep_wheels, orig_wheel_dir]
    v = _venvs.create_venv(tmp_path / "before", [_venvs.ORIGINAL_PYRO5], links)
    _install(v, links, "pyro5-wire", "pyro5-client")
    cp = v.run("import warnings; warnings.simplefilter('always'); import Pyro5; print(Pyro5.__version__)")
    assert cp.stdout.strip() == "6.0.0"                 # our files are in place ...
    assert "UserWarning: The original Pyro5 5.15 distribution is installed beside pyro5 6" in cp.stderr, cp.stderr
    assert "pip uninstall Pyro5" in cp.stderr
    check = _run(v, str(v.script("pyro5-check-config")))
    assert check.returncode == 1, check.stdout + check.stderr    # ... but uninstalling the original would delete them
    assert "Installation problem: the original Pyro5 5.15 is installed beside pyro5" in check.stdout, check.stdout
    assert "Fix: pip uninstall Pyro5 && pip install --force-reinstall pyro5-wire pyro5-client" in check.stdout
