"""The only module that touches private names of Captum or pycox.

Extensions that imported library internals broke between releases; keeping every such
import here makes an upgrade a one-file change.
"""

from __future__ import annotations

from typing import Any

from pycox.models import cox as _pycox_cox


def is_pycox_proportional_hazards(model: Any) -> bool:
    """True for pycox's CoxPH and CoxPHSorted (their common base class is private)."""
    return isinstance(model, _pycox_cox._CoxPHBase)


def integration_nodes(scheme: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Captum's integration nodes and weights, so IntGrad(t) matches IntegratedGradients.

    Args:
        scheme: Captum's ``method`` name ("gausslegendre", "riemann_trapezoid", ...).
        n_steps: Number of nodes.

    Returns:
        ``(alphas, weights)`` on [0, 1]; the weights sum to 1.
    """
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters(scheme)
    return list(alphas(n_steps)), list(step_sizes(n_steps))
