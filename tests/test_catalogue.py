"""Minima catalogues and minima under a parameter (issue 10 items 2 and 5): every
stationary point against an independent Newton solve in NumPy with hand-written
derivatives, counts of each kind, degenerate points, volumes from a map, and folds of
the tilted double well against 4/(3 sqrt 6)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo
import flowopt.plot  # noqa: F401  (fo.plot is imported lazily)
import schemes

# ---------------------------------------------------------------- independent reference


def himmelblau_derivatives(p):
    x, y = p
    a, b = x * x + y - 11, x + y * y - 7
    g = np.array([4 * x * a + 2 * b, 2 * a + 4 * y * b])
    h = np.array([[4 * a + 8 * x * x + 2, 4 * x + 4 * y], [4 * x + 4 * y, 2 + 4 * b + 8 * y * y]])
    return g, h


def camel_derivatives(p):
    x, y = p
    g = np.array([8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3])
    h = np.array([[8 - 25.2 * x * x + 10 * x**4, 1.0], [1.0, -8 + 48 * y * y]])
    return g, h


def newton_reference(derivatives, bounds, n=40):
    """All stationary points reached by plain Newton iterations from an n x n grid
    (NumPy, analytic derivatives), deduplicated, with their Hessian index."""
    found = []
    for x0 in np.linspace(*bounds[0], n):
        for y0 in np.linspace(*bounds[1], n):
            p = np.array([x0, y0])
            for _ in range(100):
                g, h = derivatives(p)
                try:
                    step = np.linalg.solve(h, g)
                except np.linalg.LinAlgError:
                    break
                p = p - step
                if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e3:
                    break
                if np.abs(step).max() < 1e-14:
                    break
            g, h = derivatives(p)
            if np.all(np.isfinite(p)) and np.abs(g).max() < 1e-9 and \
                    not any(np.abs(p - q).max() < 1e-6 for q, _ in found):
                found.append((p, int(np.sum(np.linalg.eigvalsh(h) < 0))))
    return np.array([p for p, _ in found]), np.array([i for _, i in found])


def matches(cat, ref_points, ref_index):
    """Each catalogue entry equals one reference point to 1e-8 with the same index, and
    the other way round."""
    assert len(cat) == len(ref_points)
    for p, i in zip(cat.positions, cat.index):
        d = np.abs(ref_points - p).max(1)
        j = int(np.argmin(d))
        assert d[j] < 1e-8, (p, ref_points[j])
        assert ref_index[j] == i


# ---------------------------------------------------------------- catalogue


def test_himmelblau_all_stationary_points():
    loss = fo.landscapes.Himmelblau()
    cat = fo.catalogue(loss, fo.Grid(loss.domain, shape=(14, 14)))
    ref, idx = newton_reference(himmelblau_derivatives, loss.domain)
    assert cat.counts() == {"minimum": 4, "saddle": 4, "higher": 1}
    assert list(np.bincount(idx)) == [4, 4, 1]  # the reference agrees on the counts
    matches(cat, ref, idx)
    # REFERENCE.md section 5 (6 digits) and the landscape's own minima (refined)
    mins = cat.minima
    assert len(mins) == 4 and np.all(mins.losses < 1e-20)
    for m in loss.minima:
        assert np.abs(mins.positions - m).max(1).min() < 1e-8
    assert np.abs(mins.positions - [3.584428, -1.848127]).max(1).min() < 1e-6
    assert np.all(np.diff(cat.losses) >= 0)  # ordered by loss
    assert np.all(cat.eigenvalues[cat.kind == "minimum"] > 0)
    assert np.all((cat.eigenvalues[cat.kind == "saddle"] < 0).sum(1) == 1)
    assert not cat.degenerate.any() and np.all(np.isnan(cat.volume))
    assert np.all(cat.gradient < 1e-10)
    assert cat.kind[-1] == "higher" and cat.index[-1] == 2  # the maximum, highest loss


def test_six_hump_camel_all_stationary_points():
    loss = fo.landscapes.SixHumpCamel()
    cat = fo.catalogue(loss, fo.Grid(loss.domain, shape=(24, 24)))
    ref, idx = newton_reference(camel_derivatives, loss.domain)
    assert list(np.bincount(idx)) == [6, 7, 2]
    assert cat.counts() == {"minimum": 6, "saddle": 7, "higher": 2}
    matches(cat, ref, idx)
    assert np.isclose(cat.losses[0], -1.031628, atol=1e-6)
    for m in loss.minima:
        assert np.abs(cat.minima.positions - m).max(1).min() < 1e-8


def test_bfgs_then_newton_finds_minima():
    loss = fo.landscapes.Himmelblau()
    cat = fo.catalogue(loss, fo.Grid(loss.domain, shape=(6, 6)), method="bfgs")
    assert cat.counts()["minimum"] == 4
    for m in loss.minima:
        assert np.abs(cat.minima.positions - m).max(1).min() < 1e-8


def test_volumes_from_a_map_are_its_fractions():
    loss = fo.landscapes.Himmelblau()
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(),
                     fo.Grid(loss.domain, shape=(16, 16)), t1=10.0, dt0=1e-2)
    frac = fo.fractions(bmap)["fraction"]
    cat = fo.catalogue(loss, bmap)
    assert len(cat) == bmap.sizes["attractor"] == 4
    assert cat.counts()["minimum"] == 4
    for a in range(4):
        x = bmap["attractor_x"].values[a]
        e = int(np.argmin(np.abs(cat.positions - x).max(1)))
        assert np.abs(cat.positions[e] - x).max() < 1e-4
        assert cat.volume[e] == float(frac.sel(outcome=a))
    assert np.isclose(cat.volume.sum(), float(frac.sel(outcome=[0, 1, 2, 3]).sum()))
    # bad input: a map without attractors
    with pytest.raises(ValueError, match=r"catalogue\(source=map\).*no attractors"):
        fo.catalogue(loss, bmap.isel(attractor=[]))


def test_random_restarts_and_table():
    loss = fo.landscapes.Himmelblau()
    cat = fo.catalogue(loss, 60, key=jax.random.key(1))
    assert cat.counts() == {"minimum": 4, "saddle": 4, "higher": 1}
    text = repr(cat)
    assert "4 minima" in text and "saddle" in text
    df = cat.to_dataframe()
    assert list(df["kind"]) == list(cat.kind) and df.shape == (9, 9)
    sub = cat.minima
    assert len(sub) == 4 and set(sub.kind) == {"minimum"} and len(cat.saddles) == 4


class Quartic(eqx.Module):
    """sum c[i, j] x^i y^j (i, j <= 4): one compiled loss for every test polynomial."""

    c: jax.Array

    def __call__(self, p):
        mono = lambda t: jnp.stack([jnp.ones_like(t), t, t * t, t * t * t, t * t * t * t])
        return jnp.sum(self.c * mono(p[0])[:, None] * mono(p[1])[None])


def quartic(**terms):
    c = np.zeros((5, 5))
    for name, v in terms.items():  # "x4y0" -> c[4, 0]
        c[int(name[1]), int(name[3])] = v
    return Quartic(jnp.asarray(c))


POLYS = {  # name: (loss, kind, index, degenerate)
    "x^2 + y^2": (quartic(x2y0=1, x0y2=1), "minimum", 0, False),
    "x^4 + y^2": (quartic(x4y0=1, x0y2=1), "minimum", 0, True),
    "x^4 + y^4": (quartic(x4y0=1, x0y4=1), "minimum", 0, True),
    "x^3 + y^2": (quartic(x3y0=1, x0y2=1), "saddle", 1, True),
    "x^4 - y^2": (quartic(x4y0=1, x0y2=-1), "saddle", 1, True),
    "-x^4 - y^4": (quartic(x4y0=-1, x0y4=-1), "higher", 2, True),
}


@pytest.mark.parametrize("name", list(POLYS))
def test_degenerate_points(name):
    loss, kind, index, degenerate = POLYS[name]
    cat = fo.catalogue(loss, fo.Grid(np.array([(-1.0, 1.0), (-0.8, 0.8)]), shape=(5, 5)))
    assert len(cat) == 1
    assert np.abs(cat.positions[0]).max() < 1e-3
    assert cat.kind[0] == kind and cat.index[0] == index
    assert bool(cat.degenerate[0]) == degenerate


def test_monkey_saddle_and_ring():
    monkey = quartic(x3y0=1, x1y2=-3)  # x^3 - 3 x y^2: all Hessian eigenvalues 0
    cat = fo.catalogue(monkey, fo.Grid(np.array([(-1.0, 1.0), (-0.8, 0.8)]), shape=(5, 5)))
    assert len(cat) == 1 and cat.kind[0] != "minimum" and cat.index[0] >= 1
    assert cat.degenerate[0]
    ring = quartic(x4y0=1, x0y4=1, x2y2=2, x2y0=-2, x0y2=-2, x0y0=1)  # (x^2 + y^2 - 1)^2
    cat = fo.catalogue(ring, fo.Grid(np.array([(-1.5, 1.5), (-1.3, 1.3)]), shape=(5, 5)))
    assert cat.counts() == {"minimum": 1, "saddle": 0, "higher": 1}  # the ring, the top
    m = cat.minima
    assert m.degenerate[0] and np.isclose(np.linalg.norm(m.positions[0]), 1.0, atol=1e-8)
    assert m.spread[0] > 1.9 and m.members[0] > 1  # one entry for the whole ring
    assert np.allclose(cat.positions[cat.kind == "higher"], 0.0, atol=1e-10)


@pytest.mark.parametrize("d", [12, pytest.param(136, marks=pytest.mark.slow)])
def test_high_dimension_separable_wells(d):
    """f = sum (x_i^2 - 1)^2 + 0.3 x_i in d = 12 and 136 (the seed 001 network's size).
    Each coordinate is a 1-D double well whose roots NumPy finds; a start near a sign
    pattern ends at the product point, and a start with one coordinate at the 1-D
    maximum at an index-1 saddle."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, 0.3]).real)  # f' = 4x^3 - 4x + 0.3
    lo, top, hi = roots
    loss = lambda x: jnp.sum((x**2 - 1.0) ** 2 + 0.3 * x)
    rng = np.random.default_rng(0)
    signs = rng.integers(0, 2, size=(3, d)).astype(bool)
    want = np.where(signs, hi, lo)
    want = np.concatenate([want, want[:1]])
    want[3, 7] = top
    starts = want + 0.02 * rng.normal(size=want.shape)
    cat = fo.catalogue(loss, starts)
    assert cat.counts() == {"minimum": 3, "saddle": 1, "higher": 0}
    for p in want:
        assert np.abs(cat.positions - p).max(1).min() < 1e-10
    saddle = cat.saddles
    assert np.isclose(saddle.eigenvalues[0, 0], 12 * top**2 - 4, rtol=1e-8)


def test_bad_input_named():
    loss = fo.landscapes.Himmelblau()
    with pytest.raises(ValueError, match=r"catalogue\(source=array of shape \(5, 3\)\).*\(n, 2\)"):
        fo.catalogue(loss, np.zeros((5, 3)))
    a = jnp.eye(2)
    with pytest.raises(ValueError, match=r"catalogue\(source=.*dimension 3"):
        fo.catalogue(lambda x: x @ a @ x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"catalogue\(source=.*finite"):
        fo.catalogue(loss, np.full((2, 2), np.nan))
    with pytest.raises(TypeError, match=r"catalogue\(loss="):
        fo.catalogue("himmelblau", np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"catalogue\(key=None\)"):
        fo.catalogue(loss, 10)
    with pytest.raises(ValueError, match=r"catalogue\(bounds=None\)"):
        fo.catalogue(lambda x: jnp.sum(x**2), 10, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"catalogue\(method='lbfgs'\)"):
        fo.catalogue(loss, np.zeros((2, 2)), method="lbfgs")
    with pytest.raises(TypeError, match=r"catalogue\(source=None\)"):
        fo.catalogue(loss, None)
    family = lambda c: (lambda x: x[0] ** 4 - x[0] ** 2 + c * x[0])
    with pytest.raises(ValueError, match=r"track_minima\(values=.*non-empty"):
        fo.track_minima(family, [], np.zeros((3, 1)))
    with pytest.raises(TypeError, match=r"track_minima\(family="):
        fo.track_minima(3.0, [0.0, 1.0], np.zeros((3, 1)))
    with pytest.raises(TypeError, match=r"track_minima\(family=.*not a loss"):
        fo.track_minima(lambda c: c, [0.0, 1.0], np.zeros((3, 1)))


# ---------------------------------------------------------------- minima under a parameter

FOLD = 4 / (3 * np.sqrt(6))  # x^4 - x^2 + c x loses a minimum at |c| = 4 / (3 sqrt 6)


def tilted(c):
    return lambda x: x[0] ** 4 - x[0] ** 2 + c * x[0]


@pytest.fixture(scope="module")
def tracked():
    starts = np.linspace(-1.5, 1.5, 7)[:, None]
    up = fo.track_minima(tilted, np.linspace(-1.0, 1.0, 81), starts, name="c")
    down = fo.track_minima(tilted, np.linspace(1.0, -1.0, 81), starts, name="c")
    return up, down


def test_fold_of_the_tilted_double_well(tracked):
    up, down = tracked
    assert len(up) == 2 and len(down) == 2
    counts = up.counts()
    assert counts.max() == 2 and counts.min() == 1
    both = np.abs(up.values) < FOLD
    assert np.all(counts[both] == 2) and np.all(counts[~both] == 1)
    # increasing c: the right minimum (x > 0) disappears, the left one appears
    right = int(np.nanargmax(np.nanmean(up.positions[..., 0], 1)))
    left = 1 - right
    assert up.last[right] < FOLD < up.disappeared[right]
    assert np.isclose(up.disappeared[right] - up.last[right], 0.025)
    assert up.absent_before[left] < -FOLD < up.appeared[left]
    assert np.isnan(up.disappeared[left]) and np.isnan(up.absent_before[right])
    # decreasing c: the left minimum disappears at c = -FOLD
    left_d = int(np.nanargmin(np.nanmean(down.positions[..., 0], 1)))
    assert down.disappeared[left_d] < -FOLD < down.last[left_d]
    # positions against NumPy's roots of 4x^3 - 2x + c; NaN where the minimum is gone
    for j, c in enumerate(up.values):
        r = np.roots([4.0, 0.0, -2.0, c])
        r = np.sort(r[np.abs(r.imag) < 1e-9].real)
        mins = r[12 * r**2 - 2 > 0]
        got = np.sort(up.positions[up.present[:, j], j, 0])
        assert np.allclose(got, mins, atol=1e-10)
    assert np.all(np.isnan(up.losses[right][up.values > FOLD]))


def test_minima_against_figure(tracked, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ax = fo.plot.minima_against(tracked[0])
    assert len([ln for ln in ax.get_lines() if ln.get_label().startswith("minimum")]) == 2
    out = tmp_path / "minima_against.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 10_000
    with pytest.raises(TypeError, match=r"plot.minima_against\(result="):
        fo.plot.minima_against(np.zeros(3))
