"""Every optimizer and option, side by side with ``torch.optim`` in float64 for 200 steps.

Both sides get their gradients from the same NumPy objective at their own iterate, so the
only difference left is the optimizers' arithmetic; the iterates must agree to 1e-10
relative at every step. ``CASES`` has an entry for every registered optimizer name: its
twin in ``torch.optim`` and the configurations to compare, or why there is none.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import gradwise as gw
from gradwise.landscape.surfaces import IllConditionedQuadratic
from gradwise.optim import registry
from gradwise.optim.schedule import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    SequentialSchedule,
    StepDecay,
)
from optimizer_cases import NotApplicable, applicable, check_table

STEPS = 200
RELATIVE_TOLERANCE = 1e-10


@dataclass
class Problem:
    name: str
    make_objective: object  # () -> f(x) -> (loss, grad)
    x0: np.ndarray
    sgd_lr: float  # stable for plain gradient descent
    adaptive_lr: float  # for the methods that normalise the gradient


def quadratic_problem():
    quadratic = IllConditionedQuadratic(dim=20, condition=1e3, seed=1)
    x0 = np.random.default_rng(2).standard_normal(20)
    return Problem("quadratic", lambda: quadratic, x0, sgd_lr=1e-3, adaptive_lr=1e-2)


def softmax_problem():
    rng = np.random.default_rng(3)
    n, d, c = 60, 8, 4
    centers = 2.0 * rng.standard_normal((c, d))
    y = rng.integers(0, c, size=n)
    X = centers[y] + rng.standard_normal((n, d))

    def make_objective():
        model = gw.nn.Linear(d, c, init="xavier", seed=4, dtype=np.float64)
        loss = gw.nn.SoftmaxCrossEntropy()
        return gw.objective(model, loss, X, y, penalty=gw.nn.L2(1e-3))

    x0 = make_objective().x.copy()
    return Problem("softmax", make_objective, x0, sgd_lr=0.5, adaptive_lr=0.05)


PROBLEMS = [quadratic_problem(), softmax_problem()]


@dataclass
class Case:
    """One configuration: keywords of ``registry.get(name, ...)`` and of the torch class."""

    id: str
    kwargs: object  # problem -> gradwise keywords
    torch_kwargs: object = None  # problem -> torch keywords (default: the same)
    scheduler: object = None  # (torch.optim.lr_scheduler, torch optimizer, problem) -> scheduler
    maximize: bool = False  # run on -f (with maximize=True on both sides)
    resume: bool = False  # also resume ours from torch's state (test_resumes_from_torch_state)


@dataclass
class Torch:
    """A name's twin in ``torch.optim`` and the configurations run side by side with it."""

    optimizer: str  # name in torch.optim
    cases: list


def sgd(**kw):
    return lambda p: dict(lr=p.sgd_lr, **kw)


def adaptive(**kw):
    return lambda p: dict(lr=p.adaptive_lr, **kw)


# The names' own keywords (momentum=0.9 for "momentum", nesterov=True for "nesterov") are
# written out: torch gets the same keywords.
CASES = {
    "sgd": Torch(
        "SGD",
        [
            Case("plain", sgd()),
            Case("weight_decay", sgd(weight_decay=0.1)),
            Case("maximize", sgd(momentum=0.5, maximize=True), maximize=True),
        ],
    ),
    "momentum": Torch(
        "SGD",
        [
            Case("default", sgd(momentum=0.9), resume=True),
            Case("dampening", sgd(momentum=0.9, dampening=0.3)),
            # The lecture's form carries lr inside the velocity: same iterates while lr is
            # constant.
            Case("lecture-form", sgd(momentum=0.9, momentum_form="lecture"), sgd(momentum=0.9)),
            # torch7's learningRateDecay is PyTorch's LambdaLR(1 / (1 + k t)).
            Case(
                "lr_decay",
                sgd(momentum=0.9, lr_decay=0.01),
                sgd(momentum=0.9),
                scheduler=lambda s, opt, p: s.LambdaLR(opt, lambda t: 1 / (1 + 0.01 * t)),
            ),
            # Schedules as hyperparameters equal PyTorch's schedulers stepped once per step.
            Case(
                "step-decay",
                lambda p: dict(lr=StepDecay(p.sgd_lr, 30, 0.5), momentum=0.9),
                sgd(momentum=0.9),
                scheduler=lambda s, opt, p: s.StepLR(opt, 30, 0.5),
            ),
        ],
    ),
    "nesterov": Torch(
        "SGD",
        [
            Case("weight_decay", sgd(momentum=0.9, nesterov=True, weight_decay=0.05)),
            Case(
                "lecture-form",
                sgd(momentum=0.9, nesterov=True, momentum_form="lecture"),
                sgd(momentum=0.9, nesterov=True),
            ),
        ],
    ),
    "adagrad": Torch(
        "Adagrad",
        [
            Case("default", adaptive(), resume=True),
            Case(
                "options",
                adaptive(lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-6),
            ),
            Case("maximize", adaptive(maximize=True), maximize=True),
            Case(
                "inverse-time",
                lambda p: dict(lr=InverseTimeDecay(p.adaptive_lr, 0.05)),
                adaptive(),
                scheduler=lambda s, opt, p: s.LambdaLR(opt, lambda t: 1 / (1 + 0.05 * t)),
            ),
        ],
    ),
    "rmsprop": Torch(
        "RMSprop",
        [
            Case("default", adaptive()),
            # alpha=0.9 makes RMSprop close to sign descent: once gradients vanish, a one-ulp
            # difference grows to the size of a step (chaos, in any two implementations), so
            # this case runs where its steps still contract.
            Case("hinton-alpha", lambda p: dict(lr=p.adaptive_lr / 10, alpha=0.9, eps=1e-3)),
            Case("centered", adaptive(centered=True)),
            Case("momentum", adaptive(momentum=0.9, weight_decay=0.05)),
            Case("centered-momentum", adaptive(momentum=0.5, centered=True), resume=True),
            Case(
                "centered-momentum-maximize",
                adaptive(momentum=0.5, centered=True, maximize=True),
                maximize=True,
            ),
            Case(
                "exponential",
                lambda p: dict(lr=ExponentialDecay(p.adaptive_lr, 0.01), momentum=0.5),
                adaptive(momentum=0.5),
                scheduler=lambda s, opt, p: s.ExponentialLR(opt, math.exp(-0.01)),
            ),
        ],
    ),
    "adam": Torch(
        "Adam",
        [
            Case("default", adaptive()),
            Case("betas-eps", adaptive(betas=(0.8, 0.99), eps=1e-6)),
            Case("weight_decay", adaptive(weight_decay=0.1)),
            Case("amsgrad", adaptive(amsgrad=True), resume=True),
            Case("maximize", adaptive(maximize=True), maximize=True),
            Case(
                "cosine",
                lambda p: dict(lr=CosineDecay(p.adaptive_lr, STEPS, final=1e-4)),
                adaptive(),
                scheduler=lambda s, opt, p: s.CosineAnnealingLR(opt, STEPS, eta_min=1e-4),
            ),
        ],
    ),
    "adamw": Torch(
        "AdamW",
        [
            Case("default", adaptive()),
            Case("amsgrad", adaptive(weight_decay=0.1, amsgrad=True)),
            Case(
                "warmup-then-cosine",
                lambda p: dict(
                    lr=SequentialSchedule(
                        [LinearWarmup(p.adaptive_lr, 20, 0.1), CosineDecay(p.adaptive_lr, 180)],
                        [20],
                    )
                ),
                adaptive(),
                scheduler=lambda s, opt, p: s.SequentialLR(
                    opt,
                    [s.LinearLR(opt, 0.1, 1.0, total_iters=20), s.CosineAnnealingLR(opt, 180)],
                    milestones=[20],
                ),
            ),
        ],
    ),
    "lbfgs": NotApplicable(
        "torch.optim.LBFGS evaluates a closure many times per step, not one given gradient: "
        "its parity (iterates, losses, counters) is run on digits in test_lbfgs.py",
        ("test_lbfgs.py::test_iterates_match_torch",),
    ),
    "bfgs": NotApplicable(
        "torch has no BFGS: it is pinned to SciPy's optimum and to the secant equation",
        (
            "test_minimize.py::test_every_method_reaches_scipys_optimum_on_digits",
            "test_bfgs.py::test_update_satisfies_the_secant_equation",
        ),
    ),
    "random-search": NotApplicable(
        "torch has no random search: it is pinned to the lecture source's loop in NumPy",
        ("test_random_search.py::test_random_search_is_the_sources_loop",),
    ),
    "random-local-search": NotApplicable(
        "torch has no random local search: it is pinned to the lecture source's loop in NumPy",
        ("test_random_search.py::test_random_local_search_is_the_sources_loop",),
    ),
    "newton": NotApplicable(
        "torch has no Newton method: it is pinned to SciPy's optimum, its Hessian to "
        "torch.autograd's, and Newton-CG to the exact solver",
        (
            "test_minimize.py::test_every_method_reaches_scipys_optimum_on_digits",
            "test_hessian.py::test_exact_hessian_matches_torch",
            "test_newton.py::test_newton_cg_matches_the_exact_solver",
        ),
    ),
}

ALL = [
    pytest.param(name, case, id=f"{name}-{case.id}")
    for name in applicable(CASES)
    for case in CASES[name].cases
]


def test_every_registered_optimizer_has_a_case():
    check_table(CASES, "test_optim_parity")


def negated(f):
    def g(x):
        loss, grad = f(x)
        return -loss, -grad

    return g


def run_side_by_side(torch, name, case, problem):
    """Yield (step, ours, theirs) for STEPS steps."""
    f_ours, f_theirs = problem.make_objective(), problem.make_objective()
    if case.maximize:
        f_ours, f_theirs = negated(f_ours), negated(f_theirs)
    ours = registry.get(name, **case.kwargs(problem))
    torch_kwargs = (case.torch_kwargs or case.kwargs)(problem)
    x = problem.x0.copy()
    param = torch.tensor(problem.x0.copy(), dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, CASES[name].optimizer)([param], **torch_kwargs)
    schedulers = torch.optim.lr_scheduler
    scheduler = case.scheduler(schedulers, theirs, problem) if case.scheduler else None
    for step in range(STEPS):
        ours.step(f_ours, x)
        _, grad = f_theirs(param.detach().numpy())
        param.grad = torch.from_numpy(np.array(grad, dtype=np.float64))
        theirs.step()
        if scheduler is not None:
            scheduler.step()
        yield step, x, param.detach().numpy()


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("name, case", ALL)
def test_iterates_match_torch_optim(torch, name, case, problem):
    moved = 0.0
    for step, ours, theirs in run_side_by_side(torch, name, case, problem):
        error = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
        assert error <= RELATIVE_TOLERANCE, f"step {step}: relative difference {error:.3g}"
        moved = max(moved, np.max(np.abs(theirs - problem.x0)))
    # A comparison of iterates that never moved would prove nothing.
    assert moved > 1e-2


SAME_KEYWORDS = [p for p in ALL if not p.values[1].scheduler and not p.values[1].torch_kwargs]


@pytest.mark.parametrize("name, case", SAME_KEYWORDS)
def test_state_matches_torch_state(torch, name, case):
    """The state holds PyTorch's buffers, same values, under PyTorch's names (plus 'step')."""
    problem = PROBLEMS[0]
    f = problem.make_objective()
    ours = registry.get(name, **case.kwargs(problem))
    x = problem.x0.copy()
    param = torch.tensor(problem.x0.copy(), requires_grad=True)
    theirs = getattr(torch.optim, CASES[name].optimizer)(
        [param], **(case.torch_kwargs or case.kwargs)(problem)
    )
    for _ in range(2):
        ours.step(f, x)
        param.grad = torch.from_numpy(np.array(f(param.detach().numpy())[1]))
        theirs.step()
    their_state = theirs.state[param]
    assert set(ours.state_dict()) - {"step"} == set(their_state) - {"step"}
    for key, value in ours.state_dict().items():
        if key != "step":
            np.testing.assert_allclose(value, their_state[key].numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, case", [p for p in ALL if p.values[1].resume])
def test_resumes_from_torch_state(torch, name, case):
    """A PyTorch state (tensors under PyTorch's names) loads and continues identically."""
    problem = PROBLEMS[0]
    f = problem.make_objective()
    kwargs = case.kwargs(problem)
    param = torch.tensor(problem.x0.copy(), requires_grad=True)
    torch_opt = getattr(torch.optim, CASES[name].optimizer)([param], **kwargs)

    def torch_step():
        param.grad = torch.from_numpy(np.array(f(param.detach().numpy())[1]))
        torch_opt.step()

    for _ in range(30):
        torch_step()
    ours = registry.get(name, **kwargs)
    # torch's SGD keeps no step count; ours needs one (schedules and lr_decay read it).
    ours.load_state_dict({"step": 30, **torch_opt.state[param]})
    x = param.detach().numpy().copy()
    for _ in range(30):
        ours.step(f, x)
        torch_step()
    np.testing.assert_allclose(x, param.detach().numpy(), rtol=1e-10, atol=0)
