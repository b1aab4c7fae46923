"""Time-resolved attribution: Captum methods over every time point of a survival forward."""

from captum_surv.attr.time_attribution import (
    DEFAULT_BATCH_SIZE,
    SUPPORTED_ATTRIBUTIONS,
    TimeAttribution,
)

__all__ = ["DEFAULT_BATCH_SIZE", "SUPPORTED_ATTRIBUTIONS", "TimeAttribution"]
