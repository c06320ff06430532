"""Disconnectivity graphs (Becker & Karplus 1997; Wales, Miller & Walsh 1998; REFERENCE.md §6).

Two minima join at the lowest energy at which some path connects them, i.e. at the lowest
"highest point" over all paths (the minimax barrier). Given transition states as edges
between minima with their energies, that level is found by union-find over the edges in
increasing energy (Kruskal's algorithm): the edge that first puts two minima in one group
sets their join level. The groups and their joins form a tree, drawn with each minimum a
vertical line from its energy up to the level at which it joins.
"""

import dataclasses

import networkx as nx
import numpy as np

from .. import _arguments
from .neb import neb


@dataclasses.dataclass(frozen=True, eq=False)
class Disconnectivity:
    """A disconnectivity tree (what :func:`disconnectivity` returns).

    Energies are in the loss's units.

    Attributes:
        graph: a ``networkx.DiGraph`` tree (a forest if some minima never join), edges
            parent -> child. Nodes ``0 .. k-1`` are the minima; nodes ``k, k+1, ...`` are
            joins. Every node has ``energy`` (a minimum's loss, or the join level) and
            ``members`` (the sorted tuple of minima below it); joins also carry
            ``edge`` (the transition-state edge ``(i, j)`` that made them).
        energies: ``(k,)`` loss at each minimum.
        join: ``(k, k)`` the level at which minima ``i`` and ``j`` first share a group
            (the minimax barrier energy; ``inf`` if they never do; ``energies`` on the
            diagonal).
        edges: the transition-state edges ``(i, j, energy)`` used, sorted by energy.
        roots: the top node of each tree, in drawing order.
        order: minima from left to right in a drawing in which no lines cross.
        positions: ``(k, d)`` minima, when known.
        paths: ``{(i, j): ElasticBand}`` the NEB paths behind the edges (from
            :func:`disconnectivity`; ``None`` from :meth:`from_edges`).
        levels: the ladder of energies joins were rounded up to, or ``None`` (exact).
    """

    graph: nx.DiGraph
    energies: np.ndarray
    join: np.ndarray
    edges: tuple
    roots: tuple
    order: tuple
    positions: np.ndarray | None = None
    paths: dict | None = None
    levels: np.ndarray | None = None

    def level(self, i, j):
        """The energy at which minima ``i`` and ``j`` join (``inf`` if never)."""
        return float(self.join[i, j])

    def barrier(self, i, j):
        """The lowest barrier from minimum ``i`` to minimum ``j``: ``join - energy[i]``."""
        return float(self.join[i, j] - self.energies[i])

    @property
    def connected(self):
        """Whether all minima are in one tree."""
        return len(self.roots) == 1

    def __repr__(self):
        top = max(self.graph.nodes[r]["energy"] for r in self.roots)
        return (f"Disconnectivity(minima={len(self.energies)}, edges={len(self.edges)}, "
                f"trees={len(self.roots)}, top={top:.6g})")

    @classmethod
    def from_edges(cls, energies, edges, *, positions=None, levels=None, paths=None):
        """The tree from minima energies and transition-state edges (union-find).

        Args:
            energies: ``(k,)`` loss at each minimum.
            edges: iterable of ``(i, j, energy)``: a path of highest energy ``energy``
                connects minima ``i`` and ``j`` (a transition state between them).
            positions: optional ``(k, d)`` minima, kept for reference.
            levels: ``None`` for exact join levels; an int ``m`` for ``m`` evenly spaced
                levels from the lowest minimum to the highest join, or an increasing
                array of levels: each join is rounded up to the next level and groups
                that join between the same two levels merge at one node (Wales' ladder).
            paths: optional ``{(i, j): ElasticBand}`` kept with the tree.

        Raises:
            ValueError: non-finite energies, an edge naming a minimum out of range or
                itself, an edge energy below one of its minima or not finite, bad levels.
        """
        e = np.asarray(energies, float)
        if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)):
            raise ValueError(f"Disconnectivity.from_edges(energies=...): pass a (k,) array "
                             f"of finite minima energies, got shape {e.shape}.")
        k = e.size
        clean = []
        for edge in edges:
            try:
                i, j, level = edge
                i, j, level = int(i), int(j), float(level)
            except (TypeError, ValueError):
                raise ValueError(f"Disconnectivity.from_edges(edges=...): each edge is "
                                 f"(i, j, energy), got {edge!r}.") from None
            if not (0 <= i < k and 0 <= j < k) or i == j:
                raise ValueError(f"Disconnectivity.from_edges(edges=...): edge {edge!r} must "
                                 f"join two different minima among 0..{k - 1}.")
            if not np.isfinite(level) or level < max(e[i], e[j]) - 1e-12 * (1 + abs(level)):
                raise ValueError(f"Disconnectivity.from_edges(edges=...): edge {edge!r} has "
                                 f"energy {level}, below one of its minima ({e[i]}, {e[j]}) "
                                 "or not finite; a path lies at or above both its ends.")
            clean.append((i, j, max(level, e[i], e[j])))
        clean.sort(key=lambda t: t[2])
        ladder = _ladder(levels, e, clean)

        graph = nx.DiGraph()
        for i in range(k):
            graph.add_node(i, energy=float(e[i]), members=(i,))
        parent = list(range(k))  # union-find over minima

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        top = list(range(k))  # top tree node of each group, indexed by its root
        join = np.full((k, k), np.inf)
        np.fill_diagonal(join, e)
        for i, j, level in clean:
            ri, rj = find(i), find(j)
            if ri == rj:
                continue
            at = level if ladder is None else _round_up(ladder, level)
            ni, nj = top[ri], top[rj]
            a, b = graph.nodes[ni]["members"], graph.nodes[nj]["members"]
            join[np.ix_(a, b)] = at
            join[np.ix_(b, a)] = at
            # joins at one ladder level are one node (several children), as in Wales' graphs
            same = [n for n in (ni, nj) if n >= k and graph.nodes[n]["energy"] == at]
            if same:
                node, other = same[0], nj if same[0] == ni else ni
                if other in same:  # both already joins at this level: fold one into the other
                    for c in list(graph.successors(other)):
                        graph.add_edge(node, c)
                    graph.remove_node(other)
                else:
                    graph.add_edge(node, other)
            else:
                node = max(graph.nodes) + 1
                graph.add_node(node, energy=float(at), edge=(i, j))
                graph.add_edge(node, ni)
                graph.add_edge(node, nj)
            graph.nodes[node]["members"] = tuple(sorted(a + b))
            parent[rj] = ri
            top[ri] = node
        roots = sorted({top[find(i)] for i in range(k)},
                       key=lambda r: min(e[m] for m in graph.nodes[r]["members"]))
        order = tuple(m for r in roots for m in _leaves(graph, r, e))
        return cls(graph=graph, energies=e, join=join, edges=tuple(clean),
                   roots=tuple(roots), order=order,
                   positions=None if positions is None else np.asarray(positions, float),
                   paths=paths, levels=ladder)


def _ladder(levels, e, edges):
    if levels is None:
        return None
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        m = _arguments.integer("disconnectivity", "levels", levels, minimum=2)
        hi = max([t[2] for t in edges], default=float(e.max()))
        return np.linspace(float(e.min()), hi if hi > e.min() else e.min() + 1.0, m)
    ladder = np.asarray(levels, float)
    if ladder.ndim != 1 or ladder.size < 2 or not np.all(np.isfinite(ladder)) or \
            not np.all(np.diff(ladder) > 0):
        raise ValueError(f"disconnectivity(levels={levels!r}): pass None (exact joins), an "
                         "int >= 2, or an increasing 1-D array of finite energies.")
    return ladder


def _round_up(ladder, level):
    """The lowest ladder level at or above ``level`` (``level`` itself above the top)."""
    i = np.searchsorted(ladder, level, side="left")
    return float(ladder[i]) if i < ladder.size else float(level)


def _leaves(graph, node, e):
    """Minima below ``node`` in an order where subtrees stay contiguous (so no lines
    cross), children taken lowest minimum first."""
    children = list(graph.successors(node))
    if not children:
        return [node]
    children.sort(key=lambda c: min(e[m] for m in graph.nodes[c]["members"]))
    return [m for c in children for m in _leaves(graph, c, e)]


def _minima(owner, loss, minima):
    """Positions (k, d) and energies (k,) from an array of minima or a catalogue (anything
    with ``.positions``, ``.losses`` and ``.kind``: the rows of kind "minimum")."""
    if all(hasattr(minima, a) for a in ("positions", "losses", "kind")):
        kind = np.asarray(minima.kind)
        keep = kind == "minimum"
        pos = np.asarray(minima.positions, float)[keep]
        if pos.shape[0] < 2:
            raise ValueError(f"{owner}(minima=...): the catalogue holds {pos.shape[0]} "
                             "minima; a disconnectivity graph needs at least 2.")
        return pos, np.asarray(minima.losses, float)[keep]
    pos = np.asarray(_arguments.points(owner, "minima", minima), float)
    if pos.ndim != 2 or pos.shape[0] < 2:
        raise ValueError(f"{owner}(minima=...): pass a (k, d) array of k >= 2 minima (or a "
                         f"catalogue from fo.catalogue), got shape {pos.shape}.")
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{owner}(minima=...): some minima have non-finite coordinates.")
    import jax
    import jax.numpy as jnp
    return pos, np.asarray(jax.vmap(loss)(jnp.asarray(pos)), float)


def _pairs(owner, pos, pairs, neighbours):
    k = pos.shape[0]
    if isinstance(pairs, str):
        if pairs not in ("auto", "all", "nearest"):
            raise ValueError(f"{owner}(pairs={pairs!r}): pairs is 'auto', 'all', 'nearest' "
                             "or a list of (i, j).")
        if pairs == "all" or (pairs == "auto" and k <= 8):
            return [(i, j) for i in range(k) for j in range(i + 1, k)]
        from scipy.spatial import cKDTree

        m = _arguments.integer(owner, "neighbours", neighbours)
        _, near = cKDTree(pos).query(pos, k=min(m + 1, k))
        return sorted({(min(i, int(j)), max(i, int(j))) for i in range(k)
                       for j in np.atleast_1d(near[i]) if int(j) != i})
    out = []
    for p in pairs:
        i, j = (int(v) for v in p)
        if not (0 <= i < k and 0 <= j < k) or i == j:
            raise ValueError(f"{owner}(pairs=...): pair {p!r} must name two different "
                             f"minima among 0..{k - 1}.")
        out.append((min(i, j), max(i, j)))
    return sorted(set(out))


def disconnectivity(loss, minima, *, pairs="auto", neighbours=4, connect=True, levels=None,
                    images=16, **neb_options):
    """Disconnectivity graph of ``loss`` over ``minima``, with transition states from
    climbing-image NEB paths between pairs of minima (:func:`neb`).

    Each NEB path between minima ``i`` and ``j`` is an edge at its highest energy (the
    refined saddle's, or the highest image's when it could not be refined): a path
    below that level connects them. Union-find over the edges in increasing energy gives
    each pair of minima its join level, the lowest energy at which some chain of paths
    connects them (:meth:`Disconnectivity.from_edges`). With pairs between all adjacent
    minima, that is the minimax barrier between their basins.

    Args:
        loss: a JAX-traceable function from ``(d,)`` to a scalar.
        minima: ``(k, d)`` array of minima, or a catalogue (anything with
            ``.positions`` ``(k, d)``, ``.losses`` ``(k,)`` and ``.kind``, e.g. from
            ``fo.catalogue``): its rows of kind ``"minimum"`` are used.
        pairs: ``"all"``; ``"nearest"`` (each minimum with its ``neighbours`` nearest,
            scipy ``cKDTree``); ``"auto"`` (all pairs for ``k <= 8``, else nearest); or a
            list of ``(i, j)``.
        neighbours: how many nearest neighbours per minimum for ``"nearest"``.
        connect: while the minima fall into several groups, also run NEB between the
            closest two minima of different groups (at most ``k - 1`` more paths).
        levels: ``None`` (exact join levels), or a ladder (see
            :meth:`Disconnectivity.from_edges`).
        images: images per NEB path; other keyword arguments go to :func:`neb`.

    Returns:
        A :class:`Disconnectivity`; ``.paths`` holds the NEB paths by pair.

    Raises:
        ValueError: fewer than two minima, non-finite minima, bad ``pairs`` or ``levels``;
            and what :func:`neb` raises (e.g. two equal minima).

    Example:
        >>> import flowopt as fo
        >>> f = fo.landscapes.Himmelblau()
        >>> tree = fo.disconnectivity(f, f.minima, pairs="nearest", neighbours=2)
        >>> round(tree.level(0, 1), 3), round(tree.level(0, 3), 3)
        (13.312, 104.015)

    References:
        O. M. Becker, M. Karplus, "The topology of multidimensional potential energy
        surfaces: theory and application to peptide structure and kinetics",
        J. Chem. Phys. 106, 1495 (1997).
        D. J. Wales, M. A. Miller, T. R. Walsh, "Archetypal energy landscapes",
        Nature 394, 758 (1998).
    """
    pos, energies = _minima("disconnectivity", loss, minima)
    todo = _pairs("disconnectivity", pos, pairs, neighbours)
    paths = {}

    def run(i, j):
        paths[(i, j)] = neb(loss, pos[i], pos[j], images=images, **neb_options)

    for i, j in todo:
        run(i, j)
    if connect:
        for _ in range(pos.shape[0]):
            group = _groups(pos.shape[0], paths)
            if len(set(group)) == 1:
                break
            far = group[:, None] != group[None, :]
            dist = np.where(far, np.linalg.norm(pos[:, None] - pos[None], axis=-1), np.inf)
            i, j = np.unravel_index(np.argmin(dist), dist.shape)
            run(int(min(i, j)), int(max(i, j)))
    edges = [(i, j, _edge_energy(p)) for (i, j), p in paths.items()]
    edges = [t for t in edges if np.isfinite(t[2])]
    return Disconnectivity.from_edges(energies, edges, positions=pos, levels=levels,
                                      paths=paths)


def _edge_energy(path):
    """The highest energy along a path: the refined saddle or the highest image."""
    top = float(np.max(path.energies)) if np.all(np.isfinite(path.energies)) else np.inf
    return max(top, float(path.transition_energy)) if path.refined else top


def _groups(k, paths):
    """Connected groups of minima under the pairs already run (finite paths only)."""
    g = nx.Graph()
    g.add_nodes_from(range(k))
    g.add_edges_from(pair for pair, p in paths.items() if np.isfinite(_edge_energy(p)))
    label = np.empty(k, int)
    for n, comp in enumerate(nx.connected_components(g)):
        label[list(comp)] = n
    return label
