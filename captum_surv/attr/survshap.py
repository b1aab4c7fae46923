"""SurvSHAP(t): interventional Shapley values of a survival output at every time point.

SurvSHAP(t) (Krzyzinski, Spytek, Baniecki and Biecek, "SurvSHAP(t): Time-dependent
explanations of machine learning survival models", Knowledge-Based Systems, 2023) explains
``Out(t | x)`` with the Shapley values of the cooperative game whose players are the features
(or groups of features) and whose value of a coalition ``S`` is

``v_x(S)(t) = mean_m Out(t | x_S, b_m,-S)``,

the mean over background rows ``b_m`` of the output with the features outside ``S`` taken
from the background row (the *interventional* value function). The values are locally
accurate: ``sum_j phi_j(t) = Out(t | x) - mean_m Out(t | b_m)``.

Two estimators, both for every time point at once:

* ``"exact"``: every one of the ``2^G`` coalitions of the ``G`` players is evaluated once, in
  chunks of network rows, and combined with the Shapley weights
  ``|S|! (G - |S| - 1)! / G!``. Memory stays bounded by ``batch_size`` rows (no ``2^G x 2^G``
  matrix as in KernelSHAP's exact solve). Cost: ``2^G * M`` network rows per instance for
  ``M`` background rows, practical up to about ``G = 20``.
* ``"permutation"``: antithetic permutation sampling (each random order of the players is used
  together with its reverse). Each path costs ``(G - 1) * M`` network rows; the estimate is
  locally accurate for every path, and its standard error is the spread of the per-pair
  estimates over ``sqrt(n_pairs)``.

``"auto"`` (the default) is exact for at most :data:`MAX_EXACT_PLAYERS` players.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from tqdm.auto import tqdm

from captum_surv._validation import make_generator, per_input, positive_int
from captum_surv.attr.methods import Inputs, match_baselines, predict_rows
from captum_surv.attr.result import MethodResult
from captum_surv.models.base import SurvivalForward, network_rows_per_instance

ESTIMATORS = ("auto", "exact", "permutation")
"""Estimators of :func:`survshap_attributions` (``estimator=`` of ``explain(..., "survshap")``)."""

MAX_EXACT_PLAYERS = 20
"""``estimator="auto"`` enumerates all coalitions up to this many players, else samples."""

DEFAULT_ROWS = 65_536
"""Default number of network rows (instances x coalitions x background rows) per call."""


def _players(feature_mask: Any, inputs: Inputs) -> tuple[list[torch.Tensor], int]:
    """Per input, the player index of every flat feature, and the number of players.

    Without a mask every scalar feature is a player (flat order over the input tensors). A
    mask holds integer group ids (any values; they are renumbered 0..G-1 in sorted order).
    """
    sizes = [int(x[0].numel()) for x in inputs]
    if feature_mask is None:
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        return [torch.arange(o, o + s) for o, s in zip(offsets, sizes, strict=True)], sum(sizes)
    masks = per_input(feature_mask, len(inputs), "feature_mask", "mask")
    flat = []
    for i, (m, x) in enumerate(zip(masks, inputs, strict=True)):
        m = torch.as_tensor(m)
        if m.is_floating_point() or m.dtype == torch.bool:
            raise ValueError(
                f"feature_mask tensor {i} has dtype {m.dtype}; pass integer group ids "
                "(features with the same id form one player)."
            )
        if m.shape == x.shape[1:]:
            m = m.unsqueeze(0)
        if m.shape != (1, *x.shape[1:]):
            raise ValueError(
                f"feature_mask tensor {i} has shape {tuple(m.shape)}; pass one group id per "
                f"feature, shape {tuple(x.shape[1:])} or {(1, *x.shape[1:])} (the same "
                "groups for every instance)."
            )
        flat.append(m.reshape(-1).long())
    ids, inverse = torch.unique(torch.cat(flat), return_inverse=True)
    return list(inverse.split(sizes)), int(ids.numel())


def _shapley_weights(n_players: int) -> torch.Tensor:
    """``w[s] = s! (G - s - 1)! / G!`` for ``s = 0..G-1`` (float64)."""
    return torch.tensor(
        [1.0 / (n_players * math.comb(n_players - 1, s)) for s in range(n_players)],
        dtype=torch.float64,
    )


class _CoalitionValues:
    """Evaluates ``v_x(S)(t)`` for batches of (instance, coalition) pairs.

    Each distinct network row is evaluated once. The row of instance ``x``, coalition ``S`` and
    background row ``b`` depends on ``S`` only through ``S & D``, ``D`` the players on which
    ``x`` and ``b`` differ, so:

    * rows with ``S & D`` empty are the background row ``b`` itself, and rows with
      ``S & D = D`` the instance ``x`` itself: both are taken from one prediction of the
      background and of the instances (the empty and full coalitions, and every coalition
      that differs from them only on players where ``x`` equals ``b``);
    * when some instance equals some background row on a player (discrete or one-hot
      features), the remaining rows of a chunk (``batch_size`` network rows) are
      deduplicated on ``(x, b, S & D)``.

    With continuous features this saves the empty and full coalitions (``2 M`` of the
    ``2^G M`` rows per instance); with discrete features, most rows.
    """

    def __init__(
        self,
        forward: SurvivalForward,
        inputs: Inputs,
        background: Inputs,
        players: list[torch.Tensor],
        n_players: int,
        rows_per_call: int,
        instance_out: torch.Tensor,
        background_out: torch.Tensor,
    ) -> None:
        self.forward = forward
        self.flat_x = [x.reshape(x.shape[0], -1) for x in inputs]
        self.flat_b = [b.reshape(b.shape[0], -1) for b in background]
        self.shapes = [x.shape[1:] for x in inputs]
        self.players = players
        self.n_background = background[0].shape[0]
        self.instance_out = instance_out.double()  # [B, T]
        self.background_out = background_out.double()  # [M, T]
        self.n_players = n_players
        # continuous features: every instance differs from every background row everywhere
        n = self.flat_x[0].shape[0]
        self.all_differ = all(
            bool((x[s : s + 256].unsqueeze(1) != b.unsqueeze(0)).all())
            for x, b in zip(self.flat_x, self.flat_b, strict=True)
            for s in range(0, n, 256)
        )
        self.rows_evaluated = 0
        per_row = network_rows_per_instance(forward)  # CoxTime: one per jump time
        self.items_per_call = max(1, rows_per_call // (self.n_background * per_row))

    def _differs(self, owner: torch.Tensor) -> torch.Tensor:
        """``[N, M, G]`` bool: instance ``owner[n]`` and background row m differ on player g."""
        unique, inverse = torch.unique(owner, return_inverse=True)
        counts = torch.zeros((unique.numel(), self.n_background, self.n_players), dtype=torch.int32)
        for x, b, member in zip(self.flat_x, self.flat_b, self.players, strict=True):
            unequal = x[unique].unsqueeze(1) != b.unsqueeze(0)  # [U, M, F]
            counts.index_add_(2, member, unequal.to(torch.int32))
        return (counts > 0)[inverse]

    def _all_rows(self, owner: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """Values ``[N, T]`` from all ``N x M`` rows (every row distinct)."""
        points = []
        for x, b, member, shape in zip(
            self.flat_x, self.flat_b, self.players, self.shapes, strict=True
        ):
            keep = bits[:, member].unsqueeze(1)  # [N, 1, F]
            z = torch.where(keep, x[owner].unsqueeze(1), b.unsqueeze(0))  # [N, M, F]
            points.append(z.reshape(-1, *shape))
        with torch.no_grad():
            out = self.forward(*points)
        self.rows_evaluated += int(out.shape[0])
        return out.double().reshape(owner.shape[0], self.n_background, -1).mean(dim=1)

    def __call__(self, owner: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """``owner`` ``[N]`` instance indices, ``bits`` ``[N, G]`` bool -> values ``[N, T]``."""
        n_items, m = owner.shape[0], self.n_background
        differs = None if self.all_differ else self._differs(owner)  # [N, M, G]
        if differs is None or bool(differs.all()):  # only the empty and full coalitions repeat
            empty, full = ~bits.any(dim=1), bits.all(dim=1)
            values = torch.empty((n_items, self.instance_out.shape[1]), dtype=torch.float64)
            values[empty] = self.background_out.mean(dim=0)
            values[full] = self.instance_out[owner[full]]
            rest = ~(empty | full)
            if bool(rest.any()):
                values[rest] = self._all_rows(owner[rest], bits[rest])
            return values
        kept = bits.unsqueeze(1) & differs  # S & D per background row
        from_background = ~kept.any(dim=2)  # the row is b_m
        from_instance = (kept == differs).all(dim=2) & ~from_background  # the row is x
        todo = (~(from_background | from_instance)).reshape(-1)
        values = torch.empty((n_items * m, self.instance_out.shape[1]), dtype=torch.float64)
        background_index = torch.arange(m).repeat(n_items)
        instance_index = owner.repeat_interleave(m)
        flat_bg = from_background.reshape(-1)
        flat_inst = from_instance.reshape(-1)
        values[flat_bg] = self.background_out[background_index[flat_bg]]
        values[flat_inst] = self.instance_out[instance_index[flat_inst]]
        todo_index = todo.nonzero().squeeze(1)
        if todo_index.numel():
            item_of, bg_of = todo_index // m, todo_index % m
            inverse = None
            if not bool(differs.all()):  # equal rows: same instance, background row and S & D
                key = torch.cat(
                    [owner[item_of].unsqueeze(1), bg_of.unsqueeze(1), kept[item_of, bg_of].long()],
                    dim=1,
                )
                _, inverse, counts = torch.unique(
                    key, dim=0, return_inverse=True, return_counts=True
                )
                first = torch.full((counts.numel(),), todo_index.numel(), dtype=torch.long)
                first.scatter_reduce_(0, inverse, torch.arange(todo_index.numel()), "amin")
                item_of, bg_of = item_of[first], bg_of[first]
            points = []
            for x, b, member, shape in zip(
                self.flat_x, self.flat_b, self.players, self.shapes, strict=True
            ):
                keep = bits[item_of][:, member]  # [K, F]
                z = torch.where(keep, x[owner[item_of]], b[bg_of])
                points.append(z.reshape(-1, *shape))
            with torch.no_grad():
                out = self.forward(*points).double()
            self.rows_evaluated += int(out.shape[0])
            values[todo_index] = out if inverse is None else out[inverse]
        return values.reshape(n_items, m, -1).mean(dim=1)


def _bits(codes: torch.Tensor, n_players: int) -> torch.Tensor:
    """Coalition codes (integers) -> membership ``[N, G]`` (bit j = player j)."""
    return (codes.unsqueeze(1) >> torch.arange(n_players)).bitwise_and(1).bool()


def _exact(values: _CoalitionValues, n: int, n_players: int, show_progress: bool) -> torch.Tensor:
    """Exact Shapley values ``[B, G, T]`` from all ``2^G`` coalitions."""
    weights = _shapley_weights(n_players)
    n_coalitions = 1 << n_players
    total = n * n_coalitions
    step = values.items_per_call
    phi = None
    for start in tqdm(range(0, total, step), disable=not show_progress, desc="survshap"):
        item = torch.arange(start, min(start + step, total))
        owner, codes = item // n_coalitions, item % n_coalitions
        bits = _bits(codes, n_players)
        v = values(owner, bits)  # [N, T]
        size = bits.sum(dim=1)
        # phi_j = sum_{S not containing j} w(|S|) (v(S + j) - v(S)): a coalition C adds
        # +w(|C| - 1) v(C) to its members and -w(|C|) v(C) to the others.
        plus = weights[(size - 1).clamp(min=0)]
        minus = weights[size.clamp(max=n_players - 1)]
        coef = torch.where(bits, plus.unsqueeze(1), -minus.unsqueeze(1))  # [N, G]
        if phi is None:
            phi = torch.zeros((n, n_players, v.shape[1]), dtype=torch.float64)
        # items are ordered by instance: one small matrix product per instance in the chunk
        owners, counts = torch.unique_consecutive(owner, return_counts=True)
        for o, c_part, v_part in zip(
            owners.tolist(), coef.split(counts.tolist()), v.split(counts.tolist()), strict=True
        ):
            phi[o] += c_part.T @ v_part
    assert phi is not None
    return phi


def _permutation(
    values: _CoalitionValues,
    n: int,
    n_players: int,
    n_permutations: int,
    v_full: torch.Tensor,
    v_empty: torch.Tensor,
    generator: torch.Generator,
    show_progress: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Antithetic permutation sampling: estimates and standard errors ``[B, G, T]``."""
    n_pairs = n_permutations // 2
    orders = torch.rand((n, n_pairs, n_players), generator=generator).argsort(dim=2)
    orders = torch.stack([orders, orders.flip(2)], dim=2).reshape(n, -1, n_players)  # [B, K, G]
    n_paths = orders.shape[1]
    n_times = v_full.shape[1]
    contributions = torch.zeros((n, n_paths, n_players, n_times), dtype=torch.float64)
    # Prefixes of length 1..G-1 of every path; lengths 0 and G are v_empty and v_full.
    rank = torch.empty_like(orders)
    rank.scatter_(2, orders, torch.arange(n_players).expand_as(orders))
    owner_all = torch.arange(n).repeat_interleave(n_paths * (n_players - 1))
    path_all = torch.arange(n_paths).repeat_interleave(n_players - 1).repeat(n)
    length_all = torch.arange(1, n_players).repeat(n * n_paths)
    total = owner_all.shape[0]
    prefix_values = torch.empty((total, n_times), dtype=torch.float64)
    step = values.items_per_call
    for start in tqdm(range(0, total, step), disable=not show_progress, desc="survshap"):
        sl = slice(start, start + step)
        owner, path, length = owner_all[sl], path_all[sl], length_all[sl]
        bits = rank[owner, path] < length.unsqueeze(1)
        prefix_values[sl] = values(owner, bits)
    prefix_values = prefix_values.reshape(n, n_paths, n_players - 1, n_times)
    chain = torch.cat(
        [
            v_empty.reshape(n, 1, 1, n_times).expand(n, n_paths, 1, n_times),
            prefix_values,
            v_full.reshape(n, 1, 1, n_times).expand(n, n_paths, 1, n_times),
        ],
        dim=2,
    )
    marginal = chain[:, :, 1:] - chain[:, :, :-1]  # [B, K, G, T], position i adds orders[i]
    contributions.scatter_(2, orders.unsqueeze(3).expand_as(marginal), marginal)
    pairs = contributions.reshape(n, n_pairs, 2, n_players, n_times).mean(dim=2)
    estimate = pairs.mean(dim=1)
    if n_pairs > 1:
        stderr = pairs.std(dim=1, unbiased=True) / math.sqrt(n_pairs)
    else:
        stderr = torch.full_like(estimate, float("nan"))
    return estimate, stderr


def _spread(values: torch.Tensor, players: list[torch.Tensor], inputs: Inputs) -> Inputs:
    """Player values ``[B, G, T]`` -> per-feature attributions ``[B, T, *S]`` per input.

    A player with several features (a group) shares its value equally among them, so that
    the attributions still sum to the output difference and summing a group's features
    (:meth:`~captum_surv.SurvExplanation.aggregate`) gives the group's Shapley value.
    """
    counts = torch.bincount(torch.cat(players), minlength=values.shape[1]).double()
    share = values / counts.reshape(1, -1, 1)
    out = []
    for member, x in zip(players, inputs, strict=True):
        a = share[:, member, :].transpose(1, 2)  # [B, T, F]
        out.append(a.reshape(x.shape[0], a.shape[1], *x.shape[1:]).to(x.dtype))
    return tuple(out)


def survshap_attributions(
    forward: SurvivalForward,
    inputs: Inputs,
    baselines: Any,
    *,
    feature_mask: Any = None,
    estimator: str = "auto",
    n_permutations: int = 100,
    seed: int | None = None,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> dict[str, Any]:
    """SurvSHAP(t) for every time point; see :func:`captum_surv.explain` (``"survshap"``).

    Returns the dict of :func:`captum_surv.attr.methods.gradient_attributions` plus
    ``standard_error`` (a tuple like the attributions, or None for exact values).
    """
    if baselines is None:
        raise ValueError(
            "survshap needs background data: pass baselines=<background rows [M, *S]>, e.g. "
            "captum_surv.baselines.sample(x_train, 50, seed=0)."
        )
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r} is unknown; choose one of {list(ESTIMATORS)}.")
    rows = DEFAULT_ROWS if batch_size is None else positive_int(batch_size, "batch_size")
    background = match_baselines("baselines", baselines, inputs, per_instance=False)
    if any(b.shape[0] != background[0].shape[0] for b in background):
        raise ValueError("All baseline tensors need the same number of background rows.")
    players, n_players = _players(feature_mask, inputs)
    n = inputs[0].shape[0]
    if estimator == "auto":
        estimator = "exact" if n_players <= MAX_EXACT_PLAYERS else "permutation"
    prediction = predict_rows(forward, inputs, rows)
    background_out = predict_rows(forward, background, rows)
    reference = background_out.double().mean(dim=0, keepdim=True)
    values = _CoalitionValues(
        forward, inputs, background, players, n_players, rows, prediction, background_out
    )
    options: dict[str, Any] = {"estimator": estimator, "n_players": n_players}
    stderr = None
    if n_players == 1:  # one player takes the whole difference
        phi = (prediction.double() - reference).unsqueeze(1)
        if estimator == "permutation":
            stderr = torch.zeros_like(phi)
    elif estimator == "exact":
        if n_players > 30:
            raise ValueError(
                f"estimator='exact' enumerates 2^{n_players} coalitions, too many; use "
                "estimator='permutation' or group features with feature_mask=."
            )
        phi = _exact(values, n, n_players, show_progress)
        options["n_coalitions"] = 1 << n_players
    else:
        n_permutations = positive_int(n_permutations, "n_permutations")
        if n_permutations < 2 or n_permutations % 2:
            raise ValueError(
                f"n_permutations must be an even number >= 2 (each random order is used with "
                f"its reverse), got {n_permutations}."
            )
        generator = make_generator(seed)
        phi, stderr = _permutation(
            values,
            n,
            n_players,
            n_permutations,
            prediction.double(),
            reference.expand(n, -1),
            generator,
            show_progress,
        )
        options.update(n_permutations=n_permutations, seed=seed)
    options["background_rows"] = int(background[0].shape[0])
    # distinct rows evaluated for the coalitions (besides one prediction of the instances and
    # of the background); without deduplication: coalitions x background rows per instance
    options["coalition_rows"] = values.rows_evaluated
    options["batch_size"] = rows
    return MethodResult(
        attributions=_spread(phi, players, inputs),
        prediction=prediction,
        reference_prediction=reference.to(prediction.dtype).expand(n, -1).clone(),
        baselines=background,
        options=options,
        standard_error=None if stderr is None else _spread(stderr, players, inputs),
    )
