"""Attribution against feature value at one time point: the dependence scatter and the
beeswarm of several features."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from captum_surv.plot._labels import method_name, output_label, time_title
from captum_surv.plot._style import (
    OTHER_COLOR,
    SIZE_DEPENDENCE,
    ZERO_LINE,
    feature_colors,
    new_axes,
)
from captum_surv.plot._utils import (
    ExplanationLike,
    FeatureSpec,
    check_expl,
    feature_index,
    flat_attr,
    grid_times,
    select,
    time_index,
)


def _swarm_offsets(values: np.ndarray, width: float = 0.38, n_bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points with similar ``values`` (a beeswarm)."""
    out = np.zeros(len(values))
    finite = np.isfinite(values)
    if finite.sum() < 2:
        return out
    v = values[finite]
    lo, hi = v.min(), v.max()
    bins = (
        np.zeros(len(v), dtype=int)
        if hi == lo
        else np.floor((v - lo) / (hi - lo) * (n_bins - 1) + 0.5).astype(int)
    )
    offsets = np.zeros(len(v))
    for b in np.unique(bins):
        idx = np.flatnonzero(bins == b)
        idx = idx[np.argsort(v[idx], kind="stable")]
        ranks = np.arange(len(idx))
        offsets[idx] = ((ranks + 1) // 2) * np.where(ranks % 2 == 1, 1.0, -1.0)
    largest = np.abs(offsets).max()
    if largest > 0:
        offsets *= min(width / largest, 0.1)
    out[finite] = offsets
    return out


def dependence(
    expl: ExplanationLike,
    feature: FeatureSpec,
    time: float,
    *,
    color_by: str | int | None = None,
    values: Any = None,
    beeswarm: bool = False,
    top_k: int | None = 10,
    cmap: str = "viridis",
    colorbar: bool = True,
    tol: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """Attribution against feature value over instances, at one time point.

    Default (``beeswarm=False``): a scatter of ``x = feature value`` and
    ``y = attributions[:, k, feature]`` (``t_k`` the grid time nearest ``time``), one point
    per instance, coloured by the value of ``color_by``. With ``beeswarm=True``: one row per
    feature (``feature`` may be a list, or None for the ``top_k`` most important at ``t_k``),
    ``x = attribution``, points spread vertically where they crowd, coloured by the row
    feature's value scaled to its range ("low" to "high", as SHAP's summary plot) or by the
    raw value of ``color_by`` if given.

    Args:
        expl: The explanation.
        feature: Feature name or flat index (a list or None with ``beeswarm=True``).
        time: The time point (original units); the nearest grid time is used.
        color_by: Feature whose value colours the points. Default None: one colour
            (beeswarm: the row feature's own value).
        values: Feature values to show instead of the explained inputs, e.g. in original
            units before standardisation: an array ``[B, n_features]`` in flat feature order,
            or a DataFrame with (at least) the used features as columns, one row per
            instance. Default None: ``expl.flat_inputs()``.
        beeswarm: Draw a beeswarm of attributions instead of the dependence scatter.
            Default False.
        top_k: Beeswarm rows when ``feature`` is None. Default 10.
        cmap: Colour map of the point colours. Default ``"viridis"``.
        colorbar: Draw a colour bar when points are coloured. Default True.
        tol: Largest accepted distance from ``time`` to the grid. Default None: half the
            adjacent grid spacing.
        ax: Axes to draw into. Default None: a new figure.
        title: Axes title. Default: the time point and method.

    Returns:
        ``(fig, ax)``; the points are the ``PathCollection`` ``ax.collections[0]`` (one per
        beeswarm row, in row order).

    Raises:
        ValueError: Unknown feature, a time off the grid, features without values (groups
            made by :meth:`~captum_surv.ExplanationLike.aggregate`), several features
            without ``beeswarm``.

    Example:
        >>> plot.dependence(expl, "age", 1095, color_by="tsize")  # doctest: +SKIP
        >>> plot.dependence(expl, None, 1095, beeswarm=True)  # doctest: +SKIP
    """
    check_expl(expl)
    k = time_index(expl, time, tol)
    t_k = grid_times(expl)[k]
    attr = flat_attr(expl)[:, k, :]  # [B, F]
    names = expl.all_feature_names
    values = _feature_values(expl, values)  # [B, F]
    color_j = None if color_by is None else feature_index(expl, color_by)
    out = output_label(expl)
    fig, ax = new_axes(ax, SIZE_DEPENDENCE)
    cm = plt.get_cmap(cmap).with_extremes(bad=OTHER_COLOR)
    if not beeswarm:
        if feature is None or not isinstance(feature, (str, int, np.integer)):
            raise ValueError(
                "dependence needs a single feature (name or flat index); pass a list or None "
                "only with beeswarm=True."
            )
        j = feature_index(expl, feature)
        x = values[:, j]
        if np.isnan(x).all():
            raise ValueError(
                f"Feature {names[j]!r} has no feature values (a group made by aggregate, or "
                "a column missing from values); plot its members, or use beeswarm=True."
            )
        if color_j is None:
            colour = feature_colors(names)[names[j]]  # the feature's colour in every figure
            points = ax.scatter(x, attr[:, j], s=18, color=colour, alpha=0.8)
        else:
            points = ax.scatter(x, attr[:, j], s=18, c=values[:, color_j], cmap=cm, alpha=0.85)
            if colorbar:
                fig.colorbar(points, ax=ax, label=names[color_j])
        ax.axhline(0.0, **ZERO_LINE)
        ax.set_xlabel(f"{names[j]} (feature value)")
        ax.set_ylabel(f"attribution to {out}")
    else:
        scores = np.abs(attr).mean(axis=0)
        sel = select(expl, feature, top_k, False, scores)
        points = None
        for row, j in enumerate(sel.index):
            y = row + _swarm_offsets(attr[:, j])
            if color_j is None:
                v = values[:, j]
                finite = np.isfinite(v)
                if finite.any() and np.ptp(v[finite]) > 0:
                    c = (v - v[finite].min()) / np.ptp(v[finite])  # NaN stays NaN (grey)
                else:
                    c = np.where(finite, 0.5, np.nan)
                coll = ax.scatter(attr[:, j], y, s=12, c=c, cmap=cm, vmin=0, vmax=1, alpha=0.85)
            else:
                cv = values[:, color_j]
                coll = ax.scatter(
                    attr[:, j],
                    y,
                    s=12,
                    c=cv,
                    cmap=cm,
                    vmin=np.nanmin(cv),
                    vmax=np.nanmax(cv),
                    alpha=0.85,
                )
            if points is None:
                points = coll
        ax.set_yticks(np.arange(len(sel.index)), [names[j] for j in sel.index], fontsize="small")
        ax.set_ylim(len(sel.index) - 0.5, -0.5)
        ax.axvline(0.0, **ZERO_LINE)
        ax.set_xlabel(f"attribution to {out}")
        if colorbar and points is not None:
            if color_j is None:
                bar = fig.colorbar(points, ax=ax, ticks=[0, 1], label="feature value")
                bar.ax.set_yticklabels(["low", "high"])
            else:
                fig.colorbar(points, ax=ax, label=names[color_j])
    ax.set_title(title if title is not None else f"{time_title(t_k)} ({method_name(expl)})")
    return fig, ax


def _feature_values(expl: ExplanationLike, values: Any) -> np.ndarray:
    """``[B, F]`` float feature values: the explained inputs, or the user's ``values``."""
    names = expl.all_feature_names
    shape = (expl.n_instances, len(names))
    if values is None:
        return expl.flat_inputs().numpy()
    if hasattr(values, "columns") and hasattr(values, "to_numpy"):  # a DataFrame
        out = np.full(shape, np.nan)
        if len(values) != shape[0]:
            raise ValueError(
                f"values has {len(values)} rows; the explanation has {shape[0]} instances."
            )
        columns = [str(c) for c in values.columns]
        for j, name in enumerate(names):
            if name in columns:
                out[:, j] = values.iloc[:, columns.index(name)].to_numpy(dtype=np.float64)
        return out
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    out = np.asarray(values, dtype=np.float64)
    if out.shape != shape:
        raise ValueError(
            f"values has shape {out.shape}; expected [B, n_features] = {list(shape)} in flat "
            "feature order (or pass a DataFrame with the feature names as columns)."
        )
    return out
