"""Pairwise feature interactions over the whole time grid: Hessian(t), IntHess(t) and ExpHess(t).

* ``"hessian"`` — Hessian(t): ``d^2 Out(t|x) / dx_i dx_j`` at the instance, for every time.
* ``"inthess"`` — IntHess(t), the Integrated Hessians of Janizek, Sturmfels and Lee,
  "Explaining Explanations: Axiomatic Feature Interactions for Deep Networks" (JMLR 2021),
  applied to each time point:

  ``G_ij = (x_i - x'_i)(x_j - x'_j) int_0^1 int_0^1 a b d_ij Out(t | x' + a b (x - x'))
  da db`` for ``i != j``, plus ``(x_i - x'_i) int int d_i Out(t | x' + a b (x - x')) da db``
  on the diagonal. Each row sums to IntGrad(t) of that feature (up to quadrature error),
  so the matrix splits IntGrad(t) into main effects and pairwise interactions.
* ``"exphess"`` — ExpHess(t), the GradSHAP-style variant (Expected Hessians, same paper):
  IntHess(t) averaged over reference rows ``x'_m``, computed deterministically over every
  reference row and the Gauss-Legendre nodes. Rows sum to the deterministic GradSHAP(t)
  (``sampling="gausslegendre"``), the whole matrix to ``Out(t|x) - mean_m Out(t|x'_m)``.

Both are computed for all time points from shared derivatives of the network:

* proportional hazards (CoxPH, CoxCC): ``Out(t|x) = f_t(g(x))``, hence
  ``d^2 Out = f_t'(g) d^2 g + f_t''(g) dg dg^T``: one Hessian of the scalar ``g`` per
  point serves every time point (a rank-one term per time on top); likewise any
  ``"head"`` forward with a small ``network_rank`` k (parametric families: k Hessians of
  the network's parameters per point);
* every other model: the Hessian of each output column by double backward passes, each
  pass batched over all rows.
"""

from __future__ import annotations

import copy
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from captum_surv._validation import check_saved_format, positive_int
from captum_surv.attr import registry
from captum_surv.attr.methods import match_baselines, predict_rows
from captum_surv.attr.result import MethodResult
from captum_surv.models.base import SurvivalForward

INTERACTION_METHODS = registry.method_names(registry.INTERACTION)

DEFAULT_DERIVATIVE_POINTS = 2048
"""Default ``batch_size`` of the interaction methods: sample points per derivative evaluation."""
"""Names of the interaction methods accepted by :func:`~captum_surv.explain`."""

_FORMAT = "captum_surv.SurvInteractions"
_FORMAT_VERSION = 1


# ============================================================================ derivatives
def _is_low_rank(forward: SurvivalForward, n_features: int) -> bool:
    """Whether every output column depends on x only through a few network outputs.

    That is a ``"head"`` forward (see :class:`~captum_surv.SurvivalForward`'s family
    protocol) with a ``network_rank`` k of at most the number of features: proportional
    hazards (k = 1), parametric families (k parameters).
    """
    rank = forward.network_rank if forward.structure == "head" else None
    if rank is None:
        return False
    if forward.unconditional_forward is not None and not forward.conditions_in_head:
        return False
    return rank <= n_features


def _derivatives(
    forward: SurvivalForward, points: torch.Tensor, want_hessian: bool = True
) -> tuple[torch.Tensor, Any, Any, str]:
    """Outputs, Jacobian and Hessian of every time point at ``points`` ``[P, F]``.

    Returns ``(outputs [P, T], jacobian, hessian, kind)``. For low-rank ``"head"`` forwards
    (``kind == "low_rank"``), with ``r = net(x)`` of k values per row and
    ``Out_t = f_t(r)``, the derivatives come factored:
    ``jacobian = (d1 [P, T, k], grad_r [P, k, F])`` and ``hessian = (d2 [P, T, k, k],
    hess_r [P, k, F, F])``, so that ``d^2 Out_t = sum_j d1_tj hess_r_j + sum_jl d2_tjl
    grad_r_j grad_r_l^T``. Otherwise ``jacobian [P, T, F]`` and ``hessian [P, T, F, F]``
    (``kind == "full"``).
    """
    n_features = points.shape[1]
    if _is_low_rank(forward, n_features):
        net, (z,) = forward.prepare_inputs(points)
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            raw = forward.run_network(net, z)
            flat = raw.reshape(raw.shape[0], -1)  # [P, k]
            grads, hessians = [], []
            for j in range(flat.shape[1]):
                (grad_j,) = torch.autograd.grad(
                    flat[:, j].sum(), z, create_graph=want_hessian, retain_graph=True
                )
                grads.append(grad_j.detach())
                if want_hessian:
                    rows = []
                    for i in range(n_features):
                        row = None
                        if grad_j.requires_grad:
                            (row,) = torch.autograd.grad(
                                grad_j[:, i].sum(), z, retain_graph=True, allow_unused=True
                            )
                        rows.append(torch.zeros_like(z) if row is None else row)
                    hessians.append(torch.stack(rows, dim=1))  # [P, F, F]
        flat = flat.detach()
        outputs, d1, d2 = _transform_derivatives(forward, flat, raw.shape)
        grad_r = torch.stack(grads, dim=1)  # [P, k, F]
        hess_r = torch.stack(hessians, dim=1) if want_hessian else None  # [P, k, F, F]
        return outputs, (d1, grad_r), (d2, hess_r), "low_rank"
    z = points.detach().requires_grad_(True)
    with torch.enable_grad():
        out = forward(z)  # [P, T]
        n_times = out.shape[1]
        jac = torch.zeros((z.shape[0], n_times, n_features), dtype=z.dtype, device=z.device)
        hess = (
            torch.zeros(
                (z.shape[0], n_times, n_features, n_features), dtype=z.dtype, device=z.device
            )
            if want_hessian
            else None
        )
        for k in range(n_times):
            (grad_k,) = torch.autograd.grad(
                out[:, k].sum(), z, create_graph=want_hessian, retain_graph=True
            )
            jac[:, k] = grad_k.detach()
            if want_hessian and grad_k.requires_grad:
                for i in range(n_features):
                    (row,) = torch.autograd.grad(
                        grad_k[:, i].sum(), z, retain_graph=True, allow_unused=True
                    )
                    if row is not None:
                        hess[:, k, i] = row
    return out.detach(), jac, hess, "full"


def _transform_derivatives(
    forward: SurvivalForward, flat: torch.Tensor, shape: torch.Size
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``f(r)``, ``df/dr`` ``[P, T, k]`` and ``d^2f/dr^2`` ``[P, T, k, k]`` by forward mode.

    The transform acts on each row alone, so one (nested) forward-mode pass per network
    output (pair) gives the derivatives of all rows at once.
    """

    def transform(values: torch.Tensor) -> torch.Tensor:
        return forward.output_from_network(values.reshape(shape))

    k = flat.shape[1]
    basis = [torch.zeros_like(flat) for _ in range(k)]
    for j in range(k):
        basis[j][:, j] = 1

    def first(values: torch.Tensor, j: int) -> torch.Tensor:
        return torch.func.jvp(transform, (values,), (basis[j],))[1]

    outputs = transform(flat).detach()
    d1 = torch.stack([first(flat, j).detach() for j in range(k)], dim=2)
    d2 = torch.stack(
        [
            torch.stack(
                [
                    torch.func.jvp(lambda v, j=j: first(v, j), (flat,), (basis[m],))[1].detach()
                    for m in range(k)
                ],
                dim=2,
            )
            for j in range(k)
        ],
        dim=2,
    )  # [P, T, k, k]
    return outputs, d1, d2


def _gauss_legendre(
    n_steps: int, dtype: torch.dtype, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    return (
        torch.as_tensor((nodes + 1.0) / 2.0, dtype=dtype, device=device),
        torch.as_tensor(weights / 2.0, dtype=dtype, device=device),
    )


def interaction_attributions(
    forward: SurvivalForward,
    inputs: torch.Tensor,
    method: str,
    baselines: Any = None,
    *,
    n_steps: int | None = None,
    batch_size: int = DEFAULT_DERIVATIVE_POINTS,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Hessian(t) or IntHess(t) for every time point, ``[B, T, F, F]``.

    See :func:`captum_surv.explain` for the user-facing arguments.

    Args:
        forward: The survival forward.
        inputs: ``[B, F]`` instances (one input tensor of flat features).
        method: ``"hessian"``, ``"inthess"`` or ``"exphess"``.
        baselines: IntHess(t): ``[1, F]`` or ``[B, F]`` (default zeros). ExpHess(t): the
            reference rows ``[M, F]`` (required).
        n_steps: Gauss-Legendre nodes per path parameter (``n_steps**2`` points per
            instance and baseline; default 24 for IntHess(t), 16 for ExpHess(t)).
        batch_size: Sample points per derivative evaluation (default 2048).
        show_progress: Show a tqdm progress bar.

    Returns:
        Dict with ``interactions`` ``[B, T, F, F]``, ``prediction``,
        ``reference_prediction``, ``baselines`` and ``options``.
    """
    batch_size = positive_int(batch_size, "batch_size")
    device = forward.times.device
    inputs = inputs.to(device)  # every intermediate lives on the forward's device
    n, n_features = inputs.shape
    n_times = forward.n_times
    dtype = inputs.dtype
    totals = torch.zeros((n, n_times, n_features, n_features), dtype=dtype, device=device)
    options: dict[str, Any] = {"batch_size": batch_size}
    reference_prediction, used = None, None
    if method == "hessian":
        points, owner = inputs, torch.arange(n, device=device)
        second_w = torch.ones(n, dtype=dtype, device=device)
        first_w, point_delta = None, None
        per = 1
    elif method == "inthess":
        n_steps = positive_int(24 if n_steps is None else n_steps, "n_steps")
        if baselines is None:
            baselines = torch.zeros((1, n_features), dtype=dtype)
        (base,) = match_baselines("baselines", (baselines,), (inputs,), per_instance=True)
        base = base.expand(n, n_features)
        delta = inputs - base
        nodes, weights = _gauss_legendre(n_steps, dtype, device)
        u = (nodes[:, None] * nodes[None, :]).reshape(-1)  # a * b
        w = (weights[:, None] * weights[None, :]).reshape(-1)
        per = u.numel()
        points = (base[:, None, :] + u[None, :, None] * delta[:, None, :]).reshape(-1, n_features)
        owner = torch.arange(n, device=device).repeat_interleave(per)
        second_w = (w * u).repeat(n)
        first_w = w.repeat(n)
        point_delta = delta.repeat_interleave(per, dim=0)
        reference_prediction = predict_rows(forward, (base,), batch_size)
        used = base
        options["n_steps"] = n_steps
    elif method == "exphess":
        n_steps = positive_int(16 if n_steps is None else n_steps, "n_steps")
        if baselines is None:
            raise ValueError(
                "exphess needs reference rows: pass baselines=<[M, F] rows>, e.g. "
                "captum_surv.baselines.sample(x_train, 10, seed=0)."
            )
        (refs,) = match_baselines("baselines", (baselines,), (inputs,), per_instance=False)
        n_ref = refs.shape[0]
        nodes, weights = _gauss_legendre(n_steps, dtype, device)
        u = (nodes[:, None] * nodes[None, :]).reshape(-1)
        w = (weights[:, None] * weights[None, :]).reshape(-1) / n_ref
        per = n_ref * u.numel()
        # [n, M, nodes]: instance-major, then reference row, then node
        delta = inputs[:, None, :] - refs[None, :, :]  # [n, M, F]
        points = refs[None, :, None, :] + u[None, None, :, None] * delta[:, :, None, :]
        points = points.reshape(-1, n_features)
        point_delta = delta[:, :, None, :].expand(n, n_ref, u.numel(), n_features)
        point_delta = point_delta.reshape(-1, n_features)
        owner = torch.arange(n, device=device).repeat_interleave(per)
        second_w = (w * u).repeat(n * n_ref)
        first_w = w.repeat(n * n_ref)
        mean_reference = predict_rows(forward, (refs,), batch_size).mean(dim=0, keepdim=True)
        reference_prediction = mean_reference.expand(n, -1).clone()
        used = refs
        options["n_steps"] = n_steps
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(f"Unknown interaction method {method!r}.")

    step = max(1, batch_size // per) * per
    diag = torch.arange(n_features, device=device)
    for start in tqdm(range(0, points.shape[0], step), disable=not show_progress, desc=method):
        chunk = slice(start, start + step)
        rows = owner[chunk]
        m = rows.numel() // per
        first_idx = rows[::per]
        _, jac, hess, kind = _derivatives(forward, points[chunk])
        sw = second_w[chunk]
        dp = None if point_delta is None else point_delta[chunk]
        if kind == "low_rank":
            (d1, grad_r), (d2, hess_r) = jac, hess
            if dp is not None:  # fold (x - x') into the derivatives of the network outputs
                hess_r = hess_r * dp[:, None, :, None] * dp[:, None, None, :]
                grad_r = grad_r * dp[:, None, :]
            k = grad_r.shape[1]
            a = (d1 * sw[:, None, None]).reshape(m, per, n_times, k)
            b = (d2 * sw[:, None, None, None]).reshape(m, per, n_times, k, k)
            gr = grad_r.reshape(m, per, k, n_features)
            block = torch.einsum(
                "mptj,mpjab->mtab", a, hess_r.reshape(m, per, k, n_features, n_features)
            )
            block = block + torch.einsum("mptjl,mpja,mplb->mtab", b, gr, gr)
            if first_w is not None:
                fw = (d1 * first_w[chunk][:, None, None]).reshape(m, per, n_times, k)
                block[:, :, diag, diag] += torch.einsum("mptj,mpja->mta", fw, gr)
        else:
            if dp is not None:
                hess = hess * dp[:, None, :, None] * dp[:, None, None, :]
                jac = jac * dp[:, None, :]
            block = torch.einsum(
                "mp,mpkij->mkij",
                sw.reshape(m, per),
                hess.reshape(m, per, n_times, n_features, n_features),
            )
            if first_w is not None:
                block[:, :, diag, diag] += torch.einsum(
                    "mp,mpki->mki",
                    first_w[chunk].reshape(m, per),
                    jac.reshape(m, per, n_times, n_features),
                )
        totals[first_idx] += block
    return MethodResult(
        attributions=(totals,),
        prediction=predict_rows(forward, (inputs,), batch_size),
        reference_prediction=reference_prediction,
        baselines=None if used is None else (used,),
        options=options,
    )


def explain_interactions(
    forward: SurvivalForward,
    inputs: tuple[torch.Tensor, ...],
    method: str,
    baselines: Any = None,
    *,
    feature_names: Any = None,
    batch_size: int | None = None,
    show_progress: bool = False,
    seed: int | None = None,
    **options: Any,
) -> SurvInteractions:
    """The ``explain(forward, x, "hessian" | "inthess")`` entry point (inputs checked)."""
    if len(inputs) != 1 or inputs[0].dim() != 2:
        raise ValueError(
            f"{method} takes one input tensor of flat features [B, F]; got "
            f"{[tuple(x.shape) for x in inputs]}. Explain multi-input or image models with "
            "the attribution methods, or flatten the features into one tensor first."
        )
    x = inputs[0]
    if not x.is_floating_point():
        raise TypeError(f"{method} needs floating-point features, got dtype {x.dtype}.")
    accepted = registry.METHODS[method].options
    unknown = sorted(set(options) - set(accepted)) + ([] if seed is None else ["seed"])
    if unknown:
        # every interaction method is deterministic (Gauss-Legendre nodes; ExpHess(t) uses
        # every reference row), so a seed would be ignored
        takes = ", ".join([*accepted, "batch_size"]) + " and show_progress"
        raise ValueError(
            f"explain(method={method!r}) got unknown option(s) {unknown}; {method!r} is "
            f"deterministic and accepts {takes}."
        )
    if method == "exphess" and baselines is None:
        raise ValueError(
            "exphess needs reference rows: pass baselines=<[M, F] rows>, e.g. "
            "captum_surv.baselines.sample(x_train, 10, seed=0)."
        )
    if method == "hessian" and baselines is not None:
        raise ValueError("'hessian' is local and takes no baselines; use 'inthess' for a path.")
    result = interaction_attributions(
        forward,
        x.detach(),
        method,
        baselines,
        batch_size=DEFAULT_DERIVATIVE_POINTS if batch_size is None else batch_size,
        show_progress=show_progress,
        **options,
    )
    (interactions,) = result.attributions
    if not torch.isfinite(interactions).all():
        raise ValueError(
            f"The interactions contain NaN or inf: the model's {forward.output!r} output is not "
            "twice differentiable (or not finite) at some points; try 'cumhazard' or "
            "'survival'."
        )

    def cpu(value: torch.Tensor | None) -> torch.Tensor | None:
        return None if value is None else value.detach().cpu()

    return SurvInteractions(
        interactions=cpu(interactions),
        inputs=cpu(x).clone(),
        times=forward.times.detach().cpu(),
        prediction=cpu(result.prediction),
        reference_prediction=cpu(result.reference_prediction),
        method=method,
        options=result.options,
        feature_names=feature_names,
        output=forward.output,
        baselines=None if result.baselines is None else cpu(result.baselines[0]),
    )


# ============================================================================ result
class SurvInteractions:
    """Pairwise interactions ``[B, T, F, F]`` of every instance at every time point.

    Returned by ``explain(forward, x, m)`` for ``m`` in ``"hessian"``, ``"inthess"`` and
    ``"exphess"``.

    Attributes:
        interactions: ``[B, T, F, F]``, symmetric in the last two axes.
        inputs: ``[B, F]`` explained instances.
        times: ``[T]`` time points.
        prediction: ``[B, T]`` forward at the instances.
        reference_prediction: ``[B, T]`` forward at the baselines (IntHess(t); ExpHess(t):
            their mean) or None.
        method: ``"hessian"``, ``"inthess"`` or ``"exphess"``.
        options: Options used (JSON-like).
        feature_names: One name per feature.
        output: The explained output.
        baselines: ``[B, F]`` baselines (IntHess(t)), ``[M, F]`` reference rows
            (ExpHess(t)) or None.

    Example:
        >>> inter = explain(fwd, x, "inthess", x_train.mean(0, keepdim=True))  # doctest: +SKIP
        >>> inter.strongest_pairs(top=3)  # doctest: +SKIP
    """

    def __init__(
        self,
        interactions: torch.Tensor,
        inputs: torch.Tensor,
        times: torch.Tensor,
        prediction: torch.Tensor,
        reference_prediction: torch.Tensor | None = None,
        *,
        method: str = "hessian",
        options: dict[str, Any] | None = None,
        feature_names: list[str] | None = None,
        output: str = "survival",
        baselines: torch.Tensor | None = None,
    ) -> None:
        self.interactions = torch.as_tensor(interactions)
        n, n_times, f1, f2 = self.interactions.shape
        if f1 != f2 or tuple(inputs.shape) != (n, f1) or times.numel() != n_times:
            raise ValueError(
                f"Inconsistent shapes: interactions {tuple(self.interactions.shape)}, inputs "
                f"{tuple(inputs.shape)}, times {tuple(times.shape)}; expected [B, T, F, F], "
                "[B, F] and [T]."
            )
        self.inputs = inputs
        self.times = torch.as_tensor(times, dtype=torch.float64)
        self.prediction = prediction
        self.reference_prediction = reference_prediction
        self.method = method
        self.options = dict(options or {})
        names = [f"x{j}" for j in range(f1)] if feature_names is None else list(feature_names)
        if len(names) != f1:
            raise ValueError(f"feature_names has {len(names)} names for {f1} features.")
        self.feature_names = [str(v) for v in names]
        self.output = output
        self.baselines = baselines

    @property
    def n_features(self) -> int:
        """Number of features."""
        return int(self.interactions.shape[-1])

    def main_effects(self) -> torch.Tensor:
        """The diagonal ``[B, T, F]`` (IntHess(t): each feature's own effect)."""
        return torch.diagonal(self.interactions, dim1=-2, dim2=-1)

    def row_sums(self) -> torch.Tensor:
        """``sum_j G_ij`` ``[B, T, F]``: IntGrad(t) of feature ``i`` for IntHess(t)."""
        return self.interactions.sum(dim=-1)

    def completeness_residual(self) -> torch.Tensor:
        """``sum_ij G_ij - (Out(t|x) - Out(t|x'))``, ``[B, T]`` (IntHess(t), ExpHess(t))."""
        if self.reference_prediction is None:
            raise ValueError(
                "Only IntHess(t) and ExpHess(t) (with baselines) have a completeness residual."
            )
        total = self.interactions.sum(dim=(-2, -1))
        return total - (self.prediction - self.reference_prediction)

    def pair_strength(self) -> pd.DataFrame:
        """Mean ``|G_ij|`` over instances for each pair ``i < j``: rows times, columns pairs."""
        mean_abs = self.interactions.abs().mean(dim=0)  # [T, F, F]
        i, j = np.triu_indices(self.n_features, k=1)
        values = mean_abs[:, i, j].numpy()
        columns = [
            f"{self.feature_names[a]}:{self.feature_names[b]}" for a, b in zip(i, j, strict=True)
        ]
        return pd.DataFrame(
            values, index=pd.Index(self.times.numpy(), name="time"), columns=columns
        )

    def strongest_pairs(self, top: int = 1) -> pd.DataFrame:
        """The ``top`` strongest pairs (mean ``|G_ij|``) at each time point.

        Returns:
            A DataFrame with columns ``time``, ``rank`` (1 = strongest), ``pair``,
            ``strength``.
        """
        top = positive_int(top, "top")
        strength = self.pair_strength()
        records = []
        for t, row in strength.iterrows():
            ranked = row.sort_values(ascending=False, kind="stable")
            for r, (pair, value) in enumerate(ranked.iloc[:top].items(), start=1):
                records.append({"time": t, "rank": r, "pair": pair, "strength": float(value)})
        return pd.DataFrame(records)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: ``instance, time, feature_i, feature_j, value`` (one row per entry)."""
        n, n_times, f, _ = self.interactions.shape
        grid = np.meshgrid(np.arange(n), np.arange(n_times), np.arange(f), np.arange(f))
        inst, tk, i, j = (a.transpose(1, 0, 2, 3).reshape(-1) for a in grid)
        names = np.asarray(self.feature_names, dtype=object)
        return pd.DataFrame(
            {
                "instance": inst,
                "time": self.times.numpy()[tk],
                "feature_i": names[i],
                "feature_j": names[j],
                "value": self.interactions.numpy()[inst, tk, i, j],
            }
        )

    def save(self, path: str | PathLike[str]) -> None:
        """Write to ``path`` with :func:`torch.save` (loads with ``weights_only=True``)."""
        torch.save(
            {
                "format": _FORMAT,
                "version": _FORMAT_VERSION,
                "interactions": self.interactions.clone(),
                "inputs": self.inputs.clone(),
                "times": self.times.clone(),
                "prediction": self.prediction.clone(),
                "reference_prediction": None
                if self.reference_prediction is None
                else self.reference_prediction.clone(),
                "method": self.method,
                "options": copy.deepcopy(self.options),
                "feature_names": list(self.feature_names),
                "output": self.output,
                "baselines": None if self.baselines is None else self.baselines.clone(),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | PathLike[str]) -> SurvInteractions:
        """Read interactions written by :meth:`save`."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        check_saved_format(state, path, "SurvInteractions", _FORMAT_VERSION)
        return cls(
            state["interactions"],
            state["inputs"],
            state["times"],
            state["prediction"],
            state["reference_prediction"],
            method=state["method"],
            options=state["options"],
            feature_names=state["feature_names"],
            output=state["output"],
            baselines=state["baselines"],
        )

    def __repr__(self) -> str:
        n, n_times, f, _ = self.interactions.shape
        return (
            f"SurvInteractions(method={self.method!r}, output={self.output!r}, instances={n}, "
            f"times={n_times}, features={f})"
        )

    def plot_heatmap(self, *args: Any, **kwargs: Any) -> Any:
        """See :func:`captum_surv.plot.plot_interaction_heatmap`."""
        from captum_surv.plot import plot_interaction_heatmap

        return plot_interaction_heatmap(self, *args, **kwargs)

    def plot_pairs(self, *args: Any, **kwargs: Any) -> Any:
        """See :func:`captum_surv.plot.plot_interaction_pairs`."""
        from captum_surv.plot import plot_interaction_pairs

        return plot_interaction_pairs(self, *args, **kwargs)
