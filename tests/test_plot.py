"""Figures draw the data they are given (Agg backend; no display needed)."""

import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot as plot  # noqa: E402
import schemes  # noqa: E402


def test_trajectories_and_energies_draw_the_solution():
    loss = fo.landscapes.Himmelblau()
    sol = fo.solve(fo.flows.GradientFlow(loss), schemes.Euler(), jnp.array([-0.5, -0.5]),
                   t1=2.0, dt0=1e-2, saveat="steps")
    ok = np.isfinite(np.asarray(sol.ts))
    ax = plot.trajectories(loss, {"GD": sol})
    line = ax.get_lines()[0]
    np.testing.assert_allclose(np.c_[line.get_xdata(), line.get_ydata()],
                               np.asarray(sol.xs)[ok])
    ax = plot.energies({"GD": sol}, reference=0.0)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               np.maximum(np.asarray(sol.energies)[ok], 1e-300))
    fig = plot.trajectory_grid(loss, {"a": sol, "b": sol, "c": sol, "d": sol}, ncols=3)
    assert sum(ax.get_visible() for ax in fig.axes) == 4


def test_basin_figure_colours_follow_the_labels():
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 16),
                     t1=5.0, dt0=1e-2)
    ax = plot.basins(bmap, shade_time=False, contours=False)
    rgb = ax.get_images()[0].get_array()[..., :3]
    labels = bmap["label"].values
    for a in range(4):  # one colour per basin, distinct between basins
        colours = {tuple(np.round(c, 4)) for c in rgb[labels == a]}
        assert len(colours) == 1
    assert len({tuple(np.round(rgb[labels == a][0], 4)) for a in range(4)}) == 4


def test_phase_plane_figure_names_its_axes_and_marks_rest_points():
    q = lambda x: (x[0] ** 2 - 1.0) ** 2
    flow = fo.flows.HeavyBall(q, friction=0.5)
    grid = fo.Grid.phase(flow, ((-2.0, 2.0), (-2.0, 2.0)), (16, 16), at=[0.0])
    bmap = fo.basins(flow, schemes.SemiImplicitEuler(), grid, t1=60.0, dt0=1e-2,
                     attractors=[[-1.0], [1.0]])
    ax = plot.basins(bmap)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "v")
    stars = ax.collections[-1].get_offsets()  # the minima at rest: (x*, 0)
    np.testing.assert_allclose(np.asarray(stars), [[-1.0, 0.0], [1.0, 0.0]])
    assert not ax.collections[:-1]  # no loss contours over a phase plane


# Maps built by hand, shaped like fo.basins' output (flowopt/basins/mapper.py::_dataset), so
# that these figure tests do not depend on the mapper.

def _map(labels, attractor_x, center=(0.0, 0.0), u=(1.0, 0.0), v=(0.0, 1.0),
         extent=((-1.0, 1.0), (-1.0, 1.0)), state=0, names=("x", "y")):
    import xarray as xr

    labels = np.asarray(labels, np.int32)
    ny, nx = labels.shape
    pos = np.atleast_2d(np.asarray(attractor_x, float))
    k, d = pos.shape
    x, y = np.linspace(*extent[0], nx), np.linspace(*extent[1], ny)
    final = np.full((ny, nx, d), np.nan)
    final[labels >= 0] = pos[labels[labels >= 0]]
    time = 1.0 + (np.arange(nx)[None] + np.arange(ny)[:, None]) / (nx + ny)
    return xr.Dataset(
        {"label": (("y", "x"), labels), "time": (("y", "x"), time),
         "steps": (("y", "x"), (100 * time).astype(int)),
         "final_x": (("y", "x", "dim"), final)},
        coords={"x": x, "y": y, "attractor": np.arange(k), "dim": np.arange(d),
                "attractor_x": (("attractor", "dim"), pos),
                "attractor_loss": (("attractor",), 0.1 * np.arange(k))},
        attrs={"grid_center": str(tuple(map(float, center))),
               "grid_u": str(tuple(map(float, u))), "grid_v": str(tuple(map(float, v))),
               "grid_names": str(tuple(names)), "grid_state": int(state), "dt0": 0.01,
               "radius": 0.05})


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _assert_outside(legend, axes, fig):
    """The legend covers none of the axes and lies inside the figure (not cut off)."""
    renderer = _drawn(fig)
    box = legend.get_window_extent(renderer)
    for ax in axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), (box, ax)
    whole = fig.bbox
    assert whole.x0 - 1 <= box.x0 and box.x1 <= whole.x1 + 1, (box, whole)
    assert whole.y0 - 1 <= box.y0 and box.y1 <= whole.y1 + 1, (box, whole)


def _stripes(n, ny=12, nx=24):
    return np.repeat(np.arange(nx)[None] * n // nx, ny, 0)


def test_legend_of_a_plane_through_r10_is_short_and_beside_the_map():
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(6, 10)) * 3.0
    c, u, v = np.zeros(10), np.eye(10)[0], np.eye(10)[1]
    labels = _stripes(6)
    labels[:2, :4] = -1
    labels[2:3, :4] = -2
    labels[3:4, :3] = -4
    bmap = _map(labels, pos, c, u, v, ((-3.0, 3.0), (-3.0, 3.0)), names=("u", "v"))
    ax = plot.basins(bmap)
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 6 + 3
    assert all(len(t) <= 40 for t in texts), texts  # no 10 coordinates per entry
    assert texts[0].startswith("0: ") and "10-d" in texts[0] and "f=0" in texts[0]
    assert texts[6:] == ["diverged", "not converged", "periodic cycle"]
    _assert_outside(legend, [ax], ax.figure)
    below = plot.basins(bmap, legend="below")
    _assert_outside(below.get_legend(), [below], below.figure)


def test_twelve_attractors_get_twelve_distinct_colours_apart_from_the_codes():
    labels = _stripes(12, nx=36)
    labels[0, :5] = [-1, -2, -3, -4, -5]
    bmap = _map(labels, np.c_[np.linspace(-0.9, 0.9, 12), np.zeros(12)])
    ax = plot.basins(bmap, shade_time=False)
    rgb = ax.get_images()[0].get_array()[..., :3]
    colour = {o: {tuple(np.round(c, 4)) for c in rgb[labels == o]} for o in range(-5, 12)}
    assert all(len(c) == 1 for c in colour.values())
    assert len(set().union(*colour.values())) == 17
    patches = ax.get_legend().get_patches()
    assert len({p.get_facecolor() for p in patches}) == 17
    # far beyond tab20: still distinct, and never (nearly) a neutral colour
    from matplotlib.colors import to_rgb

    many = np.array([to_rgb(plot._basin_color(a)) for a in range(60)])
    assert len({tuple(c) for c in np.round(many, 4)}) == 60
    neutral = plot._lab(np.array([to_rgb(c) for c, _ in plot._NEUTRAL.values()]))
    gap = np.sqrt(((plot._lab(many)[:, None] - neutral[None]) ** 2).sum(-1))
    assert gap.min() >= 15.0
    nn = np.sqrt(((neutral[:, None] - neutral[None]) ** 2).sum(-1))
    assert nn[~np.eye(5, dtype=bool)].min() >= 15.0  # the five codes apart from each other


def test_codes_are_listed_in_order_with_their_names():
    labels = np.zeros((8, 8), int)
    labels[0, :5] = [-5, -4, -3, -2, -1]
    bmap = _map(labels, [[0.0, 0.0]])
    texts = [t.get_text() for t in plot.basins(bmap).get_legend().get_texts()]
    assert texts[1:] == ["diverged", "not converged", "saddle / non-minimum", "periodic cycle",
                         "fixed point of the scheme"]


def _contour_sets(ax):
    from matplotlib.contour import ContourSet

    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_loss_contours_on_a_tilted_plane_through_r3_follow_the_loss():
    # on the plane c + a u + b v (u, v orthonormal) the loss (p.u + 0.3)^2 + 1 depends on a
    # alone: every contour line is vertical, at a = -0.3 +- sqrt(level)
    u = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    v = np.array([0.0, 0.0, 1.0])
    c = np.array([0.2, -0.2, 0.5])  # c.u = 0
    loss = lambda p: (jnp.dot(p, jnp.asarray(u)) + 0.3) ** 2 + 1.0
    on = c + 0.4 * u - 0.5 * v
    off = c + 0.1 * u + 0.6 * np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    bmap = _map(_stripes(2), [on, off], c, u, v, ((-1.0, 1.0), (-1.0, 1.0)), names=("u", "v"))
    ax = plot.basins(bmap, loss=loss)
    sets = _contour_sets(ax)
    assert len(sets) == 1
    lines = [q for p in sets[0].get_paths() for q in p.to_polygons(closed_only=False)]
    assert len(lines) >= 4  # several levels, each crossed twice
    for q in lines:  # vertical, across the window
        assert np.ptp(q[:, 0]) < 1e-6 and np.ptp(q[:, 1]) > 1.0
    crossing = sorted(q[0, 0] for q in lines)
    assert crossing[0] < -0.3 < crossing[-1]  # on both sides of the valley at a = -0.3
    stars = ax.collections[-1].get_offsets()  # the attractor on the plane, at (a, b)
    np.testing.assert_allclose(np.asarray(stars), [[0.4, -0.5]], atol=1e-9)
    # a plane of full states gets no loss contours
    state = _map(_stripes(2), [[0.0], [1.0]], (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), state=1)
    assert not _contour_sets(plot.basins(state, loss=lambda p: p[0] ** 2))


def test_contours_survive_a_loss_that_is_nan_on_half_the_window():
    def loss(p):
        return jnp.where(p[0] < 0, jnp.nan, jnp.sum(p ** 2))

    bmap = _map(_stripes(2), [[0.5, 0.0], [-0.5, 0.0]])
    sets = _contour_sets(plot.basins(bmap, loss=loss))
    assert len(sets) == 1 and any(len(p.vertices) for p in sets[0].get_paths())
    xs = np.concatenate([p.vertices[:, 0] for p in sets[0].get_paths() if len(p.vertices)])
    assert xs.min() >= -0.1  # only over the finite half

    class Half:
        domain = np.array([[-1.0, 1.0], [-1.0, 1.0]])

        def __call__(self, p):
            return jnp.where(p[1] > 0.2, jnp.inf, jnp.sum(p ** 2))

    ax = plot.landscape(Half())
    assert len(_contour_sets(ax)) == 2  # filled and lines


def test_compare_has_one_legend_for_all_maps_beside_the_panels():
    labels_a = _stripes(2)
    labels_b = _stripes(3)
    labels_b[0, :2] = [-4, -5]
    a = _map(labels_a, [[-0.5, 0.0], [0.5, 0.0]])
    b = _map(labels_b, [[0.5, 0.0], [0.0, 0.7], [-0.5, 0.0]])  # same minima, other indices
    a, b = (m.assign(time=m["time"] * 0 + 1) for m in (a, b))  # no shading: plain colours
    fig = plot.compare({"a": a, "b": b})
    assert len(fig.legends) == 1
    assert all(ax.get_legend() is None for ax in fig.axes)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(texts) == 3 + 2 and texts[3:] == ["periodic cycle", "fixed point of the scheme"]
    _assert_outside(fig.legends[0], fig.axes, fig)
    # attractors are matched by position: a's 0 and b's 2 are one minimum, one colour
    img_a, img_b = (ax.get_images()[0].get_array()[..., :3] for ax in fig.axes[:2])
    np.testing.assert_allclose(img_a[labels_a == 0][0], img_b[labels_b == 2][0])
    np.testing.assert_allclose(img_a[labels_a == 1][0], img_b[labels_b == 0][0])
    assert not np.allclose(img_b[labels_b == 1][0], img_a[labels_a == 0][0])


def test_sweep_legend_sits_beside_the_curves_in_the_given_order():
    import xarray as xr

    out = [0, 1, -1, -2, -3, -4, -5]
    frac = np.full((4, 7), 0.1)
    frac[:, 0] = 0.4
    res = xr.Dataset({"fraction": (("dt0", "outcome"), frac),
                      "boundary_fraction": ("dt0", [0.1, 0.2, 0.3, 0.4])},
                     coords={"dt0": [0.01, 0.02, 0.04, 0.08], "outcome": out},
                     attrs={"param": "dt0"})
    ax = plot.sweep(res)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["attractor 0", "attractor 1", "diverged", "not converged",
                     "saddle / non-minimum", "periodic cycle", "fixed point of the scheme",
                     "boundary fraction"]
    _assert_outside(ax.get_legend(), [ax], ax.figure)


def test_probability_names_every_code():
    import xarray as xr

    bmap = _map(_stripes(2, 6, 6), [[-0.5, 0.0], [0.5, 0.0]])
    out = [0, 1, -1, -2, -3, -4, -5]
    prob = np.full((7, 6, 6), 1 / 7)
    bmap = bmap.assign_coords(outcome=out).assign(
        probability=(("outcome", "y", "x"), prob), entropy=(("y", "x"), np.ones((6, 6))))
    fig = plot.probability(bmap, ncols=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[2:] == ["P(diverged)", "P(not converged)", "P(saddle / non-minimum)",
                          "P(periodic cycle)", "P(fixed point of the scheme)",
                          "outcome entropy (nats)"]
    assert titles[0].startswith("P(attractor 0")
    assert isinstance(bmap, xr.Dataset)


def test_a_legend_of_many_attractors_is_cut_short_and_leaves_the_map_its_room():
    labels = _stripes(120, ny=12, nx=120)
    rng = np.random.default_rng(1)
    bmap = _map(labels, rng.normal(size=(120, 10)), np.zeros(10), np.eye(10)[0], np.eye(10)[1])
    ax = plot.basins(bmap)
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[-1].startswith("+ ") and texts[-1].endswith("more attractors")
    assert len(texts) <= 3 * 40
    _assert_outside(legend, [ax], ax.figure)
    box = ax.get_window_extent(ax.figure.canvas.get_renderer())
    assert box.width / ax.figure.dpi > 3.0 and box.height / ax.figure.dpi > 3.0


def test_a_map_over_random_restarts_is_a_scatter(tmp_path):
    """A map over a set of starts (seed 002's restarts) draws each start as a dot in its
    outcome's colour, with the minima starred and the loss's contours."""
    import jax

    loss = fo.landscapes.Himmelblau()
    starts = fo.sample_uniform(loss.domain, 200, jax.random.key(1))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), starts, t1=10.0, dt0=1e-2)
    ax = fo.plot.basins(bmap, loss=loss)
    dots = ax.collections[-2]
    assert len(dots.get_offsets()) == 200
    assert len(np.unique(dots.get_facecolors()[:, :3], axis=0)) == 4  # four basins
    assert any(type(c).__name__ in ("QuadContourSet", "ContourSet") or
               hasattr(c, "levels") for c in ax.collections)
    ax.figure.savefig(tmp_path / "restarts.png")
