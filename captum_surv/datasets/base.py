"""The containers of the bundled data sets and the helpers they share.

:class:`SurvivalData` (tabular data), :class:`MultimodalData` (images plus tabular
covariates), :class:`GroundTruth` (the known model of a simulation) and
:func:`train_test_split`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from captum_surv._validation import check_seed

__all__ = ["GroundTruth", "MultimodalData", "SurvivalData", "train_test_split"]

ArrayFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


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
        >>> from captum_surv.datasets import simulate_time_independent
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


def weibull_truth(
    description: str,
    input_names: Sequence[str],
    linear_predictor: Callable[[np.ndarray], np.ndarray],
    lam: float,
    gamma: float,
    censoring_time: float,
    coefficients: dict[str, float],
    importance_order: tuple[str, ...] | None = None,
    interactions: dict[tuple[str, str], float] | None = None,
) -> GroundTruth:
    """Weibull proportional hazards ``H(t|x) = lam t^gamma exp(eta(x))``, ``eta`` given."""

    def log_hazard(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        eta = linear_predictor(x)
        return math.log(lam * gamma) + (gamma - 1.0) * np.log(t)[None, :] + eta[:, None]

    def cumulative_hazard(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return lam * (t**gamma)[None, :] * np.exp(linear_predictor(x))[:, None]

    return GroundTruth(
        description=description,
        input_names=tuple(input_names),
        coefficients=coefficients,
        importance_order=importance_order,
        censoring_time=float(censoring_time),
        _log_hazard=log_hazard,
        _cumulative_hazard=cumulative_hazard,
        interactions=dict(interactions or {}),
    )


def weibull_times(
    rng: np.random.Generator, lam: float, gamma: float, eta: np.ndarray
) -> np.ndarray:
    """Event times with cumulative hazard ``lam t^gamma exp(eta)``, by inverting ``Exp(1)``."""
    return (rng.exponential(size=len(eta)) / (lam * np.exp(eta))) ** (1.0 / gamma)


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
        >>> from captum_surv.datasets import simulate_ranking
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
        >>> from captum_surv.datasets import simulate_ranking
        >>> train, test = train_test_split(simulate_ranking(n=100), test_size=0.3, seed=1)
        >>> len(train), len(test)
        (70, 30)
    """
    if not isinstance(data, (SurvivalData, MultimodalData)):
        raise TypeError(
            f"data must be a SurvivalData or MultimodalData; got {type(data).__name__}."
        )
    train_idx, test_idx = split_indices(data.events, test_size, seed, stratify)
    return data.subset(train_idx), data.subset(test_idx)


def split_indices(
    events: np.ndarray, test_size: float, seed: int | None, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, test)`` row indices; ``stratify`` keeps each event code's share."""
    test_size = check_test_size(test_size)
    seed = check_seed(seed)
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


def check_test_size(test_size: Any) -> float:
    """``test_size`` as a float strictly between 0 and 1."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)):
        raise TypeError(f"test_size must be a float in (0, 1); got {test_size!r}.")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1; got {test_size}.")
    return float(test_size)


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
