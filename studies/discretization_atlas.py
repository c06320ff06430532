"""Discretization atlas (ours, the library's headline figure; issue 11): how the basins of
discrete optimizers depart from those of the flow they discretize.

One landscape, three flows, five ways of stepping them at several step sizes, each map
compared start by start with a fine-step reference map of the same flow:

* landscape: the six-hump camel (``fo.landscapes.SixHumpCamel``; REFERENCE.md §5) on the
  window [-2, 2] x [-1, 1] (the usual plotting window; it holds all six minima and is
  symmetric under x -> -x, as f is, so the basins of each mirror pair of minima must have
  equal fractions);
* flows (fixed, independent of the step, so every step discretizes the *same* flow):
  gradient flow x' = -grad f; heavy ball x'' + gamma x' + grad f = 0 with gamma = 2,
  mass 1 (underdamped at every minimum: the smallest Hessian eigenvalue is 7.1 > gamma^2/4);
  Adam (Barakat-Bianchi flow) with rates a = 10, b = 1 (optax's beta1 = 0.9, beta2 = 0.99
  at eta = 0.01), continuous bias corrections, eps = 0.1 and eps_root = 1e-3 (see below);
* schemes: explicit Euler; semi-implicit (partitioned) Euler -- for heavy ball and Adam
  the optax-style update (auxiliary variables first, then the position with the updated
  ones); Euler-Richardson (``schemes.EulerRichardson()``, textbook variant at fixed steps:
  the extrapolated step is the explicit midpoint rule, order 2); velocity Verlet (with the
  velocity predictor, order 2 with friction); energy control (``schemes.EnergyController``,
  Armijo lambda = 0.5, shrink 2, grow 2, first trial and largest step = eta: "LC-EGD at step
  eta"; on explicit Euler for the gradient flow, on semi-implicit Euler for heavy ball and
  Adam, whose explicit Euler never accepts a step from rest: REFERENCE.md §3);
* steps eta: 0.002 ... 0.4 (full), 0.005 and 0.1 (quick);
* reference map of each flow: Bogacki-Shampine 3 (``schemes.unrolled(diffrax.Bosh3())``,
  order 3) at the fixed step 0.0025; its convergence is checked against the same scheme at
  0.005 (share of starts with the same outcome, ``reference_convergence``; required
  >= 99.9 %). A fixed fine step instead of a tight PID controller: the lockstep
  error-controlled mapper costs several times more on 2 cores (Tsit5 at 0.005 / 0.01 gave
  the same maps on 64^2 for gradient flow and heavy ball). Adam under any Runge-Kutta
  scheme with more than one stage: in the first step v(0) = 0, and a later stage sees
  v < 0 where a component of g changes sign within the step (Bosh3's third stage is
  v0 + (3/4) h b (g2^2 - v2) with v2 = h b g0^2 / 2), so sqrt(v_hat) is NaN and the mapper
  calls the start diverged (measured with eps_root = 0: Tsit5 2 of 64^2 starts at
  h = 0.005, 8 at 0.01; Bosh3 2 of 192^2 at 0.0025 and 0.005). Hence eps_root = 1e-3:
  |v_hat| of such a stage is at most h b g_i0^2 / 2 with |g_i0| <~ (h/2)|dg_i/dt| (~0.25
  here), far below 1e-3; it changes the flow only through the denominator
  sqrt(v_hat + 1e-3) + eps >= 0.132.

Not every scheme applies to every flow (n/a cells, with the reason, in ``result.json``):
velocity Verlet needs a second-order flow (the library refuses gradient flow and Adam by
name, and its message is recorded); semi-implicit Euler of the gradient flow has nothing to
partition (the state is x alone): the library runs it and its end points equal explicit
Euler's, so it is the Euler row and is not repeated.

Agreement: ``fo.compare`` of the reference and the scheme's map (attractors matched by
position, never by label integer): the share of starts with the same outcome. Fractions:
the share of starts per minimum (mirror pairs also summed), diverged, and "other" (not
converged by t1, a cycle of the discrete map, a fixed point of the scheme, a saddle).

Linear stability limits (computed from the Hessian eigenvalues lambda of each minimum, by
jax.hessian; largest eigenvalues 16.49 (global pair), 22.70 (pair at f = -0.215), 10.02
(pair at f = 2.104)): explicit Euler and the midpoint rule (Euler-Richardson) of the
gradient flow lose a minimum for eta > 2/lambda_max = 0.121, 0.088, 0.200; heavy ball with
explicit Euler for eta > gamma/lambda_max (the same numbers with gamma = 2), with
semi-implicit Euler for eta > (-gamma + sqrt(gamma^2 + 4 lambda_max))/lambda_max = 0.39,
0.34, 0.46. Adam's end game (v -> 0, so x' = -m/S, S = sqrt(eps_root) + eps = 0.132, m' = a(g - m))
is a heavy ball with friction a and stiffness K = a lambda/S: explicit Euler needs
eta < a/K = S/lambda (0.0080, 0.0058, 0.0131), semi-implicit Euler
eta < (-a + sqrt(a^2 + 4K))/K (0.049, 0.043, 0.061) -- the limits once v has decayed
(v > 0 at any finite time makes K smaller). All of
them in ``result.json`` (``stability_limits``).

Protocol choices that are ours:

* grid of cell centres, 192 x 192 (full; 256 x 256 would take about 16/9 as long, beyond
  the 10 min budget on 2 shared cores) / 40 x 40 (quick: the gradient flow only, to fit
  the 20 s budget of the test suite, JAX compilation included);
* energy control at the steps 0.002, 0.01, 0.05, 0.1, 0.2, 0.4 only (it compiles anew for
  every largest step; quick: 0.1 only);
* horizon t1 = 20 (gradient flow), 40 (heavy ball, Adam): the reference converges from
  every start well before; the library's fixed-step stop (the update moves the state by
  at most tol * dt, tol = 1e-6, and the flow is stationary within 10 tol);
* energy control stops at max|grad f| <= 1e-4 and max|x'| <= 1e-4 (Bensaid's rule), at
  most 200 000 accepted steps. With tol = 1e-6 the Armijo test meets the rounding of f
  first: near a minimum the required decrease lambda h dE/dt (~1e-14 at |x - x*| ~ 4e-7)
  is below the noise of f's evaluation, every trial is rejected down to the step floor,
  and the library labels the start "not converged" (its floor rule asks for a Newton
  step <= sqrt(eps) max(1, |x|) ~ 2e-8); measured on the heavy ball at eta = 0.005: 47 % of
  a 20 x 20 map, against 0.5 % at eta = 0.02;
* Adam's eps = 0.1 instead of optax's 1e-8: with eps -> 0 the fixed-step Adam never
  settles (v -> 0 makes the effective step h / sqrt(v) grow until the iterate oscillates at
  a distance ~ h from the minimum; measured: at eta = 0.01 every start of a 32 x 32 map is
  "not converged" after t = 60), so no fixed-step map would agree with any reference and
  the atlas would show only that. With eps = 0.1 the end game is gradient descent with
  step h / eps.
"""

import argparse
import json
import math
import os
import textwrap
import time

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot  # noqa: E402,F401
import schemes  # noqa: E402
from flowopt.basins import DIVERGED  # noqa: E402

WINDOW = ((-2.0, 2.0), (-1.0, 1.0))
FRICTION = 2.0
ADAM = {"a": 10.0, "b": 1.0, "eps": 0.1, "eps_root": 1e-3}
FLOWS = ("gradient flow", "heavy ball", "Adam")
QUICK_FLOWS = ("gradient flow",)
SCHEMES = ("Euler", "semi-implicit Euler", "Euler-Richardson", "velocity Verlet",
           "energy control")
T1 = {"gradient flow": 20.0, "heavy ball": 40.0, "Adam": 40.0}
STEPS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.13, 0.2, 0.3, 0.4)
QUICK_STEPS = (0.005, 0.1)
# energy control recompiles for every largest step (its dtmax is part of the compiled
# controller): a subset of the steps keeps the full mode within 10 min on 2 cores
EC_STEPS = (0.002, 0.01, 0.05, 0.1, 0.2, 0.4)
QUICK_EC_STEPS = (0.1,)
# the columns of the map figure (full mode): per flow, a step inside and one beyond where
# its classical scheme changes the map
SHOW_STEPS = {"gradient flow": (0.05, 0.1), "heavy ball": (0.1, 0.4), "Adam": (0.01, 0.05)}
REF_STEP, REF_CHECK_STEP = 0.0025, 0.005
MAX_STEPS = 200_000
EC_TOL = 1e-4  # energy control's stop: max|grad f| <= 1e-4 and max|x'| <= 1e-4 (docstring)
# the three mirror pairs of minima, in the library's order of SixHumpCamel.minima
PAIRS = {"global (f=-1.032)": (0, 1), "local (f=-0.215)": (2, 3), "local (f=2.104)": (4, 5)}


def make_flow(name, loss):
    if name == "gradient flow":
        return fo.flows.GradientFlow(loss)
    if name == "heavy ball":
        return fo.flows.HeavyBall(loss, friction=FRICTION, mass=1.0)
    return fo.flows.Adam(loss, **ADAM)


def not_applicable(flow_name, scheme_name, flow, loss):
    """None for a valid pair, else the reason (the library's own refusal where it refuses)."""
    if scheme_name == "semi-implicit Euler" and flow_name == "gradient flow":
        return ("gradient flow: the state is x alone, nothing to partition; the library runs "
                "it as explicit Euler (identical end points), so it is the Euler row")
    if scheme_name == "velocity Verlet":
        try:  # the library refuses invalid pairs by name before computing anything
            fo.basins(flow, schemes.VelocityVerlet(), fo.Grid(WINDOW, (2, 2)), t1=0.01,
                      dt0=0.01)
        except ValueError as err:
            return f"refused by the library: {err}"
    return None


def scheme_of(flow_name, scheme_name, eta):
    """(scheme, controller, extra keywords) of one cell."""
    if scheme_name == "Euler":
        return schemes.Euler(), None, {}
    if scheme_name == "semi-implicit Euler":
        return schemes.SemiImplicitEuler(), None, {}
    if scheme_name == "Euler-Richardson":
        return schemes.EulerRichardson(), None, {}
    if scheme_name == "velocity Verlet":
        return schemes.VelocityVerlet(), None, {}
    base = schemes.Euler() if flow_name == "gradient flow" else schemes.SemiImplicitEuler()
    ctrl = schemes.EnergyController(armijo=0.5, shrink=2.0, grow=2.0, dtmax=eta)
    return base, ctrl, {"max_steps": MAX_STEPS, "tol": EC_TOL}


def stability_limits(loss):
    """Largest stable step per minimum pair, from the Hessian's largest eigenvalue."""
    hess = jax.hessian(lambda x: loss(x))
    out = {}
    for pair, (i, _) in PAIRS.items():
        lam = float(np.linalg.eigvalsh(np.asarray(hess(jax.numpy.asarray(loss.minima[i]))))[-1])
        g = FRICTION
        out[pair] = {"lambda_max": lam,
                     "gradient flow / Euler and Euler-Richardson (midpoint): 2/lambda": 2 / lam,
                     "heavy ball / Euler: gamma/lambda": g / lam,
                     "heavy ball / semi-implicit Euler: (-gamma+sqrt(gamma^2+4 lambda))/lambda":
                         (-g + math.sqrt(g * g + 4 * lam)) / lam}
        a = ADAM["a"]
        stiff = a * lam / (math.sqrt(ADAM["eps_root"]) + ADAM["eps"])
        out[pair]["Adam end game (v -> 0) / Euler: S/lambda, S = sqrt(eps_root)+eps"] = \
            a / stiff
        out[pair]["Adam end game (v -> 0) / semi-implicit Euler: (-a+sqrt(a^2+4K))/K, "
                  "K = a lambda/S"] = (-a + math.sqrt(a * a + 4 * stiff)) / stiff
    return out


def pair_of(position, loss):
    """Name of the minimum nearest ``position`` (within 1e-3), else None."""
    d = np.linalg.norm(np.asarray(loss.minima) - np.asarray(position)[None], axis=1)
    i = int(np.argmin(d))
    return i if d[i] < 1e-3 else None


def summarize(cmp, names, loss):
    """Agreement with the reference and fractions per outcome, from fo.compare."""
    ref = names[0]
    table = cmp["attractor_x"].values
    which = [pair_of(p, loss) for p in table]
    out = {}
    for n in names:
        frac = cmp["fraction"].sel(name=n).values
        by_min = {str(i): 0.0 for i in range(len(loss.minima))}
        other_attr = 0.0
        rest = {"diverged": 0.0, "other": 0.0}
        for o, f in zip(cmp.outcome.values, frac):
            o = int(o)
            if o >= 0:
                if which[o] is None:
                    other_attr += float(f)
                else:
                    by_min[str(which[o])] += float(f)
            elif o == DIVERGED:
                rest["diverged"] += float(f)
            else:
                rest["other"] += float(f)
        rest["other"] += other_attr
        out[n] = {"agreement": float(cmp["agreement"].sel(name=ref, other=n)),
                  "fraction_per_minimum": by_min,
                  "fraction_per_pair": {p: by_min[str(i)] + by_min[str(j)]
                                        for p, (i, j) in PAIRS.items()},
                  **{f"fraction_{k}": v for k, v in rest.items()},
                  "fraction_other_attractor": other_attr}
    return out


def key(scheme_name, eta):
    return f"{scheme_name} @ {eta:g}"


def run_flow(flow_name, loss, grid, steps, ec_steps, log):
    flow = make_flow(flow_name, loss)
    t1 = T1[flow_name]
    maps, timing, na = {}, {}, {}
    ref_scheme = schemes.unrolled(diffrax.Bosh3())
    for h, label in ((REF_STEP, "reference"), (REF_CHECK_STEP, "reference check")):
        t = time.perf_counter()
        maps[label] = fo.basins(flow, ref_scheme, grid, t1=t1, dt0=h)
        timing[label] = round(time.perf_counter() - t, 2)
        log(f"{flow_name:13s} {label:28s} {timing[label]:6.1f} s")
    for s in SCHEMES:
        why = not_applicable(flow_name, s, flow, loss)
        if why is not None:
            na[s] = why
            continue
        for eta in (ec_steps if s == "energy control" else steps):
            scheme, ctrl, kw = scheme_of(flow_name, s, eta)
            t = time.perf_counter()
            maps[key(s, eta)] = fo.basins(flow, scheme, grid, t1=t1, dt0=eta,
                                          controller=ctrl, **kw)
            timing[key(s, eta)] = round(time.perf_counter() - t, 2)
            log(f"{flow_name:13s} {key(s, eta):28s} {timing[key(s, eta)]:6.1f} s")
    names = list(maps)
    cmp = fo.compare(maps)
    summary = summarize(cmp, names, loss)
    aligned = fo.align(maps)
    ref_lab = aligned["reference"]["label"].values
    disagree = {n: aligned[n]["label"].values != ref_lab for n in names}
    return maps, aligned, disagree, summary, timing, na


def _panel(ax, bmap, mask, title, legend=False):
    fo.plot.basins(bmap, ax=ax, title=title, legend="below" if legend else False,
                   shade_time=False)
    if mask is not None and mask.any():
        over = np.zeros(mask.shape + (4,))
        over[mask] = (0.0, 0.0, 0.0, 0.75)
        ext = (bmap.x.values[0], bmap.x.values[-1], bmap.y.values[0], bmap.y.values[-1])
        dx = (ext[1] - ext[0]) / (len(bmap.x) - 1) / 2
        dy = (ext[3] - ext[2]) / (len(bmap.y) - 1) / 2
        ax.imshow(over, origin="lower", extent=(ext[0] - dx, ext[1] + dx, ext[2] - dy,
                                                ext[3] + dy),
                  aspect="auto", interpolation="nearest", zorder=4)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(labelsize=6)


def map_figure(flows_run, shown, res, path, dpi):
    """Rows: reference, then each scheme; columns: each flow at each shown step."""
    cols = [(f, eta) for f in flows_run for eta in shown[f]]
    rows = ["reference"] + list(SCHEMES)
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.7 * len(cols), 2.2 * len(rows)),
                             squeeze=False, layout="constrained")
    for c, (f, eta) in enumerate(cols):
        aligned, disagree = flows_run[f]["aligned"], flows_run[f]["disagree"]
        summ = res["flows"][f]["maps"]
        for r, row in enumerate(rows):
            ax = axes[r, c]
            if row == "reference":
                if eta == shown[f][0]:
                    _panel(ax, aligned["reference"], None,
                           f"{f}\nreference (Bosh3, h={REF_STEP:g})")
                else:
                    a = summ["reference check"]["agreement"]
                    _panel(ax, aligned["reference check"], disagree["reference check"],
                           f"{f}\nBosh3 h={REF_CHECK_STEP:g}: {100 * a:.2f}% agree")
                continue
            na = res["flows"][f]["not_applicable"].get(row)
            if na is not None:
                ax.axis("off")
                ax.text(0.5, 0.5, f"{row}: n/a\n" + textwrap.fill(na.split(" Use ")[0], 38),
                        ha="center", va="center", fontsize=6, transform=ax.transAxes)
                continue
            k = key(row, eta)
            if k not in aligned:
                ax.axis("off")
                ax.text(0.5, 0.5, f"{row}, eta={eta:g}: not run", ha="center", va="center",
                        fontsize=7, transform=ax.transAxes)
                continue
            _panel(ax, aligned[k], disagree[k],
                   f"{row}, eta={eta:g}\n{100 * summ[k]['agreement']:.1f}% agree")
    fig.suptitle("Six-hump camel on [-2,2]x[-1,1]: basins of the discrete optimizers vs the "
                 "flow's reference (black: start ends elsewhere than under the reference; "
                 "colour = minimum, matched by position)", fontsize=10)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def curve_figure(flows_run, steps, res, path, dpi):
    cols = ["agreement"] + list(PAIRS) + ["diverged", "other"]
    flows = list(flows_run)
    fig, axes = plt.subplots(len(flows), len(cols), figsize=(3.0 * len(cols), 2.6 * len(flows)),
                             squeeze=False, layout="constrained")
    colours = dict(zip(SCHEMES, ["C0", "C1", "C2", "C3", "C4"]))
    for r, f in enumerate(flows):
        summ = res["flows"][f]["maps"]
        ref = summ["reference"]
        for c, col in enumerate(cols):
            ax = axes[r, c]
            for s in SCHEMES:
                if s in res["flows"][f]["not_applicable"]:
                    continue
                ys, xs = [], []
                for eta in steps:
                    if key(s, eta) not in summ:
                        continue
                    xs.append(eta)
                    m = summ[key(s, eta)]
                    ys.append(m["agreement"] if col == "agreement" else
                              m["fraction_per_pair"][col] if col in PAIRS else
                              m[f"fraction_{col}"])
                ax.plot(xs, ys, "o-", ms=3, color=colours[s], label=s)
            if col != "agreement":
                yref = ref["fraction_per_pair"][col] if col in PAIRS else ref[f"fraction_{col}"]
                ax.axhline(yref, color="k", ls="--", lw=0.8, label="reference")
            lim_key = {"gradient flow": "gradient flow / Euler and Euler-Richardson (midpoint): "
                                        "2/lambda",
                       "heavy ball": "heavy ball / semi-implicit Euler: "
                                     "(-gamma+sqrt(gamma^2+4 lambda))/lambda",
                       "Adam": "Adam end game (v -> 0) / semi-implicit Euler: "
                               "(-a+sqrt(a^2+4K))/K, K = a lambda/S"}.get(f)
            if lim_key and col in PAIRS:
                lim = res["stability_limits"][col][lim_key]
                if steps[0] <= lim <= steps[-1]:
                    ax.axvline(lim, color="grey", ls=":", lw=1)
            ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.03)
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(col if col == "agreement" else
                             f"fraction {col}" + (" pair" if col in PAIRS else ""), fontsize=9)
            if c == 0:
                ax.set_ylabel(f, fontsize=9)
            if r == len(flows) - 1:
                ax.set_xlabel("step eta", fontsize=8)
    h, lab = axes[0, 1].get_legend_handles_labels()
    for rr in range(len(flows)):
        hh, ll = axes[rr, 1].get_legend_handles_labels()
        for a, b in zip(hh, ll):
            if b not in lab:
                h.append(a)
                lab.append(b)
    fig.legend(h, lab, loc="outside lower center", ncol=len(lab), fontsize=8, frameon=False)
    fig.suptitle("Agreement with the flow's reference map and basin fractions against the "
                 "step (dotted: linear stability limit of the pair for Euler (gradient flow), "
                 "semi-implicit Euler (heavy ball; Adam's end game))", fontsize=9)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="40 x 40 starts, gradient flow only, steps 0.005 and 0.1")
    ap.add_argument("--n", type=int, default=None, help="grid side (default 192; quick 40)")
    ap.add_argument("--out", default=os.path.join("studies", "results", "discretization_atlas"))
    args = ap.parse_args(argv)
    n = args.n or (40 if args.quick else 192)
    if n < 4 or n % 2:
        raise ValueError(f"--n {n}: give an even grid side >= 4 (the symmetric grid keeps "
                         "mirror starts x, -x both in the map).")
    flows = QUICK_FLOWS if args.quick else FLOWS
    steps = QUICK_STEPS if args.quick else STEPS
    ec_steps = QUICK_EC_STEPS if args.quick else EC_STEPS
    shown = {f: QUICK_STEPS for f in flows} if args.quick else SHOW_STEPS
    os.makedirs(args.out, exist_ok=True)
    t_all = time.perf_counter()
    loss = fo.landscapes.SixHumpCamel()
    grid = fo.Grid(WINDOW, (n, n))
    res = {"study": "discretization_atlas", "quick": args.quick,
           "paper": "none (ours, issue 11): claim -- consistent schemes reproduce the flow's "
                    "basins as the step shrinks, and depart from them where the step passes a "
                    "stability limit of a minimum",
           "protocol": {"landscape": "SixHumpCamel", "window": WINDOW, "grid": [n, n],
                        "steps": steps, "energy_control_steps": ec_steps, "t1": T1, "heavy_ball": {"friction": FRICTION,
                                                                 "mass": 1.0},
                        "adam": ADAM, "reference": {"scheme": "Bosh3 (fixed step)",
                                                    "step": REF_STEP,
                                                    "check_step": REF_CHECK_STEP},
                        "energy_control": {"armijo": 0.5, "shrink": 2.0, "grow": 2.0,
                                           "dtmax": "eta", "max_steps": MAX_STEPS,
                                           "tol": EC_TOL},
                        "tol": 1e-6},
           "minima": np.asarray(loss.minima).tolist(),
           "pairs": {p: list(ij) for p, ij in PAIRS.items()},
           "stability_limits": stability_limits(loss), "flows": {}, "runtime_s": {}}
    flows_run = {}
    for f in flows:
        maps, aligned, disagree, summary, timing, na = run_flow(
            f, loss, grid, steps, ec_steps, lambda s: print(s, flush=True))
        flows_run[f] = {"aligned": aligned, "disagree": disagree}
        table = {s: {f"{eta:g}": (round(summary[key(s, eta)]["agreement"], 5)
                                  if key(s, eta) in summary else None)
                     for eta in steps} for s in SCHEMES}
        res["flows"][f] = {"maps": summary, "not_applicable": na,
                           "agreement_table": table,
                           "reference_convergence": summary["reference check"]["agreement"]}
        res["runtime_s"].update({f"{f}/{k}": v for k, v in timing.items()})
        del maps
    dpi = 70 if args.quick else 110
    map_figure(flows_run, shown, res, os.path.join(args.out, "atlas_maps.png"), dpi)
    curve_figure(flows_run, steps, res, os.path.join(args.out, "atlas_curves.png"), dpi)
    res["runtime_s"]["total"] = round(time.perf_counter() - t_all, 1)
    with open(os.path.join(args.out, "result.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    for f in flows:
        print(f"{f}: reference convergence {100 * res['flows'][f]['reference_convergence']:.3f}%")
        for s, row in res["flows"][f]["agreement_table"].items():
            print(f"  {s:20s} " + " ".join("    - " if v is None else f"{100 * v:6.2f}"
                                           for v in row.values()))
    print(f"total {res['runtime_s']['total']} s -> {args.out}")
    return res


def _hessian_max_eig(x, y):
    """Largest Hessian eigenvalue of the six-hump camel at (x, y), by hand:
    f_xx = 8 - 25.2 x^2 + 10 x^4, f_xy = 1, f_yy = -8 + 48 y^2."""
    fxx, fyy = 8 - 25.2 * x**2 + 10 * x**4, -8 + 48 * y**2
    return 0.5 * (fxx + fyy) + math.sqrt(0.25 * (fxx - fyy) ** 2 + 1.0)


def check(result):
    """Independent facts: (1) the fine reference is converged (Bosh3 at two steps agree on
    >= 99.9 % of the starts); (2) the reference's fractions sum to 1 and mirror minima
    (f(-x) = f(x), symmetric window and grid) have equal fractions; (3) every consistent
    scheme agrees with the reference on >= 99 % of the starts at the smallest step;
    (4) explicit Euler of the gradient flow at eta > 2/lambda_max of a minimum (lambda_max
    from the hand-written Hessian of the camel) has no start ending there, while it keeps
    the minima whose limit eta is below; (5) energy control never diverges (its accepted
    steps decrease f + kinetic energy, whose sublevel sets are bounded)."""
    minima = np.asarray(result["minima"])
    steps = [float(s) for s in result["protocol"]["steps"]]
    n = result["protocol"]["grid"][0]
    for f, fl in result["flows"].items():
        assert fl["reference_convergence"] >= 0.999, (f, fl["reference_convergence"])
        ref = fl["maps"]["reference"]
        tot = (sum(ref["fraction_per_minimum"].values()) + ref["fraction_diverged"]
               + ref["fraction_other"])  # "other" holds any attractor not a known minimum
        assert abs(tot - 1.0) < 1e-9, (f, tot)
        assert ref["fraction_diverged"] == 0.0, f
        pm = ref["fraction_per_minimum"]
        for i, j in result["pairs"].values():
            assert abs(pm[str(i)] - pm[str(j)]) <= 2.0 / n**2, (f, i, j, pm)
            assert pm[str(i)] > 0.0, (f, i)
        for s, row in fl["agreement_table"].items():
            if s in fl["not_applicable"]:
                assert all(v is None for v in row.values())
                continue
            run = [v for v in row.values() if v is not None]
            assert run and run[0] >= 0.99, (f, s, row)  # at the scheme's smallest step
        for eta in result["protocol"]["energy_control_steps"]:
            ec = fl["maps"][f"energy control @ {eta:g}"]
            assert ec["fraction_diverged"] == 0.0, (f, eta)
    gf = result["flows"]["gradient flow"]["maps"]
    lost = kept = 0
    for pair, (i, j) in result["pairs"].items():
        lim = 2.0 / _hessian_max_eig(*minima[i])
        assert abs(lim - 2.0 / _hessian_max_eig(*minima[j])) < 1e-9  # mirror minima
        for eta in steps:
            frac = gf[f"Euler @ {eta:g}"]["fraction_per_pair"][pair]
            if eta > lim * 1.001:
                assert frac == 0.0, (pair, eta, lim, frac)
                lost += 1
            elif eta < lim * 0.999:
                assert frac > 0.0, (pair, eta, lim, frac)
                kept += 1
    assert lost >= 1 and kept >= 1, (lost, kept)  # the steps straddle some limit


if __name__ == "__main__":
    main()
