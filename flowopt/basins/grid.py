"""Grids of initial conditions: a 2-D box, a plane through R^d, a plane through the full
state (position x velocity), random restarts."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree


@dataclasses.dataclass(frozen=True)
class Grid:
    r"""A ``(ny, nx)`` grid of starts $c + x\,u + y\,v$ on a plane through $\mathbb{R}^d$.

    ``fo.Grid(bounds, shape)`` is the plain grid over a 2-D landscape: ``bounds`` is
    ``((x_lo, x_hi), (y_lo, y_hi))`` (a landscape's ``domain`` fits), ``shape`` is
    ``(ny, nx)`` or one int. Cell centres sit on ``linspace(lo, hi, n)``.
    :meth:`plane` builds the general case; :meth:`phase` and :meth:`state` put the grid
    on a plane through the flow's full state (e.g. position x velocity of a heavy ball):
    there ``c``, ``u``, ``v`` are flattened states and ``unravel`` turns a point back into
    a state. ``names`` label the two axes.
    """

    bounds: tuple
    shape: tuple
    center: tuple = (0.0, 0.0)
    u: tuple = (1.0, 0.0)
    v: tuple = (0.0, 1.0)
    unravel: Callable | None = None
    names: tuple = ("x", "y")

    def __init__(self, bounds, shape, center=None, u=None, v=None, unravel=None,
                 names=None):
        b = _check_bounds("Grid", "bounds", bounds)
        shp = _check_shape("Grid", shape)
        d = 2 if center is None else len(center)
        center = np.zeros(d) if center is None else np.asarray(center, float)
        u = np.eye(d)[0] if u is None else np.asarray(u, float)
        v = np.eye(d)[1] if v is None else np.asarray(v, float)
        if not (center.shape == u.shape == v.shape == (d,)):
            raise ValueError("Grid.plane: center, u and v must all have shape (d,).")
        as_floats = lambda a: tuple(float(c) for c in a)
        object.__setattr__(self, "bounds", tuple(as_floats(r) for r in b))
        object.__setattr__(self, "shape", tuple(int(n) for n in shp))
        object.__setattr__(self, "center", as_floats(center))
        object.__setattr__(self, "u", as_floats(u))
        object.__setattr__(self, "v", as_floats(v))
        object.__setattr__(self, "unravel", unravel)
        object.__setattr__(self, "names", ("x", "y") if names is None else
                           tuple(str(n) for n in names))

    @classmethod
    def plane(cls, center, u, v, extent, shape, normalize=None, weights_like=None):
        """The grid ``center + a u + b v`` for ``a, b`` in ``extent`` (one ``(lo, hi)`` for
        both axes, or one per axis). ``center``, ``u``, ``v`` are vectors of shape (d,)
        or pytrees of the same structure (a network's parameters: they are flattened with
        ``jax.flatten_util.ravel_pytree``).

        ``normalize="unit"`` scales ``u`` and ``v`` to norm 1. ``normalize="filter"`` is
        the filter normalization of Li, Xu, Taylor, Studer & Goldstein (2018): in every
        leaf with two or more axes each filter (a row: ``leaf[i]``, one output unit of a
        dense layer) of the direction is rescaled to the norm of the matching filter of
        ``weights_like`` (default ``center``); leaves with fewer axes (biases) are set to
        0 in the direction, as in their paper. Raises ValueError for directions that are
        zero, non-finite or parallel, or that filter normalization makes zero (every
        filter of the reference is 0, e.g. through a centre of 0: pass weights_like)."""
        if normalize not in (None, "unit", "filter"):
            raise ValueError(f"Grid.plane(normalize={normalize!r}): use None, 'unit' or "
                             "'filter'.")
        if isinstance(center, (list, np.ndarray, jax.Array)):  # plain vectors
            center, u, v = (np.asarray(a, float) for a in (center, u, v))
            weights_like = None if weights_like is None else np.asarray(weights_like, float)
        ref = center if weights_like is None else weights_like
        flat_c, _ = ravel_pytree(center)
        dirs = []
        for name, w in (("u", u), ("v", v)):
            if jax.tree_util.tree_structure(w) != jax.tree_util.tree_structure(center):
                raise ValueError(f"Grid.plane({name}=...): {name} must have the structure of "
                                 "center (a vector of the same shape, or the same pytree).")
            if normalize == "filter":
                w = _filter_normalized(name, w, ref)
            fw = np.asarray(ravel_pytree(w)[0], float)
            if fw.shape != np.shape(flat_c):
                raise ValueError(f"Grid.plane({name}=...): {name} has {fw.size} numbers, "
                                 f"center {np.size(flat_c)}.")
            if not np.all(np.isfinite(fw)) or not np.any(fw):
                raise ValueError(f"Grid.plane({name}=...): the direction {name} is zero or "
                                 "not finite; pass a finite, non-zero direction.")
            dirs.append(fw / np.linalg.norm(fw) if normalize == "unit" else fw)
        cos = abs(dirs[0] @ dirs[1]) / (np.linalg.norm(dirs[0]) * np.linalg.norm(dirs[1]))
        if cos > 1 - 1e-9:
            raise ValueError("Grid.plane(u=..., v=...): u and v are parallel; pass two "
                             "independent directions.")
        return cls(_extent("Grid.plane", extent), _check_shape("Grid.plane", shape),
                   center=np.asarray(flat_c, float), u=dirs[0], v=dirs[1], names=("u", "v"))

    @classmethod
    def state(cls, y0, u, v, extent, shape, names=("a", "b")):
        """The grid of initial *states* ``y0 + a u + b v`` for ``a, b`` in ``extent`` (one
        ``(lo, hi)`` for both axes, or one per axis); ``y0``, ``u``, ``v`` are states of
        the flow (pytrees shaped like ``flow.init(x0)``). :meth:`phase` is the common
        case."""
        flat, unravel = ravel_pytree(y0)
        dirs = []
        for name, w in (("u", u), ("v", v)):
            fw, _ = ravel_pytree(w)
            if jax.tree_util.tree_structure(w) != jax.tree_util.tree_structure(y0) or \
                    fw.shape != flat.shape:
                raise ValueError(f"Grid.state({name}=...): {name} must be a state shaped "
                                 f"like y0 ({jax.tree_util.tree_structure(y0)}, {flat.size} "
                                 "numbers in all).")
            dirs.append(np.asarray(fw, float))
        return cls(_extent("Grid.state", extent), _check_shape("Grid.state", shape),
                   center=np.asarray(flat, float), u=dirs[0], v=dirs[1], unravel=unravel,
                   names=names)

    @classmethod
    def phase(cls, flow, bounds, shape, *, x=0, v=0, at=None):
        """A phase-plane grid for a flow whose state is ``(x, q)`` with ``q`` shaped like
        the position (heavy ball and Nesterov velocity, underdamped Langevin, RMSProp's
        second moment): the horizontal axis is position coordinate ``x``, the vertical
        one coordinate ``v`` of ``q``; ``bounds = ((x_lo, x_hi), (v_lo, v_hi))``. The
        other coordinates are those of ``flow.init(at)`` (``at`` defaults to the
        origin: at rest there). For a 1-D loss this is the whole phase plane."""
        from ..flows.base import AbstractFlow

        if not isinstance(flow, AbstractFlow):
            raise TypeError(f"Grid.phase(flow={flow!r}): pass the flow whose phase plane "
                            "this is, e.g. fo.flows.HeavyBall(loss).")
        loss = flow.loss
        if at is None:
            dim = getattr(loss, "dim", None)
            if dim is None:
                raise ValueError("Grid.phase(at=None): the loss has no known dimension; "
                                 "pass at=<a position of shape (d,)>.")
            at = np.zeros(dim)
        bounds = _check_bounds("Grid.phase", "bounds", bounds)
        shape = _check_shape("Grid.phase", shape)
        try:
            at = jnp.asarray(at, float)
        except (TypeError, ValueError):
            at = jnp.zeros(0)
        dim = getattr(loss, "dim", None)
        if at.ndim != 1 or at.size < 1 or (dim is not None and at.shape != (dim,)) or \
                not bool(jnp.all(jnp.isfinite(at))):
            want = f"({dim},)" if dim is not None else "(d,)"
            raise ValueError(f"Grid.phase(at={at if at.size else None!r}): at is the position "
                             f"the other coordinates are taken from; pass a finite position "
                             f"of shape {want}, the loss's dimension.")
        y0 = flow.init(at)
        if not (isinstance(y0, tuple) and len(y0) == 2 and
                all(getattr(p, "shape", None) == at.shape for p in y0)):
            raise ValueError(f"Grid.phase(flow={type(flow).__name__}(...)): its state is not "
                             "a pair (x, q) of position-shaped arrays; use Grid.state(y0, u, "
                             "v, extent, shape) for other states, or fo.Grid for positions.")
        d = at.shape[0]
        for name, i in (("x", x), ("v", v)):
            if not (isinstance(i, (int, np.integer)) and 0 <= i < d):
                raise ValueError(f"Grid.phase({name}={i!r}): {name} must be a coordinate "
                                 f"index in 0..{d - 1}.")
        e = lambda i: jnp.zeros(d).at[i].set(1.0)
        base = (y0[0].at[x].set(0.0), y0[1].at[v].set(0.0))
        q = "v" if flow.second_order else "q"
        names = ("x", q) if d == 1 else (f"x[{x}]", f"{q}[{v}]")
        return cls.state(base, (e(x), jnp.zeros(d)), (jnp.zeros(d), e(v)), bounds, shape,
                         names=names)

    @property
    def dim(self):
        """Dimension of the points: the position's, or the flattened state's."""
        return len(self.center)

    @property
    def x(self):
        return np.linspace(*self.bounds[0], self.shape[1])

    @property
    def y(self):
        return np.linspace(*self.bounds[1], self.shape[0])

    @property
    def cell(self):
        """Cell size along x and y (in plane coordinates)."""
        return (np.ptp(self.bounds[0]) / (self.shape[1] - 1),
                np.ptp(self.bounds[1]) / (self.shape[0] - 1))

    def points(self):
        """Starts, shape ``(ny, nx, d)``."""
        c, u, v = (np.asarray(a, float) for a in (self.center, self.u, self.v))
        out = np.multiply.outer(np.asarray(self.y, float), v)[:, None, :] + c  # (ny, 1, d)
        return out + np.multiply.outer(np.asarray(self.x, float), u)[None]

    def points_at(self, flat):
        """The starts with flat (row-major) indices ``flat``, shape ``(len(flat), d)``:
        the same numbers as ``points().reshape(-1, d)[flat]`` (the same operations in
        the same order), without building the whole grid (a tile of a huge map)."""
        flat = np.asarray(flat)
        iy, ix = np.divmod(flat, self.shape[1])
        c, u, v = (np.asarray(a, float) for a in (self.center, self.u, self.v))
        return (np.asarray(self.y, float)[iy, None] * v + c) + \
            np.asarray(self.x, float)[ix, None] * u

    def __len__(self):
        return self.shape[0] * self.shape[1]


def _filter_normalized(name, direction, reference):
    """Li et al. (2018): each filter (row of a leaf with >= 2 axes) of ``direction`` takes
    the norm of the matching filter of ``reference``; leaves with fewer axes become 0; a
    plain vector is one filter."""
    def one(d, r):
        d, r = np.asarray(d, float), np.asarray(r, float)
        if d.shape != r.shape:
            raise ValueError(f"Grid.plane({name}=..., normalize='filter'): a leaf of shape "
                             f"{d.shape} meets a reference leaf of shape {r.shape}.")
        if d.ndim < 2:
            return np.zeros_like(d)
        dn = np.linalg.norm(d.reshape(len(d), -1), axis=1)
        rn = np.linalg.norm(r.reshape(len(r), -1), axis=1)
        scale = np.where(dn > 0, rn / np.where(dn > 0, dn, 1.0), 0.0)
        return d * scale.reshape((-1,) + (1,) * (d.ndim - 1))
    if isinstance(direction, np.ndarray) and direction.ndim == 1:  # a plain vector: one filter
        out = one(direction[None], np.asarray(reference, float)[None])[0]
    else:
        out = jax.tree_util.tree_map(one, direction, reference)
    if not any(np.any(leaf) for leaf in jax.tree_util.tree_leaves(out)):
        raise ValueError(f"Grid.plane({name}=..., normalize='filter'): every filter of the "
                         "reference weights has norm 0 (a centre of 0?), so the direction "
                         "would be 0; pass weights_like=<trained weights>, or "
                         "normalize='unit'.")
    return out


def _extent(owner, extent):
    """``(lo, hi)`` for both axes, or one per axis -> ``((lo, hi), (lo, hi))``."""
    try:
        ext = np.asarray(extent, float)
    except (TypeError, ValueError):
        ext = np.zeros(0)
    return _check_bounds(owner, "extent", np.stack([ext, ext]) if ext.shape == (2,) else ext,
                         given=extent)


def _check_bounds(owner, name, bounds, given=None):
    """``((x_lo, x_hi), (y_lo, y_hi))``, finite, lo < hi, as a (2, 2) float array."""
    given = bounds if given is None else given
    try:
        b = np.asarray(bounds, float)
    except (TypeError, ValueError):
        b = np.zeros(0)
    if b.shape != (2, 2) or not np.all(np.isfinite(b)) or not np.all(b[:, 0] < b[:, 1]):
        example = ("(-1.0, 1.0) for both axes or ((a_lo, a_hi), (b_lo, b_hi))"
                   if name == "extent" else
                   "((x_lo, x_hi), (y_lo, y_hi)), e.g. loss.domain for a 2-D loss")
        raise ValueError(f"{owner}({name}={given!r}): {name} must be finite (lo, hi) pairs "
                         f"with lo < hi: {example}.")
    return b


def _check_shape(owner, shape):
    """``(ny, nx)`` (or one int for both) with both >= 2, as a tuple of ints."""
    is_int = lambda n: isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
    shp = (shape, shape) if is_int(shape) else \
        tuple(shape) if isinstance(shape, (tuple, list)) else None
    if shp is None or len(shp) != 2 or not all(is_int(n) and n >= 2 for n in shp):
        raise ValueError(f"{owner}(shape={shape!r}): shape must be (ny, nx), two ints >= 2, "
                         "or one int for both, e.g. shape=(256, 256).")
    return tuple(int(n) for n in shp)


class Starts:
    """A set of starts, shape ``(n, d)`` (random restarts, a list of points): the mapper
    maps it over the dimension ``start`` instead of a plane's ``(y, x)``."""

    unravel = None
    names = ("start", "")
    u = v = ()

    def __init__(self, starts):
        pts = np.asarray(starts, float)
        if pts.ndim != 2 or len(pts) < 1 or not np.all(np.isfinite(pts)):
            raise ValueError(f"basins(grid=array of shape {pts.shape}): a set of starts must "
                             "be a finite array of shape (n, d), one row per start, e.g. "
                             "fo.sample_uniform(loss.domain, 500, key).")
        self.starts = pts
        self.shape = (len(pts),)
        self.center = tuple(pts.mean(0))
        self.bounds = tuple(zip(pts.min(0).tolist(), pts.max(0).tolist()))

    @property
    def dim(self):
        return self.starts.shape[1]

    def points(self):
        return self.starts

    def points_at(self, flat):
        return self.starts[np.asarray(flat)]

    def __len__(self):
        return len(self.starts)


def sample_uniform(domain, n, key):
    """``n`` starts uniform over ``domain`` (``(d, 2)`` bounds with lo < hi), for random
    restarts; shape ``(n, d)``. ``fo.basins`` maps such a set like a grid."""
    domain = np.asarray(domain, float)
    if domain.ndim != 2 or domain.shape[1] != 2:
        raise ValueError(f"sample_uniform(domain=...): domain must have shape (d, 2), not "
                         f"{domain.shape}.")
    if not (np.all(np.isfinite(domain)) and np.all(domain[:, 0] < domain[:, 1])):
        raise ValueError(f"sample_uniform(domain={domain.tolist()}): every row must be a "
                         "finite (lo, hi) with lo < hi.")
    if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"sample_uniform(n={n!r}): n must be an int >= 1.")
    return jax.random.uniform(key, (n, domain.shape[0]), minval=domain[:, 0],
                              maxval=domain[:, 1])
