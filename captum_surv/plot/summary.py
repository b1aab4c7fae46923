"""Global importance over all instances: the time x feature heat map of mean |attribution|
and the bar chart of its integral over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from captum_surv.plot._labels import method_name, output_label, time_axis
from captum_surv.plot._style import ROW_HEIGHT, new_axes, new_panels
from captum_surv.plot._utils import (
    ExplanationLike,
    FeatureSpec,
    Selection,
    check_expl,
    flat_attr,
    grid_times,
    integrate,
    select,
)


def _importance_data(
    expl: ExplanationLike, features: FeatureSpec, top_k: int | None, other: bool
) -> tuple[Selection, np.ndarray, np.ndarray]:
    """Selection, heat map ``[K, T]`` of mean |phi| and integrated importance ``[K]``."""
    times = grid_times(expl)
    curves = np.abs(flat_attr(expl)).mean(axis=0)  # [T, F] = expl.global_importance()
    integrated = integrate(times, curves)  # [F]
    sel = select(expl, features, top_k, other, integrated)
    return sel, sel.take(curves).T, sel.take(integrated[None, :])[0]


def _time_edges(times: np.ndarray) -> np.ndarray:
    if len(times) == 1:
        half = 0.5 * max(abs(times[0]), 1.0)
        return np.array([times[0] - half, times[0] + half])
    mid = 0.5 * (times[1:] + times[:-1])
    return np.concatenate(
        [[times[0] - (mid[0] - times[0])], mid, [times[-1] + (times[-1] - mid[-1])]]
    )


def _draw_heatmap(
    ax: Axes,
    expl: ExplanationLike,
    sel: Selection,
    heat: np.ndarray,
    cmap: str,
    colorbar: bool,
    time_label: str | None,
) -> Any:
    times = grid_times(expl)
    mesh = ax.pcolormesh(
        _time_edges(times), np.arange(len(sel.labels) + 1) - 0.5, heat, cmap=cmap, shading="flat"
    )
    ax.set_yticks(np.arange(len(sel.labels)), sel.labels, fontsize="small")
    ax.set_ylim(len(sel.labels) - 0.5, -0.5)  # most important on top
    time_axis(ax, time_label)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=f"mean |attribution| to {output_label(expl)}")
    return mesh


def importance_heatmap(
    expl: ExplanationLike,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 15,
    other: bool = True,
    cmap: str = "viridis",
    colorbar: bool = True,
    ax: Axes | None = None,
    time_label: str | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """Heat map time x feature of the mean ``|attribution|`` over instances.

    Cell ``(feature j, time t_k)`` is ``mean_i |phi_ij(t_k)|``, i.e.
    ``expl.global_importance()`` (the "other features" row sums the rest). The cell of
    ``t_k`` spans the midpoints to its neighbouring grid times, in original units; features
    are ordered by importance integrated over time, most important on top.

    Args:
        expl: The explanation.
        features: Features to show. Default None: the ``top_k`` most important.
        top_k: How many features when ``features`` is None; None for all. Default 15.
        other: Add a row for the summed importance of the rest. Default True.
        cmap: Sequential colour map. Default ``"viridis"`` (colour-blind safe).
        colorbar: Draw a colour bar. Default True.
        ax: Axes to draw into. Default None: a new figure.
        time_label: x-axis label with the time unit. Default ``"time"``.
        title: Axes title. Default: method.

    Returns:
        ``(fig, ax)``; the heat map is the ``QuadMesh`` in ``ax.collections``, with values
        ``[n_rows, T]``.

    Raises:
        ValueError: Unknown feature, bad ``top_k``.

    Example:
        >>> fig, ax = plot.importance_heatmap(expl, top_k=10)  # doctest: +SKIP
    """
    check_expl(expl)
    sel, heat, _ = _importance_data(expl, features, top_k, other)
    fig, ax = new_axes(ax, (7.5, 0.9 + ROW_HEIGHT * len(sel.labels)))
    _draw_heatmap(ax, expl, sel, heat, cmap, colorbar, time_label)
    default = f"mean |attribution| over time ({method_name(expl)})"
    ax.set_title(title if title is not None else default)
    return fig, ax


def importance_bar(
    expl: ExplanationLike,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 15,
    other: bool = True,
    ax: Axes | None = None,
    time_label: str | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """Bar chart of the global importance integrated over time.

    Bar ``j`` is ``expl.global_importance(integrated=True)[j]`` =
    ``integral mean_i |phi_ij(t)| dt`` (trapezoid rule in the model's time units), most
    important on top; "other features" sums the rest.

    Args:
        expl: The explanation.
        features: Features to show. Default None: the ``top_k`` most important.
        top_k: How many features when ``features`` is None; None for all. Default 15.
        other: Add a bar for the summed importance of the rest. Default True.
        ax: Axes to draw into. Default None: a new figure.
        time_label: Time unit named in the x label. Default ``"time"``.
        title: Axes title. Default: method.

    Returns:
        ``(fig, ax)``; the bars are ``ax.patches`` in row order.

    Example:
        >>> fig, ax = plot.importance_bar(expl, top_k=5)  # doctest: +SKIP
    """
    check_expl(expl)
    sel, _, integrated = _importance_data(expl, features, top_k, other)
    fig, ax = new_axes(ax, (5.0, 0.9 + ROW_HEIGHT * len(sel.labels)))
    _draw_bars(ax, sel, integrated, time_label)
    ax.set_yticks(np.arange(len(sel.labels)), sel.labels, fontsize="small")
    ax.set_title(title if title is not None else f"importance ({method_name(expl)})")
    return fig, ax


def _draw_bars(
    ax: Axes,
    sel: Selection,
    integrated: np.ndarray,
    time_label: str | None,
) -> None:
    positions = np.arange(len(sel.labels))
    styles = [sel.style(p) for p in positions]
    ax.barh(
        positions,
        integrated,
        color=[st.color for st in styles],
        hatch=[st.hatch or None for st in styles],
        edgecolor="white",
    )
    ax.set_ylim(len(sel.labels) - 0.5, -0.5)
    unit = f"\n(t in {time_label})" if time_label else ""
    ax.set_xlabel(f"∫ mean |attribution| dt{unit}")


def importance(
    expl: ExplanationLike,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 15,
    other: bool = True,
    cmap: str = "viridis",
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, tuple[Axes, Axes]]:
    """Global importance: the heat map (:func:`importance_heatmap`) and the bar chart of
    importance integrated over time (:func:`importance_bar`), rows aligned.

    Args:
        expl: The explanation.
        features: Features to show. Default None: the ``top_k`` most important.
        top_k: How many features when ``features`` is None; None for all. Default 15.
        other: Add a row for the summed importance of the rest. Default True.
        cmap: Colour map of the heat map. Default ``"viridis"``.
        fig: Figure to draw into (two subplots are added). Default None: a new figure.
        axes: Two existing axes ``(heatmap, bars)`` instead of ``fig``.
        time_label: Time axis label with the unit. Default ``"time"``.
        title: Figure title. Default: method.

    Returns:
        ``(fig, (ax_heatmap, ax_bars))``.

    Example:
        >>> fig, (ax_heat, ax_bar) = expl.plot_importance(top_k=8)  # doctest: +SKIP
    """
    check_expl(expl)
    sel, heat, integrated = _importance_data(expl, features, top_k, other)
    fig, (ax_h, ax_b) = new_panels(
        2,
        fig,
        axes,
        (11.0, 1.4 + ROW_HEIGHT * len(sel.labels)),
        gridspec_kw={"width_ratios": [3, 1.3]},
    )
    _draw_heatmap(ax_h, expl, sel, heat, cmap, True, time_label)
    _draw_bars(ax_b, sel, integrated, time_label)
    ax_b.set_yticks(np.arange(len(sel.labels)), [""] * len(sel.labels))
    ax_h.set_title("mean |attribution| over time")
    ax_b.set_title("integrated over time")
    fig.suptitle(title if title is not None else f"Global importance ({method_name(expl)})")
    return fig, (ax_h, ax_b)
