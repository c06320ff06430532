"""VelocityVerlet conserves the frictionless heavy ball's energy; explicit Euler does not."""

import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

FLOW = fo.flows.HeavyBall(fo.landscapes.Himmelblau(), friction=0.0)


def energy_error(scheme, x0, dt):
    """(max over [0, 20] of |E(t) - E(0)|, |E(20) - E(0)|)."""
    sol = fo.solve(FLOW, scheme, jnp.asarray(x0), t1=20.0, dt0=dt, saveat=2001)
    e = np.asarray(sol.energies)
    return float(np.max(np.abs(e - e[0]))), float(abs(e[-1] - e[0]))


@pytest.mark.parametrize("x0", [(3.5, 1.5), (2.0, 1.0), (1.0, -1.0)])  # E(0) = 9.1, 52, 146
def test_verlet_energy_does_not_drift(x0):
    wobble, drift = energy_error(schemes.VelocityVerlet(), x0, 1e-3)
    euler_wobble, euler_drift = energy_error(schemes.Euler(), x0, 1e-3)
    print(f"x0={x0}: Verlet max |E-E0| {wobble:.2e}, drift {drift:.2e}; "
          f"Euler drift {euler_drift:.2e}")
    assert drift <= 1e-3
    assert euler_drift > 1.0  # explicit Euler visibly gains energy
    # Verlet's error is a bounded O(h^2) oscillation: halving dt divides it by ~4
    wobble_half, _ = energy_error(schemes.VelocityVerlet(), x0, 5e-4)
    assert 3.5 < wobble / wobble_half < 4.5


def test_verlet_energy_wobble_at_moderate_energy():
    wobble, _ = energy_error(schemes.VelocityVerlet(), (3.5, 1.5), 1e-3)  # E(0) = 9.125
    assert wobble <= 1e-3
