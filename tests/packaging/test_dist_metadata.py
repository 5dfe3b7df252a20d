"""The published metadata: a wheel and an sdist of every distribution, `twine check --strict` passes on all
of them, and each README is a real PyPI page (what it is, when to install it, an example, links)."""
from __future__ import annotations

import email.parser
import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging import _layout, _venvs

pytestmark = pytest.mark.slow

REPO = _venvs.REPO


def _docs_site():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("pyro5_docs_site_for_packaging", REPO / "docs" / "_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """{distribution: (wheel, sdist)}, built by the same script as `hatch run dist:all`."""
    out = tmp_path_factory.mktemp("dist")
    py = _venvs.build_env().python
    proc = subprocess.run([py, "-I", str(_venvs.BUILD_WHEELS), "--method", "hooks", "--sdist", "--outdir", str(out)],
                          capture_output=True, text=True, timeout=600, env=_venvs.child_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built: dict[str, dict[str, Path]] = {}
    for line in proc.stdout.splitlines():
        kind, dist, path = line.split(" ", 2)
        built.setdefault(dist, {})[kind] = Path(path)
    assert set(built) == set(_layout.DISTRIBUTIONS)
    return {dist: (b["WHEEL"], b["SDIST"]) for dist, b in built.items()}


def _wheel_metadata(wheel: Path):  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode())


def test_twine_check_passes_on_every_wheel_and_sdist(dists: dict[str, tuple[Path, Path]]) -> None:
    pytest.importorskip("twine", reason="twine is not installed: use the hatch test environment")
    files = [str(p) for pair in dists.values() for p in pair]
    assert len(files) == 14
    cp = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True,
                        timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.count("PASSED") == 14, cp.stdout


def test_metadata_of_every_distribution(dists: dict[str, tuple[Path, Path]]) -> None:
    repo_url = _docs_site().REPO_URL
    for dist, (wheel, _) in dists.items():
        meta = _wheel_metadata(wheel)
        assert meta["Name"] == dist
        assert meta["License-Expression"] == "MIT", dist
        assert meta.get_all("License-File") == ["LICENSE"], dist
        assert meta["Requires-Python"] == ">=3.10"
        assert meta["Description-Content-Type"] == "text/markdown"
        assert meta["Summary"].startswith("Pyro5 (Python Remote Objects) reimplemented"), dist
        urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
        assert set(urls) == {"Homepage", "Documentation", "Source", "Issues", "Changelog"}, dist
        assert all(u.startswith(repo_url) for u in urls.values()), urls          # the same place as the docs site
        classifiers = meta.get_all("Classifier")
        for c in ("Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.13",
                  "Topic :: System :: Distributed Computing", "Development Status :: 4 - Beta"):
            assert c in classifiers, (dist, c)
        assert not any(c.startswith("License ::") for c in classifiers), "PEP 639: the license expression says it"
        with zipfile.ZipFile(wheel) as zf:
            assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist()), dist
    assert "Typing :: Typed" in _wheel_metadata(dists["pyro5-wire"][0]).get_all("Classifier")


def test_sdists_hold_the_sources_readme_and_license(dists: dict[str, tuple[Path, Path]],
                                                    wheel_files: dict[str, list[str]]) -> None:
    for dist, (_, sdist) in dists.items():
        with tarfile.open(sdist) as tf:
            names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
        for required in ("README.md", "pyproject.toml", "LICENSE", "PKG-INFO"):
            assert required in names, (dist, required)
        sources = {n[len("src/"):] for n in names if n.startswith("src/") and not n.endswith("/")}
        assert sources == {f for f in wheel_files[dist] if f.startswith("Pyro5/")}, dist


def test_license_copies_match_the_repository_license() -> None:
    for dist in _layout.DISTRIBUTIONS:
        assert (REPO / "packages" / dist / "LICENSE").read_text() == (REPO / "LICENSE").read_text(), dist


def test_readmes_are_pypi_pages() -> None:
    for dist in _layout.DISTRIBUTIONS:
        text = (REPO / "packages" / dist / "README.md").read_text()
        assert text.startswith(f"# {dist}\n"), dist
        for section in ("## When to install it", "## Example", "## Links"):
            assert section in text, (dist, section)
        assert "pip uninstall Pyro5" in text, dist
        assert "](../" not in text and "](docs/" not in text, f"{dist}: relative links break on PyPI"
        blocks = text.split("```python\n")[1:]
        assert blocks, f"{dist} has no python example"
        for block in blocks:
            compile(block.split("\n```", 1)[0], f"packages/{dist}/README.md", "exec")
