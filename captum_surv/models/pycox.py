"""from_pycox(): build a SurvivalForward from any pycox model."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pycox import models as pycox_models
from pycox.models.utils import make_subgrid
from torch import nn

from captum_surv._compat import is_pycox_proportional_hazards
from captum_surv.models.base import SurvivalForward, forward_options, freeze
from captum_surv.models.cox import CoxCCForward, CoxForward, breslow_jumps, finite_baseline
from captum_surv.models.coxtime import CoxTimeForward, original_times
from captum_surv.models.deephit import DeepHitForward
from captum_surv.models.discrete import (
    BCESurvForward,
    DeepHitSingleForward,
    LogisticHazardForward,
    MTLRForward,
    PCHazardForward,
    PMFForward,
)

# Most specific classes first: DeepHitSingle and MTLR derive from pycox's PMF base,
# CoxTime from CoxCC's base.
_DISCRETE: list[tuple[type, type[SurvivalForward]]] = [
    (pycox_models.DeepHitSingle, DeepHitSingleForward),
    (pycox_models.MTLR, MTLRForward),
    (pycox_models.PMF, PMFForward),
    (pycox_models.LogisticHazard, LogisticHazardForward),
    (pycox_models.BCESurv, BCESurvForward),
    (pycox_models.PCHazard, PCHazardForward),
]
SUPPORTED_MODELS = (
    "CoxPH",
    "CoxCC",
    "CoxTime",
    "LogisticHazard",
    "PMF",
    "DeepHitSingle",
    "MTLR",
    "BCESurv",
    "PCHazard",
    "DeepHit",
)


def from_pycox(
    model: Any,
    output: str = "survival",
    times: int | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    event: int | None = None,
    *,
    interpolation: str | None = None,
    clamp: bool = False,
    condition_time: float | None = None,
) -> SurvivalForward:
    """Wrap a trained pycox model as a differentiable ``[batch, n_times]`` forward.

    The result is a ``torch.nn.Module`` usable as the forward function of any Captum
    algorithm, with ``target=k`` meaning time point ``times[k]``. Its network is a frozen,
    eval-mode copy of ``model.net``: the model itself is never modified. Inputs may be
    tensors, numpy arrays or pandas DataFrames, float32 or float64.

    Args:
        model: A trained pycox model: ``CoxPH``, ``CoxCC``, ``CoxTime``, ``LogisticHazard``,
            ``PMF``, ``DeepHitSingle``, ``MTLR``, ``BCESurv``, ``PCHazard`` or ``DeepHit``.
            Cox models need baseline hazards (``model.compute_baseline_hazards()``).
        output: The quantity returned at each time, see :mod:`captum_surv.outputs`:
            ``"survival"`` (default), ``"cumhazard"``, ``"hazard"``, ``"pmf"``, ``"cif"``,
            ``"log_risk"``, ``"conditional_survival"``, ``"conditional_cumhazard"``.
        times: ``None`` (default) for the model's native grid (Cox models: the times where
            the baseline hazard jumps; discrete models: their cuts; PCHazard: its sub-grid).
            An *integer scalar* ``n`` (``int``, numpy integer, or 0-d integer array or
            tensor) asks for n native times at evenly spaced positions. Anything else
            lists time values in original units: a ``float`` (``5.0`` is the time 5, while
            ``5`` is five grid points) or an increasing 1-D list, array or tensor (of
            floats or integers). Booleans are rejected.
        event: DeepHit with competing risks only: the cause index ``r`` (0-based, as in
            pycox's ``predict_cif(x)[r]``) for ``"cif"``, ``"pmf"`` and ``"hazard"``.
        interpolation: How times between native grid points are read: ``"step"`` (Cox
            models; always), ``"const_pdf"`` (default for discrete models; linear survival as
            pycox's ``interpolate``), ``"const_hazard"`` (LogisticHazard, and the default for
            PCHazard). Before the first native time survival is 1.
        clamp: If False (default), times past the model's last time raise an error; if True
            they get the value at the last time (a ``UserWarning`` says so when this makes
            several grid times equal).
        condition_time: The time ``s`` the patient is known to have survived to, for the
            conditional outputs (``S(t|x) / S(s|x)`` and ``H(t|x) - H(s|x)``; default None).

    Returns:
        A :class:`~captum_surv.SurvivalForward`.

    Raises:
        TypeError: If ``model`` is not a supported pycox model.
        ValueError: For missing baseline hazards or label transforms, a ``duration_index``
            (cuts) that does not fit the network's output width, unknown or unsupported
            outputs, bad ``event`` or times outside the model's range.

    Example:
        >>> from captum.attr import IntegratedGradients
        >>> fwd = from_pycox(model, times=[365.0, 730.0])  # doctest: +SKIP
        >>> IntegratedGradients(fwd).attribute(x, target=fwd.time_index(730.0))  # doctest: +SKIP
    """
    common = forward_options(
        output=output,
        times=times,
        event=event,
        interpolation=interpolation,
        clamp=clamp,
        condition_time=condition_time,
    )
    if isinstance(model, pycox_models.CoxTime):
        return _coxtime(model, common)
    if isinstance(model, (pycox_models.CoxPH, pycox_models.CoxCC)) or is_pycox_proportional_hazards(
        model
    ):
        return _cox(model, common)
    if isinstance(model, pycox_models.DeepHit):
        return _deephit(model, common)
    for cls, forward_cls in _DISCRETE:
        if isinstance(model, cls):
            return _discrete(model, forward_cls, common)
    raise TypeError(
        f"from_pycox expects a trained pycox model, got {type(model).__module__}."
        f"{type(model).__name__}. Supported models: {', '.join(SUPPORTED_MODELS)}."
    )


def _net(model: Any) -> nn.Module:
    net = getattr(model, "net", None)
    if not isinstance(net, nn.Module):
        raise TypeError(f"{type(model).__name__} has no torch network in model.net.")
    bad = [name for name, p in net.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise ValueError(
            f"The {type(model).__name__} network has NaN or inf weights ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}); training diverged. Retrain it, e.g. with a "
            "lower learning rate or, for Cox models, batches that each contain events."
        )
    return freeze(net)


def _input_spec(model: Any, extra_inputs: int = 0) -> dict[str, Any]:
    """Number of input tensors and per-instance shapes the network was trained on."""
    info = getattr(model, "fit_info", None) or {}
    recorded = info.get("input") if isinstance(info, dict) else None
    if recorded and all(level == 0 for level in recorded.get("levels", (1,))):
        shapes = [torch.Size(s) for s in recorded["shapes"]]
        if extra_inputs:
            shapes = shapes[:-extra_inputs]
        return {"n_inputs": len(shapes), "input_shapes": shapes}
    params = [
        p
        for p in inspect.signature(model.net.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return {"n_inputs": max(1, len(params) - extra_inputs), "input_shapes": None}


def _cox(model: Any, common: dict[str, Any]) -> SurvivalForward:
    name = type(model).__name__
    if getattr(model, "baseline_hazards_", None) is None:
        raise ValueError(
            f"The {name} model has no baseline hazards. Call "
            "model.compute_baseline_hazards() (after fitting, or with input and target) "
            "before from_pycox."
        )
    jumps, cumulative, upper = breslow_jumps(model.baseline_hazards_)
    cls = CoxCCForward if isinstance(model, pycox_models.CoxCC) else CoxForward
    return cls(
        _net(model),
        native_times=jumps,
        upper_time=upper,
        native_cumhazard=cumulative,
        **_input_spec(model),
        **common,
    )


def _coxtime(model: Any, common: dict[str, Any]) -> SurvivalForward:
    labtrans = getattr(model, "labtrans", None)
    if labtrans is None:
        raise ValueError(
            "The CoxTime model has no label transform (model.labtrans is None), so its "
            "scaled times cannot be mapped to original units. Create it with "
            "CoxTime(net, optimizer, labtrans=labtrans) using the LabTransCoxTime fitted on "
            "the training durations, or set model.labtrans = labtrans."
        )
    if getattr(model, "baseline_hazards_", None) is None:
        raise ValueError(
            "The CoxTime model has no baseline hazards. Call model.compute_baseline_hazards() "
            "or captum_surv.compute_coxtime_baseline_hazards(model, set_hazards=True) (much "
            "faster) before from_pycox."
        )
    base = model.baseline_hazards_
    scaled = np.asarray(base.index, dtype=np.float64)
    values = finite_baseline(base)
    jumps = values > 0
    orig = original_times(labtrans, scaled)
    return CoxTimeForward(
        _net(model),
        native_times=orig[jumps],
        upper_time=float(orig.max()),
        scaled_native=scaled[jumps],
        native_hazard=values[jumps],
        labtrans=labtrans,
        **_input_spec(model, extra_inputs=1),
        **common,
    )


def _cuts(model: Any) -> np.ndarray:
    cuts = getattr(model, "duration_index", None)
    if cuts is None:
        raise ValueError(
            f"The {type(model).__name__} model has no duration_index, so its output columns "
            "have no times. Set model.duration_index = labtrans.cuts (the cuts of the label "
            "transform used for training)."
        )
    return np.asarray(cuts, dtype=np.float64)


def _discrete(model: Any, cls: type[SurvivalForward], common: dict[str, Any]) -> SurvivalForward:
    cuts = _cuts(model)
    family: dict[str, Any] = {}
    native = cuts
    if cls is PCHazardForward:
        family["sub"] = int(model.sub)
        native = np.asarray(make_subgrid(cuts, model.sub), dtype=np.float64)
    spec = _input_spec(model)
    net = _net(model)
    width = _probe_width(net, spec)
    forward = cls(
        net,
        native_times=native,
        upper_time=float(native[-1]),
        **family,
        **spec,
        **common,
    )
    if width is not None:
        forward.check_network_width(width)
    return forward


def _probe_width(net: nn.Module, spec: dict[str, Any]) -> int | None:
    """The network's output width on a zero input of the training shapes (None if unknown).

    Networks that do not take floating zeros (e.g. embeddings) are checked at the first
    forward call instead.
    """
    shapes = spec["input_shapes"]
    param = next(iter(net.parameters()), None)
    if shapes is None or param is None:
        return None
    probe = tuple(torch.zeros((2, *s), dtype=param.dtype, device=param.device) for s in shapes)
    try:
        with torch.no_grad():
            out = net(*probe)
    except Exception:  # noqa: BLE001 - any failure: leave the check to the first call
        return None
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        return None
    return int(out.shape[1])


def _deephit(model: Any, common: dict[str, Any]) -> SurvivalForward:
    cuts = _cuts(model)
    net = _net(model)
    spec = _input_spec(model)
    n_risks = _deephit_risks(net, spec, len(cuts))
    return DeepHitForward(
        net,
        native_times=cuts,
        upper_time=float(cuts[-1]),
        n_risks=n_risks,
        **spec,
        **common,
    )


def _deephit_risks(net: nn.Module, spec: dict[str, Any], n_cuts: int) -> int:
    """Number of competing risks, read off the network's output shape."""
    shapes = spec["input_shapes"]
    if shapes is None:
        raise ValueError(
            "Cannot tell the number of competing risks of this DeepHit model: it has not been "
            "fitted with pycox (no model.fit_info). Fit it first."
        )
    out = _probe(net, shapes)
    if out.dim() != 3 or out.shape[2] != n_cuts:
        raise ValueError(
            f"DeepHit's network returns shape {tuple(out.shape)}, but the model's "
            f"duration_index has {n_cuts} cuts: the network should return "
            f"[batch, n_risks, {n_cuts}]. Set model.duration_index to the cuts of the label "
            "transform the network was trained with (labtrans.cuts)."
        )
    return int(out.shape[1])


def _probe(net: nn.Module, shapes: Sequence[torch.Size]) -> torch.Tensor:
    """The network's output for two rows of zeros of the recorded input shapes.

    pycox records shapes but not dtypes, and an input may be integer codes (``nn.Embedding``
    rejects float zeros): try float inputs first, then integer zeros for some of them.
    """
    param = next(net.parameters())
    first_error: Exception | None = None
    for kinds in itertools.product((param.dtype, torch.long), repeat=len(shapes)):
        probe = tuple(
            torch.zeros((2, *s), dtype=k, device=param.device)
            for s, k in zip(shapes, kinds, strict=True)
        )
        try:
            with torch.no_grad():
                return net(*probe)
        except (RuntimeError, TypeError, IndexError) as err:
            first_error = first_error or err
    raise ValueError(
        f"Cannot evaluate the DeepHit network on zeros of its training input shapes "
        f"{[tuple(s) for s in shapes]} (float or integer) to read its number of risks: "
        f"{first_error}"
    ) from first_error
