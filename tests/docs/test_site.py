"""The documentation site: `docs/build.py` (= `hatch run docs:build`) builds it with Sphinx, warnings as errors;
the home page and an API page are screenshot in headless Chromium into the build output."""
from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import Pyro5

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
BUILD = DOCS / "build.py"


def _load(name: str, path: Path):  # type: ignore[no-untyped-def]
    """docs/build.py and docs/_site.py under names of their own (`build` is also the PyPA build package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_build = _load("pyro5_docs_build", BUILD)
docs_site = _load("pyro5_docs_site", DOCS / "_site.py")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The site, built once for this module (with screenshots when Chromium is there)."""
    pytest.importorskip("sphinx", reason="Sphinx is not installed: use the hatch test or docs environment")
    out = tmp_path_factory.mktemp("site") / "html"
    cp = subprocess.run([sys.executable, str(BUILD), "--out", str(out), "--screenshots"],
                        capture_output=True, text=True, timeout=600)
    return out, cp


def test_site_builds_without_warnings(site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, cp = site
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "WARNING" not in cp.stderr and "ERROR" not in cp.stderr, cp.stderr
    assert "docs OK" in cp.stdout and "site OK" in cp.stdout


def test_site_has_every_page(site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = site
    sources = [p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md")
               if not any(part.startswith(("_", ".")) for part in p.relative_to(DOCS).parts)]
    assert len(sources) >= 30
    for page in sources:
        assert (out / page).is_file(), f"{page} was not built"
    home = (out / "index.html").read_text()
    for title in ("Getting started", "User guide", "API reference", "Migrating from Pyro5 5.x",
                  "Porting from Pyro4", "Differences from Pyro5 5.15", "Changelog"):
        assert title in home, title


def test_api_reference_is_generated_from_docstrings(site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = site
    client = (out / "api" / "client.html").read_text()
    assert 'id="Pyro5.client.Proxy"' in client
    assert "_pyroReconnect" in client
    server = (out / "api" / "server.html").read_text()
    for name in ("Pyro5.server.Daemon", "Pyro5.server.expose", "Pyro5.server.serve"):
        assert f'id="{name}"' in server, name
    aio_client = (out / "api" / "aio_client.html").read_text()
    for name in ("AsyncProxy", "AsyncBatchProxy", "locate_ns", "resolve"):
        assert f'id="Pyro5.aio.client.{name}"' in aio_client, name
    assert 'id="Pyro5.nameserver.NameServer"' in (out / "api" / "nameserver.html").read_text()
    assert 'id="Pyro5.core.URI"' in (out / "api" / "core.html").read_text()


def test_links_out_of_docs_point_to_the_repository(site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = site
    page = (out / "guide" / "clients.html").read_text()
    assert f'href="{docs_site.REPO_URL}/tree/main/examples/oneway/"' in page
    assert 'href="servers.html#autoproxy"' in page


def test_every_config_item_is_documented() -> None:
    page = (DOCS / "guide" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_0-9]+)` \|", page, re.M))
    assert documented == set(Pyro5.config.as_dict()), set(Pyro5.config.as_dict()) ^ documented


def _png_size_and_colours(png: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the image data (a blank page has ~1)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.mark.browser
@pytest.mark.skipif(docs_build.find_chromium() is None,
                    reason="headless Chromium is not installed (apt-get install chromium): no screenshots")
def test_screenshots_of_home_and_api_page(site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, cp = site
    assert cp.returncode == 0, cp.stdout + cp.stderr
    for png in ("home.png", "api-client.png"):
        shot = out / "_screenshots" / png
        assert shot.is_file(), f"no {png}:\n{cp.stdout}\n{cp.stderr}"
        width, height, colours = _png_size_and_colours(shot)
        assert (width, height) == (1280, 900)
        assert colours > 20, f"{png} looks blank"
        assert f"screenshot: {shot}" in cp.stdout
    assert os.path.getsize(out / "_screenshots" / "home.png") != os.path.getsize(out / "_screenshots" / "api-client.png")
