"""Optimizers: every one takes ``step(f, x)`` with ``f(x) -> (loss, grad)`` on a flat vector."""

from .base import Optimizer

__all__ = ["Optimizer"]
