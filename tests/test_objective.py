import numpy as np
import pytest

import gradwise as gw
from gradwise.nn import L2, Linear, ReLU, Sequential, SoftmaxCrossEntropy


def data(rng, n=30, d=8, c=4):
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def test_objective_matches_torch_for_a_two_layer_net(torch, rng):
    X, y = data(rng)
    model = Sequential(
        Linear(8, 6, init="he", dtype=np.float64), ReLU(), Linear(6, 4, dtype=np.float64)
    )
    f = gw.objective(model, SoftmaxCrossEntropy(), X, y, L2(0.05))
    value, grad = f(f.x)
    W1, b1, W2, b2 = (torch.tensor(p.copy(), requires_grad=True) for p, _ in model.parameters())
    scores = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
    ref = torch.nn.functional.cross_entropy(scores, torch.tensor(y))
    ref = ref + 0.05 * ((W1**2).sum() + (W2**2).sum())
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-13)
    ref_grad = np.concatenate([t.grad.numpy().ravel() for t in (W1, b1, W2, b2)])
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


def test_objective_copies_a_foreign_x_into_the_model(rng):
    X, y = data(rng)
    model = Linear(8, 4, dtype=np.float64)
    f = gw.objective(model, SoftmaxCrossEntropy(), X, y)
    other = rng.standard_normal(f.x.size)
    value, _ = f(other)
    np.testing.assert_array_equal(f.x, other)
    assert value == pytest.approx(SoftmaxCrossEntropy()(X @ model.weight + model.bias, y))
    assert f.calls == 1


def test_gradient_is_recomputed_not_accumulated(rng):
    X, y = data(rng)
    f = gw.objective(Linear(8, 4, dtype=np.float64), SoftmaxCrossEntropy(), X, y)
    first = f(f.x)[1].copy()
    np.testing.assert_array_equal(f(f.x)[1], first)


def test_set_data_swaps_the_batch(rng):
    X, y = data(rng)
    f = gw.objective(Linear(8, 4, dtype=np.float64), SoftmaxCrossEntropy(), X, y)
    full = f(f.x)[0]
    f.set_data(X[:10], y[:10])
    assert f(f.x)[0] != full


def test_shape_mismatches_are_clear(rng):
    X, y = data(rng)
    model, loss = Linear(8, 4), SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="expects 8"):
        gw.objective(model, loss, X[:, :5], y)
    with pytest.raises(ValueError, match="y must have shape"):
        gw.objective(model, loss, X, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        gw.objective(model, loss, X[0], y[:1])
    f = gw.objective(model, loss, X, y)
    with pytest.raises(ValueError, match="x must have shape"):
        f(np.zeros(3))
    with pytest.raises(TypeError, match="loss"):
        gw.objective(model, "softmax", X, y)
