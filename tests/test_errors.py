"""Bad inputs raise the documented exception with a message naming the problem."""

from __future__ import annotations

import copy

import _reference as R
import numpy as np
import pytest
import torch
import torchtuples as tt
from _helpers import make
from pycox import models as pm
from torch import nn

import captum_surv
from tests.zoo import CASE_NAMES, OUTPUTS, get_case, mlp

ALL_OUTPUTS = ("survival", "cumhazard", "hazard", "pmf", "cif", "log_risk")


def shallow(model):
    """A copy of the pycox wrapper with its own attribute dict (net shared, unchanged)."""
    return copy.copy(model)


def call(fwd, *xs):
    with torch.no_grad():
        return fwd(*xs)


# --------------------------------------------------------------------------- model objects
@pytest.mark.parametrize(
    "obj",
    [nn.Linear(4, 1), mlp(4, 10), "CoxPH", None, object()],
    ids=["Linear", "MLP", "str", "None", "object"],
)
def test_not_a_pycox_model(obj):
    with pytest.raises(
        TypeError, match=r"from_pycox expects a trained pycox model, got .*Supported"
    ):
        captum_surv.from_pycox(obj)


def test_torchtuples_model_is_not_a_pycox_model():
    with pytest.raises(TypeError, match=r"expects a trained pycox model, got torchtuples"):
        captum_surv.from_pycox(tt.Model(mlp(4, 1)))


@pytest.mark.parametrize("name", ["CoxPH", "CoxCC", "CoxTime"])
def test_cox_without_baseline_hazards(name):
    m = shallow(get_case(name).model)
    for attr in ("baseline_hazards_", "baseline_cumulative_hazards_"):
        if attr in vars(m):
            delattr(m, attr)
    assert not hasattr(m, "baseline_hazards_")
    with pytest.raises(ValueError, match=r"has no baseline hazards\. Call .*compute_baseline_haz"):
        captum_surv.from_pycox(m)


def test_fresh_coxph_without_baseline_hazards():
    m = pm.CoxPH(mlp(4, 1, output_bias=False))
    with pytest.raises(ValueError, match=r"CoxPH model has no baseline hazards\. Call"):
        captum_surv.from_pycox(m)


def test_coxtime_without_labtrans():
    m = shallow(get_case("CoxTime").model)
    m.labtrans = None
    with pytest.raises(ValueError, match=r"has no label transform \(model\.labtrans is None\)"):
        captum_surv.from_pycox(m)


@pytest.mark.parametrize(
    "name", ["LogisticHazard", "PMF", "DeepHitSingle", "MTLR", "BCESurv", "PCHazard", "DeepHit"]
)
def test_discrete_without_duration_index(name):
    m = shallow(get_case(name).model)
    m.duration_index = None
    with pytest.raises(ValueError, match=r"has no duration_index, so its output columns have"):
        captum_surv.from_pycox(m)


# --------------------------------------------------------------------------- outputs / events
@pytest.mark.parametrize("name", CASE_NAMES)
def test_unknown_output(name):
    case = get_case(name)
    with pytest.raises(ValueError, match=r"Unknown output 'survivl'\. Valid output names are"):
        make(case, "survivl")


@pytest.mark.parametrize(
    "name,output",
    [(n, o) for n in CASE_NAMES for o in ALL_OUTPUTS if o not in OUTPUTS[n]],
)
def test_unsupported_output_lists_supported(name, output):
    case = get_case(name)
    event = 0 if name == "DeepHit" else None
    with pytest.raises(ValueError, match=r"(?i)support") as info:  # lists them, see below
        make(case, output, event)
    msg = str(info.value)
    for o in OUTPUTS[name]:
        assert o in msg, f"message should list supported output {o!r}: {msg}"


@pytest.mark.parametrize("output", ["cif", "pmf", "hazard"])
def test_deephit_event_missing(output):
    with pytest.raises(ValueError, match=rf"output='{output}' describes one cause: pass event=r"):
        make(get_case("DeepHit"), output)


@pytest.mark.parametrize("event", [2, 5, -1])
def test_deephit_event_out_of_range(event):
    with pytest.raises(
        ValueError, match=rf"event={event} is out of range: this DeepHit model has 2"
    ):
        make(get_case("DeepHit"), "cif", event)


def test_with_output_checks_too():
    fwd = make(get_case("DeepHit"), "survival")
    with pytest.raises(ValueError, match=r"output='cif' describes one cause: pass event=r"):
        fwd.with_output("cif")
    with pytest.raises(ValueError, match=r"event=2 is out of range"):
        fwd.with_output("cif", event=2)
    with pytest.raises(ValueError, match=r"(?i)support"):
        make(get_case("BCESurv"), "survival").with_output("hazard")


# --------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("name", ["CoxPH", "CoxTime", "PMF", "DeepHit"])
def test_wrong_number_of_input_tensors(name):
    case = get_case(name)
    fwd = make(case)
    x = case.x
    with pytest.raises(ValueError, match=r"network takes 1 input tensor\(s\), got 2\. Call"):
        call(fwd, x, x)
    with pytest.raises(ValueError, match=r"network takes 1 input tensor\(s\), got 0\. Call"):
        call(fwd)


def test_wrong_number_of_input_tensors_multi_input():
    case = get_case("LogisticHazard2in")
    fwd = make(case)
    xa, xb = case.x
    with pytest.raises(ValueError, match=r"network takes 2 input tensor\(s\), got 1\. Call"):
        call(fwd, xa)
    with pytest.raises(ValueError, match=r"network takes 2 input tensor\(s\), got 3\. Call"):
        call(fwd, xa, xb, xb)


@pytest.mark.parametrize("name", ["CoxPH", "CoxTime", "PMF", "PCHazard", "DeepHit"])
def test_wrong_number_of_features(name):
    case = get_case(name)
    fwd = make(case)
    x = case.x
    with pytest.raises(ValueError, match=r"Input 0 has per-instance shape \(3,\), but the model"):
        call(fwd, x[:, :3])
    with pytest.raises(ValueError, match=r"Input 0 has per-instance shape \(5,\), but the model"):
        call(fwd, torch.cat([x, x[:, :1]], dim=1))


def test_wrong_feature_shape_multi_input():
    case = get_case("LogisticHazard2in")
    fwd = make(case)
    xa, xb = case.x
    with pytest.raises(ValueError, match=r"Input 1 has per-instance shape \(2,\), but the model"):
        call(fwd, xa, torch.cat([xb, xb], 1))
    with pytest.raises(ValueError, match=r"Input 0 has per-instance shape \(1,\), but the model"):
        call(fwd, xb, xa)  # swapped


@pytest.mark.parametrize("name", ["CoxPH", "CoxTime", "PMF", "DeepHit", "LogisticHazard2in"])
@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"]
)
def test_non_finite_inputs(name, bad):
    case = get_case(name)
    fwd = make(case)
    xs = list(case.inputs())
    xs[-1][1, 0] = bad
    with pytest.raises(ValueError, match=rf"Input {len(xs) - 1} contains NaN or inf values"):
        call(fwd, *xs)


@pytest.mark.parametrize("name", ["CoxPH", "CoxTime", "PMF", "DeepHit", "LogisticHazard2in"])
def test_empty_batch(name):
    case = get_case(name)
    fwd = make(case)
    xs = case.inputs(rows=slice(0, 0))
    assert xs[0].shape[0] == 0
    with pytest.raises(ValueError, match=r"Input 0 is empty \(0 rows\); pass at least one row"):
        call(fwd, *xs)


# --------------------------------------------------------------------------- time grids
@pytest.mark.parametrize("name", CASE_NAMES)
def test_times_past_the_grid(name):
    case = get_case(name)
    if case.family in ("cox", "coxtime"):
        last = R.cox_reference(case).max_time  # largest training duration
    else:
        last = float(R.native_times(case)[-1])
    past = r"lie past the last time at which \w+ is defined.*or clamp=True"
    with pytest.raises(ValueError, match=past):
        make(case, times=[0.5 * last, last * 1.5])
    with pytest.raises(ValueError, match=past):
        make(case).with_times([last + 1.0])
    # clamp=True accepts them
    make(case, times=[0.5 * last, last * 1.5], clamp=True)


@pytest.mark.parametrize("name", ["CoxPH", "PMF", "PCHazard"])
@pytest.mark.parametrize(
    "times", [[float("nan")], [1.0, float("inf")], []], ids=["nan", "inf", "empty"]
)
def test_bad_time_values(name, times):
    with pytest.raises(ValueError, match=r"times contains NaN or inf|non-empty 1-D array of time"):
        make(get_case(name), times=times)


@pytest.mark.parametrize("n", [0, -3, 10_000])
def test_bad_integer_times(n):
    with pytest.raises(
        ValueError, match=rf"times={n}: an integer count takes between 1 and 10 points "
    ):
        make(get_case("MTLR"), times=n)


def test_time_index_not_on_grid():
    fwd = make(get_case("PMF"))
    t = fwd.times.numpy()
    with pytest.raises(ValueError, match=r"is not on the forward's time grid \(nearest grid time"):
        fwd.time_index((t[1] + t[2]) / 2)


@pytest.mark.parametrize("name", ["PMF", "DeepHitSingle", "MTLR", "BCESurv", "DeepHit"])
def test_const_hazard_not_for_pmf_family(name):
    case = get_case(name)
    t = R.native_times(case)
    with pytest.raises(
        ValueError, match=rf"interpolation='const_hazard' is not available for {name}"
    ):
        make(case, times=[(t[1] + t[2]) / 2], interpolation="const_hazard")


@pytest.mark.parametrize("name", ["LogisticHazard", "PCHazard", "CoxPH"])
def test_unknown_interpolation(name):
    case = get_case(name)
    t = R.native_times(case)
    with pytest.raises(ValueError, match=rf"interpolation='cubic' is not available for {name}"):
        make(case, times=[(t[1] + t[2]) / 2], interpolation="cubic")


def test_errors_do_not_consume_the_model():
    """After a failed call, the model still works (no half-applied state)."""
    case = get_case("PMF")
    with pytest.raises(ValueError):
        make(case, "cif")
    out = make(case)(*case.inputs())
    np.testing.assert_allclose(
        out.detach().double().numpy(), R.native_reference(case, "survival"), atol=1e-5, rtol=0
    )
