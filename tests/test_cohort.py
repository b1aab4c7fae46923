"""explain_dataset: chunked, resumable cohort explanations on disk (and the Ray engine).

References: the in-memory ``captum_surv.explain`` of the whole cohort (summaries), runs of
the same cohort with other chunk sizes / input formats (bit-identical results), scipy's
distribution tests (the per-row random draws).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchtuples as tt
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from scipy import stats

import captum_surv
from captum_surv import cohort as cohort_module
from captum_surv.attr.methods import _row_normals, gradient_attributions, row_uniforms

P, N = 4, 37


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, P))
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(P)])
    frame["site"] = rng.choice(["a", "b", "c"], size=N)
    return x, frame


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, P)).astype(np.float64)
    d = rng.exponential(size=60)
    e = (rng.uniform(size=60) < 0.7).astype(np.float64)
    deepsurv = pm.CoxPH(tt.practical.MLPVanilla(P, [6], 1, batch_norm=False).double())
    deepsurv.compute_baseline_hazards(input=x, target=(d, e))
    cuts = np.linspace(0.0, 3.0, 6)
    net = tt.practical.MLPVanilla(P, [6], len(cuts), batch_norm=False).double()
    logistic = pm.LogisticHazard(net, duration_index=cuts)
    labtrans = pm.CoxTime.label_transform()
    y = labtrans.fit_transform(d[:25], e[:25])
    net = MLPVanillaCoxTime(P, [6], batch_norm=False).double()
    coxtime = pm.CoxTime(net, labtrans=labtrans)
    captum_surv.compute_coxtime_baseline_hazards(coxtime, input=x[:25], target=y, set_hazards=True)
    return {
        "DeepSurv": captum_surv.from_pycox(deepsurv, times=5),
        "LogisticHazard": captum_surv.from_pycox(logistic),
        "CoxTime": captum_surv.from_pycox(coxtime, times=4),
    }


def _run(fwd, data, out, method="gradshap", baselines=None, **kw):
    kw.setdefault("seed", 11)
    kw.setdefault("show_progress", False)
    kw.setdefault("batch_size", 48)
    if method == "gradshap" and baselines is None:
        baselines = np.linspace(-1, 1, 5 * P).reshape(5, P)
    if method in ("gradshap", "smoothgrad"):
        kw.setdefault("n_samples", 6)
    if method == "gradshap":
        kw.setdefault("sampling", "random")
    return captum_surv.explain_dataset(fwd, data, method, baselines, out=out, **kw)


def _in_memory(fwd, x, method, baselines, **options):
    """The whole cohort in one in-memory call of the engine, with the same per-row draws."""
    result = gradient_attributions(
        fwd,
        (torch.from_numpy(x),),
        method,
        baselines,
        seed=11,
        row_index=torch.arange(len(x)),
        **options,
    )
    return result.attributions[0].numpy(), result.prediction.numpy()


def _arrays(result):
    parts = list(result.iter_parts())
    rows = np.concatenate([r for r, _, _, _ in parts])
    return rows, result.attributions(), result.predictions(), result.reference_predictions()


def _assert_identical(a, b):
    for left, right in zip(_arrays(a), _arrays(b), strict=True):
        assert left.shape == right.shape
        np.testing.assert_array_equal(left, right)


CASES = [
    ("DeepSurv", "gradshap", {}),
    ("DeepSurv", "smoothgrad", {"reference": np.eye(P), "noise_level": 0.3}),
    ("LogisticHazard", "gradshap", {}),
    ("LogisticHazard", "intgrad", {"n_steps": 4}),
    ("CoxTime", "gradshap", {}),
]


@pytest.mark.parametrize("model,method,extra", CASES, ids=[f"{m}-{k}" for m, k, _ in CASES])
def test_chunk_size_does_not_change_results(models, data, tmp_path, model, method, extra):
    x, _ = data
    fwd = models[model]
    runs = [
        _run(fwd, x, tmp_path / f"c{size}", method, chunk_size=size, **extra)
        for size in ((N, 5, 1) if (model, method) == ("DeepSurv", "gradshap") else (N, 5))
    ]
    rows, attr, pred, ref = _arrays(runs[0])
    np.testing.assert_array_equal(rows, np.arange(N))
    assert attr.shape == (N, fwd.n_times, P) and pred.shape == (N, fwd.n_times)
    assert np.abs(attr).max() > 0
    for other in runs[1:]:
        _assert_identical(runs[0], other)
    # and the numbers are the method's: the same per-row draws, the whole cohort in memory
    phi, prediction = _in_memory(
        fwd,
        x,
        method,
        None if method != "gradshap" else np.linspace(-1, 1, 5 * P).reshape(5, P),
        **({"n_samples": 6} if method in ("gradshap", "smoothgrad") else {}),
        **({"sampling": "random"} if method == "gradshap" else {}),
        **extra,
    )
    np.testing.assert_allclose(attr, phi, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(pred, prediction, rtol=1e-12, atol=1e-13)


def test_input_formats_give_identical_results(models, data, tmp_path):
    x, frame = data
    fwd = models["DeepSurv"]
    cols = [f"f{j}" for j in range(P)]
    files = tmp_path / "input"
    files.mkdir()
    for k, (a, b) in enumerate([(0, 10), (10, 11), (11, N)]):  # unequal partitions
        frame.iloc[a:b].to_parquet(files / f"in-{k}.parquet")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x)),
        batch_size=7,
        collate_fn=lambda b: torch.stack([r[0] for r in b]),
    )
    base = _run(fwd, x, tmp_path / "numpy", chunk_size=8)
    _assert_identical(base, _run(fwd, frame, tmp_path / "frame", columns=cols, chunk_size=9))
    _assert_identical(base, _run(fwd, files, tmp_path / "parquet", columns=cols, chunk_size=4))
    _assert_identical(base, _run(fwd, loader, tmp_path / "loader", chunk_size=10))


def test_summaries_equal_the_in_memory_explanation(models, data, tmp_path):
    x, frame = data
    fwd = models["LogisticHazard"]
    cols = [f"f{j}" for j in range(P)]
    refs = np.linspace(-1, 1, 5 * P).reshape(5, P)
    result = _run(fwd, frame, tmp_path / "o", columns=cols, group_column="site", chunk_size=6)
    phi, prediction = _in_memory(fwd, x, "gradshap", refs, n_samples=6, sampling="random")
    np.testing.assert_allclose(
        result.global_importance().to_numpy(), np.abs(phi).mean(0), rtol=1e-12
    )
    np.testing.assert_allclose(
        result.mean_attribution().to_numpy(), phi.mean(0), rtol=1e-10, atol=1e-14
    )
    assert sorted(result.groups) == ["a", "b", "c"]
    for site in ("a", "b", "c"):
        mask = frame["site"].to_numpy() == site
        np.testing.assert_allclose(
            result.global_importance(site).to_numpy(), np.abs(phi[mask]).mean(0), rtol=1e-12
        )
        np.testing.assert_allclose(
            result.mean_attribution(site).to_numpy(), phi[mask].mean(0), rtol=1e-10, atol=1e-14
        )
        preds = result.prediction_summary
        mean_pred = preds[preds["group"] == site]["mean_prediction"].to_numpy()
        np.testing.assert_allclose(mean_pred, prediction[mask].mean(0), rtol=1e-12)
    # the group column is copied next to the rows
    table = pd.read_parquet(tmp_path / "o" / "parts", columns=["row", "site"]).sort_values("row")
    assert table["site"].tolist() == frame["site"].tolist()


def test_resume_after_a_crash_loses_and_repeats_nothing(models, data, tmp_path, monkeypatch):
    x, _ = data
    fwd = models["DeepSurv"]
    reference = _run(fwd, x, tmp_path / "ref", chunk_size=5)
    calls = []
    original = cohort_module._Plan.run

    class SimulatedCrash(Exception):
        pass

    armed = [True]

    def crashing(self, start, values, groups):
        calls.append(start)
        if armed[0] and len(calls) == 4:  # the process dies between chunk 3 and chunk 4
            armed[0] = False
            raise SimulatedCrash
        return original(self, start, values, groups)

    monkeypatch.setattr(cohort_module._Plan, "run", crashing)
    out = tmp_path / "crash"
    with pytest.raises(SimulatedCrash):
        _run(fwd, x, out, chunk_size=5)
    assert len(list((out / "parts").glob("part-*.parquet"))) == 3
    (out / "parts" / ".tmp-dead-part-000000000024-000000000032.parquet").write_bytes(b"half")
    with pytest.raises(ValueError, match="not complete"):
        captum_surv.CohortExplanation(out)

    calls.clear()
    resumed = _run(fwd, x, out, chunk_size=5, resume=True)
    # chunks are whole blocks of 48 // 6 = 8 patients (chunk_size 5 rounds up to 8): the
    # crash came before the 4th chunk; only the missing chunks (rows 24-31, 32-36) rerun
    assert calls == [24, 32]
    assert not list((out / "parts").glob(".tmp-*"))
    _assert_identical(reference, resumed)
    np.testing.assert_array_equal(
        resumed.global_importance().to_numpy(), reference.global_importance().to_numpy()
    )
    calls.clear()
    again = _run(fwd, x, out, chunk_size=5, resume=True)  # complete: nothing to do
    assert calls == [] and again.n_rows == N


def test_bad_input_gets_clear_errors(models, data, tmp_path):
    x, frame = data
    fwd = models["DeepSurv"]
    with pytest.raises(ValueError, match=r"\['nope'\] are not in the DataFrame"):
        _run(fwd, frame, tmp_path / "a", columns=["f0", "nope", "f2", "f3"])
    with pytest.raises(ValueError, match="group_column 'clinic'"):
        _run(fwd, frame, tmp_path / "a", columns=["f0"], group_column="clinic")
    with pytest.raises(ValueError, match="5 feature column"):
        _run(fwd, np.ones((3, P + 1)), tmp_path / "a")
    with pytest.raises(ValueError, match="not numeric"):
        _run(fwd, frame, tmp_path / "a")  # 'site' is a string column
    with pytest.raises(ValueError, match="reference="):
        _run(fwd, x, tmp_path / "a", method="smoothgrad")
    loader = torch.utils.data.DataLoader(torch.from_numpy(x), batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match="shuffle"):
        _run(fwd, loader, tmp_path / "a")
    with pytest.raises(ValueError, match="engine"):
        _run(fwd, x, tmp_path / "a", engine="spark")

    _run(fwd, x[:6], tmp_path / "done")
    with pytest.raises(FileExistsError, match="resume=True .* overwrite=True"):
        _run(fwd, x[:6], tmp_path / "done")
    with pytest.raises(FileExistsError, match=r"differs in \['method', 'options'"):
        _run(fwd, x[:6], tmp_path / "done", method="intgrad", resume=True)
    with pytest.raises(FileExistsError, match="seed=11"):
        _run(fwd, x[:6], tmp_path / "done", resume=True, seed=12)
    redone = _run(fwd, x[:8], tmp_path / "done", overwrite=True)
    assert redone.n_rows == 8
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no explain_dataset run"):
        _run(fwd, x, tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "notes.txt").exists()


def test_row_draws_are_uniform_normal_and_independent_of_the_batch():
    rows = np.arange(1000, 5000)
    u = row_uniforms(3, rows, 5, stream=1).numpy()
    assert u.min() > 0 and u.max() < 1
    assert stats.kstest(u.reshape(-1), "uniform").pvalue > 1e-3
    # neighbouring rows and draws are uncorrelated
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.05
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.05
    np.testing.assert_array_equal(row_uniforms(3, rows[7:9], 5, stream=1).numpy(), u[7:9])
    assert not np.array_equal(row_uniforms(4, rows[:5], 5, stream=1).numpy(), u[:5])
    assert not np.array_equal(row_uniforms(3, rows[:5], 5, stream=2).numpy(), u[:5])
    normals = _row_normals(3, rows, 3, stream=4)
    assert stats.kstest(normals.numpy().reshape(-1), "norm").pvalue > 1e-3


# --------------------------------------------------------------------------- Ray
@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="engine='ray' needs ray[data] (the ray extra)")
    pytest.importorskip("ray.data")
    # Ray's raylet aborts when its agents take > 15 s to start; on a busy 2-core host most
    # of that goes to jsonschema's optional rfc3987_syntax import (it builds a grammar at
    # import time). A stub that fails to import makes jsonschema skip it in Ray's processes.
    stubs = tmp_path_factory.mktemp("ray_stubs")
    (stubs / "rfc3987_syntax.py").write_text("raise ImportError('not needed by Ray agents')\n")
    old_path = os.environ.get("PYTHONPATH")
    root = str(Path(__file__).resolve().parents[1])  # Ray workers import captum_surv
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(stubs), root, *([old_path] if old_path else [])]
    )
    try:
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        except Exception as err:  # e.g. its agents miss their start-up deadline
            ray.shutdown()
            pytest.skip(f"a local Ray node did not start on this machine: {err}")
        yield ray
        ray.shutdown()
    finally:
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path


def test_ray_engine_equals_the_local_run(models, data, tmp_path, ray_local):
    x, frame = data
    fwd = models["LogisticHazard"]
    cols = [f"f{j}" for j in range(P)]
    local = _run(fwd, frame, tmp_path / "local", columns=cols, group_column="site", chunk_size=6)
    remote = _run(
        fwd,
        frame,
        tmp_path / "ray",
        columns=cols,
        group_column="site",
        chunk_size=10,
        engine="ray",
        num_workers=2,
    )
    _assert_identical(local, remote)
    pd.testing.assert_frame_equal(
        local.global_importance("b"), remote.global_importance("b"), rtol=1e-12
    )


def test_float32_network_is_bit_identical_across_chunkings(tmp_path):
    # Matrix kernels round a row differently with its position in a tile; with float32
    # and wider layers this shows up (here in 1 row of 1,000) unless every patient keeps
    # its position in its block of network rows.
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    p = 20
    x_train = rng.normal(size=(80, p)).astype(np.float32)
    model = pm.CoxPH(tt.practical.MLPVanilla(p, [64, 64], 1))
    model.compute_baseline_hazards(
        input=x_train, target=(rng.exponential(size=80), np.ones(80, dtype=np.float32))
    )
    fwd = captum_surv.from_pycox(model, times=20)
    x = rng.normal(size=(1000, p)).astype(np.float32)
    kw = dict(seed=0, show_progress=False, sampling="random")  # 50 draws, 327-row blocks
    runs = [
        captum_surv.explain_dataset(
            fwd, x, "gradshap", x_train[:50], out=tmp_path / f"c{size}", chunk_size=size, **kw
        )
        for size in (1000, 300)
    ]
    _assert_identical(*runs)


@pytest.mark.parametrize("method", ["gradshap", "intgrad"])
def test_float32_discrete_head_is_bit_identical_across_chunkings(tmp_path, method):
    # The discrete-head engine sums each patient's weighted tangents in blocks of network
    # rows (no full Jacobians); a patient's numbers must not depend on the chunking.
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    p, cuts = 20, np.linspace(0.0, 5.0, 30)
    model = pm.LogisticHazard(tt.practical.MLPVanilla(p, [64, 64], len(cuts)), duration_index=cuts)
    fwd = captum_surv.from_pycox(model)
    x = rng.normal(size=(300, p)).astype(np.float32)
    reference = rng.normal(size=(40, p)).astype(np.float32)
    kw = dict(seed=0, show_progress=False)
    if method == "gradshap":
        kw["sampling"] = "random"
    else:
        reference = reference.mean(axis=0, keepdims=True)
    runs = [
        captum_surv.explain_dataset(
            fwd, x, method, reference, out=tmp_path / f"c{size}", chunk_size=size, **kw
        )
        for size in (300, 70)
    ]
    _assert_identical(*runs)
    phi = runs[0].attributions()
    assert phi.dtype == np.float32 and np.abs(phi).max() > 0
