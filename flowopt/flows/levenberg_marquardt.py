from collections.abc import Callable
from typing import ClassVar

import jax
import jax.numpy as jnp
import lineax as lx

from .base import AbstractFlow, check_positive


class LevenbergMarquardt(AbstractFlow):
    r"""Levenberg–Marquardt flow for a least-squares loss $f = \tfrac12\|r(x)\|^2$.

    $$x' = -(J^\top J + \mu I)^{-1} J^\top r, \qquad J = \partial r/\partial x,$$

    solved with lineax (Cholesky: the matrix is symmetric positive definite for
    $\mu > 0$). Energy $E = f$, $E' = -g^\top (J^\top J + \mu I)^{-1} g$ with
    $g = J^\top r$. Explicit Euler with step 1 is the classical damped Gauss–Newton
    step (Hagan & Menhaj 1994; seed 004).

    Args:
        residuals: ``r(x)``, shape ``(d,) -> (n,)``; e.g. ``NeuronPoly(...).residuals``.
        damping: $\mu > 0$.
    """

    residuals: Callable
    damping: float = 1e-2
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_positive("LevenbergMarquardt", damping=self.damping)

    @property
    def loss(self):
        return self._loss

    def _loss(self, x):
        return 0.5 * jnp.sum(self.residuals(x) ** 2)

    def _direction(self, x):
        r = self.residuals(x)
        jac = jax.jacfwd(self.residuals)(x)
        g = jac.T @ r
        matrix = jac.T @ jac + self.damping * jnp.eye(x.shape[0], dtype=jac.dtype)
        operator = lx.MatrixLinearOperator(matrix, lx.positive_semidefinite_tag)
        return g, lx.linear_solve(operator, g, solver=lx.Cholesky()).value

    def drift(self, t, y, args):
        return -self._direction(y)[1]

    def energy(self, t, y, args):
        return self._loss(y)

    def dissipation(self, t, y, args):
        g, step = self._direction(y)
        return jnp.dot(g, step)
