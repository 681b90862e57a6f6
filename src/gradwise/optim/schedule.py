"""Schedules: plain callables ``t -> value`` for any hyperparameter.

``t`` is the number of optimizer steps taken so far (0 on the first step), which is what an
optimizer passes when it resolves a hyperparameter. Each schedule gives, step by step, the
value that the named ``torch.optim.lr_scheduler`` sets when ``scheduler.step()`` is called
once after every ``optimizer.step()``. To decay per epoch rather than per step, count the
steps of an epoch into the arguments (e.g. ``step_size=epochs * batches_per_epoch``).
"""

import math
import numbers

from .._validate import count, in_unit_interval, non_negative, positive

#: The learning-rate schedules that :func:`from_spec` reads (given in epochs), as the command
#: line and the classifiers accept them.
SCHEDULE_HELP = "none, step:EPOCHS[:GAMMA], exp:RATE, inv:RATE or cosine[:FINAL_LR]"


class Schedule:
    """Base class: ``schedule(t)`` is the value at step ``t`` (``t >= 0``)."""

    def __call__(self, t):
        if t < 0:
            raise ValueError(f"a schedule is evaluated at steps t >= 0, got {t}")
        return self.value(t)

    def value(self, t):
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class StepDecay(Schedule):
    """``initial * gamma ** floor(t / step_size)``: "halve the learning rate every k epochs".

    Equals ``torch.optim.lr_scheduler.StepLR(step_size, gamma)`` and the lecture's step decay.
    """

    def __init__(self, initial, step_size, gamma=0.5):
        self.initial = _value("initial", initial)
        self.step_size = count("step_size", step_size)
        self.gamma = positive("gamma", gamma)

    def value(self, t):
        return self.initial * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """``initial * exp(-rate * t)``, the lecture's exponential decay ``a0 * e^(-k t)``.

    Equals ``torch.optim.lr_scheduler.ExponentialLR(gamma=exp(-rate))``.
    """

    def __init__(self, initial, rate):
        self.initial = _value("initial", initial)
        self.rate = non_negative("rate", rate)

    def value(self, t):
        return self.initial * math.exp(-self.rate * t)


class InverseTimeDecay(Schedule):
    """``initial / (1 + rate * t)``, the lecture's 1/t decay ``a0 / (1 + k t)``.

    torch7's ``learningRateDecay`` (``optim.sgd``, ``optim.adagrad``) and PyTorch Adagrad's
    ``lr_decay`` are this schedule with ``rate = lr_decay``. Equals
    ``torch.optim.lr_scheduler.LambdaLR(lr_lambda=lambda t: 1 / (1 + rate * t))``.
    """

    def __init__(self, initial, rate):
        self.initial = _value("initial", initial)
        self.rate = non_negative("rate", rate)

    def value(self, t):
        return self.initial / (1 + self.rate * t)


class CosineDecay(Schedule):
    """``final + (initial - final) * (1 + cos(pi * t / total_steps)) / 2``, then ``final``.

    Equals ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=total_steps, eta_min=final)``
    for ``t <= total_steps``; after that this schedule stays at ``final``, where PyTorch's
    keeps following the cosine back up.
    """

    def __init__(self, initial, total_steps, final=0.0):
        self.initial = _value("initial", initial)
        self.total_steps = count("total_steps", total_steps)
        self.final = _value("final", final)

    def value(self, t):
        if t >= self.total_steps:
            return self.final
        cosine = (1 + math.cos(math.pi * t / self.total_steps)) / 2
        return self.final + (self.initial - self.final) * cosine


class LinearWarmup(Schedule):
    """``target * (start_factor + (1 - start_factor) * min(t, warmup_steps) / warmup_steps)``.

    Ramps linearly from ``start_factor * target`` at ``t = 0`` to ``target`` at
    ``t = warmup_steps`` and stays there. ``start_factor`` defaults to ``1 / warmup_steps``.
    Equals ``torch.optim.lr_scheduler.LinearLR(start_factor, end_factor=1.0,
    total_iters=warmup_steps)``.
    """

    def __init__(self, target, warmup_steps, start_factor=None):
        self.target = _value("target", target)
        self.warmup_steps = count("warmup_steps", warmup_steps)
        if start_factor is None:
            start_factor = 1.0 / self.warmup_steps
        self.start_factor = in_unit_interval("start_factor", start_factor, closed_right=True)

    def value(self, t):
        progress = min(t, self.warmup_steps) / self.warmup_steps
        return self.target * (self.start_factor + (1 - self.start_factor) * progress)


class SequentialSchedule(Schedule):
    """``schedules[i](t - milestones[i-1])`` for ``milestones[i-1] <= t < milestones[i]``.

    Each schedule restarts its own clock at its milestone, as in
    ``torch.optim.lr_scheduler.SequentialLR(schedulers, milestones)``. Warm-up then decay:
    ``SequentialSchedule([LinearWarmup(0.1, 5), CosineDecay(0.1, 95)], milestones=[5])``
    (or :func:`with_warmup`).
    """

    def __init__(self, schedules, milestones):
        self.schedules = list(schedules)
        self.milestones = [count("milestone", m) for m in milestones]
        if not self.schedules or not all(callable(s) for s in self.schedules):
            raise TypeError("schedules must be a non-empty list of callables t -> value")
        if len(self.milestones) != len(self.schedules) - 1:
            raise ValueError(
                f"{len(self.schedules)} schedules need {len(self.schedules) - 1} milestones, "
                f"got {len(self.milestones)}"
            )
        if any(a >= b for a, b in zip(self.milestones, self.milestones[1:], strict=False)):
            raise ValueError(f"milestones must increase, got {self.milestones}")

    def value(self, t):
        start = 0
        for schedule, milestone in zip(self.schedules, self.milestones, strict=False):
            if t < milestone:
                return schedule(t - start)
            start = milestone
        return self.schedules[-1](t - start)


def with_warmup(schedule, warmup_steps, start_factor=None):
    """``schedule`` preceded by a linear warm-up to its first value over ``warmup_steps``."""
    if not callable(schedule):
        raise TypeError(f"schedule must be a callable t -> value, got {type(schedule).__name__}")
    warmup = LinearWarmup(schedule(0), warmup_steps, start_factor)
    return SequentialSchedule([warmup, schedule], [warmup_steps])


def _value(name, value):
    """A schedule's start or end value: a finite real number >= 0, as every hyperparameter
    an optimizer accepts is (a negative learning rate would climb the loss)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number >= 0, got {value!r}")
    if value < 0:
        raise ValueError(
            f"{name} must be >= 0 (a schedule's values are hyperparameters), got {value!r}"
        )
    return value


def from_spec(spec, lr, steps_per_epoch, epochs):
    """A learning-rate schedule ``t -> lr`` (``t`` in steps) from a spec given in epochs.

    ``none``: constant. ``step:E[:G]``: multiply by ``G`` (default 0.5) every ``E`` epochs.
    ``exp:K``: ``lr * exp(-K * epoch)``. ``inv:K``: ``lr / (1 + K * epoch)``.
    ``cosine[:F]``: cosine from ``lr`` to ``F`` (default 0) over the whole run. ``epoch`` is
    ``t / steps_per_epoch`` (fractional), so the decay is smooth across an epoch's steps.
    """
    if spec is None or callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"schedule must be a string ({SCHEDULE_HELP}) or a callable")
    name, *args = spec.strip().lower().split(":")
    try:
        numbers = [float(a) for a in args]
    except ValueError:
        raise ValueError(f"bad schedule {spec!r}: expected {SCHEDULE_HELP}") from None
    if not all(0 <= n < math.inf for n in numbers):
        raise ValueError(f"bad schedule {spec!r}: its numbers must be finite and >= 0")
    allowed = {"none": 0, "step": 2, "exp": 1, "inv": 1, "cosine": 1}
    required = {"none": 0, "step": 1, "exp": 1, "inv": 1, "cosine": 0}
    if name not in allowed or not required[name] <= len(numbers) <= allowed[name]:
        raise ValueError(f"bad schedule {spec!r}: expected {SCHEDULE_HELP}")
    if name == "none":
        return None
    if name == "step":
        every = numbers[0]
        if every < 1 or every != int(every):
            raise ValueError(f"step decay needs a whole number of epochs >= 1, got {args[0]}")
        gamma = numbers[1] if len(numbers) > 1 else 0.5
        return StepDecay(lr, int(every) * steps_per_epoch, gamma)
    if name == "exp":
        return ExponentialDecay(lr, numbers[0] / steps_per_epoch)
    if name == "inv":
        return InverseTimeDecay(lr, numbers[0] / steps_per_epoch)
    final = numbers[0] if numbers else 0.0
    return CosineDecay(lr, max(1, epochs * steps_per_epoch), final)
