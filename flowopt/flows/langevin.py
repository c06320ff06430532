from collections.abc import Callable

import jax.numpy as jnp

from .base import AbstractStochasticFlow, cast, check_fields


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
        check_fields(self, positive=("beta",))

    def drift(self, t, y, args):
        return -self.grad(y)

    def diffusion(self, t, y, args):
        return jnp.full_like(y, jnp.sqrt(2.0 / cast(y, self.beta)[0]))


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
        check_fields(self, positive=("beta", "friction"))

    def initial_state(self, x0):
        return x0, jnp.zeros_like(x0)

    def position(self, y):
        return y[0]

    def drift(self, t, y, args):
        x, v = y
        return v, -self.grad(x) - cast(v, self.friction)[0] * v

    def diffusion(self, t, y, args):
        x, v = y
        friction, beta = cast(v, self.friction, self.beta)
        return jnp.zeros_like(x), jnp.full_like(v, jnp.sqrt(2.0 * friction / beta))

