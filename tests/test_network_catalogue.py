"""The catalogue of gradient-descent-trained 5 x 5 ReLU networks (seed 001, Gamst & Walker;
issue 10): random initializations (``loss.init`` with keys 0, 1, ...) trained by gradient
descent, ``fo.flows.GradientFlow`` + ``schemes.Euler()`` at dt = 0.01 (the Hessian's
largest eigenvalue grows along the runs but stays below 2 / dt = 200: 196 at most over
200 networks after 50 000 steps; at dt = 0.05 and 0.2 it sits at 2 / dt, the edge of
stability, and the gradient does not settle), catalogued with
``fo.catalogue(..., method="none")``.

GD ends on the kinks of the piecewise-polynomial loss (a sample's pre-activation at 0):
the directional derivative along the gradient jumps there, which the test shows with a
NumPy forward pass, so no point nearby has a vanishing gradient and Newton refinement
does not apply. The catalogue's losses are checked against that NumPy forward pass, its
eigenvalues against jax.hessian (reverse over reverse) + numpy.linalg.eigvalsh, its kinds
against the eigenvalue signs. The 200-network run (slow) draws fo.plot.hessian_spectra.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import flowopt.plot  # noqa: F401  (fo.plot is imported lazily)
import schemes
from flowopt.topography.catalogue import KINDS

DT = 0.01  # gradient descent's learning rate = the Euler step


@pytest.fixture(scope="module")
def network():
    return fo.landscapes.MLP.gamst_walker()[0]


def train(loss, n, steps):
    """``n`` networks (keys 0..n-1) after ``steps`` steps of gradient descent."""
    starts = jnp.stack([loss.init(jax.random.key(i)) for i in range(n)])
    sol = fo.solve_batch(fo.flows.GradientFlow(loss), schemes.Euler(), starts,
                         t1=steps * DT, dt0=DT, lanes=n)
    return np.asarray(sol.x, float)


def preactivations(theta, x, depth=5, width=5):
    """(depth, n, width) pre-activations and the (n,) outputs of the network ``theta`` in
    NumPy, from the documented layout of the flat vector (layer by layer from the input:
    each weight matrix (out, in) row by row, then its bias)."""
    sizes = [(width, 1)] + [(width, width)] * (depth - 1) + [(1, width)]
    h, zs, at = x[:, None], [], 0
    for l, (out, inp) in enumerate(sizes):
        w = theta[at:at + out * inp].reshape(out, inp)
        b = theta[at + out * inp:at + out * inp + out]
        at += out * inp + out
        z = h @ w.T + b
        if l < depth:
            zs.append(z)
            h = np.maximum(z, 0.0)
    assert at == len(theta)
    return np.array(zs), z[:, 0]


def numpy_loss(loss, theta):
    _, out = preactivations(theta, np.asarray(loss.x))
    return float(np.mean((out - np.asarray(loss.y)) ** 2))


def check_entries(loss, cat):
    """Losses, eigenvalues, gradients and kinds of every entry, computed independently."""
    hess = jax.jit(jax.jacrev(jax.jacrev(loss)))  # the catalogue's is forward over reverse
    grad = jax.jit(jax.grad(loss))
    top_all = np.abs(cat.eigenvalues).max()
    for i, p in enumerate(cat.positions):
        assert cat.losses[i] == pytest.approx(numpy_loss(loss, p), rel=1e-12, abs=1e-15)
        w = np.linalg.eigvalsh(np.asarray(hess(p)))
        assert np.abs(cat.eigenvalues[i] - w).max() <= 1e-10 * np.abs(w).max()
        assert cat.gradient[i] == pytest.approx(np.abs(np.asarray(grad(p))).max(), rel=1e-10)
        # the index counts the clearly negative eigenvalues (below 1e-3 of the curvature
        # scale, at most top_all) plus probed near-zero ones, never positive ones
        assert np.sum(w < -1e-3 * top_all) <= cat.index[i] <= np.sum(w <= 1e-3 * top_all)
        assert cat.kind[i] == KINDS[min(cat.index[i], 2)]
        # singular (dead units, rescalings): some eigenvalue is zero to round-off
        assert cat.degenerate[i] == (np.abs(w).min() <= 1e-6 * np.abs(w).max()) or \
            cat.members[i] > 1


def test_catalogue_of_trained_networks(network):
    """8 networks after 10 000 GD steps: the catalogue (no refinement) keeps each as an
    entry, and its numbers agree with independent computations; GD's end points lie on
    kinks (a pre-activation changes sign where the directional derivative jumps)."""
    loss = network
    x = train(loss, 8, 10_000)
    cat = fo.catalogue(loss, x, method="none", gtol=0.05)
    assert cat.members.sum() == 8 and len(cat) >= 1
    for p in cat.positions:  # each entry is one of the trained networks, unmoved
        assert np.abs(x - p).max(1).min() == 0.0
    check_entries(loss, cat)
    assert cat.degenerate.all()  # dead units and rescalings: zero eigenvalues everywhere

    grad = jax.jit(jax.vmap(jax.grad(loss)))
    ts = np.linspace(-1e-3, 1e-3, 401)
    kinks = 0
    for p in x:
        g = np.asarray(grad(p[None]))[0]
        if np.abs(g).max() < 1e-10:  # a dead network: constant output, flat around
            continue
        u = g / np.linalg.norm(g)
        dd = np.asarray(grad(p + ts[:, None] * u)) @ u  # the derivative along u
        jumps = np.abs(np.diff(dd))
        j = int(np.argmax(jumps))
        if jumps[j] <= 10 * np.median(jumps):
            continue
        z0, _ = preactivations(p + ts[j] * u, np.asarray(loss.x))
        z1, _ = preactivations(p + ts[j + 1] * u, np.asarray(loss.x))
        kinks += int(np.any(np.sign(z0) != np.sign(z1)))  # the jump is a ReLU kink
    assert kinks >= 5  # 7 of 8 here; the 8th is still moving


def test_no_refinement_keeps_points_as_given():
    """method="none": Himmelblau's 9 stationary points (found by Newton from a grid) given
    as candidates stay where they are, with the same kinds and index; a non-stationary
    candidate is dropped."""
    loss = fo.landscapes.Himmelblau()
    ref = fo.catalogue(loss, fo.Grid(loss.domain, shape=(12, 12)))
    assert ref.counts() == {"minimum": 4, "saddle": 4, "higher": 1}
    cat = fo.catalogue(loss, np.concatenate([ref.positions[::-1], [[1.0, 1.0]]]),
                       method="none")
    assert len(cat) == 9
    assert np.array_equal(cat.positions, ref.positions)
    assert np.array_equal(cat.index, ref.index) and np.array_equal(cat.kind, ref.kind)
    with pytest.raises(ValueError, match="none"):
        fo.catalogue(loss, ref.positions, method="nothing")


def test_hessian_spectra_figure_and_bad_input():
    """The figure's counts for Himmelblau's stationary points (4 minima: 2 positive
    eigenvalues each, 4 saddles: 1 and 1, the maximum: 2 negative), and named errors."""
    loss = fo.landscapes.Himmelblau()
    cat = fo.catalogue(loss, fo.Grid(loss.domain, shape=(12, 12)))
    fig = fo.plot.hessian_spectra(cat, kinds=KINDS)
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend == ["positive: median 1, range 0-2", "near zero: median 0, range 0-0",
                      "negative: median 1, range 0-2"]
    assert len(fig.axes[0].get_lines()) >= 9
    fig = fo.plot.hessian_spectra(cat)  # minima only
    assert fig.axes[1].get_legend().get_texts()[0].get_text() == \
        "positive: median 2, range 2-2"
    with pytest.raises(TypeError, match="catalogue"):
        fo.plot.hessian_spectra(cat.eigenvalues)
    with pytest.raises(ValueError, match="zero"):
        fo.plot.hessian_spectra(cat, zero=2.0)
    with pytest.raises(ValueError, match="kinds"):
        fo.plot.hessian_spectra(cat, kinds=("maximum",))
    with pytest.raises(ValueError, match="no entry of kind saddle"):
        fo.plot.hessian_spectra(cat.minima, kinds="saddle")
    with pytest.raises(ValueError, match="linear"):
        fo.plot.hessian_spectra(cat, linear=0.1)
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.slow
def test_catalogue_of_200_trained_networks(network, tmp_path):
    """Seed 001's experiment at 200 networks: 50 000 GD steps each (the seed's count),
    the catalogue of those with gradient max-norm <= 1e-2 (above the kinks' jumps), and
    the figure of their Hessian spectra."""
    loss = network
    t = time.perf_counter()
    x = train(loss, 200, 50_000)
    t_train = time.perf_counter() - t
    t = time.perf_counter()
    cat = fo.catalogue(loss, x, method="none", gtol=1e-2)
    t_cat = time.perf_counter() - t
    assert 150 <= len(cat) <= 200 and cat.members.sum() <= 200
    assert np.all(cat.gradient <= 1e-2)
    assert np.abs(cat.eigenvalues).max() < 2 / DT  # GD's step is stable at every end
    grad = jax.jit(jax.vmap(jax.grad(loss)))
    assert np.abs(np.asarray(grad(cat.positions))).max() <= 1e-2
    check_entries(loss, cat[::20])
    fig = fo.plot.hessian_spectra(cat)
    fig.savefig(tmp_path / "hessian_spectra.png", dpi=110)
    assert (tmp_path / "hessian_spectra.png").stat().st_size > 10_000
    import matplotlib.pyplot as plt

    plt.close(fig)
    m = cat.minima
    w, top = m.eigenvalues, np.abs(m.eigenvalues).max(1, keepdims=True)
    counts = {z: [np.sum(w < -z * top, 1), np.sum(np.abs(w) <= z * top, 1),
                  np.sum(w > z * top, 1)] for z in (1e-3, 1e-6)}
    print(f"\ntrain {t_train:.0f} s, catalogue {t_cat:.0f} s; {cat}")
    print(f"losses min / median / max {m.losses.min():.5g} / {np.median(m.losses):.5g} / "
          f"{m.losses.max():.5g}; distinct losses (1e-6) "
          f"{len(np.unique(np.round(m.losses, 6)))}")
    for z, (neg, nul, pos) in counts.items():
        print(f"|lambda| <= {z:g} max: negative {np.median(neg):g} ({neg.min()}-{neg.max()}), "
              f"zero {np.median(nul):g} ({nul.min()}-{nul.max()}), positive "
              f"{np.median(pos):g} ({pos.min()}-{pos.max()})")
