"""captum_surv.from_pycox reproduces pycox's own predictions.

References come from pycox only (tests/_reference.py).  float32 inputs,
<= 1e-5 absolute (cumulative/conditional hazards also get 1e-5 relative, since
they can exceed 1 and pycox itself computes them in float32).
"""

from __future__ import annotations

import _reference as R
import numpy as np
import pytest
import torch
from _helpers import (
    ATOL,
    CONST_HAZARD_NAMES,
    CONST_PDF_NAMES,
    COX_NAMES,
    DISCRETE_NAMES,
    check,
    make,
    output_params,
    run,
    times_np,
)
from pycox.models.utils import make_subgrid

import captum_surv
from tests.zoo import CASE_NAMES, OUTPUTS, get_case


# --------------------------------------------------------------------------- native grid
@pytest.mark.parametrize("name,output,event", output_params())
def test_native_grid(name, output, event):
    case = get_case(name)
    fwd = make(case, output, event)
    assert isinstance(fwd, torch.nn.Module)
    assert fwd.output == output
    assert fwd.event == event
    ref = R.native_reference(case, output, event)
    out = run(fwd, case)
    check(out, ref, output, f"{name}/{output}/{event} native grid")
    np.testing.assert_allclose(times_np(fwd), R.native_times(case), rtol=1e-7, atol=0)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_native_times_and_attributes(name):
    """`.times` equals pycox's own time index (original units for CoxTime)."""
    case = get_case(name)
    fwd = make(case, "survival")
    t = times_np(fwd)
    m = case.model
    if case.family == "cox":
        bh = m.baseline_hazards_
        expected = bh.index.values[bh.values > 0]
    elif case.family == "coxtime":
        bh = m.baseline_hazards_
        expected = np.asarray(case.labtrans.map_scaled_to_orig(bh.index.values[bh.values > 0]))
        # and it is pycox's predict_surv_df index (censor-only times excluded)
        idx = R.cox_reference(case).all_times  # = m.predict_surv_df(x).index
        assert set(expected.tolist()) <= set(idx.tolist())
    elif case.family == "pchazard":
        expected = make_subgrid(m.duration_index, m.sub)
        assert len(t) == (len(m.duration_index) - 1) * m.sub + 1  # sub=3 respected
    else:
        expected = m.duration_index
    np.testing.assert_allclose(t, np.asarray(expected, dtype=np.float64), rtol=1e-7, atol=0)
    assert np.all(np.diff(t) > 0)
    assert set(fwd.supported_outputs) == set(OUTPUTS[name])
    assert fwd.output == "survival"
    assert isinstance(fwd.interpolation, str)
    if name == "PCHazard":
        assert fwd.interpolation == "const_hazard"
    elif case.family in ("discrete", "deephit"):
        assert fwd.interpolation == "const_pdf"


def test_cox_native_grid_excludes_censor_only_times():
    case = get_case("CoxPH")
    bh = case.model.baseline_hazards_
    assert (bh.values == 0).any(), "fixture should have censor-only durations"
    t = times_np(make(case))
    assert len(t) == int((bh.values > 0).sum()) < len(bh)


@pytest.mark.parametrize("name", ["DeepHit"])
def test_deephit_transposed(name):
    case = get_case(name)
    m, x = case.model, case.x
    S = m.predict_surv(x).numpy()  # pycox: [times, batch]
    assert S.shape == (len(m.duration_index), x.shape[0])
    out = run(make(case, "survival"), case)
    assert out.shape == (x.shape[0], len(m.duration_index))
    np.testing.assert_allclose(out, S.T, atol=ATOL, rtol=0)
    cif = m.predict_cif(x).numpy()
    for r in (0, 1):
        np.testing.assert_allclose(run(make(case, "cif", r), case), cif[r].T, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------- integer grid
def _int_idx(M, n):
    return np.round(np.linspace(0, M - 1, n)).astype(int)


POINTWISE = ("survival", "cumhazard", "cif", "log_risk")


@pytest.mark.parametrize("name,output,event", output_params())
def test_integer_grid(name, output, event):
    case = get_case(name)
    native = R.native_times(case)
    M, n = len(native), 5
    idx = _int_idx(M, n)
    fwd = make(case, output, event, times=n)
    np.testing.assert_allclose(times_np(fwd), native[idx], rtol=1e-7, atol=0)
    out = run(fwd, case)
    assert out.shape == (case.x[0].shape[0] if case.multi_input else case.x.shape[0], n)
    if output in POINTWISE:
        ref = R.native_reference(case, output, event)[:, idx]
        check(out, ref, output, f"{name}/{output} int grid")
    # n == M reproduces the native grid for every output
    full = run(make(case, output, event, times=M), case)
    check(full, R.native_reference(case, output, event), output, f"{name}/{output} int grid n=M")


@pytest.mark.parametrize(
    "name,output,event", [p for p in output_params() if p.values[1] in ("hazard", "pmf")]
)
def test_integer_subgrid_interval_outputs(name, output, event):
    """hazard/pmf on a coarser (sub)grid are interval quantities over that grid:
    pmf_k = S(t_{k-1}) - S(t_k), hazard_k = pmf_k / S(t_{k-1}) (Cox/CoxTime/PCHazard:
    the increment of the cumulative hazard between consecutive grid times, first from 0)."""
    case = get_case(name)
    native = R.native_times(case)
    idx = _int_idx(len(native), 5)
    out = run(make(case, output, event, times=5), case)
    if case.family in ("cox", "coxtime"):
        H = R.native_reference(case, "cumhazard")[:, idx]
        ref = np.diff(H, axis=1, prepend=0.0)
    elif case.family == "deephit":
        S = R.native_reference(case, "survival")[:, idx]
        cif = R.native_reference(case, "cif", event)[:, idx]
        pmf = np.diff(cif, axis=1, prepend=0.0)
        S_prev = np.concatenate([np.ones_like(S[:, :1]), S[:, :-1]], 1)
        ref = pmf if output == "pmf" else pmf / S_prev
    else:
        S = R.native_reference(case, "survival")[:, idx]
        ref = R.from_survival(output, S, pchazard=case.family == "pchazard")
    check(out, ref, output, f"{name}/{output} int subgrid")


def test_integer_grid_too_large_raises():
    case = get_case("PMF")
    with pytest.raises(ValueError):
        make(case, times=len(case.model.duration_index) + 1)


# --------------------------------------------------------------------------- Cox: arbitrary times
def cox_times(ref):
    j, all_t = ref.times, ref.all_times
    cens_only = all_t[~ref.jump]
    ts = [0.0, j[0] * 0.5]  # before the first jump
    ts += list(j[[0, 3, len(j) // 2, -2, -1]])  # exactly at jump times
    ts += [(j[k] + j[k + 1]) / 2 for k in (0, 7, len(j) // 3, len(j) - 2)]  # strictly between
    ts += list(cens_only[cens_only > j[0]][:3])  # censor-only times (no jump there)
    if ref.max_time > j[-1]:
        ts += [(j[-1] + ref.max_time) / 2]
    ts += [ref.max_time]  # the largest training duration is still inside the grid
    return np.unique(np.asarray(ts, dtype=np.float64))


@pytest.mark.parametrize("name,output,event", output_params(COX_NAMES))
def test_cox_arbitrary_times(name, output, event):
    case = get_case(name)
    ref = R.cox_reference(case)
    ts = cox_times(ref)
    if name == "CoxTime" and output == "log_risk":
        pytest.skip("see test_coxtime_log_risk_arbitrary_times")
    fwd = make(case, output, times=ts)
    np.testing.assert_allclose(times_np(fwd), ts, rtol=0, atol=0)
    check(run(fwd, case), ref.at(output, ts), output, f"{name}/{output} arbitrary times")


def test_coxtime_log_risk_arbitrary_times():
    """CoxTime log_risk at time t is net(x, scaled t) (spec: net(x, scaled t_k))."""
    case = get_case("CoxTime")
    ref = R.cox_reference(case)
    ts = cox_times(ref)[1:]  # positive times
    fwd = make(case, "log_risk", times=ts)
    check(run(fwd, case), ref.at("log_risk", ts), "log_risk", "CoxTime log_risk arbitrary times")


@pytest.mark.parametrize("name", COX_NAMES)
def test_cox_before_first_jump(name):
    case = get_case(name)
    ref = R.cox_reference(case)
    ts = np.array([0.0, ref.times[0] * 0.25, np.nextafter(ref.times[0], -np.inf)])
    S = run(make(case, "survival", times=ts), case)
    H = run(make(case, "cumhazard", times=ts), case)
    np.testing.assert_array_equal(S, 1.0)
    np.testing.assert_array_equal(H, 0.0)


@pytest.mark.parametrize("name", COX_NAMES)
def test_cox_clamp(name):
    case = get_case(name)
    ref = R.cox_reference(case)
    ts = np.array([ref.times[-1], ref.max_time + 1.0, ref.max_time * 3])
    with pytest.warns(UserWarning, match="2 duplicate times"):  # the last two
        fwd = make(case, "survival", times=ts, clamp=True)
    S = run(fwd, case)
    last = ref.S_all[:, -1:]
    check(S, np.repeat(last, 3, axis=1), "survival", f"{name} clamp")


# --------------------------------------------------------------------------- order of times
@pytest.mark.parametrize("name", CASE_NAMES)
def test_unsorted_times_are_rejected(name):
    """Grids must be strictly increasing: hazard and pmf columns describe the intervals
    between consecutive times, so an unsorted grid is refused with a hint to sort it."""
    case = get_case(name)
    native = R.native_times(case)
    ts = native[np.array([len(native) - 1, 0, len(native) // 2])]
    with pytest.raises(ValueError, match="strictly increasing.*sort"):
        make(case, "survival", times=ts)
    with pytest.raises(ValueError, match="strictly increasing"):
        make(case, "survival", times=np.array([native[1], native[1]]))


# --------------------------------------------------------------------------- discrete interpolation
SUB = 4
BEFORE = -0.5  # all discrete fixtures have cuts[0] == 0


def _with_before(times, S):
    """Prepend a time before the first cut, where survival is 1."""
    return (np.concatenate([[BEFORE], times]), np.concatenate([np.ones_like(S[:, :1]), S], axis=1))


def _interp_outputs(case, scheme):
    outs = ["survival", "cumhazard"]
    if "pmf" in case.outputs:
        outs += ["pmf", "hazard"]
    return outs


@pytest.mark.parametrize("name", CONST_PDF_NAMES)
@pytest.mark.parametrize("explicit", [False, True], ids=["default", "explicit"])
def test_const_pdf_interpolation(name, explicit):
    case = get_case(name)
    times, S = R.discrete_interpolated_survival(case, SUB, "const_pdf")
    times, S = _with_before(times, S)
    kw = {"interpolation": "const_pdf"} if explicit else {}
    for output in _interp_outputs(case, "const_pdf"):
        fwd = make(case, output, times=times, **kw)
        assert fwd.interpolation == "const_pdf"
        check(run(fwd, case), R.from_survival(output, S), output, f"{name}/{output} const_pdf")


@pytest.mark.parametrize("name", CONST_HAZARD_NAMES)
def test_const_hazard_interpolation(name):
    case = get_case(name)
    times, S = R.discrete_interpolated_survival(case, SUB, "const_hazard")
    times, S = _with_before(times, S)
    for output in _interp_outputs(case, "const_hazard"):
        fwd = make(case, output, times=times, interpolation="const_hazard")
        assert fwd.interpolation == "const_hazard"
        check(
            run(fwd, case),
            R.from_survival(output, S, pchazard=case.family == "pchazard"),
            output,
            f"{name}/{output} const_hazard",
        )


def test_pchazard_default_is_const_hazard():
    case = get_case("PCHazard")
    times, S = R.discrete_interpolated_survival(case, 5, "const_hazard")
    fwd = make(case, "survival", times=times)
    assert fwd.interpolation == "const_hazard"
    check(run(fwd, case), S, "survival", "PCHazard default interpolation")


def test_deephit_const_pdf_interpolation():
    case = get_case("DeepHit")
    cuts = np.asarray(case.model.duration_index, dtype=np.float64)
    times = np.concatenate([[BEFORE], np.asarray(make_subgrid(cuts, SUB), dtype=np.float64)])
    check(
        run(make(case, "survival", times=times), case),
        R.deephit_linear(case, times, "survival"),
        "survival",
        "DeepHit survival const_pdf",
    )
    for r in (0, 1):
        check(
            run(make(case, "cif", r, times=times), case),
            R.deephit_linear(case, times, "cif", r),
            "cif",
            f"DeepHit cif[{r}] const_pdf",
        )


@pytest.mark.parametrize("name", DISCRETE_NAMES)
def test_step_interpolation(name):
    case = get_case(name)
    native = R.native_times(case)
    mids = (native[:-1] + native[1:]) / 2
    times = np.unique(np.concatenate([[BEFORE], native[::3], mids[::2], [native[-1]]]))
    S = R.step_lookup(native, R.native_reference(case, "survival"), times, before=1.0)
    check(
        run(make(case, "survival", times=times, interpolation="step"), case),
        S,
        "survival",
        f"{name} step",
    )
    if case.family == "deephit":
        cif = R.step_lookup(native, R.native_reference(case, "cif", 1), times, before=0.0)
        check(
            run(make(case, "cif", 1, times=times, interpolation="step"), case),
            cif,
            "cif",
            "DeepHit cif step",
        )


@pytest.mark.parametrize("name", DISCRETE_NAMES)
def test_discrete_before_first_cut_and_clamp(name):
    case = get_case(name)
    native = R.native_times(case)
    S = run(make(case, "survival", times=[-2.0, BEFORE]), case)
    np.testing.assert_array_equal(S, 1.0)
    Sn = R.native_reference(case, "survival")
    with pytest.warns(UserWarning, match="2 duplicate times"):
        fwd = make(case, "survival", times=[native[-1], native[-1] + 1.0], clamp=True)
    Sc = run(fwd, case)
    check(Sc, np.repeat(Sn[:, -1:], 2, axis=1), "survival", f"{name} clamp")


# --------------------------------------------------------------------------- derived forwards
@pytest.mark.parametrize("name", CASE_NAMES)
def test_with_output_and_with_times_share_net(name):
    case = get_case(name)
    fwd = make(case, "survival")
    other = "cumhazard"
    f2 = fwd.with_output(other)
    assert f2.net is fwd.net
    assert f2.output == other
    check(run(f2, case), R.native_reference(case, other), other, f"{name} with_output")
    native = R.native_times(case)
    ts = native[[1, len(native) // 2, -1]]
    f3 = fwd.with_times(ts)
    assert f3.net is fwd.net
    np.testing.assert_allclose(times_np(f3), ts, rtol=0, atol=0)
    check(
        run(f3, case),
        R.native_reference(case, "survival")[:, [1, len(native) // 2, -1]],
        "survival",
        f"{name} with_times",
    )
    f4 = fwd.with_times(3)
    assert f4.net is fwd.net
    if case.family == "deephit":
        f5 = fwd.with_output("cif", event=1)
        assert f5.net is fwd.net and f5.event == 1
        check(run(f5, case), R.native_reference(case, "cif", 1), "cif", "DeepHit with_output cif")
    # the original forward is unchanged
    assert fwd.output == "survival"
    assert len(fwd.times) == len(native)


@pytest.mark.parametrize("name", ["CoxPH", "PMF", "PCHazard"])
def test_with_times_clamp_and_interpolation(name):
    case = get_case(name)
    fwd = make(case, "survival")
    native = R.native_times(case)
    last = native[-1] if case.family != "cox" else R.cox_reference(case).max_time
    with pytest.raises(ValueError):
        fwd.with_times([last + 1.0])
    f = fwd.with_times([last + 1.0], clamp=True)
    assert f.net is fwd.net
    check(run(f, case), R.native_reference(case, "survival")[:, -1:], "survival", f"{name} clamp")
    if case.family != "cox":
        f = fwd.with_times(native[:3], interpolation="step")
        assert f.interpolation == "step"


# --------------------------------------------------------------------------- time_index
@pytest.mark.parametrize("name", ["CoxPH", "CoxTime", "PMF", "PCHazard"])
def test_time_index(name):
    case = get_case(name)
    fwd = make(case, "survival")
    t = times_np(fwd)
    assert fwd.time_index(float(t[3])) == 3
    assert isinstance(fwd.time_index(float(t[3])), int)
    idx = fwd.time_index(t[[5, 0, 2]])
    assert isinstance(idx, torch.Tensor) and idx.dtype == torch.long
    assert idx.tolist() == [5, 0, 2]
    mid = (t[3] + t[4]) / 2
    with pytest.raises(ValueError):
        fwd.time_index(mid)
    near = fwd.time_index(t[3] + 0.1 * (t[4] - t[3]), nearest=True)
    assert near == 3
    near = fwd.time_index(t[3] + 0.9 * (t[4] - t[3]), nearest=True)
    assert near == 4


# --------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("name", CASE_NAMES)
def test_float64_input(name):
    case = get_case(name)
    fwd = make(case, "survival")
    out64 = run(fwd, case, torch.float64)
    check(out64, R.native_reference(case, "survival"), "survival", f"{name} float64 input")


def test_batch_of_one():
    case = get_case("CoxPH")
    fwd = make(case, "survival")
    with torch.no_grad():
        out = fwd(case.x[2:3]).double().numpy()
    check(out, R.native_reference(case, "survival")[2:3], "survival", "batch of one")


# --------------------------------------------------------------------------- CoxTime baseline
def test_compute_coxtime_baseline_hazards():
    case = get_case("CoxTime")
    m = case.model
    before = m.baseline_hazards_.copy()
    ref = m.compute_baseline_hazards(set_hazards=False)
    got = captum_surv.compute_coxtime_baseline_hazards(m)
    np.testing.assert_allclose(
        np.asarray(got.index, dtype=np.float64),
        np.asarray(ref.index, dtype=np.float64),
        rtol=1e-7,
        atol=0,
    )
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-5, atol=1e-8)
    # set_hazards=False leaves the model alone
    assert m.baseline_hazards_.equals(before)
