"""All-time-points attributions vs Captum one target at a time.

For DeepSurv (CoxPH), CoxTime, DeepHit (two competing risks) and LogisticHazard with
B instances, p features and T time points, this measures side by side in one run:

* ours: ``captum_surv.explain(..., "intgrad")`` and ``explain(..., "gradshap")`` for all T
  time points at once;
* (a) ONE single-target Captum ``IntegratedGradients`` call with the same steps;
* (b) Captum ``IntegratedGradients`` looped over all T targets.

and prints ours / (a) and (b) / ours, after checking that our IntGrad(t) equals the loop.

Usage::

    python benchmarks/bench_time_grid.py            # B=100, p=20, T=50
    python benchmarks/bench_time_grid.py --quick    # B=20, p=10, T=10
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchtuples as tt
from captum.attr import IntegratedGradients
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from pycox.preprocessing.label_transforms import LabTransDiscreteTime
from torch import nn

import captum_surv

warnings.filterwarnings("ignore")


def simulate(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)).astype(np.float32)
    beta = np.linspace(0, 1, p) * np.where(np.arange(p) % 2 == 0, 1, -1)
    t = (10 * (-np.log(rng.uniform(size=n)) / np.exp(x @ beta * 0.5)) ** (1 / 2.5)).astype(
        np.float32
    )
    c = rng.uniform(2, 25, size=n).astype(np.float32)
    return x, np.minimum(t, c), (t <= c).astype(np.float32), rng


class DeepHitNet(nn.Module):
    def __init__(self, p: int, n_risks: int, n_cuts: int):
        super().__init__()
        self.shape = (n_risks, n_cuts)
        self.body = tt.practical.MLPVanilla(p, [32, 32], n_risks * n_cuts, dropout=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1, *self.shape)


def build_models(n_train: int, p: int, n_times: int, n_train_coxtime: int):
    x, d, e, rng = simulate(n_train, p)
    mlp = lambda out: tt.practical.MLPVanilla(p, [32, 32], out, dropout=0.1)  # noqa: E731
    models = {}
    deepsurv = pm.CoxPH(mlp(1), tt.optim.Adam(0.01))
    deepsurv.fit(x, (d, e), batch_size=128, epochs=3, verbose=False)
    deepsurv.compute_baseline_hazards()
    models["DeepSurv"] = captum_surv.from_pycox(deepsurv, times=n_times)

    labtrans = pm.CoxTime.label_transform()
    xc, dc, ec = x[:n_train_coxtime], d[:n_train_coxtime], e[:n_train_coxtime]
    y = labtrans.fit_transform(dc, ec)
    coxtime = pm.CoxTime(
        MLPVanillaCoxTime(p, [32, 32], dropout=0.1), tt.optim.Adam(0.01), labtrans=labtrans
    )
    coxtime.fit(xc, y, batch_size=128, epochs=3, verbose=False)
    captum_surv.compute_coxtime_baseline_hazards(coxtime, set_hazards=True)
    models["CoxTime"] = captum_surv.from_pycox(coxtime, times=n_times)

    labtrans = LabTransDiscreteTime(n_times)
    idx, _ = labtrans.fit_transform(d, e)
    cause = (e * rng.integers(1, 3, size=len(e))).astype(np.int64)
    deephit = pm.DeepHit(
        DeepHitNet(p, 2, n_times), tt.optim.Adam(0.01), duration_index=labtrans.cuts
    )
    deephit.fit(x, (idx.astype(np.int64), cause), batch_size=128, epochs=3, verbose=False)
    models["DeepHit"] = captum_surv.from_pycox(deephit)

    labtrans = pm.LogisticHazard.label_transform(n_times)
    y = labtrans.fit_transform(d, e)
    lh = pm.LogisticHazard(
        mlp(labtrans.out_features), tt.optim.Adam(0.01), duration_index=labtrans.cuts
    )
    lh.fit(x, y, batch_size=128, epochs=3, verbose=False)
    models["LogisticHazard"] = captum_surv.from_pycox(lh)
    return models, torch.from_numpy(x)


def to_markdown(table: pd.DataFrame) -> str:
    """A markdown table (without the optional tabulate dependency)."""
    cells = [
        [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in table.to_numpy()
    ]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def best_of(fn, repeats: int) -> tuple[float, object]:
    result, best = None, float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(args: argparse.Namespace) -> pd.DataFrame:
    torch.manual_seed(0)
    models, x = build_models(args.n_train, args.p, args.n_times, args.n_train_coxtime)
    inputs, refs = x[: args.batch], x[-25:]
    rows = []
    for name, fwd in models.items():
        ig = IntegratedGradients(fwd)
        k = fwd.n_times // 2
        # warm-up (first calls pay for lazy initialisation in torch.func and Captum)
        captum_surv.explain(fwd, inputs[:2], "intgrad", n_steps=args.n_steps)
        ig.attribute(inputs[:2], target=k, n_steps=args.n_steps)
        # Round-robin repeats: each candidate is timed once per round and the minimum over
        # rounds is kept, so load from other processes hits all candidates alike.
        candidates = {
            "ig": lambda fwd=fwd: captum_surv.explain(fwd, inputs, "intgrad", n_steps=args.n_steps),
            "gs": lambda fwd=fwd: captum_surv.explain(
                fwd, inputs, "gradshap", refs, sampling="random", n_samples=args.n_steps, seed=0
            ),
            "single": lambda ig=ig, k=k: ig.attribute(inputs, target=k, n_steps=args.n_steps),
        }
        best = dict.fromkeys(candidates, float("inf"))
        results = {}
        for _ in range(args.repeats):
            for key, fn in candidates.items():
                elapsed, results[key] = best_of(fn, 1)
                best[key] = min(best[key], elapsed)
        t_ours_ig, t_ours_gs, t_single = best["ig"], best["gs"], best["single"]
        ours = results["ig"]
        start = time.perf_counter()
        loop = torch.stack(
            [ig.attribute(inputs, target=j, n_steps=args.n_steps) for j in range(fwd.n_times)], 1
        )
        t_loop = time.perf_counter() - start
        scale = loop.abs().max().item()
        max_diff = (ours.attributions - loop).abs().max().item()
        rows.append(
            {
                "model": name,
                "T": fwd.n_times,
                "ours IntGrad(t) s": t_ours_ig,
                "ours GradSHAP(t) s": t_ours_gs,
                "Captum IG 1 target s": t_single,
                "Captum IG loop s": t_loop,
                "(a) IntGrad / 1 target": t_ours_ig / t_single,
                "(a) GradSHAP / 1 target": t_ours_gs / t_single,
                "(b) loop / IntGrad": t_loop / t_ours_ig,
                "(b) loop / GradSHAP": t_loop / t_ours_gs,
                "max |ours - loop| / max |loop|": max_diff / scale,
            }
        )
        print(f"{name}: done", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=100, help="instances explained (B)")
    parser.add_argument("--p", type=int, default=20, help="number of features")
    parser.add_argument("--n-times", type=int, default=50, help="time points (T)")
    parser.add_argument("--n-steps", type=int, default=50, help="IG steps / GradSHAP samples")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-train-coxtime", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: least noisy)")
    parser.add_argument("--quick", action="store_true", help="B=20, p=10, T=10, 1 repeat")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.batch, args.p, args.n_times, args.repeats = 20, 10, 10, 1
        args.n_train, args.n_train_coxtime = 400, 200
    torch.set_num_threads(args.threads)
    table = run(args)
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    header = (
        f"B={args.batch}, p={args.p}, T={args.n_times}, IG steps = GradSHAP samples = "
        f"{args.n_steps}; {machine}"
    )
    markdown = header + "\n\n" + to_markdown(table)
    print(markdown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    table.to_csv(out / f"time_grid{suffix}.csv", index=False)
    (out / f"time_grid{suffix}.md").write_text(markdown + "\n")


if __name__ == "__main__":
    main()
