"""Every Captum attribution class through TimeAttribution equals Captum's own loop.

The reference is Captum itself: the method called once per time point (``target=t``; no
target for the methods that take none), with the random number generators restored to one
seeded state before every call, stacked on axis 1. Models are tiny float64 pycox models
(untrained: parity does not need a fitted model): a tabular CoxPH, a CoxTime, a
LogisticHazard (discrete time), and a multimodal (image, tabular) LogisticHazard whose
image branch is a small CNN (for the layer, neuron and Grad-CAM methods).

``test_every_captum_class_is_classified`` enumerates ``captum.attr``'s attribution classes:
a Captum release with a new class fails it until the class is listed here and in
``captum_surv.attr.strategies``.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch
from captum import attr as ca
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from torch import nn

import captum_surv
from captum_surv.attr import TimeAttribution, strategies
from tests import zoo

warnings.filterwarnings("ignore", message=".*Setting forward, backward hooks.*")
warnings.filterwarnings("ignore", message=".*Skipping feature group.*")
warnings.filterwarnings("ignore", category=UserWarning, module="captum")

N_FEAT = 4
N_TEST = 2
N_TIMES = 3
TOL = 1e-6
SEED = 321

# --------------------------------------------------------------------------- the list
# Every captum.attr class that takes a forward function, with the models it runs on here.
TABULAR = ("CoxPH", "CoxTime", "LogisticHazard")
ALL = (*TABULAR, "Image")
IMAGE = ("Image",)
# Captum's own loop fails for these on a layer that sees several rows per instance (CoxTime's
# network runs once per instance and jump time): it reshapes the layer's rows by the batch.
NOT_COXTIME = ("CoxPH", "LogisticHazard", "Image")
CLASSES: dict[str, tuple[str, ...]] = {
    "Saliency": ALL,
    "InputXGradient": ALL,
    "IntegratedGradients": ALL,
    "GradientShap": ALL,
    "DeepLift": ALL,
    "DeepLiftShap": ALL,
    "GuidedBackprop": ALL,
    "Deconvolution": ALL,
    "LRP": ("CoxPH", "LogisticHazard"),
    "FeatureAblation": ALL,
    "FeaturePermutation": ALL,
    "Occlusion": ALL,
    "ShapleyValueSampling": ALL,
    "ShapleyValues": ALL,
    "Lime": ALL,
    "KernelShap": ALL,
    "LimeBase": ("LogisticHazard",),
    "NoiseTunnel": ALL,
    "GuidedGradCam": IMAGE,
    "LayerGradCam": IMAGE,
    "LayerConductance": NOT_COXTIME,
    "InternalInfluence": NOT_COXTIME,
    "LayerIntegratedGradients": ALL,
    "LayerGradientXActivation": ALL,
    "LayerDeepLift": ALL,
    "LayerDeepLiftShap": NOT_COXTIME,
    "LayerGradientShap": ALL,
    "LayerFeatureAblation": ALL,
    "LayerFeaturePermutation": (),  # Captum's target path is broken: see column_loop
    "LayerActivation": ALL,
    "LayerLRP": ("CoxPH", "LogisticHazard"),
    "NeuronConductance": NOT_COXTIME,
    "NeuronGradient": ALL,
    "NeuronIntegratedGradients": ALL,
    "NeuronGradientShap": ALL,
    "NeuronDeepLift": ALL,
    "NeuronDeepLiftShap": ALL,
    "NeuronGuidedBackprop": ALL,
    "NeuronDeconvolution": ALL,
    "NeuronFeatureAblation": ALL,
}
# LRP's rules need every leaf module to be a layer it knows (Linear, Conv, ReLU, pooling,
# ...); CoxTime's network concatenates time functionally and the CNN's pooling has no
# rule, so LRP and LayerLRP run on the two plain MLPs.
NO_FORWARD_FUNCTION = {
    "Attribution",
    "GradientAttribution",
    "PerturbationAttribution",
    "LayerAttribution",
    "NeuronAttribution",
    "DataLoaderAttribution",
    "LLMAttribution",
    "LLMGradientAttribution",
    "RemoteLLMAttribution",
}


def test_every_captum_class_is_classified():
    """A new captum.attr attribution class fails here until it is covered."""
    found = set(strategies.captum_attribution_classes())
    assert found, "no Captum attribution classes found"
    unlisted = found - set(CLASSES) - NO_FORWARD_FUNCTION
    assert not unlisted, f"Captum classes not covered by TimeAttribution tests: {unlisted}"
    assert set(CLASSES) <= found
    assert set(CLASSES) == set(TimeAttribution.supported())
    assert NO_FORWARD_FUNCTION == set(strategies.NOT_APPLICABLE)
    assert found <= strategies.known_class_names()


# --------------------------------------------------------------------------- models
class ImageTabularNet(nn.Module):
    """(image [B, 1, 6, 6], tabular [B, 3]) -> logits [B, out]."""

    def __init__(self, out_features):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flatten = nn.Flatten()
        self.tab = nn.Linear(3, 4)
        self.tab_act = nn.ReLU()
        self.head = nn.Linear(3 * 4 + 4, out_features)

    def forward(self, image, tabular):
        a = self.flatten(self.pool(self.relu(self.conv(image))))
        b = self.tab_act(self.tab(tabular))
        return self.head(torch.cat([a, b], dim=1))


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEAT))
    durations = rng.exponential(2.0, size=n) + 0.05
    events = (rng.uniform(size=n) < 0.7).astype(np.float64)
    return x, durations, events


def _mlp(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, 5), nn.ReLU(), nn.Linear(5, n_out)).double()


_KIND = {"CoxPH": "coxph", "CoxTime": "coxtime", "LogisticHazard": "logistic_hazard"}
_KIND["Image"] = "logistic_hazard"
_N_OUT = {"CoxPH": 1, "LogisticHazard": 6}  # LogisticHazard: 6 cuts


def _build(name):
    torch.manual_seed(0)
    x, d, e = _data(60, 1)
    x_test = torch.as_tensor(np.random.default_rng(5).normal(size=(N_TEST, N_FEAT)))
    if name == "CoxTime":
        net = MLPVanillaCoxTime(N_FEAT, [5], batch_norm=False, dropout=None).double()
    else:
        net = ImageTabularNet(6).double() if name == "Image" else _mlp(N_FEAT, _N_OUT[name])
    model = zoo.wrap(_KIND[name], net, x, target=(d, e))
    if name != "Image":
        return captum_surv.from_pycox(model, times=N_TIMES), x_test, torch.as_tensor(x)
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(12, 1, 6, 6, generator=gen, dtype=torch.float64)
    tabular = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    fwd = captum_surv.from_pycox(model, times=N_TIMES)
    return fwd, (images[:N_TEST], tabular[:N_TEST]), (images[N_TEST:], tabular[N_TEST:])


@pytest.fixture(scope="module")
def models(one_thread):
    return {name: _build(name) for name in ALL}


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _untuple(values, like):
    return values if isinstance(like, tuple) else values[0]


def _mean(train, like):
    return _untuple(tuple(t.mean(0, keepdim=True) for t in _tuple(train)), like)


def _refs(train, n, like):
    return _untuple(tuple(t[:n] for t in _tuple(train)), like)


def _layers(name, fwd):
    """(layer for layer methods, layer for neuron methods, the neuron).

    The image model's neurons sit in the head, which depends on both inputs (Captum's
    neuron gradients fail for an input that does not reach the neuron)."""
    net = fwd.net
    if name == "Image":
        return net.pool, net.head, (1,)
    linear = next(m for m in net.modules() if isinstance(m, nn.Linear))
    return linear, linear, (0,)


def _feature_mask(x):
    """Group features pairwise (fewer evaluations), shared by all instances."""
    masks = []
    offset = 0
    for t in _tuple(x):
        n = int(np.prod(t.shape[1:]))
        m = (torch.arange(n) // 2 + offset).reshape(1, *t.shape[1:])
        offset = int(m.max()) + 1
        masks.append(m)
    return _untuple(tuple(masks), x)


def _method(kind, name, fwd, x, train):
    """(Captum method, attribute kwargs)."""
    mean, refs = _mean(train, x), _refs(train, 4, x)
    layer, neuron_layer, neuron = _layers(name, fwd)
    mask = _feature_mask(x)
    if kind == "Saliency":
        return ca.Saliency(fwd), {"abs": False}
    if kind == "InputXGradient":
        return ca.InputXGradient(fwd), {}
    if kind == "IntegratedGradients":
        return ca.IntegratedGradients(fwd), {"baselines": mean, "n_steps": 4}
    if kind == "GradientShap":
        return ca.GradientShap(fwd), {"baselines": refs, "n_samples": 3, "stdevs": 0.1}
    if kind == "DeepLift":
        return ca.DeepLift(fwd), {"baselines": mean}
    if kind == "DeepLiftShap":
        return ca.DeepLiftShap(fwd), {"baselines": refs}
    if kind == "GuidedBackprop":
        return ca.GuidedBackprop(fwd), {}
    if kind == "Deconvolution":
        return ca.Deconvolution(fwd), {}
    if kind == "LRP":
        return ca.LRP(fwd), {}
    if kind == "FeatureAblation":
        return ca.FeatureAblation(fwd), {"baselines": mean, "feature_mask": mask}
    if kind == "FeaturePermutation":
        return ca.FeaturePermutation(fwd), {"feature_mask": mask}
    if kind == "Occlusion":
        window = ((1, 3, 3), (2,)) if name == "Image" else (2,)
        return ca.Occlusion(fwd), {"sliding_window_shapes": window, "baselines": mean}
    if kind == "ShapleyValueSampling":
        return ca.ShapleyValueSampling(fwd), {"n_samples": 2, "feature_mask": mask}
    if kind == "ShapleyValues":
        coarse = _untuple(tuple((m // 2).clamp(max=2) for m in _tuple(mask)), x)
        return ca.ShapleyValues(fwd), {"feature_mask": coarse}
    if kind == "Lime":
        return ca.Lime(fwd), {"n_samples": 12, "feature_mask": mask}
    if kind == "KernelShap":
        return ca.KernelShap(fwd), {"n_samples": 12, "baselines": mean, "feature_mask": mask}
    if kind == "LimeBase":
        lime = ca.Lime(fwd)
        base = ca.LimeBase(
            fwd,
            lime.interpretable_model,
            lime.similarity_func,
            lime.perturb_func,
            True,
            lime.from_interp_rep_transform,
            None,
        )
        n_interp = int(max(int(m.max()) for m in _tuple(mask))) + 1
        return base, {
            "n_samples": 12,
            "feature_mask": mask,
            "baselines": mean,
            "num_interp_features": n_interp,
        }
    if kind == "NoiseTunnel":
        return ca.NoiseTunnel(ca.Saliency(fwd)), {"nt_samples": 2, "stdevs": 0.2, "abs": False}
    if kind == "GuidedGradCam":
        return ca.GuidedGradCam(fwd, layer), {}
    if kind == "LayerGradCam":
        return ca.LayerGradCam(fwd, layer), {}
    if kind == "LayerConductance":
        return ca.LayerConductance(fwd, layer), {"baselines": mean, "n_steps": 3}
    if kind == "InternalInfluence":
        return ca.InternalInfluence(fwd, layer), {"baselines": mean, "n_steps": 3}
    if kind == "LayerIntegratedGradients":
        return ca.LayerIntegratedGradients(fwd, layer), {"baselines": mean, "n_steps": 3}
    if kind == "LayerGradientXActivation":
        return ca.LayerGradientXActivation(fwd, layer), {}
    if kind == "LayerDeepLift":
        return ca.LayerDeepLift(fwd, layer), {"baselines": mean}
    if kind == "LayerDeepLiftShap":
        return ca.LayerDeepLiftShap(fwd, layer), {"baselines": refs}
    if kind == "LayerGradientShap":
        return ca.LayerGradientShap(fwd, layer), {"baselines": refs, "n_samples": 2}
    if kind == "LayerFeatureAblation":
        return ca.LayerFeatureAblation(fwd, layer), {}
    if kind == "LayerFeaturePermutation":
        return ca.LayerFeaturePermutation(fwd, layer), {}
    if kind == "LayerActivation":
        return ca.LayerActivation(fwd, layer), {}
    if kind == "LayerLRP":
        return ca.LayerLRP(fwd, layer), {}
    selector = {"neuron_selector": neuron}
    if kind == "NeuronConductance":
        return ca.NeuronConductance(fwd, neuron_layer), {**selector, "n_steps": 3}
    if kind == "NeuronGradient":
        return ca.NeuronGradient(fwd, neuron_layer), selector
    if kind == "NeuronIntegratedGradients":
        return ca.NeuronIntegratedGradients(fwd, neuron_layer), {**selector, "n_steps": 3}
    if kind == "NeuronGradientShap":
        return ca.NeuronGradientShap(fwd, neuron_layer), {
            **selector,
            "baselines": refs,
            "n_samples": 2,
        }
    if kind == "NeuronDeepLift":
        return ca.NeuronDeepLift(fwd, neuron_layer), {**selector, "baselines": mean}
    if kind == "NeuronDeepLiftShap":
        return ca.NeuronDeepLiftShap(fwd, neuron_layer), {**selector, "baselines": refs}
    if kind == "NeuronGuidedBackprop":
        return ca.NeuronGuidedBackprop(fwd, neuron_layer), selector
    if kind == "NeuronDeconvolution":
        return ca.NeuronDeconvolution(fwd, neuron_layer), selector
    if kind == "NeuronFeatureAblation":
        return ca.NeuronFeatureAblation(fwd, neuron_layer), {**selector, "feature_mask": mask}
    raise AssertionError(kind)


# --------------------------------------------------------------------------- reference
def _state():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _restore(state):
    torch.set_rng_state(state[0])
    np.random.set_state(state[1])
    random.setstate(state[2])


def _seed():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)


def captum_loop(method, x, n_times, **kwargs):
    """Captum's own method once per time point, from one random state each time."""
    takes_target = strategies.takes_target(method)
    state = _state()
    results = []
    for t in range(n_times):
        _restore(state)
        target = {"target": t} if takes_target else {}
        results.append(method.attribute(x, **target, **kwargs))
    first = results[0]
    if isinstance(first, (tuple, list)):
        return tuple(torch.stack([r[i] for r in results], dim=1) for i in range(len(first)))
    return torch.stack(results, dim=1)


def _requiring_grad(x):
    """Captum's layer DeepLift hooks tensors inside the network, which must require
    gradients; with a frozen network that holds when the inputs require them."""
    return _untuple(tuple(t.detach().requires_grad_() for t in _tuple(x)), x)


def max_deviation(actual, expected):
    actual, expected = _tuple(actual), _tuple(expected)
    assert len(actual) == len(expected)
    worst = 0.0
    for a, e in zip(actual, expected, strict=True):
        assert a.shape == e.shape, (a.shape, e.shape)
        assert a.dtype == e.dtype, (a.dtype, e.dtype)
        if e.numel() == 0:  # GuidedGradCam: no map for an input without spatial dims
            continue
        worst = max(worst, float((a.detach() - e.detach()).abs().max()))
    return worst


def column_loop(kind, model, fwd, x, train, **kwargs):
    """The loop for methods whose Captum ``target`` path is broken with a multi-output
    forward (LayerFeaturePermutation selects the target twice): the method built on the
    single-column forward ``fwd(...)[:, t]``, once per time point, no target."""
    state = _state()
    results = []
    for t in range(fwd.n_times):
        _restore(state)
        column = _Column(fwd, t)
        method, _ = _method(kind, model, column, x, train)
        results.append(method.attribute(x, **kwargs))
    return torch.stack(results, dim=1)


class _Column(nn.Module):
    """``fwd(...)[:, t]`` with fwd's network reachable (layers are picked from it)."""

    def __init__(self, fwd, t):
        super().__init__()
        self.fwd, self.t, self.net = fwd, t, fwd.net

    def forward(self, *args):
        return self.fwd(*args)[:, self.t]


def test_layer_feature_permutation_equals_column_loop(models):
    for model in ALL:
        fwd, x, train = models[model]
        method, kwargs = _method("LayerFeaturePermutation", model, fwd, x, train)
        _seed()
        expected = column_loop("LayerFeaturePermutation", model, fwd, x, train, **kwargs)
        _seed()
        actual = TimeAttribution(method).attribute(x, **kwargs)
        assert_matches(actual, expected)


def assert_matches(actual, expected):
    """Within 1e-6 absolutely and relative to the largest value of the loop's result."""
    scale = max((float(e.abs().max()) for e in _tuple(expected) if e.numel()), default=0.0)
    deviation = max_deviation(actual, expected)
    assert deviation <= TOL, deviation
    assert deviation <= TOL * scale or deviation == 0.0, (deviation, scale)


CASES = [(kind, model) for kind, where in CLASSES.items() for model in where]


@pytest.mark.parametrize(("kind", "model"), CASES, ids=[f"{k}-{m}" for k, m in CASES])
def test_equals_captum_loop(models, kind, model):
    fwd, x, train = models[model]
    if kind == "LimeBase":  # LimeBase explains one instance per call
        x = _untuple(tuple(t[:1] for t in _tuple(x)), x)
    method, kwargs = _method(kind, model, fwd, x, train)
    _seed()
    expected = captum_loop(method, _requiring_grad(x), fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    assert_matches(actual, expected)
    assert (
        TimeAttribution(method).strategy
        == TimeAttribution.supported().get(kind, TimeAttribution(method).strategy)
        or kind == "NoiseTunnel"
    )


# --------------------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("IntegratedGradients", "CoxPH"),
        ("DeepLift", "Image"),
        ("LayerGradCam", "Image"),
        ("FeatureAblation", "LogisticHazard"),
        ("KernelShap", "CoxTime"),
        ("GradientShap", "LogisticHazard"),
    ],
)
def test_forced_loop_equals_default_strategy(models, kind, model):
    fwd, x, train = models[model]
    method, kwargs = _method(kind, model, fwd, x, train)
    looped = TimeAttribution(method, strategy="loop")
    assert looped.strategy == "loop"
    assert TimeAttribution(method).strategy != "loop"
    _seed()
    expected = looped.attribute(x, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    assert_matches(actual, expected)


def test_supported_lists_strategies():
    table = TimeAttribution.supported()
    assert table["IntegratedGradients"] == "stacked rows"
    assert table["LayerGradCam"] == "stacked rows"
    assert table["GradientShap"] == "gradient replay"
    assert table["FeatureAblation"] == "native multi-output"
    assert table["KernelShap"] == "forward replay"
    assert table["NeuronGradient"] == "target-free"
    assert table["LayerGradientShap"] == "loop"
    assert table["NoiseTunnel"].startswith("gradient replay around Saliency")
    assert set(captum_surv.SUPPORTED_ATTRIBUTIONS) == set(table)
    assert set(table.values()) - {table["NoiseTunnel"]} <= set(strategies.STRATEGIES)


@pytest.mark.parametrize(
    "kind", ["FeatureAblation", "FeaturePermutation", "ShapleyValueSampling", "Lime", "KernelShap"]
)
def test_per_instance_feature_masks(models, kind):
    """A different feature grouping per instance (first dimension = batch)."""
    fwd, x, train = models["LogisticHazard"]
    mask = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 0]])
    method, kwargs = _method(kind, "LogisticHazard", fwd, x, train)
    kwargs["feature_mask"] = mask
    _seed()
    expected = captum_loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    assert_matches(actual, expected)
    # the grouping is honoured per instance: features in one group share a value
    assert torch.equal(actual[1, :, 0], actual[1, :, 3])
    assert torch.equal(actual[0, :, 0], actual[0, :, 1])


def test_target_free_methods_repeat_over_time(models):
    """A neuron's attribution does not depend on the time point: one call, T copies."""
    fwd, x, train = models["CoxPH"]
    method, kwargs = _method("NeuronIntegratedGradients", "CoxPH", fwd, x, train)
    out = TimeAttribution(method).attribute(x, **kwargs)
    direct = method.attribute(x, **kwargs)
    assert out.shape == (N_TEST, fwd.n_times, N_FEAT)
    for t in range(fwd.n_times):
        assert torch.equal(out[:, t], direct)
    nt = ca.NoiseTunnel(method)
    assert TimeAttribution(nt).strategy == "target-free"


# --------------------------------------------------------------------------- item: layers
def test_layer_of_the_models_network_gets_a_clear_error():
    """pycox's model.net is not the forward's (frozen copy) network: say so and name the
    matching layer of fwd.net, instead of Captum's 'Forward hook did not obtain any
    outputs'."""
    torch.manual_seed(0)
    x, d, e = _data(30, 2)
    model = zoo.wrap("coxph", _mlp(N_FEAT, 1), x, target=(d, e))
    fwd = captum_surv.from_pycox(model, times=N_TIMES)
    x_test = torch.as_tensor(x[:2])
    with pytest.raises(AssertionError, match="Forward hook did not obtain"):
        ca.LayerGradCam(fwd, model.net[2]).attribute(x_test, target=0)  # Captum alone
    for method in (
        ca.LayerGradCam(fwd, model.net[2]),
        ca.LayerIntegratedGradients(fwd, model.net[0]),
        ca.NeuronGradient(fwd, model.net[0]),
        ca.LayerConductance(fwd, [model.net[0]][0]),
        ca.NoiseTunnel(ca.LayerGradCam(fwd, model.net[2])),
    ):
        with pytest.raises(ValueError, match=r"frozen deep copy.*fwd\.net\.get_submodule\('\d'\)"):
            TimeAttribution(method)
        with pytest.raises(ValueError, match="Use fwd.net's layers"):
            captum_surv.explain(fwd, x_test, method)
    fine = TimeAttribution(ca.LayerGradCam(fwd, fwd.net[2])).attribute(x_test)
    assert fine.shape == (2, N_TIMES, 1)


# --------------------------------------------------------------------------- integer inputs
class EmbeddingNet(nn.Module):
    """(float features [B, 3], category codes [B, 2] int64) -> logits."""

    def __init__(self, out_features):
        super().__init__()
        self.embedding = nn.Embedding(5, 2)
        self.body = nn.Sequential(nn.Linear(3 + 4, 5), nn.ReLU(), nn.Linear(5, out_features))

    def forward(self, x, codes):
        return self.body(torch.cat([x, self.embedding(codes).flatten(1)], dim=1))


class _CodesLast(nn.Module):
    """The reference's forward: float inputs attributed, codes as an additional argument."""

    def __init__(self, fwd):
        super().__init__()
        self.fwd = fwd

    def forward(self, x, codes):
        return self.fwd(x, codes)


@pytest.fixture(scope="module")
def embedding_model():
    torch.manual_seed(1)
    x, d, e = _data(40, 4)
    model = zoo.wrap("logistic_hazard", EmbeddingNet(5).double(), x, n_cuts=5, target=(d, e))
    fwd = captum_surv.from_pycox(model, times=N_TIMES)
    gen = torch.Generator().manual_seed(2)
    features = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    codes = torch.randint(0, 5, (6, 2), generator=gen)
    return fwd, features, codes


INTEGER_KINDS = {
    "IntegratedGradients": lambda f: (ca.IntegratedGradients(f), {"n_steps": 4}),
    "Saliency": lambda f: (ca.Saliency(f), {"abs": False}),
    "DeepLift": lambda f: (ca.DeepLift(f), {}),
    "GuidedBackprop": lambda f: (ca.GuidedBackprop(f), {}),
    "GradientShap": lambda f: (ca.GradientShap(f), {"n_samples": 3, "stdevs": 0.1}),
    "NoiseTunnel": lambda f: (ca.NoiseTunnel(ca.Saliency(f)), {"nt_samples": 2, "stdevs": 0.1}),
    "FeatureAblation": lambda f: (ca.FeatureAblation(f), {}),
    "ShapleyValueSampling": lambda f: (ca.ShapleyValueSampling(f), {"n_samples": 2}),
    "KernelShap": lambda f: (ca.KernelShap(f), {"n_samples": 10}),
    "NeuronGradient": lambda f: (
        ca.NeuronGradient(f, _net_of(f).body[0]),
        {"neuron_selector": (1,)},
    ),
}


def _net_of(forward):
    return forward.fwd.net if isinstance(forward, _CodesLast) else forward.net


@pytest.mark.parametrize("kind", list(INTEGER_KINDS))
def test_integer_inputs_held_fixed(embedding_model, kind):
    """Category codes are not differentiable: held fixed, zero attributions; the float
    inputs equal Captum's loop with the codes passed as an additional forward argument."""
    fwd, features, codes = embedding_model
    x, c = features[:N_TEST], codes[:N_TEST]
    method, kwargs = INTEGER_KINDS[kind](fwd)
    if kind in ("IntegratedGradients", "DeepLift", "FeatureAblation", "KernelShap"):
        kwargs["baselines"] = (features[N_TEST:].mean(0, keepdim=True), 0)
    if kind == "GradientShap":
        kwargs["baselines"] = (features[N_TEST:], codes[N_TEST:])
    reference, _ = INTEGER_KINDS[kind](_CodesLast(fwd))
    ref_kwargs = {k: (v[0] if k == "baselines" else v) for k, v in kwargs.items()}
    _seed()
    expected = captum_loop(reference, x, fwd.n_times, additional_forward_args=(c,), **ref_kwargs)
    _seed()
    got_x, got_codes = TimeAttribution(method).attribute((x, c), **kwargs)
    assert_matches(got_x, expected)
    assert got_codes.shape == (N_TEST, fwd.n_times, 2)
    assert torch.equal(got_codes, torch.zeros_like(got_codes))
    assert method.forward_func is fwd


def test_explain_captum_class_with_integer_inputs(embedding_model):
    fwd, features, codes = embedding_model
    x, c = features[:N_TEST], codes[:N_TEST]
    base = (features[N_TEST:].mean(0, keepdim=True), torch.zeros(1, 2, dtype=torch.long))
    expl = captum_surv.explain(fwd, (x, c), ca.IntegratedGradients, baselines=base, n_steps=4)
    _seed()
    expected = captum_loop(
        ca.IntegratedGradients(_CodesLast(fwd)),
        x,
        fwd.n_times,
        baselines=base[0],
        additional_forward_args=(c,),
        n_steps=4,
    )
    assert_matches(expl.attributions[0], expected)
    assert torch.equal(expl.attributions[1], torch.zeros(N_TEST, fwd.n_times, 2, dtype=x.dtype))


def test_integer_inputs_to_layer_methods_and_errors(embedding_model):
    """Layer methods get the codes unchanged (LayerIntegratedGradients on the embedding is
    how codes are attributed); all-integer inputs to an input method get a clear error."""
    fwd, features, codes = embedding_model
    x, c = features[:N_TEST], codes[:N_TEST]
    method = ca.LayerIntegratedGradients(fwd, fwd.net.embedding)
    expected = captum_loop(method, (x, c), fwd.n_times, n_steps=4)
    actual = TimeAttribution(method).attribute((x, c), n_steps=4)
    assert_matches(actual, expected)

    class CodesOnly(nn.Module):
        def __init__(self, out_features):
            super().__init__()
            self.embedding = nn.Embedding(5, 2)
            self.head = nn.Linear(4, out_features)

        def forward(self, codes):
            return self.head(self.embedding(codes).flatten(1))

    cuts = np.array([0.0, 1.0, 2.0, 3.0])
    model = pm.LogisticHazard(CodesOnly(len(cuts)).double(), duration_index=cuts)
    only = captum_surv.from_pycox(model, times=N_TIMES)
    with pytest.raises(ValueError, match="Every input is an integer tensor.*embedding layer"):
        TimeAttribution(ca.IntegratedGradients(only)).attribute(c)


def test_explain_routes_every_class_and_strategy(models):
    fwd, x, train = models["Image"]
    method, kwargs = _method("LayerGradCam", "Image", fwd, x, train)
    with pytest.raises(TypeError, match=r"LayerGradCam needs layer.*instance"):
        captum_surv.explain(fwd, x, ca.LayerGradCam)
    method, kwargs = _method("GuidedBackprop", "Image", fwd, x, train)
    expl = captum_surv.explain(fwd, x, method, strategy="loop")
    assert expl.options["strategy"] == "loop"
    expected = captum_loop(method, x, fwd.n_times)
    assert_matches(expl.attributions, expected)
    assert captum_surv.explain(fwd, x, method).options["strategy"] == "stacked rows"


def test_readme_lists_the_strategies():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert strategies.markdown_table() in readme, (
        "README's strategy table is out of date: paste captum_surv.attr.strategies."
        "markdown_table() between the strategies-table markers"
    )


@pytest.mark.parametrize("kind", ["LayerGradCam", "LayerConductance", "GuidedBackprop", "DeepLift"])
def test_hook_methods_take_one_backward_of_summed_outputs(models, kind, monkeypatch):
    """The stacked strategy differentiates one root (the summed selected outputs) per
    Captum gradient call, not one per row; Captum's functions are restored afterwards."""
    import sys

    from captum_surv._compat import captum_default_gradient_func, captum_layer_gradient_func

    fwd, x, train = models["Image"]
    method, kwargs = _method(kind, "Image", fwd, x, train)
    roots = []
    grad = torch.autograd.grad

    def counting(outputs, *args, **kw):
        roots.append(len(outputs) if isinstance(outputs, (tuple, list)) else 1)
        return grad(outputs, *args, **kw)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    TimeAttribution(method).attribute(x, **kwargs)
    assert roots and max(roots) == 1
    roots.clear()
    TimeAttribution(method, strategy="loop").attribute(x, **kwargs)
    assert max(roots) >= N_TEST  # Captum's own path: one root per row
    for cls in (ca.LayerGradCam, ca.LayerConductance):
        module = sys.modules[cls.__module__]
        assert module.compute_layer_gradients_and_eval is captum_layer_gradient_func()
    assert method.gradient_func is captum_default_gradient_func() or kind in (
        "LayerGradCam",
        "LayerConductance",
    )


@pytest.mark.parametrize(
    ("inner", "strategy"),
    [
        ("IntegratedGradients", "gradient replay"),
        ("DeepLift", "loop"),
        ("FeatureAblation", "loop"),
        ("LayerGradCam", "loop"),
        ("NeuronGradient", "target-free"),
    ],
)
def test_noise_tunnel_around_any_method(models, inner, strategy):
    fwd, x, train = models["Image"]
    method, kwargs = _method(inner, "Image", fwd, x, train)
    nt = ca.NoiseTunnel(method)
    kwargs.update(nt_samples=2, stdevs=0.1)
    assert TimeAttribution(nt).strategy == strategy
    _seed()
    expected = captum_loop(nt, x, fwd.n_times, **kwargs)
    _seed()
    assert_matches(TimeAttribution(nt).attribute(x, **kwargs), expected)


def test_network_untouched(models):
    """The frozen network's parameters never require gradients; no hook is left behind."""
    fwd, x, train = models["Image"]
    method, kwargs = _method("LayerDeepLift", "Image", fwd, x, train)
    TimeAttribution(method).attribute(x, **kwargs)
    assert not any(p.requires_grad for p in fwd.net.parameters())
    with pytest.raises(Exception):  # noqa: B017 - whatever Captum raises
        TimeAttribution(method).attribute(x, custom_attribution_func=lambda *a: 1 / 0)
    assert not any(p.requires_grad for p in fwd.net.parameters())
    for module in fwd.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module._backward_hooks


@pytest.mark.parametrize(
    "kind",
    [
        "DeepLift",
        "GuidedBackprop",
        "LayerGradCam",
        "LayerConductance",
        "LayerDeepLift",
        "NeuronGradient",
    ],
)
def test_float64_inputs_on_a_float32_network(models, kind):
    """Hooks on fwd.net's layers fire for float64 inputs too (the forward runs the same
    modules with float64 parameters): equal to Captum's loop in float64, and to the float32
    result within float32 precision."""
    torch.manual_seed(0)
    x, d, e = _data(30, 3)
    model = zoo.wrap("logistic_hazard", ImageTabularNet(5), x, n_cuts=5, target=(d, e))
    fwd = captum_surv.from_pycox(model, times=N_TIMES)
    _, x64, train64 = models["Image"]
    method, kwargs = _method(kind, "Image", fwd, x64, train64)
    _seed()
    expected = captum_loop(method, _requiring_grad(x64), fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x64, **kwargs)
    assert all(a.dtype == torch.float64 for a in _tuple(actual))
    assert_matches(actual, expected)
    x32 = tuple(t.float() for t in x64)
    kwargs32 = {
        k: tuple(t.float() for t in v) if k == "baselines" else v for k, v in kwargs.items()
    }
    single = TimeAttribution(method).attribute(x32, **kwargs32)
    for a, b in zip(_tuple(actual), _tuple(single), strict=True):
        assert torch.allclose(a.float(), b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("LayerGradientXActivation", "CoxTime"),
        ("LayerConductance", "Image"),
        ("GuidedGradCam", "Image"),
        ("LayerFeatureAblation", "LogisticHazard"),
    ],
)
def test_chunking_does_not_change_layer_results(models, kind, model):
    fwd, x, train = models[model]
    method, kwargs = _method(kind, model, fwd, x, train)
    whole = TimeAttribution(method).attribute(x, **kwargs)
    chunked = TimeAttribution(method, batch_size=1).attribute(x, **kwargs)
    assert_matches(chunked, whole)


@pytest.mark.parametrize("kind", ["LayerConductance", "InternalInfluence", "NeuronConductance"])
def test_coxtime_layers_that_captum_cannot_reshape_get_a_clear_error(models, kind):
    """Captum itself fails here ("shape ... is invalid"); the error says why."""
    fwd, x, train = models["CoxTime"]
    method, kwargs = _method(kind, "CoxTime", fwd, x, train)
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        method.attribute(x, target=0, **kwargs)
    with pytest.raises(ValueError, match="several rows per instance.*once per baseline jump"):
        TimeAttribution(method).attribute(x, **kwargs)
