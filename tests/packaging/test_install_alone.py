"""Each distribution installed alone (with its declared dependencies) in a fresh venv: it imports its modules
and its dependencies' modules and none of the others'; pyro5-full gives everything and every console script."""
from __future__ import annotations

import subprocess

import pytest

from tests.packaging import _layout, _venvs

pytestmark = pytest.mark.slow

ALONE = [d for d in _layout.DISTRIBUTIONS if d != "pyro5-full"]
ALL_MODULES = [m for d in _layout.DISTRIBUTIONS for m in _layout.MODULES[d]]

IMPORT_PROBE = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        out[name] = ["ok", None]
    except ModuleNotFoundError as x:
        out[name] = ["ModuleNotFoundError: %s" % x, x.name]
    except Exception as x:
        out[name] = ["%s: %s" % (type(x).__name__, x), None]
print(json.dumps(out))
"""


def _probe(v: _venvs.Venv) -> dict:
    return v.run_json(IMPORT_PROBE, *ALL_MODULES, timeout=120)  # type: ignore[return-value]


@pytest.mark.parametrize("dist", ALONE)
def test_distribution_alone(venv_with, wheel_files, dist):
    v = venv_with(dist)
    closure = _layout.closure(dist)
    assert v.installed() == closure | _layout.third_party(closure)

    # on disk: exactly the files of the installed wheels
    pkg = v.site_packages / "Pyro5"
    on_disk = {p.relative_to(pkg.parent).as_posix() for p in pkg.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk == {f for d in closure for f in wheel_files[d] if f.startswith("Pyro5/")}

    # imports: its own and its dependencies' modules work, the others are missing (not broken)
    result = _probe(v)
    for module in ALL_MODULES:
        status, missing_name = result[module]
        if _layout.owner_of_module(module) in closure:
            assert status == "ok", f"{dist}: import {module} failed: {status}"
        else:
            assert status.startswith("ModuleNotFoundError"), f"{dist}: import {module} gave {status}"
            assert missing_name and module.startswith(missing_name), \
                f"{dist}: import {module} failed on {missing_name!r}, not on the module itself: {status}"

    # console scripts: those of the installed distributions only
    for d in _layout.DISTRIBUTIONS:
        for script in _layout.SCRIPTS[d]:
            assert v.script(script).exists() == (d in closure), (dist, script)


def test_full_installs_everything(venv_with, wheel_files):
    v = venv_with("pyro5-full")
    assert v.installed() == set(_layout.DISTRIBUTIONS) | _layout.third_party(set(_layout.DISTRIBUTIONS))
    result = _probe(v)
    broken = {m: s for m, (s, _) in result.items() if s != "ok"}
    assert not broken, broken


@pytest.mark.parametrize("script", ["pyro5-ns", "pyro5-nsc", "pyro5-echoserver", "pyro5-check-config",
                                    "pyro5-check-install", "pyro5-httpgateway"])
def test_full_console_scripts_help(venv_with, script):
    v = venv_with("pyro5-full")
    exe = v.script(script)
    assert exe.exists(), f"pyro5-full did not install the {script} console script"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60,
                          env=_venvs.child_env(), cwd=str(v.path), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{script} --help exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script} --help printed nothing"
