from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp

from .base import (AbstractPartitionedFlow, cast, check_fields, check_fraction,
                   check_positive, sqnorm)


class HeavyBall(AbstractPartitionedFlow):
    r"""Polyak's heavy ball $m\,x'' + \gamma x' + \nabla f(x) = 0$, state $(x, v)$.

    $x' = v$, $v' = -(\gamma v + \nabla f(x))/m$. Energy $E = f + \tfrac m2\|v\|^2$ with
    $E' = -\gamma\|v\|^2$ (REFERENCE.md §1, with a mass). ``friction=0`` is conservative.

    Args:
        loss: the loss $f$.
        friction: $\gamma \ge 0$.
        mass: $m > 0$, default 1.
    """

    loss: Callable
    friction: float = 1.0
    mass: float = 1.0
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("mass",), nonnegative=("friction",))

    @classmethod
    def from_optax(cls, loss, learning_rate, momentum):
        r"""The flow whose semi-implicit Euler steps of size ``learning_rate`` are
        ``optax.sgd(learning_rate, momentum)``.

        With $v = -m_k$ (optax's trace) and $t = k\,\eta$: $v_k = \mu v_{k-1} - g_k$,
        $x_k = x_{k-1} + \eta v_k$, i.e. mass $\eta$ and friction $1 - \mu$.
        """
        check_positive("HeavyBall.from_optax", learning_rate=learning_rate)
        check_fraction("HeavyBall.from_optax", include_zero=True, momentum=momentum)
        return cls(loss, friction=1.0 - momentum, mass=learning_rate)

    @property
    def second_order(self):
        return True

    def initial_state(self, x0):
        return x0, jnp.zeros_like(x0)

    def drift_p(self, t, y, args):
        return y[1]

    def drift_q(self, t, y, args):
        x, v = y
        friction, mass = cast(v, self.friction, self.mass)
        return -(friction * v + self.grad(x)) / mass

    def energy(self, t, y, args):
        x, v = y
        return self.loss_at(x) + 0.5 * cast(v, self.mass)[0] * sqnorm(v)

    def dissipation(self, t, y, args):
        return cast(y[1], self.friction)[0] * sqnorm(y[1])
