"""The figures of the global results under their first home; they live in
:mod:`captum_surv.plot.global_effects` (this module only re-exports them)."""

from captum_surv.plot.global_effects import (
    plot_effect,
    plot_interaction_heatmap,
    plot_interaction_pairs,
    plot_permutation_importance,
)

__all__ = [
    "plot_effect",
    "plot_interaction_heatmap",
    "plot_interaction_pairs",
    "plot_permutation_importance",
]
