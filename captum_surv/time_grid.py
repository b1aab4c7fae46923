"""Time grids: resolving the ``times`` argument and mapping it onto a model's native grid."""

from __future__ import annotations

import warnings
from collections.abc import Callable
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


TimeKey = Callable[[np.ndarray], np.ndarray]
"""Maps times to the values a model compares them by (CoxTime: its float32-scaled times)."""


def resolve_times(
    times: object,
    native: np.ndarray,
    upper: float,
    clamp: bool,
    model_name: str,
    key: TimeKey | None = None,
) -> np.ndarray:
    """Turn the user's ``times`` argument into a 1-D float64 array.

    The rule: ``None`` is the native grid; an *integer scalar* (a Python ``int``, a numpy
    integer, or a 0-d integer numpy array or torch tensor) ``n`` asks for ``n`` native times
    at evenly spaced positions; anything else numeric (a ``float`` such as ``5.0``, a 0-d
    floating array or tensor, or a 1-D list, array or tensor, integer-valued or not) lists
    time values. Booleans are rejected.

    Args:
        times: ``None``, an integer count, or time value(s), as above.
        native: The model's native grid, increasing.
        upper: The largest time at which the model is defined.
        clamp: Whether times past ``upper`` are moved to ``upper`` instead of rejected.
            If that makes several times equal to ``upper`` (duplicate columns), a
            ``UserWarning`` says so.
        model_name: For error messages.
        key: How the model compares times (default: by value). CoxTime compares its scaled
            times, so a time is past the end only if its scaled value is.

    Returns:
        The requested times, float64.

    Raises:
        TypeError: For booleans or non-numeric ``times``.
        ValueError: For a bad count, non-finite, unsorted or duplicate times, or times past
            ``upper`` without ``clamp``.
    """
    if times is None:
        return native.astype(np.float64).copy()
    count = _integer_count(times)
    if count is not None:
        if count < 1 or count > len(native):
            raise ValueError(
                f"times={count}: an integer count takes between 1 and {len(native)} points from "
                f"the native grid of {model_name} ({len(native)} times). Pass a float (e.g. "
                f"times={float(count)}) or an array of times to request time values."
            )
        idx = np.round(np.linspace(0, len(native) - 1, count)).astype(int)
        return native[idx].astype(np.float64)
    if isinstance(times, torch.Tensor):
        times = times.detach().cpu().numpy()
    if isinstance(times, (str, bytes)):
        raise TypeError(f"times={times!r} is a string; pass numbers (time values) or an int.")
    try:
        raw = np.asarray(times)
    except (TypeError, ValueError) as err:
        raise TypeError(f"times could not be read as numbers ({err}).") from err
    if raw.dtype == np.bool_:
        raise TypeError(
            "times contains booleans; pass time values (floats or a 1-D array) or an int count."
        )
    if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise TypeError(
            f"times has dtype {raw.dtype}; pass time values (floats or a 1-D array of numbers) "
            "or an int count."
        )
    arr = np.ascontiguousarray(raw, dtype=np.float64)  # views may have negative strides
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
    if key is None:
        too_late = arr > upper * (1 + 1e-12) + 1e-12
    else:
        too_late = key(arr) > key(np.array([upper]))[0]
    if too_late.any():
        if not clamp:
            raise ValueError(
                f"times {arr[too_late][:5].tolist()} lie past the last time at which {model_name} "
                f"is defined ({upper:g}). Pass times <= {upper:g}, or clamp=True to use the "
                "value at the last time for them."
            )
        at_or_past = too_late | (arr >= upper)
        if at_or_past.sum() > 1:
            warnings.warn(
                f"clamp=True moved times {arr[too_late][:5].tolist()} to the last time "
                f"{upper:g} at which {model_name} is defined: the grid ends with "
                f"{int(at_or_past.sum())} duplicate times {upper:g} (equal survival; hazard "
                "and pmf 0 between them). Pass at most one time >= the last time to avoid "
                "duplicate columns.",
                UserWarning,
                stacklevel=4,
            )
        arr = np.where(too_late, upper, arr)
    return arr


def _integer_count(times: object) -> int | None:
    """``times`` as a grid-point count if it is an integer scalar, else None."""
    if isinstance(times, (bool, np.bool_)):
        raise TypeError(
            f"times={times!r} is a boolean; pass an int count of grid points or time values."
        )
    if isinstance(times, (int, np.integer)):
        return int(times)
    if isinstance(times, (np.ndarray, torch.Tensor)) and times.ndim == 0:
        if times.dtype in (np.bool_, torch.bool):
            raise TypeError(
                f"times={times!r} is a boolean; pass an int count of grid points or time values."
            )
        is_int = (
            not (times.is_floating_point() or times.is_complex())
            if isinstance(times, torch.Tensor)
            else np.issubdtype(times.dtype, np.integer)
        )
        if is_int:
            return int(times.item())
    return None


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


def time_index(
    grid: np.ndarray, t: object, nearest: bool, key: TimeKey | None = None
) -> int | torch.Tensor:
    """Column index of time(s) ``t`` on ``grid`` (see :meth:`SurvivalForward.time_index`).

    A time matches a grid time if they agree to 1e-9 (relative), or, with ``key``, if the
    model cannot tell them apart (equal keys).
    """
    scalar = np.ndim(t) == 0
    values = np.atleast_1d(np.asarray(t.cpu() if isinstance(t, torch.Tensor) else t, dtype=float))
    pick = np.abs(grid[None, :] - values[:, None]).argmin(axis=1)
    gap = np.abs(grid[pick] - values)
    tol = 1e-9 * np.maximum(1.0, np.abs(values))
    off = gap > tol
    if key is not None and off.any():
        off &= key(values) != key(grid[pick])
    if not nearest and np.any(off):
        bad = values[off][0]
        near = grid[pick[off][0]]
        raise ValueError(
            f"Time {bad:g} is not on the forward's time grid (nearest grid time: {near:g}). "
            "Use time_index(t, nearest=True), or build a forward on your own grid with "
            "with_times([...])."
        )
    if scalar:
        return int(pick[0])
    return torch.as_tensor(pick, dtype=torch.long)
