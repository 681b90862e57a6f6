"""The torch7-style module: ``forward`` keeps what ``backward`` needs.

``backward(grad_output)`` returns the gradient with respect to the input and *adds* the
gradients of the module's own parameters into ``grad_<name>`` (call ``zero_grad`` between
batches), exactly as torch7's ``Module:backward`` (updateGradInput + accGradParameters).
"""

import numpy as np

from .description import Describable


def not_run_yet(module):
    """Raise the ``ValueError`` of a ``backward`` called before any ``forward``."""
    raise ValueError(
        f"{type(module).__name__}.backward was called before forward: call forward(input) "
        "first (backward uses what forward kept)"
    )


class Module(Describable, kind="layer"):
    """Base class. A module with parameters lists their names in ``param_names``; each
    parameter ``name`` has a gradient array ``grad_<name>`` of the same shape. Every
    subclass is registered for model files (:mod:`gradwise.nn.description`)."""

    param_names = ()

    def forward(self, input):
        raise NotImplementedError

    def backward(self, grad_output, need_input_grad=True):
        """Accumulate parameter gradients; return ``d loss / d input`` (or ``None`` when
        ``need_input_grad`` is false, which saves the first layer a whole matrix product)."""
        raise NotImplementedError

    def __call__(self, input):
        return self.forward(input)

    #: What ``forward`` saves for ``backward`` (an input, an output or a mask).
    _SAVED_BY_FORWARD = frozenset({"_input", "_output", "_mask"})

    def __getattr__(self, name):
        # Reached only when normal lookup fails, so the forward/backward path pays nothing.
        if name in Module._SAVED_BY_FORWARD:
            not_run_yet(self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def children(self):
        """Directly contained modules (containers override this)."""
        return ()

    def modules(self):
        """This module and every module inside it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix=""):
        """``(qualified_name, module, param_name)`` for every parameter, in flat-vector order."""
        for name in self.param_names:
            yield prefix + name, self, name
        for i, child in enumerate(self.children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def parameters(self):
        """``[(param, grad), ...]`` for every parameter (views into the flat vectors once
        :func:`gradwise.nn.flatten` has run)."""
        return [
            (getattr(m, name), getattr(m, "grad_" + name)) for _, m, name in self.named_parameters()
        ]

    def zero_grad(self):
        for _, grad in self.parameters():
            grad.fill(0)

    def _check_input(self, input, width=None):
        input = np.asarray(input)
        if input.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} expects a 2-D (N, D) input, got shape {input.shape}"
            )
        if width is not None and input.shape[1] != width:
            raise ValueError(
                f"{type(self).__name__} expects {width} features per row, "
                f"got {input.shape[1]} (input shape {input.shape})"
            )
        return input
