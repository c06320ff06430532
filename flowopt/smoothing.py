r"""The homogenized (Cole–Hopf) potential of a separable loss, tabulated exactly.

For a loss $\Phi(x) = \sum_i \phi(x_i)$ the $\epsilon \to 0$ limit of fast/slow
homogenized SGLD (seed 000 eqs. 10–13; Chaudhari et al. 2018) is the deterministic flow
$X' = -\nabla\Phi^{\beta,\gamma}(X)$ with (REFERENCE.md §1; the seed's eq. 12 drops the
minus sign)

$$\Phi^{\beta,\gamma}(x) = -\tfrac1\beta \log\big(G_{\gamma/\beta} \star e^{-\beta\Phi}\big)(x),
\qquad \nabla\Phi^{\beta,\gamma}(x) = \frac{x - \langle y\rangle_x}{\gamma},\quad
\rho^x(y) \propto e^{-\beta[\Phi(y) + \|x - y\|^2/2\gamma]}.$$

$\rho^x$ factorizes over the coordinates, so $\Phi^{\beta,\gamma} = \sum_i
\phi^{\beta,\gamma}(x_i)$ with one 1-D function, which :class:`SeparableColeHopf`
tabulates on a uniform grid (two FFT convolutions with the Gaussian kernel of variance
$\gamma/\beta$) and interpolates linearly. The gradient is interpolated from its own
table of $(x - \langle y\rangle_x)/\gamma$ (a ``custom_jvp``), not differentiated from
the interpolated potential. This is the limit that ``schemes.HMM`` approximates at small
$\epsilon$; it needs no micro steps, so it is stable where the HMM's micro scheme is not
(a rough $\phi$ with curvature $10^6$).
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


_FLOOR = 1e-7


def cole_hopf_1d(phi, beta, gamma, grid):
    r"""$\phi^{\beta,\gamma}$ and its derivative $(x - \langle y\rangle_x)/\gamma$ on the
    uniform ``grid`` (NumPy, float64), by FFT convolution of $e^{-\beta\phi}$ and
    $y e^{-\beta\phi}$ with the Gaussian of variance $\gamma/\beta$.

    The integrals over $y$ run over ``grid`` itself: make it extend a few kernel widths
    $\sqrt{\gamma/\beta}$ beyond the $x$ you need (values within 8 widths of its ends are
    returned as NaN), and fine enough to resolve $e^{-\beta\phi}$ (its narrowest wells).
    The potential is fixed up to a constant; it is shifted to be 0 at its minimum.
    Accuracy: FFT rounding is absolute (about 1e-15 of the largest convolution value), so
    points where $G \star e^{-\beta\phi}$ falls below 1e-7 of its maximum are NaN too
    (a loss whose $e^{-\beta\phi}$ decays steeply needs a table over a narrower range;
    the rough loss of seed 000 has $\phi = 0$ in every well and is not affected).
    """
    grid = np.asarray(grid, float)
    if grid.ndim != 1 or len(grid) < 3:
        raise ValueError("cole_hopf_1d(grid=...): grid must be a 1-D array of >= 3 points.")
    h = np.diff(grid)
    if not np.allclose(h, h[0], rtol=1e-6, atol=0) or h[0] <= 0:
        raise ValueError("cole_hopf_1d(grid=...): grid must be uniform and increasing.")
    if not (beta > 0 and gamma > 0):
        raise ValueError(f"cole_hopf_1d(beta={beta!r}, gamma={gamma!r}): both must be > 0.")
    h = h[0]
    width = np.sqrt(gamma / beta)
    reach = int(np.ceil(8 * width / h))
    if 2 * reach + 1 >= len(grid):
        raise ValueError(f"cole_hopf_1d(grid=...): the grid spans {grid[-1] - grid[0]:g}, "
                         f"less than 16 kernel widths sqrt(gamma/beta) = {width:g}.")
    e = -beta * np.asarray(phi(grid), float)
    e -= e.max()
    w = np.exp(e)
    s = np.arange(-reach, reach + 1) * h
    kernel = np.exp(-s**2 / (2 * width**2))
    size = 1 << int(np.ceil(np.log2(len(grid) + len(kernel))))
    fk = np.fft.rfft(kernel, size)
    conv = lambda f: np.fft.irfft(np.fft.rfft(f, size) * fk, size)[reach:reach + len(grid)]
    z, zy = conv(w), conv(grid * w)
    valid = (np.arange(len(grid)) >= reach) & (np.arange(len(grid)) < len(grid) - reach)
    # the FFT's rounding is ~1e-15 of the largest value: where z is below FLOOR of it the
    # ratio zy / z has lost its digits, so it is refused (NaN), not returned
    valid &= z > _FLOOR * z.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = zy / z
        pot = -np.log(z) / beta
    pot = np.where(valid, pot, np.nan)
    pot -= np.nanmin(pot)
    slope = np.where(valid, (grid - mean) / gamma, np.nan)
    return pot, slope


class SeparableColeHopf(eqx.Module):
    r"""$\Phi^{\beta,\gamma}(x) = \sum_i \phi^{\beta,\gamma}(x_i)$, a loss on shape
    ``(d,)`` (any ``d``) for the flows: linear interpolation of the tables of
    :func:`cole_hopf_1d` on ``[lo, hi]``, gradient from the table of
    $(x - \langle y\rangle_x)/\gamma$. Outside ``[lo, hi]`` the loss is NaN (a run that
    leaves the table shows as diverged, never as a silent extrapolation).

    Args:
        phi: $\phi$, a NumPy-vectorized function of one coordinate.
        beta, gamma: $\beta, \gamma > 0$.
        lo, hi: the range of $x$ to tabulate.
        spacing: grid spacing (resolve the narrowest well of $e^{-\beta\phi}$).
    """

    xs: jax.Array
    potential: jax.Array
    slope: jax.Array
    beta: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True)

    def __init__(self, phi: Callable, beta: float, gamma: float, lo: float, hi: float,
                 spacing: float):
        if not hi > lo:
            raise ValueError(f"SeparableColeHopf(lo={lo!r}, hi={hi!r}): need hi > lo.")
        if not spacing > 0:
            raise ValueError(f"SeparableColeHopf(spacing={spacing!r}): must be > 0.")
        pad = 9 * np.sqrt(gamma / beta)
        n = int(np.ceil((hi - lo + 2 * pad) / spacing)) + 1
        grid = lo - pad + spacing * np.arange(n)
        pot, slope = cole_hopf_1d(phi, beta, gamma, grid)
        keep = (grid >= lo - spacing) & (grid <= hi + spacing)
        self.xs = jnp.asarray(grid[keep])
        self.potential = jnp.asarray(pot[keep])
        self.slope = jnp.asarray(slope[keep])
        self.beta, self.gamma = float(beta), float(gamma)

    def coordinate(self, x):
        """$\\phi^{\\beta,\\gamma}$ at each entry of ``x``."""
        return _interp(x, self.xs, self.potential, self.slope)

    def __call__(self, x):
        return jnp.sum(self.coordinate(x))


def _lookup(x, xs, table):
    """Linear interpolation on the uniform grid ``xs`` by index arithmetic (O(1) per
    point, no search)."""
    h = (xs[-1] - xs[0]) / (xs.shape[0] - 1)
    u = (x - xs[0]) / h
    i = jnp.clip(jnp.floor(u), 0, xs.shape[0] - 2).astype(jnp.int32)
    w = u - i
    table = table.astype(jnp.result_type(x))
    return (1 - w) * table[i] + w * table[i + 1]


@jax.custom_jvp
def _interp(x, xs, pot, slope):
    inside = (x >= xs[0]) & (x <= xs[-1])
    return jnp.where(inside, _lookup(x, xs, pot), jnp.nan)


@_interp.defjvp
def _interp_jvp(primals, tangents):
    x, xs, pot, slope = primals
    dx = tangents[0]
    y = _interp(x, xs, pot, slope)
    return y, _lookup(x, xs, slope) * dx
