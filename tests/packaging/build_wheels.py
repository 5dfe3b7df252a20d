"""Build the wheels (and with --sdist also the sdists) of the pyro5 distributions in packages/.

    python tests/packaging/build_wheels.py [--outdir DIR] [--method auto|hooks|build|pip] [--sdist] [DIST ...]

`hatch run dist:wheels` runs this. Methods:
  hooks  call hatchling's PEP 517 hooks in this interpreter (needs hatchling importable; no network, fastest)
  build  `python -m build --wheel` per distribution (isolated build env, fetches hatchling)
  pip    `python -m pip wheel --no-deps` per distribution (isolated build env, fetches hatchling)
  auto   hooks when hatchling is importable, else build when installed, else pip.
Prints one line `WHEEL <dist> <path>` per built wheel (and `SDIST <dist> <path>` per sdist); exits non-zero
when a build fails. `hatch run dist:all` builds both into dist/, `hatch run dist:check` runs twine check on them.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES_DIR = REPO / "packages"
DISTRIBUTIONS = ["pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
                 "pyro5-compat4", "pyro5-full"]


def wheel_prefix(dist: str) -> str:
    """The file name prefix of a distribution's wheel (normalized name + '-')."""
    return dist.replace("-", "_") + "-"


def pick_method(method: str = "auto") -> str:
    if method != "auto":
        return method
    if importlib.util.find_spec("hatchling") is not None:
        return "hooks"
    if importlib.util.find_spec("build") is not None:
        return "build"
    return "pip"


def _find_wheel(outdir: Path, dist: str, before: set[Path]) -> Path:
    new = [p for p in outdir.glob(wheel_prefix(dist) + "*.whl") if p not in before]
    candidates = new or sorted(outdir.glob(wheel_prefix(dist) + "*.whl"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise RuntimeError(f"building {dist} produced no wheel in {outdir}")
    return candidates[-1]


def _build_hooks(pkgdir: Path, outdir: Path) -> str:
    from hatchling.build import build_wheel  # type: ignore[import-not-found]
    cwd = os.getcwd()
    os.chdir(pkgdir)
    try:
        return build_wheel(str(outdir))
    finally:
        os.chdir(cwd)


def _build_sdist_hooks(pkgdir: Path, outdir: Path) -> str:
    from hatchling.build import build_sdist  # type: ignore[import-not-found]
    cwd = os.getcwd()
    os.chdir(pkgdir)
    try:
        return build_sdist(str(outdir))
    finally:
        os.chdir(cwd)


def build_sdist(dist: str, outdir: Path, method: str) -> Path:
    """The source distribution (.tar.gz) of one distribution."""
    pkgdir = PACKAGES_DIR / dist
    outdir.mkdir(parents=True, exist_ok=True)
    prefix = dist.replace("-", "_") + "-"
    for old in outdir.glob(prefix + "*.tar.gz"):
        old.unlink()
    if method == "hooks":
        return outdir / _build_sdist_hooks(pkgdir, outdir)
    if method in ("build", "pip"):   # pip cannot build sdists: use build for both
        cmd = [sys.executable, "-m", "build", "--sdist", "--outdir", str(outdir), str(pkgdir)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"building the sdist of {dist} failed:\n{proc.stdout}\n{proc.stderr}")
        found = sorted(outdir.glob(prefix + "*.tar.gz"))
        if not found:
            raise RuntimeError(f"building {dist} produced no sdist in {outdir}")
        return found[-1]
    raise ValueError(f"unknown build method {method!r} (use auto, hooks, build or pip)")


def build_one(dist: str, outdir: Path, method: str) -> Path:
    pkgdir = PACKAGES_DIR / dist
    if not (pkgdir / "pyproject.toml").is_file():
        raise RuntimeError(f"no distribution {dist!r}: {pkgdir}/pyproject.toml is missing")
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob(wheel_prefix(dist) + "*.whl"):
        old.unlink()
    before = set(outdir.glob("*.whl"))
    if method == "hooks":
        return outdir / _build_hooks(pkgdir, outdir)
    if method == "build":
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(pkgdir)]
    elif method == "pip":
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(outdir), str(pkgdir)]
    else:
        raise ValueError(f"unknown build method {method!r} (use auto, hooks, build or pip)")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"building {dist} failed ({' '.join(cmd)}):\n{proc.stdout}\n{proc.stderr}")
    return _find_wheel(outdir, dist, before)


def build_wheels(outdir: Path, dists: list[str] | None = None, method: str = "auto") -> dict[str, Path]:
    """Build the wheels of `dists` (default: all seven) into outdir; returns {dist: wheel path}."""
    method = pick_method(method)
    return {dist: build_one(dist, Path(outdir).resolve(), method) for dist in dists or DISTRIBUTIONS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the wheels of the pyro5 distributions.")
    ap.add_argument("dists", nargs="*", help=f"distributions to build (default: all of {', '.join(DISTRIBUTIONS)})")
    ap.add_argument("--outdir", default=str(REPO / "dist"), help="where to put the wheels (default: <repo>/dist)")
    ap.add_argument("--method", default="auto", choices=["auto", "hooks", "build", "pip"])
    ap.add_argument("--sdist", action="store_true", help="also build the source distributions")
    args = ap.parse_args(argv)
    unknown = [d for d in args.dists if d not in DISTRIBUTIONS]
    if unknown:
        ap.error(f"unknown distribution(s) {unknown}; choose from {DISTRIBUTIONS}")
    try:
        wheels = build_wheels(Path(args.outdir), args.dists or None, args.method)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as x:
        print(f"error: {x}", file=sys.stderr)
        return 1
    for dist, path in wheels.items():
        print(f"WHEEL {dist} {path}")
    if args.sdist:
        method = pick_method(args.method)
        try:
            for dist in args.dists or DISTRIBUTIONS:
                print(f"SDIST {dist} {build_sdist(dist, Path(args.outdir).resolve(), method)}")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as x:
            print(f"error: {x}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
