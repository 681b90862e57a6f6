"""Bad hyperparameters, non-finite gradients, state round trips, the registry, no allocations."""

import tracemalloc

import numpy as np
import pytest

from gradwise.errors import DivergenceError
from gradwise.optim.adagrad import Adagrad
from gradwise.optim.adam import Adam, AdamW
from gradwise.optim.base import Optimizer
from gradwise.optim.registry import get, names, register
from gradwise.optim.rmsprop import RMSprop
from gradwise.optim.schedule import StepDecay
from gradwise.optim.sgd import SGD, GradientDescent

ALL = [SGD, Adagrad, RMSprop, Adam, AdamW]

# Every option switched on at least once; each keeps state the round-trip test must carry.
CONFIGURED = {
    "sgd": lambda: SGD(0.01),
    "sgd-momentum-dampening": lambda: SGD(0.01, momentum=0.9, dampening=0.2, weight_decay=0.1),
    "sgd-nesterov": lambda: SGD(0.01, momentum=0.9, nesterov=True, maximize=False),
    "sgd-lecture-nesterov": lambda: SGD(
        StepDecay(0.01, 10), momentum=0.9, nesterov=True, momentum_form="lecture"
    ),
    "sgd-torch7-nag": lambda: SGD(
        0.01, momentum=0.9, nesterov=True, momentum_form="lecture", lookahead_gradient=True
    ),
    "adagrad": lambda: Adagrad(0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "adagrad-lecture": lambda: Adagrad(0.1, eps_inside_sqrt=True, weight_decay=0.1),
    "rmsprop-centered-momentum": lambda: RMSprop(0.01, centered=True, momentum=0.9),
    "rmsprop-lecture": lambda: RMSprop(0.01, eps_inside_sqrt=True),
    "adam-amsgrad": lambda: Adam(0.01, amsgrad=True, weight_decay=0.1),
    "adam-torch7": lambda: Adam(0.01, eps_hat=True),
    "adam-lecture": lambda: Adam(0.01, bias_correction=False, eps_inside_sqrt=True),
    "adamw": lambda: AdamW(0.01, maximize=False),
}


def quadratic(x):
    scale = np.arange(1.0, x.size + 1)
    return float(0.5 * np.sum(scale * x * x)), scale * x


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_non_positive_lr(cls, lr):
    with pytest.raises(ValueError, match="lr must be > 0"):
        cls(lr=lr)


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("betas", [(1.0, 0.999), (-0.1, 0.999), (0.9, 1.0), (0.9, 1.5)])
def test_betas_outside_unit_interval(cls, betas):
    with pytest.raises(ValueError, match=r"betas\[[01]\] must be in \[0, 1\)"):
        cls(betas=betas)


@pytest.mark.parametrize("betas", [(0.9,), (0.9, 0.99, 0.999)])
def test_betas_must_be_a_pair(betas):
    with pytest.raises(ValueError, match="pair"):
        Adam(betas=betas)


@pytest.mark.parametrize("cls", [Adagrad, RMSprop, Adam, AdamW])
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_non_positive_eps(cls, eps):
    with pytest.raises(ValueError, match="eps must be > 0"):
        cls(eps=eps)


@pytest.mark.parametrize("cls", [SGD, RMSprop])
def test_negative_momentum(cls):
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        cls(momentum=-0.5)


@pytest.mark.parametrize(
    "kwargs",
    [dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)],
    ids=["no-momentum", "dampening"],
)
def test_nesterov_needs_momentum_and_no_dampening(kwargs):
    with pytest.raises(ValueError, match="nesterov=True requires momentum > 0"):
        SGD(0.1, **kwargs)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD(0.1, momentum=0.9, lookahead_gradient=True), "lookahead_gradient"),
        (lambda: SGD(0.1, momentum=0.9, dampening=0.5, momentum_form="lecture"), "dampening"),
        (lambda: SGD(0.1, momentum_form="torch"), "momentum_form"),
        (lambda: SGD(0.1, weight_decay=-1), "weight_decay"),
        (lambda: SGD(0.1, lr_decay=-1), "lr_decay"),
        (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda: RMSprop(alpha=1.0), "alpha"),
        (lambda: Adam(eps_hat=True, eps_inside_sqrt=True), "not both"),
        (lambda: SGD(float("inf")), "finite"),
    ],
)
def test_other_bad_combinations(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make", [lambda: SGD("0.1"), lambda: SGD(0.1, nesterov=1), lambda: Adam(betas=0.9)]
)
def test_wrong_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize("x", [[1.0, 2.0], np.array([1, 2])], ids=["list", "int-array"])
def test_x_must_be_a_float_array(x):
    with pytest.raises(TypeError, match="float NumPy array"):
        SGD(0.1).step(quadratic, x)


def nan_after(good_steps, what="gradient"):
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        loss, grad = quadratic(x)
        if calls["n"] > good_steps:
            if what == "gradient":
                grad = grad.copy()
                grad[1] = np.nan
            else:
                loss = float("inf")
        return loss, grad

    return f


@pytest.mark.parametrize("name", sorted(CONFIGURED))
@pytest.mark.parametrize("what", ["gradient", "loss"])
def test_non_finite_evaluation_stops_the_step_and_keeps_x(name, what):
    opt, f = CONFIGURED[name](), nan_after(3, what)
    x = np.linspace(-1, 1, 5)
    for _ in range(3):
        opt.step(f, x)
    before, state_before = x.copy(), opt.state_dict()
    with pytest.raises(DivergenceError, match=f"non-finite {what} at step 3"):
        opt.step(f, x)
    np.testing.assert_array_equal(x, before)
    assert opt.state["step"] == state_before["step"]


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_state_dict_resumes_bit_for_bit(name):
    straight, x_straight = CONFIGURED[name](), np.linspace(-1, 1, 7)
    for _ in range(40):
        straight.step(quadratic, x_straight)

    first, x = CONFIGURED[name](), np.linspace(-1, 1, 7)
    for _ in range(20):
        first.step(quadratic, x)
    saved = first.state_dict()
    for _ in range(5):  # the saved copy must not follow later steps
        first.step(quadratic, x.copy())
    resumed = CONFIGURED[name]()
    resumed.load_state_dict(saved)
    for _ in range(20):
        resumed.step(quadratic, x)
    np.testing.assert_array_equal(x, x_straight)
    assert resumed.state["step"] == 40


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_state_is_plain_numbers_and_arrays(name):
    opt = CONFIGURED[name]()
    opt.step(quadratic, np.ones(4))
    known = {"step", "momentum_buffer", "sum", "square_avg", "grad_avg"}
    known |= {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    state = opt.state_dict()
    assert set(state) <= known
    assert all(isinstance(v, int | float | np.ndarray) for v in state.values())


def test_load_state_dict_requires_step():
    with pytest.raises(ValueError, match="step"):
        Adam().load_state_dict({"exp_avg": np.zeros(3)})


def test_float64_state_resumes_in_float32():
    opt = Adam(0.01)
    x64 = np.ones(4)
    opt.step(quadratic, x64)
    resumed = Adam(0.01)
    resumed.load_state_dict(opt.state_dict())
    x32 = x64.astype(np.float32)
    resumed.step(quadratic, x32)
    assert resumed.state["exp_avg"].dtype == np.float32
    assert np.all(resumed.state["exp_avg"] != 0)


def test_step_returns_loss_before_the_update():
    x = np.array([1.0, -2.0, 3.0])
    expected, _ = quadratic(x)
    assert Adam(0.1).step(quadratic, x) == expected
    assert quadratic(x)[0] < expected


def test_gradient_is_never_modified():
    grad = np.array([1.0, 2.0, 3.0])
    opt = SGD(0.1, momentum=0.9, weight_decay=0.5, maximize=True)
    for _ in range(3):
        opt.step(lambda x: (0.0, grad), np.ones(3))
    np.testing.assert_array_equal(grad, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_steps_do_not_allocate_parameter_sized_arrays(name):
    size = 200_000  # 1.6 MB per float64 array: any temporary would show
    scale = np.linspace(0.5, 1.5, size)
    grad = np.empty(size)

    def f(x):
        np.multiply(scale, x, out=grad)
        return 0.0, grad

    opt, x = CONFIGURED[name](), np.ones(size)
    for _ in range(2):  # buffers and workspaces are created here
        opt.step(f, x)
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(f, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size * 8 // 4


def test_registry_names():
    first_order = ["adagrad", "adam", "adamw", "momentum", "nesterov", "rmsprop", "sgd"]
    assert names() == sorted(first_order + ["bfgs", "lbfgs", "newton"])


@pytest.mark.parametrize(
    "name, cls, attributes",
    [
        ("sgd", SGD, dict(momentum=0.0, nesterov=False)),
        ("momentum", SGD, dict(momentum=0.9, nesterov=False)),
        ("nesterov", SGD, dict(momentum=0.9, nesterov=True)),
        ("adagrad", Adagrad, dict(lr=1e-2)),
        ("rmsprop", RMSprop, dict(alpha=0.99)),
        ("adam", Adam, dict(betas=(0.9, 0.999))),
        ("AdamW", AdamW, dict(weight_decay=1e-2)),
    ],
)
def test_get_builds_the_named_optimizer(name, cls, attributes):
    opt = get(name)
    assert type(opt) is cls
    for key, value in attributes.items():
        assert getattr(opt, key) == value


def test_get_passes_keywords_and_allows_overrides():
    opt = get("momentum", lr=0.5, momentum=0.5)
    assert (opt.lr, opt.momentum) == (0.5, 0.5)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'; known: adagrad, adam"):
        get("adamax")


def test_register_adds_a_name():
    register("test-plain-gd", GradientDescent)
    try:
        assert type(get("Test-Plain-GD", lr=0.2)) is SGD
    finally:
        from gradwise.optim import registry

        registry.unregister("test-plain-gd")


def test_repr_shows_hyperparameters_not_buffers():
    opt = SGD(0.1, momentum=0.9)
    opt.step(quadratic, np.ones(3))
    text = repr(opt)
    assert text.startswith("SGD(lr=0.1, momentum=0.9") and "workspace" not in text


@pytest.mark.parametrize("name", sorted(CONFIGURED))
def test_first_order_methods_take_mini_batches_of_any_size(name):
    opt = CONFIGURED[name]()
    assert opt.full_batch is False
    assert opt.check_size(10**12) is None


class SignDescent(Optimizer):
    """A method written as its formula alone; the base class's step does the rest."""

    def __init__(self, lr, weight_decay=0.0, maximize=False):
        super().__init__()
        self.lr, self.weight_decay, self.maximize = lr, weight_decay, maximize
        self.seen = []

    def update(self, x, g):
        self.seen.append((self.state["step"], g.copy()))
        x -= self.hyper("lr") * np.sign(g)


def test_a_subclass_that_writes_only_update_gets_the_whole_step():
    opt, x = SignDescent(StepDecay(0.5, 1), weight_decay=1.0, maximize=True), np.array([1.0, -2.0])
    # grad = (1, -4); maximize: (-1, 4); + weight_decay * x: (0, 2); lr(t=0) = 0.5.
    assert opt.step(quadratic, x) == 4.5
    np.testing.assert_array_equal(x, [1.0, -2.5])
    step, g = opt.seen[0]
    assert step == 0 and opt.state["step"] == 1
    np.testing.assert_array_equal(g, [0.0, 2.0])
    opt.step(quadratic, x)  # lr(t=1) = 0.25: the schedule sees the steps taken so far
    np.testing.assert_array_equal(x, [1.0, -2.75])
    assert opt.seen[1][0] == 1 and opt.state["step"] == 2


def test_a_subclass_without_decay_or_maximize_options_follows_the_plain_gradient():
    class Plain(Optimizer):
        def update(self, x, g):
            x -= 0.1 * g

    x = np.array([1.0, 1.0])
    Plain().step(quadratic, x)
    np.testing.assert_allclose(x, [0.9, 0.8])


def test_base_class_step_needs_an_update():
    with pytest.raises(NotImplementedError, match="Optimizer implements neither update nor step"):
        Optimizer().step(quadratic, np.ones(2))


def test_base_class_step_checks_parameters_and_finiteness():
    opt, x = SignDescent(0.1), np.ones(3)
    with pytest.raises(TypeError, match="float NumPy array"):
        opt.step(quadratic, [1.0, 2.0])
    with pytest.raises(DivergenceError, match="SignDescent: non-finite loss at step 0"):
        opt.step(lambda z: (float("nan"), z), x)
    np.testing.assert_array_equal(x, np.ones(3))
    assert opt.state["step"] == 0 and opt.seen == []


def test_look_ahead_gradient_returns_with_x_at_the_real_parameters():
    opt, x = CONFIGURED["sgd-torch7-nag"](), np.linspace(-1, 1, 5)
    for _ in range(3):
        opt.step(quadratic, x)
    before, points = x.copy(), []

    def f(z):
        points.append(z.copy())
        return quadratic(z)

    loss, g = opt.gradient(f, x)
    np.testing.assert_array_equal(x, before)
    look_ahead = before + 0.9 * opt.state["momentum_buffer"]
    np.testing.assert_allclose(points[0], look_ahead, rtol=1e-15)
    assert loss == quadratic(look_ahead)[0]
    np.testing.assert_array_equal(g, quadratic(points[0])[1])


def test_adamw_decay_stays_out_of_the_gradient():
    opt, x = AdamW(0.1, weight_decay=0.5), np.array([1.0, -2.0])
    _, g = opt.gradient(quadratic, x)
    np.testing.assert_array_equal(g, quadratic(x)[1])
    _, g = Adam(0.1, weight_decay=0.5).gradient(quadratic, x)
    np.testing.assert_array_equal(g, quadratic(x)[1] + 0.5 * x)
