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

from ..landscapes.base import total  # noqa: F401 (flows import it from here)


def sqnorm(tree):
    """Sum of squares of all leaves of ``tree``."""
    return sum(total(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


def check_positive(owner, **values):
    """Raise a ValueError naming the argument when a concrete value is not > 0."""
    for name, value in values.items():
        if isinstance(value, (int, float)) and not value > 0:
            raise ValueError(f"{owner}({name}={value!r}): {name} must be > 0.")


class AbstractFlow(eqx.Module):
    """An optimizer as an ODE ``y' = drift(t, y, args)`` on a state ``y``.

    Subclasses set ``loss`` (any JAX-traceable ``(d,) -> scalar`` callable) and define
    :meth:`drift`; flows whose state holds more than the position also define
    :meth:`init` (state from a start ``x0``) and :meth:`position` (``x`` from a state). Flows with a Lyapunov energy set ``has_energy = True`` and define
    :meth:`energy`; :meth:`dissipation` (the rate ``-dE/dt`` along the exact flow) is
    then computed by forward-mode differentiation unless a subclass gives it in closed
    form.
    """

    loss: eqx.AbstractVar[Callable]
    has_energy: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False
    interacting: ClassVar[bool] = False  # state (N, d): N agents, x0 of shape (N, d)

    @property
    def grads_per_drift(self) -> int:
        """Gradient evaluations in one drift evaluation (SAM: 2; Monte Carlo: samples)."""
        return 1

    def init(self, x0):
        """The state at ``t0`` for a start ``x0``; by default the start itself."""
        return x0

    def position(self, y):
        """The position ``x`` inside a state ``y``; by default the state itself."""
        return y

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


def check_nonnegative(owner, **values):
    """Raise a ValueError naming the argument when a concrete value is < 0."""
    for name, value in values.items():
        if isinstance(value, (int, float)) and value < 0:
            raise ValueError(f"{owner}({name}={value!r}): {name} must be >= 0.")


def time_key(key, t):
    """A key for time ``t``: ``fold_in(key, bits of t as float32)``."""
    return jax.random.fold_in(
        key, jax.lax.bitcast_convert_type(jnp.asarray(t, jnp.float32), jnp.int32))


class AbstractStochasticFlow(AbstractFlow):
    r"""An SDE ``dy = drift dt + diffusion ∘ dW`` with diagonal noise: :meth:`diffusion`
    returns a pytree shaped like the state. Solving one needs a ``key``."""

    needs_key: ClassVar[bool] = True

    @abc.abstractmethod
    def diffusion(self, t, y, args): ...


class AbstractRandomFlow(AbstractFlow):
    """An ODE whose drift is random (fresh noise each evaluation, drawn from
    ``time_key(key, t)``): noisy-gradient methods, Monte Carlo smoothing. ``flowopt.solve``
    sets ``key`` from its ``key`` argument."""

    key: eqx.AbstractVar[jax.Array | None]
    needs_key: ClassVar[bool] = True

    def noise_key(self, t):
        if self.key is None:
            raise ValueError(f"{type(self).__name__} needs a key: pass key=jax.random.key(0) "
                             "to fo.solve.")
        return time_key(self.key, t)


class AbstractMultiscaleFlow(AbstractStochasticFlow):
    r"""A fast/slow SDE on ``y = (x, y_fast)``: ``dx = slow dt``,
    ``dy = fast dt + fast_noise ∘ dW``. The slow part holds the position. Schemes that
    average over the fast part (``schemes.HMM``) need this structure."""

    @abc.abstractmethod
    def slow(self, t, y, args): ...

    @abc.abstractmethod
    def fast(self, t, y, args): ...

    @abc.abstractmethod
    def fast_noise(self, t, y, args): ...

    def init(self, x0):
        return x0, x0

    def position(self, y):
        return y[0]

    def drift(self, t, y, args):
        return self.slow(t, y, args), self.fast(t, y, args)

    def diffusion(self, t, y, args):
        return jnp.zeros_like(y[0]), self.fast_noise(t, y, args)
