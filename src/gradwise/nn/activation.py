"""Elementwise nonlinearities. Each keeps its output (or input) for ``backward``."""

import numpy as np

from .module import Module


class ReLU(Module):
    """max(0, x); the gradient at exactly 0 is taken as 0 (PyTorch's choice)."""

    def forward(self, input):
        self._mask = input > 0
        return input * self._mask

    def backward(self, grad_output, need_input_grad=True):
        return grad_output * self._mask

    def __repr__(self):
        return "ReLU()"


class Tanh(Module):
    """tanh(x); d/dx = 1 - tanh(x)^2."""

    def forward(self, input):
        self._output = np.tanh(input)
        return self._output

    def backward(self, grad_output, need_input_grad=True):
        return grad_output * (1 - self._output**2)

    def __repr__(self):
        return "Tanh()"


class Sigmoid(Module):
    """1 / (1 + exp(-x)), computed without overflow; d/dx = s (1 - s)."""

    def forward(self, input):
        # exp of a non-positive number never overflows: use the form that needs one.
        z = np.exp(-np.abs(input))
        self._output = np.where(input >= 0, 1 / (1 + z), z / (1 + z))
        return self._output

    def backward(self, grad_output, need_input_grad=True):
        return grad_output * self._output * (1 - self._output)

    def __repr__(self):
        return "Sigmoid()"
