"""The peer benchmark (benchmarks/bench_peers.py) on a tiny configuration, so it cannot rot.

The captum_surv side always runs. The peers (survshap, survlimepy) run when they are
installed (``make bench-peers``); otherwise their cells are recorded as skipped, and the
checks that need them are skipped with the reason.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))

import bench_peers  # noqa: E402
import peers  # noqa: E402

HAVE_SURVSHAP = peers.available("survshap")
HAVE_SURVLIME = peers.available("survlimepy")
NEEDS_SURVSHAP = pytest.mark.skipif(not HAVE_SURVSHAP, reason=peers.missing_reason("survshap"))
NEEDS_SURVLIME = pytest.mark.skipif(not HAVE_SURVLIME, reason=peers.missing_reason("survlimepy"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    threads = torch.get_num_threads()
    try:
        bench_peers.main(["--tiny", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    return out


def test_writes_every_output(tiny_run: Path) -> None:
    for part in ("runtime", "accuracy", "ranking", "engine", "targets"):
        assert (tiny_run / f"peers_tiny_{part}.csv").is_file(), part
    for part in ("runtime", "accuracy", "ranking"):
        assert (tiny_run / f"peers_tiny_{part}.png").stat().st_size > 1000, part
    text = (tiny_run / "peers_tiny.md").read_text()
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "cores", "torch"):
        assert heading in text


def test_ours_complete_and_timed(tiny_run: Path) -> None:
    runtime = pd.read_csv(tiny_run / "peers_tiny_runtime.csv")
    ours = runtime[runtime.family == "ours"]
    cfg = bench_peers.PRESETS["tiny"]
    assert set(ours.model) == set(cfg.models)
    assert set(ours.p) == set(cfg.ps)
    assert (ours.status == "ok").all()
    assert (ours.per_instance_s > 0).all()
    accuracy = pd.read_csv(tiny_run / "peers_tiny_accuracy.csv")
    intgrad = accuracy[accuracy.method == "IntGrad(t)"]
    assert len(intgrad) == len(cfg.models)
    assert (intgrad.local_accuracy_mean < 1e-3).all()  # completeness of IntGrad(t)
    engine = pd.read_csv(tiny_run / "peers_tiny_engine.csv")
    assert (engine["max rel. diff ours vs loop"] < 1e-4).all()  # same values as Captum's loop


def test_peers_recorded_not_dropped(tiny_run: Path) -> None:
    runtime = pd.read_csv(tiny_run / "peers_tiny_runtime.csv")
    cfg = bench_peers.PRESETS["tiny"]
    peer_rows = runtime[runtime.family != "ours"]
    assert len(peer_rows) == len(cfg.models) * len(cfg.ps) * len(cfg.peers)
    allowed = {"ok", "timeout", "oom", "error", "failed", "skipped"}
    assert set(peer_rows.status) <= allowed
    if not HAVE_SURVSHAP:
        assert (peer_rows[peer_rows.family == "SurvSHAP(t)"].status == "skipped").all()


@NEEDS_SURVSHAP
def test_survshap_runs_and_is_locally_accurate(tiny_run: Path) -> None:
    runtime = pd.read_csv(tiny_run / "peers_tiny_runtime.csv")
    shap = runtime[runtime.family == "SurvSHAP(t)"]
    assert (shap.status == "ok").all(), shap[["model", "p", "method", "status", "note"]]
    accuracy = pd.read_csv(tiny_run / "peers_tiny_accuracy.csv")
    kernel = accuracy[accuracy.method == "SurvSHAP(t) kernel"]
    assert (kernel.local_accuracy_max < 1e-5).all()  # local accuracy by construction
    compared = accuracy[accuracy.instances_compared > 0]
    assert compared.spearman_vs_exact.between(-1, 1).all()


@NEEDS_SURVLIME
def test_survlime_runs(tiny_run: Path) -> None:
    runtime = pd.read_csv(tiny_run / "peers_tiny_runtime.csv")
    lime = runtime[runtime.family == "SurvLIME"]
    assert (lime.status == "ok").all(), lime[["model", "p", "method", "status", "note"]]
    ranking = pd.read_csv(tiny_run / "peers_tiny_ranking.csv")
    rows = ranking[ranking.method.str.startswith("SurvLIME")]
    assert (rows.instances > 0).all()
    assert rows.kendall_tau_mean.between(-1, 1).all()


def test_capped_runner_records_timeout_and_oom() -> None:
    def slow(item: float) -> float:
        if item > 0:
            import time

            time.sleep(item)
        return item

    out = bench_peers.run_capped(slow, [0.0, 0.0, 30.0], cap_s=1.0, mem_gb=1.0)
    assert out.status == "timeout" and out.n_done == 2

    def hungry(_: object) -> int:
        return np.zeros(2**33, dtype=np.uint8).nbytes  # 8 GiB over a 1 GiB limit

    out = bench_peers.run_capped(hungry, [None], cap_s=30.0, mem_gb=1.0)
    assert out.status == "oom" and out.n_done == 0, out.note

    def broken(_: object) -> None:
        raise ValueError("boom")

    out = bench_peers.run_capped(broken, [None], cap_s=30.0, mem_gb=1.0)
    assert out.status == "error" and "boom" in out.note


def test_cell_text_labels_extrapolation() -> None:
    method = bench_peers.Method("SurvSHAP(t) kernel", "SurvSHAP(t)", False, True)
    done = bench_peers.Outcome("timeout", [1, 2], [2.0, 4.0], 7.0)
    cell = bench_peers.CellResult("DeepSurv", 5, method, done, 10)
    assert bench_peers._cell_text(cell, 100) == "~300 (2 inst)"
    nothing = bench_peers.Outcome("timeout", [], [], 7.0)
    cell = bench_peers.CellResult("DeepSurv", 5, method, nothing, 10)
    assert bench_peers._cell_text(cell, 100).startswith("> 7")
    assert math.isclose(cell.per_instance_bound()[0], 7.0)
