"""SurvLIME: a local Cox model fitted to a survival model's cumulative hazard.

SurvLIME (Kovalev, Utkin and Kasimov, "SurvLIME: A method for explaining machine learning
survival models", Knowledge-Based Systems, 2020; matrix form and defaults of SurvLIMEpy,
Pachon-Garcia et al., 2024) explains one instance ``x`` by the coefficients ``b`` of a Cox
model ``H_cox(t | z) = H0(t) exp(b . z)`` that mimics the black box's cumulative hazard
``H(t | z)`` on random neighbours ``z_i`` of ``x``:

``minimise_b  sum_i w_i sum_k dt_k v_ik^2 (log H(t_k | z_i) - log H0(t_k) - b . z_i)^2``

over the unique training times ``t_k`` (``dt_k = t_{k+1} - t_k``, the last one ``1e-6``),
with ``v_ik = H / log H`` (SurvLIME's correction for comparing logarithms), ``H0`` the
Nelson-Aalen estimate of the training data, kernel weights
``w_i = exp(-d_i^2 / (2 sigma^2))`` of the standardised distance ``d_i`` of ``z_i`` to ``x``
and neighbours ``z_i = x + sigma * sd * N(0, I)`` (``sd``: the training features' standard
deviations; ``sigma = (4 / (n (p + 2)))^(1 / (p + 4))``, SurvLIMEpy's default width).

The objective is a weighted least-squares problem in ``b``: it is solved exactly by a
(batched) least-squares solve, for all instances at once, instead of a convex-optimisation
package. All neighbours of all instances go through the network together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from captum_surv._validation import as_matrix, check_finite, check_index, positive_int
from captum_surv.models.base import SurvivalForward

EPSILON = 1e-6
"""SurvLIMEpy's offset inside the logarithms (``log(H + 1e-6)``, ``-log(S + 1e-6)``)."""


def default_kernel_width(n_train: int, n_features: int) -> float:
    """SurvLIMEpy's default kernel width ``(4 / (n (p + 2)))^(1 / (p + 4))``."""
    return (4.0 / (n_train * (n_features + 2))) ** (1.0 / (n_features + 4))


def nelson_aalen(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nelson-Aalen cumulative hazard at every unique duration (events: > 0 is an event)."""
    durations = np.asarray(durations, dtype=np.float64)
    events = np.asarray(events) > 0
    times = np.unique(durations)
    deaths = np.array([events[durations == t].sum() for t in times], dtype=np.float64)
    leaving = np.array([(durations == t).sum() for t in times], dtype=np.float64)
    at_risk = len(durations) - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    return times, np.cumsum(deaths / at_risk)


def _interpolation(grid: np.ndarray, times: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and weights of numpy.interp(times, grid, .) as ``(lo, frac)``."""
    pos = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, len(grid) - 1)
    hi = np.minimum(pos + 1, len(grid) - 1)
    span = grid[hi] - grid[pos]
    frac = np.where(span > 0, (times - grid[pos]) / np.where(span > 0, span, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    return torch.as_tensor(pos), torch.as_tensor(frac)


class SurvLIMEExplanation:
    """SurvLIME coefficients of several instances, with the fitted curves and the fit's error.

    Attributes:
        coefficients: ``b``, float64 ``[B, p]``: the local Cox model's coefficients.
        inputs: The explained instances, float64 ``[B, p]``.
        feature_names: ``p`` names.
        times: The unique training times ``t_k`` of the fit, float64 ``[m]``.
        baseline_cumhazard: ``H0(t_k)`` (Nelson-Aalen), float64 ``[m]``.
        model_cumhazard: The black box's ``H(t_k | x)`` at each instance, ``[B, m]``.
        surrogate_cumhazard: ``H0(t_k) exp(b . x)``, ``[B, m]``.
        objective: SurvLIME's minimised objective per instance, ``[B]``.
        fit_error: The weighted root-mean-square error of the log cumulative hazard over the
            neighbours and times, ``sqrt(sum_ik w_i dt_k r_ik^2 / sum_ik w_i dt_k)`` with
            ``r_ik = log H(t_k|z_i) - log H0(t_k) - b . z_i``, ``[B]``.
        neighbours: The neighbours ``[B, N, p]``; ``weights``: their kernel weights ``[B, N]``.
        kernel_width: ``sigma``.
        training_mean: Mean of the training features ``[p]`` (for :meth:`importance`).

    Example:
        >>> lime = captum_surv.explain(fwd, x[:5], "survlime", x_train,
        ...                            durations=t_train, events=e_train, seed=0)  # doctest: +SKIP
        >>> lime.to_frame().head()  # doctest: +SKIP
        >>> lime.plot_curves(0)  # doctest: +SKIP
    """

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)

    @property
    def n_instances(self) -> int:
        """Number of explained instances."""
        return int(self.coefficients.shape[0])

    def importance(self) -> torch.Tensor:
        """``|b_j (x_j - mean_j)|``: SurvLIME's per-instance feature importance ``[B, p]``."""
        return (self.coefficients * (self.inputs - self.training_mean)).abs()

    def to_frame(self) -> pd.DataFrame:
        """One row per (instance, feature): coefficient, value and importance."""
        b = self.coefficients.numpy()
        n, p = b.shape
        return pd.DataFrame(
            {
                "instance": np.repeat(np.arange(n), p),
                "feature": np.tile(np.asarray(self.feature_names, dtype=object), n),
                "coefficient": b.reshape(-1),
                "value": self.inputs.numpy().reshape(-1),
                "importance": self.importance().numpy().reshape(-1),
            }
        )

    def plot_coefficients(self, instance: int = 0, ax: Any = None) -> Any:
        """Bar chart of one instance's coefficients, largest magnitude first; returns the
        axes (:func:`captum_surv.plot.survlime_coefficients`)."""
        from captum_surv.plot import survlime_coefficients

        return survlime_coefficients(self, instance, ax)[1]

    def plot_curves(self, instance: int = 0, ax: Any = None, kind: str = "survival") -> Any:
        """The model's and the surrogate's survival (or cumulative hazard) curves of one
        instance; returns the axes (:func:`captum_surv.plot.survlime_curves`)."""
        from captum_surv.plot import survlime_curves

        return survlime_curves(self, instance, ax, kind)[1]

    def _index(self, instance: int) -> int:
        return check_index(instance, self.n_instances, "instance")

    def __repr__(self) -> str:
        return (
            f"SurvLIMEExplanation(n_instances={self.n_instances}, "
            f"n_features={len(self.feature_names)}, n_times={self.times.numel()}, "
            f"n_neighbours={self.neighbours.shape[1]})"
        )


def _as_matrix(name: str, value: Any) -> np.ndarray:
    """A finite 2-D table (tensor, array or DataFrame) as a float64 numpy array."""
    tensor, _ = as_matrix(value, name)
    check_finite(tensor, name)
    return tensor.to(torch.float64).cpu().numpy()


def survlime(
    forward: SurvivalForward,
    inputs: Any,
    training_data: Any,
    *,
    durations: Any = None,
    events: Any = None,
    n_neighbours: int = 1000,
    kernel_width: float | None = None,
    neighbours: Any = None,
    weights: Any = None,
    feature_names: Any = None,
    seed: int | None = None,
    batch_size: int | None = None,
) -> SurvLIMEExplanation:
    """SurvLIME for every instance; called by ``explain(forward, x, "survlime", x_train, ...)``.

    Args:
        forward: A survival forward with output ``"survival"`` or ``"cumhazard"``.
        inputs: The instances ``[B, p]`` (tabular inputs only).
        training_data: The training features ``[n, p]`` (``baselines=`` of :func:`explain`):
            their standard deviations scale the neighbours and distances.
        durations: Training durations ``[n]``: their unique values are the fit's time grid.
        events: Training event indicators ``[n]`` (> 0: event), for the Nelson-Aalen ``H0``.
        n_neighbours: Neighbours per instance (SurvLIMEpy's ``num_samples``, default 1000).
        kernel_width: ``sigma``; default SurvLIMEpy's ``(4 / (n (p + 2)))^(1 / (p + 4))``.
        neighbours: Given neighbours ``[B, N, p]`` (or ``[N, p]`` for one instance) instead
            of random ones, e.g. to reproduce another implementation's fit.
        weights: Given kernel weights ``[B, N]`` (or ``[N]``) for ``neighbours``.
        feature_names: ``p`` names (default ``x0, x1, ...``).
        seed: Seed of the neighbours. They are drawn like SurvLIMEpy's: with
            ``numpy.random.RandomState(seed)``, instance after instance, so one instance with
            the same seed and training data gets SurvLIMEpy's neighbours.
        batch_size: Network rows per forward call (default: all neighbours at once).

    Returns:
        A :class:`SurvLIMEExplanation`.

    Raises:
        ValueError: For a forward whose output is not survival or cumulative hazard, missing
            training outcomes, shape mismatches or non-finite values.
    """
    if forward.output not in ("survival", "cumhazard"):
        raise ValueError(
            f"survlime fits a Cox model to the cumulative hazard; the forward's output is "
            f"{forward.output!r}. Build it with output='survival' or output='cumhazard'."
        )
    if isinstance(inputs, tuple):
        raise ValueError("survlime explains tabular models with a single [B, p] input.")
    if training_data is None or durations is None or events is None:
        raise ValueError(
            "survlime needs the training data: explain(fwd, x, 'survlime', x_train, "
            "durations=t_train, events=e_train)."
        )
    x = _as_matrix("inputs", inputs)
    train = _as_matrix("training data (baselines)", training_data)
    n_batch, p = x.shape
    if train.shape[1] != p:
        raise ValueError(f"The training data have {train.shape[1]} features, the inputs {p}.")
    durations = np.asarray(durations, dtype=np.float64).reshape(-1)
    events = np.asarray(events).reshape(-1)
    if durations.shape[0] != train.shape[0] or events.shape[0] != train.shape[0]:
        raise ValueError(
            f"durations ({durations.shape[0]}) and events ({events.shape[0]}) need one entry "
            f"per training row ({train.shape[0]})."
        )
    sd = train.std(axis=0)
    if (sd <= 0).any():
        raise ValueError(
            "Some training features are constant (standard deviation 0); drop them, "
            "SurvLIME's distance divides by each feature's standard deviation."
        )
    sigma = default_kernel_width(*train.shape) if kernel_width is None else float(kernel_width)
    if neighbours is None:
        n_neighbours = positive_int(n_neighbours, "n_neighbours")
        rng = np.random.RandomState(seed)
        z = np.stack(
            [rng.normal(0.0, 1.0, size=(n_neighbours, p)) @ np.diag(sigma * sd) + row for row in x]
        )
    else:
        z = np.asarray(neighbours, dtype=np.float64)
        z = z[None] if z.ndim == 2 else z
        if z.shape[0] != n_batch or z.shape[2] != p:
            raise ValueError(f"neighbours must have shape [B={n_batch}, N, p={p}], got {z.shape}.")
    n_neighbours = z.shape[1]
    if weights is None:
        distance_sq = (((z - x[:, None, :]) / sd) ** 2).sum(axis=2)
        w = np.exp(-distance_sq / (2.0 * sigma**2))
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(n_batch, -1)
        if w.shape[1] != n_neighbours:
            raise ValueError(f"weights need one value per neighbour, shape [{n_batch}, N].")

    times, h0 = nelson_aalen(durations, events)
    grid = forward.times.detach().cpu().double().numpy()
    lo, frac = _interpolation(grid, times)
    hi = (lo + 1).clamp(max=len(grid) - 1)

    def cumhazard(rows: np.ndarray) -> torch.Tensor:
        xt = torch.as_tensor(rows, dtype=_dtype(forward))
        size = rows.shape[0] if batch_size is None else positive_int(batch_size, "batch_size")
        with torch.no_grad():
            out = torch.cat([forward(xt[s : s + size]) for s in range(0, rows.shape[0], size)])
        out = out.double()
        out = out[:, lo] * (1 - frac) + out[:, hi] * frac  # numpy.interp onto the times
        return -torch.log(out + EPSILON) if forward.output == "survival" else out

    h = cumhazard(z.reshape(-1, p)).reshape(n_batch, n_neighbours, -1)  # [B, N, m]
    log_h = torch.log(h + EPSILON)
    correction = h / log_h
    target = log_h - torch.log(torch.as_tensor(h0) + EPSILON)
    dt = torch.as_tensor(np.diff(np.append(times, times[-1] + EPSILON)))
    wt = torch.as_tensor(w)
    a = wt.unsqueeze(2) * dt * correction**2  # [B, N, m]
    a_sum = a.sum(dim=2)
    r_sum = (a * target).sum(dim=2)
    zt = torch.as_tensor(z)
    root = a_sum.clamp(min=0).sqrt()
    design = zt * root.unsqueeze(2)
    rhs = torch.where(root > 0, r_sum / root.clamp(min=1e-300), torch.zeros_like(r_sum))
    b = torch.linalg.lstsq(design, rhs.unsqueeze(2), driver="gelsd").solution.squeeze(2)
    residual = target - (zt @ b.unsqueeze(2))  # [B, N, m]
    objective = (a * residual**2).sum(dim=(1, 2))
    wdt = wt.unsqueeze(2) * dt
    fit_error = torch.sqrt(
        (wdt * residual**2).sum(dim=(1, 2)) / wdt.expand_as(residual).sum((1, 2))
    )
    xt64 = torch.as_tensor(x)
    model_h = cumhazard(x)
    h0t = torch.as_tensor(h0)
    names = [f"x{j}" for j in range(p)] if feature_names is None else list(feature_names)
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} names for {p} features.")
    return SurvLIMEExplanation(
        coefficients=b,
        inputs=xt64,
        feature_names=names,
        times=torch.as_tensor(times),
        baseline_cumhazard=h0t,
        model_cumhazard=model_h,
        surrogate_cumhazard=h0t.unsqueeze(0) * torch.exp((xt64 * b).sum(dim=1, keepdim=True)),
        objective=objective,
        fit_error=fit_error,
        neighbours=zt,
        weights=wt,
        kernel_width=sigma,
        training_mean=torch.as_tensor(train.mean(axis=0)),
        seed=seed,
    )


def _dtype(forward: SurvivalForward) -> torch.dtype:
    param = next(iter(forward.parameters()), None)
    return torch.float32 if param is None else param.dtype
