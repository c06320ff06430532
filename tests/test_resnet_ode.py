"""fo.landscapes.ResNetODE: the forward pass (schemes.VelocityVerlet / schemes.Euler steps
with per-layer weights) against hand-written NumPy loops, the loss against a NumPy
cross-entropy, the parameter count, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo


def _numpy_forward(theta, points, layers, h, scheme, classes=2):
    """The network by hand: theta = [K_0 (row by row), b_0, K_1, b_1, ..., W, c]."""
    w = points.shape[1]
    per = w * w + w

    def force(k, x):  # tanh(K_k x + b_k) on rows x
        K = theta[k * per:k * per + w * w].reshape(w, w)
        return np.tanh(x @ K.T + theta[k * per + w * w:(k + 1) * per])

    u, v = points.copy(), np.zeros_like(points)
    for j in range(layers):
        if scheme == "verlet":
            # kick (layer j) - drift - kick (layer j + 1; the last layer's at the end)
            v_half = v + 0.5 * h * force(j, u)
            u = u + h * v_half
            v = v_half + 0.5 * h * force(min(j + 1, layers - 1), u)
        else:
            u, v = u + h * v, v + h * force(j, u)
    head = theta[layers * per:]
    W, c = head[:classes * w].reshape(classes, w), head[classes * w:]
    return u, v, u @ W.T + c


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)) * np.array([1.0, 2.0])
    labels = (x[:, 0] ** 2 + (x[:, 1] / 2) ** 2 < 0.5).astype(int)
    return x, labels


@pytest.mark.parametrize("scheme", ["verlet", "euler"])
def test_forward_equals_numpy_loop(scheme):
    x, labels = _data()
    net = fo.landscapes.ResNetODE(x, labels, layers=16, step=0.05, scheme=scheme)
    theta = np.asarray(net.init(jax.random.key(3), scale=0.8), dtype=np.float64)
    u, v = net.forward(jnp.asarray(theta), x)
    u_np, v_np, z_np = _numpy_forward(theta, x, 16, 0.05, scheme)
    np.testing.assert_allclose(np.asarray(u), u_np, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(v), v_np, rtol=0, atol=1e-12)
    logp = z_np - np.log(np.exp(z_np).sum(1, keepdims=True))
    ce = -np.mean(logp[np.arange(len(labels)), labels])
    assert abs(float(net(jnp.asarray(theta))) - ce) < 1e-12
    p = np.asarray(net.probabilities(jnp.asarray(theta), x))
    np.testing.assert_allclose(p, np.exp(logp), atol=1e-12)


def test_verlet_is_stormer_leapfrog():
    """The positions of the Verlet network obey u_{j+1} = 2u_j - u_{j-1} + h^2 F_j(u_j)
    (Haber & Ruthotto's leapfrog), with u_1 = u_0 + h^2/2 F_0(u_0)."""
    x, labels = _data(10)
    h, L = 0.05, 6
    theta = np.asarray(jax.random.normal(jax.random.key(1), (6 * L + 6,)))
    us = [x]
    for L_ in range(1, L + 1):
        net = fo.landscapes.ResNetODE(x, labels, layers=L_, step=h)
        us.append(np.asarray(net.forward(jnp.asarray(theta[:6 * L_].tolist() + [0.0] * 6),
                                         x)[0]))
    F = lambda j, u: np.tanh(u @ theta[6 * j:6 * j + 4].reshape(2, 2).T  # noqa: E731
                             + theta[6 * j + 4:6 * j + 6])
    np.testing.assert_allclose(us[1], us[0] + 0.5 * h * h * F(0, us[0]), atol=1e-13)
    for j in range(1, L):
        np.testing.assert_allclose(us[j + 1], 2 * us[j] - us[j - 1] + h * h * F(j, us[j]),
                                   atol=1e-13)


def test_parameter_count_and_gradient():
    x, labels = _data()
    for L, w, C in ((128, 2, 2), (8, 2, 3)):
        xx = np.tile(x, (1, w // 2))
        net = fo.landscapes.ResNetODE(xx, labels % C, layers=L, classes=C)
        assert net.dim == L * (w * w + w) + C * w + C
    assert fo.landscapes.ResNetODE(x, labels, layers=128).dim == 774
    net = fo.landscapes.ResNetODE(x, labels, layers=5)
    theta = net.init(jax.random.key(0), scale=0.5)
    g = jax.grad(net)(theta)
    e = jnp.zeros(net.dim).at[7].set(1e-6)
    fd = (net(theta + e) - net(theta - e)) / 2e-6
    assert abs(float(g[7]) - float(fd)) < 1e-7


@pytest.mark.parametrize("kwargs, word", [
    (dict(layers=0), "layers"), (dict(layers=2.0), "layers"), (dict(step=-1.0), "step"),
    (dict(scheme="rk4"), "scheme"), (dict(classes=1), "classes")])
def test_bad_arguments(kwargs, word):
    x, labels = _data()
    args = dict(layers=4) | kwargs
    with pytest.raises(ValueError, match=word):
        fo.landscapes.ResNetODE(x, labels, **args)


def test_bad_data():
    x, labels = _data()
    with pytest.raises(ValueError, match="labels"):
        fo.landscapes.ResNetODE(x, labels[:-1], layers=4)
    with pytest.raises(ValueError, match="labels"):
        fo.landscapes.ResNetODE(x, labels + 2, layers=4)
    with pytest.raises(ValueError, match="x"):
        fo.landscapes.ResNetODE(x[:, 0], labels, layers=4)
    net = fo.landscapes.ResNetODE(x, labels, layers=4)
    with pytest.raises(ValueError, match="theta"):
        net(jnp.zeros(5))
