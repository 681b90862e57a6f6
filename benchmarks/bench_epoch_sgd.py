"""One epoch of minibatch SGD + momentum on CIFAR-10: gradwise on uint8 images and on
float32 features vs PyTorch vs a bare BLAS pass.

The problem: a linear softmax classifier (W: 3072 x 10, b: 10) on the 50,000 CIFAR-10
training images (float32, per-pixel mean subtracted unless ``--center channel``), mean
cross-entropy + 2.5e-4 * ||W||^2, SGD with lr 0.01 and momentum 0.9 (PyTorch's form),
minibatches of 256 rows in the order ``np.random.default_rng(0).permutation(50000)``.

- gradwise: ``gradwise.fit(..., epochs=1, batch_size=256, evaluate_train=False)`` on the
  float32 features computed up front (the precomputed path);
- gradwise uint8: the same on the uint8 images, each minibatch gathered as uint8 and
  converted into the reused buffer (:class:`gradwise.data.features.ImageFeatures`, the
  path ``gradwise train`` takes); its final weights equal the precomputed path's bit for bit;
- PyTorch (CPU): ``torch.nn.Linear`` with the same initial weights, ``F.cross_entropy``,
  ``torch.optim.SGD(lr, momentum, weight_decay=5e-4)`` (PyTorch's ``weight_decay`` is twice
  our L2 strength), the same batches gathered with ``X[idx]``; the final weights are
  compared with gradwise's to show it is the same computation;
- bare: ``S = X @ W`` and ``X.T @ S`` over the whole matrix, the two products any epoch
  needs, with nothing else.

Prints the median of ``--repeats`` runs of each, the ratios gradwise/PyTorch (goal <= 0.7),
gradwise/bare (goal <= 1.5), uint8/precomputed (goal <= 1.0) and uint8/bare (aim <= 1.0),
where the uint8 epoch's time goes (gathering and converting the minibatches, the fused loss
and gradient, the rest), and the peak memory of the gradwise epoch (the training matrix
plus everything ``fit`` allocates, from ``tracemalloc``) over the training matrix (goal <= 1.5).

    python benchmarks/bench_epoch_sgd.py [--data ../shared/data/cifar10-jpeg.tar.gz] [--threads N]
        [--center pixel|channel]

``--center channel`` subtracts the per-channel mean instead (``--preprocess channel-mean``).

``--threads N`` runs NumPy's BLAS and PyTorch on N threads (default: their own defaults). On a
machine whose cores other processes also use, minibatch-sized products suffer from BLAS
threads waiting for a busy core; one thread each is the steadier comparison there.

Without the CIFAR-10 copy it falls back to random data of the same shape (and says so).
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from _timing import threads_from_argv  # noqa: E402

threads_from_argv()

import numpy as np  # noqa: E402

import gradwise as gw  # noqa: E402
from gradwise.optim.sgd import SGD  # noqa: E402
from gradwise.training import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "cifar10-jpeg.tar.gz"
LR, MOMENTUM, L2, BATCH, SEED = 0.01, 0.9, 2.5e-4, 256, 0


def training_data(path, center="pixel"):
    """``(images, features, y, what)``: uint8 images, their float32 features, labels."""
    from gradwise.data import load, preprocessing
    from gradwise.data.features import ImageFeatures

    if path.exists():
        ds = load(str(path))
        images, y, what = ds.X_train, ds.y_train, f"CIFAR-10 ({path.name})"
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (50000, 32, 32, 3), dtype=np.uint8)
        y, what = rng.integers(0, 10, 50000), "random images (CIFAR-10 copy not found)"
    pipeline = preprocessing(center=center).fit(images)
    X = np.ascontiguousarray(pipeline(images), dtype=np.float32)
    return ImageFeatures(images, pipeline), X, y, what


def where_the_time_goes(source, y):
    """Seconds of one uint8 epoch's parts: gathering and converting every minibatch, and
    the fused loss and gradient on them (the rest is the optimizer and the loop)."""
    from gradwise.calculus.objective import objective

    order = np.random.default_rng(SEED).permutation(len(y))
    buffer = np.empty((BATCH, source.shape[1]), np.float32)
    started = time.perf_counter()
    for start in range(0, len(y), BATCH):
        index = order[start : start + BATCH]
        source.take_into(index, buffer[: len(index)])
    gather = time.perf_counter() - started
    model = gw.nn.Linear(3072, 10, seed=SEED)
    f = objective(model, gw.nn.SoftmaxCrossEntropy(), buffer, y[:BATCH], gw.nn.L2(L2))
    x = gw.nn.flatten(model)[0]
    started = time.perf_counter()
    for _ in range(0, len(y), BATCH):
        f(x)
    return gather, time.perf_counter() - started


def full_batch_passes(X, y, repeats):
    """Median seconds of the full-batch objective (the fused pass: loss and gradient over
    every row, as L-BFGS evaluates it) and of ``evaluate`` (an epoch's train loss and
    accuracy) on ``X``, an array or a row source."""
    from gradwise.calculus.objective import objective
    from gradwise.training.loop import evaluate

    model = gw.nn.Linear(3072, 10, seed=SEED)
    loss, penalty = gw.nn.SoftmaxCrossEntropy(), gw.nn.L2(L2)
    f = objective(model, loss, X, y, penalty)
    x = gw.nn.flatten(model)[0]
    times_f, times_eval = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        f(x)
        times_f.append(time.perf_counter() - started)
        started = time.perf_counter()
        evaluate(model, loss, X, y, penalty)
        times_eval.append(time.perf_counter() - started)
    return statistics.median(times_f), statistics.median(times_eval)


def gradwise_epoch(X, y):
    model = gw.nn.Linear(3072, 10, seed=SEED)
    optimizer = SGD(lr=LR, momentum=MOMENTUM)
    started = time.perf_counter()
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        optimizer,
        penalty=gw.nn.L2(L2),
        epochs=1,
        batch_size=BATCH,
        seed=SEED,
        evaluate_train=False,
        progress=False,
    )
    return time.perf_counter() - started, model


def torch_epoch(X, y, initial):
    import torch
    import torch.nn.functional as F

    X_t, y_t = torch.from_numpy(np.require(X, requirements="W")), torch.from_numpy(np.array(y))
    layer = torch.nn.Linear(3072, 10)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(initial.weight.T.copy()))
        layer.bias.copy_(torch.from_numpy(initial.bias.copy()))
    # Weight decay on W only, as gradwise's L2 penalty: biases go in a group without it.
    optimizer = torch.optim.SGD(
        [{"params": [layer.weight]}, {"params": [layer.bias], "weight_decay": 0.0}],
        lr=LR,
        momentum=MOMENTUM,
        weight_decay=2 * L2,
    )
    order = torch.from_numpy(np.random.default_rng(SEED).permutation(len(y)))
    started = time.perf_counter()
    for start in range(0, len(y), BATCH):
        idx = order[start : start + BATCH]
        optimizer.zero_grad(set_to_none=False)
        loss = F.cross_entropy(layer(X_t[idx]), y_t[idx])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started, layer


def bare_pass(X):
    W = np.random.default_rng(0).standard_normal((3072, 10)).astype(np.float32) * 1e-3
    grad = np.empty_like(W)
    started = time.perf_counter()
    S = X @ W
    np.matmul(X.T, S, out=grad)
    return time.perf_counter() - started


def peak_fit_memory(X, y):
    """Bytes ``fit`` allocates at its peak (NumPy reports its allocations to tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    gradwise_epoch(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads")
    parser.add_argument("--center", choices=("pixel", "channel"), default="pixel")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    images, X, y, what = training_data(args.data, args.center)
    print(
        f"data: {what}, X {X.shape} float32 = {X.nbytes / 2**20:.0f} MiB, images "
        f"{images.images.shape} uint8 = {images.images.nbytes / 2**20:.0f} MiB"
    )
    print(
        f"threads: torch {torch.get_num_threads()}, NumPy's BLAS "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'its default')}; "
        f"python {sys.version.split()[0]}"
    )

    gradwise_epoch(X[:2048], y[:2048])  # warm up BLAS and imports
    times_gw, times_torch, times_bare, times_u8, parts = [], [], [], [], []
    for _ in range(args.repeats):
        t, model = gradwise_epoch(X, y)
        times_gw.append(t)
        t, model_u8 = gradwise_epoch(images, y)
        times_u8.append(t)
        parts.append(where_the_time_goes(images, y))
        t, layer = torch_epoch(X, y, gw.nn.Linear(3072, 10, seed=SEED))
        times_torch.append(t)
        times_bare.append(bare_pass(X))
    difference = max(
        float(np.abs(layer.weight.detach().numpy().T - model.weight).max()),
        float(np.abs(layer.bias.detach().numpy() - model.bias).max()),
    )
    full = [full_batch_passes(source, y, args.repeats) for source in (X, images)]
    same = np.array_equal(model.weight, model_u8.weight) and np.array_equal(
        model.bias, model_u8.bias
    )
    extra = peak_fit_memory(X, y)
    extra_u8 = peak_fit_memory(images, y)

    gw_t, torch_t, bare_t = (statistics.median(t) for t in (times_gw, times_torch, times_bare))
    u8_t = statistics.median(times_u8)
    gather_t = statistics.median(p[0] for p in parts)
    loss_t = statistics.median(p[1] for p in parts)
    print(
        f"one epoch, batch {BATCH}, SGD lr {LR} momentum {MOMENTUM}, L2 {L2} "
        f"(median of {args.repeats}):"
    )
    print(f"  gradwise      {gw_t:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in times_gw)}")
    print(f"  gradwise uint8{u8_t:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in times_u8)}")
    print(f"  PyTorch       {torch_t:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in times_torch)}")
    print(f"  bare X@W+X'G  {bare_t:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in times_bare)}")
    print(f"  final weights gradwise vs PyTorch: max |difference| = {difference:.2e}")
    print(f"ratio gradwise / PyTorch   = {gw_t / torch_t:.2f}   (goal <= 0.7)")
    print(f"ratio gradwise / bare pass = {gw_t / bare_t:.2f}   (goal <= 1.5)")
    print(f"ratio uint8 / precomputed  = {u8_t / gw_t:.2f}   (goal <= 1.0)")
    print(f"ratio uint8 / bare pass    = {u8_t / bare_t:.2f}   (aim <= 1.0)")
    print(f"  final weights uint8 vs precomputed: bit-identical: {same}")
    print(
        f"where the uint8 epoch's time goes: gather + convert {gather_t:.3f} s, fused loss and "
        f"gradient {loss_t:.3f} s, optimizer and loop {max(0.0, u8_t - gather_t - loss_t):.3f} s"
    )
    peak = X.nbytes + extra
    print(
        f"peak memory: training matrix {X.nbytes / 2**20:.0f} MiB + fit's allocations "
        f"{extra / 2**20:.1f} MiB = {peak / X.nbytes:.3f} x the training matrix (goal <= 1.5)"
    )
    (f32_f, f32_eval), (u8_f, u8_eval) = full
    print(
        f"full-batch objective (fused, all rows): float32 {f32_f:.3f} s, uint8 {u8_f:.3f} s, "
        f"ratio {u8_f / f32_f:.2f}; evaluate: float32 {f32_eval:.3f} s, uint8 {u8_eval:.3f} s, "
        f"ratio {u8_eval / f32_eval:.2f}   (goal: about 1.0, as fast as today)"
    )
    u8_bytes = images.images.nbytes
    print(
        f"peak memory uint8: images {u8_bytes / 2**20:.0f} MiB + fit's allocations "
        f"{extra_u8 / 2**20:.1f} MiB = {(u8_bytes + extra_u8) / X.nbytes:.3f} x the float32 "
        "training matrix"
    )


if __name__ == "__main__":
    main()
