"""Matplotlib figures of time-resolved survival explanations.

Every function takes a :class:`~captum_surv.SurvExplanation` (or, for competing risks and
method comparisons, several of them), draws into an existing ``ax`` / figure when one is
given (a new figure with constrained layout otherwise), returns ``(fig, ax)`` or
``(fig, axes)``, and never calls ``plt.show()``. The single-explanation plots are also
methods of the result object: ``expl.plot_curves()`` is ``plot.attribution_curves(expl)``.

=========================  ==================================================================
function                   figure
=========================  ==================================================================
:func:`prediction`         predicted output of chosen instances against the reference
:func:`attribution_curves` one line per feature over time, with prediction/reference overlays
:func:`contribution`       stacked ribbons of ``|attribution|`` shares plus time-averaged bar
:func:`force`              signed stacked bars at selected times with the attribution sum
:func:`importance_heatmap` time x feature heat map of mean ``|attribution|``
:func:`importance_bar`     mean ``|attribution|`` integrated over time
:func:`importance`         the heat map and the bar chart side by side
:func:`dependence`         attribution against feature value at one time (or a beeswarm)
:func:`image_attributions` heat maps of image attributions at chosen times, shared scale
:func:`competing_risks`    one panel per event of a competing-risks model
:func:`compare_methods`    the same instance explained by several methods side by side
=========================  ==================================================================

Conventions:

* **Times** are chosen by value in the model's original units; the nearest grid time is
  used. A time farther from the grid than half the adjacent grid spacing (or ``tol``)
  raises an error naming the grid's range.
* **Many features**: plots show the ``top_k`` most important features (ranked by
  ``integral |attribution| dt``) and, with ``other=True``, one series
  ``"other features (n)"`` for the remaining ``n``. The other-features series sums the
  plotted quantity of those features: signed attributions in signed plots (so stacked bars
  still add up to the attribution sum), ``|attribution|`` shares or importances in
  magnitude plots. Pass ``features=[...]`` (names or flat indices) to choose them yourself.
* **Colours** follow the colour-blind-safe Okabe-Ito palette (line styles cycle after seven
  features; "other features" is grey); heat maps use ``viridis`` (magnitudes) and the
  diverging ``RdBu_r`` centred at 0 (signed values). Legends sit outside the data, right of
  the axes.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from captum_surv import plot
    >>> fig, ax = plot.attribution_curves(expl, instance=0, top_k=5)  # doctest: +SKIP
    >>> fig.savefig("curves.png", dpi=150)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from captum_surv.explanation import SurvExplanation

__all__ = [
    "OKABE_ITO",
    "OTHER_COLOR",
    "attribution_curves",
    "compare_methods",
    "competing_risks",
    "contribution",
    "dependence",
    "force",
    "image_attributions",
    "importance",
    "importance_bar",
    "importance_heatmap",
    "prediction",
]

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
_LINESTYLES = ("-", "--", ":", "-.")
_HATCHES = ("", "//", "..", "xx")

LABEL_PREDICTION = "prediction"
LABEL_REFERENCE = "reference"
LABEL_DIFFERENCE = "prediction - reference"
LABEL_SUM = "sum of attributions"
OTHER_LABEL = "other features"
_OVERLAYS = ("prediction", "reference", "difference", "sum")
NORMALIZATIONS = ("none", "absolute", "relative")
_OUTPUT_LABELS = {
    "survival": "S(t | x)",
    "cumhazard": "H(t | x)",
    "hazard": "h(t | x)",
    "pmf": "P(event in (t_{k-1}, t_k] | x)",
    "cif": "CIF(t | x)",
    "log_risk": "g(x, t)",
    "hazard_rate": "hazard rate h(t | x)",
    "density": "density f(t | x)",
}
_PANEL_KINDS = ("curves", "force", "prediction")
_METHOD_NAMES = {
    "grad": "Grad(t)",
    "smoothgrad": "SG(t)",
    "gxi": "GxI(t)",
    "intgrad": "IntGrad(t)",
    "gradshap": "GradSHAP(t)",
}

AxesOrNone = Axes | None
FeatureSpec = str | int | Sequence[str | int] | None


# ============================================================================ helpers
@dataclass(frozen=True)
class _Selection:
    """The features a plot shows: flat indices, labels, and the rest (other features)."""

    index: list[int]
    labels: list[str]
    rest: list[int]

    @property
    def has_other(self) -> bool:
        return bool(self.rest)

    def take(self, values: np.ndarray) -> np.ndarray:
        """``[..., F] -> [..., K (+1)]``: selected columns, plus the sum over the rest."""
        cols = values[..., self.index]
        if self.rest:
            other = values[..., self.rest].sum(axis=-1, keepdims=True)
            cols = np.concatenate([cols, other], axis=-1)
        return cols

    def style(self, position: int) -> dict[str, Any]:
        """Colour, line style and hatch of series ``position`` (the last is "other")."""
        if self.rest and position == len(self.index):
            return {"color": OTHER_COLOR, "linestyle": "-", "hatch": ""}
        cycle = position // len(OKABE_ITO)
        return {
            "color": OKABE_ITO[position % len(OKABE_ITO)],
            "linestyle": _LINESTYLES[cycle % len(_LINESTYLES)],
            "hatch": _HATCHES[cycle % len(_HATCHES)],
        }


def _check_expl(expl: Any, where: str = "expl") -> SurvExplanation:
    if not isinstance(expl, SurvExplanation):
        raise TypeError(
            f"{where} must be a SurvExplanation (the result of captum_surv.explain); got "
            f"{type(expl).__name__}."
        )
    return expl


def _instance(expl: SurvExplanation, instance: Any) -> int:
    n = expl.n_instances
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)):
        raise TypeError(f"instance must be an int index; got {instance!r}.")
    if not -n <= instance < n:
        raise ValueError(
            f"instance={instance} is out of range: the explanation has {n} instance"
            f"{'s' if n != 1 else ''}; pass an index in 0..{n - 1} (or negative from the end)."
        )
    return int(instance) % n


def _instances(expl: SurvExplanation, instances: Any, default: int = 5) -> list[int]:
    if instances is None:
        return list(range(min(default, expl.n_instances)))
    if isinstance(instances, (int, np.integer)) and not isinstance(instances, bool):
        return [_instance(expl, instances)]
    if isinstance(instances, (str, bytes)) or not isinstance(
        instances, Sequence | np.ndarray | torch.Tensor
    ):
        raise TypeError(f"instances must be an int or a list of ints; got {instances!r}.")
    out = [_instance(expl, int(i) if isinstance(i, torch.Tensor) else i) for i in instances]
    if not out:
        raise ValueError("instances is empty; pass at least one instance index.")
    return out


def _grid(expl: SurvExplanation) -> np.ndarray:
    return expl.times.numpy().astype(np.float64)


def _time_index(expl: SurvExplanation, t: Any, tol: float | None = None) -> int:
    """Index of the grid time nearest to ``t``; error if ``t`` is off the grid."""
    grid = _grid(expl)
    if isinstance(t, torch.Tensor):
        if t.numel() != 1:
            raise ValueError(f"A time must be a single number; got a tensor of shape {t.shape}.")
        t = t.item()
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
        raise TypeError(f"A time must be a number in the model's time units; got {t!r}.")
    value = float(t)
    span = f"[{grid[0]:.6g}, {grid[-1]:.6g}] ({len(grid)} time points)"
    if not math.isfinite(value):
        raise ValueError(f"time {t!r} is not finite; pick a time in the grid {span}.")
    j = int(np.argmin(np.abs(grid - value)))
    if tol is None:
        if len(grid) == 1:
            limit = 1e-9 * max(1.0, abs(grid[0]))
        else:
            if value > grid[j]:
                gap = grid[j + 1] - grid[j] if j + 1 < len(grid) else grid[j] - grid[j - 1]
            else:
                gap = grid[j] - grid[j - 1] if j > 0 else grid[1] - grid[0]
            limit = 0.5 * gap * (1 + 1e-9)
    else:
        if not isinstance(tol, (int, float, np.integer, np.floating)) or not tol >= 0:
            raise ValueError(f"tol must be a non-negative number; got {tol!r}.")
        limit = float(tol)
    if abs(grid[j] - value) > limit:
        where = "outside" if value < grid[0] or value > grid[-1] else "not close to any point of"
        raise ValueError(
            f"time {value:.6g} is {where} the explanation's time grid {span}; the nearest grid "
            f"time is {grid[j]:.6g}. Pick times within the grid (or explain on a grid that "
            "contains them)."
        )
    return j


def _time_indices(
    expl: SurvExplanation, times: Any, n_default: int, tol: float | None = None
) -> list[int]:
    """Grid indices for ``times`` (values), or ``n_default`` evenly spread grid points."""
    if times is None:
        n = expl.n_times
        picks = np.unique(np.round(np.linspace(0, n - 1, min(n_default, n))).astype(int))
        return [int(k) for k in picks]
    if isinstance(times, torch.Tensor):
        times = times.reshape(-1).tolist()
    elif isinstance(times, np.ndarray):
        times = times.reshape(-1).tolist()
    elif not isinstance(times, Sequence) or isinstance(times, (str, bytes)):
        times = [times]
    if len(times) == 0:
        raise ValueError("times is empty; pass at least one time.")
    out: list[int] = []
    for t in times:
        k = _time_index(expl, t, tol)
        if k not in out:
            out.append(k)
    return out


def _feature_index(expl: SurvExplanation, feature: Any) -> int:
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


def _select(
    expl: SurvExplanation,
    features: FeatureSpec,
    top_k: int | None,
    other: bool,
    scores: np.ndarray,
) -> _Selection:
    """Pick the features to show: explicit ``features`` or the ``top_k`` by ``scores``."""
    names = expl.all_feature_names
    n_feat = len(names)
    if features is not None:
        items = [features] if isinstance(features, (str, int, np.integer)) else list(features)
        if not items:
            raise ValueError("features is empty; pass feature names or indices, or None.")
        index = [_feature_index(expl, f) for f in items]
        if len(set(index)) != len(index):
            dup = next(names[j] for j in index if index.count(j) > 1)
            raise ValueError(f"Feature {dup!r} is given more than once in features.")
    else:
        if top_k is None:
            k = n_feat
        elif isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise ValueError(f"top_k must be a positive int or None (all); got {top_k!r}.")
        else:
            k = min(int(top_k), n_feat)
        index = [int(j) for j in np.argsort(-scores, kind="stable")[:k]]
    chosen = set(index)
    rest = [j for j in range(n_feat) if j not in chosen] if other else []
    labels = [names[j] for j in index]
    if rest:
        labels.append(f"{OTHER_LABEL} ({len(rest)})")
    return _Selection(index, labels, rest)


def _integrate(times: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Trapezoid rule over ``times`` along axis -2 of ``[..., T, F]`` (value if T == 1)."""
    if len(times) == 1:
        return curves[..., 0, :]
    width = np.diff(times)[:, None]
    return (0.5 * (curves[..., 1:, :] + curves[..., :-1, :]) * width).sum(axis=-2)


def _time_average(times: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Time average ``integral / duration`` over axis -2 (the value if T == 1)."""
    if len(times) == 1:
        return curves[..., 0, :]
    return _integrate(times, curves) / (times[-1] - times[0])


def _flat(expl: SurvExplanation) -> np.ndarray:
    return expl.flat_attributions().double().numpy()


def _instance_scores(expl: SurvExplanation, i: int) -> np.ndarray:
    return _integrate(_grid(expl), np.abs(_flat(expl)[i]))


def _global_scores(expl: SurvExplanation) -> np.ndarray:
    return _integrate(_grid(expl), np.abs(_flat(expl)).mean(axis=0))


def _shares(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``; NaN (undefined share, drawn as a gap) where ``den == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _output_label(expl: SurvExplanation, event: bool = True) -> str:
    label = _OUTPUT_LABELS.get(expl.output, expl.output)
    if event and expl.event is not None:
        label += f" [event {expl.event}]"
    return label


def _method(expl: SurvExplanation) -> str:
    """Display name of the method: the paper's names for explain()'s built-in methods."""
    return _METHOD_NAMES.get(expl.method, expl.method)


def _marker(times: np.ndarray) -> str | None:
    """A marker for lines over a single time point (a line of one point is invisible)."""
    return "o" if len(times) == 1 else None


def _time_text(t: float) -> str:
    return f"{t:.4g}"


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure | SubFigure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax.figure, ax


def _new_panels(
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


def _legend(ax: Axes, title: str | None = None) -> None:
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


def _time_axis(ax: Axes, time_label: str | None) -> None:
    ax.set_xlabel(time_label or "time")


# ============================================================================ 1. prediction
def prediction(
    expl: SurvExplanation,
    instances: int | Sequence[int] | None = None,
    *,
    reference: bool | None = None,
    ax: AxesOrNone = None,
    time_label: str | None = None,
    drawstyle: str = "default",
    legend: bool = True,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """The explained output of chosen instances over time, against the reference.

    Draws ``expl.prediction[i]`` for each chosen instance (one colour each, label
    ``"instance i"``) and the reference output ``expl.reference_prediction`` dashed (one
    black line ``"reference"`` when all chosen instances share it, else one per instance in
    its colour). The attributions explain the gap between the two curves.

    Args:
        expl: The explanation.
        instances: Instance index or list of indices. Default None: the first five.
        reference: Draw the reference output. Default None: if the explanation has one.
            True without a reference raises an error.
        ax: Axes to draw into. Default None: a new figure.
        time_label: x-axis label with the time unit, e.g. ``"days"``. Default ``"time"``.
        drawstyle: Matplotlib line draw style, e.g. ``"steps-post"`` for step functions of
            Cox models. Default ``"default"`` (straight segments).
        legend: Draw the legend (outside, right). Default True.
        title: Axes title. Default: the output and method.

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: For instance indices out of range, or ``reference=True`` without a
            reference prediction.

    Example:
        >>> fig, ax = plot.prediction(expl, [0, 1], time_label="days")  # doctest: +SKIP
    """
    _check_expl(expl)
    rows = _instances(expl, instances)
    has_ref = expl.reference_prediction is not None
    if reference is None:
        reference = has_ref
    elif reference and not has_ref:
        raise ValueError(
            f"reference=True, but this explanation (method {expl.method!r}) has no reference "
            "prediction; pass reference=False or use a reference-based method."
        )
    fig, ax = _new_axes(ax, (6.5, 3.8))
    times = _grid(expl)
    pred = expl.prediction.double().numpy()
    for c, i in enumerate(rows):
        color = OKABE_ITO[c % len(OKABE_ITO)]
        ls = _LINESTYLES[(c // len(OKABE_ITO)) % len(_LINESTYLES)]
        ax.plot(
            times,
            pred[i],
            color=color,
            ls=ls,
            lw=1.8,
            drawstyle=drawstyle,
            marker=_marker(times),
            label=f"instance {i}",
        )
    if reference:
        assert expl.reference_prediction is not None
        ref = expl.reference_prediction.double().numpy()
        shared = all(np.allclose(ref[i], ref[rows[0]], rtol=0, atol=1e-12) for i in rows)
        if shared:
            ax.plot(
                times,
                ref[rows[0]],
                color=OVERLAY_COLOR,
                ls="--",
                lw=1.5,
                drawstyle=drawstyle,
                marker=_marker(times),
                label=LABEL_REFERENCE,
            )
        else:
            for c, i in enumerate(rows):
                ax.plot(
                    times,
                    ref[i],
                    color=OKABE_ITO[c % len(OKABE_ITO)],
                    ls="--",
                    lw=1.2,
                    drawstyle=drawstyle,
                    marker=_marker(times),
                    label=f"{LABEL_REFERENCE} {i}",
                )
    _time_axis(ax, time_label)
    ax.set_ylabel(_output_label(expl))
    ax.set_title(title if title is not None else f"{_output_label(expl)} ({_method(expl)})")
    if legend:
        _legend(ax)
    return fig, ax


# ============================================================================ 2. curves
def _overlays(
    expl: SurvExplanation, overlays: Sequence[str] | None, normalize: str
) -> tuple[str, ...]:
    has_ref = expl.reference_prediction is not None
    if overlays is None:
        if normalize != "none":
            return ()
        return ("difference", "sum") if has_ref else ()
    if isinstance(overlays, str):
        overlays = (overlays,)
    chosen = tuple(overlays)
    for name in chosen:
        if name not in _OVERLAYS:
            raise ValueError(f"Unknown overlay {name!r}; choose from {list(_OVERLAYS)}.")
    if chosen and normalize != "none":
        raise ValueError(
            f"Overlays {list(chosen)} are on the scale of the output and cannot be drawn with "
            f"normalize={normalize!r} (shares); pass overlays=() or normalize='none'."
        )
    needs_ref = [name for name in chosen if name in ("reference", "difference")]
    if needs_ref and not has_ref:
        raise ValueError(
            f"Overlays {needs_ref} need a reference prediction, but this explanation (method "
            f"{expl.method!r}) has none."
        )
    return chosen


def _normalized(flat_row: np.ndarray, sel: _Selection, normalize: str) -> np.ndarray:
    """``[T, F]`` attributions -> ``[T, K(+1)]`` series for ``normalize``."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}; got {normalize!r}.")
    if normalize == "none":
        return sel.take(flat_row)
    total = np.abs(flat_row).sum(axis=-1, keepdims=True)
    if normalize == "absolute":
        return _shares(sel.take(np.abs(flat_row)), total)
    return _shares(sel.take(flat_row), total)


def attribution_curves(
    expl: SurvExplanation,
    instance: int = 0,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    normalize: Literal["none", "absolute", "relative"] = "none",
    overlays: Sequence[str] | None = None,
    ax: AxesOrNone = None,
    time_label: str | None = None,
    drawstyle: str = "default",
    legend: bool = True,
    title: str | None = None,
) -> tuple[Figure | SubFigure, Axes]:
    """One line per feature: its attribution over time for one instance.

    The line of feature ``j`` is ``attributions[instance, :, j]`` (flat feature order). With
    the overlays ``"difference"`` (prediction minus reference) and ``"sum"`` (sum of all
    attributions) one sees at a glance how complete the explanation is: for IntGrad(t)
    and GradSHAP(t) the two coincide.

    Args:
        expl: The explanation.
        instance: Instance index (negative counts from the end). Default 0.
        features: Features to show (names or flat indices). Default None: the ``top_k``
            with the largest ``integral |attribution| dt`` for this instance.
        top_k: How many features to show when ``features`` is None; None for all.
            Default 7.
        other: Add one line for the sum over all features not shown. Default True.
        normalize: ``"none"`` (default): raw attributions. ``"absolute"``: absolute share
            ``|phi_j(t)| / sum_k |phi_k(t)|`` (the shares of all lines, other features
            included, sum to 1). ``"relative"``: signed share ``phi_j(t) / sum_k |phi_k(t)|``.
            The sums run over all features; where all attributions are 0 (e.g. ``S(0)``)
            the share is undefined and the lines have a gap.
        overlays: Extra black/grey lines, any of ``"prediction"``, ``"reference"``,
            ``"difference"`` and ``"sum"``. Default None: ``("difference", "sum")`` when
            the explanation has a reference and ``normalize="none"``, else none.
        ax: Axes to draw into. Default None: a new figure.
        time_label: x-axis label with the time unit. Default ``"time"``.
        drawstyle: Matplotlib line draw style. Default ``"default"``.
        legend: Draw the legend (outside, right). Default True.
        title: Axes title. Default: method and instance.

    Returns:
        ``(fig, ax)``; each line's label is its feature name (``"other features (n)"``,
        ``"prediction - reference"``, ``"sum of attributions"`` for the extra lines).

    Raises:
        ValueError: Instance out of range, unknown feature, bad ``normalize`` or overlays.

    Example:
        >>> fig, ax = plot.attribution_curves(expl, 0, top_k=4)  # doctest: +SKIP
        >>> expl.plot_curves(0, normalize="absolute")  # the same from the result  # doctest: +SKIP
    """
    _check_expl(expl)
    i = _instance(expl, instance)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}; got {normalize!r}.")
    chosen = _overlays(expl, overlays, normalize)
    sel = _select(expl, features, top_k, other, _instance_scores(expl, i))
    fig, ax = _new_axes(ax, (7.0, 4.0))
    times = _grid(expl)
    flat = _flat(expl)[i]  # [T, F]
    series = _normalized(flat, sel, normalize)
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        ax.plot(
            times,
            series[:, p],
            color=st["color"],
            ls=st["linestyle"],
            lw=1.8,
            drawstyle=drawstyle,
            marker=_marker(times),
            label=label,
        )
    pred = expl.prediction.double().numpy()[i]
    ref = (
        None if expl.reference_prediction is None else expl.reference_prediction.double().numpy()[i]
    )
    overlay_data = {
        "prediction": (pred, LABEL_PREDICTION, "-", 1.2),
        "reference": (ref, LABEL_REFERENCE, "-.", 1.2),
        "difference": (None if ref is None else pred - ref, LABEL_DIFFERENCE, "--", 2.2),
        "sum": (flat.sum(axis=1), LABEL_SUM, ":", 2.2),
    }
    for name in chosen:
        values, label, ls, lw = overlay_data[name]
        color = "#555555" if name == "sum" else OVERLAY_COLOR
        ax.plot(
            times,
            values,
            color=color,
            ls=ls,
            lw=lw,
            drawstyle=drawstyle,
            marker=_marker(times),
            label=label,
        )
    ax.axhline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
    _time_axis(ax, time_label)
    out = _output_label(expl)
    ax.set_ylabel(
        {
            "none": f"attribution to {out}",
            "absolute": "absolute share |attribution| / total",
            "relative": "relative share attribution / total |attribution|",
        }[normalize]
    )
    ax.set_title(title if title is not None else f"{_method(expl)}, instance {i}")
    if legend:
        _legend(ax)
    return fig, ax


# ============================================================================ 3. contribution
def contribution(
    expl: SurvExplanation,
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
    _check_expl(expl)
    times = _grid(expl)
    flat = _flat(expl)
    if instance is None:
        magnitude = np.abs(flat).mean(axis=0)  # [T, F]
        who = "all instances"
    else:
        i = _instance(expl, instance)
        magnitude = np.abs(flat[i])
        who = f"instance {i}"
    sel = _select(expl, features, top_k, other, _integrate(times, magnitude))
    total = magnitude.sum(axis=-1, keepdims=True)
    shares = _shares(sel.take(magnitude), total)  # NaN where every attribution is 0
    defined = total[:, 0] > 0
    if defined.any():
        average = _time_average(times[defined], shares[defined])
    else:
        average = np.zeros(len(sel.labels))
    fig, (ax_r, ax_b) = _new_panels(
        2, fig, axes, (9.0, 4.0), gridspec_kw={"width_ratios": [3, 1.2]}
    )
    bottom = np.zeros(len(times))
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        top = bottom + shares[:, p]
        style = {
            "facecolor": st["color"],
            "edgecolor": "white",
            "linewidth": 0.4,
            "hatch": st["hatch"] or None,
            "label": label,
        }
        if len(times) > 1:
            ax_r.fill_between(times, bottom, top, **style)
        else:  # a ribbon over one time point would have no width: one stacked bar
            ax_r.bar(times, shares[:, p], bottom=bottom, width=0.5 * max(abs(times[0]), 1), **style)
        bottom = top
    ax_r.set_ylim(0, 1)
    if len(times) > 1:
        ax_r.set_xlim(times[0], times[-1])
    ax_r.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    _time_axis(ax_r, time_label)
    ax_r.set_ylabel("share of |attribution|")
    ax_r.set_title(title if title is not None else f"{_method(expl)}, {who}")
    positions = np.arange(len(sel.labels))
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        ax_b.barh(
            positions[p],
            average[p],
            color=st["color"],
            hatch=st["hatch"] or None,
            edgecolor="white",
            label=label,
        )
    ax_b.set_yticks(positions, sel.labels, fontsize="small")
    ax_b.invert_yaxis()
    ax_b.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax_b.set_xlabel("time-averaged share")
    if legend:
        _legend(ax_r)
    return fig, (ax_r, ax_b)


# ============================================================================ 4. force
def force(
    expl: SurvExplanation,
    instance: int = 0,
    times: float | Sequence[float] | None = None,
    *,
    n_times: int = 5,
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    tol: float | None = None,
    ax: AxesOrNone = None,
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
    _check_expl(expl)
    i = _instance(expl, instance)
    ks = _time_indices(expl, times, n_times, tol)
    grid = _grid(expl)
    flat = _flat(expl)[i][ks]  # [m, F]
    sel = _select(expl, features, top_k, other, np.abs(flat).sum(axis=0))
    values = sel.take(flat)  # [m, K]
    fig, ax = _new_axes(ax, (7.0, 4.2))
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
            color=st["color"],
            hatch=st["hatch"] or None,
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
            color="#555555",
            label=LABEL_DIFFERENCE,
        )
    ax.axhline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
    ax.set_xticks(positions, [_time_text(grid[k]) for k in ks])
    ax.set_xlim(-0.6, len(ks) - 0.4)
    _time_axis(ax, time_label)
    ax.set_ylabel(f"attribution to {_output_label(expl)}")
    ax.set_title(title if title is not None else f"{_method(expl)}, instance {i}")
    if legend:
        _legend(ax)
    return fig, ax


# ============================================================================ 5. importance
def _importance_data(
    expl: SurvExplanation, features: FeatureSpec, top_k: int | None, other: bool
) -> tuple[_Selection, np.ndarray, np.ndarray]:
    """Selection, heat map ``[K, T]`` of mean |phi| and integrated importance ``[K]``."""
    times = _grid(expl)
    curves = np.abs(_flat(expl)).mean(axis=0)  # [T, F] = expl.global_importance()
    integrated = _integrate(times, curves)  # [F]
    sel = _select(expl, features, top_k, other, integrated)
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
    expl: SurvExplanation,
    sel: _Selection,
    heat: np.ndarray,
    cmap: str,
    colorbar: bool,
    time_label: str | None,
) -> Any:
    times = _grid(expl)
    mesh = ax.pcolormesh(
        _time_edges(times), np.arange(len(sel.labels) + 1) - 0.5, heat, cmap=cmap, shading="flat"
    )
    ax.set_yticks(np.arange(len(sel.labels)), sel.labels, fontsize="small")
    ax.set_ylim(len(sel.labels) - 0.5, -0.5)  # most important on top
    _time_axis(ax, time_label)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=f"mean |attribution| to {_output_label(expl)}")
    return mesh


def importance_heatmap(
    expl: SurvExplanation,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 15,
    other: bool = True,
    cmap: str = "viridis",
    colorbar: bool = True,
    ax: AxesOrNone = None,
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
    _check_expl(expl)
    sel, heat, _ = _importance_data(expl, features, top_k, other)
    fig, ax = _new_axes(ax, (7.5, 0.9 + 0.32 * len(sel.labels)))
    _draw_heatmap(ax, expl, sel, heat, cmap, colorbar, time_label)
    ax.set_title(title if title is not None else f"mean |attribution| over time ({_method(expl)})")
    return fig, ax


def importance_bar(
    expl: SurvExplanation,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 15,
    other: bool = True,
    ax: AxesOrNone = None,
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
    _check_expl(expl)
    sel, _, integrated = _importance_data(expl, features, top_k, other)
    fig, ax = _new_axes(ax, (5.0, 0.9 + 0.32 * len(sel.labels)))
    _draw_bars(ax, sel, integrated, time_label, expl)
    ax.set_yticks(np.arange(len(sel.labels)), sel.labels, fontsize="small")
    ax.set_title(title if title is not None else f"importance ({_method(expl)})")
    return fig, ax


def _draw_bars(
    ax: Axes,
    sel: _Selection,
    integrated: np.ndarray,
    time_label: str | None,
    expl: SurvExplanation,
) -> None:
    positions = np.arange(len(sel.labels))
    colors = [
        OTHER_COLOR if sel.has_other and p == len(sel.index) else OKABE_ITO[0] for p in positions
    ]
    ax.barh(positions, integrated, color=colors)
    ax.set_ylim(len(sel.labels) - 0.5, -0.5)
    unit = f"\n(t in {time_label})" if time_label else ""
    ax.set_xlabel(f"∫ mean |attribution| dt{unit}")


def importance(
    expl: SurvExplanation,
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
    _check_expl(expl)
    sel, heat, integrated = _importance_data(expl, features, top_k, other)
    fig, (ax_h, ax_b) = _new_panels(
        2,
        fig,
        axes,
        (11.0, 1.4 + 0.32 * len(sel.labels)),
        gridspec_kw={"width_ratios": [3, 1.3]},
    )
    _draw_heatmap(ax_h, expl, sel, heat, cmap, True, time_label)
    _draw_bars(ax_b, sel, integrated, time_label, expl)
    ax_b.set_yticks(np.arange(len(sel.labels)), [""] * len(sel.labels))
    ax_h.set_title("mean |attribution| over time")
    ax_b.set_title("integrated over time")
    fig.suptitle(title if title is not None else f"Global importance ({_method(expl)})")
    return fig, (ax_h, ax_b)


# ============================================================================ 6. dependence
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
    expl: SurvExplanation,
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
    ax: AxesOrNone = None,
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
            made by :meth:`~captum_surv.SurvExplanation.aggregate`), several features
            without ``beeswarm``.

    Example:
        >>> plot.dependence(expl, "age", 1095, color_by="tsize")  # doctest: +SKIP
        >>> plot.dependence(expl, None, 1095, beeswarm=True)  # doctest: +SKIP
    """
    _check_expl(expl)
    k = _time_index(expl, time, tol)
    t_k = _grid(expl)[k]
    attr = _flat(expl)[:, k, :]  # [B, F]
    names = expl.all_feature_names
    values = _feature_values(expl, values)  # [B, F]
    color_j = None if color_by is None else _feature_index(expl, color_by)
    out = _output_label(expl)
    fig, ax = _new_axes(ax, (6.5, 4.2))
    cm = plt.get_cmap(cmap).with_extremes(bad=OTHER_COLOR)
    if not beeswarm:
        if feature is None or not isinstance(feature, (str, int, np.integer)):
            raise ValueError(
                "dependence needs a single feature (name or flat index); pass a list or None "
                "only with beeswarm=True."
            )
        j = _feature_index(expl, feature)
        x = values[:, j]
        if np.isnan(x).all():
            raise ValueError(
                f"Feature {names[j]!r} has no feature values (a group made by aggregate, or "
                "a column missing from values); plot its members, or use beeswarm=True."
            )
        if color_j is None:
            points = ax.scatter(x, attr[:, j], s=18, color=OKABE_ITO[0], alpha=0.8)
        else:
            points = ax.scatter(x, attr[:, j], s=18, c=values[:, color_j], cmap=cm, alpha=0.85)
            if colorbar:
                fig.colorbar(points, ax=ax, label=names[color_j])
        ax.axhline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
        ax.set_xlabel(f"{names[j]} (feature value)")
        ax.set_ylabel(f"attribution to {out}")
    else:
        scores = np.abs(attr).mean(axis=0)
        sel = _select(expl, feature, top_k, False, scores)
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
        ax.axvline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
        ax.set_xlabel(f"attribution to {out}")
        if colorbar and points is not None:
            if color_j is None:
                bar = fig.colorbar(points, ax=ax, ticks=[0, 1], label="feature value")
                bar.ax.set_yticklabels(["low", "high"])
            else:
                fig.colorbar(points, ax=ax, label=names[color_j])
    ax.set_title(title if title is not None else f"t = {_time_text(t_k)} ({_method(expl)})")
    return fig, ax


def _feature_values(expl: SurvExplanation, values: Any) -> np.ndarray:
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


# ============================================================================ 7. images
def _image_input(expl: SurvExplanation, input: int | None) -> int:
    xs = expl.inputs if isinstance(expl.inputs, tuple) else (expl.inputs,)
    shapes = [tuple(x.shape[1:]) for x in xs]
    images = [n for n, x in enumerate(xs) if x.dim() in (3, 4)]
    described = ", ".join(f"[B, {', '.join(str(s) for s in shape)}]" for shape in shapes)
    if input is None:
        if not images:
            raise ValueError(
                "image_attributions needs an image input ([B, H, W] or [B, C, H, W]), but "
                f"this explanation's inputs are {described} (tabular); use "
                "attribution_curves or importance for tabular features."
            )
        return images[0]
    if isinstance(input, bool) or not isinstance(input, (int, np.integer)):
        raise TypeError(f"input must be the index of an input tensor; got {input!r}.")
    if not 0 <= input < len(xs):
        raise ValueError(f"input={input} is out of range; the explanation has {len(xs)} inputs.")
    if input not in images:
        raise ValueError(
            f"Input {input} has shape [B, {', '.join(str(s) for s in shapes[input])}], not an "
            "image ([B, H, W] or [B, C, H, W])."
        )
    return int(input)


def _picture(x: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An input image ``[H, W]`` or ``[C, H, W]`` as something ``imshow`` can show."""
    if x.ndim == 2:
        return x, "gray_r"
    if x.shape[0] == 3:
        rgb = np.moveaxis(x, 0, -1)
        lo, hi = rgb.min(), rgb.max()
        return (rgb - lo) / (hi - lo) if hi > lo else np.zeros_like(rgb), None
    return x.mean(axis=0), "gray_r"


def image_attributions(
    expl: SurvExplanation,
    instance: int = 0,
    times: float | Sequence[float] | None = None,
    *,
    n_times: int = 4,
    input: int | None = None,
    channel: int | Literal["sum"] = "sum",
    overlay: bool = False,
    alpha: float = 0.9,
    show_input: bool = True,
    cmap: str = "RdBu_r",
    vmax: float | None = None,
    ncols: int | None = None,
    tol: float | None = None,
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    title: str | None = None,
) -> tuple[Figure | SubFigure, np.ndarray]:
    """Heat maps of image attributions at chosen time points, on one shared colour scale.

    One panel per selected time shows the attributions of the image input (also one member
    of tuple inputs, e.g. image + tabular covariates) for one instance, summed over colour
    channels (attributions are additive, so the sum is the pixel's attribution). The
    diverging colour map is centred at 0 and all panels share the limits
    ``[-m, m]``, ``m`` the largest ``|attribution|`` over the shown panels, so colours
    compare across time. One colour bar serves all panels.

    Args:
        expl: The explanation.
        instance: Instance index. Default 0.
        times: Time values (original units); nearest grid times are used. Default None:
            ``n_times`` grid points spread evenly.
        n_times: Number of panels when ``times`` is None. Default 4.
        input: Index of the image tensor among tuple inputs. Default None: the first input
            with shape ``[B, H, W]`` or ``[B, C, H, W]``.
        channel: ``"sum"`` (default) over channels, or one channel index.
        overlay: Draw the heat map over the (faded) image, each pixel's opacity
            ``alpha * sqrt(|attribution| / m)``: the image shows through where attributions
            are small. Default False.
        alpha: Largest heat map opacity when ``overlay``. Default 0.9.
        show_input: Add a first panel with the input image. Default True.
        cmap: Diverging colour map. Default ``"RdBu_r"`` (red positive, blue negative).
        vmax: Colour limit ``m`` (the scale is ``[-m, m]``). Default None: the largest
            ``|attribution|`` over the shown panels. Pass the same value to several calls
            (e.g. two patients) to make their colours comparable.
        ncols: Panels per row. Default: all in one row up to 6.
        tol: Largest accepted distance from a requested time to its grid time. Default
            None: half the adjacent grid spacing.
        fig: Figure to draw into. Default None: a new figure.
        axes: Existing axes, one per panel (input panel first), instead of ``fig``.
        time_label: Unit shown in the panel titles (``"t = 3 years"``). Default none.
        title: Figure title. Default: method and instance.

    Returns:
        ``(fig, axes)``, an array of the panels' axes. Each heat map is an ``AxesImage``
        with ``gid="attribution"``.

    Raises:
        ValueError: For explanations without an image input (tabular inputs, or
            aggregated ones), instance out of range, times off the grid.

    Example:
        >>> plot.image_attributions(expl, 0, times=[1, 2, 5], overlay=True)  # doctest: +SKIP
    """
    _check_expl(expl)
    n = _image_input(expl, input)
    i = _instance(expl, instance)
    ks = _time_indices(expl, times, n_times, tol)
    xs = expl.inputs if isinstance(expl.inputs, tuple) else (expl.inputs,)
    attrs = expl.attributions if isinstance(expl.attributions, tuple) else (expl.attributions,)
    x = xs[n][i].double().numpy()
    a = attrs[n][i].double().numpy()[ks]  # [m, *S]
    if x.ndim == 3:
        if channel == "sum":
            a = a.sum(axis=1)
        elif isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
            if not 0 <= channel < x.shape[0]:
                raise ValueError(f"channel={channel} is out of range for {x.shape[0]} channels.")
            a = a[:, int(channel)]
        else:
            raise ValueError(f"channel must be 'sum' or a channel index; got {channel!r}.")
    picture, picture_cmap = _picture(x)
    if vmax is None:
        limit = float(np.abs(a).max()) or 1e-12
    elif isinstance(vmax, bool) or not (np.isfinite(vmax) and vmax > 0):
        raise ValueError(f"vmax must be a positive number (the colour limit); got {vmax!r}.")
    else:
        limit = float(vmax)
    n_panels = len(ks) + int(show_input)
    per_row = ncols or min(n_panels, 6)
    rows = math.ceil(n_panels / per_row)
    fig, panels = _new_panels(
        n_panels, fig, axes, (2.3 * min(n_panels, per_row) + 1.2, 2.4 * rows + 0.5), ncols=per_row
    )
    grid = _grid(expl)
    unit = f" {time_label}" if time_label else ""
    heat = None
    offset = 0
    if show_input:
        panels[0].imshow(picture, cmap=picture_cmap, interpolation="nearest")
        panels[0].set_title("input", fontsize="small")
        offset = 1
    for m, k in enumerate(ks):
        ax = panels[offset + m]
        if overlay:
            ax.imshow(picture, cmap=picture_cmap, alpha=0.5, interpolation="nearest")
        heat = ax.imshow(
            a[m],
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            # over the image: opacity grows with |attribution|, so the image shows through
            # where the attributions are small
            alpha=alpha * np.sqrt(np.minimum(np.abs(a[m]) / limit, 1.0)) if overlay else None,
            interpolation="nearest",
            gid="attribution",
        )
        ax.set_title(f"t = {_time_text(grid[k])}{unit}", fontsize="small")
    for ax in panels:
        ax.set_xticks([])
        ax.set_yticks([])
    if heat is not None:
        fig.colorbar(heat, ax=panels, shrink=0.85, label=f"attribution to {_output_label(expl)}")
    fig.suptitle(title if title is not None else f"{_method(expl)}, instance {i}")
    return fig, np.asarray(panels, dtype=object)


# ============================================================================ 8./9. panels
def _collection(expls: Any, what: str) -> tuple[list[str | None], list[SurvExplanation]]:
    if isinstance(expls, SurvExplanation):
        raise TypeError(f"{what} takes several explanations (a list or dict); got one.")
    if isinstance(expls, Mapping):
        titles: list[str | None] = [str(key) for key in expls]
        items = list(expls.values())
    elif isinstance(expls, Sequence) and not isinstance(expls, (str, bytes)):
        items = list(expls)
        titles = [None] * len(items)
    else:
        raise TypeError(f"{what} takes a list or dict of SurvExplanations; got {expls!r:.80}.")
    if not items:
        raise ValueError(f"{what} got no explanations.")
    for n, e in enumerate(items):
        _check_expl(e, f"explanation {titles[n] or n}")
    names = items[0].all_feature_names
    for n, e in enumerate(items[1:], start=1):
        if e.all_feature_names != names:
            raise ValueError(
                f"Explanation {titles[n] or n} has other features than the first one; all "
                "panels must explain the same features."
            )
        if e.n_instances != items[0].n_instances:
            raise ValueError(
                f"Explanation {titles[n] or n} has {e.n_instances} instances, the first has "
                f"{items[0].n_instances}; explain the same instances in every panel."
            )
    return titles, items


def _joint_features(
    items: list[SurvExplanation], i: int, features: FeatureSpec, top_k: int | None
) -> list[int] | FeatureSpec:
    """The same features for every panel: explicit, or top-k by summed normalised scores."""
    if features is not None:
        return features
    scores = np.zeros(items[0].n_features)
    for e in items:
        s = _instance_scores(e, i)
        scores += s / s.sum() if s.sum() > 0 else s
    k = scores.shape[0] if top_k is None else top_k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k must be a positive int or None (all); got {top_k!r}.")
    return [int(j) for j in np.argsort(-scores, kind="stable")[: int(k)]]


def _panels(
    items: list[SurvExplanation],
    titles: list[str],
    instance: int,
    kind: str,
    features: FeatureSpec,
    top_k: int | None,
    other: bool,
    sharey: bool,
    fig: Any,
    axes: Any,
    ncols: int | None,
    time_label: str | None,
    kwargs: dict[str, Any],
) -> tuple[Figure | SubFigure, np.ndarray]:
    if kind not in _PANEL_KINDS:
        raise ValueError(f"kind must be one of {list(_PANEL_KINDS)}; got {kind!r}.")
    i = _instance(items[0], instance)
    chosen = _joint_features(items, i, features, top_k)
    per_row = ncols or min(len(items), 4)
    rows = math.ceil(len(items) / per_row)
    fig, panels = _new_panels(
        len(items),
        fig,
        axes,
        (3.6 * min(len(items), per_row) + 2.2, 3.4 * rows),
        ncols=per_row,
        sharey=sharey,
    )
    for n, (e, ax, panel_title) in enumerate(zip(items, panels, titles, strict=True)):
        if kind == "curves":
            attribution_curves(
                e,
                i,
                features=chosen,
                other=other,
                ax=ax,
                time_label=time_label,
                legend=False,
                title=panel_title,
                **kwargs,
            )
        elif kind == "force":
            force(
                e,
                i,
                features=chosen,
                other=other,
                ax=ax,
                time_label=time_label,
                legend=False,
                title=panel_title,
                **kwargs,
            )
        else:
            prediction(
                e, i, ax=ax, time_label=time_label, legend=False, title=panel_title, **kwargs
            )
        # the panel titles name the events: no "[event r]" in the y label
        if n % per_row and sharey:
            ax.set_ylabel("")  # one scale: the first column's label serves the row
        elif kind == "prediction":
            ax.set_ylabel(_output_label(e, event=False))
        else:
            ax.set_ylabel(f"attribution to {_output_label(e, event=False)}")
    _panel_legend(fig, panels)
    return fig, np.asarray(panels, dtype=object)


def _panel_legend(fig: Figure | SubFigure, panels: list[Axes]) -> None:
    """One legend for all panels (labels of every panel, once), right of the figure with
    constrained layout, else right of the last panel."""
    entries: dict[str, Any] = {}
    for ax in panels:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if not entries:
        return
    engine = fig.figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine) and fig is fig.figure:
        fig.legend(
            list(entries.values()),
            list(entries),
            loc="outside right upper",
            frameon=False,
            fontsize="small",
        )
    else:
        panels[-1].legend(
            list(entries.values()),
            list(entries),
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            fontsize="small",
        )


def competing_risks(
    expls: Sequence[SurvExplanation] | Mapping[str, SurvExplanation],
    instance: int = 0,
    *,
    kind: Literal["curves", "force", "prediction"] = "curves",
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    sharey: bool = True,
    ncols: int | None = None,
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    **kwargs: Any,
) -> tuple[Figure | SubFigure, np.ndarray]:
    """Competing risks: one panel per event, for one instance.

    Pass one explanation per event, e.g. ``explain(from_pycox(deephit, output="cif",
    event=r), x, ...)`` for ``r = 0, 1, ...``. Every panel shows the same features in the
    same colours (by default the ``top_k`` with the largest attributions summed over the
    events) on a shared y scale.

    Args:
        expls: A list of explanations (panel titles ``"event r"`` from their ``event``) or a
            dict title -> explanation.
        instance: Instance index. Default 0.
        kind: What each panel shows: ``"curves"`` (:func:`attribution_curves`, default),
            ``"force"`` (:func:`force`) or ``"prediction"`` (:func:`prediction`).
        features: Features to show. Default None: ``top_k`` over all events.
        top_k: How many features when ``features`` is None. Default 7.
        other: Add "other features". Default True.
        sharey: One y scale for all panels. Default True.
        ncols: Panels per row. Default: up to 4.
        fig: Figure to draw into. Default None: a new figure.
        axes: Existing axes, one per event, instead of ``fig``.
        time_label: x-axis label with the time unit. Default ``"time"``.
        **kwargs: Passed to the panel function (e.g. ``normalize="absolute"``, ``times``).

    Returns:
        ``(fig, axes)``, an array of one axes per event.

    Raises:
        ValueError: For explanations of different features or instance counts, instance
            out of range, unknown ``kind``.

    Example:
        >>> expls = [explain(from_pycox(m, output="cif", event=r), x, "intgrad")
        ...          for r in range(2)]  # doctest: +SKIP
        >>> fig, axes = plot.competing_risks(expls, instance=0)  # doctest: +SKIP
    """
    titles, items = _collection(expls, "competing_risks")
    titles = [
        t if t is not None else (f"event {e.event}" if e.event is not None else f"panel {n}")
        for n, (t, e) in enumerate(zip(titles, items, strict=True))
    ]
    return _panels(
        items,
        titles,
        instance,
        kind,
        features,
        top_k,
        other,
        sharey,
        fig,
        axes,
        ncols,
        time_label,
        kwargs,
    )


def compare_methods(
    expls: Mapping[str, SurvExplanation],
    instance: int = 0,
    *,
    kind: Literal["curves", "force", "prediction"] = "curves",
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    sharey: bool = False,
    ncols: int | None = None,
    fig: Figure | SubFigure | None = None,
    axes: Sequence[Axes] | None = None,
    time_label: str | None = None,
    **kwargs: Any,
) -> tuple[Figure | SubFigure, np.ndarray]:
    """The same instance explained by several methods, side by side.

    Every panel shows the same features in the same colours: by default the ``top_k`` with
    the largest attributions, each method's scores scaled to sum to 1 before adding (methods
    differ in scale, e.g. Grad(t) against IntGrad(t)).

    Args:
        expls: A dict panel title -> explanation, e.g. ``{"IntGrad(t)": e1, "Grad(t)": e2}``.
            All must explain the same instances (same inputs) and features.
        instance: Instance index. Default 0.
        kind: ``"curves"`` (default), ``"force"`` or ``"prediction"``.
        features: Features to show. Default None: ``top_k`` over all methods.
        top_k: How many features when ``features`` is None. Default 7.
        other: Add "other features". Default True.
        sharey: One y scale for all panels. Default False (methods differ in scale).
        ncols: Panels per row. Default: up to 4.
        fig: Figure to draw into. Default None: a new figure.
        axes: Existing axes, one per method, instead of ``fig``.
        time_label: x-axis label with the time unit. Default ``"time"``.
        **kwargs: Passed to the panel function (e.g. ``normalize="relative"``).

    Returns:
        ``(fig, axes)``, an array of one axes per method.

    Raises:
        ValueError: Explanations of different instances or features, instance out of range.

    Example:
        >>> plot.compare_methods({"IntGrad(t)": ig, "GradSHAP(t)": gs})  # doctest: +SKIP
    """
    if not isinstance(expls, Mapping):
        raise TypeError(
            "compare_methods takes a dict method name -> SurvExplanation; got "
            f"{type(expls).__name__}."
        )
    titles, items = _collection(expls, "compare_methods")
    i = _instance(items[0], instance)
    x0 = items[0].flat_inputs()[i]
    for title, e in zip(titles[1:], items[1:], strict=True):
        if not torch.allclose(e.flat_inputs()[i], x0, equal_nan=True):
            raise ValueError(
                f"Explanation {title!r} explains another instance {i} (its inputs differ from "
                f"those of {titles[0]!r}); explain the same inputs with every method."
            )
    return _panels(
        items,
        [str(t) for t in titles],
        i,
        kind,
        features,
        top_k,
        other,
        sharey,
        fig,
        axes,
        ncols,
        time_label,
        kwargs,
    )
