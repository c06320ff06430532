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
