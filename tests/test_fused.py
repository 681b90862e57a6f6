import numpy as np
import pytest

import gradwise as gw
from gradwise.calculus.fused import FusedLinearLoss
from gradwise.nn import (
    L2,
    CrammerSingerHinge,
    Linear,
    MulticlassHinge,
    OneVsAllHinge,
    SoftmaxCrossEntropy,
)

LOSSES = [
    SoftmaxCrossEntropy(),
    SoftmaxCrossEntropy(reduction="sum"),
    MulticlassHinge(),
    MulticlassHinge(margin=0.5, reduction="sum"),
    OneVsAllHinge(),
    OneVsAllHinge(margin=0.5, reduction="sum"),
    CrammerSingerHinge(),
    CrammerSingerHinge(margin=0.5, reduction="sum"),
]


def reference(layer, loss, X, y):
    """The modules' own forward/backward: what the fused path must reproduce."""
    layer.zero_grad()
    value = loss.forward(layer.forward(X), y)
    layer.backward(loss.backward(), need_input_grad=False)
    return value, layer.grad_weight.copy(), layer.grad_bias.copy()


def fused(loss, X, y, layer, block_rows, threads=None):
    grad_W, grad_b = np.empty_like(layer.weight), np.empty_like(layer.bias)
    engine = FusedLinearLoss(
        loss, block_bytes=block_rows * X.shape[1] * X.itemsize, threads=threads
    )
    value = engine(X, y, layer.weight, layer.bias, grad_W, grad_b)
    return value, grad_W, grad_b


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "block_rows, threads", [(1, 1), (7, None), (7, 3), (64, 1), (64, 2), (1000, None)]
)
def test_fused_equals_the_modules(rng, loss, dtype, block_rows, threads):
    n, d, c = 150, 12, 5  # 150 rows: several blocks with a partial last one
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    layer = Linear(d, c, init="xavier", seed=1, dtype=dtype)
    layer.bias[...] = rng.standard_normal(c)
    value, gW, gb = fused(loss, X, y, layer, block_rows, threads)
    ref_value, ref_gW, ref_gb = reference(layer, loss, X, y)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert value == pytest.approx(ref_value, rel=tol)
    assert gW.dtype == dtype and gb.dtype == dtype
    np.testing.assert_allclose(gW, ref_gW, rtol=tol, atol=tol * np.abs(ref_gW).max())
    np.testing.assert_allclose(gb, ref_gb, rtol=tol, atol=tol * np.abs(ref_gb).max())


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@pytest.mark.parametrize("block_rows, threads", [(1, 1), (7, 3), (64, 2), (1000, None)])
def test_loss_and_correct_is_evaluate_of_the_modules(rng, loss, block_rows, threads):
    """The forward half with a count of correct rows: the loss the modules give, and the
    accuracy of their scores' argmax exactly (ties, made here, go to the first class)."""
    n, d, c = 150, 12, 5
    X = rng.integers(-2, 3, (n, d)).astype(np.float32)  # small integers: many tied scores
    y = rng.integers(0, c, n)
    layer = Linear(d, c, init="xavier", seed=1, dtype=np.float32)
    layer.weight[...] = rng.integers(-1, 2, (d, c))
    layer.bias[...] = 0
    engine = FusedLinearLoss(loss, block_bytes=block_rows * d * 4, threads=threads)
    value, correct = engine.loss_and_correct(X, y, layer.weight, layer.bias)
    scores = layer.forward(X)
    assert np.sum(np.ptp(np.sort(scores, axis=1)[:, -2:], axis=1) == 0) > 10  # ties exist
    assert correct == np.count_nonzero(scores.argmax(axis=1) == y)
    assert value == pytest.approx(loss.forward(scores, y), rel=2e-6)


def _count_calls(monkeypatch, method):
    """A list that gets one entry per call of ``FusedLinearLoss.<method>``."""
    calls, original = [], getattr(FusedLinearLoss, method)

    def spy(self, *args):
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(FusedLinearLoss, method, spy)
    return calls


def test_evaluate_takes_the_fused_pass_for_a_linear_model(rng, monkeypatch):
    from gradwise.training.loop import _blockwise_loss_and_correct, evaluate

    X = rng.standard_normal((90, 6)).astype(np.float32)
    y = rng.integers(0, 3, 90)
    model, penalty = Linear(6, 3, init="xavier", seed=2, dtype=np.float32), L2(0.1)
    calls = _count_calls(monkeypatch, "loss_and_correct")
    for loss in (SoftmaxCrossEntropy(), MulticlassHinge(reduction="sum")):
        value, accuracy = evaluate(model, loss, X, y, penalty)
        assert calls == [1]
        ref_value, ref_correct = _blockwise_loss_and_correct(model, loss, X, y, 7)
        assert value == pytest.approx(ref_value + penalty.forward(model), rel=1e-6)
        assert accuracy == ref_correct / 90
        # A float64 matrix with a float32 model cannot be streamed: the modules' path runs.
        assert evaluate(model, loss, X.astype(np.float64), y, penalty)[1] == accuracy
        assert calls == [1]
        calls.clear()


def test_the_helper_threads_follow_the_callers_floating_point_errors(rng):
    """Overflow in the second thread's rows: ignored when the caller ignores it (a diverged
    epoch is reported, not warned about), raised when the caller asks for that."""
    import warnings

    X = rng.standard_normal((100, 4)).astype(np.float32)
    X[60:] *= 1e30  # scores beyond float32: the product overflows
    y = rng.integers(0, 3, 100)
    layer = Linear(4, 3, init="xavier", seed=0, dtype=np.float32)
    layer.weight *= 1e10
    engine = FusedLinearLoss(SoftmaxCrossEntropy(), block_bytes=10 * 4 * 4, threads=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="ignore"):
            value, _ = engine.loss_and_correct(X, y, layer.weight, layer.bias)
    assert len(engine._lanes) == 2 and not np.isfinite(value)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        engine.loss_and_correct(X, y, layer.weight, layer.bias)


def test_softmax_is_stable_for_huge_scores(rng):
    X = rng.standard_normal((20, 3)) * 1e4
    y = rng.integers(0, 4, 20)
    layer = Linear(3, 4, init="xavier", dtype=np.float64)
    value, gW, _ = fused(SoftmaxCrossEntropy(), X, y, layer, 8)
    ref_value, ref_gW, _ = reference(layer, SoftmaxCrossEntropy(), X, y)
    assert np.isfinite(value) and value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(gW, ref_gW, rtol=1e-10)


@pytest.mark.parametrize("hinge", [MulticlassHinge, OneVsAllHinge, CrammerSingerHinge])
def test_a_hinge_exactly_at_zero_contributes_nothing(hinge):
    # All scores 0 and margin 0: every hinge sits exactly at its kink.
    X, y = np.ones((6, 2)), np.arange(6) % 3
    layer = Linear(2, 3, init="zeros", dtype=np.float64)
    value, gW, gb = fused(hinge(margin=0.0), X, y, layer, 4)
    assert value == 0.0 and not gW.any() and not gb.any()
    assert not np.signbit(gW).any() and not np.signbit(gb).any()


def test_crammer_singer_ties_and_a_single_class_match_the_modules(rng):
    # Integer-valued data: many wrong classes tie for the highest score.
    X = rng.integers(-2, 3, (40, 3)).astype(np.float64)
    y = rng.integers(0, 4, 40)
    layer = Linear(3, 4, init="zeros", dtype=np.float64)
    layer.weight[...] = rng.integers(-1, 2, (3, 4))
    loss = CrammerSingerHinge(reduction="sum")
    value, gW, gb = fused(loss, X, y, layer, 16)
    ref_value, ref_gW, ref_gb = reference(layer, loss, X, y)
    assert value == ref_value
    np.testing.assert_array_equal(gW, ref_gW)
    np.testing.assert_array_equal(gb, ref_gb)
    one = Linear(3, 1, dtype=np.float64)
    value, gW, gb = fused(loss, X, np.zeros(40, dtype=int), one, 16)
    assert value == 0.0 and not gW.any() and not gb.any()


def test_bad_labels_and_non_finite_scores_are_clear(rng):
    X = rng.standard_normal((10, 3))
    layer = Linear(3, 4, dtype=np.float64)
    with pytest.raises(ValueError, match="out of range"):
        fused(SoftmaxCrossEntropy(), X, np.full(10, 4), layer, 4)
    with pytest.raises(TypeError, match="integers"):
        fused(SoftmaxCrossEntropy(), X, np.zeros(10), layer, 4)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        fused(SoftmaxCrossEntropy(), X, np.zeros(10, dtype=int), layer, 4)
    with pytest.raises(TypeError, match="supports"):
        FusedLinearLoss(L2(1.0))
    with pytest.raises(ValueError, match="no rows"):
        fused(SoftmaxCrossEntropy(), X[:0], np.zeros(0, dtype=int), layer, 4)


def test_objective_takes_the_fused_path_when_it_can(rng, monkeypatch):
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    calls = _count_calls(monkeypatch, "__call__")
    for loss in (SoftmaxCrossEntropy(), MulticlassHinge(), OneVsAllHinge(), CrammerSingerHinge()):
        model = Linear(6, 3, init="xavier", dtype=np.float64)
        f = gw.objective(model, loss, X, y, penalty=L2(0.1))
        value, grad = f(f.x)
        assert len(calls) == 1
        # Fortran-ordered data cannot be streamed in row blocks: the modules' path runs.
        f.set_data(np.asfortranarray(X), y)
        ref_value, ref_grad = f(f.x)
        assert len(calls) == 1
        assert value == pytest.approx(ref_value, rel=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)
        calls.clear()


def test_objective_falls_back_for_mixed_dtypes_and_deeper_models(rng):
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    model = Linear(4, 3, init="xavier", dtype=np.float32)
    f = gw.objective(model, SoftmaxCrossEntropy(), X, y)  # float64 data, float32 model
    value, grad = f(f.x)
    ref = SoftmaxCrossEntropy()(X @ model.weight + model.bias, y)
    assert value == pytest.approx(ref, rel=1e-6) and grad.dtype == np.float32
    deep = gw.nn.Sequential(Linear(4, 3, dtype=np.float64))
    assert not FusedLinearLoss.supports(deep, SoftmaxCrossEntropy())


def test_fused_objective_passes_the_gradient_check(rng):
    X, y = rng.standard_normal((50, 7)), rng.integers(0, 4, 50)
    model = Linear(7, 4, init="xavier", dtype=np.float64)
    f = gw.objective(model, SoftmaxCrossEntropy(), X, y, penalty=L2(0.05))
    report = gw.gradient_check(f, f.x)
    assert report.max_rel_error < 1e-7


def test_new_labels_are_checked_again(rng):
    X = rng.standard_normal((10, 3))
    f = gw.objective(Linear(3, 4, dtype=np.float64), SoftmaxCrossEntropy(), X, np.zeros(10, int))
    f(f.x)
    f.set_data(X, np.full(10, 7))
    with pytest.raises(ValueError, match="out of range"):
        f(f.x)
