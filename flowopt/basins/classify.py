"""Labels: attractor index, or a negative code (DESIGN.md): -1 diverged (non-finite, or
left the far box), -2 not converged within t1, -3 stationary but not a minimum."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

DIVERGED, NOT_CONVERGED, SADDLE = -1, -2, -3
CODES = {DIVERGED: "diverged", NOT_CONVERGED: "not converged", SADDLE: "saddle"}


def default_radius(attractors, scale):
    """Half the closest distance between attractors, at most 5% of the domain's size."""
    cap = 0.05 * scale
    if len(attractors) < 2:
        return cap
    diff = attractors[:, None] - attractors[None]
    dist = np.sqrt((diff**2).sum(-1))
    dist[np.diag_indices(len(attractors))] = np.inf
    return min(cap, 0.5 * dist.min())


@eqx.filter_jit
def _eigs(loss, points):
    return jax.vmap(lambda p: jnp.linalg.eigvalsh(jax.hessian(loss)(p)))(points)


@jax.jit
def _nearest(points, known):
    """Distance to, and index of, the nearest known attractor for each point."""
    d = jnp.sqrt(jnp.sum((points[:, None] - known[None]) ** 2, -1))
    return d.min(1), d.argmin(1)


@eqx.filter_jit
def losses_at(loss, points):
    """The loss at each row of ``points``; compiled once per loss and shape."""
    return jax.vmap(loss)(points)


def _hessian_eigs(loss, points):
    if len(points) == 0:
        return np.zeros((0, points.shape[1]))
    return np.asarray(_eigs(loss, jnp.asarray(points)))


def classify(loss, final, status, attractors, radius, discover=True):
    """Labels for end points ``final`` (n, d) with ``status`` (1 converged, -1 diverged,
    -2 not converged), and the attractor table ``(positions, losses, hessian_eigs)``.

    Converged points within ``radius`` of a known attractor take its index. Other
    converged points are classified by their Hessian: not positive definite -> -3;
    positive definite -> a newly found minimum, clustered greedily within ``radius``
    and appended to the attractors (so tiles cannot disagree: this runs once, on all
    end points). Minima with singular Hessians must be listed to be recognised. With
    ``discover=False`` (noisy flows) every non-diverged end point within ``radius`` of a
    known attractor takes its label and the others are -2.
    """
    final = np.asarray(final, float)
    known = np.zeros((0, final.shape[1])) if attractors is None else np.asarray(attractors)
    labels = np.where(status == DIVERGED, DIVERGED, NOT_CONVERGED).astype(np.int32)
    conv = np.nonzero(status == 1 if discover else status != DIVERGED)[0]
    if len(known) and len(conv):
        dist, near = (np.asarray(a) for a in _nearest(jnp.asarray(final[conv]),
                                                     jnp.asarray(known)))
        ok = dist < radius
        labels[conv[ok]] = near[ok]
        conv = conv[~ok]
    found = []
    if len(conv) and discover:
        eigs = _hessian_eigs(loss, final[conv])
        scale = max(1.0, np.abs(eigs).max())
        pd = eigs.min(1) > 1e-8 * scale
        labels[conv[~pd]] = SADDLE
        for i in conv[pd]:  # greedy clustering of new minima
            for j, c in enumerate(found):
                if np.linalg.norm(final[i] - c) < radius:
                    labels[i] = len(known) + j
                    break
            else:
                found.append(final[i])
                labels[i] = len(known) + len(found) - 1
    positions = np.concatenate([known, np.array(found).reshape(-1, final.shape[1])])
    losses = np.asarray(losses_at(loss, jnp.asarray(positions))) if len(positions) \
        else np.zeros(0)
    return labels, positions, losses, _hessian_eigs(loss, positions)
