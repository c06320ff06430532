"""``flowopt.solve``: a flow, a scheme and a step-size control, handed to ``diffeqsolve``."""

import math
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import schemes

from .flows.base import (AbstractFlow, AbstractMultiscaleFlow, AbstractPartitionedFlow,
                         AbstractRandomFlow, AbstractStochasticFlow)
from .landscapes.base import Landscape

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

    @property
    def status(self) -> str:
        """``"successful"``, or diffrax's message (e.g. the energy controller's floor)."""
        if self.result == diffrax.RESULTS.successful:
            return "successful"
        if self.result == diffrax.RESULTS.event_occurred:
            return "converged" if bool(self.converged) else "stopped at t_stop"
        if self.result == diffrax.RESULTS.dt_min_reached:
            return ("step-size floor reached (with EnergyController: no step decreases the "
                    "energy at this precision, typically a stationary point reached to "
                    "rounding)")
        return diffrax.RESULTS[self.result]

    @property
    def success(self):
        """True when the solve reached ``t1`` or converged (``gtol``)."""
        return (self.result == diffrax.RESULTS.successful) | (
            self.result == diffrax.RESULTS.event_occurred)


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

    def time(self, s):
        return self.t0 + self.dt * s

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


def _is_concrete(x):
    return not isinstance(x, jax.core.Tracer)


def _check_number(name, value, *, minimum=None, strict=True, fix=""):
    if not _is_concrete(value):
        return
    v = np.asarray(value)
    if v.shape != () or not np.isfinite(v):
        raise ValueError(f"solve({name}={value!r}): {name} must be a finite number. {fix}")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"solve({name}={value!r}): {name} must be "
                         f"{'>' if strict else '>='} {minimum}. {fix}")


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
    if _is_concrete(x0) and not np.all(np.isfinite(np.asarray(x0))):
        raise ValueError(f"solve(x0={np.asarray(x0)!r}): x0 must be finite (it has NaN or "
                         "inf entries).")


def _timed(clock, fn, power=1.0):
    """``fn`` in the solver's time: itself, or on the step clock (scaled by dt**power)."""
    if clock is None:
        return fn
    return _StepClock(fn, clock.t0, clock.dt, power)


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


def _saveat(saveat, t0, t1, to_solver=lambda t: t):
    """The SaveAt over the solver's time [t0, t1]; ``to_solver`` maps user times to it."""
    if saveat is None:
        return diffrax.SaveAt(t0=True, t1=True)
    if isinstance(saveat, diffrax.SaveAt) and isinstance(saveat.subs, diffrax.SubSaveAt):
        return saveat
    if isinstance(saveat, str) and saveat == "steps":
        return diffrax.SaveAt(t0=True, steps=True)
    if isinstance(saveat, int) and not isinstance(saveat, bool) and saveat >= 2:
        return diffrax.SaveAt(ts=jnp.linspace(t0, t1, saveat))
    ts = np.asarray(saveat, float) if not isinstance(saveat, str) else None
    if ts is not None and ts.ndim == 1 and ts.size >= 1:
        return diffrax.SaveAt(ts=to_solver(jnp.asarray(ts)))
    raise ValueError(
        f"solve(saveat={saveat!r}): saveat must be None (start and end), 'steps' (every "
        "accepted step), an int n >= 2 (n evenly spaced times), an array of times, or a "
        "diffrax.SaveAt."
    )


def stationary(seen, t, y, args, tol):
    """Whether the gradient at the position and the velocity ``x'`` are both <= ``tol``
    (max norm): the stopping test of ``gtol`` and of the basin mapper."""
    x, speed = seen.position(y), seen.position(seen.drift(t, y, args))
    return (jnp.max(jnp.abs(seen.grad(x))) <= tol) & (jnp.max(jnp.abs(speed)) <= tol)


def bind_energy(controller, seen):
    """An EnergyController with the flow's energy and dissipation filled in where the
    user gave none."""
    return eqx.tree_at(
        lambda c: (c.energy, c.dissipation), controller,
        (controller.energy or seen.energy, controller.dissipation or seen.dissipation),
        is_leaf=lambda v: v is None)


def _unsafe(terms):
    leaves = jax.tree_util.tree_leaves(
        terms, is_leaf=lambda v: isinstance(v, diffrax.UnsafeBrownianPath))
    return any(isinstance(v, diffrax.UnsafeBrownianPath) for v in leaves)


@eqx.filter_jit
def _integrate(flow, seen, terms, scheme, controller, t0, t1, dt0, y0, saveat, max_steps,
               args, progress, gtol, clock, t_stop):
    physical = (lambda s: s) if clock is None else clock.time

    def settled(s, y, args):
        return jnp.asarray(False) if gtol is None else stationary(seen, physical(s), y, args,
                                                                  gtol)

    def stop(s, y, args, **kwargs):
        done = settled(s, y, args)
        if t_stop is not None:  # on the step clock, compare step counts (no rounding)
            done = done | (physical(s) >= t_stop if clock is None
                           else s + 0.5 >= (t_stop - clock.t0) / clock.dt)
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
    xs = jax.vmap(seen.position)(ys)
    energies = jax.vmap(lambda t, y: seen.energy(t, y, args))(ts, ys) \
        if flow.has_energy else None
    last = jax.tree_util.tree_map(lambda leaf: leaf[0], final_y)
    stats = {k: sol.stats[k] for k in ("num_steps", "num_accepted_steps",
                                        "num_rejected_steps")}
    converged = (sol.result == diffrax.RESULTS.event_occurred) & settled(
        sol.ts[1][0], last, args)
    return Solution(x=seen.position(last), y=last, t=final_t[0], ts=ts, xs=xs, ys=ys,
                    energies=energies, stats=stats, result=sol.result, converged=converged)


def solve(flow, scheme, x0, *, t1, t0=0.0, dt0=None, controller=None, saveat=None,
          key=None, max_steps=None, gtol=None, t_stop=None, args=None,
          progress=False) -> Solution:
    """Integrate ``flow`` from ``x0`` with ``scheme`` and a step-size ``controller``.

    Args:
        flow: a flow from :mod:`flowopt.flows`.
        scheme: a scheme from :mod:`schemes`, or any diffrax solver (``diffrax.Tsit5()``).
        x0: the start, shape ``(d,)``. ``jax.vmap`` over it for many starts.
        t1: final time (physical time: ``n`` optimizer steps of size ``lr`` take
            ``t1 = n * lr``).
        t0: initial time, default 0.
        dt0: the (first) step. Required for fixed steps and for the energy controller.
            Fixed steps are counted in integer step units inside the solver, so
            ``t1 = n * lr, dt0 = lr`` takes exactly ``n`` steps of exactly ``lr``.
        controller: ``None`` (fixed steps of ``dt0``), :class:`schemes.EnergyController`
            (handed the flow's energy and dissipation here), or any diffrax controller
            such as ``diffrax.PIDController``.
        saveat: ``None`` (start and end), ``"steps"``, an int ``n`` (evenly spaced), an
            array of times, or a ``diffrax.SaveAt``.
        key: a ``jax.random`` key, required by stochastic flows (Langevin, CBO, ...) and
            random-drift flows (NoisyGradient, SmoothedGradient); deterministic flows
            ignore it. Fixed steps draw the noise from ``diffrax.UnsafeBrownianPath``,
            adaptive ones from ``diffrax.VirtualBrownianTree``. For many trajectories use
            :func:`solve_batch`, which gives trajectory ``i`` the key ``fold_in(key, i)``.
        max_steps: the step budget. Default: exactly the number of fixed steps, or
            16384 for adaptive control. Running out is reported in ``result``.
        gtol: stop early, with :attr:`Solution.status` ``"converged"``, once the
            gradient and the velocity ``x'`` are both below ``gtol`` (max norm). Default:
            run to ``t1``.
        t_stop: stop early, with status ``"converged"``, once ``t >= t_stop``; unlike
            ``t1`` it may be a traced value (a budget that changes inside a loop), while
            ``t1`` bounds the solve.
        args: passed to the vector field.
        progress: print diffrax's text progress meter.

    Returns:
        A :class:`Solution`. Failures inside the solve (step budget exhausted, energy
        floor reached) are reported in ``Solution.result``, never raised; divergence
        shows as non-finite values.

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
    x0 = jnp.asarray(x0)
    _check_x0(flow, x0)
    _check_number("t0", t0)
    _check_number("t1", t1, minimum=t0, fix="Integrate forward in time: t1 > t0.")
    if dt0 is not None:
        _check_number("dt0", dt0, minimum=0.0, fix="Pass a positive step, e.g. dt0=1e-2.")
    dtype = jnp.result_type(x0.dtype, float)
    clock, n = None, None
    if controller is None:
        if dt0 is None:
            raise ValueError("solve(dt0=None): fixed steps need a step size; pass dt0, or "
                             "an adaptive controller such as diffrax.PIDController.")
        clock, n = _step_clock(t0, t1, dt0, dtype)  # step units: s = 0, 1, ..., n exactly
    if flow.needs_key and key is None:
        raise ValueError(f"solve(key=None): {type(flow).__name__} is stochastic and needs a "
                         "key, e.g. key=jax.random.key(0) (one key per trajectory).")
    if isinstance(flow, AbstractRandomFlow):
        flow = eqx.tree_at(lambda f: f.key, flow, key, is_leaf=lambda v: v is None)
    bm = None
    if isinstance(flow, AbstractStochasticFlow) and not isinstance(scheme, schemes.HMM):
        if clock is not None:
            bm = diffrax.UnsafeBrownianPath(shape=jax.eval_shape(flow.init, x0), key=key)
        else:
            bm = diffrax.VirtualBrownianTree(
                jnp.asarray(t0, dtype), jnp.asarray(t1, dtype),
                tol=(float(dt0) if dt0 is not None and _is_concrete(dt0) else 1e-2) / 16,
                shape=jax.eval_shape(flow.init, x0), key=key)
    terms, seen = _terms(flow, scheme, clock, bm, key)
    if controller is None:
        controller = diffrax.ConstantStepSize()
        if max_steps is None and n is not None:
            max_steps = n
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
    if max_steps is None:
        max_steps = _ADAPTIVE_MAX_STEPS
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"solve(max_steps={max_steps!r}): max_steps must be a positive int.")
    if gtol is not None:
        _check_number("gtol", gtol, minimum=0.0, fix="e.g. gtol=1e-6")
        gtol = jnp.asarray(gtol, dtype)
    if t_stop is not None:
        _check_number("t_stop", t_stop, minimum=t0, fix="t_stop must lie after t0.")
        t_stop = jnp.asarray(t_stop, dtype)

    as_time = lambda v: None if v is None else jnp.asarray(v, dtype)
    if clock is None:
        s0, s1, ds, save = t0, t1, dt0, _saveat(saveat, t0, t1)
    else:  # the solver's clock counts steps; saved times are mapped back to physical ones
        s0, s1, ds = 0.0, float(n), 1.0
        save = _saveat(saveat, 0.0, float(n), to_solver=lambda t: (t - clock.t0) / clock.dt)
    return _integrate(flow, seen, terms, scheme, controller, as_time(s0), as_time(s1),
                      as_time(ds), seen.init(x0), save, max_steps, args, progress, gtol, clock,
                      t_stop)


def solve_batch(flow, scheme, x0s, *, key=None, first_index=0, indices=None,
                **kwargs) -> Solution:
    """:func:`solve` for a batch of starts ``x0s`` (leading axis), vectorized.

    Trajectory ``i`` of the batch gets the key ``fold_in(key, indices[i])``, with
    ``indices = first_index + arange(n)`` by default, so a result does not depend on how
    starts are split into batches or ordered: rows ``a:b`` solved with ``first_index=a``,
    or any permutation of the rows with the matching ``indices``, reproduce the whole
    batch's rows bit for bit.
    """
    x0s = jnp.asarray(x0s)
    n = x0s.shape[0]
    if key is None:
        return jax.vmap(lambda x0: solve(flow, scheme, x0, **kwargs))(x0s)
    indices = first_index + jnp.arange(n) if indices is None else jnp.asarray(indices)
    if indices.shape != (n,):
        raise ValueError(f"solve_batch(indices=...): need one index per start, shape ({n},), "
                         f"not {indices.shape}.")
    return jax.vmap(lambda x0, i: solve(flow, scheme, x0, key=jax.random.fold_in(key, i),
                                        **kwargs))(x0s, indices)
