"""Figures of a SurvLIME explanation: the Cox surrogate's coefficients and its fitted curves."""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_surv._validation import check_index
from captum_surv.plot._labels import time_axis
from captum_surv.plot._style import new_axes

__all__ = ["survlime_coefficients", "survlime_curves"]

_SIGN_COLOURS = ("#0072B2", "#D55E00")  # Okabe-Ito blue (< 0), vermillion (> 0)


def survlime_coefficients(expl: Any, instance: int = 0, ax: Any = None) -> tuple[Any, Any]:
    """Bar chart of one instance's SurvLIME coefficients, largest magnitude on top.

    A coefficient is the surrogate's log hazard ratio per unit of the feature; bars are
    vermillion where it raises the hazard and blue where it lowers it.

    Args:
        expl: A :class:`~captum_surv.SurvLIMEExplanation`.
        instance: Row of the explanation. Default 0.
        ax: Axes to draw into. Default None: a new figure.

    Returns:
        ``(fig, ax)``.

    Example:
        >>> fig, ax = plot.survlime_coefficients(lime, instance=0)  # doctest: +SKIP
    """
    i = check_index(instance, expl.n_instances, "instance")
    fig, ax = new_axes(ax, (6.0, 0.3 * len(expl.feature_names) + 1.5))
    b = expl.coefficients[i].numpy()
    order = np.argsort(np.abs(b))
    colours = [_SIGN_COLOURS[int(v > 0)] for v in b[order]]
    ax.barh([expl.feature_names[j] for j in order], b[order], color=colours)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("SurvLIME coefficient b (log hazard ratio)")
    ax.set_title(f"SurvLIME, instance {instance}")
    return fig, ax


def survlime_curves(
    expl: Any, instance: int = 0, ax: Any = None, kind: str = "survival"
) -> tuple[Any, Any]:
    """The model's and the Cox surrogate's survival (or cumulative hazard) curve of one
    instance, with the fit's error in the title.

    Args:
        expl: A :class:`~captum_surv.SurvLIMEExplanation`.
        instance: Row of the explanation. Default 0.
        ax: Axes to draw into. Default None: a new figure.
        kind: ``"survival"`` (default) or ``"cumhazard"``.

    Returns:
        ``(fig, ax)``.

    Example:
        >>> fig, ax = plot.survlime_curves(lime, instance=0, kind="cumhazard")  # doctest: +SKIP
    """
    if kind not in ("survival", "cumhazard"):
        raise ValueError(f"kind must be 'survival' or 'cumhazard', got {kind!r}.")
    i = check_index(instance, expl.n_instances, "instance")
    fig, ax = new_axes(ax, (6.0, 4.0))
    model, cox = expl.model_cumhazard[i].numpy(), expl.surrogate_cumhazard[i].numpy()
    if kind == "survival":
        model, cox = np.exp(-model), np.exp(-cox)
    t = expl.times.numpy()
    ax.step(t, model, where="post", color="black", label="model")
    ax.step(t, cox, where="post", color=_SIGN_COLOURS[1], linestyle="--", label="Cox surrogate")
    time_axis(ax)
    ax.set_ylabel("S(t | x)" if kind == "survival" else "H(t | x)")
    ax.set_title(f"instance {instance}: fit error {float(expl.fit_error[i]):.3g}")
    ax.legend()
    return fig, ax
