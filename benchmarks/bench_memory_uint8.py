"""Peak memory and accuracy of ``gradwise train`` on CIFAR-10: images kept as uint8 (each
minibatch converted as it is gathered) vs the float32 features computed up front.

Each run is its own process (``gradwise train``'s own ``main``), so its peak resident memory
(``ru_maxrss``, what ``/usr/bin/time -v`` reports as "Maximum resident set size") is its own:

- memory: ``--val-fraction 0 --epochs 2``, with ``--augment none`` and ``--augment flip``
  (goal: at most 450 MB each). The peer is the same command with the features computed
  before the first step (``feature_rows`` replaced by the precomputing reference), where
  ``flip`` means what it meant there: every image plus its mirror image (``mirror-copies``);
- accuracy: the training defaults (10 epochs) on all 50,000 images (``--val-fraction 0``),
  test accuracy (goal: within 0.3
  points of the peer for the same settings; without augmentation the runs are bit-identical,
  so the weights are compared too).

    python benchmarks/bench_memory_uint8.py [--data ../shared/data/cifar10-jpeg.tar.gz]
        [--repeats 1] [--skip-accuracy]

MB here is 1,000 kB of ``ru_maxrss`` (KiB), as ``/usr/bin/time -v`` prints it.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "cifar10-jpeg.tar.gz"
MEMORY_GOAL_MB = 450
ACCURACY_GOAL_POINTS = 0.3


def child(way, flags):
    """Run ``gradwise train`` in this process, the features made ``way``; print the peak."""
    import numpy as np

    from gradwise import cli
    from gradwise.estimators import classifier

    if way == "precomputed":

        def precomputed(X, pipeline, dtype=np.float32, augmentation=None):
            return pipeline.transform(X).astype(dtype, copy=False)

        classifier.feature_rows = precomputed
        # Today's flip: every image and its mirror image, all converted up front.
        flags = [("mirror-copies" if f == "flip" else f) for f in flags]
    code = cli.main(["train", *flags])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "peak_kb": peak_kb}))


def run(way, flags, out):
    command = [sys.executable, __file__, "--child", way, "--", *flags, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{way} {' '.join(flags)} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    summary = json.loads((out / "summary.json").read_text())
    result.update(seconds=summary["seconds"], test_acc=summary["test_acc"])
    return result


def weights(folder):
    import numpy as np

    with np.load(folder / "model.npz") as archive:
        return {k: archive[k] for k in archive.files if archive[k].dtype.kind == "f"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--child", choices=("uint8", "precomputed"), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        return child(args.child, [f for f in rest if f != "--"])
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: this benchmark needs the CIFAR-10 copy")
    data = str(args.data.resolve())
    work = Path(tempfile.mkdtemp(prefix="bench-uint8-"))
    print(f"data: {data}; python {sys.version.split()[0]}; runs in {work}")

    print("\npeak resident memory, gradwise train --val-fraction 0 --epochs 2:")
    for augment in ("none", "flip"):
        peaks = {"uint8": [], "precomputed": []}
        for r in range(args.repeats):
            for way in peaks:
                flags = ["--data", data, "--val-fraction", "0", "--epochs", "2", "--augment",
                         augment, "--quiet"]  # fmt: skip
                result = run(way, flags, work / f"mem-{augment}-{way}-{r}")
                peaks[way].append(result["peak_kb"] / 1000)
        new, old = (statistics.median(peaks[w]) for w in ("uint8", "precomputed"))
        verdict = "ok" if new <= MEMORY_GOAL_MB else "OVER"
        print(
            f"  --augment {augment:5s} uint8 {new:7.0f} MB   precomputed {old:7.0f} MB   "
            f"ratio {new / old:.2f}   (goal <= {MEMORY_GOAL_MB} MB: {verdict})"
        )
    if args.skip_accuracy:
        return None

    print("\ntest accuracy, gradwise train --val-fraction 0 (the training defaults: 10 epochs):")
    for augment in ("none", "flip"):
        results = {}
        for way in ("uint8", "precomputed"):
            flags = ["--data", data, "--val-fraction", "0", "--augment", augment, "--quiet"]
            results[way] = run(way, flags, work / f"acc-{augment}-{way}")
        new, old = results["uint8"], results["precomputed"]
        points = 100 * (new["test_acc"] - old["test_acc"])
        verdict = "ok" if abs(points) <= ACCURACY_GOAL_POINTS else "OUTSIDE"
        peer = "mirror-copies" if augment == "flip" else augment
        same = ""
        if augment == "none":
            a, b = weights(work / "acc-none-uint8"), weights(work / "acc-none-precomputed")
            equal = a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
            same = f"; weights bit-identical: {equal}"
        print(
            f"  --augment {augment:5s} uint8 {100 * new['test_acc']:.2f}% ({new['seconds']:.0f} s)"
            f"   precomputed ({peer}) {100 * old['test_acc']:.2f}% ({old['seconds']:.0f} s)"
            f"   difference {points:+.2f} points (goal within {ACCURACY_GOAL_POINTS}: "
            f"{verdict}){same}"
        )
    return None


if __name__ == "__main__":
    main()
