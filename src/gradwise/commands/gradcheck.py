"""``gradwise gradcheck``: analytic vs numerical gradients of a model, loss and penalty."""

import numpy as np

from .. import nn
from .._memory import default_memory_limit, human_bytes
from ..calculus.gradcheck import gradient_check
from ..calculus.objective import objective

#: ``--penalty`` names: the registered penalties, and ``none``.
PENALTY_NAMES = ("none", *nn.PENALTIES)


def register(subparsers):
    p = subparsers.add_parser(
        "gradcheck",
        help="check analytic gradients against numerical ones (float64)",
        description="Build a model, loss and penalty on random data in float64 and compare "
        "the analytic gradient with centred finite differences. Exit code 1 if it is wrong.",
    )
    p.add_argument("--model", choices=("linear", "mlp"), default="linear")
    p.add_argument("--loss", choices=tuple(nn.LOSSES), default="softmax")
    p.add_argument("--penalty", choices=PENALTY_NAMES, default="l2")
    p.add_argument("--reg", type=float, default=1e-2, help="penalty strength lam (default 1e-2)")
    p.add_argument("--samples", type=int, default=32, help="rows of random data (default 32)")
    p.add_argument("--features", type=int, default=48, help="input features (default 48)")
    p.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    p.add_argument("--hidden", type=int, default=16, help="hidden units for --model mlp")
    p.add_argument("--num-checks", type=int, default=None, help="check a random sample only")
    p.add_argument("--eps", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def build_model(kind, features, classes, hidden, seed):
    if kind == "linear":
        return nn.Linear(features, classes, init="xavier", seed=seed, dtype=np.float64)
    return nn.Sequential(
        nn.Linear(features, hidden, init="he", seed=seed, dtype=np.float64),
        nn.ReLU(),
        nn.Linear(hidden, classes, init="xavier", seed=seed + 1, dtype=np.float64),
    )


def memory_needed(model, samples, features, classes, hidden):
    """Bytes the check needs, roughly: the data (and a copy), the parameters with their
    gradients and the check's vectors, and the activations of a forward and backward pass."""
    parameters = features * classes + classes
    width = classes
    if model == "mlp":
        parameters = features * hidden + hidden + hidden * classes + classes
        width += 2 * hidden
    return 8 * (2 * samples * features + 6 * parameters + 4 * samples * width)


def check_memory(args, limit=None):
    """Refuse sizes a typo away (``--samples 100000000``) before anything is allocated."""
    limit = default_memory_limit() if limit is None else limit
    needed = memory_needed(args.model, args.samples, args.features, args.classes, args.hidden)
    if needed > limit:
        raise ValueError(
            f"--samples {args.samples} --features {args.features} --classes {args.classes}"
            f"{f' --hidden {args.hidden}' if args.model == 'mlp' else ''} need about "
            f"{human_bytes(needed)}, over the {human_bytes(limit)} memory budget (a quarter of the "
            "physical memory); a gradient check needs a few dozen rows and features"
        )


def run(args):
    for name in ("samples", "features", "classes", "hidden"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    check_memory(args)
    try:
        return _check(args)
    except MemoryError:
        # Under the budget but over what this process may allocate (an address-space limit).
        raise ValueError(
            f"out of memory for --samples {args.samples} --features {args.features}: "
            "use smaller sizes"
        ) from None


def _check(args):
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, args.samples)
    model = build_model(args.model, args.features, args.classes, args.hidden, args.seed)
    penalty = None if args.penalty == "none" else nn.PENALTIES[args.penalty](args.reg)
    f = objective(model, nn.loss_named(args.loss), X, y, penalty)
    report = gradient_check(f, f.x, eps=args.eps, num_checks=args.num_checks, seed=args.seed)
    print(f"model={args.model} loss={args.loss} penalty={args.penalty} data={X.shape}")
    print(report)
    return 0 if report.passed else 1
