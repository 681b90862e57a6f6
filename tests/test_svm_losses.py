"""The one-vs-all and Crammer-Singer hinge losses: formulas, PyTorch autograd, the gradient
check, scikit-learn's ``LinearSVC`` objectives, and training through the classifier and the
command line.

scikit-learn's ``LinearSVC`` (liblinear) minimises ``0.5 ||W||^2 + C sum_i L_i`` with
``L_i`` the one-vs-all hinge (``multi_class="ovr", loss="hinge"``: one binary SVM per
class) or the Crammer-Singer hinge (``multi_class="crammer_singer"``). With
``fit_intercept=True`` liblinear appends a constant feature ``intercept_scaling`` to every
row and regularises its weight like the others; with ``intercept_scaling=1`` the bias is
penalised as ``0.5 b^2``. Divided by ``C`` this is gradwise's objective with
``reduction="sum"`` and ``L2(1 / (2C), include_bias=True)``, so liblinear's solution must be
a minimum of it.
"""

import numpy as np
import pytest

import gradwise as gw
from gradwise.cli import main
from gradwise.estimators import SVMClassifier, load
from gradwise.nn import CrammerSingerHinge, OneVsAllHinge
from gradwise.optim.schedule import CosineDecay

NEW_LOSSES = [OneVsAllHinge, CrammerSingerHinge]


def torch_one_vs_all(torch, s, y, margin):
    t = 2 * torch.nn.functional.one_hot(y, s.shape[1]).to(s.dtype) - 1
    return torch.relu(margin - t * s).sum(dim=1)


def torch_crammer_singer(torch, s, y, margin):
    correct = s.gather(1, y[:, None])
    wrong = torch.nn.functional.one_hot(y, s.shape[1]).bool()
    rival = (s - correct + margin).masked_fill(wrong, -torch.inf).max(dim=1).values
    return torch.relu(rival)


TORCH = {OneVsAllHinge: torch_one_vs_all, CrammerSingerHinge: torch_crammer_singer}


def torch_value_and_grad(torch, cls, scores, labels, margin, reduction):
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    per_row = TORCH[cls](torch, s, torch.tensor(labels), margin)
    value = per_row.mean() if reduction == "mean" else per_row.sum()
    value.backward()
    return value.item(), s.grad.numpy()


def test_worked_example():
    # The lecture's scores (cat 3.2, car 5.1, frog -1.7 for a cat) and two more rows.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = np.array([0, 1, 2])
    ova = OneVsAllHinge(reduction="sum")
    # Row 0: max(0, 1 - 3.2) + max(0, 1 + 5.1) + max(0, 1 - 1.7) = 6.1; row 1: 0 + 2.3 + 3.0;
    # row 2: 3.2 + 3.5 + max(0, 1 + 3.1).
    assert ova.forward(scores, labels) == pytest.approx(6.1 + 5.3 + 10.8, abs=1e-12)
    np.testing.assert_array_equal(ova.backward(), [[0, 1, 0], [1, 0, 1], [1, 1, -1]])
    cs = CrammerSingerHinge(reduction="sum")
    # Row 0: 1 + 5.1 - 3.2 = 2.9; row 1: 1 + 2.0 - 4.9 < 0; row 2: 1 + 2.5 + 3.1 = 6.6.
    assert cs.forward(scores, labels) == pytest.approx(2.9 + 0 + 6.6, abs=1e-12)
    np.testing.assert_array_equal(cs.backward(), [[-1, 1, 0], [0, 0, 0], [0, 1, -1]])


@pytest.mark.parametrize("cls", NEW_LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("margin", [1.0, 0.5, 0.0])
def test_equals_torch_autograd(torch, rng, cls, reduction, margin):
    scores, labels = rng.standard_normal((31, 7)) * 2, rng.integers(0, 7, 31)
    loss = cls(margin=margin, reduction=reduction)
    value, grad = loss.forward(scores, labels), loss.backward()
    ref_value, ref_grad = torch_value_and_grad(torch, cls, scores, labels, margin, reduction)
    assert value == pytest.approx(ref_value, rel=1e-14, abs=1e-15)
    np.testing.assert_array_equal(grad, ref_grad)  # +-1 (or +-1/N) entries: exactly


@pytest.mark.parametrize("cls", NEW_LOSSES)
def test_kinks_and_ties_follow_torch(torch, cls):
    # Row 0 sits exactly on every hinge (one-vs-all: s_y = +1, others -1; Crammer-Singer:
    # s_y = 1 + max wrong score); row 1 has two wrong classes tied for the highest score.
    scores = np.array([[1.0, -1.0, -1.0, -1.0], [0.0, 2.0, 0.5, 2.0], [1.0, 0.0, 0.0, -1.0]])
    labels = np.array([0, 0, 3])
    if cls is CrammerSingerHinge:
        scores[0] = [1.0, 0.0, -3.0, 0.0]
    loss = cls(reduction="sum")
    value, grad = loss.forward(scores, labels), loss.backward()
    ref_value, ref_grad = torch_value_and_grad(torch, cls, scores, labels, 1.0, "sum")
    assert value == pytest.approx(ref_value, abs=1e-15)
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(grad[0], 0)  # a hinge at exactly 0 contributes nothing
    assert not np.signbit(grad[grad == 0]).any()  # and no -0.0 entries


@pytest.mark.parametrize("cls", NEW_LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_dtype_follows_the_scores(cls, dtype):
    loss = cls()
    loss.forward(np.zeros((2, 3), dtype=dtype), np.array([0, 2]))
    assert loss.backward().dtype == dtype
    loss.forward(np.zeros((2, 3), dtype=np.int64), np.array([0, 2]))
    assert loss.backward().dtype == np.float64


def test_one_class_has_no_crammer_singer_rival():
    loss = CrammerSingerHinge()
    assert loss.forward(np.array([[5.0], [-5.0]]), np.array([0, 0])) == 0.0
    np.testing.assert_array_equal(loss.backward(), [[0.0], [0.0]])


@pytest.mark.parametrize("name", ["one-vs-all", "crammer-singer"])
@pytest.mark.parametrize("penalty", [None, gw.nn.L2(0.05)])
def test_objective_of_a_linear_layer_passes_the_gradient_check(rng, name, penalty):
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 4, 40)
    model = gw.nn.Linear(6, 4, init="xavier", seed=1, dtype=np.float64)
    f = gw.objective(model, gw.nn.loss_named(name), X, y, penalty)
    report = gw.gradient_check(f, f.x)
    assert report.passed and report.max_rel_error < 1e-7, str(report)
    # The objective's value and gradient are the modules' own forward/backward.
    value, grad = f(f.x)
    loss = gw.nn.loss_named(name)
    expected = loss.forward(X @ model.weight + model.bias, y)
    dS = loss.backward()
    if penalty is not None:
        expected += penalty.lam * np.vdot(model.weight, model.weight)
    assert value == pytest.approx(expected, rel=1e-13)
    grad_W = X.T @ dS + (0 if penalty is None else 2 * penalty.lam * model.weight)
    np.testing.assert_allclose(grad, np.concatenate([grad_W.ravel(), dS.sum(axis=0)]), atol=1e-14)


# -- scikit-learn's LinearSVC ----------------------------------------------------------------

SKLEARN = {"one-vs-all": {"multi_class": "ovr", "loss": "hinge"},
           "crammer-singer": {"multi_class": "crammer_singer"}}  # fmt: skip
C = 0.5


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 90)
    X = 1.5 * rng.standard_normal((4, 4))[labels] + rng.standard_normal((90, 4))
    return X, labels


@pytest.fixture(scope="module")
def liblinear(sklearn, blobs):
    """LinearSVC's (W, b) for each loss, solved far past its default tolerance."""
    from sklearn.svm import LinearSVC

    X, y = blobs
    solutions = {}
    for name, options in SKLEARN.items():
        svc = LinearSVC(C=C, dual=True, tol=1e-10, max_iter=200_000, **options).fit(X, y)
        solutions[name] = (svc.coef_.T, svc.intercept_)
    return solutions


def liblinear_objective(name, X, y):
    """gradwise's objective equal to liblinear's divided by C (see the module docstring)."""
    model = gw.nn.Linear(X.shape[1], 4, dtype=np.float64)
    penalty = gw.nn.L2(1 / (2 * C), include_bias=True)
    return gw.objective(model, gw.nn.loss_named(name, reduction="sum"), X, y, penalty)


def at(f, W, b):
    f.model.weight[...], f.model.bias[...] = W, b
    return f.x.copy()


def descend(f, x, lr, steps):
    """The lowest value full-batch Adam (cosine schedule) finds from ``x``."""
    x = x.copy()
    optimizer = gw.optim.get("adam", lr=CosineDecay(lr, steps))
    best = min(optimizer.step(f, x) for _ in range(steps))
    return min(best, f(x)[0])


@pytest.mark.parametrize("name", list(SKLEARN))
def test_liblinear_solution_is_the_minimum_of_gradwise_objective(blobs, liblinear, name):
    f = liblinear_objective(name, *blobs)
    x_star = at(f, *liblinear[name])
    best = f(x_star)[0]
    # No nearby point is lower: random directions, and scaling (W, b) (which a mismatch of
    # the regularisation strength would show). The objective is not differentiable at the
    # minimum (rows on the margin), so this is checked on values, not on the gradient.
    rng = np.random.default_rng(1)
    directions = [*rng.standard_normal((60, x_star.size)), x_star]
    for direction in directions:
        for h in (1e-4, 1e-2, -1e-2):
            assert f(x_star + h * direction)[0] >= best * (1 - 1e-12)
    # gradwise's optimizer, started at liblinear's solution, finds nothing lower, and started
    # at zero it arrives at the same value.
    assert descend(f, x_star, 1e-3, 300) >= best * (1 - 1e-12)
    assert descend(f, np.zeros_like(x_star), 0.05, 2000) == pytest.approx(best, rel=2e-5)


def test_each_liblinear_solution_is_not_the_other_loss_minimum(blobs, liblinear):
    # The check above can fail: the one-vs-all solution is no minimum of the Crammer-Singer
    # objective, nor the other way round (gradwise's optimizer lowers each by over 1%).
    for name, other in [("one-vs-all", "crammer-singer"), ("crammer-singer", "one-vs-all")]:
        f = liblinear_objective(other, *blobs)
        x = at(f, *liblinear[name])
        assert descend(f, x, 1e-2, 300) < 0.99 * f(x)[0]


# -- classifiers, model files, the command line ---------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return gw.data.load("digits")


@pytest.mark.parametrize("name", ["one-vs-all", "crammer-singer"])
def test_svm_classifier_trains_on_digits_and_round_trips(tmp_path, digits, name):
    clf = SVMClassifier(loss=name, epochs=5).fit(digits.X_train, digits.y_train)
    assert isinstance(clf.loss_, type(gw.nn.loss_named(name)))
    assert clf.history_.epochs[-1]["train_loss"] < clf.history_.epochs[0]["train_loss"]
    assert clf.score(digits.X_test, digits.y_test) > 0.85
    back = load(clf.save(tmp_path / "model.npz"))
    assert type(back.loss_) is type(clf.loss_) and repr(back.loss_) == repr(clf.loss_)
    assert back.get_params()["loss"] == name
    np.testing.assert_array_equal(
        back.decision_function(digits.X_test), clf.decision_function(digits.X_test)
    )


def test_svm_classifier_refuses_a_loss_that_is_no_hinge(digits):
    with pytest.raises(ValueError, match="loss must be one of 'svm', 'one-vs-all'"):
        SVMClassifier(loss="softmax").fit(digits.X_train, digits.y_train)


@pytest.mark.parametrize(
    "flags, loss",
    [
        (["--loss", "one-vs-all"], "OneVsAllHinge"),
        (["--model", "svm", "--loss", "crammer-singer"], "CrammerSingerHinge"),
        (["--model", "svm"], "MulticlassHinge"),  # the default loss, softmax, is no hinge
    ],
)
def test_cli_trains_with_each_hinge_loss(tmp_path, capsys, flags, loss):
    out = tmp_path / "run"
    code = main(["train", "--data", "digits", "--epochs", "2", "--out", str(out), *flags])
    printed = capsys.readouterr().out
    assert code == 0, printed
    clf = load(out)
    assert type(clf.loss_).__name__ == loss
    assert f"training linear {clf.get_params()['loss']} /" in printed


def test_cli_bad_loss_is_one_line(tmp_path, capsys):
    code = main(["train", "--data", "digits", "--loss", "hinge", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "'one-vs-all', 'crammer-singer', got 'hinge'" in err
    assert not (tmp_path / "r").exists()


def test_the_hinges_share_their_base_which_no_model_file_can_name():
    assert set(gw.nn.HINGE_LOSSES) == {"svm", "one-vs-all", "crammer-singer"}
    assert "Hinge" not in gw.nn.Criterion.registry
    for name in gw.nn.HINGE_LOSSES:
        loss = gw.nn.loss_named(name, margin=0.5)
        assert repr(loss) == f"{type(loss).__name__}(margin=0.5, reduction='mean')"
        assert not loss.smooth
