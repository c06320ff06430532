"""Flows: energies decrease along the exact flow at the rate given by `dissipation`.

The exact trajectory comes from scipy's DOP853 at rtol 1e-12 (independent of diffrax);
dE/dt is taken by central differences of E along it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from jax.flatten_util import ravel_pytree

import flowopt as fo
import schemes

HIMMELBLAU = fo.landscapes.Himmelblau()
FLOWS = {
    "GradientFlow": fo.flows.GradientFlow(HIMMELBLAU),
    "HeavyBall": fo.flows.HeavyBall(HIMMELBLAU, friction=1.5, mass=2.0),
    "Nesterov-SBC": fo.flows.Nesterov(HIMMELBLAU),
    "Nesterov-optax": fo.flows.Nesterov.from_optax(HIMMELBLAU, learning_rate=1e-2, momentum=0.9),
    # s(0) > 0: from s(0) = 0 the speed is ~1/sqrt(t), too rough for finite differences
    "RMSProp": fo.flows.RMSProp.from_optax(HIMMELBLAU, learning_rate=1e-2, decay=0.999, eps=1e-4,
                                          initial_scale=1.0),
    "Adam": fo.flows.Adam(HIMMELBLAU, a=5.0, b=0.5),
    "Adam-optax": fo.flows.Adam.from_optax(HIMMELBLAU, learning_rate=1e-2),
    "Adadelta": fo.flows.Adadelta.from_optax(HIMMELBLAU, learning_rate=1.0, rho=0.9, eps=1e-3),
    "LevenbergMarquardt": fo.flows.LevenbergMarquardt(fo.landscapes.NeuronPoly().residuals, 0.1),
}
X0 = jnp.array([0.5, -0.8])


def exact_trajectory(flow, t1, n=201):
    y0 = flow.init(X0)
    flat0, unravel = ravel_pytree(y0)
    rhs = jax.jit(lambda t, z: ravel_pytree(flow.drift(t, unravel(z), None))[0])
    ts = np.linspace(0.0, t1, n)
    sol = scipy.integrate.solve_ivp(lambda t, z: np.asarray(rhs(t, jnp.asarray(z))), (0, t1),
                                    np.asarray(flat0), method="DOP853", t_eval=ts,
                                    rtol=1e-12, atol=1e-12)
    assert sol.success
    return ts, jax.vmap(unravel)(jnp.asarray(sol.y.T))


@pytest.mark.parametrize("name", list(FLOWS))
def test_energy_decreases_at_the_dissipation_rate(name):
    flow = FLOWS[name]
    ts, ys = exact_trajectory(flow, t1=0.05, n=5001)
    e = np.asarray(jax.vmap(lambda t, y: flow.energy(t, y, None))(ts, ys))
    d = np.asarray(jax.vmap(lambda t, y: flow.dissipation(t, y, None))(ts, ys))
    assert np.all(np.diff(e) <= 1e-9 * np.abs(e[:-1])), "energy rose along the exact flow"
    assert np.all(d >= -1e-12)
    h = ts[1] - ts[0]
    fd = -(e[2:] - e[:-2]) / (2 * h)  # central differences, h = 1e-5
    np.testing.assert_allclose(d[1:-1], fd, rtol=1e-4, atol=1e-6 * np.max(np.abs(d)))


@pytest.mark.parametrize("name", ["Adam", "Adam-optax"])
def test_adam_start_uses_the_limits(name):
    """At t = 0 the 0/0 bias corrections take their limits: the drift and the
    dissipation at t = 0 match their values just after."""
    flow = FLOWS[name]
    y0 = flow.init(X0)
    drift0 = flow.drift_p(0.0, y0, None)
    assert bool(jnp.all(jnp.isfinite(drift0)))
    tiny = 1e-7
    ts, ys = exact_trajectory(flow, t1=tiny, n=2)
    last = jax.tree_util.tree_map(lambda leaf: leaf[-1], ys)
    np.testing.assert_allclose(flow.drift_p(tiny, last, None), drift0, rtol=1e-4)
    np.testing.assert_allclose(flow.dissipation(tiny, last, None),
                               flow.dissipation(0.0, y0, None), rtol=1e-4)


def test_closed_form_dissipations_match_the_generic_jvp():
    generic = fo.flows.AbstractFlow.dissipation
    for name in ["GradientFlow", "HeavyBall", "Nesterov-SBC", "Nesterov-optax", "RMSProp",
                 "Adadelta", "LevenbergMarquardt"]:
        flow = FLOWS[name]
        _, ys = exact_trajectory(flow, t1=0.2, n=3)
        last = jax.tree_util.tree_map(lambda leaf: leaf[-1], ys)
        np.testing.assert_allclose(flow.dissipation(0.2, last, None),
                                   generic(flow, 0.2, last, None), rtol=1e-10)


def test_levenberg_marquardt_step_matches_numpy():
    f = fo.landscapes.NeuronPoly("polyThree")
    flow = fo.flows.LevenbergMarquardt(f.residuals, damping=0.3)
    x = jnp.array([0.7, -0.4])
    r = np.asarray(f.residuals(x))
    w, b = 0.7, -0.4
    ds = lambda z: 6 * z**2 - 6 * z
    jac = np.array([[0.0, ds(b)], [ds(w + b), ds(w + b)]]) / np.sqrt(2)
    expected = -np.linalg.solve(jac.T @ jac + 0.3 * np.eye(2), jac.T @ r)
    np.testing.assert_allclose(flow.drift(0.0, x, None), expected, rtol=1e-12)
    assert float(flow.loss(x)) == pytest.approx(float(f(x)))


def test_lm_reaches_a_listed_minimum_of_poly_five():
    f = fo.landscapes.NeuronPoly("polyFive")
    flow = fo.flows.LevenbergMarquardt(f.residuals, damping=1e-3)
    sol = fo.solve(flow, schemes.Euler(), jnp.array([0.2, 2.6]), t1=50.0, dt0=0.5)
    assert np.min(np.linalg.norm(f.minima - np.asarray(sol.x), axis=1)) < 1e-6


def test_nesterov_sbc_is_second_order_and_optax_form_is_not():
    assert FLOWS["Nesterov-SBC"].second_order and FLOWS["HeavyBall"].second_order
    assert not FLOWS["Nesterov-optax"].second_order


@pytest.mark.parametrize("kind", ["polyTwo", "polyThree", "polyFour", "polyFive"])
def test_lm_on_a_landscape_keeps_its_minima(kind):
    """``LevenbergMarquardt(landscape.residuals).loss`` is the landscape (minima, domain,
    dim), valid because a least-squares landscape's loss is 0.5 ||r||^2 (checked here
    against the residuals at random points)."""
    f = fo.landscapes.NeuronPoly(kind)
    flow = fo.flows.LevenbergMarquardt(f.residuals)
    assert flow.loss is f
    np.testing.assert_array_equal(flow.loss.minima, f.minima)
    np.testing.assert_array_equal(flow.loss.domain, f.domain)
    xs = np.random.default_rng(0).uniform(-3, 3, (20, 2))
    r = np.stack([np.asarray(f.residuals(x, np)) for x in xs])
    np.testing.assert_allclose([f.value(x, np) for x in xs], 0.5 * np.sum(r**2, 1),
                               rtol=1e-13)


def test_lm_on_plain_residuals_has_a_plain_loss():
    flow = fo.flows.LevenbergMarquardt(lambda x: x - 1.0)
    assert not isinstance(flow.loss, fo.landscapes.Landscape)
    assert float(flow.loss(jnp.array([3.0, 1.0]))) == 2.0


def test_outcome_is_one_point_per_run():
    """position: the agents (N, d) for every interacting flow; outcome: one point (d,),
    the agents' mean, or CBO's consensus point."""
    f = HIMMELBLAU
    agents = jnp.array([[3.0, 2.0], [-2.8, 3.1], [0.0, 0.0]])
    cbo = fo.flows.CBO(f, alpha=10.0)
    weights = np.exp(-10.0 * np.array([float(f(a)) for a in agents]))
    np.testing.assert_allclose(cbo.outcome(cbo.init(agents)),
                               weights @ np.asarray(agents) / weights.sum(), rtol=1e-12)
    np.testing.assert_array_equal(cbo.position(cbo.init(agents)), agents)
    for flow in [fo.flows.McKeanVlasov(f), fo.flows.MeanFieldHomogenized(f)]:
        y = flow.init(agents)
        np.testing.assert_array_equal(flow.position(y), agents)
        np.testing.assert_allclose(flow.outcome(y), np.mean(np.asarray(agents), 0))
    for flow in FLOWS.values():
        np.testing.assert_array_equal(flow.outcome(flow.init(X0)), X0)
