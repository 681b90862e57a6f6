"""Bad hyperparameters, non-finite gradients, state round trips, the registry, no allocations.

``CASES`` has one entry per registered optimizer name: what ``get(name)`` builds, the
keywords it refuses, and configurations of it with every option switched on at least once
(each keeps state the round-trip test must carry), or why those do not apply.
"""

import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest

from gradwise.errors import DivergenceError
from gradwise.optim.adagrad import Adagrad
from gradwise.optim.adam import Adam, AdamW
from gradwise.optim.base import Optimizer
from gradwise.optim.bfgs import BFGS
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.newton import Newton
from gradwise.optim.random_search import RandomLocalSearch, RandomSearch
from gradwise.optim.registry import get, names, register
from gradwise.optim.rmsprop import RMSprop
from gradwise.optim.schedule import StepDecay
from gradwise.optim.sgd import SGD, GradientDescent
from optimizer_cases import NotApplicable, applicable, check_table


@dataclass
class Case:
    builds: tuple  # (class, attributes) of get(name)
    refused: list  # (keywords, error, match): get(name, **keywords) raises error matching
    configured: object  # variant -> keywords of get(name, ...), or NotApplicable


NON_POSITIVE_LR = [(dict(lr=lr), ValueError, "lr must be > 0") for lr in (0.0, -0.1)]
NON_POSITIVE_EPS = [(dict(eps=eps), ValueError, "eps must be > 0") for eps in (0.0, -1e-8)]
BETAS_OUTSIDE_UNIT_INTERVAL = [
    (dict(betas=betas), ValueError, r"betas\[[01]\] must be in \[0, 1\)")
    for betas in [(1.0, 0.999), (-0.1, 0.999), (0.9, 1.0), (0.9, 1.5)]
]
NEGATIVE_MOMENTUM = (dict(momentum=-0.5), ValueError, "momentum must be >= 0")
FULL_BATCH = (
    "a full-batch step runs up to max_iter iterations with line searches: the one-update-"
    "per-step tests (NaN at step 3, resume after 20 steps, no temporaries, any batch size) "
    "do not describe it"
)
BRUTE_FORCE = (
    "a brute-force step rejects a candidate whose loss is not finite instead of stopping, "
    "keeps its best loss in the state, and never asks for a gradient"
)

CASES = {
    "sgd": Case(
        (SGD, dict(momentum=0.0, nesterov=False)),
        [
            *NON_POSITIVE_LR,
            NEGATIVE_MOMENTUM,
            (dict(lr=0.1, nesterov=True), ValueError, "nesterov=True requires momentum > 0"),
            (dict(lr=0.1, momentum_form="torch"), ValueError, "momentum_form"),
            (dict(lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
            (dict(lr=0.1, lr_decay=-1), ValueError, "lr_decay"),
            (dict(lr=float("inf")), ValueError, "finite"),
            (dict(lr="0.1"), TypeError, None),
            (dict(lr=0.1, nesterov=1), TypeError, None),
        ],
        {"plain": dict(lr=0.01)},
    ),
    "momentum": Case(
        (SGD, dict(momentum=0.9, nesterov=False)),
        [
            *NON_POSITIVE_LR,
            (dict(lr=0.1, momentum=0.9, lookahead_gradient=True), ValueError, "lookahead_gradient"),
            (
                dict(lr=0.1, momentum=0.9, dampening=0.5, momentum_form="lecture"),
                ValueError,
                "dampening",
            ),
        ],
        {"dampening": dict(lr=0.01, momentum=0.9, dampening=0.2, weight_decay=0.1)},
    ),
    "nesterov": Case(
        (SGD, dict(momentum=0.9, nesterov=True)),
        [
            *NON_POSITIVE_LR,
            (
                dict(lr=0.1, nesterov=True, momentum=0.9, dampening=0.1),
                ValueError,
                "nesterov=True requires momentum > 0",
            ),
        ],
        {
            "maximize-false": dict(lr=0.01, momentum=0.9, nesterov=True, maximize=False),
            "lecture": dict(
                lr=StepDecay(0.01, 10), momentum=0.9, nesterov=True, momentum_form="lecture"
            ),
            "torch7-nag": dict(
                lr=0.01,
                momentum=0.9,
                nesterov=True,
                momentum_form="lecture",
                lookahead_gradient=True,
            ),
        },
    ),
    "adagrad": Case(
        (Adagrad, dict(lr=1e-2)),
        [
            *NON_POSITIVE_LR,
            *NON_POSITIVE_EPS,
            (dict(initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
        ],
        {
            "options": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
            "lecture": dict(lr=0.1, eps_inside_sqrt=True, weight_decay=0.1),
        },
    ),
    "rmsprop": Case(
        (RMSprop, dict(alpha=0.99)),
        [
            *NON_POSITIVE_LR,
            *NON_POSITIVE_EPS,
            NEGATIVE_MOMENTUM,
            (dict(alpha=1.0), ValueError, "alpha"),
        ],
        {
            "centered-momentum": dict(lr=0.01, centered=True, momentum=0.9),
            "lecture": dict(lr=0.01, eps_inside_sqrt=True),
        },
    ),
    "adam": Case(
        (Adam, dict(betas=(0.9, 0.999))),
        [
            *NON_POSITIVE_LR,
            *NON_POSITIVE_EPS,
            *BETAS_OUTSIDE_UNIT_INTERVAL,
            (dict(betas=(0.9,)), ValueError, "pair"),
            (dict(betas=(0.9, 0.99, 0.999)), ValueError, "pair"),
            (dict(eps_hat=True, eps_inside_sqrt=True), ValueError, "not both"),
            (dict(betas=0.9), TypeError, None),
        ],
        {
            "amsgrad": dict(lr=0.01, amsgrad=True, weight_decay=0.1),
            "torch7": dict(lr=0.01, eps_hat=True),
            "lecture": dict(lr=0.01, bias_correction=False, eps_inside_sqrt=True),
        },
    ),
    "adamw": Case(
        (AdamW, dict(weight_decay=1e-2)),
        [*NON_POSITIVE_LR, *NON_POSITIVE_EPS, *BETAS_OUTSIDE_UNIT_INTERVAL],
        {"default": dict(lr=0.01, maximize=False)},
    ),
    "lbfgs": Case(
        (LBFGS, dict(history_size=100, line_search_fn=None)),
        [(dict(lr=-0.1), ValueError, "lr must be >= 0")],  # PyTorch accepts lr = 0
        NotApplicable(
            FULL_BATCH,
            (
                "test_lbfgs.py::test_a_non_finite_start_is_a_clear_error",
                "test_lbfgs.py::test_state_dict_resumes_exactly",
                "test_minimize.py::test_the_second_order_methods_share_one_loop",
            ),
        ),
    ),
    "bfgs": Case(
        (BFGS, dict(line_search_fn="strong_wolfe", max_memory=None)),
        NON_POSITIVE_LR,
        NotApplicable(
            FULL_BATCH + "; it also keeps a dense n x n matrix",
            (
                "test_minimize.py::test_a_non_finite_start_is_a_clear_error",
                "test_bfgs.py::test_state_persists_across_steps",
                "test_minimize.py::test_bfgs_check_size_refuses_a_matrix_over_the_budget",
            ),
        ),
    ),
    "random-search": Case(
        (RandomSearch, dict(scale=1e-2, seed=0, reevaluate=False)),
        [
            (dict(scale=0.0), ValueError, "scale must be > 0"),
            (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
            (dict(reevaluate=1), TypeError, "reevaluate must be True or False"),
        ],
        NotApplicable(
            BRUTE_FORCE,
            (
                "test_random_search.py::test_a_candidate_with_a_non_finite_loss_is_rejected",
                "test_random_search.py::test_state_dict_resumes_exactly",
            ),
        ),
    ),
    "random-local-search": Case(
        (RandomLocalSearch, dict(lr=1e-3, seed=0)),
        [*NON_POSITIVE_LR, (dict(seed=1.5), ValueError, "seed must be an integer")],
        NotApplicable(
            BRUTE_FORCE,
            (
                "test_random_search.py::test_a_non_finite_start_is_a_clear_error",
                "test_random_search.py::test_state_dict_resumes_exactly",
            ),
        ),
    ),
    "newton": Case(
        (Newton, dict(solver="auto")),
        NON_POSITIVE_LR,
        NotApplicable(
            FULL_BATCH,
            (
                "test_minimize.py::test_the_second_order_methods_share_one_loop",
                "test_minimize.py::test_newton_check_size_refuses_only_a_dense_hessian",
            ),
        ),
    ),
}

CONFIGURED = [
    pytest.param(name, variant, id=f"{name}-{variant}")
    for name in applicable(CASES)
    if not isinstance(CASES[name].configured, NotApplicable)
    for variant in CASES[name].configured
]


def configured(name, variant):
    return get(name, **CASES[name].configured[variant])


def test_every_registered_optimizer_has_a_case():
    check_table(CASES, "test_optim_validation")


def quadratic(x):
    scale = np.arange(1.0, x.size + 1)
    return float(0.5 * np.sum(scale * x * x)), scale * x


def keywords_id(keywords):
    return ",".join(f"{k}={v!r}" for k, v in keywords.items())


@pytest.mark.parametrize(
    "name, keywords, error, match",
    [
        pytest.param(name, *refusal, id=f"{name}-{keywords_id(refusal[0])}")
        for name in applicable(CASES)
        for refusal in CASES[name].refused
    ],
)
def test_bad_hyperparameters_are_refused(name, keywords, error, match):
    with pytest.raises(error, match=match):
        get(name, **keywords)


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


@pytest.mark.parametrize("name, variant", CONFIGURED)
@pytest.mark.parametrize("what", ["gradient", "loss"])
def test_non_finite_evaluation_stops_the_step_and_keeps_x(name, variant, what):
    opt, f = configured(name, variant), nan_after(3, what)
    x = np.linspace(-1, 1, 5)
    for _ in range(3):
        opt.step(f, x)
    before, state_before = x.copy(), opt.state_dict()
    with pytest.raises(DivergenceError, match=f"non-finite {what} at step 3"):
        opt.step(f, x)
    np.testing.assert_array_equal(x, before)
    assert opt.state["step"] == state_before["step"]


@pytest.mark.parametrize("name, variant", CONFIGURED)
def test_state_dict_resumes_bit_for_bit(name, variant):
    straight, x_straight = configured(name, variant), np.linspace(-1, 1, 7)
    for _ in range(40):
        straight.step(quadratic, x_straight)

    first, x = configured(name, variant), np.linspace(-1, 1, 7)
    for _ in range(20):
        first.step(quadratic, x)
    saved = first.state_dict()
    for _ in range(5):  # the saved copy must not follow later steps
        first.step(quadratic, x.copy())
    resumed = configured(name, variant)
    resumed.load_state_dict(saved)
    for _ in range(20):
        resumed.step(quadratic, x)
    np.testing.assert_array_equal(x, x_straight)
    assert resumed.state["step"] == 40


@pytest.mark.parametrize("name, variant", CONFIGURED)
def test_state_is_plain_numbers_and_arrays(name, variant):
    opt = configured(name, variant)
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


@pytest.mark.parametrize("name, variant", CONFIGURED)
def test_steps_do_not_allocate_parameter_sized_arrays(name, variant):
    size = 200_000  # 1.6 MB per float64 array: any temporary would show
    scale = np.linspace(0.5, 1.5, size)
    grad = np.empty(size)

    def f(x):
        np.multiply(scale, x, out=grad)
        return 0.0, grad

    opt, x = configured(name, variant), np.ones(size)
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
    brute_force = ["random-local-search", "random-search"]
    assert names() == sorted(first_order + ["bfgs", "lbfgs", "newton"] + brute_force)


@pytest.mark.parametrize("name", applicable(CASES))
def test_get_builds_the_named_optimizer(name):
    cls, attributes = CASES[name].builds
    opt = get(name)
    assert type(opt) is cls
    for key, value in attributes.items():
        assert getattr(opt, key) == value


def test_names_are_case_insensitive():
    opt = get("AdamW")
    assert type(opt) is AdamW and opt.weight_decay == 1e-2


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


@pytest.mark.parametrize("name, variant", CONFIGURED)
def test_first_order_methods_take_mini_batches_of_any_size(name, variant):
    opt = configured(name, variant)
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
    opt, x = configured("nesterov", "torch7-nag"), np.linspace(-1, 1, 5)
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
