"""The Jacobian engine: discrete-time heads and CoxTime, new route vs the previous one.

Measures, in one run (one CPU thread, medians of interleaved repeats):

1. **Discrete heads** (LogisticHazard, PMF, MTLR, DeepHit with 2 risks; 64x64 ReLU
   networks, B = 100 instances, p = 20 features, T = 50 cuts (forward-mode route) and
   T = 12 cuts as in the paper (T < p: reverse route), IntGrad(t) with
   ``n_steps = 50``): whole-grid IntGrad(t) time relative to one Captum
   ``IntegratedGradients`` call (one target, same ``n_steps``), relative to a loop of
   min(p, T) reverse passes over the same 5,000 points (the cost floor of a whole-grid
   Jacobian; for T > p it computes only p of the T columns), and the previous engine
   (the whole map differentiated with one ``vmap(jvp)``, full Jacobians then weighted)
   against the new one; the new attributions are checked against the old
   ones and against Captum's ``IntegratedGradients`` looped over a few targets.
2. **Throughput across ``batch_size``** (1k, 4k, 16k, 64k points per Jacobian call) of
   IntGrad(t) on 65,000 points, old and new engine.
3. **CoxTime** (``MLPVanillaCoxTime`` 64x64, p = 20, a Breslow baseline with about 1,400
   jump times): exact IntGrad(t) with the first layer split (new) vs the previous engine
   (stacked rows), and the approximate mode ``with_knots(k)``: its time and maximum
   absolute error of survival and of the attributions against the exact forward.

Writes ``benchmarks/results/engine.md`` and ``engine_*.csv``.

Run: ``.venv/bin/python benchmarks/bench_engine.py`` (about 5-10 minutes on 2 cores;
``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients
from torch import nn

import captum_surv
from captum_surv.attr import jacobian, methods
from captum_surv.models import coxtime as coxtime_module

RESULTS = Path(__file__).resolve().parent / "results"


# ------------------------------------------------------------------ the previous engine
@contextlib.contextmanager
def previous_engine() -> Iterator[None]:
    """Run the engine as before this change: discrete heads through one ``vmap(jvp)`` of the
    whole map, CoxTime on stacked (row, time) pairs."""

    def whole_map(forward: Any, net: Any, inputs: Any, chunk_rows: Any = None) -> Any:
        head = forward.output_from_network
        return jacobian._full_jacobian(
            lambda *xs: head(forward.run_network(net, *xs)), inputs, key=net
        )

    saved = (
        jacobian.head_jacobian,
        jacobian.first_layer_split,
        coxtime_module.first_layer_split,
        methods.weighted_jacobian_sums,
    )
    jacobian.head_jacobian = whole_map
    jacobian.first_layer_split = coxtime_module.first_layer_split = lambda net: None
    methods.weighted_jacobian_sums = lambda *args: None  # full Jacobians, then weighted
    try:
        yield
    finally:
        jacobian.head_jacobian, jacobian.first_layer_split = saved[:2]
        coxtime_module.first_layer_split, methods.weighted_jacobian_sums = saved[2:]


# ------------------------------------------------------------------ models
def mlp(p: int, out: int, width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(p, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, out)
    )


class CompetingNet(nn.Module):
    """DeepHit's network: ``[batch, n_risks, n_cuts]`` joint pmf logits."""

    def __init__(self, p: int, n_risks: int, n_cuts: int) -> None:
        super().__init__()
        self.shape = (n_risks, n_cuts)
        self.body = mlp(p, n_risks * n_cuts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1, *self.shape)


def discrete_forwards(p: int, n_cuts: int) -> dict[str, captum_surv.SurvivalForward]:
    from pycox.models import MTLR, PMF, LogisticHazard

    cuts = np.linspace(0.0, 10.0, n_cuts)
    torch.manual_seed(0)
    return {
        "LogisticHazard": captum_surv.from_pycox(
            LogisticHazard(mlp(p, n_cuts), duration_index=cuts)
        ),
        "PMF": captum_surv.from_pycox(PMF(mlp(p, n_cuts), duration_index=cuts)),
        "MTLR": captum_surv.from_pycox(MTLR(mlp(p, n_cuts), duration_index=cuts)),
        "DeepHit": captum_surv.from_module(
            CompetingNet(p, 2, n_cuts), "competing_pmf", cuts=cuts, n_risks=2
        ),
    }


# ------------------------------------------------------------------ timing
def interleaved(candidates: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each candidate, run in turn ``repeats`` times (after a warm-up)."""
    for fn in candidates.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in times.items()}


def reverse_loop(forward: captum_surv.SurvivalForward, points: torch.Tensor, passes: int) -> None:
    """``passes`` reverse passes of the whole map over ``points`` (the cost floor)."""
    z = points.detach().clone().requires_grad_(True)
    out = forward(z)
    for k in range(passes):
        torch.autograd.grad(out[:, k].sum(), z, retain_graph=k < passes - 1)


def rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


# ------------------------------------------------------------------ part 1
def discrete_part(args: argparse.Namespace, log: Callable[[str], None]) -> pd.DataFrame:
    return pd.concat(
        [discrete_grid(args, n_cuts, log) for n_cuts in args.discrete_cuts], ignore_index=True
    )


def discrete_grid(
    args: argparse.Namespace, n_cuts: int, log: Callable[[str], None]
) -> pd.DataFrame:
    rows = []
    p, n, steps = args.p, args.instances, args.steps
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(1))
    base = torch.zeros(1, p)
    alphas = torch.linspace(0, 1, steps)
    points = (base + alphas[:, None, None] * (x - base)).reshape(-1, p)
    for name, fwd in discrete_forwards(p, n_cuts).items():
        ig = IntegratedGradients(fwd)

        def new(fwd: Any = fwd) -> Any:
            return captum_surv.explain(fwd, x, "intgrad", base, n_steps=steps)

        def old(fwd: Any = fwd) -> Any:
            with previous_engine():
                return captum_surv.explain(fwd, x, "intgrad", base, n_steps=steps)

        def jac_new(fwd: Any = fwd) -> Any:
            return jacobian.output_jacobian(fwd, (points,))

        def jac_old(fwd: Any = fwd) -> Any:
            with previous_engine():
                return jacobian.output_jacobian(fwd, (points,))

        t = interleaved(
            {
                "new": new,
                "old": old,
                "captum": lambda ig=ig: ig.attribute(x, baselines=base, target=0, n_steps=steps),
                "loop": lambda fwd=fwd: reverse_loop(fwd, points, min(p, n_cuts)),
                "jac_new": jac_new,
                "jac_old": jac_old,
            },
            args.repeats,
        )
        ours, before = new().attributions, old().attributions
        targets = [0, n_cuts // 2, n_cuts - 1]
        loop = torch.stack(
            [ig.attribute(x, baselines=base, target=k, n_steps=steps) for k in targets], 1
        )
        row = {
            "model": name,
            "B": n,
            "p": p,
            "T": n_cuts,
            "n_steps": steps,
            "IntGrad(t) new s": t["new"],
            "IntGrad(t) old s": t["old"],
            "Captum IG 1 call s": t["captum"],
            "loop min(p, T) reverse s": t["loop"],
            "Jacobian new s": t["jac_new"],
            "Jacobian old s": t["jac_old"],
            "new / Captum IG": t["new"] / t["captum"],
            "old / Captum IG": t["old"] / t["captum"],
            "Jacobian new / loop": t["jac_new"] / t["loop"],
            "IntGrad(t) new / loop": t["new"] / t["loop"],
            "old / new": t["old"] / t["new"],
            "max rel diff new vs old": rel_diff(ours, before),
            "max rel diff new vs Captum IG loop": rel_diff(ours[:, targets], loop),
        }
        rows.append(row)
        log(
            f"  {name} T={n_cuts}: new/IG {row['new / Captum IG']:.2f}, old/IG "
            f"{row['old / Captum IG']:.2f}, Jacobian new/loop {row['Jacobian new / loop']:.2f}, "
            f"IntGrad(t) new/loop {row['IntGrad(t) new / loop']:.2f}, "
            f"old/new {row['old / new']:.2f}, diff {row['max rel diff new vs old']:.1e}"
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ part 2
def throughput_part(args: argparse.Namespace, log: Callable[[str], None]) -> pd.DataFrame:
    rows = []
    p, n_cuts, steps = args.p, args.cuts, args.steps
    n = args.throughput_points // steps
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(2))
    base = torch.zeros(1, p)
    forwards = discrete_forwards(p, n_cuts)
    for name in args.throughput_models:
        fwd = forwards[name]
        candidates = {}
        for size in args.batch_sizes:

            def new(size: int = size, fwd: Any = fwd) -> Any:
                return captum_surv.explain(fwd, x, "intgrad", base, n_steps=steps, batch_size=size)

            def old(size: int = size, fwd: Any = fwd) -> Any:
                with previous_engine():
                    return captum_surv.explain(
                        fwd, x, "intgrad", base, n_steps=steps, batch_size=size
                    )

            candidates[f"new {size}"] = new
            candidates[f"old {size}"] = old
        t = interleaved(candidates, args.throughput_repeats)
        for engine in ("new", "old"):
            rates = {size: n * steps / t[f"{engine} {size}"] for size in args.batch_sizes}
            row: dict[str, Any] = {"model": name, "engine": engine, "points": n * steps}
            row.update({f"rows/s batch_size={size}": r for size, r in rates.items()})
            row["max / min"] = max(rates.values()) / min(rates.values())
            rows.append(row)
            log(f"  {name} {engine}: " + ", ".join(f"{s}: {r:,.0f}/s" for s, r in rates.items()))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ part 3
def coxtime_forward(p: int, n_train: int) -> captum_surv.SurvivalForward:
    from pycox.models.cox_time import MLPVanillaCoxTime

    torch.manual_seed(0)
    net = MLPVanillaCoxTime(p, [64, 64], batch_norm=False, dropout=0.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_train, p)).astype(np.float32)
    risk = 0.5 * x[:, 0] - 0.5 * x[:, 1]
    durations = (rng.exponential(size=n_train) / np.exp(risk)).astype(np.float32)
    events = (rng.uniform(size=n_train) < 0.7).astype(np.float32)
    data = (torch.from_numpy(x), durations, events)
    return captum_surv.from_module(net, "coxtime", data=data, times=args_times(durations))


def args_times(durations: np.ndarray) -> np.ndarray:
    return np.quantile(durations, np.linspace(0.05, 0.9, 20))


def coxtime_part(args: argparse.Namespace, log: Callable[[str], None]) -> pd.DataFrame:
    p, n, steps = args.p, args.coxtime_instances, args.coxtime_steps
    fwd = coxtime_forward(p, args.coxtime_train)
    n_jumps = int(fwd.knot_times.shape[0])
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(3))
    base = torch.zeros(1, p)

    def run(f: Any) -> Any:
        return captum_surv.explain(f, x, "intgrad", base, n_steps=steps)

    def old() -> Any:
        with previous_engine():
            return run(fwd)

    approx = {k: fwd.with_knots(k) for k in args.knots}
    candidates: dict[str, Callable[[], Any]] = {"new": lambda: run(fwd), "old": old}
    candidates.update({f"knots {k}": (lambda f=f: run(f)) for k, f in approx.items()})
    t = interleaved(candidates, args.repeats)
    exact, before = run(fwd), old()
    with torch.no_grad():
        survival = fwd(x)
    rows = [
        {
            "mode": "exact (first layer split)",
            "knots": n_jumps,
            "IntGrad(t) s": t["new"],
            "speed-up vs old": t["old"] / t["new"],
            "max abs survival error": 0.0,
            "max abs attribution error": 0.0,
            "max rel diff vs old": rel_diff(exact.attributions, before.attributions),
        },
        {
            "mode": "old engine (stacked rows)",
            "knots": n_jumps,
            "IntGrad(t) s": t["old"],
            "speed-up vs old": 1.0,
            "max abs survival error": 0.0,
            "max abs attribution error": 0.0,
            "max rel diff vs old": 0.0,
        },
    ]
    for k, f in approx.items():
        result = run(f)
        with torch.no_grad():
            err = float((f(x) - survival).abs().max())
        rows.append(
            {
                "mode": "approximate",
                "knots": k,
                "IntGrad(t) s": t[f"knots {k}"],
                "speed-up vs old": t["old"] / t[f"knots {k}"],
                "max abs survival error": err,
                "max abs attribution error": float(
                    (result.attributions - exact.attributions).abs().max()
                ),
                "max rel diff vs old": rel_diff(result.attributions, before.attributions),
            }
        )
    for row in rows:
        log(
            f"  CoxTime {row['mode']} knots={row['knots']}: {row['IntGrad(t) s']:.3f} s, "
            f"speed-up {row['speed-up vs old']:.2f}, survival error "
            f"{row['max abs survival error']:.1e}"
        )
    table = pd.DataFrame(rows)
    table.insert(0, "jump times", n_jumps)
    table.insert(0, "points", n * steps)
    return table


# ------------------------------------------------------------------ main
def to_markdown(frame: pd.DataFrame) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1e5 else f"{v:,.0f}"
        return str(v)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.p, args.cuts, args.instances, args.steps = 20, 50, 100, 50
    args.discrete_cuts = [50, 12]  # the setup, then the paper's (T < p)
    args.batch_sizes = [1024, 4096, 16384, 65536]
    args.throughput_points, args.throughput_repeats = 65_000, 2
    args.throughput_models = ["LogisticHazard", "DeepHit"]
    args.coxtime_train, args.coxtime_instances, args.coxtime_steps = 2000, 20, 20
    args.knots = [8, 32, 128]
    stem = "engine"
    if args.quick:
        args.instances, args.repeats, args.throughput_points = 10, 1, 4000
        args.batch_sizes, args.throughput_repeats = [1024, 4096], 1
        args.throughput_models = ["LogisticHazard"]
        args.coxtime_train, args.coxtime_instances, args.coxtime_steps = 300, 4, 5
        stem = "engine_quick"
    torch.set_num_threads(1)

    def log(message: str) -> None:
        print(message, flush=True)

    log("1. discrete heads")
    discrete = discrete_part(args, log)
    log("2. throughput across batch_size")
    throughput = throughput_part(args, log)
    log("3. CoxTime")
    coxtime = coxtime_part(args, log)
    args.out.mkdir(parents=True, exist_ok=True)
    discrete.to_csv(args.out / f"{stem}_discrete.csv", index=False)
    throughput.to_csv(args.out / f"{stem}_throughput.csv", index=False)
    coxtime.to_csv(args.out / f"{stem}_coxtime.csv", index=False)
    command = "python benchmarks/bench_engine.py" + (" --quick" if args.quick else "")
    text = "\n\n".join(
        [
            "# Jacobian engine benchmark",
            f"`{command}`; torch {torch.__version__}, one CPU thread, medians of "
            f"{args.repeats} interleaved repeats (throughput: {args.throughput_repeats}). "
            "'old' is the previous engine (discrete heads: one vmap(jvp) of the whole map, "
            "full Jacobians then weighted; CoxTime: all stacked (row, time) pairs at once "
            "through autograd; the chain rule from the jump times to the grid is the "
            "current one in both), run in the same process.",
            f"## 1. Discrete heads: IntGrad(t) on B = {args.instances}, p = {args.p}, "
            f"T = {' and '.join(map(str, args.discrete_cuts))}, n_steps = {args.steps}",
            "`new / Captum IG`: whole-grid IntGrad(t) over one Captum IntegratedGradients "
            "call (one target). `Jacobian new / loop`: the engine's Jacobian of the "
            f"{args.instances * args.steps} path points over a loop of min(p, T) reverse "
            "passes of the whole map on the same points.",
            to_markdown(discrete),
            "## 2. Throughput (path points per second) across batch_size",
            to_markdown(throughput),
            "## 3. CoxTime exact and approximate (with_knots)",
            to_markdown(coxtime),
        ]
    )
    (args.out / f"{stem}.md").write_text(text + "\n")
    log(f"wrote {args.out / (stem + '.md')}")


if __name__ == "__main__":
    sys.exit(main())
