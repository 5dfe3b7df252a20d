"""bench/client_cpu.py keeps working (a tiny run of this checkout); timing itself is never asserted."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.examples._harness import REPO


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the client CPU bench reads Linux's /proc")
def test_client_cpu_bench_runs() -> None:
    cp = subprocess.run([sys.executable, str(REPO / "bench" / "client_cpu.py"), "--tree", str(REPO), "--threads", "1,3",
                         "--rounds", "1", "--seconds", "0.1", "--serializer", "marshal"],
                        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rows = [line.split() for line in cp.stdout.splitlines() if line.startswith(str(REPO))]
    assert [row[1] for row in rows] == ["1", "3"], cp.stdout
    assert all(float(row[2]) > 0 and float(row[4]) > 0 for row in rows), cp.stdout   # CPU per call, calls/s measured
