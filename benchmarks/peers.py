"""Adapters that run the peer explanation methods on a captum_surv forward.

* SurvSHAP(t) — ``survshap`` 0.4.2 (Krzyzinski et al. 2023): ``kernel`` (exact KernelSHAP
  over all 2^p coalitions) and ``sampling`` (random permutation paths).
* SurvLIME — ``survlimepy`` 0.0.11 (Pachon-Garcia et al.): a local Cox model fitted to
  the black box's cumulative hazard by convex optimisation (cvxpy).

Both peers get the same prediction function: the captum_surv forward evaluated under
``torch.no_grad`` (vectorised torch; faster than pycox's own ``predict_surv`` for CoxTime),
so the timings measure the peer's algorithm, not a slow predictor.

Install the peers with ``make bench-peers`` (``benchmarks/requirements-peers.txt`` plus
``survlimepy`` without its dependencies: it pins scikit-survival 0.18 / scikit-learn 1.1.2,
which do not build on current Python). Traps handled here:

* survlimepy calls ``np.reshape(..., newshape=...)``, removed in numpy 2.4: its modules get
  a numpy proxy whose ``reshape`` accepts ``newshape``;
* survlimepy's ``kernel_width`` argument is broken: left unset (its default is used);
* survlimepy wants events/times as lists (a 1-D numpy array of length > 1 is rejected);
* survshap's exact ``kernel`` method builds a dense ``2^p x 2^p`` weight matrix:
  :func:`survshap_kernel_memory` predicts its size so that the benchmark records
  "out of memory" instead of taking the machine down;
* survshap's ``shap_kernel`` method is broken with shap >= 0.45: not used.
"""

from __future__ import annotations

import importlib
import importlib.util
import types
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch


def available(name: str) -> bool:
    """Whether the peer package ``name`` ("survshap" or "survlimepy") can be imported."""
    try:
        if importlib.util.find_spec(name) is None:
            return False
        importlib.import_module(name)
        if name == "survlimepy":
            importlib.import_module("survlimepy.survlime_explainer")
    except Exception:  # noqa: BLE001 - a broken install counts as missing
        return False
    return True


def missing_reason(name: str) -> str:
    """Why a peer cannot be used (for skip messages and the results table)."""
    try:
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed (make bench-peers)"
        importlib.import_module(name)
        if name == "survlimepy":
            importlib.import_module("survlimepy.survlime_explainer")
    except Exception as err:  # noqa: BLE001
        return f"{name} fails to import: {type(err).__name__}: {err}"
    return ""


def survival_numpy(forward: torch.nn.Module, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """``S(t_k | x)`` as a float64 array ``[n, T]`` (no gradients)."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.no_grad():
        parts = [forward(xt[s : s + batch_size]) for s in range(0, xt.shape[0], batch_size)]
    return torch.cat(parts).double().numpy()


# ---------------------------------------------------------------------------- SurvSHAP(t)
def _no_progress(iterable: Any, *args: Any, **kwargs: Any) -> Any:
    return iterable


def survshap_kernel_memory(p: int) -> int:
    """Bytes of the dense ``2^p x 2^p`` float64 weight matrix of survshap's exact kernel."""
    return 8 * 4**p


def survshap_kernel_coalitions(p: int) -> int:
    """Number of coalitions (network evaluations of the whole background) of the exact kernel."""
    return 2**p


class SurvSHAP:
    """SurvSHAP(t) of ``survshap`` on a captum_surv forward.

    Args:
        forward: The survival forward (output ``"survival"``).
        background: Background rows ``[M, p]``: survshap's ``data``, which is both the
            reference distribution and what a missing feature is replaced with.
        durations, events: The background rows' outcome (survshap stores it for plots).
        method: ``"kernel"`` (exact, 2^p coalitions) or ``"sampling"`` (``n_paths``
            random permutation paths).
        n_paths: survshap's ``B`` for ``"sampling"`` (its default 25).
        seed: ``random_state``.
        pycox_model: If given, survshap predicts with this pycox model's own
            ``predict_surv_df`` (default arguments) wrapped in step functions, as a user of
            survshap on a pycox model would, instead of with ``forward``.
    """

    def __init__(
        self,
        forward: torch.nn.Module,
        background: np.ndarray,
        durations: np.ndarray,
        events: np.ndarray,
        method: str = "kernel",
        n_paths: int = 25,
        seed: int = 0,
        pycox_model: Any = None,
    ) -> None:
        import survshap.predict_explanations.utils as survshap_utils
        from sksurv.functions import StepFunction
        from survshap import PredictSurvSHAP, SurvivalModelExplainer

        survshap_utils.tqdm = _no_progress  # its sampling method prints a bar per instance

        if method not in ("kernel", "sampling"):
            raise ValueError(f"method must be 'kernel' or 'sampling', got {method!r}")
        self.forward = forward
        self.times = forward.times.detach().cpu().double().numpy()
        self.p = background.shape[1]
        self.names = [f"x{j + 1}" for j in range(self.p)]
        self.method = method
        self.n_paths = n_paths
        self.seed = seed
        self._cls = PredictSurvSHAP
        times = self.times

        def predict_survival_function(model: Any, data: pd.DataFrame) -> list:
            surv = survival_numpy(model, data.to_numpy(dtype=np.float32))
            return [StepFunction(times, row) for row in surv]

        def predict_with_pycox(model: Any, data: pd.DataFrame) -> list:
            surv = model.predict_surv_df(data.to_numpy(dtype=np.float32))
            jumps, values = surv.index.to_numpy(dtype=float), surv.to_numpy(dtype=float)
            if jumps[0] > 0:  # continuous-time curves start at the first jump: S = 1 before
                jumps, values = (
                    np.r_[0.0, jumps],
                    np.vstack([np.ones((1, values.shape[1])), values]),
                )
            return [StepFunction(jumps, values[:, c]) for c in range(values.shape[1])]

        y = np.empty(len(durations), dtype=[("event", bool), ("time", np.float64)])
        y["event"] = np.asarray(events) > 0
        y["time"] = np.asarray(durations, dtype=np.float64)
        self.explainer = SurvivalModelExplainer(
            model=forward if pycox_model is None else pycox_model,
            data=pd.DataFrame(np.asarray(background, dtype=np.float32), columns=self.names),
            y=y,
            predict_survival_function=(
                predict_survival_function if pycox_model is None else predict_with_pycox
            ),
        )

    def explain_one(self, x: np.ndarray) -> np.ndarray:
        """SurvSHAP(t) values of one instance, ``[T, p]`` in feature order."""
        expl = self._cls(
            function_type="sf",
            calculation_method=self.method,
            B=self.n_paths,
            random_state=self.seed,
        )
        row = pd.DataFrame(np.asarray(x, dtype=np.float32).reshape(1, -1), columns=self.names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expl.fit(self.explainer, row, timestamps=self.times)
        res = expl.result
        res = res[res["B"] == 0].set_index("variable_name").reindex(self.names)
        values = res[[c for c in res.columns if str(c).startswith("t = ")]].to_numpy(float)
        return values.T  # [T, p]

    def reference_prediction(self) -> np.ndarray:
        """The mean background survival curve ``[T]`` that the values sum up against."""
        return survival_numpy(self.forward, self.explainer.data.to_numpy()).mean(axis=0)


# ---------------------------------------------------------------------------- SurvLIME
class _NumpyReshapeShim(types.ModuleType):
    """numpy, except that ``reshape`` accepts the ``newshape=`` keyword removed in numpy 2.4."""

    def __init__(self) -> None:
        super().__init__("numpy")

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def reshape(a: Any, *args: Any, newshape: Any = None, **kwargs: Any) -> Any:
        if newshape is not None:
            return np.reshape(a, newshape, **kwargs)
        return np.reshape(a, *args, **kwargs)


def _patch_survlimepy() -> None:
    shim = _NumpyReshapeShim()
    for module in (
        "survlimepy.survlime_explainer",
        "survlimepy.utils.optimisation",
        "survlimepy.utils.predict",
        "survlimepy.utils.neighbours_generator",
        "survlimepy.utils.step_function",
    ):
        mod = importlib.import_module(module)
        if getattr(mod, "np", None) is np:
            mod.np = shim


class SurvLIME:
    """SurvLIME of ``survlimepy`` on a captum_surv forward.

    Args:
        forward: The survival forward (output ``"survival"``); passed as
            ``type_fn="survival"`` with ``model_output_times = forward.times``.
        x_train, durations, events: The training data: survlimepy takes its feature sds
            (neighbour scale, distances), the Nelson-Aalen baseline and its time grid (the
            unique training durations) from it.
        n_neighbours: ``num_samples`` (survlimepy's default 1000).
        seed: ``random_state``.
    """

    def __init__(
        self,
        forward: torch.nn.Module,
        x_train: np.ndarray,
        durations: np.ndarray,
        events: np.ndarray,
        n_neighbours: int = 1000,
        seed: int = 0,
    ) -> None:
        _patch_survlimepy()
        from survlimepy import SurvLimeExplainer

        self.forward = forward
        self.n_neighbours = n_neighbours
        self.x_train = np.asarray(x_train, dtype=np.float32)
        self.mean = self.x_train.mean(axis=0)
        self.explainer = SurvLimeExplainer(
            training_features=self.x_train,
            training_events=[bool(e) for e in np.asarray(events) > 0],
            training_times=[float(t) for t in np.asarray(durations)],
            model_output_times=forward.times.detach().cpu().double().numpy(),
            random_state=seed,
        )

    def explain_one(self, x: np.ndarray) -> np.ndarray:
        """The local Cox coefficients ``b`` ``[p]`` of one instance."""
        forward = self.forward

        def predict_fn(data: np.ndarray) -> np.ndarray:
            return survival_numpy(forward, data)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(
                self.explainer.explain_instance(
                    np.asarray(x, dtype=np.float32),
                    predict_fn=predict_fn,
                    type_fn="survival",
                    num_samples=self.n_neighbours,
                ),
                dtype=float,
            )

    def importance(self, x: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``|b_j (x_j - mean_j)|``: SurvLIME's per-instance feature importance."""
        return np.abs(b * (np.asarray(x, dtype=float) - self.mean))
