"""Figures over time for chosen instances: the explained output against the reference, and
one attribution line per feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from captum_surv.plot._labels import (
    LABEL_DIFFERENCE,
    LABEL_PREDICTION,
    LABEL_REFERENCE,
    LABEL_SUM,
    method_name,
    output_label,
    time_axis,
)
from captum_surv.plot._style import (
    LINESTYLES,
    OKABE_ITO,
    OVERLAY_COLOR,
    SIZE_CURVES,
    SIZE_PREDICTION,
    SUM_COLOR,
    ZERO_LINE,
    add_legend,
    new_axes,
)
from captum_surv.plot._utils import (
    ExplanationLike,
    FeatureSpec,
    Selection,
    check_expl,
    flat_attr,
    grid_times,
    instance_index,
    instance_indices,
    instance_scores,
    marker,
    select,
    shares,
)

OVERLAYS = ("prediction", "reference", "difference", "sum")
"""Extra lines of :func:`attribution_curves` on the scale of the output."""

NORMALIZATIONS = ("none", "absolute", "relative")
"""Scales of :func:`attribution_curves`: raw attributions or shares of the total."""


def prediction(
    expl: ExplanationLike,
    instances: int | Sequence[int] | None = None,
    *,
    reference: bool | None = None,
    ax: Axes | None = None,
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
    check_expl(expl)
    rows = instance_indices(expl, instances)
    has_ref = expl.reference_prediction is not None
    if reference is None:
        reference = has_ref
    elif reference and not has_ref:
        raise ValueError(
            f"reference=True, but this explanation (method {expl.method!r}) has no reference "
            "prediction; pass reference=False or use a reference-based method."
        )
    fig, ax = new_axes(ax, SIZE_PREDICTION)
    times = grid_times(expl)
    pred = expl.prediction.double().numpy()
    for c, i in enumerate(rows):
        color = OKABE_ITO[c % len(OKABE_ITO)]  # instances, not features: colours by position
        ls = LINESTYLES[(c // len(OKABE_ITO)) % len(LINESTYLES)]
        ax.plot(
            times,
            pred[i],
            color=color,
            ls=ls,
            lw=1.8,
            drawstyle=drawstyle,
            marker=marker(times),
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
                marker=marker(times),
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
                    marker=marker(times),
                    label=f"{LABEL_REFERENCE} {i}",
                )
    time_axis(ax, time_label)
    ax.set_ylabel(output_label(expl))
    ax.set_title(title if title is not None else f"{output_label(expl)} ({method_name(expl)})")
    if legend:
        add_legend(ax)
    return fig, ax


def _overlays(
    expl: ExplanationLike, overlays: Sequence[str] | None, normalize: str
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
        if name not in OVERLAYS:
            raise ValueError(f"Unknown overlay {name!r}; choose from {list(OVERLAYS)}.")
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


def _normalized(flat_row: np.ndarray, sel: Selection, normalize: str) -> np.ndarray:
    """``[T, F]`` attributions -> ``[T, K(+1)]`` series for ``normalize``."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}; got {normalize!r}.")
    if normalize == "none":
        return sel.take(flat_row)
    total = np.abs(flat_row).sum(axis=-1, keepdims=True)
    if normalize == "absolute":
        return shares(sel.take(np.abs(flat_row)), total)
    return shares(sel.take(flat_row), total)


def attribution_curves(
    expl: ExplanationLike,
    instance: int = 0,
    *,
    features: FeatureSpec = None,
    top_k: int | None = 7,
    other: bool = True,
    normalize: Literal["none", "absolute", "relative"] = "none",
    overlays: Sequence[str] | None = None,
    ax: Axes | None = None,
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
    check_expl(expl)
    i = instance_index(expl, instance)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}; got {normalize!r}.")
    chosen = _overlays(expl, overlays, normalize)
    sel = select(expl, features, top_k, other, instance_scores(expl, i))
    fig, ax = new_axes(ax, SIZE_CURVES)
    times = grid_times(expl)
    flat = flat_attr(expl)[i]  # [T, F]
    series = _normalized(flat, sel, normalize)
    for p, label in enumerate(sel.labels):
        st = sel.style(p)
        ax.plot(
            times,
            series[:, p],
            color=st.color,
            ls=st.linestyle,
            lw=1.8,
            drawstyle=drawstyle,
            marker=marker(times),
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
        color = SUM_COLOR if name == "sum" else OVERLAY_COLOR
        ax.plot(
            times,
            values,
            color=color,
            ls=ls,
            lw=lw,
            drawstyle=drawstyle,
            marker=marker(times),
            label=label,
        )
    ax.axhline(0.0, **ZERO_LINE)
    time_axis(ax, time_label)
    out = output_label(expl)
    ax.set_ylabel(
        {
            "none": f"attribution to {out}",
            "absolute": "absolute share |attribution| / total",
            "relative": "relative share attribution / total |attribution|",
        }[normalize]
    )
    ax.set_title(title if title is not None else f"{method_name(expl)}, instance {i}")
    if legend:
        add_legend(ax)
    return fig, ax
