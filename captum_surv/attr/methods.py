"""The gradient methods of Langbein et al. over the whole time grid (called by ``explain``).

All five methods are weighted sums of the Jacobian ``J(z) = d Out(t|z) / d z`` at sample
points ``z`` (see the paper "Gradient-based Explanations for Deep Learning Survival
Models", Langbein, Koenen and Wright, 2025):

* ``"grad"`` — Grad(t) = J(x), signed.
* ``"gxi"`` — GxI(t) = x * J(x).
* ``"smoothgrad"`` — SG(t) = mean_k J(x + e_k), e_k ~ N(0, (noise_level * sd_j)^2) with
  ``sd_j`` feature j's standard deviation in reference data (never the explained batch).
* ``"intgrad"`` — IntGrad(t) = (x - x') * integral_0^1 J(x' + a (x - x')) da.
* ``"gradshap"`` — GradSHAP(t) = mean over reference rows x'_m and a ~ U(0, 1) of
  (x - x'_m) * J(x'_m + a (x - x'_m)), estimated with every reference row times
  ``path_points`` Gauss-Legendre nodes (default), uniform points (the paper's
  GradSHAP(t)(k)) or stratified points, or with random (row, point) pairs.

Every method evaluates ``J`` for all time points at once through
:func:`captum_surv.attr.jacobian.output_jacobian`, in chunks of ``batch_size`` sample
points.
Integer inputs (e.g. category codes) are held fixed and get zero attributions.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from captum_surv._compat import integration_nodes
from captum_surv._validation import (
    as_tuple,
    check_finite,
    make_generator,
    per_input,
    positive_int,
)
from captum_surv.attr import registry
from captum_surv.attr.jacobian import (
    FULL_JACOBIAN_POINTS,
    floating_dtype,
    is_low_rank,
    low_rank_factors,
    output_jacobian,
    sum_runs,
    weighted_jacobian_sums,
)
from captum_surv.attr.result import MethodResult
from captum_surv.models.base import SurvivalForward

Inputs = tuple[torch.Tensor, ...]

METHODS = registry.method_names(registry.GRADIENT)
"""Names of the built-in gradient methods accepted by :func:`~captum_surv.explain`."""

DEFAULT_JACOBIAN_POINTS = 4096
"""Default ``batch_size`` of the gradient methods: sample points per Jacobian evaluation
(about ``batch_size * n_times * n_features`` numbers in memory)."""

INTEGRATIONS = (
    "gausslegendre",
    "riemann_right",
    "riemann_left",
    "riemann_middle",
    "riemann_trapezoid",
)
"""Integration schemes for IntGrad(t) (Captum's ``method`` names)."""


def match_baselines(name: str, baselines: Any, inputs: Inputs, per_instance: bool) -> Inputs:
    """Validate baselines against inputs: same number of tensors, same per-row shapes.

    Returns tensors with a leading batch axis (``[1 or B or M, *S]``) in the inputs' dtype.
    """
    values = per_input(baselines, len(inputs), name, "baseline tensor")
    result = []
    for i, (b, x) in enumerate(zip(values, inputs, strict=True)):
        if isinstance(b, (int, float)):
            b = torch.full((1, *x.shape[1:]), float(b))
        b = torch.as_tensor(b, dtype=x.dtype if x.is_floating_point() else None, device=x.device)
        if b.shape == x.shape[1:]:
            b = b.unsqueeze(0)
        if b.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"{name} tensor {i} has shape {tuple(b.shape)}, which does not match the inputs' "
                f"per-instance shape {tuple(x.shape[1:])}. Pass [1, *S], [n, *S] or [*S] "
                f"tensors with S = {tuple(x.shape[1:])}."
            )
        if b.shape[0] == 0:
            raise ValueError(f"{name} tensor {i} is empty; pass at least one reference row.")
        if per_instance and b.shape[0] not in (1, x.shape[0]):
            raise ValueError(
                f"{name} tensor {i} has {b.shape[0]} rows; pass one row (shared) or one row per "
                f"instance ({x.shape[0]})."
            )
        result.append(b)
    for i, b in enumerate(result):
        check_finite(b, f"{name}[{i}]" if len(result) > 1 else name)
    return tuple(result)


class _Accumulator:
    """Accumulates ``sum_p weight_p * multiplier_p * J(z_p)`` into per-instance attributions."""

    def __init__(
        self,
        forward: SurvivalForward,
        inputs: Inputs,
        batch_size: int,
        show_progress: bool,
        desc: str,
    ) -> None:
        self.forward = forward
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.desc = desc
        n, t = inputs[0].shape[0], forward.n_times
        dtype = floating_dtype(inputs)  # integer inputs get zeros of the floating dtype
        self.floating = [x.is_floating_point() for x in inputs]
        self.totals = [
            torch.zeros((n, t, *x.shape[1:]), dtype=dtype, device=x.device) for x in inputs
        ]

    def add(
        self,
        points: Inputs,
        owner: torch.Tensor,
        weight: torch.Tensor,
        multiplier: Inputs | None,
    ) -> None:
        """Add the weighted Jacobians at ``points`` (``[P, *S]``) to rows ``owner`` (``[P]``).

        ``owner`` is non-decreasing (each instance's points are contiguous); chunks are
        aligned to whole instances where they fit, so per-instance sums are reshapes.
        """
        device = self.totals[0].device  # draws and weights may come from the CPU
        owner, weight = owner.to(device), weight.to(device)
        n_points = points[0].shape[0]
        group = int(torch.unique_consecutive(owner, return_counts=True)[1][0])
        size = self.batch_size
        if not is_low_rank(self.forward, points):
            # full [points, T, p] Jacobians: larger evaluations only cost memory traffic
            size = min(size, FULL_JACOBIAN_POINTS)
        step = (size // group) * group or size
        starts = range(0, n_points, step)
        for start in tqdm(starts, disable=not self.show_progress, desc=self.desc):
            chunk = slice(start, start + step)
            rows = tuple(z[chunk] for z in points)
            w = weight[chunk]
            if is_low_rank(self.forward, rows):
                self._add_low_rank(rows, owner[chunk], w, multiplier, chunk)
                continue
            if self._add_fused(rows, owner[chunk], w, multiplier, chunk):
                continue
            jacobians, _ = output_jacobian(self.forward, rows)
            for i, jac in enumerate(jacobians):
                if not self.floating[i]:  # held fixed: zero attributions
                    continue
                factor = _point_factor(w, multiplier, i, chunk, jac[:, 0])
                owners, sums = _segment_sum(jac * factor.unsqueeze(1), owner[chunk])
                self.totals[i].index_add_(0, owners, sums)

    def _add_fused(
        self,
        rows: Inputs,
        owner: torch.Tensor,
        weight: torch.Tensor,
        multiplier: Inputs | None,
        chunk: slice,
    ) -> bool:
        """Add the weighted sums without forming full Jacobians where the engine can
        (:func:`~captum_surv.attr.jacobian.weighted_jacobian_sums`); False otherwise."""
        scales = []
        for i, z in enumerate(rows):
            if not self.floating[i]:
                scales.append(z)  # held fixed: no directions, no scale
                continue
            scales.append(_point_factor(weight, multiplier, i, chunk, z).expand_as(z))
        fused = weighted_jacobian_sums(self.forward, rows, tuple(scales), owner)
        if fused is None:
            return False
        owners, sums = fused
        for i, total in enumerate(self.totals):
            if self.floating[i]:
                total.index_add_(0, owners, sums[i].to(total.dtype))
        return True

    def _add_low_rank(
        self,
        rows: Inputs,
        owner: torch.Tensor,
        weight: torch.Tensor,
        multiplier: Inputs | None,
        chunk: slice,
    ) -> None:
        """Low-rank Jacobians (proportional hazards, parametric families): per instance,
        ``sum_p a_p c_p`` with ``a_p`` ``[T, K]`` and ``c_p`` ``[K, F]`` as one matmul of
        ``[T, P*K]`` by ``[P*K, F]``, instead of summing full ``[T, F]`` Jacobians."""
        time_factor, features, _ = low_rank_factors(self.forward, rows)
        owners, counts = torch.unique_consecutive(owner, return_counts=True)
        segments = counts.tolist()
        n_out, k = time_factor.shape[1], time_factor.shape[2]
        a = time_factor * weight.to(time_factor.dtype)[:, None, None]  # [P, T, K]
        for i, d_raw in enumerate(features):
            if not self.floating[i]:  # held fixed: zero attributions
                continue
            c = d_raw if multiplier is None else d_raw * multiplier[i][chunk].unsqueeze(1)
            c = c.reshape(c.shape[0], k, -1)  # [P, K, F]
            if len(set(segments)) == 1:  # equal groups: one batched matmul
                size = segments[0]
                lhs = a.reshape(-1, size, n_out, k).transpose(1, 2).reshape(-1, n_out, size * k)
                block = torch.bmm(lhs, c.reshape(-1, size * k, c.shape[2]))
            else:
                block = torch.stack(
                    [
                        sa.transpose(0, 1).reshape(n_out, -1) @ sc.reshape(-1, sc.shape[2])
                        for sa, sc in zip(a.split(segments), c.split(segments), strict=True)
                    ]
                )
            total = self.totals[i]
            total.index_add_(0, owners, block.reshape(len(segments), *total.shape[1:]))


def _point_factor(
    weight: torch.Tensor, multiplier: Inputs | None, i: int, chunk: slice, like: torch.Tensor
) -> torch.Tensor:
    """Per point, its weight times input ``i``'s multiplier (if any), shaped to broadcast
    against ``like`` (``[P, *S_i]``) and in its dtype."""
    factor = weight.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))
    return factor if multiplier is None else factor * multiplier[i][chunk]


def _segment_sum(values: torch.Tensor, owner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum rows of ``values`` over runs of equal ``owner``."""
    owners, counts = torch.unique_consecutive(owner, return_counts=True)
    return owners, sum_runs(values, counts.tolist())


def predict_rows(forward: SurvivalForward, inputs: Inputs, batch_size: int) -> torch.Tensor:
    """The forward at every row of ``inputs``, ``batch_size`` rows per call, no gradients."""
    with torch.no_grad():
        parts = [
            forward(*(x[s : s + batch_size] for x in inputs))
            for s in range(0, inputs[0].shape[0], batch_size)
        ]
    return torch.cat(parts, dim=0)


METHOD_OPTIONS: dict[str, tuple[str, ...]] = {m: registry.METHODS[m].options for m in METHODS}
"""Keyword options of each built-in method (besides ``seed``, ``batch_size``,
``show_progress`` and ``feature_names``, which :func:`explain` takes for every method)."""

_TAKES_BASELINES = tuple(m for m in METHODS if registry.METHODS[m].baselines != "none")


def check_options(method: str, baselines: Any, options: dict[str, Any]) -> None:
    """Reject options that ``method`` does not know or would ignore.

    Raises:
        ValueError: Naming the offending option and the options ``method`` accepts.
    """
    accepted = METHOD_OPTIONS[method]
    unknown = [name for name in options if name not in accepted]
    if unknown:
        listed = ", ".join(repr(a) for a in accepted) if accepted else "no method options"
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, [o for m in METHOD_OPTIONS.values() for o in m])
            if name == "target":
                hints.append(
                    "target is not needed: every time point is explained at once; read time "
                    "point k from the result (expl.attributions[:, k])."
                )
            elif close and close[0] in accepted:
                hints.append(f"Did you mean {close[0]!r} instead of {name!r}?")
            elif close:
                users = [m for m, opts in METHOD_OPTIONS.items() if close[0] in opts]
                hints.append(f"{close[0]!r} is an option of {users}, not of {method!r}.")
        raise ValueError(
            f"explain(method={method!r}) got unknown option(s) {unknown}; {method!r} accepts "
            f"{listed} (and seed, batch_size, show_progress, feature_names). " + " ".join(hints)
        )
    given = {name for name, value in options.items() if value is not None}
    if baselines is not None and method not in _TAKES_BASELINES:
        raise ValueError(
            f"{method!r} uses no baselines, but baselines were given; drop them, or use "
            "'intgrad' or 'gradshap', which explain relative to baselines."
        )
    if method == "smoothgrad":
        if baselines is not None and "reference" in given:
            raise ValueError(
                "smoothgrad got both baselines and reference=, which mean the same thing (the "
                "reference data whose feature sd scales the noise); pass only one."
            )
        if "stdevs" in given and ({"noise_level", "reference"} & given or baselines is not None):
            raise ValueError(
                "smoothgrad got stdevs= (absolute noise sd) together with noise_level= or "
                "reference data, which only set a relative noise scale; pass one or the other."
            )


def _feature_sd(reference: Inputs) -> Inputs:
    sds = []
    for i, r in enumerate(reference):
        if not r.is_floating_point():
            sds.append(torch.zeros((1, *r.shape[1:])))
            continue
        if r.shape[0] < 2:
            raise ValueError(
                f"The reference data for the noise scale (tensor {i}) has {r.shape[0]} row; "
                "pass at least 2 rows (reference=...) or absolute stdevs=..."
            )
        sds.append(r.std(dim=0, unbiased=True, keepdim=True))
    return tuple(sds)


def _absolute_stdevs(stdevs: Any, inputs: Inputs) -> tuple[Inputs, Any]:
    """SG(t)'s absolute noise sd per input (``[1, *S]``) and a JSON-like record of it.

    A number applies to every floating input; otherwise one entry per input tensor (a
    number or a tensor broadcastable to the per-instance shape; None for integer inputs).
    """
    single = len(inputs) == 1 or isinstance(stdevs, (int, float, np.floating, np.integer))
    values = (stdevs,) * len(inputs) if single else as_tuple(stdevs)
    if len(values) != len(inputs):
        raise ValueError(
            f"stdevs has {len(values)} entries but the inputs have {len(inputs)} tensors; pass "
            "one number for all inputs or one entry per input tensor."
        )
    scales, record = [], []
    for i, (s, x) in enumerate(zip(values, inputs, strict=True)):
        if not x.is_floating_point():
            if s is not None and not (np.ndim(s) == 0 and float(s) == 0) and not single:
                raise ValueError(
                    f"stdevs[{i}] is given for input {i}, an integer tensor held fixed (no "
                    "noise is added to it); pass None in its place."
                )
            scales.append(torch.zeros((1, *x.shape[1:]), dtype=torch.float64))
            record.append(None)
            continue
        if s is None or isinstance(s, bool):
            raise ValueError(f"stdevs for input {i} must be a number or a tensor, got {s!r}.")
        value = torch.as_tensor(s, dtype=x.dtype, device=x.device)
        if not torch.isfinite(value).all() or (value < 0).any():
            raise ValueError(
                f"stdevs for input {i} must be finite and >= 0 (a noise standard deviation); "
                f"got {s!r}."
            )
        try:
            scales.append(value.expand(1, *x.shape[1:]))
        except RuntimeError:
            raise ValueError(
                f"stdevs for input {i} has shape {tuple(value.shape)}, which does not broadcast "
                f"to the per-instance shape {tuple(x.shape[1:])}."
            ) from None
        record.append(value.item() if value.dim() == 0 else value.tolist())
    return tuple(scales), record[0] if single and len(record) == 1 else record


def _held_fixed(name: str, values: Any, inputs: Inputs) -> Any:
    """Check that integer inputs get None (they are held fixed) in a baselines tuple."""
    if not any(not x.is_floating_point() for x in inputs):
        return values
    items = as_tuple(values)
    if len(items) != len(inputs):
        return values  # match_baselines reports the count
    for i, (b, x) in enumerate(zip(items, inputs, strict=True)):
        if not x.is_floating_point() and b is not None:
            raise ValueError(
                f"{name} tensor {i} is given for an integer input (e.g. category codes), which "
                f"is held fixed at the explained values; pass None in its place."
            )
    return tuple(b if x.is_floating_point() else x[:1] for b, x in zip(items, inputs, strict=True))


_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_STREAM_REFERENCE, _STREAM_ALPHA, _STREAM_NOISE = 1, 2, 3  # noise: 3 + input position


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (Steele, Lea and Flood, 2014): a bijective 64-bit mix."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_uniforms(seed: int, rows: Any, n_draws: int, stream: int) -> torch.Tensor:
    """Uniform draws in ``(0, 1)`` that depend only on ``(seed, row, stream, draw)``.

    A counter-based generator: every instance's draws are a SplitMix64 hash of its row
    index, so explaining a cohort in any chunks or partitions gives identical numbers.

    Args:
        seed: The run's seed (any integer).
        rows: Row indices ``[n]`` (integers >= 0).
        n_draws: Draws per row.
        stream: Which independent stream (noise, reference index, path position).

    Returns:
        A float64 tensor ``[n, n_draws]``.
    """
    rows = np.asarray(torch.as_tensor(rows).cpu().numpy(), dtype=np.int64)
    if rows.ndim != 1 or (rows < 0).any():
        raise ValueError("row_index must be a 1-d sequence of non-negative integers.")
    with np.errstate(over="ignore"):
        key = _splitmix64(np.uint64(int(seed) % 2**64) + np.uint64(stream) * _SPLITMIX_GAMMA)
        key = _splitmix64(key ^ (rows.astype(np.uint64) * _SPLITMIX_GAMMA))
        counter = np.arange(1, n_draws + 1, dtype=np.uint64) * _SPLITMIX_GAMMA
        bits = _splitmix64(key[:, None] + counter[None, :])
    # the top 53 bits, centred in their interval: strictly inside (0, 1)
    return torch.from_numpy(((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53)


def _row_normals(seed: int, rows: Any, n_draws: int, stream: int) -> torch.Tensor:
    """Standard normal draws per (seed, row, draw) by the Box-Muller transform, float64."""
    u = row_uniforms(seed, rows, 2 * n_draws, stream)
    radius = torch.sqrt(-2.0 * torch.log(u[:, 0::2]))
    return radius * torch.cos(2.0 * torch.pi * u[:, 1::2])


def gradient_attributions(
    forward: SurvivalForward,
    inputs: Inputs,
    method: str,
    baselines: Any = None,
    *,
    n_steps: int | None = None,
    integration: str | None = None,
    n_samples: int | None = None,
    noise_level: float | None = None,
    stdevs: Any = None,
    path_points: int | None = None,
    tolerance: float | None = None,
    reference: Any = None,
    sampling: str | None = None,
    seed: int | None = None,
    batch_size: int = DEFAULT_JACOBIAN_POINTS,
    show_progress: bool = False,
    row_index: Any = None,
) -> MethodResult:
    """Compute one of the five gradient methods for every time point.

    See :func:`~captum_surv.explain` for the arguments (None means the method's default);
    ``batch_size`` counts sample points per Jacobian evaluation (default
    :data:`DEFAULT_JACOBIAN_POINTS`). Returns a :class:`~captum_surv.attr.result.MethodResult`.

    Integer inputs are held fixed: no noise, no path, their attributions are zeros.

    With ``row_index`` (one non-negative integer per instance) and a ``seed``, the random
    draws of SG(t) and the random GradSHAP(t) samplings depend only on
    ``(seed, row_index[i])`` (:func:`row_uniforms`), not on which other instances are
    explained in the same call (:func:`captum_surv.explain_dataset` relies on it).
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {list(METHODS)}.")
    check_options(
        method,
        baselines,
        {
            name: value
            for name, value in (
                ("n_steps", n_steps),
                ("integration", integration),
                ("n_samples", n_samples),
                ("noise_level", noise_level),
                ("stdevs", stdevs),
                ("reference", reference),
                ("sampling", sampling),
            )
            if value is not None
        },
    )
    batch_size = positive_int(batch_size, "batch_size")
    n = inputs[0].shape[0]
    floating = [x.is_floating_point() for x in inputs]
    generator = make_generator(seed)
    acc = _Accumulator(forward, inputs, batch_size, show_progress, method)
    options: dict[str, Any] = {"batch_size": batch_size}
    reference_prediction = None
    used_baselines: Inputs | None = None
    owner_all = torch.arange(n)
    if row_index is not None:
        if seed is None:
            raise ValueError("row_index needs a seed: pass seed=<int>.")
        row_index = torch.as_tensor(row_index).reshape(-1)
        if row_index.shape[0] != n:
            raise ValueError(
                f"row_index has {row_index.shape[0]} entries but there are {n} instances."
            )

    if method in ("grad", "gxi"):
        multiplier = inputs if method == "gxi" else None
        acc.add(inputs, owner_all, torch.ones(n), multiplier)
    elif method == "smoothgrad":
        n_samples = positive_int(10 if n_samples is None else n_samples, "n_samples")
        if stdevs is not None:
            scale, options["stdevs"] = _absolute_stdevs(stdevs, inputs)
        else:
            noise_level = 0.1 if noise_level is None else noise_level
            if (
                isinstance(noise_level, bool)
                or not isinstance(noise_level, (int, float, np.floating, np.integer))
                or not np.isfinite(noise_level)
                or noise_level < 0
            ):
                raise ValueError(f"noise_level must be a finite number >= 0, got {noise_level!r}.")
            data = reference if reference is not None else baselines
            if data is None:
                raise ValueError(
                    "smoothgrad needs the scale of its noise: pass reference data whose feature "
                    "sd sets it (baselines=x_train or reference=x_train; the noise sd is "
                    "noise_level x that sd), or absolute stdevs=. The explained batch is not "
                    "used, so a patient's explanation does not depend on its batch neighbours."
                )
            name = "reference" if reference is not None else "baselines"
            data = _held_fixed(name, data, inputs)
            ref = match_baselines(name, data, inputs, False)
            scale = tuple(float(noise_level) * sd for sd in _feature_sd(ref))
            options["noise_level"] = float(noise_level)
        # Draws instance by instance (all its input tensors in turn), so an instance's noise
        # depends only on the seed and its position, not on the size of the batch.
        noises: list[list[torch.Tensor]] = [[] for _ in inputs]
        if row_index is None:
            for _ in range(n):
                for i, x in enumerate(inputs):
                    if floating[i]:
                        shape = (n_samples, *x.shape[1:])
                        noises[i].append(torch.randn(shape, generator=generator, dtype=x.dtype))
        else:  # per (seed, row): one stream per input tensor
            for i, x in enumerate(inputs):
                if floating[i]:
                    size = n_samples * int(np.prod(x.shape[1:], dtype=np.int64))
                    draws = _row_normals(seed, row_index, size, _STREAM_NOISE + i)
                    noises[i] = list(draws.to(x.dtype).reshape(n, n_samples, *x.shape[1:]))
        points = []
        for x, s, is_float, noise in zip(inputs, scale, floating, noises, strict=True):
            if not is_float:
                points.append(x.repeat_interleave(n_samples, dim=0))
                continue
            shift = torch.stack(noise).to(x.device) * s.to(dtype=x.dtype, device=x.device)
            points.append((x.unsqueeze(1) + shift).reshape(-1, *x.shape[1:]))
        owner = owner_all.repeat_interleave(n_samples)
        acc.add(tuple(points), owner, torch.full((n * n_samples,), 1.0 / n_samples), None)
        options.update(n_samples=n_samples, seed=seed)
    elif method == "intgrad":
        n_steps = positive_int(50 if n_steps is None else n_steps, "n_steps")
        integration = "gausslegendre" if integration is None else integration
        if integration not in INTEGRATIONS:
            raise ValueError(
                f"integration={integration!r} is unknown; choose one of {list(INTEGRATIONS)}."
            )
        if baselines is None:
            baselines = tuple(
                torch.zeros((1, *x.shape[1:]), dtype=x.dtype) if f else None
                for x, f in zip(inputs, floating, strict=True)
            )
        baselines = _held_fixed("baselines", baselines, inputs)
        base = match_baselines("baselines", baselines, inputs, per_instance=True)
        base = tuple(
            b.expand(n, *b.shape[1:]) if f else x
            for b, x, f in zip(base, inputs, floating, strict=True)
        )
        alphas, weights = integration_nodes(integration, n_steps)
        alpha = torch.tensor(alphas, dtype=torch.float64)
        points = tuple(
            (
                b.unsqueeze(1)
                + alpha.to(x.device, x.dtype).reshape(1, -1, *([1] * (x.dim() - 1)))
                * (x - b).unsqueeze(1)
            ).reshape(-1, *x.shape[1:])
            if f
            else x.repeat_interleave(n_steps, dim=0)
            for x, b, f in zip(inputs, base, floating, strict=True)
        )
        owner = owner_all.repeat_interleave(n_steps)
        weight = torch.tensor(weights, dtype=torch.float64).repeat(n)
        diff = tuple(
            (x - b).repeat_interleave(n_steps, dim=0) for x, b in zip(inputs, base, strict=True)
        )
        acc.add(points, owner, weight, diff)
        reference_prediction = predict_rows(forward, base, batch_size)
        used_baselines = base
        options.update(n_steps=n_steps, integration=integration)
    else:  # gradshap
        if baselines is None and not any(floating):  # nothing to explain: all held fixed
            baselines = (None,) * len(inputs)
        elif baselines is None:
            raise ValueError(
                "gradshap needs reference data: pass baselines=<reference rows [M, *S]>, e.g. "
                "captum_surv.baselines.sample(x_train, 25, seed=0)."
            )
        baselines = _held_fixed("baselines", baselines, inputs)
        refs = match_baselines("baselines", baselines, inputs, per_instance=False)
        n_ref = max(
            r.shape[0] for r, f in zip(refs, floating, strict=True) if f or not any(floating)
        )
        if any(r.shape[0] != n_ref for r, f in zip(refs, floating, strict=True) if f):
            raise ValueError("All baseline tensors need the same number of reference rows.")
        if all(floating):
            mean_reference = predict_rows(forward, refs, batch_size).mean(dim=0, keepdim=True)
            reference_prediction = mean_reference.expand(n, -1).clone()
            used_baselines = refs
        else:  # the reference rows combined with each instance's fixed integer inputs
            pairs = tuple(
                r.repeat(n, *([1] * (r.dim() - 1))) if f else x.repeat_interleave(n_ref, dim=0)
                for r, x, f in zip(refs, inputs, floating, strict=True)
            )
            predicted = predict_rows(forward, pairs, batch_size)
            reference_prediction = predicted.reshape(n, n_ref, -1).mean(dim=1)
            used_baselines = tuple(
                r if f else x for r, x, f in zip(refs, inputs, floating, strict=True)
            )
        prediction = predict_rows(forward, inputs, batch_size)
        totals, shap_options = _gradshap(
            forward,
            inputs,
            refs,
            n_ref,
            sampling=sampling,
            path_points=path_points,
            n_steps=n_steps,
            n_samples=n_samples,
            tolerance=tolerance,
            generator=generator,
            batch_size=batch_size,
            show_progress=show_progress,
            prediction=prediction,
            row_draws=None if row_index is None else (seed, row_index),
            reference_prediction=reference_prediction,
        )
        options.update(shap_options, seed=seed)
        return MethodResult(totals, prediction, reference_prediction, used_baselines, options)

    return MethodResult(
        tuple(acc.totals),
        predict_rows(forward, inputs, batch_size),
        reference_prediction,
        used_baselines,
        options,
    )


GRADSHAP_SAMPLINGS = ("gausslegendre", "stratified", "uniform", "random")
"""GradSHAP(t) estimators (``sampling=``); the first three use every reference row."""

DEFAULT_PATH_POINTS = 16
"""Default path points per reference row of GradSHAP(t) (``path_points=``)."""

MAX_PATH_POINTS = 1024
"""``tolerance=`` doubles the path points (or random pairs) at most up to this many."""


def _gradshap(
    forward: SurvivalForward,
    inputs: Inputs,
    refs: Inputs,
    n_ref: int,
    *,
    sampling: str | None,
    path_points: int | None,
    n_steps: int | None,
    n_samples: int | None,
    tolerance: float | None,
    generator: torch.Generator,
    batch_size: int,
    show_progress: bool,
    prediction: torch.Tensor,
    reference_prediction: torch.Tensor,
    row_draws: tuple[int, torch.Tensor] | None = None,
) -> tuple[Inputs, dict[str, Any]]:
    """GradSHAP(t) attributions and options, raising the path points to meet ``tolerance``."""
    if sampling is None:
        if n_samples is not None:
            raise ValueError(
                "n_samples sets the number of random (reference row, path point) pairs of "
                "sampling='random'; pass sampling='random' with it, or path_points=k for the "
                "default estimator (every reference row x k Gauss-Legendre points)."
            )
        sampling = "gausslegendre"
    if sampling not in GRADSHAP_SAMPLINGS:
        raise ValueError(
            f"sampling={sampling!r} is unknown; choose one of {list(GRADSHAP_SAMPLINGS)}."
        )
    if sampling == "random":
        if path_points is not None or n_steps is not None:
            raise ValueError(
                "sampling='random' draws n_samples (reference row, path point) pairs; "
                "path_points/n_steps apply to the other samplings."
            )
        count = positive_int(50 if n_samples is None else n_samples, "n_samples")
    else:
        if n_samples is not None:
            raise ValueError(
                f"n_samples applies to sampling='random' only; sampling={sampling!r} uses "
                "every reference row x path_points points."
            )
        if path_points is not None and n_steps is not None and path_points != n_steps:
            raise ValueError("Pass path_points or its alias n_steps, not both.")
        given = path_points if path_points is not None else n_steps
        count = positive_int(DEFAULT_PATH_POINTS if given is None else given, "path_points")
    if tolerance is not None and not float(tolerance) > 0:
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}.")
    n = inputs[0].shape[0]
    achieved = float("nan")
    while True:
        totals = _gradshap_pass(
            forward,
            inputs,
            refs,
            n_ref,
            sampling,
            count,
            generator,
            batch_size,
            show_progress,
            row_draws,
        )
        flat = torch.cat([a.reshape(n, a.shape[1], -1).double() for a in totals], dim=2)
        residual = prediction.double() - reference_prediction.double() - flat.sum(dim=2)
        if tolerance is None:
            break
        achieved = _local_accuracy(residual, prediction)
        if achieved <= float(tolerance) or 2 * count > MAX_PATH_POINTS:
            if achieved > float(tolerance):
                warnings.warn(
                    f"GradSHAP(t) local accuracy {achieved:.3g} is above tolerance={tolerance} "
                    f"at {count} {'samples' if sampling == 'random' else 'path points'}, the "
                    f"most tolerance= tries ({MAX_PATH_POINTS}); the result is returned as is.",
                    stacklevel=4,
                )
            break
        count *= 2
    options: dict[str, Any] = {"sampling": sampling}
    if sampling == "random":
        options.update(n_samples=count, gradients_per_instance=count)
    else:
        options.update(
            path_points=count, reference_rows=n_ref, gradients_per_instance=n_ref * count
        )
    if tolerance is not None:
        options.update(tolerance=float(tolerance), local_accuracy=achieved)
    return totals, options


def _local_accuracy(residual: torch.Tensor, prediction: torch.Tensor) -> float:
    """Worst time point of the package's local accuracy (see SurvExplanation)."""
    value = torch.sqrt(residual.pow(2).mean(dim=0) / prediction.pow(2).mean(dim=0))
    return float(torch.nan_to_num(value, nan=0.0).max())


def _gradshap_pass(
    forward: SurvivalForward,
    inputs: Inputs,
    refs: Inputs,
    n_ref: int,
    sampling: str,
    count: int,
    generator: torch.Generator,
    batch_size: int,
    show_progress: bool,
    row_draws: tuple[int, torch.Tensor] | None = None,
) -> Inputs:
    """One GradSHAP(t) evaluation: ``sum_p weight_p (x - x'_p) J(x'_p + a_p (x - x'_p))``."""
    n = inputs[0].shape[0]
    owner_all = torch.arange(n)
    if sampling == "random":
        if row_draws is None:
            index = torch.randint(n_ref, (n, count), generator=generator).reshape(-1)
            alpha = torch.rand((n, count), generator=generator, dtype=torch.float64).reshape(-1)
        else:  # per (seed, row) draws
            u = row_uniforms(*row_draws, count, _STREAM_REFERENCE)
            index = (u * n_ref).long().clamp_(max=n_ref - 1).reshape(-1)
            alpha = row_uniforms(*row_draws, count, _STREAM_ALPHA).reshape(-1)
        owner = owner_all.repeat_interleave(count)
        weight = torch.full((n * count,), 1.0 / count, dtype=torch.float64)
    else:
        index = torch.arange(n_ref).repeat_interleave(count).repeat(n)
        owner = owner_all.repeat_interleave(n_ref * count)
        if sampling == "gausslegendre":
            alphas, weights = integration_nodes("gausslegendre", count)
            alpha = torch.tensor(alphas, dtype=torch.float64).repeat(n_ref * n)
            weight = (torch.tensor(weights, dtype=torch.float64) / n_ref).repeat(n_ref * n)
        else:
            if row_draws is None:
                u = torch.rand((n * n_ref, count), generator=generator, dtype=torch.float64)
            else:  # per (seed, row) draws
                u = row_uniforms(*row_draws, n_ref * count, _STREAM_ALPHA).reshape(-1, count)
            if sampling == "stratified":
                u = (torch.arange(count, dtype=torch.float64) + u) / count
            alpha = u.reshape(-1)
            weight = torch.full((n * n_ref * count,), 1.0 / (n_ref * count), dtype=torch.float64)
    points, diff = [], []
    for x, r in zip(inputs, refs, strict=True):
        if not x.is_floating_point():  # held fixed: zero attributions
            points.append(x[owner])
            diff.append(torch.zeros_like(x[owner]))
            continue
        start = r[index]
        delta = x[owner] - start
        shape = (-1, *([1] * (x.dim() - 1)))
        points.append(start + alpha.to(x.device, x.dtype).reshape(shape) * delta)
        diff.append(delta)
    acc = _Accumulator(forward, inputs, batch_size, show_progress, "gradshap")
    acc.add(tuple(points), owner, weight, tuple(diff))
    return tuple(acc.totals)
