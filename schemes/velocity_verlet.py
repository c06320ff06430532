"""Velocity Verlet (kick–drift–kick) for x'' = F(t, x, x'), friction included."""

import diffrax
from equinox.internal import ω

from ._markers import AbstractSecondOrderSolver, split_parts


class VelocityVerlet(AbstractSecondOrderSolver):
    r"""Velocity Verlet with a velocity predictor, order 2 also with friction.

    For the state $(x, v)$ with $x' = v$, $v' = F(t, x, v)$:

    $$v_{1/2} = v_n + \tfrac h2 F(t_n, x_n, v_n),\qquad
      x_{n+1} = x_n + h\,v_{1/2},$$
    $$\hat v = v_{1/2} + \tfrac h2 F(t_{n+1}, x_{n+1}, v_{1/2}),\qquad
      v_{n+1} = v_{1/2} + \tfrac h2 F(t_{n+1}, x_{n+1}, \hat v).$$

    The last kick should be implicit in $v_{n+1}$ when $F$ depends on the velocity; the
    naive explicit half-kick $F(x_{n+1}, v_{1/2})$ is only first order (REFERENCE.md
    §3). One fixed-point iteration ($\hat v$) restores order 2. When $F$ does not depend
    on $v$ the predictor changes nothing and the scheme is the symplectic velocity Verlet.

    Takes ``terms = schemes.PartitionedTerm(f_x, f_v)`` and ``y = (x, v)``; ``f_x`` must
    give ``x' = v``
    (its vector field is evaluated at the half-step velocity).

    Example:
        >>> import diffrax, jax.numpy as jnp, schemes
        >>> term = schemes.PartitionedTerm(lambda t, y, a: y[1],
        ...                               lambda t, y, a: -y[0])   # harmonic oscillator
        >>> sol = diffrax.diffeqsolve(term, schemes.VelocityVerlet(), 0.0, 6.283185307179586,
        ...                           1e-2, (jnp.array(1.0), jnp.array(0.0)))
        >>> round(float(sol.ys[0][-1]), 4)
        1.0
    """

    def order(self, terms):
        return 2

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        x0, v0 = y0
        h = terms.contr(t0, t1)
        vf_p, vf_q = split_parts(terms)
        tm = t0 + 0.5 * h
        kick = lambda t, x, v: terms.prod(vf_q(t, (x, v), args), 0.5 * h)
        v_half = (v0**ω + kick(t0, x0, v0) ** ω).ω
        x1 = (x0**ω + terms.prod(vf_p(tm, (x0, v_half), args), h) ** ω).ω
        v_pred = (v_half**ω + kick(t1, x1, v_half) ** ω).ω
        v1 = (v_half**ω + kick(t1, x1, v_pred) ** ω).ω
        y1 = (x1, v1)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful
