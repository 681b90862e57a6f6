"""A hyperparameter sweep on the full CIFAR-10 (the JPEG copy), through the command line.

A random search over the learning rate, the L2 strength, the number of epochs and the
training-set augmentation (none, or a random horizontal flip of each minibatch's images) of
the linear softmax classifier (SGD + momentum 0.9, cosine schedule, 256-row minibatches,
per-pixel mean subtraction: the training defaults of ``gradwise train`` otherwise). Each
trial trains on 45,000 training images and is scored on a stratified validation split of
the other 5,000;
the best configuration is refit on all 50,000 and scored once on the 10,000 test images.
Budget: 24 trials, two at a time (about 6 minutes on 2 cores).

Goal: a configuration whose test accuracy is >= 41.48%, the test accuracy of the training
defaults (``gradwise train --data ../shared/data/cifar10-jpeg.tar.gz --val-fraction 0``).

    python benchmarks/sweep_cifar10.py [--data ../shared/data/cifar10-jpeg.tar.gz]
                                       [--trials 24] [--executor local|ray] [--out DIR]

Prints the command, its wall time and the ranked table; the run folder keeps
``trials.jsonl``, ``result.json`` and ``heatmap.png``. Re-running with the same ``--out``
resumes the sweep (finished trials are skipped).
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("..") / "shared" / "data" / "cifar10-jpeg.tar.gz"
GOAL = 0.4148
SEARCH = [
    "--model", "linear", "--optimizer", "momentum", "--augment", "none,flip",
    "--lr", "5e-3:5e-2:log", "--reg", "1e-5:1e-3:log", "--epochs", "10,20",
    "--batch-size", "256", "--schedule", "cosine", "--val-fraction", "0.1", "--seed", "1",
]  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="relative to the repo")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--executor", default="local", choices=("local", "ray"))
    parser.add_argument("--out", type=Path, default=Path("runs") / "sweep-cifar10")
    args = parser.parse_args()
    if not (ROOT / args.data).exists():
        sys.exit(f"{args.data} not found (relative to {ROOT})")
    command = [
        "gradwise", "sweep", "--data", str(args.data), *SEARCH, "--trials", str(args.trials),
        "--executor", args.executor, "--out", str(args.out),
    ]  # fmt: skip
    print("$ " + shlex.join(command), flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gradwise.cli", *command[1:]], cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the sweep failed (exit code {done.returncode})")
    result = json.loads((ROOT / args.out / "result.json").read_text())
    verdict = "met" if result["test_score"] >= GOAL else "MISSED"
    print(
        f"wall time {seconds:.0f} s ({result['n_trials']} trials, {result['n_skipped']} resumed); "
        f"best {result['best_params']}: val acc {result['val_score']:.4f}, "
        f"test acc {result['test_score']:.4f} (goal >= {GOAL}: {verdict})"
    )


if __name__ == "__main__":
    main()
