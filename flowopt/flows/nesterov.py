from collections.abc import Callable
from typing import ClassVar

import jax
import jax.numpy as jnp

from .base import (AbstractPartitionedFlow, cast, check_fields, check_fraction,
                   check_positive, sqnorm)


class Nesterov(AbstractPartitionedFlow):
    r"""Nesterov's accelerated gradient as a flow, state $(x, v)$.

    $$x' = v - c\,\nabla f(x), \qquad m\,v' = -\gamma(t)\,v - \nabla f(x), \qquad
      \gamma(t) = \gamma_0 + r/t.$$

    The default ($c = 0$, $m = 1$, $\gamma_0 = 0$, $r = 3$) is the ODE of Su, Boyd and
    Candès (2016), $x'' + \tfrac3t x' + \nabla f = 0$. :meth:`from_optax` gives the flow
    of optax's constant-momentum Nesterov SGD, which has the gradient correction
    $c = 1$. Energy $E = f + \tfrac m2\|v\|^2$ with
    $E' = -c\|\nabla f\|^2 - \gamma(t)\|v\|^2$.

    Args:
        loss: the loss.
        r: coefficient of the vanishing friction $r/t$ (3 in Su–Boyd–Candès).
        friction: constant friction $\gamma_0 \ge 0$.
        mass: $m > 0$.
        correction: gradient correction $c \ge 0$.
    """

    loss: Callable
    r: float = 3.0
    friction: float = 0.0
    mass: float = 1.0
    correction: float = 0.0
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("mass",), nonnegative=("r", "friction", "correction"))

    @classmethod
    def from_optax(cls, loss, learning_rate, momentum):
        r"""The flow whose semi-implicit Euler steps of size ``learning_rate`` are
        ``optax.sgd(learning_rate, momentum, nesterov=True)``.

        optax: $m_k = g_k + \mu m_{k-1}$, $x_k = x_{k-1} - \eta(g_k + \mu m_k)$. With
        $v = -\mu m$: $v_k = \mu(v_{k-1} - g_k)$ and $x_k = x_{k-1} + \eta(v_k - g_k)$,
        i.e. $m = \eta/\mu$, $\gamma_0 = (1-\mu)/\mu$, $c = 1$, $r = 0$.
        """
        check_positive("Nesterov.from_optax", learning_rate=learning_rate)
        check_fraction("Nesterov.from_optax", momentum=momentum)
        return cls(loss, r=0.0, friction=(1.0 - momentum) / momentum,
                   mass=learning_rate / momentum, correction=1.0)

    @property
    def second_order(self):
        c = self.correction
        return not isinstance(c, jax.core.Tracer) and float(c) == 0

    def _gamma(self, t, v):
        r"""$\gamma(t)$ in the dtype of ``v``."""
        friction, r, t = cast(v, self.friction, self.r, t)
        return friction + jnp.where(t > 0, r / jnp.where(t > 0, t, 1.0), 0.0)

    def initial_state(self, x0):
        return x0, jnp.zeros_like(x0)

    def drift_p(self, t, y, args):
        x, v = y
        return v if self.second_order else v - cast(v, self.correction)[0] * self.grad(x)

    def drift_q(self, t, y, args):
        x, v = y
        return -(self._gamma(t, v) * v + self.grad(x)) / cast(v, self.mass)[0]

    def energy(self, t, y, args):
        x, v = y
        return self.loss_at(x) + 0.5 * cast(v, self.mass)[0] * sqnorm(v)

    def dissipation(self, t, y, args):
        x, v = y
        correction, = cast(v, self.correction)
        return correction * sqnorm(self.grad(x)) + self._gamma(t, v) * sqnorm(v)
