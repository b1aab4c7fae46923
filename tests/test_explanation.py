"""SurvExplanation: checked against hand-made tensors and independent numpy computations."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch

from captum_surv.explanation import SurvExplanation

B, T, F = 5, 4, 3
TIMES = np.array([0.5, 1.0, 2.5, 4.0])


def _tabular(seed=0, reference=True, dtype=torch.float64):
    """Random explanation of a [B, F] input, with the numpy arrays it was made from."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, F))
    attr = rng.normal(size=(B, T, F))
    pred = rng.uniform(0.2, 1.0, size=(B, T))
    ref = rng.uniform(0.2, 1.0, size=(B, T)) if reference else None
    expl = SurvExplanation(
        torch.tensor(attr, dtype=dtype),
        torch.tensor(x, dtype=dtype),
        TIMES,
        torch.tensor(pred, dtype=dtype),
        None if ref is None else torch.tensor(ref, dtype=dtype),
        method="IntGrad(t)",
        options={"n_steps": 50},
    )
    return expl, {"x": x, "attr": attr, "pred": pred, "ref": ref}


def _multimodal(seed=1):
    """Explanation of tuple inputs: an image [B, 1, 8, 8] and tabular covariates [B, 3]."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(size=(B, 1, 8, 8))
    tab = rng.normal(size=(B, 3))
    a_img = rng.normal(size=(B, T, 1, 8, 8))
    a_tab = rng.normal(size=(B, T, 3))
    pred = rng.uniform(0.2, 1.0, size=(B, T))
    ref = rng.uniform(0.2, 1.0, size=(B, T))
    expl = SurvExplanation(
        (torch.tensor(a_img), torch.tensor(a_tab)),
        (torch.tensor(img), torch.tensor(tab)),
        torch.tensor(TIMES),
        torch.tensor(pred),
        torch.tensor(ref),
        method="GradSHAP(t)",
        baselines=(torch.zeros(1, 1, 8, 8), torch.tensor([[0.5, -1.0, 2.0]])),
    )
    arrays = {"img": img, "tab": tab, "a_img": a_img, "a_tab": a_tab, "pred": pred, "ref": ref}
    return expl, arrays


def _np_local_accuracy(pred, ref, attr_sum):
    residual = (pred - ref) - attr_sum
    return np.sqrt(np.mean(residual**2, axis=0) / np.mean(pred**2, axis=0))


# ----------------------------------------------------------------------------- names, shapes
def test_default_feature_names_tabular_image_and_tuple():
    expl, _ = _tabular()
    assert expl.feature_names == ["x0", "x1", "x2"]
    assert (expl.n_instances, expl.n_times, expl.n_features) == (B, T, F)
    assert not expl.is_tuple

    img = torch.zeros(2, 1, 8, 8)
    single = SurvExplanation(torch.zeros(2, 3, 1, 8, 8), img, [1.0, 2.0, 3.0], torch.ones(2, 3))
    assert single.feature_names == [f"p{j}" for j in range(64)]

    multi, _ = _multimodal()
    assert multi.is_tuple
    assert multi.feature_names == (
        [f"input0:p{j}" for j in range(64)],
        ["input1:x0", "input1:x1", "input1:x2"],
    )
    assert multi.all_feature_names[63:65] == ["input0:p63", "input1:x0"]
    assert multi.n_features == 67


def test_tuple_feature_names_may_default_per_input():
    expl = SurvExplanation(
        (torch.zeros(2, 1, 1, 2, 2), torch.zeros(2, 1, 2)),
        (torch.zeros(2, 1, 2, 2), torch.zeros(2, 2)),
        [1.0],
        torch.ones(2, 1),
        feature_names=(None, ["age", "bmi"]),
    )
    assert expl.feature_names == (
        ["input0:p0", "input0:p1", "input0:p2", "input0:p3"],
        ["age", "bmi"],
    )


def test_custom_feature_names_and_one_dim_input():
    x = torch.arange(3.0)
    expl = SurvExplanation(torch.zeros(3, 2), x, [1.0, 2.0], torch.ones(3, 2))
    assert expl.feature_names == ["x0"]
    named = SurvExplanation(
        torch.zeros(2, 1, 2),
        torch.zeros(2, 2),
        [1.0],
        torch.ones(2, 1),
        feature_names=["age", "bmi"],
    )
    assert named.feature_names == ["age", "bmi"]


def test_tensors_are_detached_cpu_and_reference_is_expanded():
    attr = torch.randn(B, T, F, requires_grad=True)
    pred = torch.rand(B, T)
    ref_row = torch.rand(T)
    expl = SurvExplanation(attr * 2, torch.randn(B, F), TIMES, pred, ref_row)
    assert not expl.attributions.requires_grad
    assert expl.times.dtype == torch.float64
    assert expl.reference_prediction.shape == (B, T)
    np.testing.assert_array_equal(
        expl.reference_prediction.numpy(), np.tile(ref_row.numpy(), (B, 1))
    )


# ----------------------------------------------------------------------------- local accuracy
def test_local_accuracy_and_residual_match_numpy_formula():
    expl, a = _tabular()
    expected = _np_local_accuracy(a["pred"], a["ref"], a["attr"].sum(axis=2))
    np.testing.assert_allclose(expl.local_accuracy().numpy(), expected, rtol=1e-12)
    residual = (a["pred"] - a["ref"]) - a["attr"].sum(axis=2)
    np.testing.assert_allclose(expl.completeness_residual().numpy(), residual, rtol=1e-12)
    assert expl.local_accuracy().shape == (T,)


def test_local_accuracy_sums_over_every_input_tensor():
    expl, a = _multimodal()
    attr_sum = a["a_img"].reshape(B, T, -1).sum(axis=2) + a["a_tab"].sum(axis=2)
    expected = _np_local_accuracy(a["pred"], a["ref"], attr_sum)
    np.testing.assert_allclose(expl.local_accuracy().numpy(), expected, rtol=1e-12)


def test_local_accuracy_zero_for_exact_attributions_of_a_linear_model():
    # Out(t|x) = x @ W[:, t] + c(t): IntGrad(t) is exactly (x - x') * W(t), and
    # expected gradients against several reference rows exactly (x - mean x'_m) * W(t).
    rng = np.random.default_rng(3)
    w = rng.normal(size=(F, T))
    c = rng.uniform(1, 2, size=T)
    x = rng.normal(size=(B, F))
    refs = rng.normal(size=(7, F))

    def out(z):
        return z @ w + c

    ig = (x - refs[:1])[:, None, :] * w.T[None]
    expl = SurvExplanation(
        torch.tensor(ig),
        torch.tensor(x),
        TIMES,
        torch.tensor(out(x)),
        torch.tensor(out(refs[:1])).expand(B, T),
    )
    assert float(expl.local_accuracy().abs().max()) < 1e-12
    assert float(expl.completeness_residual().abs().max()) < 1e-12

    shap = (x - refs.mean(axis=0))[:, None, :] * w.T[None]
    expl = SurvExplanation(
        torch.tensor(shap),
        torch.tensor(x),
        TIMES,
        torch.tensor(out(x)),
        torch.tensor(out(refs).mean(axis=0)),
    )
    assert float(expl.local_accuracy().abs().max()) < 1e-12


def test_local_accuracy_needs_a_reference():
    expl, _ = _tabular(reference=False)
    with pytest.raises(ValueError, match="reference_prediction"):
        expl.local_accuracy()
    with pytest.raises(ValueError, match="reference_prediction"):
        expl.completeness_residual()


# ----------------------------------------------------------------------------- tables
def test_to_frame_rows_match_attribution_entries():
    expl, a = _tabular()
    df = expl.to_frame()
    assert list(df.columns) == ["instance", "time", "feature", "feature_value", "attribution"]
    assert len(df) == B * T * F
    assert not df.duplicated(["instance", "time", "feature"]).any()
    k_of = {t: k for k, t in enumerate(TIMES)}
    j_of = {"x0": 0, "x1": 1, "x2": 2}
    i = df["instance"].to_numpy()
    k = df["time"].map(k_of).to_numpy()
    j = df["feature"].map(j_of).to_numpy()
    np.testing.assert_array_equal(df["attribution"].to_numpy(), a["attr"][i, k, j])
    np.testing.assert_array_equal(df["feature_value"].to_numpy(), a["x"][i, j])
    # spot check one row by hand
    row = df[(df.instance == 3) & (df.time == 2.5) & (df.feature == "x1")]
    assert row["attribution"].item() == a["attr"][3, 2, 1]


def test_to_frame_tuple_inputs_have_an_input_column():
    expl, a = _multimodal()
    df = expl.to_frame()
    assert list(df.columns) == [
        "instance",
        "time",
        "input",
        "feature",
        "feature_value",
        "attribution",
    ]
    assert len(df) == B * T * 67
    img_rows = df[df.input == 0]
    assert len(img_rows) == B * T * 64
    pixel = img_rows["feature"].str.removeprefix("input0:p").astype(int).to_numpy()
    i = img_rows["instance"].to_numpy()
    k = np.searchsorted(TIMES, img_rows["time"].to_numpy())
    flat_attr = a["a_img"].reshape(B, T, 64)
    np.testing.assert_array_equal(img_rows["attribution"].to_numpy(), flat_attr[i, k, pixel])
    np.testing.assert_array_equal(
        img_rows["feature_value"].to_numpy(), a["img"].reshape(B, 64)[i, pixel]
    )
    tab = df[df.feature == "input1:x2"]
    assert set(tab["input"]) == {1}
    np.testing.assert_array_equal(tab["attribution"].to_numpy(), a["a_tab"][:, :, 2].reshape(-1))


def test_global_importance_curves_and_integral_match_numpy():
    expl, a = _tabular()
    curves = expl.global_importance()
    expected = np.abs(a["attr"]).mean(axis=0)  # [T, F]
    assert isinstance(curves, pd.DataFrame)
    np.testing.assert_array_equal(curves.index.to_numpy(), TIMES)
    assert list(curves.columns) == ["x0", "x1", "x2"]
    np.testing.assert_allclose(curves.to_numpy(), expected, rtol=1e-12)

    integrated = expl.global_importance(integrated=True)
    assert isinstance(integrated, pd.Series)
    np.testing.assert_allclose(
        integrated.to_numpy(), np.trapezoid(expected, TIMES, axis=0), rtol=1e-12
    )
    assert list(integrated.index) == ["x0", "x1", "x2"]


def test_time_averaged_importance_is_the_integral_over_the_grid_length():
    expl, a = _tabular()
    expected = np.trapezoid(np.abs(a["attr"]).mean(axis=0), TIMES, axis=0) / (TIMES[-1] - TIMES[0])
    averaged = expl.time_averaged_importance()
    np.testing.assert_allclose(averaged.to_numpy(), expected, rtol=1e-12)
    assert list(averaged.index) == ["x0", "x1", "x2"]
    # a constant attribution curve averages to itself
    const = SurvExplanation(
        torch.full((2, len(TIMES), 1), -0.25, dtype=torch.float64),
        torch.zeros(2, 1, dtype=torch.float64),
        TIMES,
        torch.ones(2, len(TIMES), dtype=torch.float64),
    )
    assert const.time_averaged_importance().iloc[0] == pytest.approx(0.25, rel=1e-12)


def test_global_importance_single_time_point_is_the_value():
    rng = np.random.default_rng(5)
    attr = rng.normal(size=(B, 1, F))
    expl = SurvExplanation(torch.tensor(attr), torch.zeros(B, F), [2.0], torch.ones(B, 1))
    np.testing.assert_allclose(
        expl.global_importance(integrated=True).to_numpy(), np.abs(attr[:, 0]).mean(axis=0)
    )


def test_rank_features_global_per_instance_and_all():
    rng = np.random.default_rng(7)
    scale = np.array([0.1, 3.0, 1.0, 0.5])
    attr = rng.normal(size=(6, T, 4)) * scale
    expl = SurvExplanation(
        torch.tensor(attr),
        torch.zeros(6, 4),
        TIMES,
        torch.ones(6, T),
        feature_names=["a", "b", "c", "d"],
    )
    per_instance = np.trapezoid(np.abs(attr), TIMES, axis=1)  # [6, 4]
    names = np.array(["a", "b", "c", "d"])
    assert expl.rank_features() == list(names[np.argsort(-per_instance.mean(axis=0))])
    for i in range(6):
        assert expl.rank_features(i) == list(names[np.argsort(-per_instance[i])])
    assert expl.rank_features(-1) == expl.rank_features(5)
    ranks = expl.rank_features("all")
    assert ranks.shape == (6, 4)
    for i in range(6):
        expected = np.argsort(np.argsort(-per_instance[i])) + 1
        np.testing.assert_array_equal(ranks.loc[i].to_numpy(), expected)


# ----------------------------------------------------------------------------- aggregate
def test_aggregate_sums_groups_and_keeps_other_features():
    expl, a = _tabular()
    agg = expl.aggregate({"g": ["x0", 2]})
    # the group takes the place of its first member, x1 stays
    assert agg.feature_names == ["g", "x1"]
    np.testing.assert_allclose(
        agg.attributions[..., 0].numpy(), a["attr"][..., 0] + a["attr"][..., 2], rtol=1e-12
    )
    np.testing.assert_array_equal(agg.attributions[..., 1].numpy(), a["attr"][..., 1])
    assert np.isnan(agg.inputs[:, 0].numpy()).all()
    np.testing.assert_array_equal(agg.inputs[:, 1].numpy(), a["x"][:, 1])
    np.testing.assert_allclose(agg.local_accuracy(), expl.local_accuracy(), rtol=1e-12)
    assert agg.options["aggregated_groups"] == {"g": ["x0", "x2"]}
    assert agg.options["n_steps"] == 50
    df = agg.to_frame()
    assert df[df.feature == "g"]["feature_value"].isna().all()
    # the original explanation is untouched
    assert expl.feature_names == ["x0", "x1", "x2"]

    again = agg.aggregate({"all": ["g", "x1"]})
    assert again.feature_names == ["all"]
    assert again.options["aggregated_groups"] == {"all": ["x0", "x2", "x1"]}
    np.testing.assert_allclose(again.attributions[..., 0].numpy(), a["attr"].sum(axis=2))


def test_aggregate_inputs_for_image_and_tabular_tuple():
    expl, a = _multimodal()
    agg = expl.aggregate("inputs")
    assert agg.feature_names == ["input0", "input1"]
    assert agg.attributions.shape == (B, T, 2)
    np.testing.assert_allclose(
        agg.attributions[..., 0].numpy(), a["a_img"].reshape(B, T, -1).sum(axis=2), rtol=1e-12
    )
    np.testing.assert_allclose(agg.attributions[..., 1].numpy(), a["a_tab"].sum(axis=2), rtol=1e-12)
    np.testing.assert_allclose(agg.local_accuracy(), expl.local_accuracy(), rtol=1e-12)
    ranks = agg.global_importance(integrated=True)
    np.testing.assert_allclose(
        ranks.to_numpy(),
        np.trapezoid(np.abs(agg.attributions.numpy()).mean(axis=0), TIMES, axis=0),
    )
    # baselines follow the aggregated layout: NaN for the groups
    assert agg.baselines.shape == (1, 2) and torch.isnan(agg.baselines).all()


def test_aggregate_image_quadrants_by_flat_index():
    expl, a = _multimodal()
    quadrant = {}
    for r in range(8):
        for c in range(8):
            quadrant.setdefault(f"q{r // 4}{c // 4}", []).append(r * 8 + c)
    agg = expl.aggregate(quadrant)
    assert agg.feature_names == ["q00", "q01", "q10", "q11", "input1:x0", "input1:x1", "input1:x2"]
    img = a["a_img"][:, :, 0]
    expected = [
        img[:, :, :4, :4].sum(axis=(2, 3)),
        img[:, :, :4, 4:].sum(axis=(2, 3)),
        img[:, :, 4:, :4].sum(axis=(2, 3)),
        img[:, :, 4:, 4:].sum(axis=(2, 3)),
    ]
    for q in range(4):
        np.testing.assert_allclose(agg.attributions[..., q].numpy(), expected[q], rtol=1e-12)
    np.testing.assert_array_equal(agg.attributions[..., 4:].numpy(), a["a_tab"])
    np.testing.assert_array_equal(agg.inputs[:, 4:].numpy(), a["tab"])
    # ungrouped tabular baselines survive, image groups are NaN
    np.testing.assert_array_equal(agg.baselines[0, 4:].numpy(), [0.5, -1.0, 2.0])


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"g": ["nope"]}, "unknown feature"),
        ({"g": [3]}, "out of range"),
        ({"g": []}, "empty"),
        ({"g": ["x0"], "h": ["x0", "x1"]}, "one group only"),
        ({"g": ["x0", "x0"]}, "twice"),
        ({"x1": ["x0"]}, "also the name of a feature"),
        ({"g": "x0"}, "list of feature names"),
        ({"g": [1.5]}, "neither"),
        ({}, "non-empty dict"),
        ("features", "not understood"),
    ],
)
def test_aggregate_rejects_bad_groups(groups, message):
    expl, _ = _tabular()
    with pytest.raises(ValueError, match=message):
        expl.aggregate(groups)


# ----------------------------------------------------------------------------- persistence
def _assert_same(loaded: SurvExplanation, original: SurvExplanation):
    pairs = [
        (loaded.attributions, original.attributions),
        (loaded.inputs, original.inputs),
        (loaded.baselines, original.baselines),
    ]
    for got, want in pairs:
        if want is None:
            assert got is None
            continue
        got_t = got if isinstance(got, tuple) else (got,)
        want_t = want if isinstance(want, tuple) else (want,)
        assert isinstance(got, tuple) == isinstance(want, tuple)
        assert len(got_t) == len(want_t)
        for g, w in zip(got_t, want_t, strict=True):
            assert g.dtype == w.dtype and torch.equal(g, w)
    for name in ("times", "prediction"):
        assert torch.equal(getattr(loaded, name), getattr(original, name))
    if original.reference_prediction is None:
        assert loaded.reference_prediction is None
    else:
        assert torch.equal(loaded.reference_prediction, original.reference_prediction)
    for name in ("method", "options", "feature_names", "output", "event"):
        assert getattr(loaded, name) == getattr(original, name)


def test_save_load_round_trip_single_input(tmp_path):
    expl, _ = _tabular(dtype=torch.float32)
    expl = SurvExplanation(
        expl.attributions,
        expl.inputs,
        expl.times,
        expl.prediction,
        expl.reference_prediction,
        method="IntGrad(t)",
        options={"n_steps": 50, "stdevs": (0.1, 0.2), "nested": {"a": None}},
        feature_names=["age", "bmi", "grade"],
        output="cif",
        event=1,
        baselines=0.0,
    )
    path = tmp_path / "expl.pt"
    expl.save(path)
    raw = torch.load(path, weights_only=True)  # plain, safe content
    assert isinstance(raw, dict)
    loaded = SurvExplanation.load(path)
    _assert_same(loaded, expl)
    assert loaded.options["stdevs"] == [0.1, 0.2]
    assert loaded.event == 1 and loaded.output == "cif"


def test_save_load_round_trip_tuple_inputs_and_file_objects():
    expl, _ = _multimodal()
    buffer = io.BytesIO()
    expl.save(buffer)
    buffer.seek(0)
    loaded = SurvExplanation.load(buffer)
    _assert_same(loaded, expl)
    np.testing.assert_array_equal(loaded.local_accuracy(), expl.local_accuracy())

    no_ref, _ = _tabular(reference=False)
    buffer = io.BytesIO()
    no_ref.save(buffer)
    buffer.seek(0)
    _assert_same(SurvExplanation.load(buffer), no_ref)


def test_save_does_not_store_the_storage_behind_views(tmp_path):
    big = torch.randn(100_000, F)
    expl = SurvExplanation(torch.zeros(2, T, F), big[:2], TIMES, torch.ones(2, T))
    path = tmp_path / "small.pt"
    expl.save(path)
    assert path.stat().st_size < 50_000


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="SurvExplanation"):
        SurvExplanation.load(path)


# ----------------------------------------------------------------------------- validation
def test_repr_is_a_short_summary():
    expl, _ = _multimodal()
    text = repr(expl)
    assert text.startswith("SurvExplanation(")
    assert "GradSHAP(t)" in text and "n_instances=5" in text and "n_features=67" in text
    assert "\n" not in text and len(text) < 250


def _valid_kwargs():
    return {
        "attributions": torch.zeros(B, T, F),
        "inputs": torch.zeros(B, F),
        "times": TIMES,
        "prediction": torch.ones(B, T),
    }


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"attributions": torch.zeros(B, T, F + 1)}, ValueError, "need attributions"),
        ({"attributions": torch.zeros(B + 1, T, F)}, ValueError, "need attributions"),
        ({"attributions": torch.zeros(B, F)}, ValueError, "need attributions"),
        ({"attributions": torch.zeros(B, T, F, dtype=torch.long)}, TypeError, "floating"),
        ({"attributions": (torch.zeros(B, T, F),)}, ValueError, "same structure"),
        ({"attributions": "attr"}, TypeError, "torch.Tensor"),
        ({"prediction": torch.ones(B, T + 1)}, ValueError, "prediction has shape"),
        ({"reference_prediction": torch.ones(B - 1, T)}, ValueError, "reference_prediction"),
        ({"times": TIMES[:3]}, ValueError, "time points"),
        ({"times": TIMES[::-1].copy()}, ValueError, "strictly increasing"),
        ({"times": [0.5, 1.0, math.nan, 4.0]}, ValueError, "NaN"),
        ({"feature_names": ["a", "b"]}, ValueError, "feature names"),
        ({"feature_names": ["a", "b", "a"]}, ValueError, "more than once"),
        ({"feature_names": "abc"}, TypeError, "list of strings"),
        ({"options": {"w": torch.ones(2)}}, TypeError, "JSON-like"),
        ({"options": {1: "a"}}, TypeError, "string key"),
        ({"baselines": lambda x: x}, TypeError, "callable"),
        ({"event": -1}, ValueError, "event"),
        ({"method": 3}, TypeError, "method"),
    ],
)
def test_constructor_rejects_bad_arguments(change, error, message):
    kwargs = _valid_kwargs()
    kwargs.update(change)
    with pytest.raises(error, match=message):
        SurvExplanation(**kwargs)


def test_constructor_rejects_inconsistent_tuples():
    img, tab = torch.zeros(B, 1, 4, 4), torch.zeros(B, 3)
    with pytest.raises(ValueError, match="same batch and time grid"):
        SurvExplanation(
            (torch.zeros(B, T, 1, 4, 4), torch.zeros(B, T + 1, 3)),
            (img, tab),
            TIMES,
            torch.ones(B, T),
        )
    with pytest.raises(ValueError, match="one attribution tensor per input"):
        SurvExplanation((torch.zeros(B, T, 1, 4, 4),), (img, tab), TIMES, torch.ones(B, T))
    with pytest.raises(ValueError, match="one list of names per input"):
        SurvExplanation(
            (torch.zeros(B, T, 1, 4, 4), torch.zeros(B, T, 3)),
            (img, tab),
            TIMES,
            torch.ones(B, T),
            feature_names=["a", "b", "c"],
        )
    with pytest.raises(ValueError, match="more than once"):
        SurvExplanation(
            (torch.zeros(B, T, 1, 1, 2), torch.zeros(B, T, 1)),
            (torch.zeros(B, 1, 1, 2), torch.zeros(B, 1)),
            TIMES,
            torch.ones(B, T),
            feature_names=(["a", "b"], ["a"]),
        )


def test_rank_features_rejects_bad_instance():
    expl, _ = _tabular()
    with pytest.raises(ValueError, match="out of range"):
        expl.rank_features(B)
    with pytest.raises(ValueError, match="not understood"):
        expl.rank_features("every")
