"""Datasets: simulations checked against their closed-form models, loaders against raw data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from captum_surv import datasets as ds
from captum_surv.datasets import (
    DATASETS,
    MultimodalData,
    Preprocessor,
    SurvivalData,
    load_dataset,
    load_multimodal_digits,
    simulate_ranking,
    simulate_time_dependent,
    simulate_time_independent,
    simulate_weibull,
    train_test_split,
)

SIMULATIONS = {
    "time_independent": (simulate_time_independent, ["x1", "x2", "x3"], 7.0),
    "time_dependent": (simulate_time_dependent, ["x1", "x2", "x3", "x4"], 7.0),
    "ranking": (
        lambda n, seed: simulate_ranking(n=n, p=5, seed=seed),
        ["x1", "x2", "x3", "x4", "x5"],
        10.0,
    ),
}


def _kaplan_meier(durations, events, times):
    """Kaplan-Meier survival at ``times`` (scikit-survival's estimator, step function)."""
    km = pytest.importorskip("sksurv.nonparametric")
    grid, surv = km.kaplan_meier_estimator(events > 0, durations.astype(np.float64))
    pos = np.searchsorted(grid, times, side="right") - 1
    return np.where(pos >= 0, surv[np.maximum(pos, 0)], 1.0)


# ============================================================================ simulations
@pytest.mark.parametrize("name", list(SIMULATIONS))
def test_simulation_layout(name):
    fn, names, censoring = SIMULATIONS[name]
    data = fn(n=400, seed=3)
    assert isinstance(data, SurvivalData)
    assert len(data) == 400 and data.n_features == len(names) and data.n_risks == 1
    assert data.features.dtype == np.float32 and data.features.shape == (400, len(names))
    assert data.durations.dtype == np.float32 and data.durations.shape == (400,)
    assert data.events.dtype == np.int64 and set(np.unique(data.events)) <= {0, 1}
    assert data.feature_names == names
    assert list(data.frame.columns) == names
    np.testing.assert_array_equal(data.frame.to_numpy(), data.features)
    gt = data.ground_truth
    assert gt is not None and list(gt.input_names) == names
    assert gt.censoring_time == censoring
    durations, events = data.target()
    assert durations.dtype == np.float32 and events.dtype == np.float32
    structured = data.structured()
    np.testing.assert_array_equal(structured["event"], data.events == 1)
    # administrative censoring only: censored rows sit exactly at the censoring time
    assert data.durations.max() <= censoring
    np.testing.assert_array_equal(data.durations[data.events == 0], censoring)
    assert np.all(data.durations > 0)


@pytest.mark.parametrize("name", list(SIMULATIONS))
def test_simulation_seeding(name):
    fn = SIMULATIONS[name][0]
    a, b, c = fn(n=50, seed=7), fn(n=50, seed=7), fn(n=50, seed=8)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.durations, b.durations)
    assert not np.array_equal(a.features, c.features)


def test_covariate_distributions():
    x = simulate_time_independent(n=20_000, seed=1).features
    assert abs(x[:, 0].mean()) < 0.03 and abs(x[:, 0].std() - 1) < 0.03
    assert x[:, 1].min() >= 0 and x[:, 1].max() <= 1 and abs(x[:, 1].mean() - 0.5) < 0.01
    assert x[:, 2].min() >= -1 and x[:, 2].max() <= 1 and abs(x[:, 2].mean()) < 0.02
    x = simulate_time_dependent(n=20_000, seed=1).features
    assert x[:, 0].min() >= 0 and x[:, 0].max() <= 1
    assert abs(x[:, 1].std() - 1) < 0.03 and abs(x[:, 2].std() - 1) < 0.03
    assert x[:, 3].min() >= -1 and x[:, 3].max() <= 1


@pytest.mark.parametrize("name", list(SIMULATIONS))
def test_event_times_follow_the_model(name):
    """Kaplan-Meier of a large sample matches the closed-form marginal mean_i S(t | x_i).

    With n = 20,000 the Kaplan-Meier standard error is below 0.0036; the tolerance 0.015 is
    four of them. A wrong shape, scale or sign in the sampler moves the curves by far more
    (e.g. flipping x1's effect in the time-dependent model changes S(2) by > 0.1).
    """
    fn, _, censoring = SIMULATIONS[name]
    data = fn(n=20_000, seed=11)
    times = np.array([0.25, 0.5, 1.0, 1.65, 2.5, 4.0, censoring - 0.5])
    empirical = _kaplan_meier(data.durations, data.events, times)
    model = data.ground_truth.survival(data.features, times).mean(axis=0)
    np.testing.assert_allclose(empirical, model, atol=0.015)
    # the model is not trivially flat on these times
    assert model[0] - model[-1] > 0.4


def test_ground_truth_closed_forms_are_consistent():
    """H is the integral of h, S = exp(-H), and the log-hazard gradients are the effects."""
    t = np.linspace(1e-6, 6.0, 60_001)
    for data in (
        simulate_time_independent(n=5, seed=0),
        simulate_time_dependent(n=5, seed=0),
        simulate_ranking(n=5, p=4, seed=0),
    ):
        gt = data.ground_truth
        x = data.features
        hazard = gt.hazard(x, t)
        steps = np.cumsum(0.5 * (hazard[:, 1:] + hazard[:, :-1]) * np.diff(t), axis=1)
        integral = np.concatenate([np.zeros((len(x), 1)), steps], axis=1)
        cumhaz = gt.cumulative_hazard(x, t)
        np.testing.assert_allclose(integral[:, ::6000], cumhaz[:, ::6000], rtol=2e-3, atol=1e-6)
        np.testing.assert_allclose(gt.survival(x, t[:5]), np.exp(-cumhaz[:, :5]))
        assert gt.log_hazard(x, [2.0]).shape == (5, 1)

    # proportional hazards: d log h / dx = coefficients, at every time
    gt = simulate_time_independent(n=3, seed=0).ground_truth
    grad = gt.gradient(np.zeros((2, 3)), [0.5, 3.0], output="log_hazard")
    np.testing.assert_allclose(grad, np.broadcast_to([1.7, -2.4, 0.0], grad.shape), atol=1e-6)
    surv_grad = gt.gradient(np.array([[0.3, 0.4, 0.1]]), [0.5, 1.0, 3.0])
    assert np.all(surv_grad[..., 0] < 0) and np.all(surv_grad[..., 1] > 0)
    np.testing.assert_allclose(surv_grad[..., 2], 0.0, atol=1e-9)

    # time-dependent: x1's log-hazard effect is -3 + 6 log t, zero at t = e^0.5
    gt = simulate_time_dependent(n=3, seed=0).ground_truth
    times = np.array([1.0, math.exp(0.5), 2.2, 4.0])
    grad = gt.gradient(np.array([[0.2, 0.1, -0.3, 0.5], [0.9, 0.0, 0.0, 0.0]]), times, "log_hazard")
    np.testing.assert_allclose(grad[..., 0], np.tile(-3 + 6 * np.log(times), (2, 1)), atol=1e-5)
    others = np.broadcast_to([1.7, -2.4, 0.0], (2, 4, 3))
    np.testing.assert_allclose(grad[..., 1:], others, atol=1e-6)
    np.testing.assert_allclose(gt.time_varying["x1"](times), 6 * np.log(times))
    # survival derivative: sign change at log t = 0.5 + 1 / (1.5 + 6 x1), not at e^0.5
    x = np.array([[0.5, 0.0, 0.0, 0.0]])
    t_star = math.exp(0.5 + 1 / 4.5)
    g = gt.gradient(x, [0.9 * t_star, 1.1 * t_star])[0, :, 0]
    assert g[0] > 0 > g[1]


def test_ranking_coefficients_and_order():
    data = simulate_ranking(n=10, p=6, seed=0)
    gt = data.ground_truth
    expected = np.linspace(0, 1, 6) * np.array([1, -1, 1, -1, 1, -1])
    np.testing.assert_allclose(list(gt.coefficients.values()), expected)
    assert gt.importance_order == ("x6", "x5", "x4", "x3", "x2", "x1")
    assert simulate_time_independent(n=3).ground_truth.importance_order == ("x1", "x2", "x3")
    assert simulate_time_dependent(n=3).ground_truth.importance_order is None


def test_ground_truth_input_checks():
    gt = simulate_time_independent(n=3).ground_truth
    assert gt.survival([0.0, 0.5, 0.0], 1.0).shape == (1, 1)  # one row, one time
    assert gt.survival(pd.DataFrame(np.zeros((2, 3))), [1.0, 2.0]).shape == (2, 2)
    with pytest.raises(ValueError, match="3"):
        gt.survival(np.zeros((2, 4)), [1.0])
    with pytest.raises(ValueError, match="finite times"):
        gt.survival(np.zeros((2, 3)), [-1.0])
    with pytest.raises(ValueError, match="output"):
        gt.gradient(np.zeros((2, 3)), [1.0], output="pmf")


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: simulate_time_independent(n=0), ValueError, "n must be >= 1"),
        (lambda: simulate_time_dependent(n=2.5), TypeError, "n must be an int"),
        (lambda: simulate_ranking(n=10, p=1), ValueError, "p must be >= 2"),
        (lambda: simulate_ranking(n=10, seed="a"), TypeError, "seed"),
        (lambda: simulate_time_independent(censoring_time=0), ValueError, "censoring_time"),
    ],
)
def test_simulation_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ============================================================================ split helper
def test_train_test_split_partitions_and_stratifies():
    data = simulate_time_dependent(n=1001, seed=2)
    train, test = train_test_split(data, test_size=0.3, seed=5)
    assert len(test) == math.ceil(0.3 * 1001) and len(train) + len(test) == 1001
    rows = np.concatenate([train.features, test.features])
    assert len(np.unique(rows, axis=0)) == 1001  # disjoint, and together every row
    assert abs(test.events.mean() - data.events.mean()) < 0.01  # stratified
    assert train.ground_truth is data.ground_truth and train.feature_names == data.feature_names
    again, _ = train_test_split(data, test_size=0.3, seed=5)
    np.testing.assert_array_equal(again.features, train.features)
    other, _ = train_test_split(data, test_size=0.3, seed=6)
    assert not np.array_equal(other.features, train.features)
    _, plain = train_test_split(data, test_size=0.3, seed=5, stratify=False)
    assert len(plain) == len(test)


@pytest.mark.parametrize("test_size", [0, 1, 1.0, -0.2, 1.5])
def test_split_rejects_bad_test_size(test_size):
    data = simulate_ranking(n=20, seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_test_split(data, test_size=test_size)
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_dataset("veterans", test_size=test_size)


def test_split_type_errors():
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(simulate_ranking(n=20), test_size=True)
    with pytest.raises(TypeError, match="SurvivalData"):
        train_test_split(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="empty"):
        train_test_split(simulate_ranking(n=2), test_size=0.9)


def test_survival_data_validation_and_subset():
    with pytest.raises(ValueError, match="feature names"):
        SurvivalData(np.zeros((3, 2)), np.ones(3), np.ones(3), ["a"])
    with pytest.raises(ValueError, match="durations"):
        SurvivalData(np.zeros((3, 2)), np.ones(2), np.ones(3), ["a", "b"])
    data = simulate_ranking(n=10, seed=0)
    sub = data.subset(data.events == 1)
    assert len(sub) == int(data.events.sum())
    assert len(data.subset([0, 2])) == 2
    assert "SurvivalData" in repr(data)


# ============================================================================ real data
@pytest.fixture(scope="module")
def sksurv_datasets():
    return pytest.importorskip("sksurv.datasets")


@pytest.mark.parametrize("name", list(DATASETS))
def test_load_dataset_layout(name, sksurv_datasets):
    split = load_dataset(name, test_size=0.25, seed=0)
    train, test = split  # unpacks
    assert split.name == name and split.description == DATASETS[name]
    for part in (train, test):
        assert part.features.dtype == np.float32 and part.features.ndim == 2
        assert np.isfinite(part.features).all()
        assert part.durations.dtype == np.float32 and np.all(part.durations >= 0)
        assert part.events.dtype == np.int64
        assert set(np.unique(part.events)) <= set(range(part.n_risks + 1))
        assert part.feature_names == split.feature_names
        assert part.raw_features is not None and len(part.raw_features) == len(part)
    names = split.feature_names
    assert len(names) == train.n_features and len(set(names)) == len(names)
    n_total = len(train) + len(test)
    assert len(test) == math.ceil(0.25 * n_total)
    # same rows as scikit-survival's loader
    loader = getattr(sksurv_datasets, ds._SPECS[name].loader)
    _, y = loader()
    assert n_total == len(y)
    times = np.sort(np.concatenate([train.durations, test.durations]))
    np.testing.assert_allclose(times, np.sort(y[ds._SPECS[name].time]).astype(np.float32))


def test_load_dataset_seeds_and_names(sksurv_datasets):
    a, b = load_dataset("GBSG2", seed=3), load_dataset("gbsg2", seed=3)
    np.testing.assert_array_equal(a.train.features, b.train.features)
    c = load_dataset("gbsg2", seed=4)
    assert not np.array_equal(a.test.durations, c.test.durations)
    assert a.feature_names == [
        "age",
        "estrec",
        "horTh=yes",
        "menostat=Post",
        "pnodes",
        "progrec",
        "tgrade=I",
        "tgrade=II",
        "tgrade=III",
        "tsize",
    ]


def test_standardisation_uses_training_rows_only(sksurv_datasets):
    """Test rows are scaled with the training mean/sd: recomputed from the raw frames."""
    split = load_dataset("whas500", test_size=0.3, seed=2)
    train, test = split
    numeric = [
        c
        for c in train.raw_features.columns
        if not isinstance(train.raw_features[c].dtype, pd.CategoricalDtype)
    ]
    assert numeric
    for col in numeric:
        j = train.feature_names.index(col)
        raw_tr = train.raw_features[col].to_numpy(dtype=np.float64)
        raw_te = test.raw_features[col].to_numpy(dtype=np.float64)
        mu, sd = raw_tr.mean(), raw_tr.std()
        np.testing.assert_allclose(train.features[:, j], (raw_tr - mu) / sd, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(test.features[:, j], (raw_te - mu) / sd, rtol=1e-5, atol=1e-5)
        assert abs(train.features[:, j].mean()) < 1e-4
        assert abs(train.features[:, j].std() - 1) < 1e-3
        assert split.preprocessor.mean_[col] == pytest.approx(mu)
    # the test rows were not standardised with their own statistics
    cols = [train.feature_names.index(c) for c in numeric]
    assert np.abs(test.features[:, cols].mean(axis=0)).max() > 0.02
    # refitting on other rows changes the encoding: the split used the training rows only
    refit = Preprocessor().fit(pd.concat([train.raw_features, test.raw_features]))
    assert not np.allclose(refit.transform(test.raw_features), test.features)
    # without standardisation the numeric columns keep their units
    raw = load_dataset("whas500", test_size=0.3, seed=2, standardize=False)
    j = raw.feature_names.index("age")
    np.testing.assert_allclose(raw.test.features[:, j], test.raw_features["age"], rtol=1e-6)


def test_flchain_missing_values(sksurv_datasets):
    train, test = load_dataset("flchain", seed=1)
    names = train.feature_names
    assert not any(n.startswith("chapter") for n in names)  # outcome leak dropped
    j, k = names.index("creatinine"), names.index("creatinine_missing")
    for part in (train, test):
        missing = part.raw_features["creatinine"].isna().to_numpy()
        assert 0.05 < missing.mean() < 0.4
        np.testing.assert_array_equal(part.features[:, k], missing.astype(np.float32))
    raw = train.raw_features["creatinine"].to_numpy(dtype=np.float64)
    observed = raw[~np.isnan(raw)]
    filled = np.where(np.isnan(raw), np.median(observed), raw)
    expected = (np.median(observed) - filled.mean()) / filled.std()
    miss_rows = test.raw_features["creatinine"].isna().to_numpy()
    np.testing.assert_allclose(test.features[miss_rows, j], expected, rtol=1e-5)


@pytest.mark.parametrize("name, n_risks", [("bmt", 2), ("cgvhd", 3)])
def test_competing_risks(name, n_risks, sksurv_datasets):
    train, test = load_dataset(name, seed=0)
    assert train.n_risks == n_risks and len(train.event_names) == n_risks
    codes = np.concatenate([train.events, test.events])
    assert set(np.unique(codes)) == set(range(n_risks + 1))
    durations, events = train.target()
    assert events.dtype == np.int64
    with pytest.raises(ValueError, match="competing risks"):
        train.structured()


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError, match="Valid names") as info:
        load_dataset("metabric")
    for name in ("gbsg2", "whas500", "flchain", "veterans", "aids", "bmt", "cgvhd"):
        assert name in str(info.value)
    with pytest.raises(TypeError, match="seed"):
        load_dataset("gbsg2", seed=1.5)


# ============================================================================ preprocessor
def test_preprocessor_encoding():
    train = pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0],
            "bin": pd.Categorical(["a", "b", "a", "b"]),
            "multi": pd.Categorical(["x", "y", "z", "x"], categories=["x", "y", "z"]),
            "obj": ["u", "v", "u", "u"],
        }
    )
    prep = Preprocessor().fit(train)
    assert prep.feature_names == [
        "num",
        "num_missing",
        "bin=b",
        "multi=x",
        "multi=y",
        "multi=z",
        "obj=v",
    ]
    test = pd.DataFrame(
        {
            "num": [np.nan, 3.0],
            "bin": pd.Categorical([None, "a"], categories=["a", "b"]),
            "multi": pd.Categorical(["z", None], categories=["x", "y", "z"]),
            "obj": ["w", "v"],
        }
    )
    out = prep.transform(test)
    filled = np.array([1.0, 2.0, 2.0, 4.0])
    mu, sd = filled.mean(), filled.std()
    np.testing.assert_allclose(out[:, 0], [(2.0 - mu) / sd, (3.0 - mu) / sd], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 1:], [[1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]])
    assert out.dtype == np.float32

    with pytest.raises(ValueError, match="not fitted"):
        Preprocessor().transform(train)
    with pytest.raises(ValueError, match="columns"):
        prep.transform(train[["num", "bin"]])
    prep2 = Preprocessor().fit(train.fillna(0.0))
    with pytest.raises(ValueError, match="no imputation value"):
        prep2.transform(train)
    with pytest.raises(TypeError, match="DataFrame"):
        Preprocessor().fit(np.zeros((2, 2)))


# ============================================================================ multimodal
def test_multimodal_digits_layout():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    data = load_multimodal_digits(seed=0)
    assert isinstance(data, MultimodalData) and len(data) == 1797
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == np.float32
    assert data.images.min() >= 0 and data.images.max() <= 1 and data.images.max() > 0.99
    assert data.tabular.shape == (1797, 3) and data.tabular.dtype == np.float32
    assert data.labels.dtype == np.int64 and set(np.unique(data.labels)) == set(range(10))
    images, tabular = data.inputs
    assert images is data.images and tabular is data.tabular
    # every image is one of sklearn's, with its own label
    digits = load_digits()
    flat = {
        tuple((img / 16.0).astype(np.float32).ravel()): y
        for img, y in zip(digits.images, digits.target, strict=True)
    }
    for i in range(0, 1797, 97):
        assert flat[tuple(data.images[i, 0].ravel())] == data.labels[i]
    np.testing.assert_array_equal(data.digit_log_hazard, [-1.0] * 5 + [1.0] * 5)
    assert data.durations.max() <= 5.0
    np.testing.assert_array_equal(data.durations[data.events == 0], 5.0)
    train, test = train_test_split(data, test_size=0.2, seed=0)
    assert isinstance(train, MultimodalData) and len(test) == math.ceil(0.2 * 1797)
    assert train.images.shape[1:] == (1, 8, 8)


def test_multimodal_digits_follow_the_model():
    """Kaplan-Meier per risk group matches the closed-form marginal survival."""
    pytest.importorskip("sklearn")
    table = np.linspace(-1.5, 1.5, 10)
    data = load_multimodal_digits(n=20_000, seed=4, digit_log_hazard=table)
    assert len(data) == 20_000
    gt = data.ground_truth
    assert gt.input_names == ("digit", "x1", "x2", "x3")
    times = np.array([0.5, 1.0, 2.0, 3.0])
    for group in (data.labels < 5, data.labels >= 5):
        empirical = _kaplan_meier(data.durations[group], data.events[group], times)
        model = gt.survival(data.truth_inputs[group], times).mean(axis=0)
        np.testing.assert_allclose(empirical, model, atol=0.02)
    low = gt.survival(np.array([[0, 0, 0, 0]]), [2.0])[0, 0]
    high = gt.survival(np.array([[9, 0, 0, 0]]), [2.0])[0, 0]
    assert low > high
    with pytest.raises(ValueError, match="digit classes"):
        gt.survival(np.array([[10, 0, 0, 0]]), [1.0])


def test_multimodal_digits_errors():
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match="10 finite"):
        load_multimodal_digits(digit_log_hazard=[1.0, 2.0])
    with pytest.raises(ValueError, match="n must be >= 1"):
        load_multimodal_digits(n=0)
    small = load_multimodal_digits(n=100, seed=1)
    assert len(small) == 100 and len({d.tobytes() for d in small.images}) == 100


# ----------------------------------------------------------------------------- simulate_weibull
def test_simulate_weibull_times_follow_the_weibull_law():
    """No effects, no censoring: the times are Weibull(shape, scale) (scipy's KS test)."""
    from scipy import stats

    data = simulate_weibull(4000, [0.0, 0.0], scale=2.0, shape=1.5, censoring=1e9, seed=0)
    assert data.events.min() == 1
    ks = stats.kstest(data.durations, stats.weibull_min(1.5, scale=2.0).cdf)
    assert ks.pvalue > 0.01
    truth = data.ground_truth.survival([[0.0, 0.0]], [1.0, 2.0, 3.0])[0]
    np.testing.assert_allclose(truth, stats.weibull_min(1.5, scale=2.0).sf([1.0, 2.0, 3.0]))


def test_simulate_weibull_cox_fit_recovers_the_log_hazard():
    """scikit-survival's Cox fit on the simulation recovers coefficients and interaction."""
    sksurv = pytest.importorskip("sksurv.linear_model")
    data = simulate_weibull(
        3000, [0.9, -0.7, 0.0, 0.0], interactions={("x3", "x4"): 0.4}, censoring=(0.3, 4.0)
    )
    x = np.column_stack([data.features, data.features[:, 2] * data.features[:, 3]])
    coef = sksurv.CoxPHSurvivalAnalysis().fit(x, data.structured()).coef_
    np.testing.assert_allclose(coef, [0.9, -0.7, 0.0, 0.0, 0.4], atol=0.1)
    assert data.ground_truth.interactions == {("x3", "x4"): 0.4}
    assert data.ground_truth.importance_order is None  # not additive


def test_simulate_weibull_competing_risks():
    """Without effects, cause r wins with probability rate_r / sum(rates); truth sums hazards."""
    data = simulate_weibull(6000, [[0.0], [0.0]], scale=[1.0, 2.0], shape=1.0, censoring=1e9)
    assert data.n_risks == 2 and set(np.unique(data.events)) == {1, 2}
    assert abs((data.events == 1).mean() - 1.0 / 1.5) < 0.02
    h = data.ground_truth.cumulative_hazard([[0.3]], [2.0])[0, 0]
    assert h == pytest.approx(2.0 + 2.0 / 2.0)
    # adding a cause keeps the features, the cause-1 times and the censoring times
    one = simulate_weibull(50, [0.5, 0.2], scale=3.0, censoring=(0.3, 4.0), seed=4)
    two = simulate_weibull(
        50, [[0.5, 0.2], [-0.8, 0.6]], scale=[3.0, 3.5], censoring=(0.3, 4.0), seed=4
    )
    np.testing.assert_array_equal(one.features, two.features)
    first = two.events != 2
    assert np.all(two.durations <= one.durations)
    np.testing.assert_array_equal(one.durations[first], two.durations[first])


def test_simulate_weibull_arguments():
    data = simulate_weibull(30, [1.0, -2.0, 0.5], censoring=0.5, min_duration=0.2, seed=1)
    assert data.durations.min() >= np.float32(0.2) and data.durations.max() <= np.float32(0.5)
    assert data.ground_truth.importance_order == ("x2", "x1", "x3")
    again = simulate_weibull(30, [1.0, -2.0, 0.5], censoring=0.5, min_duration=0.2, seed=1)
    np.testing.assert_array_equal(data.durations, again.durations)
    with pytest.raises(ValueError, match="feature names"):
        simulate_weibull(10, [1.0, 1.0], interactions={("x1", "x9"): 1.0})
    with pytest.raises(ValueError, match="2 values of scale for 3"):
        simulate_weibull(10, [[1.0], [1.0], [0.0]], scale=[1.0, 2.0])
    with pytest.raises(ValueError, match="low < high"):
        simulate_weibull(10, [1.0], censoring=(4.0, 1.0))
    with pytest.raises(ValueError, match="coefficients"):
        simulate_weibull(10, [1.0, np.nan])
    with pytest.raises(ValueError, match="shape"):
        simulate_weibull(10, [1.0], shape=0.0)
