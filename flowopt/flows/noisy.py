from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import AbstractFlow, AbstractRandomFlow, cast, check_fields, plain


class SmoothedGradient(AbstractRandomFlow):
    r"""Gradient flow of the Gaussian-smoothed loss (seed 000 eqs. 2–4):
    $x' = -\mathbb{E}_{z\sim N(0, hI)}\nabla f(x + z)$, the expectation estimated by a
    Monte Carlo mean of ``samples`` gradients, with fresh noise at every evaluation.

    Args:
        loss: $f$. variance: $h > 0$. samples: Monte Carlo samples per evaluation, an
            int >= 1.
    """

    loss: Callable
    variance: float = 0.1
    samples: int = eqx.field(default=8, converter=plain)
    key: jax.Array | None = None

    def __check_init__(self):
        check_fields(self, positive=("variance",), counts=("samples",))

    @property
    def grads_per_drift(self):
        return self.samples

    def drift(self, t, y, args):
        z = jnp.sqrt(cast(y, self.variance)[0]) * jax.random.normal(
            self.noise_key(t), (self.samples,) + y.shape, y.dtype)
        return -jnp.mean(jax.vmap(self.grad)(y + z), axis=0)


class NoisyGradient(AbstractRandomFlow):
    r"""NiG-GD (Ge et al. 2015; seed 002 Alg. 1): $x' = -(\nabla f(x) + \zeta)$ with
    $\zeta$ uniform in the ball $B_0(\rho)$, drawn afresh at every evaluation. Explicit
    Euler with step $\eta$ is the algorithm.

    Args:
        loss: $f$. radius: $\rho > 0$.
    """

    loss: Callable
    radius: float = 0.1
    key: jax.Array | None = None

    def __check_init__(self):
        check_fields(self, positive=("radius",))

    def drift(self, t, y, args):
        return -(self.grad(y) + uniform_in_ball(self.noise_key(t), y, self.radius))


def uniform_in_ball(key, like, radius):
    """A point uniform in the ball of ``radius`` around 0, shaped like ``like``."""
    k1, k2 = jax.random.split(key)
    direction = jax.random.normal(k1, like.shape, like.dtype)
    direction = direction / jnp.linalg.norm(direction)
    u = jax.random.uniform(k2, (), like.dtype)
    return cast(like, radius)[0] * u ** (1.0 / like.size) * direction


class SAM(AbstractFlow):
    r"""Sharpness-aware minimization as a flow (Foret et al. 2021):
    $x' = -\nabla f\big(x + \rho\, g/\|g\|\big)$, $g = \nabla f(x)$ (two gradients per
    evaluation). At a stationary point ($g = 0$) the ascent step is taken as 0.

    Args:
        loss: $f$. rho: $\rho > 0$.
    """

    loss: Callable
    rho: float = 0.05

    def __check_init__(self):
        check_fields(self, positive=("rho",))

    @property
    def grads_per_drift(self):
        return 2

    def drift(self, t, y, args):
        g = self.grad(y)
        norm = jnp.linalg.norm(g)
        step = jnp.where(norm > 0, cast(y, self.rho)[0] / jnp.where(norm > 0, norm, 1.0), 0.0)
        return -self.grad(y + step * g)
