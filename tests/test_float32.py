"""float32 (JAX's default, the fast path) works end to end; the suite itself runs in x64."""

import subprocess
import sys

SCRIPT = """
import jax.numpy as jnp, numpy as np, flowopt as fo, schemes
loss = fo.landscapes.Himmelblau()
x0 = jnp.array([1.0, 1.0])
for flow, scheme in [(fo.flows.GradientFlow(loss), schemes.Euler()),
                     (fo.flows.HeavyBall(loss), schemes.SemiImplicitEuler()),
                     (fo.flows.HeavyBall(loss), schemes.VelocityVerlet()),
                     (fo.flows.Adam.from_optax(loss, 1e-2), schemes.SemiImplicitEuler()),
                     (fo.flows.RMSProp.from_optax(loss, 1e-2), schemes.EulerRichardson())]:
    fixed = fo.solve(flow, scheme, x0, t1=3.0, dt0=1e-2)
    ctrl = fo.solve(flow, scheme if type(scheme).__name__ != "EulerRichardson" else
                    schemes.SemiImplicitEuler(), x0, t1=100.0, dt0=1.0,
                    controller=schemes.EnergyController(), gtol=1e-3)
    assert fixed.x.dtype == jnp.float32 and fixed.ts.dtype == jnp.float32
    assert int(fixed.stats["num_steps"]) == 300, int(fixed.stats["num_steps"])
    d = np.min(np.linalg.norm(loss.minima - np.asarray(ctrl.x), axis=1))
    assert d < 1e-2, (type(flow).__name__, ctrl.x, ctrl.status)
print("ok")
"""


def test_float32_end_to_end():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
