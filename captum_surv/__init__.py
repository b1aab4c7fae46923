"""captum_surv: Captum attributions for deep survival models, over the whole time grid.

Wrap a trained pycox model with :func:`from_pycox`, or any torch survival network with
:func:`from_module`, to get a differentiable forward whose output columns are time points;
any Captum algorithm then explains it with ``target=k``.

Reference: S. H. Langbein, N. Koenen, M. N. Wright. "Gradient-based Explanations for Deep
Learning Survival Models" (2025).
"""

from captum_surv import baselines, datasets
from captum_surv.attr import SUPPORTED_ATTRIBUTIONS, TimeAttribution
from captum_surv.attr.explain import explain
from captum_surv.attr.interactions import INTERACTION_METHODS, SurvInteractions
from captum_surv.attr.methods import METHODS
from captum_surv.attr.survlime import SurvLIMEExplanation
from captum_surv.cohort import CohortExplanation, explain_dataset
from captum_surv.effects import FeatureEffect, accumulated_local_effects, partial_dependence
from captum_surv.explanation import SurvExplanation
from captum_surv.importance import LOSSES, PermutationImportance, permutation_importance
from captum_surv.models import (
    KINDS,
    SUPPORTED_MODELS,
    SurvivalForward,
    compute_coxtime_baseline_hazards,
    from_module,
    from_pycox,
)
from captum_surv.outputs import OUTPUTS

_LAZY_SUBMODULES = ("plot",)  # imported on first access (matplotlib is slow to import)


def __getattr__(name: str) -> object:
    """Import the submodules in ``_LAZY_SUBMODULES`` on first attribute access."""
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f"captum_surv.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'captum_surv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY_SUBMODULES])


__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "INTERACTION_METHODS",
    "LOSSES",
    "CohortExplanation",
    "METHODS",
    "OUTPUTS",
    "SUPPORTED_ATTRIBUTIONS",
    "SUPPORTED_MODELS",
    "FeatureEffect",
    "PermutationImportance",
    "SurvExplanation",
    "SurvInteractions",
    "SurvLIMEExplanation",
    "SurvivalForward",
    "TimeAttribution",
    "__version__",
    "accumulated_local_effects",
    "baselines",
    "datasets",
    "compute_coxtime_baseline_hazards",
    "explain",
    "from_module",
    "explain_dataset",
    "from_pycox",
    "partial_dependence",
    "permutation_importance",
    "plot",
]
