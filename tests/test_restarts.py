"""Restart processes of seed 002: cost accounting, acceptance rules, reproducibility."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import schemes

KEY = jax.random.key(5)


def tilted(x):
    """Double well with the global minimum near -1 and a local one near +1."""
    return jnp.sum((x**2 - 1.0) ** 2 + 0.3 * x)


def test_grads_per_step():
    loss = fo.landscapes.Himmelblau()
    gd, sam = fo.flows.GradientFlow(loss), fo.flows.SAM(loss)
    cost = fo.restarts.grads_per_step
    assert cost(gd, schemes.Euler()) == 1 and cost(sam, schemes.Euler()) == 2
    assert cost(gd, schemes.EulerRichardson()) == 2
    assert cost(fo.flows.SmoothedGradient(loss, samples=8), schemes.Euler()) == 8
    assert cost(gd, diffrax.Tsit5()) == 6  # 7 stages, first same as last
    with pytest.raises(ValueError, match="grads_per_step"):
        cost(gd, schemes.HMM())


def test_nim_spends_exactly_its_budget():
    flow = fo.flows.GradientFlow(fo.landscapes.SixHumpCamel())
    nim = fo.restarts.NiM(flow, schemes.Euler(), dt=1e-2, local_steps=1500, gtol=1e-3,
                          radius=0.5, wait=100)
    out = jax.vmap(nim.run)(jnp.array([[1.5, 0.5], [-1.0, 0.3], [0.0, 0.0]]),
                            jax.random.split(KEY, 3))
    kicks = np.asarray(out.perturbations)
    assert np.all(kicks > 0)
    # every step costs one gradient, every perturbation one more
    np.testing.assert_array_equal(np.asarray(out.grad_evals), 1500 + kicks)


def test_monotonic_hopping_never_accepts_a_worse_minimum_and_finds_the_global_one():
    flow = fo.flows.GradientFlow(tilted)
    mbh = fo.restarts.MonotonicBasinHopping(flow, schemes.Euler(), dt=1e-2, local_steps=2000,
                                            gtol=1e-6, radius=2.0, hops=20)
    out = mbh.run(jnp.array([1.0]), KEY)
    global_x = np.min(np.roots([4.0, 0.0, -4.0, 0.3]).real)  # f'(x) = 0 near -1
    assert abs(float(out.x[0]) - global_x) < 1e-5
    assert float(out.loss) == float(out.best_loss)
    bh = fo.restarts.BasinHopping(flow, schemes.Euler(), dt=1e-2, local_steps=2000,
                                  gtol=1e-6, radius=2.0, hops=20)
    plain = bh.run(jnp.array([1.0]), KEY)
    assert int(plain.accepted) == 20 and int(out.accepted) < 20
    assert float(plain.best_loss) <= float(plain.loss)


def test_hopping_is_reproducible_and_key_dependent():
    flow = fo.flows.GradientFlow(fo.landscapes.Himmelblau())
    bh = fo.restarts.BasinHopping(flow, schemes.Euler(), dt=1e-2, local_steps=300, gtol=1e-4,
                                  radius=3.0, hops=6)
    a = bh.run(jnp.array([0.0, 0.0]), KEY)
    b = bh.run(jnp.array([0.0, 0.0]), KEY)
    np.testing.assert_array_equal(a.x, b.x)
    assert int(a.grad_evals) == int(b.grad_evals)


def test_bad_parameters():
    flow = fo.flows.GradientFlow(tilted)
    with pytest.raises(ValueError, match="radius"):
        fo.restarts.BasinHopping(flow, schemes.Euler(), dt=0.1, local_steps=10, gtol=1e-3,
                                 radius=0.0)
    with pytest.raises(ValueError, match="dt"):
        fo.restarts.NiM(flow, schemes.Euler(), dt=-0.1, local_steps=10, gtol=1e-3, radius=1.0)


def test_label_points_and_stationary_row():
    minima = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])  # closest pair 2 apart: radius 1
    pts = np.array([[0.1, -0.2], [3.1, 0.0], [1.9, 0.3], [np.nan, 0.0], [0.0, 3.5], [1e9, 0]])
    lab = fo.restarts.label_points(pts, minima)
    np.testing.assert_array_equal(lab, [0, -2, 1, -1, 2, -2])
    np.testing.assert_array_equal(fo.restarts.label_points(pts, minima, radius=0.25),
                                  [0, -2, -2, -1, -2, -2])
    row = fo.restarts.stationary_row(np.array([0, 0, 2, -2, -1, -4, 0, 2]), ["a", "b", "c"])
    assert row == {"a": 37.5, "b": 0.0, "c": 25.0, "Else": 25.0, "Diverged": 12.5}
    with pytest.raises(ValueError, match="names"):
        fo.restarts.stationary_row(np.array([3]), ["a", "b", "c"])
