"""Explicit Euler, and Euler–Maruyama on an SDE."""

import diffrax


class Euler(diffrax.Euler):
    r"""Explicit Euler: $y_{n+1} = y_n + h\,f(t_n, y_n)$ (order 1).

    On an SDE given as ``diffrax.MultiTerm(ODETerm(drift), ControlTerm(diffusion, bm))``
    this is Euler–Maruyama, converging to the Itô solution (strong order 1/2, weak 1).
    It is ``diffrax.Euler`` under the name flowopt users type.

    Example:
        >>> import diffrax, jax.numpy as jnp, schemes
        >>> sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: -y), schemes.Euler(),
        ...                           0.0, 1.0, 0.5, jnp.array(1.0))
        >>> float(sol.ys[-1])
        0.25
    """
