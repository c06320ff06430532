from collections.abc import Callable

import jax
import jax.numpy as jnp

from .base import AbstractStochasticFlow, check_positive


class Langevin(AbstractStochasticFlow):
    r"""Overdamped Langevin (SGLD), seed 000 eq. 1: $dX = -\nabla\Phi(X)\,dt +
    \sqrt{2/\beta}\,dB$. Stationary density $\propto e^{-\beta\Phi}$.

    Args:
        loss: $\Phi$.
        beta: inverse temperature $\beta > 0$.
    """

    loss: Callable
    beta: float = 1.0

    def __check_init__(self):
        check_positive("Langevin", beta=self.beta)

    def drift(self, t, y, args):
        return -self.grad(y)

    def diffusion(self, t, y, args):
        return jnp.full_like(y, jnp.sqrt(2.0 / self.beta))


class UnderdampedLangevin(AbstractStochasticFlow):
    r"""Underdamped Langevin: $dX = V\,dt$, $dV = -(\nabla\Phi(X) + \gamma V)\,dt +
    \sqrt{2\gamma/\beta}\,dW$. Stationary density $\propto e^{-\beta(\Phi + \|V\|^2/2)}$,
    so the position marginal is $\propto e^{-\beta\Phi}$. State $(x, v)$, $v(0) = 0$.

    Args:
        loss: $\Phi$.
        beta: inverse temperature $\beta > 0$.
        friction: $\gamma > 0$.
    """

    loss: Callable
    beta: float = 1.0
    friction: float = 1.0

    def __check_init__(self):
        check_positive("UnderdampedLangevin", beta=self.beta, friction=self.friction)

    def init(self, x0):
        return x0, jnp.zeros_like(x0)

    def position(self, y):
        return y[0]

    def drift(self, t, y, args):
        x, v = y
        return v, -self.grad(x) - self.friction * v

    def diffusion(self, t, y, args):
        x, v = y
        return jnp.zeros_like(x), jnp.full_like(v, jnp.sqrt(2.0 * self.friction / self.beta))


def agents_grad(loss, xs):
    """Gradients of ``loss`` at each row of ``xs`` (N, d)."""
    return jax.vmap(jax.grad(loss))(xs)
