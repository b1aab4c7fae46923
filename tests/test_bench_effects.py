"""benchmarks/bench_effects.py on a tiny configuration, so that it cannot rot: both sides
of every comparison run and agree."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))

import bench_effects  # noqa: E402


def test_bench_effects_tiny_agrees(tmp_path):
    threads = torch.get_num_threads()
    try:
        rows = bench_effects.main(["--tiny", "--save", str(tmp_path / "bench.md")])
    finally:
        torch.set_num_threads(threads)
    assert len(rows) == 5
    for row in rows:
        assert row["max_abs_diff"] < 1e-10, row
        assert row["ours_s"] > 0 and row["loop_s"] > 0
    assert "loop / ours" in (tmp_path / "bench.md").read_text()
