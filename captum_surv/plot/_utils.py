"""What the figures read from an explanation (the :class:`ExplanationLike` protocol, so
they never import the result class), argument checks, feature selection, time integrals."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from captum_surv._validation import check_index, positive_int, trapezoid
from captum_surv.plot._labels import OTHER_LABEL
from captum_surv.plot._style import OTHER_STYLE, SeriesStyle, series_styles

FeatureSpec = str | int | Sequence[str | int] | None


@runtime_checkable
class ExplanationLike(Protocol):
    """The members of :class:`~captum_surv.SurvExplanation` that the figures read."""

    attributions: Any
    inputs: Any
    times: torch.Tensor
    prediction: torch.Tensor
    reference_prediction: torch.Tensor | None
    method: str
    output: str
    event: int | None

    @property
    def n_instances(self) -> int: ...

    @property
    def n_times(self) -> int: ...

    @property
    def n_features(self) -> int: ...

    @property
    def all_feature_names(self) -> list[str]: ...

    def flat_attributions(self) -> torch.Tensor: ...

    def flat_inputs(self) -> torch.Tensor: ...


def check_expl(expl: Any, where: str = "expl") -> ExplanationLike:
    """``expl`` if it is an explanation, else a TypeError naming what was passed."""
    if not isinstance(expl, ExplanationLike):
        raise TypeError(
            f"{where} must be a SurvExplanation (the result of captum_surv.explain); got "
            f"{type(expl).__name__}."
        )
    return expl


# ------------------------------------------------------------------ instances and times
def instance_index(expl: ExplanationLike, instance: Any) -> int:
    """``instance`` as an index in ``0..n_instances - 1`` (negative ones from the end)."""
    return check_index(instance, expl.n_instances, "instance")


def instance_indices(expl: ExplanationLike, instances: Any, default: int = 5) -> list[int]:
    if instances is None:
        return list(range(min(default, expl.n_instances)))
    if isinstance(instances, (int, np.integer)) and not isinstance(instances, bool):
        return [instance_index(expl, instances)]
    if isinstance(instances, (str, bytes)) or not isinstance(
        instances, Sequence | np.ndarray | torch.Tensor
    ):
        raise TypeError(f"instances must be an int or a list of ints; got {instances!r}.")
    out = [instance_index(expl, int(i) if isinstance(i, torch.Tensor) else i) for i in instances]
    if not out:
        raise ValueError("instances is empty; pass at least one instance index.")
    return out


def grid_times(expl: ExplanationLike) -> np.ndarray:
    """The time grid as float64 numpy."""
    return expl.times.numpy().astype(np.float64)


def time_index(expl: ExplanationLike, t: Any, tol: float | None = None) -> int:
    """Index of the grid time nearest to ``t``; error if ``t`` is off the grid."""
    times = grid_times(expl)
    if isinstance(t, torch.Tensor):
        if t.numel() != 1:
            raise ValueError(f"A time must be a single number; got a tensor of shape {t.shape}.")
        t = t.item()
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
        raise TypeError(f"A time must be a number in the model's time units; got {t!r}.")
    value = float(t)
    span = f"[{times[0]:.6g}, {times[-1]:.6g}] ({len(times)} time points)"
    if not math.isfinite(value):
        raise ValueError(f"time {t!r} is not finite; pick a time in the grid {span}.")
    j = int(np.argmin(np.abs(times - value)))
    if tol is None:
        if len(times) == 1:
            limit = 1e-9 * max(1.0, abs(times[0]))
        else:
            if value > times[j]:
                gap = times[j + 1] - times[j] if j + 1 < len(times) else times[j] - times[j - 1]
            else:
                gap = times[j] - times[j - 1] if j > 0 else times[1] - times[0]
            limit = 0.5 * gap * (1 + 1e-9)
    else:
        if not isinstance(tol, (int, float, np.integer, np.floating)) or not tol >= 0:
            raise ValueError(f"tol must be a non-negative number; got {tol!r}.")
        limit = float(tol)
    if abs(times[j] - value) > limit:
        where = "outside" if value < times[0] or value > times[-1] else "not close to any point of"
        raise ValueError(
            f"time {value:.6g} is {where} the explanation's time grid {span}; the nearest grid "
            f"time is {times[j]:.6g}. Pick times within the grid (or explain on a grid that "
            "contains them)."
        )
    return j


def time_indices(
    expl: ExplanationLike, times: Any, n_default: int, tol: float | None = None
) -> list[int]:
    """Grid indices for ``times`` (values), or ``n_default`` evenly spread grid points."""
    if times is None:
        n = expl.n_times
        picks = np.unique(np.round(np.linspace(0, n - 1, min(n_default, n))).astype(int))
        return [int(k) for k in picks]
    if isinstance(times, (torch.Tensor, np.ndarray)):
        times = times.reshape(-1).tolist()
    elif not isinstance(times, Sequence) or isinstance(times, (str, bytes)):
        times = [times]
    if len(times) == 0:
        raise ValueError("times is empty; pass at least one time.")
    out: list[int] = []
    for t in times:
        k = time_index(expl, t, tol)
        if k not in out:
            out.append(k)
    return out


def marker(times: np.ndarray) -> str | None:
    """A marker for lines over a single time point (a line of one point is invisible)."""
    return "o" if len(times) == 1 else None


# ------------------------------------------------------------------ features
def feature_index(expl: ExplanationLike, feature: Any) -> int:
    """Flat index of a feature given by name or flat index."""
    names = expl.all_feature_names
    if isinstance(feature, str):
        try:
            return names.index(feature)
        except ValueError:
            close = difflib.get_close_matches(feature, names, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            shown = ", ".join(repr(n) for n in names[:10])
            more = f", ... ({len(names)} in all)" if len(names) > 10 else ""
            raise ValueError(
                f"Unknown feature {feature!r}.{hint} Known features: {shown}{more}."
            ) from None
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not 0 <= feature < len(names):
            raise ValueError(
                f"Feature index {feature} is out of range; flat feature indices run from 0 to "
                f"{len(names) - 1}."
            )
        return int(feature)
    raise TypeError(f"A feature is a name (str) or a flat index (int); got {feature!r}.")


def check_top_k(top_k: Any, n_features: int) -> int:
    """``top_k`` as a count of at most ``n_features`` (all of them for None)."""
    return n_features if top_k is None else min(positive_int(top_k, "top_k"), n_features)


@dataclass(frozen=True)
class Selection:
    """The features a plot shows: flat indices, labels, styles, and the rest (other
    features)."""

    index: list[int]
    labels: list[str]
    rest: list[int]
    styles: list[SeriesStyle]

    def take(self, values: np.ndarray) -> np.ndarray:
        """``[..., F] -> [..., K (+1)]``: selected columns, plus the sum over the rest."""
        cols = values[..., self.index]
        if self.rest:
            other = values[..., self.rest].sum(axis=-1, keepdims=True)
            cols = np.concatenate([cols, other], axis=-1)
        return cols

    def style(self, position: int) -> SeriesStyle:
        """Style of series ``position``: its feature's colour (the last is "other")."""
        return self.styles[position]


def select(
    expl: ExplanationLike,
    features: FeatureSpec,
    top_k: int | None,
    other: bool,
    scores: np.ndarray,
) -> Selection:
    """Pick the features to show: explicit ``features`` or the ``top_k`` by ``scores``."""
    names = expl.all_feature_names
    n_feat = len(names)
    if features is not None:
        items = [features] if isinstance(features, (str, int, np.integer)) else list(features)
        if not items:
            raise ValueError("features is empty; pass feature names or indices, or None.")
        index = [feature_index(expl, f) for f in items]
        if len(set(index)) != len(index):
            dup = next(names[j] for j in index if index.count(j) > 1)
            raise ValueError(f"Feature {dup!r} is given more than once in features.")
    else:
        k = check_top_k(top_k, n_feat)
        index = [int(j) for j in np.argsort(-scores, kind="stable")[:k]]
    chosen = set(index)
    rest = [j for j in range(n_feat) if j not in chosen] if other else []
    labels = [names[j] for j in index]
    styles = series_styles(labels, names)
    if rest:
        labels.append(f"{OTHER_LABEL} ({len(rest)})")
        styles.append(OTHER_STYLE)
    return Selection(index, labels, rest, styles)


# ------------------------------------------------------------------ values over time
def integrate(times: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Trapezoid rule over ``times`` along axis -2 of ``[..., T, F]`` (value if T == 1)."""
    return trapezoid(curves, times, axis=-2)


def time_average(times: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Time average ``integral / duration`` over axis -2 (the value if T == 1)."""
    if len(times) == 1:
        return curves[..., 0, :]
    return integrate(times, curves) / (times[-1] - times[0])


def flat_attr(expl: ExplanationLike) -> np.ndarray:
    """Attributions ``[B, T, F]`` in flat feature order, float64 numpy."""
    return expl.flat_attributions().double().numpy()


def instance_scores(expl: ExplanationLike, i: int) -> np.ndarray:
    """``integral |attribution| dt`` per feature for instance ``i``."""
    return integrate(grid_times(expl), np.abs(flat_attr(expl)[i]))


def shares(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``; NaN (undefined share, drawn as a gap) where ``den == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
