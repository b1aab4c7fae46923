"""Figures of the global results: permutation importance over time, PDP/ALE feature
effects, and Hessian interactions.

Each function takes a result object, draws into ``ax`` (or ``axes``) when given, else a new
figure with constrained layout, and returns ``(fig, ax)`` or ``(fig, axes)``. They are also
methods of the results: ``imp.plot()``, ``effect.plot()``, ``inter.plot_heatmap()``,
``inter.plot_pairs()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from captum_surv.plot._labels import time_axis, time_title, time_titles
from captum_surv.plot._style import OKABE_ITO, series_styles

if TYPE_CHECKING:  # pragma: no cover
    from captum_surv.attr.interactions import SurvInteractions
    from captum_surv.effects import FeatureEffect
    from captum_surv.importance import PermutationImportance


def _nearest(times: np.ndarray, t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times) - float(t))))


def plot_permutation_importance(
    imp: PermutationImportance,
    axes: Sequence[Any] | None = None,
    *,
    top_k: int | None = None,
    figsize: tuple[float, float] = (10.0, 3.8),
) -> tuple[Any, Any]:
    """Loss increase over time with +-1 sd bands, and the integrated increase as bars.

    Args:
        imp: A :class:`~captum_surv.PermutationImportance`.
        axes: Two axes to draw into (default: a new figure).
        top_k: Show the ``top_k`` most important features (default all).
        figsize: Size of a new figure.

    Returns:
        ``(fig, axes)``.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained", width_ratios=[2, 1])
    else:
        fig = axes[0].figure
    order = imp.ranking()[: top_k or None]
    mean, spread = imp.importance(), imp.spread()
    # the features' colours in every figure
    styles = dict(zip(order, series_styles(order, imp.feature_names), strict=True))
    for name in order:
        st = styles[name]
        m, s = mean[name].to_numpy(), spread[name].to_numpy()
        axes[0].plot(imp.times, m, color=st.color, ls=st.linestyle, label=name)
        axes[0].fill_between(imp.times, m - s, m + s, color=st.color, alpha=0.2, linewidth=0)
    axes[0].axhline(0.0, color="grey", linewidth=0.8)
    time_axis(axes[0])
    axes[0].set_ylabel(f"increase of loss ({imp.loss})")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    whole = imp.integrated().loc[order]
    axes[1].barh(
        order[::-1],
        whole["importance"].to_numpy()[::-1],
        xerr=whole["std"].to_numpy()[::-1],
        color=[styles[name].color for name in order[::-1]],
        hatch=[styles[name].hatch or None for name in order[::-1]],
        edgecolor="white",
    )
    axes[1].set_xlabel(f"integrated increase ({imp.loss})")
    return fig, axes


def plot_effect(
    effect: FeatureEffect,
    ax: Any = None,
    *,
    times: Sequence[float] | None = None,
    style: str | None = None,
    ice: bool = True,
    figsize: tuple[float, float] = (6.0, 3.8),
) -> tuple[Any, Any]:
    """Draw a PDP, ALE or 2-D PDP.

    Args:
        effect: A :class:`~captum_surv.FeatureEffect`.
        ax: Axes (2-D PDP: a sequence of axes, one per time) to draw into.
        times: Times of the slices (default: three spread over the grid). A 2-D PDP
            draws one heat map per time.
        style: ``"surface"`` (time x value heat map, the default without ``times``) or
            ``"slices"`` (one curve per time, the default with ``times``). Ignored for 2-D.
        ice: Slices of a PDP: draw the ICE curves faintly behind the PDP (default True).
        figsize: Size of a new figure.

    Returns:
        ``(fig, ax)`` (2-D: ``(fig, axes)``).
    """
    t = effect.times
    if times is None:
        picks = sorted({0, len(t) // 2, len(t) - 1})
    else:
        picks = [_nearest(t, v) for v in times]
    label = {"pdp": "partial dependence", "ale": "accumulated local effect"}.get(effect.kind, "")
    if effect.kind == "pdp2d":
        if ax is None:
            fig, ax = plt.subplots(
                1, len(picks), figsize=(4.0 * len(picks), 3.5), layout="constrained", squeeze=False
            )
            ax = ax[0]
        fig = ax[0].figure
        lo, hi = effect.values[..., picks].min(), effect.values[..., picks].max()
        titles = time_titles(t[picks])
        for a, k, title in zip(ax, picks, titles, strict=True):
            mesh = a.pcolormesh(
                effect.grids[1],
                effect.grids[0],
                effect.values[..., k],
                shading="nearest",
                cmap="viridis",
                vmin=lo,
                vmax=hi,
            )
            a.set_title(title)
            a.set_xlabel(effect.features[1])
            a.set_ylabel(effect.features[0])
        fig.colorbar(mesh, ax=list(ax), label=f"PD of {effect.output}")
        return fig, ax
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    fig = ax.figure
    style = style or ("surface" if times is None else "slices")
    grid = effect.grids[0]
    if style == "surface":
        diverging = effect.kind == "ale"
        scale = np.abs(effect.values).max() if diverging else None
        mesh = ax.pcolormesh(
            t,
            grid,
            effect.values,
            shading="nearest",
            cmap="RdBu_r" if diverging else "viridis",
            vmin=-scale if diverging else None,
            vmax=scale if diverging else None,
        )
        fig.colorbar(mesh, ax=ax, label=f"{label} ({effect.output})")
        time_axis(ax)
        ax.set_ylabel(effect.features[0])
        return fig, ax
    if style != "slices":
        raise ValueError(f"style must be 'surface' or 'slices', got {style!r}.")
    for i, (k, title) in enumerate(zip(picks, time_titles(t[picks]), strict=True)):
        colour = OKABE_ITO[i % len(OKABE_ITO)]  # one colour per time
        if ice and effect.ice is not None:
            ax.plot(grid, effect.ice[:, :, k].T, color=colour, alpha=0.12, linewidth=0.6)
        ax.plot(grid, effect.values[:, k], color=colour, linewidth=2.2, label=title)
    ax.set_xlabel(effect.features[0])
    ax.set_ylabel(f"{label} ({effect.output})")
    ax.legend(frameon=False)
    return fig, ax


def plot_interaction_heatmap(
    inter: SurvInteractions,
    time: float | None = None,
    ax: Any = None,
    *,
    diagonal: bool = False,
    figsize: tuple[float, float] = (4.8, 4.0),
) -> tuple[Any, Any]:
    """Mean ``|interaction|`` over instances, feature x feature, at the grid time nearest ``time``.

    Args:
        inter: A :class:`~captum_surv.SurvInteractions`.
        time: The time (default: the middle grid time).
        ax: Axes to draw into.
        diagonal: Show the diagonal (main effects for IntHess(t); default False).
        figsize: Size of a new figure.
    """
    t = inter.times.numpy()
    k = len(t) // 2 if time is None else _nearest(t, time)
    values = inter.interactions[:, k].abs().mean(dim=0).numpy().copy()
    if not diagonal:
        np.fill_diagonal(values, np.nan)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    fig = ax.figure
    mesh = ax.imshow(values, cmap="viridis")
    names = inter.feature_names
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    ax.set_title(f"{inter.method}, {time_title(t[k])}")
    fig.colorbar(mesh, ax=ax, label="mean |interaction|")
    return fig, ax


def plot_interaction_pairs(
    inter: SurvInteractions,
    top: int = 5,
    ax: Any = None,
    *,
    figsize: tuple[float, float] = (6.0, 3.8),
) -> tuple[Any, Any]:
    """Strength (mean ``|interaction|``) of the ``top`` strongest pairs over time.

    Pairs are ranked by their strength averaged over the time points.
    """
    strength = inter.pair_strength()
    order = strength.mean(axis=0).sort_values(ascending=False).index[:top]
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    fig = ax.figure
    for i, pair in enumerate(order):
        ax.plot(strength.index, strength[pair], color=OKABE_ITO[i % len(OKABE_ITO)], label=pair)
    time_axis(ax)
    ax.set_ylabel(f"mean |{inter.method}|")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig, ax
