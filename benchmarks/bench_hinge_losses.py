"""Loss and gradient of a linear layer over the whole packaged CIFAR-10 sample, per loss:
gradwise's fused one-pass kernel vs gradwise's modules (``Linear.forward``, the loss's
``forward``/``backward``, ``Linear.backward``: two passes over X) vs PyTorch (CPU, the same
formula in torch ops, autograd).

The problem: X is the 5,000 sample images as float32 rows of 3,072 values (per-pixel mean
subtracted), W 3,072 x 10 and b drawn from N(0, 1e-3^2), the mean of each loss. Every
implementation's value is compared with the fused one before timing. Prints the median of
``--repeats`` evaluations of each and the ratios fused/modules and fused/PyTorch.

    python benchmarks/bench_hinge_losses.py [--repeats 30] [--threads N]
"""

import argparse

from _timing import median_seconds, threads_from_argv  # noqa: E402

threads_from_argv()

import numpy as np  # noqa: E402

import gradwise as gw  # noqa: E402
from gradwise.calculus.fused import FusedLinearLoss  # noqa: E402


def torch_loss(torch, name, S, y):
    """The mean loss ``name`` of scores ``S`` in torch ops (autograd gives the gradient)."""
    F = torch.nn.functional
    onehot = F.one_hot(y, S.shape[1])
    if name == "softmax":
        return F.cross_entropy(S, y)
    if name == "svm":
        return S.shape[1] * F.multi_margin_loss(S, y)
    if name == "one-vs-all":
        return torch.relu(1 - (2 * onehot - 1) * S).sum(dim=1).mean()
    correct = S.gather(1, y[:, None])
    rival = (S - correct + 1).masked_fill(onehot.bool(), -torch.inf).max(dim=1).values
    return torch.relu(rival).mean()



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: its column is left out")
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)

    ds = gw.data.load("cifar10-sample")
    X = ds.X_train.reshape(len(ds.X_train), -1).astype(np.float32) / 255
    X -= X.mean(axis=0)
    X = np.ascontiguousarray(X)
    y = ds.y_train.astype(np.int64)
    layer = gw.nn.Linear(X.shape[1], 10, seed=0, dtype=np.float32)
    grad_W, grad_b = np.empty_like(layer.weight), np.empty_like(layer.bias)
    print(f"X {X.shape} float32, {args.repeats} repeats, median seconds per loss + gradient")
    print(f"{'loss':<15} {'fused':>8} {'modules':>8} {'torch':>8}  fused/modules  fused/torch")
    for name in gw.nn.LOSSES:
        loss = gw.nn.loss_named(name)
        fused = FusedLinearLoss(loss)

        def run_fused(fused=fused):
            return fused(X, y, layer.weight, layer.bias, grad_W, grad_b)

        def run_modules(loss=loss):
            layer.zero_grad()
            value = loss.forward(layer.forward(X), y)
            layer.backward(loss.backward(), need_input_grad=False)
            return value

        value = run_fused()
        assert abs(run_modules() - value) <= 1e-5 * abs(value), name
        t_fused = median_seconds(run_fused, args.repeats)
        t_modules = median_seconds(run_modules, args.repeats)
        row = f"{name:<15} {t_fused:8.4f} {t_modules:8.4f}"
        if torch is None:
            print(f"{row} {'-':>8}  {t_fused / t_modules:13.2f}")
            continue
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        Wt = torch.tensor(layer.weight, requires_grad=True)
        bt = torch.tensor(layer.bias, requires_grad=True)

        def run_torch(name=name, Xt=Xt, yt=yt, Wt=Wt, bt=bt):
            Wt.grad = bt.grad = None
            value = torch_loss(torch, name, Xt @ Wt + bt, yt)
            value.backward()
            return value.item()

        assert abs(run_torch() - value) <= 1e-5 * abs(value), name
        t_torch = median_seconds(run_torch, args.repeats)
        print(f"{row} {t_torch:8.4f}  {t_fused / t_modules:13.2f}  {t_fused / t_torch:11.2f}")


if __name__ == "__main__":
    main()
