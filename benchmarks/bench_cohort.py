"""Cohort-scale explanations: ``explain_dataset`` on up to 10^6 patients, time and memory.

Each configuration runs in a fresh subprocess, which (untimed) trains a small model on
simulated data and writes the cohort as a Parquet file, then (timed) explains every
patient with GradSHAP(t) (the package's default estimator: every reference row x 16
Gauss-Legendre path points; 8 reference rows sampled from the training data, i.e. 128
gradient points per patient; ``--references`` and ``--sampling random`` for the former
50 random draws) and writes attributions, predictions and summaries to Parquet. Peak memory is the
subprocess's maximum resident set size (``resource.getrusage``), which includes Python,
torch and pyarrow themselves (about 0.4 GB before any work).

Usage::

    python benchmarks/bench_cohort.py                      # the issue's configurations
    python benchmarks/bench_cohort.py --quick              # 20k DeepSurv rows, smoke run
    python benchmarks/bench_cohort.py --only deepsurv --n 1000000 --threads 2
    python benchmarks/bench_cohort.py --only ray           # Ray, 1 vs 2 workers

Results: ``benchmarks/results/cohort.md`` (and ``cohort.csv``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


# --------------------------------------------------------------------------- child
def _build(model: str, p: int, n_times: int, n_train: int, seed: int = 0):
    import numpy as np
    import torch
    import torchtuples as tt
    from pycox import models as pm
    from pycox.models.cox_time import MLPVanillaCoxTime
    from pycox.preprocessing.label_transforms import LabTransDiscreteTime
    from torch import nn

    import captum_surv

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train, p)).astype(np.float32)
    beta = np.linspace(0, 1, p) * np.where(np.arange(p) % 2 == 0, 1, -1)
    t = (10 * (-np.log(rng.uniform(size=n_train)) / np.exp(0.5 * x @ beta)) ** 0.4).astype(
        np.float32
    )
    c = rng.uniform(2, 25, size=n_train).astype(np.float32)
    d, e = np.minimum(t, c), (t <= c).astype(np.float32)
    mlp = lambda out: tt.practical.MLPVanilla(p, [64, 64], out, dropout=0.1)  # noqa: E731
    if model == "deepsurv":
        net = pm.CoxPH(mlp(1), tt.optim.Adam(0.01))
        net.fit(x, (d, e), batch_size=256, epochs=2, verbose=False)
        net.compute_baseline_hazards()
        fwd = captum_surv.from_pycox(net, times=n_times)
    elif model == "coxtime":
        labtrans = pm.CoxTime.label_transform()
        y = labtrans.fit_transform(d, e)
        net = pm.CoxTime(
            MLPVanillaCoxTime(p, [64, 64], dropout=0.1), tt.optim.Adam(0.01), labtrans=labtrans
        )
        net.fit(x, y, batch_size=256, epochs=2, verbose=False)
        captum_surv.compute_coxtime_baseline_hazards(net, set_hazards=True)
        fwd = captum_surv.from_pycox(net, times=n_times)
    elif model == "deephit":

        class DeepHitNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = tt.practical.MLPVanilla(p, [64, 64], 2 * n_times, dropout=0.1)

            def forward(self, z: torch.Tensor) -> torch.Tensor:
                return self.body(z).view(-1, 2, n_times)

        labtrans = LabTransDiscreteTime(n_times)
        idx, _ = labtrans.fit_transform(d, e)
        cause = (e * rng.integers(1, 3, size=n_train)).astype(np.int64)
        net = pm.DeepHit(DeepHitNet(), tt.optim.Adam(0.01), duration_index=labtrans.cuts)
        net.fit(x, (idx.astype(np.int64), cause), batch_size=256, epochs=2, verbose=False)
        fwd = captum_surv.from_pycox(net, output="cif", event=0)
    else:
        raise ValueError(model)
    return fwd, x


def _write_cohort(path: Path, n: int, p: int, seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, n, 250_000):
        m = min(250_000, n - start)
        x = rng.normal(size=(m, p)).astype(np.float32)
        cols = {f"x{j}": x[:, j] for j in range(p)}
        cols["site"] = rng.choice(np.array(["north", "south", "east", "west"]), size=m)
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    import captum_surv

    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    fwd, x_train = _build(args.model, args.p, args.n_times, args.n_train)
    cohort = work / "cohort.parquet"
    if not cohort.exists():
        _write_cohort(cohort, args.n, args.p)
    refs = captum_surv.baselines.sample(x_train, args.references, seed=0)
    knots_error = None
    if args.knots:  # CoxTime's approximate mode: the network at `knots` jump times only
        exact = fwd
        fwd = fwd.with_knots(args.knots)
        probe = torch.as_tensor(np.random.default_rng(1).normal(size=(2000, args.p)))
        with torch.no_grad():
            probe = probe.to(torch.float32)
            knots_error = float((fwd(probe) - exact(probe)).abs().max())
    extra = {}
    if args.engine == "ray":
        import ray

        # As in tests/test_cohort.py: Ray's agents must start within 15 s; skip jsonschema's
        # slow optional rfc3987_syntax import in Ray's processes (a stub that fails to import).
        stubs = work / "ray_stubs"
        stubs.mkdir(exist_ok=True)
        (stubs / "rfc3987_syntax.py").write_text("raise ImportError('not needed by Ray')\n")
        root = str(Path(__file__).resolve().parents[1])
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(stubs), root, os.environ.get("PYTHONPATH", "")]
        )
        for attempt in range(3):  # on a busy host Ray's agents can miss their start deadline
            try:
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                break
            except Exception:
                ray.shutdown()
                if attempt == 2:
                    raise
        extra = {"num_workers": args.workers}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_before = usage.ru_maxrss / 2**20
    cpu_before = usage.ru_utime + usage.ru_stime
    out = work / f"out-{args.model}-{args.engine}-{args.workers}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = captum_surv.explain_dataset(
        fwd,
        cohort,
        "gradshap",
        refs,
        **_estimator_options(args),
        out=out,
        columns=[f"x{j}" for j in range(args.p)],
        group_column="site",
        seed=0,
        chunk_size=args.chunk_size,
        engine=args.engine,
        show_progress=False,
        **({"device": args.device} if args.device != "cpu" else {}),
        **extra,
    )
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_before
    size = sum(f.stat().st_size for f in (out / "parts").iterdir())
    import hashlib

    # one hash per array (rows, attributions, predictions, reference predictions), each fed
    # in row order, so that it does not depend on how the rows are split into files
    digests = [hashlib.sha256() for _ in range(4)]
    for arrays in result.iter_parts():
        for digest, values in zip(digests, arrays, strict=True):
            digest.update(np.ascontiguousarray(values).tobytes())
    digest = hashlib.sha256(b"".join(d.digest() for d in digests))
    record = {
        "model": args.model,
        "engine": args.engine,
        "workers": args.workers,
        "threads": args.threads,
        "n": args.n,
        "p": args.p,
        "T": fwd.n_times,
        "chunk_size": args.chunk_size,
        "sampling": args.sampling,
        "references": args.references,
        "knots": args.knots,
        "knots_max_abs_survival_error": knots_error,
        "jump_times": int(fwd.scaled_native.numel()) if hasattr(fwd, "scaled_native") else None,
        "torch": torch.__version__,
        "device": args.device,
        "seconds": seconds,
        "rows_per_s": args.n / seconds,
        # CPU time of this process (the driver; with Ray, the workers' time is not in it)
        "cpu_seconds": cpu_seconds,
        "rss_before_gb": rss_before,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "output_gb": size / 2**30,
        "n_parts": len(result.parts),
        "sha256": digest.hexdigest()[:16],
        "importance_sum": float(result.global_importance().to_numpy().sum()),
    }
    if args.model == "coxtime":
        record["jump_times"] = int(len(fwd._native_times))
    if args.engine == "ray":
        import ray

        ray.shutdown()
    if args.keep:
        record["out"] = str(out)
    else:
        shutil.rmtree(out, ignore_errors=True)
    print("RESULT " + json.dumps(record), flush=True)


# --------------------------------------------------------------------------- parent
def _estimator_options(args: argparse.Namespace) -> dict:
    """GradSHAP(t)'s options: the package default unless ``--sampling`` names another."""
    if args.sampling == "default":
        return {}
    if args.sampling == "random":
        return {"sampling": "random", "n_samples": 50}
    return {"sampling": args.sampling}


def run_child(workdir: Path, **kw) -> dict:
    cmd = [sys.executable, __file__, "--child", "--workdir", str(workdir)]
    for key, value in kw.items():
        if isinstance(value, bool):
            if value:
                cmd.append(f"--{key.replace('_', '-')}")
        else:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ, OMP_NUM_THREADS=str(kw.get("threads", 1)))
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    record = json.loads(lines[-1][len("RESULT ") :])
    record["load_before"] = load
    record["load_after"] = os.getloadavg()[0]
    print(json.dumps(record), flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--model", default="deepsurv")
    parser.add_argument("--engine", default="local")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (local engine)")
    parser.add_argument("--n", type=int, default=None, help="cohort size (override)")
    parser.add_argument("--p", type=int, default=20)
    parser.add_argument("--n-times", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=32768)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--only", default=None, help="deepsurv, deephit, coxtime or ray")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tag", default="cohort")
    parser.add_argument(
        "--sampling",
        default="default",
        help="GradSHAP(t) estimator: 'default' (the package's: every reference row x 16 "
        "Gauss-Legendre path points) or a `sampling=` value ('random' = 50 random draws)",
    )
    parser.add_argument("--device", default="cpu", help="local engine: cpu or cuda")
    parser.add_argument(
        "--knots", type=int, default=0, help="CoxTime: evaluate the network at this many knots"
    )
    parser.add_argument(
        "--references", type=int, default=8, help="reference rows sampled from the training data"
    )
    parser.add_argument("--ray-workers", default="1,2", help="Ray pool sizes to run")
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    plans = {
        "deepsurv": [
            dict(model="deepsurv", n=n, threads=args.threads)
            for n in ([args.n] if args.n else [1_000_000, 100_000])
        ],
        "deephit": [dict(model="deephit", n=args.n or 100_000, threads=args.threads)],
        "coxtime": [dict(model="coxtime", n=args.n or 100_000, threads=args.threads, n_train=300)],
        "ray": [dict(model="deepsurv", n=args.n or 200_000, threads=1)]
        + [
            dict(model="deepsurv", n=args.n or 200_000, engine="ray", workers=w, threads=1)
            for w in map(int, args.ray_workers.split(","))
        ],
    }
    if args.quick:
        plans = {"deepsurv": [dict(model="deepsurv", n=20_000, threads=args.threads)]}
    chosen = [args.only] if args.only else list(plans)
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_cohort_") as tmp:
        for name in chosen:
            for kw in plans[name]:
                kw = dict(kw, p=args.p, n_times=args.n_times, chunk_size=args.chunk_size)
                kw["sampling"] = args.sampling
                kw["references"] = args.references
                if args.knots:
                    kw["knots"] = args.knots
                if args.device != "cpu":
                    kw["device"] = args.device
                kw.setdefault("n_train", args.n_train)
                workdir = Path(tmp) / f"{kw['model']}-{kw['n']}"
                workdir.mkdir(exist_ok=True)
                records.append(run_child(workdir, **kw))
    import pandas as pd

    table = pd.DataFrame(records)
    RESULTS.mkdir(exist_ok=True)
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    csv = RESULTS / f"{args.tag}.csv"
    table.to_csv(csv, mode="a", header=not csv.exists(), index=False)
    print(f"\n{machine}\n{table.to_string(index=False)}")


if __name__ == "__main__":
    main()
