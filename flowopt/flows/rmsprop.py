import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from ._bias import corrected
from .base import (AbstractPartitionedFlow, cast, check_fields, check_fraction,
                   check_positive, plain, total)


class RMSProp(AbstractPartitionedFlow):
    r"""RMSProp as a flow, state $(x, s)$.

    $$s' = b\,(g^2 - s), \qquad x' = -g / D(s), \qquad
      D(s) = \sqrt{\hat s + \epsilon}\ \text{(eps in sqrt)}\ \text{or}\ \sqrt{\hat s} + \epsilon,$$

    with $g = \nabla f(x)$ and $\hat s = s$, or $\hat s = s/(1 - e^{-\hat b t})$ with
    ``bias_rate`` $\hat b$. Energy $E = f$, $E' = -\sum_i g_i^2/D_i$ (REFERENCE.md §1).

    Args:
        loss: the loss $f$.
        rate: $b > 0$. eps: $\epsilon \ge 0$. eps_in_sqrt: where $\epsilon$ goes.
        initial_scale: $s(0) \ge 0$. bias_rate: $\hat b > 0$, or None for no correction.
    """

    loss: Callable
    rate: float = 1.0
    eps: float = 1e-8
    eps_in_sqrt: bool = eqx.field(default=True, converter=plain)
    initial_scale: float = 0.0
    bias_rate: float | None = None
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("rate", "bias_rate"),
                     nonnegative=("eps", "initial_scale"), flags=("eps_in_sqrt",))

    @classmethod
    def from_optax(cls, loss, learning_rate, decay=0.9, eps=1e-8, initial_scale=0.0,
                   eps_in_sqrt=True, centered=False, momentum=None, nesterov=False,
                   bias_correction=False):
        """The flow whose semi-implicit Euler steps of size ``learning_rate`` are
        ``optax.rmsprop`` with the same arguments (``centered``/``momentum`` excluded)."""
        check_positive("RMSProp.from_optax", learning_rate=learning_rate)
        for name, value, plain in (("centered", centered, False), ("momentum", momentum, None),
                                   ("nesterov", nesterov, False)):
            if value not in (plain, 0):
                raise ValueError(
                    f"RMSProp.from_optax({name}={value!r}): only plain RMSProp has a flow "
                    f"here; leave {name} at {plain!r} (for momentum, see HeavyBall)."
                )
        check_fraction("RMSProp.from_optax", decay=decay)
        return cls(loss, rate=(1.0 - decay) / learning_rate, eps=eps, eps_in_sqrt=eps_in_sqrt,
                   initial_scale=initial_scale,
                   bias_rate=-math.log(decay) / learning_rate if bias_correction else None)

    def initial_state(self, x0):
        return x0, jnp.full_like(x0, self.initial_scale)

    def _scale(self, t, x, s):
        g = self.grad(x)
        rate, eps, bias_rate = cast(s, self.rate, self.eps, self.bias_rate)
        if bias_rate is not None:
            s = corrected(s, bias_rate, t, rate / bias_rate * g**2)
        return g, (jnp.sqrt(s + eps) if self.eps_in_sqrt else jnp.sqrt(s) + eps)

    def drift_p(self, t, y, args):
        g, denom = self._scale(t, *y)
        return -g / denom

    def drift_q(self, t, y, args):
        x, s = y
        return cast(s, self.rate)[0] * (self.grad(x) ** 2 - s)

    def energy(self, t, y, args):
        return self.loss_at(y[0])

    def dissipation(self, t, y, args):
        g, denom = self._scale(t, *y)
        return total(g**2 / denom)
