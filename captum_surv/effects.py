"""Feature effect curves over time: partial dependence (PDP), ICE and accumulated local effects.

* :func:`partial_dependence` — the PDP ``PD_j(v, t) = mean_i Out(t | x_i with x_ij = v)``
  (Friedman 2001) and the individual curves ICE (Goldstein et al. 2015), at every time
  point of the forward: a surface over time x feature value. A pair of features gives the
  2-D PDP ``PD_jk(v, w, t)``.
* :func:`accumulated_local_effects` — ALE (Apley and Zhu 2020): averages of finite
  differences of the output across quantile bins of the feature, accumulated and centred;
  unlike the PDP it does not extrapolate to unlikely feature combinations when features
  are correlated.

Both work for any output of the forward (survival, cumulative hazard, conditional
survival, ...), as survex's ``model_profile`` does for R (Spytek et al. 2023).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from captum_surv._validation import as_matrix, check_saved_format, positive_int
from captum_surv.models.base import SurvivalForward

_FORMAT = "captum_surv.FeatureEffect"
_FORMAT_VERSION = 1


def _prepare(
    forward: SurvivalForward, x: Any, feature_names: Sequence[str] | None, times: Any
) -> tuple[SurvivalForward, torch.Tensor, list[str]]:
    if not isinstance(forward, SurvivalForward):
        raise TypeError(
            f"Effects need a SurvivalForward, got {type(forward).__name__}; wrap the model "
            "with captum_surv.from_pycox first."
        )
    if forward.n_inputs != 1:
        raise ValueError("Effect curves support models with one input tensor of features.")
    matrix, frame_names = as_matrix(x)
    p = matrix.shape[1]
    names = list(feature_names or frame_names or [f"x{j}" for j in range(p)])
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} names for {p} columns.")
    fwd = forward if times is None else forward.with_times(times, clamp=forward.clamp)
    return fwd, matrix, names


def _column(feature: Any, names: list[str]) -> int:
    if isinstance(feature, str):
        if feature not in names:
            raise ValueError(f"Unknown feature {feature!r}; the features are {names}.")
        return names.index(feature)
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not 0 <= int(feature) < len(names):
            raise ValueError(f"Feature index {feature} is out of range [0, {len(names)}).")
        return int(feature)
    raise TypeError(f"A feature is given by name or index; got {feature!r}.")


def _grid(values: np.ndarray, grid: Any, n_grid: int) -> np.ndarray:
    if grid is not None:
        out = np.asarray(grid, dtype=np.float64).reshape(-1)
        if out.size == 0 or not np.all(np.isfinite(out)):
            raise ValueError("grid must be a non-empty 1-D array of finite values.")
        return out
    return _observed_quantiles(values, positive_int(n_grid, "n_grid"))


def _observed_quantiles(values: np.ndarray, n: int) -> np.ndarray:
    """``n`` evenly spaced empirical quantiles, de-duplicated: always observed values.

    Interpolated quantiles would put grid points and bin edges between observed values
    (0.5 for a binary feature), evaluating the model off the data's support.
    """
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, n), method="inverted_cdf"))


def _predict_with(
    forward: SurvivalForward,
    x: torch.Tensor,
    columns: list[int],
    settings: np.ndarray,
    batch_size: int,
    show_progress: bool = False,
) -> torch.Tensor:
    """``forward`` at ``x`` with ``x[:, columns] = setting`` for each row of ``settings``.

    Returns ``[n_settings, n, T]``; rows are stacked and evaluated in batches.
    """
    n = x.shape[0]
    per_batch = max(1, batch_size // n)
    outs = []
    with torch.no_grad():
        starts = range(0, len(settings), per_batch)
        for start in tqdm(starts, disable=not show_progress, desc="partial dependence"):
            block = settings[start : start + per_batch]
            stacked = x.repeat(len(block), 1)
            values = torch.as_tensor(block, dtype=x.dtype).repeat_interleave(n, dim=0)
            stacked[:, columns] = values
            outs.append(forward(stacked).reshape(len(block), n, -1))
    return torch.cat(outs).double().cpu()


def partial_dependence(
    forward: SurvivalForward,
    x: Any,
    feature: Any,
    *,
    grid: Any = None,
    n_grid: int = 20,
    times: Any = None,
    feature_names: Sequence[str] | None = None,
    ice: bool = True,
    batch_size: int = 65536,
    show_progress: bool = False,
) -> FeatureEffect:
    """Partial dependence (and ICE) of one feature, or the 2-D PDP of a pair, over time.

    Args:
        forward: A :class:`~captum_surv.SurvivalForward` of one input tensor; its output
            (survival, cumulative hazard, ...) is what the curves show.
        x: The data the forward is averaged over ``[n, p]`` (tensor, array or DataFrame).
        feature: A feature name or column index; a pair ``(a, b)`` for the 2-D PDP.
        grid: Values to set the feature to (a pair: a tuple of two grids). Default: the
            ``n_grid`` quantiles of the feature in ``x`` (duplicates dropped).
        n_grid: Grid size for the default grid (default 20).
        times: Time points (default: the forward's grid); e.g. a few chosen times for the
            2-D PDP.
        feature_names: Column names (default: DataFrame columns, else ``x0, x1, ...``).
        ice: Keep the individual curves (1-D only; default True).
        batch_size: Rows per forward call (default 65536); bounds memory.
        show_progress: Show a tqdm progress bar over the grid.

    Returns:
        A :class:`FeatureEffect` with ``values`` ``[G, T]`` (pair: ``[G1, G2, T]``) and
        ``ice`` ``[n, G, T]``.

    Example:
        >>> pd1 = partial_dependence(fwd, x_test, "age")  # doctest: +SKIP
        >>> pd2 = partial_dependence(fwd, x_test, ("x1", "x2"), times=[1.0, 3.0])  # doctest: +SKIP
    """
    fwd, matrix, names = _prepare(forward, x, feature_names, times)
    batch_size = positive_int(batch_size, "batch_size")
    pair = isinstance(feature, (tuple, list))
    if pair:
        if len(feature) != 2:
            raise ValueError(f"A 2-D PDP takes a pair of features; got {feature!r}.")
        cols = [_column(f, names) for f in feature]
        if cols[0] == cols[1]:
            raise ValueError("The two features of a 2-D PDP must differ.")
        grids_in = (None, None) if grid is None else tuple(grid)
        grids = [
            _grid(matrix[:, c].double().numpy(), g, n_grid)
            for c, g in zip(cols, grids_in, strict=True)
        ]
        mesh = np.stack(np.meshgrid(grids[0], grids[1], indexing="ij"), axis=-1).reshape(-1, 2)
        out = _predict_with(fwd, matrix, cols, mesh, batch_size, show_progress)
        values = out.mean(dim=1).reshape(len(grids[0]), len(grids[1]), -1)
        return FeatureEffect(
            kind="pdp2d",
            features=[names[c] for c in cols],
            grids=grids,
            values=values.numpy(),
            times=fwd.times.cpu().numpy(),
            output=fwd.output,
        )
    col = _column(feature, names)
    values_grid = _grid(matrix[:, col].double().numpy(), grid, n_grid)
    out = _predict_with(fwd, matrix, [col], values_grid[:, None], batch_size, show_progress)
    return FeatureEffect(
        kind="pdp",
        features=[names[col]],
        grids=[values_grid],
        values=out.mean(dim=1).numpy(),
        times=fwd.times.cpu().numpy(),
        output=fwd.output,
        ice=out.permute(1, 0, 2).numpy() if ice else None,
    )


def accumulated_local_effects(
    forward: SurvivalForward,
    x: Any,
    feature: Any,
    *,
    n_bins: int = 10,
    times: Any = None,
    feature_names: Sequence[str] | None = None,
    batch_size: int = 65536,
) -> FeatureEffect:
    """Accumulated local effects of one feature at every time point (Apley and Zhu 2020).

    The feature's range is cut at its quantiles ``z_0 < ... < z_K``; in bin ``k`` the rows
    with ``z_{k-1} < x_j <= z_k`` (the first bin includes ``z_0``) contribute
    ``Out(t | z_k, x_-j) - Out(t | z_{k-1}, x_-j)``; the bin means are accumulated from
    ``z_0`` and centred so that the effect averages to 0 over the data (each bin's effect
    taken at its midpoint, weighted by its row count).

    Args:
        forward: A :class:`~captum_surv.SurvivalForward` of one input tensor.
        x: The data ``[n, p]`` (tensor, array or DataFrame).
        feature: A feature name or column index.
        n_bins: Number of quantile bins (default 10; fewer if quantiles coincide).
        times: Time points (default: the forward's grid).
        feature_names: Column names (default: DataFrame columns, else ``x0, x1, ...``).
        batch_size: Rows per forward call (default 65536).

    Returns:
        A :class:`FeatureEffect` with ``grids[0]`` the bin edges ``[K + 1]``, ``values``
        ``[K + 1, T]`` and ``counts`` ``[K]``.

    Example:
        >>> ale = accumulated_local_effects(fwd, x_test, "age", n_bins=8)  # doctest: +SKIP
        >>> ale.plot()  # doctest: +SKIP
    """
    fwd, matrix, names = _prepare(forward, x, feature_names, times)
    batch_size = positive_int(batch_size, "batch_size")
    col = _column(feature, names)
    values = matrix[:, col].double().numpy()
    edges = _observed_quantiles(values, positive_int(n_bins, "n_bins") + 1)
    if edges.size < 2:
        raise ValueError(f"Feature {names[col]!r} is constant in x; ALE needs at least two values.")
    k = edges.size - 1
    bins = np.clip(np.searchsorted(edges, values, side="left"), 1, k)  # 1..K
    counts = np.bincount(bins, minlength=k + 1)[1:]
    upper = torch.as_tensor(edges[bins], dtype=matrix.dtype)
    lower = torch.as_tensor(edges[bins - 1], dtype=matrix.dtype)
    n = matrix.shape[0]
    stacked = torch.cat([matrix, matrix])
    stacked[:, col] = torch.cat([upper, lower])
    with torch.no_grad():
        parts = [fwd(stacked[s : s + batch_size]) for s in range(0, 2 * n, batch_size)]
    out = torch.cat(parts).double().cpu().numpy()
    diff = out[:n] - out[n:]  # [n, T]
    n_times = diff.shape[1]
    sums = np.zeros((k, n_times))
    np.add.at(sums, bins - 1, diff)
    local = np.divide(sums, np.maximum(counts, 1)[:, None])
    accumulated = np.vstack([np.zeros((1, n_times)), np.cumsum(local, axis=0)])
    midpoints = 0.5 * (accumulated[:-1] + accumulated[1:])
    centre = (counts[:, None] * midpoints).sum(axis=0) / counts.sum()
    return FeatureEffect(
        kind="ale",
        features=[names[col]],
        grids=[edges],
        values=accumulated - centre,
        times=fwd.times.cpu().numpy(),
        output=fwd.output,
        counts=counts,
    )


class FeatureEffect:
    """An effect curve over time: PDP (+ ICE), 2-D PDP or ALE.

    Attributes:
        kind: ``"pdp"``, ``"pdp2d"`` or ``"ale"``.
        features: The feature name(s).
        grids: The feature value grid(s) (ALE: bin edges).
        values: ``[G, T]`` (``"pdp2d"``: ``[G1, G2, T]``).
        times: ``[T]`` time points.
        output: The forward's output.
        ice: ``[n, G, T]`` individual curves (PDP with ``ice=True``) or None.
        counts: ALE rows per bin ``[K]`` or None.
    """

    def __init__(
        self,
        *,
        kind: str,
        features: list[str],
        grids: list[np.ndarray],
        values: np.ndarray,
        times: np.ndarray,
        output: str,
        ice: np.ndarray | None = None,
        counts: np.ndarray | None = None,
    ) -> None:
        self.kind = kind
        self.features = list(features)
        self.grids = [np.asarray(g, dtype=np.float64) for g in grids]
        self.values = np.asarray(values, dtype=np.float64)
        self.times = np.asarray(times, dtype=np.float64)
        self.output = output
        self.ice = None if ice is None else np.asarray(ice, dtype=np.float64)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)

    def to_frame(self, ice: bool = False) -> pd.DataFrame:
        """Tidy frame: one row per (grid value(s), time) with the effect in ``value``.

        Args:
            ice: Return the individual curves instead (with an ``instance`` column).
        """
        t = self.times
        if ice:
            if self.ice is None:
                raise ValueError("No ICE curves were kept; call partial_dependence(ice=True).")
            n, g, _ = self.ice.shape
            i, gi, ti = np.meshgrid(np.arange(n), np.arange(g), np.arange(len(t)), indexing="ij")
            return pd.DataFrame(
                {
                    "instance": i.reshape(-1),
                    self.features[0]: self.grids[0][gi.reshape(-1)],
                    "time": t[ti.reshape(-1)],
                    "value": self.ice.reshape(-1),
                }
            )
        if self.kind == "pdp2d":
            a, b, ti = np.meshgrid(
                np.arange(len(self.grids[0])),
                np.arange(len(self.grids[1])),
                np.arange(len(t)),
                indexing="ij",
            )
            return pd.DataFrame(
                {
                    self.features[0]: self.grids[0][a.reshape(-1)],
                    self.features[1]: self.grids[1][b.reshape(-1)],
                    "time": t[ti.reshape(-1)],
                    "value": self.values.reshape(-1),
                }
            )
        gi, ti = np.meshgrid(np.arange(len(self.grids[0])), np.arange(len(t)), indexing="ij")
        return pd.DataFrame(
            {
                self.features[0]: self.grids[0][gi.reshape(-1)],
                "time": t[ti.reshape(-1)],
                "value": self.values.reshape(-1),
            }
        )

    def at_time(self, time: float) -> np.ndarray:
        """The effect at the grid time nearest ``time``: ``[G]`` (2-D: ``[G1, G2]``)."""
        return self.values[..., int(np.argmin(np.abs(self.times - float(time))))]

    def save(self, path: str | PathLike[str]) -> None:
        """Write to ``path`` with :func:`torch.save` (loads with ``weights_only=True``)."""
        torch.save(
            {
                "format": _FORMAT,
                "version": _FORMAT_VERSION,
                "kind": self.kind,
                "features": list(self.features),
                "grids": [torch.as_tensor(g) for g in self.grids],
                "values": torch.as_tensor(self.values),
                "times": torch.as_tensor(self.times),
                "output": self.output,
                "ice": None if self.ice is None else torch.as_tensor(self.ice),
                "counts": None if self.counts is None else torch.as_tensor(self.counts),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | PathLike[str]) -> FeatureEffect:
        """Read an effect written by :meth:`save`."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        check_saved_format(state, path, "FeatureEffect", _FORMAT_VERSION)
        state = copy.copy(state)
        return cls(
            kind=state["kind"],
            features=state["features"],
            grids=[g.numpy() for g in state["grids"]],
            values=state["values"].numpy(),
            times=state["times"].numpy(),
            output=state["output"],
            ice=None if state["ice"] is None else state["ice"].numpy(),
            counts=None if state["counts"] is None else state["counts"].numpy(),
        )

    def __repr__(self) -> str:
        return (
            f"FeatureEffect(kind={self.kind!r}, features={self.features}, "
            f"output={self.output!r}, grid={[len(g) for g in self.grids]}, times={len(self.times)})"
        )

    def plot(self, *args: Any, **kwargs: Any) -> Any:
        """See :func:`captum_surv.plot.plot_effect`."""
        from captum_surv.plot import plot_effect

        return plot_effect(self, *args, **kwargs)
