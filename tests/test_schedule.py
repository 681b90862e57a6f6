"""Schedules equal the matching ``torch.optim.lr_scheduler`` value by value over 100 steps."""

import math

import numpy as np
import pytest

from gradwise.optim.schedule import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    SequentialSchedule,
    StepDecay,
    with_warmup,
)
from gradwise.optim.sgd import SGD

STEPS = 100


def torch_values(torch, initial, make_scheduler, steps=STEPS):
    """The lr PyTorch uses at steps 0..steps-1 (scheduler stepped after each step)."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=initial)
    scheduler = make_scheduler(torch.optim.lr_scheduler, optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(values)


PAIRS = [
    (
        "step",
        StepDecay(0.1, step_size=7, gamma=0.5),
        lambda lr_scheduler, o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    (
        "exponential",
        ExponentialDecay(0.1, rate=0.03),
        lambda lr_scheduler, o: lr_scheduler.ExponentialLR(o, gamma=math.exp(-0.03)),
    ),
    (
        "inverse-time",
        InverseTimeDecay(0.1, rate=0.2),
        lambda lr_scheduler, o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.2 * t)),
    ),
    (
        "cosine",
        CosineDecay(0.1, total_steps=STEPS, final=1e-3),
        lambda lr_scheduler, o: lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=1e-3),
    ),
    (
        "cosine-to-zero",
        CosineDecay(0.1, total_steps=STEPS),
        lambda lr_scheduler, o: lr_scheduler.CosineAnnealingLR(o, T_max=STEPS),
    ),
    (
        "warmup",
        LinearWarmup(0.1, warmup_steps=10, start_factor=0.25),
        lambda lr_scheduler, o: lr_scheduler.LinearLR(
            o, start_factor=0.25, end_factor=1.0, total_iters=10
        ),
    ),
    (
        "warmup-default-start",
        LinearWarmup(0.1, warmup_steps=8),
        lambda lr_scheduler, o: lr_scheduler.LinearLR(
            o, start_factor=1 / 8, end_factor=1.0, total_iters=8
        ),
    ),
    (
        "warmup-then-cosine",
        SequentialSchedule([LinearWarmup(0.1, 10, 0.1), CosineDecay(0.1, 90, 1e-4)], [10]),
        lambda lr_scheduler, o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, 0.1, 1.0, total_iters=10),
                lr_scheduler.CosineAnnealingLR(o, 90, eta_min=1e-4),
            ],
            milestones=[10],
        ),
    ),
    (
        "warmup-then-step-then-exponential",
        SequentialSchedule(
            [LinearWarmup(0.1, 5, 0.2), StepDecay(0.1, 10, 0.5), ExponentialDecay(0.1, 0.05)],
            [5, 40],
        ),
        lambda lr_scheduler, o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, 0.2, 1.0, total_iters=5),
                lr_scheduler.StepLR(o, 10, 0.5),
                lr_scheduler.ExponentialLR(o, math.exp(-0.05)),
            ],
            milestones=[5, 40],
        ),
    ),
]


@pytest.mark.parametrize("ours, make_theirs", [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_matches_torch_scheduler(torch, ours, make_theirs):
    theirs = torch_values(torch, 0.1, make_theirs)
    values = np.array([ours(t) for t in range(STEPS)])
    # PyTorch computes several of these recursively (lr_t from lr_{t-1}): a few ulps apart.
    np.testing.assert_allclose(values, theirs, rtol=1e-12, atol=1e-15)


def test_lecture_formulas():
    assert ExponentialDecay(2.0, 0.1)(10) == pytest.approx(2.0 * math.exp(-1.0))
    assert InverseTimeDecay(2.0, 0.1)(10) == pytest.approx(1.0)
    halving = StepDecay(1.0, step_size=5)
    assert [halving(t) for t in (0, 4, 5, 9, 10, 15)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_cosine_stays_at_final_value_after_total_steps():
    cosine = CosineDecay(1.0, total_steps=10, final=0.1)
    assert cosine(10) == cosine(25) == 0.1
    assert cosine(5) == pytest.approx(0.55)


def test_warmup_reaches_and_keeps_target():
    warmup = LinearWarmup(0.5, warmup_steps=4, start_factor=0.0)
    assert [warmup(t) for t in range(6)] == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]


def test_with_warmup_starts_the_decay_at_its_first_value():
    decay = ExponentialDecay(0.1, 0.01)
    schedule = with_warmup(decay, 10, start_factor=0.1)
    assert schedule(0) == pytest.approx(0.01)
    assert schedule(10) == decay(0)
    assert schedule(30) == decay(20)


def test_schedule_drives_any_hyperparameter():
    """A momentum schedule is read once per step, at the number of steps taken so far."""
    seen = []

    def momentum(t):
        seen.append(t)
        return 0.5 if t < 3 else 0.9

    opt = SGD(0.1, momentum=momentum)
    x = np.ones(3)
    for _ in range(5):
        opt.step(lambda v: (float(v @ v), 2 * v), x)
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StepDecay(0.1, 0), "step_size"),
        (lambda: StepDecay(0.1, 2.5), "step_size"),
        (lambda: StepDecay(0.1, 5, gamma=0), "gamma"),
        (lambda: ExponentialDecay(0.1, -1), "rate"),
        (lambda: InverseTimeDecay(float("nan"), 1), "initial"),
        (lambda: CosineDecay(0.1, 0), "total_steps"),
        (lambda: LinearWarmup(0.1, 5, start_factor=1.5), "start_factor"),
        (lambda: SequentialSchedule([StepDecay(1, 1)], [3]), "milestones"),
        (
            lambda: SequentialSchedule([StepDecay(1, 1), StepDecay(1, 1), StepDecay(1, 1)], [5, 5]),
            "increase",
        ),
    ],
)
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_negative_step_is_rejected():
    with pytest.raises(ValueError, match="t >= 0"):
        StepDecay(0.1, 5)(-1)


def test_repr_names_the_parameters():
    assert repr(ExponentialDecay(0.1, 0.5)) == "ExponentialDecay(initial=0.1, rate=0.5)"
