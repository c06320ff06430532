from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp

from .base import AbstractMultiscaleFlow, check_nonnegative, check_positive
from .langevin import agents_grad


def _check(owner, flow):
    check_positive(owner, gamma=flow.gamma, beta=flow.beta, epsilon=flow.epsilon)


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
        _check("Homogenized", self)

    def slow(self, t, y, args):
        x, fast = y
        return -(x - fast) / self.gamma

    def fast(self, t, y, args):
        x, fast = y
        return -(self.grad(fast) - (x - fast) / self.gamma) / self.epsilon

    def fast_noise(self, t, y, args):
        return jnp.full_like(y[1], jnp.sqrt(2.0 / (self.beta * self.epsilon)))


class MeanFieldHomogenized(AbstractMultiscaleFlow):
    r"""MF-HOM-SGLD (seed 000 eqs. 14–15): :class:`Homogenized` for N agents whose slow
    variables also feel the Curie–Weiss pull $-\lambda(X^i - \bar X)$. State
    ``(X, Y)`` with both of shape ``(N, d)``.

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
        _check("MeanFieldHomogenized", self)
        check_nonnegative("MeanFieldHomogenized", interaction=self.interaction)

    def slow(self, t, y, args):
        x, fast = y
        return -(x - fast) / self.gamma - self.interaction * (x - jnp.mean(x, axis=0))

    def fast(self, t, y, args):
        x, fast = y
        return -(agents_grad(self.loss, fast) - (x - fast) / self.gamma) / self.epsilon

    def fast_noise(self, t, y, args):
        return jnp.full_like(y[1], jnp.sqrt(2.0 / (self.beta * self.epsilon)))
