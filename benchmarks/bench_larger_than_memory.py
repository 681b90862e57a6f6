"""One epoch of ``gradwise train`` on a dataset whose float32 features would not fit in
memory: 1,280,000 synthetic 32x32x3 uint8 images (the size of 32x32 ImageNet: 3.9 GB as
uint8, 15.7 GB as float32), streamed from the memory-mapped cache entry.

The images are written, chunk by chunk, into a cache entry folder
(:func:`gradwise.data.cache.write_entry_by_chunks`): ten classes, each a random template
plus uniform noise, so there is something to learn. Then ``gradwise train --data ENTRY
--val-fraction 0 --epochs 1`` runs in its own process; printed: its peak resident memory
(``ru_maxrss``, which counts the pages of the memory map it has read) over the uint8 data
(goal: at most 1.3x), the epoch's time (its minibatches and the measurement of the
training loss and accuracy over every image at its end) and images per second, and the
whole command's time. The entry is deleted at the end unless ``--keep`` is given.

    python benchmarks/bench_larger_than_memory.py [--images 1280000] [--dir /tmp] [--keep]
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE, CLASSES, TEST_IMAGES = (32, 32, 3), 10, 10_000
TEMPLATE = 12  # a class's template adds 0..11 to noise of 0..243: weak, but learnable
GOAL = 1.3


def fill(templates, seed):
    def rows(name, start, stop):
        rng = np.random.default_rng([seed, start, name.startswith("X_test")])
        labels = np.random.default_rng([seed, start, 7, name.endswith("test")]).integers(
            0, CLASSES, stop - start
        )
        if name.startswith("y"):
            return labels
        noise = rng.integers(0, 256 - TEMPLATE, (stop - start, *SHAPE), dtype=np.uint8)
        return noise + templates[labels]  # below 256 - TEMPLATE and TEMPLATE: no overflow

    return rows


def make_entry(entry, images, seed=0):
    from gradwise.data.cache import write_entry_by_chunks

    templates = np.random.default_rng(seed).integers(0, TEMPLATE, (CLASSES, *SHAPE), dtype=np.uint8)
    shapes = {
        "X_train": ((images, *SHAPE), np.uint8),
        "y_train": ((images,), np.int64),
        "X_test": ((TEST_IMAGES, *SHAPE), np.uint8),
        "y_test": ((TEST_IMAGES,), np.int64),
    }
    meta = {"classes": [f"class{k}" for k in range(CLASSES)]}
    write_entry_by_chunks(entry, shapes, fill(templates, seed), meta, chunk_rows=16384)


def child(flags):
    from gradwise import cli

    code = cli.main(["train", *flags])
    print(json.dumps({"code": code, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_280_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the generated entry")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        return child([f for f in rest if f != "--"])
    work = Path(tempfile.mkdtemp(prefix="bench-larger-than-memory-", dir=args.dir))
    entry = work / "synthetic-entry"
    try:
        started = time.perf_counter()
        make_entry(entry, args.images)
        data_bytes = args.images * int(np.prod(SHAPE))
        print(
            f"wrote {args.images:,} images {'x'.join(map(str, SHAPE))} uint8 = "
            f"{data_bytes / 1e9:.2f} GB (float32: {4 * data_bytes / 1e9:.1f} GB) in "
            f"{time.perf_counter() - started:.0f} s; python {sys.version.split()[0]}"
        )
        out = work / "run"
        flags = ["--data", str(entry), "--val-fraction", "0", "--epochs", "1", "--quiet",
                 "--out", str(out)]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--", *flags],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"gradwise train failed:\n{done.stderr[-2000:]}")
        peak = json.loads(done.stdout.strip().splitlines()[-1])["peak_kb"] * 1024
        history = json.loads((out / "history.json").read_text())
        summary = json.loads((out / "summary.json").read_text())
        epoch = history["epochs"][0]["seconds"]
        print(
            f"gradwise train --epochs 1: epoch {epoch:.1f} s ({args.images / epoch:,.0f} images/s, "
            f"with the end-of-epoch pass over every image), whole command {wall:.0f} s; "
            f"train acc {summary['train_acc']:.4f}, test acc {summary['test_acc']:.4f}"
        )
        print(
            f"peak resident memory {peak / 1e9:.2f} GB = {peak / data_bytes:.2f} x the uint8 "
            f"data (goal <= {GOAL}: {'ok' if peak / data_bytes <= GOAL else 'OVER'})"
        )
    finally:
        if args.keep:
            print(f"kept {entry}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return None


if __name__ == "__main__":
    main()
