"""Disconnectivity graphs: the level at which two minima join is the minimax barrier
between their basins, computed here independently by a flood fill (union-find over the
cells of a fine grid taken in increasing loss)."""

import itertools

import matplotlib

matplotlib.use("Agg")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot as plot  # noqa: E402


def flood_fill_levels(f, box, minima, n=601):
    """For each pair of minima, the loss of the grid cell whose addition first connects
    their cells when cells are added in increasing loss (4-neighbours), and the loss step
    between that cell and its neighbours (the grid's resolution there)."""
    xs = np.linspace(*box[0], n)
    ys = np.linspace(*box[1], n)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    Z = f(X, Y)
    parent = np.full(n * n, -1)  # -1: not yet flooded

    def find(i):
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    cells = [int(np.argmin((X - m[0]) ** 2 + (Y - m[1]) ** 2)) for m in minima]
    k = len(minima)
    level, resolution = np.full((k, k), np.inf), np.zeros((k, k))
    for c in np.argsort(Z, axis=None):
        parent[c] = c
        i, j = divmod(int(c), n)
        regions = {find((i + di) * n + j + dj) for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))
                   if 0 <= i + di < n and 0 <= j + dj < n and parent[(i + di) * n + j + dj] >= 0}
        for r in regions:
            parent[r] = c
        if len(regions) < 2:  # no two flooded regions meet at this cell
            continue
        roots = [find(m) if parent[m] >= 0 else -1 for m in cells]
        for p, q in itertools.combinations(range(k), 2):
            if roots[p] == roots[q] >= 0 and level[p, q] == np.inf:
                level[p, q] = level[q, p] = Z.flat[c]
                patch = Z[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
                resolution[p, q] = resolution[q, p] = np.max(np.abs(patch - Z.flat[c]))
        if np.all(np.isfinite(level + np.eye(k))):
            break
    return level, resolution


CASES = {
    "himmelblau": (fo.landscapes.Himmelblau(),
                   lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2),
    "six-hump camel": (fo.landscapes.SixHumpCamel(),
                       lambda x, y: (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y
                       + (-4 + 4 * y**2) * y**2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_join_levels_are_the_grid_minimax_barriers(name):
    loss, f = CASES[name]
    tree = fo.disconnectivity(loss, loss.minima, images=14)
    level, resolution = flood_fill_levels(f, loss.domain, loss.minima)
    k = len(loss.minima)
    assert tree.connected and tree.join.shape == (k, k)
    for p, q in itertools.combinations(range(k), 2):
        assert abs(tree.level(p, q) - level[p, q]) <= resolution[p, q], (p, q)
        assert tree.barrier(p, q) == pytest.approx(tree.level(p, q) - f(*loss.minima[p]))
    # the tree: leaves are the minima; a join sits above everything it joins
    g = tree.graph
    assert nx.is_tree(g.to_undirected()) and set(range(k)) <= set(g.nodes)
    for u, v in g.edges:
        assert g.nodes[u]["energy"] >= g.nodes[v]["energy"]
    # no two minima of one subtree are split by a minimum from outside: lines don't cross
    place = {m: i for i, m in enumerate(tree.order)}
    for node in g.nodes:
        spots = sorted(place[m] for m in g.nodes[node]["members"])
        assert spots == list(range(spots[0], spots[0] + len(spots)))


def test_from_edges_is_union_find_over_edges_by_energy():
    energies = [0.0, 1.0, 0.5, 2.0, 3.0]
    # 0-1 at 4, 1-2 at 2, 0-2 at 5 (redundant), 3-4 at 6; 4 joins the rest at 7
    edges = [(0, 1, 4.0), (1, 2, 2.0), (0, 2, 5.0), (3, 4, 6.0), (2, 4, 7.0)]
    tree = fo.Disconnectivity.from_edges(energies, edges)
    expected = np.array([[0, 4, 4, 7, 7], [4, 1, 2, 7, 7], [4, 2, 0.5, 7, 7],
                         [7, 7, 7, 2, 6], [7, 7, 7, 6, 3]], float)
    np.testing.assert_array_equal(tree.join, expected)
    assert tree.connected and len(tree.graph) == 5 + 4  # four binary joins
    # without the last edge: two trees, and minima of different trees never join
    forest = fo.Disconnectivity.from_edges(energies, edges[:-1])
    assert len(forest.roots) == 2 and forest.level(0, 3) == np.inf
    # a ladder of levels 0, 5, 10: 0-1-2 join at 5 in one node of three, all at 10
    ladder = fo.Disconnectivity.from_edges(energies, edges, levels=[0.0, 5.0, 10.0])
    assert ladder.level(0, 1) == ladder.level(1, 2) == 5.0 and ladder.level(3, 4) == 10.0
    tops = [n for n in ladder.graph if ladder.graph.out_degree(n) > 0]
    assert sorted(ladder.graph.out_degree(n) for n in tops) == [3, 3]


@pytest.mark.parametrize("edges, words", [
    ([(0, 0, 1.0)], "two different minima"),
    ([(0, 5, 1.0)], "two different minima"),
    ([(0, 1, -1.0)], "below one of its minima"),
    ([(0, 1)], "(i, j, energy)"),
])
def test_bad_edges_are_named(edges, words):
    with pytest.raises(ValueError, match="edges=") as err:
        fo.Disconnectivity.from_edges([0.0, 0.5], edges)
    assert words in str(err.value)


def test_catalogue_like_input_uses_its_minima_and_nearest_pairs():
    loss = fo.landscapes.Himmelblau()

    class Catalogue:  # duck-typed: what fo.catalogue returns
        positions = np.vstack([loss.minima, [[-0.270845, -0.923039]]])  # + the maximum
        losses = np.r_[np.zeros(4), 181.617]
        kind = np.array(["minimum"] * 4 + ["higher"])

    tree = fo.disconnectivity(loss, Catalogue(), pairs="nearest", neighbours=1, images=14)
    assert len(tree.energies) == 4 and tree.connected
    assert set(tree.paths) <= {p for p in itertools.combinations(range(4), 2)}
    assert tree.level(0, 1) == pytest.approx(13.3119, abs=1e-4)
    with pytest.raises(ValueError, match="minima="):
        fo.disconnectivity(loss, loss.minima[:1])
    with pytest.raises(ValueError, match="pairs="):
        fo.disconnectivity(loss, loss.minima, pairs="some")


def test_figures_draw_the_paths_and_the_tree():
    loss = fo.landscapes.Himmelblau()
    tree = fo.disconnectivity(loss, loss.minima, images=14)
    paths = {f"{i}-{j}": p for (i, j), p in tree.paths.items()}
    ax = plot.neb_profile(paths)
    lines = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(lines) == len(paths)
    for ln, p in zip(lines, paths.values()):
        np.testing.assert_allclose(ln.get_xdata(), p.distance)
        np.testing.assert_allclose(ln.get_ydata(), p.energies)
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*" and len(ln.get_xdata())]
    assert sorted(float(s.get_ydata()[0]) for s in stars[:len(paths)]) == \
        pytest.approx(sorted(p.transition_energy for p in paths.values()))
    ax = plot.disconnectivity(tree)
    verticals = {(ln.get_xdata()[0], ln.get_ydata()[0], ln.get_ydata()[1])
                 for ln in ax.get_lines() if ln.get_xdata()[0] == ln.get_xdata()[1]}
    for x, m in enumerate(tree.order):  # each minimum: from its loss up to its join
        join = min(tree.level(m, o) for o in range(4) if o != m)
        assert any(v[0] == x and v[1] == pytest.approx(tree.energies[m]) and
                   v[2] == pytest.approx(join) for v in verticals), m
    with pytest.raises(TypeError, match="tree="):
        plot.disconnectivity(loss.minima)
