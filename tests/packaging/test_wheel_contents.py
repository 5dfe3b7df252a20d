"""The built wheels: each ships exactly its own files, correct metadata, console scripts and import layering."""
from __future__ import annotations

import ast
import re
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.packaging import _layout

DISTS = _layout.DISTRIBUTIONS
REPO = Path(__file__).resolve().parents[2]


def _dist_info(dist: str) -> str:
    return f"{dist.replace('-', '_')}-6.0.0.dist-info/"


def _payload_files(wheel_files, dist: str) -> list[str]:
    """The files of a wheel outside its .dist-info folder."""
    return [f for f in wheel_files[dist] if not f.startswith(_dist_info(dist))]


def _read(wheels, dist: str, member: str) -> str:
    with zipfile.ZipFile(wheels[dist]) as zf:
        return zf.read(member).decode()


def test_every_distribution_builds_a_wheel(wheels):
    assert sorted(wheels) == sorted(DISTS)
    for dist, path in wheels.items():
        assert path.name.startswith(dist.replace("-", "_") + "-6.0.0-py3-none-any"), path.name


@pytest.mark.parametrize("dist", DISTS)
def test_wheel_ships_exactly_its_own_files(wheel_files, dist):
    files = _payload_files(wheel_files, dist)
    missing = _layout.PUBLIC_FILES[dist] - set(files)
    assert not missing, f"{dist} wheel lacks {sorted(missing)}"
    foreign = [f for f in files if not _layout.is_allowed(dist, f)]
    assert not foreign, (f"{dist} wheel ships files that are not its own (DESIGN.md §2; private helpers must "
                         f"start with '_'): {foreign}")


def test_full_ships_no_pyro5_files(wheel_files):
    assert _payload_files(wheel_files, "pyro5-full") == []


def test_no_file_in_two_wheels(wheel_files):
    owner: dict[str, str] = {}
    clashes = []
    for dist in DISTS:
        for f in _payload_files(wheel_files, dist):
            if f in owner:
                clashes.append((f, owner[f], dist))
            owner[f] = dist
    assert not clashes, f"files shipped by two distributions: {clashes}"


def test_only_wire_ships_package_init_and_py_typed(wheel_files):
    for dist in DISTS:
        files = set(_payload_files(wheel_files, dist))
        expected = dist == "pyro5-wire"
        assert ("Pyro5/__init__.py" in files) == expected, dist
        assert ("Pyro5/py.typed" in files) == expected, dist
        assert "Pyro5/utils/__init__.py" not in files, f"{dist} ships Pyro5/utils/__init__.py (a shared folder)"
        assert "Pyro5/aio/__init__.py" not in files, f"{dist} ships Pyro5/aio/__init__.py (a shared folder)"
        stray_typed = [f for f in files if f.endswith("py.typed") and f != "Pyro5/py.typed"]
        assert not stray_typed, f"{dist}: {stray_typed}"


def test_wire_init_extends_path_first(wheels):
    tree = ast.parse(_read(wheels, "pyro5-wire", "Pyro5/__init__.py"))
    first = tree.body[0]
    assert isinstance(first, ast.Assign) and ast.unparse(first) == \
        "__path__ = __import__('pkgutil').extend_path(__path__, __name__)"


def test_no_bytecode_caches_or_tests(wheel_files):
    for dist in DISTS:
        bad = [f for f in wheel_files[dist] if "__pycache__" in f or f.endswith((".pyc", ".pyo"))
               or "/tests/" in f or f.startswith("tests/")]
        assert not bad, f"{dist}: {bad}"
        outside = [f for f in wheel_files[dist] if not (f.startswith("Pyro5/") or f.startswith(_dist_info(dist)))]
        assert not outside, f"{dist} ships files outside the Pyro5 package: {outside}"


_IGNORED_DIRS = {".mypy_cache", ".ruff_cache", ".pytest_cache"}  # tool caches, gitignored like __pycache__


@pytest.mark.parametrize("dist", [d for d in DISTS if d != "pyro5-full"])
def test_wheel_matches_source_tree(wheel_files, dist):
    src = REPO / "packages" / dist / "src"
    on_disk = {p.relative_to(src).as_posix() for p in src.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
               and not any(part.endswith(".egg-info") or part in _IGNORED_DIRS for part in p.relative_to(src).parts)}
    assert set(_payload_files(wheel_files, dist)) == on_disk


def _requirement_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    assert m, req
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


@pytest.mark.parametrize("dist", DISTS)
def test_metadata(wheels, dist):
    meta = Parser().parsestr(_read(wheels, dist, _dist_info(dist) + "METADATA"))
    assert meta["Name"] == dist
    assert meta["Version"] == "6.0.0"
    assert meta["Requires-Python"].replace(" ", "") == ">=3.10"
    everything = meta.get_all("Requires-Dist") or []
    requires = [r for r in everything if "extra ==" not in r]
    assert {_requirement_name(r) for r in requires} == _layout.REQUIRES[dist]
    extras: dict[str, set[str]] = {}
    for r in everything:
        if "extra ==" in r:
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", r)
            assert extra, r
            extras.setdefault(extra.group(1), set()).add(_requirement_name(r))
    assert extras == _layout.EXTRAS.get(dist, {})
    for r in requires:
        if _requirement_name(r).startswith("pyro5-"):
            spec = r.replace(" ", "")
            assert ">=6" in spec and "<7" in spec, f"{dist}: sibling requirement {r!r} must be >=6,<7"
    assert _requirement_name(dist) != "pyro5", "no distribution may be named Pyro5"


def _console_scripts(wheels, dist: str) -> dict[str, str]:
    member = _dist_info(dist) + "entry_points.txt"
    with zipfile.ZipFile(wheels[dist]) as zf:
        if member not in zf.namelist():
            return {}
        text = zf.read(member).decode()
    scripts, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section == "console_scripts":
            name, target = (s.strip() for s in line.split("=", 1))
            scripts[name] = target
    return scripts


@pytest.mark.parametrize("dist", DISTS)
def test_console_scripts_declared(wheels, dist):
    assert _console_scripts(wheels, dist) == _layout.SCRIPTS[dist]


# ------------------------------------------------------------------------------------------ import layering

def _module_name(path: str) -> str:
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _module_owners(wheel_files) -> dict[str, str]:
    owners = {}
    for dist in DISTS:
        for f in _payload_files(wheel_files, dist):
            if f.endswith(".py"):
                owners[_module_name(f)] = dist
    return owners


_IMPORT_FUNCS = {"importlib.import_module", "import_module", "__import__", "_importlib.import_module"}


class _ImportCollector(ast.NodeVisitor):
    """Every Pyro5 import of a module: (name, at module level?, guarded by an ImportError handler?, surely a module?).

    `from X import a` gives X (surely a module) and X.a (a module or an attribute of X). Imports under
    `if TYPE_CHECKING:` never run and are skipped.
    """

    def __init__(self, package: str) -> None:
        self.package = package
        self.found: list[tuple[str, bool, bool, bool]] = []
        self.in_function = 0
        self.guarded = 0

    def _add(self, name: str, surely_module: bool) -> None:
        if name == "Pyro5" or name.startswith("Pyro5."):
            self.found.append((name, not self.in_function, bool(self.guarded), surely_module))

    def visit_FunctionDef(self, node) -> None:
        self.in_function += 1
        self.generic_visit(node)
        self.in_function -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        catches = any(h.type is None or re.search(r"\b(ModuleNotFoundError|ImportError|Exception|BaseException)\b",
                                                  ast.unparse(h.type)) for h in node.handlers)
        self.guarded += catches
        for child in node.body:
            self.visit(child)
        self.guarded -= catches
        for child in node.handlers + node.orelse + node.finalbody:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._add(a.name, True)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[:len(parts) - node.level + 1]
            base = ".".join(parts + ([base] if base else []))
        self._add(base, True)
        for a in node.names:
            self._add(f"{base}.{a.name}", False)

    def visit_Call(self, node: ast.Call) -> None:
        if ast.unparse(node.func) in _IMPORT_FUNCS and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            self._add(node.args[0].value, True)
        self.generic_visit(node)


def _imports(source: str, module: str, is_package: bool) -> list[tuple[str, bool, bool, bool]]:
    collector = _ImportCollector(module if is_package else module.rpartition(".")[0])
    collector.visit(ast.parse(source))
    return collector.found


@pytest.mark.parametrize("dist", [d for d in DISTS if d != "pyro5-full"])
def test_imports_stay_inside_the_dependency_closure(wheels, wheel_files, dist):
    """A distribution imports only its own and its dependencies' modules (client and server never each other).

    Anything else must be a lazy import inside a function, guarded by an ImportError handler that can tell
    the user which distribution to install (DESIGN.md §2, docs/internals.md "Layering").
    """
    owners = _module_owners(wheel_files)
    folders = {"Pyro5.utils", "Pyro5.compatibility"}
    allowed = _layout.closure(dist)
    problems = []
    for f in _payload_files(wheel_files, dist):
        if not f.endswith(".py"):
            continue
        module = _module_name(f)
        for name, at_top, guarded, surely_module in _imports(_read(wheels, dist, f), module,
                                                             f.endswith("__init__.py")):
            if name in owners:
                owner = owners[name]
            elif name in folders or not surely_module:
                continue  # `from X import attribute`: X itself is checked separately
            else:
                problems.append(f"{f}: imports {name}, which no wheel ships")
                continue
            if owner in allowed:
                continue
            if at_top:
                problems.append(f"{f}: imports {name} ({owner}) at module level, but {dist} does not depend on "
                                f"{owner}: import it lazily")
            elif not guarded:
                problems.append(f"{f}: imports {name} ({owner}) lazily but without an ImportError handler that "
                                f"names {owner}")
    assert not problems, "\n".join(problems)
