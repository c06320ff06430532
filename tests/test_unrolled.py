"""Explicit Runge-Kutta steps with their stages written out (``schemes.unrolled``) and
small-point gradients in forward mode (``flowopt.flows.base.gradient``): the same
numbers as diffrax's stage loop and ``jax.grad``, to rounding; the resolution stop of
error-controlled solves (``flowopt.solve.resolved``) checked against an independent
Newton step."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes
from flowopt.flows.base import ForwardGradient, gradient

ERK = [diffrax.Tsit5, diffrax.Dopri5, diffrax.Dopri8, diffrax.Heun, diffrax.Bosh3,
       diffrax.Ralston, diffrax.Midpoint]


def _rhs(t, y, args):  # a time-dependent field on a pytree state
    x, v = y
    return (v + jnp.sin(t) * x, -x**3 + 0.1 * v)


@pytest.mark.parametrize("cls", ERK, ids=lambda c: c.__name__)
def test_unrolled_step_equals_diffrax_step(cls):
    """Two steps (the second from the first's FSAL state), pytree state, time-dependent
    field: y1, error estimate, dense output k and FSAL stage equal diffrax's to 1e-14."""
    with jax.enable_x64(True):
        term = diffrax.ODETerm(_rhs)
        y0 = (jnp.array([0.3, -1.2]), jnp.array([0.5, 0.1]))
        ours, theirs = schemes.unrolled(cls()), cls()
        assert type(ours) is not cls and isinstance(ours, cls)
        s_ours = ours.init(term, 0.1, 0.15, y0, None)
        s_theirs = theirs.init(term, 0.1, 0.15, y0, None)
        for t0, t1 in ((0.1, 0.15), (0.15, 0.22)):
            a = ours.step(term, t0, t1, y0, None, s_ours, False)
            b = theirs.step(term, t0, t1, y0, None, s_theirs, False)
            for u, w in zip(jax.tree_util.tree_leaves(a[:4]), jax.tree_util.tree_leaves(b[:4])):
                np.testing.assert_allclose(u, w, rtol=0, atol=1e-14)
            y0, s_ours, s_theirs = a[0], a[3], b[3]


def test_other_schemes_are_returned_as_they_are():
    for scheme in (schemes.Euler(), schemes.EulerRichardson(), diffrax.Euler(),
                   diffrax.Kvaerno5(), diffrax.SemiImplicitEuler(), diffrax.ShARK()):
        assert schemes.unrolled(scheme) is scheme
    twice = schemes.unrolled(schemes.unrolled(diffrax.Tsit5()))
    assert type(twice).__mro__[1] is diffrax.Tsit5  # not wrapped twice


def test_unrolled_solve_with_dense_output_equals_diffrax():
    """A PID solve saving at 7 interior times (dense interpolation from k): equal to
    diffrax's to 1e-10, same accepted and rejected steps."""
    with jax.enable_x64(True):
        term = diffrax.ODETerm(_rhs)
        y0 = (jnp.array([0.3, -1.2]), jnp.array([0.5, 0.1]))
        kw = dict(t0=0.0, t1=3.0, dt0=0.05, y0=y0, saveat=diffrax.SaveAt(
            ts=jnp.linspace(0.1, 2.9, 7)), stepsize_controller=diffrax.PIDController(
                rtol=1e-8, atol=1e-10))
        a = diffrax.diffeqsolve(term, schemes.unrolled(diffrax.Tsit5()), **kw)
        b = diffrax.diffeqsolve(term, diffrax.Tsit5(), **kw)
        for u, w in zip(jax.tree_util.tree_leaves(a.ys), jax.tree_util.tree_leaves(b.ys)):
            np.testing.assert_allclose(u, w, rtol=0, atol=1e-10)
        for k in ("num_accepted_steps", "num_rejected_steps"):
            assert int(a.stats[k]) == int(b.stats[k])


@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (2, 2), (9,)])
def test_gradient_equals_reverse_mode(shape):
    """Forward mode (a ForwardGradient loss) for points of up to 8 numbers, reverse mode
    above: both equal jax.grad (which is also what a 9-number point gets) to rounding."""
    with jax.enable_x64(True):
        plain = lambda x: jnp.sum(jnp.sin(x) * x**2) + jnp.prod(jnp.cos(x)) ** 2
        loss = ForwardGradient(plain)
        x = jnp.asarray(np.random.default_rng(0).normal(size=shape))
        np.testing.assert_allclose(gradient(loss, x), jax.grad(plain)(x), rtol=1e-13,
                                   atol=1e-15)
        assert gradient(plain, x).shape == shape  # plain losses: jax.grad
        assert gradient(loss, x).shape == shape
        batched = jax.vmap(lambda z: gradient(loss, z))(jnp.stack([x, 2 * x]))
        np.testing.assert_allclose(batched[1], jax.grad(plain)(2 * x), rtol=1e-13, atol=1e-15)


def test_gradient_of_a_custom_vjp_loss_falls_back_to_reverse_mode():
    @jax.custom_vjp
    def f(x):
        return jnp.sum(x**2)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (2 * g * x,))
    x = jnp.array([1.0, -2.0])
    np.testing.assert_allclose(gradient(ForwardGradient(f), x), [2.0, -4.0])
    flow = fo.flows.GradientFlow(ForwardGradient(f))
    np.testing.assert_allclose(flow.drift(0.0, x, None), [-2.0, 4.0])


def _newton_step(x):
    """Himmelblau's Newton step H^-1 grad f at x, by hand (NumPy)."""
    a, b = x[0]**2 + x[1] - 11, x[0] + x[1]**2 - 7
    g = np.array([4 * x[0] * a + 2 * b, 2 * a + 4 * x[1] * b])
    h = np.array([[12 * x[0]**2 + 4 * x[1] - 42, 4 * (x[0] + x[1])],
                  [4 * (x[0] + x[1]), 12 * x[1]**2 + 4 * x[0] - 26]])
    return np.linalg.solve(h, g)


def test_error_controlled_solve_stops_within_its_resolution():
    """gtol = 1e-12 is never met under PID(rtol 1e-6) (|grad f| stays near 1e-4 at the
    stability limit), so the solve used to run to t1 = 50; it now stops at the first
    accepted state whose Newton step (computed here by hand) is within
    10 (atol + rtol max(1, |x|)), and not one accepted step earlier."""
    with jax.enable_x64(True):
        loss = fo.landscapes.Himmelblau()
        flow = fo.flows.GradientFlow(loss)
        pid = diffrax.PIDController(rtol=1e-6, atol=1e-9)
        bound = lambda x: 10 * (1e-9 + 1e-6 * max(1.0, np.abs(x).max()))
        for x0 in ([0.0, 0.0], [-5.0, 5.0], [4.5, -4.0]):
            sol = fo.solve(flow, diffrax.Tsit5(), jnp.asarray(x0), t1=50.0, dt0=1e-2,
                           controller=pid, gtol=1e-12, saveat="steps")
            assert bool(sol.converged) and float(sol.t) < 5.0
            assert np.abs(np.asarray(jax.grad(loss)(sol.x))).max() > 1e-12
            assert np.abs(_newton_step(np.asarray(sol.x))).max() <= bound(np.asarray(sol.x))
            xs = np.asarray(sol.xs)
            xs = xs[np.isfinite(xs).all(1)]
            before = xs[-2]  # the accepted state before the last: not yet resolved
            assert np.abs(_newton_step(before)).max() > bound(before)


def test_resolution_stop_is_for_error_control_only():
    """Fixed steps, the energy controller and noisy flows never stop by resolution."""
    with jax.enable_x64(True):
        loss = fo.landscapes.Himmelblau()
        flow = fo.flows.GradientFlow(loss)
        fixed = fo.solve(flow, schemes.Euler(), jnp.array([0.0, 0.0]), t1=1.0, dt0=1e-2,
                         gtol=1e-12)  # |grad f| ~ 1e-9 at t1: within any resolution test
        assert not bool(fixed.converged) and float(fixed.t) == 1.0
        from flowopt.solve import resolution
        assert resolution(None) is None and resolution(schemes.EnergyController()) is None
        assert resolution(diffrax.ConstantStepSize()) is None
        assert resolution(diffrax.PIDController(rtol=1e-5, atol=1e-8)) == (1e-5, 1e-8)
        assert resolution(diffrax.ClipStepSizeController(
            diffrax.PIDController(rtol=1e-5, atol=1e-8), step_ts=[0.5])) == (1e-5, 1e-8)
        noisy = fo.solve(fo.flows.Langevin(loss, beta=1e6), diffrax.ShARK(),
                         jnp.array([2.5, 1.5]), t1=2.0, dt0=1e-2, gtol=1e-12,
                         controller=diffrax.PIDController(rtol=1e-3, atol=1e-6),
                         key=jax.random.key(0))
        assert not bool(noisy.converged)


def test_a_start_passing_near_a_saddle_is_not_stopped_there():
    """A loose controller (atol 0.05) resolves positions to ~0.5: a start 0.014 from
    Himmelblau's saddle at (-0.127961, -1.953715) is within that of the saddle (its
    Newton step is ~0.014). It must not stop there (the saddle is not attracting: the
    resolution stop needs every eigenvalue of the flow's Jacobian negative), but go on to
    a minimum. (Without that condition it stops at t = 0.)"""
    with jax.enable_x64(True):
        loss = fo.landscapes.Himmelblau()
        flow = fo.flows.GradientFlow(loss)
        pid = diffrax.PIDController(rtol=1e-3, atol=5e-2)
        saddle = np.array([-0.127961, -1.953715])
        sol = fo.solve(flow, diffrax.Tsit5(), jnp.asarray(saddle + [0.01, 0.01]), t1=50.0,
                       dt0=1e-2, controller=pid, gtol=1e-12)
        assert bool(sol.converged) and float(sol.t) > 0.1
        near = np.min(np.linalg.norm(loss.minima - np.asarray(sol.x), axis=1))
        assert near < 0.5 and np.linalg.norm(np.asarray(sol.x) - saddle) > 1.0
