"""Simulated survival data with a known data-generating model (:class:`GroundTruth`).

The simulations of Langbein, Koenen & Wright (2025), a known interaction, and
:func:`simulate_weibull`, a Weibull proportional-hazards simulation with any linear
log-hazard, pairwise interactions, random censoring and competing risks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from captum_surv._validation import check_seed, positive_int, positive_number
from captum_surv.datasets.base import GroundTruth, SurvivalData, weibull_times, weibull_truth

__all__ = [
    "simulate_interaction",
    "simulate_ranking",
    "simulate_time_dependent",
    "simulate_time_independent",
    "simulate_weibull",
]


def simulate_time_independent(
    n: int = 10_000, seed: int | None = 0, censoring_time: float = 7.0
) -> SurvivalData:
    """The paper's simulation with time-independent effects.

    ``x1 ~ N(0, 1)``, ``x2 ~ U(0, 1)``, ``x3 ~ U(-1, 1)``; Weibull proportional hazards
    ``h(t|x) = 0.25 t^1.5 exp(1.7 x1 - 2.4 x2)``, i.e. ``H(t|x) = 0.1 t^2.5 exp(1.7 x1 -
    2.4 x2)``; administrative censoring at ``censoring_time``. Expected attributions of the
    survival function: x1 negative, x2 positive, x3 zero at every time.

    Args:
        n: Number of rows (default 10,000, as in the paper).
        seed: Seed (default 0); ``None`` for unseeded draws.
        censoring_time: Administrative censoring time (default 7).

    Returns:
        A :class:`SurvivalData` with features ``x1, x2, x3`` and its ground truth.

    Raises:
        ValueError: For ``n < 1`` or a non-positive censoring time.

    Example:
        >>> data = simulate_time_independent(n=500, seed=1)
        >>> float(data.durations.max()) <= 7.0
        True
    """
    n = positive_int(n, "n")
    censoring_time = positive_number(censoring_time, "censoring_time")
    rng = np.random.default_rng(check_seed(seed))
    x = np.column_stack([rng.normal(size=n), rng.uniform(0, 1, n), rng.uniform(-1, 1, n)])
    beta = np.array([1.7, -2.4, 0.0])
    lam, gamma = 0.1, 2.5
    times = weibull_times(rng, lam, gamma, x @ beta)
    names = ["x1", "x2", "x3"]
    truth = _linear_truth(
        "Weibull proportional hazards h(t|x) = 0.25 t^1.5 exp(1.7 x1 - 2.4 x2) "
        "(H = 0.1 t^2.5 exp(...)); x1 ~ N(0,1), x2 ~ U(0,1), x3 ~ U(-1,1) (no effect); "
        f"administrative censoring at t = {censoring_time:g}.",
        names,
        beta,
        lam,
        gamma,
        censoring_time,
        sds=np.array([1.0, math.sqrt(1 / 12), math.sqrt(4 / 12)]),
    )
    return _censored("time_independent", x, names, times, censoring_time, truth)


def simulate_time_dependent(
    n: int = 10_000, seed: int | None = 0, censoring_time: float = 7.0
) -> SurvivalData:
    """The paper's simulation with a time-dependent effect of x1.

    ``x1 ~ U(0, 1)``, ``x2, x3 ~ N(0, 1)``, ``x4 ~ U(-1, 1)``;
    ``log h(t|x) = log(0.15 t^0.5) - 3 x1 + 6 x1 log t + 1.7 x2 - 2.4 x3``. x1's log-hazard
    coefficient ``-3 + 6 log t`` changes sign at ``t = e^0.5 = 1.65``: it lowers the hazard
    before and raises it after. Event times are drawn exactly by inverting the cumulative
    hazard ``H(t|x) = 0.15 exp(-3 x1 + 1.7 x2 - 2.4 x3) t^a / a``, ``a = 1.5 + 6 x1``;
    administrative censoring at ``censoring_time``.

    Note that the *survival* function integrates the hazard: ``dS(t|x)/dx1`` changes sign
    later than the hazard, at ``log t = 0.5 + 1 / a`` (between t = 1.9 and t = 3.2
    depending on x1). See :meth:`GroundTruth.gradient`.

    Args:
        n: Number of rows (default 10,000, as in the paper).
        seed: Seed (default 0); ``None`` for unseeded draws.
        censoring_time: Administrative censoring time (default 7).

    Returns:
        A :class:`SurvivalData` with features ``x1..x4`` and its ground truth
        (``importance_order`` is ``None``: x1's importance changes with time).

    Raises:
        ValueError: For ``n < 1`` or a non-positive censoring time.

    Example:
        >>> gt = simulate_time_dependent(n=10).ground_truth
        >>> grad = gt.gradient([[0.5, 0.0, 0.0, 0.0]], [1.2, 2.2], output="log_hazard")
        >>> grad[0, :, 0].round(3)  # x1's log-hazard effect -3 + 6 log t
        array([-1.906,  1.731])
    """
    n = positive_int(n, "n")
    censoring_time = positive_number(censoring_time, "censoring_time")
    rng = np.random.default_rng(check_seed(seed))
    x = np.column_stack(
        [rng.uniform(0, 1, n), rng.normal(size=n), rng.normal(size=n), rng.uniform(-1, 1, n)]
    )
    beta = np.array([-3.0, 1.7, -2.4, 0.0])
    a = 1.5 + 6.0 * x[:, 0]
    # H(T|x) = E with E ~ Exp(1)  <=>  T = (E a / (0.15 exp(x beta)))^(1/a)
    times = (rng.exponential(size=n) * a / (0.15 * np.exp(x @ beta))) ** (1.0 / a)

    def log_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        log_t = np.log(t)[None, :]
        return math.log(0.15) + 0.5 * log_t + (xx @ beta)[:, None] + 6.0 * xx[:, [0]] * log_t

    def cumulative_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        aa = (1.5 + 6.0 * xx[:, 0])[:, None]
        return 0.15 * np.exp(xx @ beta)[:, None] * t[None, :] ** aa / aa

    names = ["x1", "x2", "x3", "x4"]
    truth = GroundTruth(
        description=(
            "log h(t|x) = log(0.15 t^0.5) - 3 x1 + 6 x1 log t + 1.7 x2 - 2.4 x3; "
            "x1 ~ U(0,1) (time-dependent effect, sign change of the hazard effect at "
            "t = e^0.5), x2, x3 ~ N(0,1), x4 ~ U(-1,1) (no effect); administrative "
            f"censoring at t = {censoring_time:g}."
        ),
        input_names=tuple(names),
        coefficients=dict(zip(names, map(float, beta), strict=True)),
        importance_order=None,
        censoring_time=censoring_time,
        _log_hazard=log_hazard,
        _cumulative_hazard=cumulative_hazard,
        time_varying={"x1": lambda t: 6.0 * np.log(np.asarray(t, dtype=np.float64))},
    )
    return _censored("time_dependent", x, names, times, censoring_time, truth)


def simulate_ranking(
    n: int = 2_300, p: int = 5, seed: int | None = 0, censoring_time: float = 10.0
) -> SurvivalData:
    """The paper's feature-ranking benchmark.

    ``x ~ N(0, I_p)``; coefficients ``linspace(0, 1, p)`` with alternating signs
    (``+, -, +, ...``, as the paper's code); Weibull proportional hazards with
    ``H(t|x) = 0.1 t^2.5 exp(x beta)`` (lambda 0.1, gamma 2.5); administrative censoring at
    ``censoring_time``. The true importance order is ``x_p > ... > x_1`` (x1 has no effect).

    Args:
        n: Number of rows (default 2,300: the paper's 2,000 training + 300 test rows).
        p: Number of features, at least 2 (default 5).
        seed: Seed (default 0); ``None`` for unseeded draws.
        censoring_time: Administrative censoring time (default 10).

    Returns:
        A :class:`SurvivalData` with features ``x1..xp`` and its ground truth.

    Raises:
        ValueError: For ``n < 1``, ``p < 2`` or a non-positive censoring time.

    Example:
        >>> simulate_ranking(n=10, p=4).ground_truth.importance_order
        ('x4', 'x3', 'x2', 'x1')
    """
    n = positive_int(n, "n")
    p = positive_int(p, "p")
    if p < 2:
        raise ValueError(f"p must be >= 2 (a ranking needs two features), got {p}.")
    censoring_time = positive_number(censoring_time, "censoring_time")
    rng = np.random.default_rng(check_seed(seed))
    x = rng.normal(size=(n, p))
    beta = np.linspace(0.0, 1.0, p) * np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
    lam, gamma = 0.1, 2.5
    times = weibull_times(rng, lam, gamma, x @ beta)
    names = [f"x{j + 1}" for j in range(p)]
    truth = _linear_truth(
        "Weibull proportional hazards H(t|x) = 0.1 t^2.5 exp(x beta), x ~ N(0, I_p), "
        "beta = linspace(0, 1, p) with alternating signs (+, -, ...); administrative "
        f"censoring at t = {censoring_time:g}. True importance x_p > ... > x_1.",
        names,
        beta,
        lam,
        gamma,
        censoring_time,
        sds=np.ones(p),
    )
    return _censored(f"ranking_p{p}", x, names, times, censoring_time, truth)


def simulate_interaction(
    n: int = 2_000, seed: int | None = 0, censoring_time: float = 5.0
) -> SurvivalData:
    """Weibull proportional hazards with a known interaction ``x1 * x2`` in the log-hazard.

    ``x1..x4 ~ U(-1, 1)``; ``H(t|x) = 0.1 t^2.5 exp(0.5 x1 - 0.5 x2 + 0.5 x3 + 2 x1 x2)``;
    administrative censoring at ``censoring_time``. x4 has no effect. The only non-zero
    entry of the log-hazard's Hessian is ``d^2 log h / dx1 dx2 = 2`` (at every time), so
    x1:x2 is the pair that interaction methods should find.

    Args:
        n: Number of rows (default 2,000).
        seed: Seed (default 0); ``None`` for unseeded draws.
        censoring_time: Administrative censoring time (default 5).

    Returns:
        A :class:`SurvivalData` with features ``x1..x4`` and its ground truth
        (``interactions == {("x1", "x2"): 2.0}``; ``importance_order`` is ``None``).

    Raises:
        ValueError: For ``n < 1`` or a non-positive censoring time.

    Example:
        >>> gt = simulate_interaction(n=10).ground_truth
        >>> gt.interactions
        {('x1', 'x2'): 2.0}
        >>> float(gt.log_hazard([[1.0, 1.0, 0.0, 0.0]], [1.0])[0, 0] - np.log(0.25)).__round__(6)
        2.0
    """
    n = positive_int(n, "n")
    censoring_time = positive_number(censoring_time, "censoring_time")
    rng = np.random.default_rng(check_seed(seed))
    x = rng.uniform(-1.0, 1.0, size=(n, 4))
    beta = np.array([0.5, -0.5, 0.5, 0.0])
    beta12 = 2.0
    lam, gamma = 0.1, 2.5

    def eta(xx: np.ndarray) -> np.ndarray:
        return xx @ beta + beta12 * xx[:, 0] * xx[:, 1]

    times = weibull_times(rng, lam, gamma, eta(x))

    names = ["x1", "x2", "x3", "x4"]
    truth = weibull_truth(
        "Weibull proportional hazards H(t|x) = 0.1 t^2.5 exp(0.5 x1 - 0.5 x2 + 0.5 x3 + "
        "2 x1 x2); x1..x4 ~ U(-1, 1) (x4 no effect); administrative censoring at "
        f"t = {censoring_time:g}.",
        names,
        eta,
        lam,
        gamma,
        censoring_time,
        coefficients=dict(zip(names, map(float, beta), strict=True)),
        interactions={("x1", "x2"): beta12},
    )
    return _censored("interaction", x, names, times, censoring_time, truth)


def _censored(
    name: str,
    x: np.ndarray,
    names: list[str],
    times: np.ndarray,
    censoring_time: float,
    truth: GroundTruth,
) -> SurvivalData:
    events = (times <= censoring_time).astype(np.int64)
    durations = np.minimum(times, censoring_time)
    return SurvivalData(
        features=x,
        durations=durations,
        events=events,
        feature_names=names,
        name=name,
        ground_truth=truth,
    )


def _linear_truth(
    description: str,
    names: Sequence[str],
    beta: np.ndarray,
    lam: float,
    gamma: float,
    censoring_time: float,
    sds: np.ndarray,
) -> GroundTruth:
    """Weibull PH truth with ``eta = x beta``; importance order by ``|beta| * sd(x)``."""
    beta = np.asarray(beta, dtype=np.float64)
    spread = np.abs(beta) * sds
    return weibull_truth(
        description,
        names,
        lambda x: x @ beta,
        lam,
        gamma,
        censoring_time,
        coefficients={n: float(b) for n, b in zip(names, beta, strict=True)},
        importance_order=tuple(names[j] for j in np.argsort(-spread, kind="stable")),
    )


def simulate_weibull(
    n: int = 1_000,
    coefficients: Sequence[float] | Sequence[Sequence[float]] = (1.0, -1.0, 0.0),
    *,
    interactions: Mapping[tuple[str, str], float]
    | Sequence[Mapping[tuple[str, str], float]]
    | None = None,
    scale: float | Sequence[float] = 1.0,
    shape: float = 1.5,
    censoring: float | tuple[float, float] = 5.0,
    min_duration: float = 0.0,
    seed: int | None = 0,
) -> SurvivalData:
    """Weibull proportional hazards with a chosen log-hazard, censoring and competing risks.

    Features ``x1..xp ~ N(0, 1)`` (rounded to float32 first, so that the ground truth is
    exact for the stored features). Cause ``r`` has the cumulative hazard

        ``H_r(t|x) = (t / scale_r)^shape exp(eta_r(x))``,
        ``eta_r(x) = x @ coefficients[r] + sum c_jk x_j x_k`` (``interactions[r]``),

    and latent time ``T_r = scale_r (E_r exp(-eta_r))^(1/shape)`` with ``E_r = -log U_r``,
    ``U_r ~ U(0, 1)``. The observed event is the first cause (ties go to the lower cause);
    it is censored at ``C``: a fixed administrative time, or ``C ~ U(low, high)``.
    Durations are ``max(min(T, C), min_duration)``.

    The random draws come in the order ``x``, ``U_1``, ``C``, ``U_2``, ... so that adding a
    competing cause leaves the features, cause-1 times and censoring times unchanged.

    Args:
        n: Number of rows (default 1,000).
        coefficients: Log-hazard coefficients, one per feature (default ``(1, -1, 0)``),
            or one row of them per cause for competing risks.
        interactions: Coefficients of products of two features, keyed by their names, e.g.
            ``{("x3", "x4"): 0.4}``; for competing risks one mapping per cause (default
            none).
        scale: Weibull scale, one for all causes or one per cause (default 1).
        shape: Weibull shape, shared by all causes (default 1.5).
        censoring: Administrative censoring time (a number, default 5), or ``(low, high)``
            for censoring times drawn uniformly from ``[low, high)``.
        min_duration: Smallest duration returned (default 0: no floor).
        seed: Seed (default 0); ``None`` for unseeded draws.

    Returns:
        A :class:`SurvivalData` with features ``x1..xp``; events ``0`` (censored) or the
        cause ``1..R``. Its ground truth is the all-cause model
        ``H(t|x) = sum_r H_r(t|x)``; its ``coefficients`` and ``interactions`` are those of
        cause 1.

    Raises:
        ValueError: For inconsistent shapes, unknown feature names in ``interactions``,
            non-finite coefficients or non-positive scale, shape or censoring time.

    Example:
        >>> data = simulate_weibull(200, [0.9, -0.7, 0.0], censoring=(0.3, 4.0), seed=1)
        >>> data.n_features, data.n_risks
        (3, 1)
        >>> data.ground_truth.importance_order
        ('x1', 'x2', 'x3')
    """
    n = positive_int(n, "n")
    beta = np.asarray(coefficients, dtype=np.float64)
    if beta.ndim == 1:
        beta = beta[None, :]
    if beta.ndim != 2 or beta.shape[1] < 1 or not np.all(np.isfinite(beta)):
        raise ValueError(
            "coefficients must be finite numbers, one per feature, or one row of them per "
            f"cause; got {coefficients!r}."
        )
    n_causes, p = beta.shape
    names = [f"x{j + 1}" for j in range(p)]
    pairs = _per_cause(interactions, n_causes, "interactions", {})
    pairs = [_interaction_columns(dict(m), names) for m in pairs]
    scales = [positive_number(s, "scale") for s in _per_cause(scale, n_causes, "scale", None)]
    shape = positive_number(shape, "shape")
    if not (isinstance(min_duration, (int, float)) and 0 <= min_duration < math.inf):
        raise ValueError(f"min_duration must be a finite number >= 0; got {min_duration!r}.")
    random_censoring = isinstance(censoring, (tuple, list))
    if random_censoring:
        low, high = (positive_number(c, "censoring") for c in censoring)
        if len(censoring) != 2 or not low < high:
            raise ValueError(f"censoring=(low, high) needs 0 < low < high; got {censoring!r}.")
    else:
        censoring = positive_number(censoring, "censoring")
    rng = np.random.default_rng(check_seed(seed))
    x = rng.normal(size=(n, p)).astype(np.float32).astype(np.float64)

    def eta(r: int, xx: np.ndarray) -> np.ndarray:
        out = xx @ beta[r]
        for (j, k), c in pairs[r].items():
            out = out + c * xx[:, j] * xx[:, k]
        return out

    def latent(r: int) -> np.ndarray:
        return scales[r] * (-np.log(rng.uniform(size=n)) / np.exp(eta(r, x))) ** (1.0 / shape)

    times = latent(0)
    cens = rng.uniform(low, high, size=n) if random_censoring else np.full(n, censoring)
    cause = np.ones(n, dtype=np.int64)
    for r in range(1, n_causes):
        other = latent(r)
        cause = np.where(times <= other, cause, r + 1)
        times = np.minimum(times, other)
    events = np.where(times <= cens, cause, 0)
    durations = np.maximum(np.minimum(times, cens), min_duration)

    rates = [s**-shape for s in scales]
    if n_causes == 1:
        lam, linear_predictor = rates[0], (lambda xx: eta(0, xx))
    else:  # all-cause hazard: t^shape * sum_r rate_r exp(eta_r)
        lam = 1.0

        def linear_predictor(xx: np.ndarray) -> np.ndarray:
            terms = np.stack([math.log(rates[r]) + eta(r, xx) for r in range(n_causes)])
            return np.logaddexp.reduce(terms, axis=0)

    additive = n_causes == 1 and not pairs[0]
    order = tuple(names[j] for j in np.argsort(-np.abs(beta[0]), kind="stable"))
    censored_how = (
        f"censoring times ~ U({low:g}, {high:g})"
        if random_censoring
        else f"administrative censoring at t = {censoring:g}"
    )
    truth = weibull_truth(
        f"Weibull proportional hazards, {n_causes} cause(s): H_r(t|x) = (t / scale_r)^"
        f"{shape:g} exp(eta_r(x)), scale = {[round(s, 6) for s in scales]}, eta_r linear "
        f"in x1..x{p} ~ N(0, 1) plus interactions; {censored_how}. The functions give the "
        "all-cause hazard.",
        names,
        linear_predictor,
        lam,
        shape,
        high if random_censoring else censoring,
        coefficients=dict(zip(names, map(float, beta[0]), strict=True)),
        importance_order=order if additive else None,
        interactions={(names[j], names[k]): c for (j, k), c in pairs[0].items()},
    )
    return SurvivalData(
        features=x,
        durations=durations,
        events=events,
        feature_names=names,
        name="weibull",
        event_names=("event",)
        if n_causes == 1
        else tuple(f"cause_{r + 1}" for r in range(n_causes)),
        ground_truth=truth,
    )


def _per_cause(value: Any, n_causes: int, name: str, default: Any) -> list[Any]:
    """One value per cause: ``value`` repeated, or a sequence of ``n_causes`` values."""
    if value is None:
        return [default] * n_causes
    if isinstance(value, Mapping) or np.ndim(value) == 0:
        return [value] * n_causes
    values = list(value)
    if len(values) != n_causes:
        raise ValueError(f"Got {len(values)} values of {name} for {n_causes} cause(s).")
    return values


def _interaction_columns(
    interactions: dict[tuple[str, str], float], names: list[str]
) -> dict[tuple[int, int], float]:
    columns = {}
    for pair, coefficient in interactions.items():
        if len(pair) != 2 or any(name not in names for name in pair):
            raise ValueError(
                f"interactions keys must be pairs of feature names among {names}; got {pair!r}."
            )
        if not math.isfinite(coefficient):
            raise ValueError(f"The interaction coefficient of {pair} is not finite.")
        columns[(names.index(pair[0]), names.index(pair[1]))] = float(coefficient)
    return columns
