"""Model adapters: one module per model family, each a SurvivalForward subclass."""

from captum_surv.models.base import SurvivalForward
from captum_surv.models.cox import CoxCCForward, CoxForward
from captum_surv.models.coxtime import CoxTimeForward, compute_coxtime_baseline_hazards
from captum_surv.models.deephit import DeepHitForward
from captum_surv.models.discrete import (
    BCESurvForward,
    DeepHitSingleForward,
    DiscreteForward,
    LogisticHazardForward,
    MTLRForward,
    PCHazardForward,
    PMFForward,
)
from captum_surv.models.module import KINDS, from_module
from captum_surv.models.parametric import (
    ExponentialForward,
    LogLogisticForward,
    LogNormalForward,
    ParametricForward,
    WeibullForward,
)
from captum_surv.models.pycox import SUPPORTED_MODELS, from_pycox

__all__ = [
    "KINDS",
    "SUPPORTED_MODELS",
    "BCESurvForward",
    "CoxCCForward",
    "CoxForward",
    "CoxTimeForward",
    "DeepHitForward",
    "DeepHitSingleForward",
    "DiscreteForward",
    "ExponentialForward",
    "LogLogisticForward",
    "LogNormalForward",
    "LogisticHazardForward",
    "MTLRForward",
    "PCHazardForward",
    "PMFForward",
    "ParametricForward",
    "SurvivalForward",
    "WeibullForward",
    "compute_coxtime_baseline_hazards",
    "from_module",
    "from_pycox",
]
