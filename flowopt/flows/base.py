"""Base classes of flows: optimizers as vector fields with a Lyapunov energy.

A flow knows its state layout (:meth:`init`, :meth:`position`), its drift, and its
energy; it never knows which scheme integrates it (DESIGN.md, layers).
"""

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp


def sqnorm(tree):
    """Sum of squares of all leaves of ``tree``."""
    return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


def check_positive(owner, **values):
    """Raise a ValueError naming the argument when a concrete value is not > 0."""
    for name, value in values.items():
        if isinstance(value, (int, float)) and not value > 0:
            raise ValueError(f"{owner}({name}={value!r}): {name} must be > 0.")


class AbstractFlow(eqx.Module):
    """An optimizer as an ODE ``y' = drift(t, y, args)`` on a state ``y``.

    Subclasses set ``loss`` (any JAX-traceable ``(d,) -> scalar`` callable) and define
    :meth:`init` (state from a start ``x0``), :meth:`position` (``x`` from a state) and
    :meth:`drift`. Flows with a Lyapunov energy set ``has_energy = True`` and define
    :meth:`energy`; :meth:`dissipation` (the rate ``-dE/dt`` along the exact flow) is
    then computed by forward-mode differentiation unless a subclass gives it in closed
    form.
    """

    loss: eqx.AbstractVar[Callable]
    has_energy: ClassVar[bool] = False

    @abc.abstractmethod
    def init(self, x0):
        """The state at ``t0`` for a start ``x0`` of shape ``(d,)``."""

    @abc.abstractmethod
    def position(self, y):
        """The position ``x`` (shape ``(d,)``) inside a state ``y``."""

    @abc.abstractmethod
    def drift(self, t, y, args):
        """``dy/dt``, a pytree shaped like ``y``."""

    @property
    def second_order(self) -> bool:
        """Whether the state is ``(x, v)`` with ``x' = v`` (needed by Verlet schemes)."""
        return False

    def grad(self, x):
        return jax.grad(self.loss)(x)

    def energy(self, t, y, args):
        raise NotImplementedError(f"{type(self).__name__} has no energy.")

    def dissipation(self, t, y, args):
        r"""$-\tfrac{d}{dt}E(t, y(t))$ along the exact flow, by a JVP of the energy."""
        t = jnp.asarray(t, jnp.result_type(t, float))
        _, rate = jax.jvp(lambda s, z: self.energy(s, z, args), (t, y),
                          (jnp.ones_like(t), self.drift(t, y, args)))
        return -rate


class AbstractPartitionedFlow(AbstractFlow):
    """A flow on a partitioned state ``y = (p, q)`` with ``p' = drift_p``, ``q' = drift_q``.

    ``q`` holds what the classical optimizer updates first (velocity, moments); both
    parts may depend on the whole state. The partitioned (semi-implicit) Euler scheme
    updates ``q``, then ``p`` with the new ``q``. By default ``p`` is the position.
    """

    @abc.abstractmethod
    def drift_p(self, t, y, args): ...

    @abc.abstractmethod
    def drift_q(self, t, y, args): ...

    def drift(self, t, y, args):
        return self.drift_p(t, y, args), self.drift_q(t, y, args)

    def position(self, y):
        return y[0]
