"""captum_surv against SurvSHAP(t) (survshap) and SurvLIME (survlimepy).

Four parts, all in one run on the same machine, with the ratios taken side by side:

1. **Runtime vs number of features** p: DeepSurv, CoxTime and DeepHit trained on the
   ranking simulation with p features (tanh networks), 100 test instances, 25 background
   rows, one time grid (20 quantiles of the training event times) for every model and
   method: GradSHAP(t) (5, 25, 50 samples), IntGrad(t), SurvSHAP(t) (exact ``kernel``
   and ``sampling``), SurvLIME (50 and 1000 neighbours).
2. **Local accuracy** (the paper's metric) of GradSHAP(t) at several sample counts, its
   deterministic Gauss-Legendre variant, IntGrad(t) and SurvSHAP(t), with wall times;
   **agreement** with SurvSHAP(t)'s exact kernel values (p <= 10): per-instance Spearman
   correlation of the time-integrated |attribution| and top-feature agreement.
3. **Feature ranking** on the ranking simulation (p = 5, 2000 training / 300 test rows):
   how often each method ranks the truly most important feature first, Kendall's tau
   against the true order; SurvLIME ranked by |b_j (x_j - mean_j)|.
4. **Time-grid engine**: captum_surv's IntGrad(t)/GradSHAP(t) for all time points vs
   Captum's IntegratedGradients/GradientShap looped over the time targets.

Every method runs in a forked worker under a per-method time cap (per model and p) and a
memory limit: a run that exceeds either is recorded as ``timeout`` / ``oom`` with what it
finished, never dropped. Peers explain instance by instance, so a capped run still gives a
measured per-instance time; times "for all instances" computed from fewer instances are
marked as extrapolated (``~``). captum_surv explains all instances in one call.

Torch runs single-threaded (``--threads 1``) by default: the peers make thousands of tiny
network calls, which multi-threading slows down on a loaded machine, and one thread keeps
the comparison independent of the machine's load.

Usage::

    python benchmarks/bench_peers.py --quick   # make bench-quick: about 7 minutes on 2 cores
    python benchmarks/bench_peers.py           # make bench: the full grid, about 1.5-2 hours
    python benchmarks/bench_peers.py --ps 40 80 160 --parts 1 --cap 30 --tag large_p
    python benchmarks/bench_peers.py --tiny --out /tmp/x   # seconds; what the test runs

Writes ``peers[_quick|_tiny].md``, ``peers*_{runtime,accuracy,ranking,engine}.csv`` and
``peers*_{runtime,accuracy,ranking}.png`` under ``--out`` (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing as mp
import os
import platform
import resource
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
from scipy import stats
from torch import nn

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import peers  # noqa: E402

import captum_surv  # noqa: E402 - after the sys.path insert, like peers

MODELS = ("DeepSurv", "CoxTime", "DeepHit")
# survshap's exact kernel is attempted up to this p (at p = 20 it fails at once, allocating
# its 8 TiB weight matrix); beyond, its list of 2^p coalitions would fill the memory limit
# first, slowly: recorded as out of memory without running.
KERNEL_MAX_P = 22


def to_markdown(table: pd.DataFrame) -> str:
    """A markdown table (no tabulate dependency); ``|`` inside cells is escaped."""

    def cell(value: Any) -> str:
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(cell(c) for c in table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.to_numpy()]
    return "\n".join(lines)


# ====================================================================== configuration
@dataclasses.dataclass
class PeerPlan:
    """How far a peer method runs: instances, the p values it runs at (empty: all), its cap."""

    instances: int
    ps: tuple[int, ...] = ()
    cap_s: float | None = None  # None: Config.cap_s


@dataclasses.dataclass
class Config:
    """One benchmark configuration (see :data:`PRESETS`)."""

    name: str
    ps: tuple[int, ...] = (5, 10, 20, 40, 80, 160)
    accuracy_ps: tuple[int, ...] = (5, 10)  # part 2 runs on these p (a subset of ps)
    models: tuple[str, ...] = MODELS
    n_instances: int = 100
    accuracy_instances: int = 100  # instances of the part-2-only methods (GL, extra samples)
    n_background: int = 25
    n_times: int = 20
    n_train: int = 500
    epochs: int = 10
    hidden: tuple[int, ...] = (32, 32)
    gradshap_samples: tuple[int, ...] = (5, 25, 50)
    accuracy_samples: tuple[int, ...] = (200,)  # extra sample counts, only at accuracy_ps
    gl_steps: int = 20  # deterministic GradSHAP(t): Gauss-Legendre nodes per reference row
    intgrad_steps: int = 50
    repeats: int = 3  # captum_surv timings: best of up to this many runs (within ~2 s)
    survshap_paths: int = 25  # survshap's sampling B (its default)
    # peer method label -> plan; SurvSHAP(t) "kernel"/"sampling", SurvLIME by neighbours
    peers: dict[str, PeerPlan] = dataclasses.field(
        default_factory=lambda: {
            "kernel": PeerPlan(100),
            "sampling": PeerPlan(100),
            "lime 50": PeerPlan(100),
            "lime 1000": PeerPlan(100, cap_s=120.0),
        }
    )
    cap_s: float = 60.0  # per method, model and p
    mem_gb: float = 8.0  # memory a method may allocate on top of the process
    # part 3
    ranking_p: int = 5
    ranking_train: int = 2000
    ranking_test: int = 300
    ranking_epochs: int = 30
    ranking_gl: bool = True
    ranking_kernel: PeerPlan = dataclasses.field(default_factory=lambda: PeerPlan(300, cap_s=300.0))
    ranking_lime: dict[int, PeerPlan] = dataclasses.field(
        default_factory=lambda: {50: PeerPlan(300, cap_s=300.0), 1000: PeerPlan(300, cap_s=120.0)}
    )
    ranking_lime_train: int = 500  # SurvLIME's training set (a subsample: its cost grows with it)
    # part 4
    engine_p: int = 20
    engine_instances: int = 100
    parts: tuple[int, ...] = (1, 2, 3, 4)
    seed: int = 0
    tag: str = ""  # output file stem peers_<tag> instead of the preset's


PRESETS: dict[str, Config] = {
    "full": Config(name="full"),
    "quick": Config(
        name="quick",
        ps=(5, 10, 20),
        accuracy_instances=50,
        repeats=2,
        peers={
            "kernel": PeerPlan(100),
            "sampling": PeerPlan(5, (5, 20)),
            "lime 50": PeerPlan(2, (5, 20)),
            "lime 1000": PeerPlan(1, (5,), cap_s=60.0),
        },
        cap_s=20.0,
        ranking_train=1000,
        ranking_gl=False,
        ranking_kernel=PeerPlan(300, cap_s=20.0),
        ranking_lime={50: PeerPlan(10, cap_s=20.0)},
        engine_instances=20,
    ),
    "tiny": Config(
        name="tiny",
        ps=(3, 4),
        accuracy_ps=(3,),
        n_instances=4,
        accuracy_instances=4,
        n_background=5,
        n_times=5,
        n_train=150,
        epochs=2,
        hidden=(8,),
        gradshap_samples=(5,),
        accuracy_samples=(),
        gl_steps=4,
        intgrad_steps=8,
        repeats=1,
        survshap_paths=3,
        peers={
            "kernel": PeerPlan(2),
            "sampling": PeerPlan(2),
            "lime 20": PeerPlan(1),
        },
        cap_s=60.0,
        mem_gb=4.0,
        ranking_p=3,
        ranking_train=150,
        ranking_test=6,
        ranking_epochs=2,
        ranking_kernel=PeerPlan(6, cap_s=60.0),
        ranking_lime={20: PeerPlan(2, cap_s=60.0)},
        ranking_lime_train=100,
        engine_p=3,
        engine_instances=3,
    ),
}


# ====================================================================== data and models
def time_grid(durations: np.ndarray, events: np.ndarray, n_times: int) -> np.ndarray:
    """``n_times`` quantiles (5% .. 95%) of the event times: one grid for every model."""
    grid = np.quantile(durations[events > 0], np.linspace(0.05, 0.95, n_times))
    return np.unique(grid.astype(np.float64))


def _mlp(p: int, out: int, hidden: Sequence[int]) -> nn.Module:
    return tt.practical.MLPVanilla(
        p, list(hidden), out, batch_norm=True, dropout=0.1, activation=nn.Tanh
    )


def train_models(
    x: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    grid: np.ndarray,
    cfg: Config,
    epochs: int,
    names: Sequence[str] = MODELS,
) -> dict[str, captum_surv.SurvivalForward]:
    """DeepSurv, CoxTime and DeepHit (single risk) with tanh MLPs, wrapped on ``grid``."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    p = x.shape[1]
    out: dict[str, captum_surv.SurvivalForward] = {}
    fit = {"batch_size": 128, "epochs": epochs, "verbose": False}
    if "DeepSurv" in names:
        model = pm.CoxPH(_mlp(p, 1, cfg.hidden), tt.optim.Adam(0.01))
        model.fit(x, (durations, events), **fit)
        model.compute_baseline_hazards()
        out["DeepSurv"] = captum_surv.from_pycox(model, times=grid)
    if "CoxTime" in names:
        labtrans = pm.CoxTime.label_transform()
        y = labtrans.fit_transform(durations, events)
        net = MLPVanillaCoxTime(
            p, list(cfg.hidden), batch_norm=True, dropout=0.1, activation=nn.Tanh
        )
        model = pm.CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans)
        model.fit(x, y, **fit)
        captum_surv.compute_coxtime_baseline_hazards(model, set_hazards=True)
        out["CoxTime"] = captum_surv.from_pycox(model, times=grid)
    if "DeepHit" in names:
        labtrans = LabTransDiscreteTime(np.concatenate([[0.0], grid]))
        idx, ev = labtrans.fit_transform(durations, events)
        model = pm.DeepHitSingle(
            _mlp(p, labtrans.out_features, cfg.hidden),
            tt.optim.Adam(0.01),
            duration_index=labtrans.cuts,
        )
        model.fit(x, (idx, ev), **fit)
        out["DeepHit"] = captum_surv.from_pycox(model, times=grid)
    return out


@dataclasses.dataclass
class Setting:
    """Data, background, instances and trained models for one p."""

    p: int
    x_train: np.ndarray
    d_train: np.ndarray
    e_train: np.ndarray
    x_test: np.ndarray
    background: np.ndarray
    bg_durations: np.ndarray
    bg_events: np.ndarray
    grid: np.ndarray
    models: dict[str, captum_surv.SurvivalForward]


def make_setting(
    p: int, n_train: int, n_test: int, cfg: Config, epochs: int, models: Sequence[str]
) -> Setting:
    data = captum_surv.datasets.simulate_ranking(n=n_train + n_test, p=p, seed=cfg.seed)
    durations, events = data.target()
    x = data.features
    x_train, d_train, e_train = x[:n_train], durations[:n_train], events[:n_train]
    grid = time_grid(d_train, e_train, cfg.n_times)
    index = torch.randperm(n_train, generator=torch.Generator().manual_seed(cfg.seed))
    index = index[: cfg.n_background].numpy()
    return Setting(
        p=p,
        x_train=x_train,
        d_train=d_train,
        e_train=e_train,
        x_test=x[n_train:],
        background=x_train[index],
        bg_durations=d_train[index],
        bg_events=e_train[index],
        grid=grid,
        models=train_models(x_train, d_train, e_train, grid, cfg, epochs, models),
    )


# ====================================================================== capped worker runs
@dataclasses.dataclass
class Outcome:
    """What a capped run finished: per-item results and seconds."""

    status: str  # ok | timeout | oom | error | failed (ran, returned NaN) | skipped
    results: list[Any]
    seconds: list[float]
    elapsed: float
    note: str = ""

    @property
    def n_done(self) -> int:
        return len(self.results)


def _limit_memory(extra_gb: float) -> None:
    """Cap this process's address space at its current size plus ``extra_gb``."""
    try:
        with open("/proc/self/status") as fh:
            size_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
    except (OSError, StopIteration):  # pragma: no cover - non-Linux
        return
    limit = size_kb * 1024 + int(extra_gb * 2**30)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _is_oom(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and ("alloc" in text or "out of memory" in text)
    )


def _worker(task: Callable[[Any], Any], items: Sequence[Any], conn: Any, mem_gb: float) -> None:
    try:
        _limit_memory(mem_gb)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)  # the peers' solvers print progress to stdout
        for item in items:
            start = time.perf_counter()
            result = task(item)
            conn.send(("ok", time.perf_counter() - start, result))
        conn.send(("done",))
    except BaseException as err:  # noqa: BLE001 - everything is reported to the parent
        kind = "oom" if _is_oom(err) else "error"
        try:
            conn.send((kind, f"{type(err).__name__}: {str(err)[:200]}"))
        except BaseException:  # noqa: BLE001
            pass
    finally:
        conn.close()
        os._exit(0)


def run_capped(
    task: Callable[[Any], Any], items: Sequence[Any], cap_s: float, mem_gb: float
) -> Outcome:
    """Run ``task`` on each item in a forked worker; stop at ``cap_s`` seconds.

    The worker's address space is limited to its size at the fork plus ``mem_gb`` GiB, so
    that an allocation too large for the machine fails there (``oom``) instead of
    swapping or taking the machine down.
    """
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(task, items, sender, mem_gb), daemon=True)
    start = time.perf_counter()
    proc.start()
    sender.close()
    results: list[Any] = []
    seconds: list[float] = []
    status, note = "", ""
    while not status:
        remaining = cap_s - (time.perf_counter() - start)
        if remaining <= 0:
            status, note = "timeout", f"stopped at the {cap_s:g} s cap"
            break
        if receiver.poll(min(remaining, 0.5)):
            try:
                message = receiver.recv()
            except EOFError:
                message = ("died",)
            if message[0] == "ok":
                seconds.append(message[1])
                results.append(message[2])
            elif message[0] == "done":
                status = "ok"
            elif message[0] in ("oom", "error"):
                status, note = message[0], message[1]
            else:
                proc.join(1)
                code = proc.exitcode
                status = "oom" if code == -9 else "error"
                note = f"worker died (exit code {code})"
        elif not proc.is_alive() and not receiver.poll(0):
            code = proc.exitcode
            status = "oom" if code == -9 else "error"
            note = f"worker died (exit code {code})"
    elapsed = time.perf_counter() - start
    if proc.is_alive():
        proc.kill()
    proc.join()
    receiver.close()
    return Outcome(status, results, seconds, elapsed, note)


# ====================================================================== methods
@dataclasses.dataclass
class Method:
    """A method as run in the benchmark."""

    label: str  # e.g. "GradSHAP(t) 50"
    family: str  # ours | SurvSHAP(t) | SurvLIME
    batched: bool  # explains all instances in one call (ours) or one by one (peers)
    additive: bool  # attributions sum to prediction - reference (local accuracy applies)


def ours_methods(cfg: Config, accuracy: bool) -> list[tuple[Method, dict[str, Any], bool]]:
    """captum_surv's methods: (method, explain options, part-2 only)."""
    out = [
        (
            Method("GradSHAP(t) default", "ours", True, True),
            {"method": "gradshap"},  # every background row x 16 Gauss-Legendre points
            False,
        )
    ]
    out += [
        (
            Method(f"GradSHAP(t) {n}", "ours", True, True),
            {"method": "gradshap", "sampling": "random", "n_samples": n},
            False,
        )
        for n in cfg.gradshap_samples
    ]
    if accuracy:
        out += [
            (
                Method(f"GradSHAP(t) {n}", "ours", True, True),
                {"method": "gradshap", "sampling": "random", "n_samples": n},
                True,
            )
            for n in cfg.accuracy_samples
        ]
        out.append(
            (
                Method(f"GradSHAP(t) GL-{cfg.gl_steps}", "ours", True, True),
                {"method": "gradshap", "sampling": "gausslegendre", "n_steps": cfg.gl_steps},
                True,
            )
        )
    out.append(
        (
            Method("IntGrad(t)", "ours", True, True),
            {"method": "intgrad", "n_steps": cfg.intgrad_steps},
            False,
        )
    )
    return out


def _explain_ours(
    forward: captum_surv.SurvivalForward, x: torch.Tensor, background: torch.Tensor, spec: dict
) -> captum_surv.SurvExplanation:
    options = dict(spec)
    method = options.pop("method")
    if method == "intgrad":  # the background mean as the baseline x'
        return captum_surv.explain(
            forward, x, "intgrad", background.mean(0, keepdim=True), **options
        )
    return captum_surv.explain(forward, x, "gradshap", background, seed=0, **options)


def _as_arrays(expl: captum_surv.SurvExplanation) -> dict[str, np.ndarray]:
    return {
        "attributions": expl.attributions.double().numpy(),
        "prediction": expl.prediction.double().numpy(),
        "reference": expl.reference_prediction.double().numpy(),
    }


@dataclasses.dataclass
class CellResult:
    """One method on one model and p."""

    model: str
    p: int
    method: Method
    outcome: Outcome
    n_requested: int
    attributions: np.ndarray | None = None  # [k, T, p] for additive methods
    prediction: np.ndarray | None = None
    reference: np.ndarray | None = None
    coefficients: np.ndarray | None = None  # SurvLIME [k, p]

    @property
    def per_instance_s(self) -> float:
        out = self.outcome
        if self.method.batched:
            return min(out.seconds) / self.n_requested if out.seconds else math.nan
        return float(np.mean(out.seconds)) if out.seconds else math.nan

    @property
    def complete(self) -> bool:
        return self.outcome.status == "ok" and (
            self.method.batched or self.outcome.n_done == self.n_requested
        )

    def per_instance_bound(self) -> tuple[float, str]:
        """Per-instance seconds and how they were obtained: measured, or a lower bound."""
        if self.outcome.status == "failed":  # ran, but produced no usable result
            return math.nan, "failed"
        if not math.isnan(self.per_instance_s):
            return self.per_instance_s, "measured"
        if self.outcome.status == "timeout":
            share = self.n_requested if self.method.batched else 1
            return self.outcome.elapsed / share, "lower bound"
        return math.nan, self.outcome.status


def run_ours(
    forward: captum_surv.SurvivalForward,
    x: np.ndarray,
    background: np.ndarray,
    method: Method,
    spec: dict,
    cfg: Config,
    model: str,
    p: int,
    cap_s: float | None = None,
) -> CellResult:
    """captum_surv on all instances in one call; the best of up to ``cfg.repeats`` runs."""
    xt, bt = torch.from_numpy(x), torch.from_numpy(background)
    _explain_ours(forward, xt[:2], bt, spec)  # warm-up in the parent: the fork inherits it

    def task(_: Any) -> dict[str, Any]:
        best, total, arrays = math.inf, 0.0, {}
        for _ in range(cfg.repeats):
            start = time.perf_counter()
            arrays = _as_arrays(_explain_ours(forward, xt, bt, spec))
            seconds = time.perf_counter() - start
            best, total = min(best, seconds), total + seconds
            if total > 2.0:
                break
        return {"best_s": best, **arrays}

    outcome = run_capped(task, [None], cfg.cap_s if cap_s is None else cap_s, cfg.mem_gb)
    outcome.seconds = [r["best_s"] for r in outcome.results]
    cell = CellResult(model, p, method, outcome, len(x))
    if outcome.results:
        arrays = outcome.results[-1]
        cell.attributions = arrays["attributions"]
        cell.prediction = arrays["prediction"]
        cell.reference = arrays["reference"]
    return cell


def run_survshap(
    forward: captum_surv.SurvivalForward,
    setting: Setting,
    x: np.ndarray,
    kind: str,
    cfg: Config,
    model: str,
    cap_s: float,
) -> CellResult:
    method = _peer_method(kind, cfg)
    explainer = peers.SurvSHAP(
        forward,
        setting.background,
        setting.bg_durations,
        setting.bg_events,
        method=kind,
        n_paths=cfg.survshap_paths,
        seed=cfg.seed,
    )
    outcome = run_capped(explainer.explain_one, list(x), cap_s, cfg.mem_gb)
    cell = CellResult(model, setting.p, method, outcome, len(x))
    if outcome.results:
        k = outcome.n_done
        cell.attributions = np.stack(outcome.results)
        cell.prediction = peers.survival_numpy(forward, x[:k])
        cell.reference = np.broadcast_to(explainer.reference_prediction(), (k, len(setting.grid)))
    return cell


def run_survlime(
    forward: captum_surv.SurvivalForward,
    x_train: np.ndarray,
    d_train: np.ndarray,
    e_train: np.ndarray,
    x: np.ndarray,
    neighbours: int,
    cfg: Config,
    model: str,
    p: int,
    cap_s: float,
) -> tuple[CellResult, peers.SurvLIME]:
    method = Method(f"SurvLIME {neighbours}", "SurvLIME", False, False)
    explainer = peers.SurvLIME(forward, x_train, d_train, e_train, neighbours, seed=cfg.seed)
    outcome = run_capped(explainer.explain_one, list(x), cap_s, cfg.mem_gb)
    cell = CellResult(model, p, method, outcome, len(x))
    if outcome.results:
        cell.coefficients = np.stack(outcome.results)
        bad = ~np.isfinite(cell.coefficients).all(axis=1)
        if bad.any():  # survlimepy logs its solver's failure and returns NaN coefficients
            note = (
                f"survlimepy returned NaN coefficients (its OSQP solve failed) for "
                f"{int(bad.sum())} of {len(bad)} instances"
            )
            outcome.note = "; ".join(t for t in (outcome.note, note) if t)
            if bad.all() and outcome.status != "oom":
                outcome.status = "failed"
            if bad.all():  # no usable timing: the solves failed (e.g. out of memory)
                outcome.results, outcome.seconds = [], []
                cell.coefficients = None
    return cell, explainer


def skipped(model: str, p: int, method: Method, n: int, note: str) -> CellResult:
    return CellResult(model, p, method, Outcome("skipped", [], [], 0.0, note), n)


# ====================================================================== metrics
def integrated_abs(attributions: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per-instance time-integrated |attribution| ``[k, p]`` (trapezoid rule over times)."""
    return np.trapezoid(np.abs(attributions), times, axis=1)


def local_accuracy(cell: CellResult, times: np.ndarray) -> np.ndarray:
    """The paper's local accuracy per time point, through captum_surv's SurvExplanation."""
    k = cell.attributions.shape[0]
    expl = captum_surv.SurvExplanation(
        torch.from_numpy(np.ascontiguousarray(cell.attributions)),
        torch.zeros((k, cell.attributions.shape[2]), dtype=torch.float64),
        times,
        torch.from_numpy(np.ascontiguousarray(cell.prediction[:k])),
        torch.from_numpy(np.ascontiguousarray(cell.reference[:k])),
        method=cell.method.label,
    )
    return expl.local_accuracy().numpy()


def agreement(scores: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Mean per-instance Spearman correlation and top-feature agreement of two ``[k, p]``."""
    rhos = []
    for a, b in zip(scores, reference, strict=True):
        rho = stats.spearmanr(a, b).statistic
        if np.isfinite(rho):
            rhos.append(rho)
    top = float(np.mean(scores.argmax(1) == reference.argmax(1)))
    return float(np.mean(rhos)) if rhos else math.nan, top


# ====================================================================== part 1 + 2
def _peer_method(key: str, cfg: Config) -> Method:
    if key == "kernel":
        return Method("SurvSHAP(t) kernel", "SurvSHAP(t)", False, True)
    if key == "sampling":
        return Method(f"SurvSHAP(t) sampling {cfg.survshap_paths}", "SurvSHAP(t)", False, True)
    return Method(f"SurvLIME {int(key.split()[1])}", "SurvLIME", False, False)


def run_grid(cfg: Config, log: Callable[[str], None]) -> tuple[list[CellResult], dict]:
    """Parts 1 and 2: every method on every model and p (one fork per method)."""
    cells: list[CellResult] = []
    grids: dict[int, np.ndarray] = {}
    have = {"survshap": peers.available("survshap"), "survlimepy": peers.available("survlimepy")}
    failed_at: dict[tuple[str, str], int] = {}  # (model, method) -> p where it got nothing
    for p in cfg.ps:
        start = time.perf_counter()
        setting = make_setting(p, cfg.n_train, cfg.n_instances, cfg, cfg.epochs, cfg.models)
        grids[p] = setting.grid
        log(f"p={p}: trained {list(setting.models)} in {time.perf_counter() - start:.1f} s")
        x = setting.x_test[: cfg.n_instances]
        for model, forward in setting.models.items():
            for method, spec, accuracy_only in ours_methods(cfg, p in cfg.accuracy_ps):
                xs = x[: cfg.accuracy_instances] if accuracy_only else x
                cells.append(run_ours(forward, xs, setting.background, method, spec, cfg, model, p))
            for key, plan in cfg.peers.items():
                method = _peer_method(key, cfg)
                n = min(plan.instances, len(x))
                package = "survshap" if method.family == "SurvSHAP(t)" else "survlimepy"
                cap = cfg.cap_s if plan.cap_s is None else plan.cap_s
                if plan.ps and p not in plan.ps:
                    cells.append(skipped(model, p, method, n, "not run in this configuration"))
                elif not have[package]:
                    cells.append(skipped(model, p, method, n, peers.missing_reason(package)))
                elif (model, method.label) in failed_at:
                    where = failed_at[(model, method.label)]
                    cells.append(
                        skipped(model, p, method, n, f"not run: got no result at p={where} already")
                    )
                elif key == "kernel" and p > KERNEL_MAX_P:
                    need = peers.survshap_kernel_memory(p) / 2**30
                    note = (
                        f"predicted, not run: the 2^{p} coalitions alone exceed the memory "
                        f"limit, and the dense 2^p x 2^p weight matrix needs {need:.3g} GiB"
                    )
                    cells.append(CellResult(model, p, method, Outcome("oom", [], [], 0.0, note), n))
                else:
                    if method.family == "SurvSHAP(t)":
                        cell = run_survshap(forward, setting, x[:n], key, cfg, model, cap)
                    else:
                        cell, _ = run_survlime(
                            forward,
                            setting.x_train,
                            setting.d_train,
                            setting.e_train,
                            x[:n],
                            int(key.split()[1]),
                            cfg,
                            model,
                            p,
                            cap,
                        )
                    if cell.outcome.status in ("oom", "timeout") and cell.outcome.n_done == 0:
                        failed_at[(model, method.label)] = p
                    cells.append(cell)
            done = [c for c in cells if c.model == model and c.p == p]
            log(
                f"  {model}: "
                + ", ".join(f"{c.method.label} {_cell_text(c, cfg.n_instances)}" for c in done)
            )
    return cells, grids


def _fmt_s(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    if seconds >= 100:
        return f"{seconds:.0f}"
    if seconds >= 1:
        return f"{seconds:.3g}"
    return f"{seconds:.2g}"


def _cell_text(cell: CellResult, n_total: int) -> str:
    """Time for ``n_total`` instances: measured, ``~`` extrapolated, or the failure."""
    out = cell.outcome
    if out.status == "skipped":
        return "not run"
    per, how = cell.per_instance_bound()
    if how == "failed":
        return "NaN result"
    failure = {"oom": "OOM", "error": "error"}.get(out.status)
    if failure and out.n_done == 0:
        return failure
    if how == "lower bound":
        return f"> {_fmt_s(per)}/inst (cap)"
    if cell.method.batched and cell.complete and cell.n_requested == n_total:
        return _fmt_s(per * n_total)
    done = cell.n_requested if cell.method.batched else out.n_done
    text = f"~{_fmt_s(per * n_total)} ({done} inst)"
    return f"{text}, then {failure}" if failure else text


def runtime_frame(cells: list[CellResult], cfg: Config) -> pd.DataFrame:
    rows = []
    for c in cells:
        per, how = c.per_instance_bound()
        done = c.n_requested if c.method.batched and c.complete else c.outcome.n_done
        if c.method.batched and not c.complete:
            done = 0
        rows.append(
            {
                "model": c.model,
                "p": c.p,
                "method": c.method.label,
                "family": c.method.family,
                "status": c.outcome.status,
                "instances_requested": c.n_requested,
                "instances_done": done,
                "seconds_measured": (
                    min(c.outcome.seconds)
                    if c.method.batched and c.outcome.seconds
                    else float(np.sum(c.outcome.seconds))
                ),
                "per_instance_s": per,
                "per_instance_kind": how,
                f"time_{cfg.n_instances}_s": per * cfg.n_instances
                if how == "measured"
                else math.nan,
                "extrapolated": how == "measured" and done < cfg.n_instances,
                "note": c.outcome.note,
            }
        )
    return pd.DataFrame(rows)


def accuracy_frame(
    cells: list[CellResult], grids: dict[int, np.ndarray], cfg: Config
) -> tuple[pd.DataFrame, dict]:
    """Part 2: local accuracy and agreement with the exact SurvSHAP(t) values."""
    rows, curves = [], {}
    for p in cfg.accuracy_ps:
        if p not in grids:
            continue
        times = grids[p]
        for model in cfg.models:
            group = [
                c for c in cells if c.model == model and c.p == p and c.attributions is not None
            ]
            kernel = next((c for c in group if c.method.label == "SurvSHAP(t) kernel"), None)
            for c in group:
                la = local_accuracy(c, times)
                curves[(model, p, c.method.label)] = (times, la)
                row = {
                    "model": model,
                    "p": p,
                    "method": c.method.label,
                    "instances": c.attributions.shape[0],
                    "local_accuracy_mean": float(np.mean(la)),
                    "local_accuracy_max": float(np.max(la)),
                    "seconds": (
                        min(c.outcome.seconds)
                        if c.method.batched
                        else float(np.sum(c.outcome.seconds))
                    ),
                    "per_instance_s": c.per_instance_s,
                    "spearman_vs_exact": math.nan,
                    "top1_agreement_vs_exact": math.nan,
                    "instances_compared": 0,
                }
                if kernel is not None and c is not kernel:
                    k = min(kernel.attributions.shape[0], c.attributions.shape[0])
                    rho, top = agreement(
                        integrated_abs(c.attributions[:k], times),
                        integrated_abs(kernel.attributions[:k], times),
                    )
                    row.update(
                        spearman_vs_exact=rho, top1_agreement_vs_exact=top, instances_compared=k
                    )
                rows.append(row)
    return pd.DataFrame(rows), curves


# ====================================================================== part 3
def _ranking_metrics(scores: np.ndarray, p: int) -> dict[str, Any]:
    truth = np.arange(1, p + 1, dtype=float)  # importance of x1..xp: x_p most important
    taus = [stats.kendalltau(row, truth).statistic for row in scores]
    global_scores = scores.mean(0)
    return {
        "top1_rate": float(np.mean(scores.argmax(1) == p - 1)),
        "kendall_tau_mean": float(np.nanmean(taus)),
        "global_top1": bool(global_scores.argmax() == p - 1),
        "global_kendall_tau": float(stats.kendalltau(global_scores, truth).statistic),
    }


def run_ranking(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """Part 3: recovery of the true importance order x_p > ... > x_1."""
    p = cfg.ranking_p
    start = time.perf_counter()
    setting = make_setting(
        p, cfg.ranking_train, cfg.ranking_test, cfg, cfg.ranking_epochs, cfg.models
    )
    log(f"ranking: trained {list(setting.models)} in {time.perf_counter() - start:.1f} s")
    x, times = setting.x_test, setting.grid
    have_shap, have_lime = peers.available("survshap"), peers.available("survlimepy")
    rng = np.random.default_rng(cfg.seed)
    n_lime_train = min(cfg.ranking_lime_train, len(setting.x_train))
    lime_rows = rng.choice(len(setting.x_train), n_lime_train, replace=False)
    rows = []
    for model, forward in setting.models.items():
        found: list[tuple[str, np.ndarray | None, CellResult | None, str]] = []
        specs = [
            (
                Method("GradSHAP(t) 50", "ours", True, True),
                {"method": "gradshap", "sampling": "random", "n_samples": 50},
            ),
            (
                Method("IntGrad(t)", "ours", True, True),
                {"method": "intgrad", "n_steps": cfg.intgrad_steps},
            ),
        ]
        if cfg.ranking_gl:
            specs.insert(
                1,
                (
                    Method(f"GradSHAP(t) GL-{cfg.gl_steps}", "ours", True, True),
                    {"method": "gradshap", "sampling": "gausslegendre", "n_steps": cfg.gl_steps},
                ),
            )
        for method, spec in specs:
            cell = run_ours(forward, x, setting.background, method, spec, cfg, model, p, 600.0)
            scores = None if cell.attributions is None else integrated_abs(cell.attributions, times)
            found.append((method.label, scores, cell, ""))
        plan = cfg.ranking_kernel
        if have_shap:
            cap = cfg.cap_s if plan.cap_s is None else plan.cap_s
            cell = run_survshap(forward, setting, x[: plan.instances], "kernel", cfg, model, cap)
            scores = None if cell.attributions is None else integrated_abs(cell.attributions, times)
            found.append((cell.method.label, scores, cell, ""))
        else:
            found.append(("SurvSHAP(t) kernel", None, None, peers.missing_reason("survshap")))
        for neighbours, plan in cfg.ranking_lime.items():
            label = f"SurvLIME {neighbours}"
            if not have_lime:
                found.append((label, None, None, peers.missing_reason("survlimepy")))
                continue
            xs = x[: plan.instances]
            cell, explainer = run_survlime(
                forward,
                setting.x_train[lime_rows],
                setting.d_train[lime_rows],
                setting.e_train[lime_rows],
                xs,
                neighbours,
                cfg,
                model,
                p,
                cfg.cap_s if plan.cap_s is None else plan.cap_s,
            )
            scores = None
            if cell.coefficients is not None:
                k = len(cell.coefficients)
                scores = np.stack(
                    [
                        explainer.importance(xi, b)
                        for xi, b in zip(xs[:k], cell.coefficients, strict=True)
                    ]
                )
                scores = scores[np.isfinite(scores).all(axis=1)]  # drop failed solves
            found.append((label, scores, cell, ""))
        # the instances every method finished: the first k test rows
        common = min((len(sc) for _, sc, _, _ in found if sc is not None), default=0)
        for label, scores, cell, note in found:
            row: dict[str, Any] = {"model": model, "method": label, "instances": 0}
            if scores is not None and len(scores):
                row["instances"] = len(scores)
                row.update(_ranking_metrics(scores, p))
                if common:
                    shared = _ranking_metrics(scores[:common], p)
                    row[f"top1_rate_first_{common}"] = shared["top1_rate"]
                    row[f"kendall_tau_first_{common}"] = shared["kendall_tau_mean"]
            if cell is None:
                row.update(status="skipped", note=note)
            else:
                row.update(
                    status=cell.outcome.status,
                    seconds=float(np.sum(cell.outcome.seconds)),
                    note=cell.outcome.note,
                )
            rows.append(row)
        log(
            f"  ranking {model}: "
            + ", ".join(f"{r['method']} {r['instances']}" for r in rows[-len(found) :])
        )
    return pd.DataFrame(rows)


# ====================================================================== part 4
def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def engine_row(
    model: str,
    forward: captum_surv.SurvivalForward,
    x: torch.Tensor,
    background: torch.Tensor,
    steps: int,
    n_samples: int = 50,
) -> dict[str, Any]:
    """captum_surv's IntGrad(t)/GradSHAP(t) vs Captum looped over the time targets."""
    from captum.attr import GradientShap, IntegratedGradients

    n_times = forward.n_times
    base = background.mean(0, keepdim=True)
    ig, gs = IntegratedGradients(forward), GradientShap(forward)
    captum_surv.explain(forward, x[:2], "intgrad", base, n_steps=steps)  # warm-up
    ig.attribute(x[:2], baselines=base, target=0, n_steps=steps)

    def ig_loop() -> torch.Tensor:
        return torch.stack(
            [ig.attribute(x, baselines=base, target=k, n_steps=steps) for k in range(n_times)], 1
        )

    def gs_loop() -> torch.Tensor:
        torch.manual_seed(0)
        np.random.seed(0)
        return torch.stack(
            [
                gs.attribute(x, baselines=background, target=k, n_samples=n_samples)
                for k in range(n_times)
            ],
            1,
        )

    t_ours_ig, ours_ig = _timed(
        lambda: captum_surv.explain(forward, x, "intgrad", base, n_steps=steps)
    )
    t_loop_ig, loop_ig = _timed(ig_loop)
    t_ours_gs, ours_gs = _timed(
        lambda: captum_surv.explain(
            forward, x, "gradshap", background, sampling="random", n_samples=n_samples, seed=0
        )
    )
    t_loop_gs, loop_gs = _timed(gs_loop)
    loop_gs_expl = captum_surv.SurvExplanation(
        loop_gs.detach(), x, forward.times, ours_gs.prediction, ours_gs.reference_prediction
    )
    diff = (ours_ig.attributions - loop_ig).abs().max().item() / loop_ig.abs().max().item()
    return {
        "model": model,
        "instances": len(x),
        "p": x.shape[1],
        "T": n_times,
        "ours IntGrad(t) s": t_ours_ig,
        "Captum IG loop s": t_loop_ig,
        "IG loop / ours": t_loop_ig / t_ours_ig,
        "max rel. diff ours vs loop": diff,
        f"ours GradSHAP(t) {n_samples} s": t_ours_gs,
        f"Captum GradientShap {n_samples} loop s": t_loop_gs,
        "GradientShap loop / ours": t_loop_gs / t_ours_gs,
        "LA ours GradSHAP(t)": float(ours_gs.local_accuracy().mean()),
        "LA Captum GradientShap loop": float(loop_gs_expl.local_accuracy().mean()),
    }


def run_engine(cfg: Config, log: Callable[[str], None]) -> pd.DataFrame:
    """Part 4: all time points at once vs Captum looped over the time targets."""
    setting = make_setting(
        cfg.engine_p, cfg.n_train, cfg.engine_instances, cfg, cfg.epochs, cfg.models
    )
    x = torch.from_numpy(setting.x_test[: cfg.engine_instances])
    bg = torch.from_numpy(setting.background)
    rows = []
    for model, forward in setting.models.items():
        rows.append(engine_row(model, forward, x, bg, cfg.intgrad_steps))
        log(f"  engine {model}: IG loop / ours {rows[-1]['IG loop / ours']:.1f}x")
    return pd.DataFrame(rows)


# ====================================================================== report
def machine_description(cfg: Config) -> str:
    versions = []
    for name in ("survshap", "survlimepy", "cvxpy", "captum"):
        try:
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001
            versions.append(f"{name} missing")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(load average at start {load}), Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} thread), numpy {np.__version__}, "
        + ", ".join(versions)
    )


def target_checks(runtime: pd.DataFrame, accuracy: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The issue's targets, evaluated on this run's numbers."""
    rows = []
    ours = (
        "GradSHAP(t) 50"
        if 50 in cfg.gradshap_samples
        else f"GradSHAP(t) {max(cfg.gradshap_samples)}"
    )

    def per_instance(model: str, p: int, method: str) -> tuple[float, str]:
        hit = runtime[(runtime.model == model) & (runtime.p == p) & (runtime.method == method)]
        if hit.empty:
            return math.nan, "missing"
        return float(hit.per_instance_s.iloc[0]), str(hit.per_instance_kind.iloc[0])

    for p, factor in ((20, 50.0), (5, 1.0)):
        if p not in cfg.ps:
            continue
        for model in cfg.models:
            t_ours, _ = per_instance(model, p, ours)
            peer = runtime[
                (runtime.model == model) & (runtime.p == p) & (runtime.family == "SurvSHAP(t)")
            ]
            finished = peer[peer.per_instance_kind == "measured"]
            if finished.empty:
                bound = peer[peer.per_instance_kind == "lower bound"]
                if bound.empty:
                    continue
                t_peer, which, how = float(bound.per_instance_s.min()), "(all capped)", ">"
            else:
                best = finished.loc[finished.per_instance_s.idxmin()]
                t_peer, which, how = float(best.per_instance_s), best.method, ""
            ratio = t_peer / t_ours
            rows.append(
                {
                    "target": f"{ours} >= {factor:g}x faster than SurvSHAP(t), p={p}",
                    "model": model,
                    "measured": f"{how}{ratio:.0f}x vs {which}",
                    "met": ratio >= factor,
                }
            )
    lime = runtime[
        (runtime.method == "SurvLIME 1000")
        & runtime.per_instance_kind.isin(["measured", "lower bound"])
    ]
    for _, row in lime.iterrows():
        t_ours, _ = per_instance(row.model, row.p, ours)
        ratio = row.per_instance_s / t_ours
        how = ">" if row.per_instance_kind == "lower bound" else ""
        rows.append(
            {
                "target": f"{ours} >= 1000x faster than SurvLIME 1000 (defaults), p={row.p}",
                "model": row.model,
                "measured": f"{how}{ratio:.0f}x ({row.per_instance_s:.3g} s vs "
                f"{t_ours:.2g} s per instance)",
                "met": ratio >= 1000,
            }
        )
    if not accuracy.empty:
        gl_label = f"GradSHAP(t) GL-{cfg.gl_steps}"
        for (model, p), grp in accuracy.groupby(["model", "p"], sort=False):
            extra = [f"GradSHAP(t) {n}" for n in cfg.accuracy_samples]
            for label in (ours, *extra, gl_label):
                hit = grp[grp.method == label]
                if hit.empty or hit.instances_compared.iloc[0] == 0:
                    continue
                rho = float(hit.spearman_vs_exact.iloc[0])
                top = float(hit.top1_agreement_vs_exact.iloc[0])
                rows.append(
                    {
                        "target": f"{label} vs exact SurvSHAP(t), p={p}: "
                        "Spearman >= 0.9, top-1 >= 80%",
                        "model": model,
                        "measured": f"Spearman {rho:.3f}, top-1 {100 * top:.0f}% "
                        f"({int(hit.instances_compared.iloc[0])} inst)",
                        "met": rho >= 0.9 and top >= 0.8,
                    }
                )
        gl = accuracy[accuracy.method.str.startswith("GradSHAP(t) GL")]
        for _, row in gl.iterrows():
            rows.append(
                {
                    "target": f"{row.method} LA <= 1e-3 at every t (tanh nets), p={row.p}",
                    "model": row.model,
                    "measured": f"mean {row.local_accuracy_mean:.1e}, "
                    f"max over t {row.local_accuracy_max:.1e}",
                    "met": row.local_accuracy_max <= 1e-3,
                }
            )
    return pd.DataFrame(rows)


def runtime_markdown(runtime: pd.DataFrame, cells: list[CellResult], cfg: Config) -> str:
    parts = []
    by_key = {(c.model, c.p, c.method.label): c for c in cells}
    methods = list(dict.fromkeys(runtime.method))
    for model in cfg.models:
        table = {"method": methods}
        for p in cfg.ps:
            table[f"p={p}"] = [
                _cell_text(by_key[(model, p, m)], cfg.n_instances)
                if (model, p, m) in by_key
                else "-"
                for m in methods
            ]
        parts.append(
            f"**{model}** — seconds for {cfg.n_instances} instances\n\n"
            + to_markdown(pd.DataFrame(table))
        )
    return "\n\n".join(parts)


def _plan_cap(cfg: Config, key: str) -> str:
    plan = cfg.peers.get(key)
    if plan is None:
        return "not run"
    return f"{cfg.cap_s if plan.cap_s is None else plan.cap_s:g} s"


def write_report(
    out: Path,
    cfg: Config,
    machine: str,
    runtime: pd.DataFrame,
    cells: list[CellResult],
    accuracy: pd.DataFrame,
    curves: dict,
    ranking: pd.DataFrame,
    engine: pd.DataFrame,
    targets: pd.DataFrame,
    total_s: float,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stem = "peers" if cfg.name == "full" else f"peers_{cfg.name}"
    if cfg.tag:
        stem = f"peers_{cfg.tag}"
    lines = [
        f"# captum_surv vs SurvSHAP(t) and SurvLIME ({cfg.tag or cfg.name})",
        "",
        f"Machine: {machine}. Total run time {total_s / 60:.1f} min.",
        "",
        f"Setup: ranking simulation with p features (x ~ N(0, I), Weibull PH), {cfg.n_train} "
        f"training rows, tanh MLPs {list(cfg.hidden)} with batch norm and dropout; "
        f"{cfg.n_instances} test instances, a background of {cfg.n_background} training rows "
        f"(GradSHAP(t)'s references, SurvSHAP(t)'s data; its mean is IntGrad(t)'s baseline), "
        f"{cfg.n_times} time points (5%-95% quantiles of the training event times) for every "
        f"model and method. SurvLIME gets the training set (its neighbour scale, Nelson-Aalen "
        f"baseline and time grid). Peers predict through the same vectorised captum_surv forward. "
        f"Per-method cap {cfg.cap_s:g} s per model and p (SurvLIME 1000: "
        f"{_plan_cap(cfg, 'lime 1000')}), memory limit {cfg.mem_gb:g} GiB per method. Peers "
        "explain instance by instance, at most: "
        + ", ".join(
            f"{_peer_method(k, cfg).label}: {plan.instances}"
            + (f" (only at p in {list(plan.ps)})" if plan.ps else "")
            for k, plan in cfg.peers.items()
        )
        + f"; captum_surv explains all {cfg.n_instances} in one call (the part-2-only variants "
        f"{cfg.accuracy_instances}), best of up to {cfg.repeats} runs. `~t (k inst)`: time for "
        f"all {cfg.n_instances} instances extrapolated (labelled as such) from k measured "
        "instances; `> t/inst (cap)`: not one instance finished within the cap; `NaN result`: "
        "the peer ran but returned NaN for every instance (its solver failed); `OOM`: out of "
        "memory (survshap's exact kernel builds a dense 2^p x 2^p matrix); `not run`: skipped "
        "(see the CSV's note).",
        "",
    ]
    if not targets.empty:
        shown = targets.assign(met=targets.met.map({True: "yes", False: "**no**"}))
        lines += ["## Targets", "", to_markdown(shown), ""]
    if not runtime.empty:
        lines += [
            "## 1. Runtime vs number of features",
            "",
            runtime_markdown(runtime, cells, cfg),
            "",
        ]
    if not accuracy.empty:
        acc = accuracy.copy()
        for col in ("local_accuracy_mean", "local_accuracy_max"):
            acc[col] = acc[col].map(lambda v: f"{v:.1e}")
        for col in ("spearman_vs_exact", "top1_agreement_vs_exact"):
            acc[col] = acc[col].map(lambda v: "-" if not np.isfinite(v) else f"{v:.3f}")
        lines += [
            "## 2. Local accuracy and agreement with exact SurvSHAP(t)",
            "",
            "Local accuracy: the paper's metric (0 is perfect), mean and max over the time grid. "
            "Agreement: per instance, Spearman correlation of the time-integrated |attribution| "
            "of the p features with SurvSHAP(t)'s exact kernel values, and whether both rank "
            "the same feature first; averaged over the instances both have.",
            "",
            to_markdown(acc),
            "",
        ]
    if not ranking.empty:
        lines += [
            "## 3. Feature ranking (ranking simulation)",
            "",
            f"p = {cfg.ranking_p}, {cfg.ranking_train} training / {cfg.ranking_test} test rows; "
            f"true order x{cfg.ranking_p} > ... > x1. Per instance: features ranked by "
            "time-integrated |attribution| (SurvLIME: |b_j (x_j - mean_j)|, fitted on a "
            f"{cfg.ranking_lime_train}-row training subsample); top1_rate: share of instances "
            f"ranking x{cfg.ranking_p} first; kendall_tau_mean: mean per-instance Kendall tau "
            "with the true order; global_*: the ranking of the mean score.",
            "",
            to_markdown(ranking),
            "",
        ]
    if not engine.empty:
        lines += [
            "## 4. Time-grid engine vs Captum looped over time targets",
            "",
            to_markdown(engine),
            "",
        ]
    md = out / f"{stem}.md"
    md.write_text("\n".join(lines))
    runtime.to_csv(out / f"{stem}_runtime.csv", index=False)
    accuracy.to_csv(out / f"{stem}_accuracy.csv", index=False)
    ranking.to_csv(out / f"{stem}_ranking.csv", index=False)
    engine.to_csv(out / f"{stem}_engine.csv", index=False)
    targets.to_csv(out / f"{stem}_targets.csv", index=False)
    plot_all(out, stem, cfg, runtime, curves, ranking)
    return md


def plot_all(
    out: Path, stem: str, cfg: Config, runtime: pd.DataFrame, curves: dict, ranking: pd.DataFrame
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runtime.empty:
        fig, axes = plt.subplots(
            1, len(cfg.models), figsize=(5 * len(cfg.models), 4), sharey=True, squeeze=False
        )
        for ax, model in zip(axes[0], cfg.models, strict=True):
            sub = runtime[runtime.model == model]
            for method, grp in sub.groupby("method", sort=False):
                grp = grp.sort_values("p")
                style = "-" if grp.family.iloc[0] == "ours" else "--"
                measured = grp[grp.per_instance_kind == "measured"]
                line = ax.plot(
                    measured.p, measured.per_instance_s, style, marker="o", label=method
                )[0]
                bound = grp[grp.per_instance_kind == "lower bound"]
                if not bound.empty:
                    ax.plot(
                        bound.p, bound.per_instance_s, "^", color=line.get_color(), markersize=9
                    )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(list(cfg.ps), [str(p) for p in cfg.ps])
            ax.set_title(model)
            ax.set_xlabel("number of features p")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("seconds per instance (^: lower bound, capped)")
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.tight_layout()
        fig.savefig(out / f"{stem}_runtime.png", dpi=110)
        plt.close(fig)
    if curves:
        p = max(p for (_, p, _) in curves)
        fig, axes = plt.subplots(
            1, len(cfg.models), figsize=(5 * len(cfg.models), 4), sharey=True, squeeze=False
        )
        for ax, model in zip(axes[0], cfg.models, strict=True):
            for (m, pp, label), (times, la) in curves.items():
                if m == model and pp == p:
                    ax.plot(times, np.maximum(la, 1e-12), marker=".", label=label)
            ax.set_yscale("log")
            ax.set_title(f"{model}, p={p}")
            ax.set_xlabel("time")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].set_ylabel("local accuracy (0 is perfect)")
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.tight_layout()
        fig.savefig(out / f"{stem}_accuracy.png", dpi=110)
        plt.close(fig)
    if not ranking.empty and "top1_rate" in ranking:
        data = ranking.dropna(subset=["top1_rate"])
        methods = list(dict.fromkeys(data.method))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        width = 0.8 / max(len(methods), 1)
        for i, method in enumerate(methods):
            sub = data[data.method == method].set_index("model").reindex(list(cfg.models))
            pos = np.arange(len(cfg.models)) + i * width
            axes[0].bar(pos, sub.top1_rate, width, label=method)
            axes[1].bar(pos, sub.kendall_tau_mean, width, label=method)
        for ax, title in zip(
            axes, ("share ranking the top feature first", "mean Kendall tau"), strict=True
        ):
            ax.set_xticks(np.arange(len(cfg.models)) + 0.4 - width / 2, list(cfg.models))
            ax.set_title(title)
            ax.grid(True, axis="y", alpha=0.3)
        axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.tight_layout()
        fig.savefig(out / f"{stem}_ranking.png", dpi=110)
        plt.close(fig)


# ====================================================================== main
def run(cfg: Config, out: Path, log: Callable[[str], None] = print) -> Path:
    """Run the configured parts and write the report; returns the markdown path."""
    start = time.perf_counter()
    machine = machine_description(cfg)
    log(f"{cfg.name}: {machine}")
    cells: list[CellResult] = []
    grids: dict[int, np.ndarray] = {}
    runtime = accuracy = ranking = engine = pd.DataFrame()
    curves: dict = {}
    if 1 in cfg.parts or 2 in cfg.parts:
        cells, grids = run_grid(cfg, log)
        runtime = runtime_frame(cells, cfg)
        if 2 in cfg.parts:
            accuracy, curves = accuracy_frame(cells, grids, cfg)
    if 3 in cfg.parts:
        ranking = run_ranking(cfg, log)
    if 4 in cfg.parts:
        engine = run_engine(cfg, log)
    targets = target_checks(runtime, accuracy, cfg) if not runtime.empty else pd.DataFrame()
    md = write_report(
        out,
        cfg,
        machine,
        runtime,
        cells,
        accuracy,
        curves,
        ranking,
        engine,
        targets,
        time.perf_counter() - start,
    )
    log(md.read_text())
    return md


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="about 5 minutes (make bench-quick)")
    mode.add_argument("--tiny", action="store_true", help="seconds: the test's configuration")
    parser.add_argument("--out", default=str(_HERE / "results"), help="output folder")
    parser.add_argument("--cap", type=float, help="per-method time cap in seconds")
    parser.add_argument("--ps", type=int, nargs="+", help="numbers of features (part 1)")
    parser.add_argument("--parts", type=int, nargs="+", choices=[1, 2, 3, 4], help="parts to run")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), help="models to run")
    parser.add_argument("--mem-gb", type=float, help="memory limit per method (GiB)")
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=["kernel", "sampling", "lime 50", "lime 1000"],
        help="peer methods to run (default: the configuration's; none: only captum_surv)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--tag", help="write peers_<TAG>.* instead of the preset's file names")
    args = parser.parse_args(argv)
    cfg = PRESETS["quick" if args.quick else "tiny" if args.tiny else "full"]
    changes: dict[str, Any] = {}
    if args.cap is not None:
        changes["cap_s"] = args.cap
    if args.ps:
        changes["ps"] = tuple(args.ps)
    if args.parts:
        changes["parts"] = tuple(args.parts)
    if args.models:
        changes["models"] = tuple(args.models)
    if args.mem_gb is not None:
        changes["mem_gb"] = args.mem_gb
    if args.tag:
        changes["tag"] = args.tag
    if args.peers is not None:
        changes["peers"] = {k: v for k, v in cfg.peers.items() if k in args.peers}
    cfg = dataclasses.replace(cfg, **changes)
    warnings.filterwarnings("ignore")  # pycox/torchtuples/sksurv deprecation noise
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    return run(cfg, Path(args.out))


if __name__ == "__main__":
    main()
