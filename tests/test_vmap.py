"""fo.solve under jax.vmap over 10,000 starts, and under jax.jit."""

import time

import jax
import pytest
import jax.numpy as jnp
import numpy as np

import flowopt as fo
import schemes


@pytest.mark.slow  # 25 s: the default suite keeps under 15 min
def test_vmap_over_10000_starts_agrees_with_single_solves():
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.HeavyBall(loss, friction=2.0)
    rng = np.random.default_rng(1)
    x0s = jnp.asarray(rng.uniform(-5, 5, size=(10_000, 2)))
    solve = lambda x0: fo.solve(flow, schemes.SemiImplicitEuler(), x0, t1=2.0, dt0=1e-2)
    batch = jax.vmap(solve)(x0s)
    assert batch.x.shape == (10_000, 2) and batch.energies.shape == (10_000, 2)
    start = time.perf_counter()
    singles = np.stack([np.asarray(solve(x0).x) for x0 in x0s])  # 10,000 separate calls
    print(f"10,000 single solves: {time.perf_counter() - start:.1f} s")
    # vmap changes XLA's fusion, hence the rounding: agreement to 1e-12, not bitwise
    np.testing.assert_allclose(np.asarray(batch.x), singles, rtol=0, atol=1e-12)
    assert np.all(np.asarray(batch.stats["num_steps"]) == 200)


def test_jit_of_solve():
    flow = fo.flows.Adam.from_optax(fo.landscapes.Rosenbrock(), learning_rate=1e-2)
    run = jax.jit(lambda x0: fo.solve(flow, schemes.SemiImplicitEuler(), x0, t1=1.0,
                                      dt0=1e-2).x)
    x0 = jnp.array([-1.0, 1.5])
    eager = fo.solve(flow, schemes.SemiImplicitEuler(), x0, t1=1.0, dt0=1e-2).x
    # an outer jit compiles the solve differently: agreement to rounding, not bitwise
    np.testing.assert_allclose(run(x0), eager, rtol=0, atol=1e-13)
