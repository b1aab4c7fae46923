"""A multimodal data set: bundled digit images plus tabular covariates, known hazard."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from captum_surv._validation import check_seed, positive_int, positive_number
from captum_surv.datasets.base import MultimodalData, weibull_times, weibull_truth

__all__ = ["load_multimodal_digits"]


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
    censoring_time = positive_number(censoring_time, "censoring_time")
    if digit_log_hazard is None:
        table = np.array([-1.0] * 5 + [1.0] * 5)
    else:
        table = np.asarray(digit_log_hazard, dtype=np.float64).reshape(-1)
        if table.shape != (10,) or not np.all(np.isfinite(table)):
            raise ValueError(
                "digit_log_hazard must hold 10 finite numbers, one per digit class 0-9; "
                f"got {digit_log_hazard!r}."
            )
    rng = np.random.default_rng(check_seed(seed))
    digits = load_digits()
    n_images = digits.images.shape[0]
    if n is None:
        idx = rng.permutation(n_images)
    else:
        n = positive_int(n, "n")
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
    times = weibull_times(rng, lam, gamma, lin)
    events = (times <= censoring_time).astype(np.int64)
    durations = np.minimum(times, censoring_time)

    def linear(xx: np.ndarray) -> np.ndarray:
        digit = xx[:, 0]
        if np.any((digit != np.round(digit)) | (digit < 0) | (digit > 9)):
            raise ValueError("The first column of x must hold digit classes 0..9.")
        return table[digit.astype(np.int64)] + xx[:, 1:] @ beta

    names = ["x1", "x2", "x3"]
    truth = weibull_truth(
        "Weibull proportional hazards H(t|digit, x) = 0.1 t^2.5 exp(digit_log_hazard"
        "[digit] + 0.8 x1 - 1.0 x2); x1, x3 ~ N(0,1), x2 ~ U(-1,1), x3 no effect; "
        f"administrative censoring at t = {censoring_time:g}. Inputs: digit class, "
        "x1, x2, x3.",
        ("digit", *names),
        linear,
        lam,
        gamma,
        censoring_time,
        coefficients={"x1": 0.8, "x2": -1.0, "x3": 0.0},
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
