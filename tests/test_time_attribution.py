"""TimeAttribution equals the Python loop of the wrapped Captum method over every target.

Every supported Captum class runs on five small pycox models (CoxPH, CoxTime,
LogisticHazard, DeepHit with two competing risks, a two-input LogisticHazard). The
reference is the plain loop ``[method.attribute(x, target=t, ...) for t in range(T)]``.

Random draws: the loop restores the random number generators (torch, numpy, Python) to
one seeded state before every target's call, i.e. ``torch.manual_seed(s);
np.random.seed(s)`` before each call. TimeAttribution promises exactly that loop's draws,
so every method, stochastic or not, is compared with one tolerance: the maximum absolute
difference is at most 1e-5 times the largest absolute value of the loop's result.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch
import torchtuples as tt
from captum.attr import (
    DataLoaderAttribution,
    DeepLift,
    DeepLiftShap,
    FeatureAblation,
    FeaturePermutation,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    KernelShap,
    LayerIntegratedGradients,
    Lime,
    NoiseTunnel,
    Occlusion,
    Saliency,
    ShapleyValues,
    ShapleyValueSampling,
)
from torch import nn

import captum_surv
from captum_surv.attr import TimeAttribution
from tests import zoo

warnings.filterwarnings("ignore", message=".*Setting forward, backward hooks.*")
warnings.filterwarnings("ignore", message=".*Skipping feature group.*")

N_TRAIN = 200
N_FEAT = 4
N_TEST = 3
N_TIMES = 5
REL_TOL = 1e-5
SEED = 1234


# --------------------------------------------------------------------------- models
_DATA_SEEDS = {"CoxPH": 1, "CoxTime": 2, "DeepHit": 3}


def _build(name):
    torch.manual_seed(0)
    np.random.seed(0)
    x_test = torch.as_tensor(
        np.random.default_rng(7).normal(size=(N_TEST, N_FEAT)), dtype=torch.float32
    )
    family = "LogisticHazard" if name == "TwoInput" else name
    x, d, e = zoo.simulate(N_TRAIN, _DATA_SEEDS.get(name, 4), competing=name == "DeepHit")
    options = {"hidden": (8,), "n_cuts": 8, "epochs": 2, "baselines": "captum_surv"}
    if name in ("CoxPH", "CoxTime"):
        options["activation"] = nn.ReLU
    if name == "CoxPH":
        options["output_bias"] = False
    if name == "DeepHit":
        options["model_kwargs"] = {"alpha": 0.2, "sigma": 0.1}
    if name == "TwoInput":
        x = (x[:, :3].copy(), x[:, 3:].copy())
        x_test = (x_test[:, :3].clone(), x_test[:, 3:].clone())
        options["net"] = lambda n_out: zoo.TwoInputNet(3, 1, n_out, hidden=(8,))
    model, _ = zoo.train(family, x, d, e, **options)
    event = {"output": "cif", "event": 1} if name == "DeepHit" else {}
    return captum_surv.from_pycox(model, times=N_TIMES, **event), x_test, x


MODEL_NAMES = ["CoxPH", "CoxTime", "LogisticHazard", "DeepHit", "TwoInput"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models(one_thread):
    """name -> (forward, test inputs, training inputs as numpy)."""
    return {name: _build(name) for name in MODEL_NAMES}


# --------------------------------------------------------------------------- methods
def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _like(x, fn):
    """Apply fn to each input tensor, keeping tensor-vs-tuple structure."""
    out = tuple(fn(i, t) for i, t in enumerate(_as_tuple(x)))
    return out if isinstance(x, tuple) else out[0]


def _reference_rows(train, n):
    return _like(
        tuple(torch.as_tensor(a[:n]) for a in train)
        if isinstance(train, tuple)
        else torch.as_tensor(train[:n]),
        lambda i, t: t,
    )


def _mean_baseline(train):
    if isinstance(train, tuple):
        return tuple(torch.as_tensor(a.mean(0, keepdims=True)) for a in train)
    return torch.as_tensor(train.mean(0, keepdims=True))


def _first_block(fwd):
    return next(m for m in fwd.net.modules() if isinstance(m, tt.practical.DenseVanillaBlock))


def _method(kind, fwd, x, train):
    """(Captum method, attribute kwargs) for one kind."""
    mean = _mean_baseline(train)
    if kind == "Saliency":
        return Saliency(fwd), {}
    if kind == "Saliency-signed":
        return Saliency(fwd), {"abs": False}
    if kind == "InputXGradient":
        return InputXGradient(fwd), {}
    if kind == "IntegratedGradients":
        return IntegratedGradients(fwd), {"baselines": mean, "n_steps": 8}
    if kind == "GradientShap":
        return GradientShap(fwd), {
            "baselines": _reference_rows(train, 10),
            "n_samples": 4,
            "stdevs": 0.1,
        }
    if kind == "NoiseTunnel-Saliency":
        return NoiseTunnel(Saliency(fwd)), {"nt_samples": 3, "stdevs": 0.2, "abs": False}
    if kind == "NoiseTunnel-IG":
        return NoiseTunnel(IntegratedGradients(fwd)), {
            "nt_samples": 3,
            "nt_samples_batch_size": 2,
            "stdevs": 0.2,
            "n_steps": 5,
            "nt_type": "smoothgrad_sq",
            "baselines": mean,
        }
    if kind == "DeepLift":
        return DeepLift(fwd), {"baselines": mean}
    if kind == "DeepLiftShap":
        return DeepLiftShap(fwd), {"baselines": _reference_rows(train, 6)}
    if kind == "FeatureAblation":
        return FeatureAblation(fwd), {"baselines": mean}
    if kind == "FeaturePermutation":
        return FeaturePermutation(fwd), {}
    if kind == "Occlusion":
        window = ((2,), (1,)) if isinstance(x, tuple) else (2,)
        return Occlusion(fwd), {"sliding_window_shapes": window, "baselines": mean}
    if kind == "ShapleyValueSampling":
        return ShapleyValueSampling(fwd), {"n_samples": 3}
    if kind == "ShapleyValues":  # 3 feature groups: 6 permutations
        if isinstance(x, tuple):
            return ShapleyValues(fwd), {
                "feature_mask": (torch.tensor([[0, 0, 1]]), torch.tensor([[2]]))
            }
        return ShapleyValues(fwd), {"feature_mask": torch.tensor([[0, 0, 1, 2]])}
    if kind == "Lime":
        return Lime(fwd), {"n_samples": 20}
    if kind == "KernelShap":
        return KernelShap(fwd), {"n_samples": 20, "baselines": mean}
    if kind == "LayerIntegratedGradients":
        return LayerIntegratedGradients(fwd, _first_block(fwd)), {"n_steps": 6}
    raise AssertionError(kind)


METHOD_KINDS = [
    "Saliency",
    "Saliency-signed",
    "InputXGradient",
    "IntegratedGradients",
    "GradientShap",
    "NoiseTunnel-Saliency",
    "NoiseTunnel-IG",
    "DeepLift",
    "DeepLiftShap",
    "FeatureAblation",
    "FeaturePermutation",
    "Occlusion",
    "ShapleyValueSampling",
    "ShapleyValues",
    "Lime",
    "KernelShap",
    "LayerIntegratedGradients",
]


# --------------------------------------------------------------------------- reference
def _rng_state():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _set_rng_state(state):
    torch.set_rng_state(state[0])
    np.random.set_state(state[1])
    random.setstate(state[2])


def _seed(seed=SEED):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def loop(method, x, n_times, **kwargs):
    """The reference: one call per target, each from the same (seeded) RNG state."""
    state = _rng_state()
    results = []
    for t in range(n_times):
        _set_rng_state(state)
        results.append(method.attribute(x, target=t, **kwargs))
    if kwargs.get("return_convergence_delta"):
        attrs = _stack([r[0] for r in results])
        return attrs, [r[1] for r in results]
    return _stack(results)


def _stack(results):
    if isinstance(results[0], tuple):
        return tuple(torch.stack([r[i] for r in results], dim=1) for i in range(len(results[0])))
    return torch.stack(results, dim=1)


def assert_equal_rel(actual, expected, rel=REL_TOL):
    actual, expected = _as_tuple(actual), _as_tuple(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.shape == e.shape, (a.shape, e.shape)
        scale = float(e.detach().abs().max())
        err = float((a.detach().double() - e.detach().double()).abs().max())
        assert err <= rel * max(scale, 1e-12), f"max abs error {err:.3g} vs scale {scale:.3g}"


# --------------------------------------------------------------------------- main test
@pytest.mark.parametrize("kind", METHOD_KINDS)
@pytest.mark.parametrize("model", MODEL_NAMES)
def test_equals_loop(models, model, kind):
    fwd, x, train = models[model]
    method, kwargs = _method(kind, fwd, x, train)
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    state_after_loop = _rng_state()
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    if kind != "LayerIntegratedGradients":
        assert isinstance(actual, tuple) == isinstance(x, tuple)
    if kind == "LayerIntegratedGradients":
        # the layer's rows per call: B, or B x jump times for CoxTime (net runs per jump time)
        rows = N_TEST * (fwd.scaled_native.numel() if model == "CoxTime" else 1)
        assert actual.shape == (rows, fwd.n_times, 8)
    else:
        for a, xi in zip(_as_tuple(actual), _as_tuple(x), strict=True):
            assert a.shape == (N_TEST, fwd.n_times, *xi.shape[1:])
    assert_equal_rel(actual, expected)
    # the random number generators end where the loop leaves them
    assert torch.equal(torch.get_rng_state(), state_after_loop[0])
    assert np.array_equal(np.random.get_state()[1], state_after_loop[1][1])


# --------------------------------------------------------------------------- deltas
DELTA_KINDS = [
    "IntegratedGradients",
    "GradientShap",
    "NoiseTunnel-IG",
    "DeepLift",
    "DeepLiftShap",
    "LayerIntegratedGradients",
]


@pytest.mark.parametrize("kind", DELTA_KINDS)
@pytest.mark.parametrize("model", ["CoxPH", "TwoInput"])
def test_convergence_delta(models, model, kind):
    fwd, x, train = models[model]
    method, kwargs = _method(kind, fwd, x, train)
    kwargs["return_convergence_delta"] = True
    _seed()
    expected, loop_deltas = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual, delta = TimeAttribution(method).attribute(x, **kwargs)
    assert_equal_rel(actual, expected)
    assert delta.shape == (N_TEST, fwd.n_times)
    # Captum's deltas per (instance, sample) -> their mean per instance
    per_instance = []
    for d in loop_deltas:
        d = d.reshape(-1)
        if kind == "NoiseTunnel-IG":  # partitions of 2 + 1 samples, each instance-major
            first, rest = d[: 2 * N_TEST], d[2 * N_TEST :]
            d = torch.cat([first.reshape(N_TEST, -1), rest.reshape(N_TEST, -1)], dim=1)
        per_instance.append(d.reshape(N_TEST, -1).mean(dim=1))
    expected_delta = torch.stack(per_instance, dim=1)
    scale = max(float(expected.abs().max()) if isinstance(expected, torch.Tensor) else 1.0, 1.0)
    assert float((delta - expected_delta).abs().max()) <= 1e-5 * scale


def test_delta_is_completeness_residual(models):
    """For IntegratedGradients the delta is sum(attr) - (f(x) - f(x')) per time point."""
    fwd, x, train = models["CoxPH"]
    base = _mean_baseline(train)
    attr, delta = TimeAttribution(IntegratedGradients(fwd)).attribute(
        x, baselines=base, n_steps=20, return_convergence_delta=True
    )
    with torch.no_grad():
        diff = fwd(x) - fwd(base)
    assert torch.allclose(attr.sum(dim=2) - diff, delta, atol=1e-5)


# --------------------------------------------------------------------------- chunking
@pytest.mark.parametrize(
    "kind",
    [
        "IntegratedGradients",
        "GradientShap",
        "NoiseTunnel-IG",
        "DeepLift",
        "DeepLiftShap",
        "FeatureAblation",
        "ShapleyValueSampling",
        "LayerIntegratedGradients",
    ],
)
@pytest.mark.parametrize("batch_size", [1, 7, 40])
def test_batch_size_does_not_change_result(models, kind, batch_size):
    fwd, x, train = models["LogisticHazard"]
    method, kwargs = _method(kind, fwd, x, train)
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method, batch_size=batch_size).attribute(x, **kwargs)
    assert_equal_rel(actual, expected)
    _seed()  # batch_size also accepted per call
    again = TimeAttribution(method).attribute(x, batch_size=batch_size, **kwargs)
    assert_equal_rel(again, expected)


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kind",
    [
        "IntegratedGradients",
        "DeepLift",
        "FeatureAblation",
        "Occlusion",
        "KernelShap",
        "LayerIntegratedGradients",
        "ShapleyValueSampling",
    ],
)
@pytest.mark.parametrize("model", ["CoxTime", "TwoInput"])
def test_per_instance_baselines(models, model, kind):
    fwd, x, train = models[model]
    method, kwargs = _method(kind, fwd, x, train)
    gen = torch.Generator().manual_seed(3)
    kwargs["baselines"] = _like(x, lambda i, t: torch.randn(t.shape, generator=gen) * 0.3)
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method, batch_size=4).attribute(x, **kwargs)
    assert_equal_rel(actual, expected)


@pytest.mark.parametrize(
    "kind",
    [
        "Saliency",
        "IntegratedGradients",
        "GradientShap",
        "NoiseTunnel-IG",
        "DeepLift",
        "FeatureAblation",
        "FeaturePermutation",
        "ShapleyValueSampling",
        "Lime",
        "LayerIntegratedGradients",
    ],
)
def test_additional_forward_args(models, kind):
    """Attribute the first input of a two-input network; the second is a forward argument."""
    fwd, (xa, xb), (ta, _) = models["TwoInput"]
    method, kwargs = _method(kind, fwd, xa, ta)
    kwargs["additional_forward_args"] = (xb,)
    _seed()
    expected = loop(method, xa, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method, batch_size=5).attribute(xa, **kwargs)
    assert actual.shape[:2] == (N_TEST, fwd.n_times)
    assert_equal_rel(actual, expected)


@pytest.mark.parametrize(
    "kind", ["IntegratedGradients", "NoiseTunnel-IG", "LayerIntegratedGradients"]
)
def test_internal_batch_size(models, kind):
    fwd, x, train = models["CoxTime"]
    method, kwargs = _method(kind, fwd, x, train)
    kwargs["internal_batch_size"] = 2 * N_TEST
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = TimeAttribution(method, batch_size=10).attribute(x, **kwargs)
    assert_equal_rel(actual, expected)


def test_positional_arguments_and_feature_mask(models):
    fwd, x, train = models["LogisticHazard"]
    mean = _mean_baseline(train)
    mask = torch.tensor([[0, 0, 1, 1]])
    method = FeatureAblation(fwd)
    expected = loop(method, x, fwd.n_times, baselines=mean, feature_mask=mask)
    actual = TimeAttribution(method).attribute(x, mean, feature_mask=mask)
    assert_equal_rel(actual, expected)
    assert torch.equal(actual[..., 0], actual[..., 1])


def test_float64_inputs(models):
    fwd, x, train = models["CoxTime"]
    x64 = x.double()
    base = _mean_baseline(train).double()
    method = IntegratedGradients(fwd)
    expected = loop(method, x64, fwd.n_times, baselines=base, n_steps=10)
    actual = TimeAttribution(method).attribute(x64, baselines=base, n_steps=10)
    assert actual.dtype == torch.float64
    assert_equal_rel(actual, expected, rel=1e-10)


def test_noise_tunnel_zero_noise_equals_inner(models):
    """NoiseTunnel with stdevs=0 averages identical copies: equal to the inner method."""
    fwd, x, _ = models["DeepHit"]
    inner = TimeAttribution(Saliency(fwd)).attribute(x, abs=False)
    nt = TimeAttribution(NoiseTunnel(Saliency(fwd))).attribute(
        x, nt_samples=4, stdevs=0.0, abs=False
    )
    assert_equal_rel(nt, inner)


def test_lime_interpretable_output(models):
    fwd, x, _ = models["DeepHit"]
    method = Lime(fwd)
    kwargs = {
        "n_samples": 15,
        "feature_mask": torch.tensor([[0, 0, 1, 1]]),
        "return_input_shape": False,
    }
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    assert actual.shape == (N_TEST, fwd.n_times, 2)
    assert_equal_rel(actual, expected)


def test_seeded_results_reproducible(models):
    fwd, x, train = models["CoxPH"]
    method, kwargs = _method("GradientShap", fwd, x, train)
    ta = TimeAttribution(method)
    _seed(5)
    first = ta.attribute(x, **kwargs)
    _seed(5)
    second = ta.attribute(x, **kwargs)
    assert torch.equal(first, second)
    third = ta.attribute(x, **kwargs)  # the generators moved on: new draws
    assert not torch.equal(first, third)


def test_gradient_shap_agrees_with_unaligned_loop_statistically(models):
    """Against a loop that does *not* re-seed (fresh draws for every target) the results agree
    within Monte-Carlo error. Tolerance: with 1000 samples per instance the relative L2
    difference of two independent estimates was 0.07-0.11 over 8 seed pairs (it shrinks as
    1/sqrt(n_samples)); 0.2 leaves a wide margin while still catching a wrong target or
    time point (those differ by O(1))."""
    fwd, x, train = models["CoxPH"]
    method = GradientShap(fwd)
    kwargs = {"baselines": _reference_rows(train, 50), "n_samples": 1000}
    _seed(0)
    fresh = torch.stack([method.attribute(x, target=t, **kwargs) for t in range(fwd.n_times)], 1)
    _seed(1)
    ours = TimeAttribution(method).attribute(x, **kwargs)
    assert float((ours - fresh).norm() / fresh.norm()) < 0.2
    shifted = torch.roll(fresh, shifts=1, dims=1)  # a wrong time point is far off
    assert float((ours - shifted).norm() / fresh.norm()) > 0.2


def test_show_progress_and_repr(models):
    fwd, x, train = models["CoxPH"]
    ta = TimeAttribution(IntegratedGradients(fwd), show_progress=True)
    out = ta.attribute(x, n_steps=4)
    assert out.shape == (N_TEST, fwd.n_times, N_FEAT)
    assert "IntegratedGradients" in repr(ta)
    assert ta.strategy == "stacked rows"
    assert ta.has_convergence_delta()
    assert ta.n_times == fwd.n_times
    assert torch.equal(ta.times, fwd.times)
    strategies = {
        GradientShap(fwd): "gradient replay",
        NoiseTunnel(Saliency(fwd)): "gradient replay",
        DeepLift(fwd): "stacked rows",
        FeatureAblation(fwd): "native multi-output",
        Lime(fwd): "forward replay",
    }
    for method, strategy in strategies.items():
        assert TimeAttribution(method).strategy == strategy


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_each_point_evaluated_once(models, model, monkeypatch):
    """Stacked gradient methods compute the Jacobian once per distinct point (no per-row
    fallback), and GradientShap's replay evaluates gradients in its first pass only."""
    from captum_surv.attr import captum_protocol as module

    calls = []

    def counting(forward, inputs):
        calls.append(inputs[0].shape[0])
        return module_jacobian(forward, inputs)

    def no_fallback(*args, **kwargs):
        raise AssertionError("per-row gradient fallback used")

    module_jacobian = module.output_jacobian
    monkeypatch.setattr(module, "output_jacobian", counting)
    monkeypatch.setattr(module._compat, "summed_gradients", no_fallback)
    fwd, x, train = models[model]
    TimeAttribution(IntegratedGradients(fwd)).attribute(x, n_steps=7)
    assert sum(calls) == N_TEST * 7  # one row per interpolation point, not per time point
    calls.clear()
    TimeAttribution(Saliency(fwd)).attribute(x)
    assert sum(calls) == N_TEST
    calls.clear()
    method, kwargs = _method("GradientShap", fwd, x, train)
    TimeAttribution(method).attribute(x, **kwargs)
    assert sum(calls) == N_TEST * kwargs["n_samples"]


def test_custom_gradient_function_is_kept(models):
    """A user's own gradient_func is used as is (TimeAttribution then loops or stacks)."""
    from captum_surv._compat import captum_default_gradient_func

    compute_gradients = captum_default_gradient_func()
    fwd, x, train = models["LogisticHazard"]
    calls = []

    def custom(*args, **kwargs):
        calls.append(1)
        return compute_gradients(*args, **kwargs)

    for kind in ("IntegratedGradients", "GradientShap"):
        method, kwargs = _method(kind, fwd, x, train)
        _seed()
        expected = loop(method, x, fwd.n_times, **kwargs)
        method.gradient_func = custom
        calls.clear()
        _seed()
        actual = TimeAttribution(method).attribute(x, **kwargs)
        assert calls and method.gradient_func is custom
        assert_equal_rel(actual, expected)


def test_replay_helpers_recompute_on_mismatch(models):
    """Replays check their inputs; different inputs are computed afresh, never misread."""
    from captum_surv import _compat
    from captum_surv.attr.captum_protocol import ForwardReplay as _ForwardReplay
    from captum_surv.attr.captum_protocol import GradientReplay as _GradientReplay
    from captum_surv.attr.captum_protocol import StackedGradients as _StackedGradients

    fwd, x, _ = models["DeepHit"]
    x = x.clone().requires_grad_()  # as Captum hands them to gradient functions
    other = (x.detach() + 0.5).requires_grad_()
    replay = _GradientReplay([0, 2, 4], rows_per_call=100)
    replay.start_pass(record=True, target=0)
    replay(fwd, (x,), 0)
    replay.start_pass(record=False, target=2)
    (fresh,) = replay(fwd, (other,), 2)
    (reference,) = _compat.summed_gradients(fwd, (other,), 2)
    assert replay.recomputed == 1
    assert_equal_rel(fresh, reference)
    replay.start_pass(record=False, target=4)
    (stored,) = replay(fwd, (x,), 4)
    assert_equal_rel(stored, _compat.summed_gradients(fwd, (x,), 4)[0])

    stacked = _StackedGradients(rows_per_call=100)
    stacked.set_block([1, 3])
    rows = torch.randn(2 * N_TEST, N_FEAT, requires_grad=True)  # not runs of identical rows
    targets = torch.tensor([1, 3] * N_TEST)
    (grad,) = stacked(fwd, (rows,), targets)
    assert_equal_rel(grad, _compat.summed_gradients(fwd, (rows,), targets)[0])
    runs = x.detach().repeat_interleave(2, dim=0).requires_grad_()
    (grad,) = stacked(fwd, (runs,), targets)
    assert_equal_rel(grad, _compat.summed_gradients(fwd, (runs,), targets)[0])

    cache = _ForwardReplay(fwd)
    cache.start_pass(record=True)
    cache(x)
    cache.start_pass(record=False)
    assert torch.equal(cache(other), fwd(other))
    cache.start_pass(record=False)
    assert torch.equal(cache(x), fwd(x))


# --------------------------------------------------------------------------- restoration
def test_gradient_function_restored_after_error(models):
    fwd, x, _ = models["CoxPH"]
    for method, bad in [
        (IntegratedGradients(fwd), {"method": "no-such-rule"}),
        (DeepLift(fwd), {"custom_attribution_func": lambda *a: 1 / 0}),
        (GradientShap(fwd), {"baselines": x, "stdevs": "bad"}),
    ]:
        original = method.gradient_func
        with pytest.raises(Exception):  # noqa: B017 - whatever Captum raises
            TimeAttribution(method).attribute(x, **bad)
        assert method.gradient_func is original
        assert "gradient_func" in vars(method)
    lig = LayerIntegratedGradients(fwd, _first_block(fwd))
    with pytest.raises(Exception):  # noqa: B017
        TimeAttribution(lig).attribute(x, method="no-such-rule")
    assert "_make_gradient_func" not in vars(lig)
    assert lig.forward_func is fwd
    lime = Lime(fwd)
    with pytest.raises(Exception):  # noqa: B017
        TimeAttribution(lime).attribute(x, n_samples=5, feature_mask=torch.zeros(1, 2))
    assert lime.forward_func is fwd


def test_user_modules_untouched(models):
    fwd, x, train = models["LogisticHazard"]
    before = {k: v.clone() for k, v in fwd.state_dict().items()}
    TimeAttribution(DeepLift(fwd)).attribute(x, baselines=_mean_baseline(train))
    TimeAttribution(LayerIntegratedGradients(fwd, _first_block(fwd))).attribute(x, n_steps=3)
    for k, v in fwd.state_dict().items():
        assert torch.equal(v, before[k])
    assert not fwd.net.training
    for module in fwd.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module._backward_hooks


# --------------------------------------------------------------------------- bad input
def test_rejects_non_survival_forward():
    net = nn.Linear(4, 3)
    with pytest.raises(TypeError, match="SurvivalForward"):
        TimeAttribution(IntegratedGradients(net))
    with pytest.raises(TypeError, match="SurvivalForward"):
        TimeAttribution(Saliency(lambda x: x))


def test_rejects_class_and_unsupported_methods(models):
    fwd, _, _ = models["CoxPH"]
    with pytest.raises(TypeError, match="instantiated"):
        TimeAttribution(IntegratedGradients)
    with pytest.raises(TypeError, match="Supported Captum attributions: .*IntegratedGradients"):
        TimeAttribution(object())
    with pytest.raises(TypeError, match="DataLoader"):
        TimeAttribution(DataLoaderAttribution(FeatureAblation(fwd)))
    with pytest.raises(ValueError, match="Unknown strategy 'fast'.*'loop'"):
        TimeAttribution(Saliency(fwd), strategy="fast")


@pytest.mark.parametrize("inner", [FeatureAblation, Occlusion, ShapleyValueSampling, Lime])
def test_noise_tunnel_around_perturbation_loops(models, inner):
    """With target=None Captum's NoiseTunnel(perturbation) is silently wrong for a
    multi-output forward; TimeAttribution runs it target by target, as the loop does."""
    fwd, x, train = models["CoxPH"]
    method = NoiseTunnel(inner(fwd))
    kwargs = {"nt_samples": 2, "stdevs": 0.1}
    if inner is Occlusion:
        kwargs["sliding_window_shapes"] = (2,)
    if inner in (ShapleyValueSampling, Lime):
        kwargs["n_samples"] = 4
    ta = TimeAttribution(method)
    assert ta.strategy == "loop"
    _seed()
    expected = loop(method, x, fwd.n_times, **kwargs)
    _seed()
    assert_equal_rel(ta.attribute(x, **kwargs), expected)


def test_rejects_target(models):
    fwd, x, _ = models["CoxPH"]
    for method in (IntegratedGradients(fwd), FeatureAblation(fwd), NoiseTunnel(Saliency(fwd))):
        with pytest.raises(ValueError, match="covers all targets"):
            TimeAttribution(method).attribute(x, target=0)
        with pytest.raises(ValueError, match="covers all targets"):
            TimeAttribution(method).attribute(x, target=None)
    with pytest.raises(ValueError, match="covers all targets"):
        TimeAttribution(Saliency(fwd)).attribute(x, 2)  # positional target


def test_rejects_tuple_length_mismatch(models):
    fwd, (xa, xb), _ = models["TwoInput"]
    ig = TimeAttribution(IntegratedGradients(fwd))
    with pytest.raises(ValueError, match="takes 2 input"):
        ig.attribute((xa,))
    with pytest.raises(ValueError, match="takes 2 input"):
        ig.attribute((xa, xb), additional_forward_args=(xb,))
    with pytest.raises(ValueError, match="baselines has 1 element"):
        ig.attribute((xa, xb), baselines=(torch.zeros(1, 3),))
    with pytest.raises(ValueError, match="baselines has 3 element"):
        ig.attribute((xa, xb), baselines=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="different batch sizes"):
        ig.attribute((xa, xb[:2]))
    with pytest.raises(TypeError, match="tuple"):
        ig.attribute([xa, xb])
    fwd1, x, _ = models["CoxPH"]
    with pytest.raises(ValueError, match="rows"):
        TimeAttribution(IntegratedGradients(fwd1)).attribute(x, baselines=torch.zeros(2, N_FEAT))


@pytest.mark.parametrize("kind", ["IntegratedGradients", "FeatureAblation", "GradientShap", "Lime"])
def test_rejects_nan(models, kind):
    fwd, x, train = models["CoxPH"]
    method, kwargs = _method(kind, fwd, x, train)
    bad = x.clone()
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        TimeAttribution(method).attribute(bad, **kwargs)
    base = kwargs.get("baselines", torch.zeros(1, N_FEAT)).clone()
    base[0, 0] = float("inf")
    kwargs["baselines"] = base
    with pytest.raises(ValueError, match="NaN or infinite"):
        TimeAttribution(method).attribute(x, **kwargs)
    kwargs["baselines"] = float("nan")
    if kind != "GradientShap":
        with pytest.raises(ValueError, match="finite"):
            TimeAttribution(method).attribute(x, **kwargs)


def test_other_errors(models):
    fwd, x, _ = models["CoxPH"]
    with pytest.raises(ValueError, match="no convergence delta"):
        TimeAttribution(Saliency(fwd)).attribute(x, return_convergence_delta=True)
    with pytest.raises(ValueError, match="no convergence delta"):
        TimeAttribution(FeatureAblation(fwd)).attribute(x, return_convergence_delta=True)
    with pytest.raises(ValueError, match="batch_size"):
        TimeAttribution(Saliency(fwd), batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        TimeAttribution(Saliency(fwd)).attribute(x, batch_size=-1)
    with pytest.raises(TypeError, match="Bad arguments"):
        TimeAttribution(Saliency(fwd)).attribute(x, no_such_argument=1)
    with pytest.raises(ValueError, match="0 rows"):
        TimeAttribution(Saliency(fwd)).attribute(x[:0])
    # module-hooking methods see float64 inputs through the same (hooked) modules
    expected = loop(DeepLift(fwd), x.double(), fwd.n_times)
    assert_equal_rel(TimeAttribution(DeepLift(fwd)).attribute(x.double()), expected)
    # layers must belong to the forward's (frozen) network
    foreign = nn.Linear(4, 4)
    with pytest.raises(ValueError, match="not a module of the forward"):
        TimeAttribution(LayerIntegratedGradients(fwd, foreign))
