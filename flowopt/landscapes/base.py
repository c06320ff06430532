"""The base class of losses with known dimension, domain and minima."""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def total(a, xp=jnp):
    """Sum of all entries of ``a``, as a chain of adds for small arrays: vmapped over
    many starts, XLA:CPU turns ``jnp.sum`` over a short axis into a slow reduction
    (DESIGN.md); the adds fuse with the rest (energy-controlled trials on Rastrigin ran
    8x slower with ``jnp.sum``). ``xp`` is the array namespace (NumPy sums directly)."""
    if xp is np or a.size > 16 or a.size == 0:
        return xp.sum(a)
    flat = a.reshape(-1)
    out = flat[0]
    for i in range(1, a.size):
        out = out + flat[i]
    return out


def max_abs(tree):
    """Largest ``|entry|`` over a pytree, as a chain of maxima for small leaves (a max over
    a short axis is a slow reduction when vmapped on XLA:CPU, like ``jnp.sum``)."""
    out = None
    for leaf in jax.tree_util.tree_leaves(tree):
        flat = jnp.abs(leaf).reshape(-1)
        parts = [jnp.max(flat)] if flat.size > 16 else [flat[i] for i in range(flat.size)]
        for p in parts:
            out = p if out is None else jnp.maximum(out, p)
    return jnp.zeros(()) if out is None else out


class Landscape(eqx.Module):
    """A loss ``f: R^d -> R`` that knows its dimension, domain and minima.

    Subclasses implement :meth:`value` once for any array namespace ``xp`` (``numpy`` or
    ``jax.numpy``): JAX evaluates, differentiates and vectorizes it; NumPy computes the
    values at the minima in float64 whatever JAX's precision. Called on a floating
    ``x``, the loss has ``x``'s dtype (a float32 start stays float32 under x64).

    A least-squares landscape also defines ``residuals(x)`` with
    ``value(x) == 0.5 * sum(residuals(x) ** 2)``: ``LevenbergMarquardt(landscape.residuals)``
    then keeps the landscape (its minima, domain and dimension) as its loss.

    Attributes:
        dim: the dimension ``d``.
        domain: ``(d, 2)`` array of lower and upper bounds.
        minima: ``(k, d)`` array of local minima (float64).
        minima_values: ``(k,)`` loss at each minimum.
        is_global: ``(k,)`` bool, which minima are global.
        minima_complete: whether ``minima`` lists every local minimum in ``domain``.
    """

    minima_complete = True

    @property
    @abc.abstractmethod
    def dim(self) -> int: ...

    @property
    @abc.abstractmethod
    def domain(self) -> np.ndarray: ...

    @property
    @abc.abstractmethod
    def minima(self) -> np.ndarray: ...

    @abc.abstractmethod
    def value(self, x, xp):
        """The loss at ``x`` of shape ``(d,)``, computed with the array namespace ``xp``."""

    def __call__(self, x):
        x = jnp.asarray(x)
        value = self.value(x, jnp)
        return jnp.asarray(value, x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else value

    @property
    def minima_values(self) -> np.ndarray:
        return np.array([self.value(np.asarray(m, float), np) for m in self.minima])

    @property
    def is_global(self) -> np.ndarray:
        v = self.minima_values
        return v <= v.min() + 1e-9 * max(1.0, abs(v.min()))

    @property
    def global_minimum(self) -> np.ndarray:
        return self.minima[np.argmax(self.is_global)]

    def grad(self, x):
        return jax.grad(self)(jnp.asarray(x))

    def hessian(self, x):
        return jax.hessian(self)(jnp.asarray(x))

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class FixedLandscape(Landscape):
    """A landscape of fixed dimension; ``BOUNDS`` holds one ``(lo, hi)`` per axis."""

    BOUNDS: ClassVar[tuple]

    @property
    def dim(self):
        return len(self.BOUNDS)

    @property
    def domain(self):
        return np.array(self.BOUNDS, float)


class BoxLandscape(Landscape):
    """A landscape in any dimension ``d`` over the box ``BOX = (lo, hi)`` on every axis."""

    d: int = 2
    BOX: ClassVar[tuple]
    MIN_DIM: ClassVar[int] = 1

    def __check_init__(self):
        d = self.d
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < self.MIN_DIM:
            raise ValueError(f"{type(self).__name__}(d={d!r}): d must be an integer >= "
                             f"{self.MIN_DIM}.")

    @property
    def dim(self):
        return self.d

    @property
    def domain(self):
        return np.tile(np.array([self.BOX], float), (self.d, 1))
