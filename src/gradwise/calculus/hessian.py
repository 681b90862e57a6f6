"""Hessian-vector products ``v -> H v`` for Newton methods, exact or by finite differences.

A Hessian operator is evaluated at a point: ``op.update(x)`` sets it (and computes what
the products need there), ``op.matvec(v)`` returns ``H(x) v``, ``op.dense()`` the whole
``n x n`` matrix (only sensible for small ``n``).

- :class:`SoftmaxHessian` is exact for linear softmax regression with an L2 penalty:
  ``f(W, b) = scale * sum_i [log sum_c exp(s_ic) - s_iy] + lam ||W||^2``, ``s_i = x_i W + b``.
  With ``p_i = softmax(s_i)`` and a direction ``V = (V_W, v_b)``, the scores move by
  ``r_i = x_i V_W + v_b``, and ``d^2 lse / ds^2 = diag(p) - p p^T`` gives

      m_i = p_i * r_i - p_i (p_i . r_i)
      (H V)_W = scale * X^T M + 2 lam V_W,    (H V)_b = scale * sum_i m_i

  (plus ``2 lam v_b`` when the penalty includes the bias): two matrix products with X,
  into buffers allocated once.
- :class:`FiniteDifferenceHessian` works for any ``f(x) -> (loss, grad)``: the central
  difference ``H v ~ (g(x + h v) - g(x - h v)) / (2 h)``, ``h = eps^(1/3) max(1, ||x||) / ||v||``
  (two evaluations of ``f`` per product, error O(h^2)).

:func:`hessian_operator` picks the exact one when it applies and refuses objectives that
have no Hessian (the hinge loss, L1 and elastic-net penalties are not differentiable at
their kinks).
"""

import numpy as np

from ..nn.functional import softmax
from ..nn.linear import Linear
from ..nn.loss import SoftmaxCrossEntropy
from ..nn.penalty import L1, L2, ElasticNet


class HessianOperator:
    """Base class: ``update(x)``, ``matvec(v)``, ``dense()``; ``exact`` says whether the
    products are analytic (``dense`` is then cheap) or finite differences."""

    exact = False

    def __init__(self, n):
        self.n = int(n)

    def update(self, x, grad=None):
        raise NotImplementedError

    def matvec(self, v):
        raise NotImplementedError

    def dense(self):
        """``H`` column by column (``n`` products), symmetrised."""
        eye = np.zeros(self.n)
        columns = []
        for j in range(self.n):
            eye[j] = 1.0
            columns.append(np.array(self.matvec(eye), dtype=np.float64))
            eye[j] = 0.0
        H = np.stack(columns, axis=1)
        return (H + H.T) / 2


class SoftmaxHessian(HessianOperator):
    """Exact Hessian of ``Objective(Linear, SoftmaxCrossEntropy, penalty=None | L2)``.

    ``f`` is a :class:`gradwise.Objective`; its flat vector is ``[W.ravel(), b]`` with
    ``W`` of shape (D, C). Products are computed in the dtype of ``f.X``.
    """

    exact = True

    def __init__(self, f):
        if not self.supports(f):
            raise TypeError(
                "SoftmaxHessian needs an objective of one Linear layer with "
                "SoftmaxCrossEntropy and no penalty or an L2 penalty"
            )
        layer = f.model
        self.f = f
        self.D, self.C = layer.in_features, layer.out_features
        super().__init__(self.D * self.C + self.C)
        self._P = None

    @staticmethod
    def supports(f):
        model, loss, penalty = (getattr(f, a, None) for a in ("model", "loss", "penalty"))
        return (
            type(model) is Linear
            and type(loss) is SoftmaxCrossEntropy
            and (penalty is None or type(penalty) is L2)
        )

    def _split(self, v):
        DC = self.D * self.C
        return v[:DC].reshape(self.D, self.C), v[DC:]

    def _scale(self):
        return 1.0 / len(self.f.X) if self.f.loss.reduction == "mean" else 1.0

    def _penalty(self):
        penalty = self.f.penalty
        return (0.0, False) if penalty is None else (penalty.lam, penalty.include_bias)

    def update(self, x, grad=None):
        """Compute the softmax probabilities ``P`` (N, C) at ``x``."""
        X = np.asarray(self.f.X)
        dtype = np.result_type(X.dtype, np.float32)
        W, b = self._split(np.asarray(x, dtype=dtype))
        shape = (len(X), self.C)
        if self._P is None or self._P.shape != shape or self._P.dtype != dtype:
            self._P = np.empty(shape, dtype=dtype)
            self._M = np.empty(shape, dtype=dtype)
            self._row = np.empty((len(X), 1), dtype=dtype)
        P = self._P
        np.matmul(X, W, out=P)
        P += b
        softmax(P, out=P)
        return self

    def _require_point(self):
        if self._P is None:
            raise RuntimeError("call update(x) before using the Hessian")

    def matvec(self, v):
        self._require_point()
        X, P, M, row = np.asarray(self.f.X), self._P, self._M, self._row
        V_W, v_b = self._split(np.asarray(v, dtype=P.dtype))
        out = np.empty(self.n, dtype=P.dtype)
        out_W, out_b = self._split(out)
        np.matmul(X, V_W, out=M)  # r_i = x_i V_W + v_b
        M += v_b
        M *= P
        np.sum(M, axis=1, keepdims=True, out=row)  # p_i . r_i
        M -= P * row
        np.matmul(X.T, M, out=out_W)
        np.sum(M, axis=0, out=out_b)
        out *= self._scale()
        lam, include_bias = self._penalty()
        if lam:
            out_W += (2 * lam) * V_W
            if include_bias:
                out_b += (2 * lam) * v_b
        return out

    def dense(self):
        """The full (n, n) Hessian from the formula, without n products.

        With ``X1 = [X, 1]`` the flat layout ``[W.ravel(), b]`` is ``(d, c)`` in C order over
        d = 0..D (d = D is the bias), so
        ``H[(d, c), (e, k)] = scale * sum_i X1_id X1_ie (p_ic [c = k] - p_ic p_ik)``.
        """
        self._require_point()
        X = np.asarray(self.f.X, dtype=np.float64)
        P = self._P.astype(np.float64)
        X1 = np.hstack([X, np.ones((len(X), 1))])
        D1, C = X1.shape[1], self.C
        H = np.zeros((D1, C, D1, C))
        for c in range(C):
            for k in range(c, C):
                a = P[:, c] * ((c == k) - P[:, k])
                block = (X1 * a[:, None]).T @ X1
                H[:, c, :, k] = block
                H[:, k, :, c] = block.T
        H = H.reshape(D1 * C, D1 * C) * self._scale()
        lam, include_bias = self._penalty()
        if lam:
            diagonal = np.full(self.n, 2 * lam)
            if not include_bias:
                diagonal[self.D * self.C :] = 0
            H[np.diag_indices(self.n)] += diagonal
        return H


class FiniteDifferenceHessian(HessianOperator):
    """``H v ~ (g(x + h v) - g(x - h v)) / (2 h)`` for any ``f(x) -> (loss, grad)``.

    ``h = eps^(1/3) * max(1, ||x||) / ||v||`` balances truncation (O(h^2)) against
    rounding (O(eps / h)) error; ``eps`` is the machine epsilon of ``x``'s dtype. Each product
    costs two evaluations of ``f`` (counted in ``evaluations``); ``f`` is left evaluated at
    the last trial point, so evaluate it again before trusting its model's state.
    """

    def __init__(self, f, n=None):
        self.f = f
        self.evaluations = 0
        self._x = None
        super().__init__(0 if n is None else n)

    def update(self, x, grad=None):
        self._x = np.array(x, copy=True)
        self.n = self._x.size
        self._trial = np.empty_like(self._x)
        return self

    def matvec(self, v):
        if self._x is None:
            raise RuntimeError("call update(x) before using the Hessian")
        v = np.asarray(v)
        norm = float(np.linalg.norm(v))
        if norm == 0:
            return np.zeros_like(self._x)
        eps = np.finfo(self._x.dtype).eps
        h = eps ** (1 / 3) * max(1.0, float(np.linalg.norm(self._x))) / norm
        forward = self._gradient_at(h, v).astype(np.float64)
        backward = self._gradient_at(-h, v)
        return ((forward - backward) / (2 * h)).astype(self._x.dtype)

    def _gradient_at(self, step, v):
        np.multiply(v, step, out=self._trial, casting="unsafe")
        self._trial += self._x
        _, grad = self.f(self._trial)
        self.evaluations += 1
        return np.array(grad, copy=True)


def check_smooth(f):
    """Raise ``ValueError`` if ``f`` is an objective known to have no Hessian."""
    loss, penalty = getattr(f, "loss", None), getattr(f, "penalty", None)
    if not getattr(loss, "smooth", True):
        raise ValueError(
            f"Newton methods need a twice-differentiable objective, but the {type(loss).__name__} "
            "loss (a hinge) has kinks (no Hessian there); use LBFGS or a first-order optimizer"
        )
    if isinstance(penalty, L1 | ElasticNet):
        name = type(penalty).__name__
        raise ValueError(
            f"Newton methods need a twice-differentiable objective, but the {name} penalty "
            "has a kink at 0 (no Hessian there); use an L2 penalty or LBFGS"
        )


def hessian_operator(f):
    """The exact operator for softmax regression (+ L2), else finite differences."""
    check_smooth(f)
    if SoftmaxHessian.supports(f):
        return SoftmaxHessian(f)
    return FiniteDifferenceHessian(f)
