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
from captum_surv.models.pycox import SUPPORTED_MODELS, from_pycox

__all__ = [
    "SUPPORTED_MODELS",
    "BCESurvForward",
    "CoxCCForward",
    "CoxForward",
    "CoxTimeForward",
    "DeepHitForward",
    "DeepHitSingleForward",
    "DiscreteForward",
    "LogisticHazardForward",
    "MTLRForward",
    "PCHazardForward",
    "PMFForward",
    "SurvivalForward",
    "compute_coxtime_baseline_hazards",
    "from_pycox",
]
