"""The one table of explanation methods: names, display names, options and strategies.

:func:`~captum_surv.explain`, :class:`~captum_surv.TimeAttribution`,
:func:`~captum_surv.explain_dataset`, the plots and the README all read the methods from
here. Adding a built-in method is one :class:`MethodSpec` entry in :data:`METHODS` (plus its
implementation); supporting a new Captum class is one entry in :data:`CAPTUM_METHODS`.
This module imports nothing from the rest of the package, so every module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CAPTUM_METHODS",
    "FORWARD_REPLAY",
    "GRADIENT_REPLAY",
    "LOOP",
    "METHODS",
    "MULTI_OUTPUT",
    "MethodSpec",
    "STACKED",
    "TARGET_FREE",
    "display_name",
    "markdown_table",
    "method_names",
    "spec",
]

# ----------------------------------------------------------------------- strategy names
# How TimeAttribution runs a Captum class over all time points (see
# captum_surv.attr.strategies). The values are public: TimeAttribution.supported() returns them.
STACKED = "stacked rows"
GRADIENT_REPLAY = "gradient replay"
MULTI_OUTPUT = "native multi-output"
"""Captum evaluates each perturbation once for all outputs (``target=None``). The value says
"native" because Captum's own multi-output path is used; it has nothing to do with a model's
native time grid."""
FORWARD_REPLAY = "forward replay"
TARGET_FREE = "target-free"
LOOP = "loop"

# families of methods
GRADIENT = "gradient"
"""The gradient methods of Langbein et al. (2025), computed by the Jacobian engine."""
PEER = "peer"
"""Model-agnostic methods of other packages, computed here (SurvSHAP(t), SurvLIME)."""
INTERACTION = "interaction"
"""Second-order methods returning a :class:`~captum_surv.SurvInteractions`."""
CAPTUM = "captum"
"""A ``captum.attr`` class run over every time point by TimeAttribution."""

# what a method does with ``baselines``
NO_BASELINES = "none"
OPTIONAL_BASELINES = "optional"
REQUIRED_BASELINES = "required"


@dataclass(frozen=True)
class MethodSpec:
    """One explanation method.

    Attributes:
        name: The name ``explain`` takes (a string method) or the Captum class name.
        display_name: The name used in plot titles, legends and tables, e.g. ``"IntGrad(t)"``.
        family: ``"gradient"``, ``"peer"``, ``"interaction"`` or ``"captum"``.
        summary: One line for the README's method table.
        options: ``explain``'s keyword options of the method (besides ``seed``,
            ``batch_size``, ``show_progress`` and ``feature_names``). Empty for Captum
            classes, which take their ``attribute`` arguments.
        baselines: ``"none"``, ``"optional"`` or ``"required"``.
        randomised: Whether the method can draw random numbers (then ``seed`` reproduces it).
        strategy: For Captum classes, how :class:`~captum_surv.TimeAttribution` runs them
            over the time points (one of the strategy names of this module); None otherwise.
        cohort: Whether :func:`~captum_surv.explain_dataset` runs the method.
    """

    name: str
    display_name: str
    family: str
    summary: str = ""
    options: tuple[str, ...] = ()
    baselines: str = NO_BASELINES
    randomised: bool = False
    strategy: str | None = None
    cohort: bool = False


def _built_in(*specs: MethodSpec) -> dict[str, MethodSpec]:
    return {s.name: s for s in specs}


METHODS: dict[str, MethodSpec] = _built_in(
    MethodSpec(
        "grad",
        "Grad(t)",
        GRADIENT,
        "signed gradient of the output at each time point (Langbein et al. 2025)",
        cohort=True,
    ),
    MethodSpec(
        "smoothgrad",
        "SG(t)",
        GRADIENT,
        "gradient averaged over Gaussian noise scaled by reference data's feature sd",
        options=("n_samples", "noise_level", "stdevs", "reference"),
        baselines=OPTIONAL_BASELINES,
        randomised=True,
        cohort=True,
    ),
    MethodSpec(
        "gxi",
        "GxI(t)",
        GRADIENT,
        "gradient times input",
        cohort=True,
    ),
    MethodSpec(
        "intgrad",
        "IntGrad(t)",
        GRADIENT,
        "integrated gradients from a baseline (default zeros)",
        options=("n_steps", "integration"),
        baselines=OPTIONAL_BASELINES,
        cohort=True,
    ),
    MethodSpec(
        "gradshap",
        "GradSHAP(t)",
        GRADIENT,
        "integrated gradients averaged over reference rows (expected gradients)",
        options=("sampling", "path_points", "n_steps", "n_samples", "tolerance"),
        baselines=REQUIRED_BASELINES,
        randomised=True,
        cohort=True,
    ),
    MethodSpec(
        "survshap",
        "SurvSHAP(t)",
        PEER,
        "interventional Shapley values over background rows (Krzyzinski et al. 2023)",
        options=("feature_mask", "estimator", "n_permutations"),
        baselines=REQUIRED_BASELINES,
        randomised=True,
    ),
    MethodSpec(
        "survlime",
        "SurvLIME",
        PEER,
        "local Cox surrogate fitted to the cumulative hazard (Kovalev et al. 2020)",
        options=("durations", "events", "n_neighbours", "kernel_width", "neighbours", "weights"),
        baselines=REQUIRED_BASELINES,
        randomised=True,
    ),
    MethodSpec(
        "hessian",
        "Hessian(t)",
        INTERACTION,
        "local second derivatives of the output, [B, T, F, F]",
    ),
    MethodSpec(
        "inthess",
        "IntHess(t)",
        INTERACTION,
        "integrated Hessians from a baseline (Janizek et al. 2021)",
        options=("n_steps",),
        baselines=OPTIONAL_BASELINES,
    ),
    MethodSpec(
        "exphess",
        "ExpHess(t)",
        INTERACTION,
        "integrated Hessians averaged over reference rows",
        options=("n_steps",),
        baselines=REQUIRED_BASELINES,
    ),
)
"""The methods ``explain`` takes by name, in the order the documentation lists them."""


def _captum(strategy: str, names: str, randomised: bool = False) -> dict[str, MethodSpec]:
    return {
        n: MethodSpec(n, n, CAPTUM, strategy=strategy, randomised=randomised) for n in names.split()
    }


CAPTUM_METHODS: dict[str, MethodSpec] = {
    # hook-free input gradients (gradients of all time points once per distinct point)
    **_captum(STACKED, "Saliency InputXGradient IntegratedGradients"),
    # methods that hook the network's modules, and layer / neuron methods with a target
    **_captum(
        STACKED,
        "DeepLift DeepLiftShap GuidedBackprop Deconvolution GuidedGradCam LRP LayerLRP "
        "LayerIntegratedGradients LayerConductance InternalInfluence LayerGradCam "
        "LayerGradientXActivation LayerDeepLift LayerDeepLiftShap NeuronConductance",
    ),
    # random draws per call
    **_captum(GRADIENT_REPLAY, "GradientShap", randomised=True),
    **_captum(LOOP, "LayerGradientShap", randomised=True),
    # perturbations
    **_captum(MULTI_OUTPUT, "FeatureAblation Occlusion ShapleyValues LayerFeatureAblation"),
    **_captum(
        MULTI_OUTPUT,
        "FeaturePermutation ShapleyValueSampling LayerFeaturePermutation",
        randomised=True,
    ),
    **_captum(FORWARD_REPLAY, "Lime KernelShap LimeBase", randomised=True),
    # no target: a neuron or a layer activation is explained
    **_captum(
        TARGET_FREE,
        "LayerActivation NeuronGradient NeuronIntegratedGradients NeuronDeepLift "
        "NeuronDeepLiftShap NeuronGuidedBackprop NeuronDeconvolution NeuronFeatureAblation",
    ),
    **_captum(TARGET_FREE, "NeuronGradientShap", randomised=True),
    # a wrapper: its strategy follows the wrapped method (strategies.noise_tunnel_strategy)
    **_captum(LOOP, "NoiseTunnel", randomised=True),
}
"""Every ``captum.attr`` class TimeAttribution runs, with its default strategy (looked up
along a class's MRO, so subclasses inherit the strategy of the Captum class they extend)."""


def method_names(family: str | None = None) -> tuple[str, ...]:
    """The names ``explain`` takes, in documentation order (of one family if given).

    Example:
        >>> method_names("gradient")
        ('grad', 'smoothgrad', 'gxi', 'intgrad', 'gradshap')
    """
    return tuple(n for n, s in METHODS.items() if family is None or s.family == family)


def spec(method: str) -> MethodSpec:
    """The entry of a method ``explain`` takes by name.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    found = METHODS.get(method)
    if found is None:
        raise ValueError(
            f"Unknown method {method!r}. Valid methods: {list(METHODS)}, or a Captum "
            "attribution class such as captum.attr.KernelShap."
        )
    return found


def display_name(method: str) -> str:
    """The name to show for a method in figures and tables.

    Built-in methods get the paper's notation (``"intgrad"`` -> ``"IntGrad(t)"``); Captum
    class names and any other string are returned as they are.

    Example:
        >>> display_name("gradshap"), display_name("KernelShap")
        ('GradSHAP(t)', 'KernelShap')
    """
    found = METHODS.get(method)
    return method if found is None else found.display_name


def markdown_table() -> str:
    """The methods ``explain`` takes by name as a Markdown table (pasted in the README)."""
    lines = ["| method | name | what | baselines | seeded draws |", "|---|---|---|---|---|"]
    for s in METHODS.values():
        lines.append(
            f"| `{s.name!r}` | {s.display_name} | {s.summary} | {s.baselines} | "
            f"{'yes' if s.randomised else 'no'} |"
        )
    return "\n".join(lines).replace("`'", '`"').replace("'`", '"`')
