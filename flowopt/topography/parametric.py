"""``fo.track_minima``: the minima of a family of losses followed along a parameter, so
that a minimum which merges with a saddle and disappears (a fold catastrophe) is seen
(Niroomand et al., seed 003: minima of Gaussian-process losses against the Matérn
smoothness nu, their Fig. 2 (folds in disconnectivity graphs) and Fig. 3 (loss of every
minimum against nu)).

At each parameter value the catalogue (:func:`flowopt.catalogue`) is built from the
previous value's minima (warm starts) and fresh starts; its minima are matched to the
previous value's by position (nearest first, one to one, within ``reach``: scipy's
cKDTree). A tracked minimum that finds no match has disappeared at that value.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial import cKDTree

from .._arguments import integer, number
from .catalogue import (METHODS, _curvature_scale, _domain, _scale, _starts,
                        stationary_points)


class _Member(eqx.Module):
    """The loss ``family(c)`` with ``c`` an array: compiled once for every value."""

    family: object = eqx.field(static=True)
    c: jax.Array

    def __call__(self, x):
        return self.family(self.c)(x)


@dataclasses.dataclass(frozen=True, eq=False)
class TrackedMinima:
    """Minima of a family of losses followed along a parameter.

    Attributes (``t`` tracked minima, ``m`` parameter values, dimension ``d``):
        values: ``(m,)`` the parameter values, in the order given.
        positions: ``(t, m, d)`` each tracked minimum at each value (NaN where it does
            not exist).
        losses: ``(t, m)`` its loss (NaN where it does not exist).
        eigenvalues: ``(t, m, d)`` its Hessian eigenvalues, ascending (the smallest goes
            to zero at a fold).
        appeared: ``(t,)`` the first value where it exists.
        absent_before: ``(t,)`` the value before ``appeared`` (where it does not exist
            yet), NaN if it exists from the first value: a fold (seen from the other
            side) lies between the two.
        last: ``(t,)`` the last value where it exists.
        disappeared: ``(t,)`` the first value after ``last`` (where it no longer
            exists), NaN if it exists up to the last value: a fold lies between ``last``
            and ``disappeared``.
        catalogues: the :class:`~flowopt.topography.catalogue.Catalogue` at each value
            (saddles and higher points included).
        name: the parameter's name (axis labels).
    """

    values: np.ndarray
    positions: np.ndarray
    losses: np.ndarray
    eigenvalues: np.ndarray
    appeared: np.ndarray
    absent_before: np.ndarray
    last: np.ndarray
    disappeared: np.ndarray
    catalogues: tuple
    name: str = "parameter"

    def __len__(self):
        return self.losses.shape[0]

    @property
    def present(self):
        """``(t, m)`` bool: which tracked minimum exists at which value."""
        return np.isfinite(self.losses)

    def counts(self):
        """``(m,)`` the number of minima at each value."""
        return self.present.sum(0)

    def __repr__(self):
        m = len(self.values)
        head = (f"TrackedMinima({len(self)} minima over {m} values of {self.name} in "
                f"[{np.min(self.values):.6g}, {np.max(self.values):.6g}])")
        rows = []
        for i in range(min(len(self), 20)):
            new = "" if np.isnan(self.absent_before[i]) else \
                f" (absent at {self.absent_before[i]:.6g})"
            gone = "" if np.isnan(self.disappeared[i]) else \
                f" (gone at {self.disappeared[i]:.6g})"
            rows.append(f"  minimum {i}: {self.name} = {self.appeared[i]:.6g}{new} .. "
                        f"{self.last[i]:.6g}{gone}")
        if len(self) > 20:
            rows.append(f"  ... {len(self) - 20} more")
        return "\n".join([head] + rows)


def _match(new, old, reach):
    """One-to-one matching of rows of ``new`` to rows of ``old`` within ``reach``,
    nearest pairs first: ``out[i]`` is the matched row of ``old``, or -1."""
    out = np.full(len(new), -1)
    if not len(new) or not len(old):
        return out
    pairs = cKDTree(new).sparse_distance_matrix(cKDTree(old), reach, output_type="ndarray")
    taken = np.zeros(len(old), bool)
    for rec in pairs[np.lexsort((pairs["j"], pairs["i"], pairs["v"]))]:
        i, j = int(rec["i"]), int(rec["j"])
        if out[i] < 0 and not taken[j]:
            out[i], taken[j] = j, True
    return out


def _values(owner, values):
    try:
        vals = np.asarray(values, float)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}(values={values!r}): pass a 1-D array of parameter "
                        "values, e.g. np.linspace(-1, 1, 41).") from None
    vals = vals.reshape(-1) if vals.ndim == 0 else vals
    if vals.ndim != 1 or len(vals) == 0 or not np.all(np.isfinite(vals)):
        raise ValueError(f"{owner}(values=array of shape {vals.shape}): pass a non-empty 1-D "
                         "array of finite parameter values, e.g. np.linspace(-1, 1, 41).")
    return vals


def _family(owner, family, vals):
    """``family`` checked: callable, and returning a loss at the first value."""
    if not callable(family):
        raise TypeError(f"{owner}(family={family!r}): pass a function from a parameter value "
                        "to a loss, e.g. lambda c: (lambda x: x[0]**4 - x[0]**2 + c*x[0]).")
    first = family(vals[0])
    if not callable(first):
        raise TypeError(f"{owner}(family=...): family({vals[0]:g}) returned a "
                        f"{type(first).__name__}, not a loss; family must map a parameter "
                        "value to a function of a (d,) array.")
    return first


def _member(family, d):
    """The loss at a value: one traced member (compiled once for all values) if
    ``family`` accepts a traced parameter, else ``family(value)`` (compiled per value)."""
    dtype = jnp.result_type(float)
    try:
        jax.eval_shape(lambda c, x: _Member(family, c)(x), jax.ShapeDtypeStruct((), dtype),
                       jax.ShapeDtypeStruct((d,), dtype))
    except Exception:  # a family that needs a concrete value (e.g. checks it in Python)
        return lambda v: family(float(v))
    return lambda v: _Member(family, jnp.asarray(v, dtype=dtype))


def track_minima(family, values, starts, *, key=None, bounds=None, reach=None,
                 method="newton", gtol=None, radius=None, scale=None, max_steps=100,
                 name="parameter"):
    """The minima of ``family(value)`` at each of ``values``, each minimum followed from
    one value to the next by position, so that folds (a minimum meeting a saddle and
    disappearing) are found to the grid of values (Niroomand et al., seed 003, Figs.
    2-3: minima against the Matérn smoothness nu).

    At each value, the candidates are the previous value's minima (warm starts) and the
    fresh ``starts``; :func:`flowopt.catalogue`'s refinement and classification give
    the stationary points. Minima are matched to the previous value's minima nearest
    first, one to one, within ``reach`` (cKDTree); an unmatched minimum starts a new
    track, an unmatched track has disappeared at this value. A fold is bracketed by a
    track's ``last`` and ``disappeared`` values; the bracket is only as fine as
    ``values``, and a minimum moves fastest just before its fold, so ``reach`` must
    exceed its step between neighbouring values there.

    Args:
        family: a function from a parameter value (a float, or a traced scalar: then
            the whole path compiles once) to a loss (a function from ``(d,)`` to a
            scalar).
        values: ``(m,)`` parameter values, followed in the order given.
        starts: fresh starts at every value: an array ``(n, d)``, a :class:`flowopt.Grid`,
            or an int ``n`` (uniform in ``bounds``, new draws at each value, with ``key``).
        key: a ``jax.random.key`` for random starts.
        bounds: ``(d, 2)`` box of random starts and the length scale.
        reach: how far a minimum may move between neighbouring values; default 0.05
            ``scale``.
        method, gtol, radius, scale, max_steps: as in :func:`flowopt.catalogue`.
        name: the parameter's name, for tables and figures.

    Returns:
        a :class:`TrackedMinima` (positions ``(t, m, d)``, losses ``(t, m)``,
        ``appeared``, ``last``, ``disappeared`` per tracked minimum, the catalogue at
        each value); :func:`flowopt.plot.minima_against` draws it.

    Raises:
        TypeError: a family that is not callable or does not return a loss.
        ValueError: empty or non-finite values, starts of the wrong dimension, random
            starts without key or bounds.

    Example:
        >>> import numpy as np, flowopt as fo
        >>> family = lambda c: (lambda x: x[0]**4 - x[0]**2 + c * x[0])
        >>> res = fo.track_minima(family, np.linspace(0.0, 0.7, 8), np.linspace(-1.5, 1.5, 7)[:, None],
        ...                       name="c")
        >>> [round(float(v), 1) for v in res.disappeared if np.isfinite(v)]
        [0.6]

    References:
        M. Niroomand et al., *Some applications of energy landscapes in machine
        learning* (seed 003): fold catastrophes of GP loss landscapes in nu. D. J. Wales,
        *Energy Landscapes* (2003), for the catalogue at each value.
    """
    owner = "track_minima"
    vals = _values(owner, values)
    first = _family(owner, family, vals)
    if method not in METHODS:
        raise ValueError(f"{owner}(method={method!r}): method must be one of {METHODS}.")
    max_steps = integer(owner, "max_steps", max_steps)
    gtol = number(owner, "gtol", gtol, minimum=0.0, allow_none=True)
    radius = number(owner, "radius", radius, minimum=0.0, allow_none=True)
    scale = number(owner, "scale", scale, minimum=0.0, allow_none=True)
    reach = number(owner, "reach", reach, minimum=0.0, allow_none=True)
    if bounds is not None:
        bounds = _domain(owner, first, bounds)
    random = isinstance(starts, (int, np.integer)) and not isinstance(starts, bool)
    fresh = _starts(owner, "starts", first, starts, bounds,
                    None if key is None else jax.random.fold_in(key, 0))
    d = fresh.shape[1]
    loss_at = _member(family, d)
    scale = _scale(first, bounds, fresh) if scale is None else scale
    reach = 0.05 * scale if reach is None else reach

    m = len(vals)
    pos, los, eig = [], [], []  # per track: lists over values (filled with NaN)
    appeared, alive = [], []  # alive: track ids present at the previous value
    cats = []
    for i, v in enumerate(vals):
        loss = loss_at(v)
        if random and i:
            fresh = _starts(owner, "starts", first, starts, bounds, jax.random.fold_in(key, i))
        warm = np.array([pos[t][i - 1] for t in alive]).reshape(-1, d)
        cand = np.concatenate([warm, fresh])
        cat = stationary_points(loss, cand, method=method, gtol=gtol, radius=radius,
                                scale=scale, max_steps=max_steps,
                                curvature=_curvature_scale(loss, fresh),
                                source=f"{name} = {v:.6g}: {len(warm)} warm + "
                                       f"{len(fresh)} fresh starts")
        cats.append(cat)
        mins = cat.minima
        prev = np.array([pos[t][i - 1] for t in alive]).reshape(-1, d)
        match = _match(mins.positions, prev, reach)
        now = []
        for r in range(len(mins)):
            if match[r] >= 0:
                t = alive[match[r]]
            else:
                t = len(pos)
                pos.append(np.full((m, d), np.nan))
                los.append(np.full(m, np.nan))
                eig.append(np.full((m, d), np.nan))
                appeared.append(v)
            pos[t][i], los[t][i], eig[t][i] = mins.positions[r], mins.losses[r], \
                mins.eigenvalues[r]
            now.append(t)
        alive = now
    if not pos:
        positions, losses, eigs = np.zeros((0, m, d)), np.zeros((0, m)), np.zeros((0, m, d))
    else:
        positions, losses, eigs = np.array(pos), np.array(los), np.array(eig)
    present = np.isfinite(losses)
    first_i = np.array([np.nonzero(p)[0].min() for p in present], int)
    last_i = np.array([np.nonzero(p)[0].max() for p in present], int)
    before = np.array([vals[j - 1] if j > 0 else np.nan for j in first_i], float)
    last = vals[last_i] if len(last_i) else np.zeros(0)
    disappeared = np.array([vals[j + 1] if j + 1 < m else np.nan for j in last_i], float)
    return TrackedMinima(values=vals, positions=positions, losses=losses, eigenvalues=eigs,
                         appeared=np.asarray(appeared, float), absent_before=before, last=np.asarray(last, float),
                         disappeared=disappeared, catalogues=tuple(cats), name=str(name))
