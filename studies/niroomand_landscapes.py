"""Loss landscapes of Gaussian-process regression on Schwefel samples (Niroomand, seed 003).

Paper: M. Niroomand, "Some applications of energy landscapes in machine learning" (a talk,
seed 003): Fig. 2 (disconnectivity graphs of the GP negative log marginal likelihood at
nu = 2.1 -> 2.0 and 3.5 -> 3.4: "the disappearance of minima ... corresponds to a reduction
in the number of leaf nodes"), Fig. 3 (loss and test MSE of every minimum against nu, 3-D
Schwefel data), Fig. 4 ("landscape ensembles": an ensemble of the distinct minima improves on
the single best minimum), and the Schwefel function itself.

What it reproduces:

* GP landscapes: at each nu, the catalogue of minima (and saddles) of the NLML over the
  log-hyperparameters, minima followed across nu (``track_gp``: a ``fo.TrackedMinima``);
  the number of minima per nu and where minima appear or disappear; the leaf counts (number
  of minima) at nu = 2.1, 2.0, 3.5, 3.4 (Fig. 2); loss and test MSE per tracked minimum
  against nu (Fig. 3, ``fo.plot.minima_against``); the ensemble of the distinct minima
  (mean of their posterior means, equal weights) against the minimum of lowest NLML (test
  MSE, per nu; Fig. 4's "percentage improvement");
* basin-volume fractions of the GP minima on a 2-D plane of hyperparameters (log
  lengthscale x log noise variance, through the best admissible minimum at nu = 2.5): the
  share of plane starts whose descent ends at each minimum;
* Schwefel in 2-D and 3-D: the catalogue of stationary points inside [-500, 500]^d
  (``fo.catalogue``, Newton from a product grid of starts), basin-volume fractions of its
  minima (``fo.basins`` gradient-flow map with the catalogued minima as attractors: a grid
  in 2-D, uniform random starts in 3-D; ``fo.fractions``), and the disconnectivity graph
  (``fo.Disconnectivity.from_edges``) with every non-degenerate index-1 saddle of the
  catalogue as an edge between the two minima that the gradient-flow map of the saddle
  displaced by +-1 along its unstable eigenvector reaches.

What it does not do (and why): the library's vmapped searches (``fo.track_minima``'s and
``fo.catalogue``'s Newton, ``fo.basins`` with a PID controller) over GP losses wedged XLA:CPU
on the shared 2-core machine (every thread idle in BlockUntilReady; 7 times, at 16 to 64
lanes, also with --xla_cpu_multi_thread_eigen=false), so the GP searches here run one start
at a time with scipy (L-BFGS-B for minima, the hybrid root finder on the gradient with the
exact Hessian for minima and saddles), merged within 1.2e-4 and classified by the index of
their Hessian (one point at a time: even ``fo.catalogue(method="none")``'s vmapped Hessians
wedged) into a ``fo.Catalogue`` per nu. For the same reason the GP disconnectivity graphs (NEB) are not drawn:
Fig. 2 is reproduced as leaf counts only. The XLA flags set at the top of this file (one
intra-op thread) let one hanging case finish but act only in a script run.

Protocol choices the talk leaves open (ours):

* data: 3-D Schwefel f(x) sampled uniformly on [-500, 500]^3 (numpy seed 3); Gaussian noise
  of std 0.1 (standardized units) added to the training targets; ``--train`` samples to
  fit (full 40, quick 20) and ``--test`` noise-free held-out samples (full 200, quick 40);
  inputs divided by 100, targets standardized with the training mean and standard
  deviation (scikit-learn's normalize_y); MSEs in standardized units (x std^2 for f's).
* kernel: sigma^2 Matern_nu(r / l) + sigma_n^2 delta (isotropic: one lengthscale, 3
  hyperparameters theta = (log sigma^2, log l, log sigma_n^2), ``fo.landscapes.
  GaussianProcessNLML``); jitter 1e-10; closed forms at nu = 0.5, 1.5, 2.5.
* nu: full 0.5, 1.5, 2.0, 2.1, 2.5, 3.0, 3.4, 3.5, 4.0 (the paper's pairs and a few more;
  closed forms at 0.5, 1.5, 2.5, tfp's K_nu elsewhere), quick 2.5. L-BFGS-B: <= 500
  iterations.
* starts: ``--starts`` (full 8, quick 4) uniform in log sigma^2 in [-3, 3], log l in
  [log 0.05, log 20] (0.05 to 20 in units of 100), log sigma_n^2 in [-12, 0], the same at
  every nu, plus the previous nu's minima; stationary if max|grad| <= 1e-5; merged within
  1e-5 x 12; minima matched across nu within 0.6 (5% of 12, nearest first).
* admissible minima: inside the start box widened by 3 per coordinate, non-degenerate
  (smallest Hessian eigenvalue > 1e-6 x the largest); searches also stop on asymptotic
  plateaus (signal variance -> 0, every hyperparameter -> -inf: gradient ~ 0 with no
  minimum), counted separately (``catalogue_minima_per_nu_incl_plateaus``). Exception:
  the sigma_n^2 -> 0 valley (log sigma_n^2 < -20, below the jitter) where the loss is flat
  along the noise axis; its points count as one (degenerate) minimum when catalogued.
* GP basin map: nu = 2.5 (closed form), 20 x 20 (quick 4 x 4) starts on +-3 around the
  best admissible minimum in (log l, log sigma_n^2); scipy L-BFGS-B from each start (in all
  3 hyperparameters); an end within 0.1 of a catalogued minimum belongs to it, an end with
  log sigma_n^2 < -20 to the valley (-3), else "elsewhere" (-2).
* ensemble: equal-weight mean of the posterior means of all admissible minima at that nu;
  a nu with one minimum has no ensemble (improvement 0).
* Schwefel maps: gradient flow, explicit Euler dt = 0.5, t1 = 2000; 2-D: 128 x 128 grid
  (quick 24 x 24); 3-D: 16384 random starts (quick: no 3-D part). Catalogue starts: a
  product grid of 64 points per axis in 2-D (quick 40), 40 per axis in 3-D.

Independent facts in ``check``: the 1-D Schwefel term's minima by scipy (brentq on the sign
changes of its derivative): the d-D minima inside the box are their Cartesian products
(m1^d), the global minimum x_i = 420.9687 with f = 418.9829 d - d * 418.98288...;
every catalogued minimum has a positive definite finite-difference Hessian (numpy); the best
minimum's NLML is the lowest; fractions sum to 1; the ensemble MSE recomputed from the
recorded predictions.
"""

import argparse
import dataclasses
import json
import os
import time

# Vmapped while loops over GP losses (catalogue Newton, a controlled basin map) wedged
# XLA:CPU on this machine (every thread idle in BlockUntilReady; 6 of 7 tries, also with
# --xla_cpu_multi_thread_eigen=false alone); with one intra-op thread they ran (the flags
# act only if set before JAX's CPU backend starts: a script run, not inside pytest).
_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if "intra_op_parallelism_threads" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAGS).strip()

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot  # noqa: E402,F401
import schemes  # noqa: E402

SEED = 3
PAPER_PAIRS = ((2.1, 2.0), (3.5, 3.4))
BOX = np.array([[-3.0, 3.0], [np.log(0.05), np.log(20.0)], [-12.0, 0.0]])
X_SCALE = 100.0
NOISE = 0.1  # std of Gaussian noise added to the standardized training targets
ADMISSIBLE = BOX + np.array([-3.0, 3.0])  # minima outside: asymptotic plateaus
ADMISSIBLE[2, 0] = -40.0  # ... except the noise axis: the sigma_n^2 -> 0 valley
FLOOR = -20.0  # log sigma_n^2 below this: the jitter (1e-10) floor, a flat valley


def _clip(th):
    """Positions compared with the noise coordinate clipped at FLOOR (points of the flat
    sigma_n^2 -> 0 valley are one minimum)."""
    th = np.array(th, float)
    th[..., 2] = np.maximum(th[..., 2], FLOOR)
    return th


# ----------------------------------------------------------------------------- Schwefel

def schwefel_1d_critical():
    """Critical points of g(t) = -t sin sqrt|t| on [-500, 500] (the 1-D term of Schwefel's
    function), by scipy brentq on the sign changes of g' on a fine grid: (minima, maxima).
    t = 0 (a degenerate inflection, g ~ -t |t|^0.5) is left out."""
    t = np.linspace(-500, 500, 200_001)
    t = t[t != 0]
    v = _dg(t)
    roots = [scipy.optimize.brentq(_dg, a, b, xtol=1e-13)
             for a, b, fa, fb in zip(t[:-1], t[1:], v[:-1], v[1:])
             if fa * fb < 0 and not (a < 0 < b)]
    roots = np.array(roots)
    g2 = (_dg(roots + 1e-4) - _dg(roots - 1e-4)) / 2e-4
    return roots[g2 > 0], roots[g2 < 0]


def _dg(t):
    """d/dt of -t sin sqrt|t|: -(sin s + (s/2) cos s), s = sqrt|t|, on both sides of 0."""
    s = np.sqrt(np.abs(t))
    return -(np.sin(s) + 0.5 * s * np.cos(s))


def _grid_starts(domain, n):
    axes = [np.linspace(lo, hi, n) for lo, hi in domain]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(domain))


def _inside(points, domain):
    return np.all((points >= domain[:, 0] - 1e-9) & (points <= domain[:, 1] + 1e-9), 1)


def saddle_edges(loss, cat, minima, flow_kw, step):
    """Edges (i, j, saddle loss) of the disconnectivity graph: each non-degenerate index-1
    saddle of ``cat``, displaced by +-``step`` along its unstable Hessian eigenvector, and
    the gradient-flow basin map of the two points (attractors = ``minima``) names the
    minima it joins. Returns (edges, number of saddles used, how many joined two distinct
    catalogued minima)."""
    sad = cat[(cat.kind == "saddle") & ~cat.degenerate]
    if not len(sad):
        return [], 0, 0
    hess = np.asarray(jax.vmap(jax.hessian(loss))(jnp.asarray(sad.positions)))
    _, vecs = np.linalg.eigh(hess)
    down = vecs[:, :, 0]
    pts = np.concatenate([sad.positions + step * down, sad.positions - step * down])
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), pts,
                     attractors=minima, **flow_kw)
    lab = bmap["label"].values
    a, b = lab[:len(sad)], lab[len(sad):]
    k = len(minima)
    edges = [(int(i), int(j), float(e)) for i, j, e in zip(a, b, sad.losses)
             if 0 <= i < k and 0 <= j < k and i != j]
    return edges, len(sad), len(edges)


def schwefel_part(d, quick, out, res):
    loss = fo.landscapes.Schwefel(d=d)
    dom = np.asarray(loss.domain)
    n_cat = {2: 40 if quick else 64, 3: 40}[d]
    t = time.perf_counter()
    cat = fo.catalogue(loss, _grid_starts(dom, n_cat), method="newton")
    inside = _inside(cat.positions, dom)
    cat_in = cat[inside]
    mins = cat_in.minima
    counts = cat_in.counts()
    flow_kw = dict(t1=2000.0, dt0=0.5)
    # basin-volume fractions from a gradient-flow map with the catalogued minima
    if d == 2:
        grid = fo.Grid(dom, (24, 24) if quick else (128, 128))
    else:
        grid = fo.sample_uniform(dom, 16384, jax.random.key(SEED))
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), grid,
                     attractors=mins.positions, **flow_kw)
    frac = fo.fractions(bmap)
    outc = np.asarray(frac["outcome"].values)
    fr = np.asarray(frac["fraction"].values)
    k = len(mins)
    vol = np.array([fr[outc == i][0] if np.any(outc == i) else 0.0 for i in range(k)])
    other = {str(int(o)): float(f) for o, f in zip(outc, fr) if not 0 <= o < k and f > 0}
    edges, n_sad, n_edges = saddle_edges(loss, cat_in, mins.positions, flow_kw, 1.0)
    tree = fo.Disconnectivity.from_edges(mins.losses, edges, positions=mins.positions)
    gmin = np.full(d, 420.9687)
    ig = int(np.argmin(np.linalg.norm(mins.positions - gmin, axis=1)))
    entry = {
        "dimension": d, "catalogue_starts": int(n_cat ** d),
        "counts_inside_box": counts,
        "stationary_points_outside_box": int((~inside).sum()),
        "minima_positions": mins.positions.tolist(), "minima_losses": mins.losses.tolist(),
        "global_minimum": {"position": mins.positions[0].tolist(),
                           "loss": float(mins.losses[0]),
                           "nearest_to_420.9687": mins.positions[ig].tolist(),
                           "known": gmin.tolist()},
        "basin_map": {"starts": int(len(grid)), "fractions_of_minima": vol.tolist(),
                      "other_outcomes": other,
                      "largest": {"minimum": int(np.argmax(vol)), "fraction": float(vol.max())},
                      "global_minimum_fraction": float(vol[0])},
        "disconnectivity": {"saddles_used": n_sad, "edges": n_edges,
                            "trees": len(tree.roots), "leaves": int(k),
                            "top_join": float(max(tree.graph.nodes[r]["energy"]
                                                  for r in tree.roots))},
        "runtime_s": round(time.perf_counter() - t, 1),
    }
    res["schwefel"][f"{d}d"] = entry
    # figures: the map and the graph
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), layout="constrained")
    if d == 2:
        fo.plot.basins(bmap, ax=axes[0], loss=loss, legend=False,
                       title=f"Schwefel 2-D: gradient-flow basins of its {k} minima")
    else:
        order = np.argsort(mins.losses)
        axes[0].scatter(mins.losses[order], vol[order], s=8)
        axes[0].set_xlabel("loss at the minimum")
        axes[0].set_ylabel("basin-volume fraction")
        axes[0].set_title(f"Schwefel 3-D: basin volumes of {k} minima ({len(grid)} random starts)")
    fo.plot.disconnectivity(tree, ax=axes[1], labels=(k <= 70))
    axes[1].set_title(f"Schwefel {d}-D disconnectivity graph: {k} minima, {n_edges} saddles")
    fig.savefig(os.path.join(out, f"schwefel_{d}d.png"), dpi=110)
    plt.close(fig)
    print(f"Schwefel {d}-D: {counts}, {int((~inside).sum())} outside; global min "
          f"{mins.positions[0].round(4)} f={mins.losses[0]:.3g}; {n_edges} edges, "
          f"{len(tree.roots)} trees; {entry['runtime_s']} s", flush=True)


# ------------------------------------------------------------------------------ GP part

def gp_data(n_train, n_test):
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-500, 500, (n_train + n_test, 3))
    f = np.asarray(jax.vmap(fo.landscapes.Schwefel(d=3))(jnp.asarray(x)))
    eps = rng.normal(0.0, NOISE, n_train)
    mu, sd = f[:n_train].mean(), f[:n_train].std()
    y = (f - mu) / sd
    xs = x / X_SCALE
    return xs[:n_train], y[:n_train] + eps, xs[n_train:], y[n_train:], float(mu), float(sd)


@eqx.filter_jit
def _vg(loss, th):
    return jax.value_and_grad(loss)(th)


@eqx.filter_jit
def _hess(loss, th):
    return jax.hessian(loss)(th)


def _descend(loss, p0):
    """L-BFGS-B (scipy) from ``p0`` on the loss, one start at a time (single-lane JAX
    programs: no vmapped while loop)."""
    fun = lambda th: tuple(np.asarray(a, float) for a in _vg(loss, jnp.asarray(th)))  # noqa
    with np.errstate(all="ignore"):
        r = scipy.optimize.minimize(fun, p0, jac=True, method="L-BFGS-B",
                                    options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-16})
    return r.x, float(r.fun)


def _root(loss, p0):
    """A stationary point (minimum or saddle) near ``p0``: scipy's hybrid root finder on the
    gradient with the exact Hessian as its Jacobian."""
    g = lambda th: np.asarray(_vg(loss, jnp.asarray(th))[1], float)  # noqa: E731
    h = lambda th: np.asarray(_hess(loss, jnp.asarray(th)), float)  # noqa: E731
    with np.errstate(all="ignore"):
        r = scipy.optimize.root(g, p0, jac=h, method="hybr", options={"xtol": 1e-12})
    return r.x


def _classify(loss, cand, radius=1.2e-4):
    """A ``fo.Catalogue`` of the stationary points ``cand`` (merged within ``radius``,
    ordered by loss), Hessians one point at a time and eigenvalues by numpy (fo.catalogue's
    vmapped Hessians of GP losses wedged XLA:CPU here)."""
    reps = []
    for c in cand:
        if all(np.linalg.norm(_clip(c) - _clip(r)) > radius for r in reps):
            reps.append(c)
    reps = np.array(reps).reshape(-1, 3)
    f = np.array([float(_vg(loss, jnp.asarray(r))[0]) for r in reps])
    g = np.array([np.abs(np.asarray(_vg(loss, jnp.asarray(r))[1])).max() for r in reps])
    w = np.array([np.linalg.eigvalsh(np.asarray(_hess(loss, jnp.asarray(r)), float))
                  for r in reps]).reshape(-1, 3)
    o = np.argsort(f)
    reps, f, g, w = reps[o], f[o], g[o], w[o]
    flat = 1e-6 * np.abs(w).max(1, initial=0.0)
    index = np.sum(w < -flat[:, None], 1)
    kind = np.array(["minimum", "saddle", "higher"])[np.minimum(index, 2)]
    k = len(f)
    return fo.Catalogue(positions=reps, losses=f, index=index, eigenvalues=w, kind=kind,
                        degenerate=np.any(np.abs(w) <= flat[:, None], 1),
                        volume=np.full(k, np.nan), gradient=g, members=np.ones(k, int),
                        spread=np.zeros(k), source="scipy searches, one start at a time")


def track_gp(family, nus, starts, reach=0.6):
    """fo.TrackedMinima of the GP NLML over nu, built from one-start-at-a-time scipy
    searches: at each nu, L-BFGS-B (minima) and a root finder on the gradient (minima and
    saddles) from the fixed starts and the previous nu's minima; the candidates are merged
    and classified by their Hessian index (``_classify``), and minima are matched to the
    previous nu's within ``reach`` (nearest first)."""
    d = starts.shape[1]
    m = len(nus)
    pos, los, eig, cats = [], [], [], []
    alive = []
    for j, nu in enumerate(nus):
        loss = family(nu)
        warm = [pos[t][j - 1] for t in alive]
        cand = []
        for p0 in list(warm) + list(starts):
            x, f = _descend(loss, p0)
            if np.isfinite(f):
                cand.append(x)
            x = _root(loss, p0)
            if np.all(np.isfinite(x)) and np.all(np.abs(x) < 1e3):
                cand.append(x)
        cand = np.array(cand)
        gn = np.array([np.abs(np.asarray(_vg(loss, jnp.asarray(c))[1])).max() for c in cand])
        cand = cand[np.isfinite(gn) & (gn < 1e-5)]
        cat = _classify(loss, cand)
        cats.append(cat)
        mins = cat.minima
        prev = _clip(np.array(warm).reshape(-1, d))
        used, now = set(), []
        order = []
        for r in range(len(mins)):
            dist = np.linalg.norm(prev - _clip(mins.positions[r]), axis=1) if len(prev) \
                else np.array([])
            for k in np.argsort(dist):
                order.append((dist[k], r, k))
        taken_r = {}
        for dd, r, k in sorted(order):
            if dd <= reach and r not in taken_r and k not in used:
                taken_r[r] = alive[k]
                used.add(k)
        for r in range(len(mins)):
            if r in taken_r:
                t = taken_r[r]
            else:
                t = len(pos)
                pos.append(np.full((m, d), np.nan))
                los.append(np.full(m, np.nan))
                eig.append(np.full((m, d), np.nan))
            pos[t][j], los[t][j], eig[t][j] = mins.positions[r], mins.losses[r], \
                mins.eigenvalues[r]
            now.append(t)
        alive = now
        print(f"  nu = {nu:g}: {len(cat.minima)} minima, {cat.counts()['saddle']} saddles",
              flush=True)
    present = np.isfinite(np.array(los))
    vals = np.asarray(nus, float)
    first = np.array([np.nonzero(p)[0].min() for p in present], int)
    last = np.array([np.nonzero(p)[0].max() for p in present], int)
    return fo.TrackedMinima(
        values=vals, positions=np.array(pos), losses=np.array(los), eigenvalues=np.array(eig),
        appeared=vals[first], absent_before=np.array([vals[i - 1] if i else np.nan
                                                      for i in first]),
        last=vals[last], disappeared=np.array([vals[i + 1] if i + 1 < m else np.nan
                                               for i in last]),
        catalogues=tuple(cats), name="nu")


def gp_part(quick, n_train, n_test, n_starts, nus, out, res):
    xtr, ytr, xte, yte, mu, sd = gp_data(n_train, n_test)
    closed = True  # closed forms at 0.5, 1.5, 2.5; the Bessel path elsewhere
    family = lambda nu: fo.landscapes.GaussianProcessNLML(xtr, ytr, nu=float(nu),  # noqa: E731
                                                          closed_form=closed)
    starts = np.asarray(fo.sample_uniform(BOX, n_starts, jax.random.key(SEED)))
    t = time.perf_counter()
    tr = track_gp(family, nus, starts)
    t_track = time.perf_counter() - t
    print(f"minima over {len(nus)} nu: {t_track:.1f} s; counts {tr.counts().tolist()}",
          flush=True)
    n_all = tr.counts().tolist()
    tr = _admissible(tr)
    n_t, m = tr.losses.shape
    mse = np.full((n_t, m), np.nan)
    preds = {}
    per_nu = []
    for j, nu in enumerate(nus):
        loss = family(nu)
        alive = np.nonzero(tr.present[:, j])[0]
        if not len(alive):
            per_nu.append({"nu": float(nu), "minima": 0})
            continue
        p = []
        for i in alive:
            mean, _ = loss.predict(jnp.asarray(tr.positions[i, j]), xte)
            mean = np.asarray(mean)
            mse[i, j] = float(np.mean((mean - yte) ** 2))
            p.append(mean)
        p = np.array(p)
        best = alive[int(np.argmin(tr.losses[alive, j]))]
        ens = p.mean(0)
        ens_mse = float(np.mean((ens - yte) ** 2))
        cat = tr.catalogues[j]
        row = {"nu": float(nu), "minima": int(len(alive)),
               "saddles": int(cat.counts()["saddle"]),
               "tracks": alive.tolist(),
               "nlml": tr.losses[alive, j].tolist(),
               "theta": tr.positions[alive, j].tolist(),
               "test_mse": mse[alive, j].tolist(),
               "best_track": int(best), "best_mse": float(mse[best, j]),
               "ensemble_mse": ens_mse,
               "ensemble_improvement_percent": 100.0 * (mse[best, j] - ens_mse) / mse[best, j]}
        per_nu.append(row)
        if quick or any(np.isclose(nu, q) for pair in PAPER_PAIRS for q in pair):
            preds[f"{nu:g}"] = {"tracks": alive.tolist(), "means": p.tolist()}
    res["gp"] = {
        "data": {"train": n_train, "test": n_test, "seed": SEED, "target_mean": mu,
                 "target_std": sd, "x_scale": X_SCALE, "noise_std": NOISE,
                 "noise": "N(0, noise_std^2) added to the standardized training targets; "
                          "test targets noise-free"},
        "parametrization": "theta = (log signal variance, log lengthscale [x/100 units], "
                           "log noise variance), isotropic Matern",
        "start_box": BOX.tolist(), "starts": n_starts, "closed_form": closed,
        "nu": [float(v) for v in nus], "minima_per_nu": tr.counts().tolist(),
        "admissible_box": ADMISSIBLE.tolist(),
        "catalogue_minima_per_nu_incl_plateaus": n_all,
        "per_nu": per_nu,
        "tracks": {"appeared": tr.appeared.tolist(), "absent_before": _nan(tr.absent_before),
                   "last": tr.last.tolist(), "disappeared": _nan(tr.disappeared)},
        "test_targets": yte.tolist(), "predictions": preds,
        "track_runtime_s": round(t_track, 1),
    }
    # Fig. 3: loss and test MSE of every tracked minimum against nu
    fig, axes = plt.subplots(2, 1, figsize=(8.5, 8), layout="constrained")
    fo.plot.minima_against(tr, ax=axes[0], saddles=True)
    axes[0].set_ylabel("NLML at the minimum")
    axes[0].set_title("GP on 3-D Schwefel samples: minima of the NLML against nu (Fig. 3a)")
    fo.plot.minima_against(tr, ax=axes[1], quantity=mse, ylabel="test MSE (standardized)")
    axes[1].set_title("test MSE of each minimum (Fig. 3b)")
    fig.savefig(os.path.join(out, "gp_minima_against_nu.png"), dpi=110)
    plt.close(fig)
    # ensemble vs best (Fig. 4)
    fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    per_nu_ok = [r for r in per_nu if r["minima"]]
    ax.bar([r["nu"] for r in per_nu_ok], [r["ensemble_improvement_percent"] for r in per_nu_ok],
           width=0.07 if len(nus) > 2 else 0.3)
    for r in per_nu_ok:
        ax.annotate(str(r["minima"]), (r["nu"], 0), xytext=(0, -10), textcoords="offset points",
                    ha="center", fontsize=7)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("nu (numbers: minima in the ensemble)")
    ax.set_ylabel("test-MSE improvement over the best minimum (%)")
    ax.set_title("landscape ensemble of all minima vs the lowest-NLML minimum (Fig. 4)")
    fig.savefig(os.path.join(out, "gp_ensemble.png"), dpi=110)
    plt.close(fig)
    return tr, family


def _admissible(tr):
    """The tracked minima with entries outside ADMISSIBLE removed (NaN): Newton also
    stops on the NLML's asymptotic plateaus (signal variance -> 0, every hyperparameter
    -> -inf), where the gradient vanishes without a minimum of finite hyperparameters.
    Tracks that are nowhere admissible are dropped; appeared/last/disappeared recomputed."""
    pos = tr.positions.copy()
    ok = tr.present & np.all((pos >= ADMISSIBLE[:, 0]) & (pos <= ADMISSIBLE[:, 1]), -1)
    # and non-degenerate: a flat direction (e.g. l -> 0, where only sigma^2 + sigma_n^2
    # matters) is a valley of stationary points, not an isolated minimum
    with np.errstate(invalid="ignore"):
        ok &= (tr.eigenvalues[..., 0] > 1e-6 * np.abs(tr.eigenvalues[..., -1])) | \
            (pos[..., 2] < FLOOR)
    keep = ok.any(1)
    ok = ok[keep]
    pos = np.where(ok[..., None], pos[keep], np.nan)
    los = np.where(ok, tr.losses[keep], np.nan)
    eig = np.where(ok[..., None], tr.eigenvalues[keep], np.nan)
    vals, m = tr.values, len(tr.values)
    first = np.array([np.nonzero(o)[0].min() for o in ok], int)
    last = np.array([np.nonzero(o)[0].max() for o in ok], int)
    return dataclasses.replace(
        tr, positions=pos, losses=los, eigenvalues=eig, appeared=vals[first],
        absent_before=np.array([vals[j - 1] if j > 0 else np.nan for j in first]),
        last=vals[last],
        disappeared=np.array([vals[j + 1] if j + 1 < m else np.nan for j in last]))


def _good_minima(cat):
    """The admissible, non-degenerate minima of a catalogue (as in :func:`_admissible`)."""
    m = cat.minima
    w = m.eigenvalues
    ok = np.all((m.positions >= ADMISSIBLE[:, 0]) & (m.positions <= ADMISSIBLE[:, 1]), 1)
    return m[ok & ((w[:, 0] > 1e-6 * np.abs(w[:, -1])) | (m.positions[:, 2] < FLOOR))]


def _nan(a):
    return [None if not np.isfinite(v) else float(v) for v in a]


def gp_leaves(tr, res):
    """Leaf counts (admissible minima) at the paper's nu pairs; no NEB graph (see the
    module docstring)."""
    pairs = {}
    for hi, lo in PAPER_PAIRS:
        if not all(np.any(np.isclose(tr.values, v)) for v in (hi, lo)):
            pairs[f"{hi:g}->{lo:g}"] = {"leaves": None, "paper": "fewer leaves at the lower "
                                        "nu", "not_run": "nu not in --nu (Bessel path)"}
            continue
        c = [int(tr.present[:, int(np.argmin(np.abs(tr.values - v)))].sum()) for v in (hi, lo)]
        pairs[f"{hi:g}->{lo:g}"] = {"leaves": c, "paper": "fewer leaves at the lower nu",
                                    "minima_disappear": c[1] < c[0]}
    res["gp"]["paper_pairs"] = pairs
    print("leaf counts:", pairs, flush=True)


def gp_basin_map(quick, out, res, n_train, tr):
    """Basin-volume fractions of the GP minima at nu = 2.5 over the (log l, log noise)
    plane through the best minimum (the minima of the tracked catalogue at nu = 2.5 are the
    map's known attractors)."""
    xtr, ytr, *_ = gp_data(n_train, 0)
    loss = fo.landscapes.GaussianProcessNLML(xtr, ytr, nu=2.5)
    j = int(np.argmin(np.abs(tr.values - 2.5)))
    cat = _good_minima(tr.catalogues[j])
    if not len(cat):
        res["gp"]["basin_map"] = {"nu": 2.5, "skipped": "no admissible minimum"}
        return
    best = cat.positions[0]
    n = 4 if quick else 20
    grid = fo.Grid.plane(best, [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], (-3.0, 3.0), (n, n))
    t = time.perf_counter()
    mins = cat.positions
    vg = jax.jit(jax.value_and_grad(loss))
    fun = lambda th: tuple(np.asarray(a, float) for a in vg(jnp.asarray(th)))  # noqa: E731
    pts = grid.points().reshape(-1, 3)
    label = np.full(len(pts), -2)
    ends = np.zeros_like(pts)
    for i, p0 in enumerate(pts):
        with np.errstate(all="ignore"):
            r = scipy.optimize.minimize(fun, p0, jac=True, method="L-BFGS-B",
                                        options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-15})
        ends[i] = r.x
        if not np.isfinite(r.fun):
            label[i] = -1
            continue
        dist = np.linalg.norm(_clip(mins) - _clip(r.x), axis=1)
        if dist.min() < 0.1:
            label[i] = int(np.argmin(dist))
        elif r.x[2] < FLOOR:
            label[i] = -3  # the sigma_n^2 -> 0 valley (interpolation), a flat minimum set
    outcomes, counts = np.unique(label, return_counts=True)
    frac = counts / len(pts)
    res["gp"]["basin_map"] = {
        "nu": 2.5, "plane": "theta_best + a e_(log l) + b e_(log noise), a, b in [-3, 3]",
        "grid": [n, n], "centre": best.tolist(), "minima": mins.tolist(),
        "minima_nlml": cat.losses.tolist(),
        "descent": "scipy L-BFGS-B (gtol 1e-9) from each start, end within 0.05 of a "
                   "catalogued minimum (within 0.1); -2: elsewhere, -1: non-finite",
        "outcomes": {str(int(o)): float(f) for o, f in zip(outcomes, frac)},
        "fraction_sum": float(frac.sum()),
        "runtime_s": round(time.perf_counter() - t, 1)}
    fig, ax = plt.subplots(figsize=(7, 5.5), layout="constrained")
    cmap = plt.get_cmap("tab10")
    img = np.zeros((n, n, 3))
    lab2 = label.reshape(n, n)
    for o in outcomes:
        img[lab2 == o] = (0.85, 0.85, 0.85) if o < 0 else cmap(int(o) % 10)[:3]
    ax.imshow(img, origin="lower", extent=(-3, 3, -3, 3), aspect="auto")
    for o, f in zip(outcomes, frac):
        name = f"minimum {o} (NLML {cat.losses[o]:.2f})" if o >= 0 else \
            {-2: "elsewhere", -1: "non-finite", -3: "sigma_n^2 -> 0 valley"}[int(o)]
        ax.plot([], [], "s", color=(0.85, 0.85, 0.85) if o < 0 else cmap(int(o) % 10),
                label=f"{name}: {100 * f:.1f}%")
    for o, m in enumerate(mins):
        rel = m - best
        if abs(rel[0]) < 1e-9 or True:
            ax.plot(rel[1], rel[2], "k*", ms=10)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.set_xlabel("log l - log l*  (l in units of 100)")
    ax.set_ylabel("log sigma_n^2 - log sigma_n^2*")
    ax.set_title("GP NLML, nu = 2.5: basins on the (log l, log noise) plane\nthrough the "
                 "best minimum (stars: minima projected)", fontsize=10)
    fig.savefig(os.path.join(out, "gp_basins.png"), dpi=110)
    plt.close(fig)
    print(f"GP basin map: {res['gp']['basin_map']['outcomes']} "
          f"({res['gp']['basin_map']['runtime_s']} s)", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (tests)")
    ap.add_argument("--out", default=os.path.join("studies", "results", "niroomand_landscapes"))
    ap.add_argument("--train", type=int, default=None)
    ap.add_argument("--test", type=int, default=None)
    ap.add_argument("--starts", type=int, default=None)
    ap.add_argument("--nu", type=float, nargs="+", default=None,
                    help="smoothness values (default 0.5 1.5 2.0 2.1 2.5 3.0 3.4 3.5 4.0)")
    args = ap.parse_args(argv)
    q = args.quick
    n_train = args.train or (20 if q else 40)
    n_test = args.test or (40 if q else 200)
    n_starts = args.starts or (4 if q else 8)
    nus = np.array(args.nu) if args.nu else (np.array([2.5]) if q else
                                               np.array([0.5, 1.5, 2.0, 2.1, 2.5, 3.0, 3.4, 3.5, 4.0]))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    res = {"study": "niroomand_landscapes", "quick": q,
           "paper": "Niroomand (seed 003, a talk): Figs. 2-4 and the Schwefel function; the "
                    "talk prints no numbers (claims in words)",
           "claims": {"fig2": "minima disappear from nu = 2.1 to 2.0 and from 3.5 to 3.4 "
                              "(fewer leaf nodes)",
                      "fig4": "GP ensembles of the distinct minima 'substantially improve "
                              "accuracy' over the single best minimum"},
           "schwefel": {}}
    schwefel_part(2, q, args.out, res)
    if not q:
        schwefel_part(3, q, args.out, res)
    tr, family = gp_part(q, n_train, n_test, n_starts, nus, args.out, res)
    gp_leaves(tr, res)
    gp_basin_map(q, args.out, res, n_train, tr)
    res["runtime_s"] = round(time.perf_counter() - t0, 1)
    with open(os.path.join(args.out, "result.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"total {res['runtime_s']} s", flush=True)
    return res


def _fd_hessian(f, x, h):
    d = len(x)
    hmat = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            ei, ej = np.eye(d)[i] * h, np.eye(d)[j] * h
            hmat[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) \
                / (4 * h * h)
    return 0.5 * (hmat + hmat.T)


def _np_nlml(x, y, nu, theta):
    """NLML by numpy/scipy (scipy.special.kv), independent of the library's JAX code."""
    import scipy.special
    e = np.exp(theta)
    r = np.sqrt(np.sum((x[:, None, :] - x[None, :, :]) ** 2, -1)) / e[1]
    z = np.sqrt(2 * nu) * r
    with np.errstate(invalid="ignore", divide="ignore"):
        k = 2 ** (1 - nu) / scipy.special.gamma(nu) * z ** nu * scipy.special.kv(nu, z)
    k = e[0] * np.where(z > 0, k, 1.0)
    chol = np.linalg.cholesky(k + (e[2] + 1e-10) * np.eye(len(y)))
    v = scipy.linalg.solve_triangular(chol, y, lower=True)
    return 0.5 * v @ v + np.sum(np.log(np.diag(chol))) + 0.5 * len(y) * np.log(2 * np.pi)


def check(result):
    """Independent facts: Schwefel's minima are the Cartesian products of the 1-D minima
    found by scipy (count m1^d, global minimum at 420.9687); finite-difference Hessians
    (numpy, scipy's K_nu) of the GP NLML are positive definite at every catalogued minimum
    and its gradient vanishes there; the best minimum's NLML is the lowest; fractions sum to
    1; the ensemble MSE equals the recomputation from the recorded predictions."""
    import scipy.linalg  # noqa: F401
    mins1, _ = schwefel_1d_critical()
    for key, s in result["schwefel"].items():
        d = s["dimension"]
        assert s["counts_inside_box"]["minimum"] == len(mins1) ** d, (key, len(mins1))
        pos = np.array(s["minima_positions"])
        # every catalogued minimum is a product of 1-D minima
        assert np.all(np.min(np.abs(pos[:, :, None] - mins1[None, None]), -1) < 1e-5)
        g = np.array(s["global_minimum"]["position"])
        assert np.allclose(g, 420.9687, atol=1e-3), g
        t_star = mins1[np.argmin(-mins1 * np.sin(np.sqrt(np.abs(mins1))))]
        assert abs(t_star - 420.9687) < 1e-3, t_star
        f_star = d * (418.9829 - t_star * np.sin(np.sqrt(t_star)))
        assert abs(s["global_minimum"]["loss"] - f_star) < 1e-8, (s["global_minimum"], f_star)
        fr = s["basin_map"]
        assert abs(sum(fr["fractions_of_minima"]) + sum(fr["other_outcomes"].values()) - 1) < 1e-9
        assert s["disconnectivity"]["trees"] == 1
    gp = result["gp"]
    n_train, d = gp["data"]["train"], 3
    rng = np.random.default_rng(gp["data"]["seed"])
    x = rng.uniform(-500, 500, (n_train + gp["data"]["test"], 3))
    eps = rng.normal(0.0, gp["data"]["noise_std"], n_train)
    s = np.sqrt(np.abs(x))
    f = 418.9829 * d - np.sum(x * np.sin(s), 1)
    y = (f[:n_train] - gp["data"]["target_mean"]) / gp["data"]["target_std"] + eps
    xs = x[:n_train] / gp["data"]["x_scale"]
    yte = (f[n_train:] - gp["data"]["target_mean"]) / gp["data"]["target_std"]
    assert np.allclose(yte, gp["test_targets"], atol=1e-9)
    assert max(r["minima"] for r in gp["per_nu"]) >= 1
    for row in gp["per_nu"]:
        if not row["minima"]:
            continue
        nu = row["nu"]
        nl = np.array(row["nlml"])
        assert row["minima"] >= 1
        best = row["tracks"].index(row["best_track"])
        assert nl[best] <= nl.min() + 1e-12
        for th, val in zip(row["theta"], nl):
            th = np.array(th)
            fn = lambda t: _np_nlml(xs, y, nu, t)  # noqa: E731
            assert abs(fn(th) - val) < 1e-7 * max(1, abs(val))
            grad = np.array([(fn(th + 1e-5 * e) - fn(th - 1e-5 * e)) / 2e-5 for e in np.eye(3)])
            assert np.max(np.abs(grad)) < 1e-4, (nu, grad)
            w = np.linalg.eigvalsh(_fd_hessian(fn, th, 1e-3))
            if th[2] < -20:  # the sigma_n^2 -> 0 valley: flat along the noise axis
                assert w.min() > -1e-6 * w.max(), (nu, th, w)
            else:
                assert w.min() > 0, (nu, th, w)  # Hessian index 0
    for nu_key, pr in gp["predictions"].items():
        row = next(r for r in gp["per_nu"] if f"{r['nu']:g}" == nu_key)
        means = np.array(pr["means"])
        ens = means.mean(0)
        assert abs(np.mean((ens - yte) ** 2) - row["ensemble_mse"]) < 1e-9
        per = np.mean((means - yte) ** 2, 1)
        assert np.allclose(per, row["test_mse"], rtol=1e-9)
    bm = gp["basin_map"]
    assert abs(sum(bm["outcomes"].values()) - 1.0) < 1e-9
    assert set(bm["outcomes"]) <= {str(i) for i in range(-3, len(bm["minima"]))}


if __name__ == "__main__":
    main()
