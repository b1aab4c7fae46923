"""MethodResult: what every method computes, handed to the explanation objects.

The gradient methods, SurvSHAP(t), the interaction methods, Captum classes run by
TimeAttribution and the cohort engine all return one :class:`MethodResult`; ``explain``
turns it into a :class:`~captum_surv.SurvExplanation` (or
:class:`~captum_surv.SurvInteractions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

Inputs = tuple[torch.Tensor, ...]


@dataclass
class MethodResult:
    """The output of one method on a batch, before it becomes an explanation.

    Attributes:
        attributions: One ``[B, T, *S]`` tensor per input tensor (the interaction methods:
            one ``[B, T, F, F]`` tensor).
        prediction: The forward at the inputs, ``[B, T]``.
        reference_prediction: What the attributions are relative to, ``[B, T]`` (the
            forward at the baselines, or its mean over reference rows); None for methods
            without a reference (Grad(t), GxI(t), SG(t), Hessian(t)).
        baselines: The baselines or reference rows used, one tensor per input (None if
            none).
        options: The resolved options, JSON-like (recorded in the explanation).
        standard_error: The Monte Carlo standard error of the attributions, shaped like
            them (SurvSHAP(t)'s permutation estimator); None for exact methods.
        method_name: The name the explanation records (e.g. a Captum class name); None
            means the name ``explain`` was called with.
    """

    attributions: Inputs
    prediction: torch.Tensor
    reference_prediction: torch.Tensor | None = None
    baselines: Inputs | None = None
    options: dict[str, Any] = field(default_factory=dict)
    standard_error: Inputs | None = None
    method_name: str | None = None
