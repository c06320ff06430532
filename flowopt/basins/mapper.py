"""``fo.basins``: which attractor each start of a grid reaches, how fast, or whether it
diverged — fast (chunks of fixed steps; finished lanes masked, then compacted away) and
in bounded memory (tiles of at most ``tile`` starts)."""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

import schemes

from ..flows.base import AbstractFlow, AbstractRandomFlow, AbstractStochasticFlow
from ..landscapes.base import Landscape
from ..solve import _step_clock, _terms, as_seen, bind_energy, solve, stationary
from .classify import CODES, DIVERGED, NOT_CONVERGED, classify, default_radius, losses_at
from .grid import Grid

_MIN_LANES = 1024  # compaction stops at this many lanes


def _diverged(x, center, far):
    """Non-finite, or beyond ``far`` (max norm) from ``center``; over the last axis."""
    return ~jnp.all(jnp.isfinite(x), -1) | (jnp.max(jnp.abs(x - center), -1) > far)


def _outcome(flow, y):
    """Where a state ends, shape (d,): the position, or the agents' mean for ensembles."""
    x = flow.position(y)
    return jnp.mean(x, axis=0) if x.ndim == 2 else x


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


@eqx.filter_jit
def _init_lanes(stepper, points, keys):
    return jax.vmap(stepper.init)(points, keys)




class _Stepper(eqx.Module):
    """Advances a batch of lanes by chunks of fixed steps, checking convergence and
    divergence after each chunk, inside one jitted call."""

    flow: AbstractFlow
    scheme: diffrax.AbstractSolver
    clock: object
    center: jax.Array
    far: float
    tol: float
    chunk: int = eqx.field(static=True)
    noisy: bool = eqx.field(static=True)
    unravel: object = None  # state grids: a point is a flattened initial state

    def _terms(self, key, y):
        flow, bm = self.flow, None
        if isinstance(flow, AbstractRandomFlow):
            flow = eqx.tree_at(lambda f: f.key, flow, key, is_leaf=lambda v: v is None)
        if isinstance(flow, AbstractStochasticFlow):
            shape = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), y)
            bm = diffrax.UnsafeBrownianPath(shape=shape, key=key)
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

    def check(self, y, key, s):
        """(converged, diverged) of one lane; noisy flows never count as converged."""
        _, seen = self._terms(key, y)
        diverged = _diverged(_outcome(seen, y), self.center, self.far)
        if self.noisy:
            return jnp.asarray(False), diverged
        return ~diverged & stationary(seen, self.clock.time(s), y, None, self.tol), diverged

    @eqx.filter_jit
    def run_fixed(self, ys, states, keys):
        """All ``chunk`` steps at once (a static trip count), then one check."""
        step = jax.vmap(self.step, in_axes=(0, 0, 0, None))
        ys, states = jax.lax.fori_loop(0, self.chunk, lambda k, c: step(c[0], c[1], keys, k),
                                       (ys, states))
        conv, div = jax.vmap(self.check, in_axes=(0, 0, None))(ys, keys, self.chunk)
        return ys, states, conv, div

    lane_axis = 0

    def start(self, points, keys):
        ys, states = _init_lanes(self, points, keys)
        return ys, states, keys

    def outcome(self, lanes):
        # positions as the scheme's view of the flow reads them (a first-order flow under
        # a partitioned scheme carries an empty second part)
        return _outcomes(_terms(self.flow, self.scheme, self.clock)[1], lanes[0])

    @eqx.filter_jit
    def advance(self, lanes, active, done, code, s, s_end, compact_below):
        ys, states, keys = lanes

        def chunk(carry):
            ys, states, active, done, code, s = carry
            count = jnp.minimum(self.chunk, s_end - s)
            step = jax.vmap(self.step, in_axes=(0, 0, 0, None))
            ys, states = jax.lax.fori_loop(
                0, count, lambda k, c: step(c[0], c[1], keys, s + k), (ys, states))
            s = s + count
            conv, div = jax.vmap(self.check, in_axes=(0, 0, None))(ys, keys, s)
            newly = active & (div | conv)
            done = jnp.where(newly, s, done)
            code = jnp.where(newly, jnp.where(div, DIVERGED, 1), code)
            return ys, states, active & ~newly, done, code, s

        def more(carry):
            n_active = jnp.sum(carry[2])
            return (carry[5] < s_end) & (n_active > 0) & (n_active >= compact_below)

        ys, states, active, done, code, s = jax.lax.while_loop(
            more, chunk, (ys, states, active, done, code, s))
        return (ys, states, keys), active, done, code, s


def _run_fixed(stepper, points, keys, n_steps):
    """Fixed budget, no early stop: every start takes all steps; returns end points,
    steps and status (1, -1, -2) per start."""
    ys, states = _init_lanes(stepper, jnp.asarray(points), keys)
    ys, states, conv, div = stepper.run_fixed(ys, states, keys)
    div, conv = np.asarray(div), np.asarray(conv)
    status = np.where(div, DIVERGED, np.where(conv, 1, NOT_CONVERGED))
    return np.asarray(stepper.outcome((ys,))), np.full(len(points), n_steps), status


def _drive(runner, points, keys, n_steps):
    """Run a tile in chunks until every start has converged, diverged or stopped, or the
    budget is spent. Finished lanes are masked; once only a quarter of the lanes still
    run, they are compacted into a smaller batch (sizes 1024 * 4^k: few compilations),
    so the work follows the starts that are left. ``runner`` gives ``start``,
    ``advance``, ``outcome`` and its ``lane_axis``. Returns end points, steps (or
    trials) and status (1, -1, -2) per start."""
    n = len(points)
    state = runner.start(jnp.asarray(points), keys)
    final = np.zeros((n, runner.center.shape[0]))
    steps = np.full(n, n_steps)
    status = np.full(n, NOT_CONVERGED)
    lanes = np.arange(n)  # original index of each lane; -1 for padding
    active = jnp.ones(n, bool)
    done = jnp.zeros(n, jnp.int32)
    code = jnp.zeros(n, jnp.int32)
    s = 0
    while True:
        state, active, done, code, s_dev = runner.advance(
            state, active, done, code, jnp.asarray(s), jnp.asarray(n_steps),
            jnp.asarray(len(lanes) // 4 if len(lanes) > _MIN_LANES else 0))
        s = int(s_dev)
        pos, act = np.asarray(runner.outcome(state)), np.asarray(active)
        ds, cs = np.asarray(done), np.asarray(code)
        real = lanes >= 0
        fin = real & ~act
        final[lanes[fin]] = pos[fin]
        steps[lanes[fin]] = ds[fin]
        status[lanes[fin]] = np.where(cs[fin] == 0, NOT_CONVERGED, cs[fin])
        left = real & act
        if s >= n_steps or not left.any():
            final[lanes[left]] = pos[left]
            return final, steps, status
        keep = np.nonzero(left)[0]
        size = _MIN_LANES
        while size < len(keep):
            size *= 4
        idx = jnp.asarray(np.concatenate([keep, np.full(size - len(keep), keep[0])]))
        state = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=runner.lane_axis),
                                       state)
        lanes = np.concatenate([lanes[keep], np.full(size - len(keep), -1)])
        active = jnp.asarray(lanes >= 0)
        done = jnp.zeros(size, jnp.int32)
        code = jnp.zeros(size, jnp.int32)


class _Controlled(eqx.Module):
    """Energy-controlled lanes in lockstep: every trial advances all lanes by one step of
    their own size; the controller's own ``verdict`` and ``apply_verdict`` (the two
    halves of its ``adapt_step_size``, vmapped) accept or reject per lane. Chunks of
    trials, convergence checks and masking as for fixed steps.

    Shaped for XLA:CPU, which fuses cheap producers into every consumer and handles a
    per-lane mask broadcast along a short minor axis slowly: the trial step and the
    verdict are each computed once and materialized (a conditional is a fusion
    boundary), and the verdict comes with the keep-masks already broadcast to each state
    leaf's shape. That brought a trial from 14 to 7-10 fixed steps (65,536 lanes, GD and
    heavy ball on Himmelblau; benchmarks/basins_throughput.py); the rest is the per-lane
    bookkeeping, one array pass per carried quantity."""

    flow: AbstractFlow
    seen: AbstractFlow
    terms: object
    scheme: diffrax.AbstractSolver
    controller: object
    center: jax.Array
    far: float
    tol: float
    t1: float
    dt0: jax.Array
    chunk: int = eqx.field(static=True)
    unravel: object = None

    def init(self, x0, dt0):
        y0 = _first_state(self.seen, self.unravel, x0)
        t0 = jnp.zeros((), jnp.result_type(float))
        t_next, cstate = self.controller.init(self.terms, t0, self.t1, y0, dt0, None, None, None)
        return y0, t0, jnp.minimum(t_next, self.t1), cstate

    def candidate(self, y, t, t_next):
        """One lane's trial step."""
        return self.scheme.step(self.terms, t, t_next, y, None,
                                self.scheme.init(self.terms, t, t_next, y, None), False)[0]

    def verdict(self, y, y1, t, t_next, cstate, move):
        """The controller's verdict on one lane's trial step, and whether the lane takes
        it (it moves and the step is accepted) as a mask per state leaf."""
        accept, e1 = self.controller.verdict(t, t_next, y, y1, None, cstate)
        take = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(accept & move, a.shape), y1)
        return accept, e1, take

    def settle(self, accept, e1, t, t_next, cstate):
        """One lane's step size, time and controller state after the verdict."""
        _, t_new, t_next_new, _, cstate, result = self.controller.apply_verdict(
            accept, e1, t, t_next, cstate)
        failed = result != diffrax.RESULTS.successful
        return t_new, jnp.minimum(t_next_new, self.t1), cstate, failed

    def check(self, y, t):
        diverged = _diverged(_outcome(self.seen, y), self.center, self.far)
        return ~diverged & stationary(self.seen, t, y, None, self.tol), diverged

    lane_axis = 0

    @eqx.filter_jit
    def start(self, points, keys):
        del keys
        return jax.vmap(self.init, in_axes=(0, None))(points, self.dt0)

    @eqx.filter_jit
    def outcome(self, lanes):
        return jax.vmap(lambda z: _outcome(self.seen, z))(lanes[0])

    @eqx.filter_jit
    def advance(self, lanes, active, done, code, k, k_end, compact_below):
        tmap = jax.tree_util.tree_map

        def chunk(carry):
            (y, t, t_next, cstate), active, done, code, k = carry

            def body(_, c):
                y, t, t_next, cstate, stuck = c
                move = active & ~stuck
                anyone = jnp.any(move)
                y1 = jax.lax.cond(anyone, jax.vmap(self.candidate), lambda y, *_: y,
                                  y, t, t_next)
                judge = jax.vmap(self.verdict)
                shapes = jax.eval_shape(judge, y, y1, t, t_next, cstate, move)
                accept, e1, take = jax.lax.cond(  # no lane moves: reject all, unread e1
                    anyone, judge, lambda *_: tmap(lambda a: jnp.zeros(a.shape, a.dtype),
                                                   shapes),
                    y, y1, t, t_next, cstate, move)
                t2, tn2, cs2, failed = jax.vmap(self.settle)(accept, e1, t, t_next, cstate)
                pick = lambda a, b: jnp.where(move, a, b)
                return (tmap(jnp.where, take, y1, y), pick(t2, t), pick(tn2, t_next),
                        tmap(pick, cs2, cstate),
                        stuck | (move & (failed | (t2 >= self.t1))))

            y, t, t_next, cstate, stuck = jax.lax.fori_loop(
                0, self.chunk, body, (y, t, t_next, cstate, jnp.zeros_like(active)))
            k = k + self.chunk
            conv, div = jax.vmap(self.check)(y, t)
            new = jnp.where(div, DIVERGED, jnp.where(conv, 1, jnp.where(stuck, NOT_CONVERGED, 0)))
            finished = active & (new != 0)
            code = jnp.where(finished, new, code)
            done = jnp.where(finished, k, done)
            return (y, t, t_next, cstate), active & ~finished, done, code, k

        def more(carry):
            n_active = jnp.sum(carry[1])
            return (carry[4] < k_end) & (n_active > 0) & (n_active >= compact_below)

        return jax.lax.while_loop(more, chunk, (lanes, active, done, code, k))


def _controlled_tile(flow, scheme, points, t1, dt0, controller, tol, max_steps, center, far,
                     chunk, unravel):
    """Energy control over a tile (see :class:`_Controlled`); returns end points, trials
    and status."""
    terms, seen = _terms(flow, scheme, None, None, None)
    controller = bind_energy(controller, seen)
    runner = _Controlled(flow, seen, terms, scheme, controller, jnp.asarray(center),
                         float(far), float(tol), float(t1), jnp.asarray(dt0), chunk, unravel)
    return _drive(runner, points, None, max_steps)


def _solve_tile(flow, scheme, points, keys, t1, dt0, controller, tol, max_steps, center, far):
    """Error control (diffrax controllers): one ``fo.solve`` per start, vectorized. Each
    lane runs its own while loop, so this path is slower per step than fixed steps."""
    sol = jax.vmap(lambda x0, k: solve(flow, scheme, x0, t1=t1, dt0=dt0, controller=controller,
                                       gtol=tol, key=k, max_steps=max_steps))(
        jnp.asarray(points), keys)
    pos = np.asarray(jax.vmap(lambda y: _outcome(flow, y))(sol.y))
    bad = np.asarray(_diverged(pos, center, far))
    status = np.where(bad, DIVERGED, np.where(np.asarray(sol.converged), 1, NOT_CONVERGED))
    steps = np.asarray(sol.stats["num_steps"])
    return pos, steps, status


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


def _starts(flow, grid, agents, spread, key):
    points = grid.points().reshape(-1, grid.dim)
    if not flow.interacting:
        return points
    if agents is None or agents < 1:
        raise ValueError(f"basins(agents={agents!r}): {type(flow).__name__} moves agents; pass "
                         "agents=N >= 1 (the grid point is the centre of their cloud).")
    offsets = spread * np.asarray(jax.random.normal(
        jax.random.fold_in(jax.random.key(0) if key is None else key, 2**31 - 1),
        (agents, grid.dim)))
    return points[:, None, :] + offsets[None]


def basins(flow, scheme, grid, *, t1, dt0, controller=None, key=None, replicas=1,
           attractors=None, tol=None, radius=None, tile=262_144, chunk=64, early_stop=True,
           agents=None, spread=0.1, far=None, max_steps=None, tile_order=None,
           progress=False):
    """Which attractor each start of ``grid`` reaches under ``flow`` and ``scheme``.

    Every start is integrated with fixed steps ``dt0`` up to ``t1``, or with
    ``controller``: an ``EnergyController`` runs all lanes in lockstep, one trial step
    each per iteration (on XLA:CPU a trial costs 7-10 fixed steps: besides the step and
    the energy at the trial point, every lane carries its own time, step size, energy
    and flags through a dozen array passes; see benchmarks/basins_throughput.py); other
    diffrax controllers run one adaptive solve per start. A start has converged once
    ``max|grad f| <= tol`` and ``max|x'| <= tol`` (default 1e-6 in float64, 1e-3 in
    float32, where rounding keeps gradients near 1e-5; checked every ``chunk`` steps; with
    ``early_stop`` it then stops costing work); it has diverged once its position is
    non-finite or farther than ``far`` from the grid's centre (default: 10 domain
    widths; 10 max(1, |centre|) when the starts share one position). Converged end
    points are labelled by the nearest attractor within ``radius``: ``attractors`` if
    given, else the landscape's known minima; other
    stationary points are classified by their Hessian (-3 if not a minimum; new minima
    are found, clustered and appended). Stochastic flows run to ``t1`` with ``replicas``
    runs per start, keyed ``fold_in(fold_in(key, flat_index), replica)``, so the map does
    not depend on ``tile`` or on ``tile_order`` (the order tiles are computed in); interacting
    flows start ``agents`` agents around each grid point (``spread``).

    Returns an ``xarray.Dataset`` with dims ``(y, x)``: ``label`` (attractor index, or
    -1 diverged, -2 not converged, -3 stationary non-minimum), ``steps``, ``time``
    (steps x dt0: convergence time), ``final_loss``, ``final_x`` (y, x, dim); for
    replicas also ``probability`` (outcome, y, x) and ``entropy`` (y, x). Coordinates
    ``attractor`` with ``attractor_x``, ``attractor_loss``, ``attractor_hessian``; the
    configuration is in ``attrs``.

    Example:
        >>> import flowopt as fo, schemes
        >>> loss = fo.landscapes.Himmelblau()
        >>> bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(),
        ...                  fo.Grid(loss.domain, (32, 32)), t1=10.0, dt0=1e-2)
        >>> sorted(set(bmap["label"].values.ravel().tolist()))
        [0, 1, 2, 3]
    """
    if not isinstance(flow, AbstractFlow):
        raise TypeError(f"basins(flow={flow!r}): pass a flow, e.g. fo.flows.GradientFlow(loss).")
    if not isinstance(grid, Grid):
        raise TypeError(f"basins(grid={grid!r}): pass fo.Grid(bounds, shape) or fo.Grid.plane.")
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
    if tol is None:
        tol = 1e-6 if jnp.result_type(float) == jnp.float64 else 1e-3
    for name, value in (("t1", t1), ("dt0", dt0), ("tol", tol)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"basins({name}={value!r}): {name} must be a positive number.")
    for name, value in (("replicas", replicas), ("tile", tile), ("chunk", chunk)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"basins({name}={value!r}): {name} must be an int >= 1.")
    noisy = isinstance(flow, (AbstractStochasticFlow, AbstractRandomFlow))
    if flow.needs_key and key is None:
        raise ValueError(f"basins(key=None): {type(flow).__name__} is stochastic; pass "
                         "key=jax.random.key(0).")
    if replicas > 1 and not noisy:
        raise ValueError(f"basins(replicas={replicas}): a deterministic flow gives the same "
                         "answer every time; use replicas=1.")
    key = jax.random.key(0) if key is None else key
    if attractors is None and isinstance(loss, Landscape):
        attractors = loss.minima
    attractors = None if attractors is None else np.asarray(attractors, float)
    if isinstance(loss, Landscape):
        lo, hi = loss.domain[:, 0], loss.domain[:, 1]
    else:
        corners = np.asarray([grid.points()[i, j] for i in (0, -1) for j in (0, -1)])
        if grid.unravel is not None:
            corners = np.asarray([flow.position(grid.unravel(jnp.asarray(c))) for c in corners])
        lo, hi = corners.min(0), corners.max(0)
    center = (lo + hi) / 2
    # the starts' positions span the scale; a plane of velocities alone spans none
    scale = float(np.max(hi - lo)) or max(1.0, float(np.max(np.abs(center))))
    far = 10 * scale if far is None else far
    radius = default_radius(attractors if attractors is not None else np.zeros((0, dim)),
                            scale) if radius is None else radius

    starts = _starts(flow, grid, agents, spread, key)
    n = len(starts)
    lanes = n * replicas
    flat = np.repeat(np.arange(n), replicas)
    reps = np.tile(np.arange(replicas), n)
    dtype = jnp.result_type(float)
    clock, n_steps = _step_clock(0.0, float(t1), float(dt0), dtype)
    # a Python-float step is a compile-time constant: XLA folds it into the update
    clock = eqx.tree_at(lambda c: (c.t0, c.dt), clock, (0.0, float(clock.dt)))
    early = early_stop and not noisy
    # without early stop nothing is decided before t1: one chunk, no intermediate checks
    stepper = _Stepper(flow, scheme, clock, jnp.asarray(center, dtype), float(far), float(tol),
                       chunk if early else n_steps, noisy, grid.unravel)
    final = np.zeros((lanes, dim))
    steps = np.zeros(lanes, int)
    status = np.zeros(lanes, int)
    n_tiles = -(-lanes // tile)
    order = range(n_tiles) if tile_order is None else list(tile_order)
    if sorted(order) != list(range(n_tiles)):
        raise ValueError(f"basins(tile_order={tile_order!r}): give each of the {n_tiles} tile "
                         "indices once.")
    for done_tiles, index in enumerate(order, 1):
        sl = slice(index * tile, min(lanes, (index + 1) * tile))
        keys = _keys(key, jnp.asarray(flat[sl]), jnp.asarray(reps[sl]), replicas > 1) \
            if noisy or controller is not None else jnp.zeros(sl.stop - sl.start, jnp.uint32)
        pts = starts[sl] if replicas == 1 else starts[flat[sl]]
        if controller is None:
            out = _drive(stepper, pts, keys, n_steps) if early else \
                _run_fixed(stepper, pts, keys, n_steps)
        elif isinstance(controller, schemes.EnergyController) and not noisy:
            out = _controlled_tile(flow, scheme, pts, t1, dt0, controller, tol,
                                   max_steps or 16_384, center, far, chunk, grid.unravel)
        else:
            out = _solve_tile(flow, scheme, pts, keys, t1, dt0, controller, tol,
                              max_steps or 16_384, center, far)
        final[sl], steps[sl], status[sl] = out
        if progress:
            print(f"basins: tile {done_tiles}/{n_tiles}")

    # noisy flows never become stationary: an end point within `radius` of a known
    # attractor takes its label, any other is "not converged" (no discovery under noise)
    labels, positions, losses, hess = classify(loss, final, status, attractors, radius,
                                               discover=not noisy)
    return _dataset(grid, flow, scheme, labels, final, steps, replicas, positions, losses,
                    hess, dict(t1=float(t1), dt0=float(dt0), tol=float(tol),
                               radius=float(radius), far=float(far), tile=tile, chunk=chunk,
                               early_stop=int(early_stop), replicas=replicas,
                               controller=repr(controller), agents=repr(agents),
                               spread=float(spread)), loss)


def _dataset(grid, flow, scheme, labels, final, steps, replicas, positions, losses, hess,
             config, loss):
    ny, nx = grid.shape
    d = final.shape[1]
    k = len(positions)
    lab = labels.reshape(ny * nx, replicas)
    fin = final.reshape(ny * nx, replicas, d)
    st = steps.reshape(ny * nx, replicas)
    outcomes = list(range(k)) + sorted(CODES)
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
    final_loss = np.array(losses_at(loss, jnp.asarray(np.where(ok[:, None], final_x, 0.0))))
    final_loss[~ok] = np.nan
    data = {
        "label": (("y", "x"), mode.reshape(ny, nx).astype(np.int32)),
        "steps": (("y", "x"), st[:, 0].reshape(ny, nx)),
        "time": (("y", "x"), st[:, 0].reshape(ny, nx) * config["dt0"]),
        "final_loss": (("y", "x"), final_loss.reshape(ny, nx)),
        "final_x": (("y", "x", "dim"), final_x.reshape(ny, nx, d)),
    }
    coords = {"x": grid.x, "y": grid.y, "attractor": np.arange(k), "dim": np.arange(d),
              "attractor_x": (("attractor", "dim"), positions.reshape(k, d)),
              "attractor_loss": (("attractor",), losses),
              "attractor_hessian": (("attractor", "dim"), hess.reshape(k, d))}
    if replicas > 1:
        coords["outcome"] = outcomes
        data["probability"] = (("outcome", "y", "x"), prob.reshape(len(outcomes), ny, nx))
        data["entropy"] = (("y", "x"), ent.reshape(ny, nx))
    attrs = dict(config, flow=repr(flow)[:500], scheme=repr(scheme)[:200],
                 grid_bounds=str(grid.bounds), grid_shape=str(grid.shape),
                 grid_center=str(grid.center), grid_u=str(grid.u), grid_v=str(grid.v),
                 grid_names=str(grid.names), grid_state=int(grid.unravel is not None))
    return xr.Dataset(data, coords=coords, attrs=attrs)
