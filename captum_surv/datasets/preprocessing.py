"""Feature preprocessing of the real data sets, fitted on training rows only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Preprocessor"]


class Preprocessor:
    """Feature preprocessing fitted on training rows only.

    * Categorical columns (pandas ``category``/``object``/``bool`` dtypes) are one-hot
      encoded with the levels of the column's categorical dtype (or, for object columns,
      the levels seen in training): a binary column becomes a single 0/1 indicator of its
      second level (``"name=level"``); a column with more levels one indicator per level.
      Missing or unseen levels give all-zero indicators.
    * Numeric columns with missing values in the training rows are imputed with the
      training median, and get a 0/1 ``"name_missing"`` indicator column.
    * Numeric columns are standardised with the training mean and standard deviation
      (``ddof=0``; a constant column is only centred) when ``standardize`` is True.

    Args:
        standardize: Standardise numeric columns (default True).

    Attributes:
        feature_names: Output column names (after :meth:`fit`).
        mean_, scale_: Per numeric column, the training mean and standard deviation.
        median_: Training medians used for imputation (columns with training NaNs).
        categories_: Levels of each categorical column.

    Example:
        >>> prep = Preprocessor().fit(train_frame)  # doctest: +SKIP
        >>> x_test, names = prep.transform(test_frame), prep.feature_names  # doctest: +SKIP
    """

    def __init__(self, standardize: bool = True) -> None:
        self.standardize = bool(standardize)
        self.feature_names: list[str] = []
        self.mean_: dict[str, float] = {}
        self.scale_: dict[str, float] = {}
        self.median_: dict[str, float] = {}
        self.categories_: dict[str, list[Any]] = {}
        self._columns: list[str] = []
        self._fitted = False

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        """Learn the encoding and the statistics from the training rows ``frame``."""
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
        if len(frame) == 0:
            raise ValueError("Cannot fit a Preprocessor on an empty DataFrame.")
        self._columns = [str(c) for c in frame.columns]
        self.mean_, self.scale_, self.median_, self.categories_ = {}, {}, {}, {}
        names: list[str] = []
        for col in frame.columns:
            series = frame[col]
            if _is_categorical(series):
                levels = _levels(series)
                self.categories_[str(col)] = levels
                names.extend(f"{col}={level}" for level in _indicator_levels(levels))
                continue
            values = _numeric(series)
            missing = np.isnan(values)
            if missing.all():
                raise ValueError(f"Column {col!r} has no observed values in the training rows.")
            if missing.any():
                self.median_[str(col)] = float(np.nanmedian(values))
                values = np.where(missing, self.median_[str(col)], values)
            self.mean_[str(col)] = float(values.mean())
            sd = float(values.std())
            self.scale_[str(col)] = sd if sd > 0 else 1.0
            names.append(str(col))
            if str(col) in self.median_:
                names.append(f"{col}_missing")
        self.feature_names = names
        self._fitted = True
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` (same columns as in :meth:`fit`) to a float32 array."""
        if not self._fitted:
            raise ValueError("This Preprocessor is not fitted; call fit(train_frame) first.")
        columns = [str(c) for c in frame.columns]
        if columns != self._columns:
            raise ValueError(
                f"frame has columns {columns}, but the Preprocessor was fitted on {self._columns}."
            )
        blocks: list[np.ndarray] = []
        for col in frame.columns:
            key = str(col)
            series = frame[col]
            if key in self.categories_:
                as_obj = series.astype(object)
                for level in _indicator_levels(self.categories_[key]):
                    blocks.append((as_obj == level).to_numpy(dtype=np.float64))
                continue
            values = _numeric(series)
            missing = np.isnan(values)
            if key in self.median_:
                values = np.where(missing, self.median_[key], values)
            elif missing.any():
                raise ValueError(
                    f"Column {key!r} has missing values but had none in the training rows, "
                    "so no imputation value was fitted."
                )
            if self.standardize:
                values = (values - self.mean_[key]) / self.scale_[key]
            blocks.append(values)
            if key in self.median_:
                blocks.append(missing.astype(np.float64))
        return np.column_stack(blocks).astype(np.float32)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(frame).transform(frame)


def _numeric(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64)


def _indicator_levels(levels: list[Any]) -> list[Any]:
    """The levels that get an indicator column: the second one of a binary column, else all."""
    return levels[1:] if len(levels) == 2 else levels


def _is_categorical(series: pd.Series) -> bool:
    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
        or pd.api.types.is_bool_dtype(series.dtype)
    )


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.dtype.categories)
    return sorted(series.dropna().unique().tolist(), key=str)
