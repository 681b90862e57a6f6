"""Time decoding the shared CIFAR-10 JPEG copy: first load (all cores) vs. cached loads.

    python benchmarks/bench_data_cache.py [--source PATH] [--repeats 5] [--baseline]

Each run uses a fresh, temporary ``$GRADWISE_HOME``. It prints the wall time and the CPU time
(this process plus its workers) of:

* reading the archive alone (gunzip + tar parsing, no decoding),
* with ``--baseline``: decoding every image in this process alone, without the cache
  (the single-core reference),
* the first ``load`` (decode on every core, write the cache),
* later ``load`` calls (memory-map the cache), as a median over ``--repeats``,

and the ratios. Goals: first load <= 10 s, cached load <= 1 s on 2 cores.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn):
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", action="store_true", help="also decode on one core")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"{args.source}: not found", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as home:
        os.environ["GRADWISE_HOME"] = home
        from gradwise.data import load
        from gradwise.data.containers import iter_container
        from gradwise.data.decode import default_workers

        print(f"source: {args.source} ({args.source.stat().st_size / 1e6:.1f} MB)")
        print(f"cores available: {default_workers()}, load average: {os.getloadavg()[0]:.2f}")

        count, wall, cpu = timed(lambda: sum(1 for _ in iter_container(args.source)))
        print(f"read archive only        {wall:6.2f} s wall  {cpu:6.2f} s CPU  ({count} entries)")

        single = None
        if args.baseline:
            _, single, cpu = timed(lambda: load(args.source, cache=False, workers=1))
            print(f"decode, 1 core, no cache {single:6.2f} s wall  {cpu:6.2f} s CPU")

        ds, first, cpu = timed(lambda: load(args.source))
        print(f"first load (all cores)   {first:6.2f} s wall  {cpu:6.2f} s CPU  -> {ds!r}")

        cached = []
        for _ in range(args.repeats):
            _, wall, _ = timed(lambda: load(args.source))
            cached.append(wall)
        median = statistics.median(cached)
        print(
            f"cached load              {median:6.3f} s wall (median of {args.repeats}; "
            f"min {min(cached):.3f}, max {max(cached):.3f})"
        )
        print(f"first / cached           {first / median:6.0f} x")
        if single is not None:
            print(f"1 core / all cores       {single / first:6.2f} x")
        print(
            f"goals: first <= 10 s: {'met' if first <= 10 else 'MISSED'}; "
            f"cached <= 1 s: {'met' if median <= 1 else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
