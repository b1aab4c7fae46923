"""Decompositions of a prediction into feature shares: force bars at chosen times and
contribution ribbons over time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from captum_surv.plot._labels import (
    LABEL_DIFFERENCE,
    LABEL_SUM,
    method_name,
    output_label,
    time_axis,
    time_ticks,
)
from captum_surv.plot._style import (
    OVERLAY_COLOR,
    SIZE_CONTRIBUTION,
    SIZE_FORCE,
    SUM_COLOR,
    ZERO_LINE,
    add_legend,
    new_axes,
    new_panels,
)
from captum_surv.plot._utils import (
    ExplanationLike,
    FeatureSpec,
    check_expl,
    flat_attr,
    grid_times,
    instance_index,
    integrate,
    select,
    shares,
    time_average,
    time_indices,
)


def contribution(
    expl: ExplanationLike,
    instance: int | None = 0,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    legend: bool = True,
    title: str | None = None,
) -> tuple[Figure | SubFigure, tuple[Axes, Axes]]:
    """Percentage contribution: stacked ribbons of ``|attribution|`` shares over time.

    The left panel stacks the absolute shares ``|phi_j(t)| / sum_k |phi_k(t)|`` of the shown
    features (most important at the bottom; "other features" holds the summed shares of the
    rest), so the ribbons fill [0, 1] at every time with a non-zero attribution. The right
    panel is a bar per feature of its time-averaged share,
    ``integral share_j(t) dt / (t_T - t_1)`` (trapezoid rule; the value itself for a single
    time point). Time points where all attributions are 0 (e.g. ``t = 0`` for survival)
    have no shares: the ribbons have a gap there and the average skips them.

    Args:
        expl: The explanation.
        instance: Instance index; None for the whole explanation, with shares of the mean
            ``|attribution|`` over instances. Default 0.
        features: Features to show (names or flat indices). Default None: the ``top_k``
            most important.
        top_k: How many features when ``features`` is None; None for all. Default 7.
        other: Add the summed share of the features not shown. Default True.
        fig: Figure to draw into (two subplots are added). Default None: a new figure.
        axes: Two existing axes ``(ribbons, bars)`` instead of ``fig``.
        time_label: x-axis label with the time unit. Default ``"time"``.
        legend: Draw the legend (outside, right of the ribbons). Default True.
        title: Title of the ribbon panel. Default: method and instance.

    Returns:
        ``(fig, (ax_ribbons, ax_bars))``.

    Raises:
        ValueError: Instance out of range, unknown feature.

    Example:
        >>> fig, (ax_t, ax_bar) = plot.contribution(expl, 0)  # doctest: +SKIP
    """
    check_expl(expl)
    times = grid_times(expl)
    flat = flat_attr(expl)
    if instance is None:
        magnitude = np.abs(flat).mean(axis=0)  # [T, F]
        who = "all instances"
    else:
        i = instance_index(expl, instance)
        magnitude = np.abs(flat[i])
        who = f"instance {i}"
    sel = select(expl, features, top_k, other, integrate(times, magnitude))
    total = magnitude.sum(axis=-1, keepdims=True)
    share = shares(sel.take(magnitude), total)  # NaN where every attribution is 0
    defined = total[:, 0] > 0
    if defined.any():
        average = time_average(times[defined], share[defined])
    else:
        average = np.zeros(len(sel.labels))
    fig, (ax_r, ax_b) = new_panels(
        2, fig, axes, SIZE_CONTRIBUTION, gridspec_kw={"width_ratios": [3, 1.2]}
    )
    bottom = np.zeros(len(times))
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        top = bottom + share[:, p]
        style = {
            "facecolor": st.color,
            "edgecolor": "white",
            "linewidth": 0.4,
            "hatch": st.hatch or None,
            "label": label,
        }
        if len(times) > 1:
            ax_r.fill_between(times, bottom, top, **style)
        else:  # a ribbon over one time point would have no width: one stacked bar
            ax_r.bar(times, share[:, p], bottom=bottom, width=0.5 * max(abs(times[0]), 1), **style)
        bottom = top
    ax_r.set_ylim(0, 1)
    if len(times) > 1:
        ax_r.set_xlim(times[0], times[-1])
    ax_r.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    time_axis(ax_r, time_label)
    ax_r.set_ylabel("share of |attribution|")
    ax_r.set_title(title if title is not None else f"{method_name(expl)}, {who}")
    positions = np.arange(len(sel.labels))
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        ax_b.barh(
            positions[p],
            average[p],
            color=st.color,
            hatch=st.hatch or None,
            edgecolor="white",
            label=label,
        )
    ax_b.set_yticks(positions, sel.labels, fontsize="small")
    ax_b.invert_yaxis()
    ax_b.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax_b.set_xlabel("time-averaged share")
    if legend:
        add_legend(ax_r)
    return fig, (ax_r, ax_b)


def force(
    expl: ExplanationLike,
    instance: int = 0,
    times: float | Sequence[float] | None = None,
    *,
    n_times: int = 5,
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    tol: float | None = None,
    ax: Axes | None = None,
    time_label: str | None = None,
    legend: bool = True,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """Force plot: signed stacked bars of the attributions at selected time points.

    At each selected time the positive attributions are stacked upwards from 0 and the
    negative ones downwards, so the signed bar heights of a time point add up to the sum
    of the attributions (all features, when ``other=True``), drawn as a black line with
    markers. With a reference, ``prediction - reference`` is marked with crosses.

    Args:
        expl: The explanation.
        instance: Instance index. Default 0.
        times: Time values (original units) of the bars; the nearest grid time is used.
            Default None: ``n_times`` grid points spread evenly over the grid.
        n_times: Number of time points when ``times`` is None. Default 5.
        features: Features to show. Default None: the ``top_k`` largest by the sum of
            ``|attribution|`` over the selected times.
        top_k: How many features when ``features`` is None; None for all. Default 7.
        other: Add one bar segment for the sum of the remaining features. Default True.
        tol: Largest accepted distance from a requested time to its grid time. Default
            None: half the adjacent grid spacing.
        ax: Axes to draw into. Default None: a new figure.
        time_label: x-axis label with the time unit. Default ``"time"``.
        legend: Draw the legend (outside, right). Default True.
        title: Axes title. Default: method and instance.

    Returns:
        ``(fig, ax)``. Each feature is one ``BarContainer`` in ``ax.containers`` labelled by
        its name, with one bar per selected time.

    Raises:
        ValueError: Instance out of range, a time off the grid, unknown feature.

    Example:
        >>> fig, ax = plot.force(expl, 0, times=[365, 730, 1825])  # doctest: +SKIP
    """
    check_expl(expl)
    i = instance_index(expl, instance)
    ks = time_indices(expl, times, n_times, tol)
    grid = grid_times(expl)
    flat = flat_attr(expl)[i][ks]  # [m, F]
    sel = select(expl, features, top_k, other, np.abs(flat).sum(axis=0))
    values = sel.take(flat)  # [m, K]
    fig, ax = new_axes(ax, SIZE_FORCE)
    positions = np.arange(len(ks), dtype=float)
    pos_base = np.zeros(len(ks))
    neg_base = np.zeros(len(ks))
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        height = values[:, p]
        bottom = np.where(height >= 0, pos_base, neg_base)
        ax.bar(
            positions,
            height,
            width=0.6,
            bottom=bottom,
            color=st.color,
            hatch=st.hatch or None,
            edgecolor="white",
            linewidth=0.5,
            label=label,
        )
        pos_base = pos_base + np.where(height >= 0, height, 0.0)
        neg_base = neg_base + np.where(height < 0, height, 0.0)
    total = flat.sum(axis=1)
    ax.plot(positions, total, color=OVERLAY_COLOR, marker="o", lw=1.5, label=LABEL_SUM)
    if expl.reference_prediction is not None:
        delta = (expl.prediction.double() - expl.reference_prediction.double()).numpy()[i, ks]
        ax.plot(
            positions,
            delta,
            ls="none",
            marker="x",
            ms=9,
            mew=2,
            color=SUM_COLOR,
            label=LABEL_DIFFERENCE,
        )
    ax.axhline(0.0, **ZERO_LINE)
    time_ticks(ax, positions, grid[ks], time_label)
    ax.set_xlim(-0.6, len(ks) - 0.4)
    ax.set_ylabel(f"attribution to {output_label(expl)}")
    ax.set_title(title if title is not None else f"{method_name(expl)}, instance {i}")
    if legend:
        add_legend(ax)
    return fig, ax
