"""Checks the documentation and builds the site; exits non-zero when something is wrong.

    python docs/build.py                  # or: hatch run docs:build -> docs/_build/html
    python docs/build.py --check-only     # only the checks below (standard library only, fast)
    python docs/build.py --out DIR        # build the site into DIR
    python docs/build.py --screenshots    # also screenshot the home page and an API page (headless Chromium)
    python docs/build.py --root DIR ...   # check other folders (used by the tests; implies --check-only)

For every Markdown file in docs/ (and the READMEs in examples/):
- every relative link resolves to an existing file or folder, and a `#fragment` to a heading of its page;
- every ```python code block compiles, and every code fence is closed;
- every page in docs/ is reachable from docs/index.md.
The checks use the standard library only. The site is built afterwards by Sphinx (with myst-parser for the
Markdown pages and autodoc for the API reference) with warnings as errors: `hatch run docs:build` has them.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
LINK = re.compile(r"(?<!\\)!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
PYTHON_LANGS = {"python", "py", "python3"}


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


class Page:
    def __init__(self, path: Path):
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.links: list[tuple[int, str]] = []
        self.code: list[tuple[int, str, str]] = []       # (line, language, source)
        self.anchors: set[str] = set()
        self.problems: list[str] = []
        self._parse()

    def where(self, line: int) -> str:
        try:
            shown = self.path.relative_to(REPO)
        except ValueError:
            shown = self.path
        return f"{shown}:{line}"

    def _parse(self) -> None:
        fence: tuple[int, str, str] | None = None       # (start line, marker, language)
        block: list[str] = []
        seen: dict[str, int] = {}
        for number, line in enumerate(self.text.splitlines(), 1):
            m = FENCE.match(line)
            if fence is not None:
                if m and m.group(2)[0] == fence[1][0] and len(m.group(2)) >= len(fence[1]) and not m.group(3):
                    self.code.append((fence[0], fence[2], "\n".join(block)))
                    fence, block = None, []
                else:
                    block.append(line)
                continue
            if m:
                fence, block = (number, m.group(2), m.group(3).lower()), []
                continue
            h = HEADING.match(line)
            if h:
                slug = slugify(h.group(2))
                if slug in seen:
                    seen[slug] += 1
                    slug = f"{slug}-{seen[slug]}"
                else:
                    seen[slug] = 0
                self.anchors.add(slug)
            for target in LINK.findall(INLINE_CODE.sub("", line)):
                self.links.append((number, target))
        if fence is not None:
            self.problems.append(f"{self.where(fence[0])}: code fence {fence[1]} is never closed")


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target))    # http:, https:, mailto:, ...


def check(pages: dict[Path, Page], index: Path | None) -> list[str]:
    problems: list[str] = []
    linked: set[Path] = set()
    for page in pages.values():
        problems += page.problems
        for line, target in page.links:
            if is_external(target):
                continue
            path_part, _, fragment = target.partition("#")
            dest = (page.path.parent / path_part).resolve() if path_part else page.path
            if not dest.exists():
                problems.append(f"{page.where(line)}: broken link {target!r}: {dest} does not exist")
                continue
            linked.add(dest)
            if fragment and dest.suffix == ".md":
                dest_page = pages.get(dest) or Page(dest)
                if fragment not in dest_page.anchors:
                    problems.append(f"{page.where(line)}: broken link {target!r}: no heading with anchor "
                                    f"#{fragment} in {dest.name}")
        for line, lang, source in page.code:
            if lang in PYTHON_LANGS:
                try:
                    compile(source, f"{page.where(line)} (code block)", "exec")
                except SyntaxError as x:
                    problems.append(f"{page.where(line + (x.lineno or 0))}: python code block does not compile: "
                                    f"{x.msg}")
    if index is not None:
        reachable = {index}
        todo = [index]
        while todo:
            page = pages.get(todo.pop())
            if page is None:
                continue
            for _, target in page.links:
                if is_external(target):
                    continue
                dest = (page.path.parent / target.partition("#")[0]).resolve()
                if dest in pages and dest not in reachable:
                    reachable.add(dest)
                    todo.append(dest)
        for path, page in pages.items():
            if path.parent == index.parent and path not in reachable:
                problems.append(f"{page.where(1)}: page is not reachable from {index.name}")
    return problems


def collect(roots: list[Path]) -> dict[Path, Page]:
    pages: dict[Path, Page] = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.md"))
        for f in files:
            if any(part.startswith((".", "_")) for part in f.relative_to(root.parent if root.is_file() else root).parts):
                continue
            pages[f.resolve()] = Page(f.resolve())
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, action="append",
                        help="folder or file to check (repeatable; default: docs/ and examples/)")
    parser.add_argument("--index", type=Path, help="the start page for the reachability check "
                        "(default: index.md in the first root, if there is one)")
    parser.add_argument("--check-only", action="store_true", help="run the checks, do not build the site")
    parser.add_argument("--out", type=Path, default=DOCS / "_build" / "html",
                        help="output folder of the site (default: docs/_build/html)")
    parser.add_argument("--screenshots", action="store_true",
                        help="screenshot the built home page and an API page into OUT/_screenshots (Chromium)")
    args = parser.parse_args(argv)
    roots = [r.resolve() for r in (args.root or [DOCS, REPO / "examples"])]
    index = (args.index or roots[0] / "index.md").resolve()
    pages = collect(roots)
    problems = check(pages, index if index in pages else None)
    for p in problems:
        print(p)
    n_links = sum(len(p.links) for p in pages.values())
    n_code = sum(1 for p in pages.values() for c in p.code if c[1] in PYTHON_LANGS)
    summary = f"{len(pages)} pages, {n_links} links, {n_code} python code blocks checked"
    if problems:
        print(f"docs check FAILED: {len(problems)} problem(s); {summary}")
        return 1
    print(f"docs OK: {summary}")
    if args.check_only or args.root:
        return 0
    status = build_site(args.out)
    if status == 0 and args.screenshots:
        browser = find_chromium()
        if browser is None:
            print("screenshots skipped: no Chromium found (apt-get install chromium)")
        else:
            for page, png in SCREENSHOTS.items():
                shot = screenshot(browser, args.out / page, args.out / "_screenshots" / png)
                print(f"screenshot: {shot}")
    return status


def build_site(out: Path) -> int:
    """Build the HTML site with Sphinx, every warning an error (the whole build is checked, then it fails)."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-W", "--keep-going", "-q",
           "-d", str(out.parent / "doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        print(f"site build FAILED ({' '.join(cmd)})")
        return proc.returncode or 1
    print(f"site OK: {out / 'index.html'}")
    return 0


# built page -> picture in <out>/_screenshots
SCREENSHOTS = {"index.html": "home.png", "api/client.html": "api-client.png"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,900"]


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        found = name and shutil.which(name)
        if found:
            return found
    return None


def screenshot(browser: str, page: Path, png: Path, timeout: float = 90) -> Path:
    """A 1280x900 PNG of a built page, taken by headless Chromium with a profile of its own."""
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    with tempfile.TemporaryDirectory(prefix="pyro5-docs-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if not png.is_file():
        raise RuntimeError(f"Chromium made no screenshot of {page} (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return png


if __name__ == "__main__":
    sys.exit(main())
