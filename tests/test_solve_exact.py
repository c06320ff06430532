"""Labels that depend only on the start, solve side: fixed steps exact in float32, saved
times in physical time, non-finite runs not successful, status under vmap, traced step
sizes, diffrax's additive-noise SDE solvers, bad input named before compiling.

Each expected value is independent of flowopt: a plain NumPy loop of the update
``x - lr * grad``, the exact Ornstein–Uhlenbeck moments, or arithmetic by hand."""

import subprocess
import sys

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

LR = 2.0**-10
CURV = 2.0**10  # f = CURV * ||x||^2: lr * (Lipschitz constant 2 * CURV) = 2, x flips sign


def flip_loss(x):
    return CURV * jnp.sum(x**2)


def numpy_gd(x0, lr, grad, n):
    """n steps of x <- x - lr * grad(x) in x0's dtype; once the iterate repeats (the
    map is deterministic) the rest of the orbit is read off the cycle."""
    x = np.array(x0)
    lr = x.dtype.type(lr)
    seen, orbit = {}, []
    for k in range(n):
        key = x.tobytes()
        if key in seen:
            start = seen[key]
            return orbit[start + (n - start) % (k - start)]
        seen[key] = k
        orbit.append(x)
        x = x - lr * grad(x)
    return x


def flip_grad(x):
    return x.dtype.type(2 * CURV) * x


@pytest.mark.parametrize("n", [100_000, 1_000_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fixed_steps_are_exact(n, dtype):
    """lr * L = 2: GD flips the sign every step, |x| never changes (optax does the same).
    ConstantStepSize placed float32 steps at n * (k / n): |x| = 0.616 after 1e5 steps,
    and 999,994 steps for n = 1e6."""
    x0 = np.array([1.0, -0.75], dtype)
    flow = fo.flows.GradientFlow.from_optax(flip_loss, LR)
    sol = fo.solve(flow, schemes.Euler(), jnp.asarray(x0), t1=n * LR, dt0=LR)
    assert sol.x.dtype == dtype
    assert int(sol.stats["num_steps"]) == n
    expected = numpy_gd(x0, LR, flip_grad, n)
    np.testing.assert_array_equal(np.asarray(sol.x), expected)
    np.testing.assert_array_equal(np.abs(np.asarray(sol.x)), np.abs(x0))
    assert sol.status == "successful" and bool(sol.finite)


def test_float32_steps_match_numpy_bit_for_bit():
    """A step that is not a power of two (0.01), 3e5 steps: every one is exactly lr."""
    n, lr = 300_000, 0.01
    a = np.array([1e-3, 2e-3], np.float32)
    flow = fo.flows.GradientFlow(lambda x: 0.5 * jnp.sum(jnp.asarray(a) * x**2))
    x0 = np.array([1.0, -0.75], np.float32)
    sol = fo.solve(flow, schemes.Euler(), jnp.asarray(x0), t1=n * lr, dt0=lr)
    x, lr32 = x0.copy(), np.float32(lr)
    for _ in range(n):
        x = x - lr32 * (a * x)
    assert int(sol.stats["num_steps"]) == n
    np.testing.assert_array_equal(np.asarray(sol.x), x)


X64_OFF = """
import jax, jax.numpy as jnp, numpy as np, flowopt as fo, schemes
assert not jax.config.jax_enable_x64
lr = 2.0 ** -10
flow = fo.flows.GradientFlow.from_optax(lambda x: 2.0 ** 10 * jnp.sum(x ** 2), lr)
x0 = jnp.array([1.0, -0.75])
for n in (100_000, 1_000_000):
    sol = fo.solve(flow, schemes.Euler(), x0, t1=n * lr, dt0=lr)
    assert sol.x.dtype == jnp.float32 and sol.ts.dtype == jnp.float32
    assert int(sol.stats["num_steps"]) == n, int(sol.stats["num_steps"])
    sign = 1.0 if n % 2 == 0 else -1.0
    assert np.array_equal(np.asarray(sol.x), sign * np.array([1.0, -0.75], np.float32)), sol.x
try:
    fo.solve(flow, schemes.Euler(), x0, t1=(2 ** 24 + 1) * lr, dt0=lr)
except ValueError as e:
    assert "2**24" in str(e) and "dt0" in str(e), e
else:
    raise AssertionError("2**24 + 1 float32 steps were not refused")
print("ok")
"""


def test_exact_fixed_steps_with_x64_off():
    run = subprocess.run([sys.executable, "-c", X64_OFF], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_unit_steps_controller_alone():
    """schemes.UnitSteps in a bare diffeqsolve: 1e6 float32 steps over [-1e6, 0]."""
    n = 1_000_000
    sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: jnp.ones_like(y)),
                              schemes.Euler(), jnp.float32(-n), jnp.float32(0.0), None,
                              jnp.float32(0.0), stepsize_controller=schemes.UnitSteps(),
                              max_steps=n)
    assert int(sol.stats["num_steps"]) == n
    assert float(sol.ys[-1]) == float(n)  # each step adds exactly 1
    # it always steps by 1: any other dt0 is refused
    with pytest.raises(Exception, match="dt0"):  # checked when the solve runs
        diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: y), schemes.Euler(), 0.0, 4.0,
                            0.5, jnp.float32(1.0), stepsize_controller=schemes.UnitSteps())


@pytest.mark.parametrize("x64", [True, False])
def test_too_many_fixed_steps_are_refused(x64):
    dtype = jnp.float64 if x64 else jnp.float32
    flow = fo.flows.GradientFlow(lambda x: jnp.sum(x**2))
    limit = 2**31 - 1 if x64 else 2**24
    with pytest.raises(ValueError, match=r"t1=.*dt0=.*fixed steps"):
        fo.solve(flow, schemes.Euler(), jnp.ones(2, dtype), t1=float(limit + 1), dt0=1.0)


# --- saved times are physical times -------------------------------------------------

DT = 2.0**-4  # 0.5 is step 8


def decay_reference(t, x0=1.0):
    return x0 * (1 - DT) ** round(t / DT)  # Euler on x' = -x


@pytest.mark.parametrize("saveat", [[0.5], np.array([0.5]), diffrax.SaveAt(ts=[0.5])])
def test_saveat_times_are_physical(saveat):
    flow = fo.flows.GradientFlow(lambda x: 0.5 * jnp.sum(x**2))
    sol = fo.solve(flow, schemes.Euler(), jnp.array([1.0]), t1=1.0, dt0=DT, saveat=saveat)
    np.testing.assert_array_equal(np.asarray(sol.ts), [0.5])
    np.testing.assert_allclose(np.asarray(sol.xs)[:, 0], [decay_reference(0.5)], rtol=1e-12)
    np.testing.assert_allclose(float(sol.x[0]), decay_reference(1.0), rtol=1e-12)


def test_saveat_with_start_and_end_and_int():
    flow = fo.flows.GradientFlow(lambda x: 0.5 * jnp.sum(x**2))
    sol = fo.solve(flow, schemes.Euler(), jnp.array([1.0]), t1=1.0, dt0=DT,
                   saveat=diffrax.SaveAt(t0=True, ts=[0.25, 0.5], t1=True))
    np.testing.assert_allclose(np.asarray(sol.ts), [0.0, 0.25, 0.5, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.asarray(sol.xs)[:, 0],
                               [decay_reference(t) for t in (0.0, 0.25, 0.5, 1.0)], rtol=1e-12)
    sol = fo.solve(flow, schemes.Euler(), jnp.array([1.0]), t1=1.0, dt0=DT, saveat=5)
    np.testing.assert_array_equal(np.asarray(sol.ts), [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(np.asarray(sol.xs)[:, 0],
                               [decay_reference(t) for t in sol.ts], rtol=1e-12)


@pytest.mark.parametrize("saveat", [[1.5], [-0.1], [float("nan")], [float("inf")],
                                    diffrax.SaveAt(ts=[2.0]), [0.5, 0.25]])
def test_bad_save_times_are_refused(saveat):
    flow = fo.flows.GradientFlow(lambda x: 0.5 * jnp.sum(x**2))
    with pytest.raises(ValueError, match="saveat"):
        fo.solve(flow, schemes.Euler(), jnp.array([1.0]), t1=1.0, dt0=DT, saveat=saveat)


# --- a non-finite run is not a success ----------------------------------------------

def log_loss(x):
    return jnp.log(x[0]) ** 2 + x[1] ** 2


def test_nan_run_is_diverged():
    """log of a negative start: the gradient is NaN from the first step."""
    sol = fo.solve(fo.flows.GradientFlow(log_loss), schemes.Euler(), jnp.array([-1.0, 0.5]),
                   t1=1.0, dt0=0.1)
    assert np.isnan(np.asarray(sol.x[0]))  # as NumPy: log(-1) is NaN
    assert not bool(sol.finite) and not bool(sol.success)
    assert sol.status == "diverged (non-finite state)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflow_run_is_diverged(dtype):
    """Euler GD on x**4 with step 1 from 10: 10 -> -3990 -> 2.5e11 -> ... overflows."""
    flow = fo.flows.GradientFlow(lambda x: jnp.sum(x**4))
    x0 = np.array([10.0], dtype)
    sol = fo.solve(flow, schemes.Euler(), jnp.asarray(x0), t1=20.0, dt0=1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = numpy_gd(x0, 1.0, lambda x: 4 * x**3, 20)
    assert not np.all(np.isfinite(expected))
    assert not np.all(np.isfinite(np.asarray(sol.x)))
    assert sol.status == "diverged (non-finite state)" and not bool(sol.success)
    # the same flow from a start that converges stays a success
    ok = fo.solve(flow, schemes.Euler(), jnp.asarray(np.array([0.5], dtype)), t1=20.0,
                  dt0=0.1)
    assert ok.status == "successful" and bool(ok.success) and bool(ok.finite)


# --- status of a batched Solution ---------------------------------------------------

def test_status_under_vmap():
    flow = fo.flows.GradientFlow(log_loss)
    starts = jnp.array([[-1.0, 0.5], [2.0, 0.5], [0.5, 0.5]])
    sol = jax.vmap(lambda x0: fo.solve(flow, schemes.Euler(), x0, t1=1.0, dt0=0.1))(starts)
    status = sol.status
    assert isinstance(status, np.ndarray) and status.shape == (3,)
    assert status.tolist() == ["diverged (non-finite state)", "successful", "successful"]
    np.testing.assert_array_equal(np.asarray(sol.success), [False, True, True])
    np.testing.assert_array_equal(np.asarray(sol.finite), [False, True, True])
    # solve_batch, with an early stop: converged and not, per start
    sol = fo.solve_batch(flow, schemes.Euler(), starts, t1=50.0, dt0=0.1, gtol=1e-6)
    assert sol.status.tolist() == ["diverged (non-finite state)", "converged", "converged"]
    single = fo.solve(flow, schemes.Euler(), starts[1], t1=1.0, dt0=0.1)
    assert isinstance(single.status, str) and single.status == "successful"


def test_status_inside_jit_says_why_not():
    flow = fo.flows.GradientFlow(log_loss)

    def f(x0):
        return fo.solve(flow, schemes.Euler(), x0, t1=1.0, dt0=0.1).status

    with pytest.raises(TypeError, match="outside"):
        jax.jit(f)(jnp.array([2.0, 0.5]))


# --- traced step sizes --------------------------------------------------------------

GD = fo.flows.GradientFlow(lambda x: 0.5 * jnp.sum(x**2))
X0 = jnp.array([1.0, -2.0])


def test_traced_dt0_needs_max_steps():
    with pytest.raises(ValueError, match="max_steps"):
        jax.jit(lambda dt: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=dt).x)(0.01)
    with pytest.raises(ValueError, match="max_steps"):
        jax.vmap(lambda t1: fo.solve(GD, schemes.Euler(), X0, t1=t1, dt0=0.1).x)(
            jnp.array([1.0, 2.0]))


def test_traced_dt0_reports_the_budget():
    run = jax.jit(lambda dt, m: fo.solve(GD, schemes.Euler(), X0, t1=1.0, dt0=dt,
                                         max_steps=m), static_argnums=1)
    short = run(0.01, 50)  # 100 steps needed
    assert int(short.stats["num_steps"]) == 50
    assert "max_steps" in short.status and not bool(short.success)
    enough = run(0.01, 200)
    assert int(enough.stats["num_steps"]) == 100 and enough.status == "successful"
    np.testing.assert_allclose(np.asarray(enough.x), np.asarray(X0) * 0.99**100, rtol=1e-10)


# --- diffrax's SDE solvers with Lévy area -------------------------------------------

@pytest.mark.parametrize("scheme", [diffrax.SRA1(), diffrax.ShARK()],
                         ids=["SRA1", "ShARK"])
def test_additive_noise_solvers_on_ornstein_uhlenbeck(scheme):
    """Langevin on f = x^2/2, beta = 2: dX = -X dt + dW. X(1) from 1 has mean e^-1 and
    variance (1 - e^-2) / beta."""
    n, beta = 2000, 2.0
    flow = fo.flows.Langevin(lambda x: 0.5 * jnp.sum(x**2), beta=beta)
    sol = fo.solve_batch(flow, scheme, jnp.ones((n, 1)), key=jax.random.key(7), t1=1.0,
                         dt0=1e-2)
    x = np.asarray(sol.x)[:, 0]
    assert int(np.asarray(sol.stats["num_steps"])[0]) == 100
    mean, var = np.exp(-1.0), (1 - np.exp(-2.0)) / beta
    se_mean, se_var = np.sqrt(var / n), var * np.sqrt(2.0 / (n - 1))
    print(f"{type(scheme).__name__}: mean {x.mean():.4f} (exact {mean:.4f}, se "
          f"{se_mean:.4f}), var {x.var(ddof=1):.4f} (exact {var:.4f}, se {se_var:.4f})")
    assert abs(x.mean() - mean) < 4 * se_mean
    assert abs(x.var(ddof=1) - var) < 4 * se_var


def test_additive_noise_solver_adaptive_and_underdamped():
    """The same solvers with an adaptive controller (a VirtualBrownianTree with Lévy
    area), and on underdamped Langevin (noise on the velocity only: still additive)."""
    flow = fo.flows.Langevin(lambda x: 0.5 * jnp.sum(x**2), beta=2.0)
    sol = fo.solve(flow, diffrax.ShARK(), jnp.ones(1), t1=1.0, dt0=0.05,
                   key=jax.random.key(1), controller=diffrax.PIDController(rtol=1e-3,
                                                                           atol=1e-3))
    assert sol.status == "successful"
    flow = fo.flows.UnderdampedLangevin(lambda x: 0.5 * jnp.sum(x**2))
    sol = fo.solve(flow, diffrax.SRA1(), jnp.ones(2), t1=1.0, dt0=1e-2, key=jax.random.key(1))
    assert sol.status == "successful"


def test_multiplicative_noise_refused_by_additive_solvers():
    flow = fo.flows.CBO(lambda x: jnp.sum(x**2))
    with pytest.raises(ValueError, match=r"scheme=SRA1\(\).*schemes\.Euler\(\)"):
        fo.solve(flow, diffrax.SRA1(), jnp.ones((5, 2)), t1=1.0, dt0=0.1,
                 key=jax.random.key(0))


def test_sde_solver_on_a_deterministic_flow_is_refused():
    with pytest.raises(ValueError, match=r"scheme=ShARK\(\).*deterministic"):
        fo.solve(GD, diffrax.ShARK(), X0, t1=1.0, dt0=0.1)


# --- bad input named before compiling -----------------------------------------------

@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(key=0), ValueError, r"solve\(key=0\).*jax\.random\.key\(0\)"),
    (dict(t1="1"), TypeError, r"solve\(t1='1'\)"),
    (dict(dt0="0.1"), TypeError, r"solve\(dt0='0.1'\)"),
    (dict(scheme=None), TypeError, r"solve\(scheme=None\)"),
    (dict(x0=jnp.ones(2, jnp.float16)), ValueError, r"x0.*float32"),
    (dict(x0=jnp.ones(2, jnp.bfloat16)), ValueError, r"x0.*float32"),
    (dict(max_steps=2**31), ValueError, r"max_steps"),
])
def test_bad_input_is_named(kwargs, error, pattern):
    call = dict(flow=GD, scheme=schemes.Euler(), x0=X0, t1=1.0, dt0=0.1) | kwargs
    with pytest.raises(error, match=pattern):
        fo.solve(call.pop("flow"), call.pop("scheme"), call.pop("x0"), **call)
