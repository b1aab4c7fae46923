"""``explain()``: one call from a survival forward and inputs to a :class:`SurvExplanation`."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
import torch
from captum.attr import Attribution

from captum_surv._validation import as_tensor, as_tensors, as_tuple
from captum_surv.attr import registry
from captum_surv.attr import strategies as _strategies
from captum_surv.attr.interactions import SurvInteractions, explain_interactions
from captum_surv.attr.methods import (
    DEFAULT_JACOBIAN_POINTS,
    check_options,
    gradient_attributions,
)
from captum_surv.attr.result import MethodResult
from captum_surv.attr.survlime import survlime
from captum_surv.attr.survshap import survshap_attributions
from captum_surv.attr.time_attribution import TimeAttribution
from captum_surv.explanation import SurvExplanation
from captum_surv.models.base import SurvivalForward

PEER_METHODS = registry.method_names(registry.PEER)
"""Model-agnostic methods of other packages, computed here: SurvSHAP(t) and SurvLIME."""

PEER_OPTIONS: dict[str, tuple[str, ...]] = {m: registry.METHODS[m].options for m in PEER_METHODS}
"""Keyword options of ``"survshap"`` and ``"survlime"``."""


def _frames_to_tensors(baselines: Any) -> Any:
    """Baselines given as DataFrames (alone or in a tuple) as tensors, dtype kept."""
    if isinstance(baselines, pd.DataFrame):
        return as_tensor(baselines, "baselines")[0]
    if isinstance(baselines, (tuple, list)) and any(isinstance(b, pd.DataFrame) for b in baselines):
        return type(baselines)(
            as_tensor(b, f"baselines[{i}]")[0] if isinstance(b, pd.DataFrame) else b
            for i, b in enumerate(baselines)
        )
    return baselines


def _feature_names(given: Any, from_frames: list[list[str] | None], is_tuple: bool) -> Any:
    if given is not None:
        return given
    if all(n is None for n in from_frames):
        return None
    if not is_tuple:
        return from_frames[0]
    return tuple(from_frames)


def explain(
    forward: SurvivalForward,
    inputs: Any,
    method: str | type[Attribution] | Attribution = "intgrad",
    baselines: Any = None,
    *,
    feature_names: Any = None,
    seed: int | None = None,
    batch_size: int | None = None,
    show_progress: bool = False,
    **options: Any,
) -> SurvExplanation | SurvInteractions:
    """Explain a survival forward at every time point of its grid.

    Args:
        forward: A :class:`~captum_surv.SurvivalForward` (from :func:`~captum_surv.from_pycox`).
        inputs: The instances to explain: a tensor ``[B, *S]``, numpy array or DataFrame
            (feature names are taken from its columns; its dtype is kept, so float64
            columns are explained in float64), or a tuple of them for multi-input models.
        method: One of the paper's gradient methods — ``"grad"`` (Grad(t)), ``"smoothgrad"``
            (SG(t)), ``"gxi"`` (GxI(t)), ``"intgrad"`` (IntGrad(t), default) or
            ``"gradshap"`` (GradSHAP(t)) —, ``"survshap"`` (SurvSHAP(t), Krzyzinski et al.
            2023: exact interventional Shapley values, see
            :mod:`captum_surv.attr.survshap`), ``"survlime"`` (SurvLIME, Kovalev et al.
            2020: returns a :class:`~captum_surv.SurvLIMEExplanation`, see
            :func:`captum_surv.attr.survlime.survlime` for its options), or any Captum
            attribution class (e.g.
            ``captum.attr.KernelShap``) or instance, run over all time points by
            :class:`~captum_surv.TimeAttribution` (every ``captum.attr`` class that takes a
            forward function; pass an instance for layer and neuron methods, e.g.
            ``LayerGradCam(forward, forward.net.conv)``). Integer inputs (category codes)
            are held fixed and get zero attributions. The interaction methods ``"hessian"``
            (Hessian(t)), ``"inthess"`` (IntHess(t), baselines as IntGrad(t); option
            ``n_steps``, default 24 nodes per path parameter) and ``"exphess"``
            (ExpHess(t), the GradSHAP-style variant; baselines: reference rows as
            GradSHAP(t); ``n_steps`` default 16) return a
            :class:`~captum_surv.SurvInteractions` ``[B, T, F, F]`` instead.
        baselines: IntGrad(t): the baseline ``x'`` (``[1, *S]`` or ``[B, *S]``; default
            zeros). GradSHAP(t): the reference rows ``[M, *S]`` (required), e.g.
            :func:`captum_surv.baselines.sample`. SG(t): reference data whose feature
            standard deviations scale the noise (same as ``reference=``). Grad(t) and
            GxI(t) take none (passing some raises). SurvSHAP(t): the background rows ``[M, *S]``
            (required). SurvLIME: the training features. Captum classes: their
            ``baselines``.
        feature_names: Names of the features (a list, or a tuple of lists for tuple
            inputs). Default: DataFrame columns, else ``x0, x1, ...``.
        seed: Seed of the random draws (SG(t), random GradSHAP(t), stochastic Captum
            methods). Default None (not reproducible). Deterministic methods accept and
            do not need it. SG(t) draws the noise row by row, so with the same seed an
            instance's draws depend only on its position in the batch.
        batch_size: Bounds memory; its unit depends on the method. Gradient methods:
            sample points per Jacobian evaluation (about ``batch_size * n_times *
            n_features`` numbers; default 4096). Interaction methods: sample points per
            derivative evaluation (default 2048). SurvSHAP(t) and SurvLIME: network rows per
            forward call. Captum classes: network rows (evaluation points x time points)
            per call (default :data:`captum_surv.attr.DEFAULT_BATCH_SIZE`).
        show_progress: Show a tqdm progress bar. Default False.
        **options: Method options, with Captum's names where Captum has one. An option
            the method does not use (e.g. ``target``, ``n_steps`` for Grad(t), ``n_steps``
            for random GradSHAP(t)) raises a ``ValueError`` naming the accepted ones
            (:data:`captum_surv.attr.methods.METHOD_OPTIONS`):

            * ``n_steps`` (int, default 50): IntGrad(t) integration steps; Gauss-Legendre
              nodes per reference row for deterministic GradSHAP(t).
            * ``integration`` (str, default ``"gausslegendre"``): IntGrad(t)'s scheme, one
              of Captum's ``"gausslegendre"``, ``"riemann_right"``, ``"riemann_left"``,
              ``"riemann_middle"``, ``"riemann_trapezoid"``. For a Captum class whose
              ``attribute`` takes ``method=`` (e.g. ``IntegratedGradients``,
              ``LayerConductance``) it is passed as that ``method``, since ``explain``'s own
              ``method`` names the algorithm.
            * ``n_samples`` (int): SG(t) noise draws (default 10, as in the paper);
              GradSHAP(t) with ``sampling="random"``: random (reference row, path point)
              pairs per instance (default 50).
            * ``noise_level`` (float, default 0.1): SG(t) noise sd relative to each
              feature's sd in the reference data (``baselines`` or ``reference``, at least
              2 rows, e.g. the training data). SG(t) needs reference data or ``stdevs``:
              the explained batch is never used, so an instance's SG(t) does not depend on
              the other instances in the batch.
            * ``stdevs`` (float, or one entry per input tensor): SG(t) absolute noise sd,
              instead of ``noise_level`` and reference data; a single number applies to
              every input tensor. Must be >= 0.
            * ``reference``: reference data for SG(t)'s feature sd.
            * ``sampling`` (str): GradSHAP(t)'s estimator. ``"gausslegendre"`` (default):
              every one of the ``M`` reference rows with ``path_points`` Gauss-Legendre
              nodes, deterministic. ``"uniform"``: every reference row with ``path_points``
              uniform random points, the paper's GradSHAP(t)(k) with ``k = path_points``
              (its simulations use ``M = 99`` rows, k = 5, 25, 50). ``"stratified"``: the
              same with one uniform point in each of ``path_points`` equal sub-intervals.
              ``"random"``: ``n_samples`` random (reference row, path point) pairs, as
              Captum's GradientShap (cheaper, noisier).
            * ``path_points`` (int, default 16; alias ``n_steps``): GradSHAP(t) points per
              reference row. Cost: ``M * path_points`` gradient evaluations per instance
              (recorded as ``options["gradients_per_instance"]``), the paper's
              GradSHAP(t)(k) with ``k = path_points``.
            * ``tolerance`` (float): GradSHAP(t) only: double ``path_points`` (or
              ``n_samples``) until the local accuracy of the worst time point is at most
              ``tolerance`` (up to 1,024; a warning if not reached).
            * ``estimator`` (str, default ``"auto"``): SurvSHAP(t)'s ``"exact"`` (all
              ``2^G`` coalitions, ``2^G * M`` network rows per instance), ``"permutation"``
              (antithetic permutation sampling with a standard error in
              ``expl.standard_error``) or ``"auto"`` (exact up to 20 players).
            * ``n_permutations`` (int, default 100, even): SurvSHAP(t) random orders
              (each used with its reverse).
            * ``feature_mask``: SurvSHAP(t) players: integer group ids ``[*S]`` (a tuple for
              tuple inputs); a group's value is shared equally by its features.
            * ``strategy`` (Captum classes): ``"loop"`` forces one Captum call per time
              point (see :meth:`~captum_surv.TimeAttribution.supported`).
            * any other keyword is passed to the Captum method's ``attribute``.

    Note:
        Integer inputs (e.g. category codes for ``nn.Embedding``, as one tensor of tuple
        inputs or the only input) are not differentiable. The gradient methods hold them
        fixed at the explained values (no noise, no path, their entry of a ``baselines``
        tuple must be None) and return zeros of the floating dtype as their attributions;
        the float inputs are explained exactly as if the integer tensors were fixed
        arguments of the model.

        IntGrad(t) sums to ``Out(t|x) - Out(t|x')`` up to quadrature error: with smooth
        activations 64 Gauss-Legendre steps give about 1e-6 or better in float64; ReLU
        networks converge slowly (about 1e-4 at 1,000 steps). Check
        :meth:`SurvExplanation.completeness_residual` and raise ``n_steps`` if needed.

    Returns:
        A :class:`~captum_surv.SurvExplanation` with attributions ``[B, T, *S]`` (a
        :class:`~captum_surv.SurvInteractions` for the interaction methods, a
        :class:`~captum_surv.SurvLIMEExplanation` for ``"survlime"``).

    Raises:
        TypeError: If ``forward`` is not a SurvivalForward, or inputs are not tensors.
        ValueError: Unknown method, bad option values, shape mismatches, NaN.

    Example:
        >>> fwd = captum_surv.from_pycox(model, times=20)  # doctest: +SKIP
        >>> refs = captum_surv.baselines.sample(x_train, 25, seed=0)  # doctest: +SKIP
        >>> expl = explain(fwd, x_test[:3], "gradshap", refs)  # doctest: +SKIP
        >>> expl.local_accuracy()  # doctest: +SKIP
        >>> shap = explain(fwd, x_test[:3], "survshap", refs)  # exact SurvSHAP(t)  # doctest: +SKIP
    """
    if not isinstance(forward, SurvivalForward):
        raise TypeError(
            f"explain needs a SurvivalForward, got {type(forward).__name__}. Wrap the model "
            "first: forward = captum_surv.from_pycox(model)."
        )
    tensors, frame_names, is_tuple = as_tensors(inputs, "inputs", finite=False)
    baselines = _frames_to_tensors(baselines)
    checked = forward.check_inputs(*tensors)
    names = _feature_names(feature_names, frame_names, is_tuple)

    if isinstance(method, str):
        family = registry.spec(method).family  # raises for an unknown name
        if family == registry.INTERACTION:
            return explain_interactions(
                forward,
                checked,
                method,
                baselines,
                feature_names=names,
                batch_size=batch_size,
                show_progress=show_progress,
                seed=seed,
                **options,
            )
        if family == registry.PEER:
            _check_peer_options(method, options)
        if method == "survlime":
            return survlime(
                forward,
                checked[0] if not is_tuple else checked,
                baselines,
                feature_names=names,
                seed=seed,
                batch_size=batch_size,
                **options,
            )
        if method == "survshap":
            result = survshap_attributions(
                forward,
                checked,
                baselines,
                seed=seed,
                batch_size=batch_size,
                show_progress=show_progress,
                **options,
            )
        else:
            check_options(method, baselines, options)
            result = gradient_attributions(
                forward,
                checked,
                method,
                baselines,
                seed=seed,
                batch_size=DEFAULT_JACOBIAN_POINTS if batch_size is None else batch_size,
                show_progress=show_progress,
                **options,
            )
    elif (inspect.isclass(method) and issubclass(method, Attribution)) or isinstance(
        method, Attribution
    ):
        result = _captum_attributions(
            forward, checked, method, baselines, seed, batch_size, show_progress, options
        )
    else:
        raise ValueError(
            f"method must be one of {list(registry.METHODS)} or a Captum attribution class; "
            f"got {method!r}."
        )
    return _explanation(forward, result, checked, method, names, is_tuple)


def _check_peer_options(method: str, options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(PEER_OPTIONS[method]))
    if unknown:
        raise ValueError(
            f"explain(method={method!r}) got unknown option(s) {unknown}; {method!r} "
            f"accepts {list(PEER_OPTIONS[method])} (and seed, batch_size, show_progress, "
            "feature_names)."
        )


def _explanation(
    forward: SurvivalForward,
    result: MethodResult,
    inputs: tuple[torch.Tensor, ...],
    method: Any,
    names: Any,
    is_tuple: bool,
) -> SurvExplanation:
    """The :class:`SurvExplanation` of a method's result (attributions checked finite)."""
    _check_finite_result(forward, result.attributions, result.prediction)
    explanation = SurvExplanation(
        attributions=_untuple(result.attributions, is_tuple),
        inputs=_untuple(inputs, is_tuple),
        times=forward.times.detach().cpu(),
        prediction=result.prediction,
        reference_prediction=result.reference_prediction,
        method=result.method_name or method,
        options=result.options,
        feature_names=names,
        output=forward.output,
        event=forward.event,
        baselines=_untuple(result.baselines, is_tuple),
    )
    if result.standard_error is not None:
        explanation.standard_error = _untuple(result.standard_error, is_tuple)
    return explanation


def _check_finite_result(
    forward: SurvivalForward, attributions: tuple[torch.Tensor, ...], prediction: torch.Tensor
) -> None:
    """Raise a ValueError that says why, if attributions or predictions are not finite."""
    bad = [
        name
        for name, values in (("attributions", attributions), ("predictions", (prediction,)))
        if not all(bool(torch.isfinite(a).all()) for a in values)
    ]
    if not bad:
        return
    output = forward.output
    message = (
        f"The {' and '.join(bad)} contain NaN or inf: the model's {output!r} output is not "
        "finite (or not differentiable) at some of the inputs or sample points."
    )
    underflow = (prediction == 0).any(dim=1).nonzero().flatten().tolist()
    if output == "survival" and underflow:
        message += (
            f" Survival underflows to exactly 0 for instance(s) {underflow[:10]} (the "
            f"cumulative hazard is too large for {prediction.dtype}), where its gradient is "
            "undefined."
        )
    elif (~torch.isfinite(prediction)).any():
        rows = (~torch.isfinite(prediction)).any(dim=1).nonzero().flatten().tolist()
        message += f" The prediction itself is not finite for instance(s) {rows[:10]}."
    fixes = []
    if prediction.dtype != torch.float64:
        fixes.append("pass float64 inputs (e.g. x.double()), which extend the finite range")
    others = [
        o for o in ("cumhazard", "log_risk") if o != output and o in forward.supported_outputs
    ]
    if others:
        fixes.append(
            f"explain {' or '.join(repr(o) for o in others)} instead "
            f"(fwd.with_output({others[-1]!r})), which stay finite where survival underflows"
        )
    if fixes:
        message += " To fix it, " + ", or ".join(fixes) + "."
    raise ValueError(message)


def _reference_prediction(
    forward: SurvivalForward,
    used: tuple[torch.Tensor, ...],
    inputs: tuple[torch.Tensor, ...],
    distribution: bool,
) -> torch.Tensor:
    """The forward at the baselines, ``[B, T]``; integer inputs stay at the explained codes.

    One baseline row or one per instance: the forward at those rows. Several reference rows
    (distribution methods such as GradientShap): the mean over them, per instance.
    """
    n = inputs[0].shape[0]
    fixed = [not x.is_floating_point() for x in inputs]
    if not any(fixed):
        out = forward(*used)
        if distribution or out.shape[0] not in (1, n):
            out = out.mean(dim=0, keepdim=True)
        return out.expand(n, -1).clone()
    rows = max(u.shape[0] for u, f in zip(used, fixed, strict=True) if not f)
    if not distribution and rows in (1, n):
        return forward(
            *(u if f else u.expand(n, *u.shape[1:]) for u, f in zip(used, fixed, strict=True))
        )
    outs = [
        forward(
            *(
                u if f else u[m : m + 1].expand(n, *u.shape[1:])
                for u, f in zip(used, fixed, strict=True)
            )
        )
        for m in range(rows)
    ]
    return torch.stack(outs).mean(dim=0)


def _untuple(value: Any, is_tuple: bool) -> Any:
    if value is None or is_tuple:
        return value
    return value[0]


def _captum_attributions(
    forward: SurvivalForward,
    inputs: tuple[torch.Tensor, ...],
    method: Any,
    baselines: Any,
    seed: int | None,
    batch_size: int | None,
    show_progress: bool,
    options: dict[str, Any],
) -> MethodResult:
    if inspect.isclass(method):
        required = [
            p.name
            for p in list(inspect.signature(method.__init__).parameters.values())[2:]
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if required:
            raise TypeError(
                f"{method.__name__} needs {', '.join(required)} besides the forward: pass an "
                f"instance, e.g. {method.__name__}(forward, forward.net.<layer>), with a layer "
                "of forward.net."
            )
        algorithm = method(forward)
    else:
        algorithm = method
    if seed is not None:
        torch.manual_seed(seed)
        np.random.seed(seed)
    kwargs = dict(options)
    strategy = kwargs.pop("strategy", None)
    if "integration" in kwargs:
        # explain's own ``method`` argument names the algorithm, so Captum's ``method=`` (the
        # integration scheme) travels under the package's name for it
        inner = getattr(algorithm, "attribution_method", algorithm)
        if "method" not in inspect.signature(inner.attribute).parameters:
            raise ValueError(
                f"integration= was given, but {type(inner).__name__}.attribute has no "
                "integration scheme (Captum's method=); drop the option."
            )
        kwargs["method"] = kwargs.pop("integration")
    takes_baselines = "baselines" in inspect.signature(algorithm.attribute).parameters
    if baselines is not None:
        kwargs["baselines"] = baselines
    wrapper = TimeAttribution(
        algorithm, batch_size=batch_size, show_progress=show_progress, strategy=strategy
    )
    attributions = wrapper.attribute(
        inputs if len(inputs) > 1 else inputs[0],
        **kwargs,
    )
    with torch.no_grad():
        prediction = forward(*inputs)
        reference_prediction = None
        used = None
        if takes_baselines:
            given = (None,) * len(inputs) if baselines is None else as_tuple(baselines)
            # integer inputs are held fixed: their "baseline" is the explained codes
            used = tuple(
                x
                if not x.is_floating_point()
                else torch.zeros((1, *x.shape[1:]), dtype=x.dtype)
                if b is None
                else torch.full((1, *x.shape[1:]), float(b), dtype=x.dtype)
                if isinstance(b, (int, float))
                else torch.as_tensor(b, dtype=x.dtype).reshape(-1, *x.shape[1:])
                for b, x in zip(given, inputs, strict=True)
            )
            distribution = _strategies.has_distribution_baselines(algorithm)
            reference_prediction = _reference_prediction(forward, used, inputs, distribution)
    name = type(algorithm).__name__
    json_options = {k: v for k, v in options.items() if isinstance(v, (int, float, str, bool))}
    json_options.update(seed=seed, batch_size=batch_size, strategy=wrapper.strategy)
    return MethodResult(
        attributions=as_tuple(attributions),
        prediction=prediction,
        reference_prediction=reference_prediction,
        baselines=used,
        options=json_options,
        method_name=name,
    )
