"""``fo.basins``: which attractor each start of a grid reaches, how fast, or whether it
diverged — fast (chunks of fixed steps; finished lanes masked, then compacted away) and
in bounded memory (tiles of at most ``tile`` starts)."""

import math
import os
import time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

import schemes
from schemes.energy_controller import _all_finite as _finite
from schemes.noise import StepBrownianPath

from .. import _arguments
from ..flows.base import (AbstractFlow, AbstractRandomFlow, AbstractStochasticFlow,
                          ForwardGradient)
from ..landscapes.base import Landscape
from ..landscapes.base import max_abs as _max_abs
from ..solve import (_check_key, _check_ode_scheme, _levy_area, _step_clock, _terms, as_seen,
                     bind_energy, resolution, resolved, solve, stationary)
from .classify import (AT_PRECISION, CONVERGED, CYCLE, DIVERGED, NOT_CONVERGED, SPURIOUS,
                       classify, default_radius, losses_at, newton_steps, outcome_order)
from .grid import Grid, Starts
from .spec import MapSpec
from .store import open_store
from .tasks import run_tiles

_MIN_LANES = 1024  # compaction stops at this many lanes
_PIECE_SECONDS = 0.25  # a compiled piece of a map runs about this long (see _Pacer)
_BLOWN = 1 << 30  # added to a lane's stop step when its update was not finite
_LANE_BLOCK = 128  # a controlled tile's lanes are padded to a multiple of this
_BLOCK = 1024  # lockstep lanes run a chunk of trials in blocks of this many (in cache)
_ERROR_BLOCK = 32_768  # the same under an error controller (see controlled_runner)
# trials per chunk under an error controller: a lane takes 15-60 trials (Tsit5, PID rtol
# 1e-6, 256^2 Himmelblau), and a batch is compacted only between chunks (map times
# measured, blocks of 32768: chunks of 8 0.139 s, 16 0.16 s, 64 0.24 s)
_ERROR_CHUNK = 8
_COMPACT = 4  # a batch is compacted to 1024 * 4^k lanes once fewer than 1/4 still run


def _lanes_finite(ys):
    return jax.vmap(_finite)(ys)


def _outcome(flow, y):
    """Where a state ends, shape (d,): the position, or for interacting flows the
    ensemble's representative point (``flow.outcome``: mean or consensus)."""
    outcome = getattr(flow, "outcome", None)
    if outcome is not None:
        return outcome(y)
    x = flow.position(y)
    return jnp.mean(x, axis=0) if x.ndim == 2 else x


def _check(seen, t, y, tol, center, far, within=None):
    """(converged, diverged) of one lane at state ``y``: diverged once any part of the
    state is non-finite or the position is farther than ``far`` (max norm) from
    ``center``; converged when :func:`flowopt.solve.stationary` holds there, or (error
    control: ``within`` = (rtol, atol)) :func:`flowopt.solve.resolved` -- the stopping
    rule of ``fo.solve(..., gtol=tol)``."""
    diverged = ~_finite(y) | (_max_abs(_outcome(seen, y) - center) > far)
    converged = stationary(seen, t, y, None, tol) | resolved(seen, t, y, None, within)
    return converged & ~diverged, diverged


def _first_state(seen, unravel, point):
    """The initial state, as the scheme sees the flow, of a grid point: a position, or a
    flattened full state for grids of states (``unravel``)."""
    return seen.init(point) if unravel is None else as_seen(seen, unravel(point))


@eqx.filter_jit
def _keys(key, flat, reps, replicated):
    """Start i, replica r: fold_in(fold_in(key, i), r) (just fold_in(key, i) for one run),
    whatever the tile it falls in."""
    one = lambda i, r: jax.random.fold_in(jax.random.fold_in(key, i), r) if replicated \
        else jax.random.fold_in(key, i)
    return jax.vmap(one)(flat, reps)


@eqx.filter_jit
def _outcomes(flow, ys):
    return jax.vmap(lambda y: _outcome(flow, y))(ys)


def _freeze(keep, new, old):
    """Per lane: ``new`` where ``keep``, else ``old`` (the mask broadcast to each leaf)."""
    return jax.tree_util.tree_map(
        lambda a, b: jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b), new, old)


class _Stepper(eqx.Module):
    """Advances a batch of lanes by fixed steps inside one jitted call. Each lane stops
    (and keeps its state) at the first step whose update is at most ``tol dt`` or not
    finite (:meth:`advance`), so its label, step count and end point are its own,
    whatever shares its batch or chunk.

    The step ``clock.dt`` and the stop bound ``limit`` are arrays, not compile-time
    constants: a map with another ``dt0`` or ``t1`` reuses the compiled loops. Measured
    (Euler on Himmelblau, 256^2 and 512^2, float32 and float64, early stop and fixed
    budget, interleaved best of 11-15): as fast as a constant step (time ratio
    0.87-1.01), with the same end points and steps bit for bit for Euler, semi-implicit
    Euler and Langevin; a constant step let XLA fold Euler-Richardson's half step into
    its update (last-bit differences).

    Noise (SDE flows): lane key ``fold_in(fold_in(key, start), replica)`` (:func:`_keys`),
    and step ``s`` draws ``schemes.noise.StepBrownianPath`` increments: one Threefry hash
    of the counter ``(s, j)`` under the lane key per two float32 normals -- a function of
    (key, start, replica, step) only, so a map is the same bit for bit for any tiling or
    tile order. These increments differ from ``fo.solve``'s (diffrax's
    ``UnsafeBrownianPath``: two fold_ins, a split and a hash per number, five hashes per
    step of a 2-d lane, each a rolled loop on XLA:CPU); both are independent
    N(0, dt) per lane and step (tests/test_stochastic_speed.py)."""

    flow: AbstractFlow
    scheme: diffrax.AbstractSolver
    clock: object
    center: jax.Array
    tol: float
    chunk: int = eqx.field(static=True)
    noisy: bool = eqx.field(static=True)
    unravel: object = None  # state grids: a point is a flattened initial state
    limit: object = None  # the stop bound tol dt, rounded once (default: tol * clock.dt)

    def _terms(self, key, y):
        flow, bm = self.flow, None
        if isinstance(flow, AbstractRandomFlow):
            flow = eqx.tree_at(lambda f: f.key, flow, key, is_leaf=lambda v: v is None)
        if isinstance(flow, AbstractStochasticFlow):
            shape = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), y)
            bm = StepBrownianPath(shape, key, _levy_area(self.scheme))
        return _terms(flow, self.scheme, self.clock, bm, key)

    def init(self, x0, key):
        terms, seen = self._terms(key, self.flow.init(x0) if self.unravel is None
                                  else self.unravel(x0))
        y0 = _first_state(seen, self.unravel, x0)
        return y0, self.scheme.init(terms, 0.0, 1.0, y0, None)

    def step(self, y, state, key, s):
        terms, _ = self._terms(key, y)
        y1, _, _, state1, _ = self.scheme.step(terms, s, s + 1, y, None, state, False)
        return y1, state1

    @eqx.filter_jit
    def run_fixed(self, lanes, s, s_end):
        """Steps ``s, ..., s_end - 1`` of every lane, no checks (judged by the caller);
        the bounds are arrays, so one compile serves every piece of the run."""
        ys, states, keys, fars = lanes
        step = jax.vmap(self.step, in_axes=(0, 0, 0, None))
        ys, states = jax.lax.fori_loop(s, s_end, lambda k, c: step(c[0], c[1], keys, k),
                                       (ys, states))
        return ys, states, keys, fars

    lane_axis = 0

    def start(self, points, keys, fars):
        ys, states = _init_lanes(self, points, keys)
        return ys, states, keys, fars

    def outcome(self, lanes):
        # positions as the scheme's view of the flow reads them (a first-order flow under
        # a partitioned scheme carries an empty second part)
        return _outcomes(_terms(self.flow, self.scheme, self.clock)[1], lanes[0])

    def times(self, lanes, done):
        return np.asarray(done) * float(self.clock.dt)

    def at_end(self, lanes, s):
        n = _n_lanes(lanes[0])
        return np.full(n, s), np.full(n, s * float(self.clock.dt))

    @eqx.filter_jit
    def advance(self, lanes, active, done, code, s, s_end, compact_below):
        """Chunks of fixed steps. A lane stops at the first step whose update moves its
        state by at most ``tol dt`` (max norm: the discrete map is stationary to
        ``tol``) or is not finite; it keeps that state (the update is masked off: for a
        single-array state a multiply, which XLA:CPU fuses into the step where a select
        cost ~20% more; a select for states of several arrays).
        At the end of each chunk the stopped lanes are judged: diverged (a non-finite
        update), converged (the flow is stationary there within 10 tol: the discrete
        and the flow's criterion differ by O(1) factors, e.g. the friction), else a
        fixed point of the scheme that is not one of the flow (-5). The far box is
        checked once, at t1, so nothing depends on where chunks end."""
        ys, states, keys, fars = lanes
        step = jax.vmap(self.step, in_axes=(0, 0, 0, None))
        limit = self.tol * self.clock.dt if self.limit is None else self.limit
        done = jnp.where(active, -1, done)

        def one(k, c):
            ys, states, done = c
            y1, st1 = step(ys, states, keys, k)
            inc = jax.tree_util.tree_map(jnp.subtract, y1, ys)
            d = jax.vmap(_max_abs)(inc)
            blown = ~(d < jnp.inf)  # a non-finite update (NaN or inf): diverged here
            stop = (done < 0) & (~(d > limit) | blown)
            done = jnp.where(stop, jnp.where(blown, k + _BLOWN, k), done)
            move = (done < 0)
            if len(jax.tree_util.tree_leaves(ys)) == 1:  # measured: multiply for one leaf,
                ys = jax.tree_util.tree_map(  # select for several (heavy ball: 2.4 vs 3.5 ns)
                    lambda a, i: a + i * move.reshape(move.shape + (1,) * (a.ndim - 1)).astype(
                        a.dtype), ys, inc)
            else:
                ys = _freeze(move, y1, ys)
            return ys, _freeze(move, st1, states), done

        def judge(ys, active, done, code, s):
            # the far box is checked at t1 only (in _drive): a lane's fate never depends
            # on where the chunks end
            conv, _ = self._settled(ys, keys, fars, s)
            blown = done >= _BLOWN
            stopped = active & (done >= 0)
            code = jnp.where(stopped, jnp.where(blown | ~_lanes_finite(ys), DIVERGED,
                                                jnp.where(conv, CONVERGED, SPURIOUS)), code)
            done = jnp.where(blown, done - _BLOWN, done)
            return active & ~stopped, done, code

        def chunk(carry):
            ys, states, active, done, code, s = carry
            s1 = jnp.minimum(s + self.chunk, s_end)
            ys, states, done = jax.lax.fori_loop(s, s1, one, (ys, states, done))
            active, done, code = judge(ys, active, done, code, s1)
            return ys, states, active, jnp.where(active, -1, done), code, s1

        def more(carry):
            n_active = jnp.sum(carry[2])
            return (carry[5] < s_end) & (n_active > 0) & (n_active >= compact_below)

        done = jnp.where(active, -1, done)
        ys, states, active, done, code, s = jax.lax.while_loop(
            more, chunk, (ys, states, active, done, code, s))
        return (ys, states, keys, fars), active, jnp.maximum(done, 0), code, s

    def _settled(self, ys, keys, fars, s):
        """Per lane (converged within 10 tol, diverged) at step ``s``."""
        return jax.vmap(lambda y, key, far: _check(
            self._terms(key, y)[1], self.clock.time(s), y, 10 * self.tol, self.center,
            far))(ys, keys, fars)

    @eqx.filter_jit
    def settled(self, lanes, s):
        """(converged within 10 tol, diverged) of every lane where it is now."""
        ys, _, keys, fars = lanes
        return self._settled(ys, keys, fars, s)

    @eqx.filter_jit
    def periods(self, lanes, s, max_period):
        """Per lane, the smallest p <= ``max_period`` with ``|Phi^p(y) - y| <= tol p dt``
        (max norm over the state; ``Phi`` one step of the scheme): p = 1 is a fixed
        point of the scheme, p >= 2 a cycle of the discrete map; 0 if none."""
        ys, states, keys, _ = lanes
        step = jax.vmap(self.step, in_axes=(0, 0, 0, None))
        dist = jax.vmap(lambda a, b: _max_abs(jax.tree_util.tree_map(jnp.subtract, a, b)))
        dt = self.clock.dt

        def body(p, c):
            y, st, found = c
            y, st = step(y, st, keys, s + p)
            hit = (found == 0) & (dist(y, ys) <= self.tol * (p + 1) * dt)
            return y, st, jnp.where(hit, p + 1, found)

        return jax.lax.fori_loop(0, max_period, body,
                                 (ys, states, jnp.zeros(_n_lanes(ys), jnp.int32)))[2]


class _Pacer:
    """Runs a map's compiled pieces one at a time (blocking on each, so Ctrl-C stops a
    map within a piece and nothing queued keeps running after it), and sizes the next
    piece (in steps, chunks or lanes) to take about ``_PIECE_SECONDS``, from the last one
    measured (which may include its compilation: then the next is smaller)."""

    def __init__(self, first):
        self.size = first

    def run(self, fn, units):
        """``fn()`` run to completion; ``units`` is the work it did, or a function of its
        output that says so."""
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        elapsed = time.perf_counter() - start
        done = units(out) if callable(units) else units
        if done > 0:
            rate = done / max(elapsed, 1e-6)
            self.size = max(1, min(8 * self.size, int(rate * _PIECE_SECONDS)))
        return out


def _n_lanes(ys):
    """The number of lanes of a batch of states."""
    return jax.tree_util.tree_leaves(ys)[0].shape[0]


@eqx.filter_jit
def _init_lanes(stepper, points, keys):
    return jax.vmap(stepper.init)(points, keys)


def _judge_at_end(runner, lanes, left, status, s, max_period):
    """Lanes still moving at the end (t1): diverged (non-finite, or beyond the far box),
    converged (the flow stationary within 10 tol), a fixed point of the scheme (-5) or
    a cycle of the discrete map (-4, with its period), else -2. Returns status and
    periods."""
    period = np.zeros(len(left), int)
    if hasattr(runner, "settled") and left.any():
        conv, div = (np.asarray(a) for a in runner.settled(lanes, jnp.asarray(s)))
        status = np.where(left & div, DIVERGED, status)
        if not runner.noisy:
            status = np.where(left & ~div & conv, CONVERGED, status)
        left = left & (status == NOT_CONVERGED)
    if not max_period or not hasattr(runner, "periods") or runner.noisy or not left.any():
        return status, period
    p = np.asarray(runner.periods(lanes, jnp.asarray(s), max_period))
    period[left] = p[left]
    status = np.where(left & (period == 1), SPURIOUS,
                      np.where(left & (period >= 2), CYCLE, status))
    return status, period


def _run_fixed(stepper, points, keys, fars, n_steps, max_period, pacer):
    """Fixed budget, no early stop: every start takes all steps and is judged at t1;
    returns end points, steps, times, status and periods per start."""
    ys, states = _init_lanes(stepper, jnp.asarray(points), keys)
    lanes, s = (ys, states, keys, fars), 0
    while s < n_steps:  # pieces of about _PIECE_SECONDS, at most one in flight
        s_end = min(n_steps, s + pacer.size)
        lanes = pacer.run(lambda: stepper.run_fixed(lanes, jnp.asarray(s), jnp.asarray(s_end)),
                          s_end - s)
        s = s_end
    status, period = _judge_at_end(stepper, lanes, np.ones(len(points), bool),
                                       np.full(len(points), NOT_CONVERGED), n_steps, max_period)
    steps = np.full(len(points), n_steps)
    return (np.asarray(stepper.outcome(lanes)), steps, stepper.times(lanes, steps), status,
            period)


def _drive(runner, points, keys, fars, n_steps, max_period=0, pacer=None):
    """Run a tile until every start has converged, diverged or stopped, or the budget is
    spent. Decided lanes are frozen; once only a quarter of the lanes still run, they
    are compacted into a smaller batch (sizes 1024 * 4^k: few compilations), so the work
    follows the starts that are left. ``runner`` gives ``start``, ``advance``,
    ``outcome``, ``times`` and its ``lane_axis``. Returns end points, steps (accepted
    steps), times, status and periods per start."""
    n = len(points)
    pacer = _Pacer(4) if pacer is None else pacer
    state = runner.start(jnp.asarray(points), keys, jnp.asarray(fars))
    final = np.zeros((n, runner.center.shape[0]))
    steps = np.full(n, n_steps)
    times = np.zeros(n)
    status = np.full(n, NOT_CONVERGED)
    period = np.zeros(n, int)
    lanes = np.arange(n)  # original index of each lane; -1 for padding
    active = jnp.ones(n, bool)
    done = jnp.zeros(n, jnp.int32)
    code = jnp.zeros(n, jnp.int32)
    s = 0
    while True:
        # a piece of whole chunks (chunk ends stay multiples of the chunk from 0)
        compact_below = len(lanes) // _COMPACT if len(lanes) > _MIN_LANES else 0
        s_end = min(n_steps, s + pacer.size * runner.chunk)
        s_start = s
        state, active, done, code, s_dev = pacer.run(lambda: runner.advance(
            state, active, done, code, jnp.asarray(s), jnp.asarray(s_end),
            jnp.asarray(compact_below)), lambda out: -(-(int(out[-1]) - s_start)
                                                       // runner.chunk))
        s = int(s_dev)
        act = np.asarray(active)
        n_act = int(act.sum())
        if s < n_steps and n_act and n_act >= compact_below:
            continue  # the piece ended, not the need to compact: run on
        pos = np.asarray(runner.outcome(state))
        ds, cs, ts = np.asarray(done), np.asarray(code), runner.times(state, done)
        real = lanes >= 0
        fin = real & ~act
        final[lanes[fin]] = pos[fin]
        steps[lanes[fin]] = ds[fin]
        times[lanes[fin]] = ts[fin]
        status[lanes[fin]] = np.where(cs[fin] == 0, NOT_CONVERGED, cs[fin])
        left = real & act
        if s >= n_steps or not left.any():
            final[lanes[left]] = pos[left]
            end_steps, end_times = runner.at_end(state, s)
            steps[lanes[left]] = end_steps[left]
            times[lanes[left]] = end_times[left]
            st, per = _judge_at_end(runner, state, left, np.full(len(left), NOT_CONVERGED),
                                        s, max_period)
            status[lanes[left]] = st[left]
            period[lanes[left]] = per[left]
            return final, steps, times, status, period
        keep = np.nonzero(left)[0]
        size = _MIN_LANES
        while size < len(keep):
            size *= _COMPACT
        idx = jnp.asarray(np.concatenate([keep, np.full(size - len(keep), keep[0])]))
        state = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=runner.lane_axis),
                                       state)
        lanes = np.concatenate([lanes[keep], np.full(size - len(keep), -1)])
        active = jnp.asarray(lanes >= 0)
        done = jnp.zeros(size, jnp.int32)
        code = jnp.zeros(size, jnp.int32)


class _Controlled(eqx.Module):
    """Adaptive lanes in lockstep, under the energy controller or any diffrax error
    controller (``PIDController``: its PID coefficients, clipping, dtmin/dtmax): every
    trial advances all lanes by one step of their own size, and the controller's own
    methods, vmapped, accept or reject per lane -- ``adapt_step_size`` for an error
    controller (with the scheme's error estimate), the two halves ``verdict`` and
    ``apply_verdict`` of the energy controller's. Each lane carries its own time, step,
    controller state and solver state (an FSAL scheme's last stage, primed at the start
    by a step of length zero, so that no trial ever asks diffrax to re-evaluate a first
    stage, which it would do for every lane under ``vmap``: lanes never couple). Each
    trial first checks every lane at its current state (in the verdict's conditional,
    where the gradient there is computed anyway) and freezes the decided ones: a lane's
    accepted steps, time and end point are those at which its criterion first held --
    what ``fo.solve(..., gtol=tol)`` does (its event is checked at the start and after
    every accepted step).

    Shaped for XLA:CPU, which fuses cheap producers into every consumer and handles a
    per-lane mask broadcast along a short minor axis slowly: the trial step and the
    verdict are each computed once and materialized (a conditional is a fusion
    boundary), and the verdict comes with the keep-masks already broadcast to each state
    leaf's shape. The rest is the per-lane bookkeeping, one array pass per carried
    quantity (benchmarks/basins_throughput.py)."""

    flow: AbstractFlow
    seen: AbstractFlow
    terms: object
    scheme: diffrax.AbstractSolver
    controller: object
    center: jax.Array
    tol: float
    t1: float
    dt0: jax.Array
    chunk: int = eqx.field(static=True)
    unravel: object = None
    minor: bool = eqx.field(static=True, default=True)  # lanes along each leaf's last axis
    within: tuple = eqx.field(static=True, default=None)  # error control: (rtol, atol)
    block: int = eqx.field(static=True, default=_BLOCK)
    noisy = False

    def _lanes(self, mask, a):
        """A per-lane mask shaped to broadcast against ``a`` (lanes along its lane axis)."""
        return mask if self.minor else mask.reshape(mask.shape + (1,) * (a.ndim - 1))

    @property
    def energy(self):
        return isinstance(self.controller, schemes.EnergyController)

    def _t1_floor(self):
        """diffrax's threshold (t1 less 100 ulps) above which a next time becomes t1."""
        floor = np.asarray(self.t1, jnp.result_type(float))
        for _ in range(100):
            floor = np.nextafter(floor, -np.inf)
        return float(floor)

    def init(self, x0, dt0, far):
        y0 = _first_state(self.seen, self.unravel, x0)
        t0 = jnp.zeros((), jnp.result_type(float))
        order = None if self.energy else self.scheme.error_order(self.terms)
        t_next, cstate = self.controller.init(self.terms, t0, self.t1, y0, dt0, None,
                                              self.scheme.func, order)
        t_next = jnp.minimum(t_next, self.t1)
        sstate = self.scheme.init(self.terms, t0, t_next, y0, None)
        if _fsal(self.scheme):  # the first stage evaluated now, in this lane alone
            sstate = self.scheme.step(self.terms, t0, t0, y0, None, sstate, True)[3]
        zero = jnp.zeros((), jnp.int32)
        return (y0, t0, t_next, cstate, sstate, far, zero, zero, zero)

    def candidate(self, y, t, t_next, sstate):
        """One lane's trial step: the new state, its error estimate and solver state."""
        y1, err, _, sstate1, _ = self.scheme.step(self.terms, t, t_next, y, None, sstate,
                                                  False)
        return y1, err, sstate1

    def verdict(self, y, y1, err, t, t_next, cstate, far, move):
        """One lane's check at ``y`` (converged, diverged), the controller's verdict on its
        trial step, and whether the lane takes it (it moves, is undecided and the step is
        accepted) as a mask per state leaf. ``out``: what :meth:`settle` needs."""
        conv, div = _check(self.seen, t, y, self.tol, self.center, far, self.within)
        go = move & ~conv & ~div
        if self.energy:
            accept, out = self.controller.verdict(t, t_next, y, y1, None, cstate)
        else:  # as diffrax's loop: a NaN error estimate is an infinite one
            err = jax.tree_util.tree_map(lambda e: jnp.where(jnp.isnan(e), jnp.inf, e), err)
            accept, t_new, t_next_new, _, cstate, result = self.controller.adapt_step_size(
                t, t_next, y, y1, None, err, self.scheme.error_order(self.terms), cstate)
            out = (t_new, t_next_new, cstate, result)
        take = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(accept & go, a.shape), y1)
        return accept & go, out, take, conv, div

    def settle(self, accept, out, t, t_next, cstate):
        """One lane's step size, time and controller state after the verdict."""
        if self.energy:
            _, t_new, t_next_new, _, cstate, result = self.controller.apply_verdict(
                accept, out, t, t_next, cstate)
            t_next_new = jnp.minimum(t_next_new, self.t1)
        else:  # the error controller has decided; diffrax's loop clips to t1
            t_new, t_next_new, cstate, result = out
            t_new = jnp.minimum(t_new, self.t1)
            clip = t_next_new > self._t1_floor()
            t_next_new = jnp.where(clip, jnp.where(accept, self.t1, t_new + 0.5 * (
                self.t1 - t_new)), t_next_new)
        failed = result != diffrax.RESULTS.successful
        return t_new, t_next_new, cstate, failed

    @property
    def lane_axis(self):
        return -1 if self.minor else 0

    def _blocks(self, fn, tree):
        """``fn`` over blocks of at most _BLOCK consecutive lanes, one after the other: a
        block's lanes stay in cache through a chunk of trials (the lockstep loop over all
        lanes at once streamed them through memory each trial, ~3x slower), and a block
        whose lanes are all decided skips its trials. Lanes along the last axis only."""
        n = _n_lanes(tree) if not self.minor else jax.tree_util.tree_leaves(tree)[0].shape[-1]
        if not self.minor or n <= self.block or n % self.block:
            return fn(tree)
        nb = n // self.block
        split = lambda a: jnp.moveaxis(a.reshape(a.shape[:-1] + (nb, self.block)), -2, 0)
        join = lambda a: jnp.moveaxis(a, 0, -2).reshape(a.shape[1:-1] + (n,))
        out = jax.lax.map(fn, jax.tree_util.tree_map(split, tree))
        return jax.tree_util.tree_map(join, out)

    def _vmap(self, fn, in_axes=None):
        """``fn`` over the lanes, along their axis in every leaf (:attr:`lane_axis`)."""
        a = self.lane_axis
        return jax.vmap(fn, in_axes=a if in_axes is None else in_axes, out_axes=a)

    @eqx.filter_jit
    def start(self, points, keys, fars):
        del keys
        a = self.lane_axis
        return self._vmap(self.init, in_axes=(0, None, a))(points, self.dt0, fars)

    @eqx.filter_jit
    def outcome(self, lanes):
        return jax.vmap(lambda z: _outcome(self.seen, z), in_axes=self.lane_axis)(lanes[0])

    def times(self, lanes, done):
        return np.asarray(lanes[1])

    def at_end(self, lanes, s):
        return np.asarray(lanes[6]), np.asarray(lanes[1])

    @eqx.filter_jit
    def advance(self, lanes, active, done, code, k, k_end, compact_below):
        tmap = jax.tree_util.tree_map
        # a lane at t1: still moving for the energy controller; for an error controller
        # stopped by its control, like one at dtmin (judged by its Newton step)
        at_t1 = NOT_CONVERGED if self.energy else AT_PRECISION

        def trials(block):
            """A chunk of trials of one block of lanes (see :meth:`_blocks`)."""
            (y, t, t_next, cstate, sstate, accepted, rejected, why), far, active = block

            # per trial only ``why`` changes for a lane that is decided (converged or
            # diverged: it stops moving, so ``accepted`` and ``t`` stay as they were then)
            # or stopped by its control (floor, t1); done/code follow once per chunk
            def body(_, c):
                y, t, t_next, cstate, sstate, accepted, rejected, why = c
                move = active & (why == 0)
                anyone = jnp.any(move)
                trial = self._vmap(self.candidate)
                shapes = jax.eval_shape(trial, y, t, t_next, sstate)
                y1, err, ss1 = jax.lax.cond(
                    anyone, trial, lambda y, *_: tmap(lambda a: jnp.zeros(a.shape, a.dtype),
                                                      shapes), y, t, t_next, sstate)
                judge = self._vmap(self.verdict)
                shapes = jax.eval_shape(judge, y, y1, err, t, t_next, cstate, far, move)
                accept, out, take, conv, div = jax.lax.cond(  # nobody moves: all zeros
                    anyone, judge, lambda *_: tmap(lambda a: jnp.zeros(a.shape, a.dtype),
                                                   shapes),
                    y, y1, err, t, t_next, cstate, far, move)
                newly = move & (conv | div)
                move = move & ~newly
                t2, tn2, cs2, failed = self._vmap(self.settle)(accept, out, t, t_next, cstate)
                pick = lambda a, b: jnp.where(move, a, b)
                t2 = pick(t2, t)
                why = jnp.where(newly, jnp.where(div, DIVERGED, CONVERGED), jnp.where(
                    move & failed, AT_PRECISION,
                    jnp.where(move & (t2 >= self.t1), at_t1, why)))
                return (tmap(jnp.where, take, y1, y), t2, pick(tn2, t_next),
                        tmap(pick, cs2, cstate),
                        tmap(lambda a, b: jnp.where(self._lanes(accept, a), a, b), ss1,
                             sstate),
                        accepted + accept.astype(accepted.dtype),
                        rejected + (move & ~accept).astype(rejected.dtype), why)

            return jax.lax.fori_loop(
                0, self.chunk, body, (y, t, t_next, cstate, sstate, accepted, rejected, why))

        def chunk(carry):
            (y, t, t_next, cstate, sstate, far, accepted, rejected, why), active, done, \
                code, k = carry
            y, t, t_next, cstate, sstate, accepted, rejected, why = self._blocks(
                trials, ((y, t, t_next, cstate, sstate, accepted, rejected, why), far, active))
            # lanes stopped by their control (floor or t1): one last check where they stopped
            conv, div = self._vmap(lambda z, s, f: _check(
                self.seen, s, z, self.tol, self.center, f, self.within))(y, t, far)
            by_control = active & ((why == AT_PRECISION) | (why == NOT_CONVERGED))
            why = jnp.where(by_control & (conv | div), jnp.where(div, DIVERGED, CONVERGED),
                            why)
            stopped = active & (why != 0)
            done = jnp.where(stopped, accepted, done)
            code = jnp.where(stopped, why, code)
            return ((y, t, t_next, cstate, sstate, far, accepted, rejected, why),
                    active & ~stopped, done, code, k + self.chunk)

        def more(carry):
            n_active = jnp.sum(carry[1])
            return (carry[4] < k_end) & (n_active > 0) & (n_active >= compact_below)

        return jax.lax.while_loop(more, chunk, (lanes, active, done, code, k))


def _fsal(scheme):
    """Whether ``scheme`` is an FSAL Runge-Kutta scheme (its solver state carries the
    last stage's vector field into the next step)."""
    from ..solve import lane_scheme
    return lane_scheme(scheme) is not scheme


def controlled_runner(flow, scheme, controller, center, tol, t1, dt0, chunk, unravel=None):
    """The lockstep runner (:class:`_Controlled`) of a controlled map: the scheme's
    explicit RK stages written out (``schemes.unrolled``), the energy controller bound to
    the flow's energy; under an error controller its resolution as a stopping rule
    (:func:`flowopt.solve.resolved`) and small points' gradients in forward mode
    (:class:`flowopt.flows.base.ForwardGradient`)."""
    scheme = schemes.unrolled(scheme)
    energy = isinstance(controller, schemes.EnergyController)
    if not energy:  # small points' gradients in forward mode (flows.base.ForwardGradient)
        flow = eqx.tree_at(lambda f: f.loss, flow, ForwardGradient(flow.loss))
    terms, seen = _terms(flow, scheme, None, None, None)
    if energy:
        controller = bind_energy(controller, seen)
    # an error-controlled trial (several stages, the controller's powers and divisions)
    # keeps more in flight than an energy trial: larger blocks amortize its per-operation
    # cost (256^2 Tsit5 map: 0.19 s at 4096, 0.18 s at 8192, 0.14 s at 32768 lanes);
    # energy control is fastest at 1024
    if not energy:  # trials per chunk: see _ERROR_CHUNK
        chunk = min(chunk, _ERROR_CHUNK)
    return _Controlled(flow, seen, terms, scheme, controller, jnp.asarray(center), float(tol),
                       float(t1), jnp.asarray(dt0), chunk, unravel, True,
                       None if energy else resolution(controller),
                       _BLOCK if energy else _ERROR_BLOCK)


def _controlled_tile(flow, scheme, points, fars, t1, dt0, controller, tol, max_steps, center,
                     chunk, unravel, pacer=None):
    """Energy or error control over a tile, all lanes in lockstep (see
    :class:`_Controlled`); returns end points, accepted steps, times, status and periods
    (all 0)."""
    runner = controlled_runner(flow, scheme, controller, center, tol, t1, dt0, chunk, unravel)
    block = runner.block
    # XLA:CPU computes a batch whose size is not a multiple of the vector width with other
    # instructions (last bits differ, and adaptive acceptance makes paths of them): every
    # batch is padded to a multiple of _LANE_BLOCK lanes (compacted ones are 1024 * 4^k)
    n = len(points)
    pad = -n % (_LANE_BLOCK if n <= block else block)
    points, fars = (np.concatenate([a, np.repeat(a[-1:], pad, 0)]) for a in (points, fars))
    out = _drive(runner, points, None, fars, max_steps, pacer=pacer)
    return tuple(a[:n] for a in out)


def _lockstep(controller, noisy):
    """Whether a controlled map runs its lanes in lockstep (:class:`_Controlled`): the
    energy controller and diffrax's error controllers on deterministic flows. Noise under
    an adaptive controller (a ``VirtualBrownianTree`` per start) and controllers with
    step or jump times (``ClipStepSizeController``: a jump re-evaluates a first stage)
    take one ``fo.solve`` per start (:func:`_solve_tile`)."""
    return not noisy and (isinstance(controller, schemes.EnergyController) or (
        isinstance(controller, diffrax.AbstractAdaptiveStepSizeController) and
        not isinstance(controller, diffrax.ClipStepSizeController)))


def _solve_tile(flow, scheme, points, keys, fars, t1, dt0, controller, tol, max_steps,
                center, lanes=None):
    """Error control (diffrax controllers): one ``fo.solve`` per start, vectorized. Each
    lane runs its own while loop, so this path is slower per step than fixed steps.
    ``steps`` are accepted steps, ``time`` the time at which the start converged.
    Lane ``j`` of the map (``lanes``: the tile's lane indices) runs in slot
    ``lanes[j] % width`` of programs of one width (``fo.solve_batch``'s), blocking on
    each, so Ctrl-C stops it within one program, and a start's result (its steps under
    adaptive control, its noise) does not depend on its tile, the tile's size or order."""
    from ..solve import in_lanes, lane_scheme, lane_width
    lanes = np.arange(len(points)) if lanes is None else np.asarray(lanes)
    fresh = lane_scheme(scheme)

    def one(x0, k):  # the outcome too is computed in the lane's own slot
        sol = solve(flow, fresh, x0, t1=t1, dt0=dt0, controller=controller, gtol=tol, key=k,
                    max_steps=max_steps)
        return (_outcome(flow, sol.y), _finite(sol.y), sol.converged,
                sol.stats["num_accepted_steps"], sol.t)

    pos, finite, converged, accepted, t_end = jax.tree_util.tree_map(np.asarray, in_lanes(
        one, (jnp.asarray(points), keys), lanes, lane_width(points[0], flow.needs_key)))
    bad = ~finite | (np.abs(pos - center).max(1) > fars)
    status = np.where(bad, DIVERGED, np.where(converged, CONVERGED, AT_PRECISION))
    return pos, accepted, np.asarray(t_end, float), status, np.zeros(len(pos), int)


def _precision(controller, final, dtype):
    """How close to a stationary point (max norm of the Newton step) a start stopped by
    its control can get: an error controller resolves positions to ~its tolerances
    (10 (atol + rtol |x|)); the energy controller stops where energy differences are
    rounding (sqrt(eps) max(1, |x|))."""
    size = np.maximum(1.0, np.abs(final).max(1))
    if isinstance(controller, schemes.EnergyController):
        return np.sqrt(np.finfo(dtype).eps) * size
    rtol = float(np.max(getattr(controller, "rtol", 0.0)))
    atol = float(np.max(getattr(controller, "atol", 0.0)))
    return 10 * (atol + rtol * size)


def _position_dim(flow, grid):
    """The dimension of the positions the grid's starts put the flow at; for grids of full
    states, checks that a point unravels into a state of this flow."""
    if grid.unravel is None:
        return grid.dim
    y0 = grid.unravel(jnp.asarray(grid.center))
    x = flow.position(y0)
    fits = isinstance(x, jax.Array) and x.ndim == 1
    if fits:
        want = jax.eval_shape(flow.init, jax.ShapeDtypeStruct(x.shape, x.dtype))
        fits = jax.tree_util.tree_structure(want) == jax.tree_util.tree_structure(y0) and \
            [a.shape for a in jax.tree_util.tree_leaves(want)] == \
            [a.shape for a in jax.tree_util.tree_leaves(y0)]
    if not fits:
        raise ValueError(f"basins(grid=...): the grid's states do not fit "
                         f"{type(flow).__name__}'s state; build it with Grid.phase(flow, ...) "
                         "for this flow.")
    return x.shape[-1]


_MAX_MAP_STEPS = 2**30 - 1  # int32 step counters, with _BLOWN added to flag a blow-up


def _check_step_count(t1, dt0, dtype):
    """Refuse fixed-step maps whose step count the time dtype cannot count exactly
    (float32: 2**24) or the int32 step counters cannot hold."""
    _, n = _step_clock(0.0, float(t1), float(dt0), dtype)
    limit = min(schemes.exact_integer_limit(dtype), _MAX_MAP_STEPS)
    if n > limit:
        why = (f"the mapper counts steps in int32 (at most {_MAX_MAP_STEPS:,})"
               if limit == _MAX_MAP_STEPS else
               f"a {jnp.dtype(dtype).name} clock counts steps exactly only up to {limit:,} "
               "(2**24); float64 (jax_enable_x64 on) counts to "
               f"{_MAX_MAP_STEPS:,}")
        raise ValueError(
            f"basins(t1={t1!r}, dt0={dt0!r}): t1 / dt0 = {n:,} fixed steps, and {why}. "
            "Take a larger dt0 or a smaller t1.")


def _available_memory():
    """Bytes of memory available now (MemAvailable; else free physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _memory_needed(flow, grid, n, replicas, agents, tile, dtype):
    """Bytes a map of ``n`` starts needs at its peak, before anything is allocated: the
    starts (float64, with their agents), the per-lane results (end points, steps, times,
    status, period: replicas included) and the classification's copies, the Dataset, and
    one tile's working set (the lanes' states, several copies in flight). Calibrated on
    Himmelblau maps (tests/test_map_size.py: within a factor 2 of the measured peak)."""
    d = grid.dim if grid.unravel is None else _position_dim(flow, grid)
    a = agents if flow.interacting and isinstance(agents, int) and agents >= 1 else 1
    lanes = n * replicas
    point = grid.dim
    if grid.unravel is None:
        shape = (a, d) if flow.interacting else (d,)
        state = sum(int(np.prod(v.shape)) for v in jax.tree_util.tree_leaves(
            jax.eval_shape(flow.init, jax.ShapeDtypeStruct(shape, dtype))))
    else:
        state = point
    b = jnp.dtype(dtype).itemsize
    per_start = 8 * (2 * d + 4) + (8 * 10 if replicas > 1 else 0)  # the Dataset's arrays
    per_lane = 8 * (d + 4)  # results, flat/replica indices (classification: in chunks)
    tile_lanes = min(tile, lanes)
    per_tile_lane = 8 * b * state + 8 * (d + 4)  # states in flight, host copies
    per_tile_lane += 8 * (2 * point * a + point + 1)  # a tile's starts, reach, far box
    return n * per_start + lanes * per_lane + tile_lanes * per_tile_lane


def _check_memory(flow, grid, replicas, agents, tile, dtype, max_memory):
    """Refuse, before allocating anything, a map that would need more than
    ``max_memory`` bytes (default: half the memory available now)."""
    if max_memory is None:
        available = _available_memory()
        if available is None:
            return
        limit, why = available / 2, "half the memory available now"
    else:
        limit, why = max_memory, "max_memory"
    n = len(grid)
    need = _memory_needed(flow, grid, n, replicas, agents, tile, dtype)
    if need > limit:
        raise ValueError(
            f"basins(grid=...): mapping {n:,} starts"
            f"{f' x {replicas} replicas' if replicas > 1 else ''} needs about "
            f"{need / 2**30:.1f} GiB of memory (the starts, the per-start results and the "
            f"Dataset are held in memory), more than the limit of {limit / 2**30:.1f} GiB "
            f"({why}). Map a coarser grid, fewer replicas, or several smaller maps (e.g. "
            "Grid.plane over parts of the window), each of which fits; or pass a larger "
            "max_memory (in bytes) if the machine has the memory.")


def _problem_box(flow, dim, far):
    """The far box's centre and half-width, and the problem's length scale: from the
    landscape's domain (10^6 domain widths around its centre) or, for a plain function,
    10^6 around the origin at scale 1 -- never from the grid window, so zooming in never
    turns a converging start into "diverged". Each start's box is widened to 10 times
    its own distance from the centre."""
    loss = flow.loss
    if isinstance(loss, Landscape):
        lo, hi = loss.domain[:, 0], loss.domain[:, 1]
        center, scale = (lo + hi) / 2, float(np.max(hi - lo))
    else:
        center, scale = np.zeros(dim), 1.0
    return center, scale, (1e6 * scale if far is None else far)


def _check_value(name, value, minimum=0.0, strict=True, allow_none=False):
    """A concrete real scalar > ``minimum`` (>= if not ``strict``), as a float."""
    return _arguments.number("basins", name, value, minimum=minimum, strict=strict,
                             allow_none=allow_none)


def plan(flow, scheme, grid, *, t1, dt0, controller=None, key=None, replicas=1,
         attractors=None, tol=None, radius=None, tile=262_144, chunk=64, early_stop=True,
         agents=None, spread=0.1, far=None, max_steps=None, max_period=16, max_memory=None):
    """The validated :class:`~flowopt.basins.spec.MapSpec` of a map (the arguments of
    :func:`basins`, checked before anything compiles or allocates, defaults resolved).
    Raises what :func:`basins` raises for bad input."""

    if not isinstance(flow, AbstractFlow):
        raise TypeError(f"basins(flow={flow!r}): pass a flow, e.g. fo.flows.GradientFlow(loss).")
    if not isinstance(scheme, diffrax.AbstractSolver):
        raise TypeError(f"basins(scheme={scheme!r}): pass a scheme such as schemes.Euler() or a "
                        "diffrax solver instance such as diffrax.Tsit5().")
    if not isinstance(grid, Grid):
        if isinstance(grid, (np.ndarray, jax.Array, list, tuple)):
            grid = Starts(grid)
        else:
            raise TypeError(f"basins(grid={grid!r}): pass fo.Grid(bounds, shape), "
                            "fo.Grid.plane(...), or an array of starts of shape (n, d).")
    if controller is not None and not isinstance(
            controller, (schemes.EnergyController, diffrax.AbstractStepSizeController)):
        raise TypeError(f"basins(controller={controller!r}): pass None (fixed steps), "
                        "schemes.EnergyController() or a diffrax step-size controller.")
    loss = flow.loss
    if grid.unravel is not None and (flow.interacting or not (
            controller is None or isinstance(controller, schemes.EnergyController))):
        raise ValueError("basins(grid=...): a grid of full states (Grid.phase / Grid.state) "
                         "runs with fixed steps or controller=schemes.EnergyController(), "
                         "and not for interacting flows; use fo.Grid for positions.")
    dim = _position_dim(flow, grid)
    if isinstance(loss, Landscape) and loss.dim != dim:
        raise ValueError(f"basins(grid=...): the grid's starts live in R^{dim} but the loss "
                         f"{type(loss).__name__} in R^{loss.dim}; use fo.Grid.plane(center, "
                         "u, v, ...) with vectors of that dimension.")
    dtype = jnp.result_type(float)
    if tol is None:
        tol = 1e-6 if dtype == jnp.float64 else 1e-3
    t1, dt0, tol = (_check_value(name, value) for name, value in
                    (("t1", t1), ("dt0", dt0), ("tol", tol)))
    radius = _check_value("radius", radius, allow_none=True)
    far = _check_value("far", far, allow_none=True)
    spread = _check_value("spread", spread, strict=False)
    replicas, tile, chunk = (_arguments.integer("basins", name, value) for name, value in
                             (("replicas", replicas), ("tile", tile), ("chunk", chunk)))
    max_period = _arguments.integer("basins", "max_period", max_period, minimum=0,
                                    fix="(0: no cycle detection)")
    if max_steps is not None:
        max_steps = _arguments.integer("basins", "max_steps", max_steps)
    noisy = isinstance(flow, (AbstractStochasticFlow, AbstractRandomFlow))
    _check_key(key, "basins")
    if flow.needs_key and key is None:
        raise ValueError(f"basins(key=None): {type(flow).__name__} is stochastic; pass "
                         "key=jax.random.key(0).")
    if replicas > 1 and not noisy:
        raise ValueError(f"basins(replicas={replicas}): a deterministic flow gives the same "
                         "answer every time; use replicas=1.")
    key = jax.random.key(0) if key is None else key
    if attractors is None and isinstance(loss, Landscape):
        attractors = loss.minima
    if attractors is not None:
        attractors = np.asarray(attractors, float)
        if attractors.ndim != 2 or attractors.shape[1] != dim or \
                not np.all(np.isfinite(attractors)):
            raise ValueError(f"basins(attractors=...): attractors must be a finite array of "
                             f"shape (k, {dim}), one row per attractor, not "
                             f"{attractors.shape}.")
    _arguments.controller("basins", controller, scheme)
    if isinstance(flow, AbstractStochasticFlow) and not isinstance(scheme, schemes.HMM):
        _arguments.sde_scheme("basins", flow, scheme)
    _arguments.loss_output("basins", flow.loss, np.zeros(dim, dtype))
    # a scheme that cannot integrate this flow is named now, not inside a tile
    try:
        if not isinstance(flow, AbstractStochasticFlow):
            _check_ode_scheme(flow, scheme)
        _terms(flow, scheme, None)
    except ValueError as e:
        message = str(e)
        raise ValueError("basins(" + message[len("solve("):] if message.startswith("solve(")
                         else message) from None
    if controller is None:
        _arguments.resolvable_tol("basins", loss, tol, dt0, attractors, dtype)
    center, scale, far = _problem_box(flow, dim, far)
    radius = default_radius(attractors if attractors is not None else np.zeros((0, dim)),
                            scale) if radius is None else radius

    if flow.interacting and not (isinstance(agents, int) and not isinstance(agents, bool)
                                 and agents >= 1):
        raise ValueError(f"basins(agents={agents!r}): {type(flow).__name__} moves agents; pass "
                         "agents=N >= 1 (the grid point is the centre of their cloud).")
    if max_memory is not None:
        max_memory = _arguments.number("basins", "max_memory", max_memory, minimum=0.0,
                                       fix="Pass a number of bytes, e.g. max_memory=8 * 2**30.")
    _check_memory(flow, grid, replicas, agents, tile, dtype, max_memory)
    if controller is None:  # fixed steps are counted in int32 and the time dtype
        _check_step_count(t1, dt0, dtype)
    elif max_steps is not None and max_steps > _MAX_MAP_STEPS:
        raise ValueError(f"basins(max_steps={max_steps!r}): the mapper counts steps in int32; "
                         f"pass max_steps <= {_MAX_MAP_STEPS:,} (2**30 - 1).")
    return MapSpec(flow=flow, scheme=scheme, grid=grid, t1=float(t1), dt0=float(dt0),
                   controller=controller, key=key, replicas=replicas, attractors=attractors,
                   tol=float(tol), radius=float(radius), far=float(far), scale=float(scale),
                   center=np.asarray(center, float), tile=tile, chunk=chunk,
                   early_stop=bool(early_stop), agents=agents, spread=float(spread),
                   max_steps=max_steps, max_period=max_period, dim=dim,
                   dtype=jnp.dtype(dtype).name)


def basins(flow, scheme, grid, *, t1, dt0, controller=None, key=None, replicas=1,
           attractors=None, tol=None, radius=None, tile=262_144, chunk=64, early_stop=True,
           agents=None, spread=0.1, far=None, max_steps=None, tile_order=None,
           max_period=16, progress=False, max_memory=None, executor=None, store=None,
           resume=False, overwrite=False):
    """Which attractor each start of ``grid`` reaches under ``flow`` and ``scheme``.

    ``grid`` is a :class:`Grid` (a plane of starts: maps over ``(y, x)``) or a set of
    starts (:func:`sample_uniform`, or any array of shape ``(n, d)``: maps over
    ``start``, e.g. seed 002's random restarts).

    Every start is integrated with fixed steps ``dt0`` up to ``t1``, or with
    ``controller``: an ``EnergyController`` or a diffrax error controller
    (``PIDController``) runs all lanes in lockstep, one trial step each per iteration,
    each lane with its own time, step and controller state (a lane's result is that of
    ``fo.solve`` of its start with ``gtol=tol``); stochastic flows under an adaptive
    controller and ``ClipStepSizeController`` run one adaptive solve per start.
    ``tol`` defaults to 1e-6 in float64, 1e-3 in float32. With fixed steps a start stops
    at the first step whose update moves its state by at most ``tol dt`` (max norm; the
    discrete map is stationary to ``tol``); it has converged if the flow is stationary
    there within ``10 tol`` (``max|grad f|``, ``max|x'|``), else it sits at a fixed point
    of the scheme (-5). Under energy control a start has converged at the first
    accepted step where ``max|grad f| <= tol`` and ``max|x'| <= tol``; under an error
    controller also at the first accepted step within the controller's resolution of a
    stationary point (Newton step ``<= 10 (atol + rtol max(1, |x|))``, as
    ``fo.solve(gtol=...)`` stops: :func:`flowopt.solve.resolved`). Either way it is
    frozen there: its ``steps``, ``time`` and end point are its own, whatever else
    shares its tile or chunk. A start that its control stopped
    (the energy controller's step floor; an error controller at ``t1``) counts as
    converged when its end point is within the control's precision of a stationary
    point (the Newton step: ``sqrt(eps) max(1, |x|)`` for the energy controller,
    ``10 (atol + rtol |x|)`` for error control). It has diverged once a step is
    non-finite, or when its position is farther than ``far`` (max norm) from the
    problem's centre (fixed steps: at t1; energy control: at any accepted step): default 10^6 domain widths from a landscape's domain centre, 10^6 from the
    origin for a plain function, and never less than 10 times the start's own distance
    -- it never depends on the grid window.

    Converged end points take the index of the nearest attractor within ``radius``
    (``attractors`` if given, else the landscape's known minima; default radius: half
    the closest distance between them, at most 5% of the problem's scale); other
    stationary points are classified by their Hessian with a higher-order test where it
    is singular (-3 if not a minimum); new minima are discovered and grouped by
    connected components (a ring of minima is one attractor of kind "set"). Fixed-step
    starts still moving at ``t1`` are tested for a cycle of the discrete map of period
    p <= ``max_period`` (-4, ``period`` p) or a fixed point of the scheme that is not
    stationary for the flow (-5). Stochastic flows run to ``t1`` with ``replicas`` runs
    per start, keyed ``fold_in(fold_in(key, flat_index), replica)``, so the map does not
    depend on ``tile`` or ``tile_order``; interacting flows start ``agents`` agents
    around each grid point (``spread``) and are judged by ``flow.outcome``.

    The map runs as tiles of ``tile`` lanes (:func:`plan` -> :func:`run_tile` per tile ->
    :func:`assemble`); a tile's result depends only on the map and its index, never on
    ``tile_order``, the executor or the resume history. ``executor``: ``None`` (this
    process), a ``dask.distributed.Client`` or any ``concurrent.futures``-style executor.
    ``store``: a path; each finished tile is committed there (Zarr, with its SHA-256), and
    the map at the end (:func:`flowopt.open_basins` reads it). An existing store needs
    ``resume=True`` (compute only the missing or damaged tiles; refused, naming the fields
    that differ, if the store holds another map) or ``overwrite=True``. ``progress``: a
    progress bar (tqdm). ``max_memory`` (bytes; default half the available memory): a map
    whose estimated footprint exceeds it is refused before anything is allocated.

    Returns an ``xarray.Dataset`` with dims ``(y, x)`` (or ``start``): ``label``
    (attractor index, or -1 diverged, -2 not converged, -3 stationary non-minimum, -4
    periodic cycle, -5 fixed point of the scheme), ``steps`` (accepted steps until the
    criterion held), ``time`` (the start's own time then), ``period``, ``final_loss``,
    ``final_x`` (.., dim); for replicas also ``probability`` (outcome, ..) in the
    order 0..k-1, -1, -2, -3, -4, -5 and ``entropy``. Coordinates ``attractor`` with
    ``attractor_x``, ``attractor_loss``, ``attractor_hessian``, ``attractor_kind``,
    ``attractor_members``; the configuration is in ``attrs``.

    Example:
        >>> import flowopt as fo, schemes
        >>> loss = fo.landscapes.Himmelblau()
        >>> bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(),
        ...                  fo.Grid(loss.domain, (32, 32)), t1=10.0, dt0=1e-2)
        >>> sorted(set(bmap["label"].values.ravel().tolist()))
        [0, 1, 2, 3]
    """
    spec = plan(flow, scheme, grid, t1=t1, dt0=dt0, controller=controller, key=key,
                replicas=replicas, attractors=attractors, tol=tol, radius=radius, tile=tile,
                chunk=chunk, early_stop=early_stop, agents=agents, spread=spread, far=far,
                max_steps=max_steps, max_period=max_period, max_memory=max_memory)
    order = _tile_order(spec, tile_order)
    durable = None if store is None else open_store(store, spec, resume=resume,
                                                    overwrite=overwrite)
    raw, computed = run_tiles(spec, order, run_tile, executor=executor, store=durable,
                              progress=progress)
    bmap = assemble(spec, raw)
    bmap.attrs["tiles_computed"] = computed  # by this call (a resumed map: the missing)
    if durable is not None:
        durable.write_map(bmap)
    return bmap


def _tile_order(spec, tile_order):
    """The order tiles are run in (it never changes a result): 0, 1, ... by default."""
    if tile_order is None:
        return list(range(spec.n_tiles))
    order = list(tile_order)
    if sorted(order) != list(range(spec.n_tiles)):
        raise ValueError(f"basins(tile_order={tile_order!r}): give each of the {spec.n_tiles} "
                         "tile indices once.")
    return order


_RUNNERS = {}  # spec digest -> runner: a worker compiles once per map, not per tile


def _runner(spec):
    """The compiled machinery of ``spec``'s tiles, built once per process and map."""
    runner = _RUNNERS.get(spec.digest)
    if runner is None:
        noisy = isinstance(spec.flow, (AbstractStochasticFlow, AbstractRandomFlow))
        dtype = jnp.dtype(spec.dtype)
        clock, n_steps = _step_clock(0.0, spec.t1, spec.dt0, dtype)
        early = spec.early_stop and not noisy
        # the step is an array, not a compile-time constant: one compiled step loop serves
        # every dt0 (and t1) of a sweep, at the same speed (measured: see _Stepper)
        clock = eqx.tree_at(lambda c: c.t0, clock, 0.0)
        host = lambda v: jnp.asarray(np.asarray(v, dtype), dtype)  # converts, compiles nothing
        stepper = _Stepper(spec.flow, spec.scheme, clock, host(spec.center), spec.tol,
                           spec.chunk, noisy, spec.grid.unravel, host(spec.tol * float(clock.dt)))
        runner = dict(stepper=stepper, n_steps=n_steps, early=early, noisy=noisy,
                      pacer=_Pacer(1 if spec.controller is not None else 4 if early else 64))
        _RUNNERS.clear()  # one map at a time per process
        _RUNNERS[spec.digest] = runner
    return runner


def _tile_starts(spec, flat):
    """The starts of the given flat start indices: grid points (with the agents' cloud
    around each for interacting flows), computed for these indices only."""
    points = spec.grid.points_at(flat)
    if not spec.flow.interacting:
        return points
    offsets = spec.spread * np.asarray(jax.random.normal(
        jax.random.fold_in(spec.key, 2**31 - 1), (spec.agents, spec.grid.dim)))
    return points[:, None, :] + offsets[None]


def _fars(spec, flow, points):
    """Each start's far box: ``far``, widened to 10 times its own distance from the
    centre."""
    own = points.mean(1) if points.ndim == 3 else points
    if spec.grid.unravel is not None:
        own = np.asarray(jax.vmap(lambda p: flow.position(spec.grid.unravel(p)))(
            jnp.asarray(own)))
    reach = np.abs(own - spec.center)
    dtype = jnp.dtype(spec.dtype)
    if 10 * reach.max() <= spec.far:
        return np.full(len(own), spec.far, dtype)
    return np.maximum(spec.far, 10 * reach.max(1)).astype(dtype)  # (short-axis max is slow)


def run_tile(spec, index):
    """Tile ``index`` of the map ``spec``: its lanes integrated to a decision. A pure
    function of (spec, index): the same arrays in any process, order or executor.
    Returns a dict of NumPy arrays over the tile's lanes: ``final`` (n, d), ``steps``,
    ``time``, ``status`` (internal codes) and ``period``."""
    with jax.enable_x64(spec.dtype == "float64"):  # a worker computes in the map's dtype
        return _run_tile(spec, index)


def _run_tile(spec, index):
    run = _runner(spec)
    a, b = spec.tile_lanes(index)
    lanes = np.arange(a, b)
    flat, reps = lanes // spec.replicas, lanes % spec.replicas
    noisy, controller = run["noisy"], spec.controller
    keys = _keys(spec.key, jnp.asarray(flat), jnp.asarray(reps), spec.replicas > 1) \
        if noisy or controller is not None else jnp.zeros(b - a, jnp.uint32)
    pts = _tile_starts(spec, flat)
    fars = _fars(spec, spec.flow, pts)
    max_period = 0 if noisy else spec.max_period
    budget = spec.max_steps or 16_384
    pacer = run["pacer"]
    if controller is None:
        stepper, n_steps = run["stepper"], run["n_steps"]
        out = _drive(stepper, pts, keys, fars, n_steps, max_period, pacer) if run["early"] \
            else _run_fixed(stepper, pts, keys, fars, n_steps, max_period, pacer)
    elif _lockstep(controller, noisy):
        out = _controlled_tile(spec.flow, spec.scheme, pts, fars, spec.t1, spec.dt0,
                               controller, spec.tol, budget, spec.center, spec.chunk,
                               spec.grid.unravel, pacer)
    else:
        out = _solve_tile(spec.flow, spec.scheme, pts, keys, fars, spec.t1, spec.dt0,
                          controller, spec.tol, budget, spec.center, lanes)
    final, steps, times, status, period = out
    return dict(final=np.asarray(final, float).reshape(b - a, spec.dim),
                steps=np.asarray(steps, np.int64), time=np.asarray(times, float),
                status=np.asarray(status, np.int32), period=np.asarray(period, np.int32))


def assemble(spec, raw):
    """The map's Dataset from all tiles' raw results (``raw``: the arrays of
    :func:`run_tile` over all lanes, in lane order): control-stopped starts judged by
    their Newton step, end points classified, attractors found and grouped."""
    final, steps, times = raw["final"], raw["steps"], raw["time"]
    status, period = raw["status"].astype(int), raw["period"].astype(int)
    loss, controller = spec.flow.loss, spec.controller
    noisy = isinstance(spec.flow, (AbstractStochasticFlow, AbstractRandomFlow))
    period[status == SPURIOUS] = 1  # a fixed point of the scheme: a cycle of period 1
    # stopped by the control: converged if within the control's precision of a
    # stationary point, else still moving
    stopped = np.nonzero(status == AT_PRECISION)[0]
    if len(stopped):
        near = newton_steps(loss, final[stopped]) <= _precision(controller, final[stopped],
                                                                 jnp.dtype(spec.dtype))
        status[stopped] = np.where(near, CONVERGED, NOT_CONVERGED)
    # noisy flows never become stationary: an end point within `radius` of a known
    # attractor takes its label, any other is "not converged" (no discovery under noise)
    labels, positions, losses, hess, kinds, members, spreads = classify(
        loss, final, status, spec.attractors, spec.radius, spec.tol, spec.scale,
        discover=not noisy)
    return _dataset(spec.grid, labels, final, steps, times, period, spec.replicas, positions,
                    losses, hess, kinds, members, spreads,
                    dict(t1=spec.t1, dt0=spec.dt0, tol=spec.tol, radius=spec.radius,
                         far=spec.far, scale=spec.scale, tile=spec.tile, chunk=spec.chunk,
                         early_stop=int(spec.early_stop), replicas=spec.replicas,
                         max_period=spec.max_period, controller=repr(controller),
                         agents=repr(spec.agents), spread=spec.spread,
                         flow=repr(spec.flow)[:500], scheme=repr(spec.scheme)[:200],
                         spec_digest=spec.digest), loss)


def _dataset(grid, labels, final, steps, times, period, replicas, positions, losses, hess,
             kinds, members, spreads, config, loss):
    shape, dims = (grid.shape, ("y", "x")) if not isinstance(grid, Starts) else \
        ((len(grid),), ("start",))
    n = int(np.prod(shape))
    d = final.shape[1]
    k = len(positions)
    lab = labels.reshape(n, replicas)
    fin = final.reshape(n, replicas, d)
    outcomes = outcome_order(k)
    if replicas > 1:
        prob = np.stack([(lab == o).mean(1) for o in outcomes])  # (outcome, n)
        mode = np.asarray(outcomes)[prob.argmax(0)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.nansum(np.where(prob > 0, prob * np.log(prob), 0.0), axis=0)
    else:
        mode = lab[:, 0]
    final_x = fin[:, 0]
    # NaN where the map says diverged, and where the replica shown (the first) did
    ok = mode != DIVERGED
    if replicas > 1:
        ok &= lab[:, 0] != DIVERGED
    final_loss = np.array(losses_at(loss, jnp.asarray(np.where(ok[:, None], final_x, 0.0))),
                          float)
    final_loss[~ok] = np.nan
    first = lambda a: a.reshape(n, replicas)[:, 0].reshape(shape)
    data = {
        "label": (dims, mode.reshape(shape).astype(np.int32)),
        "steps": (dims, first(steps)),
        "time": (dims, first(times)),
        "period": (dims, first(period).astype(np.int32)),
        "final_loss": (dims, final_loss.reshape(shape)),
        "final_x": (dims + ("dim",), final_x.reshape(shape + (d,))),
    }
    coords = {"attractor": np.arange(k), "dim": np.arange(d),
              "attractor_x": (("attractor", "dim"), positions.reshape(k, d)),
              "attractor_loss": (("attractor",), losses),
              "attractor_hessian": (("attractor", "dim"), hess.reshape(k, d)),
              "attractor_kind": (("attractor",), np.asarray(kinds, dtype=str).reshape(k)),
              "attractor_members": (("attractor",), np.asarray(members, int).reshape(k)),
              "attractor_spread": (("attractor",), np.asarray(spreads, float).reshape(k))}
    if isinstance(grid, Starts):
        coords["start"] = np.arange(n)
        coords["x0"] = (("start", "dim0"), np.asarray(grid.starts))
    else:
        coords["x"], coords["y"] = grid.x, grid.y
    if replicas > 1:
        coords["outcome"] = outcomes
        data["probability"] = (("outcome",) + dims, prob.reshape((len(outcomes),) + shape))
        data["entropy"] = (dims, ent.reshape(shape))
    attrs = dict(config, grid_kind="starts" if isinstance(grid, Starts) else "grid",
                 grid_bounds=str(grid.bounds), grid_shape=str(grid.shape),
                 grid_center=str(grid.center), grid_u=str(grid.u), grid_v=str(grid.v),
                 grid_names=str(grid.names), grid_state=int(grid.unravel is not None))
    return xr.Dataset(data, coords=coords, attrs=attrs)
