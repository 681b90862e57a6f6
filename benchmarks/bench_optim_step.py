"""Time one optimizer step on the CIFAR-10 linear model's parameter vector, gradwise vs torch.

The vector has 3072 * 10 + 10 = 30,730 float32 entries (W and b of ``Linear(3072, 10)``).
The objective returns a fixed gradient, so only the optimizer's own work is timed: for
gradwise that includes calling ``f`` and its finite check; for ``torch.optim`` the gradient
sits in ``param.grad``. Both run in this process, in interleaved blocks, and the script
prints the median time per step and the ratio gradwise / torch (goal: <= 1.0).

    python benchmarks/bench_optim_step.py [--repeats 30] [--steps 200] [--torch-threads 1]
"""

import argparse
import platform
import time

import numpy as np
import torch

from gradwise.optim.registry import get

SIZE = 3072 * 10 + 10

# name: (gradwise keywords, torch class, torch keywords)
OPTIMIZERS = {
    "sgd": (dict(lr=1e-3), torch.optim.SGD, dict(lr=1e-3)),
    "momentum": (dict(lr=1e-3), torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
    "nesterov": (dict(lr=1e-3), torch.optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True)),
    "adagrad": (dict(), torch.optim.Adagrad, dict()),
    "rmsprop": (dict(), torch.optim.RMSprop, dict()),
    "adam": (dict(), torch.optim.Adam, dict()),
    "adamw": (dict(), torch.optim.AdamW, dict()),
}


def gradwise_stepper(name, keywords, grad):
    optimizer, x = get(name, **keywords), np.zeros(SIZE, dtype=np.float32)

    def f(_):
        return 1.0, grad

    return lambda: optimizer.step(f, x)


def torch_stepper(cls, keywords, grad):
    param = torch.zeros(SIZE, dtype=torch.float32, requires_grad=True)
    param.grad = torch.from_numpy(grad.copy())
    return cls([param], **keywords).step


def per_step(stepper, steps):
    start = time.perf_counter()
    for _ in range(steps):
        stepper()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed blocks per side")
    parser.add_argument("--steps", type=int, default=200, help="steps per timed block")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: as is)")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    grad = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32)
    print(
        f"one step on {SIZE:,} float32 | numpy {np.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {platform.processor() or platform.machine()}"
    )
    print(f"median of {args.repeats} blocks of {args.steps} steps, interleaved")
    print(f"{'optimizer':10s} {'gradwise us':>12s} {'torch us':>10s} {'ratio':>7s}")
    ratios = []
    for name, (ours_kw, torch_cls, torch_kw) in OPTIMIZERS.items():
        ours = gradwise_stepper(name, ours_kw, grad)
        theirs = torch_stepper(torch_cls, torch_kw, grad)
        for stepper in (ours, theirs):  # warm-up: buffers, workspaces, lazy state
            per_step(stepper, 20)
        times = {"ours": [], "theirs": []}
        for _ in range(args.repeats):
            times["ours"].append(per_step(ours, args.steps))
            times["theirs"].append(per_step(theirs, args.steps))
        ours_us = 1e6 * np.median(times["ours"])
        theirs_us = 1e6 * np.median(times["theirs"])
        ratios.append(ours_us / theirs_us)
        print(f"{name:10s} {ours_us:12.1f} {theirs_us:10.1f} {ratios[-1]:7.2f}")
    print(f"worst ratio {max(ratios):.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
