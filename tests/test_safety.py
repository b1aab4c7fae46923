"""The user's model is never changed, and explanations use eval mode.

pycox's predict* calls leave the net in train mode; captum_surv must still give
eval-mode predictions and must not touch the user's weights, buffers,
``training`` flags or ``requires_grad`` flags.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift, IntegratedGradients

import captum_surv
from tests.zoo import CASE_NAMES, get_case, user_copy


def snapshot(model):
    net = model.net
    snap = {
        "state": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "training": {n: m.training for n, m in net.named_modules()},
        "requires_grad": {n: p.requires_grad for n, p in net.named_parameters()},
        "grads": {
            n: (None if p.grad is None else p.grad.clone()) for n, p in net.named_parameters()
        },
        "param_ids": {n: id(p) for n, p in net.named_parameters()},
        "net_id": id(net),
        "attrs": sorted(vars(model)),
    }
    for attr in ("baseline_hazards_", "baseline_cumulative_hazards_"):
        if hasattr(model, attr):
            snap[attr] = getattr(model, attr).copy()
    if hasattr(model, "duration_index") and model.duration_index is not None:
        snap["duration_index"] = np.array(model.duration_index, copy=True)
    if hasattr(model, "sub"):
        snap["sub"] = model.sub
    return snap


def assert_same(before, model):
    after = snapshot(model)
    assert after["net_id"] == before["net_id"]
    assert after["param_ids"] == before["param_ids"]
    assert after["state"].keys() == before["state"].keys()
    for k, v in before["state"].items():
        assert torch.equal(after["state"][k], v), f"state_dict[{k}] changed"
        assert after["state"][k].dtype == v.dtype, f"state_dict[{k}] dtype changed"
    assert after["training"] == before["training"], "training flags changed"
    assert after["requires_grad"] == before["requires_grad"], "requires_grad flags changed"
    for k, g in before["grads"].items():
        ga = after["grads"][k]
        assert (g is None) == (ga is None), f".grad of {k} changed"
        if g is not None:
            assert torch.equal(g, ga), f".grad of {k} changed"
    assert after["attrs"] == before["attrs"], "attributes of the pycox model changed"
    for attr in ("baseline_hazards_", "baseline_cumulative_hazards_"):
        if attr in before:
            assert getattr(model, attr).equals(before[attr]), f"{attr} changed"
    if "duration_index" in before:
        np.testing.assert_array_equal(np.asarray(model.duration_index), before["duration_index"])
    if "sub" in before:
        assert model.sub == before["sub"]


def pycox_eval_survival(case, model):
    """pycox's eval-mode survival [B, T] on the native grid (leaves the net in train mode)."""
    x = case.x
    if case.family in ("cox", "coxtime"):
        df = model.predict_surv_df(x, eval_=True)
        bh = model.baseline_hazards_
        return df.values.T[:, bh.values > 0]
    S = model.predict_surv(x, eval_=True)
    S = S.numpy() if isinstance(S, torch.Tensor) else np.asarray(S)
    return S.T if case.family == "deephit" else S


def prepare_user_model(case):
    """A private copy of the fixture model, in the state a user might leave it."""
    m = user_copy(case.model)
    net = m.net
    net.train()
    params = list(net.parameters())
    for p in params[::3]:  # some frozen parameters
        p.requires_grad_(False)
    ref = pycox_eval_survival(case, m)  # pycox leaves the net in train mode
    assert all(mod.training for mod in net.modules())
    # mixed flags: one submodule in eval mode
    dropouts = [mod for mod in net.modules() if isinstance(mod, torch.nn.Dropout)]
    dropouts[0].eval()
    # a leftover gradient from the user's own work
    params[1].grad = torch.ones_like(params[1])
    return m, ref


@pytest.mark.parametrize("name", CASE_NAMES)
def test_model_untouched_and_eval_mode(name):
    case = get_case(name)
    m, ref = prepare_user_model(case)
    before = snapshot(m)

    fwd = captum_surv.from_pycox(m, "survival")
    assert_same(before, m)

    xs = case.inputs(torch.float32)
    with torch.no_grad():
        out = fwd(*xs)
    # eval-mode predictions although the user's net is in train mode
    np.testing.assert_allclose(out.double().numpy(), ref, atol=1e-5, rtol=0)
    # deterministic (no dropout active)
    with torch.no_grad():
        assert torch.equal(fwd(*xs), out)
    assert_same(before, m)

    # gradients through the forward
    xg = tuple(x.clone().requires_grad_(True) for x in xs)
    fwd(*xg)[:, -1].sum().backward()
    assert all(x.grad is not None for x in xg)
    assert_same(before, m)

    k = len(fwd.times) // 2
    inp = xs if case.multi_input else xs[0]
    IntegratedGradients(fwd).attribute(inp, target=k, n_steps=16)
    assert_same(before, m)
    DeepLift(fwd).attribute(inp, target=k)
    assert_same(before, m)

    # derived forwards, too
    f2 = fwd.with_output("cumhazard").with_times(3)
    with torch.no_grad():
        f2(*xs)
    assert_same(before, m)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_forward_net_is_a_frozen_eval_copy(name):
    case = get_case(name)
    m, ref = prepare_user_model(case)
    fwd = captum_surv.from_pycox(m, "survival")
    assert fwd.net is not m.net
    assert all(not mod.training for mod in fwd.net.modules()), "fwd.net must be in eval mode"
    user_ptrs = {p.data_ptr() for p in m.net.parameters()} | {b.data_ptr() for b in m.net.buffers()}
    for t in list(fwd.net.parameters()) + list(fwd.net.buffers()):
        assert t.data_ptr() not in user_ptrs, "fwd.net shares storage with the user's net"
    # later changes to the user's net do not leak into the forward (deep copy)
    with torch.no_grad():
        for p in m.net.parameters():
            p.add_(0.5)
        out2 = fwd(*case.inputs())
    np.testing.assert_allclose(out2.double().numpy(), ref, atol=1e-5, rtol=0)


def test_fixture_nets_really_depend_on_mode():
    """Sanity: train-mode predictions differ from eval-mode ones for these nets."""
    case = get_case("PMF")
    m = user_copy(case.model)
    S_eval = m.predict_surv(case.x, eval_=True)
    torch.manual_seed(0)
    S_train = m.predict_surv(case.x, eval_=False)
    assert (S_eval - S_train).abs().max() > 1e-3
