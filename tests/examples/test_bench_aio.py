"""bench/aio.py keeps working (a tiny run against the original and ours); timing itself is never asserted."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.examples._harness import REPO


@pytest.mark.interop
def test_bench_aio_runs() -> None:
    cp = subprocess.run([sys.executable, str(REPO / "bench" / "aio.py"), "--rounds", "1", "--seconds", "0.3",
                         "--connections", "20", "--concurrency", "5"],
                        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rows = [line for line in cp.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 7, cp.stdout          # the header and six workloads
    assert any("1 AsyncProxy x 5 tasks -> ours AsyncDaemon" in row for row in rows)
    assert any("20 connections -> ours AsyncDaemon" in row for row in rows)
    assert "AsyncDaemon memory" in cp.stdout or sys.platform != "linux"
