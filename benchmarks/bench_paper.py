"""The paper's Sim_GradSHAP experiments re-created, with its published figures alongside.

Published figures: the replication repository of Langbein, Koenen and Wright, "Gradient-based
Explanations for Deep Learning Survival Models" (ICML 2025), github.com/bips-hb/Survival-XAI-ICML,
files ``Sim_GradSHAP/final_results/sim_locacc.rds`` (local accuracy per time point) and
``sim_runtime.rds`` / ``sim_locacc_time.rds`` (runtimes, seconds, R package survinng). Their
values are copied (mean over the time points; mean over 10 repetitions for runtimes) into
``benchmarks/results/paper_sim_gradshap_locacc.csv`` and ``paper_sim_gradshap_runtime.csv``.

Setups (``Sim_GradSHAP/sim_locacc.R`` and ``sim_runtime.R`` of that repository):

* data: ``x ~ N(0, I_p)``, Weibull hazard ``0.1 * 2.5 t^1.5 exp(x beta)`` with
  ``beta = linspace(0, 1, p)`` with alternating signs, censoring at t = 10
  (:func:`captum_surv.datasets.simulate_ranking`); 1,000 training and 100 test rows;
* networks: DeepSurv, CoxTime, DeepHit (12 cuts; 10 in the runtime setup), two hidden layers of
  32 ReLU units, dropout 0.1, batch size 500, up to 100 epochs with early stopping (patience
  10 on a third of the training rows);
* GradSHAP(t)(k): every one of the reference rows (99 of the test rows in the local-accuracy
  setup, 25 in the runtime setup) with k uniform random path points, k = 5, 25, 50, i.e.
  rows x k gradients per instance, for all 100 test instances;
* local accuracy per time point ``sqrt(mean_i (Delta_i(t) - sum_j phi_ij(t))^2 /
  mean_i Out(t|x_i)^2)`` over the test instances, with ``Delta_i(t)`` the prediction minus
  the mean prediction of the reference rows (the package's definition,
  :meth:`captum_surv.SurvExplanation.local_accuracy`; the paper's script computes the same
  expression from survinng's ``pred_diff``).

The paper's figures come from R (survinng, SurvSHAP(t) from survex) on the authors' machine
and its models: compare our estimators with each other in this run, and with the paper's
columns only as orders of magnitude. SurvSHAP(t) in the same run: captum_surv's exact
``"survshap"`` and survshap's (Python) ``sampling`` and exact ``kernel`` methods.

survshap runs on captum_surv's forward (the same forward for both sides) and, as a user
runs it, on the pycox model's own ``predict_surv_df``. SurvLIMEpy runs to completion.

Run: ``.venv/bin/python benchmarks/bench_paper.py --quick`` (about 40 minutes on 2 shared
cores; ``--parts 3,4`` runs some parts, ``--models CoxTime`` some models; ``--save`` writes
``benchmarks/results/bench_paper*.md``, ``.csv`` and ``paper_vs_package.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torchtuples as tt
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from pycox.preprocessing.label_transforms import LabTransDiscreteTime
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import peers  # noqa: E402
from bench_peers import run_capped, to_markdown  # noqa: E402

import captum_surv  # noqa: E402

warnings.filterwarnings("ignore")
RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("DeepSurv", "CoxTime", "DeepHit")


@dataclasses.dataclass
class Config:
    name: str
    n_test: int = 100  # instances explained (the paper: all 100 test rows)
    n_refs: int = 99  # local-accuracy setup: reference rows
    ks: tuple[int, ...] = (5, 25, 50)
    gl_ks: tuple[int, ...] = (4, 8, 16, 25)
    epochs: int = 100
    runtime_ps: tuple[int, ...] = (5, 20, 40, 80, 160)
    runtime_refs: int = 25
    runtime_models: tuple[str, ...] = MODELS
    shap_ps: tuple[int, ...] = (5, 8, 12, 16, 20)
    shap_background: int = 20
    shap_instances: int = 2
    survshap_paths: int = 25
    coxtime_instances: int | None = None  # fewer CoxTime instances (its gradients cost ~50x)
    coxtime_keys: tuple[str, ...] = ()  # only these CoxTime estimators (empty: all)
    lime_instances: int = 3
    lime_ps: tuple[int, ...] = (5, 20)
    lime_train: int = 500  # SurvLIME's training rows (their unique times are its grid)
    shap_train: int = 300
    coxtime_max_p: int = 20
    cap_s: float = 300.0
    lime_cap_s: float = 1200.0
    lime_neighbours: int = 1000  # SurvLIMEpy's default num_samples
    pycox_max_p: int = 8  # survshap on pycox's predict_surv_df up to this p
    pycox_cap_s: float = 600.0  # its CoxTime: a Python loop over jump times per coalition
    models: tuple[str, ...] = MODELS  # parts 1, 3 and 4
    seed: int = 0


PRESETS = {
    "full": Config("full"),
    "quick": Config(
        "quick",
        n_test=100,
        ks=(5, 25),
        gl_ks=(4, 8, 16),
        epochs=40,
        runtime_ps=(5, 20, 80),
        runtime_models=("DeepSurv", "DeepHit"),  # CoxTime: minutes per estimator on 2 cores
        shap_ps=(5, 8, 12, 16, 20),
        shap_background=10,
        shap_instances=3,
        coxtime_instances=5,
        coxtime_keys=("default", "paper 5", "paper 25", "gl 8", "random 50", "tolerance"),
        lime_instances=1,
        lime_ps=(5,),
        lime_train=200,
        coxtime_max_p=12,
        cap_s=240.0,
        lime_cap_s=900.0,
    ),
}


# ------------------------------------------------------------------------------ data, models
def _mlp(p: int, out: int) -> nn.Module:
    return tt.practical.MLPVanilla(p, [32, 32], out, batch_norm=True, dropout=0.1)


def train(
    name: str,
    x: np.ndarray,
    d: np.ndarray,
    e: np.ndarray,
    epochs: int,
    cuts: int,
    seed: int,
    n_times: int = 50,
    models: dict[str, Any] | None = None,
) -> captum_surv.SurvivalForward:
    """One of the paper's networks (ReLU 32 x 32, early stopping on a third of the rows).

    ``models``, if given, receives the fitted pycox model under ``name``.
    """
    models = {} if models is None else models
    torch.manual_seed(seed)
    np.random.seed(seed)
    x = x.astype(np.float32)
    n_val = len(x) // 3
    xt, xv = x[n_val:], x[:n_val]
    kw: dict[str, Any] = {
        "batch_size": 500,
        "epochs": epochs,
        "verbose": False,
        "callbacks": [tt.callbacks.EarlyStopping(patience=10)],
    }
    d, e = d.astype(np.float32), e.astype(np.float32)
    if name == "DeepSurv":
        model = pm.CoxPH(_mlp(x.shape[1], 1), tt.optim.Adam(0.01))
        model.fit(xt, (d[n_val:], e[n_val:]), val_data=(xv, (d[:n_val], e[:n_val])), **kw)
        model.compute_baseline_hazards(x, (d, e))
        models[name] = model
        return captum_surv.from_pycox(model, times=n_times)
    if name == "CoxTime":
        labtrans = pm.CoxTime.label_transform()
        # fitted on all rows, so that pycox's predict_surv_df maps every jump time of the
        # baseline (computed on all rows below) back to the original time scale
        labtrans.fit(d, e)
        yt = labtrans.transform(d[n_val:], e[n_val:])
        yv = labtrans.transform(d[:n_val], e[:n_val])
        net = MLPVanillaCoxTime(x.shape[1], [32, 32], batch_norm=True, dropout=0.1)
        model = pm.CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans)
        model.fit(xt, yt, val_data=(xv, yv), **kw)
        # the baseline of the network's (scaled) time input, as pycox computes it
        target = labtrans.transform(d, e)
        captum_surv.compute_coxtime_baseline_hazards(model, x, target, set_hazards=True)
        models[name] = model
        return captum_surv.from_pycox(model, times=n_times)
    labtrans = LabTransDiscreteTime(cuts)
    yt = labtrans.fit_transform(d[n_val:], e[n_val:])
    yv = labtrans.transform(d[:n_val], e[:n_val])
    model = pm.DeepHitSingle(
        _mlp(x.shape[1], labtrans.out_features), tt.optim.Adam(0.01), duration_index=labtrans.cuts
    )
    model.fit(xt, yt, val_data=(xv, yv), **kw)
    models[name] = model
    return captum_surv.from_pycox(model)


def data(p: int, seed: int) -> tuple[np.ndarray, ...]:
    sim = captum_surv.datasets.simulate_ranking(n=1100, p=p, seed=seed)
    d, e = sim.target()
    x = sim.features.astype(np.float32)
    return x[:1000], d[:1000], e[:1000], x[1000:]


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


# ------------------------------------------------------------------------------ part 1
def local_accuracy_part(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """p = 20, 99 reference rows: local accuracy and cost of each estimator."""
    x_train, d, e, x_test = data(20, cfg.seed)
    refs = x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[: cfg.n_refs]]
    refs_t = torch.as_tensor(refs)
    rows = []
    paper = pd.read_csv(RESULTS / "paper_sim_gradshap_locacc.csv")
    for name in cfg.models:
        fwd = train(name, x_train, d, e, cfg.epochs, 12, cfg.seed)
        n_inst = cfg.coxtime_instances if name == "CoxTime" and cfg.coxtime_instances else None
        x = torch.as_tensor(x_test[: n_inst or cfg.n_test])
        specs: list[tuple[str, str, dict[str, Any]]] = [
            ("default", "GradSHAP(t) default (GL-16)", {}),
        ]
        for k in cfg.ks:
            specs.append(
                (
                    f"paper {k}",
                    f"GradSHAP(t)({k}): uniform",
                    {"sampling": "uniform", "path_points": k},
                )
            )
            specs.append(
                (f"strat {k}", f"stratified {k}", {"sampling": "stratified", "path_points": k})
            )
        for k in cfg.gl_ks:
            specs.append(
                (f"gl {k}", f"Gauss-Legendre {k}", {"sampling": "gausslegendre", "path_points": k})
            )
        specs.append(
            ("random 50", "random pairs 50 (old default)", {"sampling": "random", "n_samples": 50})
        )
        specs.append(
            (
                f"random {cfg.n_refs * 25}",
                f"random pairs {cfg.n_refs * 25}",
                {"sampling": "random", "n_samples": cfg.n_refs * 25},
            )
        )
        specs.append(("tolerance", "GL, tolerance=5e-3", {"path_points": 4, "tolerance": 5e-3}))
        for key, label, options in specs:
            if name == "CoxTime" and cfg.coxtime_keys and key not in cfg.coxtime_keys:
                continue
            seconds, expl = _timed(
                captum_surv.explain, fwd, x, "gradshap", refs_t, seed=1, **options
            )
            la = expl.local_accuracy().numpy()
            rows.append(
                {
                    "model": name,
                    "estimator": label,
                    "key": key,
                    "gradients/instance": expl.options["gradients_per_instance"],
                    "LA mean": float(np.nanmean(la)),
                    "LA max": float(np.nanmax(la)),
                    "seconds": seconds,
                    "instances": len(x),
                }
            )
            log(f"  {name} {label}: LA {np.nanmean(la):.2e} ({seconds:.1f} s)")
        # SurvSHAP(t) in the same run, on a few instances: ours by antithetic permutation
        # sampling with all 99 background rows (2^20 x 99 rows per instance for the exact
        # values take minutes per instance on one core; part 3 has exact values at p = 20),
        # and survshap's sampling method
        few = x[: cfg.shap_instances]
        estimator = "permutation"
        options = {"estimator": estimator, "n_permutations": 10, "seed": 0}
        seconds, expl = _timed(captum_surv.explain, fwd, few, "survshap", refs_t, **options)
        la = expl.completeness_residual().abs().max().item()
        rows.append(
            {
                "model": name,
                "estimator": f"SurvSHAP(t) captum_surv {estimator}",
                "key": "survshap ours",
                "gradients/instance": math.nan,
                "forward rows/instance": 10 * 19 * len(refs),
                "LA mean": float(np.nanmean(expl.local_accuracy().numpy())),
                "LA max": float(np.nanmax(expl.local_accuracy().numpy())),
                "max |residual|": la,
                "seconds": seconds,
                "instances": len(few),
            }
        )
        log(f"  {name} SurvSHAP(t) ours {estimator}: {seconds:.1f} s")
        if peers.available("survshap"):
            peer = peers.SurvSHAP(
                fwd,
                refs,
                np.ones(len(refs)),
                np.ones(len(refs)),
                method="sampling",
                n_paths=cfg.survshap_paths,
            )
            out = run_capped(peer.explain_one, list(few.numpy()), cfg.cap_s, 8.0)
            if out.status == "ok":
                phi = np.stack(out.results)  # [n, T, p]
                pred = peers.survival_numpy(fwd, few.numpy())
                resid = pred - peer.reference_prediction() - phi.sum(axis=2)
                la_t = np.sqrt((resid**2).mean(0) / (pred**2).mean(0))
                rows.append(
                    {
                        "model": name,
                        "estimator": f"SurvSHAP(t) survshap sampling {cfg.survshap_paths}",
                        "key": "survshap peer",
                        "LA mean": float(np.nanmean(la_t)),
                        "LA max": float(np.nanmax(la_t)),
                        "seconds": float(np.sum(out.seconds)),
                        "instances": len(few),
                    }
                )
            else:
                rows.append(
                    {
                        "model": name,
                        "estimator": "SurvSHAP(t) survshap sampling",
                        "key": "survshap peer",
                        "note": f"{out.status}: {out.note}",
                    }
                )
    table = pd.DataFrame(rows)
    table["seconds/instance"] = table["seconds"] / table["instances"]
    labels = {
        "paper 5": "GradSHAP(t) (5)",
        "paper 25": "GradSHAP(t) (25)",
        "paper 50": "GradSHAP(t) (50)",
        "survshap ours": "SurvSHAP(t)",
        "survshap peer": "SurvSHAP(t)",
    }
    published = paper.set_index(["model", "method"])
    table["paper LA mean"] = [
        published["locacc_mean"].get((m, labels.get(k, "")), math.nan)
        for m, k in zip(table["model"], table["key"], strict=True)
    ]
    table["paper seconds (100 instances)"] = [
        published["runtime_s"].get((m, labels.get(k, "")), math.nan)
        for m, k in zip(table["model"], table["key"], strict=True)
    ]
    return table


# ------------------------------------------------------------------------------ part 2
def runtime_part(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """The paper's runtime setup: 25 reference rows, 20 time points, 100 instances."""
    paper = pd.read_csv(RESULTS / "paper_sim_gradshap_runtime.csv")
    rows = []
    for p in cfg.runtime_ps:
        x_train, d, e, x_test = data(p, cfg.seed)
        refs = torch.as_tensor(x_test[: cfg.runtime_refs])
        x = torch.as_tensor(x_test)
        for name in cfg.runtime_models:
            fwd = train(name, x_train, d, e, 5, 10, cfg.seed)  # runtime only: a short fit
            for k in cfg.ks:
                seconds, _ = _timed(
                    captum_surv.explain,
                    fwd,
                    x,
                    "gradshap",
                    refs,
                    sampling="uniform",
                    path_points=k,
                    seed=0,
                )
                published = paper[
                    (paper.model == name) & (paper.p == p) & (paper.method == f"GradSHAP(t) ({k})")
                ]["runtime_s"]
                rows.append(
                    {
                        "p": p,
                        "model": name,
                        "estimator": f"GradSHAP(t)({k})",
                        "seconds": seconds,
                        "paper seconds": float(published.iloc[0]) if len(published) else math.nan,
                    }
                )
            seconds, _ = _timed(captum_surv.explain, fwd, x, "gradshap", refs)
            rows.append(
                {
                    "p": p,
                    "model": name,
                    "estimator": "GradSHAP(t) default (GL-16)",
                    "seconds": seconds,
                    "paper seconds": math.nan,
                }
            )
            published = paper[
                (paper.model == name) & (paper.p == p) & (paper.method == "SurvSHAP(t)")
            ]["runtime_s"]
            rows.append(
                {
                    "p": p,
                    "model": name,
                    "estimator": "SurvSHAP(t) (survex, paper)",
                    "seconds": math.nan,
                    "paper seconds": float(published.iloc[0]) if len(published) else math.nan,
                }
            )
            log(f"  p={p} {name}: done")
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ part 3
def _survshap_kernel(
    fwd: captum_surv.SurvivalForward,
    background: np.ndarray,
    x: np.ndarray,
    ours: captum_surv.SurvExplanation,
    ours_per_instance: float,
    cap_s: float,
    prefix: str,
    pycox_model: Any = None,
) -> dict[str, Any]:
    """survshap's exact kernel on ``x``: seconds per instance and difference from ``ours``."""
    peer = peers.SurvSHAP(
        fwd,
        background,
        np.ones(len(background)),
        np.ones(len(background)),
        method="kernel",
        pycox_model=pycox_model,
    )
    out = run_capped(peer.explain_one, list(x), cap_s, 8.0)
    if out.results:
        theirs = np.stack(out.results)
        seconds = float(np.mean(out.seconds))
        row = {
            f"{prefix} instances": len(out.results),
            f"{prefix} s/instance": seconds,
            f"{prefix} max |difference|": float(
                np.abs(ours.attributions.double().numpy()[: len(theirs)] - theirs).max()
            ),
            f"{prefix} speed ratio": seconds / ours_per_instance,
        }
        if out.status != "ok":
            row[f"{prefix} note"] = f"{out.status}: {len(out.results)} of {len(x)} instances"
        return row
    if out.status == "timeout":
        return {f"{prefix} note": f"> {cap_s:g} s per instance (cap)"}
    return {f"{prefix} note": f"{out.status}: {out.note}"}


def survshap_part(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """captum_surv's exact SurvSHAP(t) against survshap's exact kernel: agreement and speed.

    survshap runs twice where it fits: with captum_surv's forward as its prediction function
    (the same forward for both: the ratio measures the two algorithms), and as a user runs it
    on the pycox model, with pycox's ``predict_surv_df`` wrapped in step functions (the
    user-facing ratio; for CoxTime pycox evaluates the network once per jump time in a
    Python loop).
    """
    rows = []
    for p in cfg.shap_ps:
        x_train, d, e, x_test = data(p, cfg.seed)
        background = x_test[: cfg.shap_background]
        x = x_test[50 : 50 + (cfg.shap_instances if p <= 8 else 1)]
        n = cfg.shap_train  # CoxTime's cost grows with its number of jump times
        for name in cfg.models:
            if name == "CoxTime" and p > cfg.coxtime_max_p:
                rows.append({"p": p, "model": name, "survshap": "not run in this preset"})
                continue
            fitted: dict[str, Any] = {}
            fwd = train(name, x_train[:n], d[:n], e[:n], 5, 10, cfg.seed, models=fitted)
            if p <= 12:  # warm-up (the first call with new shapes sets up kernels)
                captum_surv.explain(
                    fwd, torch.as_tensor(x), "survshap", torch.as_tensor(background)
                )
            ours_s, ours = _timed(
                captum_surv.explain,
                fwd,
                torch.as_tensor(x),
                "survshap",
                torch.as_tensor(background),
            )
            row: dict[str, Any] = {
                "p": p,
                "model": name,
                "background": len(background),
                "instances": len(x),
                "network jump times": (
                    int(fwd.network_times().numel()) if name == "CoxTime" else math.nan
                ),
                "coalition rows/instance (2^p M)": (2**p) * len(background),
                "distinct rows/instance": ours.options["coalition_rows"] / len(x),
                "captum_surv s/instance": ours_s / len(x),
                "captum_surv max |residual|": ours.completeness_residual().abs().max().item(),
            }
            need = peers.survshap_kernel_memory(p)
            if not peers.available("survshap"):
                row["survshap"] = peers.missing_reason("survshap")
            elif need > 8 * 2**30:
                row["survshap"] = f"not run: its 2^{p} x 2^{p} matrix needs {need / 2**30:.0f} GiB"
            else:
                row.update(
                    _survshap_kernel(
                        fwd,
                        background,
                        x,
                        ours,
                        ours_s / len(x),
                        cfg.cap_s,
                        "survshap (same forward)",
                    )
                )
                if p <= cfg.pycox_max_p:
                    few = x if p <= 5 or name != "CoxTime" else x[:1]  # ~5 min per instance
                    row.update(
                        _survshap_kernel(
                            fwd,
                            background,
                            few,
                            ours,
                            ours_s / len(x),
                            cfg.pycox_cap_s,
                            "survshap (pycox predict_surv_df)",
                            pycox_model=fitted[name],
                        )
                    )
            rows.append(row)
            log(f"  p={p} {name}: {row}")
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ part 4
def _tight_solve(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``task`` with cvxpy problems solved to 1e-10 (CLARABEL) instead of the defaults."""

    def run(item: Any) -> Any:
        import cvxpy as cp

        solve = cp.Problem.solve

        def tight(self: Any, *args: Any, **kwargs: Any) -> Any:
            return solve(
                self, solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10
            )

        cp.Problem.solve = tight
        try:
            return task(item)
        finally:
            cp.Problem.solve = solve

    return run


def survlime_part(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """captum_surv's SurvLIME against SurvLIMEpy (same neighbours: same seed and training rows).

    SurvLIMEpy runs twice: at its defaults (timed; its solver stops at about 1e-3) and with its
    own convex problem solved to 1e-10 (the coefficient comparison).
    """
    rows = []
    for p in cfg.lime_ps:
        x_train, d, e, x_test = data(p, cfg.seed)
        train_rows = cfg.lime_train  # SurvLIMEpy's cost grows with its time grid
        for name in cfg.models:
            fwd = train(name, x_train, d, e, 5, 10, cfg.seed)
            x = x_test[: cfg.lime_instances]
            row: dict[str, Any] = {
                "p": p,
                "model": name,
                "instances": len(x),
                "neighbours": cfg.lime_neighbours,
                "time grid (unique training times)": len(np.unique(d[:train_rows])),
            }
            lime_args = {
                "durations": d[:train_rows],
                "events": e[:train_rows],
                "seed": cfg.seed,
                "n_neighbours": cfg.lime_neighbours,
            }
            captum_surv.explain(
                fwd, torch.as_tensor(x), "survlime", x_train[:train_rows], **lime_args
            )  # warm-up
            seconds, ours = _timed(
                captum_surv.explain,
                fwd,
                torch.as_tensor(x),
                "survlime",
                x_train[:train_rows],
                **lime_args,
            )
            row["captum_surv s/instance"] = seconds / len(x)
            if not peers.available("survlimepy"):
                row["SurvLIMEpy"] = peers.missing_reason("survlimepy")
                rows.append(row)
                continue
            peer = peers.SurvLIME(
                fwd,
                x_train[:train_rows],
                d[:train_rows],
                e[:train_rows],
                n_neighbours=cfg.lime_neighbours,
                seed=cfg.seed,
            )
            out = run_capped(peer.explain_one, list(x), cfg.lime_cap_s, 8.0)
            if out.seconds:
                row["SurvLIMEpy s/instance"] = float(np.mean(out.seconds))
                row["speed ratio"] = row["SurvLIMEpy s/instance"] / row["captum_surv s/instance"]
                row["max |b difference|, SurvLIMEpy defaults"] = float(
                    np.abs(
                        ours.coefficients.numpy()[: len(out.results)] - np.stack(out.results)
                    ).max()
                )
            if out.status != "ok":
                row["SurvLIMEpy"] = f"{out.status}: {out.note}"
            tight = run_capped(_tight_solve(peer.explain_one), list(x), cfg.lime_cap_s, 8.0)
            if tight.results:
                row["SurvLIMEpy tight s/instance"] = float(np.mean(tight.seconds))
                row["max |b difference|, solved to 1e-10"] = float(
                    np.abs(
                        ours.coefficients.numpy()[: len(tight.results)] - np.stack(tight.results)
                    ).max()
                )
            if tight.status != "ok":
                row["SurvLIMEpy tight"] = f"{tight.status}: {tight.note}"
            rows.append(row)
            log(f"  p={p} {name}: {row}")
    return pd.DataFrame(rows)


def plot_accuracy_cost(table: pd.DataFrame, path: Path) -> None:
    """Local accuracy vs gradients per instance, one panel per model (part 1's table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = {
        "paper": ("uniform (the paper's GradSHAP(t)(k))", "tab:blue"),
        "strat": ("stratified", "tab:orange"),
        "gl": ("Gauss-Legendre (default: 16)", "tab:green"),
        "random": ("random pairs", "tab:purple"),
    }
    fig, axes = plt.subplots(1, len(MODELS), figsize=(13, 4), sharey=False)
    for ax, name in zip(axes, MODELS, strict=True):
        rows = table[table.model == name]
        for prefix, (label, colour) in families.items():
            part = rows[rows.key.str.startswith(prefix + " ")].sort_values("gradients/instance")
            if len(part):
                ax.plot(
                    part["gradients/instance"], part["LA mean"], "o-", color=colour, label=label
                )
        default = rows[rows.key == "default"]
        ax.plot(default["gradients/instance"], default["LA mean"], "k*", ms=12, label="default")
        published = rows.dropna(subset=["paper LA mean"])
        published = published[published.key.str.startswith("paper")]
        ax.plot(
            published["gradients/instance"],
            published["paper LA mean"],
            "s--",
            color="grey",
            label="paper's published GradSHAP(t)(k)",
        )
        shap = rows[rows.key == "survshap ours"]
        if len(shap):
            ax.axhline(
                float(shap["LA mean"].iloc[0]),
                color="tab:red",
                ls=":",
                label="SurvSHAP(t) (captum_surv)",
            )
            ax.axhline(
                float(shap["paper LA mean"].iloc[0]),
                color="tab:red",
                ls="--",
                alpha=0.5,
                label="SurvSHAP(t), paper (survex)",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("gradient evaluations per instance")
    axes[0].set_ylabel("local accuracy (mean over t)")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PAPER_VS_PACKAGE = """# GradSHAP(t) and SurvSHAP(t): the paper's published figures vs captum_surv

Setup: the paper's `Sim_GradSHAP/sim_locacc.R` (Langbein, Koenen and Wright, ICML 2025;
replication repository bips-hb/Survival-XAI-ICML): p = 20 standard-normal features, a
Weibull proportional-hazards outcome, 1,000 training rows, DeepSurv / CoxTime / DeepHit
(ReLU 32 x 32), 99 reference rows, 100 test instances. Package rows: `bench_paper.py
--{preset}` (`bench_paper_{preset}_part1.csv`); {coxtime}

Definitions:

* **local accuracy** at time t: `sqrt(mean_i (Delta_i(t) - sum_j phi_ij(t))^2 / mean_i
  Out(t | x_i)^2)` over the explained instances, `Delta_i(t) = Out(t | x_i) - mean_m Out(t |
  r_m)` (prediction minus the mean prediction of the reference rows; survival output).
  The package's `SurvExplanation.local_accuracy()`; the paper's script computes the same
  expression from survinng's `pred_diff`. Shown: mean over the time points (LA mean) and
  their maximum (LA max).
* **GradSHAP(t)(k)** (the paper): every reference row with k uniform random path points,
  99 k gradients per instance; the package's `sampling="uniform", path_points=k`.
  **Default** (the package): every reference row with 16 Gauss-Legendre points (1,584
  gradients per instance).
* **SurvSHAP(t)**: the paper's from survex (R); the package's `"survshap"` (10 antithetic
  permutations on {shap_instances} instances: exact local accuracy by construction).
* **seconds / instance**: wall time divided by the instances. Paper: `runtime_s` of
  `final_results` for its 100 instances / 100 (R package survinng, 10 torch threads, the
  authors' machine). Package: one torch thread on a shared 2-core machine. Compare
  seconds as orders of magnitude only; within the package the ratios are meaningful.

"""


def paper_vs_package(part1: pd.DataFrame, preset: str) -> str:
    """The closing paper-vs-package table (issue 13) from part 1's table."""
    wanted = [
        ("paper 5", "GradSHAP(t)(5)"),
        ("paper 25", "GradSHAP(t)(25)"),
        ("paper 50", "GradSHAP(t)(50)"),
        ("default", "package default: Gauss-Legendre 16"),
        ("survshap ours", "SurvSHAP(t)"),
    ]
    rows = []
    for model in MODELS:
        part = part1[part1.model == model].set_index("key")
        for key, label in wanted:
            if key not in part.index:
                continue
            r = part.loc[key]
            paper_s = r.get("paper seconds (100 instances)", math.nan)
            rows.append(
                {
                    "model": model,
                    "estimator": label,
                    "gradients / instance": r["gradients/instance"],
                    "package LA mean": r["LA mean"],
                    "package LA max": r["LA max"],
                    "paper LA mean": r.get("paper LA mean", math.nan),
                    "package s / instance": r["seconds/instance"],
                    "paper s / instance": paper_s / 100,
                    "package instances": int(r["instances"]),
                }
            )
    table = pd.DataFrame(rows)
    gradshap = table.estimator != "SurvSHAP(t)"
    n_cox = table[(table.model == "CoxTime") & gradshap]["package instances"]
    coxtime = (
        f"CoxTime on {int(n_cox.min())} instances (its gradients cost about 50x)."
        if len(n_cox) and n_cox.min() < 100
        else ""
    )
    shap = table[table.estimator == "SurvSHAP(t)"]["package instances"]
    head = PAPER_VS_PACKAGE.format(
        preset=preset, coxtime=coxtime, shap_instances=int(shap.min()) if len(shap) else "-"
    )
    return head + to_markdown(table) + "\n"


PARTS = (
    (1, "Local accuracy and cost, p = 20 (sim_locacc)", local_accuracy_part),
    (2, "Runtime, 25 reference rows, 100 instances (sim_runtime)", runtime_part),
    (3, "SurvSHAP(t): captum_surv exact vs survshap's exact kernel", survshap_part),
    (4, "SurvLIME: captum_surv vs SurvLIMEpy", survlime_part),
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick preset (~10 min)")
    parser.add_argument("--parts", default="1,2,3,4", help="comma-separated parts to run")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        help="models of parts 1, 3 and 4 (with --save, their rows replace those in the saved "
        "tables; the other models' rows are kept)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = PRESETS["quick" if args.quick else "full"]
    if args.models:
        cfg = dataclasses.replace(cfg, models=tuple(args.models))
    parts = {int(s) for s in args.parts.split(",") if s}
    stem = f"bench_paper_{cfg.name}"
    for number, title, fn in PARTS:
        if number not in parts:
            continue
        print(f"part {number}: {title}", flush=True)
        table = fn(cfg, lambda s: print(s, flush=True))
        print(f"## {title}\n\n{to_markdown(table)}\n", flush=True)
        if args.save:
            path = RESULTS / f"{stem}_part{number}.csv"
            if args.models and number != 2 and path.is_file():
                kept = pd.read_csv(path)
                kept = kept[~kept.model.isin(cfg.models)]
                table = pd.concat([kept, table], ignore_index=True)
                order = {m: i for i, m in enumerate(MODELS)}
                sort = ["p", "model"] if "p" in table.columns else ["model"]
                table = table.sort_values(
                    sort, key=lambda c: c.map(order) if c.name == "model" else c, kind="stable"
                )
            table.to_csv(path, index=False)
    if args.save:  # the report holds every part saved so far (parts may run separately)
        out = [
            f"# bench_paper.py ({cfg.name}), torch threads {args.threads}\n",
            "Published columns: bips-hb/Survival-XAI-ICML, Sim_GradSHAP/final_results "
            "(see the script's docstring). Timings: one run on a shared 2-core machine "
            "(parts may come from separate runs; load average when this report was written: "
            + ", ".join(f"{v:.1f}" for v in os.getloadavg())
            + ").\n",
        ]
        for number, title, _ in PARTS:
            path = RESULTS / f"{stem}_part{number}.csv"
            if path.is_file():
                out.append(f"## {title}\n\n{to_markdown(pd.read_csv(path))}\n")
        part1 = RESULTS / f"{stem}_part1.csv"
        if part1.is_file():
            plot_accuracy_cost(pd.read_csv(part1), RESULTS / f"{stem}_accuracy_cost.png")
            (RESULTS / "paper_vs_package.md").write_text(
                paper_vs_package(pd.read_csv(part1), cfg.name)
            )
            out.insert(2, f"![accuracy vs cost]({stem}_accuracy_cost.png)\n")
        (RESULTS / f"{stem}.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
