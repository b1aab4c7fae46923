"""Matplotlib figures of time-resolved survival explanations and of the global results.

Every function takes a :class:`~captum_surv.SurvExplanation` (or, for competing risks and
method comparisons, several of them), draws into an existing ``ax`` / figure when one is
given (a new figure with constrained layout otherwise), returns ``(fig, ax)`` or
``(fig, axes)``, and never calls ``plt.show()``. The single-explanation plots are also
methods of the result object: ``expl.plot_curves()`` is ``plot.attribution_curves(expl)``.
Matplotlib is imported with this package, i.e. only when something is plotted.

=================================== ===========================================================
function                            figure
=================================== ===========================================================
:func:`prediction`                  predicted output of chosen instances against the reference
:func:`attribution_curves`          one line per feature over time, with prediction/reference
                                    overlays
:func:`contribution`                stacked ribbons of ``|attribution|`` shares plus
                                    time-averaged bar
:func:`force`                       signed stacked bars at selected times with the
                                    attribution sum
:func:`importance_heatmap`          time x feature heat map of mean ``|attribution|``
:func:`importance_bar`              mean ``|attribution|`` integrated over time
:func:`importance`                  the heat map and the bar chart side by side
:func:`dependence`                  attribution against feature value at one time (or a
                                    beeswarm)
:func:`image_attributions`          heat maps of image attributions at chosen times, shared
                                    scale
:func:`competing_risks`             one panel per event of a competing-risks model
:func:`compare_methods`             the same instance explained by several methods side by
                                    side
:func:`plot_permutation_importance` loss increase over time (mean with a +-1 sd band per
                                    feature) and a bar of the integrated increase
:func:`plot_effect`                 PDP/ALE: surface over time x feature value, or slices at
                                    chosen times (with ICE curves); 2-D PDP: one heat map per
                                    time
:func:`plot_interaction_heatmap`    mean ``|interaction|`` feature x feature at one time
:func:`plot_interaction_pairs`      strength of the strongest pairs over time
:func:`survlime_coefficients`       a SurvLIME surrogate's coefficients of one instance
:func:`survlime_curves`             the model's and the SurvLIME surrogate's curves
=================================== ===========================================================

Conventions:

* **Times** are chosen by value in the model's original units; the nearest grid time is
  used. A time farther from the grid than half the adjacent grid spacing (or ``tol``)
  raises an error naming the grid's range. Time ticks and titles show three significant
  digits (more only where two times would otherwise print alike), whole numbers from 100
  on: ``0.00239``, ``3.5``, ``1825``.
* **Many features**: plots show the ``top_k`` most important features (ranked by
  ``integral |attribution| dt``) and, with ``other=True``, one series
  ``"other features (n)"`` for the remaining ``n``. The other-features series sums the
  plotted quantity of those features: signed attributions in signed plots (so stacked bars
  still add up to the attribution sum), ``|attribution|`` shares or importances in
  magnitude plots. Pass ``features=[...]`` (names or flat indices) to choose them yourself.
* **Colours** follow the colour-blind-safe Okabe-Ito palette, one per feature, chosen
  from the feature's name (:func:`feature_colors`): a feature has the same colour in every
  figure of an explanation (curves, force and contribution plots, bars, dependence) and in
  every explanation with the same feature names. Beyond seven features colours repeat;
  where a figure shows two features of one colour, the second is dashed (bars: hatched).
  "Other features" is grey; heat maps use ``viridis`` (magnitudes) and the diverging
  ``RdBu_r`` centred at 0 (signed values). Legends sit outside the data, right of the axes.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from captum_surv import plot
    >>> fig, ax = plot.attribution_curves(expl, instance=0, top_k=5)  # doctest: +SKIP
    >>> fig.savefig("curves.png", dpi=150)  # doctest: +SKIP
"""

from captum_surv.plot._style import OKABE_ITO, OTHER_COLOR, feature_colors
from captum_surv.plot.curves import NORMALIZATIONS, attribution_curves, prediction
from captum_surv.plot.decomposition import contribution, force
from captum_surv.plot.global_effects import (
    plot_effect,
    plot_interaction_heatmap,
    plot_interaction_pairs,
    plot_permutation_importance,
)
from captum_surv.plot.images import image_attributions
from captum_surv.plot.panels import compare_methods, competing_risks
from captum_surv.plot.scatter import dependence
from captum_surv.plot.summary import importance, importance_bar, importance_heatmap
from captum_surv.plot.surrogate import survlime_coefficients, survlime_curves

__all__ = [
    "NORMALIZATIONS",
    "OKABE_ITO",
    "OTHER_COLOR",
    "attribution_curves",
    "compare_methods",
    "competing_risks",
    "contribution",
    "dependence",
    "feature_colors",
    "force",
    "image_attributions",
    "importance",
    "importance_bar",
    "importance_heatmap",
    "plot_effect",
    "plot_interaction_heatmap",
    "plot_interaction_pairs",
    "plot_permutation_importance",
    "survlime_coefficients",
    "survlime_curves",
    "prediction",
]
