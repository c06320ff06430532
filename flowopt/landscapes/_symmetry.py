"""The weight-space symmetries of a ReLU network (seed 001, §3.3) and two ways to pick one
representative of an orbit: :meth:`MLP.align_to` (the gauge of a reference network) and
:meth:`MLP.canonical` (the seed's: the norm-minimizing rescaling, units sorted by norm).

A positively homogeneous activation (ReLU) gives ``relu(c z) = c relu(z)`` for ``c > 0``:
multiplying a hidden unit's incoming weights and bias by ``c`` and its outgoing weights by
``1/c`` leaves the network's function unchanged; so does permuting the units of a hidden
layer (rows of its weight matrix and bias, columns of the next weight matrix). The group
contains ``R_+^{KN} x S_N^K`` (the seed's count). Everything here works on float64 numpy
copies of the layers; the results are flat vectors in the loss's layout.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment


def layers(loss, theta):
    """``(weights, biases)``: lists of float64 numpy arrays, input layer first."""
    net = loss.to_network(theta)
    return ([np.array(layer.weight, dtype=float) for layer in net.layers],
            [np.array(layer.bias, dtype=float) for layer in net.layers])


def flat(loss, theta, weights, biases):
    """The flat vector of ``theta``'s dtype holding these layers."""
    import equinox as eqx
    import jax.numpy as jnp

    dtype = jnp.result_type(theta)
    net = loss.to_network(theta)
    for l, (w, b) in enumerate(zip(weights, biases)):
        net = eqx.tree_at(lambda n, l=l: (n.layers[l].weight, n.layers[l].bias), net,
                          (jnp.asarray(w, dtype), jnp.asarray(b, dtype)))
    return loss.from_network(net)


def check_positive_homogeneous(loss, name):
    from .mlp import relu

    if loss.activation is not relu:
        # only relu's positive homogeneity makes rescaling a symmetry; permutations hold
        # for any activation, but a silent half-alignment would mislead
        raise ValueError(f"MLP.{name}: the network's activation is {loss.activation!r}; the "
                         "rescaling symmetry needs the positively homogeneous ReLU "
                         "(flowopt.landscapes.mlp.relu, the default).")


def transform(loss, theta, permutations, scales):
    """Apply the symmetry (permutations, scales): hidden layer ``l``'s new unit ``i`` is
    its old unit ``permutations[l][i]``, with incoming weights and bias times
    ``scales[l][i]`` and outgoing weights divided by it."""
    check_positive_homogeneous(loss, "transform")
    K, N = loss.depth, loss.width
    perms = np.asarray(permutations)
    s = np.asarray(scales, dtype=float)
    if perms.shape != (K, N) or any(sorted(p) != list(range(N)) for p in perms.tolist()):
        raise ValueError(f"MLP.transform(permutations=...): need {K} permutations of "
                         f"range({N}) (shape ({K}, {N})), got shape {perms.shape}.")
    if s.shape != (K, N) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"MLP.transform(scales=...): need positive finite scales of shape "
                         f"({K}, {N}), one per hidden unit; got shape {s.shape}.")
    w, b = layers(loss, theta)
    for l in range(K):
        p, c = perms[l], s[l]
        w[l], b[l] = w[l][p] * c[:, None], b[l][p] * c
        w[l + 1] = w[l + 1][:, p] / c[None, :]
    return flat(loss, theta, w, b)


def _normalize(w, b, l, tiny):
    """Rescale layer ``l``'s units to unit incoming norm (weights and bias), in place;
    the scales (1 for a unit whose incoming norm is below ``tiny``)."""
    norm = np.sqrt(np.sum(w[l] ** 2, axis=1) + b[l] ** 2)
    c = np.where(norm > tiny, norm, 1.0)
    w[l], b[l] = w[l] / c[:, None], b[l] / c
    w[l + 1] = w[l + 1] * c[None, :]
    return c


def _descriptor(w, b, l, tiny):
    """Per unit of layer ``l`` (already at unit incoming norm): its incoming row and
    bias, then its outgoing column with the next layer's rows normalized, sorted."""
    nxt = np.sqrt(np.sum(w[l + 1] ** 2, axis=1)
                  + (b[l + 1] ** 2 if l + 1 < len(b) else 0.0))
    out = w[l + 1] / np.where(nxt > tiny, nxt, 1.0)[:, None]
    return np.concatenate([w[l], b[l][:, None], np.sort(out, axis=0).T], axis=1)


def align_to(loss, theta, reference, nearest=True, sweeps=200, tiny=1e-12):
    """``theta``'s orbit member in ``reference``'s gauge (permutation matched layer by
    layer), with the unit scales then moved to the nearest point to ``reference``
    (``nearest``; coordinate descent, at most ``sweeps`` sweeps)."""
    check_positive_homogeneous(loss, "align_to")
    w, b = layers(loss, theta)
    rw, rb = layers(loss, reference)
    for l in range(loss.depth):
        _normalize(w, b, l, tiny)
        r = _normalize(rw, rb, l, tiny)
        # cost of giving theta's unit j the place of the reference's unit i: the squared
        # distance of the normalized incoming rows, plus that of the outgoing columns
        # (next layer's rows normalized too) sorted -- invariant under the next layer's
        # yet unknown permutation; it tells apart units with equal incoming weights
        # (W_f's first layer computes relu(x) twice)
        a, ra = _descriptor(w, b, l, tiny), _descriptor(rw, rb, l, tiny)
        cost = np.sum((ra[:, None, :] - a[None, :, :]) ** 2, axis=2)
        rows, cols = linear_sum_assignment(cost)
        p = cols[np.argsort(rows)]
        w[l], b[l], w[l + 1] = w[l][p], b[l][p], w[l + 1][:, p]
        # back to the reference's scales (the reference's own, undone for the next layer)
        w[l], b[l], w[l + 1] = w[l] * r[:, None], b[l] * r, w[l + 1] / r[None, :]
        rw[l], rb[l], rw[l + 1] = rw[l] * r[:, None], rb[l] * r, rw[l + 1] / r[None, :]
    if nearest:
        _nearest_scales(w, b, rw, rb, loss.depth, sweeps, tiny)
    return flat(loss, theta, w, b)


def _nearest_scales(w, b, rw, rb, K, sweeps, tiny):
    """Coordinate descent on the hidden units' positive scales towards the reference, in
    place: unit j alone, with incoming row ``a`` (and bias) and outgoing column ``o``,
    minimizes ``|c a - ra|^2 + |o / c - ro|^2``; its stationary points are the positive
    roots of ``A c^4 - P c^3 + Q c - B`` (A = |a|^2, P = a.ra, Q = o.ro, B = |o|^2)."""
    for _ in range(sweeps):
        worst = 0.0
        for l in range(K):  # the units of one layer are independent given the others
            a = np.concatenate([w[l], b[l][:, None]], axis=1)
            ra = np.concatenate([rw[l], rb[l][:, None]], axis=1)
            o, ro = w[l + 1], rw[l + 1]
            A, P = np.sum(a * a, 1), np.sum(a * ra, 1)
            Q, B = np.sum(o * ro, 0), np.sum(o * o, 0)
            live = (A > tiny ** 2) & (B > tiny ** 2)
            A1 = np.where(live, A, 1.0)
            # roots of c^4 - (P/A) c^3 + (Q/A) c - B/A: eigenvalues of the companion matrix
            comp = np.zeros((len(A), 4, 4))
            comp[:, 0, :] = -np.stack([-P / A1, np.zeros_like(A), Q / A1, -B / A1], 1)
            comp[:, 1, 0] = comp[:, 2, 1] = comp[:, 3, 2] = 1.0
            roots = np.linalg.eigvals(comp)
            ok = (np.abs(roots.imag) <= 1e-9 * np.abs(roots)) & (roots.real > 0)
            c = np.where(ok, roots.real, 1.0)

            def cost(x):
                return (np.sum((x[..., None] * a[:, None, :] - ra[:, None, :]) ** 2, -1)
                        + np.sum((o.T[:, None, :] / x[..., None] - ro.T[:, None, :]) ** 2, -1))

            both = np.concatenate([c, np.ones((len(A), 1))], axis=1)  # 1: keep the scale
            best = both[np.arange(len(A)), np.argmin(cost(both), axis=1)]
            best = np.where(live, best, 1.0)
            w[l], b[l], w[l + 1] = w[l] * best[:, None], b[l] * best, o / best[None, :]
            worst = max(worst, float(np.max(np.abs(best - 1.0))))
        if worst < 1e-12:
            break


def canonical(loss, theta, sweeps=500, rtol=1e-13, tiny=1e-12):
    """The seed's representative: the rescaling that minimizes the whole weight vector's
    norm, then each hidden layer's units sorted by increasing norm."""
    check_positive_homogeneous(loss, "canonical")
    w, b = layers(loss, theta)
    K = loss.depth
    for _ in range(sweeps):
        # exact minimization over one layer's scales at a time (the others fixed):
        # unit j contributes c^2 A_j + B_j / c^2, minimal at c^2 = sqrt(B_j / A_j); the
        # objective is convex in log c, so the sweeps converge to the global minimum
        worst = 0.0
        for l in range(K):
            A = np.sum(w[l] ** 2, axis=1) + b[l] ** 2
            B = np.sum(w[l + 1] ** 2, axis=0)
            live = (A > tiny ** 2) & (B > tiny ** 2)
            c = np.where(live, (B / np.where(live, A, 1.0)) ** 0.25, 1.0)
            w[l], b[l], w[l + 1] = w[l] * c[:, None], b[l] * c, w[l + 1] / c[None, :]
            worst = max(worst, float(np.max(np.abs(c - 1.0))))
        if worst < rtol:
            break
    for l in range(K):
        # balanced: a unit's incoming and outgoing norms are equal; sort by incoming
        norm = np.sum(w[l] ** 2, axis=1) + b[l] ** 2
        p = np.argsort(norm, kind="stable")
        w[l], b[l], w[l + 1] = w[l][p], b[l][p], w[l + 1][:, p]
    return flat(loss, theta, w, b)
