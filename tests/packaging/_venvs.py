"""Helpers of the packaging tests: the build environment, the dependency wheels and throw-away venvs.

Kept between sessions in $PYRO5_PACKAGING_CACHE or <repo>/.cache/packaging (both need the package index once):
  buildenv/   a venv with hatchling, to build the wheels through its PEP 517 hooks without network
  deps/       wheels of the third-party dependencies (serpent, msgpack, regex, waitress), so test venvs install with --no-index
Everything else (wheels, venvs) lives in the session's tmp dirs.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
BUILD_WHEELS = Path(__file__).resolve().parent / "build_wheels.py"
THIRD_PARTY = ["serpent>=1.41", "msgpack>=1.0", "regex>=2024.0", "waitress>=3.0"]
BUILD_REQUIRES = ["hatchling>=1.27"]
BIN = "Scripts" if sys.platform == "win32" else "bin"
EXE = ".exe" if sys.platform == "win32" else ""


def cache_dir() -> Path:
    d = Path(os.environ.get("PYRO5_PACKAGING_CACHE", REPO / ".cache" / "packaging"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Inter-process lock (parallel test sessions share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - windows: no locking
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def child_env(hermetic: bool = True) -> dict:
    """Environment for child processes: nothing of ours (PYTHONPATH, PYRO_*, an active venv) leaks in.

    hermetic also hides the user's pip configuration, so installs see only the --find-links we give.
    """
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYRO_")}
    if hermetic:
        env = {k: v for k, v in env.items() if not k.startswith("PIP_") or k in ("PIP_CERT",)}
        env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def pip(target_python: str, *args: str, hermetic: bool = True, timeout: float = 300) -> None:
    """Run our pip against another interpreter (`pip --python`), so venvs need no pip of their own."""
    cmd = [sys.executable, "-m", "pip", "--python", target_python, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env(hermetic))
    if proc.returncode != 0:
        raise RuntimeError(f"pip failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / BIN / ("python" + EXE))

    def script(self, name: str) -> Path:
        return self.path / BIN / (name + EXE)

    @property
    def site_packages(self) -> Path:
        out = subprocess.run([self.python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, timeout=60, check=True, env=child_env())
        return Path(out.stdout.strip())

    def run(self, code: str, *args: str, timeout: float = 60, check: bool = True, cwd: str | None = None
            ) -> subprocess.CompletedProcess:
        """Run a snippet in isolated mode (-I: no cwd, no PYTHON* variables, no user site on sys.path)."""
        proc = subprocess.run([self.python, "-I", "-c", code, *args], capture_output=True, text=True,
                              timeout=timeout, env=child_env(), cwd=cwd or str(self.path))
        if check and proc.returncode != 0:
            raise AssertionError(f"snippet failed in {self.path} ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def run_json(self, code: str, *args: str, timeout: float = 60) -> object:
        """Run a snippet that prints one JSON document as its last line of output."""
        out = self.run(code, *args, timeout=timeout).stdout.strip().splitlines()
        return json.loads(out[-1])

    def installed(self) -> set[str]:
        """Names of the distributions installed in the venv (lower case)."""
        return {n.lower() for n in self.run_json(
            "import json, importlib.metadata as m; print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))")}


def create_venv(path: Path, requirements: list[str], find_links: list[Path]) -> Venv:
    """A fresh venv (no pip inside) with `requirements` installed from the find-links dirs only (--no-index)."""
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=sys.platform != "win32").create(path)
    v = Venv(path)
    links: list[str] = []
    for d in find_links:
        links += ["--find-links", str(d)]
    pip(v.python, "install", "-q", "--no-index", "--no-compile", *links, *requirements)
    return v


def build_env() -> Venv:
    """The cached venv with hatchling (created on first use; needs the package index once)."""
    base = cache_dir()
    path = base / f"buildenv-py{sys.version_info[0]}{sys.version_info[1]}"
    v = Venv(path)
    with locked(base / ".buildenv.lock"):
        ok = Path(v.python).exists() and subprocess.run(
            [v.python, "-I", "-c", "import hatchling.build"], capture_output=True, timeout=60).returncode == 0
        if not ok:
            venv.EnvBuilder(with_pip=False, clear=True, symlinks=sys.platform != "win32").create(path)
            pip(v.python, "install", "-q", *BUILD_REQUIRES, hermetic=False, timeout=600)
    return v


def dependency_wheels() -> Path:
    """Directory with wheels of the third-party dependencies (downloaded once; needs the package index once)."""
    d = cache_dir() / "deps"
    with locked(cache_dir() / ".deps.lock"):
        have = {p.name.split("-")[0].lower() for p in d.glob("*.whl")} if d.is_dir() else set()
        if not {"serpent", "msgpack", "regex", "waitress"} <= have:
            d.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--dest", str(d), *THIRD_PARTY]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=child_env(hermetic=False))
            if proc.returncode != 0:
                raise RuntimeError(f"cannot download the dependency wheels ({' '.join(cmd)}):\n{proc.stderr[-3000:]}")
    return d


def build_all_wheels(outdir: Path) -> dict[str, Path]:
    """Build every distribution's wheel into outdir with the cached build env's hatchling."""
    py = build_env().python
    proc = subprocess.run([py, "-I", str(BUILD_WHEELS), "--method", "hooks", "--outdir", str(outdir)],
                          capture_output=True, text=True, timeout=300, env=child_env())
    if proc.returncode != 0:
        raise RuntimeError(f"building the wheels failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = {}
    for line in proc.stdout.splitlines():
        if line.startswith("WHEEL "):
            _, dist, path = line.split(" ", 2)
            wheels[dist] = Path(path)
    return wheels


ORIGINAL_PYRO5 = "Pyro5==5.15"


def original_pyro5_wheel() -> Path:
    """Directory with the wheel of the original Pyro5 5.15 (downloaded once; needs the package index once).

    Only installed into throw-away venvs, to test what happens when it lands beside ours."""
    d = cache_dir() / "orig-wheel"
    with locked(cache_dir() / ".orig-wheel.lock"):
        if not any(d.glob("pyro5-5.15-*.whl")) and not any(d.glob("Pyro5-5.15-*.whl")):
            d.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--dest", str(d),
                   ORIGINAL_PYRO5]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=child_env(hermetic=False))
            if proc.returncode != 0:
                raise RuntimeError(f"cannot download the original Pyro5 wheel ({' '.join(cmd)}):\n{proc.stderr[-3000:]}")
    return d
