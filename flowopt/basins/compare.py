"""Comparing discretizations: maps of one grid side by side, and sweeps of a parameter."""

import equinox as eqx
import numpy as np
import xarray as xr

from .mapper import basins
from .metrics import basin_entropy, boundary_fraction, fractions, outcomes


def compare(maps):
    """Compare basin maps of the same grid (a dict name -> map).

    Returns a Dataset with ``agreement`` (name, other): the share of cells labelled
    alike; ``disagreement`` (y, x): cells where not all maps agree; ``fraction``
    (name, outcome): each map's fractions side by side.
    """
    names = list(maps)
    if len(names) < 2:
        raise ValueError("compare(maps): pass at least two maps, e.g. {'euler': a, 'rk': b}.")
    first = maps[names[0]]
    for name in names[1:]:
        if maps[name]["label"].shape != first["label"].shape or not (
                np.allclose(maps[name].x, first.x) and np.allclose(maps[name].y, first.y)):
            raise ValueError(f"compare(maps): map {name!r} is not on the grid of {names[0]!r}.")
    labels = np.stack([maps[n]["label"].values for n in names])
    agree = (labels[:, None] == labels[None]).mean(axis=(2, 3))
    out = sorted(set().union(*(outcomes(maps[n]) for n in names)))
    table = np.array([[(maps[n]["label"].values == o).mean() for o in out] for n in names])
    return xr.Dataset(
        {"agreement": (("name", "other"), agree),
         "disagreement": (("y", "x"), (labels != labels[0]).any(0)),
         "fraction": (("name", "outcome"), table)},
        coords={"name": names, "other": names, "outcome": out, "x": first.x, "y": first.y})


def sweep(flow, scheme, grid, *, param, values, **kwargs):
    """Basin fractions and boundary metrics as a parameter varies.

    ``param`` is a keyword of :func:`flowopt.basins` (``"dt0"``, ``"t1"``) or a field of
    the flow (``"friction"``, ``"beta"``, ...). The attractors are those of the first map,
    so fractions line up. Returns a Dataset over ``param`` with ``fraction``
    (param, outcome), ``boundary_fraction``, ``Sb``, ``Sbb`` and the maps' ``label``.
    """
    values = list(values)
    if not values:
        raise ValueError("sweep(values=[]): pass at least one value.")
    if param not in ("dt0", "t1", "tol") and not hasattr(flow, param):
        raise ValueError(f"sweep(param={param!r}): not a basins keyword (dt0, t1, tol) nor a "
                         f"field of {type(flow).__name__}.")
    maps, attractors = [], kwargs.pop("attractors", None)
    for value in values:
        kw = dict(kwargs)
        f = flow
        if param in ("dt0", "t1", "tol"):
            kw[param] = value
        else:
            f = eqx.tree_at(lambda m: getattr(m, param), flow, value)
        bmap = basins(f, scheme, grid, attractors=attractors, **kw)
        if attractors is None:
            attractors = bmap["attractor_x"].values
        maps.append(bmap)
    out = sorted(set().union(*(outcomes(m) for m in maps)))
    frac = np.array([[(m["label"].values == o).mean() for o in out] for m in maps])
    ent = np.array([basin_entropy(m) for m in maps])
    return xr.Dataset(
        {"fraction": ((param, "outcome"), frac),
         "boundary_fraction": (param, [boundary_fraction(m) for m in maps]),
         "Sb": (param, ent[:, 0]), "Sbb": (param, ent[:, 1]),
         "label": ((param, "y", "x"), np.stack([m["label"].values for m in maps]))},
        coords={param: values, "outcome": out, "x": maps[0].x, "y": maps[0].y},
        attrs={"param": param})


__all__ = ["compare", "fractions", "sweep"]
