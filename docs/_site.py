"""Helpers of the site build shared by conf.py and build.py (standard library only)."""
from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
# The public repository; the project URLs in packages/*/pyproject.toml name the same place.
REPO_URL = "https://github.com/pyro5-dev/pyro5"

_LINK = re.compile(r"(\]\(\s*<?)([^)\s>#]+)(#[^)\s>]*)?(>?(?:\s+\"[^\"]*\")?\s*\))")


def outside_links_to_repository(text: str, page: Path) -> str:
    """Turn relative Markdown links that leave docs/ (``../examples/ssl/``) into links to the repository.

    Inside docs/ the links stay relative, so they work on GitHub and in the built site alike."""
    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("/"):
            return m.group(0)
        dest = (page.parent / target).resolve()
        try:
            dest.relative_to(DOCS)
            return m.group(0)
        except ValueError:
            pass
        try:
            rel = dest.relative_to(REPO).as_posix()
        except ValueError:
            return m.group(0)
        if dest.is_dir() or target.endswith("/"):
            kind, rel = "tree", rel + "/"
        else:
            kind = "blob"
        return f"{m.group(1)}{REPO_URL}/{kind}/main/{rel}{m.group(3) or ''}{m.group(4)}"
    return _LINK.sub(fix, text)
