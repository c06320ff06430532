"""Landscapes: minima from REFERENCE.md §5 are stationary, minima, and valued as listed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import flowopt as fo

L = fo.landscapes

# (landscape, approximate minima from REFERENCE.md §5, values, Hessian eigenvalues or None)
LISTED = [
    (L.Himmelblau(), [(3, 2), (3.584428, -1.848127), (-2.805118, 3.131313),
                      (-3.779310, -3.283186)], [0, 0, 0, 0],
     [(25.7, 82.3), (28.7, 105.4), (64.8, 80.6), (70.7, 133.8)]),
    (L.ThreeHumpCamel(), [(0, 0), (1.747552, -0.873776), (-1.747552, 0.873776)],
     [0, 0.298638, 0.298638], None),
    (L.ThreeHumpCamel(1.04), [(0, 0), (1.728891, -0.864446), (-1.728891, 0.864446)],
     [0, 0.389945, 0.389945], None),
    (L.SixHumpCamel(), [(0.089842, -0.712656), (-0.089842, 0.712656), (1.703607, -0.796084),
                        (-1.703607, 0.796084), (1.607105, 0.568651), (-1.607105, -0.568651)],
     [-1.031628, -1.031628, -0.215464, -0.215464, 2.104250, 2.104250],
     [None, None, (18.8, 22.7), (18.8, 22.7), (7.1, 10.0), (7.1, 10.0)]),
    (L.NeuronPoly("polyTwo"), [(-2, 1), (2, -1), (0, -1), (0, 1)], [0, 0, 0, 0], None),
    (L.NeuronPoly("polyThree"), [(0, -1), (2, -1), (-2, 1), (0, 1)], [0, 4, 4, 8], None),
    (L.NeuronPoly("polyFour"), [(0, -1), (2, -1), (-2, 1), (0, 1)], [2, 2, 2, 2], None),
    (L.NeuronPoly("polyFive"), [(0, -1), (4, -1), (-4, 3), (0, 3)], [0, 0, 0, 0], None),
]


@pytest.mark.parametrize("loss, approx, values, eigs", LISTED, ids=lambda v: repr(v)[:30])
def test_listed_minima(loss, approx, values, eigs):
    np.testing.assert_allclose(loss.minima, np.array(approx, float), atol=1.5e-6)
    np.testing.assert_allclose(loss.minima_values, values, atol=1e-6)
    for i, m in enumerate(loss.minima):
        m = jnp.asarray(m)
        assert float(jnp.max(jnp.abs(loss.grad(m)))) < 1e-9
        assert float(loss(m)) == pytest.approx(values[i], abs=1e-6)
        ev = np.linalg.eigvalsh(np.asarray(loss.hessian(m)))
        singular = isinstance(loss, L.NeuronPoly) and loss.kind == "polyFive" and i < 3
        if singular:  # seed 004: singular Hessians at three of polyFive's minima
            assert ev.min() == pytest.approx(0.0, abs=1e-9) and ev.max() >= 0
        else:
            assert ev.min() > 0
        if eigs is not None and eigs[i] is not None:
            np.testing.assert_allclose(ev, eigs[i], atol=0.06)


def test_global_flags():
    assert L.Himmelblau().is_global.all()
    assert L.SixHumpCamel().is_global.tolist() == [True, True, False, False, False, False]
    assert L.NeuronPoly("polyThree").is_global.tolist() == [True, False, False, False]


def test_neuron_poly_critical_points_of_poly_two():
    """polyTwo: maximum at (0, 0); saddles at (+-1, 0), (+-1, -+1) with R = 0.25."""
    f = L.NeuronPoly("polyTwo")
    ev = np.linalg.eigvalsh(np.asarray(f.hessian(jnp.array([0.0, 0.0]))))
    assert ev.max() < 0
    for p in [(1, 0), (-1, 0), (1, -1), (-1, 1)]:
        p = jnp.array(p, float)
        assert float(jnp.max(jnp.abs(f.grad(p)))) < 1e-12
        assert float(f(p)) == pytest.approx(0.25)
        ev = np.linalg.eigvalsh(np.asarray(f.hessian(p)))
        assert ev.min() < 0 < ev.max()


@pytest.mark.parametrize("d", [2, 3])
def test_rastrigin_lists_every_local_minimum(d):
    f = L.Rastrigin(d)
    m = f.minima
    assert m.shape == (11**d, d)
    grads = jax.vmap(f.grad)(jnp.asarray(m))
    assert float(jnp.max(jnp.abs(grads))) < 1e-9
    assert f.is_global.sum() == 1 and np.allclose(f.global_minimum, 0)
    # independent: scipy from a point near each listed minimum lands on it
    for x in m[:: max(1, len(m) // 7)]:
        res = scipy.optimize.minimize(lambda z: float(f(jnp.asarray(z))), x + 0.05,
                                      jac=lambda z: np.asarray(f.grad(jnp.asarray(z))),
                                      method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(res.x, x, atol=1e-6)


def test_schwefel_minimum():
    f = L.Schwefel(3)
    assert np.allclose(f.minima, 420.9687, atol=1e-4)
    assert float(jnp.max(jnp.abs(f.grad(jnp.asarray(f.minima[0]))))) < 1e-9
    assert abs(f.minima_values[0]) < 1e-3  # 418.9829 is rounded: f* = 3 * 1.3e-5


@pytest.mark.parametrize("d", [2, 4, 5, 7])
def test_rosenbrock_minima(d):
    f = L.Rosenbrock(d)
    for m in f.minima:
        assert np.max(np.abs(scipy.optimize.rosen_der(m))) < 1e-10
        assert np.linalg.eigvalsh(scipy.optimize.rosen_hess(m)).min() > 0
        assert f.minima_values[0] == 0.0
        assert float(f(jnp.asarray(m))) == pytest.approx(scipy.optimize.rosen(m), abs=1e-12)
    assert len(f.minima) == (2 if 4 <= d <= 7 else 1)


def test_rough_quadratic():
    f = L.RoughQuadratic(delta=0.01, d=3)
    zero = jnp.zeros(3)
    assert float(f(zero)) == 0.0
    np.testing.assert_allclose(np.linalg.eigvalsh(np.asarray(f.hessian(zero))), 0.02, rtol=1e-12)
    x = jnp.full(3, 0.01 * (np.pi + np.arcsin(0.1)))  # sin(x/delta) = -0.1: another zero
    assert float(f(x)) < 1e-28
    assert f.minima_complete is False


def test_domains_and_dims():
    for f in [L.Himmelblau(), L.SixHumpCamel(), L.Rastrigin(5), L.Rosenbrock(3),
              L.Schwefel(4), L.RoughQuadratic(d=6), L.NeuronPoly("polyFour")]:
        assert f.domain.shape == (f.dim, 2) and np.all(f.domain[:, 0] < f.domain[:, 1])
        assert f.minima.shape[1] == f.dim
        assert np.all((f.minima >= f.domain[:, 0]) & (f.minima <= f.domain[:, 1]))


@pytest.mark.parametrize("bad, match", [
    (lambda: L.Rastrigin(0), "d must be"), (lambda: L.Rosenbrock(1), "d must be"),
    (lambda: L.NeuronPoly("polySix"), "polyTwo"), (lambda: L.RoughQuadratic(delta=0.0), "delta"),
    (lambda: L.ThreeHumpCamel(0.5), "coefficient")])
def test_bad_parameters_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
