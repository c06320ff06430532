"""Bad input raises, before compiling, an error that names the argument."""

import diffrax
import jax
import jax.numpy as jnp
import pytest

import flowopt as fo
import schemes

LOSS = fo.landscapes.Himmelblau()
GD = fo.flows.GradientFlow(LOSS)
X0 = jnp.array([1.0, 1.0])


@pytest.mark.parametrize("call, argument", [
    (lambda: fo.solve(GD, schemes.Euler(), jnp.ones(3), t1=1.0, dt0=0.1), "x0"),
    (lambda: fo.solve(GD, schemes.Euler(), jnp.ones((2, 2)), t1=1.0, dt0=0.1), "x0"),
    (lambda: fo.solve(GD, schemes.Euler(), jnp.array([jnp.nan, 1.0]), t1=1.0, dt0=0.1), "x0"),
    (lambda: fo.solve(GD, schemes.Euler(), jnp.array([jnp.inf, 1.0]), t1=1.0, dt0=0.1), "x0"),
    (lambda: fo.solve(GD, schemes.Euler(), jnp.array([1, 2]), t1=1.0, dt0=0.1), "x0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=0.0), "dt0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=-0.1), "dt0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=float("nan")), "dt0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0), "dt0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=0.0, dt0=0.1), "t1"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=-1.0, dt0=0.1), "t1"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, t0=2.0, dt0=0.1), "t1"),
    (lambda: fo.solve(GD, schemes.VelocityVerlet(), X0, t1=1.0, dt0=0.1), "scheme"),
    (lambda: fo.solve(fo.flows.Adam(LOSS), schemes.VelocityVerlet(), X0, t1=1.0, dt0=0.1),
     "scheme"),
    (lambda: fo.solve(fo.flows.HeavyBall(LOSS), diffrax.SemiImplicitEuler(), X0, t1=1.0,
                      dt0=0.1), "scheme"),
    (lambda: fo.solve(GD, schemes.Euler, X0, t1=1.0, dt0=0.1), "scheme"),
    (lambda: fo.solve(LOSS, schemes.Euler(), X0, t1=1.0, dt0=0.1), "flow"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=0.1, saveat="often"), "saveat"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=0.1, max_steps=0), "max_steps"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, controller=schemes.EnergyController()),
     "dt0"),
    (lambda: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=0.1, controller="energy"),
     "controller"),
    (lambda: fo.flows.HeavyBall.from_optax(LOSS, learning_rate=0.0, momentum=0.9),
     "learning_rate"),
    (lambda: fo.flows.HeavyBall.from_optax(LOSS, learning_rate=0.1, momentum=1.5), "momentum"),
    (lambda: fo.flows.GradientFlow.from_optax(LOSS, learning_rate=0.1, momentum=0.9),
     "momentum"),
    (lambda: fo.flows.Adam.from_optax(LOSS, learning_rate=0.1, b1=1.0), "b1"),
    (lambda: fo.flows.RMSProp.from_optax(LOSS, learning_rate=0.1, centered=True), "centered"),
    (lambda: fo.flows.HeavyBall(LOSS, friction=-1.0), "friction"),
    (lambda: fo.flows.LevenbergMarquardt(LOSS, damping=0.0), "damping"),
])
def test_error_names_the_argument(call, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        call()


class _NoEnergy(fo.flows.AbstractFlow):
    loss: object

    def init(self, x0):
        return x0

    def position(self, y):
        return y

    def drift(self, t, y, args):
        return -y


def test_energy_controller_on_a_flow_without_energy():
    with pytest.raises(ValueError, match="controller.*no energy|energy"):
        fo.solve(_NoEnergy(LOSS), schemes.Euler(), X0, t1=1.0, dt0=0.1,
                 controller=schemes.EnergyController())
    # without the controller the same flow solves fine
    sol = fo.solve(_NoEnergy(LOSS), schemes.Euler(), X0, t1=1.0, dt0=0.1)
    assert sol.energies is None and float(sol.x[0]) == pytest.approx(0.9**10)


def test_a_plain_function_is_a_valid_loss():
    flow = fo.flows.GradientFlow(lambda x: jnp.sum((x - 1.0) ** 2))
    sol = fo.solve(flow, schemes.Euler(), jnp.zeros(5), t1=10.0, dt0=0.1)
    assert float(jnp.max(jnp.abs(sol.x - 1.0))) < 1e-6


def test_divergence_is_data_not_an_exception():
    sol = fo.solve(GD, schemes.Euler(), jnp.array([5.0, 5.0]), t1=5.0, dt0=0.5)
    assert not bool(jnp.all(jnp.isfinite(sol.x)))
    # returned, not raised; but a non-finite end is not a success
    assert sol.status == "diverged (non-finite state)"
    assert not bool(sol.finite) and not bool(sol.success)


KEY = jax.random.key(0)


@pytest.mark.parametrize("call, argument", [
    (lambda: fo.flows.Langevin(LOSS, beta=0.0), "beta"),
    (lambda: fo.flows.Langevin(LOSS, beta=-1.0), "beta"),
    (lambda: fo.flows.UnderdampedLangevin(LOSS, friction=0.0), "friction"),
    (lambda: fo.flows.McKeanVlasov(LOSS, beta=-2.0), "beta"),
    (lambda: fo.flows.Homogenized(LOSS, epsilon=0.0), "epsilon"),
    (lambda: fo.flows.Homogenized(LOSS, epsilon=-0.1), "epsilon"),
    (lambda: fo.flows.MeanFieldHomogenized(LOSS, gamma=0.0), "gamma"),
    (lambda: fo.flows.CBO(LOSS, alpha=0.0), "alpha"),
    (lambda: schemes.HMM(micro_steps=0), "micro_steps"),
    (lambda: fo.solve(fo.flows.McKeanVlasov(LOSS), schemes.Euler(), jnp.zeros((0, 2)), t1=1.0,
                      dt0=0.1, key=KEY), "x0"),
    (lambda: fo.solve(fo.flows.McKeanVlasov(LOSS), schemes.Euler(), jnp.zeros(2), t1=1.0,
                      dt0=0.1, key=KEY), "x0"),
    (lambda: fo.solve(fo.flows.CBO(LOSS), schemes.Euler(), jnp.zeros((5, 3)), t1=1.0,
                      dt0=0.1, key=KEY), "x0"),
    (lambda: fo.solve(GD, schemes.HMM(), X0, t1=1.0, dt0=0.1), "scheme"),
    (lambda: fo.solve(fo.flows.Langevin(LOSS), schemes.HMM(), X0, t1=1.0, dt0=0.1, key=KEY),
     "scheme"),
    (lambda: fo.solve(fo.flows.Langevin(LOSS), schemes.Euler(), X0, t1=1.0, dt0=0.1), "key"),
    (lambda: fo.solve(fo.flows.Homogenized(LOSS), schemes.HMM(), X0, t1=1.0, dt0=0.1), "key"),
    (lambda: fo.solve(fo.flows.NoisyGradient(LOSS), schemes.Euler(), X0, t1=1.0, dt0=0.1),
     "key"),
    (lambda: fo.solve(fo.flows.Langevin(LOSS), schemes.SemiImplicitEuler(), X0, t1=1.0,
                      dt0=0.1, key=KEY), "scheme"),
])
def test_stochastic_bad_input_names_the_argument(call, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        call()


# flow parameters: checked in __check_init__ and again by init (so by solve)
import equinox as eqx  # noqa: E402
import numpy as np  # noqa: E402

HB = fo.flows.HeavyBall(LOSS)


@pytest.mark.parametrize("call, argument", [
    (lambda: fo.flows.SmoothedGradient(LOSS, samples=2.5), "samples"),
    (lambda: fo.flows.SmoothedGradient(LOSS, samples=0), "samples"),
    (lambda: fo.flows.SmoothedGradient(LOSS, samples=True), "samples"),
    (lambda: fo.flows.HeavyBall(LOSS, friction="1"), "friction"),
    (lambda: fo.flows.HeavyBall(LOSS, friction=np.float64(-1)), "friction"),
    (lambda: fo.flows.HeavyBall(LOSS, mass=jnp.array(0.0)), "mass"),
    (lambda: fo.flows.HeavyBall(LOSS, friction=True), "friction"),
    (lambda: fo.flows.HeavyBall(LOSS, friction=jnp.array([1.0, 2.0])), "friction"),
    (lambda: fo.flows.Langevin(LOSS, beta=jnp.array(-1.0)), "beta"),
    (lambda: fo.flows.Langevin(LOSS, beta=np.inf), "beta"),
    (lambda: fo.flows.UnderdampedLangevin(LOSS, beta=np.float32(-2)), "beta"),
    (lambda: fo.flows.CBO(LOSS, sigma=jnp.nan), "sigma"),
    (lambda: fo.flows.CBO(LOSS, drift_rate=0.0), "drift_rate"),
    (lambda: fo.flows.CBO(LOSS, anisotropic="yes"), "anisotropic"),
    (lambda: fo.flows.RMSProp(LOSS, initial_scale=-1.0), "initial_scale"),
    (lambda: fo.flows.RMSProp(LOSS, eps=-1e-8), "eps"),
    (lambda: fo.flows.RMSProp(LOSS, bias_rate=0.0), "bias_rate"),
    (lambda: fo.flows.RMSProp.from_optax(LOSS, 1e-2, decay=np.nan), "decay"),
    (lambda: fo.flows.Adam(LOSS, a=np.float64(-1.0)), "a"),
    (lambda: fo.flows.Adam(LOSS, b=jnp.inf), "b"),
    (lambda: fo.flows.Adam(LOSS, eps=-1.0), "eps"),
    (lambda: fo.flows.Adam(LOSS, bias_b=-1.0), "bias_b"),
    (lambda: fo.flows.Adam.from_optax(LOSS, learning_rate="1e-2"), "learning_rate"),
    (lambda: fo.flows.Adam.from_optax(LOSS, 1e-2, b2="0.999"), "b2"),
    (lambda: fo.flows.Adadelta(LOSS, eps=0.0), "eps"),
    (lambda: fo.flows.Nesterov(LOSS, r=-3.0), "r"),
    (lambda: fo.flows.Nesterov(LOSS, correction=jnp.array(-1.0)), "correction"),
    (lambda: fo.flows.Nesterov.from_optax(LOSS, 1e-2, momentum=1.0), "momentum"),
    (lambda: fo.flows.LevenbergMarquardt(LOSS, damping=np.nan), "damping"),
    (lambda: fo.flows.NoisyGradient(LOSS, radius=-0.1), "radius"),
    (lambda: fo.flows.SAM(LOSS, rho="0.05"), "rho"),
    (lambda: fo.flows.McKeanVlasov(LOSS, interaction=-1.0), "interaction"),
    (lambda: fo.flows.Homogenized(LOSS, gamma=jnp.array(-0.1)), "gamma"),
    (lambda: fo.flows.MeanFieldHomogenized(LOSS, interaction=np.nan), "interaction"),
    (lambda: fo.flows.GradientFlow.from_optax(LOSS, learning_rate=np.nan), "learning_rate"),
    # eqx.tree_at skips __check_init__: the flow's check (run by init, so by solve) catches it
    (lambda: eqx.tree_at(lambda f: f.friction, HB, -1.0).check(), "friction"),
    (lambda: eqx.tree_at(lambda f: f.friction, HB, -1.0).init(X0), "friction"),
    (lambda: fo.solve(eqx.tree_at(lambda f: f.friction, HB, -1.0), schemes.SemiImplicitEuler(),
                      X0, t1=1.0, dt0=0.1), "friction"),
])
def test_flow_parameters_are_checked(call, argument):
    with pytest.raises(ValueError, match=rf"\({argument}=.*\): {argument} must be"):
        call()


def test_parameter_error_names_the_owner_and_the_fix():
    with pytest.raises(ValueError) as info:
        fo.flows.HeavyBall(LOSS, friction="1")
    assert str(info.value) == ("HeavyBall(friction='1'): friction must be a number >= 0, e.g. "
                               "friction=1.0.")
    with pytest.raises(ValueError, match=r"samples must be an int >= 1"):
        fo.flows.SmoothedGradient(LOSS, samples=2.5)


@pytest.mark.parametrize("flow", [
    fo.flows.HeavyBall(LOSS, friction=np.float64(0.5), mass=jnp.array(2.0)),
    fo.flows.Langevin(LOSS, beta=np.int64(2)),
    fo.flows.SmoothedGradient(LOSS, samples=np.int64(3)),
    fo.flows.CBO(LOSS, sigma=0, alpha=jnp.array(10.0), anisotropic=np.bool_(True)),
    fo.flows.RMSProp(LOSS, initial_scale=np.float32(0.0), bias_rate=None),
])
def test_numpy_and_array_parameters_are_accepted(flow):
    flow.check()
    assert jax.tree_util.tree_leaves(flow.init(X0))[0].dtype == X0.dtype


def test_traced_parameters_are_not_checked():
    """Inside jit/vmap a parameter is a tracer: it is checked where it is concrete."""
    make = lambda friction: fo.flows.HeavyBall(LOSS, friction=friction).drift_q(
        0.0, (X0, X0), None)
    assert jax.vmap(make)(jnp.array([0.5, 1.0])).shape == (2, 2)
