"""bench/hooks.py keeps working (a tiny run); timing itself is never asserted."""
from __future__ import annotations

import subprocess
import sys

from tests.examples._harness import REPO


def test_bench_hooks_runs() -> None:
    cp = subprocess.run([sys.executable, str(REPO / "bench" / "hooks.py"), "--seconds", "0.05", "--rounds", "1",
                         "--variants", "none,noop,tracking,otel-sdk"], capture_output=True, text=True, timeout=180,
                        cwd=REPO)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rows = {line.split("|")[1].strip(): line for line in cp.stdout.splitlines() if line.startswith("| ")}
    assert rows["none"].rstrip().endswith("| 1.000 |")
    assert {"noop", "tracking"} <= set(rows)
    for row in rows.values():
        assert "n/a" not in row
