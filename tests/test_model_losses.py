"""Model losses (issue 10): the MLP of seed 001 against a NumPy forward pass and finite
differences, its hand-built W_f against its data; the GP Matérn NLML of seed 003 against
scikit-learn, scipy's K_nu and the closed forms; errors that name the argument."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.special
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

import flowopt as fo
import schemes

L = fo.landscapes


# ---------------------------------------------------------------------------------- MLP
def numpy_mlp(theta, x, depth, width, act):
    """The K x N network by hand from the documented flat layout: layer by layer from the
    input, weight (out, in) row by row, then bias."""
    theta, h, i = np.asarray(theta, float), np.asarray(x, float)[:, None], 0
    sizes = [1] + [width] * depth + [1]
    for layer, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = theta[i:i + n * m].reshape(n, m)
        b = theta[i + n * m:i + n * m + n]
        i += n * m + n
        h = h @ w.T + b
        if layer < depth:
            h = act(h)
    assert i == theta.size
    return h[:, 0]


@pytest.mark.parametrize("depth, width, act, np_act", [
    (5, 5, jax.nn.relu, lambda h: np.maximum(h, 0)),
    (2, 3, jnp.tanh, np.tanh),
])
def test_mlp_loss_equals_numpy(depth, width, act, np_act):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, 40), rng.normal(size=40)
    loss = L.MLP(x, y, depth=depth, width=width, activation=act)
    assert loss.dim == 2 * width + (depth - 1) * (width**2 + width) + width + 1
    worst = 0.0
    for seed in range(3):
        theta = rng.normal(size=loss.dim)
        ref = np.mean((numpy_mlp(theta, x, depth, width, np_act) - y) ** 2)
        worst = max(worst, abs(float(loss(jnp.asarray(theta))) - ref) / ref)
    assert worst < 1e-12  # measured: 4.1e-16


def test_mlp_dim_network_round_trip_and_init():
    x = np.linspace(0, 1, 7)
    loss = L.MLP(x, x**2)
    assert loss.dim == 136
    theta = loss.init(jax.random.key(3))
    assert theta.shape == (136,) and theta.dtype == jnp.float64
    assert not np.allclose(theta, loss.init(jax.random.key(4)))
    net = loss.to_network(theta)
    np.testing.assert_array_equal(loss.from_network(net), theta)
    np.testing.assert_allclose(loss.predict(theta, x), jax.vmap(net)(jnp.asarray(x)),
                               rtol=1e-15, atol=1e-15)
    # float32 parameters give a float32 loss
    assert loss(theta.astype(jnp.float32)).dtype == jnp.float32


@pytest.mark.parametrize("act", [jnp.tanh, jax.nn.relu])
def test_mlp_gradient_matches_finite_differences(act):
    """Directional derivatives along random directions, central differences, h = 1e-6
    (ReLU: the loss is piecewise polynomial; no kink lies within h of these points)."""
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, 30), rng.normal(size=30)
    loss = L.MLP(x, y, depth=3, width=4, activation=act)
    theta = jnp.asarray(rng.normal(size=loss.dim))
    g = jax.grad(loss)(theta)
    h = 1e-6
    for _ in range(4):
        v = jnp.asarray(rng.normal(size=loss.dim))
        fd = (float(loss(theta + h * v)) - float(loss(theta - h * v))) / (2 * h)
        assert float(g @ v) == pytest.approx(fd, rel=1e-7, abs=1e-9)  # measured: 3.7e-10


def test_gamst_walker_network_fits_its_data_exactly():
    loss, w_f = L.MLP.gamst_walker()
    assert loss.dim == 136 and w_f.shape == (136,)
    x, y = np.asarray(loss.x), np.asarray(loss.y)
    # the knots j/32 of the sawtooth and 9 points between each pair: 33 + 32 * 9
    assert x.size == 321
    np.testing.assert_allclose(x[::10], np.arange(33) / 32, atol=1e-15)
    # f by a second closed form: a/4-high tent teeth T^5 + the spline, knot values checked
    tent = lambda t: np.where(t < 0.5, 2 * t, 2 - 2 * t)
    t5 = x.copy()
    for _ in range(5):
        t5 = tent(t5)
    spline = np.interp(x, [0, .25, .375, .625, .75, .875, 1], [0, 1, 1, -.5, -.5, 0, -.25])
    np.testing.assert_allclose(y, 0.25 * t5 + spline, atol=1e-14)
    assert float(loss(w_f)) < 1e-12  # measured: 9.6e-32
    # a global minimum: zero residuals make the gradient vanish
    assert float(jnp.max(jnp.abs(jax.grad(loss)(w_f)))) < 1e-12
    # the 2 + 3 structure: the sawtooth half and the spline half share no weight
    net = loss.to_network(w_f)
    for layer in net.layers[1:-1]:
        w = np.asarray(layer.weight)
        assert not w[:2, 2:].any() and not w[2:, :2].any()
    # a random network of the same shape fits much worse
    assert float(loss(loss.init(jax.random.key(0)))) > 1e-2


def test_mlp_bad_input_names_the_argument():
    x = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match=r"MLP\(x, y\).*5 samples but y has 4"):
        L.MLP(x, x[:4])
    with pytest.raises(ValueError, match=r"MLP\(x=.*shape \(5, 2\).*\(n,\)"):
        L.MLP(np.ones((5, 2)), x)
    with pytest.raises(ValueError, match=r"MLP\(y=.*shape \(5, 1\)"):
        L.MLP(x, x[:, None])
    with pytest.raises(ValueError, match=r"MLP\(depth=0\).*int >= 1"):
        L.MLP(x, x, depth=0)
    with pytest.raises(ValueError, match=r"MLP\(x=.*non-finite"):
        L.MLP(np.array([0.0, np.nan]), np.zeros(2))
    loss = L.MLP(x, x)
    with pytest.raises(ValueError, match=r"MLP\(theta\).*shape \(135,\).*\(136,\)"):
        loss(jnp.zeros(135))


def test_flows_and_solve_run_on_the_mlp():
    loss, w_f = L.MLP.gamst_walker()
    x0 = w_f + 0.01 * jax.random.normal(jax.random.key(1), w_f.shape)
    sol = fo.solve(fo.flows.GradientFlow(loss), schemes.Euler(), x0, t1=1.0, dt0=0.05)
    assert sol.x.shape == (136,) and float(loss(sol.x)) < float(loss(x0))


# ----------------------------------------------------------------------------------- GP
def gp_data(p=3, n=14, seed=0):
    """Samples of the p-D Schwefel function (seed 003), inputs scaled to [-5, 5]^p and
    targets standardized so that random hyperparameters give well-conditioned K_y."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-500, 500, (n, p))
    y = np.asarray(jax.vmap(L.Schwefel(d=p))(jnp.asarray(x)))
    return x / 100, (y - y.mean()) / y.std()


def sklearn_gp(x, y, nu, theta, ard):
    """scikit-learn's GP with the hyperparameters exp(theta), fitted without optimizing."""
    e = np.exp(theta)
    ls = e[1:-1] if ard else float(e[1])
    kernel = ConstantKernel(e[0]) * Matern(length_scale=ls, nu=nu) + WhiteKernel(e[-1])
    return GaussianProcessRegressor(kernel=kernel, optimizer=None).fit(x, y)


@eqx.filter_jit  # the loss is an argument: one program for every nu of the Bessel path
def value_and_grad(loss, theta):
    return jax.value_and_grad(loss)(theta)


def richardson_gradient(f, theta, indices, h=1e-3):
    """Central differences at h and h/2 combined by Richardson (error O(h^4) ~ 1e-12)."""
    out = {}
    for i in indices:
        e = np.zeros_like(theta)
        e[i] = 1.0
        d = [(f(theta + s * e) - f(theta - s * e)) / (2 * s) for s in (h, h / 2)]
        out[i] = (4 * d[1] - d[0]) / 3
    return out


@pytest.mark.parametrize("ard", [False, True], ids=["iso", "ard"])
@pytest.mark.parametrize("nu", [0.5, 1.5, 2.0, 2.5, 3.4, 3.5])
def test_nlml_and_gradient_equal_sklearn(nu, ard):
    """NLML = -scikit-learn's log_marginal_likelihood, to 1e-8 relative; so is its gradient.

    scikit-learn's Matern has an analytic gradient for nu in {0.5, 1.5, 2.5}, compared
    entry by entry. For any other nu it takes the length-scale gradient by a one-sided
    finite difference with step 1e-10 in log space (``_approx_fprime``), accurate to about
    1e-6 only, so there the length-scale entries are compared with a Richardson-extrapolated
    central difference (h = 1e-3, 5e-4) of scikit-learn's exact LML *value*; the
    signal-variance and noise entries of scikit-learn's gradient stay exact and are
    compared directly."""
    x, y = gp_data()
    rng = np.random.default_rng(int(10 * nu) + 7 * ard)
    loss = L.GaussianProcessNLML(x, y, nu=nu, ard=ard)
    worst_value = worst_grad = 0.0
    for _ in range(2):
        theta = np.concatenate([[rng.uniform(-1, 1)], rng.uniform(-0.5, 1.0, loss.dim - 2),
                                [rng.uniform(-4, -1)]])
        gpr = sklearn_gp(x, y, nu, theta, ard)
        np.testing.assert_allclose(gpr.kernel_.theta, theta, atol=1e-14)  # same order, logs
        lml, lml_grad = gpr.log_marginal_likelihood(theta, eval_gradient=True)
        ours, g = value_and_grad(loss, jnp.asarray(theta))
        ours, g = float(ours), np.asarray(g)
        worst_value = max(worst_value, abs(ours + lml) / abs(lml))
        ref = -lml_grad
        if nu not in (0.5, 1.5, 2.5):
            fd = richardson_gradient(lambda t: -gpr.log_marginal_likelihood(t), theta,
                                     range(1, loss.dim - 1))
            for i, v in fd.items():
                ref[i] = v
        scale = np.max(np.abs(ref))
        worst_grad = max(worst_grad, np.max(np.abs(g - ref) / np.maximum(np.abs(ref),
                                                                          1e-3 * scale)))
    # measured: values <= 2.1e-15; gradients <= 1.1e-14 against scikit-learn's analytic ones,
    # <= 4.6e-10 against the extrapolated differences (their own error), while scikit-learn's
    # finite-difference length-scale gradient differs by up to 3.5e-5
    assert worst_value < 1e-8
    assert worst_grad < 1e-8


def test_predict_equals_sklearn():
    x, y = gp_data()
    loss = L.GaussianProcessNLML(x, y, nu=1.5, ard=True)
    theta = np.array([0.3, 0.2, -0.1, 0.4, -3.0])
    gpr = sklearn_gp(x, y, 1.5, theta, True)
    np.testing.assert_allclose(gpr.kernel_.theta, theta, atol=1e-14)
    x_new = np.random.default_rng(4).uniform(-5, 5, (6, 3))
    mean_sk, std_sk = gpr.predict(x_new, return_std=True)
    mean, var = loss.predict(jnp.asarray(theta), x_new, include_noise=True)
    np.testing.assert_allclose(mean, mean_sk, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(var, std_sk**2, rtol=1e-9)
    _, latent = loss.predict(jnp.asarray(theta), x_new)
    np.testing.assert_allclose(var - latent, math.exp(theta[-1]), rtol=1e-12)


def numpy_nlml(x, y, nu, theta):
    """NLML by NumPy and scipy.special.kv (ARD), k(0) = sigma^2 set by hand."""
    e = np.exp(theta)
    d = (x[:, None, :] - x[None, :, :]) / e[1:-1]
    z = math.sqrt(2 * nu) * np.sqrt(np.sum(d * d, -1))
    with np.errstate(invalid="ignore"):
        k = 2 ** (1 - nu) / scipy.special.gamma(nu) * z**nu * scipy.special.kv(nu, z)
    k = e[0] * np.where(z > 0, k, 1.0)
    chol = np.linalg.cholesky(k + (e[-1] + 1e-10) * np.eye(len(y)))
    v = scipy.linalg.solve_triangular(chol, y, lower=True)
    return 0.5 * v @ v + np.sum(np.log(np.diag(chol))) + 0.5 * len(y) * math.log(2 * math.pi)


def test_general_nu_path_matches_closed_forms_and_scipy():
    r = jnp.concatenate([jnp.zeros(1), jnp.logspace(-12, 1.5, 59)])
    grad = lambda nu, closed: jax.vmap(jax.grad(lambda s: L.matern(s, nu, closed_form=closed)))
    for nu in (0.5, 1.5, 2.5):
        general, dg = L.matern(r, nu, closed_form=False), grad(nu, False)(r)
        np.testing.assert_allclose(general, L.matern(r, nu), rtol=1e-12, atol=1e-300)
        # r = 0 (first entry): k = 1 and a zero, not NaN, gradient
        assert float(general[0]) == 1.0 and float(dg[0]) == 0.0
        np.testing.assert_allclose(dg[1:], grad(nu, True)(r)[1:], rtol=1e-12, atol=1e-300)
    # any nu against scipy's K_nu (r >= 1e-3: below, scipy's z^nu K_nu(z) loses digits)
    far = np.asarray(r) >= 1e-3
    for nu in (0.3, 2.0, 2.1, 3.4, 3.5, 7.25):
        z = math.sqrt(2 * nu) * np.asarray(r)[far]
        ref = 2 ** (1 - nu) / scipy.special.gamma(nu) * z**nu * scipy.special.kv(nu, z)
        np.testing.assert_allclose(np.asarray(L.matern(r, nu))[far], ref, rtol=1e-12)
    # the NLML through either path, value and gradient
    x, y = gp_data()
    theta = jnp.array([0.2, 0.4, -2.0])
    a = value_and_grad(L.GaussianProcessNLML(x, y, nu=2.5), theta)
    b = value_and_grad(L.GaussianProcessNLML(x, y, nu=2.5, closed_form=False), theta)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10)


@pytest.mark.parametrize("nu", [0.5, 2.1])
def test_zero_distance_gives_variance_and_finite_gradients(nu):
    """k(0) = sigma^2 without NaN, on the diagonal and between repeated inputs."""
    x, y = gp_data(n=12)
    x = np.concatenate([x, x[:2]])  # repeated inputs: r = 0 off the diagonal too
    y = np.concatenate([y, y[:2] + 0.1])
    loss = L.GaussianProcessNLML(x, y, nu=nu, ard=True, closed_form=False)
    theta = loss.to_theta(variance=2.0, lengthscale=[1.0, 2.0, 3.0], noise=0.1)
    value, g = value_and_grad(loss, theta)
    np.testing.assert_allclose(value, numpy_nlml(x, y, nu, np.asarray(theta)), rtol=1e-12)
    assert bool(jnp.all(jnp.isfinite(g)))
    h = loss.hyperparameters(theta)
    np.testing.assert_allclose(h["lengthscale"], [1.0, 2.0, 3.0], rtol=1e-15)
    np.testing.assert_allclose([h["variance"], h["noise"]], [2.0, 0.1], rtol=1e-15)


def test_gp_bad_input_names_the_argument():
    x, y = gp_data(n=6)
    G = L.GaussianProcessNLML
    for nu in (0, -1.5, float("nan"), "2.5", None):
        with pytest.raises(ValueError, match=r"GaussianProcessNLML\(nu=.*nu.*> 0"):
            G(x, y, nu=nu)
    with pytest.raises(ValueError, match=r"GaussianProcessNLML\(x, y\).*6 samples but y has 5"):
        G(x, y[:5])
    with pytest.raises(ValueError, match=r"GaussianProcessNLML\(x=.*\(n, p\)"):
        G(x[:, :, None], y)
    with pytest.raises(ValueError, match=r"GaussianProcessNLML\(y=.*shape \(6, 1\)"):
        G(x, y[:, None])
    with pytest.raises(ValueError, match=r"GaussianProcessNLML\(jitter=-1"):
        G(x, y, jitter=-1.0)
    loss = G(x, y, ard=True)
    with pytest.raises(ValueError, match=r"GaussianProcessNLML\(theta\).*shape \(3,\).*\(5,\)"
                       r".*log signal variance, log l_1..log l_p, log noise variance"):
        loss(jnp.zeros(3))
    with pytest.raises(ValueError, match=r"predict\(x_new=.*\(m, 3\)"):
        loss.predict(jnp.zeros(5), np.zeros((2, 2)))


def test_flows_and_solve_run_on_the_gp():
    x, y = gp_data()
    loss = L.GaussianProcessNLML(x, y, nu=2.5)
    x0 = jnp.array([0.5, 0.5, -1.0])
    sol = fo.solve(fo.flows.GradientFlow(loss), schemes.Euler(), x0, t1=0.5, dt0=0.05)
    assert sol.x.shape == (3,) and float(loss(sol.x)) < float(loss(x0))
