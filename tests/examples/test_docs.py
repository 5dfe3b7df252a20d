"""docs/build.py: the real docs pass, and the checker catches the problems it is meant to catch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.examples._harness import REPO

BUILD = REPO / "docs" / "build.py"


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BUILD), *args], capture_output=True, text=True, timeout=60)


def test_docs_build_passes() -> None:
    cp = run_build("--check-only")                  # the site build itself: tests/docs/test_site.py
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "docs OK" in cp.stdout


def test_docs_cover_required_pages() -> None:
    for page in ("index.md", "installation.md", "guide.md", "getting-started.md", "migrating.md",
                 "porting-pyro4.md", "differences.md", "changelog.md", "api/index.md"):
        assert (REPO / "docs" / page).is_file(), page
    installation = (REPO / "docs" / "installation.md").read_text()
    assert "pip uninstall Pyro5" in installation
    for dist in ("pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
                 "pyro5-compat4", "pyro5-full"):
        assert f"`{dist}`" in installation, dist


def test_docs_build_finds_problems(tmp_path: Path) -> None:
    (tmp_path / "index.md").write_text(
        "# Index\n\n[good](other.md#a-heading) [missing](nope.md) [bad anchor](other.md#nothing)\n"
        "[self](#index) [external](https://example.org/x) `[in code](ignored.md)`\n\n"
        "```python\nprint('fine')\n```\n\n```python\ndef broken(:\n```\n")
    (tmp_path / "other.md").write_text("# Other\n\n## A heading\n\n```console\n$ never closed\n")
    (tmp_path / "orphan.md").write_text("# Orphan\n")
    cp = run_build("--root", str(tmp_path))
    assert cp.returncode == 1, cp.stdout
    out = cp.stdout
    assert "broken link 'nope.md'" in out
    assert "no heading with anchor #nothing" in out
    assert "python code block does not compile" in out
    assert "index.md:11: python code block" in out                    # the line of the syntax error
    assert "code fence ``` is never closed" in out
    assert "orphan.md:1: page is not reachable from index.md" in out
    assert "other.md#a-heading" not in out and "#index" not in out and "ignored.md" not in out
    assert "FAILED: 5 problem(s)" in out


def test_every_example_is_documented_and_tested() -> None:
    examples = REPO / "examples"
    index = (examples / "README.md").read_text()
    docs_page = (REPO / "docs" / "examples.md").read_text()
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    folders = sorted(p.name for p in examples.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    assert len(folders) >= 14, folders
    for name in folders:
        assert (examples / name / "README.md").is_file(), f"examples/{name} has no README.md"
        assert f"]({name}/)" in index, f"examples/{name} is missing from examples/README.md"
        assert f"](../examples/{name}/)" in docs_page, f"examples/{name} is missing from docs/examples.md"
        assert f'"{name}"' in tests, f"examples/{name} has no smoke test in tests/examples"
