"""Fixed steps of exactly one time unit, for solvers whose clock counts steps."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def exact_integer_limit(dtype):
    """The largest ``m`` such that every integer in ``[-m, m]`` is exact in ``dtype``:
    ``2**24`` for float32, ``2**53`` for float64."""
    return 2 ** (jnp.finfo(dtype).nmant + 1)


class UnitSteps(diffrax.AbstractStepSizeController):
    r"""Fixed steps of exactly ``1`` in the solver's time: $t_{k+1} = t_k + 1$.

    On an integer-valued clock (``t0`` an integer, ``t1 - t0 = n`` steps) every step
    lands exactly on an integer and has size exactly ``1.0``, so ``n`` steps are taken
    and each is the same to the last bit, as long as every time on the way is an exact
    integer of the time dtype (``|t| <= 2**24`` in float32, ``2**53`` in float64:
    :func:`exact_integer_limit`). ``diffrax.ConstantStepSize`` instead places the
    ``k``-th step at ``t0 + (t1 - t0) * k / n``, which in float32 is not an integer once
    ``n * k`` passes ``2**24``, so its steps wobble and, near a large ``t1``, diffeqsolve
    merges the last few of them into one (it rounds any step ending within 100 ulps of
    ``t1`` to ``t1``). Run the clock over ``[-n, 0]`` rather than ``[0, n]`` to keep
    clear of that rounding: near ``0`` an ulp is tiny.

    If ``t1 - t0`` is not an integer the last step is shortened to end at ``t1``.
    ``dt0`` must be ``None`` or ``1`` (checked where it is a concrete number).

    Example:
        >>> import diffrax, jax.numpy as jnp, schemes
        >>> sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: -y), schemes.Euler(),
        ...     -4.0, 0.0, None, jnp.array(1.0), stepsize_controller=schemes.UnitSteps(),
        ...     saveat=diffrax.SaveAt(steps=True), max_steps=4)
        >>> [float(t) for t in sol.ts]
        [-3.0, -2.0, -1.0, 0.0]
    """

    def wrap(self, direction):
        return self

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        del terms, y0, args, func, error_order
        message = ("UnitSteps() always steps by exactly 1 in the solver's time, and got "
                   "another dt0; pass dt0=None (or 1), and scale the vector field instead.")
        one = jnp.ones((), jnp.result_type(t0, t1))
        if dt0 is None:
            return t0 + one, None
        if not isinstance(dt0, jax.core.Tracer):
            if np.asarray(dt0) != 1:
                raise ValueError(f"{message} (dt0={dt0!r})")
            return t0 + one, None
        # inside diffeqsolve dt0 arrives traced: check it when the solve runs
        return eqx.error_if(t0 + one, dt0 != 1, message), None

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order,
                        controller_state):
        del t0, y0, y1_candidate, args, y_error, error_order
        return (True, t1, t1 + jnp.ones((), jnp.result_type(t1)), False, controller_state,
                diffrax.RESULTS.successful)
