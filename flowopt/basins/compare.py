"""Comparing discretizations: maps of one grid side by side, and sweeps of a parameter.
Attractors of different maps are matched by position, never by index."""

import dataclasses
from collections.abc import Mapping

import equinox as eqx
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import xarray as xr
from scipy.spatial import cKDTree

from .._arguments import number
from ..flows.base import _NOT_A_NUMBER, _real
from .classify import outcome_order
from .mapper import basins
from .metrics import basin_entropy, boundary_fraction


def shared_attractors(maps):
    """Match the attractors of several maps (a list) by position: two attractors are the
    same when they lie within the larger of the two maps' ``radius`` of each other
    (connected components of those pairs, found with scipy's cKDTree), or when both are
    connected sets of minima (kind "set") of different maps at the same loss whose
    extents (``attractor_spread``) overlap. Returns ``(index, table,
    losses)``: per map, the shared index of each of its attractors; the shared
    positions in order of first appearance (map by map, index by index); their losses."""
    pos, owner, kind, value, radius, spread = [], [], [], [], [], []
    for n, m in enumerate(maps):
        for j in range(m.sizes.get("attractor", 0)):
            pos.append(m["attractor_x"].values[j])
            owner.append(n)
            kind.append(str(m["attractor_kind"].values[j]) if "attractor_kind" in m.coords
                        else "point")
            value.append(float(m["attractor_loss"].values[j]))
            radius.append(float(m.attrs.get("radius", 0.0)))
            spread.append(float(m["attractor_spread"].values[j])
                          if "attractor_spread" in m.coords else 0.0)
    total = len(pos)
    if total == 0:
        return [np.zeros(0, int) for _ in maps], np.zeros((0, 0)), np.zeros(0)
    pos, value, radius, owner = np.array(pos), np.array(value), np.array(radius), np.array(owner)
    pairs = np.array(sorted(cKDTree(pos).query_pairs(float(radius.max()))), int).reshape(-1, 2)
    if len(pairs):
        gap = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
        pairs = pairs[gap <= np.maximum(radius[pairs[:, 0]], radius[pairs[:, 1]])]
    sets = [i for i in range(total) if kind[i] == "set"]
    # sets of other maps at the same loss whose extents overlap (a map's own sets are
    # distinct by construction)
    extra = [(a, b) for ai, a in enumerate(sets) for b in sets[ai + 1:]
             if owner[a] != owner[b] and abs(value[a] - value[b]) <= 1e-6 * max(1.0, abs(value[a]))
             and np.linalg.norm(pos[a] - pos[b]) <= spread[a] + spread[b] + radius[a] + radius[b]]
    pairs = np.concatenate([pairs, np.array(extra, int).reshape(-1, 2)])
    graph = scipy.sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                                    shape=(total, total))
    comp = scipy.sparse.csgraph.connected_components(graph, directed=False)[1]
    first = {}
    for c in comp:  # shared index: order of first appearance
        first.setdefault(c, len(first))
    shared = np.array([first[c] for c in comp])
    rep = {}
    for i in range(total):
        rep.setdefault(shared[i], i)
    order = [rep[g] for g in range(len(first))]
    return [shared[owner == n] for n in range(len(maps))], pos[order], value[order]


def _check_maps(owner, maps, at_least=1):
    """``maps``: a dict name -> map from fo.basins, with at least ``at_least`` maps."""
    if not isinstance(maps, Mapping):
        raise TypeError(f"{owner}(maps={type(maps).__name__}): pass a dict name -> map, e.g. "
                        "{'euler': a, 'rk': b}, so that results carry the maps' names.")
    if len(maps) < at_least:
        raise ValueError(f"{owner}(maps): pass at least {at_least} maps, e.g. "
                         "{'euler': a, 'rk': b}.")
    for name, m in maps.items():
        if not (isinstance(m, xr.Dataset) and "label" in m and "attractor_x" in m.coords):
            raise TypeError(f"{owner}(maps={{{name!r}: {type(m).__name__}}}): each value must "
                            "be a map returned by fo.basins.")
    return list(maps)


_PLANE = ("grid_kind", "grid_center", "grid_u", "grid_v", "grid_state", "grid_shape")


def align(maps):
    """The maps (a dict name -> map) relabelled onto one shared attractor table
    (:func:`shared_attractors`: matched by position, never by index); negative codes are
    kept. Returns a dict of maps (same names) whose ``label`` and attractor coordinates
    use the shared indices; ``attractor_found`` says which a map itself found."""
    names = _check_maps("align", maps)
    index, table, losses = shared_attractors([maps[n] for n in names])
    k = len(table)
    out = {}
    for n, idx in zip(names, index):
        m = maps[n]
        lab = m["label"].values
        new = lab.copy()
        for j, g in enumerate(idx):
            new[lab == j] = g
        keep = {c: m.coords[c] for c in m.coords if "attractor" not in m.coords[c].dims}
        aligned = xr.Dataset({v: m[v] for v in m.data_vars if "attractor" not in m[v].dims},
                             coords=keep, attrs=m.attrs)
        aligned["label"] = (m["label"].dims, new)
        if "probability" in m:  # outcomes onto the shared attractors, codes kept
            old_out = list(m["outcome"].values)
            new_out = outcome_order(k)
            prob = np.zeros((len(new_out),) + m["probability"].shape[1:])
            for o, row in zip(old_out, m["probability"].values):
                prob[new_out.index(int(idx[o]) if o >= 0 else int(o))] += row
            aligned = aligned.drop_vars(["probability", "outcome"], errors="ignore")
            aligned = aligned.assign_coords(outcome=new_out)
            aligned["probability"] = (("outcome",) + m["probability"].dims[1:], prob)
        present = np.zeros(k, bool)
        present[idx] = True
        aligned = aligned.assign_coords(
            attractor=np.arange(k), attractor_x=(("attractor", "dim"), table.reshape(k, -1)),
            attractor_loss=(("attractor",), losses), attractor_found=(("attractor",), present))
        out[n] = aligned
    return out


def _fractions_table(maps, out):
    return np.array([[(m["label"].values == o).mean() for o in out] for m in maps])


def compare(maps):
    """Compare basin maps of the same grid (a dict name -> map), attractors matched by
    position (:func:`align`).

    Returns a Dataset with ``agreement`` (name, other): the share of starts with the same
    outcome (the same attractor, or the same negative code); ``disagreement`` (y, x):
    starts where not all maps agree; ``fraction`` (name, outcome): each map's
    fractions side by side, outcomes in the order 0..k-1, -1, -2, -3, -4, -5 of the
    shared attractor table ``attractor_x``.
    """
    names = _check_maps("compare", maps, at_least=2)
    first = maps[names[0]]
    for name in names[1:]:
        m = maps[name]
        same_grid = m["label"].shape == first["label"].shape and all(
            c in m.coords and c in first.coords and np.allclose(m[c], first[c])
            for c in (("x", "y") if "x" in first.coords else ("x0",)))
        plane = [a for a in _PLANE if m.attrs.get(a) != first.attrs.get(a)]
        if not same_grid or plane:
            why = f" (they differ in {', '.join(plane)})" if plane else ""
            raise ValueError(f"compare(maps): map {name!r} is not on the grid of "
                             f"{names[0]!r}{why}; compare maps of the same starts: the same "
                             "fo.Grid / Grid.plane or the same array of starts.")
    aligned = align(maps)
    labels = np.stack([aligned[n]["label"].values for n in names])
    agree = (labels[:, None] == labels[None]).reshape(len(names), len(names), -1).mean(-1)
    k = aligned[names[0]].sizes["attractor"]
    out = outcome_order(k)
    dims = first["label"].dims
    coords = {"name": names, "other": names, "outcome": out,
              "attractor_x": (("attractor", "dim"), aligned[names[0]]["attractor_x"].values)}
    coords.update({c: first[c] for c in dims if c in first.coords})
    return xr.Dataset(
        {"agreement": (("name", "other"), agree),
         "disagreement": (dims, (labels != labels[0]).any(0)),
         "fraction": (("name", "outcome"), _fractions_table([aligned[n] for n in names], out))},
        coords=coords)


def sweep(flow, scheme, grid, *, param, values, **kwargs):
    """Basin fractions and boundary metrics as a parameter varies.

    ``param`` is a keyword of :func:`flowopt.basins` (``"dt0"``, ``"t1"``, ``"tol"``) or
    a field of the flow (``"friction"``, ``"beta"``, ...; set with ``eqx.tree_at``,
    then checked as the constructor checks it). Attractors are matched across the maps
    by position (:func:`align`), so fractions line up. Returns a Dataset over ``param``
    with ``fraction`` (param, outcome), ``boundary_fraction``, ``Sb``, ``Sbb`` and the
    maps' ``label``.
    """
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"sweep(values={values!r}): pass a list of values, e.g. "
                        "values=[0.01, 0.02, 0.05].") from None
    if not values:
        raise ValueError("sweep(values=[]): pass at least one value.")
    fields = {f.name for f in dataclasses.fields(flow)} if dataclasses.is_dataclass(flow) \
        else set()
    numeric = param in fields and _real(getattr(flow, param)) is not _NOT_A_NUMBER
    if param not in ("dt0", "t1", "tol") and not numeric:
        kind = ("a field that is not a number" if param in fields else
                "a property, not a field" if hasattr(flow, param) else "not a field")
        names = sorted(f for f in fields if _real(getattr(flow, f)) is not _NOT_A_NUMBER)
        raise ValueError(f"sweep(param={param!r}): {param!r} is {kind} of "
                         f"{type(flow).__name__}; sweep a basins keyword (dt0, t1, tol) or a "
                         f"numeric parameter of the flow ({', '.join(names) or 'none'}).")
    runs = []  # every value checked before the first map is computed
    for value in values:
        kw = dict(kwargs)
        f = flow
        if param in ("dt0", "t1", "tol"):
            kw[param] = value
            number("sweep", param, value, minimum=0.0)
        else:
            f = eqx.tree_at(lambda m: getattr(m, param), flow, value)
            f.check()  # eqx.tree_at skips __check_init__
        runs.append((f, kw))
    maps = [basins(f, scheme, grid, **kw) for f, kw in runs]
    aligned = list(align(dict(enumerate(maps))).values())
    k = aligned[0].sizes["attractor"]
    out = outcome_order(k)
    plane = aligned[0]["label"].ndim == 2  # boundary metrics need neighbours
    # Daza et al.'s boxes of 5 x 5 cells, smaller where the map is (recorded in attrs)
    box = min(5, *aligned[0]["label"].shape) if plane else 0
    ent = np.array([basin_entropy(m, box=box) if plane and box >= 1 else (np.nan, np.nan)
                    for m in aligned])
    dims = maps[0]["label"].dims
    coords = {param: values, "outcome": out,
              "attractor_x": (("attractor", "dim"), aligned[0]["attractor_x"].values)}
    coords.update({c: maps[0][c] for c in dims if c in maps[0].coords})
    return xr.Dataset(
        {"fraction": ((param, "outcome"), _fractions_table(aligned, out)),
         "boundary_fraction": (param, [boundary_fraction(m) if plane else np.nan
                                       for m in aligned]),
         "Sb": (param, ent[:, 0]), "Sbb": (param, ent[:, 1]),
         "label": ((param,) + dims, np.stack([m["label"].values for m in aligned]))},
        coords=coords, attrs={"param": param, "box": box})


__all__ = ["align", "compare", "shared_attractors", "sweep"]
