"""View 1: a linear classifier on 2-D points, as the course's loss demo shows it.

The state is the points (with their classes), a :class:`gradwise.nn.Linear` model of
``W`` (shown C x 2, one row per class) and ``b``, the loss's name, the L2 strength and the
step size. Every number the page shows comes from gradwise: the data loss from the loss in
``gw.nn.LOSSES``, the regularisation from :class:`gradwise.nn.L2`, their sum and gradient
from :func:`gradwise.objective`, and a step from the registry's ``sgd``. A class's
zero-score line is ``W_c . p + b_c = 0``; its handles move it: the anchor (the line's
point nearest the origin) shifts it, the tip of its normal ``W_c`` rotates it.
"""

import base64

import numpy as np

from .. import nn, optim
from ..calculus.objective import objective
from ..nn.flat import flatten
from ..plot.style import FALLBACK_COLORS
from . import limits
from .messages import finite_or_none

#: The page's default loss, L2 strength and step size (the course demo's).
DEFAULT_LOSS = "svm"
DEFAULT_REG = 0.1
DEFAULT_LR = 0.1

#: The optimizer a step takes: the plain gradient step of the course demo.
STEP_OPTIMIZER = "sgd"


def loss_names():
    """The losses the view offers: every name in ``gw.nn.LOSSES``."""
    return tuple(nn.LOSSES)


class Plane:
    """The state of view 1 for one tab."""

    def __init__(self, n_classes=3, points_per_class=10, seed=0):
        self.loss_name, self.reg, self.lr = DEFAULT_LOSS, DEFAULT_REG, DEFAULT_LR
        self.randomise(n_classes, points_per_class, seed)

    # -- what the page changes ---------------------------------------------------------

    def randomise(self, n_classes, points_per_class, seed):
        """New points (one Gaussian cloud per class on a circle) and small random W, b."""
        rng = np.random.default_rng(seed)
        angles = 2 * np.pi * np.arange(n_classes) / n_classes
        centres = 1.6 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        labels = np.repeat(np.arange(n_classes), points_per_class)
        points = centres[labels] + 0.55 * rng.standard_normal((len(labels), 2))
        self.points = np.clip(points, -limits.PLANE_EXTENT, limits.PLANE_EXTENT)
        self.labels = labels.astype(np.int64)
        self._new_model(n_classes)
        self.model.weight[...] = rng.standard_normal((2, n_classes))
        self.model.bias[...] = 0.5 * rng.standard_normal(n_classes)

    def _new_model(self, n_classes):
        self.model = nn.Linear(2, n_classes, init="zeros", dtype=np.float64)
        self.x = flatten(self.model)[0]  # weight and bias are views into x
        self.optimizer = None

    @property
    def n_classes(self):
        return self.model.weight.shape[1]

    def set_parameters(self, W=None, b=None):
        """``W`` as C rows of 2 numbers, ``b`` as C numbers (already checked)."""
        if W is not None:
            self.model.weight[...] = np.asarray(W, dtype=np.float64).T
        if b is not None:
            self.model.bias[...] = b

    def set_options(self, loss=None, reg=None, lr=None):
        if loss is not None:
            self.loss_name = loss
        if reg is not None:
            self.reg = reg
        if lr is not None:
            self.lr = lr
        self.optimizer = None  # a new step size is a new optimizer

    def add_point(self, p, label):
        self.points = np.vstack([self.points, [p]])
        self.labels = np.append(self.labels, np.int64(label))

    def move_point(self, index, p):
        self.points[index] = p

    def delete_point(self, index):
        if len(self.labels) == 1:
            raise ValueError("keep at least one point (the loss is a mean over the points)")
        self.points = np.delete(self.points, index, axis=0)
        self.labels = np.delete(self.labels, index)

    def shift_line(self, c, p):
        """Move class ``c``'s zero-score line, keeping its direction, through ``p``."""
        w = self.model.weight[:, c]
        self.model.bias[c] = -float(w @ np.asarray(p))

    def rotate_line(self, c, p, pivot=None):
        """Turn class ``c``'s normal ``W_c`` to point from ``pivot`` to ``p``, keeping its
        length, and put the line through ``pivot`` (default: its anchor). A drag passes the
        anchor it started from as the pivot of every move, so the line turns about one point
        (the anchor itself moves as the line turns)."""
        w = self.model.weight[:, c].copy()
        anchor = self.anchor(c) if pivot is None else np.asarray(pivot, dtype=np.float64)
        towards = np.asarray(p) - anchor
        length = float(np.hypot(*towards))
        if length < 1e-9:
            return
        norm = max(float(np.hypot(*w)), 1e-3)
        self.model.weight[:, c] = norm * towards / length
        self.model.bias[c] = -float(self.model.weight[:, c] @ anchor)

    def anchor(self, c):
        """The point of class ``c``'s zero-score line nearest the origin (the origin if
        ``W_c`` is 0 and there is no line)."""
        w, b = self.model.weight[:, c], self.model.bias[c]
        norm2 = float(w @ w)
        return np.zeros(2) if norm2 == 0 else -b * w / norm2

    # -- the numbers ---------------------------------------------------------------------

    def _objective(self, loss):
        penalty = nn.L2(self.reg) if self.reg else None
        return objective(self.model, loss, self.points, self.labels, penalty)

    def step(self, steps):
        """``steps`` gradient steps of data loss + L2 with the registry's ``sgd``."""
        if self.optimizer is None:
            self.optimizer = optim.get(STEP_OPTIMIZER, lr=self.lr)
        f = self._objective(nn.loss_named(self.loss_name))
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                self.optimizer.step(f, self.x)
        np.clip(self.x, -limits.MAX_WEIGHT, limits.MAX_WEIGHT, out=self.x)

    def losses(self):
        """``(data, regularisation, per_point)``: the mean data loss over the points, the
        L2 part, and each point's own loss (the same loss with one row)."""
        scores = self.model.forward(self.points)
        data = nn.loss_named(self.loss_name)(scores, self.labels)
        reg = nn.L2(self.reg).forward(self.model) if self.reg else 0.0
        per_row = nn.loss_named(self.loss_name, reduction="sum")
        each = [per_row(scores[i : i + 1], self.labels[i : i + 1]) for i in range(len(scores))]
        return data, reg, each, scores

    def winners(self, cells=limits.PLANE_GRID):
        """The winning class of each cell of a ``cells`` x ``cells`` grid over the plane,
        rows from the top (y = +extent) down, one byte each, in base64."""
        e = limits.PLANE_EXTENT
        centres = np.linspace(-e, e, cells, endpoint=False) + e / cells
        gx, gy = np.meshgrid(centres, centres[::-1])
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        winners = np.argmax(self.model.forward(grid), axis=1).astype(np.uint8)
        return base64.b64encode(winners.tobytes()).decode("ascii")

    def state(self):
        data, reg, each, scores = self.losses()
        return {
            "type": "plane.state",
            "points": self.points.tolist(),
            "labels": self.labels.tolist(),
            "W": self.model.weight.T.tolist(),
            "b": self.model.bias.tolist(),
            "anchors": [self.anchor(c).tolist() for c in range(self.n_classes)],
            "loss": self.loss_name,
            "reg": self.reg,
            "lr": self.lr,
            "data_loss": finite_or_none(data),
            "reg_loss": finite_or_none(reg),
            "total_loss": finite_or_none(data + reg),
            "point_losses": [finite_or_none(v) for v in each],
            "scores": scores.tolist(),
            "winners": self.winners(),
            "class_colors": list(FALLBACK_COLORS[: self.n_classes]),
            "grid": limits.PLANE_GRID,
            "extent": limits.PLANE_EXTENT,
        }
