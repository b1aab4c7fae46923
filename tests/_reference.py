"""Reference values computed ONLY from pycox's own predictions (numpy/pandas).

Nothing here imports captum_surv.  Arrays are float64 numpy, shaped
[batch, n_times]; DeepHit event-specific outputs are keyed ``(output, r)``.
"""

from __future__ import annotations

import numpy as np
import torch
from pycox.models.utils import make_subgrid


def _np(a):
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def pycox_input(case):
    """The test input in the form pycox's predict functions accept."""
    return case.x  # a tensor or a tuple of tensors; pycox/torchtuples take both


def _prev(s):
    """S(t_{k-1}) with S(t_{-1}) = 1."""
    return np.concatenate([np.ones_like(s[:, :1]), s[:, :-1]], axis=1)


def _derived(s):
    """pmf and conditional hazard on a grid from survival on that grid."""
    sp = _prev(s)
    pmf = sp - s
    return pmf, pmf / sp


# --------------------------------------------------------------------- Cox families
class CoxReference:
    """All of pycox's Cox / CoxTime predictions for the test input, once.

    ``all_times`` is every index time of pycox's prediction frames (every unique
    training duration, original units), ``jump`` marks those with a baseline
    hazard > 0 (the native grid)."""

    def __init__(self, case):
        m = case.model
        x = pycox_input(case)
        bh = m.baseline_hazards_
        self.jump = bh.values > 0
        surv_df = m.predict_surv_df(x)  # original units for CoxTime
        cum_df = m.predict_cumulative_hazards(x)  # scaled index for CoxTime
        self.all_times = surv_df.index.values.astype(np.float64)
        self.S_all = surv_df.values.T.astype(np.float64)
        self.H_all = cum_df.values.T.astype(np.float64)
        assert self.S_all.shape == self.H_all.shape
        self.times = self.all_times[self.jump]
        self.max_time = float(self.all_times[-1])
        self.case = case
        if case.family == "cox":
            g = _np(m.predict(x)).reshape(-1, 1)  # [B, 1]
            self.g = g
            self.bh_jump = bh.values[self.jump].astype(np.float64)
        else:
            self.scaled_jump = bh.index.values[self.jump]
            # independent check of the original-unit map
            orig = np.asarray(case.labtrans.map_scaled_to_orig(self.scaled_jump), dtype=np.float64)
            np.testing.assert_array_equal(orig, self.times)

    # native grid
    def native(self, output):
        S = self.S_all[:, self.jump]
        H = self.H_all[:, self.jump]
        if output == "survival":
            return S
        if output == "cumhazard":
            return H
        if output == "hazard":
            if self.case.family == "cox":
                return self.bh_jump[None, :] * np.exp(self.g)
            return np.diff(H, axis=1, prepend=0.0)
        if output == "log_risk":
            return (
                self.log_risk_scaled(self.scaled_jump)
                if self.case.family == "coxtime"
                else (np.repeat(self.g, len(self.times), axis=1))
            )
        raise KeyError(output)

    def log_risk_scaled(self, scaled_times):
        """CoxTime: net(x, t_scaled) via pycox's predict, one call per time."""
        m, x = self.case.model, pycox_input(self.case)
        n = (x[0] if isinstance(x, tuple) else x).shape[0]  # tuple x: multi-input net
        cols = []
        for ts in scaled_times:
            t = torch.full((n, 1), float(ts), dtype=torch.float32)
            cols.append(_np(m.predict((x, t))).reshape(-1))
        return np.stack(cols, axis=1)

    def scale_time(self, t):
        """CoxTime: map original times to the net's scaled time (pycox's labtrans)."""
        t = np.asarray(t, dtype=np.float32)
        ts, _ = self.case.labtrans.transform(t, np.ones_like(t))
        return ts

    # arbitrary times: step lookup on pycox's frames
    def at(self, output, times):
        times = np.asarray(times, dtype=np.float64)
        idx = np.searchsorted(self.all_times, times, side="right") - 1
        before = idx < 0
        idx_c = np.clip(idx, 0, None)
        if output in ("survival", "cumhazard"):
            arr = self.S_all if output == "survival" else self.H_all
            out = arr[:, idx_c].copy()
            out[:, before] = 1.0 if output == "survival" else 0.0
            return out
        if output == "hazard":  # increment of cumhazard, first from 0 (times sorted)
            assert np.all(np.diff(times) > 0)
            return np.diff(self.at("cumhazard", times), axis=1, prepend=0.0)
        if output == "log_risk":
            if self.case.family == "cox":
                return np.repeat(self.g, len(times), axis=1)
            return self.log_risk_scaled(self.scale_time(times))
        raise KeyError(output)


# --------------------------------------------------------------------- discrete families
def native_grid(case):
    m = case.model
    if case.family == "pchazard":
        return np.asarray(make_subgrid(m.duration_index, m.sub), dtype=np.float64)
    return np.asarray(m.duration_index, dtype=np.float64)


def discrete_native(case, output, event=None):
    """Native-grid reference for discrete models and DeepHit."""
    m, x = case.model, pycox_input(case)
    name = case.name
    if case.family == "deephit":
        S = _np(m.predict_surv(x)).T  # pycox returns [times, batch]
        if output == "survival":
            return S
        if output == "cumhazard":
            return -np.log(S)
        if output == "cif":
            return _np(m.predict_cif(x))[event].T
        if output == "pmf":
            return _np(m.predict_pmf(x))[event].T
        if output == "hazard":
            return _np(m.predict_pmf(x))[event].T / _prev(S)
        raise KeyError(output)
    S = _np(m.predict_surv(x))
    if output == "survival":
        return S
    if output == "cumhazard":
        return -np.log(S)
    if name.startswith("LogisticHazard"):
        if output == "hazard":
            return _np(m.predict_hazard(x))
        if output == "pmf":
            return _prev(S) - S
    elif name in ("PMF", "DeepHitSingle", "MTLR"):
        pmf = _np(m.predict_pmf(x))
        if output == "pmf":
            return pmf
        if output == "hazard":
            return pmf / _prev(S)
    elif name == "PCHazard":
        if output == "hazard":
            return _np(m.predict_hazard(x))
        if output == "pmf":
            return _prev(S) - S
    raise KeyError((name, output))


def discrete_interpolated_survival(case, sub, scheme):
    """pycox's own interpolation: (times, survival [B, T]) on make_subgrid(cuts, sub)."""
    import pycox.models as pm

    m, x = case.model, pycox_input(case)
    cuts = np.asarray(m.duration_index, dtype=np.float64)
    if case.family == "pchazard":
        assert scheme == "const_hazard"
        # PCHazard's own sub-division IS constant-hazard interpolation
        other = pm.PCHazard(m.net, duration_index=m.duration_index, sub=sub)
        S = _np(other.predict_surv(x))
        times = np.asarray(make_subgrid(m.duration_index, sub), dtype=np.float64)
        return times, S
    if case.family == "deephit":
        raise ValueError("pycox has no DeepHit interpolation")
    S = _np(m.interpolate(sub, scheme=scheme).predict_surv(x))
    times = np.asarray(make_subgrid(cuts, sub), dtype=np.float64)
    assert S.shape[1] == len(times)
    return times, S


def deephit_linear(case, times, output, event=None):
    """DeepHit const_pdf reference: linear interpolation of pycox's S / CIF between cuts."""
    grid = native_grid(case)
    times = np.asarray(times, dtype=np.float64)
    if output == "survival":
        base, before_val = discrete_native(case, "survival"), 1.0
    else:
        base, before_val = discrete_native(case, "cif", event), 0.0
    out = np.stack([np.interp(times, grid, row) for row in base], axis=0)
    out[:, times < grid[0]] = before_val
    return out


def step_lookup(grid, values, times, before):
    """Value at the largest grid time <= t; ``before`` for t < grid[0]."""
    times = np.asarray(times, dtype=np.float64)
    idx = np.searchsorted(grid, times, side="right") - 1
    out = values[:, np.clip(idx, 0, None)].copy()
    out[:, idx < 0] = before
    return out


def from_survival(output, S, pchazard=False):
    """Outputs derived from survival on an arbitrary (sorted) grid.

    hazard: conditional hazard 1 - S(t_k)/S(t_{k-1}) = pmf_k / S(t_{k-1}); for
    PCHazard the interval-integrated hazard H(t_k) - H(t_{k-1}) (first from 0).
    """
    if output == "survival":
        return S
    if output == "cumhazard":
        return -np.log(S)
    if output == "hazard" and pchazard:
        return np.diff(-np.log(S), axis=1, prepend=0.0)
    pmf, haz = _derived(S)
    if output == "pmf":
        return pmf
    if output == "hazard":
        return haz
    raise KeyError(output)


_COX_CACHE: dict = {}


def cox_reference(case) -> CoxReference:
    """Cached CoxReference (pycox's CoxTime prediction loop is slow)."""
    if case.name not in _COX_CACHE:
        _COX_CACHE[case.name] = CoxReference(case)
    return _COX_CACHE[case.name]


def native_reference(case, output, event=None):
    if case.family in ("cox", "coxtime"):
        return cox_reference(case).native(output)
    return discrete_native(case, output, event)


def native_times(case):
    if case.family in ("cox", "coxtime"):
        return cox_reference(case).times
    return native_grid(case)
