"""explain()'s options: each method accepts exactly the options it uses, with clear errors.

Also SG(t)'s noise scale (from reference data, never from the explained batch), scalar
``stdevs`` for tuple inputs, numpy integer events, and the message for survival that
underflows to 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from torch import nn

import captum_surv
from captum_surv import explain
from tests.zoo import build, wrap


@pytest.fixture(scope="module")
def coxph():
    model, x = build("coxph")
    return captum_surv.from_pycox(model, times=4), x


@pytest.mark.parametrize(
    "method,kwargs,message",
    [
        (
            "grad",
            {"target": 3},
            r"got unknown option\(s\) \['target'\]; 'grad' accepts no "
            r"method options.*read time point k from the result",
        ),
        (
            "intgrad",
            {"nsteps": 10},
            r"\['nsteps'\]; 'intgrad' accepts 'n_steps', "
            r"'integration'.*Did you mean 'n_steps'",
        ),
        ("grad", {"n_steps": 5}, r"'n_steps' is an option of \['intgrad', 'gradshap'\]"),
        ("gxi", {"noise_level": 0.2}, r"'noise_level' is an option of \['smoothgrad'\]"),
        ("gradshap", {"stdevs": 0.1}, r"\['stdevs'\]; 'gradshap' accepts 'sampling'"),
    ],
)
def test_unknown_options_name_the_accepted_ones(coxph, method, kwargs, message):
    fwd, x = coxph
    with pytest.raises(ValueError, match=message):
        explain(fwd, x[:2], method, **kwargs)


def test_options_a_method_would_ignore_raise(coxph):
    fwd, x = coxph
    refs = x[20:30]
    for method in ("grad", "gxi"):
        with pytest.raises(ValueError, match=rf"'{method}' uses no baselines"):
            explain(fwd, x[:2], method, refs)
    with pytest.raises(ValueError, match=r"path_points/n_steps apply to the other samplings"):
        explain(fwd, x[:2], "gradshap", refs, sampling="random", n_steps=10)
    with pytest.raises(ValueError, match=r"n_samples applies to sampling='random' only"):
        explain(fwd, x[:2], "gradshap", refs, sampling="gausslegendre", n_samples=10)
    with pytest.raises(ValueError, match=r"both baselines and reference="):
        explain(fwd, x[:2], "smoothgrad", refs, reference=refs)
    with pytest.raises(ValueError, match=r"stdevs= \(absolute noise sd\) together with"):
        explain(fwd, x[:2], "smoothgrad", stdevs=0.1, noise_level=0.2)
    with pytest.raises(ValueError, match=r"stdevs= \(absolute noise sd\) together with"):
        explain(fwd, x[:2], "smoothgrad", refs, stdevs=0.1)
    with pytest.raises(ValueError, match=r"stdevs for input 0 must be finite and >= 0"):
        explain(fwd, x[:2], "smoothgrad", stdevs=-0.1)
    with pytest.raises(ValueError, match=r"noise_level must be a finite number >= 0"):
        explain(fwd, x[:2], "smoothgrad", refs, noise_level=-1.0)
    with pytest.raises(ValueError, match=r"smoothgrad needs the scale of its noise"):
        explain(fwd, x[:2], "smoothgrad")


def test_smoothgrad_noise_scale_does_not_depend_on_the_batch(coxph):
    """The same patient first in three batches (one of them alone) gets the same SG(t)."""
    fwd, x = coxph
    train = x[40:200]
    runs = [
        explain(fwd, x[[0, 1, 2]], "smoothgrad", train, seed=3, n_samples=6),
        explain(fwd, x[[0, 9]], "smoothgrad", reference=train, seed=3, n_samples=6),
        explain(fwd, x[:1], "smoothgrad", train, seed=3, n_samples=6),
    ]
    first = runs[0].attributions[0]
    assert first.abs().max() > 0
    for run in runs[1:]:
        assert torch.allclose(run.attributions[0], first, rtol=1e-6, atol=1e-7)
    # the noise sd is noise_level x the reference data's sd: same draws through Saliency
    gen = torch.Generator().manual_seed(3)
    noise = torch.randn((1, 6, x.shape[1]), generator=gen)
    points = (x[:1, None] + noise * 0.1 * train.std(dim=0)).reshape(6, -1)
    sal = Saliency(fwd)
    grads = torch.stack([sal.attribute(points, target=k, abs=False) for k in range(4)], 1)
    assert torch.allclose(runs[2].attributions[0], grads.mean(0), rtol=1e-5, atol=1e-7)


def test_scalar_stdevs_broadcast_over_tuple_inputs():
    model, (xa, xb) = build("two_input")
    fwd = captum_surv.from_pycox(model, times=3)
    inputs = (xa[:2], xb[:2])
    scalar = explain(fwd, inputs, "smoothgrad", stdevs=0.2, seed=1, n_samples=4)
    per_input = explain(fwd, inputs, "smoothgrad", stdevs=(0.2, 0.2), seed=1, n_samples=4)
    for a, b in zip(scalar.attributions, per_input.attributions, strict=True):
        assert torch.equal(a, b)
    gen = torch.Generator().manual_seed(1)
    draws = [[torch.randn((4, x.shape[1]), generator=gen) for x in inputs] for _ in range(2)]
    points = tuple(
        (x[:, None] + 0.2 * torch.stack([d[i] for d in draws])).reshape(8, -1)
        for i, x in enumerate(inputs)
    )
    sal = Saliency(fwd)
    per_k = [sal.attribute(points, target=k, abs=False) for k in range(3)]
    for i, ours in enumerate(scalar.attributions):
        ref = torch.stack([p[i] for p in per_k], 1).reshape(2, 4, 3, -1).mean(1)
        assert torch.allclose(ours, ref, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"stdevs has 3 entries but the inputs have 2 tensors"):
        explain(fwd, inputs, "smoothgrad", stdevs=(0.1, 0.2, 0.3))


def test_numpy_integer_event_is_accepted():
    model, x = build("deephit")
    for event in (np.int64(1), np.int32(1)):
        fwd = captum_surv.from_pycox(model, output="cif", event=event, times=4)
        assert fwd.event == 1 and type(fwd.event) is int
        plain = captum_surv.from_pycox(model, output="cif", event=1, times=4)
        assert torch.equal(fwd(x[:3]), plain(x[:3]))
    with pytest.raises(ValueError, match=r"event=np.int64\(2\) is out of range"):
        captum_surv.from_pycox(model, output="cif", event=np.int64(2))


def test_survival_underflow_says_what_happened():
    torch.manual_seed(0)
    x_train = torch.randn(40, 3)
    net = nn.Linear(3, 1, bias=False)
    model = wrap("coxph", net, x_train)
    with torch.no_grad():  # a risk score far beyond float32's exp range at x = (1, 1, 1)
        net.weight.fill_(40.0)
    fwd = captum_surv.from_pycox(model, times=3)
    x = torch.ones(2, 3)
    x[1] = 0.0
    with pytest.raises(
        ValueError,
        match=r"Survival underflows to exactly 0 for instance\(s\) "
        r"\[0\].*pass float64 inputs.*'cumhazard' or 'log_risk'",
    ):
        explain(fwd, x, "grad")
    with pytest.raises(
        ValueError,
        match=r"prediction itself is not finite for instance\(s\) \[0\]"
        r".*explain 'log_risk' instead",
    ):
        explain(fwd.with_output("cumhazard"), x, "grad")
    # float64 is finite there, and log_risk in float32 too
    assert torch.isfinite(explain(fwd, x.double(), "grad").attributions).all()
    assert torch.isfinite(explain(fwd.with_output("log_risk"), x, "grad").attributions).all()


def test_captum_integration_scheme_passes_as_integration():
    """explain's ``method`` names the algorithm; Captum's ``method=`` travels as integration=."""
    from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 4))
    fwd = captum_surv.from_module(net.double(), "discrete_hazard", cuts=[0.0, 1.0, 2.0, 3.0])
    x = torch.randn(3, 3, dtype=torch.float64)
    expl = captum_surv.explain(
        fwd, x, IntegratedGradients, integration="riemann_trapezoid", n_steps=7
    )
    loop = torch.stack(
        [
            IntegratedGradients(fwd).attribute(x, target=k, method="riemann_trapezoid", n_steps=7)
            for k in range(fwd.n_times)
        ],
        dim=1,
    )
    torch.testing.assert_close(expl.attributions, loop, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"Saliency.attribute has no integration scheme"):
        captum_surv.explain(fwd, x, Saliency, integration="riemann_trapezoid")
    with pytest.raises(ValueError, match=r"Saliency.attribute has no integration scheme"):
        captum_surv.explain(fwd, x, NoiseTunnel(Saliency(fwd)), integration="gausslegendre")
