"""bench/run.py keeps working (a tiny run); timing itself is never asserted."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples._harness import REPO

RUN = REPO / "bench" / "run.py"


def run_bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "result.md"
    cp = subprocess.run([sys.executable, str(RUN), "--seconds", "0.05", "--rounds", "1", "--out", str(out), *args],
                        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return cp, out.read_text()


def test_bench_runs_ours(tmp_path: Path) -> None:
    cp, md = run_bench(tmp_path, "--only", "ours", "--quick", "--filter", "marshal")
    assert md in cp.stdout
    assert "| small calls, marshal" in md
    assert "| 1 MiB upload, marshal" in md
    row = next(line for line in md.splitlines() if line.startswith("| small calls, marshal"))
    assert "n/a" not in row, md                        # it measured something (a rate and CPU per op of both sides)
    assert "client CPU µs/op (ours)" in md and "server CPU µs/op (ours)" in md
    size_row = next(line for line in md.splitlines() if line.startswith("| 1 MiB upload, marshal") and "ms/MB" in line)
    assert "n/a" not in size_row.split("|")[3], md     # time per MB, and (on Linux) the server's peak memory


@pytest.mark.slow
@pytest.mark.parametrize("rows, title", [("conns10-", "| 10 connections, thread server"),
                                         ("nsscale-memory", "| name server, memory storage, 1,000 names")])
def test_bench_scaling_rows(tmp_path: Path, rows: str, title: str) -> None:
    _, md = run_bench(tmp_path, "--only", "ours", "--quick", "--filter", rows)
    row = next(line for line in md.splitlines() if line.startswith(title))
    assert row.split("|")[3].strip() not in ("n/a", "n/a *"), md


@pytest.mark.interop
@pytest.mark.slow
def test_bench_compares_with_original(tmp_path: Path) -> None:
    _, md = run_bench(tmp_path, "--quick", "--filter", "small-serpent")
    header = next(line for line in md.splitlines() if line.startswith("| workload"))
    assert "original" in header and "ours/original" in header
    row = next(line for line in md.splitlines() if line.startswith("| small calls, serpent"))
    assert row.count("n/a") == 0, md
    assert "Pyro5 5.15" in md and "Pyro5 6." in md
