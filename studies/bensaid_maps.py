"""Sensitivity-to-initialization maps of the single-neuron networks (Bensaid, seed 004).

Paper: B. Bensaid, "Deterministic optimisation in Deep Learning from a continuous and
energetic point of view" (PhD abstract, seed 004), Figure 1 ("Sensitivity to the initial
conditions": 1a GD, 1b Adam, 1c the corrected/adaptive GD) and the statistical study it
describes; protocol of the authors as in REFERENCE.md §3 and §5.

What it reproduces: on polyTwo ... polyFive over [-3, 3]^2, the basin maps of

* GD, momentum and Adam: the classical algorithms at the authors' eta = 0.1 (explicit
  Euler of the gradient flow; semi-implicit Euler of the heavy-ball and Adam flows, which
  is exactly optax.sgd(0.1, momentum=0.9) and optax.adam(0.1));
* ER: Euler-Richardson adaptive GD of the authors' code (variant "bensaid", tol = 0.01,
  eta0 = 0.1, eta <- 0.9 eta / sqrt(err));
* GD-EC, Momentum-EC, Adam-EC: the energy-controlled (LC-EGD) versions of the three
  (schemes.EnergyController, Armijo lambda = 0.5, shrink 2, grow 2, first trial 0.1);

and turns the seed's four claims into numbers (``result.json``, ``claims``):

1. "Adam is highly sensitive to initialization": ``min_boundary_fraction``, the share of
   converged starts with a 4-neighbour that reached another minimum (divergence fronts
   excluded, else GD's large diverged regions would count as sensitivity); the plain
   ``fo.boundary_fraction`` and basin entropy S_b (Daza et al. 2016, 5 x 5 boxes) beside
   it. Supported when Adam's exceeds GD's and GD-EC's on at least 3 of the 4 networks.
2. "starting very close to a minimum the optimizer may converge to another one":
   ``fo.escape_fraction`` (share of the starts within r = 0.25, 0.5, 1 of a minimum that
   end anywhere else) and ``fo.capture_radius``; supported when Adam has escaping starts
   within r = 0.5 of some minimum on some network.
3. "GD has many diverging trajectories while its corrected version remains stable in
   the whole domain": percent diverging per method; supported when GD diverges on every
   network and GD-EC and ER diverge nowhere.
4. "first-order algorithms do not reach maxima or saddles": percent of starts whose end
   point lies within 0.05 of a saddle or maximum (all critical points computed exactly
   from the separable form of R, ``critical_points``), against the percent of grid
   starts lying exactly on the invariant lines b = 0 and w + b = 0 (measure zero: a
   start there keeps sigma'(.) = 0 in one coordinate and may end at a saddle; random
   starts never hit them); supported when no classical method (GD, momentum, Adam)
   exceeds that share on any network. The library's label -3 (Hessian test) is
   reported beside it.

The seed prints no numbers (only the figure); ``paper`` entries therefore give the claim
in words, and our number beside it.

Protocol choices the paper leaves open (ours):

* Starts: a regular grid of 100 x 100 cell centres on [-3, 3]^2 (10,000 starts, as the
  authors' 10,000 uniform random starts) instead of random starts, so maps can be drawn
  and boundary metrics computed. Quick mode: 20 x 20 on polyTwo and polyFive.
* Hyper-parameters of momentum and Adam: optax defaults (momentum 0.9; b1 = 0.9,
  b2 = 0.999, eps = 1e-8). The seed does not give them.
* Stop: at most 20,000 iterations (t1 = 2000 = 20,000 eta); a start has converged at
  tol = 1e-4 (fixed steps: the update moves it by <= tol*eta and max|grad R| <= 1e-3;
  energy control: max|grad R| <= 1e-4 and max|velocity| <= 1e-4), close to the authors'
  ||grad R|| < 1e-4.
* Reaching a minimum: both the library's labels (``percent``: nearest true minimum
  within 0.3, else a Hessian / higher-order test and discovery of new minima; the maps
  are drawn from them) and the authors' rule (``percent_authors_rule``: the end point
  lies within 0.05 of a minimum). They differ where a stop rule freezes a start far
  from a degenerate critical point (polyFive; the Euler-Richardson error controller).
* The true minima passed to the mapper are those of ``critical_points`` (the four of
  REFERENCE.md §5 on every network).
* Diverging: a non-finite step or a position beyond 10^6 domain widths (library rule)
  instead of the authors' ||grad R|| > 1000. With eta = 0.1 and polynomial activations a
  start whose gradient exceeds 1000 jumps by > 100 and blows up, so the counts coincide
  in practice (not checked start by start).
* Energy-controlled and ER runs: the same 20,000 accepted-step cap and t1 = 2000.
"""

import argparse
import json
import os
import time

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import numpy as np  # noqa: E402
import optimistix  # noqa: E402

import flowopt as fo  # noqa: E402
import flowopt.plot  # noqa: E402,F401
import schemes  # noqa: E402
from flowopt.basins import CYCLE, DIVERGED, NOT_CONVERGED, SADDLE, SPURIOUS  # noqa: E402

ETA = 0.1
MAX_ITER = 20_000
TOL = 1e-4
ESCAPE_R = 0.25
ESCAPE_RADII = (0.25, 0.5, 1.0)
KINDS = ("polyTwo", "polyThree", "polyFour", "polyFive")
QUICK_KINDS = ("polyTwo", "polyFive")
METHODS = ("GD", "Momentum", "Adam", "ER", "GD-EC", "Momentum-EC", "Adam-EC")
CLASSICAL = ("GD", "Momentum", "Adam")

# activations sigma(z) as polynomial coefficients, lowest degree first (REFERENCE.md §5)
_P = np.polynomial.polynomial
SIGMA = {
    "polyTwo": [-1.0, 0.0, 1.0],
    "polyThree": [5.0, 0.0, -3.0, 2.0],
    "polyFour": [3.0, 0.0, -2.0, 0.0, 1.0],
    "polyFive": list(_P.polymul(_P.polymul([1.0, 2.0, 1.0], [-3.0, 1.0]), [4.0, -3.0, 1.0])),
}


def critical_points(kind):
    """All critical points of R(w, b) = [sigma(b)^2 + sigma(w + b)^2] / 4, exactly: R is
    separable in u = b, v = w + b, so its critical points are the pairs of critical
    points z of sigma(z)^2 (real roots of sigma sigma'), and its minima the pairs of 1-D
    minima. Returns (minima, non_minima) as (w, b) arrays. The library's NeuronPoly lists
    only the four minima of REFERENCE.md; polyFive has more local minima (R > 0, e.g.
    (+-2, -+1) with R = 64), which the maps do reach."""
    s2 = _P.polymul(SIGMA[kind], SIGMA[kind])
    roots = _P.polyroots(_P.polyder(s2))
    roots = np.unique(np.round(roots[np.abs(roots.imag) < 1e-4].real, 4))  # multiple roots
    val = lambda z: _P.polyval(z, s2)
    is_min = {z: bool(val(z - 1e-3) > val(z) and val(z + 1e-3) > val(z)) for z in roots}
    mins, others = [], []
    for u in roots:
        for v in roots:
            (mins if is_min[u] and is_min[v] else others).append((v - u, u))
    return np.array(mins), np.array(others)


def method(name, loss):
    """(flow, scheme, controller) of one method."""
    if name.startswith("GD") or name == "ER":
        flow = fo.flows.GradientFlow(loss)
    elif name.startswith("Momentum"):
        flow = fo.flows.HeavyBall.from_optax(loss, ETA, 0.9)
    else:
        flow = fo.flows.Adam.from_optax(loss, ETA, b1=0.9, b2=0.999, eps=1e-8)
    scheme = schemes.Euler() if name.startswith("GD") else schemes.SemiImplicitEuler()
    controller = None
    if name == "ER":
        scheme = schemes.EulerRichardson(variant="bensaid")
        controller = diffrax.PIDController(rtol=0.0, atol=0.01, pcoeff=0.0, icoeff=1.0,
                                           safety=0.9, norm=optimistix.two_norm)
    elif name.endswith("-EC"):
        controller = schemes.EnergyController(armijo=0.5, shrink=2.0, grow=2.0)
    return flow, scheme, controller


def run_map(kind, name, n):
    loss = fo.landscapes.NeuronPoly(kind)
    flow, scheme, controller = method(name, loss)
    kw = {} if controller is None else {"max_steps": MAX_ITER}
    mins, _ = critical_points(kind)
    return fo.basins(flow, scheme, fo.Grid(loss.domain, (n, n)), t1=MAX_ITER * ETA,
                     dt0=ETA, controller=controller, tol=TOL, attractors=mins, **kw)


def summarize(kind, bmap):
    lab = bmap["label"].values
    mins = bmap["attractor_x"].values
    n_true = len(critical_points(kind)[0])  # passed first; the rest were discovered
    pct = {(f"min {tuple(np.round(p, 3).tolist())}" if i < n_true else
            f"found {i} {tuple(np.round(p, 4).tolist())}"): 100.0 * float((lab == i).mean())
           for i, p in enumerate(mins)}
    pct["diverged"] = 100.0 * float((lab == DIVERGED).mean())
    pct["saddle_or_max"] = 100.0 * float((lab == SADDLE).mean())
    pct["not_converged"] = 100.0 * float((lab == NOT_CONVERGED).mean())
    pct["cycle_or_scheme_fixed_point"] = 100.0 * float(np.isin(lab, [CYCLE, SPURIOUS]).mean())
    ends = bmap["final_x"].values.reshape(-1, 2)
    near = np.zeros(len(ends), bool)
    for p in critical_points(kind)[1]:
        near |= np.linalg.norm(ends - p, axis=1) <= 0.05
    pct["ends_within_0.05_of_saddle_or_max"] = 100.0 * float(near.mean())
    # the authors' rule: a start reaches a minimum if it ends within 0.05 of it
    true_min, _ = critical_points(kind)
    dist = np.linalg.norm(ends[:, None] - true_min[None], axis=-1)
    div = lab.ravel() == DIVERGED
    authors = {f"min {tuple(p.tolist())}": 100.0 * float(((dist[:, i] <= 0.05) & ~div).mean())
               for i, p in enumerate(true_min)}
    authors["diverged"] = 100.0 * float(div.mean())
    authors["else"] = 100.0 - sum(authors.values())
    sb, sbb = fo.basin_entropy(bmap, box=5 if min(lab.shape) >= 5 else 1)
    esc = {r: fo.escape_fraction(bmap, r) for r in ESCAPE_RADII}
    # boundaries between two minima only (divergence fronts excluded)
    a, b2 = lab[:, 1:], lab[:, :-1]
    c, d = lab[1:], lab[:-1]
    edge = np.zeros(lab.shape, bool)
    dx = (a != b2) & (a >= 0) & (b2 >= 0)
    dy = (c != d) & (c >= 0) & (d >= 0)
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    conv = lab >= 0
    x0 = np.stack(np.meshgrid(bmap.x.values, bmap.y.values), -1).reshape(-1, 2)
    on_line = (x0[:, 0] + x0[:, 1] == 0) | (x0[:, 1] == 0)  # invariant lines v = 0, u = 0
    return {
        "percent": pct,
        "percent_authors_rule": authors,
        "capture_radius": [float(r) for r in fo.capture_radius(bmap).values],
        **{f"escape_fraction_r{r}": [None if np.isnan(v) else float(v) for v in e.values]
           for r, e in esc.items()},
        **{f"starts_within_r{r}": e.attrs["starts_within"] for r, e in esc.items()},
        "min_boundary_fraction": float(edge[conv].mean()) if conv.any() else 0.0,
        "percent_starts_on_invariant_lines": 100.0 * float(on_line.mean()),
        "boundary_fraction": fo.boundary_fraction(bmap),
        "basin_entropy": sb, "boundary_basin_entropy": sbb,
        "minima": mins.tolist(),
    }


def judge(res, kinds):
    """The seed's claims as numbers, with a verdict each."""
    L = res["landscapes"]
    c = {}
    bf = {k: {m: L[k][m]["boundary_fraction"] for m in METHODS} for k in kinds}
    mb = {k: {m: L[k][m]["min_boundary_fraction"] for m in METHODS} for k in kinds}
    wins = [k for k in kinds if mb[k]["Adam"] > max(mb[k]["GD"], mb[k]["GD-EC"])]
    c["adam_sensitive"] = {
        "paper": "Adam is highly sensitive to initialization (Fig. 1b)",
        "number": "share of converged starts with a 4-neighbour that reached another "
                  "minimum (min_boundary_fraction; divergence fronts excluded); the plain "
                  "boundary_fraction and basin entropy beside it",
        "ours": mb, "boundary_fraction": bf,
        "basin_entropy": {k: {m: L[k][m]["basin_entropy"] for m in METHODS} for k in kinds},
        "networks_where_adam_exceeds_gd_and_gd_ec": wins,
        "networks_where_momentum_exceeds_adam": [k for k in kinds
                                                 if mb[k]["Momentum"] > mb[k]["Adam"]],
        "verdict": len(wins) >= max(1, (3 * len(kinds) + 3) // 4),
    }
    esc = {r: {k: {m: max([v for v in L[k][m][f"escape_fraction_r{r}"] if v is not None],
                          default=0.0) for m in METHODS} for k in kinds}
           for r in ESCAPE_RADII}
    cr = {k: {m: min(L[k][m]["capture_radius"]) for m in METHODS} for k in kinds}
    c["close_start_escapes"] = {
        "paper": "starting very close to a minimum the optimizer (Adam) may converge to "
                 "another one",
        "number": "largest share over minima of the starts within r of a minimum that end "
                  "elsewhere, r = 0.25, 0.5, 1; smallest capture radius over minima",
        "ours_escape_fraction": {str(r): v for r, v in esc.items()},
        "ours_min_capture_radius": cr,
        "verdict": any(esc[0.5][k]["Adam"] > 0 for k in kinds),
    }
    div = {k: {m: L[k][m]["percent"]["diverged"] for m in METHODS} for k in kinds}
    c["gd_diverges_corrected_stable"] = {
        "paper": "many diverging trajectories for GD (Fig. 1a) whereas its corrected "
                 "version remains stable in the whole domain (Fig. 1c)",
        "number": "percent of starts diverging per method",
        "ours": div,
        "verdict": all(div[k]["GD"] > 0 and div[k]["GD-EC"] == 0 and div[k]["ER"] == 0
                       for k in kinds),
    }
    sad = {k: {m: L[k][m]["percent"]["saddle_or_max"] for m in METHODS} for k in kinds}
    near = {k: {m: L[k][m]["percent"]["ends_within_0.05_of_saddle_or_max"] for m in METHODS}
            for k in kinds}
    line = {k: L[k]["GD"]["percent_starts_on_invariant_lines"] for k in kinds}
    ok = {k: {m: near[k][m] <= line[k] + 1e-9 for m in METHODS} for k in kinds}
    c["no_saddles_or_maxima"] = {
        "paper": "the usual algorithms of order one do not get any maximums or saddle "
                 "points",
        "number": "percent of starts ending within 0.05 of a saddle or maximum (exact "
                  "critical points), against the percent of grid starts lying exactly on "
                  "the invariant lines b = 0, w + b = 0 (a set of measure zero, which "
                  "random starts never hit); the library's label -3 beside it",
        "ours_near_saddle_or_max": near, "ours_label_stationary_non_minimum": sad,
        "percent_starts_on_invariant_lines": line,
        "holds_per_network_and_method": ok,
        "verdict": all(ok[k][m] for k in kinds for m in CLASSICAL),
        "all_methods": all(ok[k][m] for k in kinds for m in METHODS),
    }
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="polyTwo and polyFive on 20 x 20 starts (tests)")
    ap.add_argument("--out", default=os.path.join("studies", "results", "bensaid_maps"))
    args = ap.parse_args(argv)
    kinds, n = (QUICK_KINDS, 20) if args.quick else (KINDS, 100)
    os.makedirs(args.out, exist_ok=True)
    t_all = time.perf_counter()
    res = {"study": "bensaid_maps", "quick": args.quick,
           "paper": "Bensaid, seed 004, Fig. 1 and the statistical study (no numbers "
                    "printed: the claims are qualitative)",
           "protocol": {"grid": [n, n], "domain": [[-3, 3], [-3, 3]], "eta": ETA,
                        "max_iterations": MAX_ITER, "tol": TOL, "escape_radii": ESCAPE_RADII,
                        "momentum": 0.9, "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
                        "er": {"variant": "bensaid", "tol": 0.01, "eta0": ETA},
                        "energy_control": {"armijo": 0.5, "shrink": 2.0, "grow": 2.0}},
           "landscapes": {}, "runtime_s": {}}
    for kind in kinds:
        maps, res["landscapes"][kind] = {}, {}
        for name in METHODS:
            t = time.perf_counter()
            maps[name] = run_map(kind, name, n)
            res["runtime_s"][f"{kind}/{name}"] = round(time.perf_counter() - t, 2)
            with np.errstate(over="ignore", invalid="ignore"):  # diverged end points
                res["landscapes"][kind][name] = summarize(kind, maps[name])
            print(f"{kind:9s} {name:12s} {res['runtime_s'][f'{kind}/{name}']:6.1f} s  "
                  + "  ".join(f"{k} {v:.1f}" for k, v in
                              res["landscapes"][kind][name]["percent_authors_rule"].items()
                              if v) + "  near saddle/max "
                  + f"{res['landscapes'][kind][name]['percent']['ends_within_0.05_of_saddle_or_max']:.1f}",
                  flush=True)
        fig = fo.plot.panels(maps, loss=fo.landscapes.NeuronPoly(kind), ncols=4,
                             title=f"{kind}: basins on [-3, 3]$^2$, eta = {ETA} "
                                   f"({n} x {n} starts)")
        fig.savefig(os.path.join(args.out, f"{kind}.png"), dpi=80 if args.quick else 100)
        matplotlib.pyplot.close(fig)
    res["claims"] = judge(res, kinds)
    res["runtime_s"]["total"] = round(time.perf_counter() - t_all, 1)
    with open(os.path.join(args.out, "result.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    for name, c in res["claims"].items():
        print(f"claim {name}: {'supported' if c['verdict'] else 'NOT supported'}")
    print(f"total {res['runtime_s']['total']} s -> {args.out}")
    return res


# key numbers checked by tests/test_studies.py on the --quick result
def check(result):
    """Seed 004: shares sum to 100%; polyTwo's R(w, b) = R(-w, -b) gives mirror minima
    equal shares on the symmetric grid; GD diverges on part of the domain while its
    energy-controlled and Euler-Richardson versions never do; LC-EGD keeps a ball around
    every minimum of polyTwo."""
    lands = result["landscapes"]
    for kind, methods in lands.items():
        for name, m in methods.items():
            pct = {k: v for k, v in m["percent"].items() if not k.startswith("ends_within")}
            assert abs(sum(pct.values()) - 100.0) < 1e-6, (kind, name)
    two = lands["polyTwo"]
    for name in ["GD", "GD-EC"]:
        p = two[name]["percent"]
        assert abs(p["min (2.0, -1.0)"] - p["min (-2.0, 1.0)"]) < 0.5
        assert abs(p["min (0.0, -1.0)"] - p["min (0.0, 1.0)"]) < 0.5
    assert two["GD"]["percent"]["diverged"] > 10.0
    for kind in lands:
        assert lands[kind]["GD-EC"]["percent"]["diverged"] == 0.0, kind
        assert lands[kind]["ER"]["percent"]["diverged"] == 0.0, kind
    assert min(two["GD-EC"]["capture_radius"]) > 0.0
    assert result["claims"]["gd_diverges_corrected_stable"]["verdict"]


if __name__ == "__main__":
    main()
