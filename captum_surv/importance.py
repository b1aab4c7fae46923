"""Permutation (loss-based) feature importance over time.

``permutation_importance(forward, x, durations, events, loss=...)`` measures how much a
time-dependent loss grows when one feature (or a group of features) is shuffled across
the rows, at every time point and integrated over time (Breiman 2001; Fisher, Rudin and
Dominici 2019; over time as survex's ``model_parts``, Spytek et al. 2023).

The losses are scikit-survival's metrics, turned into losses where higher is better:

* ``"brier"``: the IPCW time-dependent Brier score (Graf et al. 1999); integrated: the
  integrated Brier score.
* ``"c_index"``: ``1 -`` Harrell's C-index of the risk ``1 - S(t|x)`` at each time;
  integrated: the time average of the curve.
* ``"uno_c_index"``: ``1 -`` Uno's IPCW C-index truncated at each time ``t``, risk
  ``1 - S(t|x)``; integrated: the time average of the curve.
* ``"auc"``: ``1 -`` the cumulative/dynamic AUC (Uno et al. 2007; Hung and Chiang 2010) of
  the risk ``1 - S(t|x)``; integrated: ``1 -`` scikit-survival's weighted mean AUC.

The model is evaluated once per permutation for all time points.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from captum_surv._validation import as_matrix, check_saved_format, positive_int, trapezoid
from captum_surv.attr.methods import predict_rows
from captum_surv.models.base import SurvivalForward

LOSSES = ("brier", "c_index", "uno_c_index", "auc")
"""Loss names accepted by :func:`permutation_importance`."""

_FORMAT = "captum_surv.PermutationImportance"
_FORMAT_VERSION = 1


def _sksurv() -> Any:
    try:
        from sksurv import metrics
    except ImportError as err:  # pragma: no cover - sksurv is in the data/dev extras
        raise ImportError(
            "permutation_importance computes its losses with scikit-survival; install it "
            "with pip install 'captum-surv[data]' (or pip install scikit-survival)."
        ) from err
    return metrics


def _structured(durations: np.ndarray, events: np.ndarray) -> np.ndarray:
    _sksurv()
    from sksurv.util import Surv

    return Surv.from_arrays(event=events.astype(bool), time=durations.astype(np.float64))


def _time_average(times: np.ndarray, curve: np.ndarray) -> float:
    if len(times) == 1:
        return float(curve[0])
    return float(trapezoid(curve, times) / (times[-1] - times[0]))


def loss_curve(
    loss: str,
    survival: np.ndarray,
    times: np.ndarray,
    test: np.ndarray,
    train: np.ndarray,
) -> tuple[np.ndarray, float]:
    """One loss at every time point and integrated, from predicted survival ``[n, T]``.

    Args:
        loss: One of :data:`LOSSES`.
        survival: Predicted ``S(t_k | x_i)``, ``[n, T]``.
        times: ``[T]`` time points.
        test: scikit-survival structured array of the rows' outcomes.
        train: structured array for the censoring distribution (IPCW).

    Returns:
        ``(curve [T], integrated)``.
    """
    metrics = _sksurv()
    if loss == "brier":
        _, curve = metrics.brier_score(train, test, survival, times)
        integrated = metrics.integrated_brier_score(train, test, survival, times)
        return np.asarray(curve, dtype=np.float64), float(integrated)
    risk = 1.0 - survival
    if loss == "auc":
        auc, mean_auc = metrics.cumulative_dynamic_auc(train, test, risk, times)
        return 1.0 - np.asarray(auc, dtype=np.float64), 1.0 - float(mean_auc)
    if loss == "c_index":
        event, time = test["event"], test["time"]
        curve = np.array(
            [
                1.0 - metrics.concordance_index_censored(event, time, risk[:, k])[0]
                for k in range(len(times))
            ]
        )
    elif loss == "uno_c_index":
        curve = np.array(
            [
                1.0 - metrics.concordance_index_ipcw(train, test, risk[:, k], tau=t)[0]
                for k, t in enumerate(times)
            ]
        )
    else:  # pragma: no cover - validated by the caller
        raise ValueError(f"Unknown loss {loss!r}.")
    return curve, _time_average(times, curve)


def resolve_features(
    features: Any, n_features: int, names: list[str]
) -> tuple[list[str], list[list[int]]]:
    """Turn ``features`` (None, a list of names/indices, or a dict of groups) into groups."""

    def index(item: Any) -> int:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"Unknown feature {item!r}; the features are {names}.")
            return names.index(item)
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) < n_features:
                raise ValueError(f"Feature index {item} is out of range [0, {n_features}).")
            return int(item)
        raise TypeError(f"Features are given by name or index; got {item!r}.")

    if features is None:
        return list(names), [[j] for j in range(n_features)]
    if isinstance(features, Mapping):
        labels, groups = [], []
        for label, members in features.items():
            members = [members] if isinstance(members, (str, int, np.integer)) else list(members)
            if not members:
                raise ValueError(f"Feature group {label!r} is empty.")
            labels.append(str(label))
            groups.append(_distinct([index(m) for m in members], names, f"group {label!r}"))
        return labels, groups
    if isinstance(features, (str, int, np.integer)):
        features = [features]
    cols = _distinct([index(f) for f in features], names, "features")
    return [names[c] for c in cols], [[c] for c in cols]


def _distinct(cols: list[int], names: list[str], what: str) -> list[int]:
    repeated = sorted({names[c] for c in cols if cols.count(c) > 1})
    if repeated:
        raise ValueError(
            f"{what} lists the feature(s) {repeated} more than once; list each feature once."
        )
    return cols


def _check_outcomes(
    durations: Any, events: Any, n: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(durations, dtype=np.float64).reshape(-1)
    e = np.asarray(events).reshape(-1)
    if d.shape[0] != n or e.shape[0] != n:
        raise ValueError(
            f"{what}: durations ({d.shape[0]}) and events ({e.shape[0]}) need one entry per row "
            f"({n})."
        )
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"{what}: durations must be finite and >= 0.")
    if not np.all(np.isin(e, (0, 1, True, False))):
        raise ValueError(
            f"{what}: events must be 0 (censored) or 1 (event); for competing risks pass "
            "(events > 0) for all-cause survival."
        )
    if not e.astype(bool).any():
        raise ValueError(f"{what}: there are no events; the losses need at least one event.")
    return d, e.astype(bool)


def _predict_survival(forward: SurvivalForward, x: torch.Tensor, batch_size: int) -> np.ndarray:
    return predict_rows(forward, (x,), batch_size).detach().cpu().double().numpy()


def permutation_importance(
    forward: SurvivalForward,
    x: Any,
    durations: Any,
    events: Any,
    loss: str = "brier",
    *,
    times: Any = None,
    features: Any = None,
    feature_names: Sequence[str] | None = None,
    n_repeats: int = 5,
    seed: int | None = 0,
    train: tuple[Any, Any] | None = None,
    batch_size: int = 4096,
    show_progress: bool = False,
) -> PermutationImportance:
    """Permutation importance of features (or feature groups) over time.

    For each feature group and repeat, the group's columns are shuffled jointly across
    rows, the model predicts survival at every time point in one call, and the loss is
    recomputed; the importance is the increase over the unshuffled loss.

    Args:
        forward: A :class:`~captum_surv.SurvivalForward` of one input tensor. Its
            ``"survival"`` output is scored (other outputs are switched to survival).
        x: Labelled rows ``[n, p]``: tensor, numpy array or DataFrame (names from columns).
        durations: ``[n]`` observed times.
        events: ``[n]`` event indicators (1 event, 0 censored).
        loss: ``"brier"`` (default), ``"c_index"`` (Harrell), ``"uno_c_index"`` or
            ``"auc"`` (cumulative/dynamic); see :mod:`captum_surv.importance`.
        times: Time points (default: the forward's grid points strictly inside the
            observed follow-up range of ``durations``).
        features: ``None`` (every column), a list of names or indices, or a dict
            ``{group name: [names or indices]}`` to permute columns jointly (e.g. a one-hot
            block).
        feature_names: Column names (default: DataFrame columns, else ``x0, x1, ...``).
        n_repeats: Shuffles per feature group (default 5).
        seed: Seed of the shuffles (default 0); the same seed gives the same result.
        train: ``(durations, events)`` of the training data, for the censoring
            distribution of the IPCW losses (default: the given rows).
        batch_size: Rows per forward call (default 4096).
        show_progress: Show a tqdm progress bar.

    Returns:
        A :class:`PermutationImportance`.

    Raises:
        ValueError: Unknown loss, bad shapes, times outside the follow-up range.

    Example:
        >>> imp = permutation_importance(fwd, x_test, d_test, e_test, "brier")  # doctest: +SKIP
        >>> imp.integrated()  # doctest: +SKIP
    """
    if not isinstance(forward, SurvivalForward):
        raise TypeError(
            f"permutation_importance needs a SurvivalForward, got {type(forward).__name__}; "
            "wrap the model with captum_surv.from_pycox first."
        )
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; choose one of {list(LOSSES)}.")
    if forward.n_inputs != 1:
        raise ValueError("permutation_importance supports models with one input tensor.")
    n_repeats = positive_int(n_repeats, "n_repeats")
    batch_size = positive_int(batch_size, "batch_size")
    matrix, frame_names = as_matrix(x)
    n, p = matrix.shape
    names = list(feature_names or frame_names or [f"x{j}" for j in range(p)])
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} names for {p} columns.")
    labels, groups = resolve_features(features, p, names)
    d, e = _check_outcomes(durations, events, n, "x's outcomes")
    test = _structured(d, e)
    train_struct = (
        test if train is None else _structured(*_check_outcomes(*train, len(train[0]), "train"))
    )

    fwd = forward if forward.output == "survival" else forward.with_output("survival")
    lo, hi = float(d.min()), float(d.max())
    if times is None:
        grid = fwd.times.cpu().numpy()
        grid = grid[(grid > lo) & (grid < hi)]
        if grid.size == 0:
            raise ValueError(
                f"None of the forward's time points lies inside the follow-up range ({lo:g}, "
                f"{hi:g}) of durations; pass times=... inside it."
            )
    else:
        grid = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if grid.ndim != 1 or np.any(grid <= lo) or np.any(grid >= hi):
            raise ValueError(
                f"times must lie strictly inside the follow-up range ({lo:g}, {hi:g}) of "
                f"durations; got {grid.tolist()}."
            )
    if loss == "brier" and grid.size < 2:
        raise ValueError(
            f"loss='brier' integrates the Brier score over time and needs at least two time "
            f"points; got times={grid.tolist()}. Pass times=[...] with two or more points "
            "inside the follow-up range, or use loss='c_index'."
        )
    if not np.array_equal(grid, fwd.times.cpu().numpy()):
        fwd = fwd.with_times(grid, clamp=fwd.clamp)

    def score(survival: np.ndarray) -> tuple[np.ndarray, float]:
        return loss_curve(loss, survival, grid, test, train_struct)

    base_curve, base_integrated = score(_predict_survival(fwd, matrix, batch_size))
    rng = np.random.default_rng(seed)
    n_groups = len(groups)
    curves = np.empty((n_groups, n_repeats, grid.size))
    integrated = np.empty((n_groups, n_repeats))
    permutations = np.empty((n_groups, n_repeats, n), dtype=np.int64)
    steps = [(g, r) for g in range(n_groups) for r in range(n_repeats)]
    for g, r in tqdm(steps, disable=not show_progress, desc="permutation importance"):
        perm = rng.permutation(n)
        shuffled = matrix.clone()
        cols = torch.as_tensor(groups[g])
        shuffled[:, cols] = matrix[torch.as_tensor(perm)][:, cols]
        curves[g, r], integrated[g, r] = score(_predict_survival(fwd, shuffled, batch_size))
        permutations[g, r] = perm
    return PermutationImportance(
        times=grid,
        feature_names=labels,
        groups=[[names[c] for c in grp] for grp in groups],
        loss=loss,
        baseline_curve=base_curve,
        baseline_integrated=base_integrated,
        permuted_curves=curves,
        permuted_integrated=integrated,
        permutations=permutations,
        seed=seed,
    )


class PermutationImportance:
    """Result of :func:`permutation_importance`.

    Attributes:
        times: ``[T]`` time points.
        feature_names: One label per permuted feature group.
        groups: The column names in each group.
        loss: The loss name.
        baseline_curve: ``[T]`` loss of the unshuffled data.
        baseline_integrated: Its integrated value.
        permuted_curves: ``[G, R, T]`` loss after each shuffle.
        permuted_integrated: ``[G, R]`` integrated loss after each shuffle.
        permutations: ``[G, R, n]`` the row permutations used (for recomputation).
        seed: The seed.
    """

    def __init__(
        self,
        *,
        times: np.ndarray,
        feature_names: list[str],
        groups: list[list[str]],
        loss: str,
        baseline_curve: np.ndarray,
        baseline_integrated: float,
        permuted_curves: np.ndarray,
        permuted_integrated: np.ndarray,
        permutations: np.ndarray,
        seed: int | None,
    ) -> None:
        self.times = np.asarray(times, dtype=np.float64)
        self.feature_names = list(feature_names)
        self.groups = [list(g) for g in groups]
        self.loss = loss
        self.baseline_curve = np.asarray(baseline_curve, dtype=np.float64)
        self.baseline_integrated = float(baseline_integrated)
        self.permuted_curves = np.asarray(permuted_curves, dtype=np.float64)
        self.permuted_integrated = np.asarray(permuted_integrated, dtype=np.float64)
        self.permutations = np.asarray(permutations, dtype=np.int64)
        self.seed = seed

    @property
    def n_repeats(self) -> int:
        """Shuffles per feature group."""
        return int(self.permuted_curves.shape[1])

    def importance(self) -> pd.DataFrame:
        """Mean loss increase ``[T x G]``: rows times, columns features."""
        values = (self.permuted_curves - self.baseline_curve).mean(axis=1).T
        return pd.DataFrame(
            values, index=pd.Index(self.times, name="time"), columns=self.feature_names
        )

    def spread(self) -> pd.DataFrame:
        """Standard deviation of the increase over repeats ``[T x G]`` (0 for one repeat)."""
        increase = self.permuted_curves - self.baseline_curve
        values = increase.std(axis=1, ddof=1).T if self.n_repeats > 1 else 0.0 * increase[:, 0].T
        return pd.DataFrame(
            values, index=pd.Index(self.times, name="time"), columns=self.feature_names
        )

    def integrated(self) -> pd.DataFrame:
        """Integrated loss increase per feature: ``importance`` and ``std``, largest first."""
        increase = self.permuted_integrated - self.baseline_integrated
        std = increase.std(axis=1, ddof=1) if self.n_repeats > 1 else np.zeros(len(increase))
        frame = pd.DataFrame(
            {"importance": increase.mean(axis=1), "std": std},
            index=pd.Index(self.feature_names, name="feature"),
        )
        return frame.sort_values("importance", ascending=False, kind="stable")

    def ranking(self) -> list[str]:
        """Feature labels from most to least important (integrated loss increase)."""
        return list(self.integrated().index)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: ``feature, repeat, time, loss, baseline_loss, increase``.

        Integrated values are rows with ``time`` NaN.
        """
        g, r, t = self.permuted_curves.shape
        gi, ri, ti = np.meshgrid(np.arange(g), np.arange(r), np.arange(t), indexing="ij")
        gi, ri, ti = gi.reshape(-1), ri.reshape(-1), ti.reshape(-1)
        curve = pd.DataFrame(
            {
                "feature": np.asarray(self.feature_names, dtype=object)[gi],
                "repeat": ri,
                "time": self.times[ti],
                "loss": self.permuted_curves.reshape(-1),
                "baseline_loss": self.baseline_curve[ti],
            }
        )
        gi, ri = np.meshgrid(np.arange(g), np.arange(r), indexing="ij")
        whole = pd.DataFrame(
            {
                "feature": np.asarray(self.feature_names, dtype=object)[gi.reshape(-1)],
                "repeat": ri.reshape(-1),
                "time": np.nan,
                "loss": self.permuted_integrated.reshape(-1),
                "baseline_loss": self.baseline_integrated,
            }
        )
        frame = pd.concat([curve, whole], ignore_index=True)
        frame["increase"] = frame["loss"] - frame["baseline_loss"]
        return frame

    def save(self, path: str | PathLike[str]) -> None:
        """Write to ``path`` with :func:`torch.save` (loads with ``weights_only=True``)."""
        torch.save(
            {
                "format": _FORMAT,
                "version": _FORMAT_VERSION,
                "times": torch.as_tensor(self.times),
                "feature_names": list(self.feature_names),
                "groups": copy.deepcopy(self.groups),
                "loss": self.loss,
                "baseline_curve": torch.as_tensor(self.baseline_curve),
                "baseline_integrated": self.baseline_integrated,
                "permuted_curves": torch.as_tensor(self.permuted_curves),
                "permuted_integrated": torch.as_tensor(self.permuted_integrated),
                "permutations": torch.as_tensor(self.permutations),
                "seed": self.seed,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | PathLike[str]) -> PermutationImportance:
        """Read a result written by :meth:`save`."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        check_saved_format(state, path, "PermutationImportance", _FORMAT_VERSION)
        arrays = {
            k: state[k].numpy()
            for k in (
                "times",
                "baseline_curve",
                "permuted_curves",
                "permuted_integrated",
                "permutations",
            )
        }
        return cls(
            feature_names=state["feature_names"],
            groups=state["groups"],
            loss=state["loss"],
            baseline_integrated=state["baseline_integrated"],
            seed=state["seed"],
            **arrays,
        )

    def __repr__(self) -> str:
        return (
            f"PermutationImportance(loss={self.loss!r}, features={len(self.feature_names)}, "
            f"times={len(self.times)}, n_repeats={self.n_repeats}, seed={self.seed})"
        )

    def plot(self, *args: Any, **kwargs: Any) -> Any:
        """See :func:`captum_surv.plot.plot_permutation_importance`."""
        from captum_surv.plot import plot_permutation_importance

        return plot_permutation_importance(self, *args, **kwargs)
