"""captum_surv.plot: the drawn data is checked against the explanation it was drawn from."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402

import captum_surv  # noqa: E402
from captum_surv import plot  # noqa: E402
from captum_surv.explanation import SurvExplanation  # noqa: E402

B, T, F = 6, 5, 9
TIMES = np.array([0.5, 1.0, 2.0, 3.5, 5.0])
NAMES = [f"f{j}" for j in range(F)]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plot functions must never call plt.show()")

    monkeypatch.setattr(plt, "show", fail)


def _tabular(seed=0, reference=True, scale=None, times=TIMES, names=NAMES, method="IntGrad(t)"):
    rng = np.random.default_rng(seed)
    scale = np.linspace(2.0, 0.2, F) if scale is None else scale
    attr = rng.normal(size=(B, T, F)) * scale  # f0 most important on average
    x = rng.normal(size=(B, F))
    pred = rng.uniform(0.2, 1.0, size=(B, T))
    ref = rng.uniform(0.2, 1.0, size=(T,)) if reference else None
    return SurvExplanation(
        torch.tensor(attr),
        torch.tensor(x),
        times,
        torch.tensor(pred),
        None if ref is None else torch.tensor(ref),
        method=method,
        feature_names=names,
    )


def _multimodal(seed=1, channels=1, times=TIMES):
    rng = np.random.default_rng(seed)
    img = rng.uniform(size=(B, channels, 8, 8))
    tab = rng.normal(size=(B, 3))
    a_img = rng.normal(size=(B, T, channels, 8, 8))
    a_tab = rng.normal(size=(B, T, 3))
    return SurvExplanation(
        (torch.tensor(a_img), torch.tensor(a_tab)),
        (torch.tensor(img), torch.tensor(tab)),
        times,
        torch.tensor(rng.uniform(0.2, 1.0, size=(B, T))),
        torch.tensor(rng.uniform(0.2, 1.0, size=(B, T))),
        method="GradSHAP(t)",
        feature_names=(None, ["age", "size", "grade"]),
    )


def _lines(ax):
    return {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def _attr(expl):
    return expl.flat_attributions().double().numpy()


def _integrate(curves):
    """Trapezoid rule over TIMES along axis 0 of [T, F] (independent of the package)."""
    return np.array([np.trapezoid(curves[:, j], TIMES) for j in range(curves.shape[1])])


# ============================================================================ prediction
def test_prediction_lines_are_prediction_and_reference():
    expl = _tabular()
    fig, ax = plot.prediction(expl, [0, 3])
    lines = _lines(ax)
    np.testing.assert_allclose(lines["instance 0"].get_xdata(), TIMES)
    np.testing.assert_allclose(lines["instance 0"].get_ydata(), expl.prediction[0].numpy())
    np.testing.assert_allclose(lines["instance 3"].get_ydata(), expl.prediction[3].numpy())
    np.testing.assert_allclose(lines["reference"].get_ydata(), expl.reference_prediction[0])
    assert set(lines) == {"instance 0", "instance 3", "reference"}
    _png(fig)


def test_prediction_per_instance_references_and_none():
    expl = _multimodal()  # a different reference per instance
    _, ax = plot.prediction(expl, [1, 2])
    lines = _lines(ax)
    np.testing.assert_allclose(lines["reference 2"].get_ydata(), expl.reference_prediction[2])
    _, ax = plot.prediction(_tabular(reference=False))
    assert set(_lines(ax)) == {f"instance {i}" for i in range(5)}  # first five by default
    with pytest.raises(ValueError, match="no reference"):
        plot.prediction(_tabular(reference=False), reference=True)


# ============================================================================ curves
def test_curve_of_feature_j_equals_attributions():
    expl = _tabular()
    for i in (0, 4, -1):
        _, ax = plot.attribution_curves(expl, i, top_k=None, other=False, overlays=())
        lines = _lines(ax)
        assert set(lines) == set(NAMES)
        for j, name in enumerate(NAMES):
            np.testing.assert_allclose(lines[name].get_xdata(), TIMES)
            np.testing.assert_allclose(lines[name].get_ydata(), _attr(expl)[i % B, :, j])


def test_curves_top_k_other_and_overlays():
    expl = _tabular()
    i = 2
    attr = _attr(expl)[i]
    scores = _integrate(np.abs(attr))
    top = list(np.argsort(-scores, kind="stable")[:3])
    _, ax = plot.attribution_curves(expl, i, top_k=3)
    lines = _lines(ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == [NAMES[j] for j in top]  # most important first
    rest = [j for j in range(F) if j not in top]
    other = lines[f"other features ({len(rest)})"]
    np.testing.assert_allclose(other.get_ydata(), attr[:, rest].sum(axis=1))
    # the overlays let one compare the attribution sum with prediction - reference
    delta = (expl.prediction - expl.reference_prediction)[i].numpy()
    np.testing.assert_allclose(lines["prediction - reference"].get_ydata(), delta)
    np.testing.assert_allclose(lines["sum of attributions"].get_ydata(), attr.sum(axis=1))
    # shown features + other features add up to the sum of attributions
    shown = sum(lines[NAMES[j]].get_ydata() for j in top) + other.get_ydata()
    np.testing.assert_allclose(shown, attr.sum(axis=1))

    _, ax = plot.attribution_curves(expl, i, overlays=["prediction", "reference"])
    lines = _lines(ax)
    np.testing.assert_allclose(lines["prediction"].get_ydata(), expl.prediction[i])
    np.testing.assert_allclose(lines["reference"].get_ydata(), expl.reference_prediction[i])


def test_curves_explicit_features_by_name_and_index():
    expl = _tabular()
    _, ax = plot.attribution_curves(expl, 1, features=["f5", 2], other=False, overlays=())
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["f5", "f2"]
    np.testing.assert_allclose(_lines(ax)["f5"].get_ydata(), _attr(expl)[1, :, 5])


def test_curves_normalisation_shares():
    expl = _tabular()
    attr = _attr(expl)[0]
    total = np.abs(attr).sum(axis=1)
    _, ax = plot.attribution_curves(expl, 0, top_k=4, normalize="absolute")
    lines = _lines(ax)
    assert "sum of attributions" not in lines  # overlays are on another scale
    for name in NAMES[:2]:
        j = NAMES.index(name)
        if name in lines:
            np.testing.assert_allclose(lines[name].get_ydata(), np.abs(attr[:, j]) / total)
    stacked = sum(line.get_ydata() for line in lines.values())
    np.testing.assert_allclose(stacked, np.ones(T))  # shares incl. other features sum to 1

    _, ax = plot.attribution_curves(expl, 0, top_k=None, other=False, normalize="relative")
    for j, name in enumerate(NAMES):
        np.testing.assert_allclose(_lines(ax)[name].get_ydata(), attr[:, j] / total)
    with pytest.raises(ValueError, match="normalize"):
        plot.attribution_curves(expl, 0, normalize="percent")
    with pytest.raises(ValueError, match="cannot be drawn"):
        plot.attribution_curves(expl, 0, normalize="absolute", overlays=["sum"])


def test_shares_undefined_where_all_attributions_are_zero():
    expl = _tabular()
    attr = expl.attributions.clone()
    attr[:, 0] = 0.0  # e.g. S(0 | x) = 1 for every x: nothing to attribute at t_0
    zero = SurvExplanation(attr, expl.inputs, TIMES, expl.prediction, feature_names=NAMES)
    _, ax = plot.attribution_curves(zero, 0, normalize="absolute")
    for line in _lines(ax).values():
        assert np.isnan(line.get_ydata()[0]) and np.all(np.isfinite(line.get_ydata()[1:]))
    # the time-averaged shares skip t_0 and still sum to 1
    _, (_, ax_b) = plot.contribution(zero, 0, top_k=None, other=False)
    magnitude = np.abs(attr[0].numpy())[1:]
    shares = magnitude / magnitude.sum(axis=1, keepdims=True)
    order = np.argsort(-_integrate(np.abs(attr[0].numpy())), kind="stable")
    expected = [np.trapezoid(shares[:, j], TIMES[1:]) / (TIMES[-1] - TIMES[1]) for j in order]
    np.testing.assert_allclose([p.get_width() for p in ax_b.patches], expected)
    np.testing.assert_allclose(sum(expected), 1.0)


def test_curves_draw_into_existing_axes_and_method():
    expl = _tabular()
    fig, ax = plt.subplots()
    out_fig, out_ax = plot.attribution_curves(expl, 0, ax=ax, time_label="years")
    assert out_ax is ax and out_fig is fig
    assert ax.get_xlabel() == "years"
    assert ax.get_legend() is not None
    # the legend sits outside the data (right of the axes)
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1
    # reachable from the result object
    _, ax2 = expl.plot_curves(0, top_k=None, other=False, overlays=())
    np.testing.assert_allclose(_lines(ax2)["f3"].get_ydata(), _attr(expl)[0, :, 3])
    _png(fig)


def test_okabe_ito_colours_and_other_grey():
    expl = _tabular()
    _, ax = plot.attribution_curves(expl, 0, top_k=3, overlays=())
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()[:4]]
    # each feature has its own colour of the palette (by name, not by rank in the plot)
    assert set(colours[:3]) <= {c.lower() for c in plot.OKABE_ITO}
    assert colours[3] == plot.OTHER_COLOR.lower()
    _, ax = plot.attribution_curves(expl, 0, top_k=None, other=False, overlays=())
    styles = {
        (matplotlib.colors.to_hex(line.get_color()), line.get_linestyle())
        for line in _lines(ax).values()
    }
    assert len(styles) == F  # 9 features, 7 colours: line styles tell the rest apart


# ============================================================================ contribution
def test_contribution_ribbons_and_time_averaged_bars():
    expl = _tabular()
    i = 3
    magnitude = np.abs(_attr(expl)[i])
    shares_all = magnitude / magnitude.sum(axis=1, keepdims=True)
    fig, (ax_r, ax_b) = plot.contribution(expl, i, top_k=4)
    top = list(np.argsort(-_integrate(magnitude), kind="stable")[:4])
    rest = [j for j in range(F) if j not in top]
    shares = np.column_stack([shares_all[:, top], shares_all[:, rest].sum(axis=1)])
    expected = _integrate(shares) / (TIMES[-1] - TIMES[0])
    widths = [patch.get_width() for patch in ax_b.patches]
    np.testing.assert_allclose(widths, expected)
    np.testing.assert_allclose(sum(widths), 1.0)
    labels = [t.get_text() for t in ax_b.get_yticklabels()]
    assert labels == [NAMES[j] for j in top] + [f"other features ({len(rest)})"]
    # ribbon p spans [cumsum_{<p}, cumsum_{<=p}] at every grid time
    cum = np.cumsum(shares, axis=1)
    for p, ribbon in enumerate(ax_r.collections):
        vertices = ribbon.get_paths()[0].vertices
        for k, t in enumerate(TIMES):
            ys = vertices[np.isclose(vertices[:, 0], t), 1]
            assert np.isclose(ys.max(), cum[k, p])
            assert np.isclose(ys.min(), 0.0 if p == 0 else cum[k, p - 1])
    _png(fig)


def test_contribution_over_all_instances():
    expl = _tabular()
    magnitude = np.abs(_attr(expl)).mean(axis=0)
    _, (_, ax_b) = plot.contribution(expl, None, top_k=None, other=False)
    order = np.argsort(-_integrate(magnitude), kind="stable")
    shares = magnitude / magnitude.sum(axis=1, keepdims=True)
    expected = _integrate(shares[:, order]) / (TIMES[-1] - TIMES[0])
    np.testing.assert_allclose([p.get_width() for p in ax_b.patches], expected)


# ============================================================================ force
def _force_bars(ax):
    return {c.get_label(): np.array([b.get_height() for b in c]) for c in ax.containers}


def test_force_bars_sum_to_attribution_sum():
    expl = _tabular()
    i = 1
    fig, ax = plot.force(expl, i, times=[1.0, 3.4, 5.0], top_k=3)
    ks = [1, 3, 4]  # 3.4 snaps to 3.5
    attr = _attr(expl)[i][ks]
    bars = _force_bars(ax)
    assert len(bars) == 4  # 3 features + other features
    heights = np.stack(list(bars.values()))  # [K, m]
    np.testing.assert_allclose(heights.sum(axis=0), attr.sum(axis=1))
    lines = _lines(ax)
    np.testing.assert_allclose(lines["sum of attributions"].get_ydata(), attr.sum(axis=1))
    delta = (expl.prediction - expl.reference_prediction)[i].numpy()[ks]
    np.testing.assert_allclose(lines["prediction - reference"].get_ydata(), delta)
    # each feature's bars are its attributions; positives stack up, negatives down
    for name, h in bars.items():
        if not name.startswith("other"):
            np.testing.assert_allclose(h, attr[:, NAMES.index(name)])
    for m in range(3):
        rects = [c[m] for c in ax.containers]
        pos = sorted((r for r in rects if r.get_height() >= 0), key=lambda r: r.get_y())
        y = 0.0
        for r in pos:
            assert np.isclose(r.get_y(), y)
            y += r.get_height()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3.5", "5"]
    _png(fig)


def test_force_default_times_and_method():
    expl = _tabular()
    _, ax = expl.plot_force(0, n_times=3, top_k=None, other=False)
    bars = _force_bars(ax)
    ks = [0, 2, 4]
    np.testing.assert_allclose(bars["f0"], _attr(expl)[0, ks, 0])


# ============================================================================ importance
def test_heatmap_values_are_mean_absolute_attributions():
    expl = _tabular()
    importance = expl.global_importance()  # [T, F] DataFrame
    fig, ax = plot.importance_heatmap(expl, top_k=4)
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    heat = np.asarray(mesh.get_array()).reshape(5, T)
    order = list(expl.global_importance(integrated=True).sort_values(ascending=False).index)
    top, rest = order[:4], order[4:]
    np.testing.assert_allclose(heat[:4], importance[top].to_numpy().T)
    np.testing.assert_allclose(heat[4], importance[rest].to_numpy().sum(axis=1))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == top + [f"other features ({len(rest)})"]
    # cell k spans the midpoints between t_k and its neighbours, in original units
    edges = np.asarray(mesh.get_coordinates()[0, :, 0])
    np.testing.assert_allclose(edges[1:-1], 0.5 * (TIMES[1:] + TIMES[:-1]))
    assert np.all((edges[:-1] < TIMES) & (TIMES < edges[1:]))
    _png(fig)


def test_importance_bars_are_integrated_importance():
    expl = _tabular()
    integrated = expl.global_importance(integrated=True).sort_values(ascending=False)
    _, ax = plot.importance_bar(expl, top_k=None, other=False)
    np.testing.assert_allclose([p.get_width() for p in ax.patches], integrated.to_numpy())
    fig, (ax_h, ax_b) = expl.plot_importance(top_k=3)
    np.testing.assert_allclose(
        [p.get_width() for p in ax_b.patches],
        [*integrated.to_numpy()[:3], integrated.to_numpy()[3:].sum()],
    )
    assert any(isinstance(c, QuadMesh) for c in ax_h.collections)
    _png(fig)


# ============================================================================ dependence
def test_dependence_points_are_values_and_attributions():
    expl = _tabular()
    fig, ax = plot.dependence(expl, "f2", 2.1, color_by="f4")
    points = next(c for c in ax.collections if isinstance(c, PathCollection))
    xy = points.get_offsets()
    np.testing.assert_allclose(xy[:, 0], expl.inputs[:, 2].numpy())
    np.testing.assert_allclose(xy[:, 1], _attr(expl)[:, 2, 2])  # 2.1 -> t = 2.0
    np.testing.assert_allclose(points.get_array(), expl.inputs[:, 4].numpy())
    _png(fig)
    _, ax = expl.plot_dependence(0, 5.0)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], _attr(expl)[:, 4, 0])


def test_dependence_with_values_in_original_units():
    import pandas as pd

    expl = _tabular()
    raw = expl.inputs.numpy() * 10 + 50  # e.g. before standardisation
    _, ax = plot.dependence(expl, "f1", 1.0, values=raw)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], raw[:, 1])
    frame = pd.DataFrame({"f1": raw[:, 1], "f7": raw[:, 7]})
    _, ax = plot.dependence(expl, "f1", 1.0, color_by="f7", values=frame)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], raw[:, 1])
    np.testing.assert_allclose(ax.collections[0].get_array(), raw[:, 7])
    with pytest.raises(ValueError, match="no feature values"):
        plot.dependence(expl, "f2", 1.0, values=frame)
    with pytest.raises(ValueError, match="shape"):
        plot.dependence(expl, "f1", 1.0, values=raw[:, :3])


def test_dependence_beeswarm_rows():
    expl = _tabular()
    fig, ax = plot.dependence(expl, None, 1.0, beeswarm=True, top_k=3)
    order = np.argsort(-np.abs(_attr(expl)[:, 1, :]).mean(axis=0), kind="stable")[:3]
    rows = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(rows) == 3
    for row, (coll, j) in enumerate(zip(rows, order, strict=True)):
        xy = coll.get_offsets()
        np.testing.assert_allclose(xy[:, 0], _attr(expl)[:, 1, j])
        assert np.all(np.abs(xy[:, 1] - row) <= 0.4)
        v = expl.inputs[:, j].numpy()
        np.testing.assert_allclose(coll.get_array(), (v - v.min()) / (v.max() - v.min()))
    assert [t.get_text() for t in ax.get_yticklabels()] == [NAMES[j] for j in order]
    _png(fig)


def test_dependence_on_a_group_without_values():
    grouped = _tabular().aggregate({"g": ["f0", "f1"]})
    with pytest.raises(ValueError, match="no feature values"):
        plot.dependence(grouped, "g", 1.0)
    _, ax = plot.dependence(grouped, ["g", "f2"], 1.0, beeswarm=True)  # grey points for g
    assert len(ax.collections) == 2
    with pytest.raises(ValueError, match="single feature"):
        plot.dependence(grouped, ["f2", "f3"], 1.0)


# ============================================================================ images
def _heatmaps(axes):
    return [im for ax in np.ravel(axes) for im in ax.get_images() if im.get_gid() == "attribution"]


def test_image_heatmaps_share_one_symmetric_scale():
    expl = _multimodal()
    i = 2
    fig, axes = plot.image_attributions(expl, i, times=[0.5, 2.0, 5.0])
    heat = _heatmaps(axes)
    assert len(axes) == 4 and len(heat) == 3  # input panel + 3 times
    a = expl.attributions[0][i].numpy()[[0, 2, 4], 0]  # [3, 8, 8], one channel
    limit = np.abs(a).max()
    for m, im in enumerate(heat):
        np.testing.assert_allclose(im.get_array(), a[m])
        assert im.get_clim() == pytest.approx((-limit, limit))  # shared and centred at 0
    assert axes[1].get_title() == "t = 0.5"
    _png(fig)


def test_image_heatmaps_of_two_instances_share_a_given_vmax():
    expl = _multimodal()
    both = np.abs(expl.attributions[0][[0, 1]].numpy()[:, [0, 4]]).max()
    for i in (0, 1):
        fig, axes = plot.image_attributions(expl, i, times=[0.5, 5.0], vmax=both, overlay=True)
        for im in _heatmaps(axes):
            assert im.get_clim() == pytest.approx((-both, both))
            assert np.nanmax(im.get_alpha()) <= 0.9 + 1e-12
        plt.close(fig)
    with pytest.raises(ValueError, match="vmax must be a positive number"):
        plot.image_attributions(expl, 0, vmax=0.0)


def test_image_channels_summed_and_overlay():
    expl = _multimodal(channels=3)
    fig, axes = plot.image_attributions(expl, 0, overlay=True, n_times=2, show_input=False)
    a = expl.attributions[0][0].numpy()[[0, 4]].sum(axis=1)
    heat = _heatmaps(axes)
    for m, im in enumerate(heat):
        np.testing.assert_allclose(im.get_array(), a[m])
        assert len(axes[m].get_images()) == 2  # the picture below the heat map
        np.testing.assert_allclose(im.get_alpha(), 0.9 * np.sqrt(np.abs(a[m]) / np.abs(a).max()))
    assert len({im.get_clim() for im in heat}) == 1
    _, axes = expl.plot_images(0, times=[1.0], channel=1)
    np.testing.assert_allclose(_heatmaps(axes)[0].get_array(), expl.attributions[0][0, 1, 1])
    _png(fig)


def test_single_image_input():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.uniform(size=(2, 6, 7)))
    a = torch.tensor(rng.normal(size=(2, T, 6, 7)))
    expl = SurvExplanation(a, x, TIMES, torch.ones(2, T))
    _, axes = plot.image_attributions(expl, 1, times=[3.5])
    np.testing.assert_allclose(_heatmaps(axes)[0].get_array(), a[1, 3].numpy())


# ============================================================================ competing risks
def _competing(seed=5):
    base = _tabular(seed)
    other = _tabular(seed + 1)
    return [
        SurvExplanation(
            e.attributions,
            base.inputs,
            TIMES,
            e.prediction,
            e.reference_prediction,
            method="IntGrad(t)",
            feature_names=NAMES,
            output="cif",
            event=r,
        )
        for r, e in enumerate([base, other])
    ]


def test_competing_risks_one_panel_per_event():
    expls = _competing()
    fig, axes = plot.competing_risks(expls, instance=1, top_k=3)
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["event 0", "event 1"]
    labels = [[line.get_label() for line in ax.get_lines()][:4] for ax in axes]
    assert labels[0] == labels[1]  # the same features in both panels
    colours = [[line.get_color() for line in ax.get_lines()][:4] for ax in axes]
    assert colours[0] == colours[1]
    for ax, e in zip(axes, expls, strict=True):
        for name, line in _lines(ax).items():
            if name in NAMES:
                np.testing.assert_allclose(line.get_ydata(), _attr(e)[1, :, NAMES.index(name)])
    assert axes[0].get_ylim() == axes[1].get_ylim()  # shared scale
    assert axes[0].get_ylabel() == "attribution to CIF(t | x)"  # titles name the events
    # one legend for all panels, outside the data (right of the figure)
    assert axes[0].get_legend() is None and axes[1].get_legend() is None
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:4] == [line.get_label() for line in axes[0].get_lines()][:4]
    fig.canvas.draw()
    assert legend.get_window_extent().x0 >= axes[1].get_window_extent().x1
    _png(fig)

    fig, axes = plot.competing_risks({"relapse": expls[0], "death": expls[1]}, kind="force")
    assert [ax.get_title() for ax in axes] == ["relapse", "death"]
    fig, axes = plot.competing_risks(expls, kind="prediction")
    np.testing.assert_allclose(_lines(axes[1])["instance 0"].get_ydata(), expls[1].prediction[0])


def test_compare_methods_side_by_side():
    ig = _tabular(7)
    grad = SurvExplanation(
        ig.attributions * 10,
        ig.inputs,
        TIMES,
        ig.prediction,
        method="Grad(t)",
        feature_names=NAMES,
    )
    fig, axes = plot.compare_methods({"IntGrad(t)": ig, "Grad(t)": grad}, instance=0)
    assert [ax.get_title() for ax in axes] == ["IntGrad(t)", "Grad(t)"]
    np.testing.assert_allclose(_lines(axes[1])["f0"].get_ydata(), _attr(grad)[0, :, 0])
    assert "sum of attributions" not in _lines(axes[1])  # Grad(t) has no reference
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "sum of attributions" in legend_labels  # labels of every panel, once
    assert len(legend_labels) == len(set(legend_labels))
    # into existing axes of a figure without constrained layout: legend on the last panel
    fig2, given = plt.subplots(1, 2)
    out_fig, out_axes = plot.compare_methods({"a": ig, "b": grad}, axes=given)
    assert out_fig is fig2 and list(out_axes) == list(given)
    assert given[1].get_legend() is not None
    _png(fig)
    other = _tabular(8)
    with pytest.raises(ValueError, match="inputs differ"):
        plot.compare_methods({"a": ig, "b": other})
    with pytest.raises(TypeError, match="dict"):
        plot.compare_methods([ig, grad])


def test_single_time_point():
    rng = np.random.default_rng(4)
    attr = rng.normal(size=(3, 1, 4))
    x = torch.tensor(rng.normal(size=(3, 4)))
    expl = SurvExplanation(torch.tensor(attr), x, [2.0], torch.ones(3, 1))
    _, ax = plot.attribution_curves(expl, 1, top_k=None, other=False)
    for line in ax.get_lines()[:4]:
        assert line.get_marker() == "o"  # visible although it is a single point
        np.testing.assert_allclose(line.get_ydata(), attr[1, :, int(line.get_label()[1:])])
    _, (ax_r, ax_b) = plot.contribution(expl, 1, top_k=None, other=False)
    assert sum(p.get_height() for p in ax_r.patches) == pytest.approx(1.0)  # one stacked bar
    shares = np.sort(np.abs(attr[1, 0]) / np.abs(attr[1, 0]).sum())[::-1]
    np.testing.assert_allclose([p.get_width() for p in ax_b.patches], shares)
    fig, (ax_h, _) = plot.importance(expl, top_k=None)
    heat = np.asarray(next(c for c in ax_h.collections if isinstance(c, QuadMesh)).get_array())
    np.testing.assert_allclose(np.sort(heat.ravel()), np.sort(np.abs(attr).mean(axis=0)[0]))
    _png(fig)
    _, ax = plot.force(expl, 0, times=[2.0])
    np.testing.assert_allclose(sum(c[0].get_height() for c in ax.containers), attr[0, 0].sum())
    with pytest.raises(ValueError, match="outside"):
        plot.force(expl, 0, times=[2.5])


# ============================================================================ errors
def test_instance_out_of_range():
    expl = _tabular()
    for call in (
        lambda: plot.attribution_curves(expl, B),
        lambda: plot.force(expl, -B - 1),
        lambda: plot.prediction(expl, [0, 99]),
        lambda: plot.contribution(expl, 10),
        lambda: plot.image_attributions(_multimodal(), 6),
    ):
        with pytest.raises(ValueError, match=r"out of range.*0\.\.5"):
            call()


def test_time_outside_grid():
    expl = _tabular()
    with pytest.raises(ValueError, match=r"outside the explanation's time grid \[0.5, 5\]"):
        plot.force(expl, 0, times=[1.0, 9.0])
    with pytest.raises(ValueError, match="outside"):
        plot.dependence(expl, "f0", -3.0)
    with pytest.raises(ValueError, match="outside"):
        plot.image_attributions(_multimodal(), 0, times=[100.0])
    # within half a grid step of the ends is accepted, as is any time inside the grid
    plot.force(expl, 0, times=[0.3, 5.7, 2.7])
    with pytest.raises(ValueError, match="not close to any point"):
        plot.force(expl, 0, times=[2.7], tol=0.1)


def test_image_plot_on_tabular_input():
    with pytest.raises(ValueError, match=r"needs an image input.*\[B, 9\]"):
        plot.image_attributions(_tabular())
    with pytest.raises(ValueError, match="not an image"):
        plot.image_attributions(_multimodal(), input=1)
    with pytest.raises(ValueError, match="needs an image input"):
        plot.image_attributions(_multimodal().aggregate("inputs"))


def test_unknown_feature_name():
    expl = _tabular()
    with pytest.raises(ValueError, match=r"Unknown feature 'f0x'.*Did you mean 'f0'"):
        plot.attribution_curves(expl, 0, features=["f1", "f0x"])
    with pytest.raises(ValueError, match="Unknown feature 'age'"):
        plot.dependence(expl, "age", 1.0)
    with pytest.raises(ValueError, match="Unknown feature"):
        plot.dependence(expl, "f0", 1.0, color_by="nope")
    with pytest.raises(ValueError, match="out of range"):
        plot.importance_heatmap(expl, features=[F])
    with pytest.raises(ValueError, match="more than once"):
        plot.force(expl, 0, features=["f1", 1])


def test_other_bad_arguments():
    expl = _tabular()
    with pytest.raises(TypeError, match="SurvExplanation"):
        plot.attribution_curves(expl.attributions)
    with pytest.raises(ValueError, match="top_k"):
        plot.importance_bar(expl, top_k=0)
    with pytest.raises(ValueError, match="Unknown overlay"):
        plot.attribution_curves(expl, overlays=["delta"])
    with pytest.raises(ValueError, match="need a reference"):
        plot.attribution_curves(_tabular(reference=False), overlays=["difference"])
    with pytest.raises(ValueError, match="exactly 2"):
        plot.contribution(expl, axes=[plt.subplots()[1]])
    with pytest.raises(ValueError, match="kind"):
        plot.competing_risks(_competing(), kind="heatmap")


# ============================================================================ real models
def test_real_models_deephit_competing_risks_and_methods():
    """End to end on trained pycox models (the session cases of the model zoo)."""
    from tests.zoo import get_case

    case = get_case("DeepHit")
    x = case.inputs()[0][:4]
    expls = [
        captum_surv.explain(
            captum_surv.from_pycox(case.model, output="cif", event=r), x, "intgrad", n_steps=16
        )
        for r in (0, 1)
    ]
    fig, axes = plot.competing_risks(expls, instance=0, top_k=2)
    lines = _lines(axes[1])
    np.testing.assert_allclose(lines["x0"].get_ydata(), _attr(expls[1])[0, :, 0])
    # IntGrad(t) is complete: the sum of attributions follows prediction - reference
    np.testing.assert_allclose(
        lines["sum of attributions"].get_ydata(),
        lines["prediction - reference"].get_ydata(),
        atol=1e-4,
    )
    _png(fig)

    fwd = captum_surv.from_pycox(get_case("CoxPH").model, times=8)
    x = get_case("CoxPH").inputs()[0]
    methods = {
        "IntGrad(t)": captum_surv.explain(fwd, x, "intgrad", n_steps=16),
        "Grad(t)": captum_surv.explain(fwd, x, "grad"),
    }
    fig, axes = plot.compare_methods(methods, instance=2, kind="force", n_times=3)
    assert len(axes) == 2
    _png(fig)
    fig, _ = methods["IntGrad(t)"].plot_importance()
    _png(fig)


# ============================================================================ feature colours
def _hex(colour):
    return matplotlib.colors.to_hex(colour)


def _colours_by_figure(expl, i):
    """Feature name -> colour, read back from the artists of every figure of instance i."""
    out = {}
    _, ax = plot.attribution_curves(expl, i, overlays=())
    out["curves"] = {name: _hex(line.get_color()) for name, line in _lines(ax).items()}
    _, ax = plot.force(expl, i, times=[0.5, 1.0])
    out["force"] = {c.get_label(): _hex(c.patches[0].get_facecolor()) for c in ax.containers}
    _, (ax_r, ax_b) = plot.contribution(expl, i)
    out["ribbons"] = {c.get_label(): _hex(c.get_facecolor()[0]) for c in ax_r.collections}
    out["shares"] = {c.get_label(): _hex(c.patches[0].get_facecolor()) for c in ax_b.containers}
    _, ax = plot.importance_bar(expl)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    out["importance"] = {
        name: _hex(p.get_facecolor()) for name, p in zip(labels, ax.patches, strict=True)
    }
    for name in ("f0", "f5"):
        _, ax = plot.dependence(expl, name, 2.0)
        out.setdefault("dependence", {})[name] = _hex(ax.collections[0].get_facecolor()[0])
    return {
        figure: {k: v for k, v in colours.items() if not k.startswith("other")}
        for figure, colours in out.items()
    }


def _rank(colours, name):
    return list(colours).index(name)


def test_a_feature_has_one_colour_in_every_figure():
    expl = _tabular()
    i = 2
    figures = _colours_by_figure(expl, i)
    # the figures rank the features differently (the force plot by two early times only):
    # a colour by position in the plot would differ between them
    shared = set(figures["force"]) & set(figures["shares"])
    assert any(_rank(figures["force"], n) != _rank(figures["shares"], n) for n in shared)
    colour = {}
    for figure, colours in figures.items():
        for name, c in colours.items():
            assert colour.setdefault(name, c) == c, f"{name} has another colour in {figure}"
    assert set(colour) == set(NAMES)  # every feature was seen somewhere
    assert set(colour.values()) <= {c.lower() for c in plot.OKABE_ITO}
    # another instance selects and orders other features, with the same colours
    for figure, colours in _colours_by_figure(expl, 5).items():
        for name, c in colours.items():
            assert colour[name] == c, f"{name} changes colour in {figure} of instance 5"


def test_same_feature_names_same_colours_across_explanations():
    first = _tabular(0)
    # other values, method and instance, and the feature names in another order
    second = _tabular(3, names=NAMES[::-1], method="Grad(t)", reference=False)
    _, ax1 = plot.attribution_curves(first, 0, top_k=None, other=False, overlays=())
    _, ax2 = plot.attribution_curves(second, 4, top_k=None, other=False)
    lines1, lines2 = _lines(ax1), _lines(ax2)
    for name in NAMES:
        assert _hex(lines1[name].get_color()) == _hex(lines2[name].get_color()), name
        assert lines1[name].get_linestyle() == lines2[name].get_linestyle(), name
    # distinct styles within one explanation: 9 features, 7 colours, so line styles (and
    # bar hatches) tell the features of one colour apart
    styles = {(_hex(line.get_color()), line.get_linestyle()) for line in lines1.values()}
    assert len(styles) == F
    _, ax = plot.force(first, 0, top_k=None, other=False)
    bar_styles = {
        (_hex(c.patches[0].get_facecolor()), c.patches[0].get_hatch()) for c in ax.containers
    }
    assert len(bar_styles) == F
    # the figures of a permutation importance over features of the same names agree too
    from captum_surv.importance import PermutationImportance

    rng = np.random.default_rng(0)
    imp = PermutationImportance(
        times=TIMES,
        feature_names=NAMES,
        groups=[[n] for n in NAMES],
        loss="brier",
        baseline_curve=np.zeros(T),
        baseline_integrated=0.0,
        permuted_curves=rng.uniform(size=(F, 2, T)),
        permuted_integrated=rng.uniform(size=(F, 2)),
        permutations=np.zeros((F, 2, B), dtype=np.int64),
        seed=0,
    )
    _, axes = imp.plot(top_k=4)
    for line in axes[0].get_lines():
        if line.get_label() in NAMES:
            assert _hex(line.get_color()) == _hex(lines1[line.get_label()].get_color())


def test_features_of_one_colour_are_told_apart_only_when_shown_together():
    expl = _tabular()
    _, ax = plot.attribution_curves(expl, 0, top_k=None, other=False, overlays=())
    by_colour = {}
    for name, line in _lines(ax).items():
        by_colour.setdefault(_hex(line.get_color()), []).append(name)
    pairs = [names for names in by_colour.values() if len(names) > 1]
    assert len(by_colour) == len(plot.OKABE_ITO) and pairs  # 9 features, 7 colours
    a, b = pairs[0][:2]
    for alone in (a, b):  # no other feature of its colour in the figure: solid, no hatch
        _, ax = plot.attribution_curves(expl, 0, features=[alone], overlays=())
        assert _lines(ax)[alone].get_linestyle() == "-"
        _, ax = plot.force(expl, 0, features=[alone])
        assert not ax.containers[0].patches[0].get_hatch()
    solid = []
    for together in ([a, b], [b, a]):
        _, ax = plot.attribution_curves(expl, 1, features=together, overlays=())
        lines = _lines(ax)
        assert _hex(lines[a].get_color()) == _hex(lines[b].get_color())
        assert {lines[a].get_linestyle(), lines[b].get_linestyle()} == {"-", "--"}
        solid.append(a if lines[a].get_linestyle() == "-" else b)
        _, ax = plot.force(expl, 1, features=together)
        hatches = {c.get_label(): c.patches[0].get_hatch() for c in ax.containers}
        assert not hatches[solid[-1]] and hatches[b if solid[-1] == a else a]
    assert solid[0] == solid[1]  # the same one, whatever the order


# ============================================================================ time labels
SMALL_TIMES = np.array([0.000517, 0.001203, 0.002393, 0.004871, 0.009137])


def _significant_digits(text):
    mantissa = text.replace("\N{MINUS SIGN}", "").lstrip("-").split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))


def _tick_texts(ax, axis="x"):
    ax.figure.canvas.draw()
    ticks = (ax.xaxis if axis == "x" else ax.yaxis).get_ticklabels()
    return [t.get_text() for t in ticks if t.get_text()]


def test_time_labels_are_short():
    assert _significant_digits("0.002393") == 4 and _significant_digits("1.25e-05") == 3
    assert _significant_digits("1800") == 2 and _significant_digits("\N{MINUS SIGN}0.5") == 1
    expl = _tabular(times=SMALL_TIMES)
    # the times of the bars and titles: 3 significant digits, not 0.002393
    _, ax = plot.force(expl, 0, times=SMALL_TIMES)
    assert _tick_texts(ax) == ["0.000517", "0.0012", "0.00239", "0.00487", "0.00914"]
    _, ax = plot.dependence(expl, "f1", 0.0024)
    assert ax.get_title() == "t = 0.00239 (IntGrad(t))"
    _, axes = plot.image_attributions(_multimodal(times=SMALL_TIMES), 0, times=[0.0024, 0.0091])
    assert [ax.get_title() for ax in axes[1:]] == ["t = 0.00239", "t = 0.00914"]
    # time axes: tick labels with few digits and no multiplier or offset
    _, ax = plot.attribution_curves(expl, 0)
    _, (ax_r, _) = plot.contribution(expl, 0)
    _, ax_h = plot.importance_heatmap(expl)
    _, ax_p = plot.prediction(expl)
    for axis in (ax, ax_r, ax_h, ax_p):
        texts = _tick_texts(axis)
        assert len(texts) >= 3 and all(_significant_digits(t) <= 3 for t in texts), texts
        assert axis.xaxis.get_offset_text().get_text() == ""
    # large times stay whole numbers, times close together get the digits they need
    big = _tabular(times=np.array([365.0, 730.4, 1095.0, 1460.0, 1825.25]))
    _, ax = plot.force(big, 0, times=big.times)
    assert _tick_texts(ax) == ["365", "730", "1095", "1460", "1825"]
    _, ax = plot.attribution_curves(big, 0)
    assert all("e" not in t for t in _tick_texts(ax))
    close = _tabular(times=np.array([1.0, 1.0001, 1.0002, 1.5, 2.0]))
    _, ax = plot.force(close, 0, times=close.times)
    assert _tick_texts(ax) == ["1", "1.0001", "1.0002", "1.5", "2"]


def test_time_labels_of_the_global_figures():
    from captum_surv.effects import FeatureEffect

    rng = np.random.default_rng(1)
    grid = np.linspace(-1.0, 1.0, 4)
    effect = FeatureEffect(
        kind="pdp",
        features=["f0"],
        grids=[grid],
        values=rng.uniform(size=(4, T)),
        times=SMALL_TIMES,
        output="survival",
        ice=rng.uniform(size=(3, 4, T)),
    )
    _, ax = effect.plot(times=[0.0012, 0.0091])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["t = 0.0012", "t = 0.00914"]
    _, ax = effect.plot()  # the surface: time on the x axis
    texts = _tick_texts(ax)
    assert texts and all(_significant_digits(t) <= 3 for t in texts), texts
    effect.times = np.array([365.0, 730.4, 1095.0, 1460.0, 1825.25])  # days: no 1.83e+03
    _, ax = effect.plot(times=[730, 1825])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["t = 730", "t = 1825"]
