"""Accuracy on the full CIFAR-10 (the JPEG copy): a linear softmax classifier and a
one-hidden-layer MLP, trained through the command line exactly as a user would.

1. Softmax: per-pixel mean subtraction, objective mean cross-entropy + 2.5e-4 * ||W||^2
   (the L2 penalty 5e-4 / 2 * ||W||^2), 10 epochs of minibatch SGD + momentum 0.9 on all
   50,000 training images. Goals: test accuracy >= 40.5% and a final objective within 0.05
   of the optimum of that objective (about 1.6388).
2. MLP: 3072 -> hidden ReLU units -> 10, same preprocessing. Goal: test accuracy >= 50%.

Each run is one ``gradwise train`` command (printed), timed from the outside; the numbers
come from the run folder's ``summary.json``. ``--optimum`` also computes the optimum of the
softmax objective with full-batch L-BFGS in float64 (a few minutes) instead of quoting it.

    python benchmarks/accuracy_cifar10.py [--data ../shared/data/cifar10-jpeg.tar.gz]
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("..") / "shared" / "data" / "cifar10-jpeg.tar.gz"
REFERENCE_OPTIMUM = 1.6388
SOFTMAX = [
    "--model", "linear", "--loss", "softmax", "--optimizer", "momentum", "--lr", "0.02",
    "--schedule", "cosine", "--reg", "2.5e-4", "--epochs", "10", "--batch-size", "256",
    "--preprocess", "mean", "--val-fraction", "0",
]  # fmt: skip
MLP = [
    "--model", "mlp", "--hidden", "512", "--loss", "softmax", "--optimizer", "momentum",
    "--lr", "0.02", "--schedule", "cosine", "--reg", "5e-4", "--epochs", "10",
    "--batch-size", "128", "--preprocess", "mean", "--val-fraction", "0",
]  # fmt: skip


def train(data, settings, out):
    command = ["gradwise", "train", "--data", str(data), *settings, "--out", str(out), "--quiet"]
    print("$ " + shlex.join(command), flush=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "gradwise.cli", *command[1:]],
        cwd=ROOT,
        text=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {result.stderr.strip()}")
    summary = json.loads((out / "summary.json").read_text())
    print(
        f"  wall time {seconds:.1f} s (training {summary['seconds']:.1f} s), "
        f"test accuracy {summary['test_acc']:.4f}, objective {summary['final_objective']:.4f}"
    )
    return summary, seconds


def optimum(data):
    """The minimum of the softmax objective, by full-batch L-BFGS in float64."""
    import numpy as np

    import gradwise as gw
    from gradwise.data import load, preprocessing
    from gradwise.optim.lbfgs import LBFGS

    ds = load(str(ROOT / data))
    X = preprocessing(center="pixel").fit(ds.X_train)(ds.X_train).astype(np.float64)
    model = gw.nn.Linear(3072, 10, init="zeros", dtype=np.float64)
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, ds.y_train, penalty=gw.nn.L2(2.5e-4))
    optimizer = LBFGS(
        max_iter=1000,
        max_eval=1250,
        tolerance_grad=1e-8,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )
    started = time.perf_counter()
    optimizer.step(f, f.x)
    value = f(f.x)[0]
    print(
        f"optimum by L-BFGS: {value:.5f} ({optimizer.state['n_iter']} iterations, "
        f"{optimizer.stop_reason}, {time.perf_counter() - started:.0f} s)"
    )
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="relative to the repo")
    parser.add_argument("--optimum", action="store_true", help="compute the optimum (slow)")
    parser.add_argument("--skip-mlp", action="store_true")
    args = parser.parse_args()
    if not (ROOT / args.data).exists():
        sys.exit(f"{args.data} not found (relative to {ROOT})")
    best = optimum(args.data) if args.optimum else REFERENCE_OPTIMUM
    with tempfile.TemporaryDirectory() as tmp:
        print("softmax, 10 epochs of SGD + momentum:")
        softmax, _ = train(args.data, SOFTMAX, Path(tmp) / "softmax")
        gap = softmax["final_objective"] - best
        print(
            f"  objective gap to the optimum {best:.4f}: {gap:+.4f} (goal <= 0.05); "
            f"test accuracy goal >= 0.405: {'met' if softmax['test_acc'] >= 0.405 else 'MISSED'}"
        )
        if not args.skip_mlp:
            print("MLP, one hidden layer:")
            mlp, _ = train(args.data, MLP, Path(tmp) / "mlp")
            print(f"  test accuracy goal >= 0.50: {'met' if mlp['test_acc'] >= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
