"""Write every captum_surv.plot figure for real trained models to ``outputs/figures/*.png``.

Models (small, trained here in about a minute on two CPU cores, fixed seeds):

The data come through the same code path as the notebooks:

* **DeepSurv** (pycox ``CoxPH``) and **CoxTime** on GBSG2 from
  ``captum_surv.datasets.load_dataset("gbsg2")`` (686 patients; every categorical level
  one-hot encoded, e.g. ``tgrade=I/II/III``, numeric columns standardised on the training
  split), as in notebooks 01 and 09.
* **DeepHit** with two competing risks on the simulation of notebook 06 (events coded as
  in the data sets: 0 = censored, 1 and 2 = the causes): cause 1 rises with ``x0`` and
  falls with ``x1``, cause 2 rises with ``x2`` and ``x3``; ``x4`` is noise. Panels are
  labelled "cause 1" and "cause 2" (``event=r`` is the 0-based index r = cause - 1).
* **Multimodal** ``LogisticHazard`` on ``captum_surv.datasets.load_multimodal_digits``
  (sklearn's bundled 8x8 digits plus covariates ``x1``, ``x2``, ``x3``), as in notebook 04.

Each model is explained with :func:`captum_surv.explain` (GradSHAP(t) against references
drawn by :func:`captum_surv.baselines.sample`, IntGrad(t), and Grad(t), GxI(t), SG(t) for the
method comparison) and every plot type of :mod:`captum_surv.plot` is written. A few
representative figures are copied to ``docs/figures/`` for the README.

Run:  make figures     (or: .venv/bin/python scripts/figures.py)
"""

from __future__ import annotations

import argparse
import shutil
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchtuples as tt  # noqa: E402
from pycox import models as pm  # noqa: E402
from pycox.models.cox_time import MLPVanillaCoxTime  # noqa: E402
from pycox.preprocessing.label_transforms import LabTransDiscreteTime  # noqa: E402
from torch import nn  # noqa: E402

import captum_surv  # noqa: E402
from captum_surv import baselines, datasets, explain, plot  # noqa: E402

# only known third-party noise: torchtuples on recent numpy/torch, torch.jit.script in pycox
warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")
warnings.filterwarnings(
    "ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_FIGURES = REPO_ROOT / "docs" / "figures"
README_FIGURES = (
    "deepsurv_curves.png",
    "deepsurv_importance.png",
    "deephit_competing_risks.png",
    "multimodal_images.png",
)
# explained grid for GBSG2 (days after surgery): 40 points plus the yearly marks 1..5 years
DAYS = np.union1d(np.linspace(60.0, 2400.0, 40), [365.0, 730.0, 1095.0, 1460.0, 1825.0])
# GradSHAP(t) with every reference row times Gauss-Legendre nodes: attribution sums match
# prediction - mean reference prediction up to quadrature error (see the curves' overlays)
GRADSHAP = {"sampling": "gausslegendre", "n_steps": 8}


# ============================================================================ data
def gbsg2(seed: int):
    """GBSG2 through ``captum_surv.datasets.load_dataset`` (as the notebooks), split 80/20."""
    train, test = datasets.load_dataset("gbsg2", test_size=0.2, seed=seed)
    return train.feature_names, train.features, train.target(), test.features, test.raw_features


def competing_data(n: int, seed: int):
    """Notebook 06's simulation: two Weibull causes (coded 1, 2), uniform censoring (0)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    shape = 1.5
    t1 = 4.0 * (-np.log(rng.uniform(size=n)) / np.exp(0.9 * x[:, 0] - 0.8 * x[:, 1])) ** (1 / shape)
    t2 = 5.0 * (-np.log(rng.uniform(size=n)) / np.exp(0.8 * x[:, 2] + 0.6 * x[:, 3])) ** (1 / shape)
    cens = rng.uniform(1.0, 10.0, size=n)
    t = np.minimum(t1, t2)
    events = np.where(t <= cens, np.where(t1 <= t2, 1, 2), 0)
    durations = np.minimum(t, cens).astype(np.float32)
    return x, durations, events


# ============================================================================ models
def mlp(n_in: int, n_out: int, bias: bool = True) -> nn.Module:
    return tt.practical.MLPVanilla(
        n_in, [32, 32], n_out, batch_norm=True, dropout=0.1, output_bias=bias
    )


class DeepHitNet(nn.Module):
    """Competing-risks head: output ``[B, n_risks, n_times]``."""

    def __init__(self, n_in: int, n_risks: int, n_times: int) -> None:
        super().__init__()
        self.n_risks, self.n_times = n_risks, n_times
        self.mlp = mlp(n_in, n_risks * n_times)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x).view(x.shape[0], self.n_risks, self.n_times)


class DeepHitLabTrans(LabTransDiscreteTime):
    """As in pycox's competing-risk example: events keep their cause label."""

    def transform(self, durations, events):
        idx, is_event = super().transform(durations, events > 0)
        events = np.asarray(events).copy()
        events[is_event == 0] = 0
        return idx, events.astype("int64")


class ImageTabularNet(nn.Module):
    """A small CNN for the image, an MLP for the covariates, a joint head."""

    def __init__(self, n_tab: int, n_out: int) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ELU(),
            nn.MaxPool2d(2),
            nn.Flatten(),  # 16 x 2 x 2
        )
        self.tab = nn.Sequential(nn.Linear(n_tab, 16), nn.ELU())
        self.head = nn.Sequential(nn.Linear(64 + 16, 32), nn.ELU(), nn.Linear(32, n_out))

    def forward(self, image: torch.Tensor, tab: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.cnn(image), self.tab(tab)], dim=1))


def c_index(risk: np.ndarray, durations: np.ndarray, events: np.ndarray) -> float:
    from sksurv.metrics import concordance_index_censored

    return float(concordance_index_censored(events.astype(bool), durations, risk)[0])


# ============================================================================ figures
class Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.paths: list[Path] = []
        out.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str, fig_and_axes) -> None:
        fig = fig_and_axes[0]
        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        self.paths.append(path)
        print(f"  wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")


def deepsurv_and_coxtime(write: Writer, seed: int, epochs: int) -> None:
    names, x_train, y_train, x_test, raw_test = gbsg2(seed)
    x_test_t = torch.from_numpy(x_test[:80])
    refs = baselines.sample(torch.from_numpy(x_train), 40, seed=0)

    # ---------------------------------------------------------------- DeepSurv
    torch.manual_seed(seed)
    model = pm.CoxPH(mlp(x_train.shape[1], 1, bias=False), tt.optim.Adam(lr=1e-3))
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=False)
    model.compute_baseline_hazards()
    fwd = captum_surv.from_pycox(model, times=DAYS, clamp=True)
    print(f"DeepSurv: {len(names)} features, grid of {fwd.n_times} times (days)")

    gs = explain(fwd, x_test_t, "gradshap", refs, feature_names=names, **GRADSHAP)
    ig = explain(fwd, x_test_t, "intgrad", baselines.feature_mean(x_train), feature_names=names)
    methods = {
        "Grad(t)": explain(fwd, x_test_t[:5], "grad", feature_names=names),
        "GxI(t)": explain(fwd, x_test_t[:5], "gxi", feature_names=names),
        "SG(t)": explain(
            fwd, x_test_t[:5], "smoothgrad", feature_names=names, seed=2, reference=x_train
        ),
        "IntGrad(t)": explain(
            fwd, x_test_t[:5], "intgrad", baselines.feature_mean(x_train), feature_names=names
        ),
        "GradSHAP(t)": explain(
            fwd, x_test_t[:5], "gradshap", refs, feature_names=names, **GRADSHAP
        ),
    }
    days = "days since surgery"
    write("deepsurv_prediction", plot.prediction(gs, [0, 1, 2], time_label=days))
    write("deepsurv_curves", gs.plot_curves(0, top_k=5, time_label=days))
    write(
        "deepsurv_curves_absolute",
        gs.plot_curves(0, normalize="absolute", top_k=5, time_label=days),
    )
    write(
        "deepsurv_curves_relative",
        gs.plot_curves(0, normalize="relative", top_k=5, time_label=days),
    )
    write("deepsurv_contribution", gs.plot_contribution(0, top_k=5, time_label=days))
    write("deepsurv_contribution_all", gs.plot_contribution(None, top_k=5, time_label=days))
    write(
        "deepsurv_force",
        gs.plot_force(0, times=[365, 730, 1095, 1460, 1825], top_k=5, time_label=days),
    )
    write("deepsurv_importance", gs.plot_importance(time_label=days))
    write("deepsurv_heatmap", gs.plot_heatmap(top_k=6, time_label=days))
    write("deepsurv_importance_bar", plot.importance_bar(gs, time_label=days))
    raw = raw_test.iloc[:80]  # feature values in original units (years, nodes, mm, ...)
    write(
        "deepsurv_dependence",
        gs.plot_dependence("age", 1095, color_by="pnodes", values=raw),
    )
    write("deepsurv_beeswarm", gs.plot_dependence(None, 1095, beeswarm=True, values=raw))
    write("deepsurv_ig_curves", ig.plot_curves(3, top_k=5, time_label=days))
    write(
        "deepsurv_methods",
        plot.compare_methods(methods, 0, top_k=5, ncols=3, time_label=days),
    )
    write(
        "deepsurv_methods_force",
        plot.compare_methods(
            methods, 0, kind="force", times=[365, 1095, 1825], top_k=5, ncols=3, time_label=days
        ),
    )

    # ---------------------------------------------------------------- CoxTime
    torch.manual_seed(seed)
    labtrans = pm.CoxTime.label_transform()
    y = labtrans.fit_transform(*y_train)
    net = MLPVanillaCoxTime(x_train.shape[1], [32, 32], batch_norm=True, dropout=0.1)
    cox_time = pm.CoxTime(net, tt.optim.Adam(lr=1e-3), labtrans=labtrans)
    cox_time.fit(x_train, y, batch_size=128, epochs=epochs, verbose=False)
    captum_surv.compute_coxtime_baseline_hazards(cox_time, set_hazards=True)
    fwd_ct = captum_surv.from_pycox(cox_time, times=DAYS, clamp=True)
    print(f"CoxTime: grid of {fwd_ct.n_times} times (days)")
    gs_ct = explain(fwd_ct, x_test_t, "gradshap", refs, feature_names=names, **GRADSHAP)
    write("coxtime_prediction", gs_ct.plot_prediction([0, 1, 2], time_label=days))
    write("coxtime_curves", gs_ct.plot_curves(0, top_k=5, time_label=days))
    write("coxtime_contribution", gs_ct.plot_contribution(None, top_k=5, time_label=days))
    write("coxtime_importance", gs_ct.plot_importance(time_label=days))
    write(
        "coxtime_dependence",
        gs_ct.plot_dependence("pnodes", 1825, color_by="age", values=raw_test.iloc[:80]),
    )
    write(
        "deepsurv_vs_coxtime",
        plot.compare_methods(
            {"DeepSurv, GradSHAP(t)": gs, "CoxTime, GradSHAP(t)": gs_ct},
            0,
            top_k=5,
            sharey=True,
            time_label=days,
        ),
    )


def deephit(write: Writer, seed: int, epochs: int) -> None:
    torch.manual_seed(seed)
    x, durations, events = competing_data(2000, seed)
    names = ["x0", "x1", "x2", "x3", "x4"]
    labtrans = DeepHitLabTrans(20)
    y = labtrans.fit_transform(durations[:1600], events[:1600])
    net = DeepHitNet(5, 2, len(labtrans.cuts))
    model = pm.DeepHit(
        net, tt.optim.Adam(lr=3e-3), alpha=0.5, sigma=0.5, duration_index=labtrans.cuts
    )
    # large batches: DeepHit's ranking loss is quadratic in the batch, but vectorised
    model.fit(x[:1600], y, batch_size=256, epochs=epochs, verbose=False)
    x_test = torch.from_numpy(x[1600:1650])
    refs = baselines.sample(torch.from_numpy(x[:1600]), 25, seed=0)
    expls = {
        f"cause {r + 1} (CIF)": explain(
            captum_surv.from_pycox(model, output="cif", event=r),
            x_test,
            "gradshap",
            refs,
            feature_names=names,
            **GRADSHAP,
        )
        for r in (0, 1)
    }
    print(f"DeepHit: 2 causes, {len(labtrans.cuts)} cuts")
    write("deephit_competing_risks", plot.competing_risks(expls, 0, top_k=4))
    write("deephit_competing_force", plot.competing_risks(expls, 0, kind="force", n_times=5))
    write("deephit_competing_prediction", plot.competing_risks(expls, 0, kind="prediction"))
    write("deephit_cause1_importance", plot.importance(expls["cause 1 (CIF)"]))
    write(
        "deephit_cause2_beeswarm", expls["cause 2 (CIF)"].plot_dependence(None, 4.0, beeswarm=True)
    )


def multimodal(write: Writer, seed: int, epochs: int) -> None:
    torch.manual_seed(seed)
    data = datasets.load_multimodal_digits(seed=seed)
    train, test_data = datasets.train_test_split(data, test_size=0.2, seed=seed)
    labtrans = pm.LogisticHazard.label_transform(15)
    y = labtrans.fit_transform(train.durations, train.events)
    net = ImageTabularNet(3, labtrans.out_features)
    model = pm.LogisticHazard(net, tt.optim.Adam(lr=3e-3), duration_index=labtrans.cuts)
    model.fit((train.images, train.tabular), y, batch_size=128, epochs=epochs, verbose=False)
    fwd = captum_surv.from_pycox(model)
    test = slice(0, 60)
    x_test = (torch.as_tensor(test_data.images[test]), torch.as_tensor(test_data.tabular[test]))
    digit = test_data.labels[test]
    risk = -fwd(*x_test).detach().numpy()[:, fwd.n_times // 2]
    c = c_index(risk, test_data.durations[test], test_data.events[test])
    print(f"Multimodal LogisticHazard: {fwd.n_times} times, C-index on 60 test cases {c:.2f}")
    pixel_names = [f"pixel ({r}, {c})" for r in range(8) for c in range(8)]
    ig = explain(
        fwd, x_test, "intgrad", feature_names=(pixel_names, data.tabular_names), n_steps=32
    )  # baseline: blank image, covariates 0
    grid = ig.times.numpy()
    picks = [float(grid[k]) for k in (3, 6, 9, 12)]
    high = int(np.flatnonzero(data.digit_log_hazard[digit] > 0)[0])  # a high-risk digit
    low = int(np.flatnonzero(data.digit_log_hazard[digit] < 0)[0])  # a low-risk digit
    pixels = ig.attributions[0].double().numpy()
    vmax = float(np.abs(pixels[[high, low]]).max())  # one colour scale for both digits
    write(
        "multimodal_images",
        ig.plot_images(
            high, times=picks, overlay=True, vmax=vmax, title=f"IntGrad(t), digit {digit[high]}"
        ),
    )
    write(
        "multimodal_images_low",
        ig.plot_images(low, times=picks, vmax=vmax, title=f"IntGrad(t), digit {digit[low]}"),
    )
    grouped = ig.aggregate({"image": pixel_names})
    write("multimodal_curves", grouped.plot_curves(high))
    write("multimodal_contribution", grouped.plot_contribution(None))
    write("multimodal_importance", grouped.plot_importance())
    write("multimodal_pixel_heatmap", ig.plot_heatmap(top_k=12))
    write("multimodal_prediction", ig.plot_prediction([high, low]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs" / "figures")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true", help="do not copy to docs/figures")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    start = time.perf_counter()
    write = Writer(args.out)
    for part in (deepsurv_and_coxtime, deephit, multimodal):
        t0 = time.perf_counter()
        part(write, args.seed, args.epochs)
        print(f"  ({part.__name__}: {time.perf_counter() - t0:.0f} s)")
    if not args.no_docs:
        DOCS_FIGURES.mkdir(parents=True, exist_ok=True)
        for name in README_FIGURES:
            shutil.copyfile(args.out / name, DOCS_FIGURES / name)
        print(f"copied {len(README_FIGURES)} figures to {DOCS_FIGURES.relative_to(REPO_ROOT)}")
    print(f"{len(write.paths)} figures in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
