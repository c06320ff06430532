"""Metrics of basin maps, each with the formula's reference."""

import numpy as np
import scipy.stats
import xarray as xr

from ..flows.base import _NOT_A_NUMBER, _real
from .classify import CODES, CYCLE, DIVERGED, NOT_CONVERGED, SADDLE, SPURIOUS, outcome_order


def _labels(bmap, name="metric"):
    """The labels of a map (a Dataset from fo.basins) or of an integer label array; refuses
    anything else, and empty maps, by name."""
    if isinstance(bmap, xr.Dataset):
        if "label" not in bmap:
            raise ValueError(f"{name}(bmap=...): this Dataset has no 'label' variable; pass a "
                             "map from fo.basins.")
        lab = np.asarray(bmap["label"].values)
    elif isinstance(bmap, (np.ndarray, list, tuple)) or hasattr(bmap, "__array__"):
        lab = np.asarray(bmap)
        if not np.issubdtype(lab.dtype, np.integer):
            raise ValueError(f"{name}(bmap=...): a plain array must hold integer labels "
                             f"(dtype {lab.dtype} given); pass a map from fo.basins.")
    else:
        raise TypeError(f"{name}(bmap={bmap!r}): pass a map from fo.basins (or an array of "
                        "integer labels).")
    if lab.size == 0:
        raise ValueError(f"{name}(bmap=...): the map has no starts (shape {lab.shape}).")
    return lab


def _plane(bmap, name):
    """The labels as a 2-D plane of at least 2 x 2 cells; a map over a set of starts has
    no neighbours."""
    lab = _labels(bmap, name)
    if lab.ndim != 2:
        raise ValueError(f"{name}(bmap=...): this metric needs a map over a plane of starts "
                         f"(fo.Grid), not labels of shape {lab.shape}; use fo.fractions for "
                         "a set of starts.")
    if min(lab.shape) < 2:
        raise ValueError(f"{name}(bmap=...): the map is {lab.shape[0]} x {lab.shape[1]} "
                         "cells; this metric compares neighbouring cells and needs at least "
                         "2 x 2.")
    return lab


def outcomes(bmap):
    """Outcome names in table order: attractors 0..k-1, then -1, -2, -3, -4, -5."""
    lab = _labels(bmap, "outcomes")
    k = bmap.sizes.get("attractor", 0) if isinstance(bmap, xr.Dataset) else \
        (int(max(lab.max(), -1)) + 1 if lab.size else 0)
    return outcome_order(k)


def fractions(bmap, confidence=0.95):
    r"""Share of starts per outcome with Wilson score intervals (Wilson 1927):
    $\hat p \pm$ the interval of $\frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n +
    z^2/4n^2}}{1 + z^2/n}$. Returns a Dataset over ``outcome`` with ``fraction``,
    ``low``, ``high``, ``count``. Diverged starts are an outcome like any other: no NaN.
    """
    lab = _labels(bmap, "fractions").ravel()
    n = lab.size
    v = _real(confidence)
    if v is _NOT_A_NUMBER or v is None or not 0 < v < 1:
        raise ValueError(f"fractions(confidence={confidence!r}): confidence must be a "
                         "number in (0, 1), e.g. confidence=0.95.")
    z = scipy.stats.norm.ppf(0.5 + v / 2)
    out = outcomes(bmap)
    count = np.array([(lab == o).sum() for o in out])
    p = count / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return xr.Dataset({"fraction": ("outcome", p), "low": ("outcome", centre - half),
                       "high": ("outcome", centre + half), "count": ("outcome", count)},
                      coords={"outcome": out}, attrs={"n": n, "confidence": confidence})


def boundary_fraction(bmap):
    """Share of cells with a 4-neighbour of a different label."""
    lab = _plane(bmap, "boundary_fraction")
    edge = np.zeros(lab.shape, bool)
    dx, dy = lab[:, 1:] != lab[:, :-1], lab[1:] != lab[:-1]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    return float(edge.mean())


def basin_entropy(bmap, box=5):
    r"""Basin entropy $S_b$ and boundary basin entropy $S_{bb}$ (Daza et al., Sci. Rep. 6,
    31416, 2016): cover the map with boxes of ``box`` x ``box`` cells; in box $i$ with
    outcome shares $p_{ij}$, $S_i = -\sum_j p_{ij}\log p_{ij}$; $S_b$ is the mean of $S_i$
    over all boxes, $S_{bb}$ over the boxes that meet a boundary ($S_i > 0$).
    Returns ``(Sb, Sbb)``; a single basin gives ``(0, 0)``. ``box`` must fit the map
    (an int from 1 to ``min(ny, nx)``)."""
    lab = _plane(bmap, "basin_entropy")
    if isinstance(box, (bool, np.bool_)) or not isinstance(box, (int, np.integer)) or \
            not 1 <= box <= min(lab.shape):
        raise ValueError(f"basin_entropy(box={box!r}): box must be an int from 1 to "
                         f"{min(lab.shape)} (the map is {lab.shape[0]} x {lab.shape[1]} "
                         f"cells), e.g. box={min(5, min(lab.shape))}.")
    ny, nx = (lab.shape[0] // box) * box, (lab.shape[1] // box) * box
    blocks = lab[:ny, :nx].reshape(ny // box, box, nx // box, box).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, box * box)
    ent = np.zeros(len(blocks))
    for o in np.unique(blocks):
        p = (blocks == o).mean(1)
        ent -= np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
    boundary = ent > 0
    return float(ent.mean()), float(ent[boundary].mean()) if boundary.any() else 0.0


def uncertainty_exponent(bmap, shifts=(1, 2, 4, 8, 16)):
    r"""Uncertainty exponent $\alpha$ by the $\epsilon$-perturbation method (Grebogi,
    McDonald, Ott, Yorke 1983): the share $f(\epsilon)$ of starts whose outcome changes
    when moved by $\epsilon$ scales as $\epsilon^\alpha$; the boundary's box dimension is
    $D - \alpha$ ($D = 2$ here). On the grid, $\epsilon$ = ``shift`` cells along x and
    y. Returns ``(alpha, eps, f)``; a smooth boundary gives $\alpha \approx 1$."""
    lab = _plane(bmap, "uncertainty_exponent")
    try:
        shifts = list(shifts)
    except TypeError:
        shifts = None
    if not shifts or not all(isinstance(k, (int, np.integer)) and not isinstance(
            k, (bool, np.bool_)) and k >= 1 for k in shifts) or min(shifts) >= min(lab.shape):
        raise ValueError(f"uncertainty_exponent(shifts={shifts!r}): shifts must be ints >= "
                         f"1, at least one below the map's size {min(lab.shape)}, e.g. "
                         "shifts=(1, 2, 4, 8).")
    eps, frac = [], []
    for k in sorted(set(int(k) for k in shifts)):
        if k >= min(lab.shape):
            break
        changed = np.concatenate([(lab[:, k:] != lab[:, :-k]).ravel(),
                                  (lab[k:] != lab[:-k]).ravel()])
        eps.append(k)
        frac.append(changed.mean())
    eps, frac = np.array(eps, float), np.array(frac)
    ok = frac > 0
    if ok.sum() < 2:
        return 0.0, eps, frac  # no boundary: nothing is uncertain
    alpha = np.polyfit(np.log(eps[ok]), np.log(frac[ok]), 1)[0]
    return float(alpha), eps, frac


def capture_radius(bmap):
    """Per attractor, the largest radius r such that every start of the map within r of
    the attractor (in R^d) returns to it: the distance to the nearest start labelled
    otherwise, less half a cell (seed 004: "starting very close to a minimum the
    optimizer may converge to another one"); 0 for an attractor no start reaches.
    Returns a DataArray over ``attractor``."""
    if not isinstance(bmap, xr.Dataset):
        raise TypeError(f"capture_radius(bmap={type(bmap).__name__}): pass a map from "
                        "fo.basins; the radius needs the starts' positions and attractors, "
                        "which a label array does not carry.")
    lab = _labels(bmap, "capture_radius").ravel()
    pts = _points(bmap).reshape(lab.size, -1)
    if "x" in bmap.coords:
        half = 0.5 * min(float(np.diff(bmap.x.values[:2])[0]),
                         float(np.diff(bmap.y.values[:2])[0]))
    else:
        half = 0.0
    radii = []
    for a, pos in enumerate(bmap["attractor_x"].values):
        other = lab != a
        if other.all():
            radii.append(0.0)  # nothing reaches it
        elif not other.any():
            radii.append(np.inf)
        else:
            d = np.sqrt(((pts[other] - pos) ** 2).sum(-1))
            radii.append(max(0.0, d.min() - half))
    return xr.DataArray(np.array(radii), coords={"attractor": bmap.attractor.values},
                        dims="attractor", name="capture_radius")


def escape_fraction(bmap, radius):
    """Per attractor, the share of the map's starts within ``radius`` (Euclidean, in R^d)
    of the attractor that end anywhere else (another attractor, diverged, not converged,
    ...): seed 004's "starting very close to a minimum the optimizer may converge to
    another one" as a number. NaN for an attractor with no start within ``radius``.
    Returns a DataArray over ``attractor`` with the counts in ``attrs``."""
    if not isinstance(bmap, xr.Dataset):
        raise TypeError(f"escape_fraction(bmap={type(bmap).__name__}): pass a map from "
                        "fo.basins; the fraction needs the starts' positions.")
    r = _real(radius)
    if r is _NOT_A_NUMBER or r is None or not 0 < r < np.inf:
        raise ValueError(f"escape_fraction(radius={radius!r}): radius must be a positive "
                         "number, e.g. radius=0.5.")
    lab = _labels(bmap, "escape_fraction").ravel()
    pts = _points(bmap).reshape(lab.size, -1)
    out, near = [], []
    for a, pos in enumerate(bmap["attractor_x"].values):
        inside = np.sqrt(((pts - pos) ** 2).sum(-1)) <= r
        near.append(int(inside.sum()))
        out.append(float((lab[inside] != a).mean()) if inside.any() else np.nan)
    return xr.DataArray(np.array(out), coords={"attractor": bmap.attractor.values},
                        dims="attractor", name="escape_fraction",
                        attrs={"radius": float(r), "starts_within": near})


def _points(bmap):
    """The starts in R^d, shape (..., d)."""
    if "x0" in bmap.coords:
        return bmap["x0"].values
    xs, ys = np.meshgrid(bmap.x.values, bmap.y.values)
    parse = lambda s: np.array([float(v) for v in s.strip("()").split(",") if v.strip()])
    c, u, v = (parse(bmap.attrs[k]) for k in ("grid_center", "grid_u", "grid_v"))
    return c + xs[..., None] * u + ys[..., None] * v


def stationary_table(bmap, names=None):
    """Percent of starts per minimum, then "Else" (not converged, a non-minimum, a cycle
    or a fixed point of the scheme) and "Diverged", in the form of seed 002's Table 1.
    ``bmap`` is a map (grid or set of starts) or an array of labels; ``names`` label the
    minima."""
    lab = _labels(bmap, "stationary_table").ravel()
    k = len(outcomes(bmap)) - len(CODES)
    names = [f"min {i}" for i in range(k)] if names is None else list(names)
    if len(names) != k:
        raise ValueError(f"stationary_table(names=...): give one name per attractor ({k}), "
                         f"not {len(names)}.")
    row = {name: 100.0 * (lab == i).mean() for i, name in enumerate(names)}
    row["Else"] = 100.0 * np.isin(lab, [NOT_CONVERGED, SADDLE, CYCLE, SPURIOUS]).mean()
    row["Diverged"] = 100.0 * (lab == DIVERGED).mean()
    return row


__all__ = ["CODES", "basin_entropy", "boundary_fraction", "capture_radius", "escape_fraction",
           "fractions",
           "outcomes", "stationary_table", "uncertainty_exponent"]
