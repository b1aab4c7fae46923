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
