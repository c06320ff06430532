"""Error-controlled maps in lockstep (issue 14, items 1-2): every start of a tile advances
one trial per iteration with its own time, step, controller and solver state, the
controller's own ``adapt_step_size`` deciding per lane. A lane's result is that of
``fo.solve`` of its start alone with the same controller and ``gtol`` = the map's tol
(stopping rule: the first accepted state -- or the start -- where the flow is stationary
within tol, else t1), and never depends on its tile, the tile's size or order, or on a
stiff or escaping neighbour."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes
from flowopt.basins import mapper

PID = diffrax.PIDController(rtol=1e-6, atol=1e-9)


def _lockstep_lanes(flow, scheme, starts, t1, dt0, controller, tol, far=1e6):
    """The lockstep runner over ``starts`` run to the end in one call (no compaction):
    end states, times, accepted and rejected trials per lane."""
    n = len(starts)
    runner = mapper.controlled_runner(flow, scheme, controller, jnp.zeros(2), tol, t1, dt0, 16)
    lanes = runner.start(jnp.asarray(starts), None, jnp.full(n, far))
    active, zero = jnp.ones(n, bool), jnp.zeros(n, jnp.int32)
    lanes, active, _, code, _ = runner.advance(lanes, active, zero, zero, jnp.asarray(0),
                                               jnp.asarray(16_384), jnp.asarray(0))
    assert not np.asarray(active).any()
    return (np.asarray(runner.outcome(lanes)), np.asarray(lanes[1]), np.asarray(lanes[6]),
            np.asarray(lanes[7]), np.asarray(code))


@pytest.mark.parametrize("scheme, by_gtol", [
    (diffrax.Tsit5(), 8), (diffrax.Heun(), 0), (diffrax.Dopri5(), 7),
    (schemes.EulerRichardson(), 0)], ids=["Tsit5", "Heun", "Dopri5", "EulerRichardson"])
def test_error_controlled_map_equals_single_solves(scheme, by_gtol):
    """Himmelblau, 6x6 starts, PID(rtol 1e-6), tol 1e-3, t1 = 0.3: 18 starts converge
    before t1 -- ``by_gtol`` of them with |grad f| <= tol, the others once within the
    controller's resolution of the minimum (Newton step <= 10 (atol + rtol |x|): an
    explicit scheme at its stability limit keeps |grad f| near rtol times the curvature)
    -- and 18 run to t1. Labels, end points (1e-8), accepted steps, time, and the
    accepted and rejected trials equal those of fo.solve(gtol=tol) per start."""
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.GradientFlow(loss)
    grid = fo.Grid(loss.domain, (6, 6))
    t1, dt0, tol = 0.3, 1e-2, 1e-3
    bmap = fo.basins(flow, scheme, grid, t1=t1, dt0=dt0, controller=PID, tol=tol)
    starts = grid.points().reshape(-1, 2)
    sols = [fo.solve(flow, scheme, jnp.asarray(x0), t1=t1, dt0=dt0, controller=PID, gtol=tol)
            for x0 in starts]
    x = np.array([np.asarray(s.x) for s in sols])
    converged = np.array([bool(s.converged) for s in sols])
    assert converged.sum() == 18  # every stopping rule is exercised
    small = np.abs(np.asarray(jax.vmap(jax.grad(loss))(jnp.asarray(x)))).max(1) <= tol
    assert (converged & small).sum() == by_gtol
    np.testing.assert_allclose(bmap["final_x"].values.reshape(-1, 2), x, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(bmap["steps"].values.ravel(),
                                  [int(s.stats["num_accepted_steps"]) for s in sols])
    np.testing.assert_allclose(bmap["time"].values.ravel(), [float(s.t) for s in sols],
                               rtol=0, atol=1e-9)  # step sizes agree up to rounding
    nearest = np.argmin(np.linalg.norm(x[:, None] - loss.minima[None], axis=-1), axis=1)
    np.testing.assert_array_equal(bmap["label"].values.ravel(),
                                  np.where(converged, nearest, -2))  # -2: not converged

    end, t, accepted, rejected, code = _lockstep_lanes(flow, scheme, starts, t1, dt0, PID,
                                                       tol)
    np.testing.assert_array_equal(accepted, [int(s.stats["num_accepted_steps"]) for s in sols])
    np.testing.assert_array_equal(rejected, [int(s.stats["num_rejected_steps"]) for s in sols])
    np.testing.assert_array_equal(code == mapper.CONVERGED, converged)
    np.testing.assert_allclose(end, x, rtol=0, atol=1e-8)


def _bumpy(x):
    """A quadratic bowl, stiff away from x[1] = 0 (curvature ~5e3 at x[1] = 2), that drops
    away for x[0] > 2 (gradient flow runs off to infinity in finite time)."""
    return 0.5 * jnp.sum(x**2) + 100.0 * x[1]**4 - jnp.maximum(x[0] - 2.0, 0.0)**3


def test_stiff_and_escaping_starts_are_their_own():
    """One stiff start and one that leaves every box share a map with mild starts: the
    escaping one is labelled diverged, the stiff one converges, and each mild start's
    steps, time and end point are bit for bit those of a map without the other two."""
    flow = fo.flows.GradientFlow(_bumpy)
    mild = np.array([[0.5, 0.3], [-1.0, 0.2], [0.3, -0.4]])
    starts = np.concatenate([mild, [[0.1, 2.0], [4.0, 0.0]]])
    kw = dict(t1=50.0, dt0=1e-2, controller=diffrax.PIDController(rtol=1e-7, atol=1e-10))
    both = fo.basins(flow, diffrax.Tsit5(), starts, **kw)
    alone = fo.basins(flow, diffrax.Tsit5(), mild, **kw)
    lab = both["label"].values
    assert lab[4] == mapper.DIVERGED and lab[3] >= 0 and (lab[:3] >= 0).all()
    assert both["steps"].values[3] > both["steps"].values[:3].max()  # stiff: more steps
    for name in ("final_x", "steps", "time", "label"):
        np.testing.assert_array_equal(both[name].values[:3], alone[name].values)


@pytest.mark.parametrize("scheme", [diffrax.Tsit5(), schemes.EulerRichardson()],
                         ids=lambda s: type(s).__name__)
def test_error_controlled_map_does_not_depend_on_tiles(scheme):
    """Rastrigin (cosines: XLA's vector and scalar variants differ in the last bits) under
    PID: tiles of 1, 7 and 129 lanes, in any order, give the whole map bit for bit."""
    loss = fo.landscapes.Rastrigin()
    flow = fo.flows.GradientFlow(loss)
    grid = fo.Grid(loss.domain, (16, 16))
    run = lambda **kw: fo.basins(flow, scheme, grid, t1=5.0, dt0=1e-2,
                                 controller=diffrax.PIDController(rtol=1e-5, atol=1e-8), **kw)
    whole = run()
    for kw in (dict(tile=1, tile_order=list(range(255, -1, -1))), dict(tile=7),
               dict(tile=129, tile_order=[1, 0])):
        other = run(**kw)
        for name in ("final_x", "steps", "time", "label"):
            np.testing.assert_array_equal(other[name].values, whole[name].values)


def test_step_times_take_the_per_start_path():
    """A ClipStepSizeController (step or jump times: a jump re-evaluates a first stage)
    is solved per start, and still maps."""
    loss = fo.landscapes.Himmelblau()
    ctrl = diffrax.ClipStepSizeController(PID, step_ts=jnp.asarray([0.5, 1.0]))
    assert not mapper._lockstep(ctrl, False) and mapper._lockstep(PID, False)
    bmap = fo.basins(fo.flows.GradientFlow(loss), diffrax.Tsit5(), fo.Grid(loss.domain, 3),
                     t1=5.0, dt0=1e-2, controller=ctrl)
    assert (bmap["label"].values >= 0).all()


def test_heavy_ball_map_on_the_six_hump_camel_equals_single_solves():
    """A second landscape and a second-order flow (state of 4 numbers: the resolution
    stop's general Jacobian and eigenvalue path): end points, accepted steps and labels of
    the lockstep map equal fo.solve(gtol=tol) per start."""
    with jax.enable_x64(True):
        loss = fo.landscapes.SixHumpCamel()
        flow = fo.flows.HeavyBall(loss, friction=2.0)
        grid = fo.Grid(loss.domain, (3, 4))
        bmap = fo.basins(flow, diffrax.Tsit5(), grid, t1=20.0, dt0=1e-2, controller=PID)
        sols = [fo.solve(flow, diffrax.Tsit5(), jnp.asarray(x0), t1=20.0, dt0=1e-2,
                         controller=PID, gtol=bmap.attrs["tol"])
                for x0 in grid.points().reshape(-1, 2)]
    x = np.array([np.asarray(s.x) for s in sols])
    assert all(bool(s.converged) for s in sols)
    np.testing.assert_allclose(bmap["final_x"].values.reshape(-1, 2), x, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(bmap["steps"].values.ravel(),
                                  [int(s.stats["num_accepted_steps"]) for s in sols])
    nearest = np.argmin(np.linalg.norm(x[:, None] - bmap["attractor_x"].values[None], axis=-1),
                        axis=1)
    np.testing.assert_array_equal(bmap["label"].values.ravel(), nearest)
