"""Inan, Liu & Shehu, "Evaluating optimizers by their stationary distribution" (seed 002),
Table 1: the stationary distribution of GD, NiG-GD, NiM-GD, SAM, NiG-BH, NiM-BH, NiG-MBH
and NiM-MBH over the minima of Himmelblau, the three-hump camel and the six-hump camel,
from 500 uniform random restarts each.

What it reproduces: every cell of Table 1 (percent of end points per known minimum, then
"Else"), pooled over several seeds of 500 restarts, beside the paper's printed percentage,
with a flag per cell saying whether the difference is beyond sampling error (two-sided
two-proportion z-test of our pooled count against the paper's count out of 500, p < 0.01),
and, for the deterministic optimizers (GD, SAM), the exact-limit fractions from a large grid
map (``fo.basins`` on a ``fo.Grid`` over the whole domain: the share of the domain's area
in each basin, up to the grid's resolution), tested against the paper's count by a
binomial test -- so sampling noise (ours or the paper's) and protocol differences can be
told apart.

Protocol choices the paper leaves open (all also written to result.json):

- Domains: the library's (``loss.domain``): Himmelblau [-6, 6]^2, three-hump camel
  [-5, 5]^2, six-hump camel [-3, 3] x [-2, 2]. Starts ``fo.sample_uniform``.
- Three-hump camel with the standard coefficient 1.05 (the paper prints 1.04, which moves
  the local minima from (+-1.7476, -+0.8738) to (+-1.7289, -+0.8644); basins barely move).
- Column order (the paper: global minima first, then local ones, "flatter before
  sharper"): Himmelblau GM1..GM4 = (3, 2), (3.584, -1.848), (-2.805, 3.131),
  (-3.779, -3.283) (ascending Hessian determinant); three-hump GM = (0, 0), LM1 =
  (1.748, -0.874), LM2 = (-1.748, 0.874); six-hump GM1 = (0.0898, -0.7127), GM2 =
  (-0.0898, 0.7127), LM1 = (1.704, -0.796), LM2 = (-1.704, 0.796), LM3 = (1.607, 0.569),
  LM4 = (-1.607, -0.569). By Hessian, LM3/LM4 (f = 2.10, eigenvalues 7.1, 10.0) are
  flatter than LM1/LM2 (f = -0.215; 18.8, 22.7), against the paper's "ordered by
  sharpness"; we keep the order that puts the small basins last, as the paper's numbers
  do. Which of each symmetric pair is "1" cannot be read from the paper: f is symmetric
  under x -> -x, so each pair must get equal shares, which the printed six-hump numbers
  (GD: GM1 4.25 vs GM2 23.5, LM3 1.5 vs LM4 10.25) do not -- see result.json "notes".
- All optimizers: explicit Euler, learning rate eta = 1e-3 (the largest round value stable
  from the domains' corners of Himmelblau, where |grad f| ~ 10^3), budget T = 20000 steps.
- GD, NiG-GD, SAM: ``fo.basins`` (fixed steps, t1 = T eta, tol = 1e-3 float32: a start stops
  once stationary), end points labelled as the restart processes' (below), not by the
  mapper's stationarity test: SAM (rho = 0.05) settles next to a minimum, where
  grad f(x + rho g/|g|) = 0, not on a stationary point of f, and the mapper calls all of
  its runs "Else".
  NiG-GD: ``fo.flows.NoisyGradient`` (noise uniform in the ball of radius rho_g = 1.0 added
  to every gradient; runs to t1). SAM: ``fo.flows.SAM`` with rho = 0.05 (Foret et al.).
- NiM-GD: ``fo.restarts.NiM``, kick radius rho = 0.5 whenever max|grad f| < 1e-3 after
  tau = 1000 steps, budget T.
- BH / MBH: ``fo.restarts.BasinHopping`` / ``MonotonicBasinHopping``: local search of at most
  5000 steps stopping at max|grad f| < 1e-3, 10 hops of radius 0.5; NiM-* hops the model
  with plain GD local searches, NiG-* uses the NiG-GD flow (rho_g = 1.0) as local search and
  hops the model as well (the library's one hopping process; the paper's PerturbGradient
  Alg. 7 is not printed in the seed text). The final (not best) minimum is reported.
- All end points are labelled by ``fo.restarts.label_points`` (nearest known minimum
  within half the closest distance between minima, else "Else").
- Significance: alpha = 0.01; the paper's printed percentages are taken as counts out of 500.
  Damaged cells (unreadable glyphs in the seed text) are kept as their raw text, not compared.

Run: ``python -m studies.inan_table1`` (full: 500 restarts x 5 seeds, 512^2 exact maps) or
``--quick`` (40 restarts, 1 seed, GD and NiG-BH, 64^2 maps).
"""

import argparse
import json
import os
import time

import numpy as np

NAME = "inan_table1"
OPTIMIZERS = ["GD", "NiG-GD", "NiM-GD", "SAM", "NiG-BH", "NiM-BH", "NiG-MBH", "NiM-MBH"]
QUICK_OPTIMIZERS = ["GD", "NiG-BH"]
COLUMNS = {"Himmelblau": ["GM1", "GM2", "GM3", "GM4"],
           "ThreeHumpCamel": ["GM", "LM1", "LM2"],
           "SixHumpCamel": ["GM1", "GM2", "LM1", "LM2", "LM3", "LM4"]}
PROTOCOL = dict(learning_rate=1e-3, steps=20000, gtol=1e-3, nig_radius=1.0, sam_rho=0.05,
                nim_radius=0.5, nim_wait=1000, bh_local_steps=5000, bh_hops=10,
                bh_radius=0.5, three_hump_coefficient=1.05, alpha=0.01,
                scheme="explicit Euler", float="float32", report="final minimum of BH")

# Table 1 as printed in seed 002, cell by cell (raw text; tabs split the columns).
_RAW = """GD	28	25	າາ	24		32	35	33		4.25	23.5	22.75	17.25	1.5	10.25	20.5
NiG-GD	28	23	~ 22	Δ		31	35	34	√	13.5	16.4	14.6	15.5	0.4	l.6	38
NiM-GD	30	27	~	20		34	34	32	Ω	7.375	18.38	19.88	16.5	10	9.86	Ι,
SAM	30	2° 23	20	20		30	27	25	18	11.63	16.	19	16.13	0.75		34
NiG-BH	ີ	25	~	~		32	35	33		6.25	21.75	21.75	17.75		8.25	22
NiM-BH		25	24	24		33	35	31		6.5	20.25	21.75	17.25	2.25	10.25	22
NiG-MBH	າາ	27	~	28		33	33	34		5.75	23.75	24.25	16.25
NiM-MBH	30	23	20	20		34	32	34		5.25	24.75	24.25	16.5	1.75	1.2	12"""


def _cell(text):
    """A printed cell: (value or None, raw text). Only plain decimals are legible; "16." or
    "l.6" are read as damaged, as are blanks (the paper prints no 0)."""
    t = text.strip()
    try:
        if t and not t.endswith(".") and all(c in "0123456789." for c in t):
            return float(t), t
    except ValueError:
        pass
    return None, t


def paper_table():
    """{optimizer: {landscape: {column: (value or None, raw)}}} typed from the seed text."""
    table = {}
    for line in _RAW.splitlines():
        cells = line.split("\t")
        cells += [""] * (17 - len(cells))
        name, rest = cells[0], cells[1:]
        groups = {"Himmelblau": rest[0:5], "ThreeHumpCamel": rest[5:9],
                  "SixHumpCamel": rest[9:16]}
        table[name] = {land: dict(zip(COLUMNS[land] + ["Else"], map(_cell, vals)))
                       for land, vals in groups.items()}
    return table


def _landscape(name):
    import flowopt as fo
    if name == "ThreeHumpCamel":
        return fo.landscapes.ThreeHumpCamel(coefficient=PROTOCOL["three_hump_coefficient"])
    return getattr(fo.landscapes, name)()


def _flow(opt, loss, key):
    import flowopt as fo
    if opt.startswith("NiG"):
        return fo.flows.NoisyGradient(loss, radius=PROTOCOL["nig_radius"])
    if opt == "SAM":
        return fo.flows.SAM(loss, rho=PROTOCOL["sam_rho"])
    return fo.flows.GradientFlow(loss)


def run_optimizer(opt, loss, starts, key):
    """Labels (fo.basins codes) of the end points of ``opt`` from ``starts``."""
    import jax
    import flowopt as fo
    import schemes
    p = PROTOCOL
    eta, steps = p["learning_rate"], p["steps"]
    flow = _flow(opt, loss, key)
    if opt in ("GD", "NiG-GD", "SAM"):
        bmap = fo.basins(flow, schemes.Euler(), starts, t1=steps * eta, dt0=eta,
                         key=key if opt == "NiG-GD" else None, tol=p["gtol"])
        return _end_labels(bmap, loss)
    if opt == "NiM-GD":
        proc = fo.restarts.NiM(flow, schemes.Euler(), dt=eta, local_steps=steps,
                               gtol=p["gtol"], radius=p["nim_radius"], wait=p["nim_wait"])
    else:
        cls = (fo.restarts.MonotonicBasinHopping if "MBH" in opt
               else fo.restarts.BasinHopping)
        proc = cls(flow, schemes.Euler(), dt=eta, local_steps=p["bh_local_steps"],
                   gtol=p["gtol"], radius=p["bh_radius"], hops=p["bh_hops"])
    out = jax.jit(jax.vmap(proc.run))(starts, jax.random.split(key, len(starts)))
    return fo.restarts.label_points(np.asarray(out.x), loss.minima)


def exact_fractions(opt, loss, shape):
    """Area shares of the basins of a deterministic optimizer over the whole domain."""
    import flowopt as fo
    import schemes
    p = PROTOCOL
    grid = fo.Grid(loss.domain, shape=shape)
    bmap = fo.basins(_flow(opt, loss, None), schemes.Euler(), grid,
                     t1=p["steps"] * p["learning_rate"], dt0=p["learning_rate"],
                     tol=p["gtol"])
    return _end_labels(bmap, loss)


def _end_labels(bmap, loss):
    """Label a map's end points as the restart processes' are (the paper's "Else": not at
    a known minimum): SAM's end points sit next to a minimum, not on a stationary point of
    f, so the mapper's own labels (stationary test) would call every SAM run "Else"."""
    import flowopt as fo
    x = np.asarray(bmap["final_x"].values)
    return fo.restarts.label_points(x.reshape(-1, x.shape[-1]), loss.minima)


def _ztest(k1, n1, k2, n2):
    """Two-sided p-value of the pooled two-proportion z-test."""
    from scipy.stats import norm
    p = (k1 + k2) / (n1 + n2)
    if p in (0.0, 1.0):
        return 1.0
    z = (k1 / n1 - k2 / n2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return float(2 * norm.sf(abs(z)))


def _wilson(k, n, conf=0.99):
    from scipy.stats import norm
    z = norm.ppf(0.5 + conf / 2)
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [100 * (c - h), 100 * (c + h)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (for the tests)")
    parser.add_argument("--out", default=os.path.join("studies", "results", NAME))
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import jax
    from scipy.stats import binomtest
    import flowopt as fo
    import flowopt.restarts  # noqa: F401  (fo.restarts.label_points)

    n = args.restarts or (40 if args.quick else 500)
    seeds = args.seeds or (1 if args.quick else 5)
    optimizers = QUICK_OPTIMIZERS if args.quick else OPTIMIZERS
    shape = (64, 64) if args.quick else (512, 512)
    alpha = PROTOCOL["alpha"]
    paper = paper_table()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    result = {"paper": "Inan, Liu, Shehu (seed 002), Table 1", "mode":
              "quick" if args.quick else "full", "restarts": n, "seeds": seeds,
              "exact_grid": list(shape), "protocol": dict(PROTOCOL), "landscapes": {},
              "notes": []}
    for land, cols in COLUMNS.items():
        loss = _landscape(land)
        names = cols
        entry = {"minima": np.asarray(loss.minima).tolist(), "columns": names + ["Else"],
                 "optimizers": {}}
        for opt in optimizers:
            counts = np.zeros(len(names) + 1, int)
            per_seed = []
            for s in range(seeds):
                key = jax.random.fold_in(jax.random.key(2002), s)
                starts = fo.sample_uniform(loss.domain, n, jax.random.fold_in(key, 0))
                lab = run_optimizer(opt, loss, starts, jax.random.fold_in(key, 1))
                row = fo.restarts.stationary_row(lab, names)
                row["Else"] += row.pop("Diverged")  # the paper's "Else": not at a known minimum
                per_seed.append(row)
                counts += np.round(np.array([row[c] for c in names + ["Else"]]) * n /
                                   100).astype(int)
            total = n * seeds
            exact = None
            if opt in ("GD", "SAM"):
                lab = exact_fractions(opt, loss, shape)
                r = fo.restarts.stationary_row(lab, names)
                r["Else"] += r.pop("Diverged")
                exact = r
            cells = {}
            for j, c in enumerate(names + ["Else"]):
                val, raw = paper[opt][land][c]
                cell = {"ours": 100 * counts[j] / total, "ours_wilson99": _wilson(
                    counts[j], total), "per_seed": [r[c] for r in per_seed],
                    "paper": val, "paper_raw": raw, "damaged": val is None}
                if exact is not None:
                    cell["exact"] = exact[c]
                if val is not None:
                    kp = int(round(val * 5))  # printed percent of 500
                    cell["p_value"] = _ztest(counts[j], total, kp, 500)
                    cell["beyond_sampling_error"] = cell["p_value"] < alpha
                    if exact is not None:
                        pe = min(max(exact[c] / 100, 0.0), 1.0)
                        cell["p_value_paper_vs_exact"] = float(binomtest(kp, 500, pe).pvalue) \
                            if 0 < pe < 1 else float(kp == round(500 * pe))
                        cell["paper_vs_exact_beyond"] = cell["p_value_paper_vs_exact"] < alpha
                cells[c] = cell
            entry["optimizers"][opt] = cells
            print(f"{land} {opt}: {time.perf_counter() - t0:.0f} s", flush=True)
        result["landscapes"][land] = entry
    result["notes"] += [
        "Six-hump camel is symmetric under (x, y) -> (-x, -y): each pair (GM1, GM2), (LM1, "
        "LM2), (LM3, LM4) must get equal shares up to sampling error; the printed GD row "
        "(4.25 vs 23.5, 1.5 vs 10.25) cannot come from uniform starts on a symmetric domain.",
        "Himmelblau 'Else' is blank for every optimizer and three-hump 'Else' is blank for "
        "most; the printed rows sum to ~100, so blanks probably mean 0, but they are not "
        "compared.",
        "Damaged cells (unreadable glyphs): " + "; ".join(
            f"{o}/{l}/{c}: {v[1]!r}" for o in paper for l in paper[o]
            for c, v in paper[o][l].items() if v[0] is None and v[1])]
    result["runtime_s"] = round(time.perf_counter() - t0, 1)
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    _figure(result, os.path.join(args.out, "table1.png"), plt)
    _print(result)
    return result


def _figure(result, path, plt):
    lands = list(result["landscapes"])
    fig, axes = plt.subplots(1, len(lands), figsize=(5 * len(lands), 4.8))
    markers = dict(zip(OPTIMIZERS, "osD^v<>P"))
    for ax, land in zip(axes, lands):
        for opt, cells in result["landscapes"][land]["optimizers"].items():
            pts = [(c["paper"], c["ours"], c.get("beyond_sampling_error", False))
                   for c in cells.values() if c["paper"] is not None]
            if not pts:
                continue
            x, y, b = map(np.array, zip(*pts))
            ax.scatter(x[~b], y[~b], marker=markers[opt], label=opt, alpha=0.8)
            ax.scatter(x[b], y[b], marker=markers[opt], facecolors="none",
                       edgecolors="red", s=80)
        ax.plot([0, 50], [0, 50], "k--", lw=0.8)
        ax.set(title=f"{land}: ours vs paper (%)", xlabel="paper (Table 1)",
               ylabel=f"ours ({result['restarts']} x {result['seeds']} restarts)")
    axes[0].legend(fontsize=7, title="red ring: p < 0.01", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print(result):
    for land, entry in result["landscapes"].items():
        cols = entry["columns"]
        print(f"\n{land}: ours (paper) {'':8}" + " ".join(f"{c:>14}" for c in cols))
        for opt, cells in entry["optimizers"].items():
            txt = []
            for c in cols:
                cell = cells[c]
                p = cell["paper"] if cell["paper"] is not None else (cell["paper_raw"] or "-")
                flag = "*" if cell.get("beyond_sampling_error") else " "
                txt.append(f"{cell['ours']:5.1f}({p}){flag}".rjust(14))
            print(f"{opt:22}" + " ".join(txt))
            if "exact" in cells[cols[0]]:
                print(f"{'  exact limit':22}" + " ".join(
                    f"{cells[c]['exact']:5.1f}".rjust(14) for c in cols))
    print(f"\nruntime {result['runtime_s']} s")


# key numbers checked by tests/test_studies.py on the --quick result
def check(result):
    """Seed 002 Table 1: the paper's transcription, and exact limits that only geometry
    fixes (symmetric minima get equal area; Himmelblau's four basins ~25% each)."""
    paper = paper_table()
    assert paper["GD"]["SixHumpCamel"]["GM1"][0] == 4.25
    assert paper["SAM"]["ThreeHumpCamel"]["Else"][0] == 18.0
    assert paper["NiG-GD"]["Himmelblau"]["GM4"][0] is None  # damaged glyph
    lands = result["landscapes"]
    for land, entry in lands.items():
        for opt, cells in entry["optimizers"].items():
            total = sum(cell["ours"] for cell in cells.values())
            assert abs(total - 100.0) < 1e-6, (land, opt)
    gd = {land: {c: cell["exact"] for c, cell in e["optimizers"]["GD"].items()}
          for land, e in lands.items()}
    for c in ["GM1", "GM2", "GM3", "GM4"]:
        assert 20 < gd["Himmelblau"][c] < 30
    six = gd["SixHumpCamel"]
    for a, b in [("GM1", "GM2"), ("LM1", "LM2"), ("LM3", "LM4")]:
        assert abs(six[a] - six[b]) < 2.0  # f(x) = f(-x): equal basin areas
    three = gd["ThreeHumpCamel"]
    assert abs(three["LM1"] - three["LM2"]) < 2.0
    # the printed six-hump GD row breaks that symmetry beyond sampling error
    assert lands["SixHumpCamel"]["optimizers"]["GD"]["GM1"]["paper_vs_exact_beyond"]


if __name__ == "__main__":
    main()
