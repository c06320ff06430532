"""The energy landscape of a simple neural network (Gamst & Walker, seed 001), Figs. 2-5.

Paper: A. Gamst, A. Walker, "The energy landscape of a simple neural network" (seed 001):
a hand-built 5 x 5 ReLU network W_f (a 2-node-wide sawtooth plus a 3-node-wide linear
spline) is a zero-loss global minimum of its own training data, yet networks of the same
architecture trained on that data find only the low-frequency part.

What it reproduces:

* Fig. 2 -- ``fig2_average_fits.png``: f, and the mean +- one standard deviation of the
  trained networks' outputs, for gradient descent with momentum and for Adadelta.
* Fig. 3 -- ``fig3_best_fits.png``: the lowest-loss fit of each optimizer against f.
* Fig. 4 -- ``fig4_neb.png``: nudged-elastic-band paths (``fo.neb``, climbing image, FIRE)
  from W_f to trained local minima, (a) all energy profiles against the distance along
  the path, (b) one profile coloured by distance, (c) the outputs of that path's images
  in function space with the same colours, (d) the angle between successive difference
  vectors along it; and the basin radius they suggest (paper: ~2).
* Fig. 5 -- ``fig5_jitter.png``: W_f plus Gaussian noise of norm ~ U[0, 2], retrained
  with each optimizer; final loss against the noise norm (scatter, binned median in red
  standing in for the paper's lowess), the fraction returning to the global minimum and a
  logistic fit of it (blue; paper: Adadelta's curve is identically zero).

De-symmetrization (paper §3.3; library: ``MLP.align_to``, ``MLP.canonical``): before a
NEB path or a distance, each trained network is moved along its symmetry orbit (positive
rescaling of hidden units, permutation of the units of a layer; same function) into W_f's
gauge: layer by layer from the input, every unit of both networks is scaled to unit
incoming norm, the trained network's units are permuted to the assignment nearest W_f's
(``scipy.optimize.linear_sum_assignment`` on the distance of the normalized incoming rows
plus the sorted normalized outgoing columns), and then take W_f's scales. The paper's own
representative (the norm-minimizing rescaling, units sorted by norm; ``MLP.canonical``)
is computed too, and the W_f-to-minimum distances under both are reported; NEB runs in
the aligned gauge (the paper's choice would also move W_f).

Scaling (stated; the paper's sizes are far beyond 10 minutes on 2 shared CPU cores, where
one network step costs ~0.1 ms): the main experiment trains ``--main-runs`` networks per
optimizer (full mode 16, paper 160,000) and the jitter experiment ``--jitter-runs`` per
optimizer with noise norm ~ U[0, 2] (full mode 56, paper 4096 in all), plus
``--zoom-runs`` (full 24) with noise norm ~ U[0, 0.4], where our W_f's basin edge turned
out to lie (~0.15); each network runs ``--steps`` full-batch steps (full mode 20,000, the
paper's jitter budget; the paper's main experiment used 50,000 -- its text also says 20K
"just as with our main experiment"); ``--neb-paths`` NEB paths (full 6, paper 100).
Quick mode: 6 + 8 + 2 networks per optimizer, 400 steps, no NEB (compiling the band
relaxation alone takes ~20 s on the shared machine).

Protocol choices the paper leaves open (ours):

* W_f, f and the data: ``fo.landscapes.MLP.gamst_walker()`` (its docstring: our own
  construction -- the seed gives no weights -- 16 sawtooth teeth of height 1/4 on [0, 1]
  plus a 5-hinge spline; 321 points: the 33 knots j/32 and 9 between each pair).
* Optimizers: GD with momentum = ``optax.sgd(5e-4, momentum=0.9)`` and Adadelta =
  ``optax.adadelta(1.0, rho=0.95, eps=1e-8)`` (the Keras defaults of 2017 for Adadelta;
  for GD the largest rate stable at W_f, whose Hessian's top eigenvalue ~4.7e3 bounds
  momentum-0.9 steps by 2 * 1.9 / 4.7e3 = 8e-4), run as optax updates in a ``lax.scan``,
  48 networks at a time under ``jax.vmap``, float64. (The library's flows
  ``fo.flows.HeavyBall.from_optax`` / ``fo.flows.Adadelta.from_optax`` under the
  semi-implicit Euler scheme are these algorithms step for step, REFERENCE.md §2 and
  tests/test_optax_equivalence.py; ``fo.solve_batch`` of them took ~14 s to compile here,
  too long for the 20-s quick mode, and ran no faster.)
* Initialization of trained networks: Keras's defaults (Glorot-uniform weights, bound
  sqrt(6 / (fan_in + fan_out)), zero biases).
* Jitter: noise = r u with u uniform on the unit sphere of R^136 and r ~ U[0, 2] exactly
  (the paper: "norm chosen approximately uniformly in [0, 2]"). A run has *returned to the
  global minimum* when its final loss is below 1e-4 (our threshold: the best local minima
  found have loss ~5e-3; the sawtooth alone carries a^2/3 = 0.021 of the variance).
* Logistic fit: logistic regression of "returned" on the noise norm over both sweeps
  (scikit-learn ``LogisticRegression(C=100)``, L2: with few returns the runs can be
  separated by the noise norm, where the unpenalized estimate does not exist -- quick
  mode's are; the result records ``separable`` and the last returned and first failed
  norm; in the committed full run they are not separable); where no run (or
  every run) returned there is nothing to fit and the curve is the constant 0 (or 1),
  recorded as such (the paper's Adadelta case).
* Basin radius from NEB: per path, the arc length from W_f at which the loss along the
  band's polygon (2001 points) first reaches half of the end minimum's loss
  (``radius_rise``: the "initial rise" the paper reads its radius ~2 from), and the
  distance to the highest image (``radius_top``); medians over paths. NEB: 16 images,
  spring 1, FIRE for at most 2500 relaxation steps, no refinement of the climbing image
  (at ReLU kinks it did not refine in a trial run, and cost minutes); paths go to the
  lowest-loss trained minima of each optimizer, alternately, not random ones. Most bands
  do not relax within the budget (``converged`` false, ``max_force`` recorded): their
  profiles are upper bounds of a minimum-energy path's.
"""

import argparse
import json
import os
import time

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot  # noqa: E402,F401
import optax  # noqa: E402

GD_LR, GD_MOMENTUM = 5e-4, 0.9
ADA_LR, ADA_RHO, ADA_EPS = 1.0, 0.95, 1e-8
RETURN_LOSS = 1e-4
ZOOM = 0.4  # the zoomed jitter sweep's largest noise norm
LOGISTIC_C = 100.0  # inverse L2 penalty of the logistic fit (our data are separable)
NAMES = {"gd_momentum": "GD with momentum", "adadelta": "Adadelta"}


def glorot_bounds(loss):
    """Per-parameter bound of Keras's Glorot-uniform init (0 for biases), flat layout."""
    net = loss.to_network(jnp.zeros(loss.dim))
    for l, layer in enumerate(net.layers):
        fan_out, fan_in = layer.weight.shape
        net = eqx.tree_at(lambda n, l=l: (n.layers[l].weight, n.layers[l].bias), net,
                          (jnp.full(layer.weight.shape, np.sqrt(6.0 / (fan_in + fan_out))),
                           jnp.zeros(layer.bias.shape)))
    return loss.from_network(net)


def optimizers():
    """The paper's two optimizers as optax transformations (our hyper-parameters)."""
    return {"gd_momentum": optax.sgd(GD_LR, momentum=GD_MOMENTUM),
            "adadelta": optax.adadelta(ADA_LR, rho=ADA_RHO, eps=ADA_EPS)}


def train(loss, opt, x0s, steps, chunk=64):
    """``steps`` full-batch steps of ``opt`` from every row of ``x0s``: ``chunk`` networks
    at a time in one vmapped, compiled program (the last chunk padded, so it compiles once;
    larger batches ran slower per network step on 2 cores)."""
    grad = jax.grad(loss)

    @jax.jit
    def run(x0s):
        def one(x):
            def body(carry, _):
                x, state = carry
                update, state = opt.update(grad(x), state, x)
                return (optax.apply_updates(x, update), state), None
            return jax.lax.scan(body, (x, opt.init(x)), None, length=steps)[0][0]
        return jax.vmap(one)(x0s)

    x0s = np.asarray(x0s)
    n = len(x0s)
    width = min(chunk, n)
    padded = np.concatenate([x0s, np.repeat(x0s[:1], -n % width, axis=0)])
    return np.concatenate([np.asarray(run(jnp.asarray(padded[i:i + width])))
                           for i in range(0, len(padded), width)])[:n]


def logistic_fit(r, returned, grid):
    """Logistic regression of ``returned`` on ``r`` (scikit-learn, L2 with C = LOGISTIC_C:
    with separable data the unpenalized estimate does not exist); a constant when one
    class only."""
    returned = np.asarray(returned, bool)
    if returned.all() or not returned.any():
        value = float(returned.all())
        return {"intercept": None, "slope": None, "C": None, "grid": grid.tolist(),
                "probability": [value] * len(grid), "separable": None,
                "note": f"every run {'returned' if value else 'failed to return'}: nothing "
                        f"to fit, the curve is identically {value:g}"}
    model = LogisticRegression(C=LOGISTIC_C, max_iter=10_000).fit(r[:, None], returned)
    b0, b1 = float(model.intercept_[0]), float(model.coef_[0, 0])
    separable = bool(r[returned].max() < r[~returned].min()
                     or r[~returned].max() < r[returned].min())
    return {"intercept": b0, "slope": b1, "C": LOGISTIC_C, "grid": grid.tolist(),
            "probability": model.predict_proba(grid[:, None])[:, 1].tolist(),
            "half_probability_noise_norm": -b0 / b1 if b1 else None,
            "separable": separable,
            "last_returned_norm": float(r[returned].max()),
            "first_failed_norm": float(r[~returned].min()),
            "note": "returned and failed runs are separated by the noise norm: the "
                    "unpenalized fit would be a step; this is the L2-penalized one"
                    if separable else ""}


def polygon_profile(batched_loss, images, s, n=2001):
    """The loss at ``n`` points equally spaced in arc length along the band's polygon."""
    sf = np.linspace(0.0, s[-1], n)
    seg = np.clip(np.searchsorted(s, sf, side="right") - 1, 0, len(s) - 2)
    t = (sf - s[seg]) / (s[seg + 1] - s[seg])
    pts = images[seg] + t[:, None] * (images[seg + 1] - images[seg])
    return sf, np.asarray(batched_loss(jnp.asarray(pts)))


def angles(images):
    """Angle (radians) between successive difference vectors of a band (Fig. 4d)."""
    d = np.diff(images, axis=0)
    u, v = d[:-1], d[1:]
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join("studies", "results", "gamst_walker"))
    parser.add_argument("--main-runs", type=int, default=None)
    parser.add_argument("--jitter-runs", type=int, default=None)
    parser.add_argument("--zoom-runs", type=int, default=None,
                        help="extra jitter runs per optimizer with noise norm ~ U[0, 0.4]")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--neb-paths", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-file", default=None,
                        help="an .npz cache of the trained weights: loaded if it exists (and "
                             "matches the sizes), else written (development; not committed)")
    args = parser.parse_args(argv)
    q = args.quick
    n_main = args.main_runs or (6 if q else 16)
    n_jit = args.jitter_runs or (8 if q else 56)
    n_zoom = (2 if q else 24) if args.zoom_runs is None else args.zoom_runs
    steps = args.steps or (400 if q else 20_000)
    n_neb = (0 if q else 6) if args.neb_paths is None else args.neb_paths
    for name, v in (("main-runs", n_main), ("jitter-runs", n_jit), ("steps", steps),
                    ("neb-paths", n_neb + 1), ("zoom-runs", n_zoom + 1)):
        if v < 1:
            raise ValueError(f"--{name}: must be a positive integer (--neb-paths may be 0).")
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()

    loss, w_f = fo.landscapes.MLP.gamst_walker()
    d = loss.dim
    key_init, key_dir, key_r = jax.random.split(jax.random.key(args.seed), 3)
    bounds = glorot_bounds(loss)
    inits = jax.random.uniform(key_init, (n_main, d), minval=-1.0, maxval=1.0) * bounds
    u = jax.random.normal(key_dir, (n_jit + n_zoom, d))
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    r = np.asarray(jax.random.uniform(key_r, (n_jit + n_zoom,), minval=0.0, maxval=1.0))
    r = r * np.where(np.arange(n_jit + n_zoom) < n_jit, 2.0, ZOOM)  # U[0, 2], then U[0, 0.4]
    sweep = np.where(np.arange(n_jit + n_zoom) < n_jit, "paper", "zoom")
    jittered = w_f + r[:, None] * u
    starts = jnp.concatenate([inits, jittered])

    batched_loss = jax.jit(jax.vmap(loss))
    xg = np.linspace(0.0, 1.0, 1025)
    predict = jax.jit(jax.vmap(lambda th: loss.predict(th, jnp.asarray(xg))))
    f_grid = np.asarray(loss.predict(w_f, jnp.asarray(xg)))

    runs = {}
    cache = None
    if args.runs_file and os.path.exists(args.runs_file):
        cache = np.load(args.runs_file)
        if cache["gd_momentum"].shape != starts.shape or int(cache["steps"]) != steps:
            raise ValueError(f"--runs-file {args.runs_file}: holds other sizes; delete it.")
    for name, opt in optimizers().items():
        t0 = time.time()
        ends = cache[name] if cache is not None else train(loss, opt, starts, steps, chunk=48)
        final = np.asarray(batched_loss(jnp.asarray(ends)))
        runs[name] = {"ends": ends, "loss": final, "seconds": time.time() - t0}
        print(f"{name}: {len(starts)} networks x {steps} steps in {time.time() - t0:.1f} s; "
              f"main median loss {np.median(final[:n_main]):.4g}", flush=True)

    if args.runs_file and cache is None:
        np.savez(args.runs_file, steps=steps, **{n: run["ends"] for n, run in runs.items()})
    result = {"paper": "Gamst & Walker, The energy landscape of a simple neural network "
                       "(seed 001), Figs. 2-5",
              "sizes": {"main_runs_per_optimizer": n_main, "jitter_runs_per_optimizer": n_jit,
                        "zoom_jitter_runs_per_optimizer": n_zoom,
                        "steps": steps, "neb_paths": n_neb, "quick": q,
                        "paper": {"main_runs_per_optimizer": 160_000, "main_steps": 50_000,
                                  "jitter_runs": 4096, "jitter_steps": 20_000,
                                  "neb_paths": 100}},
              "optimizers": {"gd_momentum": f"optax.sgd({GD_LR}, momentum={GD_MOMENTUM})",
                             "adadelta": f"optax.adadelta({ADA_LR}, rho={ADA_RHO}, "
                                         f"eps={ADA_EPS})"},
              "loss_at_w_f": float(loss(w_f)),
              "return_threshold": RETURN_LOSS}

    # ---- Figs. 2 and 3: the main experiment --------------------------------------------
    main_stats, fits = {}, {}
    for name, run in runs.items():
        ends, final = run["ends"][:n_main], run["loss"][:n_main]
        pred = np.asarray(predict(jnp.asarray(ends)))
        best = int(np.argmin(final))
        fits[name] = {"mean": pred.mean(0), "sd": pred.std(0), "best": pred[best],
                      "median": pred[int(np.argsort(final)[len(final) // 2])]}
        main_stats[name] = {
            "final_loss_quantiles": dict(zip(["min", "q25", "median", "q75", "max"],
                                             np.quantile(final, [0, .25, .5, .75, 1]).tolist())),
            "best_loss": float(final[best]),
            "fraction_below_return_threshold": float(np.mean(final < RETURN_LOSS)),
            "rms_of_mean_fit_minus_f": float(np.sqrt(np.mean((pred.mean(0) - f_grid) ** 2))),
            "seconds_training_all_its_networks": run["seconds"]}
    result["main"] = main_stats
    result["main"]["paper"] = ("neither optimizer finds the high-frequency component; "
                               "Adadelta's best fits are better than GD's but not optimal")
    result["main"]["sawtooth_variance_a2_over_3"] = 0.25 ** 2 / 3

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained", sharey=True)
    axes[0].plot(xg, f_grid, color="tab:blue", lw=1, label="f (output of $W_f$)")
    for name, c in (("gd_momentum", "tab:green"), ("adadelta", "tab:orange")):
        axes[0].plot(xg, fits[name]["median"], color=c, lw=1.5,
                     label=f"median-loss fit, {NAMES[name]}")
    axes[0].set_title("f and a typical trained fit")
    for ax, name in zip(axes[1:], ("gd_momentum", "adadelta")):
        m, s = fits[name]["mean"], fits[name]["sd"]
        ax.plot(xg, f_grid, color="tab:blue", lw=0.8, label="f")
        ax.fill_between(xg, m - s, m + s, color="tab:red", alpha=0.25, label="mean $\\pm$ sd")
        ax.plot(xg, m, color="tab:red", lw=1.5, label="mean fit")
        ax.set_title(f"{NAMES[name]}: {n_main} networks, {steps} steps")
    for ax in axes:
        ax.set_xlabel("x")
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("network output")
    fig.savefig(os.path.join(args.out, "fig2_average_fits.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", sharey=True)
    for ax, name in zip(axes, ("gd_momentum", "adadelta")):
        ax.plot(xg, f_grid, color="tab:blue", lw=0.8, label="f")
        ax.plot(xg, fits[name]["best"], color="tab:red", lw=1.5,
                label=f"best fit, loss {main_stats[name]['best_loss']:.3g}")
        ax.set_title(f"{NAMES[name]}: best of {n_main}")
        ax.set_xlabel("x")
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("network output")
    fig.savefig(os.path.join(args.out, "fig3_best_fits.png"), dpi=110)
    plt.close(fig)

    # ---- de-symmetrization and distances ------------------------------------------------
    t0 = time.time()
    canon_f = np.asarray(loss.canonical(w_f))
    dist = {}
    aligned = {}
    for name, run in runs.items():
        al = np.stack([np.asarray(loss.align_to(th, w_f)) for th in run["ends"][:n_main]])
        can = np.stack([np.asarray(loss.canonical(th)) for th in run["ends"][:n_main]])
        aligned[name] = al
        dist[name] = {
            "raw": np.linalg.norm(run["ends"][:n_main] - np.asarray(w_f), axis=1).tolist(),
            "aligned_to_w_f": np.linalg.norm(al - np.asarray(w_f), axis=1).tolist(),
            "both_canonical": np.linalg.norm(can - canon_f, axis=1).tolist()}
    pred_err = max(float(np.max(np.abs(np.asarray(predict(jnp.asarray(aligned[n])))
                                       - np.asarray(predict(jnp.asarray(runs[n]["ends"][:n_main]))))))
                   for n in runs)
    result["desymmetrization"] = {
        "method": "MLP.align_to(theta, w_f): unit incoming norms, linear_sum_assignment "
                  "permutation per layer, W_f's scales; MLP.canonical for the paper's own",
        "max_abs_prediction_change_aligned_vs_original": pred_err,
        "example": {"original": runs["gd_momentum"]["ends"][0].tolist(),
                    "aligned": aligned["gd_momentum"][0].tolist()},
        "distance_w_f_to_minima_median": {
            n: {k: float(np.median(v)) for k, v in dd.items()} for n, dd in dist.items()},
        "paper": "most local minima lie in the shell of radius 9.5 to 10.5 around the "
                 "global minimum (after the paper's de-symmetrization)",
        "seconds": time.time() - t0}

    # ---- Fig. 4: NEB paths (full mode: its compile alone takes ~20 s) -----------------
    if n_neb:
        t0 = time.time()
        targets = []
        order = {n: np.argsort(runs[n]["loss"][:n_main]) for n in runs}
        for k in range(n_neb):
            name = ("gd_momentum", "adadelta")[k % 2]
            targets.append((name, int(order[name][k // 2 % n_main])))
        bands = []
        images = 8 if q else 16
        for name, i in targets:
            band = fo.neb(loss, w_f, jnp.asarray(aligned[name][i]), images=images, spring=1.0,
                          max_steps=100 if q else 2500, refine=False)
            bands.append((name, i, band))
        radii_rise, radii_top, neb_rows, fine = [], [], [], []
        for name, i, band in bands:
            e, s = np.asarray(band.energies), np.asarray(band.distance)
            sf, ef = polygon_profile(batched_loss, np.asarray(band.images), s)
            fine.append((sf, ef))
            top = int(np.argmax(e))
            rise = float(sf[int(np.argmax(ef >= 0.5 * e[-1]))])
            radii_rise.append(rise)
            radii_top.append(float(s[top]))
            neb_rows.append({"optimizer": name, "network": i, "end_loss": float(e[-1]),
                             "length": float(s[-1]), "max_energy": float(e[top]),
                             "max_energy_over_end": float(e[top] / e[-1]),
                             "radius_rise": rise, "radius_top": float(s[top]),
                             "converged": bool(band.converged),
                             "max_force": float(band.max_force), "steps": int(band.steps)})
        result["neb"] = {"paths": neb_rows, "images": images,
                         "radius_rise_median": float(np.median(radii_rise)),
                         "radius_rise_range": [float(min(radii_rise)), float(max(radii_rise))],
                         "radius_top_median": float(np.median(radii_top)),
                         "paper_radius": 2.0,
                         "paper": "energy flat and slightly bumpy until a dramatic drop-off near "
                                  "the global minimum; basin radius ~2",
                         "seconds": time.time() - t0}

        fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
        fo.plot.neb_profile([b for _, _, b in bands], ax=axes[0, 0])
        axes[0, 0].set_title(f"(a) {len(bands)} NEB paths from $W_f$ to trained minima")
        for sf, ef in fine:
            axes[0, 0].plot(sf, ef, color="0.5", lw=0.5, zorder=0)
        axes[0, 0].axvline(np.median(radii_rise), color="tab:red", ls="--",
                           label=f"median rise radius {np.median(radii_rise):.2f} (loss "
                                 "reaches half the end minimum's)")
        top_img = max(float(np.max(b.energies)) for _, _, b in bands)
        top_poly = max(float(np.max(ef)) for _, ef in fine)
        axes[0, 0].set_ylim(-0.05 * 1.5 * top_img, 1.5 * top_img)
        axes[0, 0].text(0.98, 0.8, f"grey: loss along the polygon between images\n(clipped; "
                        f"it reaches {top_poly:.2g}: the bands are not relaxed)",
                        transform=axes[0, 0].transAxes, ha="right", fontsize=8)
        axes[0, 0].set_ylabel("loss")
        axes[0, 0].legend(fontsize=8, loc="upper left")
        # the example: the best-relaxed path (lowest barrier relative to its end)
        k1 = int(np.argmin([row["max_energy_over_end"] for row in neb_rows]))
        _, _, one = bands[k1]
        s1, e1 = np.asarray(one.distance), np.asarray(one.energies)
        cmap = plt.get_cmap("viridis")
        colours = cmap(s1 / s1[-1])
        axes[0, 1].plot(*fine[k1], color="0.6", lw=0.8, label="loss along the polygon")
        axes[0, 1].scatter(s1, e1, c=colours, s=25, zorder=3, label="images")
        axes[0, 1].axvline(radii_rise[k1], color="tab:red", ls="--", lw=0.8,
                           label=f"rise radius {radii_rise[k1]:.2f}")
        axes[0, 1].legend(fontsize=8)
        axes[0, 1].set_title(f"(b) path {k1 + 1} ({NAMES[bands[k1][0]]} minimum), "
                             "coloured by distance")
        axes[1, 0].plot(xg, f_grid, color="k", lw=0.6, label="f")
        path_preds = np.asarray(predict(jnp.asarray(one.images)))
        for p, c in zip(path_preds, colours):
            axes[1, 0].plot(xg, p, color=c, lw=0.8)
        axes[1, 0].set_title("(c) outputs of that path's images (same colours)")
        axes[1, 0].set_xlabel("x")
        axes[1, 0].legend(fontsize=8)
        axes[1, 1].plot(s1[1:-1], angles(np.asarray(one.images)), "o-")
        axes[1, 1].set_title("(d) angle between successive difference vectors")
        axes[1, 1].set_ylabel("radians")
        for ax in (axes[0, 0], axes[0, 1], axes[1, 1]):
            ax.set_xlabel("distance along the path from $W_f$")
        axes[0, 1].set_ylabel("loss")
        fig.savefig(os.path.join(args.out, "fig4_neb.png"), dpi=110)
        plt.close(fig)
    else:
        result["neb"] = {"paths": [], "note": "skipped (--neb-paths 0; quick mode)"}

    # ---- Fig. 5: jitter -----------------------------------------------------------------
    grid = np.linspace(0.0, 2.0, 41)
    jitter = {"noise_norm": r.tolist(), "sweep": sweep.tolist(),
              "paper": "GD with momentum returns to the global minimum for small noise, "
                       "with a probability falling with the noise norm; Adadelta's "
                       "probability is identically zero"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    edges = np.array([0.0, 1.0, 2.0] if q else [0.0, 0.1, 0.2, 0.3, 0.4, 0.7, 1.0, 1.3, 1.6,
                                                2.0])
    for ax, name in zip(axes, ("gd_momentum", "adadelta")):
        final = runs[name]["loss"][n_main:]
        returned = final < RETURN_LOSS
        fit = logistic_fit(r, returned, grid)
        which = np.digitize(r, edges[1:-1])
        binned = [float(np.mean(returned[which == b])) if np.any(which == b) else None
                  for b in range(len(edges) - 1)]
        med = [float(np.median(final[which == b])) if np.any(which == b) else None
               for b in range(len(edges) - 1)]
        jitter[name] = {"final_loss": final.tolist(), "returned": returned.tolist(),
                        "fraction_returned": float(returned.mean()),
                        "fraction_returned_paper_sweep": float(returned[sweep == "paper"].mean()),
                        "fraction_returned_zoom_sweep": float(returned[sweep == "zoom"].mean())
                        if n_zoom else None,
                        "bin_edges": edges.tolist(), "return_fraction_by_bin": binned,
                        "median_loss_by_bin": med, "logistic": fit}
        for sw, mk, lab in (("paper", "o", "final loss, |noise| ~ U[0, 2]"),
                            ("zoom", "^", f"final loss, |noise| ~ U[0, {ZOOM}]")):
            if np.any(sweep == sw):
                ax.scatter(r[sweep == sw], np.maximum(final[sweep == sw], 1e-18), s=12,
                           marker=mk, color="0.3" if sw == "paper" else "tab:purple",
                           label=lab)
        centres = 0.5 * (edges[1:] + edges[:-1])
        ok = [m is not None for m in med]
        ax.plot(centres[ok], [m for m in med if m is not None], "r-", lw=1.5,
                label="binned median (paper: lowess)")
        ax.axhline(RETURN_LOSS, color="0.5", ls=":", lw=0.8, label="return threshold")
        ax.set_yscale("log")
        ax.set_xlabel("noise norm (initial distance from $W_f$)")
        ax.set_ylabel("final loss")
        ax2 = ax.twinx()
        ax2.plot(grid, fit["probability"], color="tab:blue", lw=2,
                 label="logistic fit, P(return)" if fit["slope"] is not None
                 else "P(return) identically 0 (no run returned)")
        okb = [b is not None for b in binned]
        ax2.plot(centres[okb], [b for b in binned if b is not None], "s", color="tab:blue",
                 mfc="none", label="returned fraction per bin")
        ax2.set_ylim(-0.03, 1.03)
        ax2.set_ylabel("probability of returning", color="tab:blue")
        ax.set_title(f"{NAMES[name]}: {n_jit} + {n_zoom} jittered copies of $W_f$, "
                     f"{steps} steps", fontsize=10)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
    fig.savefig(os.path.join(args.out, "fig5_jitter.png"), dpi=110)
    plt.close(fig)
    result["jitter"] = jitter
    result["runtime_seconds"] = time.time() - t_start
    with open(os.path.join(args.out, "result.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"done in {result['runtime_seconds']:.1f} s -> {args.out}")
    return result


def check(result):
    """Independent facts: W_f is a zero-loss minimum (recomputed here), the logistic
    curve is the logistic function of its own recorded coefficients, GD's return fraction
    does not grow with the noise, and the de-symmetrized network computes the same
    function as the trained one (recomputed from the stored weights)."""
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    assert float(loss(w_f)) < 1e-25 and result["loss_at_w_f"] < 1e-25
    for name in ("gd_momentum", "adadelta"):
        jit = result["jitter"][name]
        fit = jit["logistic"]
        grid, p = np.asarray(fit["grid"]), np.asarray(fit["probability"])
        if fit["slope"] is None:
            assert not any(jit["returned"]) or all(jit["returned"])
            assert np.all(p == float(all(jit["returned"])))
        else:
            z = fit["intercept"] + fit["slope"] * grid
            np.testing.assert_allclose(p, 1.0 / (1.0 + np.exp(-z)), rtol=1e-10, atol=1e-12)
        returned = np.asarray(jit["returned"])
        np.testing.assert_array_equal(returned,
                                      np.asarray(jit["final_loss"]) < result["return_threshold"])
    gd = result["jitter"]["gd_momentum"]
    r, ret = np.asarray(result["jitter"]["noise_norm"]), np.asarray(gd["returned"])
    assert ret[np.argmin(r)] >= ret[np.argmax(r)]
    ex = result["desymmetrization"]["example"]
    x = jnp.linspace(-0.25, 1.25, 301)
    a = np.asarray(loss.predict(jnp.asarray(ex["original"]), x))
    b = np.asarray(loss.predict(jnp.asarray(ex["aligned"]), x))
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
    assert not np.allclose(ex["original"], ex["aligned"])  # it did move along the orbit
    assert result["desymmetrization"]["max_abs_prediction_change_aligned_vs_original"] < 1e-10
    # NEB: the band starts at W_f (loss ~0) and ends at a trained network's loss
    for row in result["neb"]["paths"]:  # empty in quick mode
        assert row["end_loss"] > 0 and row["radius_rise"] <= row["length"] + 1e-12


if __name__ == "__main__":
    main()
