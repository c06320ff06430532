"""Model populations of seed 002 (Inan, Liu, Shehu, "Model population analysis"): the
models along ``Tr`` trajectories of an optimizer, the ``L`` models of each trajectory
selected by a score (lowest training loss: SetA; highest accuracy: SetB), and the
statistical comparison of two populations (Mann–Whitney U and t-tests, ``scipy.stats``).

A trajectory is recorded epoch by epoch: ``step(x, key) -> x`` advances a model by one
epoch of any optimizer (a :func:`flowopt.solve` of a flow, one hop of a basin-hopping
process, a run of :class:`flowopt.restarts.NiM`), and :func:`trajectory` keeps the model
after every epoch. It works under ``jax.jit`` and ``jax.vmap`` (over starts and keys).
"""

import jax
import numpy as np


def trajectory(step, x0, key, epochs, first=None):
    """The models after each of ``epochs`` epochs, shape ``(epochs,) + x0.shape``.

    ``x_1 = first(x_0, k_0)`` (``first`` defaults to ``step``), then
    ``x_{e+1} = step(x_e, k_e)`` with ``k_e = jax.random.fold_in(key, e)``.

    Args:
        step: ``(x, key) -> x``, one epoch of an optimizer (JAX-traceable).
        x0: the start (shape ``(d,)``). key: a ``jax.random`` key.
        epochs: the number of epochs, an int >= 1.
        first: the first epoch, when it differs (e.g. a basin-hopping process's first
            local search before its first hop).
    """
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)) \
            or epochs < 1:
        raise ValueError(f"trajectory(epochs={epochs!r}): epochs must be an int >= 1.")
    if not callable(step) or (first is not None and not callable(first)):
        raise ValueError("trajectory(step=..., first=...): pass functions (x, key) -> x.")
    x1 = (first or step)(x0, jax.random.fold_in(key, 0))

    def body(x, e):
        x = step(x, jax.random.fold_in(key, e))
        return x, x

    _, rest = jax.lax.scan(body, x1, jax.numpy.arange(1, epochs))
    return jax.numpy.concatenate([x1[None], rest], axis=0)


def select(scores, size, largest=False, tiebreak=None):
    """Indices ``(Tr, size)`` of the ``size`` models of each trajectory with the lowest
    ``scores`` (``largest``: the highest), from ``scores`` of shape ``(Tr, models)``; ties
    go to the lower ``tiebreak`` (same shape, e.g. the training loss when selecting by an
    accuracy that takes few values), then to the earlier model. NaN scores count as the
    worst."""
    s = np.asarray(scores, float)
    if s.ndim != 2 or s.shape[1] == 0:
        raise ValueError(f"select(scores=...): pass scores of shape (trajectories, models), "
                         f"not {s.shape}.")
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or \
            not 1 <= size <= s.shape[1]:
        raise ValueError(f"select(size={size!r}): size must be an int in 1 .. {s.shape[1]} "
                         "(the models per trajectory).")
    key = -s if largest else s
    key = np.where(np.isnan(key), np.inf, key)
    if tiebreak is None:
        return np.argsort(key, axis=1, kind="stable")[:, :size]
    t = np.asarray(tiebreak, float)
    if t.shape != s.shape:
        raise ValueError(f"select(tiebreak=...): shape {t.shape} differs from the scores' "
                         f"{s.shape}.")
    t = np.where(np.isnan(t), np.inf, t)
    return np.stack([np.lexsort((t[i], key[i]))[:size] for i in range(len(s))])


def population(values, scores, size, largest=False, tiebreak=None):
    """``values`` (``(Tr, models)``, e.g. test accuracies) of the models :func:`select`
    picks by ``scores``: shape ``(Tr * size,)``, trajectory by trajectory."""
    v = np.asarray(values)
    idx = select(scores, size, largest, tiebreak)
    if v.shape != np.shape(scores):
        raise ValueError(f"population(values=..., scores=...): shapes {v.shape} and "
                         f"{np.shape(scores)} differ; pass one value and score per model.")
    return np.take_along_axis(v, idx, axis=1).ravel()


def compare(a, b):
    """Two populations compared as seed 002 does: two-sided Mann–Whitney U
    (``scipy.stats.mannwhitneyu``) and t-tests (``scipy.stats.ttest_ind``: Student's,
    the paper's call with scipy's default ``equal_var=True``, and Welch's), with the
    medians, means and standard deviations. A p-value is NaN when the test is undefined
    (e.g. both populations constant)."""
    from scipy import stats
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if len(a) < 2 or len(b) < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("compare(a, b): pass two populations of at least 2 finite values.")
    if np.ptp(np.concatenate([a, b])) == 0:
        mw = student = welch = float("nan")
    else:
        mw = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
        student = float(stats.ttest_ind(a, b).pvalue)
        welch = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return {"mann_whitney_p": mw, "t_test_p": student, "welch_p": welch,
            "median": [float(np.median(a)), float(np.median(b))],
            "mean": [float(a.mean()), float(b.mean())],
            "std": [float(a.std(ddof=1)), float(b.std(ddof=1))], "n": [len(a), len(b)]}
