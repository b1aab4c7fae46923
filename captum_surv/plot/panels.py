"""Several explanations side by side: one panel per competing event, or per attribution
method, with the same features in the same colours."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from captum_surv.plot._labels import output_label
from captum_surv.plot._style import new_panels
from captum_surv.plot._utils import (
    ExplanationLike,
    FeatureSpec,
    check_expl,
    check_top_k,
    instance_index,
    instance_scores,
)
from captum_surv.plot.curves import attribution_curves, prediction
from captum_surv.plot.decomposition import force

PANEL_KINDS = ("curves", "force", "prediction")
"""What each panel of :func:`competing_risks` and :func:`compare_methods` can show."""


def _collection(expls: Any, what: str) -> tuple[list[str | None], list[ExplanationLike]]:
    if isinstance(expls, ExplanationLike):
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
        check_expl(e, f"explanation {titles[n] or n}")
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
    items: list[ExplanationLike], i: int, features: FeatureSpec, top_k: int | None
) -> list[int] | FeatureSpec:
    """The same features for every panel: explicit, or top-k by summed normalised scores."""
    if features is not None:
        return features
    scores = np.zeros(items[0].n_features)
    for e in items:
        s = instance_scores(e, i)
        scores += s / s.sum() if s.sum() > 0 else s
    k = check_top_k(top_k, scores.shape[0])
    return [int(j) for j in np.argsort(-scores, kind="stable")[:k]]


def _panels(
    items: list[ExplanationLike],
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
    if kind not in PANEL_KINDS:
        raise ValueError(f"kind must be one of {list(PANEL_KINDS)}; got {kind!r}.")
    i = instance_index(items[0], instance)
    chosen = _joint_features(items, i, features, top_k)
    per_row = ncols or min(len(items), 4)
    rows = math.ceil(len(items) / per_row)
    fig, panels = new_panels(
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
            ax.set_ylabel(output_label(e, event=False))
        else:
            ax.set_ylabel(f"attribution to {output_label(e, event=False)}")
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
    expls: Sequence[ExplanationLike] | Mapping[str, ExplanationLike],
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
    expls: Mapping[str, ExplanationLike],
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
            "compare_methods takes a dict method name -> ExplanationLike; got "
            f"{type(expls).__name__}."
        )
    titles, items = _collection(expls, "compare_methods")
    i = instance_index(items[0], instance)
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
