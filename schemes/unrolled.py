"""Explicit Runge-Kutta steps with their stages unrolled.

diffrax's ``AbstractRungeKutta.step`` runs the stages of a tableau in a while loop that
writes each stage into a buffer and forms each stage's increment as a dot product of a
tableau row with that buffer (general enough for implicit, FSAL and multi-tableau
schemes). On XLA:CPU, for a batch of small states, this costs several times the vector
field evaluations it contains (Tsit5 on a 2-d gradient flow: ~80 ns per lane and step
against ~7 ns for its six gradients; benchmarks/basins_throughput.py). For an explicit
single tableau the stages can be written out: each increment is a sum of constant
multiples of earlier stages, which XLA fuses.

``unrolled(scheme)`` returns ``scheme`` with such a step when it is an explicit Runge-Kutta
scheme with one ``ButcherTableau`` (Euler-type, Heun, Ralston, Bosh3, Tsit5, Dopri5,
Dopri8, ...), and ``scheme`` itself otherwise. The step evaluates the same formulas from
the scheme's own tableau (Butcher 2016, eq. 230a): ``k_i = h f(t0 + c_i h, y0 + sum_j
a_ij k_j)``, ``y1 = y0 + sum_i b_i k_i`` (the last stage for an SSAL tableau), error
``sum_i (b_i - b*_i) k_i``; results agree with diffrax's step to rounding (the sums are
taken in another order). Solver state, FSAL reuse and dense output (``k``) are diffrax's.
"""

import dataclasses
import functools

import diffrax
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["unrolled"]


def _combine(y0, coefs, ks):
    """``y0 + sum_j coefs[j] k_j`` over the nonzero coefficients (None for y0: just the
    sum), leaf by leaf."""
    terms = [(float(a), k) for a, k in zip(coefs, ks) if a != 0]

    def leaf(base, *kl):
        total = None
        for (a, _), k in zip(terms, kl):
            total = a * k if total is None else total + a * k
        if total is None:
            total = jnp.zeros_like(kl[0]) if base is None else jnp.zeros_like(base)
        return total if base is None else base + total

    if y0 is None:
        return jax.tree_util.tree_map(lambda *kl: leaf(None, *kl), *[k for _, k in terms]) \
            if terms else jax.tree_util.tree_map(jnp.zeros_like, ks[0])
    return jax.tree_util.tree_map(lambda b, *kl: leaf(b, *kl), y0, *[k for _, k in terms])


def _unrolled_step(cls, self, terms, t0, t1, y0, args, solver_state, made_jump):
    tab = self.tableau
    vf_expensive, fsal = self._common(terms, t0, t1, y0, args)
    if vf_expensive:
        return cls.step(self, terms, t0, t1, y0, args, solver_state, made_jump)
    dt = t1 - t0
    control = terms.contr(t0, t1)
    c1 = 0.0 if tab.c1 is None else float(tab.c1)
    t_first = t0 if c1 == 0 else t0 + c1 * dt
    if fsal:
        first_step, f_prev = solver_state
        fresh = eqxi.unvmap_any(first_step | made_jump)
        f0 = jax.lax.cond(fresh, lambda: terms.vf(t_first, y0, args), lambda: f_prev)
    else:
        f0 = terms.vf(t_first, y0, args)
    ks = [terms.prod(f0, control)]
    fi, yi = f0, y0
    for i, row in enumerate(tab.a_lower):
        yi = _combine(y0, row, ks)
        ci = float(tab.c[i])
        ti = t1 if ci == 1 else t0 + ci * dt
        fi = terms.vf(ti, yi, args)
        ks.append(terms.prod(fi, control))
    y1 = yi if tab.ssal else _combine(y0, tab.b_sol, ks)
    y_error = _combine(None, tab.b_error, ks)
    k = jax.tree_util.tree_map(lambda *kl: jnp.stack(kl), *ks)
    state = (jnp.array(False), fi) if fsal else None
    return y1, y_error, dict(y0=y0, y1=y1, k=k), state, diffrax.RESULTS.successful


@functools.cache
def _unrolled_class(cls):
    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        return _unrolled_step(cls, self, terms, t0, t1, y0, args, solver_state, made_jump)
    return type(cls.__name__, (cls,), {"step": step, "__qualname__": cls.__qualname__,
                                       "__module__": cls.__module__, "_unrolled": True})


def unrolled(scheme):
    """``scheme`` with its stages unrolled when it is an explicit Runge-Kutta scheme with a
    single Butcher tableau (see the module docstring); any other scheme is returned as
    is. The result is an instance of a subclass of ``type(scheme)`` with the same fields,
    so it is used wherever ``scheme`` is."""
    tab = getattr(scheme, "tableau", None)
    if not isinstance(scheme, diffrax.AbstractRungeKutta) or \
            not isinstance(tab, diffrax.ButcherTableau) or tab.implicit or \
            getattr(type(scheme), "_unrolled", False):
        return scheme
    new = object.__new__(_unrolled_class(type(scheme)))
    for field in dataclasses.fields(scheme):
        object.__setattr__(new, field.name, getattr(scheme, field.name))
    return new
