"""Explanations of whole cohorts, streamed through Parquet files: :func:`explain_dataset`.

A cohort of 10^6 patients explained at 100 time points and 20 features is 8 GB of float32
attributions: more than one tensor in memory should hold. :func:`explain_dataset` reads the
inputs in chunks, explains each chunk with the gradient methods of :func:`explain`, writes
one Parquet file per chunk and accumulates exact global summaries on the way.

Why Parquet (and not Zarr): pandas, pyarrow, polars, DuckDB, Spark and Ray Data all read
it without extra packages; a directory of Parquet files is a dataset that grows by one
file per chunk, so a chunk is committed by one atomic rename, and a run that was
interrupted resumes by listing the finished files; and the row index, the group column and
the predictions sit next to the attributions in the same table. Zarr would serve dense
``[N, T, p]`` slicing better, but needs the cohort size up front, is not read by
pandas/polars, and keeps mixed-type columns (groups, ids) awkwardly apart.

Layout of ``out``:

* ``manifest.json``: the run's configuration (method, options, seed, times, features,
  fingerprints of the model and the baselines), checked when a run resumes.
* ``parts/part-<first row>-<end row>.parquet``: one file per chunk with columns ``row``
  (0-based position of the patient in the input), the group column if given,
  ``pred_<k>`` and ``ref_pred_<k>`` (prediction and reference prediction at time
  ``times[k]``) and ``attr_<k>_<feature>`` (attribution of the feature at ``times[k]``).
  Each file also carries its chunk's partial sums in its Parquet metadata.
* ``summary.parquet``: the exact global summaries (see :class:`CohortExplanation`).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from captum_surv._validation import positive_int
from captum_surv.attr.methods import gradient_attributions
from captum_surv.attr.registry import METHODS
from captum_surv.models.base import SurvivalForward, network_rows_per_instance

COHORT_METHODS = tuple(name for name, spec in METHODS.items() if spec.cohort)
"""The methods :func:`explain_dataset` runs (the gradient methods)."""

ENGINES = ("local", "ray")
"""Execution engines of :func:`explain_dataset`."""

_FORMAT = "captum_surv.cohort"
_FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_SUMMARY = "summary.parquet"
_PARTS = "parts"
_STAGING = "_staging"
_PART_NAME = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")
_SUMS_KEY = b"captum_surv.partial_sums"
_ALL = "__all__"


# --------------------------------------------------------------------------- public API
def explain_dataset(
    forward: SurvivalForward,
    data: Any,
    method: str = "intgrad",
    baselines: Any = None,
    *,
    out: str | os.PathLike[str],
    engine: str = "local",
    columns: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    group_column: str | None = None,
    chunk_size: int = 32768,
    batch_size: int = 16384,
    seed: int | None = None,
    dtype: torch.dtype | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
    compression: str = "snappy",
    num_workers: int | None = None,
    gpus_per_worker: float | None = None,
    device: str | torch.device | None = None,
    **options: Any,
) -> CohortExplanation:
    """Explain every patient of a cohort, streaming the attributions to Parquet files.

    Memory stays bounded by ``chunk_size`` whatever the cohort size; an interrupted run
    continues with ``resume=True`` without recomputing or losing finished chunks. The
    random draws of SG(t) and GradSHAP(t) depend only on ``seed`` and the patient's row
    index, and every network evaluation has the same shape, so the results are
    bit-identical for any ``chunk_size``, any number of Ray workers, and after a resume
    (for the same ``batch_size``, which sets the shape of the network calls).

    Args:
        forward: A single-input :class:`~captum_surv.SurvivalForward` for tabular data
            (from :func:`~captum_surv.from_pycox`).
        data: The cohort, rows in a fixed order: a numpy array ``[N, p]``, a pandas
            DataFrame, a Parquet file or directory of Parquet files (``str`` or
            :class:`~pathlib.Path`; files are read in sorted path order), a list of
            Parquet files, or a :class:`torch.utils.data.DataLoader` without shuffling
            whose batches are a tensor ``[b, p]`` (or ``(x, groups)`` with
            ``group_column``).
        method: One of :data:`captum_surv.METHODS`: ``"grad"``, ``"smoothgrad"``,
            ``"gxi"``, ``"intgrad"`` (default) or ``"gradshap"``.
        baselines: IntGrad(t): one baseline row ``[1, p]`` or ``[p]`` (default zeros).
            GradSHAP(t): the reference rows ``[M, p]`` (required).
        out: Output directory (created).
        engine: ``"local"`` (default: this process, chunk after chunk) or ``"ray"`` (Ray
            Data: an actor pool of ``num_workers`` workers on the Ray cluster that
            ``ray.init()`` connects to; see the README). With Ray, ``out`` must be on
            storage every node can write (a shared file system).
        columns: Feature columns of a DataFrame or Parquet input, in the model's order.
            Default: every column except ``group_column``.
        feature_names: Names for numpy or DataLoader features. Default ``x0, x1, ...``.
        group_column: A column whose values define subgroups (sex, site, ...): the
            summaries are also computed per group, and the column is copied to the output.
        chunk_size: Rows per output file and per unit of work (default 32768; rounded up
            to whole blocks of the patients explained together, see ``batch_size``). Peak
            memory grows with it (about ``chunk_size * T * p * 12`` bytes plus a constant).
        batch_size: Network rows per evaluation (default 16384): sample points, times the
            jump times of the baseline hazard for CoxTime. The rows of a chunk are
            explained ``batch_size // (network rows per patient)`` at a time.
        seed: Seed of the random draws. Default: drawn once and recorded in the manifest.
        dtype: Input and output float dtype. Default: the network's parameter dtype.
        resume: Continue a run in ``out`` with the same configuration.
        overwrite: Delete an earlier run in ``out`` and start over.
        show_progress: tqdm progress bar over rows, with an ETA (default True).
        compression: Parquet compression codec (default ``"snappy"``).
        num_workers: Ray actors (default: the cluster's CPUs, or its GPUs with GPUs).
        gpus_per_worker: GPUs per Ray actor (default 1 if the cluster has GPUs, else 0);
            an actor with a GPU runs the network there.
        device: Local engine: where to run the network (e.g. ``"cuda"``; default CPU).
            The results are copied back to the CPU and written as with the CPU. (The
            project's tests run on CPUs only.)
        **options: Method options as in :func:`~captum_surv.explain` (``n_steps``,
            ``integration``, ``n_samples``, ``sampling``, ``noise_level`` with
            ``reference``, ``stdevs``).

    Returns:
        A :class:`CohortExplanation` reading the files in ``out``.

    Raises:
        TypeError: Unsupported ``forward`` or ``data``.
        ValueError: Unknown method or engine, missing columns, a feature count the model
            does not take, options that would make results depend on the chunking.
        FileExistsError: ``out`` holds a run and neither ``resume`` nor ``overwrite``
            is set, or it holds a different configuration with ``resume``.

    Example:
        >>> fwd = captum_surv.from_pycox(model, times=20)  # doctest: +SKIP
        >>> refs = captum_surv.baselines.sample(x_train, 50, seed=0)  # doctest: +SKIP
        >>> cohort = explain_dataset(fwd, "registry.parquet", "gradshap", refs,
        ...                          out="expl/", group_column="site", seed=1)  # doctest: +SKIP
        >>> cohort.global_importance()  # mean |attribution|, time x feature  # doctest: +SKIP
        >>> pd.read_parquet("expl/parts", columns=["row", "pred_0"])  # doctest: +SKIP
    """
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "explain_dataset writes Parquet files with pyarrow: pip install 'captum-surv[cohort]'."
        ) from err
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is unknown; choose one of {list(ENGINES)}.")
    if resume and overwrite:
        raise ValueError("Pass resume=True or overwrite=True, not both.")
    chunk_size = positive_int(chunk_size, "chunk_size")
    batch_size = positive_int(batch_size, "batch_size")
    plan_dtype = _resolve_dtype(forward, dtype)
    source = _open_source(data, columns, feature_names, group_column)
    plan = _Plan.create(
        forward,
        method,
        baselines,
        source,
        seed=seed,
        dtype=plan_dtype,
        batch_size=batch_size,
        compression=compression,
        options=options,
    )
    out = Path(out)
    plan.parts_dir = str(out / _PARTS)
    if device is not None and engine == "local":
        plan.use_device(device)
    config = plan.config(source)
    _prepare_output(out, config, resume=resume, overwrite=overwrite, seed_given=seed is not None)
    manifest = _read_json(out / _MANIFEST)
    plan.seed = manifest["config"]["seed"]  # a resumed run keeps the recorded seed
    if manifest.get("complete"):
        return CohortExplanation(out)

    done = _finished_ranges(out / _PARTS)
    todo = _missing_ranges(done, source.n_rows)
    done_rows = sum(b - a for a, b in done)
    progress = tqdm(
        total=source.n_rows,
        initial=done_rows,
        unit="row",
        unit_scale=True,
        disable=not show_progress,
        desc=f"explain_dataset ({engine})",
    )
    # chunks made of whole blocks (see _Plan._explain_block): no block is computed twice
    chunk_size = -(-chunk_size // plan.rows_per_block) * plan.rows_per_block
    with progress:
        if engine == "local":
            for start, x, groups in source.read(_split(todo, chunk_size)):
                progress.update(plan.run(start, x, groups))
        else:
            _run_ray(plan, source, todo, out, chunk_size, num_workers, gpus_per_worker, progress)
    _finalize(out, plan, source)
    return CohortExplanation(out)


class CohortExplanation:
    """The files written by :func:`explain_dataset`, and their exact global summaries.

    The summaries are sums over every patient accumulated chunk by chunk in float64, so
    they equal the same means over the full in-memory explanation up to float64 rounding.

    Attributes:
        path: The output directory.
        n_rows: Number of patients.
        times: The time grid ``[T]``.
        feature_names: The ``p`` feature names.
        method: The method name; ``options``: its resolved options (with the seed).
        group_column: The group column, or None.
        summary: Long table with one row per (group, time, feature): ``group``
            (:data:`"__all__"` for the whole cohort), ``time``, ``feature``, ``n``,
            ``mean_attribution`` and ``mean_abs_attribution``.
        prediction_summary: One row per (group, time): ``n``, ``mean_prediction`` and
            ``mean_reference_prediction``.

    Example:
        >>> cohort = CohortExplanation("expl/")  # doctest: +SKIP
        >>> cohort.global_importance(group="site A")  # doctest: +SKIP
        >>> for rows, attr, pred, ref in cohort.iter_parts():  # bounded memory
        ...     ...  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        manifest = _read_json(self.path / _MANIFEST)
        if manifest.get("format") != _FORMAT:
            raise ValueError(f"{self.path} does not hold an explain_dataset output.")
        if not manifest.get("complete"):
            raise ValueError(
                f"The run in {self.path} is not complete; call explain_dataset(..., "
                "resume=True) with the same arguments to finish it."
            )
        config = manifest["config"]
        self.n_rows: int = manifest["n_rows"]
        self.times = np.asarray(config["times"], dtype=np.float64)
        self.feature_names: list[str] = list(config["feature_names"])
        self.method: str = config["method"]
        self.options: dict[str, Any] = dict(config["options"], seed=config["seed"])
        self.group_column: str | None = config["group_column"]
        self.output: str = config["output"]
        table = pq.read_table(self.path / _SUMMARY)
        frame = table.to_pandas()
        if self.group_column is not None:
            frame["group"] = [g if g == _ALL else json.loads(g) for g in frame["group"]]
        self.summary: pd.DataFrame = frame[frame["feature"].notna()].reset_index(drop=True)
        preds = frame[frame["feature"].isna()]
        self.prediction_summary: pd.DataFrame = preds.drop(
            columns=["feature", "mean_attribution", "mean_abs_attribution"]
        ).reset_index(drop=True)

    # ---------------------------------------------------------------- summaries
    @property
    def groups(self) -> list[Any]:
        """The group values (without ``"__all__"``), in order of first appearance."""
        return [g for g in dict.fromkeys(self.summary["group"]) if g != _ALL]

    def _curves(self, column: str, group: Any) -> pd.DataFrame:
        rows = self.summary[self.summary["group"] == group]
        if rows.empty:
            raise ValueError(f"Unknown group {group!r}; groups: {self.groups}.")
        values = rows[column].to_numpy().reshape(len(self.times), len(self.feature_names))
        return pd.DataFrame(
            values,
            index=pd.Index(self.times, name="time"),
            columns=pd.Index(self.feature_names, name="feature"),
        )

    def global_importance(self, group: Any = _ALL) -> pd.DataFrame:
        """Mean absolute attribution ``[T, p]`` over the cohort (or one group)."""
        return self._curves("mean_abs_attribution", group)

    def mean_attribution(self, group: Any = _ALL) -> pd.DataFrame:
        """Mean signed attribution ``[T, p]`` over the cohort (or one group)."""
        return self._curves("mean_attribution", group)

    # ---------------------------------------------------------------- the rows
    @property
    def parts(self) -> list[Path]:
        """The Parquet files, in row order."""
        return [p for _, _, p in _list_parts(self.path / _PARTS)]

    @property
    def attribution_columns(self) -> list[str]:
        """Names of the attribution columns, time-major (reshape to ``[N, T, p]``)."""
        return _attribution_columns(len(self.times), self.feature_names)

    def iter_parts(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(rows, attributions [n, T, p], predictions [n, T], reference [n, T])``
        file by file (memory bounded by one chunk)."""
        import pyarrow.parquet as pq

        n_times, n_feat = len(self.times), len(self.feature_names)
        pred_cols = [f"pred_{k}" for k in range(n_times)]
        ref_cols = [f"ref_pred_{k}" for k in range(n_times)]
        for path in self.parts:
            table = pq.read_table(path)
            rows = table.column("row").to_numpy()
            attr = _columns_to_array(table, self.attribution_columns)
            yield (
                rows,
                attr.reshape(len(rows), n_times, n_feat),
                _columns_to_array(table, pred_cols),
                _columns_to_array(table, ref_cols),
            )

    def attributions(self) -> np.ndarray:
        """All attributions ``[N, T, p]`` in memory (mind the size: ``N * T * p`` numbers)."""
        return np.concatenate([a for _, a, _, _ in self.iter_parts()])

    def predictions(self) -> np.ndarray:
        """All predictions ``[N, T]``."""
        return np.concatenate([p for _, _, p, _ in self.iter_parts()])

    def reference_predictions(self) -> np.ndarray:
        """All reference predictions ``[N, T]``."""
        return np.concatenate([r for _, _, _, r in self.iter_parts()])

    def __repr__(self) -> str:
        groups = f", {len(self.groups)} groups" if self.group_column else ""
        return (
            f"CohortExplanation({str(self.path)!r}: {self.n_rows} rows, {len(self.times)} "
            f"times, {len(self.feature_names)} features, method={self.method!r}{groups})"
        )


# --------------------------------------------------------------------------- the plan
@dataclass
class _Plan:
    """Everything a worker needs to explain rows and write a part file (picklable)."""

    forward: SurvivalForward
    method: str
    baselines: torch.Tensor | None
    options: dict[str, Any]
    seed: int
    dtype: torch.dtype
    rows_per_block: int
    points_per_row: int
    compression: str
    feature_names: list[str]
    group_column: str | None
    n_times: int
    parts_dir: str = ""
    device: str = "cpu"

    def use_device(self, device: str | torch.device) -> None:
        """Run the network on ``device`` (a copy of the forward; the caller's stays put)."""
        device = torch.device(device)
        if device.type != "cpu":
            self.forward = copy.deepcopy(self.forward).to(device)
        self.device = str(device)

    @classmethod
    def create(
        cls,
        forward: SurvivalForward,
        method: str,
        baselines: Any,
        source: _Source,
        *,
        seed: int | None,
        dtype: torch.dtype,
        batch_size: int,
        compression: str,
        options: dict[str, Any],
    ) -> _Plan:
        if not isinstance(forward, SurvivalForward):
            raise TypeError(
                f"explain_dataset needs a SurvivalForward, got {type(forward).__name__}; wrap "
                "the model first: forward = captum_surv.from_pycox(model)."
            )
        if forward.n_inputs != 1:
            raise ValueError(
                f"explain_dataset explains tabular single-input models; this network takes "
                f"{forward.n_inputs} inputs. Use captum_surv.explain on batches instead."
            )
        if not isinstance(method, str) or method not in COHORT_METHODS:
            raise ValueError(
                f"method={method!r}: explain_dataset runs the built-in gradient methods "
                f"{list(COHORT_METHODS)} (their random draws can be tied to the row index)."
            )
        n_feat = len(source.feature_names)
        shapes = forward.input_shapes
        if shapes is not None and tuple(shapes[0]) != (n_feat,):
            raise ValueError(
                f"The data has {n_feat} feature column(s) but the model takes inputs of shape "
                f"{tuple(shapes[0])}. Pass columns=[...] with the model's features, in order."
            )
        if shapes is None:  # the model did not record its input shape: try one row
            try:
                with torch.no_grad():
                    forward(torch.zeros((1, n_feat), dtype=dtype))
            except (ValueError, RuntimeError) as err:
                raise ValueError(
                    f"The data has {n_feat} feature column(s), which the model does not take "
                    f"({err}). Pass columns=[...] with the model's features, in order."
                ) from err
        if method == "smoothgrad" and options.get("stdevs") is None:
            if options.get("reference") is None and baselines is None:
                raise ValueError(
                    "smoothgrad needs the scale of its noise: pass reference data "
                    "(baselines=x_train or reference=x_train; the noise sd is noise_level x "
                    "its feature sd) or absolute stdevs=."
                )
            if options.get("reference") is not None:
                reference = _as_tensor(options["reference"], dtype, n_feat)
                options = dict(options, reference=reference)
        base = None
        if baselines is not None:
            base = _as_tensor(baselines, dtype, n_feat)
            if method == "intgrad" and base.shape[0] != 1:
                raise ValueError(
                    f"intgrad over a cohort takes one baseline row ([1, {n_feat}] or "
                    f"[{n_feat}]); got {base.shape[0]} rows."
                )
        if method == "gradshap" and base is None:
            raise ValueError(
                "gradshap needs reference data: pass baselines=<reference rows [M, p]>, e.g. "
                "captum_surv.baselines.sample(x_train, 50, seed=0)."
            )
        points = _points_per_row(method, base, options)
        # time-input families (CoxTime) run the network at every jump time, per point
        net_rows = network_rows_per_instance(forward)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        plan = cls(
            forward=forward,
            method=method,
            baselines=base,
            options=options,
            seed=int(seed),
            dtype=dtype,
            rows_per_block=max(1, batch_size // (points * max(1, net_rows))),
            points_per_row=points,
            compression=compression,
            feature_names=list(source.feature_names),
            group_column=source.group_column,
            n_times=forward.n_times,
        )
        # fail fast on bad options: explain one row before any file is touched
        probe = np.zeros((1, n_feat), dtype=np.float32)
        if base is not None:
            probe = base[:1].numpy()
        plan._explain_block(torch.as_tensor(probe, dtype=dtype), np.zeros(1, dtype=np.int64))
        return plan

    # ----------------------------------------------------------- configuration
    def config(self, source: _Source) -> dict[str, Any]:
        """The JSON configuration checked on resume."""
        fwd = self.forward
        json_options = {
            k: (_fingerprint(v) if isinstance(v, torch.Tensor) else v)
            for k, v in sorted(self.options.items())
        }
        return {
            "method": self.method,
            "options": json_options,
            "seed": self.seed,
            "dtype": str(self.dtype),
            "rows_per_block": self.rows_per_block,
            "n_rows": source.n_rows,
            "feature_names": self.feature_names,
            "group_column": self.group_column,
            "times": [float(t) for t in fwd.times],
            "output": fwd.output,
            "event": fwd.event,
            "model": f"{type(fwd).__name__}:{_fingerprint(fwd.state_dict())}",
            "baselines": None if self.baselines is None else _fingerprint(self.baselines),
        }

    # ----------------------------------------------------------- computation
    def _explain_block(self, x: torch.Tensor, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Explain rows that lie in one aligned block ``[k * R, (k + 1) * R)`` of the cohort
        (``R = rows_per_block``).

        Every network evaluation then has the same shape, and every patient sits at the
        same position in it (``row % R``; the other positions hold copies of a patient,
        discarded), whatever the chunking: matrix kernels round a row differently with its
        position in a tile, so both shape and position must be fixed for identical bits.
        """
        size = self.rows_per_block
        n = x.shape[0]
        position = torch.from_numpy(rows % size)
        full = x[:1].expand(size, -1).clone()
        full[position] = x
        full_rows = np.full(size, rows[0], dtype=np.int64)
        full_rows[rows % size] = rows
        result = gradient_attributions(
            self.forward,
            (full.to(self.device),),
            self.method,
            self.baselines,
            seed=self.seed,
            batch_size=size * self.points_per_row,
            row_index=torch.from_numpy(full_rows),
            **self.options,
        )
        prediction = result.prediction.cpu()[position]
        reference = result.reference_prediction
        if reference is None:
            reference = torch.full_like(prediction, math.nan)
        else:
            reference = reference.cpu()[position]
        attributions = result.attributions[0].cpu()[position]
        for name, value in (("attributions", attributions), ("predictions", prediction)):
            if not torch.isfinite(value).all():
                raise ValueError(
                    f"The {name} contain NaN or inf for some of rows {rows[0]}..{rows[n - 1]}: "
                    f"the model's {self.forward.output!r} output is not finite there."
                )
        return attributions, prediction, reference

    def run(self, start: int, x: np.ndarray, groups: np.ndarray | None) -> int:
        """Explain rows ``start .. start + len(x)`` and commit them as one part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = x.shape[0]
        rows = np.arange(start, start + n, dtype=np.int64)
        values = torch.as_tensor(np.ascontiguousarray(x), dtype=self.dtype)
        if not torch.isfinite(values).all():
            bad = int(rows[~torch.isfinite(values).all(dim=1).numpy()][0])
            raise ValueError(f"Row {bad} has NaN or inf features; impute or drop it first.")
        n_times, n_feat = self.n_times, len(self.feature_names)
        np_dtype = np.float32 if self.dtype == torch.float32 else np.float64
        # Fortran order: every (time, feature) column is contiguous for Arrow
        attr = np.empty((n, n_times * n_feat), dtype=np_dtype, order="F")
        pred = np.empty((n, n_times), dtype=np_dtype, order="F")
        ref = np.empty((n, n_times), dtype=np_dtype, order="F")
        size, a = self.rows_per_block, 0
        while a < n:
            b = min(n, a + size - (start + a) % size)  # up to the end of the aligned block
            block_attr, block_pred, block_ref = self._explain_block(values[a:b], rows[a:b])
            attr[a:b] = block_attr.reshape(b - a, -1).numpy()
            pred[a:b] = block_pred.numpy()
            ref[a:b] = block_ref.numpy()
            a = b

        arrays = [pa.array(rows)]
        names = ["row"]
        if self.group_column is not None:
            arrays.append(pa.array(groups))
            names.append(self.group_column)
        for k in range(n_times):
            arrays.append(pa.array(pred[:, k]))
            names.append(f"pred_{k}")
        for k in range(n_times):
            arrays.append(pa.array(ref[:, k]))
            names.append(f"ref_pred_{k}")
        names += _attribution_columns(n_times, self.feature_names)
        arrays += [pa.array(attr[:, j]) for j in range(attr.shape[1])]
        sums = _partial_sums(attr, pred, ref, groups)  # attr [n, T * p], time-major
        table = pa.Table.from_arrays(arrays, names=names)
        table = table.replace_schema_metadata({_SUMS_KEY: json.dumps(sums).encode()})
        parts = Path(self.parts_dir)
        final = parts / f"part-{start:012d}-{start + n:012d}.parquet"
        temp = parts / f".tmp-{uuid.uuid4().hex}-{final.name}"
        # dictionary encoding of float columns costs ~6x the write time and saves nothing
        dictionary = [self.group_column] if self.group_column is not None else False
        pq.write_table(table, temp, compression=self.compression, use_dictionary=dictionary)
        os.replace(temp, final)  # atomic: a part file is either complete or absent
        return n


def _points_per_row(method: str, base: torch.Tensor | None, options: dict[str, Any]) -> int:
    if method in ("grad", "gxi"):
        return 1
    if method == "smoothgrad":
        return int(options.get("n_samples") or 10)
    if method == "intgrad":
        return int(options.get("n_steps") or 50)
    if options.get("tolerance") is not None:
        raise ValueError(
            "tolerance= raises GradSHAP(t)'s path points until each batch is accurate enough, "
            "so the points would depend on the chunking; pass path_points= instead."
        )
    if options.get("sampling") == "random":
        return int(options.get("n_samples") or 50)
    assert base is not None
    return base.shape[0] * int(options.get("path_points") or options.get("n_steps") or 16)


# --------------------------------------------------------------------------- summaries
def _encode(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode()


def _decode(text: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").reshape(shape).copy()


def _group_key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _partial_sums(
    attr: np.ndarray, pred: np.ndarray, ref: np.ndarray, groups: np.ndarray | None
) -> dict[str, Any]:
    """Float64 sums of a chunk, for the whole chunk and per group (JSON-ready).

    Sums accumulate in float64 without a float64 copy of the chunk (memory)."""

    def sums(mask: Any) -> dict[str, Any]:
        a = attr[mask]
        return {
            "n": int(a.shape[0]),
            "sum": _encode(a.sum(axis=0, dtype=np.float64)),
            "sum_abs": _encode(np.abs(a).sum(axis=0, dtype=np.float64)),
            "sum_pred": _encode(pred[mask].sum(axis=0, dtype=np.float64)),
            "sum_ref": _encode(ref[mask].sum(axis=0, dtype=np.float64)),
        }

    result: dict[str, Any] = {"all": sums(slice(None)), "groups": []}
    if groups is not None:
        codes, uniques = pd.factorize(pd.Series(groups), use_na_sentinel=False)
        for code, value in enumerate(uniques):
            result["groups"].append([_group_key(value), sums(codes == code)])
    return result


def _finalize(out: Path, plan: _Plan, source: _Source) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = _list_parts(out / _PARTS)
    covered = [(a, b) for a, b, _ in parts]
    if _missing_ranges(covered, source.n_rows) or not parts:
        raise RuntimeError(f"Rows are missing from {out / _PARTS}; rerun with resume=True.")
    n_times, n_feat = plan.n_times, len(plan.feature_names)
    totals: dict[Any, dict[str, Any]] = {}

    def add(key: Any, entry: dict[str, Any]) -> None:
        acc = totals.setdefault(
            key,
            {
                "n": 0,
                "sum": np.zeros((n_times, n_feat)),
                "sum_abs": np.zeros((n_times, n_feat)),
                "sum_pred": np.zeros(n_times),
                "sum_ref": np.zeros(n_times),
            },
        )
        acc["n"] += entry["n"]
        for name in ("sum", "sum_abs"):
            acc[name] += _decode(entry[name], (n_times, n_feat))
        for name in ("sum_pred", "sum_ref"):
            acc[name] += _decode(entry[name], (n_times,))

    for _, _, path in parts:
        sums = json.loads(pq.read_schema(path).metadata[_SUMS_KEY])
        add(_ALL, sums["all"])
        for key, entry in sums["groups"]:
            add(key, entry)

    times = np.asarray([float(t) for t in plan.forward.times])
    feature_rows, pred_rows = [], []
    for key, acc in totals.items():
        n = acc["n"]
        feature_rows.append(
            pd.DataFrame(
                {
                    "group": [key] * (n_times * n_feat),
                    "time": np.repeat(times, n_feat),
                    "feature": np.tile(np.asarray(plan.feature_names, dtype=object), n_times),
                    "n": n,
                    "mean_attribution": (acc["sum"] / n).reshape(-1),
                    "mean_abs_attribution": (acc["sum_abs"] / n).reshape(-1),
                    "mean_prediction": np.nan,
                    "mean_reference_prediction": np.nan,
                }
            )
        )
        pred_rows.append(
            pd.DataFrame(
                {
                    "group": [key] * n_times,
                    "time": times,
                    "feature": None,
                    "n": n,
                    "mean_attribution": np.nan,
                    "mean_abs_attribution": np.nan,
                    "mean_prediction": acc["sum_pred"] / n,
                    "mean_reference_prediction": acc["sum_ref"] / n,
                }
            )
        )
    frame = pd.concat(feature_rows + pred_rows, ignore_index=True)
    frame["group"] = frame["group"].astype(object)
    if plan.group_column is not None:
        frame["group"] = [json.dumps(g) if g != _ALL else _ALL for g in frame["group"]]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    _atomic_write(out / _SUMMARY, lambda p: pq.write_table(table, p))
    manifest = _read_json(out / _MANIFEST)
    manifest.update(complete=True, n_rows=source.n_rows, n_parts=len(parts))
    _write_json(out / _MANIFEST, manifest)


# --------------------------------------------------------------------------- sources
class _Source:
    """A cohort read in row order: ``read(ranges)`` yields ``(start, x, groups)``."""

    n_rows: int
    feature_names: list[str]
    group_column: str | None

    def read(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        raise NotImplementedError


class _ArraySource(_Source):
    def __init__(self, x: np.ndarray, names: Sequence[str] | None) -> None:
        if x.ndim != 2:
            raise ValueError(f"A numpy cohort must be 2-d [N, p]; got shape {x.shape}.")
        self.x = x
        self.n_rows = x.shape[0]
        self.feature_names = _names(names, x.shape[1])
        self.group_column = None

    def read(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        for a, b in ranges:
            yield a, self.x[a:b], None


class _FrameSource(_Source):
    def __init__(self, frame: pd.DataFrame, columns: list[str], group: str | None) -> None:
        self.frame = frame
        self.columns = columns
        self.n_rows = len(frame)
        self.feature_names = list(columns)
        self.group_column = group

    def read(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        for a, b in ranges:
            part = self.frame.iloc[a:b]
            groups = None if self.group_column is None else part[self.group_column].to_numpy()
            yield a, part[self.columns].to_numpy(dtype=np.float64), groups


def _cut(
    batches: Iterator[tuple[int, np.ndarray, Any]], ranges: Iterable[tuple[int, int]]
) -> Iterator[tuple[int, np.ndarray, Any]]:
    """Cut the requested row ranges out of a stream of ``(offset, x, groups)`` batches."""
    pending: list[tuple[int, np.ndarray, Any]] = []
    stream = iter(batches)
    for a, b in ranges:
        pieces_x, pieces_g = [], []
        position = a
        while position < b:
            pending = [p for p in pending if p[0] + len(p[1]) > position]
            if not pending:
                try:
                    pending.append(next(stream))
                except StopIteration:
                    raise ValueError(
                        f"The data ended before row {position}; it has fewer rows than "
                        "its length said."
                    ) from None
                continue
            offset, x, g = pending[0]
            if offset > position:
                raise ValueError(f"Row {position} was skipped by the reader.")
            lo, hi = position - offset, min(b, offset + len(x)) - offset
            pieces_x.append(x[lo:hi])
            pieces_g.append(None if g is None else g[lo:hi])
            position = offset + hi
        x = np.concatenate(pieces_x) if len(pieces_x) > 1 else pieces_x[0]
        g = None
        if pieces_g[0] is not None:
            g = np.concatenate(pieces_g) if len(pieces_g) > 1 else pieces_g[0]
        yield a, x, g


class _ParquetSource(_Source):
    def __init__(
        self,
        files: list[Path],
        columns: Sequence[str] | None,
        group: str | None,
    ) -> None:
        import pyarrow.parquet as pq

        if not files:
            raise ValueError("No Parquet files found in the given path(s).")
        self.files = files
        schema = pq.read_schema(files[0])
        available = list(schema.names)
        self.columns = _feature_columns(available, columns, group, "Parquet files")
        bad = [c for c in self.columns if not _is_numeric_arrow(schema.field(c).type)]
        if bad:
            raise ValueError(
                f"Feature column(s) {bad} are not numeric; encode them or pass columns=[...]."
            )
        self.feature_names = list(self.columns)
        self.group_column = group
        self.sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
        self.n_rows = int(sum(self.sizes))

    def read(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        ranges = list(ranges)
        return _cut(self._batches(ranges), ranges)

    def _batches(self, ranges: list[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        import pyarrow.parquet as pq

        wanted = self.columns + ([self.group_column] if self.group_column else [])
        offset = 0
        for path, size in zip(self.files, self.sizes, strict=True):
            if any(a < offset + size and b > offset for a, b in ranges):
                for batch in pq.ParquetFile(path).iter_batches(batch_size=65536, columns=wanted):
                    x = np.column_stack(
                        [batch.column(c).to_numpy(zero_copy_only=False) for c in self.columns]
                    )
                    g = None
                    if self.group_column:
                        g = batch.column(self.group_column).to_numpy(zero_copy_only=False)
                    yield offset, x, g
                    offset += batch.num_rows
            else:
                offset += size


class _LoaderSource(_Source):
    def __init__(self, loader: Any, names: Sequence[str] | None, group: str | None) -> None:
        from torch.utils.data import RandomSampler

        if isinstance(getattr(loader, "sampler", None), RandomSampler):
            raise ValueError(
                "The DataLoader shuffles (shuffle=True): row indices, seeds and resume need "
                "a fixed order. Pass a DataLoader with shuffle=False."
            )
        if getattr(loader, "drop_last", False):
            raise ValueError(
                "The DataLoader drops its last batch (drop_last=True); rows would "
                "be lost. Pass drop_last=False."
            )
        try:
            self.n_rows = len(loader.dataset)
        except TypeError:
            raise ValueError(
                "The DataLoader's dataset has no len(); explain_dataset needs the number "
                "of rows up front (use a map-style dataset)."
            ) from None
        self.loader = loader
        self.group_column = group
        first = self._split(next(iter(loader)))[0]
        self.feature_names = _names(names, first.shape[1])

    def _split(self, batch: Any) -> tuple[np.ndarray, Any]:
        groups = None
        if isinstance(batch, (tuple, list)):
            if self.group_column is not None:
                if len(batch) < 2:
                    raise ValueError("With group_column, DataLoader batches must be (x, groups).")
                groups = np.asarray(batch[1])
            batch = batch[0]
        elif self.group_column is not None:
            raise ValueError("With group_column, DataLoader batches must be (x, groups).")
        if not isinstance(batch, torch.Tensor) or batch.dim() != 2:
            raise TypeError(
                "DataLoader batches must be a 2-d tensor [b, p] (or a tuple starting with one); "
                f"got {type(batch).__name__}."
            )
        return batch.detach().cpu().numpy(), groups

    def read(self, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray, Any]]:
        def batches() -> Iterator[tuple[int, np.ndarray, Any]]:
            offset = 0
            for batch in self.loader:
                x, g = self._split(batch)
                yield offset, x, g
                offset += x.shape[0]

        return _cut(batches(), ranges)


def _open_source(
    data: Any,
    columns: Sequence[str] | None,
    feature_names: Sequence[str] | None,
    group: str | None,
) -> _Source:
    from torch.utils.data import DataLoader

    if isinstance(data, pd.DataFrame):
        cols = _feature_columns([str(c) for c in data.columns], columns, group, "DataFrame")
        frame = data.rename(columns=str)
        bad = [c for c in cols if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise ValueError(
                f"Feature column(s) {bad} are not numeric; encode them or pass columns=[...]."
            )
        return _FrameSource(frame, cols, group)
    is_path = lambda d: isinstance(d, (str, os.PathLike))  # noqa: E731
    if is_path(data) or (isinstance(data, (list, tuple)) and data and all(map(is_path, data))):
        paths = [Path(data)] if isinstance(data, (str, os.PathLike)) else [Path(d) for d in data]
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files += sorted(path.rglob("*.parquet"))
            elif path.exists():
                files.append(path)
            else:
                raise FileNotFoundError(f"{path} does not exist.")
        return _ParquetSource(files, columns, group)
    if group is not None and not isinstance(data, DataLoader):
        raise ValueError("group_column needs a DataFrame, Parquet or DataLoader input.")
    if isinstance(data, DataLoader):
        return _LoaderSource(data, feature_names, group)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    if isinstance(data, np.ndarray):
        return _ArraySource(data, feature_names)
    raise TypeError(
        f"data is a {type(data).__name__}; pass a numpy array, pandas DataFrame, Parquet "
        "path(s) or a torch DataLoader."
    )


def _feature_columns(
    available: list[str], columns: Sequence[str] | None, group: str | None, what: str
) -> list[str]:
    if group is not None and group not in available:
        raise ValueError(
            f"group_column {group!r} is not a column of the {what}; columns: {_preview(available)}."
        )
    if columns is None:
        return [c for c in available if c != group]
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(
            f"Column(s) {missing} are not in the {what}; its columns: {_preview(available)}."
        )
    return list(columns)


def _is_numeric_arrow(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    )


def _names(names: Sequence[str] | None, n_feat: int) -> list[str]:
    if names is None:
        return [f"x{j}" for j in range(n_feat)]
    if len(names) != n_feat:
        raise ValueError(f"feature_names has {len(names)} names but the data has {n_feat} columns.")
    return [str(n) for n in names]


# --------------------------------------------------------------------------- Ray
def _run_ray(
    plan: _Plan,
    source: _Source,
    todo: list[tuple[int, int]],
    out: Path,
    chunk_size: int,
    num_workers: int | None,
    gpus_per_worker: float | None,
    progress: tqdm,
) -> None:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ImportError("engine='ray' needs Ray Data: pip install 'captum-surv[ray]'.") from err
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not todo:
        return
    if not ray.is_initialized():
        ray.init()  # RAY_ADDRESS (or a running local cluster) decides where
    resources = ray.cluster_resources()
    total_cpus = float(resources.get("CPU", 1))
    if gpus_per_worker is None:
        gpus_per_worker = 1.0 if resources.get("GPU", 0) > 0 else 0.0
    if num_workers is None:
        if gpus_per_worker > 0:
            num_workers = max(1, int(resources.get("GPU", 1) // gpus_per_worker))
        else:
            num_workers = max(1, int(total_cpus))
    # Ray Data lists the Parquet files in a task that needs one CPU slot: an actor pool
    # holding every slot would wait for it forever. The actors then share the other slots
    # (a logical reservation only: each actor computes with one torch thread).
    cpus_per_worker = min(1.0, max(0.0, total_cpus - 1.0) / num_workers)

    # Stage the rows still to do as Parquet with their row index: Ray Data reads them in
    # parallel, and the row index (not the position in a Ray batch) seeds every draw.
    staging = out / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for start, x, groups in source.read(_split(todo, chunk_size)):
        columns = {"row": pa.array(np.arange(start, start + len(x), dtype=np.int64))}
        if plan.group_column is not None:
            columns["group"] = pa.array(groups)
        for j in range(x.shape[1]):
            columns[f"x{j}"] = pa.array(np.ascontiguousarray(x[:, j]))
        pq.write_table(pa.table(columns), staging / f"input-{start:012d}.parquet")

    dataset = ray.data.read_parquet(str(staging), num_cpus=0)  # reading is light
    results = dataset.map_batches(
        _RayWorker,
        fn_constructor_kwargs={"plan": plan},
        batch_size=chunk_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=num_workers),
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
    )
    for batch in results.iter_batches(batch_size=None, batch_format="pyarrow"):
        progress.update(int(batch.column("n_rows").to_numpy().sum()))
    shutil.rmtree(staging, ignore_errors=True)


class _RayWorker:
    """A Ray Data actor: holds the forward and writes one part file per row run."""

    def __init__(self, plan: _Plan) -> None:
        import ray

        torch.set_num_threads(1)
        self.plan = plan
        if ray.get_gpu_ids():  # Ray sets CUDA_VISIBLE_DEVICES to this actor's GPUs
            plan.use_device("cuda")

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        rows = batch.column("row").to_numpy()
        x = np.column_stack(
            [batch.column(f"x{j}").to_numpy() for j in range(len(self.plan.feature_names))]
        )
        groups = None
        if self.plan.group_column is not None:
            groups = batch.column("group").to_numpy(zero_copy_only=False)
        counts = []
        # a batch may span a gap (rows finished earlier): one part per contiguous run
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for idx in np.split(np.arange(len(rows)), breaks):
            if len(idx):
                g = None if groups is None else groups[idx]
                counts.append(self.plan.run(int(rows[idx[0]]), x[idx], g))
        return pa.table({"n_rows": pa.array(counts, type=pa.int64())})


# --------------------------------------------------------------------------- files
def _prepare_output(
    out: Path, config: dict[str, Any], *, resume: bool, overwrite: bool, seed_given: bool
) -> None:
    manifest_path = out / _MANIFEST
    if out.exists() and any(out.iterdir()):
        if overwrite:
            if not manifest_path.exists():
                raise FileExistsError(
                    f"{out} is not empty and holds no explain_dataset run; overwrite=True "
                    "only replaces an earlier run. Choose an empty or new directory."
                )
            for name in (_PARTS, _STAGING):
                shutil.rmtree(out / name, ignore_errors=True)
            for name in (_SUMMARY, _MANIFEST):
                with contextlib.suppress(FileNotFoundError):
                    (out / name).unlink()
        elif resume:
            if not manifest_path.exists():
                raise FileExistsError(f"{out} holds no explain_dataset run to resume.")
            old = _read_json(manifest_path)
            if old.get("format") != _FORMAT or old.get("version", 0) > _FORMAT_VERSION:
                raise FileExistsError(f"{out} holds an incompatible explain_dataset run.")
            recorded = dict(old["config"])
            current = dict(config)
            current_seed = current.pop("seed")
            recorded_seed = recorded.pop("seed")
            differ = [k for k in current if recorded.get(k) != current[k]]
            if differ:
                raise FileExistsError(
                    f"resume=True but the run in {out} differs in {differ}; pass the same "
                    "model, data and arguments, or overwrite=True to start over."
                )
            if seed_given and current_seed != recorded_seed:
                raise FileExistsError(
                    f"resume=True but the run in {out} used seed={recorded_seed}, not "
                    f"{current_seed}; pass seed={recorded_seed} or leave seed out."
                )
            for temp in (out / _PARTS).glob(".tmp-*"):  # half-written files of a crash
                temp.unlink()
            return
        else:
            raise FileExistsError(
                f"{out} already holds files. Pass resume=True to continue an interrupted run, "
                "overwrite=True to replace it, or choose another directory."
            )
    (out / _PARTS).mkdir(parents=True, exist_ok=True)
    _write_json(
        manifest_path,
        {"format": _FORMAT, "version": _FORMAT_VERSION, "complete": False, "config": config},
    )


def _list_parts(parts: Path) -> list[tuple[int, int, Path]]:
    found = []
    if parts.exists():
        for path in parts.iterdir():
            match = _PART_NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), path))
    found.sort()
    for (_, b0, p0), (a1, _, p1) in zip(found, found[1:], strict=False):
        if a1 < b0:
            raise RuntimeError(f"Part files {p0.name} and {p1.name} overlap: {parts} is corrupt.")
    return found


def _finished_ranges(parts: Path) -> list[tuple[int, int]]:
    return [(a, b) for a, b, _ in _list_parts(parts)]


def _missing_ranges(done: list[tuple[int, int]], n_rows: int) -> list[tuple[int, int]]:
    missing, position = [], 0
    for a, b in sorted(done):
        if a > position:
            missing.append((position, a))
        position = max(position, b)
    if position < n_rows:
        missing.append((position, n_rows))
    return missing


def _split(ranges: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Cut row ranges at the multiples of ``size`` (chunks aligned to the cohort's rows)."""
    return [(max(a, s), min(s + size, b)) for a, b in ranges for s in range(a - a % size, b, size)]


def _atomic_write(path: Path, write: Any) -> None:
    temp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    write(temp)
    os.replace(temp, path)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    _atomic_write(path, lambda p: p.write_text(json.dumps(value, indent=1)))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: not an explain_dataset output.")
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- helpers
def _attribution_columns(n_times: int, names: list[str]) -> list[str]:
    return [f"attr_{k}_{name}" for k in range(n_times) for name in names]


def _columns_to_array(table: Any, names: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy() for c in names])


def _fingerprint(value: Any) -> str:
    digest = hashlib.sha256()
    items = value.items() if isinstance(value, dict) else [("", value)]
    for key, tensor in items:
        digest.update(str(key).encode())
        if isinstance(tensor, torch.Tensor):
            t = tensor.detach().cpu().contiguous()
            digest.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def _as_tensor(value: Any, dtype: torch.dtype, n_feat: int) -> torch.Tensor:
    if isinstance(value, pd.DataFrame):
        value = value.to_numpy(dtype=np.float64)
    tensor = torch.as_tensor(np.asarray(value, dtype=np.float64)).to(dtype)
    if tensor.dim() == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 2 or tensor.shape[1] != n_feat:
        raise ValueError(
            f"Baseline/reference rows must be [M, {n_feat}] (or [{n_feat}]); got shape "
            f"{tuple(tensor.shape)}."
        )
    return tensor


def _resolve_dtype(forward: Any, dtype: torch.dtype | None) -> torch.dtype:
    if dtype is not None:
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}.")
        return dtype
    params = list(getattr(forward, "net", torch.nn.Module()).parameters())
    return params[0].dtype if params and params[0].is_floating_point() else torch.float32


def _preview(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}]"
