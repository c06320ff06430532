"""The basin mapper against exactly known basins and an independent reference; labels,
tiles, stochastic maps, metrics with known answers, comparison and sweeps."""

import jax
import numpy as np
import pytest

import flowopt as fo
import schemes


def q(t, c=0.3):
    """A tilted 1-D double well; its basins under the gradient flow are the intervals
    split at the local maximum (the middle root of q')."""
    return (t**2 - 1.0) ** 2 + c * t


def separable(x):
    return q(x[0]) + q(x[1], -0.2)


def interior_root(c):
    roots = np.sort(np.roots([4.0, 0.0, -4.0, c]).real)
    return roots  # minimum, maximum, minimum


def test_exactly_known_basins_of_a_separable_landscape():
    rx, ry = interior_root(0.3), interior_root(-0.2)
    minima = np.array([[a, b] for a in (rx[0], rx[2]) for b in (ry[0], ry[2])])
    grid = fo.Grid([[-2.0, 2.0], [-2.0, 2.0]], (101, 101))
    bmap = fo.basins(fo.flows.GradientFlow(separable), schemes.Euler(), grid, t1=40.0,
                     dt0=1e-3, attractors=minima)
    xs, ys = np.meshgrid(grid.x, grid.y)
    expected = 2 * (xs > rx[1]) + (ys > ry[1])  # index into minima above
    wrong = bmap["label"].values != expected
    cell = grid.cell
    near = (np.abs(xs - rx[1]) <= cell[0]) | (np.abs(ys - ry[1]) <= cell[1])
    print(f"{wrong.sum()} mislabelled cells, all within one cell of a boundary: "
          f"{not (wrong & ~near).any()}")
    assert not (wrong & ~near).any()
    assert (bmap["label"].values >= 0).all()


def reference_fractions(loss, n, dt, steps):
    """Independent: hand-written vectorized explicit Euler in NumPy (float64), nearest
    minimum within 0.1 after the budget."""
    g = np.linspace(-6.0, 6.0, n)
    x, y = np.meshgrid(g, g)
    for _ in range(steps):
        a, b = x**2 + y - 11.0, x + y**2 - 7.0
        x, y = x - dt * (4 * x * a + 2 * b), y - dt * (2 * a + 4 * y * b)
    ends = np.stack([x, y], -1)
    d = np.linalg.norm(ends[..., None, :] - loss.minima, axis=-1)
    lab = np.where(d.min(-1) < 0.1, d.argmin(-1), -2)
    return np.array([(lab == i).mean() for i in range(4)])


def test_himmelblau_fractions_match_an_independent_reference():
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, (256, 256))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), grid, t1=20.0, dt0=1e-3)
    ours = fo.fractions(bmap)["fraction"].values[:4]
    ref = reference_fractions(loss, 256, 1e-3, 20_000)
    print(f"fractions {ours}, reference {ref}")
    assert np.max(np.abs(ours - ref)) <= 0.01
    np.testing.assert_allclose(bmap["attractor_x"].values, loss.minima)  # the known minima
    assert set(np.unique(bmap["label"].values)) == {0, 1, 2, 3}


def test_divergent_starts_are_labelled_and_never_nan_in_fractions():
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 64),
                     t1=5.0, dt0=0.05)
    frac = fo.fractions(bmap)
    assert float(frac["fraction"].sel(outcome=-1)) > 0.5
    assert np.all(np.isfinite(frac["fraction"].values)) and frac["fraction"].sum() == 1.0
    assert np.isnan(bmap["final_loss"].values[bmap["label"].values == -1]).all()


def test_early_stop_changes_no_label():
    loss = fo.landscapes.Himmelblau()
    flow, grid = fo.flows.GradientFlow(loss), fo.Grid(loss.domain, 48)
    a = fo.basins(flow, schemes.Euler(), grid, t1=10.0, dt0=1e-2)
    b = fo.basins(flow, schemes.Euler(), grid, t1=10.0, dt0=1e-2, early_stop=False)
    np.testing.assert_array_equal(a["label"].values, b["label"].values)
    assert a["steps"].values.mean() < 0.3 * b["steps"].values.mean()


@pytest.mark.parametrize("flow_name", ["gd", "heavy_ball"])
def test_energy_controlled_map_matches_single_solves(flow_name):
    """The lockstep energy-controlled lanes against fo.solve per start (diffrax's own
    adaptive loop with the same controller): same attractor for every start, end points
    at the same minimum, and the map's trial count never below the accepted steps the
    single solve needed. dt0 = 0.1 is 6x Euler's divergence step on Himmelblau."""
    loss = fo.landscapes.Himmelblau()
    if flow_name == "gd":
        flow, scheme = fo.flows.GradientFlow(loss), schemes.Euler()
    else:
        flow, scheme = fo.flows.HeavyBall(loss, friction=2.0), schemes.SemiImplicitEuler()
    grid = fo.Grid(loss.domain, (12, 12))
    ctrl = schemes.EnergyController()
    bmap = fo.basins(flow, scheme, grid, t1=200.0, dt0=0.1, controller=ctrl, chunk=8)
    starts = np.asarray(grid.points()).reshape(-1, 2)
    sol = jax.vmap(lambda x0: fo.solve(flow, scheme, x0, t1=200.0, dt0=0.1, controller=ctrl,
                                       gtol=1e-6, max_steps=16_384))(starts)
    ends = np.asarray(jax.vmap(flow.position)(sol.y))
    nearest = np.argmin(np.linalg.norm(ends[:, None] - loss.minima[None], axis=-1), axis=1)
    assert np.asarray(sol.converged).all()
    np.testing.assert_array_equal(bmap["label"].values.ravel(), nearest)
    np.testing.assert_allclose(bmap["final_x"].values.reshape(-1, 2), ends, atol=1e-5)
    assert (bmap["steps"].values.ravel() >= np.asarray(sol.stats["num_accepted_steps"])).all()


def test_saddle_and_unknown_minima_are_found():
    """A plain function (no known minima): attractors are discovered and verified; a start
    exactly on the saddle's stable manifold ends at the saddle: -3."""
    f = lambda x: (x[0] ** 2 - 1.0) ** 2 + x[1] ** 2
    grid = fo.Grid([[-1.5, 1.5], [-1.0, 1.0]], (31, 21))
    bmap = fo.basins(fo.flows.GradientFlow(f), schemes.Euler(), grid, t1=20.0, dt0=1e-2)
    np.testing.assert_allclose(np.sort(bmap["attractor_x"].values[:, 0]), [-1.0, 1.0],
                               atol=1e-5)
    assert (bmap["attractor_hessian"].values > 0).all()
    labels = bmap["label"].values
    assert (labels[:, grid.x == 0.0] == -3).all()


def test_stochastic_map_independent_of_tiles_and_their_order():
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.Langevin(loss, beta=8.0)
    grid = fo.Grid(loss.domain, 40)
    kw = dict(t1=2.0, dt0=1e-2, key=jax.random.key(3), replicas=4)
    a = fo.basins(flow, schemes.Euler(), grid, tile=1024, **kw)
    b = fo.basins(flow, schemes.Euler(), grid, tile=4096, **kw)
    c = fo.basins(flow, schemes.Euler(), grid, tile=1600, **kw)
    d = fo.basins(flow, schemes.Euler(), grid, tile=1024, tile_order=[6, 2, 0, 5, 1, 4, 3],
                  **kw)  # 1600 starts x 4 replicas = 6400 lanes: 7 tiles of 1024
    for other in (b, c, d):
        np.testing.assert_array_equal(a["probability"].values, other["probability"].values)
    prob = a["probability"].values
    np.testing.assert_allclose(prob.sum(0), 1.0)
    assert (a["entropy"].values >= 0).all() and a["entropy"].values.max() > 0.3


def test_interacting_map_uses_the_consensus():
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.CBO(loss, drift_rate=1.0, sigma=0.7, alpha=1e3, anisotropic=True)
    bmap = fo.basins(flow, schemes.Euler(), fo.Grid([[-4.5, 4.5], [-4.5, 4.5]], 6), t1=10.0, dt0=1e-2,
                     key=jax.random.key(0), agents=30, spread=1.5)
    print("CBO outcomes", bmap["label"].values)
    assert (bmap["label"].values >= 0).mean() > 0.8


def test_metrics_known_answers():
    ys, xs = np.mgrid[0:200, 0:200]
    one = np.zeros((200, 200), int)
    half = (xs > 100).astype(int)  # a straight boundary
    assert fo.basin_entropy(one) == (0.0, 0.0)
    assert fo.boundary_fraction(one) == 0.0
    assert fo.boundary_fraction(half) == pytest.approx(2 / 200)
    sb, sbb = fo.basin_entropy(half, box=5)
    assert sbb == pytest.approx(np.log(2), rel=0.3) and 0 < sb < 0.05
    disc = ((xs - 100.5) ** 2 + (ys - 90.3) ** 2 < 60**2).astype(int)  # smooth curve
    alpha, _, _ = fo.uncertainty_exponent(disc)
    assert abs(alpha - 1.0) < 0.1
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 2, (200, 200))  # fully mixed: uncertain at every scale
    assert fo.uncertainty_exponent(noise)[0] < 0.1


def test_capture_radius_and_table():
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 64),
                     t1=10.0, dt0=1e-2)
    radius = fo.capture_radius(bmap).values
    assert np.all(radius > 0.5) and np.all(radius < 6)
    row = fo.stationary_table(bmap, names=["(3,2)", "(3.58,-1.85)", "(-2.81,3.13)",
                                           "(-3.78,-3.28)"])
    assert sum(row.values()) == pytest.approx(100.0) and row["Diverged"] == 0.0


def test_compare_and_sweep():
    loss = fo.landscapes.Himmelblau()
    flow, grid = fo.flows.GradientFlow(loss), fo.Grid(loss.domain, 48)
    a = fo.basins(flow, schemes.Euler(), grid, t1=10.0, dt0=1e-2)
    b = fo.basins(flow, schemes.EulerRichardson(), grid, t1=10.0, dt0=1e-2)
    cmp = fo.compare({"euler": a, "richardson": b})
    agree = float(cmp["agreement"].sel(name="euler", other="richardson"))
    assert 0.8 < agree < 1.0 and cmp["agreement"].sel(name="euler", other="euler") == 1.0
    np.testing.assert_array_equal(cmp["disagreement"].values,
                                  a["label"].values != b["label"].values)
    sw = fo.sweep(flow, schemes.Euler(), grid, param="dt0", values=[1e-3, 1e-2, 1.6e-2],
                  t1=10.0)
    frac3 = sw["fraction"].sel(outcome=3).values
    assert frac3[0] > 0.2 and frac3[2] < 0.01  # dt > 2/133.8: minimum 3 turns unstable
    with pytest.raises(ValueError, match="param"):
        fo.sweep(flow, schemes.Euler(), grid, param="nonsense", values=[1], t1=1.0, dt0=0.1)


@pytest.mark.parametrize("call, argument", [
    (lambda f, g: fo.basins(f, schemes.Euler(), g, t1=0.0, dt0=0.1), "t1"),
    (lambda f, g: fo.basins(f, schemes.Euler(), g, t1=1.0, dt0=-0.1), "dt0"),
    (lambda f, g: fo.basins(f, schemes.Euler(), "grid", t1=1.0, dt0=0.1), "grid"),
    (lambda f, g: fo.basins(f, schemes.Euler(), fo.Grid.plane(np.zeros(3), [1, 0, 0],
                            [0, 1, 0], (-1, 1), 8), t1=1.0, dt0=0.1), "grid"),
    (lambda f, g: fo.basins(f, schemes.Euler(), g, t1=1.0, dt0=0.1, replicas=3), "replicas"),
    (lambda f, g: fo.Grid([[1, 0], [0, 1]], 8), "bounds"),
    (lambda f, g: fo.Grid([[0, 1], [0, 1]], 1), "shape"),
])
def test_bad_input(call, argument):
    loss = fo.landscapes.Himmelblau()
    with pytest.raises((ValueError, TypeError), match=argument):
        call(fo.flows.GradientFlow(loss), fo.Grid(loss.domain, 8))


@pytest.mark.slow  # 39 s: the default suite keeps under 15 min
def test_phase_plane_of_a_damped_double_well_matches_scipy():
    """Heavy ball x'' + 0.3 x' + q'(x) = 0, q = (x^2 - 1)^2, over the phase plane (x, v):
    the map of basins (interleaved spiral bands) against scipy's DOP853 at rtol 1e-10,
    each start followed until its energy drops below the barrier q(0) = 1 (then the well
    is decided: sign of x). Only cells next to a reference boundary may differ."""
    import scipy.integrate

    q = lambda x: (x[0] ** 2 - 1.0) ** 2
    flow = fo.flows.HeavyBall(q, friction=0.3)
    grid = fo.Grid.phase(flow, ((-1.8, 1.8), (-2.4, 2.4)), (48, 48), at=[0.0])
    bmap = fo.basins(flow, schemes.VelocityVerlet(), grid, t1=200.0, dt0=1e-2,
                     attractors=[[-1.0], [1.0]])

    def rhs(t, z):
        return [z[1], -0.3 * z[1] - 4 * z[0] * (z[0] ** 2 - 1)]

    def below_barrier(t, z):
        return (z[0] ** 2 - 1) ** 2 + 0.5 * z[1] ** 2 - 0.9

    below_barrier.terminal = True
    ref = np.zeros(grid.shape, int)
    for i, v0 in enumerate(grid.y):
        for j, x0 in enumerate(grid.x):
            sol = scipy.integrate.solve_ivp(rhs, (0, 200), [x0, v0], method="DOP853",
                                            rtol=1e-10, atol=1e-12, events=below_barrier)
            ref[i, j] = int(sol.y[0, -1] > 0)
    labels = bmap["label"].values
    pad = np.pad(ref, 1, mode="edge")
    boundary = np.zeros_like(ref, bool)
    for di, dj in ((0, 1), (2, 1), (1, 0), (1, 2)):
        boundary |= pad[di:di + 48, dj:dj + 48] != ref
    wrong = labels != ref
    print(f"{wrong.sum()} of {ref.size} cells differ from scipy, "
          f"{(wrong & ~boundary).sum()} away from a boundary; "
          f"{boundary.mean():.0%} of cells are boundary cells")
    assert 0.2 < ref.mean() < 0.8 and boundary.mean() < 0.3  # bands, not noise
    assert not (wrong & ~boundary).any()
    assert bmap.attrs["grid_names"] == "('x', 'v')"


def test_phase_grid_bad_input():
    gd = fo.flows.GradientFlow(fo.landscapes.Himmelblau())
    with pytest.raises(ValueError, match="flow=GradientFlow"):
        fo.Grid.phase(gd, ((-1, 1), (-1, 1)), 8)
    hb = fo.flows.HeavyBall(fo.landscapes.Himmelblau())
    with pytest.raises(ValueError, match="Grid.phase\\(v=2\\)"):
        fo.Grid.phase(hb, ((-1, 1), (-1, 1)), 8, v=2)
    grid = fo.Grid.phase(hb, ((-1, 1), (-1, 1)), 8)
    with pytest.raises(ValueError, match="do not fit GradientFlow"):
        fo.basins(gd, schemes.Euler(), grid, t1=1.0, dt0=0.1)
    with pytest.raises(ValueError, match="fixed steps or controller=schemes.EnergyController"):
        import diffrax
        fo.basins(hb, schemes.SemiImplicitEuler(), grid, t1=1.0, dt0=0.1,
                  controller=diffrax.PIDController(rtol=1e-3, atol=1e-6))


@pytest.mark.parametrize("grid_kind", ["positions", "states"])
def test_partitioned_scheme_on_a_first_order_flow_is_euler(grid_kind):
    """Semi-implicit Euler on a first-order flow (empty second part) is explicit Euler:
    the maps agree to the bit, with fixed steps and with energy control, on a grid of
    positions and on a grid of states."""
    import jax.numpy as jnp

    flow = fo.flows.GradientFlow(lambda x: (x[0] ** 2 - 1.0) ** 2 + 0.5 * x[1] ** 2)
    grid = fo.Grid([[-2.0, 2.0], [-2.0, 2.0]], 9) if grid_kind == "positions" else \
        fo.Grid.state(jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.3, 1.0]), (-2, 2), 9)
    for ctrl, dt0 in ((None, 0.01), (schemes.EnergyController(), 0.3)):
        a = fo.basins(flow, schemes.SemiImplicitEuler(), grid, t1=20.0, dt0=dt0,
                      controller=ctrl)
        b = fo.basins(flow, schemes.Euler(), grid, t1=20.0, dt0=dt0, controller=ctrl)
        np.testing.assert_array_equal(a["label"].values, b["label"].values)
        np.testing.assert_array_equal(a["final_x"].values, b["final_x"].values)
        assert {0, 1} <= set(np.unique(a["label"].values))  # -3: starts on x = 0


def test_a_plane_of_velocities_keeps_a_finite_divergence_box():
    """Starts that share one position (a plane of initial velocities) of a plain
    function: the divergence box and the attractor radius must not collapse to 0."""
    import jax.numpy as jnp

    hb = fo.flows.HeavyBall(lambda x: (x[0] ** 2 - 1.0) ** 2 + x[1] ** 2, friction=1.0)
    z, e = jnp.zeros(2), jnp.eye(2)
    grid = fo.Grid.state((z, z), (z, e[0]), (z, e[1]), (-2.0, 2.0), (6, 6), names=("v0", "v1"))
    bmap = fo.basins(hb, schemes.SemiImplicitEuler(), grid, t1=60.0, dt0=1e-2,
                     attractors=[[-1.0, 0.0], [1.0, 0.0]])
    assert bmap.attrs["far"] > 0 and bmap.attrs["radius"] > 0
    labels = bmap["label"].values
    assert set(np.unique(labels)) == {0, 1}
    np.testing.assert_array_equal(labels[:, grid.x > 0.5], 1)  # pushed right: right well
