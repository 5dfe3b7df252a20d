"""Checks that the files of the installed pyro5 distributions are still theirs.

The pyro5 distributions and the original ``Pyro5`` 5.x distribution install files into the same ``Pyro5/``
package folder. When the original is installed after ours (for instance as another package's dependency), pip
overwrites our files without a word; uninstalling it afterwards deletes them. This module compares every file
in the install records (``RECORD``) of our distributions with what is on disk, and names the distribution
that overwrote a file (the one whose own record has the file's current content).

    pyro5-check-install                  # also run by pyro5-check-config
    python -m Pyro5.check_install

Standard library only, and no import of the rest of Pyro5: it must run when the ``Pyro5/`` files around it are
not ours anymore.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["OUR_DISTRIBUTIONS", "Problem", "find_problems", "original_pyro5", "installed_distributions",
           "format_report", "main"]

# every pyro5 distribution that installs files (pyro5-full installs none)
OUR_DISTRIBUTIONS = ("pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
                     "pyro5-compat4")


@dataclass(frozen=True)
class Problem:
    """One installed file of ours that is not what our install record says."""
    path: str                  # as in the record, e.g. "Pyro5/__init__.py"
    distribution: str          # ours, e.g. "pyro5-wire"
    state: str                 # "overwritten" or "missing"
    owner: str | None = None   # "Pyro5 5.15": the distribution whose record matches the file now

    def describe(self) -> str:
        """One line: the file, its distribution, and what happened to it."""
        if self.state == "missing":
            return "%s (%s) is missing" % (self.path, self.distribution)
        if self.owner:
            return "%s (%s) was overwritten by %s" % (self.path, self.distribution, self.owner)
        return "%s (%s) was changed after installation" % (self.path, self.distribution)


def _record_hash(content: bytes, algorithm: str) -> str:
    digest = hashlib.new(algorithm, content).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _matches(path: Path, file_hash: metadata.FileHash) -> bool:
    try:
        content = path.read_bytes()
    except OSError:
        return False
    return _record_hash(content, file_hash.mode) == file_hash.value


def _name_version(dist: metadata.Distribution) -> str:
    return "%s %s" % (dist.metadata["Name"], dist.version)


def _other_owners(paths: set[Path], ours: set[str], search: Sequence[str] | None) -> dict[Path, list[tuple]]:
    """{path: [(distribution, FileHash)]} of the distributions other than ours that list one of the paths."""
    found: dict[Path, list[tuple]] = {}
    for dist in metadata.distributions(path=list(search) if search is not None else sys.path):
        name = (dist.metadata["Name"] or "").lower()
        if name in ours:
            continue
        for f in dist.files or ():
            if f.hash is None:
                continue
            try:
                located = Path(os.path.normpath(str(dist.locate_file(f))))
            except (OSError, ValueError):
                continue
            if located in paths:
                found.setdefault(located, []).append((dist, f.hash))
    return found


def find_problems(search: Sequence[str] | None = None, distributions: Iterable[str] = OUR_DISTRIBUTIONS
                  ) -> list[Problem]:
    """Every file of our installed distributions that is missing or has other content than its record says.

    ``search`` is the list of folders to look for installed distributions in (default: sys.path).
    Editable (development) installs record no package files, so they have nothing to check."""
    ours = {d.lower() for d in distributions}
    changed: list[tuple[Path, str, str]] = []
    problems: list[Problem] = []
    for name in distributions:
        found = list(metadata.distributions(name=name, path=list(search) if search is not None else sys.path))
        if not found:
            continue
        dist = found[0]
        for f in dist.files or ():
            if f.hash is None or f.suffix in (".pyc", ".pyo") or "__pycache__" in f.parts:
                continue
            if any(part.endswith(".dist-info") for part in f.parts):
                continue
            located = Path(os.path.normpath(str(dist.locate_file(f))))
            shown = str(located) if ".." in f.parts else f.as_posix()      # scripts live outside site-packages
            if not located.exists():
                problems.append(Problem(shown, name, "missing"))
            elif not _matches(located, f.hash):
                changed.append((located, shown, name))
    if changed:
        others = _other_owners({c[0] for c in changed}, ours, search)
        for located, shown, name in changed:
            owner = next((_name_version(d) for d, h in others.get(located, []) if _matches(located, h)), None)
            problems.append(Problem(shown, name, "overwritten", owner))
    order = {name: i for i, name in enumerate(distributions)}
    return sorted(problems, key=lambda p: (order[p.distribution], p.path))


def original_pyro5(search: Sequence[str] | None = None) -> str | None:
    """"Pyro5 5.15" when the original Pyro5 distribution is installed, else None."""
    for dist in metadata.distributions(name="Pyro5", path=list(search) if search is not None else sys.path):
        return _name_version(dist)
    return None


def installed_distributions(search: Sequence[str] | None = None) -> list[str]:
    """Names of our distributions that are installed."""
    return [name for name in OUR_DISTRIBUTIONS
            if any(True for _ in metadata.distributions(name=name, path=list(search) if search is not None
                                                         else sys.path))]


def format_report(problems: Sequence[Problem], installed: Sequence[str], original: str | None = None,
                  limit: int | None = None) -> str:
    """The text shown by the tools and the import-time warning: what is wrong and the fix."""
    owners = sorted({p.owner.split()[0] for p in problems if p.owner} | ({original.split()[0]} if original else set()))
    lines = []
    if original:
        lines.append("the original %s is installed beside pyro5; uninstalling it would delete pyro5's files."
                     % original)
    if problems:
        lines.append("%d file(s) of the pyro5 distributions are not what pyro5 installed:" % len(problems))
        lines += ["  " + p.describe() for p in problems[:limit]]
        if limit is not None and len(problems) > limit:
            lines.append("  ... and %d more" % (len(problems) - limit))
    uninstall = " ".join(owners) if owners else "Pyro5"
    lines.append("The original Pyro5 and pyro5 share the Pyro5/ package folder and cannot be installed together.")
    lines.append("Fix: pip uninstall %s && pip install --force-reinstall %s"
                 % (uninstall, " ".join(installed) or "pyro5-full"))
    return "\n".join(lines)


def main(args: Sequence[str] | None = None) -> int:
    """Entry point of ``pyro5-check-install``: exit status 0 when every file is ours, 1 when not."""
    import argparse
    parser = argparse.ArgumentParser(prog="pyro5-check-install",
                                     description="Check that no other distribution (such as the original Pyro5) "
                                                 "overwrote the files of the installed pyro5 distributions.")
    parser.parse_args(sys.argv[1:] if args is None else args)
    installed = installed_distributions()
    problems = find_problems()
    original = original_pyro5()
    if problems or original:
        print("Installation problem: " + format_report(problems, installed, original))
        return 1
    if installed:
        print("Installation OK: the files of %s are as installed." % ", ".join(installed))
    else:
        print("Installation OK: no pyro5 distributions installed from wheels (a development install?).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
