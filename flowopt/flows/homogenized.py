from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp

from .base import AbstractMultiscaleFlow, cast, check_fields


class Homogenized(AbstractMultiscaleFlow):
    r"""Fast/slow homogenized SGLD (Chaudhari et al. 2018; seed 000 eqs. 13a–b):

    $$dX = -\tfrac1\gamma (X - Y)\,dt,\qquad
      dY = -\tfrac1\epsilon\big(\nabla\Phi(Y) - \tfrac1\gamma(X - Y)\big)dt
           + \sqrt{2/(\beta\epsilon)}\,dB.$$

    As $\epsilon \to 0$, $X' = -\nabla\Phi^{\beta,\gamma}(X) = -(X - \langle y\rangle_X)/\gamma$
    with $\rho^x(y) \propto e^{-\beta[\Phi(y) + \|x - y\|^2/2\gamma]}$ (Cole–Hopf,
    REFERENCE.md §1). Slow $X$ (the position), fast $Y$; $Y(0) = X(0)$. Integrate with
    ``schemes.HMM`` (Algorithm 1) or, at fine steps, Euler–Maruyama.

    Args:
        loss: $\Phi$.
        gamma: $\gamma > 0$. beta: $\beta > 0$. epsilon: scale separation $\epsilon > 0$.
    """

    loss: Callable
    gamma: float = 0.1
    beta: float = 1.0
    epsilon: float = 0.01

    def __check_init__(self):
        check_fields(self, positive=("gamma", "beta", "epsilon"))

    def slow(self, t, y, args):
        x, fast = y
        return -(x - fast) / cast(x, self.gamma)[0]

    def fast(self, t, y, args):
        x, fast = y
        gamma, epsilon = cast(x, self.gamma, self.epsilon)
        return -(self.grad(fast) - (x - fast) / gamma) / epsilon

    def fast_noise(self, t, y, args):
        return _noise(self, y)


class MeanFieldHomogenized(AbstractMultiscaleFlow):
    r"""MF-HOM-SGLD (seed 000 eqs. 14–15): :class:`Homogenized` for N agents whose slow
    variables also feel the Curie–Weiss pull $-\lambda(X^i - \bar X)$. State
    ``(X, Y)`` with both of shape ``(N, d)``; :meth:`position` is the slow agents $X$,
    :meth:`outcome` their mean.

    Args:
        loss: $\Phi$ on one agent. gamma, beta, epsilon: as :class:`Homogenized`.
        interaction: $\lambda \ge 0$.
    """

    loss: Callable
    gamma: float = 0.1
    beta: float = 1.0
    epsilon: float = 0.01
    interaction: float = 1.0
    interacting: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("gamma", "beta", "epsilon"), nonnegative=("interaction",))

    def slow(self, t, y, args):
        x, fast = y
        gamma, interaction = cast(x, self.gamma, self.interaction)
        return -(x - fast) / gamma - interaction * (x - jnp.mean(x, axis=0))

    def fast(self, t, y, args):
        x, fast = y
        gamma, epsilon = cast(x, self.gamma, self.epsilon)
        return -(self.grad(fast) - (x - fast) / gamma) / epsilon

    def fast_noise(self, t, y, args):
        return _noise(self, y)


def _noise(flow, y):
    r"""$\sqrt{2/(\beta\epsilon)}$ on every fast coordinate, in the state's dtype."""
    beta, epsilon = cast(y[1], flow.beta, flow.epsilon)
    return jnp.full_like(y[1], jnp.sqrt(2.0 / (beta * epsilon)))
