"""Partitioned (semi-implicit, symplectic) Euler for a state ``(p, q)``."""

import diffrax
from equinox.internal import ω

from ._markers import AbstractPartitionedSolver, split_parts


class SemiImplicitEuler(AbstractPartitionedSolver):
    r"""Partitioned Euler: update ``q`` by explicit Euler, then ``p`` with the new ``q``.

    $$q_{n+1} = q_n + h\,f_q(t_n, p_n, q_n), \qquad
      p_{n+1} = p_n + h\,f_p(t_{n+1}, p_n, q_{n+1}).$$

    Unlike ``diffrax.SemiImplicitEuler`` both vector fields see the whole state, so
    friction (``v' = -\gamma v - g(x)``) or Adam's moments (``x' = -m/\sqrt{v}``) fit.
    The ``p`` update is evaluated at the end of the step, ``t_{n+1}``: this is what makes
    the scheme reproduce optimizers that move the position with the *already updated*
    moments and a bias correction of step ``n+1`` (optax's sgd with momentum, Adam,
    RMSProp, Adadelta). For autonomous fields the choice of time does not matter.
    Order 1; with ``f_q`` depending on ``p`` only and ``f_p`` on ``q`` only it is
    symplectic.

    Takes ``terms = schemes.PartitionedTerm(f_p, f_q)`` and ``y = (p, q)``.

    Example:
        >>> import diffrax, jax.numpy as jnp, schemes
        >>> term = schemes.PartitionedTerm(lambda t, y, a: y[1],    # x' = v
        ...                               lambda t, y, a: -y[0])   # v' = -x
        >>> sol = diffrax.diffeqsolve(term, schemes.SemiImplicitEuler(), 0.0, 0.1, 0.1,
        ...                           (jnp.array(1.0), jnp.array(0.0)))
        >>> [round(float(c[-1]), 6) for c in sol.ys]
        [0.99, -0.1]
    """

    def order(self, terms):
        return 1

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        p0, q0 = y0
        h = terms.contr(t0, t1)
        vf_p, vf_q = split_parts(terms)
        q1 = (q0**ω + terms.prod(vf_q(t0, y0, args), h) ** ω).ω
        p1 = (p0**ω + terms.prod(vf_p(t1, (p0, q1), args), h) ** ω).ω
        y1 = (p1, q1)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful
