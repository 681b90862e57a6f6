"""What the benchmark scripts share: the BLAS thread count from ``--threads N`` (set before
NumPy is imported) and the median time of a repeated call."""

import os
import statistics
import sys
import time


def threads_from_argv():
    """Set BLAS's thread count from ``--threads N`` on the command line. BLAS reads it when
    NumPy is first imported, so a script calls this before importing NumPy."""
    if "--threads" in sys.argv:
        count = sys.argv[sys.argv.index("--threads") + 1]
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = count


def median_seconds(work, repeats=7):
    """Median seconds of ``work()`` over ``repeats`` calls, after one warm-up call (buffers
    allocated, caches filled)."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
