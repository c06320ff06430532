"""fo.population (seed 002 model populations), fo.landscapes.SoftmaxClassifier and the
basin-hopping processes' single ``hop``, against independent computations."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import flowopt as fo
import schemes
from flowopt.flows.noisy import uniform_in_ball


# --- SoftmaxClassifier ---------------------------------------------------------------

def _numpy_loss(theta, x, labels, hidden, classes):
    """Forward pass and cross-entropy written out in NumPy (float64)."""
    sizes = [x.shape[1]] + list(hidden) + [classes]
    h, i = x, 0
    for j, (n, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = theta[i:i + n * m].reshape(m, n)
        b = theta[i + n * m:i + n * m + m]
        i += n * m + m
        z = h @ w.T + b
        h = np.tanh(z) if j < len(sizes) - 2 else z
    z = h - h.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(x)), labels].mean(), (h.argmax(1) == labels).mean()


def test_classifier_matches_numpy_forward_pass():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    labels = rng.integers(0, 3, 40)
    labels[:3] = [0, 1, 2]
    with jax.enable_x64(True):
        loss = fo.landscapes.SoftmaxClassifier(x, labels, hidden=(4, 6))
        assert loss.dim == (5 + 1) * 4 + (4 + 1) * 6 + (6 + 1) * 3
        theta = jnp.asarray(rng.normal(size=loss.dim))
        want_loss, want_acc = _numpy_loss(np.asarray(theta), x, labels, (4, 6), 3)
        assert float(loss(theta)) == pytest.approx(want_loss, rel=1e-12)
        assert float(loss.accuracy(theta, x, labels)) == pytest.approx(want_acc)
        # the gradient against central differences
        g = np.asarray(jax.grad(loss)(theta))
        for k in rng.choice(loss.dim, 5, replace=False):
            e = np.zeros(loss.dim)
            e[k] = 1e-6
            fd = (_numpy_loss(np.asarray(theta) + e, x, labels, (4, 6), 3)[0]
                  - _numpy_loss(np.asarray(theta) - e, x, labels, (4, 6), 3)[0]) / 2e-6
            assert g[k] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_classifier_init_and_errors():
    loss = fo.landscapes.SoftmaxClassifier(np.eye(3), [0, 1, 2], hidden=(4,))
    assert float(loss(jnp.zeros(loss.dim))) == pytest.approx(np.log(3), rel=1e-6)
    theta = np.asarray(loss.init(jax.random.key(0)))
    assert theta.shape == (31,) and np.abs(theta[:12]).max() <= 1 / np.sqrt(3)
    assert np.abs(theta[16:]).max() <= 1 / np.sqrt(4) and np.ptp(theta) > 0
    with pytest.raises(ValueError, match="x"):
        fo.landscapes.SoftmaxClassifier(np.ones(3), [0, 1, 1])
    with pytest.raises(ValueError, match="labels"):
        fo.landscapes.SoftmaxClassifier(np.eye(3), [0.5, 1, 2])
    with pytest.raises(ValueError, match="labels"):
        fo.landscapes.SoftmaxClassifier(np.eye(3), [0, 1, 5], classes=3)
    with pytest.raises(ValueError, match="hidden"):
        fo.landscapes.SoftmaxClassifier(np.eye(3), [0, 1, 2], hidden=(0,))
    with pytest.raises(ValueError, match="theta"):
        loss(jnp.zeros(5))


# --- trajectory ------------------------------------------------------------------------

def test_trajectory_is_the_epoch_loop():
    def step(x, key):
        return 0.5 * x + jax.random.normal(key, x.shape)

    def first(x, key):
        return x + 100.0

    x0, key = jnp.arange(3.0), jax.random.key(7)
    got = np.asarray(fo.population.trajectory(step, x0, key, 5, first=first))
    want, x = [], first(x0, jax.random.fold_in(key, 0))
    want.append(x)
    for e in range(1, 5):
        x = step(x, jax.random.fold_in(key, e))
        want.append(x)
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-6)
    # under jit and vmap, one trajectory per start and key
    keys = jax.random.split(key, 2)
    both = jax.jit(jax.vmap(lambda a, k: fo.population.trajectory(step, a, k, 4)))(
        jnp.stack([x0, -x0]), keys)
    one = fo.population.trajectory(step, -x0, keys[1], 4)
    np.testing.assert_allclose(np.asarray(both[1]), np.asarray(one), rtol=1e-6)
    with pytest.raises(ValueError, match="epochs"):
        fo.population.trajectory(step, x0, key, 0)


# --- select / population -----------------------------------------------------------

def test_select_against_brute_force():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=(4, 9)).astype(float)  # many ties
    tie = rng.normal(size=scores.shape)
    for largest in (False, True):
        for tb in (None, tie):
            idx = fo.population.select(scores, 3, largest=largest, tiebreak=tb)
            for t in range(4):
                order = sorted(range(9), key=lambda j: (
                    -scores[t, j] if largest else scores[t, j],
                    0.0 if tb is None else tb[t, j], j))
                assert list(idx[t]) == order[:3]
    vals = np.arange(36).reshape(4, 9)
    pop = fo.population.population(vals, scores, 2)
    idx = fo.population.select(scores, 2)
    assert pop.tolist() == [vals[t, j] for t in range(4) for j in idx[t]]
    # NaN is the worst score either way
    s = np.array([[np.nan, 1.0, 2.0]])
    assert fo.population.select(s, 2).tolist() == [[1, 2]]
    assert fo.population.select(s, 2, largest=True).tolist() == [[2, 1]]
    with pytest.raises(ValueError, match="size"):
        fo.population.select(scores, 10)
    with pytest.raises(ValueError, match="scores"):
        fo.population.select(np.ones(4), 1)


# --- compare ---------------------------------------------------------------------------

def test_compare_against_exact_enumeration_and_formulas():
    a = np.array([0.91, 0.95, 0.88, 0.97])
    b = np.array([0.93, 0.99, 0.96, 0.98])
    res = fo.population.compare(a, b)
    # exact two-sided Mann–Whitney p: the U statistic over all 70 splits of the 8 values
    pooled = np.concatenate([a, b])

    def u(first):
        return sum((x > y) + 0.5 * (x == y) for x in first for y in np.setdiff1d(pooled, first))
    u_obs = u(a)
    us = np.array([u(pooled[list(c)]) for c in itertools.combinations(range(8), 4)])
    p_exact = min(1.0, 2 * min((us <= u_obs).mean(), (us >= u_obs).mean()))
    assert res["mann_whitney_p"] == pytest.approx(p_exact, rel=1e-12)
    # Welch's and Student's t written out
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 4
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 3)
    assert res["welch_p"] == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-10)
    sp = np.sqrt((3 * a.var(ddof=1) + 3 * b.var(ddof=1)) / 6 * (1 / 4 + 1 / 4))
    assert res["t_test_p"] == pytest.approx(2 * stats.t.sf(abs((a.mean() - b.mean()) / sp), 6),
                                            rel=1e-10)
    # medians (0.91 + 0.95) / 2 and (0.96 + 0.98) / 2
    assert res["median"] == [pytest.approx(0.93), pytest.approx(0.97)]
    same = fo.population.compare(np.ones(3), np.ones(4))
    assert np.isnan(same["mann_whitney_p"]) and np.isnan(same["welch_p"])
    with pytest.raises(ValueError):
        fo.population.compare([1.0], [1.0, 2.0])


# --- hop -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [fo.restarts.BasinHopping, fo.restarts.MonotonicBasinHopping])
def test_run_is_a_local_search_then_hops(cls):
    """run() = local search, then ``hops`` hops keyed fold_in(key, h + 1), each written out
    here from its definition (perturb uniformly in the ball, fixed-step GD stopping at
    max|grad| < gtol, accept always / if lower); ``hop`` alone is one of them."""
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.GradientFlow(loss)
    eta, steps, radius, gtol = 1e-3, 300, 1.5, 1e-3
    proc = cls(flow, schemes.Euler(), dt=eta, local_steps=steps, gtol=gtol, radius=radius,
               hops=3)
    x0, key = jnp.array([0.5, -1.0]), jax.random.key(3)
    out = proc.run(x0, key)
    grad = jax.jit(jax.grad(loss))

    def local(x):
        for _ in range(steps):
            g = grad(x)
            if float(jnp.max(jnp.abs(g))) < gtol:
                break
            x = x - eta * g
        return x
    y = local(x0)
    fy = loss(y)
    accepted = 0
    for h in range(3):
        k = jax.random.fold_in(key, h + 1)
        one = proc.hop(y, fy, k)
        cand = local(y + uniform_in_ball(jax.random.fold_in(k, 1), y, radius))
        take = bool(loss(cand) < fy) if cls.monotonic else True
        if take:
            y, fy, accepted = cand, loss(cand), accepted + 1
        np.testing.assert_allclose(np.asarray(one[0]), np.asarray(y), atol=1e-5)
        assert bool(one[3]) == take
    np.testing.assert_allclose(np.asarray(out.x), np.asarray(y), atol=1e-5)
    assert int(out.accepted) == accepted
