from collections.abc import Callable
from typing import ClassVar

from .base import AbstractFlow, check_positive, sqnorm


class GradientFlow(AbstractFlow):
    r"""Gradient flow $x' = -\nabla f(x)$; energy $E = f$, $E' = -\|\nabla f\|^2$.

    Explicit Euler with step $\eta$ is gradient descent with learning rate $\eta$.

    Example:
        >>> import flowopt as fo, schemes, jax.numpy as jnp
        >>> flow = fo.flows.GradientFlow(fo.landscapes.Himmelblau())
        >>> sol = fo.solve(flow, schemes.Euler(), jnp.array([1.0, 1.0]), t1=5.0, dt0=1e-2)
        >>> [round(float(c), 4) for c in sol.x]
        [3.0, 2.0]
    """

    loss: Callable
    has_energy: ClassVar[bool] = True

    @classmethod
    def from_optax(cls, loss, learning_rate, momentum=None, nesterov=False):
        """The flow whose Euler steps of size ``learning_rate`` are ``optax.sgd``.

        With ``momentum`` use :meth:`HeavyBall.from_optax` (or :meth:`Nesterov.from_optax`
        for ``nesterov=True``): those are different flows.
        """
        if momentum not in (None, 0, 0.0) or nesterov:
            raise ValueError(
                f"GradientFlow.from_optax(momentum={momentum!r}, nesterov={nesterov!r}): "
                "sgd with momentum is a second-order flow; use "
                "fo.flows.HeavyBall.from_optax(loss, learning_rate, momentum) or "
                "fo.flows.Nesterov.from_optax(loss, learning_rate, momentum)."
            )
        check_positive("GradientFlow.from_optax", learning_rate=learning_rate)
        return cls(loss)

    def drift(self, t, y, args):
        return -self.grad(y)

    def energy(self, t, y, args):
        return self.loss_at(y)

    def dissipation(self, t, y, args):
        return sqnorm(self.grad(y))
