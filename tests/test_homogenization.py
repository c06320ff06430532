"""Homogenized SGLD: HMM's slow drift against the Cole–Hopf effective gradient, and HMM
against fine-step Euler–Maruyama of eqs. 13a–b (seed 000)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

GAMMA, BETA = 0.5, 2.0
KEY = jax.random.key(11)


def double_well(x):
    return 0.25 * jnp.sum((x**2 - 1.0) ** 2)


def cole_hopf_drift(x):
    r"""$-(x - \langle y\rangle_x)/\gamma$, $\rho^x \propto e^{-\beta[\Phi(y) + (x-y)^2/2\gamma]}$,
    by the trapezoidal rule on [-6, 6] (the density is below 1e-30 outside)."""
    y = np.linspace(-6.0, 6.0, 20_001)
    w = np.exp(-BETA * (0.25 * (y**2 - 1) ** 2 + (x - y) ** 2 / (2 * GAMMA)))
    return -(x - np.trapezoid(y * w, y) / np.trapezoid(w, y)) / GAMMA


def hmm_drift(x, micro, replicas=512, delta=0.05):
    """(mean, standard error) over replicas of (X1 - X0)/Delta after one HMM macro step:
    X is frozen during the micro steps, so this is HMM's estimate of the slow drift."""
    flow = fo.flows.Homogenized(double_well, gamma=GAMMA, beta=BETA, epsilon=1e-3)
    sol = fo.solve_batch(flow, schemes.HMM(micro_steps=micro, burn_in=micro // 5),
                         jnp.full((replicas, 1), x), key=KEY, t1=delta, dt0=delta)
    f = (np.asarray(sol.x)[:, 0] - x) / delta
    return f.mean(), f.std(ddof=1) / np.sqrt(replicas)


@pytest.mark.parametrize("x", [-0.8, 0.3, 1.5])
def test_hmm_slow_drift_is_the_cole_hopf_gradient(x):
    """eps = 1e-3; micro steps delta/eps = 0.025 and 0.0125 (M = 2000, 4000).

    Tolerance, derived: the estimate's errors are statistical (4 standard errors) and
    the O(delta/eps) bias of Euler–Maruyama's invariant measure, estimated by Richardson
    as 2|F(delta) - F(delta/2)|. The burn-in (M/5 micro steps, >= 10 fast-time units at
    relaxation rate >= 2) leaves e^-20 of the start. eps itself does not enter: with X
    frozen, eps only rescales the fast time."""
    coarse, _ = hmm_drift(x, 2000)
    fine, se = hmm_drift(x, 4000)
    exact = cole_hopf_drift(x)
    tol = 4 * se + 2 * abs(coarse - fine)
    print(f"x={x}: HMM {fine:.4f} (coarse {coarse:.4f}, se {se:.4f}), Cole–Hopf {exact:.4f}, "
          f"tol {tol:.4f}")
    assert abs(fine - exact) < tol
    assert tol < 0.05 + 0.05 * abs(exact)  # the test has teeth


def test_hmm_and_fine_euler_maruyama_agree_on_the_slow_mean():
    """eps = 0.01, X0 = 1.5, mean of X(t) over 400 replicas at t = 0.25, 0.5, 1.
    Euler–Maruyama dt = 1e-4 (dt/eps = 0.01); HMM Delta = 0.01, M = 20 (delta/eps = 0.05).

    Tolerance, derived: 4 standard errors of the difference of two independent means,
    plus HMM's O(Delta) error estimated by Richardson (2|H(Delta) - H(Delta/2)|), plus
    the O(eps) gap between the eps = 0.01 system and its homogenized limit, bounded by
    eps * sup|X'| <= 0.01 * 1 per unit time."""
    flow = fo.flows.Homogenized(double_well, gamma=GAMMA, beta=BETA, epsilon=0.01)
    x0 = jnp.full((400, 1), 1.5)
    ts = [0.25, 0.5, 1.0]
    run = lambda scheme, dt, k: np.asarray(fo.solve_batch(
        flow, scheme, x0, key=jax.random.fold_in(KEY, k), t1=1.0, dt0=dt, saveat=ts).xs)[..., 0]
    em, hmm, hmm_half = run(schemes.Euler(), 1e-4, 1), run(schemes.HMM(), 1e-2, 2), \
        run(schemes.HMM(), 5e-3, 3)
    se = np.sqrt(em.var(0, ddof=1) / len(em) + hmm.var(0, ddof=1) / len(hmm))
    tol = 4 * se + 2 * np.abs(hmm.mean(0) - hmm_half.mean(0)) + 0.01 * np.array(ts)
    gap = np.abs(em.mean(0) - hmm.mean(0))
    print(f"EM {em.mean(0)}, HMM {hmm.mean(0)}, gap {gap}, tol {tol}")
    assert np.all(gap < tol)
    assert np.all(np.abs(em.mean(0) - 1.5) > 5 * tol)  # the slow variable really moved


def test_mean_field_homogenized_runs_with_hmm_and_contracts_agents():
    flow = fo.flows.MeanFieldHomogenized(double_well, gamma=GAMMA, beta=BETA, epsilon=0.01,
                                         interaction=3.0)
    x0 = jnp.linspace(-1.5, 1.5, 10)[:, None]
    sol = fo.solve(flow, schemes.HMM(), x0, t1=2.0, dt0=0.01, key=KEY)
    spread0, spread1 = float(jnp.std(x0)), float(jnp.std(sol.x))
    assert bool(jnp.all(jnp.isfinite(sol.x))) and spread1 < 0.5 * spread0
