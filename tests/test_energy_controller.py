"""EnergyController: energy never increases, nothing blows up, every run ends stationary.

The first trial step is 10x the smallest fixed step at which explicit-Euler gradient
descent diverges from some of the starts (measured here, not assumed).
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

N_STARTS = 100
ENDINGS = {int(diffrax.RESULTS.event_occurred._value), int(diffrax.RESULTS.dt_min_reached._value)}


def starts(loss, n=N_STARTS, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.uniform(loss.domain[:, 0], loss.domain[:, 1], size=(n, loss.dim)))


def divergence_step(loss, x0s):
    """Smallest dt on a factor-2 grid from 1e-3 at which Euler GD diverges (non-finite, or
    100x farther out than the domain's bounds) from some start within 500 steps."""
    flow = fo.flows.GradientFlow(loss)
    far = 100 * np.max(np.abs(loss.domain))
    dt = 1e-3
    while dt < 64:
        xs = jax.vmap(lambda x0: fo.solve(flow, schemes.Euler(), x0, t1=500 * dt, dt0=dt).x)(x0s)
        if not np.all(np.isfinite(xs) & (np.abs(xs) < far)):
            return dt
        dt *= 2
    pytest.fail("explicit Euler never diverged")


FLOWS = {
    "GradientFlow+Euler": (lambda f: fo.flows.GradientFlow(f), schemes.Euler()),
    "HeavyBall+SemiImplicitEuler": (lambda f: fo.flows.HeavyBall(f, friction=1.0),
                                    schemes.SemiImplicitEuler()),
    "Adam+SemiImplicitEuler": (lambda f: fo.flows.Adam(f, a=10.0, b=1.0),
                               schemes.SemiImplicitEuler()),
}
LANDSCAPES = {"himmelblau": fo.landscapes.Himmelblau(), "rastrigin": fo.landscapes.Rastrigin()}


@pytest.fixture(scope="module", params=list(LANDSCAPES))
def problem(request):
    loss = LANDSCAPES[request.param]
    x0s = starts(loss)
    return request.param, loss, x0s, divergence_step(loss, x0s)


@pytest.mark.parametrize("name", list(FLOWS))
def test_energy_controlled_runs(problem, name):
    landscape, loss, x0s, dt_div = problem
    make, scheme = FLOWS[name]
    flow = make(loss)
    sol = jax.vmap(lambda x0: fo.solve(
        flow, scheme, x0, t1=1e4, dt0=10 * dt_div, controller=schemes.EnergyController(),
        saveat="steps", max_steps=20_000, gtol=1e-6))(x0s)
    saved = np.isfinite(np.asarray(sol.ts))
    energies = np.asarray(sol.energies)
    assert np.all(np.isfinite(energies[saved])), "a run produced a non-finite energy"
    assert np.all(np.isfinite(np.asarray(sol.x)))
    # The controller compares energies it computed itself; here they are recomputed
    # after the solve, where XLA may round differently: allow 8 ulps of the energy.
    both = saved[:, 1:] & saved[:, :-1]
    with np.errstate(invalid="ignore"):  # inf - inf in diffrax's padding, masked out
        rise = np.diff(energies, axis=1)[both]
    slack = 8 * np.finfo(float).eps * np.maximum(np.abs(energies[:, 1:][both]), 1.0)
    assert np.all(rise <= slack), f"energy rose by {rise.max():.3e}"
    grads = np.linalg.norm(jax.vmap(loss.grad)(sol.x), axis=1)
    endings = set(np.unique(np.asarray(sol.result._value)).tolist())
    print(f"{name} on {landscape}: Euler diverges at dt={dt_div:g}, dt0={10 * dt_div:g}; "
          f"max rise {rise.max():.2e}; max |grad| {grads.max():.2e}; "
          f"steps median {np.median(sol.stats['num_steps']):.0f} max "
          f"{int(sol.stats['num_steps'].max())}; rejected median "
          f"{np.median(sol.stats['num_rejected_steps']):.0f}; endings {endings}")
    assert grads.max() < 1e-4
    assert endings <= ENDINGS, "some run ran out of budget instead of converging"


def test_energy_controller_needs_an_energy_or_refuses():
    ctrl = schemes.EnergyController()
    term = diffrax.ODETerm(lambda t, y, a: -y)
    with pytest.raises(ValueError, match="energy"):
        diffrax.diffeqsolve(term, schemes.Euler(), 0.0, 1.0, 0.1, jnp.array(1.0),
                            stepsize_controller=ctrl)


@pytest.mark.parametrize("kwargs", [dict(armijo=1.5), dict(shrink=1.0), dict(grow=0.5),
                                    dict(dtmin=-1.0)])
def test_energy_controller_bad_parameters(kwargs):
    (name,) = kwargs
    with pytest.raises(ValueError, match=name):
        schemes.EnergyController(**kwargs)


def test_floor_stops_with_a_status_instead_of_looping():
    """An energy that can never decrease: the controller must stop at the floor."""
    ctrl = schemes.EnergyController(energy=lambda t, y, a: -y, dissipation=None)
    term = diffrax.ODETerm(lambda t, y, a: -jnp.ones_like(y))  # y decreases, -y increases
    sol = diffrax.diffeqsolve(term, schemes.Euler(), 0.0, 1.0, 0.5, jnp.array(1.0),
                              stepsize_controller=ctrl, throw=False, max_steps=10_000)
    assert sol.result == diffrax.RESULTS.dt_min_reached
    assert int(sol.stats["num_steps"]) < 200
    assert float(sol.ys[-1]) == 1.0  # nothing was accepted


def test_any_diffrax_solver_runs_under_the_energy_controller():
    import diffrax as dfx

    loss = fo.landscapes.Himmelblau()
    for scheme in [dfx.Tsit5(), dfx.Heun(), dfx.Bosh3()]:
        sol = fo.solve(fo.flows.HeavyBall(loss, friction=1.0), scheme, jnp.array([1.0, 1.0]),
                       t1=100.0, dt0=1.0, controller=schemes.EnergyController(), gtol=1e-8,
                       saveat="steps")
        e = np.asarray(sol.energies)[np.isfinite(np.asarray(sol.ts))]
        assert np.all(np.diff(e) <= 8 * np.finfo(float).eps * np.maximum(np.abs(e[1:]), 1.0))
        assert sol.status == "converged"
        assert np.min(np.linalg.norm(loss.minima - np.asarray(sol.x), axis=1)) < 1e-6
