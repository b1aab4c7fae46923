"""Conditional outputs on every engine route, including from_module's parametric families.

The parametric families take the engine's low-rank route (their output depends on x through
k parameters); a conditional output must not take it unless the family conditions inside its
head, or the Jacobian would describe the unconditional output.
"""

import pytest
import torch
from captum.attr import IntegratedGradients

import captum_surv

TIMES = [0.5, 1.0, 1.5, 2.0]


def _forward(kind: str) -> captum_surv.SurvivalForward:
    torch.manual_seed(0)
    width = {"weibull": 2, "lognormal": 2, "discrete_hazard": 5}[kind]
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, width)
    ).double()
    if kind == "discrete_hazard":
        return captum_surv.from_module(net, kind, cuts=[0, 0.5, 1, 1.5, 2.0], times=TIMES)
    return captum_surv.from_module(net, kind, times=TIMES)


@pytest.mark.parametrize("kind", ["weibull", "lognormal", "discrete_hazard"])
def test_conditional_survival_intgrad_equals_captum_loop(kind):
    fwd = _forward(kind)
    cond = fwd.with_output("conditional_survival", condition_time=0.7)
    x = torch.randn(4, 3, dtype=torch.float64)
    with torch.no_grad():
        ratio = fwd(x)[:, 1:] / fwd.with_times([0.7])(x)
        torch.testing.assert_close(cond(x)[:, 1:], ratio, rtol=1e-12, atol=1e-12)
    zero = torch.zeros(1, 3, dtype=torch.float64)
    expl = captum_surv.explain(cond, x, "intgrad", baselines=zero, n_steps=16)
    loop = torch.stack(
        [
            IntegratedGradients(cond).attribute(
                x, baselines=zero, target=k, n_steps=16, method="gausslegendre"
            )
            for k in range(len(TIMES))
        ],
        dim=1,
    )
    torch.testing.assert_close(expl.attributions, loop, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------ condition_time's range
JUMPS, INCREMENTS = [1.0, 2.0, 3.0], [0.1, 0.2, 0.3]


def _cox(times, clamp=False, **kwargs):
    torch.manual_seed(1)
    net = torch.nn.Linear(3, 1).double()
    fwd = captum_surv.from_module(
        net, "cox", baseline=(JUMPS, INCREMENTS), times=times, clamp=clamp, **kwargs
    )
    return fwd, net


def _hand_survival(net, x, t):
    """exp(-H0(t) exp(g(x))) with the step baseline above, clamped at the last jump 3."""
    h0 = sum(inc for jump, inc in zip(JUMPS, INCREMENTS, strict=True) if jump <= min(t, 3.0))
    with torch.no_grad():
        return torch.exp(-h0 * torch.exp(net(x)[:, 0]))


def test_condition_time_past_the_end_names_condition_time():
    with pytest.raises(ValueError, match=r"condition_time=10 lies past the last time"):
        _cox([1.0, 2.0], output="conditional_survival", condition_time=10.0)


@pytest.mark.parametrize("times", [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 5.0]])
@pytest.mark.parametrize("s", [2.5, 4.0, 10.0])
@pytest.mark.filterwarnings("ignore:clamp=True moved times")
def test_clamped_condition_time_and_grids_past_the_end(times, s):
    fwd, net = _cox(times, clamp=True)
    cond = fwd.with_output("conditional_survival", condition_time=s)
    x = torch.randn(3, 3, dtype=torch.float64)
    s_clamped = min(s, 3.0)
    expected = torch.stack(
        [
            _hand_survival(net, x, t) / _hand_survival(net, x, s_clamped)
            if t >= s
            else torch.ones(3, dtype=torch.float64)
            for t in times
        ],
        1,
    )
    with torch.no_grad():
        torch.testing.assert_close(cond(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["weibull", "lognormal"])
def test_condition_time_zero_is_unconditional(kind):
    fwd = _forward(kind)
    x = torch.randn(4, 3, dtype=torch.float64)
    cond = fwd.with_output("conditional_survival", condition_time=0.0)
    with torch.no_grad():
        torch.testing.assert_close(cond(x), fwd(x), rtol=1e-12, atol=1e-12)


def test_with_times_keeps_clamp():
    fwd, _ = _cox([1.0, 2.0], clamp=True)
    assert fwd.with_times([1.0, 5.0]).clamp
    assert not fwd.with_times([1.0, 2.0], clamp=False).clamp


def test_columns_before_condition_time_are_one_and_step_between_cuts():
    """t < s gives 1; s between native cuts reads the step survival at s (discrete_hazard)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5)
    ).double()
    cuts = [0, 0.5, 1, 1.5, 2.0]
    cond = captum_surv.from_module(
        net,
        "discrete_hazard",
        cuts=cuts,
        times=TIMES,
        interpolation="step",
        output="conditional_survival",
        condition_time=1.2,
    )
    x = torch.randn(4, 3, dtype=torch.float64)
    with torch.no_grad():
        hazard = torch.sigmoid(net(x))
    survival = torch.cumprod(1 - hazard + 1e-7, 1)  # S at each cut (pycox's epsilon)
    s_at = survival[:, 2]  # step: S(1.2) = S(1.0), the last cut at or before 1.2
    expected = torch.stack(
        [torch.ones(4, dtype=torch.float64)] * 2 + [survival[:, 3] / s_at, survival[:, 4] / s_at],
        1,
    )
    with torch.no_grad():
        torch.testing.assert_close(cond(x), expected, rtol=1e-12, atol=1e-12)
