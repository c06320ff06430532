"""Measured order of each scheme against scipy's DOP853 at rtol 1e-12."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import flowopt as fo
import schemes


def smooth_loss(x):
    """Smooth, non-quadratic, bounded below."""
    return jnp.sqrt(1.0 + x[0] ** 2) + 0.5 * (x[1] - jnp.sin(x[0])) ** 2


FLOW = fo.flows.HeavyBall(smooth_loss, friction=0.5)
X0 = jnp.array([1.5, -0.5])
T1 = 2.0
DTS = [0.04, 0.02, 0.01, 0.005]


def reference():
    grad = jax.jit(jax.grad(smooth_loss))

    def rhs(t, z):
        x, v = z[:2], z[2:]
        return np.concatenate([v, -0.5 * v - np.asarray(grad(jnp.asarray(x)))])

    sol = scipy.integrate.solve_ivp(rhs, (0.0, T1), np.r_[X0, 0.0, 0.0], method="DOP853",
                                    rtol=1e-12, atol=1e-14)
    return sol.y[:, -1]


def measured_order(scheme):
    ref = reference()
    errors = []
    for dt in DTS:
        y = fo.solve(FLOW, scheme, X0, t1=T1, dt0=dt).y
        errors.append(np.linalg.norm(np.concatenate([y[0], y[1]]) - ref))
    slope = np.polyfit(np.log(DTS), np.log(errors), 1)[0]
    return slope, errors


@pytest.mark.parametrize(
    "scheme, order",
    [(schemes.Euler(), 1), (schemes.SemiImplicitEuler(), 1), (schemes.EulerRichardson(), 2),
     (schemes.EulerRichardson(variant="bensaid"), 1), (schemes.VelocityVerlet(), 2),
     (diffrax.Tsit5(), 5)],
    ids=["Euler", "SemiImplicitEuler", "EulerRichardson", "EulerRichardson-bensaid",
         "VelocityVerlet", "diffrax.Tsit5"],
)
def test_convergence_order(scheme, order):
    slope, errors = measured_order(scheme)
    print(f"{type(scheme).__name__}: slope {slope:.3f}, errors {errors}")
    if order == 5:  # Tsit5 only needs to work as a scheme; its errors hit rounding quickly
        assert errors[-1] < 1e-9
        return
    assert abs(slope - order) <= 0.15


def test_euler_richardson_error_estimate_drives_pid():
    """With a PID controller the textbook variant reaches the tolerance it is asked for."""
    ref = reference()
    ctrl = diffrax.PIDController(rtol=1e-8, atol=1e-8)
    sol = fo.solve(FLOW, schemes.EulerRichardson(), X0, t1=T1, dt0=0.1, controller=ctrl)
    err = np.linalg.norm(np.concatenate([sol.y[0], sol.y[1]]) - ref)
    assert err < 1e-5
    assert sol.success
