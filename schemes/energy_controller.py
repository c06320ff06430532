"""Step sizes that make a Lyapunov energy decrease (Armijo-type acceptance)."""

import math
from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import jax.tree_util as jtu


def _all_finite(tree):
    """Whether every entry is finite; a chain of ands for small leaves, which XLA:CPU
    fuses when vmapped over many lanes (a reduction over a short axis it does not)."""
    out = jnp.array(True)
    for leaf in jtu.tree_leaves(tree):
        ok = jnp.isfinite(leaf).reshape(-1)
        if ok.size > 16:
            out = out & jnp.all(ok)
        else:
            for i in range(ok.size):
                out = out & ok[i]
    return out


def _number(value):
    """A real scalar (Python, NumPy, 0-d array; not a bool) as a float, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) or (
            isinstance(value, (np.ndarray, jax.Array)) and value.shape == ()
            and value.dtype.kind in "iuf"):
        v = float(value)
        return None if math.isnan(v) else v
    return None


class EnergyController(diffrax.AbstractStepSizeController):
    r"""Accept a trial step only if a supplied energy decreases by an Armijo margin.

    A trial step $z \to z^+$ of size $h$ is accepted iff (Bensaid, Poëtte, Turpault,
    LC-EGD; REFERENCE.md §3)

    $$V(t + h, z^+) - V(t, z) \le -\lambda\, h\, \dot V(t, z),$$

    with $V$ = ``energy(t, y, args)`` and $\dot V \ge 0$ = ``dissipation(t, y, args)``,
    the rate at which $V$ decreases along the exact flow (when no dissipation is given
    the margin is zero: plain decrease). A non-finite trial is always rejected. On
    rejection $h \leftarrow h/\text{shrink}$; after an acceptance
    $h \leftarrow \min(\text{grow}\cdot h, \text{dtmax})$.

    It never loops forever: when $h$ would fall below the floor (``dtmin``, by default
    a few ulps of $\max(|t|, 1)$, where time stops advancing), one retry at the floor
    is made with $\lambda = 0$; if the floor is reached again without a normal
    acceptance in between, the solve stops with ``diffrax.RESULTS.dt_min_reached``
    (the energy cannot be decreased further at this precision: in practice, a
    stationary point reached to rounding).

    The controller knows nothing of losses: ``flowopt.solve`` hands it the flow's
    energy and dissipation. It ignores any error estimate, so it works with every
    scheme, including fixed-step ones. Flows with auxiliary variables started from
    rest (heavy ball, momentum) pair with a partitioned scheme: under explicit Euler the
    position does not move while the velocity is zero, the kinetic energy rises for every
    step size, and no step is ever accepted (the solve then stops at the floor).

    Args:
        energy: ``energy(t, y, args) -> scalar``.
        dissipation: ``dissipation(t, y, args) -> scalar >= 0``; optional.
        armijo: $\lambda \in [0, 1)$, default 0.5.
        shrink: factor > 1 dividing a rejected step, default 2.
        grow: factor >= 1 multiplying the step after an acceptance, default 2.
        dtmax: largest step; default unbounded.
        dtmin: the floor; default $16\,\epsilon\max(|t|, 1)$ with $\epsilon$ the
            machine epsilon of the time dtype.

    Example:
        >>> import diffrax, jax.numpy as jnp, schemes
        >>> f = lambda x: 0.5 * 100.0 * x**2                  # stiff: Euler needs h < 0.02
        >>> ctrl = schemes.EnergyController(energy=lambda t, y, a: f(y),
        ...                                 dissipation=lambda t, y, a: (100.0 * y) ** 2)
        >>> sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: -100.0 * y),
        ...     schemes.Euler(), 0.0, 1.0, 1.0, jnp.array(1.0), stepsize_controller=ctrl)
        >>> bool(abs(sol.ys[-1]) < 1e-6)
        True
    """

    energy: Callable | None = None
    dissipation: Callable | None = None
    armijo: float = 0.5
    shrink: float = 2.0
    grow: float = 2.0
    dtmax: float | None = None
    dtmin: float | None = None

    def __check_init__(self):
        armijo, shrink, grow, dtmax, dtmin = (_number(getattr(self, n)) for n in (
            "armijo", "shrink", "grow", "dtmax", "dtmin"))
        checks = [
            ("armijo", armijo is not None and 0 <= armijo < 1, "a number in [0, 1), e.g. 0.5"),
            ("shrink", shrink is not None and 1 < shrink < math.inf, "a number > 1, e.g. 2.0"),
            ("grow", grow is not None and 1 <= grow < math.inf, "a number >= 1, e.g. 2.0"),
            ("dtmax", self.dtmax is None or (dtmax is not None and dtmax > 0),
             "None or a positive number"),
            ("dtmin", self.dtmin is None or (dtmin is not None and 0 < dtmin < math.inf),
             "None or a positive number"),
        ]
        for name, ok, fix in checks:
            if not ok and not isinstance(getattr(self, name), jax.core.Tracer):
                raise ValueError(
                    f"EnergyController({name}={getattr(self, name)!r}): {name} must be {fix}."
                )

    def wrap(self, direction):
        return self

    def _rate(self, t, y, args):
        if self.dissipation is None:
            return jnp.zeros((), jnp.result_type(t, float))
        return jnp.maximum(self.dissipation(t, y, args), 0.0)

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        if self.energy is None:
            raise ValueError(
                "EnergyController(energy=None): the controller needs an energy. Pass "
                "energy=callable(t, y, args), or use flowopt.solve, which hands it the "
                "flow's energy."
            )
        if dt0 is None:
            raise ValueError(
                "EnergyController needs a first trial step: pass dt0 (it may be large; "
                "rejections shrink it)."
            )
        dtype = jnp.result_type(t0, t1, dt0, float)
        dt = jnp.asarray(dt0, dtype)
        e0 = jnp.asarray(self.energy(t0, y0, args))
        state = (dt, e0, jnp.array(False), jnp.array(True))
        return t0 + dt, state

    def verdict(self, t0, t1, y0, y1_candidate, args, controller_state):
        """Whether the trial step ``y0 -> y1_candidate`` over ``[t0, t1]`` is accepted,
        and the energy at the trial point: the expensive half of
        :meth:`adapt_step_size` (it evaluates the energy there and the rate at ``y0``).
        A vectorized caller (the basin mapper) computes it once per trial and then
        applies it with :meth:`apply_verdict`."""
        dt, e0, relaxed, armed = controller_state
        # the rate at y0, evaluated where the scheme's step evaluated the vector field at
        # y0: inside one compiled step XLA shares the two (one gradient, not two)
        rate0 = self._rate(t0, y0, args)
        e1 = jnp.asarray(self.energy(t1, y1_candidate, args))
        margin = jnp.where(relaxed, 0.0, self.armijo) * (t1 - t0) * rate0
        return _all_finite(y1_candidate) & jnp.isfinite(e1) & (e1 - e0 <= -margin), e1

    def apply_verdict(self, accept, e1, t0, t1, controller_state):
        """The next step and state once :meth:`verdict` has decided (``accept``, with
        ``e1`` the energy at the trial point); cheap scalar bookkeeping."""
        dt, e0, relaxed, armed = controller_state
        h = t1 - t0
        eps = jnp.finfo(jnp.result_type(h)).eps
        floor = (16 * eps * jnp.maximum(jnp.abs(t0), 1.0) if self.dtmin is None
                 else jnp.asarray(self.dtmin, jnp.result_type(h)))
        grown = dt * self.grow if self.dtmax is None else jnp.minimum(dt * self.grow, self.dtmax)
        shrunk = h / self.shrink
        hit_floor = ~accept & (shrunk < floor)
        give_up = hit_floor & (relaxed | ~armed)   # the floor again, without a normal acceptance
        retry_relaxed = hit_floor & ~give_up

        next_dt = jnp.where(accept, grown, jnp.where(hit_floor, floor, shrunk))
        next_t0 = jnp.where(accept, t1, t0)
        new_state = (
            next_dt.astype(dt.dtype),
            jnp.where(accept, e1, e0),
            retry_relaxed,
            jnp.where(accept, ~relaxed, armed & ~retry_relaxed),
        )
        result = diffrax.RESULTS.where(give_up, diffrax.RESULTS.dt_min_reached,
                                       diffrax.RESULTS.successful)
        return accept, next_t0, next_t0 + next_dt, False, new_state, result

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order,
                        controller_state):
        del y_error, error_order
        accept, e1 = self.verdict(t0, t1, y0, y1_candidate, args, controller_state)
        return self.apply_verdict(accept, e1, t0, t1, controller_state)
