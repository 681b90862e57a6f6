"""Brute-force search for W on full CIFAR-10, next to the lecture source's numbers.

    python benchmarks/bench_random_search_cifar10.py [--tries 1000] [--seed 0] [--data PATH]

The lecture's source ("Optimization: Brute force search?") reports, after 1,000 tries on the
50,000 training images with the multiclass SVM loss, about 15.5% test accuracy for random
search (``W = randn(10, 3073) * 0.0001``, keep the best) and about 21.4% for random local
search (start ``randn * 0.001``, try ``W + randn * 0.0001``, keep it if the loss drops). This
runs gradwise's ``random-search`` and ``random-local-search`` on the same problem, the way
the source does: raw 0..255 pixels, a bias, the SVM loss with margin 1, no regularisation,
the loss of the whole training set for every try. Printed: the test accuracy of each next
to the source's, the training loss reached and the time.

Also printed: the loss-only pass the searches use (``Objective.value_only``) against a full loss +
gradient evaluation on the same 50,000 x 3,072 float32 matrix (medians of 7), the work the
searches save by never asking for a gradient.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _timing import median_seconds

import gradwise as gw
from gradwise.calculus.objective import objective
from gradwise.optim import get

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/cifar10-jpeg.tar.gz"

#: The lecture source's numbers after 1,000 tries (test accuracy).
SOURCE = {"random-search": 0.155, "random-local-search": 0.214}
#: The source's scales for raw pixels: candidates, the local search's start and its step.
SEARCH_SCALE, LOCAL_START, LOCAL_STEP = 1e-4, 1e-3, 1e-4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    started = time.perf_counter()
    ds = gw.data.load(str(args.data), progress=False)
    X = ds.X_train.reshape(len(ds.X_train), -1).astype(np.float32)  # raw 0..255, as the source
    X_test = ds.X_test.reshape(len(ds.X_test), -1).astype(np.float32)
    print(f"CIFAR-10: {X.shape[0]} training, {X_test.shape[0]} test images of {X.shape[1]} "
          f"numbers (loaded in {time.perf_counter() - started:.1f} s)")  # fmt: skip

    f, model = _objective(X, ds.y_train, args.seed)
    _loss_only_row(f)

    print(f"\n{'method':<20} {'tries':>6} {'test acc':>9} {'source':>7} {'train loss':>11} "
          f"{'seconds':>8}")  # fmt: skip
    for name in ("random-search", "random-local-search"):
        f, model = _objective(X, ds.y_train, args.seed)
        start = np.random.default_rng([args.seed, 10**6]).standard_normal(f.x.shape)
        if name == "random-search":
            # The source's first try is accepted whatever its loss: it is the start here,
            # and the steps make the other tries.
            f.x[...] = start * SEARCH_SCALE
            search, steps = get(name, scale=SEARCH_SCALE, seed=args.seed), args.tries - 1
        else:
            f.x[...] = start * LOCAL_START
            search, steps = get(name, lr=LOCAL_STEP, seed=args.seed), args.tries
        began = time.perf_counter()
        for _ in range(steps):
            search.step(f, f.x)
        seconds = time.perf_counter() - began
        accuracy = float(np.mean(np.argmax(model.forward(X_test), axis=1) == ds.y_test))
        print(f"{name:<20} {args.tries:>6} {accuracy:>9.2%} {SOURCE[name]:>7.1%} "
              f"{search.state['best_loss']:>11.4f} {seconds:>8.1f}", flush=True)  # fmt: skip


def _objective(X, y, seed):
    model = gw.nn.Linear(X.shape[1], 10, init="zeros", seed=seed, dtype=np.float32)
    return objective(model, gw.nn.MulticlassHinge(margin=1.0), X, y), model


def _loss_only_row(f):
    x = np.random.default_rng(1).standard_normal(f.x.shape).astype(np.float32) * SEARCH_SCALE
    f.x[...] = x
    full = median_seconds(lambda: f(f.x))
    value = median_seconds(lambda: f.value_only(f.x))
    rows, cols = f.X.shape
    print(f"one evaluation on {rows} x {cols} float32: loss + gradient {full * 1e3:.1f} ms, "
          f"loss only {value * 1e3:.1f} ms, ratio {full / value:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
