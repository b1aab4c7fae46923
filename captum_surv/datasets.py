"""Bundled data: the paper's simulations with known effects, real data sets, a multimodal set.

Three kinds of data, all offline:

* **Simulations of the paper** (Langbein, Koenen & Wright, 2025), with their ground truth:
  :func:`simulate_time_independent`, :func:`simulate_time_dependent`,
  :func:`simulate_ranking`. Each returns a :class:`SurvivalData` whose
  :attr:`~SurvivalData.ground_truth` gives the true coefficients and the true
  ``log_hazard`` / ``cumulative_hazard`` / ``survival`` functions in closed form.
* **Real data sets** bundled with scikit-survival (``pip install captum-surv[data]``),
  split and preprocessed without test-set leakage by :func:`load_dataset`.
* **A multimodal set**, :func:`load_multimodal_digits`: scikit-learn's 8x8 digit images plus
  simulated tabular covariates, with a known hazard that depends on the digit class.

Conventions: features are float32 numpy arrays ``[n, p]`` (``SurvivalData.frame`` gives a
DataFrame with the feature names), durations are float32, events are int64 with
``0 = censored`` and ``1`` = event (``1..R`` = cause for competing risks).
``SurvivalData.target()`` returns what pycox's ``fit`` and label transforms expect.

Example:
    >>> data = simulate_time_independent(n=1000, seed=0)
    >>> train, test = train_test_split(data, test_size=0.2, seed=0)
    >>> train.features.shape, train.feature_names
    ((800, 3), ['x1', 'x2', 'x3'])
    >>> data.ground_truth.coefficients
    {'x1': 1.7, 'x2': -2.4, 'x3': 0.0}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DATASETS",
    "DatasetSplit",
    "GroundTruth",
    "MultimodalData",
    "Preprocessor",
    "SurvivalData",
    "load_dataset",
    "load_multimodal_digits",
    "simulate_interaction",
    "simulate_ranking",
    "simulate_time_dependent",
    "simulate_time_independent",
    "train_test_split",
]

ArrayFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


# =============================================================================== ground truth
@dataclasses.dataclass(frozen=True, eq=False)
class GroundTruth:
    """The known data-generating model of a simulated data set.

    All functions take covariates ``x`` (array-like ``[n, len(input_names)]``, columns in the
    order of :attr:`input_names`; a DataFrame, numpy array or CPU tensor) and times ``t``
    (a number or a 1-D array of ``T`` times) and return float64 arrays ``[n, T]``.

    Attributes:
        description: The model in words and formulas.
        input_names: The covariates the functions take, in column order.
        coefficients: Log-hazard coefficient of each input (time-constant part; for the
            time-dependent simulation x1's coefficient at time t is
            ``coefficients["x1"] + time_varying["x1"](t)``).
        time_varying: Time-varying parts of coefficients, name -> function of ``t``
            (empty for proportional-hazards simulations).
        importance_order: Inputs from most to least important, where a single order is
            defined (by ``|coefficient| * sd(input)``); ``None`` where importance changes
            with time.
        censoring_time: Administrative censoring time.
        interactions: Log-hazard coefficients of products of two inputs,
            ``(name_i, name_j) -> coefficient`` (empty where the log-hazard is additive).

    Example:
        >>> gt = simulate_time_independent(n=10).ground_truth
        >>> gt.survival([[0.0, 0.5, 0.0]], [1.0, 2.0]).shape
        (1, 2)
    """

    description: str
    input_names: tuple[str, ...]
    coefficients: dict[str, float]
    importance_order: tuple[str, ...] | None
    censoring_time: float
    _log_hazard: ArrayFn = dataclasses.field(repr=False)
    _cumulative_hazard: ArrayFn = dataclasses.field(repr=False)
    time_varying: dict[str, Callable[[np.ndarray], np.ndarray]] = dataclasses.field(
        default_factory=dict
    )
    interactions: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)

    def _args(self, x: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
        x = _as_float64_matrix(x, "x")
        if x.shape[1] != len(self.input_names):
            raise ValueError(
                f"x has {x.shape[1]} columns but the ground truth takes "
                f"{len(self.input_names)}: {list(self.input_names)}."
            )
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError("t must be a number or a 1-D array of finite times >= 0.")
        return x, t

    def log_hazard(self, x: Any, t: Any) -> np.ndarray:
        """True log-hazard ``log h(t|x)``, ``[n, T]`` (``-inf`` at ``t = 0`` where h(0)=0)."""
        x, t = self._args(x, t)
        with np.errstate(divide="ignore"):
            return self._log_hazard(x, t)

    def hazard(self, x: Any, t: Any) -> np.ndarray:
        """True hazard ``h(t|x)``, ``[n, T]``."""
        return np.exp(self.log_hazard(x, t))

    def cumulative_hazard(self, x: Any, t: Any) -> np.ndarray:
        """True cumulative hazard ``H(t|x)``, ``[n, T]``."""
        x, t = self._args(x, t)
        return self._cumulative_hazard(x, t)

    def survival(self, x: Any, t: Any) -> np.ndarray:
        """True survival probability ``S(t|x) = exp(-H(t|x))``, ``[n, T]``."""
        return np.exp(-self.cumulative_hazard(x, t))

    def gradient(self, x: Any, t: Any, output: str = "survival", eps: float = 1e-6) -> np.ndarray:
        """True derivative of an output w.r.t. each input, by central finite differences.

        This is the population counterpart of Grad(t) for a perfectly fitted model.

        Args:
            x: Covariates ``[n, p]``.
            t: Times, ``T`` of them.
            output: ``"survival"`` (default), ``"cumhazard"`` or ``"log_hazard"``.
            eps: Relative step (default 1e-6); the step of input j is
                ``eps * max(1, |x_j|)``.

        Returns:
            Array ``[n, T, p]``.

        Raises:
            ValueError: For an unknown output.
        """
        fns = {
            "survival": self.survival,
            "cumhazard": self.cumulative_hazard,
            "log_hazard": self.log_hazard,
        }
        if output not in fns:
            raise ValueError(f"output must be one of {list(fns)}; got {output!r}.")
        fn = fns[output]
        x, t = self._args(x, t)
        grads = np.empty((x.shape[0], t.shape[0], x.shape[1]))
        for j in range(x.shape[1]):
            step = eps * np.maximum(1.0, np.abs(x[:, j]))
            up, down = x.copy(), x.copy()
            up[:, j] += step
            down[:, j] -= step
            grads[:, :, j] = (fn(up, t) - fn(down, t)) / (2.0 * step[:, None])
        return grads


def _weibull_truth(
    description: str,
    names: Sequence[str],
    beta: np.ndarray,
    lam: float,
    gamma: float,
    censoring_time: float,
    sds: np.ndarray,
) -> GroundTruth:
    """Weibull proportional hazards: ``H(t|x) = lam t^gamma exp(x beta)``."""
    beta = np.asarray(beta, dtype=np.float64)

    def log_hazard(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return math.log(lam * gamma) + (gamma - 1.0) * np.log(t)[None, :] + (x @ beta)[:, None]

    def cumulative_hazard(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return lam * (t**gamma)[None, :] * np.exp(x @ beta)[:, None]

    spread = np.abs(beta) * sds
    order = tuple(names[j] for j in np.argsort(-spread, kind="stable"))
    return GroundTruth(
        description=description,
        input_names=tuple(names),
        coefficients={n: float(b) for n, b in zip(names, beta, strict=True)},
        importance_order=order,
        censoring_time=float(censoring_time),
        _log_hazard=log_hazard,
        _cumulative_hazard=cumulative_hazard,
    )


# =============================================================================== data objects
@dataclasses.dataclass(eq=False)
class SurvivalData:
    """A tabular survival data set.

    Attributes:
        features: Float32 array ``[n, p]``.
        durations: Float32 array ``[n]`` of observed times (event or censoring).
        events: Int64 array ``[n]``: 0 censored, 1 event; for competing risks ``1..R``
            the cause.
        feature_names: One name per feature column.
        name: The data set's name.
        event_names: Names of the causes ``1..R`` (a single entry for one event type).
        time_unit: Unit of the durations (e.g. ``"days"``), ``""`` if unitless.
        ground_truth: The data-generating model for simulations, else ``None``.
        raw_features: The same rows before preprocessing (original units, categorical
            columns as categories) for real data, else ``None``.

    Example:
        >>> data = simulate_ranking(n=100, p=5, seed=0)
        >>> durations, events = data.target()  # for pycox: model.fit(data.features, ...)
        >>> data.frame.columns.tolist()
        ['x1', 'x2', 'x3', 'x4', 'x5']
    """

    features: np.ndarray
    durations: np.ndarray
    events: np.ndarray
    feature_names: list[str]
    name: str = ""
    event_names: tuple[str, ...] = ("event",)
    time_unit: str = ""
    ground_truth: GroundTruth | None = None
    raw_features: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.features = np.ascontiguousarray(self.features, dtype=np.float32)
        self.durations = np.ascontiguousarray(self.durations, dtype=np.float32)
        self.events = np.ascontiguousarray(self.events, dtype=np.int64)
        self.feature_names = [str(n) for n in self.feature_names]
        n = self.features.shape[0]
        if self.features.ndim != 2:
            raise ValueError(f"features must be 2-D [n, p]; got shape {self.features.shape}.")
        if self.durations.shape != (n,) or self.events.shape != (n,):
            raise ValueError(
                f"durations {self.durations.shape} and events {self.events.shape} must have "
                f"shape ({n},), one entry per row of features."
            )
        if len(self.feature_names) != self.features.shape[1]:
            raise ValueError(
                f"Got {len(self.feature_names)} feature names for "
                f"{self.features.shape[1]} feature columns."
            )

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def __repr__(self) -> str:
        rate = float((self.events > 0).mean()) if len(self) else float("nan")
        return (
            f"SurvivalData(name={self.name!r}, n={len(self)}, n_features={self.n_features}, "
            f"event_rate={rate:.2f}, n_risks={self.n_risks})"
        )

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.features.shape[1])

    @property
    def n_risks(self) -> int:
        """Number of event types (1, or R for competing risks)."""
        return len(self.event_names)

    @property
    def frame(self) -> pd.DataFrame:
        """The features as a DataFrame with :attr:`feature_names` as columns (a copy)."""
        return pd.DataFrame(self.features.copy(), columns=self.feature_names)

    def target(self) -> tuple[np.ndarray, np.ndarray]:
        """``(durations, events)`` as pycox expects them.

        Returns:
            Float32 durations and, for a single event type, float32 0/1 events (pycox's
            Cox models and label transforms); for competing risks, the int64 causes.
        """
        events = self.events if self.n_risks > 1 else self.events.astype(np.float32)
        return self.durations.copy(), events.copy()

    def structured(self) -> np.ndarray:
        """The outcome as scikit-survival's structured array (single event type only).

        Raises:
            ValueError: For competing-risks data.
        """
        if self.n_risks > 1:
            raise ValueError(
                "structured() gives scikit-survival's (event, time) array for a single "
                "event type; this data set has competing risks."
            )
        out = np.empty(len(self), dtype=[("event", bool), ("time", np.float64)])
        out["event"] = self.events > 0
        out["time"] = self.durations
        return out

    def subset(self, index: Any) -> SurvivalData:
        """The rows selected by ``index`` (integer indices or a boolean mask), copied."""
        idx = _row_index(index, len(self))
        raw = None if self.raw_features is None else self.raw_features.iloc[idx].copy()
        return dataclasses.replace(
            self,
            features=self.features[idx].copy(),
            durations=self.durations[idx].copy(),
            events=self.events[idx].copy(),
            feature_names=list(self.feature_names),
            raw_features=raw,
        )


@dataclasses.dataclass(eq=False)
class MultimodalData:
    """Images plus tabular covariates with a known survival model.

    Attributes:
        images: Float32 array ``[n, 1, 8, 8]`` with values in ``[0, 1]``.
        tabular: Float32 array ``[n, k]`` of tabular covariates.
        labels: Int64 digit class ``[n]`` of each image (0-9).
        durations: Float32 ``[n]``.
        events: Int64 ``[n]``, 0 censored, 1 event.
        tabular_names: Names of the tabular columns.
        digit_log_hazard: Float64 ``[10]``: the log-hazard contribution of each digit class.
        ground_truth: The true model; its functions take
            ``np.column_stack([labels, tabular])`` (input names ``["digit", *tabular_names]``).
        name: ``"multimodal_digits"``.
    """

    images: np.ndarray
    tabular: np.ndarray
    labels: np.ndarray
    durations: np.ndarray
    events: np.ndarray
    tabular_names: list[str]
    digit_log_hazard: np.ndarray
    ground_truth: GroundTruth
    name: str = "multimodal_digits"

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images, dtype=np.float32)
        self.tabular = np.ascontiguousarray(self.tabular, dtype=np.float32)
        self.labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        self.durations = np.ascontiguousarray(self.durations, dtype=np.float32)
        self.events = np.ascontiguousarray(self.events, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        return (
            f"MultimodalData(n={len(self)}, images={tuple(self.images.shape[1:])}, "
            f"tabular={self.tabular_names}, event_rate={float(self.events.mean()):.2f})"
        )

    @property
    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(images, tabular)``: the inputs of a two-input network."""
        return self.images, self.tabular

    @property
    def truth_inputs(self) -> np.ndarray:
        """``[n, 1 + k]`` float64: digit label and tabular covariates, for the ground truth."""
        return np.column_stack([self.labels.astype(np.float64), self.tabular])

    @property
    def n_risks(self) -> int:
        """Number of event types (1)."""
        return 1

    def target(self) -> tuple[np.ndarray, np.ndarray]:
        """``(durations, events)`` as float32 arrays for pycox."""
        return self.durations.copy(), self.events.astype(np.float32)

    def subset(self, index: Any) -> MultimodalData:
        """The rows selected by ``index`` (integer indices or a boolean mask), copied."""
        idx = _row_index(index, len(self))
        return dataclasses.replace(
            self,
            images=self.images[idx].copy(),
            tabular=self.tabular[idx].copy(),
            labels=self.labels[idx].copy(),
            durations=self.durations[idx].copy(),
            events=self.events[idx].copy(),
            tabular_names=list(self.tabular_names),
        )


# =============================================================================== split helper
def train_test_split(
    data: SurvivalData | MultimodalData,
    test_size: float = 0.25,
    seed: int | None = 0,
    stratify: bool = True,
) -> tuple[Any, Any]:
    """Split a data set into a training and a test part.

    Args:
        data: A :class:`SurvivalData` or :class:`MultimodalData`.
        test_size: Fraction of rows in the test part, in ``(0, 1)`` (default 0.25); the test
            part gets ``ceil(test_size * n)`` rows.
        seed: Seed of the random split (default 0); ``None`` for an unseeded split.
        stratify: Keep the proportion of each event code (censored, cause 1, ...) the same
            in both parts (default True).

    Returns:
        ``(train, test)``, of the same type as ``data``.

    Raises:
        ValueError: For ``test_size`` outside ``(0, 1)`` or a split with an empty part.
        TypeError: For a non-integer seed or an unsupported data object.

    Example:
        >>> train, test = train_test_split(simulate_ranking(n=100), test_size=0.3, seed=1)
        >>> len(train), len(test)
        (70, 30)
    """
    if not isinstance(data, (SurvivalData, MultimodalData)):
        raise TypeError(
            f"data must be a SurvivalData or MultimodalData; got {type(data).__name__}."
        )
    train_idx, test_idx = _split_indices(data.events, test_size, seed, stratify)
    return data.subset(train_idx), data.subset(test_idx)


def _split_indices(
    events: np.ndarray, test_size: float, seed: int | None, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    test_size = _check_test_size(test_size)
    seed = _check_seed(seed)
    n = len(events)
    n_test = math.ceil(test_size * n)
    if n_test >= n or n_test < 1:
        raise ValueError(
            f"test_size={test_size} leaves an empty training or test part for {n} rows."
        )
    rng = np.random.default_rng(seed)
    if not stratify:
        perm = rng.permutation(n)
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])
    classes, counts = np.unique(events, return_counts=True)
    # Largest-remainder allocation of the n_test rows over the strata.
    exact = counts * n_test / n
    alloc = np.floor(exact).astype(int)
    remainder = n_test - alloc.sum()
    order = np.lexsort((rng.random(len(classes)), -(exact - alloc)))
    alloc[order[:remainder]] += 1
    test = []
    for cls, k in zip(classes, alloc, strict=True):
        members = np.flatnonzero(events == cls)
        test.append(rng.permutation(members)[:k])
    test_idx = np.sort(np.concatenate(test))
    mask = np.ones(n, dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


# =============================================================================== simulations
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
    n = _check_n(n)
    censoring_time = _check_positive(censoring_time, "censoring_time")
    rng = np.random.default_rng(_check_seed(seed))
    x = np.column_stack([rng.normal(size=n), rng.uniform(0, 1, n), rng.uniform(-1, 1, n)])
    beta = np.array([1.7, -2.4, 0.0])
    lam, gamma = 0.1, 2.5
    times = (rng.exponential(size=n) / (lam * np.exp(x @ beta))) ** (1.0 / gamma)
    names = ["x1", "x2", "x3"]
    truth = _weibull_truth(
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
    n = _check_n(n)
    censoring_time = _check_positive(censoring_time, "censoring_time")
    rng = np.random.default_rng(_check_seed(seed))
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
    n = _check_n(n)
    p = _check_n(p, "p", minimum=2)
    censoring_time = _check_positive(censoring_time, "censoring_time")
    rng = np.random.default_rng(_check_seed(seed))
    x = rng.normal(size=(n, p))
    beta = np.linspace(0.0, 1.0, p) * np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
    lam, gamma = 0.1, 2.5
    times = (rng.exponential(size=n) / (lam * np.exp(x @ beta))) ** (1.0 / gamma)
    names = [f"x{j + 1}" for j in range(p)]
    truth = _weibull_truth(
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
    n = _check_n(n)
    censoring_time = _check_positive(censoring_time, "censoring_time")
    rng = np.random.default_rng(_check_seed(seed))
    x = rng.uniform(-1.0, 1.0, size=(n, 4))
    beta = np.array([0.5, -0.5, 0.5, 0.0])
    beta12 = 2.0
    lam, gamma = 0.1, 2.5

    def eta(xx: np.ndarray) -> np.ndarray:
        return xx @ beta + beta12 * xx[:, 0] * xx[:, 1]

    times = (rng.exponential(size=n) / (lam * np.exp(eta(x)))) ** (1.0 / gamma)

    def log_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        return math.log(lam * gamma) + (gamma - 1.0) * np.log(t)[None, :] + eta(xx)[:, None]

    def cumulative_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        return lam * (t**gamma)[None, :] * np.exp(eta(xx))[:, None]

    names = ["x1", "x2", "x3", "x4"]
    truth = GroundTruth(
        description=(
            "Weibull proportional hazards H(t|x) = 0.1 t^2.5 exp(0.5 x1 - 0.5 x2 + 0.5 x3 + "
            "2 x1 x2); x1..x4 ~ U(-1, 1) (x4 no effect); administrative censoring at "
            f"t = {censoring_time:g}."
        ),
        input_names=tuple(names),
        coefficients=dict(zip(names, map(float, beta), strict=True)),
        importance_order=None,
        censoring_time=censoring_time,
        _log_hazard=log_hazard,
        _cumulative_hazard=cumulative_hazard,
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


# =============================================================================== real data
@dataclasses.dataclass(frozen=True)
class _Spec:
    loader: str
    event: str
    time: str
    unit: str
    description: str
    event_names: tuple[str, ...] = ("event",)
    drop: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


_SPECS: dict[str, _Spec] = {
    "gbsg2": _Spec(
        loader="load_gbsg2",
        event="cens",
        time="time",
        unit="days",
        description="German Breast Cancer Study Group 2: 686 patients, recurrence-free survival.",
    ),
    "whas500": _Spec(
        loader="load_whas500",
        event="fstat",
        time="lenfol",
        unit="days",
        description="Worcester Heart Attack Study: 500 patients, survival after a heart attack.",
    ),
    "flchain": _Spec(
        loader="load_flchain",
        event="death",
        time="futime",
        unit="days",
        description="Serum free light chain study: 7,874 subjects, all-cause death. The column "
        "'chapter' (cause of death, recorded only for those who died) is dropped: it "
        "reveals the outcome.",
        drop=("chapter",),
    ),
    "veterans": _Spec(
        loader="load_veterans_lung_cancer",
        event="Status",
        time="Survival_in_days",
        unit="days",
        description="Veterans' Administration lung cancer trial: 137 patients.",
    ),
    "aids": _Spec(
        loader="load_aids",
        event="censor",
        time="time",
        unit="days",
        description="AIDS Clinical Trials Group 320: 1,151 patients, time to AIDS or death.",
        kwargs=(("endpoint", "aids"),),
    ),
    "breast_cancer": _Spec(
        loader="load_breast_cancer",
        event="e.tdm",
        time="t.tdm",
        unit="days",
        description="Breast cancer gene expression (76 genes + clinical): 198 patients, distant "
        "metastasis.",
    ),
    "bmt": _Spec(
        loader="load_bmt",
        event="status",
        time="ftime",
        unit="months",
        description="Stem cell transplantation for acute leukemia: 35 patients, competing risks "
        "1 = transplant-related mortality, 2 = relapse.",
        event_names=("transplant_related_mortality", "relapse"),
    ),
    "cgvhd": _Spec(
        loader="load_cgvhd",
        event="status",
        time="ftime",
        unit="years",
        description="Bone marrow transplant trial: 100 patients, competing risks 1 = chronic graft "
        "versus host disease, 2 = relapse, 3 = death.",
        event_names=("cgvhd", "relapse", "death"),
    ),
}

#: Names accepted by :func:`load_dataset`, with a one-line description.
DATASETS: dict[str, str] = {name: spec.description for name, spec in _SPECS.items()}


class Preprocessor:
    """Feature preprocessing fitted on training rows only.

    * Categorical columns (pandas ``category``/``object``/``bool`` dtypes) are one-hot
      encoded with the levels of the column's categorical dtype (or, for object columns,
      the levels seen in training): a binary column becomes a single 0/1 indicator of its
      second level (``"name=level"``); a column with more levels one indicator per level.
      Missing or unseen levels give all-zero indicators.
    * Numeric columns with missing values in the training rows are imputed with the
      training median, and get a 0/1 ``"name_missing"`` indicator column.
    * Numeric columns are standardised with the training mean and standard deviation
      (``ddof=0``; a constant column is only centred) when ``standardize`` is True.

    Args:
        standardize: Standardise numeric columns (default True).

    Attributes:
        feature_names: Output column names (after :meth:`fit`).
        mean_, scale_: Per numeric column, the training mean and standard deviation.
        median_: Training medians used for imputation (columns with training NaNs).
        categories_: Levels of each categorical column.

    Example:
        >>> prep = Preprocessor().fit(train_frame)  # doctest: +SKIP
        >>> x_test, names = prep.transform(test_frame), prep.feature_names  # doctest: +SKIP
    """

    def __init__(self, standardize: bool = True) -> None:
        self.standardize = bool(standardize)
        self.feature_names: list[str] = []
        self.mean_: dict[str, float] = {}
        self.scale_: dict[str, float] = {}
        self.median_: dict[str, float] = {}
        self.categories_: dict[str, list[Any]] = {}
        self._columns: list[str] = []
        self._fitted = False

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        """Learn the encoding and the statistics from the training rows ``frame``."""
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
        if len(frame) == 0:
            raise ValueError("Cannot fit a Preprocessor on an empty DataFrame.")
        self._columns = [str(c) for c in frame.columns]
        self.mean_, self.scale_, self.median_, self.categories_ = {}, {}, {}, {}
        names: list[str] = []
        for col in frame.columns:
            series = frame[col]
            if _is_categorical(series):
                levels = _levels(series)
                self.categories_[str(col)] = levels
                shown = levels[1:] if len(levels) == 2 else levels
                names.extend(f"{col}={level}" for level in shown)
                continue
            values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            if missing.all():
                raise ValueError(f"Column {col!r} has no observed values in the training rows.")
            if missing.any():
                self.median_[str(col)] = float(np.nanmedian(values))
                values = np.where(missing, self.median_[str(col)], values)
            self.mean_[str(col)] = float(values.mean())
            sd = float(values.std())
            self.scale_[str(col)] = sd if sd > 0 else 1.0
            names.append(str(col))
            if str(col) in self.median_:
                names.append(f"{col}_missing")
        self.feature_names = names
        self._fitted = True
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` (same columns as in :meth:`fit`) to a float32 array."""
        if not self._fitted:
            raise ValueError("This Preprocessor is not fitted; call fit(train_frame) first.")
        columns = [str(c) for c in frame.columns]
        if columns != self._columns:
            raise ValueError(
                f"frame has columns {columns}, but the Preprocessor was fitted on {self._columns}."
            )
        blocks: list[np.ndarray] = []
        for col in frame.columns:
            key = str(col)
            series = frame[col]
            if key in self.categories_:
                levels = self.categories_[key]
                shown = levels[1:] if len(levels) == 2 else levels
                as_obj = series.astype(object)
                for level in shown:
                    blocks.append((as_obj == level).to_numpy(dtype=np.float64))
                continue
            values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            if key in self.median_:
                values = np.where(missing, self.median_[key], values)
            elif missing.any():
                raise ValueError(
                    f"Column {key!r} has missing values but had none in the training rows, "
                    "so no imputation value was fitted."
                )
            if self.standardize:
                values = (values - self.mean_[key]) / self.scale_[key]
            blocks.append(values)
            if key in self.median_:
                blocks.append(missing.astype(np.float64))
        return np.column_stack(blocks).astype(np.float32)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(frame).transform(frame)


@dataclasses.dataclass(eq=False)
class DatasetSplit:
    """A preprocessed train/test split of a real data set; unpacks as ``train, test``.

    Attributes:
        train: The training rows (:class:`SurvivalData`).
        test: The test rows, preprocessed with statistics of the training rows only.
        preprocessor: The fitted :class:`Preprocessor`.
        name: The data set's name.
        description: What the data set is.

    Example:
        >>> train, test = load_dataset("gbsg2", seed=0)  # doctest: +SKIP
    """

    train: SurvivalData
    test: SurvivalData
    preprocessor: Preprocessor
    name: str
    description: str

    def __iter__(self) -> Iterator[SurvivalData]:
        yield self.train
        yield self.test

    @property
    def feature_names(self) -> list[str]:
        """Names of the preprocessed feature columns."""
        return list(self.train.feature_names)


def load_dataset(
    name: str,
    test_size: float = 0.25,
    seed: int | None = 0,
    standardize: bool = True,
    stratify: bool = True,
) -> DatasetSplit:
    """Load a real survival data set bundled with scikit-survival, split and preprocessed.

    The rows are split first (seeded, stratified by event code); a :class:`Preprocessor`
    is then fitted on the training rows only and applied to both parts: one-hot encoding of
    categorical columns, median imputation (with a missing-indicator column) of numeric
    columns with missing training values, and standardisation of numeric columns.

    Data sets (see :data:`DATASETS`): ``"gbsg2"``, ``"whas500"``, ``"flchain"``,
    ``"veterans"``, ``"aids"``, ``"breast_cancer"``, and the competing-risks sets ``"bmt"``
    (causes 1 = transplant-related mortality, 2 = relapse) and ``"cgvhd"`` (1 = chronic
    GVHD, 2 = relapse, 3 = death). Events are coded 0 = censored, 1..R = cause.

    Missing values: only ``flchain`` has any. Its ``chapter`` column (cause of death) is
    missing exactly for the subjects who did not die, so it leaks the outcome and is
    dropped; ``creatinine`` (missing for ~17%) is imputed with the training median and a
    ``creatinine_missing`` indicator is added.

    Args:
        name: The data set's name (case-insensitive).
        test_size: Fraction of rows in the test part, in ``(0, 1)`` (default 0.25).
        seed: Seed of the split (default 0); ``None`` for an unseeded split.
        standardize: Standardise numeric columns with training statistics (default True).
        stratify: Stratify the split by event code (default True).

    Returns:
        A :class:`DatasetSplit`; ``train, test = load_dataset(...)`` unpacks it.

    Raises:
        ValueError: For an unknown name (the message lists the valid ones) or a
            ``test_size`` outside ``(0, 1)``.
        ImportError: If scikit-survival is not installed.

    Example:
        >>> train, test = load_dataset("whas500", test_size=0.2, seed=1)  # doctest: +SKIP
        >>> model.fit(train.features, train.target())  # doctest: +SKIP
    """
    if not isinstance(name, str) or name.lower() not in _SPECS:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {sorted(_SPECS)}.")
    key = name.lower()
    spec = _SPECS[key]
    test_size = _check_test_size(test_size)
    seed = _check_seed(seed)
    try:
        from sksurv import datasets as sk_datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_dataset needs scikit-survival, which bundles these data sets: "
            "pip install 'captum-surv[data]' (or pip install scikit-survival)."
        ) from err
    frame, outcome = getattr(sk_datasets, spec.loader)(**dict(spec.kwargs))
    frame = frame.drop(columns=list(spec.drop)).reset_index(drop=True)
    durations = np.asarray(outcome[spec.time], dtype=np.float64)
    events = np.asarray(outcome[spec.event]).astype(np.int64)

    train_idx, test_idx = _split_indices(events, test_size, seed, stratify)
    prep = Preprocessor(standardize=standardize)
    raw_train = frame.iloc[train_idx].reset_index(drop=True)
    raw_test = frame.iloc[test_idx].reset_index(drop=True)
    x_train = prep.fit_transform(raw_train)
    x_test = prep.transform(raw_test)

    def part(x: np.ndarray, idx: np.ndarray, raw: pd.DataFrame) -> SurvivalData:
        return SurvivalData(
            features=x,
            durations=durations[idx],
            events=events[idx],
            feature_names=prep.feature_names,
            name=key,
            event_names=spec.event_names,
            time_unit=spec.unit,
            raw_features=raw,
        )

    return DatasetSplit(
        train=part(x_train, train_idx, raw_train),
        test=part(x_test, test_idx, raw_test),
        preprocessor=prep,
        name=key,
        description=spec.description,
    )


# =============================================================================== multimodal
def load_multimodal_digits(
    n: int | None = None,
    seed: int | None = 0,
    digit_log_hazard: Sequence[float] | np.ndarray | None = None,
    censoring_time: float = 5.0,
) -> MultimodalData:
    """Digit images plus tabular covariates with a known, image-dependent hazard.

    Images are scikit-learn's bundled 8x8 handwritten digits (1,797 images, values scaled
    to ``[0, 1]``, shape ``[n, 1, 8, 8]``). Three tabular covariates are simulated:
    ``x1 ~ N(0, 1)`` (log-hazard coefficient 0.8), ``x2 ~ U(-1, 1)`` (coefficient -1.0) and
    ``x3 ~ N(0, 1)`` (no effect). Survival times follow Weibull proportional hazards

        ``H(t | digit, x) = 0.1 t^2.5 exp(digit_log_hazard[digit] + 0.8 x1 - 1.0 x2)``

    with administrative censoring at ``censoring_time``. By default digits 0-4 are low risk
    (``-1``) and digits 5-9 high risk (``+1``).

    Args:
        n: Number of rows. ``None`` (default) uses every image once (1,797 rows, in a
            seeded random order); a larger or smaller ``n`` draws images with (if
            ``n > 1797``) or without replacement.
        seed: Seed (default 0); ``None`` for unseeded draws.
        digit_log_hazard: Ten log-hazard contributions, one per digit class (default
            ``[-1]*5 + [1]*5``).
        censoring_time: Administrative censoring time (default 5).

    Returns:
        A :class:`MultimodalData`; ``data.inputs`` is ``(images, tabular)``.

    Raises:
        ValueError: For ``n < 1``, a ``digit_log_hazard`` without 10 finite values or a
            non-positive censoring time.
        ImportError: If scikit-learn is not installed.

    Example:
        >>> data = load_multimodal_digits(seed=0)
        >>> data.images.shape, data.tabular.shape
        ((1797, 1, 8, 8), (1797, 3))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_multimodal_digits needs scikit-learn (pip install scikit-learn)."
        ) from err
    censoring_time = _check_positive(censoring_time, "censoring_time")
    if digit_log_hazard is None:
        table = np.array([-1.0] * 5 + [1.0] * 5)
    else:
        table = np.asarray(digit_log_hazard, dtype=np.float64).reshape(-1)
        if table.shape != (10,) or not np.all(np.isfinite(table)):
            raise ValueError(
                "digit_log_hazard must hold 10 finite numbers, one per digit class 0-9; "
                f"got {digit_log_hazard!r}."
            )
    rng = np.random.default_rng(_check_seed(seed))
    digits = load_digits()
    n_images = digits.images.shape[0]
    if n is None:
        idx = rng.permutation(n_images)
    else:
        n = _check_n(n)
        idx = rng.choice(n_images, size=n, replace=n > n_images)
    m = len(idx)
    images = (digits.images[idx] / 16.0)[:, None, :, :]
    labels = digits.target[idx].astype(np.int64)
    tabular = np.column_stack(
        [rng.normal(size=m), rng.uniform(-1, 1, m), rng.normal(size=m)]
    ).astype(np.float32)
    beta = np.array([0.8, -1.0, 0.0])
    lam, gamma = 0.1, 2.5
    tab64 = tabular.astype(np.float64)
    lin = table[labels] + tab64 @ beta
    times = (rng.exponential(size=m) / (lam * np.exp(lin))) ** (1.0 / gamma)
    events = (times <= censoring_time).astype(np.int64)
    durations = np.minimum(times, censoring_time)

    def linear(xx: np.ndarray) -> np.ndarray:
        digit = xx[:, 0]
        if np.any((digit != np.round(digit)) | (digit < 0) | (digit > 9)):
            raise ValueError("The first column of x must hold digit classes 0..9.")
        return table[digit.astype(np.int64)] + xx[:, 1:] @ beta

    def log_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        return math.log(lam * gamma) + (gamma - 1) * np.log(t)[None, :] + linear(xx)[:, None]

    def cumulative_hazard(xx: np.ndarray, t: np.ndarray) -> np.ndarray:
        return lam * (t**gamma)[None, :] * np.exp(linear(xx))[:, None]

    names = ["x1", "x2", "x3"]
    truth = GroundTruth(
        description=(
            "Weibull proportional hazards H(t|digit, x) = 0.1 t^2.5 exp(digit_log_hazard"
            "[digit] + 0.8 x1 - 1.0 x2); x1, x3 ~ N(0,1), x2 ~ U(-1,1), x3 no effect; "
            f"administrative censoring at t = {censoring_time:g}. Inputs: digit class, "
            "x1, x2, x3."
        ),
        input_names=("digit", *names),
        coefficients={"x1": 0.8, "x2": -1.0, "x3": 0.0},
        importance_order=None,
        censoring_time=censoring_time,
        _log_hazard=log_hazard,
        _cumulative_hazard=cumulative_hazard,
    )
    return MultimodalData(
        images=images,
        tabular=tabular,
        labels=labels,
        durations=durations,
        events=events,
        tabular_names=names,
        digit_log_hazard=table,
        ground_truth=truth,
    )


# =============================================================================== helpers
def _check_n(value: Any, name: str = "n", minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None; got {seed!r}.")
    return int(seed)


def _check_test_size(test_size: Any) -> float:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)):
        raise TypeError(f"test_size must be a float in (0, 1); got {test_size!r}.")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1; got {test_size}.")
    return float(test_size)


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value}.")
    return float(value)


def _as_float64_matrix(x: Any, name: str) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        x = x.to_numpy(dtype=np.float64)
    elif hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor
        x = x.detach().cpu().numpy()
    arr = np.array(x, dtype=np.float64, copy=True)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n, p]; got shape {arr.shape}.")
    return arr


def _row_index(index: Any, n: int) -> np.ndarray:
    idx = np.asarray(index)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"A boolean row mask must have shape ({n},); got {idx.shape}.")
        return np.flatnonzero(idx)
    if idx.ndim == 0:
        idx = idx[None]
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError("index must hold integers or be a boolean mask.")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"Row index out of range for {n} rows.")
    return idx


def _is_categorical(series: pd.Series) -> bool:
    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
        or pd.api.types.is_bool_dtype(series.dtype)
    )


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.dtype.categories)
    return sorted(series.dropna().unique().tolist(), key=str)
