"""Real survival data sets bundled with scikit-survival, split and preprocessed.

:func:`load_dataset` splits the rows first and fits a :class:`Preprocessor` on the
training rows only, so that no statistic of the test rows leaks into the features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from captum_surv._validation import check_seed
from captum_surv.datasets.base import SurvivalData, check_test_size, split_indices
from captum_surv.datasets.preprocessing import Preprocessor

__all__ = ["DATASETS", "DatasetSplit", "load_dataset"]

#: Names accepted by :func:`load_dataset`, with a one-line description.
DATASETS: dict[str, str] = {
    "gbsg2": "German Breast Cancer Study Group 2: 686 patients, recurrence-free survival.",
    "whas500": "Worcester Heart Attack Study: 500 patients, survival after a heart attack.",
    "flchain": "Serum free light chain study: 7,874 subjects, all-cause death. The column "
    "'chapter' (cause of death, recorded only for those who died) is dropped: it "
    "reveals the outcome.",
    "veterans": "Veterans' Administration lung cancer trial: 137 patients.",
    "aids": "AIDS Clinical Trials Group 320: 1,151 patients, time to AIDS or death.",
    "breast_cancer": "Breast cancer gene expression (76 genes + clinical): 198 patients, "
    "distant metastasis.",
    "bmt": "Stem cell transplantation for acute leukemia: 35 patients, competing risks "
    "1 = transplant-related mortality, 2 = relapse.",
    "cgvhd": "Bone marrow transplant trial: 100 patients, competing risks 1 = chronic graft "
    "versus host disease, 2 = relapse, 3 = death.",
}


@dataclasses.dataclass(frozen=True)
class _Spec:
    """How to read one data set from scikit-survival."""

    loader: str
    event: str
    time: str
    unit: str
    description: str
    event_names: tuple[str, ...] = ("event",)
    drop: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


# name: (scikit-survival loader, event field, time field, time unit)
_COLUMNS = {
    "gbsg2": ("load_gbsg2", "cens", "time", "days"),
    "whas500": ("load_whas500", "fstat", "lenfol", "days"),
    "flchain": ("load_flchain", "death", "futime", "days"),
    "veterans": ("load_veterans_lung_cancer", "Status", "Survival_in_days", "days"),
    "aids": ("load_aids", "censor", "time", "days"),
    "breast_cancer": ("load_breast_cancer", "e.tdm", "t.tdm", "days"),
    "bmt": ("load_bmt", "status", "ftime", "months"),
    "cgvhd": ("load_cgvhd", "status", "ftime", "years"),
}
_EXTRAS: dict[str, dict[str, Any]] = {
    "flchain": {"drop": ("chapter",)},
    "aids": {"kwargs": (("endpoint", "aids"),)},
    "bmt": {"event_names": ("transplant_related_mortality", "relapse")},
    "cgvhd": {"event_names": ("cgvhd", "relapse", "death")},
}
_SPECS: dict[str, _Spec] = {
    name: _Spec(*columns, DATASETS[name], **_EXTRAS.get(name, {}))
    for name, columns in _COLUMNS.items()
}


@dataclasses.dataclass(eq=False)
class DatasetSplit:
    """A preprocessed train/test split of a real data set; unpacks as ``train, test``.

    Attributes:
        train: The training rows (:class:`SurvivalData`).
        test: The test rows, preprocessed with statistics of the training rows only.
        preprocessor: The fitted :class:`Preprocessor`.
        name: The data set's name.
        description: What the data set is.

    Example:
        >>> train, test = load_dataset("gbsg2", seed=0)  # doctest: +SKIP
    """

    train: SurvivalData
    test: SurvivalData
    preprocessor: Preprocessor
    name: str
    description: str

    def __iter__(self) -> Iterator[SurvivalData]:
        yield self.train
        yield self.test

    @property
    def feature_names(self) -> list[str]:
        """Names of the preprocessed feature columns."""
        return list(self.train.feature_names)


def load_dataset(
    name: str,
    test_size: float = 0.25,
    seed: int | None = 0,
    standardize: bool = True,
    stratify: bool = True,
) -> DatasetSplit:
    """Load a real survival data set bundled with scikit-survival, split and preprocessed.

    The rows are split first (seeded, stratified by event code); a :class:`Preprocessor`
    is then fitted on the training rows only and applied to both parts: one-hot encoding of
    categorical columns, median imputation (with a missing-indicator column) of numeric
    columns with missing training values, and standardisation of numeric columns.

    Data sets (see :data:`DATASETS`): ``"gbsg2"``, ``"whas500"``, ``"flchain"``,
    ``"veterans"``, ``"aids"``, ``"breast_cancer"``, and the competing-risks sets ``"bmt"``
    (causes 1 = transplant-related mortality, 2 = relapse) and ``"cgvhd"`` (1 = chronic
    GVHD, 2 = relapse, 3 = death). Events are coded 0 = censored, 1..R = cause.

    Missing values: only ``flchain`` has any. Its ``chapter`` column (cause of death) is
    missing exactly for the subjects who did not die, so it leaks the outcome and is
    dropped; ``creatinine`` (missing for ~17%) is imputed with the training median and a
    ``creatinine_missing`` indicator is added.

    Args:
        name: The data set's name (case-insensitive).
        test_size: Fraction of rows in the test part, in ``(0, 1)`` (default 0.25).
        seed: Seed of the split (default 0); ``None`` for an unseeded split.
        standardize: Standardise numeric columns with training statistics (default True).
        stratify: Stratify the split by event code (default True).

    Returns:
        A :class:`DatasetSplit`; ``train, test = load_dataset(...)`` unpacks it.

    Raises:
        ValueError: For an unknown name (the message lists the valid ones) or a
            ``test_size`` outside ``(0, 1)``.
        ImportError: If scikit-survival is not installed.

    Example:
        >>> train, test = load_dataset("whas500", test_size=0.2, seed=1)  # doctest: +SKIP
        >>> model.fit(train.features, train.target())  # doctest: +SKIP
    """
    if not isinstance(name, str) or name.lower() not in _SPECS:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {sorted(_SPECS)}.")
    key = name.lower()
    spec = _SPECS[key]
    test_size = check_test_size(test_size)
    seed = check_seed(seed)
    try:
        from sksurv import datasets as sk_datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_dataset needs scikit-survival, which bundles these data sets: "
            "pip install 'captum-surv[data]' (or pip install scikit-survival)."
        ) from err
    frame, outcome = getattr(sk_datasets, spec.loader)(**dict(spec.kwargs))
    frame = frame.drop(columns=list(spec.drop)).reset_index(drop=True)
    durations = np.asarray(outcome[spec.time], dtype=np.float64)
    events = np.asarray(outcome[spec.event]).astype(np.int64)

    train_idx, test_idx = split_indices(events, test_size, seed, stratify)
    prep = Preprocessor(standardize=standardize)
    raw_train = frame.iloc[train_idx].reset_index(drop=True)
    raw_test = frame.iloc[test_idx].reset_index(drop=True)
    x_train = prep.fit_transform(raw_train)
    x_test = prep.transform(raw_test)

    def part(x: np.ndarray, idx: np.ndarray, raw: pd.DataFrame) -> SurvivalData:
        return SurvivalData(
            features=x,
            durations=durations[idx],
            events=events[idx],
            feature_names=prep.feature_names,
            name=key,
            event_names=spec.event_names,
            time_unit=spec.unit,
            raw_features=raw,
        )

    return DatasetSplit(
        train=part(x_train, train_idx, raw_train),
        test=part(x_test, test_idx, raw_test),
        preprocessor=prep,
        name=key,
        description=spec.description,
    )
