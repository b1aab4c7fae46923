"""Input conversion and checks shared by every public entry point: one wording per error.

Forwards, :func:`~captum_surv.explain` and :mod:`captum_surv.baselines` accept the same
data types: torch tensors, numpy arrays and pandas DataFrames, or a tuple of them for
networks with several inputs. They are converted here, in one place, so that each kind
of bad input gets one error message wherever it is passed.

DataFrames keep their dtype: float64 columns give a float64 tensor, float32 columns a
float32 tensor, integer columns an int64 tensor (e.g. category codes for an embedding);
mixed numeric columns follow numpy's promotion (float32 with int64 gives float64). Their
column names become feature names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

ACCEPTED = "a torch.Tensor, numpy array or pandas DataFrame"

TensorOrTuple = torch.Tensor | tuple[torch.Tensor, ...]
"""One tensor, or one per network input."""


def as_tuple(value: Any) -> tuple[Any, ...]:
    """Wrap a single value in a tuple; pass tuples and lists through as tuples."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def per_input(value: Any, n_inputs: int, name: str, what: str) -> tuple[Any, ...]:
    """``value`` as a tuple with one entry per input tensor (a single value for one input).

    Args:
        value: A value, or a tuple/list of values (baselines, feature masks, ...).
        n_inputs: The number of input tensors.
        name: The argument's name, for errors.
        what: What one entry is, for errors (e.g. ``"baseline tensor"``).

    Raises:
        ValueError: If the number of entries is not ``n_inputs``.
    """
    values = as_tuple(value)
    if len(values) != n_inputs:
        raise ValueError(
            f"{name} has {len(values)} element(s) but the inputs have {n_inputs} tensor(s): "
            f"pass one {what} per input tensor (a tuple for tuple inputs)."
        )
    return values


def as_tensor(value: Any, where: str) -> tuple[torch.Tensor, list[str] | None]:
    """Convert one tensor, array or DataFrame to a tensor (never sharing numpy's memory).

    Args:
        value: The data.
        where: How to name it in errors, e.g. ``"Input 0"`` or ``"reference"``.

    Returns:
        ``(tensor, column_names)``; ``column_names`` is None unless ``value`` is a DataFrame.

    Raises:
        TypeError: For other types, non-numeric DataFrame columns or numpy object arrays.
    """
    names = None
    if isinstance(value, pd.DataFrame):
        names = [str(c) for c in value.columns]
        value = _frame_to_numpy(value, where)
    elif isinstance(value, pd.Series):
        raise TypeError(
            f"{where} is a pandas Series; pass {ACCEPTED}: a DataFrame with one column per "
            "feature (a single row: series.to_frame().T)."
        )
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise TypeError(
                f"{where} is a numpy array of dtype {value.dtype}; pass numeric data "
                "(float features, or integer codes for embedding layers)."
            )
        value = torch.from_numpy(np.array(value, copy=True))
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{where} is a {type(value).__name__}; pass {ACCEPTED} (or a tuple of them for "
            "multi-input models)."
        )
    return value, names


def _frame_to_numpy(frame: pd.DataFrame, where: str) -> np.ndarray:
    bad = [
        str(c)
        for c, dtype in frame.dtypes.items()
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ]
    if bad:
        raise TypeError(
            f"{where} is a DataFrame with non-numeric columns {bad[:5]}; encode them as "
            "numbers first (e.g. one-hot columns, or integer codes for an embedding layer)."
        )
    dtypes = [np.dtype(getattr(d, "numpy_dtype", d)) for d in frame.dtypes]
    target = np.result_type(*dtypes) if dtypes else np.dtype(np.float32)
    if frame.isna().to_numpy().any() and target.kind in "iu":
        target = np.dtype(np.float64)  # nullable integer columns with missing values
    return frame.to_numpy(dtype=target, na_value=np.nan, copy=True)


def as_tensors(
    data: Any,
    name: str,
    *,
    floating: bool = False,
    finite: bool = True,
    rows: bool = True,
) -> tuple[tuple[torch.Tensor, ...], list[list[str] | None], bool]:
    """Convert data, or a tuple/list of data (one per network input), to tensors.

    Args:
        data: A tensor, array or DataFrame, or a tuple/list of them.
        name: How to name the data in errors (``"inputs"``, ``"reference"``, ...).
        floating: Require floating dtypes. Default False.
        finite: Reject NaN and inf in floating data. Default True.
        rows: Reject scalars and empty data, and tensors with different row counts.
            Default True.

    Returns:
        ``(tensors, column_names, is_tuple)``: detached tensors, the DataFrame column names
        (None for other data) per tensor, and whether ``data`` was a tuple or list.

    Raises:
        TypeError: For unsupported types or, with ``floating``, integer data.
        ValueError: For scalars, empty data, NaN/inf, or tensors with different row counts.
    """
    is_tuple = isinstance(data, (tuple, list))
    items = tuple(data) if is_tuple else (data,)
    if not items:
        raise ValueError(f"{name} is an empty tuple; pass {ACCEPTED}, or a tuple of them.")
    tensors, names = [], []
    for i, item in enumerate(items):
        where = f"{name}[{i}]" if is_tuple else name
        tensor, columns = as_tensor(item, where)
        if rows:
            check_rows(tensor, where)
        if floating and not tensor.is_floating_point():
            raise TypeError(f"{where} has dtype {tensor.dtype}; pass floating data (.float()).")
        if finite:
            check_finite(tensor, where)
        tensors.append(tensor.detach())
        names.append(columns)
    if rows:
        check_same_rows(tensors, name)
    return tuple(tensors), names, is_tuple


def check_rows(tensor: torch.Tensor, where: str) -> None:
    """Reject scalars and empty data (0 rows)."""
    if tensor.dim() == 0:
        raise ValueError(f"{where} is a scalar; data need a first (row) dimension.")
    if tensor.shape[0] == 0:
        raise ValueError(f"{where} is empty (0 rows); pass at least one row.")


def check_finite(tensor: torch.Tensor, where: str) -> None:
    """Reject NaN and inf in floating data."""
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(
            f"{where} contains NaN or inf values; impute or drop those rows (explanations "
            "need finite data, not NaN or infinite values)."
        )


def check_same_rows(tensors: Any, name: str) -> None:
    """All tensors of tuple data need the same number of rows."""
    rows = tensors[0].shape[0]
    for i, t in enumerate(tensors):
        if t.shape[0] != rows:
            raise ValueError(
                f"The tensors of {name} have different batch sizes: {name}[{i}] has {t.shape[0]} "
                f"rows but {name}[0] has {rows}; pass one row per instance in every tensor."
            )


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int if it is a positive integer (numpy integers too, never bools).

    Raises:
        TypeError: If ``value`` is not an integer.
        ValueError: If it is 0 or negative.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r} ({name} must be >= 1).")
    return int(value)


def check_index(index: Any, n: int, name: str = "instance") -> int:
    """A row index into ``n`` rows (negative ones count from the end) as an int in ``[0, n)``.

    Raises:
        TypeError: If ``index`` is not an integer.
        ValueError: If it is out of range.
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{name} must be an int index, got {index!r}.")
    if not -n <= index < n:
        raise ValueError(
            f"{name}={index} is out of range: {name} must be an int in 0..{n - 1} (or negative, "
            f"counting from the end) for {n} rows."
        )
    return int(index) % n


def make_generator(seed: Any) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (None: a fresh random seed).

    Raises:
        TypeError: If ``seed`` is neither None nor an integer.
    """
    generator = torch.Generator(device="cpu")
    if seed is None:
        generator.seed()
        return generator
    generator.manual_seed(check_seed(seed))
    return generator


def trapezoid(values: Any, times: Any, axis: int = -1) -> Any:
    """The trapezoid rule: ``values`` integrated over ``times`` along ``axis``.

    Works on numpy arrays and torch tensors alike (``times`` of the same kind); with a single
    time point the result is the value at that point.
    """
    if len(times) == 1:
        return values.take(0, axis) if isinstance(values, np.ndarray) else values.select(axis, 0)
    n = values.shape[axis]
    shape = [1] * values.ndim
    shape[axis] = n - 1
    if isinstance(values, torch.Tensor):
        width = torch.diff(times).reshape(shape)
        later, earlier = values.narrow(axis, 1, n - 1), values.narrow(axis, 0, n - 1)
        return (0.5 * (later + earlier) * width).sum(dim=axis)
    width = np.diff(times).reshape(shape)
    later = np.take(values, np.arange(1, n), axis=axis)
    earlier = np.take(values, np.arange(0, n - 1), axis=axis)
    return (0.5 * (later + earlier) * width).sum(axis=axis)


def as_matrix(x: Any, where: str = "x") -> tuple[torch.Tensor, list[str] | None]:
    """A 2-D table ``[n, p]`` (tensor, array or DataFrame) as a detached tensor.

    Floating-point data keep their dtype (a float64 DataFrame stays float64); integer data,
    from a DataFrame or an array alike, become float64 so that grid values and permuted
    columns can be written into them.

    Returns:
        ``(tensor, column_names)``; ``column_names`` is None unless ``x`` is a DataFrame.
    """
    tensor, names = as_tensor(x, where)
    if tensor.dim() != 2 or not (tensor.is_floating_point() or _is_integer(tensor)):
        raise ValueError(
            f"{where} must be a 2-D numeric table [n, p]; got shape {tuple(tensor.shape)} and "
            f"dtype {tensor.dtype}."
        )
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    return tensor.detach(), names


def _is_integer(tensor: torch.Tensor) -> bool:
    return not tensor.is_floating_point() and not tensor.is_complex() and tensor.dtype != torch.bool


def check_saved_format(state: Any, path: Any, kind: str, version: int) -> None:
    """Check a payload read by a result's ``load``: written by ``kind``'s ``save``, not newer.

    Args:
        state: What ``torch.load`` returned.
        path: The file, for messages.
        kind: The result class name, e.g. ``"FeatureEffect"``; the payload's ``"format"``
            must be ``"captum_surv." + kind``.
        version: The newest format version this release reads.
    """
    if not isinstance(state, dict) or state.get("format") != f"captum_surv.{kind}":
        raise ValueError(f"{path!r} does not hold a saved {kind}.")
    if not isinstance(state.get("version"), int) or state["version"] > version:
        raise ValueError(f"{path!r} was written by a newer captum_surv; upgrade it.")


def positive_number(value: Any, name: str) -> float:
    """``value`` as a float: a TypeError unless it is a number, a ValueError unless finite > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def check_seed(seed: Any) -> int | None:
    """``seed`` as an int, or None.

    Raises:
        TypeError: If ``seed`` is neither None nor an integer.
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {seed!r}.")
    return int(seed)
