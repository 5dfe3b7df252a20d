"""bench/run.py: how many interleaved rounds each row gets, several "before" trees, every round kept for medians.
(No timing is asserted: the rounds are counted with a stand-in for the measurement.)"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from tests.examples._harness import REPO

RUN = REPO / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench_run() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_run_under_test", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # (its dataclasses look their module up)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def counted_rounds(bench_run: ModuleType, monkeypatch: pytest.MonkeyPatch, ids: list[str], rounds: int
                   ) -> tuple[dict[str, int], dict[str, dict[str, list[dict[str, Any]]]]]:
    """Runs measure() for the workloads `ids` with a stand-in measurement: rounds per workload, every round."""
    calls: dict[str, int] = {}
    servers: list[tuple[str, ...]] = []

    def fake_group(impl: Any, group: list[Any], seconds: float, tmpdir: Path) -> dict[str, dict[str, Any]]:
        servers.append(group[0].group[1])
        for w in group:
            calls[w.id] = calls.get(w.id, 0) + 1
        return {w.id: {"value": float(calls[w.id])} for w in group}

    monkeypatch.setattr(bench_run, "measure_group", fake_group)
    workloads = [w for w in bench_run.build_workloads(False) if w.id in ids]
    impl = bench_run.Impl("ours", sys.executable, {})
    every: dict[str, dict[str, list[dict[str, Any]]]] = {}
    best = bench_run.measure([impl], workloads, 0.01, rounds, every)
    assert {wid: r["value"] for wid, r in best["ours"].items()} == calls     # (the best round is the last here)
    return calls, every


def test_many_connections_get_their_own_server_and_one_round_more(bench_run: ModuleType,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ids = ["conns100-thread", "conns1000-thread", "conns1000-multiplex"]
    by_id = {w.id: w for w in bench_run.build_workloads(False)}
    assert by_id["conns1000-thread"].group != by_id["conns100-thread"].group
    calls, every = counted_rounds(bench_run, monkeypatch, ids, 3)
    assert calls == {"conns100-thread": 2, "conns1000-thread": 4, "conns1000-multiplex": 4}
    assert [r["value"] for r in every["ours"]["conns1000-thread"]] == [1.0, 2.0, 3.0, 4.0]
    # one round more than the run's, up to MANY_CONNECTIONS_ROUNDS
    calls, _ = counted_rounds(bench_run, monkeypatch, ids, 1)
    assert calls == {"conns100-thread": 1, "conns1000-thread": 2, "conns1000-multiplex": 2}
    calls, _ = counted_rounds(bench_run, monkeypatch, ids, 9)
    assert calls["conns1000-thread"] == bench_run.MANY_CONNECTIONS_ROUNDS and calls["conns100-thread"] == 2


def test_quick_runs_have_no_thousand_connection_rows(bench_run: ModuleType) -> None:
    assert not [w for w in bench_run.build_workloads(True) if w.id.startswith("conns1000")]


def test_several_before_trees(bench_run: ModuleType) -> None:
    impls = bench_run.implementations("ours", [str(REPO), f"r4={REPO}", str(REPO)])
    assert [i.label for i in impls] == ["before", "r4", "before3", "ours"]
    srcs = impls[0].env["PYTHONPATH"].split(":")
    assert srcs and all(Path(s).parent.parent == REPO / "packages" for s in srcs)
    with pytest.raises(SystemExit):
        bench_run.implementations("ours", [str(REPO / "bench")])     # (no packages/*/src there)


@pytest.mark.slow
def test_a_run_with_a_before_tree_keeps_every_round(tmp_path: Path) -> None:
    out = tmp_path / "result.md"
    cp = subprocess.run([sys.executable, str(RUN), "--seconds", "0.05", "--rounds", "2", "--quick", "--only", "ours",
                         "--before", f"main={REPO}", "--filter", "small-marshal", "--out", str(out)],
                        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    header = next(line for line in out.read_text().splitlines() if line.startswith("| workload"))
    assert [c.strip() for c in header.split("|")][3:6] == ["main", "ours", "ours/main"], header
    raw = json.loads(out.with_suffix(".json").read_text())
    assert set(raw["every_round"]) == {"main", "ours"}
    rounds = raw["every_round"]["ours"]["small-marshal"]
    assert len(rounds) == 2 and all(r["value"] for r in rounds)
