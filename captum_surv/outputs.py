"""Output selectors: which survival quantity a forward returns at each time point.

Every :class:`~captum_surv.SurvivalForward` returns a ``[batch, n_times]`` tensor whose
column ``k`` is one quantity evaluated at ``times[k]``. The quantity is chosen by name:

``"survival"``
    S(t_k | x), the probability of being event-free at ``t_k``. For DeepHit with competing
    risks this is the all-cause survival ``1 - sum_r CIF_r``.
``"cumhazard"``
    H(t_k | x). Cox models: ``H0(t_k) * exp(g(x))`` (pycox's ``predict_cumulative_hazards``);
    CoxTime: the sum of ``h0(t_j) * exp(g(x, t_j))`` over jump times ``t_j <= t_k``; every other
    model: ``-log S(t_k | x)``.
``"hazard"``
    The hazard of the grid interval ``(t_{k-1}, t_k]`` (with ``t_{-1} = -inf``). For
    continuous-time models (CoxPH, CoxCC, CoxTime, PCHazard, the parametric families) it is
    the increment of the cumulative hazard, ``H(t_k) - H(t_{k-1})``; for discrete-time
    models it is the discrete
    hazard ``P(T in (t_{k-1}, t_k] | T > t_{k-1}) = 1 - S(t_k) / S(t_{k-1})``. On a model's
    native grid this equals pycox's ``predict_hazard``.
``"pmf"``
    The probability of the event in ``(t_{k-1}, t_k]``: ``S(t_{k-1}) - S(t_k)`` with
    ``S(t_{-1}) = 1`` (pycox's ``predict_pmf`` on the native grid). DeepHit: the
    probability of the selected ``event`` in that interval.
``"cif"``
    The cumulative incidence of the selected ``event`` (DeepHit with competing risks).
``"hazard_rate"``
    The instantaneous hazard rate h(t_k | x) (parametric models from
    :func:`~captum_surv.from_module`, whose hazard has a closed form at any time).
``"density"``
    The event-time density f(t_k | x) = h(t_k | x) S(t_k | x) (parametric models).
``"log_risk"``
    The network's log-risk. CoxPH/CoxCC: ``g(x)``, constant over time; CoxTime:
    ``g(x, t_k)``.
``"conditional_survival"``
    ``S(t_k | T > s, x) = S(t_k | x) / S(s | x)`` for ``t_k >= s``, and 1 for ``t_k < s``:
    survival given that the patient is event-free at the conditioning time ``s``
    (``condition_time=s``). Every model with a cumulative hazard supports it.
``"conditional_cumhazard"``
    ``H(t_k | x) - H(s | x)`` for ``t_k >= s``, and 0 for ``t_k < s``: the cumulative hazard
    accrued after ``s``, so that ``conditional_survival = exp(-conditional_cumhazard)``.
"""

from __future__ import annotations

OUTPUTS: dict[str, str] = {
    "survival": "survival probability S(t|x)",
    "cumhazard": "cumulative hazard H(t|x)",
    "hazard": "hazard of the interval (t_{k-1}, t_k]",
    "pmf": "probability of the event in (t_{k-1}, t_k]",
    "cif": "cumulative incidence of the selected event",
    "hazard_rate": "instantaneous hazard rate h(t|x) (parametric models)",
    "density": "event-time density f(t|x) (parametric models)",
    "log_risk": "network log-risk g(x) (Cox) or g(x, t) (CoxTime)",
    "conditional_survival": "S(t|x) / S(s|x): survival given survival to condition_time s",
    "conditional_cumhazard": "H(t|x) - H(s|x): cumulative hazard accrued after condition_time s",
}
"""All output names with a one-line description."""

#: Outputs that describe one cause of a competing-risks model and therefore need ``event``.
EVENT_SPECIFIC_OUTPUTS = frozenset({"cif", "pmf", "hazard"})

#: Outputs conditional on survival to ``condition_time``; they derive from ``"cumhazard"``.
CONDITIONAL_OUTPUTS = frozenset({"conditional_survival", "conditional_cumhazard"})


def check_output(output: str, supported: tuple[str, ...], model_name: str) -> str:
    """Validate an output name for a model family.

    Args:
        output: The requested output name.
        supported: Outputs the model family defines.
        model_name: The model's name, used in the error message.

    Returns:
        The validated output name.

    Raises:
        ValueError: If the name is unknown or not defined for this model.
    """
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(
            f"Unknown output {output!r}. Valid output names are {sorted(OUTPUTS)}; "
            f"{model_name} supports {list(supported)}."
        )
    if output in CONDITIONAL_OUTPUTS and "cumhazard" in supported:
        return output
    if output not in supported:
        raise ValueError(
            f"Output {output!r} is not defined for {model_name}. "
            f"Supported outputs for {model_name}: {list(supported)}."
        )
    return output
