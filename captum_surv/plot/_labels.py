"""Text of the figures: method display names, output and series labels, and readable time
values (axis ticks and titles alike, formatted in one place)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

from captum_surv.attr.registry import display_name

if TYPE_CHECKING:  # pragma: no cover
    from captum_surv.plot._utils import ExplanationLike

LABEL_PREDICTION = "prediction"
LABEL_REFERENCE = "reference"
LABEL_DIFFERENCE = "prediction - reference"
LABEL_SUM = "sum of attributions"
OTHER_LABEL = "other features"

OUTPUT_LABELS = {
    "survival": "S(t | x)",
    "cumhazard": "H(t | x)",
    "hazard": "h(t | x)",
    "pmf": "P(event in (t_{k-1}, t_k] | x)",
    "cif": "CIF(t | x)",
    "log_risk": "g(x, t)",
    "hazard_rate": "hazard rate h(t | x)",
    "density": "density f(t | x)",
}
"""Axis text of each output of :data:`captum_surv.OUTPUTS`."""

TIME_DIGITS = 3
"""Significant digits of a time value in a figure (more only where needed to tell apart)."""


def output_label(expl: ExplanationLike, event: bool = True) -> str:
    """``"S(t | x)"`` etc. for the explained output, with ``" [event r]"`` if ``event``."""
    label = OUTPUT_LABELS.get(expl.output, expl.output)
    if event and expl.event is not None:
        label += f" [event {expl.event}]"
    return label


def method_name(expl: ExplanationLike) -> str:
    """Display name of the method (the registry's: the paper's names for built-in ones)."""
    return display_name(expl.method)


def format_time(value: float, digits: int = TIME_DIGITS) -> str:
    """A time as short text: ``digits`` significant digits, no exponent for usual ranges.

    Times of at least ``10 ** (digits - 1)`` (and below a million) are shown as whole
    numbers (``1825``, not ``1.82e+03``); smaller ones with ``digits`` significant digits
    and no trailing zeros (``0.00239``, ``3.5``, ``1``); times below ``1e-4`` or from a
    million on in scientific notation (``1.2e-05``).
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size == 0:
        return "0"
    if size < 1e-4 or size >= 1e6:
        return f"{value:.{digits}g}"
    exponent = math.floor(math.log10(size))
    decimals = max(digits - 1 - exponent, 0)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_times(values: Sequence[float], digits: int = TIME_DIGITS) -> list[str]:
    """:func:`format_time` of each value, with more digits where distinct values would
    print alike (up to 10)."""
    values = [float(v) for v in values]
    distinct = len(set(values))
    for d in range(digits, 11):
        labels = [format_time(v, d) for v in values]
        if len(set(labels)) == distinct:
            return labels
    return labels


class TimeFormatter(Formatter):
    """Tick labels of a time axis by :func:`format_times` (no offset, no multiplier)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.fix_minus(format_time(x))

    def format_ticks(self, values: Any) -> list[str]:
        return [self.fix_minus(text) for text in format_times(list(values))]


def time_axis(ax: Axes, time_label: str | None = None, axis: str = "x") -> None:
    """Label a time axis (``time_label`` or ``"time"``) and give it readable tick labels."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(TimeFormatter())
    target.set_label_text(time_label or "time")


def time_title(value: float, unit: str | None = None) -> str:
    """``"t = 3.5"`` (``"t = 3.5 years"`` with a unit) for titles and legends."""
    return f"t = {format_time(value)}" + (f" {unit}" if unit else "")


def time_ticks(
    ax: Axes, positions: Sequence[float], values: Sequence[float], time_label: str | None = None
) -> None:
    """Ticks at ``positions`` labelled with the times ``values`` (bars at chosen times)."""
    ax.set_xticks(list(positions), format_times(values))
    ax.set_xlabel(time_label or "time")


def time_titles(values: Sequence[float], unit: str | None = None) -> list[str]:
    """:func:`time_title` of several times, with digits enough to tell them apart."""
    return [f"t = {text}" + (f" {unit}" if unit else "") for text in format_times(values)]
