"""The mapper's noise (issue 14 item 4): ``schemes.noise.StepBrownianPath`` on per-lane
keys. Its increments are independent N(0, dt) across lanes, components and steps (KS,
moments, correlations; an Ornstein-Uhlenbeck stationary variance through the mapper
against the exact value of the discrete scheme), a function of (key, start, replica,
step) only (any tiling, any tile order: the same map bit for bit), and a stochastic map
runs within 1.5x of a hand-fused loop that calls ``jax.random.normal`` per step."""

import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import flowopt as fo
import schemes
from flowopt.basins.mapper import _keys, plan, run_tile
from schemes.noise import StepBrownianPath, threefry2x32

KEY = jax.random.key(0)
P_MIN = 1e-4  # KS tests at fixed keys (several per run): a false alarm at most ~1e-3


def increments(lanes=512, steps=128, d=2, dt=1e-2, key=KEY):
    """(lanes, steps, d) increments as the mapper draws them: lane keys of starts 0..,
    two replicas each, step counters 0.."""
    flat = jnp.arange(lanes) // 2
    keys = _keys(key, flat, jnp.arange(lanes) % 2, True)
    shape = jax.ShapeDtypeStruct((d,), jnp.float32)
    one = lambda k, s: StepBrownianPath(shape, k).evaluate(s, s + 1) * np.sqrt(dt)
    draw = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    return np.asarray(draw(keys, jnp.arange(steps, dtype=jnp.int32)), float)


def test_hash_is_jax_threefry_bit_for_bit():
    from jax.extend.random import threefry2x32_p

    words = jax.random.key_data(jax.random.split(KEY, 64))
    x1 = jnp.arange(64, dtype=jnp.uint32) * jnp.uint32(2654435761)
    x2 = jnp.arange(64, dtype=jnp.uint32)[::-1]
    ours = threefry2x32(words[:, 0], words[:, 1], x1, x2)
    theirs = threefry2x32_p.bind(words[:, 0], words[:, 1], x1, x2)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_increments_are_independent_normals_with_variance_dt():
    dt = 1e-2
    w = increments(dt=dt)  # 512 lanes x 128 steps x 2 = 131072 numbers
    z = w.ravel() / np.sqrt(dt)
    n = z.size
    assert scipy.stats.kstest(z, "norm").pvalue > P_MIN
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert abs(scipy.stats.kurtosis(z)) < 4 * np.sqrt(24 / n)
    lim = lambda m: 4.5 / np.sqrt(m)  # |r| of independent samples, ~4.5 sigma
    pairs = {
        "components": (w[..., 0], w[..., 1]),
        "consecutive steps": (w[:, 1:], w[:, :-1]),
        "replicas of a start": (w[0::2], w[1::2]),
        "neighbouring starts": (w[0:-2:2], w[2::2]),
        "step s of lane i, step i of lane s": (w[:128], np.swapaxes(w[:128], 0, 1)),
    }
    for name, (a, b) in pairs.items():
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < lim(a.size), (name, r)
    # the per-lane sums over steps: a Brownian motion at t = 128 dt, variance 128 dt
    ends = w.sum(1).ravel() / np.sqrt(128 * dt)
    assert scipy.stats.kstest(ends, "norm").pvalue > P_MIN


def test_increments_depend_on_key_and_step_only():
    a, b = increments(lanes=8, steps=6), increments(lanes=8, steps=6)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:, 1:] != a[:, :-1]) and np.all(a[1:] != a[:-1])
    other = increments(lanes=8, steps=6, key=jax.random.key(1))
    assert np.all(other != a)
    # a lane's draw does not depend on the batch it is drawn in
    shape = jax.ShapeDtypeStruct((2,), jnp.float32)
    keys = _keys(KEY, jnp.arange(4) // 2, jnp.arange(4) % 2, True)
    alone = StepBrownianPath(shape, keys[3]).evaluate(jnp.int32(5), jnp.int32(6))
    np.testing.assert_array_equal(np.asarray(alone) * np.sqrt(1e-2), a[3, 5])


def test_levy_area_and_float64():
    shape = (jax.ShapeDtypeStruct((3,), jnp.float32), jax.ShapeDtypeStruct((2, 2), jnp.float32))
    path = StepBrownianPath(shape, KEY, diffrax.SpaceTimeTimeLevyArea)
    out = path.evaluate(0, 4, use_levy=True)
    assert isinstance(out, diffrax.SpaceTimeTimeLevyArea)
    assert out.W[1].shape == (2, 2) and out.H[0].shape == (3,) and out.K[1].shape == (2, 2)
    np.testing.assert_array_equal(np.asarray(path.evaluate(0, 4)[0]), np.asarray(out.W[0]))
    draw = jax.vmap(lambda k: StepBrownianPath(shape[:1], k, diffrax.SpaceTimeLevyArea)
                    .evaluate(0, 1, use_levy=True))(jax.random.split(KEY, 20_000))
    np.testing.assert_allclose(np.var(np.asarray(draw.W[0])), 1.0, rtol=0.03)
    np.testing.assert_allclose(np.var(np.asarray(draw.H[0])), 1 / 12, rtol=0.03)
    r = np.corrcoef(np.asarray(draw.W[0]).ravel(), np.asarray(draw.H[0]).ravel())[0, 1]
    assert abs(r) < 0.02
    with jax.enable_x64(True):
        keys = jax.random.split(KEY, 20_000)
        z = jax.vmap(lambda k: StepBrownianPath(jax.ShapeDtypeStruct((2,), jnp.float64), k)
                     .evaluate(3, 4))(keys)
        assert z.dtype == jnp.float64
        assert scipy.stats.kstest(np.asarray(z).ravel(), "norm").pvalue > P_MIN


def test_ornstein_uhlenbeck_stationary_variance_through_the_mapper():
    """dX = -theta X dt + sigma dW (Langevin on theta x^2 / 2, beta = 2 / sigma^2),
    Euler-Maruyama: X' = (1 - theta dt) X + sigma sqrt(dt) Z has the stationary variance
    sigma^2 / (theta (2 - theta dt)) exactly. 64 starts x 1024 replicas, the end points
    of the mapper's lanes (t1 = 20: the starts are forgotten to e^-20)."""
    theta, sigma, dt = 1.0, 1.0, 0.05
    flow = fo.flows.Langevin(lambda x: 0.5 * theta * jnp.sum(x**2), beta=2.0 / sigma**2)
    grid = fo.Grid(np.array([[-1.0, 1.0], [-1.0, 1.0]]), (8, 8))
    spec = plan(flow, schemes.Euler(), grid, t1=20.0, dt0=dt, key=KEY, replicas=1024,
                attractors=np.zeros((1, 2)))
    x = np.concatenate([run_tile(spec, i)["final"] for i in range(spec.n_tiles)])
    assert x.shape == (64 * 1024, 2)
    exact = sigma**2 / (theta * (2 - theta * dt))
    n = x.size
    var = x.var()
    print(f"OU stationary variance {var:.5f}, exact (discrete) {exact:.5f}, "
          f"continuous {sigma**2 / (2 * theta):.5f}")
    assert abs(var - exact) < 4 * exact * np.sqrt(2 / n)  # 4 sigma: 1.6% here
    assert abs(x.mean()) < 4 * np.sqrt(exact / n)
    assert scipy.stats.kstest(x.ravel() / np.sqrt(exact), "norm").pvalue > P_MIN
    r = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    assert abs(r) < 4.5 / np.sqrt(len(x))


@pytest.mark.parametrize("x64", [True, False])
def test_stochastic_map_is_the_same_for_any_tiling(x64):
    with jax.enable_x64(x64):
        loss = fo.landscapes.Himmelblau()
        flow = fo.flows.Langevin(loss, beta=5.0)
        grid = fo.Grid(loss.domain, (12, 10))
        kw = dict(t1=1.0, dt0=1e-2, key=KEY, replicas=5)
        whole = fo.basins(flow, schemes.Euler(), grid, **kw)
        tiled = fo.basins(flow, schemes.Euler(), grid, tile=128,
                          tile_order=[4, 2, 0, 3, 1], **kw)
        assert plan(flow, schemes.Euler(), grid, **kw).dtype == \
            ("float64" if x64 else "float32")
    for name in ("final_x", "label", "probability"):
        np.testing.assert_array_equal(whole[name].values, tiled[name].values)


def test_stochastic_map_within_1_5x_of_a_hand_fused_loop():
    """Langevin (beta = 5) on a Himmelblau grid, replicas, Euler-Maruyama dt = 1e-2: the
    map's start*steps per second against a fori_loop drawing jax.random.normal per step
    (issue 14 item 4: 5x slower with diffrax's UnsafeBrownianPath). Smaller than the
    issue's 128^2 x 16 x 1000 steps; benchmarks/basins_throughput.py runs that one.
    float32, JAX's default (the suite runs in x64)."""
    with jax.enable_x64(False):
        t_fused, t_map = _fused_and_map_times()
    print(f"fused {t_fused:.3f} s, map {t_map:.3f} s: {t_map / t_fused:.2f}x")
    assert t_map < 1.5 * t_fused


def _fused_and_map_times():
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.Langevin(loss, beta=5.0)
    grid = fo.Grid(loss.domain, (64, 64))
    replicas, dt, steps = 8, 1e-2, 300
    starts = jnp.asarray(np.repeat(grid.points().reshape(-1, 2), replicas, 0), jnp.float32)
    grad = jax.vmap(jax.grad(loss))
    scale = float(np.sqrt(2 * dt / 5.0))

    @jax.jit
    def fused(x, key):
        return jax.lax.fori_loop(0, steps, lambda i, x: x - dt * grad(x) + scale * jax.random
                                 .normal(jax.random.fold_in(key, i), x.shape, x.dtype), x)

    run_fused = lambda: jax.block_until_ready(fused(starts, KEY))
    run_map = lambda: fo.basins(flow, schemes.Euler(), grid, t1=steps * dt, dt0=dt,
                                replicas=replicas, key=KEY)
    run_fused(), run_map()
    best = [np.inf, np.inf]
    for _ in range(3):
        for i, fn in enumerate((run_fused, run_map)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best
