"""Bundled data: the paper's simulations with known effects, real data sets, a multimodal set.

Three kinds of data, all offline:

* **Simulations of the paper** (Langbein, Koenen & Wright, 2025), with their ground truth:
  :func:`simulate_time_independent`, :func:`simulate_time_dependent`,
  :func:`simulate_ranking`, plus :func:`simulate_interaction` and the configurable
  :func:`simulate_weibull`. Each returns a :class:`SurvivalData` whose
  :attr:`~SurvivalData.ground_truth` gives the true coefficients and the true
  ``log_hazard`` / ``cumulative_hazard`` / ``survival`` functions in closed form.
* **Real data sets** bundled with scikit-survival (``pip install captum-surv[data]``),
  split and preprocessed without test-set leakage by :func:`load_dataset`.
* **A multimodal set**, :func:`load_multimodal_digits`: scikit-learn's 8x8 digit images plus
  simulated tabular covariates, with a known hazard that depends on the digit class.

Conventions: features are float32 numpy arrays ``[n, p]`` (``SurvivalData.frame`` gives a
DataFrame with the feature names), durations are float32, events are int64 with
``0 = censored`` and ``1`` = event (``1..R`` = cause for competing risks).
``SurvivalData.target()`` returns what pycox's ``fit`` and label transforms expect.

Example:
    >>> data = simulate_time_independent(n=1000, seed=0)
    >>> train, test = train_test_split(data, test_size=0.2, seed=0)
    >>> train.features.shape, train.feature_names
    ((800, 3), ['x1', 'x2', 'x3'])
    >>> data.ground_truth.coefficients
    {'x1': 1.7, 'x2': -2.4, 'x3': 0.0}
"""

from captum_surv.datasets.base import GroundTruth, MultimodalData, SurvivalData, train_test_split
from captum_surv.datasets.multimodal import load_multimodal_digits
from captum_surv.datasets.preprocessing import Preprocessor
from captum_surv.datasets.real import _SPECS as _SPECS  # the loaders' table, for tests
from captum_surv.datasets.real import DATASETS, DatasetSplit, load_dataset
from captum_surv.datasets.simulations import (
    simulate_interaction,
    simulate_ranking,
    simulate_time_dependent,
    simulate_time_independent,
    simulate_weibull,
)

__all__ = [
    "DATASETS",
    "DatasetSplit",
    "GroundTruth",
    "MultimodalData",
    "Preprocessor",
    "SurvivalData",
    "load_dataset",
    "load_multimodal_digits",
    "simulate_interaction",
    "simulate_ranking",
    "simulate_time_dependent",
    "simulate_time_independent",
    "simulate_weibull",
    "train_test_split",
]
