"""Diagonal noise for SDEs whose state is any pytree."""

import math
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np


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


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds; Salmon et al. 2011), bit for bit JAX's
    ``threefry2x32`` primitive, written as plain integer operations so that XLA fuses it
    into the surrounding loop (on CPU JAX lowers the primitive to a rolled loop of its
    own). All arguments uint32, broadcast together; returns the two output words."""
    u = lambda v: jnp.asarray(v, jnp.uint32)
    ks = (k1, k2, k1 ^ k2 ^ u(0x1BD11BDA))
    x = [x1 + ks[0], x2 + ks[1]]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x[0] = x[0] + x[1]
            x[1] = x[0] ^ ((x[1] << u(r)) | (x[1] >> u(32 - r)))
        x = [x[0] + ks[(i + 1) % 3], x[1] + ks[(i + 2) % 3] + u(i + 1)]
    return x[0], x[1]


def _normals(words, dtype):
    """Standard normals from uniform random words as ``jax.random.normal`` turns its bits
    into normals (a uniform on (-1, 1) from the mantissa, then sqrt(2) erfinv): one
    uint32 word per value for float32 and narrower, two for float64 (``words``: the
    float64 case passes (high, low) stacked on a leading axis)."""
    wide = jnp.dtype(dtype).itemsize == 8
    draw = jnp.dtype(dtype) if wide else jnp.dtype(jnp.float32)
    if wide:
        bits = (words[0].astype(jnp.uint64) << jnp.uint64(32)) | words[1].astype(jnp.uint64)
        one = np.array(1.0, np.float64).view(np.uint64)
        bits = (bits >> jnp.uint64(64 - 52)) | jnp.uint64(one)
    else:
        one = np.array(1.0, np.float32).view(np.uint32)
        bits = (words >> jnp.uint32(32 - 23)) | jnp.uint32(one)
    lo = np.nextafter(np.array(-1.0, draw), np.array(0.0, draw), dtype=draw)
    floats = jax.lax.bitcast_convert_type(bits, draw) - np.array(1.0, draw)
    u = jnp.maximum(lo, floats * (np.array(1.0, draw) - lo) + lo)
    return (np.array(np.sqrt(2), draw) * jax.lax.erf_inv(u)).astype(dtype)


def _key_words(key):
    """The two uint32 words of a Threefry key (typed or raw), or None for other
    generators."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if str(jr.key_impl(key)) != "threefry2x32":
            return None
        key = jr.key_data(key)
    if key.dtype != jnp.uint32 or key.shape != (2,):
        return None
    return key[0], key[1]


class StepBrownianPath(diffrax.AbstractBrownianPath):
    r"""Brownian increments for fixed steps, counter-based: the increment over
    ``[t0, t1]`` is ``sqrt(t1 - t0) Z`` where the standard normals ``Z`` are one
    Threefry-2x32 hash of the counter ``(step, j)`` under ``key`` (``step``: ``t0`` if it
    is an integer, else the bits of ``t0`` as float32; ``j`` numbers the 64-bit blocks a
    draw needs: one block gives two float32 normals), turned into normals as
    ``jax.random.normal`` does. So an increment is a function of (key, t0) only, costs a
    single hash per two numbers and no key derivation (diffrax's
    ``UnsafeBrownianPath`` folds both times into the key, splits it per leaf and, under
    ``jax_threefry_partitionable``, hashes once per number: five hashes for a 2-vector),
    and the hash is plain integer arithmetic that XLA fuses into the step.

    Like ``UnsafeBrownianPath`` it is for steps that never overlap, and moreover every
    step must start at a different ``t0`` (each step is evaluated once, as fixed-step
    solvers do); the increments of distinct steps are independent N(0, t1 - t0). With a
    key of a generator other than Threefry the normals come from
    ``jax.random.normal(fold_in(key, step))`` instead (same statistics, two hashes).

    Args:
        shape: a pytree of ``jax.ShapeDtypeStruct``, the structure of an increment.
        key: a JAX random key (typed, or raw Threefry ``uint32[2]``).
        levy_area: ``diffrax.BrownianIncrement`` (default), ``SpaceTimeLevyArea`` or
            ``SpaceTimeTimeLevyArea``: space-time (and space-time-time) Lévy area
            ``H ~ N(0, dt/12)``, ``K ~ N(0, dt/720)`` from further blocks.
    """

    shape: object = eqx.field(static=True)
    key: jax.Array
    levy_area: type = eqx.field(static=True, default=diffrax.BrownianIncrement)

    @property
    def t0(self):
        return -jnp.inf

    @property
    def t1(self):
        return jnp.inf

    def _draw(self, step, dtype, n):
        """``n`` standard normals of ``dtype`` for counter ``step``."""
        words = _key_words(self.key)
        wide = jnp.dtype(dtype).itemsize == 8
        if words is None:
            key = self.key if jnp.issubdtype(self.key.dtype, jax.dtypes.prng_key) \
                else jr.wrap_key_data(self.key)
            return jr.normal(jr.fold_in(key, step), (n,), dtype)
        blocks = n if wide else -(-n // 2)
        b1, b2 = threefry2x32(words[0], words[1], step.astype(jnp.uint32),
                              jnp.arange(blocks, dtype=jnp.uint32))
        z = _normals(jnp.stack([b1, b2]) if wide else jnp.concatenate([b1, b2])[:n], dtype)
        return z

    def evaluate(self, t0, t1=None, left=True, use_levy=False):
        del left
        if t1 is None:
            t0, t1 = jnp.zeros((), jnp.result_type(t0)), t0
        step = jnp.asarray(t0)
        if not jnp.issubdtype(step.dtype, jnp.integer):
            step = jax.lax.bitcast_convert_type(step.astype(jnp.float32), jnp.int32)
        leaves, tree = jtu.tree_flatten(self.shape)
        parts = {diffrax.BrownianIncrement: 1, diffrax.SpaceTimeLevyArea: 2,
                 diffrax.SpaceTimeTimeLevyArea: 3}[self.levy_area]
        sizes = [math.prod(s.shape) for s in leaves]
        dtype = jnp.result_type(*[s.dtype for s in leaves])
        z = self._draw(step, dtype, parts * sum(sizes))
        out, at = [], 0
        for s, size in zip(leaves, sizes):
            span = jnp.asarray(t1 - t0)
            w_std = jnp.sqrt(span).astype(s.dtype)
            piece = [z[at + p * size: at + (p + 1) * size].reshape(s.shape).astype(s.dtype)
                     for p in range(parts)]
            at += parts * size
            w = piece[0] * w_std
            if not use_levy:
                out.append(w)
                continue
            dt = span.astype(s.dtype)
            if parts == 1:
                out.append(diffrax.BrownianIncrement(dt=dt, W=w))
            elif parts == 2:
                out.append(diffrax.SpaceTimeLevyArea(dt=dt, W=w, H=piece[1] * w_std
                                                     / math.sqrt(12)))
            else:
                out.append(diffrax.SpaceTimeTimeLevyArea(
                    dt=dt, W=w, H=piece[1] * w_std / math.sqrt(12),
                    K=piece[2] * w_std / math.sqrt(720)))
        if not use_levy:
            return jtu.tree_unflatten(tree, out)
        # a pytree of increments -> an increment of pytrees, as diffrax's paths return
        inner = jtu.tree_structure(out[0])
        return jtu.tree_transpose(tree, inner, jtu.tree_unflatten(tree, out))
