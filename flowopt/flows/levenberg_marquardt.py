from collections.abc import Callable
from typing import ClassVar

import jax
import jax.numpy as jnp
import lineax as lx

from ..landscapes.base import Landscape
from .base import AbstractFlow, cast, check_fields


class LevenbergMarquardt(AbstractFlow):
    r"""Levenberg–Marquardt flow for a least-squares loss $f = \tfrac12\|r(x)\|^2$.

    $$x' = -(J^\top J + \mu I)^{-1} J^\top r, \qquad J = \partial r/\partial x,$$

    solved with lineax (Cholesky: the matrix is symmetric positive definite for
    $\mu > 0$). Energy $E = f$, $E' = -g^\top (J^\top J + \mu I)^{-1} g$ with
    $g = J^\top r$. Explicit Euler with step 1 is the classical damped Gauss–Newton
    step (Hagan & Menhaj 1994; seed 004).

    Args:
        residuals: ``r(x)``, shape ``(d,) -> (n,)``; e.g. ``NeuronPoly(...).residuals``.
            A landscape's own ``residuals`` method makes that landscape the flow's
            :attr:`loss`, so its minima, domain and dimension are known downstream.
        damping: $\mu > 0$.

    Example:
        >>> import flowopt as fo
        >>> f = fo.landscapes.NeuronPoly("polyThree")
        >>> fo.flows.LevenbergMarquardt(f.residuals).loss is f
        True
    """

    residuals: Callable
    damping: float = 1e-2
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("damping",))

    @property
    def loss(self):
        r"""$\tfrac12\|r\|^2$: the landscape whose ``residuals`` method ``r`` is (a
        least-squares landscape, whose loss is this by contract), else a function."""
        owner = getattr(self.residuals, "__self__", None)
        method = getattr(type(owner), "residuals", None)
        if isinstance(owner, Landscape) and getattr(self.residuals, "__func__", None) is method:
            return owner
        return self._loss

    def _residuals(self, x):
        return jnp.asarray(self.residuals(x), x.dtype)

    def _loss(self, x):
        return 0.5 * jnp.sum(self._residuals(x) ** 2)

    def _direction(self, x):
        r = self._residuals(x)
        jac = jax.jacfwd(self._residuals)(x)
        g = jac.T @ r
        damping, = cast(x, self.damping)
        matrix = jac.T @ jac + damping * jnp.eye(x.shape[0], dtype=x.dtype)
        operator = lx.MatrixLinearOperator(matrix, lx.positive_semidefinite_tag)
        return g, lx.linear_solve(operator, g, solver=lx.Cholesky()).value

    def drift(self, t, y, args):
        return -self._direction(y)[1]

    def energy(self, t, y, args):
        return self._loss(y)

    def dissipation(self, t, y, args):
        g, step = self._direction(y)
        return jnp.dot(g, step)
