"""from_module: plain torch networks of every kind against independent references.

References: scikit-survival's Breslow estimator, pycox's own predictions and baselines on
the same network, torchsurv's Weibull and Cox functions, scipy.stats distributions, and
hand-written loops. All in float64 (tolerance 1e-6 unless stated).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from pycox import models as pm
from scipy import stats
from torch import nn
from torchsurv.loss import cox as torchsurv_cox
from torchsurv.loss import weibull

import captum_surv

TOL = 1e-6
N, P = 60, 3


def tiny(out_features: int, seed: int = 0, in_features: int = P) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(in_features, 6), nn.Tanh(), nn.Linear(6, out_features)).double()


class Competing(nn.Module):
    def __init__(self, n_risks: int, n_cuts: int, seed: int = 0):
        super().__init__()
        self.shape = (n_risks, n_cuts)
        self.mlp = tiny(n_risks * n_cuts, seed)

    def forward(self, x):
        return self.mlp(x).view(x.shape[0], *self.shape)


class TimeNet(nn.Module):
    """g(x, t): an interaction of x with the (scaled) time input."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.mlp = tiny(1, seed, in_features=P + 1)

    def forward(self, x, t):
        return self.mlp(torch.cat([x, t], dim=1))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    x = torch.as_tensor(rng.normal(size=(N, P)))
    durations = np.round(rng.exponential(2.0, size=N), 1) + 0.1  # rounded: tied times
    events = (rng.uniform(size=N) < 0.7).astype(np.float64)
    return x, durations, events


@pytest.fixture(scope="module")
def x_test():
    return torch.as_tensor(np.random.default_rng(5).normal(size=(5, P)))


def evaluate(fwd, x):
    with torch.no_grad():
        return fwd(x).numpy()


def net_out(net, *x):
    with torch.no_grad():
        return net(*x).numpy()


# --------------------------------------------------------------------------- Cox
def test_cox_breslow_matches_scikit_survival(data, x_test):
    from sksurv.linear_model.coxph import BreslowEstimator

    x, d, e = data
    net = tiny(1)
    g = net_out(net, x).ravel()
    ref = BreslowEstimator().fit(g, e.astype(bool), d)
    fwd = captum_surv.from_module(net, "cox", data=data, output="cumhazard")
    times = fwd.times.numpy()
    np.testing.assert_allclose(times, np.unique(d[e == 1]))
    g_test = net_out(net, x_test).ravel()
    h0 = ref.cum_baseline_hazard_(times)
    expected = h0[None, :] * np.exp(g_test)[:, None]
    np.testing.assert_allclose(evaluate(fwd, x_test), expected, rtol=TOL, atol=TOL)
    surv = evaluate(fwd.with_output("survival"), x_test)
    np.testing.assert_allclose(surv, np.exp(-expected), atol=TOL)
    # a grid between the jumps: step lookup of scikit-survival's step function (which
    # extends its first value to t = 0, so the grid starts at the first event time)
    grid = np.linspace(times[0], d.max(), 17)
    got = evaluate(fwd.with_times(grid), x_test)
    np.testing.assert_allclose(
        got, ref.cum_baseline_hazard_(grid) * np.exp(g_test)[:, None], rtol=TOL, atol=TOL
    )
    hazard = evaluate(fwd.with_output("hazard"), x_test)
    np.testing.assert_allclose(hazard, np.diff(expected, prepend=0.0, axis=1), atol=TOL)
    log_risk = evaluate(fwd.with_output("log_risk"), x_test)
    np.testing.assert_allclose(log_risk, np.repeat(g_test[:, None], len(times), 1), atol=TOL)


def test_cox_breslow_matches_pycox_and_torchsurv(data, x_test):
    x, d, e = data
    net = tiny(1, seed=1)
    model = pm.CoxPH(copy.deepcopy(net))
    model.compute_baseline_hazards(x.numpy(), (d, e))
    expected = model.predict_surv_df(x_test.numpy())  # index: every unique duration
    fwd = captum_surv.from_module(net, "cox", data=data, times=expected.index.to_numpy())
    np.testing.assert_allclose(evaluate(fwd, x_test), expected.to_numpy().T, atol=TOL)

    g = net(x).detach().reshape(-1)
    base = torchsurv_cox.baseline_survival_function(g, torch.as_tensor(e == 1), torch.as_tensor(d))
    # torchsurv reads S(t-) at a jump time t; between jump times both conventions agree
    unique = np.unique(d)
    t = torch.as_tensor((unique[:-1] + unique[1:]) / 2)
    ts = torchsurv_cox.survival_function_cox(base, net(x_test).detach().reshape(-1), t)
    np.testing.assert_allclose(evaluate(fwd.with_times(t), x_test), ts.numpy(), atol=TOL)


def test_cox_given_baseline_reproduces_pycox(data, x_test):
    x, d, e = data
    net = tiny(1, seed=2)
    model = pm.CoxPH(copy.deepcopy(net))
    model.compute_baseline_hazards(x.numpy(), (d, e))
    base = model.baseline_hazards_
    fwd = captum_surv.from_module(
        net, "cox", baseline=(base.index.to_numpy(), base.to_numpy()), times=base.index
    )
    expected = model.predict_surv_df(x_test.numpy()).to_numpy().T
    np.testing.assert_allclose(evaluate(fwd, x_test), expected, atol=TOL)


# --------------------------------------------------------------------------- CoxTime
def _coxtime_reference(net, x, d, e, scale, x_new, grid):
    """Hand-written Breslow for g(x, t) and H(t|x) = sum_{t_j <= t} h0_j exp(g(x, t_j))."""
    event_times = np.unique(d[e == 1])
    h0 = []
    for t in event_times:
        at_risk = x[torch.as_tensor(d >= t)]
        s = torch.full((at_risk.shape[0], 1), scale(np.array([t]))[0], dtype=torch.float64)
        h0.append((e[d == t] == 1).sum() / np.exp(net_out(net, at_risk, s)).sum())
    h0 = np.array(h0)
    out = np.zeros((x_new.shape[0], len(grid)))
    for i in range(x_new.shape[0]):
        xi = x_new[i : i + 1].repeat(len(event_times), 1)
        s = torch.as_tensor(scale(event_times)).reshape(-1, 1)
        increments = h0 * np.exp(net_out(net, xi, s).ravel())
        for k, t in enumerate(grid):
            out[i, k] = increments[event_times <= t].sum()
    return out


def test_coxtime_breslow_matches_hand_formula(data, x_test):
    x, d, e = data
    net = TimeNet()
    scale = lambda t: (np.asarray(t) - 1.5) / 2.0  # noqa: E731
    fwd = captum_surv.from_module(
        net, "coxtime", data=data, time_transform=scale, output="cumhazard"
    )
    grid = np.linspace(0.05, d.max(), 13)
    expected = _coxtime_reference(net, x, d, e, scale, x_test, grid)
    np.testing.assert_allclose(evaluate(fwd.with_times(grid), x_test), expected, rtol=TOL, atol=TOL)
    surv = evaluate(fwd.with_times(grid).with_output("survival"), x_test)
    np.testing.assert_allclose(surv, np.exp(-expected), atol=TOL)


def test_coxtime_accepts_pycox_label_transform(data, x_test):
    x, d, e = data
    labtrans = pm.CoxTime.label_transform()
    labtrans.fit(d, e)
    net = TimeNet(seed=4)
    fwd = captum_surv.from_module(net, "coxtime", data=data, time_transform=labtrans)
    scale = lambda t: labtrans.transform(np.asarray(t), np.zeros(len(t)))[0]  # noqa: E731
    grid = fwd.times.numpy()
    expected = _coxtime_reference(net, x, d, e, scale, x_test, grid)
    np.testing.assert_allclose(evaluate(fwd, x_test), np.exp(-expected), atol=TOL)


# --------------------------------------------------------------------------- discrete
CUTS = np.array([0.0, 0.5, 1.0, 2.0, 3.5, 6.0])


@pytest.mark.parametrize("kind", ["discrete_hazard", "pmf"])
def test_discrete_kinds_match_pycox(kind, x_test):
    net = tiny(len(CUTS), seed=5)
    cls = pm.LogisticHazard if kind == "discrete_hazard" else pm.PMF
    model = cls(copy.deepcopy(net), duration_index=CUTS)
    x = x_test.numpy()
    fwd = captum_surv.from_module(net, kind, cuts=CUTS)
    np.testing.assert_allclose(evaluate(fwd, x_test), model.predict_surv(x), atol=TOL)
    pmf = -np.diff(model.predict_surv(x), prepend=1.0, axis=1)  # LogisticHazard: no predict_pmf
    np.testing.assert_allclose(evaluate(fwd.with_output("pmf"), x_test), pmf, atol=TOL)
    if kind == "discrete_hazard":
        hazard = 1 / (1 + np.exp(-net_out(net, x_test)))  # pycox has no predict_hazard here
        np.testing.assert_allclose(evaluate(fwd.with_output("hazard"), x_test), hazard, atol=TOL)
    # between the cuts: pycox's constant-density interpolation
    grid = np.linspace(0.0, CUTS[-1], 23)
    expected = model.interpolate(10).predict_surv_df(x)
    on_grid = np.array(
        [[np.interp(t, expected.index, expected[c]) for t in grid] for c in expected]
    )
    np.testing.assert_allclose(evaluate(fwd.with_times(grid), x_test), on_grid, atol=TOL)


@pytest.mark.parametrize("event", [0, 1])
def test_competing_pmf_matches_pycox_deephit(event, x_test):
    net = Competing(2, len(CUTS), seed=6)
    model = pm.DeepHit(copy.deepcopy(net), duration_index=CUTS)
    x = x_test.numpy()
    fwd = captum_surv.from_module(net, "competing_pmf", cuts=CUTS, n_risks=2)
    np.testing.assert_allclose(evaluate(fwd, x_test), model.predict_surv(x).T, atol=TOL)
    cif = captum_surv.from_module(
        net, "competing_pmf", cuts=CUTS, output="cif", event=event, n_risks=2
    )
    np.testing.assert_allclose(evaluate(cif, x_test), model.predict_cif(x)[event].T, atol=TOL)


# --------------------------------------------------------------------------- parametric
def _scipy(kind, params):
    """Frozen scipy distributions per instance for the documented conventions."""
    a = params[:, 0]
    b = params[:, 1] if params.shape[1] > 1 else None
    if kind == "weibull":
        return stats.weibull_min(c=np.exp(b)[:, None], scale=np.exp(a)[:, None])
    if kind == "exponential":
        return stats.expon(scale=np.exp(a)[:, None])
    if kind == "lognormal":
        return stats.lognorm(s=np.exp(b)[:, None], scale=np.exp(a)[:, None])
    return stats.fisk(c=np.exp(b)[:, None], scale=np.exp(a)[:, None])


PARAMETRIC = {"weibull": 2, "exponential": 1, "lognormal": 2, "loglogistic": 2}


@pytest.mark.parametrize("kind", list(PARAMETRIC))
def test_parametric_kinds_match_scipy(kind, x_test):
    net = tiny(PARAMETRIC[kind], seed=7)
    grid = np.array([0.05, 0.3, 1.0, 2.2, 4.0, 9.0])
    dist = _scipy(kind, net_out(net, x_test))
    sf = dist.sf(grid[None, :])
    cumhazard = -dist.logsf(grid[None, :])
    expected = {
        "survival": sf,
        "cumhazard": cumhazard,
        "hazard_rate": dist.pdf(grid[None, :]) / sf,
        "density": dist.pdf(grid[None, :]),
        "hazard": np.diff(cumhazard, prepend=0.0, axis=1),
        "pmf": -np.diff(sf, prepend=1.0, axis=1),
    }
    for output, ref in expected.items():
        fwd = captum_surv.from_module(net, kind, times=grid, output=output)
        np.testing.assert_allclose(evaluate(fwd, x_test), ref, rtol=TOL, atol=TOL, err_msg=output)


def test_weibull_matches_torchsurv_convention(x_test):
    grid = torch.tensor([0.2, 1.0, 3.0, 7.5], dtype=torch.float64)
    for width in (2, 1):  # one column: log shape 0 (torchsurv imputes it)
        net = tiny(width, seed=8)
        log_params = net(x_test).detach()
        fwd = captum_surv.from_module(net, "weibull", times=grid)
        np.testing.assert_allclose(
            evaluate(fwd, x_test),
            weibull.survival_function_weibull(log_params, grid).numpy(),
            atol=TOL,
        )
        rate = captum_surv.from_module(net, "weibull", times=grid, output="hazard_rate")
        np.testing.assert_allclose(
            np.log(evaluate(rate, x_test)),
            weibull.log_hazard(log_params, grid).numpy(),
            atol=TOL,
        )


def test_parametric_grid_from_data(data):
    x, d, e = data
    fwd = captum_surv.from_module(tiny(2), "lognormal", data=data)
    np.testing.assert_allclose(fwd.times.numpy(), np.unique(d[e == 1]))
    assert captum_surv.from_module(tiny(2), "lognormal", data=data, times=4).n_times == 4


# --------------------------------------------------------------------------- gradients
def _all_forwards(data):
    scale = lambda t: np.asarray(t) / 3.0  # noqa: E731
    grid = [0.3, 1.0, 2.5]
    yield "cox", captum_surv.from_module(tiny(1), "cox", data=data, times=grid)
    yield (
        "coxtime",
        captum_surv.from_module(TimeNet(), "coxtime", data=data, time_transform=scale, times=grid),
    )
    yield "discrete_hazard", captum_surv.from_module(tiny(len(CUTS)), "discrete_hazard", cuts=CUTS)
    yield "pmf", captum_surv.from_module(tiny(len(CUTS)), "pmf", cuts=CUTS, output="hazard")
    yield (
        "competing_pmf",
        captum_surv.from_module(
            Competing(2, len(CUTS)), "competing_pmf", cuts=CUTS, n_risks=2, output="cif", event=1
        ),
    )
    for kind, width in PARAMETRIC.items():
        for output in ("survival", "hazard_rate", "density"):
            yield (
                f"{kind}-{output}",
                captum_surv.from_module(tiny(width), kind, times=grid, output=output),
            )


def test_gradients_match_finite_differences(data, x_test):
    for name, fwd in _all_forwards(data):
        x = x_test[:3].clone().requires_grad_(True)
        assert torch.autograd.gradcheck(fwd, (x,), eps=1e-6, atol=1e-6), name


def test_captum_drop_in_completeness(data, x_test):
    for name, fwd in _all_forwards(data):
        k = fwd.n_times - 1
        ig = IntegratedGradients(fwd)
        base = torch.zeros_like(x_test)
        attr = ig.attribute(x_test, base, target=k, n_steps=64, method="gausslegendre")
        gap = evaluate(fwd, x_test)[:, k] - evaluate(fwd, base)[:, k]
        # smooth (tanh) float64 nets: 64 Gauss-Legendre nodes integrate the path to ~1e-12
        np.testing.assert_allclose(attr.sum(1).detach().numpy(), gap, atol=1e-9, err_msg=name)


# --------------------------------------------------------------------------- errors
def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match="Unknown kind 'deepsurv'") as err:
        captum_surv.from_module(tiny(1), "deepsurv")
    for kind in captum_surv.KINDS:
        assert repr(kind) in str(err.value)


def test_not_a_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        captum_surv.from_module(lambda x: x, "cox")


@pytest.mark.parametrize("kind", ["cox", "coxtime"])
def test_missing_baseline(kind):
    net = TimeNet() if kind == "coxtime" else tiny(1)
    with pytest.raises(ValueError, match="needs a baseline hazard"):
        captum_surv.from_module(net, kind)


def test_missing_cuts_and_times():
    with pytest.raises(ValueError, match="needs cuts"):
        captum_surv.from_module(tiny(4), "pmf")
    with pytest.raises(ValueError, match="pass times="):
        captum_surv.from_module(tiny(2), "weibull")


def test_wrong_input_width(data):
    fwd = captum_surv.from_module(tiny(1), "cox", data=data)
    with pytest.raises(ValueError, match="per-instance shape"):
        fwd(torch.zeros(2, P + 1, dtype=torch.float64))
    no_data = captum_surv.from_module(tiny(2), "weibull", times=[1.0])
    with pytest.raises(ValueError, match="do not fit"):
        no_data(torch.zeros(2, P + 1, dtype=torch.float64))


def test_wrong_output_width(data, x_test):
    with pytest.raises(ValueError, match=r"\[batch, 2\] or \[batch, 1\]"):
        captum_surv.from_module(tiny(3), "weibull", times=[1.0])(x_test)
    with pytest.raises(ValueError, match=r"\[batch, 2\]"):
        captum_surv.from_module(tiny(1), "lognormal", times=[1.0])(x_test)
    with pytest.raises(ValueError, match="one log-risk per instance"):
        captum_surv.from_module(tiny(2), "cox", data=data)
    with pytest.raises(ValueError, match="per-instance shape"):
        captum_surv.from_module(tiny(len(CUTS) + 1), "discrete_hazard", cuts=CUTS)(x_test)
    with pytest.raises(ValueError, match="per-instance shape"):
        captum_surv.from_module(Competing(2, len(CUTS)), "competing_pmf", cuts=CUTS, n_risks=3)(
            x_test
        )


def test_times_outside_range(data):
    with pytest.raises(ValueError, match="past the last time"):
        captum_surv.from_module(tiny(1), "cox", data=data, times=[1.0, data[1].max() + 1])
    with pytest.raises(ValueError, match="past the last time"):
        captum_surv.from_module(tiny(len(CUTS)), "pmf", cuts=CUTS, times=[1.0, 7.0])
    with pytest.raises(ValueError, match="not positive"):
        captum_surv.from_module(tiny(2), "weibull", times=[0.0, 1.0])


def test_nan_inputs_weights_and_data(data):
    x, d, e = data
    fwd = captum_surv.from_module(tiny(2), "weibull", times=[1.0])
    with pytest.raises(ValueError, match=r"Input 0 contains NaN or inf values; impute or drop"):
        fwd(torch.full((2, P), float("nan"), dtype=torch.float64))
    broken = tiny(1)
    with torch.no_grad():
        broken[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf weights"):
        captum_surv.from_module(broken, "cox", data=data)
    bad_x = x.clone()
    bad_x[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"data input 0 contains NaN or inf; impute or drop"):
        captum_surv.from_module(tiny(1), "cox", data=(bad_x, d, e))
    with pytest.raises(ValueError, match="no events"):
        captum_surv.from_module(tiny(1), "cox", data=(x, d, np.zeros_like(e)))
    with pytest.raises(ValueError, match="same number of rows"):
        captum_surv.from_module(tiny(1), "cox", data=(x, d[:-1], e[:-1]))


def test_bad_baseline_and_options(data):
    with pytest.raises(ValueError, match="strictly increasing"):
        captum_surv.from_module(tiny(1), "cox", baseline=([2.0, 1.0], [0.1, 0.1]))
    with pytest.raises(ValueError, match=r"baseline must be a pair \(jump_times, increments\)"):
        captum_surv.from_module(tiny(1), "cox", baseline=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="cuts are for the discrete kinds"):
        captum_surv.from_module(tiny(2), "weibull", times=[1.0], cuts=CUTS)
    with pytest.raises(ValueError, match="event="):
        captum_surv.from_module(tiny(2), "weibull", times=[1.0], event=1)
    with pytest.raises(ValueError, match="not defined for CoxPH"):
        captum_surv.from_module(tiny(1), "cox", data=data, output="density")
    with pytest.raises(ValueError, match="n_risks"):
        captum_surv.from_module(Competing(2, len(CUTS)), "competing_pmf", cuts=CUTS)


# --------------------------------------------------------------------------- safety
class Noisy(nn.Module):
    """BatchNorm and Dropout: train and eval mode differ. ``time_input``: net(x, t)."""

    def __init__(self, out_shape, time_input=False):
        super().__init__()
        torch.manual_seed(9)
        self.out_shape, self.time_input = tuple(out_shape), time_input
        self.body = nn.Sequential(
            nn.Linear(P + time_input, 8),
            nn.BatchNorm1d(8),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(8, int(np.prod(out_shape))),
        ).double()

    def forward(self, x, *t):
        return self.body(torch.cat([x, *t], dim=1)).reshape(x.shape[0], *self.out_shape)


def _snapshot(net):
    return (
        {k: v.clone() for k, v in net.state_dict().items()},
        {n: m.training for n, m in net.named_modules()},
        {n: p.requires_grad for n, p in net.named_parameters()},
        {n: None if p.grad is None else p.grad.clone() for n, p in net.named_parameters()},
    )


SAFETY = {
    "cox": ((1,), {"times": [0.5, 2.0]}),
    "coxtime": ((1,), {"times": [0.5, 2.0]}),
    "discrete_hazard": ((len(CUTS),), {"cuts": CUTS}),
    "pmf": ((len(CUTS),), {"cuts": CUTS}),
    "competing_pmf": ((2, len(CUTS)), {"cuts": CUTS, "n_risks": 2}),
    "weibull": ((2,), {"times": [0.5, 2.0]}),
    "exponential": ((1,), {"times": [0.5, 2.0]}),
    "lognormal": ((2,), {"times": [0.5, 2.0]}),
    "loglogistic": ((2,), {"times": [0.5, 2.0]}),
}


@pytest.mark.parametrize("kind", list(SAFETY))
def test_user_network_is_never_changed(kind, data, x_test):
    shape, options = SAFETY[kind]
    net = Noisy(shape, time_input=kind == "coxtime")
    x = data[0]
    net.body(torch.cat([x, x[:, :1]], 1) if kind == "coxtime" else x)  # update running stats
    net.train()
    net.body[0].weight.requires_grad_(False)
    net.body[4].bias.grad = torch.ones_like(net.body[4].bias)
    if kind in ("cox", "coxtime"):
        options = {**options, "data": data}
    before = _snapshot(net)
    fwd = captum_surv.from_module(net, kind, **options)
    out = evaluate(fwd, x_test)
    IntegratedGradients(fwd).attribute(x_test, target=1, n_steps=8)
    captum_surv.explain(fwd, x_test, "gradshap", baselines=x[:10], path_points=4)
    after = _snapshot(net)
    for k, v in before[0].items():
        assert torch.equal(after[0][k], v), k
    assert after[1:3] == before[1:3]
    assert all(
        torch.equal(before[3][n], after[3][n]) for n in before[3] if before[3][n] is not None
    )
    assert [n for n, g in after[3].items() if g is not None] == ["body.4.bias"]
    # eval-mode predictions, not affected by later training of the user's network
    expected = captum_surv.from_module(copy.deepcopy(net).eval(), kind, **options)
    np.testing.assert_allclose(out, evaluate(expected, x_test), atol=1e-12)
    with torch.no_grad():
        net.body[4].weight.add_(1.0)
    np.testing.assert_allclose(evaluate(fwd, x_test), out, atol=0)


# --------------------------------------------------------------------------- engine
def test_time_attribution_equals_captum_loop(data, x_test):
    """All time points at once (TimeAttribution, explain) equal Captum looped over targets."""
    base = torch.zeros(1, P, dtype=torch.float64)
    for name, fwd in _all_forwards(data):
        ig = IntegratedGradients(fwd)
        loop = torch.stack(
            [ig.attribute(x_test, base, target=k, n_steps=16) for k in range(fwd.n_times)], 1
        )
        ours = captum_surv.TimeAttribution(ig).attribute(x_test, base, n_steps=16)
        np.testing.assert_allclose(ours.numpy(), loop.numpy(), atol=1e-9, err_msg=name)
        expl = captum_surv.explain(fwd, x_test, "intgrad", base, n_steps=16)
        np.testing.assert_allclose(expl.attributions.numpy(), loop.numpy(), atol=1e-9, err_msg=name)


# --------------------------------------------------------------------------- torchsurv
@pytest.fixture(scope="module")
def torchsurv_networks():
    """The notebook's two networks (smaller, fewer epochs): Cox and Weibull on GBSG2."""
    split = captum_surv.datasets.load_dataset("gbsg2", test_size=0.25, seed=0)
    train, test = split
    x = torch.as_tensor(train.features, dtype=torch.float64)
    t = torch.as_tensor(train.durations / 365.0)
    e = torch.as_tensor(train.events == 1)
    nets = {}
    for kind, width, loss in [
        ("cox", 1, lambda out: torchsurv_cox.neg_partial_log_likelihood(out, e, t)),
        ("weibull", 2, lambda out: weibull.neg_log_likelihood_weibull(out, e, t)),
    ]:
        net = tiny(width, seed=0, in_features=x.shape[1])
        if kind == "weibull":
            with torch.no_grad():
                net[-1].bias.copy_(torch.tensor([float(torch.log(t.mean())), 0.0]))
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(40):
            optimizer.zero_grad()
            loss(net(x)).backward()
            optimizer.step()
        nets[kind] = net
    x_test = torch.as_tensor(test.features[:8], dtype=torch.float64)
    return nets, (x, t, e), x_test


def test_torchsurv_networks_match_torchsurv(torchsurv_networks):
    nets, (x, t, e), x_test = torchsurv_networks
    times = torch.linspace(0.3, 5.0, 9, dtype=torch.float64)
    cox = captum_surv.from_module(nets["cox"], "cox", data=(x, t, e), times=times)
    with torch.no_grad():
        base = torchsurv_cox.baseline_survival_function(nets["cox"](x).ravel(), e, t)
        expected = torchsurv_cox.survival_function_cox(base, nets["cox"](x_test).ravel(), times)
    np.testing.assert_allclose(evaluate(cox, x_test), expected.numpy(), atol=TOL)
    weib = captum_surv.from_module(nets["weibull"], "weibull", times=times)
    with torch.no_grad():
        expected = weibull.survival_function_weibull(nets["weibull"](x_test), times)
    np.testing.assert_allclose(evaluate(weib, x_test), expected.numpy(), atol=TOL)


def test_torchsurv_networks_explained_over_time(torchsurv_networks):
    nets, (x, t, e), x_test = torchsurv_networks
    times = np.linspace(0.3, 5.0, 6)
    forwards = {
        "cox": captum_surv.from_module(nets["cox"], "cox", data=(x, t, e), times=times),
        "weibull": captum_surv.from_module(nets["weibull"], "weibull", times=times),
    }
    refs = x[:12]
    for kind, fwd in forwards.items():
        assert torch.autograd.gradcheck(fwd, (x_test[:2].clone().requires_grad_(True),))
        shap = captum_surv.explain(
            fwd, x_test, "gradshap", refs, sampling="gausslegendre", n_steps=16
        )
        gap = evaluate(fwd, x_test) - evaluate(fwd, refs).mean(0)
        # deterministic Gauss-Legendre GradSHAP on smooth float64 nets: measured <= 2e-10
        np.testing.assert_allclose(shap.attributions.sum(-1).numpy(), gap, atol=1e-8, err_msg=kind)
        ig = IntegratedGradients(fwd)
        loop = torch.stack(
            [ig.attribute(x_test, refs[:1], target=k, n_steps=16) for k in range(len(times))], 1
        )
        expl = captum_surv.explain(fwd, x_test, "intgrad", refs[:1], n_steps=16)
        np.testing.assert_allclose(expl.attributions.numpy(), loop.numpy(), atol=1e-9)


def test_times_given_as_a_view_with_negative_strides(x_test):
    """A reversed view (e.g. of a pandas index) is a valid increasing grid."""
    grid = np.array([4.0, 2.0, 1.0, 0.5])[::-1]
    assert grid.strides[0] < 0
    fwd = captum_surv.from_module(tiny(2), "weibull", times=grid)
    np.testing.assert_array_equal(fwd.times.numpy(), [0.5, 1.0, 2.0, 4.0])


# --------------------------------------------------------------------------- review fixes
def test_conditional_output_takes_condition_time(x_test):
    """from_module(output='conditional_survival', condition_time=s) is S(t|x) / S(s|x)."""
    jumps, increments = np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.15, 0.3])
    net = tiny(1)
    cond = captum_surv.from_module(
        net,
        "cox",
        baseline=(jumps, increments),
        output="conditional_survival",
        condition_time=1.5,
        times=[1.0, 2.0, 3.0],
    )
    risk = np.exp(net_out(net, x_test)[:, 0])
    h0 = {1.0: 0.3, 1.5: 0.3, 2.0: 0.45, 3.0: 0.75}  # cumulative baseline hazard by hand
    survival = {t: np.exp(-h * risk) for t, h in h0.items()}
    expected = np.stack([np.ones_like(risk), survival[2.0] / survival[1.5]], 1)
    expected = np.column_stack([expected, survival[3.0] / survival[1.5]])
    np.testing.assert_allclose(evaluate(cond, x_test), expected, rtol=1e-12)


class _RowCounter(nn.Module):
    """A log-risk network that records the rows of each call (in a class attribute, which
    survives the deep copies from_module makes)."""

    rows: list[int] = []

    def __init__(self):
        super().__init__()
        self.linear = tiny(1)

    def forward(self, x):
        _RowCounter.rows.append(x.shape[0])
        return self.linear(x)


def test_cox_breslow_uses_batch_size(data):
    x, durations, events = data
    net = _RowCounter()
    _RowCounter.rows.clear()
    fwd = captum_surv.from_module(net, "cox", data=(x, durations, events), batch_size=25)
    assert _RowCounter.rows[:3] == [25, 25, N - 50]  # Breslow's log-risks, then a probe
    reference = captum_surv.from_module(net.linear, "cox", data=(x, durations, events))
    torch.testing.assert_close(fwd(x[:4]), reference(x[:4]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["cox", "coxtime"])
def test_single_event_kinds_reject_cause_codes(data, kind):
    x, durations, events = data
    net = TimeNet() if kind == "coxtime" else tiny(1)
    with pytest.raises(ValueError, match=r"events must be 0 \(censored\) or 1 \(event\)"):
        captum_surv.from_module(net, kind, data=(x, durations, events * 2))
