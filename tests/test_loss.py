import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwise as gw
from gradwise.nn import (
    CrammerSingerHinge,
    MulticlassHinge,
    OneVsAllHinge,
    SoftmaxCrossEntropy,
)


def torch_loss_and_grad(torch, loss, scores, labels, **kw):
    """``torch.nn.functional.<loss>`` and its gradient with respect to the scores."""
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    value = getattr(torch.nn.functional, loss)(s, torch.tensor(labels), **kw)
    value.backward()
    return value.item(), s.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_equals_torch(torch, rng, reduction):
    scores, labels = rng.standard_normal((17, 10)) * 3, rng.integers(0, 10, 17)
    loss = SoftmaxCrossEntropy(reduction)
    value, grad = loss.forward(scores, labels), loss.backward()
    ref_value, ref_grad = torch_loss_and_grad(
        torch, "cross_entropy", scores, labels, reduction=reduction
    )
    assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multiclass_hinge_is_torch_multi_margin_times_classes(torch, rng, reduction, margin):
    scores, labels = rng.standard_normal((13, 7)), rng.integers(0, 7, 13)
    loss = MulticlassHinge(margin=margin, reduction=reduction)
    value, grad = loss.forward(scores, labels), loss.backward()
    ref_value, ref_grad = torch_loss_and_grad(
        torch, "multi_margin_loss", scores, labels, margin=margin, reduction=reduction
    )
    assert value == pytest.approx(7 * ref_value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, 7 * ref_grad, rtol=1e-12, atol=1e-14)


def test_lecture_cat_car_frog_probabilities():
    loss = SoftmaxCrossEntropy()
    value = loss.forward(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    np.testing.assert_allclose(loss.probabilities.round(2), [[0.13, 0.87, 0.00]])
    # L_i = -ln(0.13) = 2.04; the lecture's 0.89 is the base-10 logarithm of the same p.
    assert value == pytest.approx(-math.log(loss.probabilities[0, 0]))
    assert -math.log10(loss.probabilities[0, 0]) == pytest.approx(0.89, abs=0.005)


def test_lecture_svm_example():
    # cs231n's worked example: scores cat 3.2 car 5.1 frog -1.7, label cat -> 2.9.
    loss = MulticlassHinge(reduction="sum")
    assert loss.forward(np.array([[3.2, 5.1, -1.7]]), np.array([0])) == pytest.approx(2.9)


def test_tiny_random_weights_give_log_of_class_count(rng):
    X = rng.random((500, 3072)).astype(np.float32)
    model = gw.nn.Linear(3072, 10, seed=0)
    value = SoftmaxCrossEntropy().forward(model.forward(X), rng.integers(0, 10, 500))
    assert value == pytest.approx(math.log(10), abs=0.02)


def test_huge_scores_do_not_overflow():
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise"):
        value = loss.forward(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]), np.array([0, 0]))
        grad = loss.backward()
    assert value == pytest.approx((0 + (1e4 + math.log(2))) / 2)
    assert np.isfinite(grad).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    c=st.integers(2, 6),
    scale=st.floats(0.1, 10),
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(["mean", "sum"]),
)
def test_losses_pass_gradient_check(n, c, scale, seed, reduction):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    for loss in (
        SoftmaxCrossEntropy(reduction),
        MulticlassHinge(reduction=reduction),
        OneVsAllHinge(reduction=reduction),
        CrammerSingerHinge(reduction=reduction),
    ):

        def f(s, loss=loss):
            value = loss.forward(s.reshape(n, c), labels)
            return value, loss.backward().ravel()

        report = gw.gradient_check(f, rng.standard_normal(n * c) * scale)
        assert report.passed and report.max_rel_error < 1e-6, str(report)


@pytest.mark.parametrize(
    "loss", [SoftmaxCrossEntropy(), MulticlassHinge(), OneVsAllHinge(), CrammerSingerHinge()]
)
def test_bad_labels_and_scores(loss):
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match="out of range"):
        loss.forward(scores, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="out of range"):
        loss.forward(scores, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="integers"):
        loss.forward(scores, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="one entry per row"):
        loss.forward(scores, np.array([0, 1]))
    with pytest.raises(ValueError, match="2-D"):
        loss.forward(np.zeros(4), np.array([0]))
    with pytest.raises(ValueError, match="NaN or Inf"):
        loss.forward(np.array([[0.0, np.nan, 0, 0]]), np.array([0]))


def test_bad_reduction_and_margin():
    with pytest.raises(ValueError, match="reduction"):
        SoftmaxCrossEntropy("avg")
    for hinge in (MulticlassHinge, OneVsAllHinge, CrammerSingerHinge):
        with pytest.raises(ValueError, match="margin"):
            hinge(margin=-1)
        with pytest.raises(ValueError, match="margin must be finite"):
            hinge(margin=float("nan"))
        with pytest.raises(ValueError, match="reduction"):
            hinge(reduction="max")


@pytest.mark.parametrize(
    "loss, description",
    [
        (SoftmaxCrossEntropy(), {"type": "SoftmaxCrossEntropy", "reduction": "mean"}),
        (
            MulticlassHinge(margin=0.5, reduction="sum"),
            {"type": "MulticlassHinge", "margin": 0.5, "reduction": "sum"},
        ),
        (OneVsAllHinge(), {"type": "OneVsAllHinge", "margin": 1.0, "reduction": "mean"}),
        (
            CrammerSingerHinge(margin=2.0, reduction="sum"),
            {"type": "CrammerSingerHinge", "margin": 2.0, "reduction": "sum"},
        ),
    ],
)
def test_losses_describe_themselves_and_rebuild(loss, description):
    assert loss.describe() == description
    back = gw.nn.Criterion.rebuild(description)
    assert type(back) is type(loss) and repr(back) == repr(loss)
