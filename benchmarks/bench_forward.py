"""Benchmark captum_surv's CoxTime computations against pycox, side by side.

Trains a small CoxTime model (pycox, MLPVanillaCoxTime 32-32) on simulated data
with 5 features, then times, in the same process and on the same model:

(a) baseline hazards: ``captum_surv.compute_coxtime_baseline_hazards(model)``
    vs pycox's ``model.compute_baseline_hazards()`` (a Python loop over event times);
(b) survival prediction: ``captum_surv.from_pycox(model)(x)`` under ``torch.no_grad()``
    vs pycox's ``model.predict_surv_df(x)`` (a Python loop over the time grid).

Each timing is the minimum over ``--repeats`` runs; both results are checked to agree
to a relative tolerance of 1e-5. Prints a markdown table.

Run:  make bench-forward     (or: .venv/bin/python benchmarks/bench_forward.py --n 2000)
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchtuples as tt
from pycox.models import CoxTime
from pycox.models.cox_time import MLPVanillaCoxTime

import captum_surv

# torchtuples (pycox's training library) warns about read-only NumPy arrays and
# deprecated indexing on current torch; harmless here.
warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")

RTOL = 1e-5
ATOL = 1e-8  # only guards entries that are exactly 0 in one of the results


def simulate(n: int, p: int, seed: int):
    """Weibull survival times with a time-varying effect of x0; uniform censoring."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p)).astype("float32")
    beta = np.linspace(1.0, -1.0, p)
    lin = x @ beta + 0.5 * x[:, 0] ** 2
    shape, scale = 1.5, 0.1
    u = rng.uniform(size=n)
    t_event = (-np.log(u) / (scale * np.exp(lin))) ** (1.0 / shape)
    t_cens = rng.uniform(0.0, np.quantile(t_event, 0.9) * 1.5, size=n)
    durations = np.minimum(t_event, t_cens).astype("float32")
    events = (t_event <= t_cens).astype("float32")
    order = np.argsort(durations, kind="stable")  # pycox's CoxTime hazards need sorted data
    return x[order], durations[order], events[order]


def best_time(fn, repeats: int):
    """(min wall time over `repeats` runs, result of the last run)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), ATOL)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="training rows (default 2000)")
    parser.add_argument("--p", type=int, default=5, help="features (default 5)")
    parser.add_argument("--n-predict", type=int, default=200, help="rows predicted in (b)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="timings are the min over these")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--save", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    x, durations, events = simulate(args.n, args.p, args.seed)
    labtrans = CoxTime.label_transform()
    y = labtrans.fit_transform(durations, events)
    net = MLPVanillaCoxTime(args.p, [32, 32], batch_norm=True, dropout=0.1)
    model = CoxTime(net, tt.optim.Adam(lr=1e-3), labtrans=labtrans)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=256, epochs=args.epochs, verbose=False)
    t_fit = time.perf_counter() - t0
    print(
        f"CoxTime trained on n={args.n}, p={args.p} ({int(events.sum())} events, "
        f"{args.epochs} epochs) in {t_fit:.1f} s; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )

    rows = []

    # (a) baseline hazards --------------------------------------------------
    t_pycox, haz_pycox = best_time(lambda: model.compute_baseline_hazards(), args.repeats)
    t_ours, haz_ours = best_time(
        lambda: captum_surv.compute_coxtime_baseline_hazards(model), args.repeats
    )
    haz_ours = pd.Series(haz_ours)
    same_index = len(haz_ours) == len(haz_pycox) and np.allclose(
        haz_ours.index.to_numpy(dtype=float), haz_pycox.index.to_numpy(dtype=float), rtol=1e-7
    )
    rel_a = max_rel_diff(haz_ours.to_numpy(), haz_pycox.to_numpy()) if same_index else np.inf
    rows.append(
        (
            f"baseline hazards ({len(haz_pycox)} times)",
            "`model.compute_baseline_hazards()`",
            "`compute_coxtime_baseline_hazards(model)`",
            t_pycox,
            t_ours,
            rel_a,
        )
    )

    # (b) survival prediction -----------------------------------------------
    # model.baseline_hazards_ was set by pycox's call above; from_pycox reads it.
    x_pred = x[: args.n_predict]
    fwd = captum_surv.from_pycox(model)  # survival on the native grid, [B, T]
    xt = torch.from_numpy(x_pred)

    def ours_predict():
        with torch.no_grad():
            return fwd(xt)

    t_pycox_b, surv_df = best_time(lambda: model.predict_surv_df(x_pred), args.repeats)
    t_ours_b, surv_ours = best_time(ours_predict, args.repeats)
    # pycox indexes by every training duration (scaled); the native grid keeps the
    # event times, where the baseline hazard jumps.
    jumps = model.baseline_hazards_.to_numpy() > 0
    ref = surv_df.to_numpy()[jumps].T  # [B, T]
    surv_ours = surv_ours.numpy()
    rel_b = max_rel_diff(surv_ours, ref) if surv_ours.shape == ref.shape else np.inf
    if surv_ours.shape != ref.shape:
        print(f"shape mismatch in (b): captum_surv {surv_ours.shape} vs pycox {ref.shape}")
    rows.append(
        (
            f"survival, {len(x_pred)} rows x {ref.shape[1]} times",
            "`model.predict_surv_df(x)`",
            "`from_pycox(model)(x)`",
            t_pycox_b,
            t_ours_b,
            rel_b,
        )
    )

    lines = [
        f"| task | pycox | captum_surv | pycox (s) | captum_surv (s) | speed-up "
        f"| max rel. diff | equal (rtol {RTOL:g}) |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for task, ref_name, our_name, tp, to, rel in rows:
        lines.append(
            f"| {task} | {ref_name} | {our_name} | {tp:.3f} | {to:.3f} | {tp / to:.1f}x "
            f"| {rel:.1e} | {'yes' if rel <= RTOL else 'NO'} |"
        )
    table = "\n".join(lines)
    print(f"\nTimings: min of {args.repeats} runs each, same process, same model.\n")
    print(table)
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(table + "\n")
        print(f"\nwrote {args.save}")
    if any(rel > RTOL for *_, rel in rows):
        raise SystemExit("captum_surv and pycox disagree beyond the tolerance")


if __name__ == "__main__":
    main()
