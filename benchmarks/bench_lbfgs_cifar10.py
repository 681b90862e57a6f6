"""Full-batch L-BFGS on the CIFAR-10 training set: gradwise vs its peers, in one process.

    python benchmarks/bench_lbfgs_cifar10.py [--lam 1e-3] [--max-iter 300] [--data PATH]

Problem: L2-regularised softmax regression on all 50,000 training images (3072 float32
features: pixels / 255 minus the training mean), ``mean CE + lam ||W||^2`` (bias not
penalised), started from zero. Contenders, each run to (near) convergence:

- gradwise: ``minimize(f, x, method="lbfgs")`` (strong Wolfe, history 100) on the fused
  float32 objective (one pass over X per evaluation);
- gradwise-uint8: the same on the uint8 images, each block of a pass converted inside it
  (:class:`gradwise.data.features.ImageFeatures`, the path ``gradwise train`` takes; its
  mean is gradwise's own ``preprocessing(center="pixel")`` fit, not this script's);
- PyTorch: ``torch.optim.LBFGS`` (same settings) on ``nn.Linear`` + ``cross_entropy``,
  float32;
- scikit-learn: ``LogisticRegression(solver="lbfgs", C=1 / (2 lam N))``, whose objective
  ``mean CE + ||W||^2 / (2 C N)`` is the same function;
- SciPy: ``minimize(method="L-BFGS-B")`` on a plain NumPy float64 objective.

Every evaluation of each contender's own objective is logged with its time since that
contender started (including its data preparation). The score is the time at which a
contender first evaluates a point within 1e-4 (relative) of the best objective any of them
found. Final objectives are recomputed in float64 by one evaluator; accuracies are on the
10,000 test images. Also printed: one gradwise loss+gradient evaluation against a bare
``X @ W`` + ``X.T @ G`` pass (the machine's limit for that work) and against PyTorch's.
"""

import argparse
import io
import tarfile
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _timing import median_seconds

import gradwise as gw
from gradwise.optim import minimize

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/data/cifar10-jpeg.tar.gz"
CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()
TARGET = 1e-4


# -- data ---------------------------------------------------------------------------------


def load_cifar10(path):
    """(X_train, y_train, X_test, y_test) as uint8 images; gradwise.data when available."""
    try:
        import gradwise.data

        ds = gradwise.data.load(str(path), progress=False)
        return ds.X_train, ds.y_train, ds.X_test, ds.y_test
    except (AttributeError, ImportError, TypeError) as error:
        print(f"(gradwise.data unavailable: {error}; decoding the tar with Pillow)")
    return _decode_tar_cached(path)


def _decode_tar_cached(path):
    cache = Path(tempfile.gettempdir()) / "gradwise-bench-cifar10"
    names = ("X_train", "y_train", "X_test", "y_test")
    if all((cache / f"{n}.npy").exists() for n in names):
        return tuple(np.load(cache / f"{n}.npy", allow_pickle=False) for n in names)
    from PIL import Image

    images = {"train": ([], []), "test": ([], [])}
    with tarfile.open(path, "r|gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if member.isfile() and len(parts) >= 3 and parts[-3] in images:
                data = archive.extractfile(member).read()
                X, y = images[parts[-3]]
                X.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                y.append(CLASSES.index(parts[-2]))
    arrays = []
    for split in ("train", "test"):
        X, y = images[split]
        arrays += [np.stack(X), np.array(y, dtype=np.int64)]
    cache.mkdir(parents=True, exist_ok=True)
    for name, array in zip(names, arrays, strict=True):
        np.save(cache / f"{name}.npy", array)
    return tuple(arrays)


def features(X_train_u8, X_test_u8):
    X_train = X_train_u8.reshape(len(X_train_u8), -1).astype(np.float32)
    X_train /= 255
    mean = X_train.mean(axis=0)
    X_train -= mean
    X_test = X_test_u8.reshape(len(X_test_u8), -1).astype(np.float32) / 255 - mean
    return np.ascontiguousarray(X_train), np.ascontiguousarray(X_test)


# -- contenders ---------------------------------------------------------------------------


class Log:
    """(seconds since start, loss) of every evaluation."""

    def __init__(self):
        self.start = time.perf_counter()
        self.entries = []

    def add(self, loss):
        self.entries.append((time.perf_counter() - self.start, float(loss)))

    def first_time_below(self, target):
        for k, (t, loss) in enumerate(self.entries):
            if loss <= target:
                return t, k + 1
        return None, None


def run_gradwise(X, y, lam, max_iter):
    """``X``: float32 features, or a row source (uint8 images converted block by block)."""
    log = Log()
    model = gw.nn.Linear(X.shape[1], 10, init="zeros", dtype=np.float32)
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))

    def logged(x):
        loss, grad = f(x)
        log.add(loss)
        return loss, grad

    minimize(logged, f.x, method="lbfgs", max_iter=max_iter, tolerance_change=1e-12)
    return log, model.weight.astype(np.float64), model.bias.astype(np.float64)


def run_torch(X, y, lam, max_iter):
    import torch

    log = Log()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    layer = torch.nn.Linear(X.shape[1], 10)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
    opt = torch.optim.LBFGS(
        layer.parameters(),
        max_iter=max_iter,
        max_eval=2 * max_iter,
        tolerance_change=1e-12,
        history_size=100,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(Xt), yt) + lam * layer.weight.pow(2).sum()
        loss.backward()
        log.add(loss.item())
        return loss

    opt.step(closure)
    W = layer.weight.detach().numpy().T.astype(np.float64)
    return log, W, layer.bias.detach().numpy().astype(np.float64)


@contextmanager
def logging_scipy_minimize(module, log):
    """Make ``module.optimize.minimize`` log every evaluation of the function it is given."""
    original = module.optimize.minimize

    def minimize_logged(fun, x0, *args, **kwargs):
        def logged(w, *fargs):
            value, grad = fun(w, *fargs)
            log.add(value)
            return value, grad

        return original(logged, x0, *args, **kwargs)

    module.optimize.minimize = minimize_logged
    try:
        yield
    finally:
        module.optimize.minimize = original


def run_sklearn(X, y, lam, max_iter):
    from sklearn.linear_model import LogisticRegression, _logistic

    log = Log()
    clf = LogisticRegression(
        C=1.0 / (2 * lam * len(X)), solver="lbfgs", max_iter=max_iter, tol=1e-7
    )
    with logging_scipy_minimize(_logistic, log):
        clf.fit(X, y)
    return log, clf.coef_.T.astype(np.float64), clf.intercept_.astype(np.float64)


def run_scipy(X32, y, lam, max_iter):
    import scipy.optimize

    log = Log()
    X = X32.astype(np.float64)
    n, d = X.shape
    onehot = np.zeros((n, 10))
    onehot[np.arange(n), y] = 1

    def fun(z):
        W, b = z[: d * 10].reshape(d, 10), z[d * 10 :]
        S = X @ W + b
        S -= S.max(axis=1, keepdims=True)
        P = np.exp(S)
        total = P.sum(axis=1, keepdims=True)
        P /= total
        loss = np.mean(np.log(total[:, 0]) - S[onehot.astype(bool)]) + lam * np.sum(W * W)
        G = (P - onehot) / n
        grad = np.concatenate([(X.T @ G + 2 * lam * W).ravel(), G.sum(axis=0)])
        log.add(loss)
        return loss, grad

    res = scipy.optimize.minimize(
        fun,
        np.zeros(d * 10 + 10),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=max_iter, maxfun=2 * max_iter, ftol=1e-13, gtol=1e-8),
    )
    return log, res.x[: d * 10].reshape(d, 10), res.x[d * 10 :]


# -- shared measurements --------------------------------------------------------------------


def objective64(X, y, lam, W, b, rows=4096):
    """``mean CE + lam ||W||^2`` in float64, one block of rows at a time."""
    total = 0.0
    for start in range(0, len(X), rows):
        S = X[start : start + rows].astype(np.float64) @ W + b
        S -= S.max(axis=1, keepdims=True)
        lse = np.log(np.exp(S).sum(axis=1))
        total += float(np.sum(lse - S[np.arange(len(S)), y[start : start + rows]]))
    return total / len(X) + lam * float(np.sum(W * W))


def accuracy(X, y, W, b):
    return float(np.mean(np.argmax(X @ W.astype(np.float32) + b.astype(np.float32), 1) == y))


def kernel_timings(X, y, lam):
    """One loss+gradient evaluation: gradwise vs bare X@W + X.T@G vs PyTorch."""
    import torch

    rng = np.random.default_rng(0)
    model = gw.nn.Linear(X.shape[1], 10, init="xavier", dtype=np.float32)
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))
    W = model.weight
    S = np.empty((len(X), 10), np.float32)
    G = rng.standard_normal((len(X), 10)).astype(np.float32)
    gW = np.empty_like(W)

    def bare():
        np.matmul(X, W, out=S)
        np.matmul(X.T, G, out=gW)

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    layer = torch.nn.Linear(X.shape[1], 10)

    def torch_eval():
        layer.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(Xt), yt) + lam * layer.weight.pow(2).sum()
        loss.backward()

    out = {"bare": median_seconds(bare), "gradwise": median_seconds(lambda: f(f.x))}
    out["torch"] = median_seconds(torch_eval)
    batch = slice(0, 256)
    Xb, yb, Gb, Sb = np.ascontiguousarray(X[batch]), y[batch], G[batch], S[batch]
    f.set_data(Xb, yb)

    def bare_batch():
        np.matmul(Xb, W, out=Sb)
        np.matmul(Xb.T, Gb, out=gW)

    reps = 50
    out["bare256"] = median_seconds(lambda: [bare_batch() for _ in range(reps)]) / reps
    out["gradwise256"] = median_seconds(lambda: [f(f.x) for _ in range(reps)]) / reps
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--lam", type=float, default=1e-3)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument(
        "--only",
        nargs="*",
        default=["gradwise", "gradwise-uint8", "torch", "sklearn", "scipy"],
        help="contenders",
    )
    args = parser.parse_args()

    start = time.perf_counter()
    X_train_u8, y_train, X_test_u8, y_test = load_cifar10(args.data)
    X, X_test = features(X_train_u8, X_test_u8)
    y, y_test = np.array(y_train, np.int64), np.array(y_test, np.int64)
    print(f"data: {X.shape} train, {X_test.shape} test, {time.perf_counter() - start:.1f}s")

    k = kernel_timings(X, y, args.lam)
    print(
        f"one loss+gradient, full batch: gradwise {k['gradwise'] * 1e3:.0f} ms, "
        f"bare X@W + X.T@G {k['bare'] * 1e3:.0f} ms (ratio {k['gradwise'] / k['bare']:.2f}), "
        f"PyTorch {k['torch'] * 1e3:.0f} ms (gradwise/PyTorch {k['gradwise'] / k['torch']:.2f})"
    )
    print(
        f"one loss+gradient, batch of 256: gradwise {k['gradwise256'] * 1e6:.0f} us, "
        f"bare {k['bare256'] * 1e6:.0f} us (ratio {k['gradwise256'] / k['bare256']:.2f})"
    )

    def run_gradwise_uint8(X, y, lam, max_iter):
        from gradwise.data import preprocessing
        from gradwise.data.features import ImageFeatures

        pipeline = preprocessing(center="pixel").fit(X_train_u8)
        return run_gradwise(ImageFeatures(X_train_u8, pipeline), y, lam, max_iter)

    runners = {
        "gradwise": run_gradwise,
        "gradwise-uint8": run_gradwise_uint8,
        "torch": run_torch,
        "sklearn": run_sklearn,
        "scipy": run_scipy,
    }
    results = {}
    for name in args.only:
        log, W, b = runners[name](X, y, args.lam, args.max_iter)
        results[name] = (log, W, b)
        seconds, last = log.entries[-1]
        print(f"{name}: {len(log.entries)} evaluations, {seconds:.1f}s, last loss {last:.7f}")

    if not results:
        return
    best = min(loss for log, _, _ in results.values() for _, loss in log.entries)
    target = best * (1 + TARGET)
    print(f"\nbest objective found {best:.7f}; target (within {TARGET:g}) {target:.7f}")
    header = f"{'time to target':>15s} {'evals':>6s} {'final f (float64)':>18s} {'test acc':>9s}"
    print(f"{'':14s} {header}")
    times = {}
    for name, (log, W, b) in results.items():
        t, evals = log.first_time_below(target)
        times[name] = t
        final = objective64(X, y, args.lam, W, b)
        shown = "not reached" if t is None else f"{t:.1f}s"
        acc = accuracy(X_test, y_test, W, b)
        print(f"{name:14s} {shown:>15s} {evals or '-':>6} {final:18.7f} {acc:9.4f}")
    if times.get("gradwise") is not None:
        print()
        for name, t in times.items():
            if name != "gradwise" and t is not None:
                print(f"gradwise / {name}: {times['gradwise'] / t:.2f}x time to target")


if __name__ == "__main__":
    main()
