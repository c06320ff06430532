"""Diagonal noise for SDEs whose state is any pytree."""

from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu


def time_key(key, t):
    """``fold_in(key, bits of t as float32)``: a key per time, as diffrax's
    UnsafeBrownianPath does."""
    return jr.fold_in(key, jax.lax.bitcast_convert_type(jnp.asarray(t, jnp.float32), jnp.int32))


class DiagonalNoiseTerm(diffrax.AbstractTerm):
    r"""The term $\sigma(t, y) \circ dW$ with diagonal (elementwise) noise.

    ``diffusion(t, y, args)`` returns a pytree shaped like ``y``; ``brownian`` is a diffrax
    Brownian path with the same structure. Combine with the drift as
    ``diffrax.MultiTerm(diffrax.ODETerm(drift), DiagonalNoiseTerm(diffusion, bm))``: with
    ``schemes.Euler`` that is Euler–Maruyama.
    """

    diffusion: Callable
    brownian: diffrax.AbstractBrownianPath

    def vf(self, t, y, args):
        return self.diffusion(t, y, args)

    def contr(self, t0, t1, **kwargs):
        return self.brownian.evaluate(t0, t1, **kwargs)

    def prod(self, vf, control):
        return jtu.tree_map(lambda s, dw: s * dw, vf, control)
