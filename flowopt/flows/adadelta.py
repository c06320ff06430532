from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp

from .base import (AbstractPartitionedFlow, cast, check_fields, check_fraction,
                   check_positive, total)


class Adadelta(AbstractPartitionedFlow):
    r"""Adadelta (Zeiler 2012) as a flow, state $((x, u), s)$.

    $$s' = b(g^2 - s), \quad x' = \delta, \quad u' = b(\delta^2 - u), \quad
      \delta = -\frac{\sqrt{u + \epsilon}}{\sqrt{s + \epsilon}}\, g,$$

    ($s$: average squared gradient, $u$: average squared update; the classical algorithm
    updates $s$ first, then $(x, u)$ — so $s$ is the first-updated part). Energy $E = f$,
    $E' = -\sum_i \sqrt{u_i+\epsilon}\, g_i^2/\sqrt{s_i+\epsilon}$. Seed 001 trains with it.

    Args:
        loss: the loss $f$. rate: $b > 0$. eps: $\epsilon > 0$ (at 0 the flow never
            leaves $u = 0$).
    """

    loss: Callable
    rate: float = 1.0
    eps: float = 1e-6
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("rate", "eps"))

    @classmethod
    def from_optax(cls, loss, learning_rate, rho=0.9, eps=1e-6, weight_decay=0.0):
        """The flow whose semi-implicit Euler steps of size ``learning_rate`` are
        ``optax.adadelta(learning_rate, rho, eps)``."""
        check_positive("Adadelta.from_optax", learning_rate=learning_rate)
        if weight_decay:
            raise ValueError(f"Adadelta.from_optax(weight_decay={weight_decay!r}): add the "
                             "decay to the loss instead; leave weight_decay=0.")
        check_fraction("Adadelta.from_optax", rho=rho)
        return cls(loss, rate=(1.0 - rho) / learning_rate, eps=eps)

    def initial_state(self, x0):
        return (x0, jnp.zeros_like(x0)), jnp.zeros_like(x0)

    def position(self, y):
        return y[0][0]

    def _step(self, y):
        (x, u), s = y
        g = self.grad(x)
        eps, = cast(u, self.eps)
        return g, -jnp.sqrt(u + eps) / jnp.sqrt(s + eps) * g

    def drift_p(self, t, y, args):
        _, delta = self._step(y)
        return delta, cast(delta, self.rate)[0] * (delta**2 - y[0][1])

    def drift_q(self, t, y, args):
        (x, _), s = y
        return cast(s, self.rate)[0] * (self.grad(x) ** 2 - s)

    def energy(self, t, y, args):
        return self.loss_at(y[0][0])

    def dissipation(self, t, y, args):
        g, delta = self._step(y)
        return -total(g * delta)
