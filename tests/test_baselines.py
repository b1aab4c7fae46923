"""Baselines: checked against numpy/scipy, and against pycox's own predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pycox import models as pm
from scipy import ndimage
from torch import nn

from captum_surv import baselines as bl
from captum_surv import from_pycox
from tests import zoo

N_REF = 60
N_FEAT = 4


# ----------------------------------------------------------------------------- fixtures
_SMALL_MLP = {"hidden": (16,), "batch_norm": False, "dropout": None, "activation": nn.ReLU}


def _simulate(n, seed):
    return zoo.simulate(n, seed, sim=zoo.LINEAR)


def _trained(family, k, split=False, **options):
    """A tiny model trained on simulated data (seed 10 k + 11) and reference rows (10 k + 12);
    ``split``: a two-input network (3 + 1 features)."""
    torch.manual_seed(k)
    x, d, e = _simulate(300, seed=10 * k + 11)
    reference = _simulate(N_REF, seed=10 * k + 12)[0]
    if split:
        x = (x[:, :3].copy(), x[:, 3:].copy())
        reference = (reference[:, :3].copy(), reference[:, 3:].copy())
        options["net"] = lambda n_out: zoo.TwoInputNet(3, 1, n_out, **_SMALL_MLP)
    model, _ = zoo.train(family, x, d, e, n_cuts=8, epochs=5, **_SMALL_MLP, **options)
    return model, reference


@pytest.fixture(scope="module")
def coxph():
    """A tiny pycox CoxPH model trained on simulated data, and reference rows."""
    return _trained("CoxPH", 0, output_bias=False)


@pytest.fixture(scope="module")
def logistic_hazard():
    """A tiny pycox LogisticHazard model (discrete time) and reference rows."""
    return _trained("LogisticHazard", 1)


@pytest.fixture(scope="module")
def two_input():
    """A LogisticHazard model whose net takes two tensors (3 + 1 features)."""
    return _trained("LogisticHazard", 2, split=True)


def _pycox_survival(model, x):
    """pycox's survival on the forward's native grid, [N, T] (numpy only)."""
    if isinstance(model, pm.CoxPH):
        # the forward's native grid: the times where the Breslow baseline hazard jumps
        jump = model.baseline_hazards_.to_numpy() > 0
        return model.predict_surv_df(x).to_numpy().T[:, jump].astype(np.float64)
    return np.asarray(model.predict_surv(x), dtype=np.float64)


def _row_index(reference, row):
    """Index of ``row`` ([1, F] tensor) among the rows of the numpy ``reference``."""
    hits = np.flatnonzero((reference == row.numpy()).all(axis=1))
    assert len(hits) >= 1, "the returned baseline is not a reference row"
    return hits


# ----------------------------------------------------------------------------- simple references
def test_zeros_shape_dtype_and_tuple():
    x = torch.randn(5, 3, dtype=torch.float64)
    z = bl.zeros(x)
    assert z.shape == (1, 3) and z.dtype == torch.float64 and not z.any()
    img, tab = torch.rand(5, 1, 8, 8), torch.randn(5, 3)
    zi, zt = bl.zeros((img, tab))
    assert zi.shape == (1, 1, 8, 8) and zt.shape == (1, 3)


@pytest.mark.parametrize("n_rows", [7, 8])  # odd and even: median conventions differ
def test_mean_and_median_match_numpy(n_rows):
    rng = np.random.default_rng(n_rows)
    ref = rng.normal(size=(n_rows, 2, 3))
    mean = bl.feature_mean(torch.tensor(ref))
    median = bl.feature_median(torch.tensor(ref))
    assert mean.shape == median.shape == (1, 2, 3)
    np.testing.assert_allclose(mean.numpy()[0], np.mean(ref, axis=0), rtol=1e-12)
    np.testing.assert_allclose(median.numpy()[0], np.median(ref, axis=0), rtol=1e-12)

    tab = rng.normal(size=(n_rows, 4)).astype(np.float32)
    m_img, m_tab = bl.feature_median((torch.tensor(ref), tab))  # numpy arrays are accepted
    np.testing.assert_allclose(m_tab.numpy()[0], np.median(tab, axis=0), rtol=1e-6)
    assert m_tab.dtype == torch.float32
    np.testing.assert_allclose(m_img.numpy()[0], np.median(ref, axis=0), rtol=1e-12)


def test_sample_is_seeded_and_draws_reference_rows():
    ref = torch.randn(50, 3)
    a = bl.sample(ref, 10, seed=3)
    b = bl.sample(ref, 10, seed=3)
    c = bl.sample(ref, 10, seed=4)
    assert a.shape == (10, 3)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    idx = [int(_row_index(ref.numpy(), row[None])[0]) for row in a]
    assert len(set(idx)) == 10  # without replacement: distinct rows

    with pytest.raises(ValueError, match="replace=True"):
        bl.sample(ref, 51)
    assert bl.sample(ref, 200, seed=0, replace=True).shape == (200, 3)


def test_sample_keeps_rows_of_tuple_data_together():
    n = 30
    ids = torch.arange(n, dtype=torch.float32)
    img = ids.view(n, 1, 1, 1).expand(n, 1, 4, 4).clone()
    tab = torch.stack([ids, -ids], dim=1)
    s_img, s_tab = bl.sample((img, tab), 12, seed=0)
    assert s_img.shape == (12, 1, 4, 4) and s_tab.shape == (12, 2)
    np.testing.assert_array_equal(s_img[:, 0, 2, 3].numpy(), s_tab[:, 0].numpy())


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sizes = [50, 30, 20]
    ref = np.concatenate(
        [m + 0.1 * rng.normal(size=(s, 2)) for m, s in zip(means, sizes, strict=True)]
    )
    centers, weights = bl.kmeans(torch.tensor(ref), k=3, seed=0)
    assert centers.shape == (3, 2) and weights.shape == (3,)
    np.testing.assert_allclose(weights.numpy(), [0.5, 0.3, 0.2])  # ordered by weight
    assert math.isclose(float(weights.sum()), 1.0)
    # each centre is the mean of its blob (independent numpy computation)
    start = np.cumsum([0, *sizes])
    for c, (lo, hi) in enumerate(zip(start[:-1], start[1:], strict=True)):
        np.testing.assert_allclose(centers[c].numpy(), ref[lo:hi].mean(axis=0), atol=1e-9)


def test_kmeans_is_a_lloyd_fixed_point_with_counts_as_weights():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(80, 3))
    centers, weights = bl.kmeans(torch.tensor(ref), k=4, seed=2)
    c = centers.numpy()
    assign = np.argmin(((ref[:, None, :] - c[None]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(assign, minlength=4)
    np.testing.assert_allclose(weights.numpy() * 80, counts, atol=1e-9)
    for j in range(4):
        np.testing.assert_allclose(c[j], ref[assign == j].mean(axis=0), atol=1e-6)


def test_kmeans_seeding():
    rng = np.random.default_rng(2)
    ref = torch.tensor(rng.uniform(size=(60, 5)))
    c0, w0 = bl.kmeans(ref, k=6, seed=0)
    c0b, w0b = bl.kmeans(ref, k=6, seed=0)
    assert torch.equal(c0, c0b) and torch.equal(w0, w0b)
    others = [bl.kmeans(ref, k=6, seed=s)[0] for s in range(1, 5)]
    assert any(not torch.allclose(c0, o) for o in others)


def test_kmeans_tuple_data_is_clustered_jointly():
    rng = np.random.default_rng(3)
    group = np.repeat([0, 1], [25, 15])
    img = group[:, None, None, None] * 5.0 + 0.1 * rng.normal(size=(40, 1, 3, 3))
    tab = group[:, None] * -4.0 + 0.1 * rng.normal(size=(40, 2))
    (c_img, c_tab), weights = bl.kmeans((torch.tensor(img), torch.tensor(tab)), k=2, seed=0)
    assert c_img.shape == (2, 1, 3, 3) and c_tab.shape == (2, 2)
    np.testing.assert_allclose(weights.numpy(), [25 / 40, 15 / 40])
    np.testing.assert_allclose(c_img[0].numpy(), img[:25].mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(c_tab[1].numpy(), tab[25:].mean(axis=0), atol=1e-9)


def test_group_selects_masked_rows():
    ref = torch.arange(12.0).reshape(6, 2)
    mask = np.array([True, False, True, False, False, True])
    np.testing.assert_array_equal(bl.group(ref, mask).numpy(), ref.numpy()[mask])
    a, b = bl.group((ref, ref[:, :1] * 10), torch.tensor(mask))
    np.testing.assert_array_equal(b.numpy()[:, 0], a.numpy()[:, 0] * 10)
    with pytest.raises(ValueError, match="no rows"):
        bl.group(ref, np.zeros(6, dtype=bool))
    with pytest.raises(ValueError, match="one entry per row"):
        bl.group(ref, np.ones(5, dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        bl.group(ref, [0, 2])


# ----------------------------------------------------------------------------- model-based
@pytest.mark.parametrize("which", ["coxph", "logistic_hazard"])
@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.75, 1.0, 0.33])
def test_risk_quantile_matches_pycox_risks(request, which, q):
    model, ref = request.getfixturevalue(which)
    fwd = from_pycox(model)
    assert len(fwd.times) == _pycox_survival(model, ref[:1]).shape[1]
    risks = 1.0 - _pycox_survival(model, ref).mean(axis=1)
    row, index = bl.risk_quantile(fwd, torch.tensor(ref), q=q, return_index=True)
    assert row.shape == (1, N_FEAT) and row.dtype == torch.float32
    np.testing.assert_array_equal(row.numpy()[0], ref[index])
    target = np.quantile(risks, q, method="nearest")
    assert abs(risks[index] - target) < 1e-6
    plain = bl.risk_quantile(fwd, torch.tensor(ref), q=q)
    assert torch.equal(plain, row)


def test_risk_quantile_uses_survival_for_other_outputs(coxph, logistic_hazard):
    for model, ref in (coxph, logistic_hazard):
        risks = 1.0 - _pycox_survival(model, ref).mean(axis=1)
        fwd = from_pycox(model, output="cumhazard")
        for q in (0.25, 0.75):
            _, index = bl.risk_quantile(fwd, torch.tensor(ref), q=q, return_index=True)
            assert abs(risks[index] - np.quantile(risks, q, method="nearest")) < 1e-6
    low = bl.risk_quantile(from_pycox(coxph[0]), torch.tensor(coxph[1]), q=0.0)
    high = bl.risk_quantile(from_pycox(coxph[0]), torch.tensor(coxph[1]), q=1.0)
    log_risk = np.asarray(coxph[0].predict(np.concatenate([low.numpy(), high.numpy()]))).ravel()
    assert float(log_risk[0]) < float(log_risk[1])  # pycox: the low-risk row has lower g(x)


@pytest.mark.parametrize("which", ["coxph", "logistic_hazard"])
def test_closest_to_mean_curve_matches_brute_force(request, which):
    model, ref = request.getfixturevalue(which)
    fwd = from_pycox(model)
    surv = _pycox_survival(model, ref)
    distance = np.sqrt(((surv - surv.mean(axis=0)) ** 2).sum(axis=1))
    row, index = bl.closest_to_mean_curve(fwd, torch.tensor(ref), return_index=True)
    assert row.shape == (1, N_FEAT)
    np.testing.assert_array_equal(row.numpy()[0], ref[index])
    assert distance[index] - distance.min() < 1e-6
    small_batches = bl.closest_to_mean_curve(fwd, torch.tensor(ref), batch_size=7)
    assert torch.equal(small_batches, row)


def test_model_based_baselines_with_tuple_inputs(two_input):
    model, (ref_a, ref_b) = two_input
    fwd = from_pycox(model)
    surv = _pycox_survival(model, (ref_a, ref_b))
    risks = 1.0 - surv.mean(axis=1)
    (row_a, row_b), index = bl.risk_quantile(
        fwd, (torch.tensor(ref_a), torch.tensor(ref_b)), q=0.75, return_index=True
    )
    assert row_a.shape == (1, 3) and row_b.shape == (1, 1)
    np.testing.assert_array_equal(row_a.numpy()[0], ref_a[index])
    np.testing.assert_array_equal(row_b.numpy()[0], ref_b[index])
    assert abs(risks[index] - np.quantile(risks, 0.75, method="nearest")) < 1e-6

    (c_a, c_b), index = bl.closest_to_mean_curve(
        fwd, (torch.tensor(ref_a), torch.tensor(ref_b)), return_index=True
    )
    distance = ((surv - surv.mean(axis=0)) ** 2).sum(axis=1)
    assert distance[index] - distance.min() < 1e-6
    np.testing.assert_array_equal(c_b.numpy()[0], ref_b[index])


def test_model_based_baselines_reject_bad_arguments(coxph):
    model, ref = coxph
    fwd = from_pycox(model)
    x = torch.tensor(ref)
    for q in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            bl.risk_quantile(fwd, x, q=q)
    with pytest.raises(TypeError, match="SurvivalForward"):
        bl.risk_quantile(model, x)
    with pytest.raises(TypeError, match="SurvivalForward"):
        bl.closest_to_mean_curve(lambda z: z, x)
    with pytest.raises(ValueError, match="0 rows"):
        bl.closest_to_mean_curve(fwd, x[:0])
    bad = x.clone()
    bad[3, 1] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        bl.risk_quantile(fwd, bad)
    with pytest.raises(ValueError, match="batch_size"):
        bl.risk_quantile(fwd, x, batch_size=0)


# ----------------------------------------------------------------------------- images
@pytest.mark.parametrize("sigma", [0.7, 1.5, 5.0])  # 5.0: kernel radius (20) > image size
def test_blurred_image_matches_scipy_reflect(sigma):
    rng = np.random.default_rng(4)
    img = rng.uniform(size=(3, 2, 9, 7))
    blurred = bl.blurred_image(torch.tensor(img), sigma=sigma)
    expected = ndimage.gaussian_filter(img, sigma=(0, 0, sigma, sigma), mode="reflect")
    assert blurred.shape == img.shape and blurred.dtype == torch.float64
    np.testing.assert_allclose(blurred.numpy(), expected, rtol=0, atol=1e-12)

    gray = rng.uniform(size=(2, 6, 6)).astype(np.float32)  # [B, H, W]
    expected = ndimage.gaussian_filter(gray, sigma=(0, sigma, sigma), mode="reflect")
    np.testing.assert_allclose(
        bl.blurred_image(torch.tensor(gray), sigma=sigma).numpy(), expected, atol=1e-6
    )


def test_blurred_image_preserves_constant_images_and_sigma_zero():
    img = torch.full((2, 3, 8, 8), 0.37)
    for sigma in (0.5, 2.0, 10.0):
        np.testing.assert_allclose(bl.blurred_image(img, sigma=sigma).numpy(), 0.37, atol=1e-6)
    x = torch.rand(2, 1, 5, 5)
    same = bl.blurred_image(x, sigma=0.0)
    assert torch.equal(same, x) and same is not x


def test_blurred_and_constant_images_for_tuples():
    rng = np.random.default_rng(5)
    a = rng.uniform(size=(2, 1, 8, 8))
    b = rng.uniform(size=(2, 1, 6, 6))
    out_a, out_b = bl.blurred_image((torch.tensor(a), torch.tensor(b)), sigma=(1.0, 0.5))
    np.testing.assert_allclose(
        out_a.numpy(), ndimage.gaussian_filter(a, (0, 0, 1.0, 1.0), mode="reflect"), atol=1e-12
    )
    np.testing.assert_allclose(
        out_b.numpy(), ndimage.gaussian_filter(b, (0, 0, 0.5, 0.5), mode="reflect"), atol=1e-12
    )
    c = bl.constant_image(torch.rand(4, 1, 8, 8), value=0.5)
    assert c.shape == (1, 1, 8, 8) and bool((c == 0.5).all())
    c_img, c_tab = bl.constant_image((torch.rand(4, 1, 8, 8), torch.rand(4, 3)), value=(1.0, -2.0))
    assert bool((c_img == 1.0).all()) and bool((c_tab == -2.0).all()) and c_tab.shape == (1, 3)


def test_image_baselines_reject_bad_arguments():
    with pytest.raises(ValueError, match="needs images"):
        bl.blurred_image(torch.rand(4, 3))
    with pytest.raises(ValueError, match="needs images"):
        bl.blurred_image((torch.rand(4, 1, 8, 8), torch.rand(4, 3)), sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        bl.blurred_image(torch.rand(4, 1, 8, 8), sigma=-1.0)
    with pytest.raises(TypeError, match="floating"):
        bl.blurred_image(torch.zeros(4, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="one per input"):
        bl.blurred_image((torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)), sigma=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="finite"):
        bl.constant_image(torch.rand(2, 1, 4, 4), value=math.inf)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: bl.feature_mean(torch.zeros(0, 3)), ValueError, "0 rows"),
        (lambda: bl.feature_mean(torch.tensor([[1.0, math.nan]])), ValueError, "NaN"),
        (lambda: bl.feature_median(torch.ones(4, 2, dtype=torch.long)), TypeError, "floating"),
        (lambda: bl.feature_mean((torch.ones(4, 2), torch.ones(3, 1))), ValueError, "rows"),
        (lambda: bl.feature_mean([[1.0, 2.0]]), TypeError, "torch.Tensor"),
        (lambda: bl.feature_mean(torch.tensor(1.0)), ValueError, "scalar"),
        (lambda: bl.sample(torch.ones(5, 2), 0), ValueError, "n must be >= 1"),
        (lambda: bl.sample(torch.ones(5, 2), 2.5), TypeError, "n must be an int"),
        (lambda: bl.kmeans(torch.randn(5, 2), 0), ValueError, "k must be >= 1"),
        (lambda: bl.kmeans(torch.ones(5, 2), 2), ValueError, "distinct"),
        (lambda: bl.kmeans(torch.randn(5, 2), 6), ValueError, "distinct"),
    ],
)
def test_reference_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
