"""Labels that depend only on the start and say what happened (issue: faults found by
testing as a new user would). Each expected value comes from something independent: a
plain NumPy loop, scipy's DOP853, an analytic answer."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import flowopt as fo
import schemes
from flowopt.basins.classify import classify, outcome_order


def himmelblau_grad(x):
    """Gradient of Himmelblau's function in NumPy (independent of JAX)."""
    a, b = x[0] ** 2 + x[1] - 11.0, x[0] + x[1] ** 2 - 7.0
    return np.array([4 * x[0] * a + 2 * b, 2 * a + 4 * x[1] * b])


def numpy_gd(grad, x0, dt, n, tol=1e-6):
    """Explicit Euler GD, stopping at the first step k where max|grad| <= tol (the
    mapper's rule); returns (k, x)."""
    x = np.array(x0, float)
    for k in range(n + 1):
        g = grad(x)
        if np.abs(g).max() <= tol or k == n:
            return k, x
        x = x - dt * g


def well(x):
    return (x[0] ** 2 - 1) ** 2 + 50 * x[1] ** 2


def well_grad(x):
    return np.array([4 * x[0] * (x[0] ** 2 - 1), 100 * x[1]])


@pytest.mark.parametrize("dx", [1e-15, 1e-6, 1e-5])
def test_a_start_near_a_saddle_is_judged_alone(dx):
    """Case 1: A = (1e-9, 1) reaches the saddle (0, 0); its neighbour A + (dx, 0) goes on to
    a minimum. A's label, steps and end point must be those of A mapped alone."""
    a = np.array([1e-9, 1.0])
    k, end = numpy_gd(well_grad, a, 1e-3, 30_000)
    grid = fo.Grid.plane(a, [1, 0], [0, 1], ((0, dx), (0, 0.5)), (2, 2))
    bmap = fo.basins(fo.flows.GradientFlow(well), schemes.Euler(), grid, t1=30.0, dt0=1e-3,
                     attractors=[[1.0, 0.0], [-1.0, 0.0]])
    assert int(bmap["label"][0, 0]) == -3
    assert int(bmap["steps"][0, 0]) == k
    np.testing.assert_allclose(bmap["final_x"].values[0, 0], end, rtol=0, atol=1e-12)
    if dx >= 1e-6:
        assert int(bmap["label"][0, 1]) == 0  # the neighbour reaches (1, 0)


def test_labels_steps_and_ends_do_not_depend_on_tiles_chunks_or_neighbours():
    """The kind, on a landscape with saddles (six-hump camel): every start of a map with
    small tiles and odd chunks equals the start mapped alone (a one-start set)."""
    loss = fo.landscapes.SixHumpCamel()
    flow = fo.flows.GradientFlow(loss)
    grid = fo.Grid(loss.domain, (9, 11))
    kw = dict(t1=10.0, dt0=1e-2)
    whole = fo.basins(flow, schemes.Euler(), grid, tile=13, chunk=7, **kw)
    other = fo.basins(flow, schemes.Euler(), grid, chunk=64, **kw)
    for v in ("label", "steps", "final_x"):
        np.testing.assert_array_equal(whole[v].values, other[v].values)
    pts = grid.points().reshape(-1, 2)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(pts), 6, replace=False):
        alone = fo.basins(flow, schemes.Euler(), pts[i:i + 1], **kw)
        j = np.unravel_index(i, grid.shape)
        assert int(alone["steps"][0]) == int(whole["steps"][j])
        # a batch of one compiles to other XLA fusions (FMA contraction): rounding only
        np.testing.assert_allclose(alone["final_x"].values[0], whole["final_x"].values[j],
                                   rtol=0, atol=1e-13)
        lab = int(alone["label"][0])
        assert lab == int(whole["label"][j])


def test_steps_are_the_first_step_the_criterion_held():
    """Case 11: not multiples of the chunk; equal to a NumPy loop's count."""
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, (6, 6))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), grid, t1=20.0, dt0=1e-2)
    grad = himmelblau_grad
    for i, x0 in enumerate(grid.points().reshape(-1, 2)):
        k, end = numpy_gd(grad, x0, 1e-2, 2000)
        j = np.unravel_index(i, grid.shape)
        assert int(bmap["steps"][j]) == k
        assert float(bmap["time"][j]) == pytest.approx(k * 1e-2)
    assert (bmap["steps"].values % 64 != 0).any()


def test_zooming_in_never_makes_a_start_diverge():
    """Case 2a: a plain function on a tiny window: all 121 starts reach (-2.805, 3.131)."""
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(lambda x: loss(x)), schemes.Euler(),
                     fo.Grid(((-0.4, -0.3), (0.4, 0.5)), (11, 11)), t1=20.0, dt0=1e-3)
    assert (bmap["label"].values == 0).all()
    np.testing.assert_allclose(bmap["attractor_x"].values, [[-2.805118, 3.131313]], atol=1e-5)


def test_a_velocity_range_never_makes_a_start_diverge():
    """Case 2b: a damped oscillator converges to 0 from every state (analytic)."""
    hb = fo.flows.HeavyBall(lambda x: 0.5 * x[0] ** 2, friction=0.2)
    bmap = fo.basins(hb, schemes.SemiImplicitEuler(),
                     fo.Grid.phase(hb, ((-1, 1), (-30, 30)), (31, 11), at=[0.0]),
                     t1=200.0, dt0=1e-2)
    assert (bmap["label"].values == 0).all()
    np.testing.assert_allclose(bmap["attractor_x"].values, [[0.0]], atol=1e-5)


def test_second_landscape_zoom_and_speed():
    """The same kind on a double well with friction: a plane of large velocities around
    one minimum ends at +-1 (never 'diverged'); the energy bound keeps every orbit within
    sqrt(1 + sqrt(E0)) of the origin."""
    f = lambda x: (x[0] ** 2 - 1) ** 2
    hb = fo.flows.HeavyBall(f, friction=0.5)
    bmap = fo.basins(hb, schemes.SemiImplicitEuler(),
                     fo.Grid.phase(hb, ((0.9, 1.1), (-20, 20)), (5, 9), at=[1.0]),
                     t1=100.0, dt0=1e-2)
    assert (bmap["label"].values >= 0).all()
    np.testing.assert_allclose(np.sort(bmap["attractor_x"].values[:, 0]),
                               [-1.0, 1.0][:bmap.sizes["attractor"]] if
                               bmap.sizes["attractor"] == 2 else [1.0], atol=1e-5)


def test_error_control_converges_and_keeps_real_time():
    """Case 3a: Euler-Richardson + PID ends within its tolerance of a minimum: labelled
    like scipy's DOP853 (rtol 1e-10); ``time`` is the solve's own time, <= t1."""
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, (8, 8))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.EulerRichardson(), grid, t1=20.0,
                     dt0=1e-2, controller=diffrax.PIDController(rtol=1e-6, atol=1e-9))
    grad = lambda t, x: -himmelblau_grad(x)
    expect = []
    for x0 in grid.points().reshape(-1, 2):
        end = scipy.integrate.solve_ivp(grad, (0, 20), x0, method="DOP853", rtol=1e-10,
                                        atol=1e-12).y[:, -1]
        expect.append(np.argmin(np.linalg.norm(loss.minima - end, axis=1)))
    np.testing.assert_array_equal(bmap["label"].values.ravel(), expect)
    assert (bmap["time"].values <= 20.0).all() and (bmap["time"].values > 0).all()


@pytest.mark.parametrize("name", ["rastrigin", "himmelblau"])
def test_energy_floor_at_a_minimum_is_converged(name):
    """Case 3b: starts the energy controller stops at its floor at a minimum are
    classified (Rastrigin: every start ends at one of the 121 known minima); time is the
    start's own (<= t1), not trials x dt0."""
    loss = fo.landscapes.Rastrigin(2) if name == "rastrigin" else fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 16),
                     t1=5.0, dt0=0.5, controller=schemes.EnergyController())
    lab = bmap["label"].values
    assert (lab >= 0).all()
    ends = bmap["final_x"].values.reshape(-1, 2)
    nearest = np.argmin(np.linalg.norm(ends[:, None] - loss.minima[None], axis=-1), axis=1)
    np.testing.assert_array_equal(lab.ravel(), nearest)
    assert (bmap["time"].values <= 5.0).all()


def test_energy_controlled_steps_equal_single_solves():
    """Accepted steps and time of each energy-controlled start = fo.solve with gtol
    (diffrax's own loop stops at the same step)."""
    loss = fo.landscapes.Himmelblau()
    flow, grid = fo.flows.GradientFlow(loss), fo.Grid(loss.domain, (5, 5))
    ctrl = schemes.EnergyController()
    bmap = fo.basins(flow, schemes.Euler(), grid, t1=200.0, dt0=0.1, controller=ctrl, chunk=8)
    sol = jax.vmap(lambda x0: fo.solve(flow, schemes.Euler(), x0, t1=200.0, dt0=0.1,
                                       controller=ctrl, gtol=1e-6))(
        jnp.asarray(grid.points().reshape(-1, 2)))
    np.testing.assert_array_equal(bmap["steps"].values.ravel(),
                                  np.asarray(sol.stats["num_accepted_steps"]))
    np.testing.assert_allclose(bmap["time"].values.ravel(), np.asarray(sol.t), rtol=1e-12)


def test_a_ring_of_minima_is_one_attractor():
    """Case 4a: f = (|x|^2 - 1)^2: every start but the centre ends on the unit circle, one
    attractor of kind 'set'; the centre (a maximum) is -3."""
    ring = lambda x: (x[0] ** 2 + x[1] ** 2 - 1) ** 2
    bmap = fo.basins(fo.flows.GradientFlow(ring), schemes.Euler(),
                     fo.Grid(((-2, 2), (-2, 2)), (41, 41)), t1=50.0, dt0=1e-2)
    lab = bmap["label"].values
    assert bmap.sizes["attractor"] == 1 and str(bmap["attractor_kind"].values[0]) == "set"
    assert lab[20, 20] == -3 and (np.delete(lab.ravel(), 20 * 41 + 20) == 0).all()
    radii = np.linalg.norm(bmap["final_x"].values.reshape(-1, 2), axis=1)
    np.testing.assert_allclose(np.delete(radii, 20 * 41 + 20), 1.0, atol=1e-6)


def test_degenerate_minimum_and_degenerate_saddle():
    """Case 4b: the minimum of x^4 + y^4 (zero Hessian) is a minimum; the origin of
    x^2 - y^4 (Hessian diag(2, 0), the loss falls along y) is a saddle, -3."""
    quartic = fo.basins(fo.flows.GradientFlow(lambda x: x[0] ** 4 + x[1] ** 4), schemes.Euler(),
                        np.array([[0.0, 0.0]]), t1=1.0, dt0=1e-2)
    assert int(quartic["label"][0]) == 0 and int(quartic["steps"][0]) == 0
    saddle = fo.basins(fo.flows.GradientFlow(lambda x: x[0] ** 2 - x[1] ** 4), schemes.Euler(),
                       np.array([[0.5, 0.0], [0.0, 0.0]]), t1=20.0, dt0=1e-2)
    assert (saddle["label"].values == -3).all()


@pytest.mark.parametrize("tol", [1e-3, 1e-4, 1e-5])
def test_a_flow_stopping_short_of_an_inflection_is_not_at_a_minimum(tol):
    """f = x^3 + y^2 has one critical point, the origin, a cubic inflection (no minimum):
    gradient flow from x > 0 creeps towards it (x' = -3x^2) and stops at
    x ~ sqrt(tol/3), where the Hessian diag(6x, 2) is positive definite. Those ends must
    not be called minima (-3), at every tol. Beside it x^4 + y^2 (a degenerate minimum
    approached the same way) stays a minimum. Found on polyFive (Bensaid study), whose
    (2, -1) and (-2, 1) are a minimum along one axis and an inflection along the other."""
    starts = np.array([[0.5, 0.3], [1.0, -0.2], [0.2, 0.0], [1.5, 1.0]])
    kw = dict(t1=20.0 / np.sqrt(tol), dt0=1e-2, tol=tol)
    cubic = fo.basins(fo.flows.GradientFlow(lambda x: x[0] ** 3 + x[1] ** 2), schemes.Euler(),
                      starts, **kw)
    assert (cubic["time"].values < kw["t1"]).all()  # stopped by the tol criterion
    assert cubic["final_x"].values[:, 0].min() > 0.3 * np.sqrt(tol / 3)  # stopped short
    assert (cubic["label"].values == -3).all(), cubic["label"].values
    quartic = fo.basins(fo.flows.GradientFlow(lambda x: x[0] ** 4 + x[1] ** 2),
                        schemes.Euler(), starts, **kw)
    assert (quartic["label"].values == 0).all() and quartic.sizes["attractor"] == 1


def test_ends_short_of_a_known_degenerate_minimum_take_its_label():
    """x^4 + y^4: gradient flow stops where |grad| <= tol = 1e-3, i.e. 0.06-0.09 from the
    (degenerate) minimum at the origin, outside a matching radius of 0.02. Every start
    must still take the given attractor's label (the end point refined to its
    stationary point lies at the origin), with no new attractors; before, each distinct
    end point could become its own 'found' minimum (the Bensaid study's polyFive ER map
    had hundreds around (0, -1))."""
    starts = np.array([[0.5, 0.3], [-0.8, 0.1], [0.2, -0.9], [0.7, 0.7], [-0.4, -0.6]])
    bmap = fo.basins(fo.flows.GradientFlow(lambda x: x[0] ** 4 + x[1] ** 4), schemes.Euler(),
                     starts, t1=5000.0, dt0=1e-2, tol=1e-3, attractors=np.zeros((1, 2)),
                     radius=0.02)
    ends = np.linalg.norm(bmap["final_x"].values, axis=1)
    assert (ends > 0.02).all()  # stopped short, outside the radius
    assert (bmap["label"].values == 0).all(), bmap["label"].values
    assert bmap.sizes["attractor"] == 1


def test_polyfive_degenerate_points_are_not_minima():
    """polyFive (REFERENCE.md §5): sigma' has a double root at z = 1, so (w, b) = (2, -1)
    (u = b = -1 a minimum of sigma^2, v = w + b = 1 an inflection) and (-2, 1) are not
    minima of R; energy-controlled GD from a window around each ends next to them. Every
    start labelled a minimum must end within 0.05 of one of the four true minima
    (0, -1), (4, -1), (-4, 3), (0, 3) (exact, from the separable form of R)."""
    loss = fo.landscapes.NeuronPoly("polyFive")
    true = np.array([[0.0, -1.0], [4.0, -1.0], [-4.0, 3.0], [0.0, 3.0]])
    for centre in [(2.0, -1.0), (-2.0, 1.0)]:
        grid = fo.Grid(((centre[0] - 0.4, centre[0] + 0.4), (centre[1] - 0.4, centre[1] + 0.4)),
                       (12, 12))
        bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), grid, t1=2000.0,
                         dt0=0.1, controller=schemes.EnergyController(armijo=0.5),
                         tol=1e-4, max_steps=20000, attractors=true)
        lab = bmap["label"].values.ravel()
        ends = bmap["final_x"].values.reshape(-1, 2)
        at_min = lab >= 0
        dist = np.linalg.norm(ends[:, None] - true[None], axis=-1).min(1)
        assert (dist[at_min] <= 0.05).all(), ends[at_min & (dist > 0.05)]
        near = np.linalg.norm(ends - np.array(centre), axis=1) <= 0.05
        assert near.sum() >= 5 and (lab[near] == -3).all(), (centre, lab[near])


def test_clustering_does_not_depend_on_the_order_of_points():
    f = lambda x: (x[0] ** 2 - 1) ** 2 + (x[1] ** 2 - 4) ** 2 * 0.1
    rng = np.random.default_rng(1)
    centres = np.array([[a, b] for a in (-1, 1) for b in (-2, 2)])
    ends = centres[rng.integers(0, 4, 200)] + 1e-9 * rng.standard_normal((200, 2))
    status = np.ones(200, int)
    lab1, pos1, *_ = classify(f, ends, status, None, 0.1, 1e-6, 1.0)
    perm = rng.permutation(200)
    lab2, pos2, *_ = classify(f, ends[perm], status, None, 0.1, 1e-6, 1.0)
    np.testing.assert_allclose(pos1, pos2)
    np.testing.assert_array_equal(lab1[perm], lab2)
    np.testing.assert_allclose(pos1, centres[np.lexsort(centres.T[::-1])], atol=1e-8)


def test_compare_matches_attractors_by_position():
    """Case 5: a map of a plain function (minima found, ordered by position) against one of
    the landscape (known minima, the landscape's order): agreement = share of starts
    whose end points lie at the same minimum."""
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, (48, 48))
    a = fo.basins(fo.flows.GradientFlow(lambda x: loss(x)), schemes.Euler(), grid, t1=20.0,
                  dt0=1e-2)
    b = fo.basins(fo.flows.HeavyBall(loss, friction=1.0), schemes.SemiImplicitEuler(), grid,
                  t1=60.0, dt0=1e-2)
    assert not np.allclose(a["attractor_x"].values, b["attractor_x"].values)  # other orders
    near = lambda m: np.argmin(np.linalg.norm(
        m["final_x"].values[..., None, :] - loss.minima, axis=-1), -1)
    expect = (near(a) == near(b)).mean()
    cmp = fo.compare({"gd": a, "hb": b})
    assert float(cmp["agreement"].sel(name="gd", other="hb")) == pytest.approx(expect)
    assert 0.5 < expect < 0.7
    fr = cmp["fraction"].values[:, :4]
    np.testing.assert_allclose(fr.sum(1), 1.0)


def test_sweep_lines_up_attractors_by_position():
    """A sweep of dt0 on the six-hump camel (a second landscape): each column is the same
    minimum in every map, checked against the end points."""
    loss = fo.landscapes.SixHumpCamel()
    flow, grid = fo.flows.GradientFlow(lambda x: loss(x)), fo.Grid(loss.domain, (24, 24))
    sw = fo.sweep(flow, schemes.Euler(), grid, param="dt0", values=[1e-2, 2e-2], t1=10.0)
    table = sw["attractor_x"].values
    for i, dt in enumerate([1e-2, 2e-2]):
        m = fo.basins(flow, schemes.Euler(), grid, t1=10.0, dt0=dt)
        for j, pos in enumerate(table):
            share = (np.linalg.norm(m["final_x"].values - pos, axis=-1) < 1e-4).mean()
            assert float(sw["fraction"].values[i, j]) == pytest.approx(share)


def test_one_outcome_order_everywhere():
    """Case 12: fractions, probability, compare and sweep list 0..k-1, -1, -2, -3, -4, -5."""
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, 8)
    flow = fo.flows.GradientFlow(loss)
    a = fo.basins(flow, schemes.Euler(), grid, t1=2.0, dt0=1e-2)
    want = [0, 1, 2, 3, -1, -2, -3, -4, -5]
    assert list(fo.fractions(a)["outcome"].values) == want
    assert list(fo.compare({"a": a, "b": a})["outcome"].values) == want
    assert list(fo.sweep(flow, schemes.Euler(), grid, param="dt0", values=[1e-2],
                         t1=2.0)["outcome"].values) == want
    noisy = fo.basins(fo.flows.Langevin(loss, beta=5.0), schemes.Euler(), grid, t1=0.5,
                      dt0=1e-2, key=jax.random.key(0), replicas=2)
    assert list(noisy["outcome"].values) == want
    assert outcome_order(2) == [0, 1, -1, -2, -3, -4, -5]


def test_random_restarts_map_through_the_mapper():
    """Case 9: a set of uniform starts maps like a grid, with fractions, intervals and the
    table; labels equal the nearest minimum of a NumPy GD loop's end point."""
    loss = fo.landscapes.ThreeHumpCamel()
    starts = fo.sample_uniform(loss.domain, 60, jax.random.key(0))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), starts, t1=20.0, dt0=1e-2)
    assert bmap["label"].dims == ("start",)
    grad = lambda p: np.array([4 * p[0] - 4.2 * p[0] ** 3 + p[0] ** 5 + p[1], p[0] + 2 * p[1]])
    with np.errstate(all="ignore"):
        ends = np.array([numpy_gd(grad, x0, 1e-2, 2000)[1] for x0 in np.asarray(starts)])
    near = np.argmin(np.linalg.norm(ends[:, None] - loss.minima[None], axis=-1), 1)
    near[~np.isfinite(ends).all(1)] = -1  # blown up (x^5 terms near the domain's edge)
    assert 0 < (near == -1).sum() < 30
    np.testing.assert_array_equal(bmap["label"].values, near)
    frac = fo.fractions(bmap)
    assert float(frac["fraction"].sum()) == pytest.approx(1.0)
    row = fo.stationary_table(bmap)
    assert row["min 0"] == pytest.approx(100 * (near == 0).mean())
    assert fo.stationary_table(bmap["label"].values)["Diverged"] == pytest.approx(
        100 * (near == -1).mean())
    with pytest.raises(ValueError, match="plane"):
        fo.boundary_fraction(bmap)


def test_cycles_and_spurious_fixed_points_of_the_discrete_map():
    """Case 10: Himmelblau at dt 0.016: Euler's -4 starts sit on a 2-cycle, Euler-Richardson's
    -5 starts on fixed points of the midpoint map with a large gradient (checked in
    NumPy)."""
    loss = fo.landscapes.Himmelblau()
    grid = fo.Grid(loss.domain, (40, 40))
    flow = fo.flows.GradientFlow(loss)
    grad = himmelblau_grad
    dt = 1.6e-2
    eu = fo.basins(flow, schemes.Euler(), grid, t1=20.0, dt0=dt)
    cyc = eu["label"].values == -4
    assert 0.15 < cyc.mean() < 0.35 and (eu["period"].values[cyc] == 2).all()
    for x in eu["final_x"].values[cyc][:20]:
        once = x - dt * grad(x)
        twice = once - dt * grad(once)
        assert np.abs(twice - x).max() <= 1e-6 * 2 * dt < np.abs(once - x).max()
    er = fo.basins(flow, schemes.EulerRichardson(), grid, t1=20.0, dt0=dt)
    spur = er["label"].values == -5
    assert spur.mean() > 0.3 and (er["period"].values[spur] == 1).all()
    for x in er["final_x"].values[spur][:20]:
        step = dt * grad(x - 0.5 * dt * grad(x))
        assert np.abs(step).max() <= 1e-6 * dt and np.abs(grad(x)).max() > 1.0


def test_period_two_cycle_of_a_double_well():
    """Second landscape: f = (x^2 - 1)^2 + y^2 with Euler at dt = 0.26 > 2/8 (the
    curvature at the minima is 8): the minima turn into attracting 2-cycles."""
    f = lambda x: (x[0] ** 2 - 1) ** 2 + x[1] ** 2
    bmap = fo.basins(fo.flows.GradientFlow(f), schemes.Euler(), np.array([[0.7, 0.3]]),
                     t1=400 * 0.26, dt0=0.26)  # t1 a multiple of dt0: steps of exactly 0.26
    assert int(bmap["label"][0]) == -4 and int(bmap["period"][0]) == 2
    x = bmap["final_x"].values[0]
    g = lambda p: np.array([4 * p[0] * (p[0] ** 2 - 1), 2 * p[1]])
    y = x - 0.26 * g(x)
    np.testing.assert_allclose(y - 0.26 * g(y), x, atol=1e-6)
    assert abs(y[0] - x[0]) > 0.01


def test_unreached_minimum_has_capture_radius_zero_and_close_minima_stay_apart():
    """Case 14: no start reaches Himmelblau's minimum 3 under Euler at dt 0.016; two
    known attractors closer than 5% of the domain keep their own labels."""
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 32),
                     t1=20.0, dt0=1.6e-2)
    assert float(fo.capture_radius(bmap).values[3]) == 0.0
    f = lambda x: (x[0] ** 2 - 0.01) ** 2 + x[1] ** 2  # minima at x = +-0.1, 0.2 apart
    grid = fo.Grid(((-1, 1), (-1, 1)), (4, 8))
    for kw in (dict(attractors=[[-0.1, 0.0], [0.1, 0.0]]), {}, dict(radius=0.5)):
        close = fo.basins(fo.flows.GradientFlow(f), schemes.Euler(), grid, t1=400.0,
                          dt0=1e-2, **kw)
        xs = close.x.values
        np.testing.assert_allclose(close["attractor_x"].values, [[-0.1, 0], [0.1, 0]],
                                   atol=1e-5)
        assert (close["label"].values[:, xs < 0] == 0).all()
        assert (close["label"].values[:, xs > 0] == 1).all()


@pytest.mark.parametrize("kwargs, argument", [
    (dict(key=0), "key"),
    (dict(attractors=[[0.0, 0.0, 0.0]]), "attractors"),
    (dict(radius=-1.0), "radius"),
    (dict(radius=float("nan")), "radius"),
    (dict(far=-1.0), "far"),
    (dict(max_period=-1), "max_period"),
])
def test_mapper_bad_input_named(kwargs, argument):
    """Case 15 (mapper side): refused before anything compiles, naming the argument."""
    loss = fo.landscapes.Himmelblau()
    with pytest.raises((ValueError, TypeError), match=argument):
        fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 4),
                  t1=1.0, dt0=0.1, **kwargs)


def test_basins_names_itself_for_a_missing_scheme():
    loss = fo.landscapes.Himmelblau()
    with pytest.raises(TypeError, match=r"basins\(scheme=None\)"):
        fo.basins(fo.flows.GradientFlow(loss), None, fo.Grid(loss.domain, 4), t1=1.0,
                  dt0=0.1)


def test_filter_normalized_plane_through_network_weights():
    """Case 13: Li et al. (2018) normalize each filter (row of each weight matrix) to the
    norm of the matching filter of the centre; biases are 0 in the direction (their
    convention). Zero, non-finite, parallel directions and a centre of 0 are refused."""
    params = {"w1": np.arange(6.0).reshape(3, 2) + 1, "b1": np.ones(3),
              "w2": np.full((1, 3), 2.0)}
    u = {"w1": np.ones((3, 2)), "b1": np.ones(3), "w2": np.ones((1, 3))}
    v = {"w1": np.eye(3, 2), "b1": np.ones(3), "w2": np.arange(3.0).reshape(1, 3)}
    grid = fo.Grid.plane(params, u, v, (-1, 1), 5, normalize="filter")
    from jax.flatten_util import ravel_pytree
    expect_u = {"w1": np.ones((3, 2)) / np.sqrt(2) * np.linalg.norm(params["w1"], axis=1)[:, None],
                "b1": np.zeros(3), "w2": np.ones((1, 3)) / np.sqrt(3) * np.sqrt(12.0)}
    np.testing.assert_allclose(grid.u, np.asarray(ravel_pytree(expect_u)[0]), rtol=1e-12)
    np.testing.assert_allclose(grid.center, np.asarray(ravel_pytree(params)[0]))
    zero = {k: np.zeros_like(a) for k, a in params.items()}
    with pytest.raises(ValueError, match="weights_like"):
        fo.Grid.plane(zero, u, v, (-1, 1), 5, normalize="filter")
    ok = fo.Grid.plane(zero, u, v, (-1, 1), 5, normalize="filter", weights_like=params)
    np.testing.assert_allclose(ok.u, grid.u)
    for a, b, match in (([0, 0, 0], [0, 1, 0], "zero"), ([np.nan, 0, 0], [0, 1, 0], "finite"),
                        ([1, 0, 0], [2, 0, 0], "parallel")):
        with pytest.raises(ValueError, match=match):
            fo.Grid.plane(np.zeros(3), a, b, (-1, 1), 5, normalize="unit")


@pytest.mark.parametrize("control", ["fixed", "energy"])
def test_a_start_has_the_same_outcome_in_any_window(control):
    """The property behind cases 1-3: the starts shared by a wide window and a zoomed one
    (a plain function: no landscape metadata) reach the same attractor (by position),
    with the same steps and time, under fixed steps and under energy control."""
    loss = fo.landscapes.SixHumpCamel()
    flow = fo.flows.GradientFlow(lambda x: loss(x))
    kw = dict(t1=20.0, dt0=1e-2) if control == "fixed" else \
        dict(t1=20.0, dt0=0.2, controller=schemes.EnergyController())
    wide = fo.basins(flow, schemes.Euler(), fo.Grid(((-2, 2), (-1, 1)), (9, 17)), **kw)
    zoom = fo.basins(flow, schemes.Euler(), fo.Grid(((0.0, 0.5), (-0.75, -0.5)), (2, 3)), **kw)
    cols, rows = [8, 9, 10], [1, 2]  # wide.x[8:11] = 0, 0.25, 0.5; wide.y[1:3] = -0.75, -0.5
    np.testing.assert_allclose(wide.x.values[cols], zoom.x.values)
    np.testing.assert_allclose(wide.y.values[rows], zoom.y.values)
    sub = wide.isel(x=cols, y=rows)
    where = lambda m: np.where(m["label"].values[..., None] >= 0,
                               m["attractor_x"].values[np.maximum(m["label"].values, 0)], np.nan)
    np.testing.assert_allclose(where(sub), where(zoom), atol=1e-6)
    np.testing.assert_array_equal(sub["label"].values < 0, zoom["label"].values < 0)
    np.testing.assert_array_equal(sub["steps"].values, zoom["steps"].values)
    np.testing.assert_allclose(sub["time"].values, zoom["time"].values, rtol=1e-12)


def test_error_control_on_a_second_landscape():
    """Case 3a's kind on the six-hump camel with Tsit5 + PID: every start is labelled like
    scipy's DOP853 (rtol 1e-10) run, and its time is its own (<= t1)."""
    loss = fo.landscapes.SixHumpCamel()
    grid = fo.Grid(loss.domain, (6, 6))
    bmap = fo.basins(fo.flows.GradientFlow(loss), diffrax.Tsit5(), grid, t1=20.0, dt0=1e-2,
                     controller=diffrax.PIDController(rtol=1e-7, atol=1e-9))

    def grad(t, p):
        x, y = p
        return -np.array([8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3])

    expect = []
    for x0 in grid.points().reshape(-1, 2):
        end = scipy.integrate.solve_ivp(grad, (0, 20), x0, method="DOP853", rtol=1e-10,
                                        atol=1e-12).y[:, -1]
        d = np.linalg.norm(loss.minima - end, axis=1)
        expect.append(int(np.argmin(d)) if d.min() < 1e-4 else -3)
    np.testing.assert_array_equal(bmap["label"].values.ravel(), expect)
    assert (bmap["time"].values <= 20.0).all()


def test_edge_cases_found_in_review():
    """A start that meets the flow's test exactly at t1 is converged (not -5); a
    non-finite step is -1 for one- and two-array states alike; a diverging start's steps
    and end point do not depend on the chunk."""
    f = lambda x: jnp.sum((x - 1) ** 2) + jnp.sqrt(x[0])
    at_t1 = fo.basins(fo.flows.GradientFlow(f), schemes.Euler(), np.array([[0.3, 0.5]]),
                      t1=5.0, dt0=0.5)
    assert int(at_t1["label"][0]) == 0
    for flow, scheme in ((fo.flows.GradientFlow(f), schemes.Euler()),
                         (fo.flows.HeavyBall(f, friction=1.0), schemes.SemiImplicitEuler())):
        nan = fo.basins(flow, scheme, np.array([[0.05, 0.5]]), t1=5.0, dt0=0.5)
        assert int(nan["label"][0]) == -1 and int(nan["steps"][0]) == 1  # sqrt of x < 0
    g = lambda x: jnp.sum(x**2)  # Euler at dt 1.5: x -> -2x
    runs = [fo.basins(fo.flows.GradientFlow(g), schemes.Euler(), np.array([[1.0, 0.5]]),
                      t1=1500.0, dt0=1.5, chunk=c) for c in (7, 64)]
    for r in runs:
        assert int(r["label"][0]) == -1
    assert int(runs[0]["steps"][0]) == int(runs[1]["steps"][0])
    np.testing.assert_array_equal(runs[0]["final_x"].values, runs[1]["final_x"].values)


def test_align_keeps_separate_sets_and_relabels_probabilities():
    """Sets of minima at the same loss in one map (two rings) are never merged by align
    (a coarse grid may split a ring into arcs: its end points are too sparse to chain); a stochastic
    map's probabilities follow its attractors onto the shared table."""
    rings = lambda x: ((x[0] - 3 * jnp.sign(x[0])) ** 2 + x[1] ** 2 - 1) ** 2
    grid = fo.Grid(((-5, 5), (-2, 2)), (12, 8))
    bmap = fo.basins(fo.flows.GradientFlow(rings), schemes.Euler(), grid, t1=30.0, dt0=1e-2)
    sets = bmap["attractor_kind"].values == "set"
    reps = bmap["attractor_x"].values[sets]
    assert (reps[:, 0] < 0).any() and (reps[:, 0] > 0).any()  # sets on both rings
    aligned = fo.align({"a": bmap, "b": bmap})["a"]  # arcs of one ring join, rings don't
    assert aligned.sizes["attractor"] == 2
    side = np.sign(bmap["final_x"].values[..., 0])
    lab = aligned["label"].values
    for sgn in (-1, 1):
        on = (side == sgn) & (lab >= 0)
        assert len(np.unique(lab[on])) == 1
    assert np.unique(lab[(side < 0) & (lab >= 0)]) != np.unique(lab[(side > 0) & (lab >= 0)])
    loss = fo.landscapes.Himmelblau()
    plain = fo.basins(fo.flows.GradientFlow(lambda x: loss(x)), schemes.Euler(),
                      fo.Grid(loss.domain, 6), t1=10.0, dt0=1e-2)
    noisy = fo.basins(fo.flows.Langevin(loss, beta=50.0), schemes.Euler(),
                      fo.Grid(loss.domain, 6), t1=10.0, dt0=1e-2, key=jax.random.key(0),
                      replicas=3)
    al = fo.align({"plain": plain, "noisy": noisy})["noisy"]
    table = al["attractor_x"].values
    for j, pos in enumerate(noisy["attractor_x"].values):
        g = int(np.argmin(np.linalg.norm(table - pos, axis=1)))
        np.testing.assert_array_equal(al["probability"].sel(outcome=g).values,
                                      noisy["probability"].sel(outcome=j).values)
    np.testing.assert_allclose(al["probability"].sum("outcome").values, 1.0)
