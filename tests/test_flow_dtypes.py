"""Every flow keeps the start's dtype: float32 and float64 starts end in their own dtype,
with x64 on (the suite's setting) and off (JAX's default), whatever the hyperparameters'
types (NumPy float64 constants such as ``-np.log(b1)/lr`` must not promote a float32
state, or diffrax's loop refuses the changed carry)."""

import os
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

# name -> source of "(flow, scheme, interacting)", built anew under each x64 setting
CASES = {
    "GradientFlow": "fo.flows.GradientFlow(loss), schemes.Euler(), False",
    "HeavyBall": "fo.flows.HeavyBall(loss, friction=np.float64(1.5), mass=2.0), "
                 "schemes.SemiImplicitEuler(), False",
    "HeavyBall-optax": "fo.flows.HeavyBall.from_optax(loss, 1e-2, 0.9), "
                       "schemes.SemiImplicitEuler(), False",
    "Nesterov-SBC": "fo.flows.Nesterov(loss), schemes.SemiImplicitEuler(), False",
    "Nesterov-optax": "fo.flows.Nesterov.from_optax(loss, 1e-2, 0.9), "
                      "schemes.SemiImplicitEuler(), False",
    "RMSProp": "fo.flows.RMSProp.from_optax(loss, 1e-2), schemes.SemiImplicitEuler(), False",
    "RMSProp-bias": "fo.flows.RMSProp.from_optax(loss, 1e-2, bias_correction=True, "
                    "initial_scale=np.float64(0.5)), schemes.SemiImplicitEuler(), False",
    "Adam": "fo.flows.Adam(loss, a=jnp.asarray(np.float64(5.0)), b=0.5), "
            "schemes.SemiImplicitEuler(), False",
    "Adam-optax": "fo.flows.Adam.from_optax(loss, 1e-2), schemes.SemiImplicitEuler(), False",
    "Adadelta": "fo.flows.Adadelta.from_optax(loss, 1.0), schemes.SemiImplicitEuler(), False",
    "LevenbergMarquardt": "fo.flows.LevenbergMarquardt(fo.landscapes.NeuronPoly().residuals, "
                          "np.float64(0.1)), schemes.Euler(), False",
    "Langevin": "fo.flows.Langevin(loss, beta=np.float64(2.0)), schemes.Euler(), False",
    "UnderdampedLangevin": "fo.flows.UnderdampedLangevin(loss, beta=2.0, "
                           "friction=np.float64(1.0)), schemes.Euler(), False",
    "SmoothedGradient": "fo.flows.SmoothedGradient(loss, variance=np.float64(0.1), samples=4), "
                        "schemes.Euler(), False",
    "NoisyGradient": "fo.flows.NoisyGradient(loss, radius=np.float64(0.1)), schemes.Euler(), "
                     "False",
    "SAM": "fo.flows.SAM(loss, rho=np.float64(0.05)), schemes.Euler(), False",
    "McKeanVlasov": "fo.flows.McKeanVlasov(loss, beta=np.float64(2.0), "
                    "interaction=np.float64(1.0)), schemes.Euler(), True",
    "CBO": "fo.flows.CBO(loss, drift_rate=np.float64(1.0), sigma=np.float64(0.7), "
           "alpha=np.float64(30.0)), schemes.Euler(), True",
    "CBO-anisotropic": "fo.flows.CBO(loss, sigma=0.7, anisotropic=True), schemes.Euler(), True",
    "Homogenized": "fo.flows.Homogenized(loss, gamma=np.float64(0.1), epsilon=0.1), "
                   "schemes.HMM(micro_steps=5), False",
    "MeanFieldHomogenized": "fo.flows.MeanFieldHomogenized(loss, epsilon=0.1, "
                            "interaction=np.float64(1.0)), "
                            "schemes.HMM(micro_steps=5), True",
}

LOSS = fo.landscapes.Himmelblau()


def build(source):
    return eval(source, {"fo": fo, "schemes": schemes, "np": np, "jnp": jnp, "loss": LOSS})


def run(name, dtype):
    """Solve case ``name`` from a start of ``dtype``; check the dtype of everything."""
    flow, scheme, interacting = build(CASES[name])
    x0 = np.array([[1.0, 1.0], [0.5, -0.5], [-1.0, 2.0]] if interacting else [1.0, 1.0],
                  dtype)
    sol = fo.solve(flow, scheme, jnp.asarray(x0), t1=0.05, dt0=1e-2, key=jax.random.key(0))
    assert sol.x.dtype == x0.dtype, (name, dtype, sol.x.dtype)
    assert sol.x.shape == x0.shape, (name, sol.x.shape)
    assert all(leaf.dtype == x0.dtype for leaf in jax.tree_util.tree_leaves(sol.y)), name
    assert bool(jnp.all(jnp.isfinite(sol.x))), (name, sol.x)
    assert flow.outcome(sol.y).shape == (2,), (name, flow.outcome(sol.y).shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_solve_keeps_the_start_dtype(name, dtype):
    assert jax.config.jax_enable_x64  # conftest
    run(name, dtype)


def test_every_flow_is_covered():
    covered = {build(source)[0].__class__.__name__ for source in CASES.values()}
    assert covered == {name for name in fo.flows.__all__ if not name.startswith("Abstract")}


def test_drift_energy_diffusion_in_the_state_dtype():
    """Called directly (no solver), with NumPy float64 hyperparameters and a float32 state."""
    for name, source in CASES.items():
        flow, _, interacting = build(source)
        x0 = jnp.ones((3, 2) if interacting else (2,), jnp.float32) * 0.5
        y = flow.init(x0)
        if isinstance(flow, fo.flows.AbstractRandomFlow):
            flow = eqx.tree_at(lambda f: f.key, flow, jax.random.key(0),
                               is_leaf=lambda v: v is None)
        parts = [flow.drift(0.01, y, None)]
        if isinstance(flow, fo.flows.AbstractStochasticFlow):
            parts.append(flow.diffusion(0.01, y, None))
        if flow.has_energy:
            parts += [flow.energy(0.01, y, None), flow.dissipation(0.01, y, None)]
        for leaf in jax.tree_util.tree_leaves((y, parts)):
            assert leaf.dtype == jnp.float32, (name, leaf.dtype)


SCRIPT = f"""
import sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import jax, numpy as np
assert not jax.config.jax_enable_x64
from test_flow_dtypes import CASES, run
for name in CASES:
    run(name, np.float32)
print("ok")
"""


@pytest.mark.slow  # 21 s; float32 end to end stays in the default suite (test_float32.py)
def test_x64_off_float32_runs_every_flow():
    env = {**os.environ, "JAX_ENABLE_X64": "0"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
