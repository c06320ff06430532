"""Kantas, Parpas & Pavliotis, "The sharp, the flat and the shallow" (seed 000), §6.2 and
Figure 3: a ResNet-ODE classifier of two co-centric ellipses trained with SGLD and
HOM-SGLD, its classification probabilities on and beyond the data range
[-1, 1] x [-2, 2] (Figs. 3b-c), and the same network discretized by explicit Euler
(Fig. 3d).

What it reproduces: the paper's claims, in numbers (it prints none): (i) in the data range
both SGLD and HOM-SGLD classify correctly with similar loss and test accuracy; (ii) the
HOM-SGLD solution is "valid in a broader range" than SGLD's; (iii) with explicit Euler
layers instead of Verlet ones, HOM-SGLD "no longer performs as well" (and SGLD is worse).
"Valid in a broader range" is measured as the accuracy against the true ellipse labels on
rings outside the data (normalized radius rho = sqrt(x^2 + (y/2)^2) in [1.5, 2] and
[2.5, 4]; the data rectangle reaches rho = sqrt(2)), and as accuracy per rho-bin out to
rho = 4.

The network (``fo.landscapes.ResNetODE``): the second-order network ODE of Haber &
Ruthotto (2018), u'' = tanh(K(t) u + b(t)), u(0) = the point (w = 2, no lifting),
u'(0) = 0; each of the L = 128 layers is one ``schemes.VelocityVerlet`` step of h = 0.05
(Störmer-Verlet leapfrog u_{j+1} = 2u_j - u_{j-1} + h^2 tanh(K_j u_j + b_j)), or one
``schemes.Euler`` step of the first-order system (u, u')' = (u', tanh(K u + b)) for the
Euler network; softmax head W u_L + c. Parameters: L (w^2 + w) + C w + C = 128 * 6 + 6 =
774 for w = 2 features and C = 2 classes -- exactly the paper's count, which is how we
reconstruct its architecture (a 2 x 2 K_j and a bias b_j per layer, no lifting, a 2 x 2
softmax head). The Hamiltonian pair u' = tanh(K z + b), z' = -tanh(K^T u + b) of the same
paper has the same count; we take the second-order form, which is the x'' = F(t, x) that
velocity Verlet integrates.

Protocol choices the paper leaves open (all in result.json under "protocol"):

- Data: n = 500 training and 1000 test points uniform in [-1, 1] x [-2, 2]; label 1
  ("inner") iff rho < r0 = sqrt(2/pi) ~ 0.798, so the two classes are separated by the
  ellipse x^2 + (y/2)^2 = r0^2, co-centric with the data range's inscribed ellipse, and
  have equal expected areas. Beyond the data, the true label is the same rule (outer).
  The paper does not give n; 500 keeps full mode within 10 minutes on 2 shared cores.
- Training: minibatches of 50 (10 steps per epoch), 100 epochs (the paper's), step
  (learning rate) 0.5 (0.1 had barely moved the loss after 30 epochs). One SGLD step is
  one Euler-Maruyama step of ``fo.flows.Langevin`` (seed 000 eq. 1) on the minibatch's
  mean cross-entropy with beta = n = 500 (the stationary density of the full-data flow is
  then the data likelihood, exp(-sum of cross-entropies)). One HOM-SGLD step is one
  ``schemes.HMM`` macro step (Algorithm 1) of ``fo.flows.Homogenized`` (eq. 13a-b) on the
  minibatch, with the same beta and macro step Delta = 0.5, gamma = 0.5, epsilon = 0.2,
  M = 10 micro steps of delta = 0.05, m' = 1 (REFERENCE.md §4 stability: Delta/gamma = 1
  < 2; (delta/epsilon)(L_Phi + 1/gamma) = 0.25 (L_Phi + 2) < 2 needs L_Phi < 6 -- the
  largest Hessian eigenvalue of the full-data loss at the end is recorded). gamma = 0.1 of
  §6.1 would need Delta < 0.2. HOM-SGLD thus takes M = 10 minibatch gradients per step
  (the paper runs all algorithms for the same 100 epochs). The flows' loss is the
  minibatch's ``ResNetODE`` (the data leaves swapped in each step); the minibatch order is
  a fresh permutation each epoch. Start: every parameter N(0, 0.1^2).
- Seeds: 8 independent seeds (start, minibatch order, noise) per run, vmapped; the paper
  shows one run. We report every seed, the median, and one-sided Mann-Whitney p-values
  between runs; the maps show seed 0.
- Beyond the data: a "near" ring rho in [1.5, 2] and a "far" ring rho in [2.5, 4] (2000
  points each, uniform in area), and a 161 x 161 grid on the window [-4, 4] x [-8, 8]
  (four times the data range; "outside_data_accuracy" is the grid accuracy outside the
  data rectangle, "accuracy_by_rho_bin" per 0.25 of rho). The true label there is
  "outer" everywhere.
- Controls not in the paper: the same minibatch steps without injected noise (SGD,
  explicit Euler of ``fo.flows.GradientFlow``), to tell the effect of the noise from that
  of homogenization; and SGLD for 300 epochs, whose training loss then matches
  HOM-SGLD's after 100 (HOM-SGLD takes M = 10 gradients per step), to tell the effect of
  the noise from that of a lower loss.
- Recorded per seed: the largest |Hessian eigenvalue| of the full-data loss at the end
  (power iteration) and max_j ||K_j||_2 (explicit Euler of u'' = F amplifies an
  oscillation by sqrt(1 + h^2 |mu|) per layer, mu an eigenvalue of diag(tanh') K_j: at
  most exp(L h^2 max||K_j|| / 2) = exp(0.16 max||K_j||) over the network).

Quick mode (``--quick``): 16 layers of step 0.4 (the same depth T = 6.4 as 128 x 0.05),
200 points, batches of 20, 15 epochs, beta = 200, 1 seed, 31 x 31 map, and not the
Euler-SGLD and SGD runs.

Run: ``python -m studies.kantas_resnet`` (full) or ``--quick``.
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

import flowopt as fo  # noqa: E402
import schemes  # noqa: E402

NAME = "kantas_resnet"
R0 = float(np.sqrt(2.0 / np.pi))  # class boundary: normalized radius
RINGS = {"near": (1.5, 2.0), "far": (2.5, 4.0)}  # outside the data (rectangle: rho <= sqrt 2)
WINDOW = (4.0, 8.0)  # half-widths of the map window (its inscribed ellipse: rho = 4)
FULL = dict(layers=128, step=0.05, n_train=500, n_test=1000, n_ring=2000, epochs=100,
            batch=50, lr=0.5, beta=500.0, gamma=0.5, epsilon=0.2, micro_steps=10,
            seeds=8, init_scale=0.1, grid=161)
QUICK = dict(FULL, layers=16, step=0.4, n_train=200, n_test=200, n_ring=400, epochs=15,
             batch=20, beta=200.0, seeds=1, grid=31)
# (network, method, epochs as a multiple of the protocol's); the last two are controls not in
# the paper (full mode only): SGD without injected noise, and SGLD run 3x longer (its loss
# then matches HOM-SGLD's)
RUNS = [("verlet", "SGLD", 1), ("verlet", "HOM-SGLD", 1), ("euler", "HOM-SGLD", 1),
        ("euler", "SGLD", 1), ("verlet", "SGD", 1), ("verlet", "SGLD", 3)]


def rho(p):
    """Normalized elliptic radius sqrt(x^2 + (y/2)^2)."""
    p = np.asarray(p)
    return np.sqrt(p[..., 0] ** 2 + (p[..., 1] / 2) ** 2)


def true_label(p):
    return (rho(p) < R0).astype(int)


def data(n, rng):
    x = rng.uniform(-1.0, 1.0, (n, 2)) * np.array([1.0, 2.0])
    return x, true_label(x)


def ring_points(n, rng, ring):
    """n points uniform (in area) in the elliptic ring rho in ``ring = (a, b)``: rho^2
    uniform on [a^2, b^2], angle uniform, then y scaled by 2 (area-preserving up to the
    factor 2)."""
    r = np.sqrt(rng.uniform(ring[0] ** 2, ring[1] ** 2, n))
    phi = rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(phi), 2 * r * np.sin(phi)], axis=1)


def make_trainer(net, method, cfg):
    """A jitted function (theta0, key) -> (theta, per-epoch full-data loss) for one seed;
    vmapped over seeds."""
    n = net.x.shape[0]
    per_epoch = n // cfg["batch"]
    lr = cfg["lr"]
    hmm = schemes.HMM(micro_steps=cfg["micro_steps"])

    def on(idx):
        return eqx.tree_at(lambda m: (m.x, m.labels), net, (net.x[idx], net.labels[idx]))

    def one_step(y, inp):
        idx, k, key = inp
        sub = on(idx)
        t0, t1 = k * lr, (k + 1) * lr
        if method == "SGD":  # explicit Euler of the gradient flow on the minibatch
            y = y + lr * fo.flows.GradientFlow(sub).drift(t0, y, None)
        elif method == "SGLD":  # Euler-Maruyama of dX = -grad Phi dt + sqrt(2/beta) dB
            flow = fo.flows.Langevin(sub, beta=cfg["beta"])
            z = jax.random.normal(key, y.shape, y.dtype)
            y = y + lr * flow.drift(t0, y, None) + jnp.sqrt(lr) * flow.diffusion(t0, y, None) * z
        else:  # one HMM macro step of the fast/slow homogenized SGLD (Algorithm 1)
            flow = fo.flows.Homogenized(sub, gamma=cfg["gamma"], beta=cfg["beta"],
                                        epsilon=cfg["epsilon"])
            term = schemes.SlowFastTerm(flow.slow, flow.fast, flow.fast_noise, key)
            y = hmm.step(term, t0, t1, y, None, None, False)[0]
        return y, None

    def epoch(y, inp):
        e, key = inp
        kperm, kstep = jax.random.split(key)
        idx = jax.random.permutation(kperm, n)[:per_epoch * cfg["batch"]]
        idx = idx.reshape(per_epoch, cfg["batch"])
        ks = (e * per_epoch + jnp.arange(per_epoch)).astype(jnp.float64)
        y, _ = jax.lax.scan(one_step, y, (idx, ks, jax.random.split(kstep, per_epoch)))
        x = y if method in ("SGLD", "SGD") else y[0]
        return y, net(x)

    def train(theta0, key):
        single = method in ("SGLD", "SGD")
        y0 = theta0 if single else (theta0, theta0)
        y, losses = jax.lax.scan(epoch, y0, (jnp.arange(cfg["epochs"]),
                                             jax.random.split(key, cfg["epochs"])))
        return (y if single else y[0]), losses

    return jax.jit(jax.vmap(train))


@eqx.filter_jit
def _inner_probability(net, thetas, points):
    """P(inner) at ``points`` for each row of ``thetas`` (one compile per network
    structure: the Verlet runs share it, and so do the Euler runs)."""
    return jax.vmap(lambda th: net.probabilities(th, points)[:, 1])(thetas)


@eqx.filter_jit
def _top_curvature(net, thetas, iters=40):
    """Largest |Hessian eigenvalue| of the full-data loss at each row of ``thetas`` (power
    iteration on Hessian-vector products)."""
    def one(theta):
        hvp = lambda v: jax.jvp(jax.grad(net), (theta,), (v,))[1]  # noqa: E731

        def body(v, _):
            w = hvp(v)
            return w / jnp.linalg.norm(w), jnp.vdot(v, w)

        v0 = jnp.ones_like(theta) / jnp.sqrt(theta.size)
        return jnp.abs(jax.lax.scan(body, v0, None, length=iters)[1][-1])
    return jax.vmap(one)(thetas)


def confusion(pred, truth):
    """[[TN, FP], [FN, TP]] with class 1 = inner."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    return [[int(np.sum((truth == a) & (pred == b))) for b in (0, 1)] for a in (0, 1)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join("studies", "results", NAME))
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    rng = np.random.default_rng(0)
    x_train, y_train = data(cfg["n_train"], rng)
    x_test, y_test = data(cfg["n_test"], rng)
    x_rings = {k: ring_points(cfg["n_ring"], rng, r) for k, r in RINGS.items()}
    y_rings = {k: true_label(x) for k, x in x_rings.items()}
    g = cfg["grid"]
    gx = np.linspace(-WINDOW[0], WINDOW[0], g)
    gy = np.linspace(-WINDOW[1], WINDOW[1], g)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    bins = np.arange(0.0, 4.01, 0.25)
    gbin = np.digitize(rho(grid), bins) - 1
    keys = jax.random.split(jax.random.key(1), cfg["seeds"])

    runs = {}
    maps = {}
    for scheme, method, times in (RUNS[:3] if args.quick else RUNS):
        t = time.time()
        net = fo.landscapes.ResNetODE(x_train, y_train, layers=cfg["layers"], step=cfg["step"],
                                      scheme=scheme)
        theta0 = jax.vmap(lambda k: net.init(k, cfg["init_scale"]))(keys)
        train = make_trainer(net, method, dict(cfg, epochs=times * cfg["epochs"]))
        thetas, losses = train(theta0, jax.vmap(lambda k: jax.random.fold_in(k, 7))(keys))
        thetas, losses = np.asarray(thetas), np.asarray(losses)
        parts = [x_train, x_test, x_rings["near"], x_rings["far"]]
        pts = np.concatenate(parts + [grid])
        probs = np.asarray(_inner_probability(net, jnp.asarray(thetas), jnp.asarray(pts)))
        cut = np.cumsum([len(a) for a in parts])
        p_train, p_test, p_near, p_far = ((probs[:, a:b] > 0.5).astype(int)
                                          for a, b in zip([0, *cut[:-1]], cut))
        p_rings = dict(near=p_near, far=p_far)
        p_grid = probs[:, cut[-1]:]
        finite = np.all(np.isfinite(thetas), axis=1)
        curvature = None if args.quick else np.asarray(_top_curvature(net, jnp.asarray(thetas)))
        acc = lambda p, y: [float(np.mean(pi == y)) for pi in p]  # noqa: E731
        grid_ok = (p_grid > 0.5).astype(int) == true_label(grid)[None, :]
        outside = np.abs(grid[:, 0]) > 1
        outside |= np.abs(grid[:, 1]) > 2
        per_bin = [[float(np.mean(ok[gbin == i])) for i in range(len(bins) - 1)]
                   for ok in grid_ok]
        name = f"{scheme}/{method}" + ("" if times == 1 else f" x{times} epochs")
        runs[name] = dict(
            scheme=scheme, method=method, epochs=times * cfg["epochs"], parameters=net.dim,
            finite=finite.tolist(),
            final_train_loss=losses[:, -1].tolist(),
            train_loss_every_10_epochs=losses[:, ::10 * times].tolist(),
            train_accuracy=acc(p_train, y_train),
            train_confusion=[confusion(p, y_train) for p in p_train],
            test_accuracy=acc(p_test, y_test),
            ring_accuracy={k: acc(p_rings[k], y_rings[k]) for k in RINGS},
            ring_predicted_inner={k: [int(np.sum(p == 1)) for p in p_rings[k]] for k in RINGS},
            outside_data_accuracy=[float(np.mean(ok[outside])) for ok in grid_ok],
            accuracy_by_rho_bin=per_bin,
            median=dict(train_accuracy=float(np.median(acc(p_train, y_train))),
                        test_accuracy=float(np.median(acc(p_test, y_test))),
                        near_ring_accuracy=float(np.median(acc(p_near, y_rings["near"]))),
                        far_ring_accuracy=float(np.median(acc(p_far, y_rings["far"]))),
                        outside_data_accuracy=float(np.median(
                            [np.mean(ok[outside]) for ok in grid_ok])),
                        final_train_loss=float(np.median(losses[:, -1]))),
            top_hessian_eigenvalue=None if curvature is None else curvature.tolist(),
            max_layer_norm=[float(np.max(np.linalg.norm(K, 2, axis=(1, 2))))
                            for K in (np.asarray(net.unravel(jnp.asarray(th))[0])
                                      for th in thetas)],
            seconds=round(time.time() - t, 1))
        maps[name] = p_grid
        m = runs[name]["median"]
        print(f"{name}: loss {m['final_train_loss']:.3f} train {m['train_accuracy']:.3f}"
              f" test {m['test_accuracy']:.3f} rings {m['near_ring_accuracy']:.3f}"
              f" {m['far_ring_accuracy']:.3f} ({runs[name]['seconds']} s)", flush=True)

    claims = _claims(runs)
    L, h = cfg["layers"], cfg["step"]
    claims["layer weights: median over seeds of max_j ||K_j||_2"] = dict(
        note="SGLD's injected noise diffuses the weights in directions the data do not "
             "constrain; explicit Euler amplifies an oscillation by at most "
             "exp(L h^2 max||K_j|| / 2) over the network (the 'euler_bound')",
        **{k: dict(max_layer_norm=float(np.median(r["max_layer_norm"])),
                   euler_bound=float(np.exp(L * h * h * np.median(r["max_layer_norm"]) / 2)))
           for k, r in runs.items()})
    ring_sample = {k: [[float(a), float(b), int(c)] for (a, b), c in zip(x[:20], y_rings[k][:20])]
                   for k, x in x_rings.items()}
    result = dict(
        study=NAME, quick=args.quick, protocol=dict(cfg, r0=R0, rings=RINGS,
                                                    window=list(WINDOW), features=2, classes=2),
        paper=dict(layers=128, step=0.05, parameters=774, epochs=100, activation="tanh",
                   loss="cross-entropy", data_range=[[-1, 1], [-2, 2]]),
        class_counts_train=[int(np.sum(y_train == 0)), int(np.sum(y_train == 1))],
        ring_sample=ring_sample, rho_bins=bins.tolist(), runs=runs, claims=claims,
        seconds=round(time.time() - start, 1))
    figure(args.out, result, x_train, y_train, gx, gy, maps)
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"total {result['seconds']} s")
    return result


def _claims(runs):
    """The paper's three claims as numbers; one-sided Mann-Whitney tests over seeds."""
    from scipy.stats import mannwhitneyu

    def per_seed(name, key):
        r = runs.get(name)
        if r is None:
            return None
        return r["outside_data_accuracy"] if key == "outside" else r["ring_accuracy"][key]

    def compare(better, worse, key):
        a, b = per_seed(better, key), per_seed(worse, key)
        if a is None or b is None:
            return None
        out = dict(median_first=float(np.median(a)), median_second=float(np.median(b)))
        if len(a) > 1 and len(b) > 1 and not np.allclose(np.r_[a, b], a[0]):
            out["p_one_sided_mannwhitney"] = float(mannwhitneyu(a, b, alternative="greater").pvalue)
        return out

    med = {k: r["median"] for k, r in runs.items()}
    return {
        "in range, SGLD and HOM-SGLD both classify correctly": dict(
            paper="similar loss function value and test accuracy",
            ours={k: dict(test_accuracy=m["test_accuracy"], train_loss=m["final_train_loss"])
                  for k, m in med.items()}),
        "HOM-SGLD valid in a broader range than SGLD (Verlet network)": dict(
            paper="Fig. 3b vs 3c: SGLD strange outside the data (bottom), HOM-SGLD valid in a "
                  "broader range but eventually similar (bottom right)",
            **{f"{key} (HOM-SGLD vs SGLD)": compare("verlet/HOM-SGLD", "verlet/SGLD", key)
               for key in ("near", "far", "outside")}),
        "explicit-Euler network: HOM-SGLD worse than on the Verlet network, SGLD worse still":
            dict(paper="Fig. 3d: failure of the explicit Euler scheme",
                 **{f"{key} (Verlet HOM-SGLD vs Euler HOM-SGLD)":
                    compare("verlet/HOM-SGLD", "euler/HOM-SGLD", key)
                    for key in ("far", "outside")},
                 **{f"{key} (Euler HOM-SGLD vs Euler SGLD)":
                    compare("euler/HOM-SGLD", "euler/SGLD", key) for key in ("far", "outside")}),
        "control: SGLD 3x longer, loss matched to HOM-SGLD's (not in the paper)": dict(
            **{f"{key} (HOM-SGLD vs SGLD x3 epochs)":
               compare("verlet/HOM-SGLD", "verlet/SGLD x3 epochs", key)
               for key in ("far", "outside")}),
        "control: SGD without injected noise (not in the paper)": dict(
            **{f"{key} (HOM-SGLD vs SGD)": compare("verlet/HOM-SGLD", "verlet/SGD", key)
               for key in ("far", "outside")},
            **{f"{key} (SGD vs SGLD)": compare("verlet/SGD", "verlet/SGLD", key)
               for key in ("far", "outside")}),
    }


def figure(out, result, x_train, y_train, gx, gy, maps):
    fig, axes = plt.subplots(2, 3, figsize=(13, 11), constrained_layout=True)
    ax = axes[0, 0]
    ax.scatter(*x_train[y_train == 1].T, s=4, c="tab:red", label="inner (label 1)")
    ax.scatter(*x_train[y_train == 0].T, s=4, c="tab:blue", label="outer (label 0)")
    ax.set_title("(a) training data; dashed: true boundary,\n"
                 "dotted: rings rho = 1.5, 2, 2.5, 4", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    t = np.linspace(0, 2 * np.pi, 200)
    panels = [("verlet/SGLD", "(b) Verlet network, SGLD"),
              ("verlet/HOM-SGLD", "(c) Verlet network, HOM-SGLD"),
              ("euler/HOM-SGLD", "(d) explicit-Euler network, HOM-SGLD"),
              ("euler/SGLD", "(e) explicit-Euler network, SGLD")]
    for ax, (name, title) in zip([axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]], panels):
        if name not in maps:
            ax.set_title(f"{title}\n(not run in quick mode)", fontsize=10)
            continue
        p = maps[name][0].reshape(len(gy), len(gx))
        im = ax.pcolormesh(gx, gy, p, cmap="RdBu_r", vmin=0, vmax=1, shading="auto")
        r = result["runs"][name]
        ax.set_title(f"{title}\nseed 0: test {r['test_accuracy'][0]:.2f}, rings near "
                     f"{r['ring_accuracy']['near'][0]:.2f} / far "
                     f"{r['ring_accuracy']['far'][0]:.2f}", fontsize=10)
    for ax in [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]]:
        ax.plot([-1, 1, 1, -1, -1], [-2, -2, 2, 2, -2], "k-", lw=1.5)
        ax.plot(R0 * np.cos(t), 2 * R0 * np.sin(t), "k--", lw=1)
        for rr in sorted({r for ring in RINGS.values() for r in ring}):
            ax.plot(rr * np.cos(t), 2 * rr * np.sin(t), ":", c="0.3", lw=1)
        ax.set_xlim(-WINDOW[0], WINDOW[0])
        ax.set_ylim(-WINDOW[1], WINDOW[1])
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.colorbar(im, ax=axes[0, :], shrink=0.6, label="P(inner)")
    ax = axes[1, 2]
    bins = np.asarray(result["rho_bins"])
    mid = 0.5 * (bins[1:] + bins[:-1])
    curves = panels + [("verlet/SGD", ""), ("verlet/SGLD x3 epochs", "")]
    colors = ["tab:orange", "tab:green", "tab:purple", "tab:gray", "k", "tab:brown"]
    for (name, _), c in zip(curves, colors):
        if name not in maps:
            continue
        acc = np.asarray(result["runs"][name]["accuracy_by_rho_bin"])
        ax.plot(mid, np.median(acc, axis=0), "o-", c=c, label=name)
        for a in acc:
            ax.plot(mid, a, "-", c=c, alpha=0.25, lw=0.8)
    ax.axvspan(0, 1.0, color="0.9", zorder=0, label="rho <= 1 (all inside the data)")
    ax.axvspan(1.0, np.sqrt(2), color="0.95", zorder=0, label="1 < rho <= sqrt 2 (data corners)")
    for (k, ring), hatch in zip(RINGS.items(), ["//", "\\\\"]):
        ax.axvspan(*ring, fill=False, hatch=hatch, ec="0.6", label=f"{k} ring")
    ax.set_xlabel("rho = sqrt(x1^2 + (x2/2)^2)")
    ax.set_ylabel("accuracy vs true ellipse label (grid)")
    ax.set_title("accuracy by elliptic radius (median: dots; seeds: lines)", fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="lower left")
    fig.savefig(os.path.join(out, "fig3_probability_maps.png"), dpi=80)
    plt.close(fig)


def check(result):
    """Independent checks of a (quick) result."""
    proto = result["protocol"]
    w, c, L = proto["features"], proto["classes"], proto["layers"]
    # parameter count: the formula of the architecture, and the paper's 774 at L = 128
    assert 128 * (w * w + w) + c * w + c == 774
    counts = result["class_counts_train"]
    n = proto["n_train"]
    assert sum(counts) == n
    # balanced by construction: the inner ellipse has half the rectangle's area
    assert abs(counts[1] / n - 0.5) < 4 * np.sqrt(0.25 / n)
    # the rings' recorded labels are the true ellipse labels, recomputed here
    for key, sample in result["ring_sample"].items():
        lo, hi = proto["rings"][key]
        assert len(sample) == 20 and lo > np.sqrt(2)  # wholly outside the data rectangle
        for x1, x2, lab in sample:
            r = np.hypot(x1, x2 / 2)
            assert lo - 1e-12 <= r <= hi + 1e-12, key
            assert not (abs(x1) <= 1 and abs(x2) <= 2), key
            assert lab == int(r < np.sqrt(2 / np.pi)) == 0, key
    for name, run in result["runs"].items():
        assert run["parameters"] == L * (w * w + w) + c * w + c, name
        assert all(run["finite"]), name
        for conf, acc, loss in zip(run["train_confusion"], run["train_accuracy"],
                                   run["final_train_loss"]):
            conf = np.asarray(conf)
            assert conf.sum() == n and conf.sum(axis=1).tolist() == counts, name
            assert abs(acc - np.trace(conf) / n) < 1e-12, name
            # cross-entropy is at least the Bayes-free bound: a misclassified point
            # costs >= log 2, so loss >= (1 - acc) log 2
            assert loss >= (1 - acc) * np.log(2) - 1e-12, name
        # every point of the ring is truly "outer": accuracy = share predicted outer
        for key in proto["rings"]:
            for acc, inner in zip(run["ring_accuracy"][key], run["ring_predicted_inner"][key]):
                assert abs(acc - (1 - inner / proto["n_ring"])) < 1e-12, name
    # above chance (0.5 + 4 sigma) for the Verlet runs even in quick mode
    chance = max(counts) / n
    for name in ("verlet/SGLD", "verlet/HOM-SGLD"):
        assert result["runs"][name]["median"]["train_accuracy"] > chance + 0.02, name


if __name__ == "__main__":
    main()
