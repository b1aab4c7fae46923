"""Which strategy runs each ``captum.attr`` class in :class:`~captum_surv.TimeAttribution`.

Reads the class -> strategy table from :mod:`captum_surv.attr.registry` and holds the facts
about Captum's classes that the strategies rely on (which hook modules, which draw
baselines from a distribution, which take no ``target``). With
:mod:`captum_surv.attr.captum_protocol` it is a compatibility surface with Captum; the
strategies are explained in ``docs/developer.md``.
"""

from __future__ import annotations

import inspect
from typing import Any

import captum.attr as _attr

from captum_surv.attr.registry import (
    CAPTUM_METHODS,
    FORWARD_REPLAY,
    GRADIENT_REPLAY,
    LOOP,
    MULTI_OUTPUT,
    STACKED,
    TARGET_FREE,
)

__all__ = [
    "FORWARD_REPLAY",
    "GRADIENT_REPLAY",
    "LOOP",
    "MULTI_OUTPUT",
    "NATIVE",
    "NOT_APPLICABLE",
    "STACKED",
    "STRATEGIES",
    "TARGET_FREE",
    "strategy_table",
]

NATIVE = MULTI_OUTPUT
"""Former name of :data:`MULTI_OUTPUT` (kept for code that imported it)."""

STRATEGIES: dict[str, str] = {
    STACKED: "one Captum call on instances x time points stacked as rows; one backward pass "
    "of the summed outputs where Captum exposes the gradient function",
    GRADIENT_REPLAY: "one pass per time point with the random state replayed; the gradients "
    "of all time points are computed in the first pass",
    MULTI_OUTPUT: "Captum evaluates each perturbation once for all time points (target=None)",
    FORWARD_REPLAY: "one surrogate fit per time point; perturbations drawn and evaluated once",
    TARGET_FREE: "the method takes no target (a neuron or a layer's activation is explained): "
    "one call, repeated along the time axis",
    LOOP: "one Captum call per time point, the random state replayed before each",
}
"""Strategy name -> one-line description."""

# Captum class name -> strategy, read from the method registry.
_BY_NAME: dict[str, str] = {name: s.strategy for name, s in CAPTUM_METHODS.items()}

NOT_APPLICABLE: dict[str, str] = {
    "Attribution": "abstract base class",
    "GradientAttribution": "abstract base class",
    "PerturbationAttribution": "abstract base class",
    "LayerAttribution": "abstract base class",
    "NeuronAttribution": "abstract base class",
    "DataLoaderAttribution": "attributes a whole DataLoader through another attribution; "
    "wrap the inner method in TimeAttribution instead",
    "LLMAttribution": "explains a language model's generated text, not a forward function",
    "LLMGradientAttribution": "explains a language model's generated text, not a forward function",
    "RemoteLLMAttribution": "explains a remote language model, not a forward function",
}
"""Public ``captum.attr`` attribution classes that take no forward function, with why."""

# Facts about Captum's call protocols that the strategies rely on (class names).
_HOOK_FREE_INPUT_GRADIENTS = ("Saliency", "InputXGradient", "IntegratedGradients")
_DISTRIBUTION_BASELINES = (
    "GradientShap",
    "DeepLiftShap",
    "LayerDeepLiftShap",
    "LayerGradientShap",
    "NeuronGradientShap",
    "NeuronDeepLiftShap",
)
_MODULE_HOOKS = (
    "DeepLift",
    "GuidedBackprop",
    "Deconvolution",
    "GuidedGradCam",
    "LRP",
    "LayerAttribution",
    "NeuronAttribution",
)
_PERTURBATION_INNER = ("PerturbationAttribution",)


def _captum_classes(names: tuple[str, ...]) -> tuple[type, ...]:
    return tuple(getattr(_attr, n) for n in names if isinstance(getattr(_attr, n, None), type))


def _mro_names(method: Any) -> list[str]:
    return [cls.__name__ for cls in type(method).__mro__ if cls.__module__.startswith("captum.")]


def _first_match(method: Any, names: tuple[str, ...] | dict[str, Any]) -> str | None:
    for name in _mro_names(method):
        if name in names:
            return name
    return None


def strategy_of(method: Any) -> str | None:
    """The default strategy of a Captum attribution instance (``None``: not supported)."""
    name = _first_match(method, _BY_NAME)
    if name is None:
        return None
    if name == "NoiseTunnel":
        return noise_tunnel_strategy(method.attribution_method)
    return _BY_NAME[name]


def noise_tunnel_strategy(inner: Any) -> str | None:
    """Strategy for ``NoiseTunnel(inner)`` (``None``: the inner method is not supported)."""
    inner_strategy = strategy_of(inner)
    if inner_strategy is None:
        return None
    if inner_strategy == TARGET_FREE or not takes_target(inner):
        return TARGET_FREE
    if is_hook_free_input_gradient(inner):
        return GRADIENT_REPLAY
    return LOOP  # noise is drawn per call for the whole batch: stacking would change it


def takes_target(method: Any) -> bool:
    """Whether ``method.attribute`` takes a ``target`` (NoiseTunnel: its inner method's)."""
    inner = getattr(method, "attribution_method", None)
    if _first_match(method, ("NoiseTunnel",)) is not None and inner is not None:
        return takes_target(inner)
    return "target" in inspect.signature(method.attribute).parameters


def is_hook_free_input_gradient(method: Any) -> bool:
    """Saliency, InputXGradient, IntegratedGradients (and subclasses)."""
    return _first_match(method, _HOOK_FREE_INPUT_GRADIENTS) is not None and not (
        uses_module_hooks(method)
    )


def has_distribution_baselines(method: Any) -> bool:
    """Whether ``baselines`` are a distribution of reference rows, not one per instance."""
    return _first_match(method, _DISTRIBUTION_BASELINES) is not None


def uses_module_hooks(method: Any) -> bool:
    """Whether the method hooks modules of the forward's network (layers, DeepLift, ...)."""
    return _first_match(method, _MODULE_HOOKS) is not None


def is_perturbation(method: Any) -> bool:
    """Whether the method perturbs inputs (ablation, permutation, Shapley sampling, LIME)."""
    return _first_match(method, _PERTURBATION_INNER) is not None


def is_ablation(method: Any) -> bool:
    """FeatureAblation itself (not its permutation, occlusion or layer variants)."""
    return _first_match(method, ("FeaturePermutation", "Occlusion", "FeatureAblation")) == (
        "FeatureAblation"
    ) and not attributes_layer(method)


def attributes_layer(method: Any) -> bool:
    """Whether the result is per layer unit (layer methods), not per input feature."""
    return _first_match(method, ("LayerAttribution",)) is not None


def layers_of(method: Any) -> list[Any]:
    """The modules a layer, neuron or Grad-CAM method hooks (nested wrappers included)."""
    found: list[Any] = []
    for owner in (method, getattr(method, "attribution_method", None)):
        if owner is None:
            continue
        for candidate in (owner, getattr(owner, "grad_cam", None)):
            layer = getattr(candidate, "layer", None)
            if layer is None:
                continue
            found.extend(layer if isinstance(layer, (list, tuple)) else [layer])
    return found


def strategy_table() -> list[tuple[str, str]]:
    """``(Captum class name, strategy)`` for every supported ``captum.attr`` class.

    ``NoiseTunnel`` is listed with the strategies it takes depending on the wrapped method.
    """
    rows = []
    for name in sorted(_BY_NAME):
        if not isinstance(getattr(_attr, name, None), type):
            continue
        if name == "NoiseTunnel":
            rows.append(
                (
                    "NoiseTunnel",
                    f"{GRADIENT_REPLAY} around Saliency, InputXGradient or IntegratedGradients;"
                    f" {TARGET_FREE} around a target-free method; {LOOP} around any other",
                )
            )
            continue
        rows.append((name, _BY_NAME[name]))
    return rows


def markdown_table() -> str:
    """The supported classes and their strategies as a Markdown table (for the README)."""
    by_strategy: dict[str, list[str]] = {}
    noise_tunnel = None
    for name, strategy in strategy_table():
        if name == "NoiseTunnel":
            noise_tunnel = strategy
            continue
        by_strategy.setdefault(strategy, []).append(name)
    lines = ["| strategy | Captum classes | how |", "|---|---|---|"]
    for strategy, description in STRATEGIES.items():
        names = by_strategy.get(strategy, [])
        if strategy == LOOP:
            names = [*names, "NoiseTunnel around other methods"]
        if strategy == GRADIENT_REPLAY and noise_tunnel is not None:
            names = [*names, "NoiseTunnel around Saliency, InputXGradient, IntegratedGradients"]
        if strategy == TARGET_FREE and noise_tunnel is not None:
            names = [*names, "NoiseTunnel around these"]
        lines.append(f"| {strategy} | {', '.join(names)} | {description} |")
    return "\n".join(lines)


def captum_attribution_classes() -> dict[str, type]:
    """Every public ``captum.attr`` attribution class, by name."""
    base = _attr.Attribution
    return {
        name: obj
        for name in dir(_attr)
        if isinstance(obj := getattr(_attr, name), type) and issubclass(obj, base)
    }


def known_class_names() -> set[str]:
    """Names that this module classifies (supported or not applicable)."""
    return set(_BY_NAME) | set(NOT_APPLICABLE)
