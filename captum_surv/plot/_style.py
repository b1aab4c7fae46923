"""Shared look of the figures: palette, one stable colour per feature name, figure sizes,
new axes and legends."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
)
"""Feature colours: the Okabe-Ito colour-blind-safe palette (black kept for overlays)."""

OTHER_COLOR = "#999999"
"""Colour of the "other features" series."""

OVERLAY_COLOR = "#000000"
"""Colour of the overlay lines (prediction, reference, their difference; the force plot's
attribution sum)."""

SUM_COLOR = "#555555"
"""Grey of the overlay drawn next to a black one: the attribution sum over curves, the
prediction - reference markers of the force plot."""

ZERO_LINE = {"color": "#bbbbbb", "lw": 0.8, "zorder": 0}
"""Style of the horizontal (or vertical) line at 0."""

LINESTYLES = ("-", "--", ":", "-.")
HATCHES = ("", "//", "..", "xx")

# sizes of new figures (inches); figures with one row per feature grow with the rows
SIZE_PREDICTION = (6.5, 3.8)
SIZE_CURVES = (7.0, 4.0)
SIZE_CONTRIBUTION = (9.0, 4.0)
SIZE_FORCE = (7.0, 4.2)
SIZE_DEPENDENCE = (6.5, 4.2)
ROW_HEIGHT = 0.32


@dataclass(frozen=True)
class SeriesStyle:
    """Colour, line style and bar hatch of one series."""

    color: str
    linestyle: str = "-"
    hatch: str = ""


OTHER_STYLE = SeriesStyle(OTHER_COLOR)


def _preferred_colour(name: str) -> int:
    """A palette index from the name alone (crc32: the same in every process)."""
    return zlib.crc32(name.encode("utf-8")) % len(OKABE_ITO)


@lru_cache(maxsize=16)
def _slots(names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Name -> (palette index, claim): the n-th feature to claim a colour has claim n."""
    n_colours = len(OKABE_ITO)
    claims = [0] * n_colours
    out: dict[str, tuple[int, int]] = {}
    for name in sorted(names):  # alphabetical: independent of the features' order
        preferred = _preferred_colour(name)
        # the preferred colour unless another colour has fewer features: then the next such
        fewest = min(claims)
        colour = next(
            (preferred + step) % n_colours
            for step in range(n_colours)
            if claims[(preferred + step) % n_colours] == fewest
        )
        out[name] = (colour, claims[colour])
        claims[colour] += 1
    return out


def feature_colors(names: Sequence[str]) -> dict[str, str]:
    """The colour of every feature of an explanation, a function of the feature names.

    A name's colour is chosen from the name (a checksum into :data:`OKABE_ITO`), so a
    feature keeps its colour in every figure and in every explanation with the same feature
    names, whatever their order. When features claim the same colour, the alphabetically
    later one takes the next free colour; beyond seven features colours repeat, and
    :func:`series_styles` tells features of one colour apart within a figure.

    Args:
        names: All feature names of the explanation (flat order; order does not matter).

    Returns:
        Name -> colour (hex string).

    Example:
        >>> plot.feature_colors(expl.all_feature_names)["age"]  # doctest: +SKIP
        '#009E73'
    """
    return {name: OKABE_ITO[colour] for name, (colour, _) in _slots(tuple(names)).items()}


def series_styles(shown: Sequence[str], names: Sequence[str]) -> list[SeriesStyle]:
    """Styles of the features ``shown`` in one figure, out of all feature ``names``.

    Each has its colour from :func:`feature_colors`. Where shown features share a colour,
    the one that claimed it first is drawn solid and the others dashed, dotted, ... (bars:
    hatched); a feature whose colour no other shown feature has is always solid.
    """
    slots = _slots(tuple(names))
    rank: dict[str, int] = {}
    taken = [0] * len(OKABE_ITO)
    for name in sorted(shown, key=lambda n: (slots[n][1], n)):
        colour = slots[name][0]
        rank[name] = taken[colour]
        taken[colour] += 1
    return [
        SeriesStyle(
            OKABE_ITO[slots[name][0]],
            LINESTYLES[rank[name] % len(LINESTYLES)],
            HATCHES[rank[name] % len(HATCHES)],
        )
        for name in shown
    ]


def new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure | SubFigure, Axes]:
    """``ax`` and its figure, or a new figure with constrained layout."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax.figure, ax


def new_panels(
    n: int,
    fig: Any,
    axes: Any,
    figsize: tuple[float, float],
    ncols: int | None = None,
    **subplots_kw: Any,
) -> tuple[Figure | SubFigure, list[Axes]]:
    """``n`` axes: the given ``axes``, or new subplots of ``fig`` (a new figure if None)."""
    if axes is not None:
        given = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(given) != n or not all(isinstance(a, Axes) for a in given):
            raise ValueError(f"axes must hold exactly {n} matplotlib Axes; got {len(given)}.")
        return given[0].figure, given
    if fig is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
    elif not isinstance(fig, (Figure, SubFigure)):
        raise TypeError(f"fig must be a matplotlib Figure or None; got {type(fig).__name__}.")
    ncols = n if ncols is None else min(ncols, n)
    nrows = math.ceil(n / ncols)
    grid = fig.subplots(nrows, ncols, squeeze=False, **subplots_kw)
    flat = list(grid.ravel())
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


def add_legend(ax: Axes, title: str | None = None) -> None:
    """Legend outside the data, right of the axes."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            fontsize="small",
            title=title,
            title_fontsize="small",
        )
