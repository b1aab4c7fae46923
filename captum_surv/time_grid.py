"""Time grids: resolving the ``times`` argument and mapping it onto a model's native grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

INTERPOLATIONS = ("step", "const_pdf", "const_hazard")
"""Interpolation schemes between native grid points.

``"step"``: the value at the largest native time ``<= t``; ``"const_pdf"``: survival (and
CIF) linear between native times (pycox's default scheme, constant density);
``"const_hazard"``: cumulative hazard linear between native times (exponential survival,
exact for PCHazard).
"""


@dataclass(frozen=True)
class GridLookup:
    """Where each requested time falls on the native grid.

    Attributes:
        times: The requested times (after clamping), float64, shape ``[T]``.
        left: Index into the native values *extended* with a leading "before the first
            native time" entry: ``0`` means before the first native time, ``j + 1`` means
            native time ``j`` is the largest one ``<= t``.
        frac: Position inside the native interval, in ``[0, 1)``; ``0`` for step lookups.
        is_native: True when the requested grid is exactly the native grid.
    """

    times: np.ndarray
    left: np.ndarray
    frac: np.ndarray
    is_native: bool

    def right(self, n_native: int) -> np.ndarray:
        """Index of the right neighbour in the extended native values."""
        return np.minimum(self.left + 1, n_native)

    def interpolate(self, extended: torch.Tensor) -> torch.Tensor:
        """Interpolate ``extended`` (``[..., 1 + M]``) onto the requested grid (last axis)."""
        n_native = extended.shape[-1] - 1
        left = torch.as_tensor(self.left, device=extended.device)
        value = extended.index_select(-1, left)
        if np.any(self.frac > 0):
            right = torch.as_tensor(self.right(n_native), device=extended.device)
            frac = torch.as_tensor(self.frac, dtype=extended.dtype, device=extended.device)
            value = value + frac * (extended.index_select(-1, right) - value)
        return value


def resolve_times(
    times: object,
    native: np.ndarray,
    upper: float,
    clamp: bool,
    model_name: str,
) -> np.ndarray:
    """Turn the user's ``times`` argument into a 1-D float64 array.

    Args:
        times: ``None`` (the native grid), an ``int`` n (n native points at evenly spaced
            indices), or a 1-D array-like of times.
        native: The model's native grid, increasing.
        upper: The largest time at which the model is defined.
        clamp: Whether times past ``upper`` are moved to ``upper`` instead of rejected.
        model_name: For error messages.

    Returns:
        The requested times, float64.

    Raises:
        ValueError: For a bad integer, non-finite times, or times past ``upper`` without
            ``clamp``.
    """
    if times is None:
        return native.astype(np.float64).copy()
    if isinstance(times, (int, np.integer)) and not isinstance(times, bool):
        n = int(times)
        if n < 1 or n > len(native):
            raise ValueError(
                f"times={n}: an integer grid takes between 1 and {len(native)} points from the "
                f"native grid of {model_name} ({len(native)} times). Pass an array of times for "
                "a finer grid."
            )
        idx = np.round(np.linspace(0, len(native) - 1, n)).astype(int)
        return native[idx].astype(np.float64)
    if isinstance(times, torch.Tensor):
        times = times.detach().cpu().numpy()
    arr = np.asarray(times, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"times must be None, an int, or a non-empty 1-D array of time points; "
            f"got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("times contains NaN or inf; pass finite time points.")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(
            "times must be strictly increasing (hazard and pmf columns describe the intervals "
            "between consecutive times); sort them and drop duplicates, e.g. np.unique(times)."
        )
    too_late = arr > upper * (1 + 1e-12) + 1e-12
    if too_late.any():
        if not clamp:
            raise ValueError(
                f"times {arr[too_late][:5].tolist()} lie past the last time at which {model_name} "
                f"is defined ({upper:g}). Pass times <= {upper:g}, or clamp=True to use the "
                "value at the last time for them."
            )
        arr = np.minimum(arr, upper)
    return arr


def lookup(times: np.ndarray, native: np.ndarray, interpolation: str) -> GridLookup:
    """Locate ``times`` on the increasing ``native`` grid.

    Args:
        times: Requested times (already validated).
        native: Native grid, increasing.
        interpolation: One of :data:`INTERPOLATIONS`.

    Returns:
        A :class:`GridLookup`.
    """
    left = np.searchsorted(native, times, side="right")
    frac = np.zeros_like(times)
    if interpolation != "step":
        j = left - 1
        inside = (j >= 0) & (j < len(native) - 1)
        jj = j[inside]
        frac[inside] = (times[inside] - native[jj]) / (native[jj + 1] - native[jj])
    is_native = len(times) == len(native) and bool(np.array_equal(times, native))
    return GridLookup(times=times, left=left, frac=frac, is_native=is_native)


def time_index(grid: np.ndarray, t: object, nearest: bool) -> int | torch.Tensor:
    """Column index of time(s) ``t`` on ``grid`` (see :meth:`SurvivalForward.time_index`)."""
    scalar = np.ndim(t) == 0
    values = np.atleast_1d(np.asarray(t.cpu() if isinstance(t, torch.Tensor) else t, dtype=float))
    pick = np.abs(grid[None, :] - values[:, None]).argmin(axis=1)
    gap = np.abs(grid[pick] - values)
    tol = 1e-9 * np.maximum(1.0, np.abs(values))
    if not nearest and np.any(gap > tol):
        bad = values[gap > tol][0]
        near = grid[pick[gap > tol][0]]
        raise ValueError(
            f"Time {bad:g} is not on the forward's time grid (nearest grid time: {near:g}). "
            "Use time_index(t, nearest=True), or build a forward on your own grid with "
            "with_times([...])."
        )
    if scalar:
        return int(pick[0])
    return torch.as_tensor(pick, dtype=torch.long)
