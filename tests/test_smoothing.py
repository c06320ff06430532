"""flowopt.smoothing: the tabulated Cole-Hopf (homogenized) potential of a separable loss,
against closed forms and direct quadrature."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

from flowopt.smoothing import SeparableColeHopf, cole_hopf_1d


@pytest.mark.parametrize("a,beta,gamma", [(3.0, 1.0, 0.1), (0.5, 4.0, 0.7)])
def test_quadratic_closed_form(a, beta, gamma):
    # phi = a s^2 / 2: rho^x is Gaussian with mean x / (1 + a gamma), so
    # phi^{beta,gamma}(x) = a x^2 / (2 (1 + a gamma)), independent of beta
    grid = np.linspace(-12, 12, 24001)
    pot, slope = cole_hopf_1d(lambda s: a * s**2 / 2, beta, gamma, grid)
    # valid where G * e^{-beta phi} > 1e-7 of its maximum: beta a x^2 / (2 (1 + a gamma))
    # < log(1e7) (closer than that, FFT rounding would dominate: NaN there, not wrong)
    edge = np.sqrt(2 * (1 + a * gamma) * np.log(1e7) / (beta * a))
    inner = np.abs(grid) < 0.95 * edge
    assert np.all(np.isnan(slope[(np.abs(grid) > 1.05 * edge) & (np.abs(grid) < 11)]))
    # the FFT's rounding (~1e-16 relative to the largest convolution value, summed over
    # 2^16 bins, then divided by gamma) leaves ~5e-8: exact up to that
    assert np.max(np.abs(slope[inner] - a * grid[inner] / (1 + a * gamma))) < 1e-6
    exact = a * grid**2 / (2 * (1 + a * gamma))
    assert np.max(np.abs(pot[inner] - pot[np.argmin(np.abs(grid))] - exact[inner])) < 1e-6


def test_rough_against_quadrature():
    # seed 000's rough phi(s) = (s sin(s/delta) + 0.1 s)^2, delta = 0.05, beta = 1,
    # gamma = 0.1: <y>_x by scipy quad (many wells inside the kernel)
    delta, beta, gamma = 0.05, 1.0, 0.1
    phi = lambda s: (s * np.sin(s / delta) + 0.1 * s) ** 2
    loss = SeparableColeHopf(phi, beta, gamma, lo=-4.0, hi=4.0, spacing=2e-4)
    for x in (-3.1, -0.4, 0.0, 0.77, 2.5):
        f = lambda y, p: y**p * np.exp(-beta * (phi(y) + (x - y) ** 2 / (2 * gamma)))
        lim = (x - 3, x + 3)
        num = quad(f, *lim, args=(1,), limit=2000, points=[x])[0]
        den = quad(f, *lim, args=(0,), limit=2000, points=[x])[0]
        expect = (x - num / den) / gamma
        got = float(jax.grad(loss)(jnp.array([x]))[0])
        assert abs(got - expect) < 1e-3 * max(1.0, abs(expect)), (x, got, expect)
    # the potential's finite differences agree with the tabulated gradient
    x = jnp.array([1.234, -2.5])
    h = 1e-3
    fd = [(loss(x.at[i].add(h)) - loss(x.at[i].add(-h))) / (2 * h) for i in range(2)]
    assert np.allclose(fd, jax.grad(loss)(x), rtol=1e-3, atol=1e-3)


def test_outside_table_is_nan_and_bad_input():
    loss = SeparableColeHopf(lambda s: s**2, 1.0, 0.1, lo=-1.0, hi=1.0, spacing=1e-3)
    assert np.isnan(float(loss(jnp.array([0.0, 1.5]))))
    assert np.isfinite(float(loss(jnp.array([0.0, 0.5]))))
    with pytest.raises(ValueError, match="hi > lo"):
        SeparableColeHopf(lambda s: s**2, 1.0, 0.1, lo=1.0, hi=-1.0, spacing=1e-3)
    with pytest.raises(ValueError, match="uniform"):
        cole_hopf_1d(lambda s: s**2, 1.0, 0.1, np.array([0.0, 1.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match="beta"):
        cole_hopf_1d(lambda s: s**2, -1.0, 0.1, np.linspace(-5, 5, 101))
