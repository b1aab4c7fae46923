"""Interactions and permutation importance for all time points vs loops over time points.

Side by side in one run, on the same trained models (tanh MLPs, float64 inputs):

* Hessian(t) at B instances and IntHess(t) (``n_steps**2`` path points per instance), for
  all T time points at once with ``explain(fwd, x, "hessian" | "inthess")``, against
  looping ``torch.autograd.functional.hessian`` (and ``jacobian`` for IntHess's diagonal)
  over the time points, instances and path points; for DeepSurv (CoxPH: the rank-one
  route) and LogisticHazard (double backward passes);
* ``permutation_importance`` (one forward call per permutation for all T times, Brier
  score) against the naive loop over time points (a forward restricted to one time per
  call, then scikit-survival's Brier score at that time), same permutations.

Both sides are checked to agree (max abs difference printed) before the ratio is reported.
captum_surv: best of 3 calls after a warm-up; the loops: one call.

Usage::

    python benchmarks/bench_effects.py                       # B=4, p=6, T=20, n_steps=6
    python benchmarks/bench_effects.py --save benchmarks/results/bench_effects.md
    python benchmarks/bench_effects.py --tiny                # seconds; for the tests
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torchtuples as tt
from pycox import models as pm
from sksurv import metrics
from sksurv.util import Surv
from torch import nn

import captum_surv
from captum_surv.attr.interactions import _gauss_legendre

warnings.filterwarnings("ignore")


def simulate(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, p)).astype(np.float32)
    beta = np.linspace(0.2, 1.0, p) * np.where(np.arange(p) % 2 == 0, 1, -1)
    eta = x @ beta + 1.5 * x[:, 0] * x[:, 1]
    t = ((-np.log(rng.uniform(size=n)) / (0.1 * np.exp(eta))) ** (1 / 2.5)).astype(np.float32)
    c = rng.uniform(1, 6, size=n).astype(np.float32)
    return x, np.minimum(t, c), (t <= c).astype(np.float32)


def train_models(p: int, n: int, epochs: int):
    x, d, e = simulate(n, p)
    torch.manual_seed(0)
    mlp = tt.practical.MLPVanilla(
        p, [32, 32], 1, batch_norm=False, dropout=None, activation=nn.Tanh
    )
    cox = pm.CoxPH(mlp, tt.optim.Adam(0.01))
    cox.fit(x, (d, e), batch_size=256, epochs=epochs, verbose=False)
    cox.compute_baseline_hazards()
    labtrans = pm.LogisticHazard.label_transform(20)
    y = labtrans.fit_transform(d, e)
    net = tt.practical.MLPVanilla(
        p, [32, 32], labtrans.out_features, batch_norm=False, dropout=None, activation=nn.Tanh
    )
    lh = pm.LogisticHazard(net, tt.optim.Adam(0.01), duration_index=labtrans.cuts)
    lh.fit(x, y, batch_size=256, epochs=epochs, verbose=False)
    return {"DeepSurv": cox, "LogisticHazard": lh}, (x, d, e)


def timed(fn, repeats: int = 1):
    """Result and the best wall time of ``repeats`` calls (after one warm-up call if > 1)."""
    if repeats > 1:
        fn()
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def naive_hessian(fwd, x):
    """Loop over time points and instances: torch.autograd.functional.hessian each."""
    out = torch.zeros(x.shape[0], fwd.n_times, x.shape[1], x.shape[1], dtype=x.dtype)
    for k in range(fwd.n_times):
        for n in range(x.shape[0]):
            out[n, k] = torch.autograd.functional.hessian(lambda z, k=k: fwd(z[None])[0, k], x[n])
    return out


def naive_inthess(fwd, x, base, n_steps):
    """IntHess(t) by loops over time points, instances and path points (a, b)."""
    nodes, weights = _gauss_legendre(n_steps, x.dtype)
    n, f = x.shape
    out = torch.zeros(n, fwd.n_times, f, f, dtype=x.dtype)
    for k in range(fwd.n_times):

        def fk(z, k=k):
            return fwd(z[None])[0, k]

        for i in range(n):
            delta = x[i] - base[0]
            for a, wa in zip(nodes, weights, strict=True):
                for b, wb in zip(nodes, weights, strict=True):
                    z = base[0] + a * b * delta
                    hess = torch.autograd.functional.hessian(fk, z)
                    grad = torch.autograd.functional.jacobian(fk, z)
                    out[i, k] += wa * wb * a * b * hess * delta[:, None] * delta[None, :]
                    out[i, k] += torch.diag(wa * wb * grad * delta)
    return out


def naive_permutation(fwd, x, d, e, times, permutations):
    """The loop over time points: one forward per time point and permutation."""
    st = Surv.from_arrays(e.astype(bool), d.astype(np.float64))
    g, r, _ = permutations.shape
    curves = np.empty((g, r, len(times)))
    for k, t in enumerate(times):
        fwd_k = fwd.with_times([t])
        for j in range(g):
            for rep in range(r):
                shuffled = x.clone()
                shuffled[:, j] = x[permutations[j, rep], j]
                with torch.no_grad():
                    s = fwd_k(shuffled).double().numpy()
                curves[j, rep, k] = metrics.brier_score(st, st, s, [t])[1][0]
    return curves


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--b", type=int, default=4, help="instances")
    parser.add_argument("--p", type=int, default=6, help="features")
    parser.add_argument("--t", type=int, default=20, help="time points")
    parser.add_argument("--n-steps", type=int, default=6, help="IntHess nodes per parameter")
    parser.add_argument("--n-perm", type=int, default=1000, help="rows for permutation importance")
    parser.add_argument("--repeats", type=int, default=3, help="permutation repeats")
    parser.add_argument("--tiny", action="store_true", help="a few seconds (for the tests)")
    parser.add_argument("--save", type=Path, default=None, help="write a markdown table")
    args = parser.parse_args(argv)
    if args.tiny:
        args.b, args.p, args.t, args.n_steps, args.n_perm, args.repeats = 2, 3, 4, 2, 200, 1
    torch.set_num_threads(1)
    models, (x_all, d_all, e_all) = train_models(
        args.p, 400 if args.tiny else 1500, 2 if args.tiny else 20
    )
    times = np.linspace(0.5, 3.5, args.t)
    x = torch.as_tensor(x_all[: args.b], dtype=torch.float64)
    base = torch.zeros(1, args.p, dtype=torch.float64)
    rows = []
    for name, model in models.items():
        fwd = captum_surv.from_pycox(model, times=times)
        ours, t_ours = timed(
            lambda fwd=fwd: captum_surv.explain(fwd, x, "hessian").interactions, repeats=3
        )
        ref, t_ref = timed(lambda fwd=fwd: naive_hessian(fwd, x))
        rows.append(
            {
                "task": f"Hessian(t), {name}",
                "ours_s": t_ours,
                "loop_s": t_ref,
                "max_abs_diff": float((ours - ref).abs().max()),
            }
        )
        ours, t_ours = timed(
            lambda fwd=fwd: (
                captum_surv.explain(fwd, x, "inthess", base, n_steps=args.n_steps).interactions
            )
        )
        ref, t_ref = timed(lambda fwd=fwd: naive_inthess(fwd, x, base, args.n_steps))
        rows.append(
            {
                "task": f"IntHess(t), {name}",
                "ours_s": t_ours,
                "loop_s": t_ref,
                "max_abs_diff": float((ours - ref).abs().max()),
            }
        )
    fwd = captum_surv.from_pycox(models["DeepSurv"], times=times)
    xp = torch.as_tensor(x_all[-args.n_perm :])
    dp, ep = d_all[-args.n_perm :], e_all[-args.n_perm :]
    imp, t_ours = timed(
        lambda: captum_surv.permutation_importance(
            fwd, xp, dp, ep, "brier", times=times, n_repeats=args.repeats, seed=0
        ),
        repeats=3,
    )
    ref, t_ref = timed(lambda: naive_permutation(fwd, xp, dp, ep, times, imp.permutations))
    rows.append(
        {
            "task": "permutation importance (Brier), DeepSurv",
            "ours_s": t_ours,
            "loop_s": t_ref,
            "max_abs_diff": float(np.abs(imp.permuted_curves - ref).max()),
        }
    )
    header = (
        f"B={args.b} instances, p={args.p} features, T={args.t} time points, IntHess "
        f"n_steps={args.n_steps} ({args.n_steps**2} path points per instance); permutation "
        f"importance: {args.n_perm} rows, {args.p} features x {args.repeats} repeats. "
        f"float64, 1 torch thread, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}."
    )
    lines = [
        header,
        "",
        "| task | captum_surv (s) | loop over time points (s) | loop / ours | max abs diff |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['ours_s']:.3f} | {r['loop_s']:.2f} | "
            f"{r['loop_s'] / r['ours_s']:.1f}x | {r['max_abs_diff']:.1e} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(
            "# Interactions and permutation importance: all time points vs loops\n\n"
            "Command: `.venv/bin/python benchmarks/bench_effects.py --save "
            "benchmarks/results/bench_effects.md`\n\n" + text + "\n"
        )
    return rows


if __name__ == "__main__":
    main()
