"""Sphinx configuration of the pyro5 documentation site (`hatch run docs:build`).

The pages are Markdown (MyST); the API reference pages use autodoc on the installed modules.
Links from a page to files outside docs/ (the examples, the packages) point to the repository.
"""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS))

from _site import REPO_URL, outside_links_to_repository  # noqa: E402

project = "pyro5"
author = "pyro5 developers"
copyright = "2026, pyro5 developers"
try:
    import Pyro5
    release = Pyro5.__version__
except ImportError:  # the site is built in an environment that has the distributions installed
    release = "6"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_screenshots", "README.md", "build.py", "_site.py"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3            # GitHub-style anchors (#the-distributions), as docs/build.py checks them

autodoc_default_options = {
    "members": True,
    "undoc-members": True,          # a public name without a docstring is still part of the API
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = False
# Type hints of the library name types of other libraries (socket.socket, selectors...) and our private
# helpers; they are shown as text. Everything else that goes wrong is an error (the build runs with -W).
suppress_warnings: list[str] = []

html_theme = "furo"
html_title = f"pyro5 {release}"
html_static_path: list[str] = []
html_theme_options = {
    "source_repository": REPO_URL,
    "source_branch": "main",
    "source_directory": "docs/",
}
html_show_sourcelink = False
pygments_style = "sphinx"


def _rewrite_links(app, docname: str, source: list[str]) -> None:  # type: ignore[no-untyped-def]
    source[0] = outside_links_to_repository(source[0], DOCS / docname)


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _rewrite_links)
    return {"parallel_read_safe": True}

