"""The linear score function f(x) = x W + b, with W of shape (in_features, out_features)."""

import numpy as np

from .._validate import choice, count
from .description import reserve_parameters
from .module import Module, not_run_yet

INITS = ("gaussian", "xavier", "he", "zeros")


def init_weight(in_features, out_features, init, rng, dtype=np.float64):
    """A fresh (in, out) weight matrix of ``dtype``.

    - ``gaussian``: N(0, 1e-3^2), the course's "small random numbers";
    - ``xavier``: N(0, 2 / (in + out)) (Glorot & Bengio, 2010);
    - ``he``: N(0, 2 / in) (He et al., 2015), for ReLU layers;
    - ``zeros``: all zero (fine for a convex linear model, useless for a hidden layer).
    """
    if init == "zeros":
        # Not 0 * random numbers: a model file's sizes are untrusted, and np.zeros only
        # reserves memory, which loading fills once the stored arrays are found to fit.
        return np.zeros((in_features, out_features), dtype)
    std = {
        "gaussian": 1e-3,
        "xavier": np.sqrt(2.0 / (in_features + out_features)),
        "he": np.sqrt(2.0 / in_features),
    }[init]
    return (std * rng.standard_normal((in_features, out_features))).astype(dtype)


class Linear(Module):
    """``scores = X @ weight + bias``; ``weight`` is (in_features, out_features).

    The transpose of torch's ``nn.Linear`` layout, so that each column of ``weight`` is one
    class template of ``in_features`` numbers (a 32x32x3 image for CIFAR-10).
    """

    param_names = ("weight", "bias")

    def __init__(self, in_features, out_features, init="gaussian", seed=0, dtype=np.float32):
        self.in_features = count("in_features", in_features)
        self.out_features = count("out_features", out_features)
        self.init = choice("init", init, INITS)
        rng = np.random.default_rng(seed)
        self.weight = init_weight(self.in_features, self.out_features, init, rng, dtype)
        self.bias = np.zeros(self.out_features, dtype=dtype)
        # np.zeros, not zeros_like (which writes every zero): see init_weight.
        self.grad_weight = np.zeros(self.weight.shape, self.weight.dtype)
        self.grad_bias = np.zeros_like(self.bias)
        self._input = None

    def forward(self, input):
        self._input = self._check_input(input, self.in_features)
        scores = self._input @ self.weight
        scores += self.bias
        return scores

    def backward(self, grad_output, need_input_grad=True):
        if self._input is None:
            not_run_yet(self)
        # grad_W += X^T G and grad_b += sum_rows G; dX = G W^T.
        self.grad_weight += self._input.T @ grad_output
        self.grad_bias += grad_output.sum(axis=0)
        return grad_output @ self.weight.T if need_input_grad else None

    def arguments(self):
        # The sizes only: a saved layer's weights are its arrays, not its init and seed.
        return {"in_features": self.in_features, "out_features": self.out_features}

    @classmethod
    def from_arguments(cls, arguments, dtype):
        # Zero parameters: a model file then loads the stored arrays into them. Sizes from a
        # file are claimed from its parameter budget first (bad types: the constructor says).
        n_in, n_out = arguments.get("in_features"), arguments.get("out_features")
        if all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (n_in, n_out)):
            reserve_parameters(n_in * n_out + n_out, f"Linear({n_in}, {n_out})")
        return cls(**arguments, init="zeros", dtype=dtype)

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, init={self.init!r})"
