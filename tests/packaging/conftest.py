"""Session fixtures of the packaging tests: the built wheels and shared venvs (venv creation is slow)."""
from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest

from tests.packaging import _layout, _venvs


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """{distribution: wheel path} for all seven distributions, built once per session."""
    out = tmp_path_factory.mktemp("wheels")
    built = _venvs.build_all_wheels(out)
    missing = set(_layout.DISTRIBUTIONS) - set(built)
    assert not missing, f"no wheel built for {sorted(missing)}"
    return built


@pytest.fixture(scope="session")
def wheel_files(wheels) -> dict[str, list[str]]:
    """{distribution: names of the files in its wheel}."""
    result = {}
    for dist, path in wheels.items():
        with zipfile.ZipFile(path) as zf:
            result[dist] = [n for n in zf.namelist() if not n.endswith("/")]
    return result


@pytest.fixture(scope="session")
def dep_wheels() -> Path:
    return _venvs.dependency_wheels()


class VenvFactory:
    """Creates one venv per distribution on first request and hands the same venv to every later test."""

    def __init__(self, root: Path, wheels: dict[str, Path], deps: Path) -> None:
        self.root = root
        self.wheel_dir = next(iter(wheels.values())).parent
        self.deps = deps
        self._venvs: dict[str, _venvs.Venv] = {}
        self._lock = threading.Lock()

    def __call__(self, dist: str) -> _venvs.Venv:
        with self._lock:
            if dist not in self._venvs:
                self._venvs[dist] = _venvs.create_venv(self.root / dist, [dist], [self.wheel_dir, self.deps])
            return self._venvs[dist]


@pytest.fixture(scope="session")
def venv_with(tmp_path_factory, wheels, dep_wheels) -> VenvFactory:
    """venv_with("pyro5-client") -> a venv where only `pip install pyro5-client` was done (shared per session)."""
    return VenvFactory(tmp_path_factory.mktemp("venvs"), wheels, dep_wheels)
