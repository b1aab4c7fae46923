"""SurvExplanation: the result of a time-resolved attribution, with its checks and summaries.

A time-resolved attribution explains every column (time point) of a survival forward at
once. For an input tensor ``x`` of shape ``[B, *S]`` the attributions have shape
``[B, T, *S]``; for tuple inputs ``(x1, x2)`` they are a tuple ``([B, T, *S1], [B, T, *S2])``.
:class:`SurvExplanation` keeps them together with the inputs, the time grid and the model's
predictions, and offers what a user needs next: the paper's local-accuracy check, tidy
tables, global importance curves, rankings, grouping of features, and saving to disk.

A *feature* is one scalar entry of one instance's input: for a tabular input ``[B, F]`` the
``F`` columns, for an image ``[B, C, H, W]`` each of the ``C * H * W`` pixels (numbered by
their flat, row-major index). For tuple inputs the features of all tensors are concatenated
in input order ("flat" feature order).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any, Literal, overload

import numpy as np
import pandas as pd
import torch

from captum_surv._validation import TensorOrTuple, as_tensor, as_tensors, check_index, trapezoid

PathLike = str | os.PathLike[str] | IO[bytes]

_FORMAT = "captum_surv.SurvExplanation"
_FORMAT_VERSION = 1
_AGGREGATED_KEY = "aggregated_groups"


class SurvExplanation:
    """Time-resolved attributions of a survival model, with checks and summaries.

    All tensors are detached and stored on the CPU. For a single input tensor
    ``inputs`` of shape ``[B, *S]``, ``attributions`` has shape ``[B, T, *S]``: entry
    ``[i, k, ...]`` explains ``prediction[i, k]``, the model's output at ``times[k]``. Tuple
    inputs take tuples of such tensors (the structure of ``attributions`` and ``inputs`` must
    match).

    Args:
        attributions: Tensor ``[B, T, *S]``, or a tuple of them for tuple inputs.
        inputs: The explained instances, tensor ``[B, *S]`` or a tuple of them.
        times: The time grid, increasing, length ``T`` (stored as float64).
        prediction: ``Out(t_k | x_i)``, tensor ``[B, T]``.
        reference_prediction: The output each attribution sum is compared with, or ``None``
            (default) for methods without a reference (e.g. Grad(t)): ``Out(t | x')`` for
            IntGrad(t) with baseline ``x'``; the mean over reference rows of
            ``Out(t | x'_m)`` for GradSHAP(t). Shape ``[B, T]``; ``[T]`` or ``[1, T]`` (the
            same reference for every instance) is expanded to ``[B, T]``.
        method: Name of the attribution method (default ``"unknown"``).
        options: The method's options (default: empty). Must be JSON-like: ``None``, bool,
            int, float, str, and lists/tuples/dicts (str keys) of them; numpy scalars are
            converted to Python numbers and tuples to lists.
        feature_names: Feature names in flat order: for a single tensor input a list with
            one name per feature; for tuple inputs a sequence with one such list (or ``None``
            for default names) per input tensor. Names must be unique over all inputs.
            Default (``None``): ``"x0", "x1", ...`` for a ``[B, F]`` input and ``"p0",
            "p1", ...`` (flat index) for inputs with more dimensions, e.g. images; prefixed
            with ``"input{i}:"`` for tuple inputs (``"input0:p12"``, ``"input1:x0"``).
        output: The explained output, e.g. ``"survival"`` (default).
        event: The competing-risks cause, or ``None`` (default).
        baselines: The baselines that were used (tensor, number, a tuple of them, or
            ``None``, default). Kept for the record only.

    Raises:
        TypeError: For arguments of the wrong type (e.g. a callable baseline, non-JSON-like
            options, non-floating attributions).
        ValueError: For inconsistent shapes, a bad time grid or bad feature names.

    Example:
        >>> expl = SurvExplanation(attr, x, fwd.times, fwd(x), fwd(x0).expand(len(x), -1),
        ...                        method="IntGrad(t)")  # doctest: +SKIP
        >>> expl.local_accuracy()  # one value per time point  # doctest: +SKIP
        >>> expl.global_importance(integrated=True).sort_values()  # doctest: +SKIP
    """

    attributions: TensorOrTuple
    inputs: TensorOrTuple
    times: torch.Tensor
    prediction: torch.Tensor
    reference_prediction: torch.Tensor | None
    method: str
    options: dict[str, Any]
    feature_names: list[str] | tuple[list[str], ...]
    output: str
    event: int | None
    baselines: TensorOrTuple | None
    standard_error: TensorOrTuple | None = None
    """Standard errors of sampled attributions (same layout), e.g. SurvSHAP(t)'s
    ``estimator="permutation"``; None for exact or deterministic methods."""

    def __init__(
        self,
        attributions: TensorOrTuple,
        inputs: TensorOrTuple,
        times: torch.Tensor | np.ndarray | Sequence[float],
        prediction: torch.Tensor,
        reference_prediction: torch.Tensor | None = None,
        *,
        method: str = "unknown",
        options: Mapping[str, Any] | None = None,
        feature_names: Sequence[str] | Sequence[Sequence[str]] | None = None,
        output: str = "survival",
        event: int | None = None,
        baselines: TensorOrTuple | float | None = None,
    ) -> None:
        attrs, attr_is_tuple = _cpu_tensors(attributions, "attributions")
        xs, inputs_is_tuple = _cpu_tensors(inputs, "inputs")
        if attr_is_tuple != inputs_is_tuple:
            raise ValueError(
                "attributions and inputs must have the same structure: both a single tensor "
                f"or both a tuple; got {'a tuple' if attr_is_tuple else 'a tensor'} of "
                f"attributions and {'a tuple' if inputs_is_tuple else 'a tensor'} of inputs."
            )
        if len(attrs) != len(xs):
            raise ValueError(
                f"Got {len(attrs)} attribution tensors for {len(xs)} input tensors; pass one "
                "attribution tensor per input tensor."
            )
        n, n_times = _check_layout(attrs, xs)
        self.attributions = attrs if attr_is_tuple else attrs[0]
        self.inputs = xs if inputs_is_tuple else xs[0]
        self.times = _check_times(times, n_times)
        self.prediction = _check_prediction(prediction, n, n_times, "prediction")
        self.reference_prediction = (
            None
            if reference_prediction is None
            else _check_prediction(reference_prediction, n, n_times, "reference_prediction")
        )
        if not isinstance(method, str):
            raise TypeError(f"method must be a str (the method's name); got {method!r}.")
        self.method = method
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(f"options must be a dict of the method's options; got {options!r}.")
        self.options = _plain(dict(options or {}), "options")
        if not isinstance(output, str):
            raise TypeError(f"output must be a str such as 'survival'; got {output!r}.")
        self.output = output
        if event is not None and (
            isinstance(event, bool) or not isinstance(event, (int, np.integer)) or event < 0
        ):
            raise ValueError(
                f"event must be None or a non-negative int cause index; got {event!r}."
            )
        self.event = None if event is None else int(event)
        self.feature_names = _check_feature_names(feature_names, xs, inputs_is_tuple)
        self.baselines = _check_baselines(baselines)

    # ------------------------------------------------------------------ structure
    @property
    def is_tuple(self) -> bool:
        """Whether the explained inputs are a tuple of tensors."""
        return isinstance(self.inputs, tuple)

    @property
    def n_instances(self) -> int:
        """Number of explained instances ``B``."""
        return int(self.prediction.shape[0])

    @property
    def n_times(self) -> int:
        """Number of time points ``T``."""
        return int(self.times.shape[0])

    @property
    def n_features(self) -> int:
        """Total number of features over all input tensors."""
        return len(self.all_feature_names)

    @property
    def all_feature_names(self) -> list[str]:
        """All feature names in flat order (input tensors concatenated)."""
        if isinstance(self.feature_names, tuple):
            return [name for names in self.feature_names for name in names]
        return list(self.feature_names)

    def _attr_tuple(self) -> tuple[torch.Tensor, ...]:
        return self.attributions if isinstance(self.attributions, tuple) else (self.attributions,)

    def _input_tuple(self) -> tuple[torch.Tensor, ...]:
        return self.inputs if isinstance(self.inputs, tuple) else (self.inputs,)

    def flat_attributions(self) -> torch.Tensor:
        """Attributions of all features as one tensor ``[B, T, n_features]`` (flat order)."""
        n, n_times = self.n_instances, self.n_times
        parts = [a.reshape(n, n_times, -1) for a in self._attr_tuple()]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)

    def flat_inputs(self) -> torch.Tensor:
        """Feature values as one float64 tensor ``[B, n_features]`` (flat order)."""
        n = self.n_instances
        return torch.cat([x.reshape(n, -1).double() for x in self._input_tuple()], dim=1)

    # ------------------------------------------------------------------ checks
    def completeness_residual(self) -> torch.Tensor:
        """``Delta_i(t) - sum_j phi_ij(t)``: how far each attribution sum is from complete.

        ``Delta_i(t) = prediction - reference_prediction``; the sum runs over all features of
        all input tensors. Zero for methods that satisfy completeness (IntGrad(t) up to its
        quadrature error).

        Returns:
            Float64 tensor ``[B, T]``.

        Raises:
            ValueError: If the explanation has no ``reference_prediction``.
        """
        reference = self._require_reference("completeness_residual")
        delta = self.prediction.double() - reference.double()
        return delta - self.flat_attributions().double().sum(dim=2)

    def local_accuracy(self) -> torch.Tensor:
        """The paper's local accuracy per time point (0 is perfect).

        ``LA(t) = sqrt( mean_i (Delta_i(t) - sum_j phi_ij(t))^2 / mean_i Out(t|x_i)^2 )``
        over the explained instances ``i``, with ``Delta_i(t)`` the prediction minus the
        reference prediction. Where every prediction is 0 at a time point the ratio is
        undefined (``nan`` or ``inf``).

        Returns:
            Float64 tensor ``[T]``.

        Raises:
            ValueError: If the explanation has no ``reference_prediction`` (methods such as
                Grad(t) have no reference to be complete against).

        Example:
            >>> expl.local_accuracy().max()  # worst time point  # doctest: +SKIP
        """
        residual = self.completeness_residual()
        scale = self.prediction.double().pow(2).mean(dim=0)
        return torch.sqrt(residual.pow(2).mean(dim=0) / scale)

    def _require_reference(self, what: str) -> torch.Tensor:
        if self.reference_prediction is None:
            raise ValueError(
                f"{what} needs reference_prediction, but this explanation (method "
                f"{self.method!r}) has none: methods without a reference (e.g. Grad(t), "
                "GxI(t)) are not complete against any output. Use a reference-based method "
                "(IntGrad(t), GradSHAP(t)) or pass reference_prediction."
            )
        return self.reference_prediction

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: one row per (instance, time, feature).

        Columns: ``instance`` (0-based row of :attr:`inputs`), ``time``, ``input`` (index of
        the input tensor; only for tuple inputs), ``feature`` (name), ``feature_value``,
        ``attribution``. Rows are ordered by instance, then time, then flat feature order.
        Features made by :meth:`aggregate` have ``feature_value`` NaN.

        Returns:
            A :class:`pandas.DataFrame` with ``B * T * n_features`` rows.

        Example:
            >>> df = expl.to_frame()  # doctest: +SKIP
            >>> df[df.feature == "x0"].pivot(index="time", columns="instance",
            ...                              values="attribution")  # doctest: +SKIP
        """
        n, n_times, n_feat = self.n_instances, self.n_times, self.n_features
        attr = self.flat_attributions().double().numpy()
        values = self.flat_inputs().numpy()
        columns: dict[str, Any] = {
            "instance": np.repeat(np.arange(n), n_times * n_feat),
            "time": np.tile(np.repeat(self.times.numpy(), n_feat), n),
        }
        if self.is_tuple:
            sizes = [len(names) for names in self.feature_names]
            input_index = np.repeat(np.arange(len(sizes)), sizes)
            columns["input"] = np.tile(input_index, n * n_times)
        columns["feature"] = np.tile(np.asarray(self.all_feature_names, dtype=object), n * n_times)
        columns["feature_value"] = np.repeat(values[:, None, :], n_times, axis=1).reshape(-1)
        columns["attribution"] = attr.reshape(-1)
        return pd.DataFrame(columns)

    @overload
    def global_importance(self, integrated: Literal[False] = ...) -> pd.DataFrame: ...

    @overload
    def global_importance(self, integrated: Literal[True]) -> pd.Series: ...

    def global_importance(self, integrated: bool = False) -> pd.DataFrame | pd.Series:
        """Mean absolute attribution over instances, per time point or integrated over time.

        Args:
            integrated: If False (default), the importance curves: a DataFrame indexed by
                time (rows) with one column per feature, entry ``mean_i |phi_ij(t)|``. If
                True, each curve integrated over :attr:`times` with the trapezoid rule (in
                the model's time units), as a Series indexed by feature; with a single time
                point, the value at that point.

        Returns:
            A :class:`pandas.DataFrame` ``[T, n_features]`` or a :class:`pandas.Series`
            ``[n_features]``.

        Example:
            >>> expl.global_importance().plot()  # one curve per feature  # doctest: +SKIP
            >>> expl.global_importance(integrated=True).nlargest(5)  # doctest: +SKIP
        """
        curves = self.flat_attributions().double().abs().mean(dim=0)  # [T, F]
        names = pd.Index(self.all_feature_names, name="feature")
        if integrated:
            return pd.Series(
                self._integrate(curves).numpy(), index=names, name="integrated_importance"
            )
        return pd.DataFrame(
            curves.numpy(), index=pd.Index(self.times.numpy(), name="time"), columns=names
        )

    def time_averaged_importance(self) -> pd.Series:
        """Mean absolute attribution over instances, averaged over the time grid.

        ``mean_i |phi_ij(t)|`` integrated over :attr:`times` with the trapezoid rule and
        divided by the grid's length ``t_T - t_1``: the average size of a feature's
        attribution over follow-up, in the units of the output (a probability for survival,
        so ``100 *`` the value is in percentage points). Unlike
        ``global_importance(integrated=True)`` (probability x time units) it does not grow
        with the length of the grid. With a single time point, the value at that point.

        Returns:
            A :class:`pandas.Series` indexed by feature.

        Example:
            >>> (100 * expl.time_averaged_importance()).nlargest(5)  # doctest: +SKIP
        """
        curves = self.flat_attributions().double().abs().mean(dim=0)  # [T, F]
        values = self._integrate(curves)
        if self.n_times > 1:
            values = values / float(self.times[-1] - self.times[0])
        return pd.Series(
            values.numpy(),
            index=pd.Index(self.all_feature_names, name="feature"),
            name="time_averaged_importance",
        )

    def _integrate(self, curves: torch.Tensor) -> torch.Tensor:
        """Trapezoid rule over ``times`` along dim -2 of ``[..., T, F]``."""
        return trapezoid(curves, self.times, axis=-2)

    @overload
    def rank_features(self, instance: int | None = ...) -> list[str]: ...

    @overload
    def rank_features(self, instance: Literal["all"]) -> pd.DataFrame: ...

    def rank_features(
        self, instance: int | Literal["all"] | None = None
    ) -> list[str] | pd.DataFrame:
        """Features ordered by their time-integrated mean absolute attribution.

        The score of feature ``j`` is ``integral |phi_ij(t)| dt`` (trapezoid rule over
        :attr:`times`), averaged over instances for the global ranking. Ties keep the flat
        feature order.

        Args:
            instance: ``None`` (default) for the global ranking; an instance index (negative
                counts from the end) for that instance's ranking; ``"all"`` for a DataFrame
                of every instance's ranks.

        Returns:
            A list of feature names, most important first; for ``instance="all"`` a
            DataFrame indexed by instance with one column per feature holding its rank
            (1 = most important).

        Raises:
            ValueError: For an instance index out of range or an unknown string.

        Example:
            >>> expl.rank_features()[:3]  # doctest: +SKIP
            ['x1', 'x0', 'x2']
        """
        names = self.all_feature_names
        per_instance = self._integrate(self.flat_attributions().double().abs())  # [B, F]
        if isinstance(instance, str):
            if instance != "all":
                raise ValueError(
                    f"instance={instance!r} is not understood; pass None (global ranking), an "
                    "instance index, or 'all' (ranks of every instance)."
                )
            order = np.argsort(-per_instance.numpy(), axis=1, kind="stable")
            ranks = np.empty_like(order)
            np.put_along_axis(ranks, order, np.arange(1, len(names) + 1)[None, :], axis=1)
            return pd.DataFrame(
                ranks,
                index=pd.RangeIndex(self.n_instances, name="instance"),
                columns=pd.Index(names, name="feature"),
            )
        if instance is None:
            scores = per_instance.mean(dim=0)
        else:
            scores = per_instance[self._instance_index(instance)]
        order = np.argsort(-scores.numpy(), kind="stable")
        return [names[j] for j in order]

    def _instance_index(self, instance: Any) -> int:
        return check_index(instance, self.n_instances, "instance")

    # ------------------------------------------------------------------ grouping
    def aggregate(
        self, groups: Mapping[str, Sequence[str | int]] | Literal["inputs"]
    ) -> SurvExplanation:
        """Sum the attributions of groups of features into one feature each.

        Attributions are additive, so the sum over a group is the group's attribution, and
        :meth:`local_accuracy` is unchanged. The result is a single-tensor explanation with
        attributions ``[B, T, n_groups + n_ungrouped]``: each group takes the place of its
        first member (in flat order), features in no group stay as they are. A group's
        ``feature_value`` (in :attr:`inputs` and :meth:`to_frame`) is NaN, since the members
        may have different units. ``options["aggregated_groups"]`` records each group's
        original member names (also across repeated aggregation).

        Args:
            groups: A dict mapping each new group name to its members, given as feature names
                or flat feature indices (``0 .. n_features - 1``); or ``"inputs"`` to sum
                each input tensor into one feature named ``"input0"``, ``"input1"``, ...
                (e.g. an image and its tabular covariates).

        Returns:
            A new :class:`SurvExplanation`; this one is not modified.

        Raises:
            ValueError: For unknown names, indices out of range, empty groups, features in
                more than one group, or a group name equal to an ungrouped feature's name.

        Example:
            >>> expl.aggregate({"treatment": ["trt_a", "trt_b"]})  # doctest: +SKIP
            >>> multimodal.aggregate("inputs").global_importance()  # doctest: +SKIP
        """
        names = self.all_feature_names
        members = self._resolve_groups(groups, names)
        group_of = {j: g for g, idx in members.items() for j in idx}
        columns: list[tuple[str, list[int], bool]] = []  # (name, members, is_group)
        placed: set[str] = set()
        for j, name in enumerate(names):
            group = group_of.get(j)
            if group is None:
                columns.append((name, [j], False))
            elif group not in placed:
                placed.add(group)
                columns.append((group, members[group], True))
        new_names = [c[0] for c in columns]
        ungrouped = {c[0] for c in columns if not c[2]}
        for group in members:
            if group in ungrouped:
                raise ValueError(
                    f"Group name {group!r} is also the name of a feature that is in no group; "
                    "rename the group or include that feature in it."
                )

        matrix = torch.zeros(len(names), len(columns), dtype=torch.float64)
        for c, (_, idx, _) in enumerate(columns):
            matrix[idx, c] = 1.0
        flat = self.flat_attributions()
        new_attr = (flat.double() @ matrix).to(flat.dtype)
        values = self.flat_inputs()
        new_inputs = torch.full((self.n_instances, len(columns)), math.nan, dtype=torch.float64)
        for c, (_, idx, is_group) in enumerate(columns):
            if not is_group:
                new_inputs[:, c] = values[:, idx[0]]

        options = copy.deepcopy(self.options)
        previous = options.get(_AGGREGATED_KEY, {})
        if not isinstance(previous, dict):
            previous = {}
        record = {k: v for k, v in previous.items() if k in ungrouped}
        for group, idx in members.items():
            expanded: list[str] = []
            for j in idx:
                expanded.extend(previous.get(names[j], [names[j]]))
            record[group] = expanded
        options[_AGGREGATED_KEY] = record

        return SurvExplanation(
            new_attr,
            new_inputs,
            self.times.clone(),
            self.prediction.clone(),
            None if self.reference_prediction is None else self.reference_prediction.clone(),
            method=self.method,
            options=options,
            feature_names=new_names,
            output=self.output,
            event=self.event,
            baselines=self._aggregate_baselines(columns),
        )

    def _resolve_groups(
        self, groups: Mapping[str, Sequence[str | int]] | str, names: list[str]
    ) -> dict[str, list[int]]:
        n_feat = len(names)
        if isinstance(groups, str):
            if groups != "inputs":
                raise ValueError(
                    f"groups={groups!r} is not understood; pass 'inputs' or a dict mapping "
                    "group names to lists of feature names or flat indices."
                )
            result: dict[str, list[int]] = {}
            start = 0
            for i, x in enumerate(self._input_tuple()):
                size = int(np.prod(x.shape[1:], dtype=np.int64))
                if size:
                    result[f"input{i}"] = list(range(start, start + size))
                start += size
            return result
        if not isinstance(groups, Mapping) or not groups:
            raise ValueError(
                "groups must be 'inputs' or a non-empty dict mapping group names to lists of "
                f"feature names or flat indices; got {groups!r}."
            )
        position = {name: j for j, name in enumerate(names)}
        owner: dict[int, str] = {}
        result = {}
        for group, items in groups.items():
            if not isinstance(group, str) or not group:
                raise ValueError(f"Group names must be non-empty strings; got {group!r}.")
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence | np.ndarray):
                raise ValueError(
                    f"Group {group!r}: members must be a list of feature names or flat "
                    f"indices, e.g. [{items!r}]; got {items!r}."
                )
            if len(items) == 0:
                raise ValueError(f"Group {group!r} is empty; give it at least one feature.")
            idx: list[int] = []
            for item in items:
                if isinstance(item, str):
                    if item not in position:
                        raise ValueError(
                            f"Group {group!r}: unknown feature {item!r}. Known features: "
                            f"{_preview(names)}."
                        )
                    j = position[item]
                elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                    if not 0 <= item < n_feat:
                        raise ValueError(
                            f"Group {group!r}: flat feature index {item} is out of range; "
                            f"indices run from 0 to {n_feat - 1}."
                        )
                    j = int(item)
                else:
                    raise ValueError(
                        f"Group {group!r}: member {item!r} is neither a feature name nor an "
                        "int flat index."
                    )
                if j in owner:
                    where = "twice in" if owner[j] == group else f"in {owner[j]!r} and"
                    raise ValueError(
                        f"Feature {names[j]!r} is {where} group {group!r}; each feature may "
                        "belong to one group only, once."
                    )
                owner[j] = group
                idx.append(j)
            result[group] = idx
        return result

    def _aggregate_baselines(
        self, columns: list[tuple[str, list[int], bool]]
    ) -> torch.Tensor | None:
        """Baselines in the aggregated layout (NaN for groups), or None if not expressible."""
        if self.baselines is None:
            return None
        base = self.baselines if isinstance(self.baselines, tuple) else (self.baselines,)
        rows = []
        for b, x in zip(base, self._input_tuple(), strict=True):
            shape = tuple(x.shape[1:])
            try:
                if b.dim() == len(shape) + 1:
                    full = torch.broadcast_to(b, (b.shape[0], *shape))
                else:
                    full = torch.broadcast_to(b, (1, *shape))
            except RuntimeError:
                return None
            rows.append(full.reshape(full.shape[0], -1).double())
        counts = {r.shape[0] for r in rows}
        n_rows = max(counts)
        if not counts <= {1, n_rows}:
            return None
        flat = torch.cat([r.expand(n_rows, -1) for r in rows], dim=1)
        out = torch.full((n_rows, len(columns)), math.nan, dtype=torch.float64)
        for c, (_, idx, is_group) in enumerate(columns):
            if not is_group:
                out[:, c] = flat[:, idx[0]]
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: PathLike) -> None:
        """Write the explanation to ``path`` with :func:`torch.save`.

        The file holds only tensors, lists, dicts, str, int, float, bool and None, so it
        loads with ``torch.load(path, weights_only=True)``.

        Args:
            path: A file path or a binary file object.

        Example:
            >>> expl.save("ig_survival.pt")  # doctest: +SKIP
            >>> SurvExplanation.load("ig_survival.pt")  # doctest: +SKIP
        """
        torch.save(self._state(), path)

    def _state(self) -> dict[str, Any]:
        baselines = None
        if self.baselines is not None:
            base = self.baselines if isinstance(self.baselines, tuple) else (self.baselines,)
            baselines = [b.clone() for b in base]
        names = self.feature_names
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "is_tuple": self.is_tuple,
            # clone: a view would otherwise save its whole underlying storage
            "attributions": [a.clone() for a in self._attr_tuple()],
            "inputs": [x.clone() for x in self._input_tuple()],
            "times": self.times.clone(),
            "prediction": self.prediction.clone(),
            "reference_prediction": (
                None if self.reference_prediction is None else self.reference_prediction.clone()
            ),
            "method": self.method,
            "options": copy.deepcopy(self.options),
            "feature_names": [list(n) for n in names] if isinstance(names, tuple) else list(names),
            "output": self.output,
            "event": self.event,
            "baselines": baselines,
            "baselines_is_tuple": isinstance(self.baselines, tuple),
            "standard_error": (
                None
                if self.standard_error is None
                else [
                    e.clone()
                    for e in (
                        self.standard_error
                        if isinstance(self.standard_error, tuple)
                        else (self.standard_error,)
                    )
                ]
            ),
        }

    @classmethod
    def load(cls, path: PathLike) -> SurvExplanation:
        """Read an explanation written by :meth:`save` (safe ``weights_only`` loading).

        Args:
            path: A file path or a binary file object.

        Returns:
            The :class:`SurvExplanation`, tensors on the CPU.

        Raises:
            ValueError: If the file is not a saved SurvExplanation or comes from a newer
                format version.
        """
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(
                f"{path!r} does not hold a saved SurvExplanation (write one with "
                "SurvExplanation.save)."
            )
        if state.get("version", 0) > _FORMAT_VERSION:
            raise ValueError(
                f"{path!r} was written by a newer captum_surv (format version "
                f"{state['version']}, this one reads {_FORMAT_VERSION}); upgrade captum_surv."
            )
        is_tuple = bool(state["is_tuple"])
        baselines = state["baselines"]
        if baselines is not None:
            baselines = tuple(baselines) if state["baselines_is_tuple"] else baselines[0]
        names = state["feature_names"]
        explanation = cls(
            tuple(state["attributions"]) if is_tuple else state["attributions"][0],
            tuple(state["inputs"]) if is_tuple else state["inputs"][0],
            state["times"],
            state["prediction"],
            state["reference_prediction"],
            method=state["method"],
            options=state["options"],
            feature_names=tuple(names) if is_tuple else names,
            output=state["output"],
            event=state["event"],
            baselines=baselines,
        )
        standard_error = state.get("standard_error")  # absent in files of older versions
        if standard_error is not None:
            explanation.standard_error = tuple(standard_error) if is_tuple else standard_error[0]
        return explanation

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        times = self.times
        span = (
            f"{times[0].item():g}"
            if self.n_times == 1
            else f"{times[0].item():g}..{times[-1].item():g}"
        )
        n_inputs = f" in {len(self._input_tuple())} inputs" if self.is_tuple else ""
        event = "" if self.event is None else f", event={self.event}"
        return (
            f"SurvExplanation(method={self.method!r}, output={self.output!r}{event}, "
            f"n_instances={self.n_instances}, n_times={self.n_times} [{span}], "
            f"n_features={self.n_features}{n_inputs}, "
            f"reference={'yes' if self.reference_prediction is not None else 'no'})"
        )

    # ------------------------------------------------------------------ plots
    # Thin delegates to captum_surv.plot, imported when plotting (matplotlib is slow to
    # import). The figures never import this module: the dependency runs one way.
    def plot_prediction(self, *args: Any, **kwargs: Any) -> Any:
        """The explained output against the reference: :func:`captum_surv.plot.prediction`."""
        from captum_surv import plot

        return plot.prediction(self, *args, **kwargs)

    def plot_curves(self, *args: Any, **kwargs: Any) -> Any:
        """Attributions over time, one line per feature:
        :func:`captum_surv.plot.attribution_curves`."""
        from captum_surv import plot

        return plot.attribution_curves(self, *args, **kwargs)

    def plot_contribution(self, *args: Any, **kwargs: Any) -> Any:
        """Stacked |attribution| shares over time: :func:`captum_surv.plot.contribution`."""
        from captum_surv import plot

        return plot.contribution(self, *args, **kwargs)

    def plot_force(self, *args: Any, **kwargs: Any) -> Any:
        """Signed stacked bars at selected times: :func:`captum_surv.plot.force`."""
        from captum_surv import plot

        return plot.force(self, *args, **kwargs)

    def plot_importance(self, *args: Any, **kwargs: Any) -> Any:
        """Heat map and bar chart of global importance: :func:`captum_surv.plot.importance`."""
        from captum_surv import plot

        return plot.importance(self, *args, **kwargs)

    def plot_heatmap(self, *args: Any, **kwargs: Any) -> Any:
        """Time x feature heat map of mean |attribution|:
        :func:`captum_surv.plot.importance_heatmap`."""
        from captum_surv import plot

        return plot.importance_heatmap(self, *args, **kwargs)

    def plot_dependence(self, *args: Any, **kwargs: Any) -> Any:
        """Attribution against feature value at one time: :func:`captum_surv.plot.dependence`."""
        from captum_surv import plot

        return plot.dependence(self, *args, **kwargs)

    def plot_images(self, *args: Any, **kwargs: Any) -> Any:
        """Image attributions at chosen times: :func:`captum_surv.plot.image_attributions`."""
        from captum_surv import plot

        return plot.image_attributions(self, *args, **kwargs)


# ---------------------------------------------------------------------- validation helpers
def _cpu_tensors(value: Any, name: str) -> tuple[tuple[torch.Tensor, ...], bool]:
    """Detached CPU tensors of a tensor or tuple/list of tensors; and whether it was a tuple.

    Shapes are checked afterwards against each other (:func:`_check_layout`), so rows and
    finiteness are not checked here.
    """
    tensors, _, is_tuple = as_tensors(value, name, finite=False, rows=False)
    return tuple(t.cpu() for t in tensors), is_tuple


def _check_layout(attrs: tuple[torch.Tensor, ...], xs: tuple[torch.Tensor, ...]) -> tuple[int, int]:
    """Check ``attrs[i]`` is ``[B, T, *S_i]`` for ``xs[i]`` ``[B, *S_i]``; return ``(B, T)``."""
    n = n_times = None
    for i, (a, x) in enumerate(zip(attrs, xs, strict=True)):
        where = f" (input {i})" if len(xs) > 1 else ""
        if x.dim() < 1 or x.shape[0] == 0:
            raise ValueError(
                f"inputs{where} need a non-empty batch dimension; got {tuple(x.shape)}."
            )
        if not a.is_floating_point():
            raise TypeError(f"attributions{where} must be floating point; got {a.dtype}.")
        if a.dim() != x.dim() + 1 or a.shape[0] != x.shape[0] or a.shape[2:] != x.shape[1:]:
            raise ValueError(
                f"attributions{where} have shape {tuple(a.shape)}, but inputs of shape "
                f"{tuple(x.shape)} need attributions [B, T, *S] = "
                f"[{x.shape[0]}, T, {', '.join(str(s) for s in x.shape[1:])}]: one attribution "
                "per time point and input entry."
            )
        if n is None:
            n, n_times = int(x.shape[0]), int(a.shape[1])
        elif x.shape[0] != n or a.shape[1] != n_times:
            raise ValueError(
                f"Input {i} has {x.shape[0]} instances and {a.shape[1]} time points, input 0 "
                f"has {n} and {n_times}; every input tensor needs the same batch and time grid."
            )
    if not n_times:
        raise ValueError("attributions have 0 time points; explain at least one time point.")
    assert n is not None
    return n, n_times


def _check_times(times: Any, n_times: int) -> torch.Tensor:
    if isinstance(times, torch.Tensor):
        out = times.detach().cpu().to(torch.float64)
    else:
        out = torch.as_tensor(np.asarray(times, dtype=np.float64))
    out = out.reshape(-1) if out.dim() == 0 else out
    if out.dim() != 1 or out.shape[0] != n_times:
        raise ValueError(
            f"times has shape {tuple(out.shape)}, but the attributions have {n_times} time "
            f"points (their dim 1); pass the forward's time grid, e.g. fwd.times."
        )
    if not torch.isfinite(out).all():
        raise ValueError("times contains NaN or inf; pass the finite time grid.")
    if n_times > 1 and not bool((torch.diff(out) > 0).all()):
        raise ValueError("times must be strictly increasing (the forward's time grid).")
    return out.clone()


def _check_prediction(value: Any, n: int, n_times: int, name: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.array(value, copy=True))
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [B, T]; got {type(value).__name__}.")
    value = value.detach().cpu()
    if not value.is_floating_point():
        raise TypeError(f"{name} must be floating point; got {value.dtype}.")
    if name == "reference_prediction" and tuple(value.shape) in ((n_times,), (1, n_times)):
        value = value.reshape(1, n_times).expand(n, n_times)
    if tuple(value.shape) != (n, n_times):
        extra = " (or [T] / [1, T] for one reference)" if name == "reference_prediction" else ""
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}; expected [B, T] = [{n}, {n_times}]{extra}, "
            "the forward's output for the explained instances."
        )
    return value.clone()


def _default_names(x: torch.Tensor, prefix: str) -> list[str]:
    size = int(np.prod(x.shape[1:], dtype=np.int64))
    letter = "x" if x.dim() <= 2 else "p"
    return [f"{prefix}{letter}{j}" for j in range(size)]


def _check_feature_names(
    names: Any, xs: tuple[torch.Tensor, ...], is_tuple: bool
) -> list[str] | tuple[list[str], ...]:
    sizes = [int(np.prod(x.shape[1:], dtype=np.int64)) for x in xs]
    if names is None:
        if not is_tuple:
            return _default_names(xs[0], "")
        return tuple(_default_names(x, f"input{i}:") for i, x in enumerate(xs))
    per_input = _name_lists(names, is_tuple, len(xs))
    per_input = [
        _default_names(x, f"input{i}:") if lst is None else lst
        for i, (lst, x) in enumerate(zip(per_input, xs, strict=True))
    ]
    for i, (lst, size) in enumerate(zip(per_input, sizes, strict=True)):
        where = f" for input {i}" if is_tuple else ""
        if len(lst) != size:
            raise ValueError(
                f"Got {len(lst)} feature names{where}, but the input has {size} features per "
                "instance (flat count); pass one name per feature."
            )
        for name in lst:
            if not isinstance(name, str):
                raise TypeError(f"Feature names must be strings; got {name!r}{where}.")
    flat = [name for lst in per_input for name in lst]
    if len(set(flat)) != len(flat):
        seen: set[str] = set()
        dup = next(n for n in flat if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise ValueError(
            f"Feature name {dup!r} occurs more than once; feature names must be unique over "
            "all inputs."
        )
    return tuple(per_input) if is_tuple else per_input[0]


def _name_lists(names: Any, is_tuple: bool, n_inputs: int) -> list[list[str] | None]:
    def as_list(value: Any, where: str) -> list[str]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
            raise TypeError(f"feature_names{where} must be a list of strings; got {value!r}.")
        return [str(v) if isinstance(v, np.str_) else v for v in value]

    if not is_tuple:
        return [as_list(names, "")]
    if (
        isinstance(names, (str, bytes))
        or not isinstance(names, Sequence)
        or (len(names) != n_inputs)
    ):
        raise ValueError(
            f"For tuple inputs, feature_names must hold one list of names per input "
            f"({n_inputs} lists); got {names!r:.200}."
        )
    return [None if lst is None else as_list(lst, f"[{i}]") for i, lst in enumerate(names)]


def _check_baselines(baselines: Any) -> TensorOrTuple | None:
    if baselines is None:
        return None
    is_tuple = isinstance(baselines, (tuple, list))
    items = tuple(baselines) if is_tuple else (baselines,)
    out = []
    for item in items:
        if isinstance(item, bool) or callable(item) and not isinstance(item, torch.Tensor):
            raise TypeError(
                f"baselines must be tensors or numbers (the values used); got {item!r}. "
                "Evaluate a callable baseline and pass the tensor it returned."
            )
        if isinstance(item, (int, float, np.number)):
            item = torch.tensor(float(item), dtype=torch.float64)
        elif isinstance(item, (np.ndarray, pd.DataFrame)):
            item = as_tensor(item, "baselines")[0]
        if not isinstance(item, torch.Tensor):
            raise TypeError(f"baselines must be tensors or numbers; got {type(item).__name__}.")
        out.append(item.detach().cpu().clone())
    return tuple(out) if is_tuple else out[0]


def _plain(value: Any, where: str) -> Any:
    """Copy of ``value`` with only JSON-like types (tuples become lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and isinstance(value.item(), (bool, int, float, str)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-string key {key!r}; use string keys.")
            out[key] = _plain(v, f"{where}[{key!r}]")
        return out
    raise TypeError(
        f"{where} holds a {type(value).__name__} ({value!r:.80}); options must be JSON-like "
        "(None, bool, int, float, str, lists and dicts of them). Record tensors in baselines "
        "or convert them with .tolist()."
    )


def _preview(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
