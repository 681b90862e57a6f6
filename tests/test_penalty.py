import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwise as gw
from gradwise.nn import L1, L2, ElasticNet, Linear


def linear64(seed=0, n_in=4, n_out=3):
    return Linear(n_in, n_out, init="xavier", seed=seed, dtype=np.float64)


def test_values_and_gradients_are_the_lectures_forms():
    model = linear64()
    W = model.weight.copy()
    for penalty, value, grad in [
        (L2(0.3), 0.3 * (W**2).sum(), 0.6 * W),
        (L1(0.3), 0.3 * np.abs(W).sum(), 0.3 * np.sign(W)),
        (ElasticNet(0.3, 0.5), 0.3 * (0.5 * W**2 + np.abs(W)).sum(), 0.3 * (W + np.sign(W))),
    ]:
        model.zero_grad()
        assert penalty.forward(model) == pytest.approx(value)
        penalty.backward(model)
        np.testing.assert_allclose(model.grad_weight, grad)
        assert not model.grad_bias.any(), "biases are not penalised by default"


def test_include_bias():
    model = linear64()
    model.bias[:] = 2.0
    assert L2(1.0, include_bias=True).forward(model) == pytest.approx(
        (model.weight**2).sum() + 12.0
    )


def test_l1_subgradient_is_zero_at_zero():
    model = linear64()
    model.weight[:] = 0
    L1(1.0).backward(model)
    assert not model.grad_weight.any()


def test_lecture_l2_prefers_spread_weights():
    x = np.array([1.0, 1, 1, 1])
    w1, w2 = np.array([1.0, 0, 0, 0]), np.array([0.25] * 4)
    assert w1 @ x == w2 @ x == 1
    model = Linear(4, 1, dtype=np.float64)
    costs = []
    for w in (w1, w2):
        model.weight[:, 0] = w
        costs.append(L2(1.0).forward(model))
    assert costs == [1.0, 0.25]


def test_l2_is_half_of_torch_weight_decay(torch):
    model = linear64()
    wd = 0.1
    model.zero_grad()
    L2(wd / 2).backward(model)
    W = torch.tensor(model.weight.copy(), requires_grad=True)
    opt = torch.optim.SGD([W], lr=1.0, weight_decay=wd)
    W.grad = torch.zeros_like(W)
    before = W.detach().clone()
    opt.step()
    np.testing.assert_allclose(before - W.detach(), model.grad_weight, rtol=1e-15)


@settings(max_examples=20, deadline=None)
@given(
    n_in=st.integers(1, 6),
    n_out=st.integers(2, 5),
    lam=st.floats(1e-4, 10),
    beta=st.floats(0, 5),
    seed=st.integers(0, 2**16),
)
def test_penalties_pass_gradient_check_through_objective(n_in, n_out, lam, beta, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((10, n_in)), rng.integers(0, n_out, 10)
    for penalty in (L2(lam), L1(lam), ElasticNet(lam, beta), L2(lam, include_bias=True)):
        f = gw.objective(linear64(seed, n_in, n_out), gw.nn.SoftmaxCrossEntropy(), X, y, penalty)
        report = gw.gradient_check(f, f.x)
        assert report.passed and report.max_rel_error < 1e-6, str(report)


@pytest.mark.parametrize("make", [lambda: L2(-1), lambda: L1(-0.1), lambda: ElasticNet(1, -1)])
def test_negative_strength_is_refused(make):
    with pytest.raises(ValueError, match=">= 0"):
        make()


@pytest.mark.parametrize(
    "penalty, description",
    [
        (L2(0.5), {"type": "L2", "lam": 0.5, "include_bias": False}),
        (L1(0.25, include_bias=True), {"type": "L1", "lam": 0.25, "include_bias": True}),
        (
            ElasticNet(1e-3, beta=0.5),
            {"type": "ElasticNet", "lam": 1e-3, "beta": 0.5, "include_bias": False},
        ),
    ],
)
def test_penalties_describe_themselves_and_rebuild(penalty, description):
    assert penalty.describe() == description
    back = gw.nn.Penalty.rebuild(description)
    assert type(back) is type(penalty) and back.describe() == description


def test_include_bias_must_be_a_bool():
    with pytest.raises(TypeError, match="include_bias must be True or False"):
        L2(1.0, include_bias="yes")
