"""L-BFGS on minibatches against full-batch L-BFGS and SGD + momentum, on the same budget.

    python benchmarks/lbfgs_minibatch_cifar10.py [--epochs 10] [--data PATH]

The lecture: "L-BFGS does not transfer very well to the mini-batch setting. Gives bad
results." This puts it to the test on full CIFAR-10 (``../shared/data``; the packaged
cifar10-sample when it is absent): a linear softmax classifier (gradwise's defaults:
mean-subtracted pixels, L2 2.5e-4, batch 256), trained from the same initial weights for
the same number of epochs by ``momentum`` (the lecture's first choice, with its cosine
schedule), ``lbfgs`` (one iteration per epoch on the whole training set) and
``lbfgs@minibatch`` (one iteration per minibatch, strong Wolfe line search, as calling
``torch.optim.LBFGS`` once per minibatch does), plus ``lbfgs@minibatch`` without a line
search (``torch.optim.LBFGS``'s own default). Printed: the compare table (final training
objective, accuracies, seconds, gradient passes) of one run.
"""

import argparse
from pathlib import Path

from gradwise.data import load
from gradwise.estimators import SoftmaxClassifier
from gradwise.estimators.comparison import configured, run_comparison

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/cifar10-jpeg.tar.gz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    data = str(args.data) if args.data.exists() else "cifar10-sample"
    ds = load(data)
    print(f"{data}: {len(ds.y_train)} training, {len(ds.y_test)} test images, "
          f"{args.epochs} epochs")  # fmt: skip
    base = SoftmaxClassifier(epochs=args.epochs)
    runs = {label: configured(base, label) for label in ("momentum", "lbfgs", "lbfgs@minibatch")}
    plain = configured(base, "lbfgs@minibatch")
    plain.set_params(optimizer_options={**plain.optimizer_options, "line_search_fn": None})
    runs["lbfgs@minibatch, no line search"] = plain
    result = run_comparison(runs, ds, on_start=lambda label: print(f"{label} ...", flush=True))
    print(result.table())


if __name__ == "__main__":
    main()
