"""Stochastic flows against exact laws: OU moments and weak order, Gibbs densities,
McKean–Vlasov moments, CBO on Rastrigin; keys and batches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import flowopt as fo
import schemes

KEY = jax.random.key(2026)


def ou_flow(theta=1.0, sigma=1.0):
    """dX = -theta X dt + sigma dW as overdamped Langevin: Phi = theta x^2/2, beta = 2/sigma^2."""
    return fo.flows.Langevin(lambda x: 0.5 * theta * jnp.sum(x**2), beta=2.0 / sigma**2)


def endpoints(flow, x0, t1, dt, n, key=KEY):
    x0s = jnp.broadcast_to(jnp.asarray(x0), (n,) + jnp.shape(x0))
    return np.asarray(fo.solve_batch(flow, schemes.Euler(), x0s, key=key, t1=t1, dt0=dt).x)


def test_ou_moments_at_t1():
    n, x0 = 100_000, 1.0
    x = endpoints(ou_flow(), jnp.array([x0]), 1.0, 1e-3, n)[:, 0]
    mean, var = np.exp(-1.0) * x0, 0.5 * (1 - np.exp(-2.0))
    se_mean = np.sqrt(var / n)
    se_var = var * np.sqrt(2.0 / (n - 1))  # Gaussian sample variance
    print(f"OU t=1: mean {x.mean():.5f} (exact {mean:.5f}, se {se_mean:.1e}), "
          f"var {x.var(ddof=1):.5f} (exact {var:.5f}, se {se_var:.1e})")
    assert abs(x.mean() - mean) < 3 * se_mean
    assert abs(x.var(ddof=1) - var) < 3 * se_var


def test_euler_maruyama_weak_order_one():
    n, x0 = 100_000, 10.0
    dts = [1 / 10, 1 / 20, 1 / 40, 1 / 80]
    errors = []
    for i, dt in enumerate(dts):
        x = endpoints(ou_flow(), jnp.array([x0]), 1.0, dt, n, key=jax.random.fold_in(KEY, i))
        errors.append(abs(x.mean() - x0 * np.exp(-1.0)))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    print(f"weak errors of E[X(1)]: {errors}, slope {slope:.3f}")
    assert abs(slope - 1.0) <= 0.15


def double_well(x):
    return 0.25 * jnp.sum((x**2 - 1.0) ** 2)


def gibbs_cdf(beta):
    grid = np.linspace(-3.0, 3.0, 6001)
    dens = np.exp(-beta * 0.25 * (grid**2 - 1) ** 2)
    cdf = scipy.integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    cdf /= cdf[-1]
    return lambda x: np.interp(x, grid, cdf)


@pytest.mark.parametrize("flow", [fo.flows.Langevin(double_well, beta=3.0),
                                  pytest.param(fo.flows.UnderdampedLangevin(
                                      double_well, beta=3.0, friction=1.0),
                                      # 10 s; test_solve_exact keeps an underdamped case
                                      marks=pytest.mark.slow)],
                         ids=["Langevin", "UnderdampedLangevin"])
def test_long_run_matches_gibbs_density(flow):
    chains, burn, thin, t1 = 40, 50.0, 5.0, 500.0
    save = np.arange(burn, t1 + 1e-9, thin)
    x0s = jnp.zeros((chains, 1))
    sol = fo.solve_batch(flow, schemes.Euler(), x0s, key=KEY, t1=t1, dt0=1e-2, saveat=save)
    samples = np.asarray(sol.xs)[..., 0].ravel()
    stat, p = scipy.stats.kstest(samples, gibbs_cdf(3.0))
    print(f"{type(flow).__name__}: {samples.size} samples, KS {stat:.4f}, p = {p:.3f}")
    assert p > 0.01


@pytest.mark.slow  # 14 s; the kantas_fig1 quick study checks McKean-Vlasov against hand-written EM
def test_mckean_vlasov_mean_and_stationary_variance():
    """Phi = a x^2/2: the empirical mean is an OU process with rate a (the interaction
    cancels in it); deviations from it relax at rate a + lambda. Stationary agent variance
    (1/N)/(beta a) + (1 - 1/N)/(beta (a + lambda))."""
    a, lam, beta, n_agents, runs = 1.0, 2.0, 4.0, 20, 400
    flow = fo.flows.McKeanVlasov(lambda x: 0.5 * a * jnp.sum(x**2), beta=beta, interaction=lam)
    x0 = jnp.linspace(1.0, 3.0, n_agents)[:, None]  # mean 2
    ts = np.array([0.5, 1.0, 2.0, 15.0, 17.5, 20.0])
    sol = fo.solve_batch(flow, schemes.Euler(), jnp.broadcast_to(x0, (runs,) + x0.shape),
                         key=KEY, t1=20.0, dt0=1e-3, saveat=ts)
    ys = np.asarray(sol.ys)[..., 0]  # (runs, times, agents)
    means = ys.mean(axis=2)  # empirical mean per run and time
    exact = 2.0 * np.exp(-a * ts[:3])
    sd = np.sqrt((1 - np.exp(-2 * a * ts[:3])) / (beta * a * n_agents))  # OU noise of the mean
    se = sd / np.sqrt(runs)
    print("empirical mean", means[:, :3].mean(0), "exact", exact, "se", se)
    assert np.all(np.abs(means[:, :3].mean(0) - exact) < 4 * se + 1e-3 * exact)
    var_exact = (1 / n_agents) / (beta * a) + (1 - 1 / n_agents) / (beta * (a + lam))
    late = ys[:, 3:, :]
    var_hat = np.mean(late**2)  # the mean is ~0 by t = 15
    # runs are independent; the three times 2.5 apart are nearly so: se from the runs
    per_run = np.mean(late**2, axis=(1, 2))
    se_var = per_run.std(ddof=1) / np.sqrt(runs)
    print(f"stationary variance {var_hat:.5f}, exact {var_exact:.5f}, se {se_var:.1e}")
    # Euler-Maruyama with dt = 1e-3 biases an OU variance by a relative O(dt (a + lam)) = 0.3%
    assert abs(var_hat - var_exact) < 3 * se_var + 0.003 * var_exact * 2


def test_cbo_finds_rastrigin_origin():
    """100 agents uniform on [-5.12, 5.12]^2, lambda = 1, sigma = 0.7 (anisotropic),
    alpha = 1e4, Euler-Maruyama dt = 0.01 to t = 10; 100 seeded runs."""
    loss = fo.landscapes.Rastrigin()
    flow = fo.flows.CBO(loss, drift_rate=1.0, sigma=0.7, alpha=1e4, anisotropic=True)
    starts = jax.random.uniform(jax.random.key(7), (100, 100, 2), minval=-5.12, maxval=5.12)
    sol = fo.solve_batch(flow, schemes.Euler(), starts, key=KEY, t1=10.0, dt0=0.01)
    assert sol.x.shape == (100, 100, 2)  # the agents, as for every interacting flow
    dist = np.linalg.norm(np.asarray(jax.vmap(flow.outcome)(sol.y)), axis=1)  # consensus
    print(f"CBO: consensus within 0.1 of 0 in {np.mean(dist < 0.1):.0%} of runs; "
          f"median distance {np.median(dist):.1e}")
    assert np.mean(dist < 0.1) >= 0.9


def test_cbo_weights_are_stable_for_huge_alpha():
    flow = fo.flows.CBO(fo.landscapes.Rastrigin(), alpha=1e12)
    xs = jnp.array([[0.0, 0.0], [3.0, 3.0], [1.0, 1.0]])
    np.testing.assert_allclose(flow.consensus(xs), [0.0, 0.0], atol=1e-12)


def test_same_key_same_bits_and_batches_do_not_matter():
    flow = fo.flows.Langevin(fo.landscapes.Himmelblau(), beta=2.0)
    x0s = jax.random.uniform(jax.random.key(1), (64, 2), minval=-5, maxval=5)
    run = lambda x, **kw: np.asarray(fo.solve_batch(flow, schemes.Euler(), x, key=KEY,
                                                    t1=1.0, dt0=1e-2, **kw).x)
    whole = run(x0s)
    np.testing.assert_array_equal(whole, run(x0s))  # same key: bit-identical
    parts = np.concatenate([run(x0s[:10]), run(x0s[10:40], first_index=10),
                            run(x0s[40:], first_index=40)])
    np.testing.assert_array_equal(parts, whole)
    perm = np.random.default_rng(0).permutation(64)
    np.testing.assert_array_equal(run(x0s[perm], indices=perm), whole[perm])  # reordered
    single = [np.asarray(fo.solve(flow, schemes.Euler(), x0s[i], t1=1.0, dt0=1e-2,
                                  key=jax.random.fold_in(KEY, int(i))).x) for i in perm[:8]]
    np.testing.assert_allclose(np.stack(single), whole[perm[:8]], rtol=0, atol=1e-12)
    other = np.asarray(fo.solve_batch(flow, schemes.Euler(), x0s, key=jax.random.key(3),
                                      t1=1.0, dt0=1e-2).x)
    assert np.max(np.abs(other - whole)) > 1e-3


def test_random_drift_flows_reproducible_and_unbiased():
    loss = fo.landscapes.Himmelblau()
    x0 = jnp.array([1.0, 1.0])
    for flow in [fo.flows.NoisyGradient(loss, radius=0.5),
                 fo.flows.SmoothedGradient(loss, variance=0.01, samples=4)]:
        a = fo.solve(flow, schemes.Euler(), x0, t1=2.0, dt0=1e-2, key=KEY).x
        b = fo.solve(flow, schemes.Euler(), x0, t1=2.0, dt0=1e-2, key=KEY).x
        c = fo.solve(flow, schemes.Euler(), x0, t1=2.0, dt0=1e-2, key=jax.random.key(9)).x
        np.testing.assert_array_equal(a, b)
        assert float(jnp.max(jnp.abs(a - c))) > 0
        assert float(jnp.linalg.norm(a - jnp.array([3.0, 2.0]))) < 0.1  # small noise: GD-like


def test_ball_noise_is_uniform_in_the_ball():
    from flowopt.flows.noisy import uniform_in_ball

    pts = jax.vmap(lambda k: uniform_in_ball(k, jnp.zeros(2), 2.0))(
        jax.random.split(KEY, 20_000))
    r = np.linalg.norm(np.asarray(pts), axis=1)
    assert r.max() <= 2.0
    # uniform in a disc of radius 2: P(r < s) = (s/2)^2
    assert scipy.stats.kstest(r, lambda s: np.clip(s / 2.0, 0, 1) ** 2).pvalue > 0.01


def test_sam_flow_matches_its_definition():
    loss = fo.landscapes.Himmelblau()
    flow = fo.flows.SAM(loss, rho=0.1)
    x = jnp.array([1.0, -2.0])
    g = loss.grad(x)
    expected = -loss.grad(x + 0.1 * g / jnp.linalg.norm(g))
    np.testing.assert_allclose(flow.drift(0.0, x, None), expected, rtol=1e-14)
    np.testing.assert_array_equal(flow.drift(0.0, jnp.array([3.0, 2.0]), None), [0.0, 0.0])
