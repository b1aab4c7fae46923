"""``explain_dataset(..., device="cuda")`` against the CPU run: DeepSurv, DeepHit, CoxTime.

Needs a CUDA GPU. For each model (the cohort benchmark's, p = 20, T = 20) it explains
1,500 patients with GradSHAP(t) (default estimator, 8 reference rows) on the CPU and on
the GPU and prints the largest difference of the attributions and predictions, the
largest difference of the global summaries, and both times::

    python benchmarks/check_cuda.py

Result of the run quoted in ``benchmarks/results/cohort.md``: ``check_cuda.log`` there.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_cohort as bc  # noqa: E402

import captum_surv  # noqa: E402

torch.set_num_threads(1)
rng = np.random.default_rng(3)
for model in ["deepsurv", "deephit", "coxtime"]:
    fwd, x_train = bc._build(model, 20, 20, 300 if model == "coxtime" else 2000)
    refs = captum_surv.baselines.sample(x_train, 8, seed=0)
    x = rng.normal(size=(1500, 20)).astype(np.float32)
    res = {}
    for dev in ["cpu", "cuda"]:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            out = captum_surv.explain_dataset(
                fwd,
                x,
                "gradshap",
                refs,
                out=tmp + "/o",
                seed=0,
                show_progress=False,
                **({"device": dev} if dev != "cpu" else {}),
            )
            sec = time.perf_counter() - t0
            parts = [
                np.concatenate([np.asarray(a).reshape(len(a), -1) for a in arrays[1:]], axis=1)
                for arrays in out.iter_parts()
            ]
            res[dev] = (np.concatenate(parts), out.global_importance().to_numpy(), sec)
    a, b = res["cpu"][0], res["cuda"][0]
    scale = np.abs(a).max()
    print(
        f"GPUCHECK {model}: max|cpu-cuda| = {np.abs(a - b).max():.3g} (max|value| {scale:.3g}); "
        f"summary diff {np.abs(res['cpu'][1] - res['cuda'][1]).max():.3g}; "
        f"s cpu {res['cpu'][2]:.2f} cuda {res['cuda'][2]:.2f}",
        flush=True,
    )
