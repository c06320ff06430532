"""Labels: attractor index, or a negative code (DESIGN.md):

- ``-1`` diverged: non-finite, or left the problem's far box (never the grid window's);
- ``-2`` not converged: still moving at ``t1`` (or out of budget);
- ``-3`` stationary, but not a minimum (a saddle or a maximum);
- ``-4`` caught in a periodic cycle of the discrete map (fixed steps; ``period`` holds p);
- ``-5`` stuck at a fixed point of the scheme that is not stationary for the flow.

Outcomes are always listed in the order ``0 .. k-1, -1, -2, -3, -4, -5`` (:data:`ORDER`).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
from scipy.spatial import cKDTree

DIVERGED, NOT_CONVERGED, SADDLE, CYCLE, SPURIOUS = -1, -2, -3, -4, -5
CODES = {DIVERGED: "diverged", NOT_CONVERGED: "not converged", SADDLE: "saddle",
         CYCLE: "periodic cycle", SPURIOUS: "fixed point of the scheme"}
ORDER = (DIVERGED, NOT_CONVERGED, SADDLE, CYCLE, SPURIOUS)  # after the attractors 0..k-1

# internal per-start status of the integrators, before classification
CONVERGED, AT_PRECISION = 1, 2  # met the test; stopped by its control (to be checked)


def outcome_order(k):
    """The one outcome order of every table, figure and comparison."""
    return list(range(int(k))) + list(ORDER)


def default_radius(attractors, scale):
    """Half the closest distance between known attractors (so they never merge), or 5% of
    the problem's ``scale`` when fewer than two are known (or that is smaller)."""
    cap = 0.05 * scale
    if len(attractors) < 2:
        return cap
    diff = attractors[:, None] - attractors[None]
    dist = np.sqrt((diff**2).sum(-1))
    dist[np.diag_indices(len(attractors))] = np.inf
    return min(cap, 0.5 * float(dist.min()))


_ROWS = 65_536  # rows per call of the compiled helpers below, for more than this many
_SMALL_ROWS = 4096  # up to _ROWS rows: calls of a power of two up to this (4096 for a
# 1024^2 map made 256 dispatches, 0.1 s more than 16 calls of _ROWS)


def _rowwise(fn, *arrays):
    """``fn(*arrays)`` for ``arrays`` of ``n > 0`` independent rows each, as NumPy arrays:
    computed in calls of a power of two of rows, 64 to ``_SMALL_ROWS``, or of ``_ROWS``
    rows when there are more (the last row repeated to fill a call), so the helpers compile for a few shapes per process, not for each
    map's count of end points. The rows go over in JAX's default float dtype, converted
    on the host (``jnp.asarray`` of a NumPy array compiles a program per shape unless
    given the array's own dtype)."""
    dtype = jax.dtypes.canonicalize_dtype(float)
    arrays = [np.asarray(a, dtype) for a in arrays]
    n = len(arrays[0])
    size = _ROWS if n > _ROWS else min(_SMALL_ROWS, max(64, 1 << (n - 1).bit_length()))
    parts = []
    for start in range(0, n, size):
        idx = np.minimum(np.arange(start, start + size), n - 1)
        parts.append(jax.tree_util.tree_map(
            np.asarray, fn(*(jnp.asarray(a[idx], dtype) for a in arrays))))
    return jax.tree_util.tree_map(lambda *p: np.concatenate(p)[:n], *parts)


@eqx.filter_jit
def _derivatives(loss, points):
    """Loss, gradient and Hessian eigen-decomposition at each point."""
    def one(p):
        w, v = jnp.linalg.eigh(jax.hessian(loss)(p))
        return loss(p), jax.grad(loss)(p), w, v
    return jax.vmap(one)(points)


@jax.jit
def _nearest(points, known):
    """Distance to, and index of, the nearest known attractor for each point."""
    d = jnp.sqrt(jnp.sum((points[:, None] - known[None]) ** 2, -1))
    return d.min(1), d.argmin(1)


@eqx.filter_jit
def _losses(loss, points):
    return jax.vmap(loss)(points)


def losses_at(loss, points):
    """The loss at each row of ``points`` (a NumPy array, in JAX's default float dtype);
    compiled once per loss and size of call (:func:`_rowwise`)."""
    n = len(points)
    if n == 0:
        return np.zeros(0, jax.dtypes.canonicalize_dtype(float))
    return _rowwise(lambda p: _losses(loss, p), points)


def _np_derivatives(loss, points):
    n, d = points.shape
    if n == 0:
        return np.zeros(0), np.zeros((0, d)), np.zeros((0, d)), np.zeros((0, d, d))
    return tuple(np.asarray(a, float) for a in _rowwise(lambda p: _derivatives(loss, p),
                                                         points))


def _rounding(f):
    """A few hundred ulps of the loss: differences below this are noise."""
    return 256 * np.finfo(float).eps * np.maximum(np.abs(f), 1.0)


_PROBES = np.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1])  # probe distances, in units of scale


def _probe_decreases(loss, points, values, eigs, vecs, tol, scale, flat, grads=None):
    """Higher-order test at stationary points whose Hessian has eigenvalues <= ``flat``
    (singular or nearly so): along each such eigenvector (both signs), step out by
    growing distances; the first change of the loss that exceeds what the gradient
    bound and rounding allow decides: a decrease means a saddle. The gradient bound is
    ``tol`` per unit of distance, plus the slope ``|g . dir|`` along the direction where
    the ``grads`` (n, d) at the points are given (a point short of stationary must not be
    called a saddle for its own slope). Returns a bool per point: True where the loss
    decreases nearby (not a minimum)."""
    n, d = points.shape
    dirs, owner = [], []
    for i in range(n):
        for j in np.nonzero(eigs[i] <= flat[i])[0]:
            dirs += [vecs[i][:, j], -vecs[i][:, j]]
            owner += [i, i]
    if not dirs:
        return np.zeros(n, bool)
    dirs, owner = np.array(dirs), np.array(owner)
    slope = tol if grads is None else tol + np.abs(np.sum(grads[owner] * dirs, axis=1))
    steps = np.multiply.outer(_PROBES * scale, np.ones(len(dirs)))  # (probe, dir)
    trial = points[owner][None] + steps[..., None] * dirs[None]
    f = losses_at(loss, trial.reshape(-1, d)).reshape(steps.shape)
    change = f - values[owner][None]
    noise = slope * steps + _rounding(values[owner])[None]
    resolved = np.abs(change) > noise
    resolved[~np.isfinite(change)] = False
    first = np.argmax(resolved, axis=0)
    down = resolved.any(0) & (change[first, np.arange(len(dirs))] < 0)
    out = np.zeros(n, bool)
    np.logical_or.at(out, owner, down)
    return out


@eqx.filter_jit
def _relax(loss, points, rate, n_steps=200):
    """``n_steps`` of gradient descent with step ``1/rate`` (per point) from ``points``."""
    grad = jax.vmap(jax.grad(loss))
    return jax.lax.fori_loop(0, n_steps, lambda _, p: p - grad(p) / rate[:, None], points)


def _link(loss, points, values, eigs, vecs, flat, tol, quantum, reach):
    """Group minima into attractors; returns a component index per point.

    Two minima are one attractor when they are within a few ``quantum`` of each other
    (one point minimum), or when both are degenerate (Hessian eigenvalues <= ``flat``),
    within ``reach``, at the same loss, the chord between them lies in both Hessians'
    null spaces, and the chord's midpoint relaxes (gradient descent) onto a point at
    that loss close to the chord: a valley floor without barrier, such as a ring of
    minima. Candidate pairs are each point's 8 nearest neighbours (scipy's cKDTree);
    components from a connected-components pass, independent of the order of the
    points."""
    n = len(points)
    k = min(9, n)
    dist, nbr = cKDTree(points).query(points, k=k, distance_upper_bound=reach)
    dist, nbr = dist.reshape(n, k), nbr.reshape(n, k)
    near = np.isfinite(dist) & (nbr != np.arange(n)[:, None]) & (nbr < n)
    pairs = np.stack([np.repeat(np.arange(n), k)[near.ravel()], nbr[near]], 1)
    pairs = np.unique(np.sort(pairs, 1), axis=0).reshape(-1, 2)
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        chord = points[j] - points[i]
        length = np.linalg.norm(chord, axis=1)
        close = length <= 4 * quantum
        unit = chord / np.maximum(length, 1e-300)[:, None]

        def in_null(m):
            null = (eigs[m] <= flat[m][:, None]).astype(float)  # (pairs, d)
            proj = np.einsum("pij,pi->pj", vecs[m], unit)  # coordinates in the eigenbasis
            return np.sqrt(np.sum(null * proj**2, axis=1)) >= 0.9

        top = np.maximum(values[i], values[j])
        noise = tol * length + _rounding(top)
        valley = ~close & in_null(i) & in_null(j) & (np.abs(values[i] - values[j]) <= noise)
        if valley.any():
            v = np.nonzero(valley)[0]
            rate = np.maximum(np.abs(eigs[i[v]]).max(1), np.abs(eigs[j[v]]).max(1))
            mid = 0.5 * (points[i[v]] + points[j[v]])
            rel = _rowwise(lambda p, r: _relax(loss, p, r), mid, np.maximum(rate, tol))
            f = losses_at(loss, rel)
            ok = (f <= top[v] + noise[v]) & (np.linalg.norm(rel - mid, axis=1) <= length[v] / 4)
            valley[v] = ok
        pairs = pairs[close | valley]
    graph = scipy.sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                                    shape=(n, n))
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1]


def _pinv_step(g, w, v):
    """The Newton step ``pinv(H) g`` from gradients ``g`` and Hessian eigenpairs
    ``(w, v)`` (eigenvalues below 1e-12 of the largest are left out)."""
    big = np.abs(w) > 1e-12 * np.maximum(np.abs(w).max(1, keepdims=True), 1e-300)
    coef = np.einsum("nij,ni->nj", v, g)
    return np.einsum("nij,nj->ni", v, np.where(big, coef / np.where(big, w, 1.0), 0.0))


def _polish(loss, points, iterations=8, reach=np.inf):
    """A discovered point minimum refined by Newton steps (kept only while the gradient
    shrinks and the point stays within ``reach`` of where it began): end points stop at
    |grad| <= tol, up to tol/lambda from the minimum."""
    x = np.array(points, float)
    x0 = x.copy()
    for _ in range(iterations):
        if not len(x):
            break
        _, g, w, v = _np_derivatives(loss, x)
        trial = x - _pinv_step(g, w, v)
        _, g1, _, _ = _np_derivatives(loss, trial)
        better = np.abs(g1).max(1) < np.abs(g).max(1)
        better &= np.linalg.norm(trial - x0, axis=1) <= reach
        x[better] = trial[better]
        if not better.any():
            break
    return x


def _not_minima(loss, points, tol, scale, reach):
    """True where a converged end point is not at a minimum (a saddle, maximum or
    degenerate critical point the loss falls away from).

    The decision is made at the stationary point the end point stopped short of, not at
    the end point itself: a flow stops where |grad| <= tol, which near a degenerate
    critical point is far from it (distance ~ sqrt(tol / a) at a cubic inflection
    a t^3), where the Hessian is still positive definite (eigenvalue ~ sqrt(12 a tol)).
    So each point is first refined by Newton steps (:func:`_polish`, kept only while
    |grad| shrinks and the point stays within ``reach``, the linking reach of the map):
    at a regular stationary point this changes nothing, at a degenerate one the
    curvature along the degenerate direction falls with every step. Then an eigenvalue clearly below zero means not a
    minimum; an eigenvalue that is small either relative to the largest (1e-3) or in
    absolute terms (the gradient it implies over the smallest probe distance s0 stays
    below ``tol``: lambda * s0 < tol, the map's resolution) goes to the higher-order
    probe (:func:`_probe_decreases`). Found by the Bensaid study: polyFive's
    single-neuron loss has critical points that are a minimum along one axis and a
    cubic inflection along the other, labelled minima before.

    Returns ``(not_minimum, refined, loss, hessian_eigenvalues, eigenvectors)`` at the
    refined points."""
    near = _polish(loss, points, iterations=16, reach=reach)
    f, g, w, v = _np_derivatives(loss, near)
    top = np.maximum(np.abs(w).max(1), tol)
    flat = np.maximum(1e-3 * top, tol / (_PROBES[0] * scale))
    saddle = w.min(1) < -1e-3 * top
    unsure = ~saddle & (w.min(1) <= flat)
    if unsure.any():
        idx = np.nonzero(unsure)[0]
        saddle[idx] = _probe_decreases(loss, near[idx], f[idx], w[idx], v[idx], tol, scale,
                                       flat[idx], g[idx])
    return saddle, near, f, w, v


def newton_steps(loss, points):
    """Max-norm length of the Newton step ``pinv(H) g`` at each point: the distance to the
    nearest stationary point of the local quadratic model."""
    if len(points) == 0:
        return np.zeros(0)
    _, g, w, v = _np_derivatives(loss, np.asarray(points, float))
    return np.abs(_pinv_step(g, w, v)).max(1)


def classify(loss, final, status, attractors, radius, tol, scale, discover=True):
    """Labels for end points ``final`` (n, d) with ``status`` (1 converged, -1 diverged,
    -2 not converged, -4/-5 discrete-map outcomes), and the attractor table
    ``(positions, losses, hessian_eigs, kinds, members, spreads)`` (spread: the largest
    distance of a set's end points from its representative; 0 for points).

    Converged points within ``radius`` of a known attractor take its index. Other
    converged points are classified by their Hessian: an eigenvalue clearly below zero
    -> -3; a singular or nearly singular Hessian -> the higher-order probe test
    (:func:`_probe_decreases`: a minimum when the loss does not decrease nearby); else a
    minimum. New minima are grouped into attractors by :func:`_link` (a connected set of
    minima, such as a ring, is one attractor of kind "set"; a point minimum is kind
    "point"), ordered by position, so the result does not depend on the order of the
    points (this runs once, on all end points). With ``discover=False`` (noisy flows)
    every non-diverged end point within ``radius`` of a known attractor takes its label
    and the others are -2.
    """
    final = np.asarray(final, float)
    status = np.asarray(status)
    d = final.shape[1]
    known = np.zeros((0, d)) if attractors is None else np.asarray(attractors, float)
    labels = np.where(status < 0, status, NOT_CONVERGED).astype(np.int32)  # codes kept
    conv = np.nonzero(status == CONVERGED if discover else status != DIVERGED)[0]
    labels[conv] = NOT_CONVERGED  # until matched or classified below
    if len(known) and len(conv):
        dtype = jax.dtypes.canonicalize_dtype(float)
        table = jnp.asarray(known.astype(dtype), dtype)
        dist, near = _rowwise(lambda p: _nearest(p, table), final[conv])
        ok = dist < radius
        labels[conv[ok]] = near[ok]
        conv = conv[~ok]
    kinds = ["point"] * len(known)
    members = [0] * len(known)
    spreads = [0.0] * len(known)
    found = np.zeros((0, d))
    if len(conv) and discover:
        # one representative per small cell: the work follows distinct end points
        quantum = tol * scale  # end points of one minimum lie within ~tol/lambda of it
        cells, first, inverse = np.unique(np.round(final[conv] / quantum), axis=0,
                                          return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        # each cell at the stationary point its end point stopped short of (Newton-refined
        # within the radius): ends of one minimum, stopped at different distances from it
        # (a degenerate minimum; a coarse error controller), land on one point
        saddle, pts, f, w, v = _not_minima(loss, final[conv][first], tol, scale,
                                           max(radius, 0.25 * scale))
        flat = 1e-3 * np.maximum(np.abs(w).max(1), tol)  # null directions, for _link
        labels[conv[saddle[inverse]]] = SADDLE
        if len(known):
            # a refined minimum within the radius of a known attractor is that attractor
            dist, idx = _rowwise(lambda p: _nearest(p, table), pts)
            snap = ~saddle & (np.asarray(dist) < radius)
            on = snap[inverse]
            labels[conv[on]] = np.asarray(idx)[inverse[on]]
        else:
            snap = np.zeros(len(pts), bool)
        mins = np.nonzero(~saddle & ~snap)[0]
        if len(mins):
            comp = _link(loss, pts[mins], f[mins], w[mins], v[mins], flat[mins], tol, quantum,
                         max(radius, 0.25 * scale))
            reps, spread, count = [], [], []
            for c in range(comp.max() + 1):
                m = mins[comp == c]
                best = m[np.lexsort((*pts[m].T[::-1], f[m]))[0]]  # lowest loss, then position
                reps.append(best)
                spread.append(float(np.max(np.linalg.norm(pts[m] - pts[best], axis=1))))
                count.append(len(m))
            # by position, rounded to the resolution (noise must not decide the order)
            order = np.lexsort(np.round(pts[reps] / quantum).T[::-1])
            new_index = np.empty(len(reps), int)
            new_index[order] = np.arange(len(reps))
            cell_label = np.full(len(pts), SADDLE)
            cell_label[mins] = len(known) + new_index[comp]
            on = (~saddle & ~snap)[inverse]
            labels[conv[on]] = cell_label[inverse[on]]
            found = pts[np.array(reps)[order]]
            kinds_new = ["set" if spread[o] > radius else "point" for o in order]
            point = np.array([k == "point" for k in kinds_new])
            found[point] = _polish(loss, found[point])
            kinds += kinds_new
            members += [count[o] for o in order]
            spreads += [spread[o] for o in order]
    positions = np.concatenate([known, found])
    losses, _, w, _ = _np_derivatives(loss, positions)
    return (labels, positions, losses, w, np.array(kinds, dtype=object), np.array(members),
            np.array(spreads, float))
