"""Parametric fast path: all T time points of a Weibull network for the price of k = 2.

Survival at every time depends on x only through the network's k = 2 outputs (log scale,
log shape), so the Jacobian of all T time points costs k backward passes of the network
(plus k cheap forward-mode passes of the closed-form survival). This measures, side by
side in one run, on a ``from_module(net, "weibull")`` forward with B instances, p
features and T time points:

* IntGrad(t): ``captum_surv.explain(fwd, x, "intgrad")`` for all T time points (the
  engine's ``"head"`` route with ``network_rank`` = 2, summed as rank-2 products);
* TimeAttribution: ``TimeAttribution(IntegratedGradients(fwd))``, Captum's own
  IntegratedGradients on stacked (instance, time) rows with the same Jacobian route;
* generic: both calls with the forward's structure hidden (``structure = "network"``),
  so the engine differentiates the whole forward (one pass per feature or per time);
* loop: Captum ``IntegratedGradients`` looped over the T targets.

It checks that all agree with the loop, then prints the ratios.

Usage::

    python benchmarks/bench_parametric.py            # B=100, p=20, T=100
    python benchmarks/bench_parametric.py --quick    # B=20, p=10, T=20
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

import captum_surv

RESULTS = Path(__file__).resolve().parent / "results"


def build(p: int, n_times: int, hidden: int, seed: int = 0):
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(p, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 2)
    )
    times = np.linspace(0.1, 10.0, n_times)
    return captum_surv.from_module(net, "weibull", times=times)


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run(batch: int, p: int, n_times: int, n_steps: int, repeats: int, hidden: int) -> dict:
    fwd = build(p, n_times, hidden)
    generic = build(p, n_times, hidden)
    generic.structure = "network"  # hide the family: the engine differentiates forward()
    x = torch.randn(batch, p, generator=torch.Generator().manual_seed(1))
    base = torch.zeros(1, p)

    def explain_call(forward):
        return lambda: (
            captum_surv.explain(forward, x, "intgrad", base, n_steps=n_steps).attributions
        )

    def time_attribution_call(forward):
        return lambda: captum_surv.TimeAttribution(IntegratedGradients(forward)).attribute(
            x, base, n_steps=n_steps
        )

    def loop_call():
        ig = IntegratedGradients(fwd)
        return torch.stack(
            [ig.attribute(x, base, target=k, n_steps=n_steps) for k in range(n_times)], 1
        )

    calls = {
        "IntGrad(t)": explain_call(fwd),
        "IntGrad(t) generic": explain_call(generic),
        "TimeAttribution": time_attribution_call(fwd),
        "TimeAttribution generic": time_attribution_call(generic),
        "loop": loop_call,
    }
    for fn in calls.values():  # warm-up (lazy imports, allocator): not timed
        if fn is not loop_call:
            fn()
    seconds = dict.fromkeys(calls, float("inf"))
    outputs = {}
    for _ in range(repeats):  # round robin: every call sees the same machine load
        for name, fn in calls.items():
            s, outputs[name] = timed(fn, 1)
            seconds[name] = min(seconds[name], s)
    scale = float(outputs["loop"].abs().max())
    error = max(float((outputs[n] - outputs["loop"]).abs().max()) / scale for n in calls)
    assert error < 1e-4, error
    return {
        "B": batch,
        "p": p,
        "T": n_times,
        **{f"{k} s": v for k, v in seconds.items()},
        "loop / IntGrad(t)": seconds["loop"] / seconds["IntGrad(t)"],
        "generic / IntGrad(t)": seconds["IntGrad(t) generic"] / seconds["IntGrad(t)"],
        "loop / TimeAttribution": seconds["loop"] / seconds["TimeAttribution"],
        "generic / TimeAttribution": seconds["TimeAttribution generic"]
        / seconds["TimeAttribution"],
        "max rel diff to loop": error,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B=20, p=10, T=20")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        config = {"batch": 20, "p": 10, "n_times": 20, "n_steps": 50, "hidden": 32}
    else:
        config = {"batch": 100, "p": 20, "n_times": 100, "n_steps": 50, "hidden": 64}
    row = run(**config, repeats=args.repeats)
    machine = (
        f"{platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"torch {torch.__version__}"
    )
    header = (
        f"Weibull network from_module, B={config['batch']}, p={config['p']}, "
        f"T={config['n_times']}, IntegratedGradients n_steps={config['n_steps']}, "
        f"MLP {config['hidden']}x2 (tanh); best of {args.repeats} round-robin runs; {machine}"
    )
    cols = list(row)
    lines = [
        header,
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
        "| "
        + " | ".join(f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in cols)
        + " |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "parametric_quick.md" if args.quick else "parametric.md"
    (args.out / name).write_text(text)
    return row


if __name__ == "__main__":
    main()
