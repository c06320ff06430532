"""ReLU-network symmetries and de-symmetrization (MLP.transform, align_to, canonical):
same function to 1e-12 in float64, and a permuted + rescaled copy of W_f maps back."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo

jax.config.update("jax_enable_x64", True)


def _random_symmetry(loss, seed):
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(loss.width) for _ in range(loss.depth)])
    scales = np.exp(rng.uniform(-1.5, 1.5, (loss.depth, loss.width)))
    return perms, scales


def _grid():
    return jnp.linspace(-0.5, 1.5, 401)


def test_transform_keeps_the_function_and_moves_the_weights():
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    perms, scales = _random_symmetry(loss, 0)
    moved = loss.transform(w_f, perms, scales)
    assert float(jnp.linalg.norm(moved - w_f)) > 1.0
    np.testing.assert_allclose(loss.predict(moved, _grid()), loss.predict(w_f, _grid()),
                               rtol=0, atol=1e-12)
    # the loss at W_f is ~1e-31; rescaling by up to e^1.5 keeps it at round-off
    assert float(loss(moved)) < 1e-24


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_permuted_rescaled_w_f_aligns_back_exactly(seed):
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    moved = loss.transform(w_f, *_random_symmetry(loss, seed))
    back = loss.align_to(moved, w_f)
    np.testing.assert_allclose(back, w_f, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_aligned_random_network_computes_the_same_function(seed):
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    theta = loss.init(jax.random.key(seed)) * 3.0
    aligned = loss.align_to(theta, w_f)
    np.testing.assert_allclose(loss.predict(aligned, _grid()), loss.predict(theta, _grid()),
                               rtol=0, atol=1e-12)
    # idempotent: exactly in the gauge alone; with the nearest-scale descent up to its
    # convergence (coordinate descent, stopped after 200 sweeps: ~1e-8 here)
    gauge = loss.align_to(theta, w_f, nearest=False)
    np.testing.assert_allclose(loss.align_to(gauge, w_f, nearest=False), gauge, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(loss.align_to(aligned, w_f), aligned, rtol=0, atol=1e-6)


def test_canonical_is_orbit_invariant_and_norm_minimal():
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    theta = loss.init(jax.random.key(4))
    c = loss.canonical(theta)
    np.testing.assert_allclose(loss.predict(c, _grid()), loss.predict(theta, _grid()),
                               rtol=0, atol=1e-12)
    moved = loss.transform(theta, *_random_symmetry(loss, 5))
    np.testing.assert_allclose(loss.canonical(moved), c, rtol=0, atol=1e-9)
    # no random rescaling of the canonical network is shorter
    rng = np.random.default_rng(6)
    for _ in range(20):
        s = np.exp(rng.normal(0, 0.05, (loss.depth, loss.width)))
        other = loss.transform(c, np.tile(np.arange(loss.width), (loss.depth, 1)), s)
        assert float(jnp.linalg.norm(other)) >= float(jnp.linalg.norm(c)) - 1e-12


def test_bad_symmetry_input_is_named():
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    with pytest.raises(ValueError, match="permutations"):
        loss.transform(w_f, np.zeros((5, 5), int), np.ones((5, 5)))
    with pytest.raises(ValueError, match="scales"):
        loss.transform(w_f, np.tile(np.arange(5), (5, 1)), -np.ones((5, 5)))
    tanh = fo.landscapes.MLP(loss.x, loss.y, activation=jnp.tanh)
    with pytest.raises(ValueError, match="ReLU"):
        tanh.align_to(w_f, w_f)


def test_nearest_scales_only_shorten_the_distance_to_the_reference():
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    theta = loss.init(jax.random.key(7)) * 2.0
    gauge = loss.align_to(theta, w_f, nearest=False)
    near = loss.align_to(theta, w_f)
    assert float(jnp.linalg.norm(near - w_f)) < float(jnp.linalg.norm(gauge - w_f))
    np.testing.assert_allclose(loss.predict(near, _grid()), loss.predict(theta, _grid()),
                               rtol=0, atol=1e-12)
    # a local minimum over the scales: no small random rescaling gets closer
    rng = np.random.default_rng(8)
    ident = np.tile(np.arange(loss.width), (loss.depth, 1))
    d0 = float(jnp.linalg.norm(near - w_f))
    for _ in range(20):
        s = np.exp(rng.normal(0, 0.01, (loss.depth, loss.width)))
        assert float(jnp.linalg.norm(loss.transform(near, ident, s) - w_f)) >= d0 - 1e-9
