"""Every optimizer and option, side by side with ``torch.optim`` in float64 for 200 steps.

Both sides get their gradients from the same NumPy objective at their own iterate, so the
only difference left is the optimizers' arithmetic; the iterates must agree to 1e-10
relative at every step.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import gradwise as gw
from gradwise.landscape.surfaces import IllConditionedQuadratic
from gradwise.optim.adagrad import Adagrad
from gradwise.optim.adam import Adam, AdamW
from gradwise.optim.rmsprop import RMSprop
from gradwise.optim.schedule import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    SequentialSchedule,
    StepDecay,
)
from gradwise.optim.sgd import SGD

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

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
    """One configuration: gradwise keywords and torch keywords, both from the problem."""

    id: str
    ours: type
    theirs: str  # name in torch.optim
    kwargs: object  # problem -> gradwise keywords
    torch_kwargs: object = None  # problem -> torch keywords (default: the same)
    scheduler: object = None  # (torch optimizer, problem) -> torch scheduler
    maximize: bool = False  # run on -f (with maximize=True on both sides)


def sgd(**kw):
    return lambda p: dict(lr=p.sgd_lr, **kw)


def adaptive(**kw):
    return lambda p: dict(lr=p.adaptive_lr, **kw)


CASES = [
    Case("sgd", SGD, "SGD", sgd()),
    Case("sgd-weight_decay", SGD, "SGD", sgd(weight_decay=0.1)),
    Case("sgd-momentum", SGD, "SGD", sgd(momentum=0.9)),
    Case("sgd-momentum-dampening", SGD, "SGD", sgd(momentum=0.9, dampening=0.3)),
    Case("sgd-nesterov", SGD, "SGD", sgd(momentum=0.9, nesterov=True, weight_decay=0.05)),
    Case("sgd-maximize", SGD, "SGD", sgd(momentum=0.5, maximize=True), maximize=True),
    # The lecture's forms carry lr inside the velocity: same iterates while lr is constant.
    Case(
        "sgd-momentum-lecture-form",
        SGD,
        "SGD",
        sgd(momentum=0.9, momentum_form="lecture"),
        sgd(momentum=0.9),
    ),
    Case(
        "sgd-nesterov-lecture-form",
        SGD,
        "SGD",
        sgd(momentum=0.9, nesterov=True, momentum_form="lecture"),
        sgd(momentum=0.9, nesterov=True),
    ),
    # torch7's learningRateDecay is PyTorch's LambdaLR(1 / (1 + k t)).
    Case(
        "sgd-lr_decay",
        SGD,
        "SGD",
        sgd(momentum=0.9, lr_decay=0.01),
        sgd(momentum=0.9),
        scheduler=lambda opt, p: lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + 0.01 * t)),
    ),
    Case("adagrad", Adagrad, "Adagrad", adaptive()),
    Case(
        "adagrad-options",
        Adagrad,
        "Adagrad",
        adaptive(lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-6),
    ),
    Case("adagrad-maximize", Adagrad, "Adagrad", adaptive(maximize=True), maximize=True),
    Case("rmsprop", RMSprop, "RMSprop", adaptive()),
    # alpha=0.9 makes RMSprop close to sign descent: once gradients vanish, a one-ulp
    # difference grows to the size of a step (chaos, in any two implementations), so this
    # case runs where its steps still contract.
    Case(
        "rmsprop-hinton-alpha",
        RMSprop,
        "RMSprop",
        lambda p: dict(lr=p.adaptive_lr / 10, alpha=0.9, eps=1e-3),
    ),
    Case("rmsprop-centered", RMSprop, "RMSprop", adaptive(centered=True)),
    Case("rmsprop-momentum", RMSprop, "RMSprop", adaptive(momentum=0.9, weight_decay=0.05)),
    Case(
        "rmsprop-centered-momentum",
        RMSprop,
        "RMSprop",
        adaptive(momentum=0.5, centered=True, maximize=True),
        maximize=True,
    ),
    Case("adam", Adam, "Adam", adaptive()),
    Case("adam-betas-eps", Adam, "Adam", adaptive(betas=(0.8, 0.99), eps=1e-6)),
    Case("adam-weight_decay", Adam, "Adam", adaptive(weight_decay=0.1)),
    Case("adam-amsgrad", Adam, "Adam", adaptive(amsgrad=True)),
    Case("adam-maximize", Adam, "Adam", adaptive(maximize=True), maximize=True),
    Case("adamw", AdamW, "AdamW", adaptive()),
    Case("adamw-amsgrad", AdamW, "AdamW", adaptive(weight_decay=0.1, amsgrad=True)),
    # Schedules as hyperparameters equal PyTorch's schedulers stepped once per step.
    Case(
        "sgd-momentum-step-decay",
        SGD,
        "SGD",
        lambda p: dict(lr=StepDecay(p.sgd_lr, 30, 0.5), momentum=0.9),
        sgd(momentum=0.9),
        scheduler=lambda opt, p: lr_scheduler.StepLR(opt, 30, 0.5),
    ),
    Case(
        "adagrad-inverse-time",
        Adagrad,
        "Adagrad",
        lambda p: dict(lr=InverseTimeDecay(p.adaptive_lr, 0.05)),
        adaptive(),
        scheduler=lambda opt, p: lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + 0.05 * t)),
    ),
    Case(
        "rmsprop-exponential",
        RMSprop,
        "RMSprop",
        lambda p: dict(lr=ExponentialDecay(p.adaptive_lr, 0.01), momentum=0.5),
        adaptive(momentum=0.5),
        scheduler=lambda opt, p: lr_scheduler.ExponentialLR(opt, math.exp(-0.01)),
    ),
    Case(
        "adam-cosine",
        Adam,
        "Adam",
        lambda p: dict(lr=CosineDecay(p.adaptive_lr, STEPS, final=1e-4)),
        adaptive(),
        scheduler=lambda opt, p: lr_scheduler.CosineAnnealingLR(opt, STEPS, eta_min=1e-4),
    ),
    Case(
        "adamw-warmup-then-cosine",
        AdamW,
        "AdamW",
        lambda p: dict(
            lr=SequentialSchedule(
                [LinearWarmup(p.adaptive_lr, 20, 0.1), CosineDecay(p.adaptive_lr, 180)], [20]
            )
        ),
        adaptive(),
        scheduler=lambda opt, p: lr_scheduler.SequentialLR(
            opt,
            [
                lr_scheduler.LinearLR(opt, 0.1, 1.0, total_iters=20),
                lr_scheduler.CosineAnnealingLR(opt, 180),
            ],
            milestones=[20],
        ),
    ),
]


def negated(f):
    def g(x):
        loss, grad = f(x)
        return -loss, -grad

    return g


def run_side_by_side(case, problem):
    """Yield (step, ours, theirs) for STEPS steps."""
    f_ours, f_theirs = problem.make_objective(), problem.make_objective()
    if case.maximize:
        f_ours, f_theirs = negated(f_ours), negated(f_theirs)
    ours = case.ours(**case.kwargs(problem))
    torch_kwargs = (case.torch_kwargs or case.kwargs)(problem)
    x = problem.x0.copy()
    param = torch.tensor(problem.x0.copy(), dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, case.theirs)([param], **torch_kwargs)
    scheduler = case.scheduler(theirs, problem) if case.scheduler else None
    for step in range(STEPS):
        ours.step(f_ours, x)
        _, grad = f_theirs(param.detach().numpy())
        param.grad = torch.from_numpy(np.array(grad, dtype=np.float64))
        theirs.step()
        if scheduler is not None:
            scheduler.step()
        yield step, x, param.detach().numpy()


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_iterates_match_torch_optim(case, problem):
    moved = 0.0
    for step, ours, theirs in run_side_by_side(case, problem):
        error = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
        assert error <= RELATIVE_TOLERANCE, f"step {step}: relative difference {error:.3g}"
        moved = max(moved, np.max(np.abs(theirs - problem.x0)))
    # A comparison of iterates that never moved would prove nothing.
    assert moved > 1e-2


SAME_KEYWORDS = [c for c in CASES if not c.scheduler and not c.torch_kwargs]


@pytest.mark.parametrize("case", SAME_KEYWORDS, ids=lambda c: c.id)
def test_state_matches_torch_state(case):
    """The state holds PyTorch's buffers, same values, under PyTorch's names (plus 'step')."""
    problem = PROBLEMS[0]
    f = problem.make_objective()
    ours = case.ours(**case.kwargs(problem))
    x = problem.x0.copy()
    param = torch.tensor(problem.x0.copy(), requires_grad=True)
    theirs = getattr(torch.optim, case.theirs)(
        [param], **(case.torch_kwargs or case.kwargs)(problem)
    )
    for _ in range(2):
        ours.step(f, x)
        param.grad = torch.from_numpy(np.array(f(param.detach().numpy())[1]))
        theirs.step()
    their_state = theirs.state[param]
    assert set(ours.state_dict()) - {"step"} == set(their_state) - {"step"}
    for name, value in ours.state_dict().items():
        if name != "step":
            np.testing.assert_allclose(value, their_state[name].numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "make_ours, theirs, kwargs",
    [
        (SGD, "SGD", dict(lr=1e-3, momentum=0.9)),
        (RMSprop, "RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
        (Adagrad, "Adagrad", dict(lr=1e-2)),
        (Adam, "Adam", dict(lr=1e-2, amsgrad=True)),
    ],
    ids=["sgd", "rmsprop", "adagrad", "adam"],
)
def test_resumes_from_torch_state(make_ours, theirs, kwargs):
    """A PyTorch state (tensors under PyTorch's names) loads and continues identically."""
    problem = PROBLEMS[0]
    f = problem.make_objective()
    param = torch.tensor(problem.x0.copy(), requires_grad=True)
    torch_opt = getattr(torch.optim, theirs)([param], **kwargs)

    def torch_step():
        param.grad = torch.from_numpy(np.array(f(param.detach().numpy())[1]))
        torch_opt.step()

    for _ in range(30):
        torch_step()
    ours = make_ours(**kwargs)
    # torch's SGD keeps no step count; ours needs one (schedules and lr_decay read it).
    ours.load_state_dict({"step": 30, **torch_opt.state[param]})
    x = param.detach().numpy().copy()
    for _ in range(30):
        ours.step(f, x)
        torch_step()
    np.testing.assert_allclose(x, param.detach().numpy(), rtol=1e-10, atol=0)
