"""Pyro5.api: the names type checkers see (the TYPE_CHECKING imports and __all__) match the lazy table."""
from __future__ import annotations

import ast
from pathlib import Path

import Pyro5.api

EAGER = {"config", "current_context", "errors", "URI", "locate_ns", "resolve", "type_meta",
         "Interceptor", "CallInfo"}      # (the call hooks' types, pyro5-wire: issue 14)


def test_all_lists_every_public_name_once() -> None:
    assert len(Pyro5.api.__all__) == len(set(Pyro5.api.__all__))
    assert set(Pyro5.api.__all__) == EAGER | set(Pyro5.api._LAZY)


def test_type_checking_imports_match_the_lazy_table() -> None:
    tree = ast.parse(Path(Pyro5.api.__file__).read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    seen: dict[str, str] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names:
            assert alias.asname == alias.name, "re-export needs 'import X as X'"
            seen[alias.name] = "Pyro5." + (node.module or "")
    assert seen == {name: module for name, (module, _dist) in Pyro5.api._LAZY.items()}
