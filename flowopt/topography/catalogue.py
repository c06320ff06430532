"""``fo.catalogue``: the stationary points of a loss found from a set of candidates,
refined, told apart and classified by their Hessian index (Wales, *Energy Landscapes*,
Cambridge University Press 2003, ch. 2 and 6: a minimum has index 0, a transition state
index 1; stationary points of higher index are rarely of interest).

Candidates come from a list of points, a grid, random restarts, a restart process
(:mod:`flowopt.restarts`: basin hopping, noise in the model) or a basin map's attractors
(then each entry carries the share of starts whose flow reaches it). Each candidate is
refined to a stationary point by Newton's method on the gradient (optimistix's root
finder: a root of the gradient may be a minimum, a saddle or a maximum) or first by BFGS
minimisation (optimistix) and then Newton, or taken as they are (``method="none"``:
candidates that are already converged, such as trained networks); refined points closer
than ``radius`` are one point (scipy's cKDTree), and minima joined by a flat valley (a
ring) are one entry, as in the basin mapper.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
import scipy.sparse
import scipy.sparse.csgraph
import xarray as xr
from scipy.spatial import cKDTree

from .._arguments import integer, number
from ..basins.classify import _derivatives, _link, _np_derivatives, _polish, _probe_decreases
from ..basins.grid import Grid, Starts, sample_uniform
from ..basins.metrics import fractions
from ..landscapes.base import Landscape
from ..restarts import _Process

KINDS = ("minimum", "saddle", "higher")
METHODS = ("newton", "bfgs")  # refinements; fo.catalogue also takes "none" (no refinement)
_PROBE_FLAT = 1e-3  # eigenvalues below this share of the curvature scale are probed
_DEGENERATE = 1e-6  # ... and below this share, the Hessian is called singular


@dataclasses.dataclass(frozen=True, eq=False)
class Catalogue:
    """Stationary points of a loss, ordered by loss (then position).

    Attributes (``k`` entries, dimension ``d``):
        positions: ``(k, d)`` the stationary points.
        losses: ``(k,)`` the loss at each.
        index: ``(k,)`` int, the Hessian index: the number of negative eigenvalues, plus,
            where the Hessian is singular, the null eigenvectors along which the loss
            decreases on either side (higher-order probe). Degenerate minima have index 0.
        eigenvalues: ``(k, d)`` Hessian eigenvalues, ascending.
        kind: ``(k,)`` ``"minimum"`` (index 0), ``"saddle"`` (index 1) or ``"higher"``.
        degenerate: ``(k,)`` bool, the Hessian is singular (an eigenvalue within 1e-6 of
            the curvature scale from zero).
        volume: ``(k,)`` share of a basin map's starts that reach the entry (NaN when
            the catalogue does not come from a map).
        gradient: ``(k,)`` max-norm of the gradient left at each point.
        members: ``(k,)`` refined candidates merged into the entry.
        spread: ``(k,)`` largest distance of a merged candidate from the entry's
            position: 0 for a point, the size of the set for a connected set of minima
            (a ring), whose ``positions`` row is one point of the set.
        source: where the candidates came from (text).
    """

    positions: np.ndarray
    losses: np.ndarray
    index: np.ndarray
    eigenvalues: np.ndarray
    kind: np.ndarray
    degenerate: np.ndarray
    volume: np.ndarray
    gradient: np.ndarray
    members: np.ndarray
    spread: np.ndarray
    source: str = ""

    def __len__(self):
        return len(self.losses)

    @property
    def dim(self):
        return self.positions.shape[1]

    def __getitem__(self, which):
        """The sub-catalogue of the entries ``which`` (a bool mask, indices or a slice),
        in catalogue order."""
        sel = np.arange(len(self))[which]
        sel = np.sort(np.atleast_1d(sel))
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[sel]
                                            for f in dataclasses.fields(self)
                                            if f.name != "source"})

    @property
    def minima(self):
        """The sub-catalogue of minima (degenerate ones included)."""
        return self[self.kind == "minimum"]

    @property
    def saddles(self):
        """The sub-catalogue of index-1 saddles (transition states)."""
        return self[self.kind == "saddle"]

    def counts(self):
        """Entries per kind, as a dict ``{"minimum": n0, "saddle": n1, "higher": n2}``."""
        return {k: int(np.sum(self.kind == k)) for k in KINDS}

    def to_dataframe(self):
        """A pandas DataFrame, one row per entry: kind, index, loss, volume, degenerate,
        members, gradient, then the coordinates ``x0 .. x{d-1}``."""
        import pandas as pd

        cols = {"kind": self.kind, "index": self.index, "loss": self.losses,
                "volume": self.volume, "degenerate": self.degenerate,
                "members": self.members, "gradient": self.gradient}
        cols.update({f"x{j}": self.positions[:, j] for j in range(self.dim)})
        return pd.DataFrame(cols)

    def __repr__(self):
        c = self.counts()
        head = (f"Catalogue({len(self)} stationary points in d = {self.dim}: "
                f"{c['minimum']} minima, {c['saddle']} saddles, {c['higher']} higher"
                + (f"; from {self.source}" if self.source else "") + ")")
        if not len(self):
            return head
        rows = [f"{'':>4} {'kind':<8} {'index':>5} {'loss':>14} {'volume':>8} {'degen':>5}"
                "  position"]
        show = min(len(self), 20)
        for i in range(show):
            x = self.positions[i]
            pos = ", ".join(f"{v:.6g}" for v in x[:4]) + (", ..." if len(x) > 4 else "")
            vol = "" if np.isnan(self.volume[i]) else f"{self.volume[i]:.4f}"
            rows.append(f"{i:>4} {self.kind[i]:<8} {self.index[i]:>5} {self.losses[i]:>14.8g} "
                        f"{vol:>8} {'yes' if self.degenerate[i] else '':>5}  ({pos})")
        if show < len(self):
            rows.append(f"     ... {len(self) - show} more")
        return "\n".join([head] + rows)


# ---------------------------------------------------------------- refinement (optimistix)

@eqx.filter_jit
def _newton(loss, x0, rtol, atol, max_steps):
    """Newton's method on the gradient from each row of ``x0``: optimistix's root finder,
    with an SVD solve so that a singular Hessian (a degenerate point) takes the
    pseudo-inverse step instead of failing."""
    solver = optx.Newton(rtol=rtol, atol=atol, linear_solver=lx.SVD())
    grad = jax.grad(loss)

    def one(x):
        return optx.root_find(lambda y, _: grad(y), solver, x, max_steps=max_steps,
                              throw=False).value

    return jax.vmap(one)(x0)


@eqx.filter_jit
def _bfgs(loss, x0, rtol, atol, max_steps):
    """BFGS minimisation (optimistix) from each row of ``x0``."""
    solver = optx.BFGS(rtol=rtol, atol=atol)

    def one(x):
        return optx.minimise(lambda y, _: loss(y), solver, x, max_steps=max_steps,
                             throw=False).value

    return jax.vmap(one)(x0)


def _tolerances(dtype):
    """Newton's tolerance (optimistix rtol = atol: on the step and on the gradient) and
    the default gradient bound of a stationary point, in the precision of ``dtype``."""
    if jnp.finfo(dtype).bits >= 64:
        return 1e-10, 1e-6
    return 1e-5, 1e-3


def _bucket(n):
    """Rows padded to a power of two (at least 8): a loss compiles for a few shapes only,
    whatever the number of candidates or stationary points."""
    return max(8, 1 << max(int(n) - 1, 0).bit_length())


def _padded(fn, loss, pts, *rest):
    """``fn(loss, pts, *rest)`` on rows padded by repeating the last (rows are
    independent), sliced back to ``len(pts)``."""
    n = len(pts)
    idx = np.minimum(np.arange(_bucket(n)), n - 1)
    out = fn(loss, pts[idx], *(r[idx] if isinstance(r, np.ndarray) else r for r in rest))
    if isinstance(out, tuple):
        return tuple(o[:n] for o in out)
    return out[:n]


def _derivs(loss, pts):
    """Loss, gradient and Hessian eigenpairs at each row of ``pts`` (padded rows: a power
    of two from 8, not the mapper's 64, which costs 8 Hessians per point at d = 136)."""
    if not len(pts):
        return _np_derivatives(loss, pts)
    return _padded(lambda f, p: tuple(np.asarray(a, float) for a in _derivatives(
        f, jnp.asarray(p, jax.dtypes.canonicalize_dtype(float)))), loss, pts)


@eqx.filter_jit
def _gradients(loss, pts):
    return jax.vmap(jax.grad(loss))(pts)


def _refine(loss, starts, method, gtol, max_steps):
    """Refined stationary points from ``starts`` (n, d), with the index of the start each
    came from and its gradient's max-norm: non-finite ends and ends whose gradient
    exceeds ``gtol`` are dropped (``method="none"``: the starts themselves)."""
    n = len(starts)
    x0 = jnp.asarray(np.asarray(starts)[np.minimum(np.arange(_bucket(n)), n - 1)],
                     dtype=float)
    tol, default_gtol = _tolerances(x0.dtype)
    gtol = default_gtol if gtol is None else gtol
    if method == "bfgs":
        x0 = _bfgs(loss, x0, tol, tol, max_steps)
    if method == "none":
        x = np.asarray(x0, float)[:n]
    else:
        x = np.asarray(_newton(loss, x0, tol, tol, max_steps), float)[:n]
    keep = np.all(np.isfinite(x), axis=1)
    gnorm = np.full(n, np.inf)
    if keep.any():
        g = np.asarray(_padded(_gradients, loss, jnp.asarray(x[keep], x0.dtype)), float)
        gnorm[keep] = np.where(np.all(np.isfinite(g), 1), np.abs(g).max(1), np.inf)
    keep = gnorm <= gtol
    return x[keep], np.nonzero(keep)[0], gnorm[keep]


def _merge(points, radius):
    """Connected components of points closer than ``radius`` (cKDTree pairs)."""
    n = len(points)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    graph = scipy.sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                                    shape=(n, n))
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1]


def _curvature_scale(loss, starts, limit=64):
    """Median over (at most ``limit``) starts of the largest |Hessian eigenvalue|: the
    landscape's curvature where the search began, the unit for 'zero' eigenvalues when
    every eigenvalue at a point vanishes (a monkey saddle)."""
    pts = np.asarray(starts, float)
    pts = pts[np.all(np.isfinite(pts), 1)]
    if len(pts) > limit:
        pts = pts[np.linspace(0, len(pts) - 1, limit).astype(int)]
    if not len(pts):
        return 0.0
    _, _, w, _ = _derivs(loss, pts)
    top = np.abs(w).max(1)
    top = top[np.isfinite(top)]
    return float(np.median(top)) if len(top) else 0.0


def _index(loss, points, values, grads, w, v, curvature, scale):
    """Hessian index and degeneracy of each stationary point: eigenvalues clearly below
    zero count; eigenvalues near zero (within 1e-3 of the curvature scale) are decided by
    the mapper's higher-order probe (:func:`flowopt.basins.classify._probe_decreases`),
    one null eigenvector at a time: it counts when the loss decreases along it."""
    ref = np.maximum(np.abs(w).max(1), curvature)
    flat = _PROBE_FLAT * ref
    index = np.sum(w < -flat[:, None], axis=1)
    near = np.abs(w) <= flat[:, None]
    owner, which = np.nonzero(near)
    if len(owner):
        # one probe row per (point, null direction), carrying that eigenvector alone:
        # v[owner] would hold (rows, d, d), 5 GB for 200 points of d = 136 with 100 each
        eigs = np.full((len(owner), 1), -np.inf)
        tol = 10 * float(np.abs(grads[owner]).max())
        down = _padded(_probe_decreases, loss, points[owner], values[owner], eigs,
                       v[owner, :, which][:, :, None], tol, scale, np.zeros(len(owner)))
        np.add.at(index, owner, down.astype(int))
    degenerate = np.any(np.abs(w) <= _DEGENERATE * ref[:, None], axis=1)
    return index, degenerate


def stationary_points(loss, starts, *, volumes=None, method="newton", gtol=None,
                      radius=None, scale=1.0, max_steps=100, curvature=None, source=""):
    """The :class:`Catalogue` of the stationary points reached from ``starts`` (n, d);
    ``volumes`` (n,) are summed over the starts merged into each entry. The work of
    :func:`catalogue` once its candidates are built (no argument checks)."""
    starts = np.asarray(starts, float)
    d = starts.shape[1]
    radius = 1e-5 * scale if radius is None else radius
    curvature = _curvature_scale(loss, starts) if curvature is None else curvature
    x, origin, gnorm = _refine(loss, starts, method, gtol, max_steps)
    if not len(x):
        return _empty(d, source)
    comp = _merge(x, radius)
    reps = np.array([np.nonzero(comp == c)[0][np.argmin(gnorm[comp == c])]
                     for c in range(comp.max() + 1)])
    # polish by Newton steps (taken while |grad| shrinks), except for points taken as given
    pts = x[reps] if method == "none" else _padded(_polish, loss, x[reps], 20)
    f, g, w, v = _derivs(loss, pts)
    index, degenerate = _index(loss, pts, f, g, w, v, curvature, scale)
    members = np.bincount(comp, minlength=len(reps))
    vol = np.full(len(reps), np.nan)
    if volumes is not None:
        vol = np.bincount(comp, weights=np.asarray(volumes, float)[origin],
                          minlength=len(reps))
    spread = np.zeros(len(reps))
    # minima on one flat valley (a ring) are one entry, as in the mapper
    mins = np.nonzero(index == 0)[0]
    group = np.arange(len(reps))
    if len(mins) > 1:
        flat = _PROBE_FLAT * np.maximum(np.abs(w[mins]).max(1), curvature)
        tol = max(10 * float(np.abs(g[mins]).max()), np.finfo(float).tiny)
        comp_m = _link(loss, pts[mins], f[mins], w[mins], v[mins], flat, tol, radius / 4,
                       0.25 * scale)
        group[mins] = mins[[np.nonzero(comp_m == comp_m[i])[0][0] for i in range(len(mins))]]
    keep = []
    for r in np.unique(group):
        m = np.nonzero(group == r)[0]
        best = m[np.lexsort((*pts[m].T[::-1], f[m]))[0]]
        spread[best] = float(np.max(np.linalg.norm(pts[m] - pts[best], axis=1)))
        if len(m) > 1:
            members[best] = members[m].sum()
            vol[best] = vol[m].sum() if volumes is not None else np.nan
            degenerate[best] = True
        keep.append(best)
    keep = np.array(keep)
    order = keep[np.lexsort((*pts[keep].T[::-1], f[keep]))]
    kind = np.array(KINDS)[np.minimum(index[order], 2)]
    return Catalogue(positions=pts[order], losses=f[order], index=index[order],
                     eigenvalues=w[order], kind=kind, degenerate=degenerate[order],
                     volume=vol[order], gradient=np.abs(g[order]).max(1),
                     members=members[order], spread=spread[order], source=source)


def _empty(d, source):
    z = np.zeros(0)
    return Catalogue(positions=np.zeros((0, d)), losses=z, index=np.zeros(0, int),
                     eigenvalues=np.zeros((0, d)), kind=np.zeros(0, dtype="<U7"),
                     degenerate=np.zeros(0, bool), volume=z, gradient=z,
                     members=np.zeros(0, int), spread=z, source=source)


# ---------------------------------------------------------------- candidates and checks

def _check_loss(owner, loss):
    if not callable(loss):
        raise TypeError(f"{owner}(loss={loss!r}): pass a loss, a JAX-traceable function of a "
                        "(d,) array (e.g. fo.landscapes.Himmelblau()).")


def _check_points(owner, name, loss, pts):
    """``pts`` a finite (n, d) array that ``loss`` maps to a scalar."""
    pts = np.asarray(pts, float) if not isinstance(pts, np.ndarray) else pts.astype(float)
    if pts.ndim == 1:
        pts = pts[None]
    if pts.ndim != 2 or len(pts) == 0 or not np.all(np.isfinite(pts)):
        raise ValueError(f"{owner}({name}=array of shape {pts.shape}): pass a finite array of "
                         "shape (n, d), one candidate per row.")
    dim = loss.dim if isinstance(loss, Landscape) else None
    if dim is not None and pts.shape[1] != dim:
        raise ValueError(f"{owner}({name}=array of shape {pts.shape}): the loss takes points "
                         f"of dimension {dim}; pass an array of shape (n, {dim}).")
    try:
        out = jax.eval_shape(loss, jax.ShapeDtypeStruct((pts.shape[1],), jnp.result_type(float)))
    except Exception as err:  # the loss cannot take a point of this dimension
        raise ValueError(f"{owner}({name}=array of shape {pts.shape}): the loss fails on a "
                         f"point of dimension {pts.shape[1]} ({type(err).__name__}: "
                         f"{str(err)[:200]}); pass points of the loss's dimension.") from None
    if getattr(out, "shape", None) != ():
        raise ValueError(f"{owner}(loss=...): the loss must return a scalar for a "
                         f"({pts.shape[1]},) point, not shape {getattr(out, 'shape', out)}.")
    return pts


def _domain(owner, loss, bounds):
    if bounds is None:
        if isinstance(loss, Landscape):
            return np.asarray(loss.domain, float)
        raise ValueError(f"{owner}(bounds=None): random starts need bounds for a plain "
                         "function; pass bounds=[(lo, hi), ...], one row per dimension.")
    b = np.asarray(bounds, float)
    if b.ndim != 2 or b.shape[1] != 2 or not np.all(np.isfinite(b)) or \
            not np.all(b[:, 0] < b[:, 1]):
        raise ValueError(f"{owner}(bounds={bounds!r}): bounds must be finite rows (lo, hi) "
                         "with lo < hi, shape (d, 2).")
    return b


def _starts(owner, name, loss, value, bounds, key):
    """Starts from an array, a fo.Grid or set of starts, or an int (uniform in bounds)."""
    if isinstance(value, (Grid, Starts)):
        pts = np.asarray(value.points(), float)
        return _check_points(owner, name, loss, pts.reshape(-1, pts.shape[-1]))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = integer(owner, name, value)
        if key is None:
            raise ValueError(f"{owner}(key=None): {n} random starts need a key, e.g. "
                             "key=jax.random.key(0).")
        return _check_points(owner, name, loss, np.asarray(
            sample_uniform(_domain(owner, loss, bounds), n, key), float))
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{owner}({name}={value!r}): pass an array of shape (n, d), a "
                        "fo.Grid, or an int n of random starts (with key and bounds).")
    return _check_points(owner, name, loss, value)


def _scale(loss, bounds, pts):
    """The problem's length scale: the domain's widest side, else the candidates' spread,
    else 1."""
    if bounds is not None:
        return float(np.max(np.ptp(np.asarray(bounds, float), axis=1)))
    if isinstance(loss, Landscape):
        return float(np.max(np.ptp(np.asarray(loss.domain, float), axis=1)))
    width = float(np.max(np.ptp(pts, axis=0))) if len(pts) > 1 else 0.0
    return width if width > 0 else 1.0


def _from_map(owner, loss, bmap):
    """Candidates (the map's attractors) and their volume fractions."""
    if "label" not in bmap or "attractor_x" not in bmap.coords:
        raise ValueError(f"{owner}(source=Dataset): this Dataset is not a basin map; pass "
                         "the result of fo.basins(...).")
    k = bmap.sizes.get("attractor", 0)
    if k == 0:
        raise ValueError(f"{owner}(source=map): the map has no attractors (every start "
                         "diverged, stopped at a saddle or did not converge); map with a "
                         "longer t1 or a smaller dt0, or pass candidate points (an array or a "
                         "fo.Grid) instead.")
    pts = _check_points(owner, "source", loss, np.asarray(bmap["attractor_x"].values, float))
    frac = fractions(bmap)["fraction"]
    vol = np.array([float(frac.sel(outcome=i)) for i in range(k)])
    return pts, vol


def _from_process(owner, loss, process, starts, key, bounds):
    """Candidates: the final and best points of ``process.run`` from each start."""
    if starts is None:
        raise ValueError(f"{owner}(starts=None): a restart process needs starts; pass "
                         "starts=array (n, d), a fo.Grid, or an int with bounds.")
    if key is None:
        raise ValueError(f"{owner}(key=None): a restart process needs a key, e.g. "
                         "key=jax.random.key(0).")
    pts = _starts(owner, "starts", loss, starts, bounds, jax.random.fold_in(key, 1))
    keys = jax.random.split(jax.random.fold_in(key, 2), len(pts))
    out = eqx.filter_jit(jax.vmap(lambda p, x, k: p.run(x, k), in_axes=(None, 0, 0)))(
        process, jnp.asarray(pts, dtype=float), keys)
    cand = np.concatenate([np.asarray(out.x, float), np.asarray(out.best_x, float)])
    return cand[np.all(np.isfinite(cand), 1)], pts


def catalogue(loss, source, *, starts=None, key=None, bounds=None, method="newton",
              gtol=None, radius=None, scale=None, max_steps=100):
    """The catalogue of stationary points of ``loss`` reached from ``source``: minima,
    index-1 saddles (transition states) and higher-index points, with their losses,
    Hessian eigenvalues and index, ordered by loss (Wales, *Energy Landscapes*, 2003).

    Each candidate is refined by Newton's method on the gradient (``method="newton"``,
    optimistix's root finder: it converges to minima, saddles and maxima alike) or by BFGS
    minimisation then Newton (``"bfgs"``: minima only, unless BFGS stops on a saddle), or
    not at all (``"none"``: the candidates are the points, e.g. trained networks; pass a
    ``gtol`` they meet). A refined point whose gradient (max norm) exceeds ``gtol`` is
    dropped; points closer than ``radius`` are one; minima joined by a flat valley (a
    ring) are one entry.

    A ReLU network's loss is piecewise polynomial, and gradient descent ends on the
    kinks between pieces (where one sample's pre-activation crosses 0): for the seed 001
    network (``fo.landscapes.MLP.gamst_walker``) the gradient jumps there by 1e-4 to
    1e-2, so its max-norm stays near 1e-3 however long GD runs, and Newton's method,
    whose quadratic model's stationary point lies across the kink, leaves (by 3 to 1e6
    units in 10 steps from 16 trained networks), to overflow or to dead networks of
    constant output far away. Catalogue such points with ``method="none"`` and a
    ``gtol`` above the jump; their Hessian is the one of the piece they lie in.

    The index counts the negative Hessian eigenvalues. At a singular Hessian (an
    eigenvalue within 1e-3 of the curvature scale from zero) each null eigenvector is
    probed by the mapper's higher-order test: the loss is evaluated at growing
    distances (1e-3 .. 1e-1 ``scale``) along it on both sides, and the direction counts
    in the index when the first resolved change is a decrease. So ``x**4 + y**2`` at 0
    is a degenerate minimum (index 0) and ``x**3 + y**2`` a degenerate saddle (index 1).
    With a null space of dimension > 1 the count can depend on the null basis (a
    monkey saddle has index 1 or 2); it is never 0 where the loss decreases.

    Args:
        loss: a JAX-traceable function from shape ``(d,)`` to a scalar.
        source: the candidates: an array ``(n, d)`` (or one point ``(d,)``); a
            :class:`flowopt.Grid` (its starts); an int ``n`` (``n`` uniform random starts
            in ``bounds``, with ``key``); a map from :func:`flowopt.basins` (its attractors;
            each entry's ``volume`` is the map's :func:`flowopt.fractions` share of the
            attractors merged into it); or a restart process of :mod:`flowopt.restarts`
            (``BasinHopping``, ``NiM``, ...) run from ``starts`` with ``key`` (its final
            and best points).
        starts: the starts of a restart process (array, Grid or int).
        key: a ``jax.random.key`` for random starts and restart processes.
        bounds: ``(d, 2)`` box of random starts and the length scale; default the
            landscape's ``domain``.
        method: ``"newton"`` (default), ``"bfgs"`` or ``"none"`` (no refinement).
        gtol: largest gradient max-norm of a stationary point; default 1e-6 (float64) or
            1e-3 (float32).
        radius: refined points closer than this are one point; default 1e-5 ``scale``.
        scale: the problem's length (probe distances, radius); default the widest side
            of ``bounds`` or the landscape's domain, else the candidates' extent.
        max_steps: Newton (and BFGS) iterations per candidate.

    Returns:
        a :class:`Catalogue` (positions ``(k, d)``, losses, index, eigenvalues, kind,
        degenerate, volume, ...); ``.minima`` is the sub-catalogue of minima.

    Raises:
        TypeError: a loss that is not callable, a source of an unknown type.
        ValueError: candidates of the wrong dimension or non-finite, a map without
            attractors, random starts without key or bounds, an unknown method.

    Example:
        >>> import flowopt as fo
        >>> loss = fo.landscapes.Himmelblau()
        >>> cat = fo.catalogue(loss, fo.Grid(loss.domain, shape=(12, 12)))
        >>> cat.counts()
        {'minimum': 4, 'saddle': 4, 'higher': 1}

    References:
        D. J. Wales, *Energy Landscapes*, Cambridge University Press (2003), ch. 2 (index
        of a stationary point) and 6 (databases of minima and transition states).
    """
    owner = "catalogue"
    _check_loss(owner, loss)
    if method not in METHODS + ("none",):
        raise ValueError(f"{owner}(method={method!r}): method must be one of "
                         f"{METHODS + ('none',)}.")
    max_steps = integer(owner, "max_steps", max_steps)
    gtol = number(owner, "gtol", gtol, minimum=0.0, allow_none=True)
    radius = number(owner, "radius", radius, minimum=0.0, allow_none=True)
    scale = number(owner, "scale", scale, minimum=0.0, allow_none=True)
    volumes = None
    if isinstance(source, xr.Dataset):
        pts, volumes = _from_map(owner, loss, source)
        what = f"a basin map's {len(pts)} attractors"
        seeds = pts
    elif isinstance(source, _Process):
        pts, seeds = _from_process(owner, loss, source, starts, key, bounds)
        what = f"{type(source).__name__} from {len(seeds)} starts"
    else:
        pts = _starts(owner, "source", loss, source, bounds, key)
        seeds = pts
        what = f"{len(pts)} candidates"
    if bounds is not None:
        _domain(owner, loss, bounds)
    if scale is None and isinstance(source, xr.Dataset) and "scale" in source.attrs:
        scale = float(source.attrs["scale"])  # the map's problem scale
    scale = _scale(loss, bounds, seeds) if scale is None else scale
    return stationary_points(loss, pts, volumes=volumes, method=method, gtol=gtol,
                             radius=radius, scale=scale, max_steps=max_steps,
                             curvature=_curvature_scale(loss, seeds), source=what)
