"""The gradient check's verdict can fail in every dtype it accepts.

A gradient 10% off, 1% off, or off in one block only (the bias) is ``wrong`` for float32 and
float64 models, every loss and every penalty; the true gradient is ``ok``.
"""

import warnings

import numpy as np
import pytest

import gradwise as gw

nn = gw.nn
WRONGS = [(1.1, None), (1.01, None), (1.1, "bias"), (1.01, "bias")]


class Scaled:
    """``f`` with its gradient (or one block of it) scaled; rebuilt in float64 scaled too,
    unless ``float32_only`` (a bug of the float32 path alone: its copy is the true f)."""

    def __init__(self, f, scale, block=None, float32_only=False):
        self.f, self.scale, self.block = f, scale, block
        self.float32_only = float32_only

    def __call__(self, x):
        loss, g = self.f(x)
        g = g.copy()
        g[slice(None) if self.block is None else dict(self.f.blocks())[self.block]] *= self.scale
        return loss, g

    def blocks(self):
        return self.f.blocks()

    def in_float64(self, x):
        f64 = self.f.in_float64(x)
        return f64 if self.float32_only else Scaled(f64, self.scale, self.block)


class Plain(Scaled):
    """The same, with no float64 rebuild: a user's own float32 callable."""

    in_float64 = property()  # hasattr(...) is False


def objective(dtype, loss, penalty, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((32, 20)).astype(dtype), rng.integers(0, 5, 32)
    model = nn.Linear(20, 5, init="xavier", seed=seed + 1, dtype=dtype)
    model.bias[:] = 0.1 * rng.standard_normal(5)
    pen = None if penalty == "none" else nn.PENALTIES[penalty](0.05)
    return gw.objective(model, nn.loss_named(loss), X, y, pen)


CASES = [(loss, pen) for loss in nn.LOSSES for pen in ("none", *nn.PENALTIES)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, penalty", CASES)
def test_true_gradient_ok_and_wrong_ones_wrong(dtype, loss, penalty):
    f = objective(dtype, loss, penalty)
    right = gw.gradient_check(f, f.x)
    assert right.verdict == "ok" and right.max_rel_error < 1e-7, str(right)
    for scale, block in WRONGS:
        report = gw.gradient_check(Scaled(f, scale, block), f.x)
        assert report.verdict == "wrong" and not report.passed, (scale, block, str(report))
        assert report.max_rel_error > 5e-3
        if block:
            assert report.worst[0].block == block
            assert report.block_errors["weight"] < 1e-7


@pytest.mark.parametrize("loss, penalty", CASES)
def test_float32_gradient_compared_with_the_float64_one(loss, penalty):
    f = objective(np.float32, loss, penalty)
    right = gw.gradient_check(f, f.x)
    assert right.lowp_error < 1e-4 and "checked at float64 on a copy" in str(right)
    for scale, block in WRONGS:
        report = gw.gradient_check(Scaled(f, scale, block, float32_only=True), f.x)
        assert report.max_rel_error < 1e-7  # the float64 copy is right ...
        assert report.verdict == "wrong" and report.lowp_error > 5e-3  # ... float32 is not
        assert "low-precision gradient vs float64" in str(report)


@pytest.mark.parametrize("penalty", ["none", "l2"])
def test_plain_float32_callable_gets_a_verdict_that_can_fail(penalty):
    f = objective(np.float32, "softmax", penalty)
    with pytest.warns(UserWarning, match="rounding noise"):
        right = gw.gradient_check(Plain(f, 1.0), f.x)
    assert right.verdict == "ok" and "differences of its float32 values" in str(right)
    assert right.eps == pytest.approx(np.cbrt(np.finfo(np.float32).eps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for scale, block in WRONGS:
            report = gw.gradient_check(Plain(f, scale, block), f.x)
            assert report.verdict == "wrong", (scale, block, str(report))


def test_float64_objective_rebuilt_is_a_copy_at_x():
    f = objective(np.float32, "svm", "l1")
    before = f.x.copy()
    x = f.x + np.float32(0.01)
    f64 = f.in_float64(x)
    assert f64.x.dtype == np.float64 and f64.X.dtype == np.float64
    np.testing.assert_array_equal(f64.x, x.astype(np.float64))
    np.testing.assert_array_equal(f.x, before)  # the float32 objective is untouched
    assert f64.model is not f.model and f64.penalty is not f.penalty
    value32, _ = f(x)
    value64, _ = f64(f64.x)
    assert value64 == pytest.approx(value32, rel=1e-5)


def test_readme_example_gives_a_real_verdict(rng):
    X = rng.standard_normal((50, 30)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    model = nn.Linear(30, 10, seed=0)
    x, _ = nn.flatten(model)
    f = gw.objective(model, nn.SoftmaxCrossEntropy(), X, y, penalty=nn.L2(2.5e-4))
    report = gw.gradient_check(f, x, num_checks=20)
    assert report.verdict == "ok" and "float32 objective: checked at float64" in str(report)
    bad = gw.gradient_check(Scaled(f, 1.1), x, num_checks=20)
    assert bad.verdict == "wrong" and bad.max_rel_error > 5e-2
