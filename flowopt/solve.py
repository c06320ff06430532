"""``flowopt.solve``: a flow, a scheme and a step-size control, handed to ``diffeqsolve``."""

import dataclasses
import functools
import math
import time
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.extend.core
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

import schemes

from . import _arguments
from .flows.base import (AbstractFlow, AbstractMultiscaleFlow, AbstractPartitionedFlow,
                         AbstractRandomFlow, AbstractStochasticFlow)
from .landscapes.base import Landscape, max_abs

_ADAPTIVE_MAX_STEPS = 16_384


class Solution(eqx.Module):
    """What :func:`solve` returns (a pytree: it passes through ``jit`` and ``vmap``).

    Attributes:
        x: final position, shape ``(d,)``.
        y: final state (position and auxiliary variables).
        t: the time where the solve ended (``t1``, or earlier if it stopped).
        ts: saved times, shape ``(n,)``; with ``saveat="steps"`` the unused slots at
            the end hold ``inf`` (diffrax's padding): mask with ``jnp.isfinite(ts)``.
        xs: saved positions, shape ``(n, d)``.
        ys: saved states.
        energies: the flow's energy at the saved states (``None`` for flows without one).
        stats: ``num_steps``, ``num_accepted_steps``, ``num_rejected_steps``.
        result: a ``diffrax.RESULTS``; :attr:`status` says it in words.
        converged: whether the solve stopped because ``gtol`` was met.
    """

    x: Any
    y: Any
    t: Any
    ts: Any
    xs: Any
    ys: Any
    energies: Any
    stats: dict
    result: diffrax.RESULTS
    converged: Any = False
    finite: Any = True

    @property
    def status(self):
        """The outcome in words: ``"successful"``, ``"converged"``, ``"stopped at
        t_stop"``, ``"diverged (non-finite state)"``, ``"step budget exhausted ..."``, or
        diffrax's message (e.g. the energy controller's floor).

        A ``str`` for one solve; for a batched Solution (``jax.vmap``, :func:`solve_batch`)
        a NumPy array of strings shaped like the batch. Text cannot be traced: inside
        ``jax.jit`` use :attr:`success`, :attr:`finite` or :attr:`result`.
        """
        code = getattr(self.result, "_value", self.result)
        if any(isinstance(v, jax.core.Tracer) for v in (code, self.converged, self.finite)):
            raise TypeError(
                "Solution.status is text and cannot be computed on traced values (inside "
                "jax.jit or jax.vmap); return the Solution and read status outside, or use "
                "sol.success / sol.finite / sol.result inside."
            )
        code = np.asarray(code)
        converged = np.broadcast_to(np.asarray(self.converged), code.shape)
        finite = np.broadcast_to(np.asarray(self.finite), code.shape)
        if code.ndim == 0:
            return _status_text(int(code), bool(converged), bool(finite))
        out = np.empty(code.shape, dtype=object)
        for i in np.ndindex(code.shape):
            out[i] = _status_text(int(code[i]), bool(converged[i]), bool(finite[i]))
        return out.astype(str)

    @property
    def success(self):
        """True when the solve reached ``t1`` or converged (``gtol``, ``t_stop``) with a
        finite state; an array of bools for a batched Solution."""
        return ((self.result == diffrax.RESULTS.successful) | (
            self.result == diffrax.RESULTS.event_occurred)) & jnp.asarray(self.finite)


def _result_message(code):
    for item in diffrax.RESULTS._name_to_item.values():
        if int(np.asarray(item._value)) == code:
            return diffrax.RESULTS[item]
    return f"diffrax result code {code}"


def _status_text(code, converged, finite):
    """The status of one solve, from diffrax's result code and two flags."""
    R = diffrax.RESULTS
    if not finite:
        return "diverged (non-finite state)"
    if code == int(np.asarray(R.successful._value)):
        return "successful"
    if code == int(np.asarray(R.event_occurred._value)):
        return "converged" if converged else "stopped at t_stop"
    if code == int(np.asarray(R.dt_min_reached._value)):
        return ("step-size floor reached (with EnergyController: no step decreases the "
                "energy at this precision, typically a stationary point reached to "
                "rounding)")
    if code == int(np.asarray(R.max_steps_reached._value)):
        return ("step budget exhausted: max_steps steps were taken before t1 (pass a "
                "larger max_steps)")
    return _result_message(code)


class _Partitioned(AbstractPartitionedFlow):
    """A first-order flow seen as a partitioned one with an empty (size-0) second part,
    so that a partitioned scheme integrates it (semi-implicit Euler is then explicit
    Euler)."""

    flow: AbstractFlow

    @property
    def loss(self):
        return self.flow.loss

    def init(self, x0):
        return as_seen(self, self.flow.init(x0))

    def position(self, y):
        return self.flow.position(y[0])

    def drift_p(self, t, y, args):
        return self.flow.drift(t, y[0], args)

    def drift_q(self, t, y, args):
        return jnp.zeros_like(y[1])

    def energy(self, t, y, args):
        return self.flow.energy(t, y[0], args)

    def dissipation(self, t, y, args):
        return self.flow.dissipation(t, y[0], args)


class _StepClock(eqx.Module):
    """A vector field in step units ``s = (t - t0) / dt``: fixed steps are then exactly 1,
    and ``y + 1 * (dt * f)`` is the classical update ``y + lr * f`` to the last bit. In
    physical time the step ``t_{k+1} - t_k`` carries the rounding of ``t_k`` (1e-13
    relative at t ~ 600 in float64, up to 1% in float32: REFERENCE.md §2)."""

    fn: Any
    t0: Any
    dt: Any
    power: float = 1.0  # drifts scale with dt, diffusions (per sqrt of time) with dt ** 0.5
    # solve's clock runs over [-n, 0] (see _exact_step_clock): the step count is s + n
    offset: Any = None

    def count(self, s):
        """Steps taken at solver time ``s``."""
        return s if self.offset is None else s + self.offset

    def time(self, s):
        return self.t0 + self.dt * self.count(s)

    def __call__(self, s, y, args):
        scale = self.dt if self.power == 1.0 else self.dt**self.power
        return jax.tree_util.tree_map(lambda v: scale * v, self.fn(self.time(s), y, args))


def _step_clock(t0, t1, dt0, dtype):
    """``(clock, n)`` for ``n`` fixed steps covering [t0, t1] as diffrax would place them
    (``ceil((t1 - t0) / dt0)`` equal steps), or ``(None, None)`` when the times are traced."""
    if not all(_is_concrete(v) for v in (t0, t1, dt0)):
        return None, None
    span, dt = float(t1) - float(t0), float(dt0)
    n = max(1, math.ceil(span / dt - 1e-9))
    step = dt if abs(n * dt - span) <= 1e-9 * span else span / n
    return _StepClock(None, jnp.asarray(t0, dtype), jnp.asarray(step, dtype)), n


_MAX_STEP_COUNT = 2**31 - 1  # diffrax counts steps in int32


def _exact_step_clock(t0, t1, dt0, dtype):
    """``(clock, n)`` as :func:`_step_clock`, with the solver's clock running over
    ``[-n, 0]`` in unit steps (``schemes.UnitSteps``): every step is exactly 1 while
    ``n`` is an exact integer of ``dtype``, and no step ends within diffeqsolve's
    100-ulp rounding of the end time (an ulp of 0 is tiny; one of ``n`` is not: in
    float32 over [0, n] the last steps merged once ``n >= 2**17``). Refuses step counts
    the time dtype or diffrax's int32 counters cannot hold."""
    clock, n = _step_clock(t0, t1, dt0, dtype)
    if clock is None:
        return None, None
    limit = min(schemes.exact_integer_limit(dtype), _MAX_STEP_COUNT)
    if n > limit:
        why = (f"diffrax counts steps in int32 (at most 2**31 - 1 = {_MAX_STEP_COUNT:,})"
               if limit == _MAX_STEP_COUNT else
               f"a {jnp.dtype(dtype).name} clock counts steps exactly only up to "
               f"{limit:,} (2**{int(math.log2(limit))}); float64 time counts to 2**31 - 1 "
               "(pass x0 as float64 with jax_enable_x64 on)")
        raise ValueError(
            f"solve(t1={t1!r}, dt0={dt0!r}): (t1 - t0) / dt0 = {n:,} fixed steps, and {why}. "
            f"Take a larger dt0 or a smaller t1, or split the run into solves of at most "
            f"{limit:,} steps, each starting where the last one ended."
        )
    offset = jnp.asarray(n, dtype)
    return _StepClock(None, clock.t0, clock.dt, 1.0, offset), n


def _is_concrete(x):
    return not isinstance(x, jax.core.Tracer)


def _check_number(name, value, *, minimum=None, strict=True, fix=""):
    """``solve``'s scalar arguments (:func:`flowopt._arguments.number`); a traced
    ``minimum`` (a traced t0) is not compared."""
    if minimum is not None and not isinstance(minimum, (int, float)):
        minimum = _arguments.number("solve", "t0", minimum) if _is_concrete(minimum) else None
    _arguments.number("solve", name, value, minimum=minimum, strict=strict, fix=fix)


def _check_x0(flow, x0):
    dim = flow.loss.dim if isinstance(flow.loss, Landscape) else None
    d = "d" if dim is None else dim
    if flow.interacting:
        if x0.ndim != 2 or x0.shape[0] < 1 or (dim is not None and x0.shape[1] != dim):
            raise ValueError(
                f"solve(x0=...): x0 has shape {tuple(x0.shape)}, but {type(flow).__name__} "
                f"moves N >= 1 agents: pass x0 of shape (N, {d}), one row per agent."
            )
    elif x0.ndim != 1 or (dim is not None and x0.shape != (dim,)):
        raise ValueError(
            f"solve(x0=...): x0 has shape {tuple(x0.shape)} but the loss "
            f"{type(flow.loss).__name__} takes shape ({d},). Pass one start of shape ({d},); "
            "for many starts use jax.vmap over x0 (or fo.solve_batch)."
        )
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        raise ValueError(f"solve(x0=...): x0 has dtype {x0.dtype}; pass floating-point "
                         "numbers, e.g. jnp.asarray(x0, float).")
    if jnp.finfo(x0.dtype).bits < 32:
        raise ValueError(f"solve(x0=...): x0 has dtype {x0.dtype}; diffrax does not run "
                         "reliably in half precision (its times and tolerances need more "
                         "bits). Pass x0 as float32 or float64, e.g. "
                         "jnp.asarray(x0, jnp.float32).")
    if _is_concrete(x0) and not np.all(np.isfinite(np.asarray(x0))):
        raise ValueError(f"solve(x0={np.asarray(x0)!r}): x0 must be finite (it has NaN or "
                         "inf entries).")


def _timed(clock, fn, power=1.0):
    """``fn`` in the solver's time: itself, or on the step clock (scaled by dt**power)."""
    if clock is None:
        return fn
    return _StepClock(fn, clock.t0, clock.dt, power, clock.offset)


def as_seen(seen, y):
    """A state ``y`` of the flow as the scheme sees it (``_terms``' second value): the
    same state, or ``(y, empty)`` when a partitioned scheme runs a first-order flow."""
    return (y, jnp.zeros(0, jax.tree_util.tree_leaves(y)[0].dtype)) \
        if isinstance(seen, _Partitioned) else y


def _terms(flow, scheme, clock, bm=None, key=None):
    """The diffrax term for ``scheme``, and the flow as the scheme will see it."""
    timed = lambda fn: _timed(clock, fn)
    multiscale = isinstance(scheme, schemes.HMM)
    if multiscale and not isinstance(flow, AbstractMultiscaleFlow):
        raise ValueError(
            f"solve(scheme=HMM()): HMM averages over a fast part, and {type(flow).__name__} "
            "has no slow/fast split. Use it with fo.flows.Homogenized or "
            "MeanFieldHomogenized, or pick schemes.Euler() for this flow."
        )
    if multiscale:
        return schemes.SlowFastTerm(timed(flow.slow), timed(flow.fast),
                                    _timed(clock, flow.fast_noise, 0.5), key), flow
    if isinstance(flow, AbstractStochasticFlow):
        if isinstance(scheme, schemes.AbstractPartitionedSolver):
            raise ValueError(
                f"solve(scheme={type(scheme).__name__}()): partitioned schemes integrate "
                f"ODEs; {type(flow).__name__} is an SDE. Use schemes.Euler() "
                "(Euler–Maruyama) or another diffrax SDE solver."
            )
        noise = schemes.DiagonalNoiseTerm(_timed(clock, flow.diffusion, 0.5), bm)
        return diffrax.MultiTerm(diffrax.ODETerm(timed(flow.drift)), noise), flow
    if isinstance(scheme, schemes.AbstractPartitionedSolver):
        if isinstance(scheme, schemes.AbstractSecondOrderSolver) and not flow.second_order:
            raise ValueError(
                f"solve(scheme={type(scheme).__name__}()): this scheme integrates "
                f"second-order flows (state (x, v) with x' = v), and {type(flow).__name__} "
                "is not one. Use schemes.Euler(), schemes.SemiImplicitEuler() or a diffrax "
                "solver, or a second-order flow such as HeavyBall."
            )
        if not isinstance(flow, AbstractPartitionedFlow):
            flow = _Partitioned(flow)
        return schemes.PartitionedTerm(timed(flow.drift_p), timed(flow.drift_q)), flow
    structure = getattr(type(scheme), "term_structure", None)
    if not (isinstance(structure, type) and issubclass(structure, diffrax.AbstractTerm)):
        hint = (" For a partitioned Euler step on flows whose parts depend on the whole "
                "state, use schemes.SemiImplicitEuler()."
                if isinstance(scheme, diffrax.SemiImplicitEuler) else "")
        raise ValueError(
            f"solve(scheme={type(scheme).__name__}()): this diffrax solver expects terms "
            f"structured as {structure}, not one vector field, so it cannot integrate a "
            f"deterministic flow.{hint}"
        )
    return diffrax.ODETerm(timed(flow.drift)), flow


def _check_save_times(ts, t0, t1):
    """Requested save times: finite, nondecreasing, inside [t0, t1] (where concrete)."""
    if not (_is_concrete(ts) and _is_concrete(t0) and _is_concrete(t1)):
        return
    v = np.asarray(ts, float)
    lo, hi = float(t0), float(t1)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"solve(saveat={v!r}): save times must be finite numbers.")
    if np.any(v < lo) or np.any(v > hi):
        raise ValueError(f"solve(saveat={v!r}): save times must lie in [t0, t1] = "
                         f"[{lo!r}, {hi!r}] (physical time, the same units as t1).")
    if np.any(np.diff(v) < 0):
        raise ValueError(f"solve(saveat={v!r}): save times must be nondecreasing.")


def _saveat(saveat, t0, t1, s0, s1, to_solver=None):
    """``(SaveAt over the solver's time [s0, s1], times)``. The user's times (physical,
    over [t0, t1]) are mapped to the solver's by ``to_solver``; ``times`` is ``None``, or
    ``(i, ts)``: the saved times from index ``i`` on are the requested physical ``ts``
    (reported as asked rather than mapped back through the step clock's rounding)."""
    to_solver = (lambda t: t) if to_solver is None else to_solver

    def requested(ts):
        ts = jnp.asarray(ts)
        if ts.ndim != 1 or ts.size < 1 or not jnp.issubdtype(ts.dtype, jnp.number):
            return None
        _check_save_times(ts, t0, t1)
        return jnp.clip(to_solver(ts), s0, s1), ts

    if saveat is None:
        return diffrax.SaveAt(t0=True, t1=True), None
    if isinstance(saveat, diffrax.SaveAt) and isinstance(saveat.subs, diffrax.SubSaveAt):
        sub = saveat.subs
        if getattr(sub.fn, "__name__", None) != "save_y":
            raise ValueError(
                "solve(saveat=diffrax.SaveAt(fn=...)): solve saves states (it computes xs "
                "and energies from them); drop fn and apply it to sol.ys afterwards."
            )
        if sub.ts is None:
            return saveat, None
        pair = requested(sub.ts)
        if pair is None:
            raise ValueError(f"solve(saveat=diffrax.SaveAt(ts={sub.ts!r})): ts must be a "
                             "1-d array of times.")
        solver_ts, ts = pair
        out = diffrax.SaveAt(t0=sub.t0, t1=sub.t1, ts=solver_ts, steps=sub.steps)
        # with steps=True the requested times interleave with the steps: map them back
        return out, (None if sub.steps else (int(bool(sub.t0)), ts))
    if isinstance(saveat, str) and saveat == "steps":
        return diffrax.SaveAt(t0=True, steps=True), None
    if isinstance(saveat, int) and not isinstance(saveat, bool) and saveat >= 2:
        ts = jnp.linspace(jnp.asarray(t0, float), jnp.asarray(t1, float), saveat)
        return diffrax.SaveAt(ts=jnp.linspace(s0, s1, saveat)), (0, ts)
    pair = None
    if not isinstance(saveat, (str, bool, dict, diffrax.SaveAt)) and saveat is not None:
        try:
            pair = requested(saveat)
        except (TypeError, ValueError) as e:
            if str(e).startswith("solve(saveat="):
                raise
    if pair is not None:
        return diffrax.SaveAt(ts=pair[0]), (0, pair[1])
    raise ValueError(
        f"solve(saveat={saveat!r}): saveat must be None (start and end), 'steps' (every "
        "accepted step), an int n >= 2 (n evenly spaced times), an array of times, or a "
        "diffrax.SaveAt."
    )


def stationary(seen, t, y, args, tol):
    """Whether the gradient at the position and the velocity ``x'`` are both <= ``tol``
    (max norm): the stopping test of ``gtol`` and of the basin mapper."""
    x, speed = seen.position(y), seen.position(seen.drift(t, y, args))
    return (max_abs(seen.grad(x)) <= tol) & (max_abs(speed) <= tol)


_RESOLVED_SIZE = 16  # states of at most this many numbers get the resolution test


def _noisy(flow):
    return isinstance(flow, (AbstractStochasticFlow, AbstractRandomFlow))


def resolution(controller):
    """``(rtol, atol)`` (largest entries) of an error-estimating controller -- diffrax's
    ``PIDController``, also inside ``ClipStepSizeController`` -- whose precision ends a
    run (:func:`resolved`); None for fixed steps and the energy controller."""
    controller = getattr(controller, "controller", controller)  # ClipStepSizeController
    if isinstance(controller, schemes.EnergyController) or not isinstance(
            controller, diffrax.AbstractAdaptiveStepSizeController):
        return None
    rtol = float(np.max(getattr(controller, "rtol", 0.0)))
    atol = float(np.max(getattr(controller, "atol", 0.0)))
    return (rtol, atol) if rtol > 0 or atol > 0 else None


def resolved(seen, t, y, args, resolution):
    """Whether ``y`` lies within what an error controller resolves of a stationary point
    of the flow: the Newton step of the vector field F at ``y`` (``J^-1 F``, J its
    Jacobian in the whole state; for gradient flow ``H^-1 grad f``) is at most
    ``10 (atol + rtol max(1, |x|))`` (max norms, ``x`` the position). An explicit scheme
    under error control settles at its stability limit with ``|grad f|`` near
    ``rtol`` times the curvature, so ``gtol`` below that is never met; this is the
    test the map applies at t1 (:func:`flowopt.basins.mapper._precision`), applied at
    every accepted state, and only at attracting points (every eigenvalue of J with a
    negative real part: a start passing near a saddle, where a loose tolerance would
    otherwise stop it, runs on). States of more than ``_RESOLVED_SIZE`` numbers (the
    Jacobian costs one vector-field evaluation per number) and singular Jacobians
    (degenerate points) never pass it: they stop by ``gtol`` or run to t1."""
    if resolution is None:
        return jnp.asarray(False)
    flat, unravel = jax.flatten_util.ravel_pytree(y)
    if flat.size > _RESOLVED_SIZE:
        return jnp.asarray(False)
    rtol, atol = resolution
    field = lambda z: jax.flatten_util.ravel_pytree(seen.drift(t, unravel(z), args))[0]
    f, jvp = jax.linearize(field, flat)
    jac = jax.vmap(jvp, out_axes=1)(jnp.eye(flat.size, dtype=flat.dtype))
    step = _small_solve(jac, f)
    size = jnp.maximum(1.0, max_abs(seen.position(y)))
    return (max_abs(step) <= 10 * (atol + rtol * size)) & _stable(jac)


def _stable(a):
    """Whether every eigenvalue of the small square ``a`` has a negative real part (an
    attracting stationary point: a flow passing near a saddle is not stopped there)."""
    if a.shape[0] == 1:
        return a[0, 0] < 0
    if a.shape[0] == 2:
        return (a[0, 0] + a[1, 1] < 0) & (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0] > 0)
    return jnp.all(jnp.real(jnp.linalg.eigvals(a)) < 0)


def _small_solve(a, b):
    """``a^-1 b`` for a small square ``a``: closed forms for sizes 1 and 2 (a batched
    LAPACK call per lane costs more than the formula), LU otherwise. Singular: inf/nan."""
    if a.shape[0] == 1:
        return b / a[0]
    if a.shape[0] == 2:
        det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
        return jnp.stack([a[1, 1] * b[0] - a[0, 1] * b[1],
                          a[0, 0] * b[1] - a[1, 0] * b[0]]) / det
    return jnp.linalg.solve(a, b)


def bind_energy(controller, seen):
    """An EnergyController with the flow's energy and dissipation filled in where the
    user gave none."""
    return eqx.tree_at(
        lambda c: (c.energy, c.dissipation), controller,
        (controller.energy or seen.energy, controller.dissipation or seen.dissipation),
        is_leaf=lambda v: v is None)


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf))
                              for leaf in jax.tree_util.tree_leaves(tree)]))


def _unsafe(terms):
    leaves = jax.tree_util.tree_leaves(
        terms, is_leaf=lambda v: isinstance(v, diffrax.UnsafeBrownianPath))
    return any(isinstance(v, diffrax.UnsafeBrownianPath) for v in leaves)


@eqx.filter_jit
def _integrate(flow, seen, terms, scheme, controller, t0, t1, dt0, y0, saveat, max_steps,
               args, progress, gtol, clock, t_stop, times=None):
    physical = (lambda s: s) if clock is None else clock.time

    within = resolution(controller) if not _noisy(flow) else None

    def settled(s, y, args):  # stationary within gtol, or within the control's resolution
        if gtol is None:
            return jnp.asarray(False)
        return stationary(seen, physical(s), y, args, gtol) | resolved(
            seen, physical(s), y, args, within)

    def stop(s, y, args, **kwargs):
        done = settled(s, y, args)
        if t_stop is not None:  # on the step clock, compare step counts (no rounding)
            done = done | (physical(s) >= t_stop if clock is None
                           else clock.count(s) + 0.5 >= (t_stop - clock.t0) / clock.dt)
        return done

    event = None if gtol is None and t_stop is None else diffrax.Event(stop)
    both = diffrax.SaveAt(subs=[saveat.subs, diffrax.SubSaveAt(t1=True)])  # final state too
    sol = diffrax.diffeqsolve(
        terms, scheme, t0, t1, dt0, y0, args=args, saveat=both,
        stepsize_controller=controller, max_steps=max_steps, throw=False, event=event,
        # UnsafeBrownianPath cannot be checkpointed for reverse mode; forward mode can
        adjoint=diffrax.ForwardMode() if _unsafe(terms) else diffrax.RecursiveCheckpointAdjoint(),
        progress_meter=diffrax.TextProgressMeter() if progress else diffrax.NoProgressMeter(),
    )
    (ts, final_t), (ys, final_y) = sol.ts, sol.ys
    ts, final_t = physical(ts), physical(final_t)
    if times is not None:  # requested times as asked; unreached ones keep diffrax's inf
        i, asked = times
        part = ts[i:i + asked.shape[0]]
        ts = ts.at[i:i + asked.shape[0]].set(
            jnp.where(jnp.isfinite(part), asked.astype(ts.dtype), part))
    xs = jax.vmap(seen.position)(ys)
    energies = jax.vmap(lambda t, y: seen.energy(t, y, args))(ts, ys) \
        if flow.has_energy else None
    last = jax.tree_util.tree_map(lambda leaf: leaf[0], final_y)
    stats = {k: sol.stats[k] for k in ("num_steps", "num_accepted_steps",
                                        "num_rejected_steps")}
    converged = (sol.result == diffrax.RESULTS.event_occurred) & settled(
        sol.ts[1][0], last, args)
    return Solution(x=seen.position(last), y=last, t=final_t[0], ts=ts, xs=xs, ys=ys,
                    energies=energies, stats=stats, result=sol.result, converged=converged,
                    finite=_all_finite(last))


# A long fixed-step solve with concrete inputs runs as consecutive compiled pieces of about
# _PIECE_SECONDS each, blocking on each, so Ctrl-C stops it within a piece (XLA cannot be
# interrupted, and JAX's async dispatch would keep queued work running after the exception).
# A solve of at most _FIRST_PIECE steps stays one call; every piece reuses that compile.
_PIECE_SECONDS = 0.25
_FIRST_PIECE = 4096


class _ShiftedPath(diffrax.AbstractBrownianPath):
    """``path`` read at solver times ``t - shift``: a piece of a long solve runs on its own
    clock ``[-m, 0]`` and draws exactly the increments the whole run's clock
    ``[-n, 0]`` would (UnsafeBrownianPath keys each increment by the bits of its times;
    integers shift exactly)."""

    path: diffrax.AbstractBrownianPath
    shift: Any
    levy_area: Any = eqx.field(static=True)
    t0: Any = None
    t1: Any = None

    def evaluate(self, t0, t1=None, left=True, use_levy=False):
        return self.path.evaluate(t0 - self.shift, None if t1 is None else t1 - self.shift,
                                  left, use_levy)


def _tracing():
    """Whether we are inside a JAX transformation (jit, vmap, grad)."""
    try:
        from jax._src import core
        return not core.trace_state_clean()
    except (ImportError, AttributeError):
        return isinstance(jnp.zeros(()) + 0, jax.core.Tracer)


def _piecewise(flow, scheme, key, clock, n, max_steps, y0, save, times, progress, tree):
    """Whether ``solve`` runs in pieces: fixed steps on the exact step clock, concrete
    inputs, no step budget below ``n``, a saveat whose pieces can be joined, and no
    scheme that keys its own noise by the solver's time (HMM)."""
    if clock is None or n <= _FIRST_PIECE or max_steps < n or isinstance(scheme, schemes.HMM):
        return False
    if progress or (save.subs.steps and save.subs.ts is not None):
        return False
    leaves = jax.tree_util.tree_leaves((flow, key, y0, save, times, tree))
    return not any(isinstance(v, jax.core.Tracer) for v in leaves) and not _tracing()


def _in_pieces(flow, scheme, key, bm, clock, n, controller, y0, save, max_steps, args,
               gtol, t_stop, times):
    """:func:`_integrate` over ``[-n, 0]`` as consecutive pieces of the step clock, each
    on its own clock ``[-m, 0]`` with the step count offset to match (all bounds arrays:
    one compile serves every piece), blocking on each; the state carries over and the
    saved values, final state and stats are joined into the one-call Solution, bit for
    bit. A piece lasts about ``_PIECE_SECONDS`` (measured on the previous one)."""
    dtype = clock.dt.dtype
    sub = save.subs
    ts_global = sub.ts  # the requested times on the whole run's clock [-n, 0]
    zero, one = jnp.asarray(0.0, dtype), jnp.asarray(1.0, dtype)
    done, m, y, runs = 0, _FIRST_PIECE, y0, []
    while True:
        m = max(1, min(m, n - done))
        off = done + m  # steps taken at the end of this piece
        piece_clock = eqx.tree_at(lambda c: c.offset, clock, jnp.asarray(off, dtype))
        shift = jnp.asarray(n - off, dtype)  # global clock = local clock - shift
        bm_k = None if bm is None else _ShiftedPath(bm, shift, bm.levy_area)
        terms, seen = _terms(flow, scheme, piece_clock, bm_k, key)
        save_k = save if ts_global is None else eqx.tree_at(
            lambda s: s.subs.ts, save, jnp.clip(ts_global + shift, -float(m), 0.0))
        start = time.perf_counter()
        sol = jax.block_until_ready(_integrate(
            flow, seen, terms, scheme, controller, jnp.asarray(-float(m), dtype), zero, one,
            y, save_k, max_steps, args, False, gtol, piece_clock, t_stop, times))
        elapsed = time.perf_counter() - start
        runs.append((sol, done, off))
        done = off
        if done >= n or not bool(sol.result == diffrax.RESULTS.successful):
            break  # the end, an event (gtol, t_stop) or a failure
        y = sol.y
        m = min(8 * m, max(1, int(m * _PIECE_SECONDS / max(elapsed, 1e-6))))
    return _joined(runs, sub, ts_global, n, seen, args, flow)


def _joined(runs, sub, ts_global, n, seen, args, flow):
    """The Solution of the whole run from its pieces ``(sol, first step, end step)``:
    saved entries ``[t0][body][t1]`` with the body's requested times taken from the
    piece whose span holds them (or its steps, one piece after another), the end from
    the piece that ended the run, stats summed."""
    tmap = jax.tree_util.tree_map
    first, last = runs[0][0], runs[-1][0]
    fields = ("ts", "ys", "xs", "energies")
    size = first.ts.shape[0]
    # the body (with steps, diffrax's t1 is the last step, no slot of its own)
    lo, hi = int(bool(sub.t0)), size - int(bool(sub.t1) and not sub.steps)
    out = {f: getattr(first, f) for f in fields}
    rows = lambda mask, a: jnp.asarray(mask).reshape((-1,) + (1,) * (a.ndim - 1))
    if ts_global is not None:
        g = np.asarray(ts_global)
        got = np.zeros(len(g), bool)
        for sol, a, b in runs:
            pick = (g <= b - n) & ((g > a - n) | ((a == 0) & (g >= a - n)))
            got |= pick
            out = {f: tmap(lambda o, p: o.at[lo:hi].set(jnp.where(
                rows(pick, o[lo:hi]), p[lo:hi], o[lo:hi])), out[f], getattr(sol, f))
                for f in fields}
        if not got.all():  # after an event: never reached, diffrax's padding (inf)
            y_inf = tmap(lambda a: jnp.full(a.shape[1:], jnp.inf, a.dtype), first.ys)
            t_inf = jnp.asarray(jnp.inf, first.ts.dtype)
            pad = {"ts": t_inf, "ys": y_inf, "xs": seen.position(y_inf),
                   "energies": seen.energy(t_inf, y_inf, args) if flow.has_energy else None}
            out = {f: tmap(lambda o, p: o.at[lo:hi].set(jnp.where(
                rows(~got, o[lo:hi]), p, o[lo:hi])), out[f], pad[f]) for f in fields}
    elif sub.steps:  # each piece's accepted steps in turn, then the first piece's padding
        counts = [int(sol.stats["num_accepted_steps"]) for sol, _, _ in runs]
        spare = hi - lo - sum(counts)
        for f in fields:  # (the first piece's last body slot is unused: it is < n steps)
            parts = [tmap(lambda a: a[lo:lo + c], getattr(sol, f))
                     for (sol, _, _), c in zip(runs, counts)]
            pad = tmap(lambda a: jnp.repeat(a[hi - 1:hi], spare, axis=0), out[f])
            out[f] = tmap(lambda o, p, *ps: o.at[lo:hi].set(jnp.concatenate(ps + (p,))),
                          out[f], pad, *parts)
    if hi < size:  # the end entry from the piece that ended the run
        out = {f: tmap(lambda o, p: o.at[hi:].set(p[hi:]), out[f], getattr(last, f))
               for f in fields}
    stats = {k: sum(sol.stats[k] for sol, _, _ in runs) for k in last.stats}
    return Solution(x=last.x, y=last.y, t=last.t, ts=out["ts"], xs=out["xs"], ys=out["ys"],
                    energies=out["energies"], stats=stats, result=last.result,
                    converged=last.converged, finite=last.finite)


def solve(flow, scheme, x0, *, t1, t0=0.0, dt0=None, controller=None, saveat=None,
          key=None, max_steps=None, gtol=None, t_stop=None, args=None,
          progress=False) -> Solution:
    """Integrate ``flow`` from ``x0`` with ``scheme`` and a step-size ``controller``.

    Args:
        flow: a flow from :mod:`flowopt.flows`.
        scheme: a scheme from :mod:`schemes`, or any diffrax solver (``diffrax.Tsit5()``;
            for SDEs also ``diffrax.SRA1()``, ``diffrax.ShARK()`` on additive noise, which
            get a Brownian path with the Lévy area they need).
        x0: the start, shape ``(d,)``. ``jax.vmap`` over it for many starts.
        t1: final time (physical time: ``n`` optimizer steps of size ``lr`` take
            ``t1 = n * lr``).
        t0: initial time, default 0.
        dt0: the (first) step. Required for fixed steps and for the energy controller.
            Fixed steps are counted in integer step units inside the solver
            (:class:`schemes.UnitSteps`), so ``t1 = n * lr, dt0 = lr`` takes exactly ``n``
            steps of exactly ``lr``, in float32 too; ``n`` may be at most ``2**24`` with
            float32 time (``2**31 - 1`` with float64), more is refused.
        controller: ``None`` (fixed steps of ``dt0``), :class:`schemes.EnergyController`
            (handed the flow's energy and dissipation here), or any diffrax controller
            such as ``diffrax.PIDController``.
        saveat: ``None`` (start and end), ``"steps"``, an int ``n`` (evenly spaced), an
            array of times, or a ``diffrax.SaveAt``.
        key: a ``jax.random`` key (``jax.random.key(0)``), required by stochastic flows
            (Langevin, CBO, ...) and random-drift flows (NoisyGradient, SmoothedGradient);
            deterministic flows ignore it. Fixed steps draw the noise from
            ``diffrax.UnsafeBrownianPath``, adaptive ones from
            ``diffrax.VirtualBrownianTree``, with the Lévy area the scheme needs (SRA1,
            ShARK: space-time). For many trajectories use
            :func:`solve_batch`, which gives trajectory ``i`` the key ``fold_in(key, i)``.
        max_steps: the step budget. Default: exactly the number of fixed steps, or
            16384 for adaptive control. Required for fixed steps when ``t0``, ``t1`` or
            ``dt0`` is traced (the step count is then unknown before compiling).
            Running out is reported in ``result`` and :attr:`Solution.status`.
        gtol: stop early, with :attr:`Solution.status` ``"converged"``, once the
            gradient and the velocity ``x'`` are both below ``gtol`` (max norm). Under an
            error controller (``diffrax.PIDController``) on a deterministic flow, also
            once the state is within the controller's resolution of a stationary point
            (Newton step ``<= 10 (atol + rtol max(1, |x|))``, :func:`resolved`; states of
            up to 16 numbers): an explicit scheme there settles at its stability limit
            with ``|grad f|`` near ``rtol`` times the curvature, so a smaller ``gtol``
            would never be met. Default: run to ``t1``.
        t_stop: stop early, with status ``"converged"``, once ``t >= t_stop``; unlike
            ``t1`` it may be a traced value (a budget that changes inside a loop), while
            ``t1`` bounds the solve.
        args: passed to the vector field.
        progress: print diffrax's text progress meter.

    Returns:
        A :class:`Solution`. Failures inside the solve (step budget exhausted, energy
        floor reached) are reported in ``Solution.result``, never raised; divergence
        shows as non-finite values, ``Solution.finite`` False and status
        ``"diverged (non-finite state)"``.

    Example:
        >>> import flowopt as fo, schemes, jax.numpy as jnp
        >>> loss = fo.landscapes.Rosenbrock()
        >>> adam = fo.flows.Adam.from_optax(loss, learning_rate=1e-2)
        >>> sol = fo.solve(adam, schemes.SemiImplicitEuler(), jnp.zeros(2), t1=3.0, dt0=1e-2)
        >>> int(sol.stats["num_steps"])    # 300 Adam steps
        300
    """
    if not isinstance(flow, AbstractFlow):
        raise TypeError(
            f"solve(flow={flow!r}): flow must be a flowopt flow, e.g. "
            "fo.flows.GradientFlow(loss); a plain loss function is not a flow."
        )
    if not isinstance(scheme, diffrax.AbstractSolver):
        raise TypeError(
            f"solve(scheme={scheme!r}): scheme must be a scheme such as schemes.Euler() or "
            "a diffrax solver instance such as diffrax.Tsit5() (note the parentheses)."
        )
    _check_key(key)
    x0 = jnp.asarray(_arguments.points("solve", "x0", x0))
    _check_x0(flow, x0)
    _arguments.loss_output("solve", flow.loss, x0)
    _check_number("t0", t0)
    _check_number("t1", t1, minimum=t0, fix="Integrate forward in time: t1 > t0.")
    if dt0 is not None:
        _check_number("dt0", dt0, minimum=0.0, fix="Pass a positive step, e.g. dt0=1e-2.")
    if max_steps is not None and (not isinstance(max_steps, int) or isinstance(max_steps, bool)
                                  or not 1 <= max_steps <= _MAX_STEP_COUNT):
        raise ValueError(f"solve(max_steps={max_steps!r}): max_steps must be a positive int "
                         f"(at most 2**31 - 1, diffrax's int32 step counter).")
    dtype = jnp.result_type(x0.dtype, float)
    clock, n = None, None
    if controller is None:
        if dt0 is None:
            raise ValueError("solve(dt0=None): fixed steps need a step size; pass dt0, or "
                             "an adaptive controller such as diffrax.PIDController.")
        # step units: the solver's clock runs s = -n, ..., -1, 0 in steps of exactly 1
        clock, n = _exact_step_clock(t0, t1, dt0, dtype)
        if clock is None and max_steps is None:
            traced = [name for name, v in (("t0", t0), ("t1", t1), ("dt0", dt0))
                      if not _is_concrete(v)]
            raise ValueError(
                f"solve(max_steps=None): {', '.join(traced)} "
                f"{'is' if len(traced) == 1 else 'are'} traced (inside jax.jit, "
                "jax.vmap or a grad), so the number of fixed steps (t1 - t0) / dt0 is not "
                "known before compiling. Pass max_steps=<an upper bound on the number of "
                "steps> (running out is then reported in Solution.status), or pass t0, t1 "
                "and dt0 as Python floats."
            )
    if flow.needs_key and key is None:
        raise ValueError(f"solve(key=None): {type(flow).__name__} is stochastic and needs a "
                         "key, e.g. key=jax.random.key(0) (one key per trajectory).")
    stochastic = isinstance(flow, AbstractStochasticFlow) and not isinstance(scheme,
                                                                             schemes.HMM)
    if stochastic:
        _arguments.sde_scheme("solve", flow, scheme)
        _check_sde_scheme(flow, scheme, x0, t0, args)
    elif not isinstance(flow, AbstractMultiscaleFlow) or not isinstance(scheme, schemes.HMM):
        _check_ode_scheme(flow, scheme)
    if isinstance(flow, AbstractRandomFlow):
        flow = eqx.tree_at(lambda f: f.key, flow, key, is_leaf=lambda v: v is None)
    bm = None
    if stochastic:
        levy = _levy_area(scheme)
        shape = jax.eval_shape(flow.init, x0)
        if clock is not None:
            bm = diffrax.UnsafeBrownianPath(shape=shape, key=key, levy_area=levy)
        else:
            bm = diffrax.VirtualBrownianTree(
                jnp.asarray(t0, dtype), jnp.asarray(t1, dtype),
                tol=(float(dt0) if dt0 is not None and _is_concrete(dt0) else 1e-2) / 16,
                shape=shape, key=key, levy_area=levy)
    terms, seen = _terms(flow, scheme, clock, bm, key)
    if controller is None:
        if clock is not None:
            controller = schemes.UnitSteps()
            if max_steps is None:
                max_steps = n
        else:
            controller = diffrax.ConstantStepSize()
    elif isinstance(controller, schemes.EnergyController):
        if not flow.has_energy:
            raise ValueError(
                f"solve(controller=EnergyController()): {type(flow).__name__} has no "
                "energy to control; use a fixed step or diffrax.PIDController."
            )
        if dt0 is None:
            raise ValueError("solve(dt0=None): the energy controller needs a first trial "
                             "step; pass dt0 (it may be large: rejections shrink it).")
        controller = bind_energy(controller, seen)
    elif not isinstance(controller, diffrax.AbstractStepSizeController):
        raise TypeError(f"solve(controller={controller!r}): controller must be None, "
                        "schemes.EnergyController() or a diffrax step-size controller.")
    _arguments.controller("solve", controller, scheme)
    if max_steps is None:
        max_steps = _ADAPTIVE_MAX_STEPS
    if gtol is not None:
        _check_number("gtol", gtol, minimum=0.0, fix="e.g. gtol=1e-6")
        gtol = jnp.asarray(gtol, dtype)
    if t_stop is not None:
        _check_number("t_stop", t_stop, minimum=t0, fix="t_stop must lie after t0.")
        t_stop = jnp.asarray(t_stop, dtype)

    as_time = lambda v: None if v is None else jnp.asarray(v, dtype)
    if clock is None:
        s0, s1, ds = t0, t1, dt0
        save, times = _saveat(saveat, t0, t1, t0, t1)
    else:  # the solver's clock counts steps; saved times are mapped back to physical ones
        s0, s1, ds = -float(n), 0.0, 1.0
        save, times = _saveat(saveat, t0, t1, s0, s1,
                              to_solver=lambda t: (t - clock.t0) / clock.dt - clock.offset)
    try:
        y0 = seen.init(x0)
        if _piecewise(flow, scheme, key, clock, n, max_steps, y0, save, times, progress,
                      (args, gtol, t_stop)):  # interruptible: see _in_pieces
            return _in_pieces(flow, scheme, key, bm, clock, n, controller, y0, save,
                              max_steps, args, gtol, t_stop, times)
        return _integrate(flow, seen, terms, scheme, controller, as_time(s0), as_time(s1),
                          as_time(ds), y0, save, max_steps, args, progress, gtol,
                          clock, t_stop, times)
    except ValueError as e:  # diffrax's TermAndSolverIncompatible, raised while tracing
        if type(e).__name__ != "TermAndSolverIncompatible":
            raise
        raise ValueError(
            f"solve(scheme={type(scheme).__name__}()): this diffrax solver cannot integrate "
            f"{type(flow).__name__} as flowopt states it (drift + diagonal noise for SDEs, "
            "one vector field for ODEs). Use schemes.Euler(), or another solver."
        ) from e


def _check_key(key, owner="solve"):
    """``key``: None, a typed JAX key (``jax.random.key``) or a raw uint32 (2,) key."""
    if key is None:
        return
    dtype = getattr(key, "dtype", None)
    if dtype is not None and (jnp.issubdtype(dtype, jax.dtypes.prng_key) or (
            dtype == jnp.uint32 and jnp.ndim(key) == 1)):  # typed, or a raw PRNGKey
        return
    raise ValueError(
        f"{owner}(key={key!r}): key must be a JAX random key, e.g. key=jax.random.key(0) "
        f"(got a {type(key).__name__}); for many trajectories use solve_batch or "
        "jax.random.split / fold_in to give each its own."
    )


def _levy_area(scheme):
    """The Brownian increment ``scheme`` asks for: SRA1, ShARK, ... need space-time Lévy
    area (``minimal_levy_area``, diffrax 0.7); the rest the plain increment."""
    wanted = getattr(scheme, "minimal_levy_area", diffrax.BrownianIncrement)
    if isinstance(wanted, type) and issubclass(wanted, diffrax.AbstractSpaceTimeTimeLevyArea):
        return diffrax.SpaceTimeTimeLevyArea
    if isinstance(wanted, type) and issubclass(wanted, diffrax.AbstractSpaceTimeLevyArea):
        return diffrax.SpaceTimeLevyArea
    return diffrax.BrownianIncrement


def _additive_only(scheme):
    tableau = getattr(type(scheme), "tableau", None)
    return isinstance(scheme, diffrax.AbstractSRK) and tableau is not None \
        and tableau.is_additive_noise()


def _noise_depends_on_state(flow, x0, t0, args):
    """Whether the flow's diffusion depends on the state (its tangent is not a symbolic
    zero), found by tracing only."""
    def tangent(y):
        ones = jax.tree_util.tree_map(jnp.ones_like, y)
        return eqx.filter_jvp(lambda y: flow.diffusion(t0, y, args), (y,), (ones,))[1]

    y0 = jax.eval_shape(flow.init, x0)
    return len(jax.tree_util.tree_leaves(eqx.filter_eval_shape(tangent, y0))) > 0


def _check_sde_scheme(flow, scheme, x0, t0, args):
    name, flow_name = type(scheme).__name__, type(flow).__name__
    if isinstance(scheme, schemes.AbstractPartitionedSolver):
        return  # _terms names it
    structure = getattr(scheme, "term_structure", diffrax.AbstractTerm)
    multi = getattr(structure, "__origin__", None) is diffrax.MultiTerm
    if not multi and not (isinstance(structure, type)
                          and issubclass(structure, diffrax.AbstractTerm)):
        raise ValueError(
            f"solve(scheme={name}()): this diffrax solver expects terms structured as "
            f"{structure}, which flowopt does not build for the SDE {flow_name}. Use "
            "schemes.Euler() (Euler–Maruyama), diffrax.SRA1() or diffrax.ShARK()."
        )
    if _additive_only(scheme) and _noise_depends_on_state(flow, x0, t0, args):
        raise ValueError(
            f"solve(scheme={name}()): {name} integrates SDEs with additive noise (a "
            f"diffusion that does not depend on the state), and {flow_name}'s diffusion "
            "depends on the state. Use schemes.Euler() (Euler–Maruyama), or a "
            "general-noise solver such as diffrax.GeneralShARK()."
        )


def _check_ode_scheme(flow, scheme):
    structure = getattr(scheme, "term_structure", None)
    if getattr(structure, "__origin__", None) is diffrax.MultiTerm and not isinstance(
            scheme, schemes.AbstractPartitionedSolver) and isinstance(
            scheme, (diffrax.AbstractItoSolver, diffrax.AbstractStratonovichSolver)):
        raise ValueError(
            f"solve(scheme={type(scheme).__name__}()): this is an SDE solver (drift plus "
            f"noise), and {type(flow).__name__} is deterministic. Use schemes.Euler(), "
            "another ODE scheme, or a diffrax ODE solver such as diffrax.Tsit5()."
        )


# Rows that do not depend on their batch. XLA compiles a vmapped solve differently for
# each batch size, and within one program a lane's arithmetic depends on its position
# (which products become FMAs, which vector variant evaluates exp or log, the remainder
# of a vector loop): a row's last bits depended on its batch (one ulp in float32 in most
# rows, with every scheme), and adaptive steps (accept or reject) and chaotic flows turn
# last bits into different paths (up to 0.015 on Himmelblau; a batch of 36 against
# batches of 1, 5 or 12). Per-compile XLA options cannot fix this (the CPU's instruction
# set is fixed per process). Diffrax also couples the lanes of FSAL schemes (Tsit5,
# Dopri5, Bosh3): one lane's rejected first step makes every lane re-evaluate its first
# stage instead of reusing its last one. So lanes run in programs of one fixed width,
# each in the slot its index names (index mod width), one compile per width, and FSAL
# schemes evaluate their first stage at every step (one more evaluation per step).
# state elements per program; a lane that draws its noise from a VirtualBrownianTree
# (noise under an adaptive controller) costs ~100x a fixed step's lane: narrower programs
_LANE_STATE = {True: 2**7, False: 2**12}
_LANE_CAP = 1024
_ACCELERATOR_SCALE = 2**8  # GPUs and TPUs run far wider programs


def lane_width(x0, costly):
    """The fixed width of the programs that run a batch's lanes: a power of two, from
    the size of one start ``x0`` and whether its lanes are ``costly`` (noise under an
    adaptive controller): a function of these only, never of the batch."""
    size = max(1, int(np.prod(np.shape(x0))))
    scale = 1 if jax.default_backend() == "cpu" else _ACCELERATOR_SCALE
    fit = max(1, _LANE_STATE[bool(costly)] * scale // size)
    return int(min(_LANE_CAP * scale, 2 ** int(math.log2(fit))))


@functools.cache
def _fresh_first_stage_class(cls):
    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        return cls.step(self, terms, t0, t1, y0, args, solver_state, True)
    return type(cls.__name__, (cls,), {"step": step, "__qualname__": cls.__qualname__,
                                       "__module__": cls.__module__})


def lane_scheme(scheme):
    """``scheme``, except that an FSAL Runge-Kutta scheme evaluates its first stage at
    every step (as after a jump), so no lane's step depends on the other lanes."""
    tableau = getattr(scheme, "tableau", None)
    if not isinstance(scheme, diffrax.AbstractRungeKutta) or tableau is None or not all(
            t.fsal for t in getattr(tableau, "tableaus", (tableau,))):
        return scheme
    fresh = object.__new__(_fresh_first_stage_class(type(scheme)))
    for field in dataclasses.fields(scheme):
        object.__setattr__(fresh, field.name, getattr(scheme, field.name))
    return fresh


@jax.jit
def _join_lanes(parts, where):
    return jax.tree_util.tree_map(lambda *v: jnp.concatenate(v)[where], *parts)


def in_lanes(one, batched, ids, width):
    """``jax.vmap(one)(*batched)``, run as programs of ``width`` lanes: lane ``j`` in slot
    ``ids[j] % width`` (the other slots repeat a lane of the same program), blocking on
    each program. A lane's result depends only on its inputs and on ``ids[j] % width``,
    not on the other lanes or their number. Traced inputs (inside jit or vmap): plain
    vmap, with no such guarantee."""
    leaves = jax.tree_util.tree_leaves((batched, ids))
    if any(isinstance(v, jax.core.Tracer) for v in leaves):
        return jax.vmap(one)(*batched)
    ids = np.asarray(ids).astype(np.int64)
    n = len(ids)
    slot = ids % width
    counts = np.bincount(slot, minlength=width)
    order = np.argsort(slot, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - (np.cumsum(counts) - counts)[slot[order]]
    table = np.full((int(counts.max()), width), -1)
    table[rank, slot] = np.arange(n)
    table = np.where(table < 0, table.max(axis=1, keepdims=True), table)
    fun, parts = None, []
    for row in table:
        chunk = jax.tree_util.tree_leaves(
            jax.tree_util.tree_map(lambda a: a[jnp.asarray(row)], batched))
        if fun is None:  # trace once; every program reuses the compiled solve
            closed, shape = jax.make_jaxpr(
                lambda *leaves: jax.vmap(one)(*jax.tree_util.tree_unflatten(
                    jax.tree_util.tree_structure(batched), leaves)),
                return_shape=True)(*chunk)
            fun = jax.extend.core.jaxpr_as_fun(closed)
            tree = jax.tree_util.tree_structure(shape)
        parts.append(jax.block_until_ready(jax.tree_util.tree_unflatten(tree, fun(*chunk))))
    return _join_lanes(parts, jnp.asarray(rank * width + slot))


def solve_batch(flow, scheme, x0s, *, key=None, first_index=0, indices=None, lanes=None,
                **kwargs) -> Solution:
    """:func:`solve` for a batch of starts ``x0s`` (leading axis), vectorized.

    Trajectory ``i`` of the batch gets the key ``fold_in(key, indices[i])``, with
    ``indices = first_index + arange(n)`` by default, so a result does not depend on how
    starts are split into batches or ordered: rows ``a:b`` solved with ``first_index=a``,
    or any permutation of the rows with the matching ``indices``, reproduce the whole
    batch's rows bit for bit -- for deterministic flows too, with fixed or adaptive steps.
    XLA computes a lane's last bits differently with its batch and its place in it, and
    adaptive steps or chaos make paths of them, so the starts run in programs of one
    fixed width ``lanes`` (default :func:`lane_width`: on a CPU 64 lanes of 2-d noise
    under an adaptive controller, else up to 1024), start ``i`` in slot
    ``indices[i] % lanes``, and FSAL schemes (Tsit5, Dopri5) evaluate their first stage at
    every step. A batch smaller than the width still pays for the width: for a few long
    runs pass a small ``lanes`` (rows are then identical across calls with that
    ``lanes``). A row may differ in its last bits from :func:`solve` of the same start
    alone. The guarantee holds for calls outside ``jax.jit``; traced inside one, the
    batch is one plain vmap.
    """
    if not isinstance(flow, AbstractFlow):
        raise TypeError(f"solve_batch(flow={flow!r}): flow must be a flowopt flow, e.g. "
                        "fo.flows.GradientFlow(loss).")
    x0s = jnp.asarray(_arguments.points("solve_batch", "x0s", x0s))
    per_start = 2 if flow.interacting else 1
    if x0s.ndim != per_start + 1 or x0s.shape[0] < 1:
        one = "(n, N, d): n starts of N agents" if flow.interacting else "(n, d): n starts"
        raise ValueError(f"solve_batch(x0s=...): x0s has shape {tuple(x0s.shape)}; pass a "
                         f"batch of shape {one} (one start x0 is x0[None]), or call "
                         "fo.solve for a single start.")
    _check_key(key, "solve_batch")
    n = x0s.shape[0]
    indices = first_index + jnp.arange(n) if indices is None else jnp.asarray(indices)
    if indices.shape != (n,):
        raise ValueError(f"solve_batch(indices=...): need one index per start, shape ({n},), "
                         f"not {indices.shape}.")
    fresh = lane_scheme(scheme)
    one = (lambda x0, i: solve(flow, fresh, x0, **kwargs)) if key is None else \
        (lambda x0, i: solve(flow, fresh, x0, key=jax.random.fold_in(key, i), **kwargs))
    if lanes is None:
        lanes = lane_width(x0s[0], flow.needs_key and kwargs.get("controller") is not None)
    elif isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise ValueError(f"solve_batch(lanes={lanes!r}): lanes must be a positive int.")
    return in_lanes(one, (x0s, indices), indices, int(lanes))
