"""The heterogeneous multiscale method (HMM) for fast/slow SDEs (seed 000, Algorithm 1)."""

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from equinox.internal import ω

from .noise import time_key


class SlowFastTerm(diffrax.AbstractTerm):
    r"""A fast/slow SDE on ``y = (x, y_fast)``: $dx = F(t, x, y)\,dt$,
    $dy = G(t, x, y)\,dt + \Sigma(t, x, y) \circ dW$ (diagonal noise).

    As one term it is the deterministic drift ``(F, G)`` (so the noise is used only by
    :class:`HMM`, which draws it from ``key``); to integrate the full SDE with another
    scheme, build the usual ``MultiTerm`` instead.
    """

    slow: Callable
    fast: Callable
    fast_noise: Callable
    key: jax.Array

    def vf(self, t, y, args):
        return self.slow(t, y, args), self.fast(t, y, args)

    def contr(self, t0, t1, **kwargs):
        return t1 - t0

    def prod(self, vf, control):
        return jtu.tree_map(lambda v: control * v, vf)


class HMM(diffrax.AbstractSolver):
    r"""Heterogeneous multiscale method (E, Liu, Vanden-Eijnden 2005; seed 000, Alg. 1).

    One macro step of size $\Delta$ from $(X, Y)$:

    1. micro: $m' + M - 1$ Euler–Maruyama steps of $\delta = \Delta/M$ of the fast
       equation with $X$ frozen, warm-started from the last micro state of the previous
       macro step: $Y_m = Y_{m-1} + \delta\,G(X, Y_{m-1}) + \Sigma\sqrt{\delta}\,Z_m$;
    2. average: $\bar F = \frac1M \sum_{m=m'}^{m'+M-1} F(X, Y_{m-1})$ (burn-in $m'$);
       for the linear slow drift of eqs. 13a/14 this is $F$ at the averaged $Y$;
    3. macro: $X \leftarrow X + \Delta\,\bar F$, and $Y \leftarrow Y_{m'+M-1}$.

    The micro noise of the macro step starting at $t$ is drawn from
    ``fold_in(key, t)``, so it is reproducible and independent across steps. Stability
    (REFERENCE.md §4): $(\delta/\epsilon)(L_\Phi + 1/\gamma) < 2$ and
    $\Delta(1/\gamma + \lambda) < 2$.

    Args:
        micro_steps: $M$ (default 20).
        burn_in: $m' \ge 1$ (default 1).

    Takes a :class:`SlowFastTerm` and ``y = (x, y_fast)``.
    """

    micro_steps: int = eqx.field(default=20, static=True)
    burn_in: int = eqx.field(default=1, static=True)

    term_structure: ClassVar = SlowFastTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def __check_init__(self):
        for name, least in (("micro_steps", 1), ("burn_in", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise ValueError(f"HMM({name}={value!r}): {name} must be an int >= {least}.")

    def order(self, terms):
        return 1

    def strong_order(self, terms):
        return None

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        if isinstance(terms, SlowFastTerm):
            term, tscale = terms, 1
        else:  # diffrax's WrapTerm (direction of time)
            term, tscale = terms.term, terms.direction
        x, y = y0
        big = t1 - t0
        small = big / self.micro_steps
        total = self.burn_in + self.micro_steps - 1
        key = time_key(term.key, t0)
        leaves, treedef = jtu.tree_flatten(y)

        def micro(m, carry):
            y_m, acc = carry
            t = (t0 + m * small) * tscale
            slow = term.slow(t, (x, y_m), args)
            keep = (m >= self.burn_in - 1).astype(small.dtype)
            acc = (acc**ω + keep * slow**ω).ω
            keys = jr.split(jr.fold_in(key, m), len(leaves))
            z = jtu.tree_unflatten(treedef, [jr.normal(k, leaf.shape, leaf.dtype)
                                             for k, leaf in zip(keys, leaves)])
            drift = term.fast(t, (x, y_m), args)
            noise = term.fast_noise(t, (x, y_m), args)
            y_next = (y_m**ω + small * drift**ω + jnp.sqrt(small) * noise**ω * z**ω).ω
            return y_next, acc

        zero = jtu.tree_map(jnp.zeros_like, x)
        y_last, acc = jax.lax.fori_loop(0, total, micro, (y, zero))
        x1 = (x**ω + (big / self.micro_steps) * acc**ω).ω
        y1 = (x1, y_last)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
