"""The method registry is the one table every entry point reads, and each error has one wording.

The registry (``captum_surv.attr.registry``) must list exactly what ``explain``,
``TimeAttribution``, ``explain_dataset`` and the README accept; these tests run the entry
points themselves, so a method added in one place but not in the registry (or the reverse)
fails here. The wording tests give the same bad value to several public entry points and
require the same message.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn

import captum_surv
from captum_surv import baselines as bl
from captum_surv import explain
from captum_surv.attr import registry, strategies
from captum_surv.attr.survlime import SurvLIMEExplanation

N_FEATURES = 3


@pytest.fixture(scope="module")
def weibull():
    """A tiny float64 Weibull network (no training needed), its forward and data."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_FEATURES, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    fwd = captum_surv.from_module(net, "weibull", times=np.linspace(0.5, 3.0, 4))
    x = torch.randn(12, N_FEATURES, dtype=torch.float64)
    return fwd, x


def _run(fwd, x, name):
    """``explain`` with the least arguments each method needs."""
    spec = registry.METHODS[name]
    refs = x[4:12] if spec.baselines == registry.REQUIRED_BASELINES else None
    options = {}
    if name == "smoothgrad":
        refs = x[4:12]
    if name == "survlime":
        durations = np.linspace(0.5, 3.0, 8)
        options = {"durations": durations, "events": np.ones(8), "n_neighbours": 20}
    if spec.randomised:
        options["seed"] = 0
    return explain(fwd, x[:2], name, refs, **options)


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_explain_accepts_every_registry_method(weibull, name):
    fwd, x = weibull
    result = _run(fwd, x, name)
    family = registry.METHODS[name].family
    if name == "survlime":
        assert isinstance(result, SurvLIMEExplanation)
    elif family == registry.INTERACTION:
        assert isinstance(result, captum_surv.SurvInteractions)
        assert result.interactions.shape == (2, fwd.n_times, N_FEATURES, N_FEATURES)
    else:
        assert isinstance(result, captum_surv.SurvExplanation)
        assert result.method == name
        assert result.attributions.shape == (2, fwd.n_times, N_FEATURES)


def test_unknown_method_lists_exactly_the_registry(weibull):
    fwd, x = weibull
    with pytest.raises(ValueError, match="Unknown method 'intgrads'") as info:
        explain(fwd, x[:2], "intgrads")
    listed = re.search(r"Valid methods: (\[[^\]]*\])", str(info.value)).group(1)
    assert eval(listed) == list(registry.METHODS)  # noqa: S307 - a printed list literal


def test_method_tables_of_the_package_are_views_of_the_registry():
    from captum_surv.attr.explain import PEER_METHODS, PEER_OPTIONS
    from captum_surv.attr.methods import METHOD_OPTIONS

    by_family = {}
    for name, spec in registry.METHODS.items():
        by_family.setdefault(spec.family, []).append(name)
    assert list(captum_surv.METHODS) == by_family[registry.GRADIENT]
    assert list(captum_surv.INTERACTION_METHODS) == by_family[registry.INTERACTION]
    assert list(PEER_METHODS) == by_family[registry.PEER]
    for name, options in {**METHOD_OPTIONS, **PEER_OPTIONS}.items():
        assert options == registry.METHODS[name].options


def test_time_attribution_supports_exactly_the_registry_captum_classes():
    supported = captum_surv.TimeAttribution.supported()
    assert set(supported) == set(captum_surv.SUPPORTED_ATTRIBUTIONS)
    assert set(supported) <= set(registry.CAPTUM_METHODS)
    # every public captum.attr class that takes a forward function is in the registry
    public = set(strategies.captum_attribution_classes()) - set(strategies.NOT_APPLICABLE)
    assert public <= set(registry.CAPTUM_METHODS)
    for name, strategy in supported.items():
        if name != "NoiseTunnel":
            assert strategy == registry.CAPTUM_METHODS[name].strategy


def test_time_attribution_reports_the_registry_strategy(weibull):
    fwd, _ = weibull
    ta = captum_surv.TimeAttribution(IntegratedGradients(fwd))
    assert ta.strategy == registry.CAPTUM_METHODS["IntegratedGradients"].strategy


def test_display_names_are_unique_and_fall_back_to_the_name():
    names = [s.display_name for s in registry.METHODS.values()]
    assert len(set(names)) == len(names)
    assert registry.display_name("intgrad") == "IntGrad(t)"
    assert registry.display_name("survlime") == "SurvLIME"
    assert registry.display_name("KernelShap") == "KernelShap"
    for name, spec in registry.CAPTUM_METHODS.items():
        assert spec.display_name == name


def test_readme_method_table_is_the_registry():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert registry.markdown_table() in readme, (
        "README's method table is out of date: paste captum_surv.attr.registry.markdown_table()"
    )
    for name in registry.METHODS:
        assert f'`"{name}"`' in readme


def test_explain_dataset_runs_the_registry_cohort_methods(weibull, tmp_path):
    fwd, x = weibull
    cohort = [n for n, s in registry.METHODS.items() if s.cohort]
    with pytest.raises(ValueError, match="explain_dataset runs") as info:
        captum_surv.explain_dataset(fwd, x.numpy(), "survshap", x.numpy(), out=tmp_path / "o")
    assert str(cohort) in str(info.value)


# ------------------------------------------------------------------ one wording per error
def _message(call, error):
    with pytest.raises(error) as info:
        call()
    return str(info.value)


def test_positive_integer_errors_have_one_wording(weibull):
    fwd, x = weibull
    calls = {
        "n": lambda v: bl.sample(x, v),
        "n_steps": lambda v: explain(fwd, x[:2], "intgrad", n_steps=v),
        "batch_size": lambda v: captum_surv.TimeAttribution(IntegratedGradients(fwd), batch_size=v),
        "n_permutations": lambda v: explain(
            fwd, x[:2], "survshap", x[4:8], estimator="permutation", n_permutations=v
        ),
    }
    for name, call in calls.items():
        assert _message(lambda: call(0), ValueError) == (  # noqa: B023
            f"{name} must be a positive integer, got 0 ({name} must be >= 1)."
        )
        assert _message(lambda: call(2.5), TypeError) == (  # noqa: B023
            f"{name} must be an integer >= 1, got 2.5."
        )


def test_non_finite_data_errors_have_one_wording(weibull):
    fwd, x = weibull
    bad = x[:2].clone()
    bad[0, 1] = float("nan")
    tail = " contains NaN or inf values; impute or drop those rows"
    messages = {
        "Input 0": _message(lambda: explain(fwd, bad, "grad"), ValueError),
        "inputs": _message(
            lambda: captum_surv.TimeAttribution(IntegratedGradients(fwd)).attribute(bad),
            ValueError,
        ),
        "reference": _message(lambda: bl.feature_mean(bad), ValueError),
        "baselines": _message(lambda: explain(fwd, x[:2], "intgrad", bad[:1]), ValueError),
    }
    for where, message in messages.items():
        assert message.startswith(where + tail), message


def test_instance_index_errors_have_one_wording(weibull):
    fwd, x = weibull
    expl = explain(fwd, x[:3], "grad")
    lime = explain(
        fwd,
        x[:3],
        "survlime",
        x[4:12],
        durations=np.linspace(0.5, 3.0, 8),
        events=np.ones(8),
        n_neighbours=20,
        seed=0,
    )
    out_of_range = (
        "instance=5 is out of range: instance must be an int in 0..2 (or negative, counting "
        "from the end) for 3 rows."
    )
    assert _message(lambda: expl.rank_features(instance=5), ValueError) == out_of_range
    assert _message(lambda: lime.plot_coefficients(5), ValueError) == out_of_range
    wrong_type = "instance must be an int index, got 1.0."
    assert _message(lambda: expl.rank_features(instance=1.0), TypeError) == wrong_type
    assert _message(lambda: lime.plot_coefficients(1.0), TypeError) == wrong_type


def test_row_count_and_tuple_length_errors_have_one_wording():
    net = nn.Bilinear(2, 3, 2).double()
    fwd = captum_surv.from_module(net, "weibull", times=np.linspace(0.5, 3.0, 4))
    xa = torch.randn(4, 2, dtype=torch.float64)
    xb = torch.randn(4, 3, dtype=torch.float64)
    rows = "The tensors of inputs have different batch sizes: inputs[1] has 2 rows but "
    assert _message(lambda: fwd(xa, xb[:2]), ValueError).startswith(rows)
    ta = captum_surv.TimeAttribution(IntegratedGradients(fwd))
    assert _message(lambda: ta.attribute((xa, xb[:2])), ValueError).startswith(rows)
    length = "baselines has 1 element(s) but the inputs have 2 tensor(s): pass one baseline"
    assert _message(
        lambda: explain(fwd, (xa, xb), "intgrad", (torch.zeros(1, 2),)), ValueError
    ).startswith(length)
    assert _message(
        lambda: ta.attribute((xa, xb), baselines=(torch.zeros(1, 2),)), ValueError
    ).startswith(length)
