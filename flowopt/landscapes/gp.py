"""The negative log marginal likelihood of Gaussian-process regression with a Matérn kernel,
as a loss on the log-hyperparameters (seed 003)."""

import functools
import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._data import check_theta, floating, targets

# smoothnesses with a closed form k(r) = p(a r) e^{-a r}: nu -> (a, p, q), q = p - p' so
# that k'(r) = -a q(a r) e^{-a r} (differentiating p e^{-ar} as a product cancels two terms
# of size a near r = 0: ~1e-4 of k' lost at r = 1e-12 for nu = 3/2)
_CLOSED = {
    0.5: (1.0, lambda s: 1.0, lambda s: 1.0),
    1.5: (math.sqrt(3.0), lambda s: 1 + s, lambda s: s),
    2.5: (math.sqrt(5.0), lambda s: 1 + s + s * s / 3, lambda s: s * (1 + s) / 3),
}


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _closed_form(nu, r):
    a, p, _ = _CLOSED[nu]
    return p(a * r) * jnp.exp(-a * r)


@_closed_form.defjvp
def _closed_form_jvp(nu, primals, tangents):
    (r,), (dr,) = primals, tangents
    a, p, q = _CLOSED[nu]
    e = jnp.exp(-a * r)
    return p(a * r) * e, -a * q(a * r) * e * dr


@functools.cache
def _log_bessel_kve():
    """log(K_nu(z) e^z) from tensorflow-probability's JAX substrate (imported on first use:
    it takes about a second)."""
    try:
        with warnings.catch_warnings():  # its backend touches deprecated jax.core names
            warnings.simplefilter("ignore", DeprecationWarning)
            from tensorflow_probability.substrates.jax.math import log_bessel_kve
    except (ImportError, AttributeError) as e:  # tfp 0.25.0 fails on jax 0.10 with AttributeError
        raise ImportError(
            "GaussianProcessNLML(nu=...): a Matérn kernel with nu outside {0.5, 1.5, 2.5} needs "
            "K_nu from tensorflow-probability's JAX substrate; install it with `pip install "
            "tfp-nightly` (the 0.25.0 release of tensorflow-probability does not import with "
            f"this jax): {e}") from e
    return log_bessel_kve


def matern(r, nu, *, closed_form=True):
    r"""The Matérn correlation $k(r)/\sigma^2$ at scaled distances $r = |x - x'|/\ell \ge 0$.

    $k(r)/\sigma^2 = \frac{2^{1-\nu}}{\Gamma(\nu)} z^\nu K_\nu(z)$, $z = \sqrt{2\nu}\,r$
    (Rasmussen & Williams 2006, eq. 4.14; seed 003 eq. 3), with $k(0) = 1$. Computed as
    $\exp[(1-\nu)\log 2 - \log\Gamma(\nu) + \nu\log z + \log(K_\nu(z)e^z) - z]$ with
    ``log_bessel_kve`` of tensorflow-probability's JAX substrate, differentiated by the
    identity $\frac{d}{dz}[z^\nu K_\nu(z)] = -z^\nu K_{\nu-1}(z)$ (equivalent to
    $K_\nu' = -(K_{\nu-1} + K_{\nu+1})/2$, without the cancellation of two terms of size
    $\nu/z$ near $z = 0$); second derivatives go through tfp's own gradient of
    ``log_bessel_kve``. ``r == 0`` gives exactly 1 and a zero
    (not NaN) gradient. With ``closed_form`` (the default), $\nu \in \{1/2, 3/2, 5/2\}$ use
    their closed forms ($e^{-r}$, $(1+\sqrt3 r)e^{-\sqrt3 r}$,
    $(1+\sqrt5 r+\frac53 r^2)e^{-\sqrt5 r}$); ``closed_form=False`` forces the Bessel path.

    Args:
        r: scaled distances, any shape, >= 0.
        nu: the smoothness $\nu > 0$ (a Python number: fixed, not differentiated).

    Returns:
        the correlations, ``r``'s shape and dtype.
    """
    nu = _check_nu("matern", nu)
    r = jnp.asarray(r)
    dtype = r.dtype if jnp.issubdtype(r.dtype, jnp.floating) else jnp.result_type(float)
    form = _form(nu, closed_form)
    if form is None:
        _log_bessel_kve()
    return _matern(r.astype(dtype) ** 2, jnp.asarray(nu, dtype), form)


def _form(nu, closed_form):
    """The closed form used for ``nu`` (its key in _CLOSED), or None for the Bessel path."""
    return nu if closed_form and nu in _CLOSED else None


def _correlation(r2, nu, form):
    """Matérn correlation at squared scaled distances ``r2``: the closed form ``form``, or
    (None) the Bessel path with ``nu`` traced, so that every nu shares one compiled program.
    r2 == 0 is handled by a double ``where``: neither the value nor the gradient sees
    sqrt(0) or 0 * log 0."""
    positive = r2 > 0
    r = jnp.sqrt(jnp.where(positive, r2, 1.0))
    if form is not None:
        k = _closed_form(form, r)
    else:
        nu = jax.lax.stop_gradient(nu)  # fixed: not a hyperparameter
        z = jnp.sqrt(2 * nu) * r
        k = jnp.exp((1 - nu) * math.log(2.0) - jax.scipy.special.gammaln(nu) + _log_zk(nu, z))
    return jnp.where(positive, k, 1.0)


_matern = jax.jit(_correlation, static_argnums=2)


@jax.custom_jvp
def _log_zk(nu, z):
    """log(z^nu K_nu(z)) for z > 0, with K_nu from tensorflow-probability."""
    return nu * jnp.log(z) + _log_bessel_kve()(nu, z) - z


@_log_zk.defjvp
def _log_zk_jvp(primals, tangents):
    # d(z^nu K_nu)/dz = -z^nu K_{nu-1}(z) (K_{-m} = K_m): one ratio, where differentiating
    # nu log z + log K_nu(z) term by term cancels two terms of size nu/z (~1e-4 lost at
    # z = 1e-12, seen in testing). nu's tangent is ignored (nu is fixed, stop_gradient).
    (nu, z), (_, dz) = primals, tangents
    # both orders in one call: one copy of tfp's (large) K_nu program to compile, not two
    orders = jnp.stack([nu, jnp.abs(nu - 1)]).reshape((2,) + (1,) * z.ndim)
    log_k, log_k1 = _log_bessel_kve()(orders, z[None])
    return nu * jnp.log(z) + log_k - z, -jnp.exp(log_k1 - log_k) * dz


def _check_nu(owner, nu):
    ok = isinstance(nu, (int, float, np.integer, np.floating)) and not isinstance(nu, bool)
    if not ok or not math.isfinite(nu) or nu <= 0:
        raise ValueError(f"{owner}(nu={nu!r}): nu, the Matérn smoothness, must be a finite "
                         "number > 0, e.g. nu=0.5, 1.5, 2.5 or 2.1.")
    return float(nu)


class GaussianProcessNLML(eqx.Module):
    r"""Negative log marginal likelihood of GP regression with a Matérn kernel (seed 003).

    On data $X \in \mathbb{R}^{n \times p}$, $y \in \mathbb{R}^n$ and the covariance
    $K_{ij} = \sigma^2 k_\nu(|x_i - x_j|_\ell)$ (:func:`matern`, with
    $|u|_\ell^2 = \sum_k u_k^2/\ell_k^2$), the loss is

    $$L(\theta) = \tfrac12 y^\top K_y^{-1} y + \tfrac12 \log|K_y| + \tfrac n2 \log 2\pi,
    \qquad K_y = K + (\sigma_n^2 + \epsilon) I,$$

    computed through the Cholesky factor $K_y = LL^\top$ as $\frac12|L^{-1}y|^2 +
    \sum_i \log L_{ii} + \frac n2\log 2\pi$ (Rasmussen & Williams 2006, Algorithm 2.1;
    seed 003 eq. 2 with the sign flipped, so minima are the best hyperparameters).

    ``theta`` has shape ``(d,)``: $(\log\sigma^2, \log\ell, \log\sigma_n^2)$, $d = 3$, or
    with ``ard=True`` one lengthscale per input dimension,
    $(\log\sigma^2, \log\ell_1, \ldots, \log\ell_p, \log\sigma_n^2)$, $d = p + 2$: the
    signal variance, the lengthscale(s) in the units of ``x``, the noise variance in the
    units of ``y`` squared. This is scikit-learn's ``kernel.theta`` of
    ``ConstantKernel() * Matern(nu=nu) + WhiteKernel()``. ``nu`` is fixed (not a
    parameter; its gradient is stopped); it is kept as a 0-d array, so losses that differ
    only in ``nu`` share one compiled program (``form`` is the closed form used, or None
    for the Bessel path). ``jitter`` $\epsilon$ is added to the diagonal for a stable Cholesky
    factor; its default 1e-10 is scikit-learn's ``GaussianProcessRegressor(alpha=1e-10)``.
    Where $K_y$ is not numerically positive definite the loss is NaN (a diverged start
    for the basin mapper). The loss has ``theta``'s dtype (the data are cast to it).

    Args:
        x: ``(n,)`` or ``(n, p)`` inputs.
        y: ``(n,)`` targets.
        nu: the Matérn smoothness $\nu > 0$, any real (seed 003 uses 2.1, 2.0, 3.5, 3.4).
        ard: one lengthscale per input dimension (default: one shared lengthscale).
        jitter: $\epsilon \ge 0$ added to the diagonal of $K_y$.
        closed_form: use the closed forms at $\nu \in \{1/2, 3/2, 5/2\}$ (else the
            Bessel path, as for every other $\nu$).

    Raises:
        ValueError: ``nu <= 0``; ``x`` not ``(n,)`` or ``(n, p)``; ``y`` not ``(n,)`` or of a
            length other than ``x``'s; non-finite data; ``jitter < 0``; (when called)
            ``theta`` not of shape ``(d,)``.
        ImportError: for $\nu \notin \{1/2, 3/2, 5/2\}$ without tensorflow-probability.

    Example:
        >>> import jax, jax.numpy as jnp, flowopt as fo
        >>> x = jax.random.uniform(jax.random.key(0), (30, 3), minval=-500.0, maxval=500.0)
        >>> y = jax.vmap(fo.landscapes.Schwefel(d=3))(x)          # seed 003's data
        >>> loss = fo.landscapes.GaussianProcessNLML(x, y, nu=2.5, ard=True)
        >>> theta = loss.to_theta(variance=1e5, lengthscale=100.0, noise=1.0)
        >>> theta.shape, bool(jnp.isfinite(loss(theta)))
        ((5,), True)
        >>> mean, var = loss.predict(theta, x[:2])
        >>> bool(jnp.allclose(mean, y[:2], rtol=1e-2)), bool(jnp.all(var >= 0))
        (True, True)
    """

    x: jax.Array
    y: jax.Array
    nu: jax.Array
    form: float | None = eqx.field(static=True)
    ard: bool = eqx.field(default=False, static=True)
    jitter: float = eqx.field(default=1e-10, static=True)

    def __init__(self, x, y, nu=2.5, *, ard=False, jitter=1e-10, closed_form=True):
        owner = "GaussianProcessNLML"
        nu = _check_nu(owner, nu)
        self.nu, self.form = jnp.asarray(nu, float), _form(nu, closed_form)
        x = floating(owner, "x", x)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise ValueError(f"{owner}(x=...): x has shape {x.shape}; pass (n,) for one input "
                             "dimension or (n, p), one row per sample.")
        self.x = jnp.asarray(x)
        self.y = jnp.asarray(targets(owner, y, len(x)))
        j = jitter
        if isinstance(j, bool) or not isinstance(j, (int, float, np.integer, np.floating)) \
                or not math.isfinite(j) or j < 0:
            raise ValueError(f"{owner}(jitter={jitter!r}): jitter must be a finite number "
                             ">= 0 (default 1e-10).")
        self.jitter, self.ard = float(j), bool(ard)
        if self.form is None:
            _log_bessel_kve()  # a missing library is named now, not while tracing

    @property
    def dim(self) -> int:
        """The number of hyperparameters ``d`` (3, or ``p + 2`` with ``ard``)."""
        return self.x.shape[1] + 2 if self.ard else 3

    @property
    def _layout(self):
        ls = "log l_1..log l_p" if self.ard else "log l"
        return f"log signal variance, {ls}, log noise variance"

    def to_theta(self, variance, lengthscale, noise) -> jax.Array:
        """``theta`` (shape ``(d,)``) from the signal variance, the lengthscale (a scalar, or
        ``(p,)`` with ``ard``; a scalar is repeated) and the noise variance."""
        ls = jnp.broadcast_to(jnp.asarray(lengthscale, float).reshape(-1), (self.dim - 2,))
        return jnp.log(jnp.concatenate([jnp.atleast_1d(jnp.asarray(variance, float)), ls,
                                        jnp.atleast_1d(jnp.asarray(noise, float))]))

    def hyperparameters(self, theta) -> dict:
        """``{"variance", "lengthscale", "noise"}`` of ``theta`` (``exp`` of its entries)."""
        e = jnp.exp(check_theta(type(self).__name__, theta, self.dim, self._layout))
        return {"variance": e[0], "lengthscale": e[1:-1] if self.ard else e[1],
                "noise": e[-1]}

    def _data(self, theta):
        theta = check_theta(type(self).__name__, theta, self.dim, self._layout)
        dtype = theta.dtype if jnp.issubdtype(theta.dtype, jnp.floating) else jnp.result_type(float)
        return theta.astype(dtype), self.x.astype(dtype), self.y.astype(dtype)

    def _cov(self, theta, a, b):
        """sigma^2 k(|a_i - b_j|_l), shape (len(a), len(b))."""
        # difference first, then scale: a*s - a*s is not 0 where XLA fuses it into an FMA
        # (seen under jit: the diagonal got r ~ 1e-17, and K_nu's log its 1/z gradient)
        d = (a[:, None, :] - b[None, :, :]) * jnp.exp(-theta[1:-1])
        return jnp.exp(theta[0]) * _correlation(jnp.sum(d * d, axis=-1),
                                                self.nu.astype(d.dtype), self.form)

    def _factor(self, theta, x):
        n = x.shape[0]
        k = self._cov(theta, x, x) + (jnp.exp(theta[-1]) + self.jitter) * jnp.eye(n, dtype=x.dtype)
        return jnp.linalg.cholesky(k)

    @eqx.filter_jit
    def __call__(self, theta):
        theta, x, y = self._data(theta)
        chol = self._factor(theta, x)
        v = jax.scipy.linalg.solve_triangular(chol, y, lower=True)
        n = y.shape[0]
        return (0.5 * jnp.dot(v, v) + jnp.sum(jnp.log(jnp.diagonal(chol)))
                + 0.5 * n * math.log(2 * math.pi))

    @eqx.filter_jit
    def predict(self, theta, x_new, *, include_noise=False):
        r"""Posterior mean and variance of the latent $f$ at ``x_new`` (R&W Algorithm 2.1;
        seed 003 eq. 1): $\mu_* = K_{*x}K_y^{-1}y$,
        $\sigma_*^2 = \sigma^2 - K_{*x}K_y^{-1}K_{x*}$, plus $\sigma_n^2$ with
        ``include_noise`` (the variance of a new noisy observation, as scikit-learn's
        ``predict(return_std=True)`` with a ``WhiteKernel`` reports).

        Args:
            theta: ``(d,)`` log-hyperparameters.
            x_new: ``(m, p)``, or ``(m,)`` when ``p == 1``.

        Returns:
            ``(mean, variance)``, each of shape ``(m,)``.
        """
        theta, x, y = self._data(theta)
        x_new = jnp.asarray(x_new, theta.dtype)
        p = x.shape[1]
        if x_new.ndim == 1 and p == 1:
            x_new = x_new[:, None]
        if x_new.ndim != 2 or x_new.shape[1] != p:
            raise ValueError(f"GaussianProcessNLML.predict(x_new=...): x_new has shape "
                             f"{tuple(x_new.shape)}; pass (m, {p}), one row per point"
                             + (" (or (m,))." if p == 1 else "."))
        chol = self._factor(theta, x)
        k_new = self._cov(theta, x, x_new)  # (n, m)
        v = jax.scipy.linalg.solve_triangular(chol, k_new, lower=True)
        alpha = jax.scipy.linalg.cho_solve((chol, True), y)
        mean = k_new.T @ alpha
        var = jnp.exp(theta[0]) - jnp.sum(v * v, axis=0)
        return mean, (var + jnp.exp(theta[-1]) if include_noise else var)
