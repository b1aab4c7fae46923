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

import contextlib
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


def _build(name):
    torch.manual_seed(0)
    x, d, e = _data(60, 1)
    x_test = torch.as_tensor(np.random.default_rng(5).normal(size=(N_TEST, N_FEAT)))
    if name == "CoxPH":
        model = pm.CoxPH(_mlp(N_FEAT, 1))
        model.compute_baseline_hazards(input=x, target=(d, e))
        return captum_surv.from_pycox(model, times=N_TIMES), x_test, torch.as_tensor(x)
    if name == "CoxTime":
        labtrans = pm.CoxTime.label_transform()
        labtrans.fit(d, e)
        net = MLPVanillaCoxTime(N_FEAT, [5], batch_norm=False, dropout=None).double()
        model = pm.CoxTime(net, labtrans=labtrans)
        d_s, e_s = labtrans.transform(d, e)
        captum_surv.compute_coxtime_baseline_hazards(
            model, input=x, target=(d_s, e_s), set_hazards=True
        )
        return captum_surv.from_pycox(model, times=N_TIMES), x_test, torch.as_tensor(x)
    labtrans = pm.LogisticHazard.label_transform(6)
    labtrans.fit(d, e)
    if name == "LogisticHazard":
        model = pm.LogisticHazard(_mlp(N_FEAT, labtrans.out_features), duration_index=labtrans.cuts)
        return captum_surv.from_pycox(model, times=N_TIMES), x_test, torch.as_tensor(x)
    assert name == "Image"
    net = ImageTabularNet(labtrans.out_features).double()
    model = pm.LogisticHazard(net, duration_index=labtrans.cuts)
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(12, 1, 6, 6, generator=gen, dtype=torch.float64)
    tabular = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    fwd = captum_surv.from_pycox(model, times=N_TIMES)
    return fwd, (images[:N_TEST], tabular[:N_TEST]), (images[N_TEST:], tabular[N_TEST:])


@pytest.fixture(scope="module")
def models():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    built = {name: _build(name) for name in ALL}
    yield built
    torch.set_num_threads(threads)


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


@contextlib.contextmanager
def _trainable_parameters(fwd):
    """Captum's layer DeepLift needs the network's parameters to require gradients (its
    hooks on tensors that depend only on frozen weights fail); TimeAttribution sets them for
    the call, and the reference loop does the same."""
    flags = [p.requires_grad for p in fwd.net.parameters()]
    for p in fwd.net.parameters():
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, flag in zip(fwd.net.parameters(), flags, strict=True):
            p.requires_grad_(flag)


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
        assert max_deviation(actual, expected) <= TOL


CASES = [(kind, model) for kind, where in CLASSES.items() for model in where]


@pytest.mark.parametrize(("kind", "model"), CASES, ids=[f"{k}-{m}" for k, m in CASES])
def test_equals_captum_loop(models, kind, model):
    fwd, x, train = models[model]
    if kind == "LimeBase":  # LimeBase explains one instance per call
        x = _untuple(tuple(t[:1] for t in _tuple(x)), x)
    method, kwargs = _method(kind, model, fwd, x, train)
    _seed()
    with _trainable_parameters(fwd):
        expected = captum_loop(method, x, fwd.n_times, **kwargs)
    _seed()
    actual = TimeAttribution(method).attribute(x, **kwargs)
    assert max_deviation(actual, expected) <= TOL
    assert (
        TimeAttribution(method).strategy
        == TimeAttribution.supported().get(kind, TimeAttribution(method).strategy)
        or kind == "NoiseTunnel"
    )
