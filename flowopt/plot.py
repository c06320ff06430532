"""Figures (matplotlib, imported lazily: the core never imports it)."""

import ast

import numpy as np


def _pyplot():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _has_display():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("flowopt.plot needs matplotlib: pip install 'flowopt[plot]'") from err
    return plt


def _has_display():
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def landscape(loss, ax=None, bounds=None, levels=30, resolution=200):
    """Log-spaced filled contours of a 2-D loss over ``bounds`` (default: its domain),
    with its known minima marked (stars: global, dots: local)."""
    import jax
    import jax.numpy as jnp

    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 5))[1]
    bounds = np.asarray(loss.domain if bounds is None else bounds, float)
    gx = np.linspace(*bounds[0], resolution)
    gy = np.linspace(*bounds[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    pts = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], 1))
    zz = np.asarray(jax.vmap(loss)(pts)).reshape(xx.shape)
    shifted = zz - zz.min() + 1e-3 * (np.ptp(zz) + 1e-12)
    ax.contourf(xx, yy, np.log10(shifted), levels=levels, cmap="Greys_r", alpha=0.55)
    ax.contour(xx, yy, np.log10(shifted), levels=levels, colors="k", linewidths=0.25,
               alpha=0.5)
    minima = getattr(loss, "minima", None)
    if minima is not None:
        glob = loss.is_global
        ax.scatter(*minima[glob].T, marker="*", s=180, c="gold", edgecolors="k", zorder=5,
                   label="global minimum")
        if (~glob).any():
            ax.scatter(*minima[~glob].T, marker="o", s=50, c="white", edgecolors="k",
                       zorder=5, label="local minimum")
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    return ax


def trajectories(loss, runs, ax=None, bounds=None):
    """Trajectories over the loss: ``runs`` maps a label to a Solution saved at several
    times (or to a list of them, e.g. one per start). Dots mark starts, crosses ends;
    non-finite parts (divergence) are not drawn."""
    plt = _pyplot()
    ax = landscape(loss, ax=ax, bounds=bounds)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, sols) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        for j, sol in enumerate(sols if isinstance(sols, (list, tuple)) else [sols]):
            xs = np.asarray(sol.xs)
            xs = xs[np.all(np.isfinite(xs), axis=1)]
            if not len(xs):
                continue
            ax.plot(xs[:, 0], xs[:, 1], "-", color=color, lw=1.2,
                    label=label if j == 0 else None)
            ax.plot(*xs[0], "o", color=color, ms=4)
            ax.plot(*xs[-1], "x", color=color, ms=7, mew=2)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.85)
    return ax


def trajectory_grid(loss, runs, ncols=3, bounds=None):
    """One :func:`trajectories` panel per entry of ``runs``; returns the figure."""
    plt = _pyplot()
    nrows = -(-len(runs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.4 * nrows), squeeze=False)
    for ax, (label, sols) in zip(axes.flat, runs.items()):
        trajectories(loss, {label: sols}, ax=ax, bounds=bounds)
        ax.set_title(label, fontsize=10)
        ax.get_legend().remove()
    for ax in list(axes.flat)[len(runs):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def energies(runs, ax=None, reference=None):
    """Energy above ``reference`` (default: each curve's own minimum) against time, log
    scale, one curve per run; pass the loss's global minimum value as ``reference`` to
    see the true optimality gap."""
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, sols) in enumerate(runs.items()):
        for j, sol in enumerate(sols if isinstance(sols, (list, tuple)) else [sols]):
            ts, es = np.asarray(sol.ts), np.asarray(sol.energies)
            ok = np.isfinite(ts) & np.isfinite(es)
            if ok.sum() < 2:
                continue
            gap = es[ok] - (es[ok].min() if reference is None else reference)
            ax.semilogy(ts[ok], np.maximum(gap, 1e-300), color=colors[i % len(colors)], lw=1.2,
                        label=label if j == 0 else None)
    ax.set_xlabel("t")
    ax.set_ylabel("E(t) − min E" if reference is None else "E(t) − f*")
    top = max((line.get_ydata().max() for line in ax.get_lines()), default=1.0)
    ax.set_ylim(1e-16, 10 * top)
    ax.legend(fontsize=7)
    return ax


_NEUTRAL = {-1: ("#4d4d4d", "diverged"), -2: ("#bdbdbd", "not converged"),
            -3: ("#f4a582", "saddle / non-minimum")}
_BASIN_COLORS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f"]


def _label_rgb(labels, n_attr):
    from matplotlib.colors import to_rgb

    rgb = np.ones(labels.shape + (3,))
    for a in range(n_attr):
        rgb[labels == a] = to_rgb(_BASIN_COLORS[a % len(_BASIN_COLORS)])
    for code, (color, _) in _NEUTRAL.items():
        rgb[labels == code] = to_rgb(color)
    return rgb


def basins(bmap, ax=None, loss=None, shade_time=True, contours=True, title=None, legend=True):
    """A basin map: one colour per attractor (minima marked by stars), diverged,
    not-converged and non-minimum starts in their own neutral colours, shading by
    convergence time (lighter = slower) and the loss's contours when ``loss`` is given."""
    import jax
    import jax.numpy as jnp
    from matplotlib.patches import Patch

    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 5.4))[1]
    labels = bmap["label"].values
    k = bmap.sizes.get("attractor", 0)
    rgb = _label_rgb(labels, k)
    if shade_time:
        t = bmap["time"].values.astype(float)
        ok = labels >= 0
        if ok.any() and np.ptp(t[ok]) > 0:
            rank = (t - t[ok].min()) / np.ptp(t[ok])
            rgb = np.where(ok[..., None], rgb * (1 - 0.55 * rank[..., None]) +
                           0.55 * rank[..., None], rgb)
    x, y = bmap.x.values, bmap.y.values
    ax.imshow(rgb, origin="lower", extent=(x[0], x[-1], y[0], y[-1]), aspect="auto",
              interpolation="nearest")
    plane = bmap.attrs.get("grid_u", "(1.0, 0.0)") == "(1.0, 0.0)" and \
        bmap.attrs.get("grid_v", "(0.0, 1.0)") == "(0.0, 1.0)" and \
        not bmap.attrs.get("grid_state", 0)
    names = ast.literal_eval(bmap.attrs.get("grid_names", "('x', 'y')"))
    if contours and loss is not None and plane:
        xx, yy = np.meshgrid(np.linspace(x[0], x[-1], 150), np.linspace(y[0], y[-1], 150))
        zz = np.asarray(jax.vmap(loss)(jnp.asarray(np.stack([xx.ravel(), yy.ravel()], 1))))
        zz = np.log10(zz.reshape(xx.shape) - zz.min() + 1e-3 * (np.ptp(zz) + 1e-12))
        ax.contour(xx, yy, zz, levels=15, colors="k", linewidths=0.4, alpha=0.45)
    pos = bmap["attractor_x"].values
    phase_line = bmap.attrs.get("grid_state", 0) and bmap.sizes.get("dim") == 1
    if k and (plane or phase_line):  # minima; in a 1-D phase plane at rest: (x*, 0)
        ax.scatter(pos[:, 0], pos[:, 1] if plane else np.zeros(k), marker="*", s=170,
                   c=[_BASIN_COLORS[a % 10] for a in range(k)], edgecolors="k", zorder=5)
    if legend:
        handles = [Patch(color=_BASIN_COLORS[a % 10],
                         label=f"{a}: {np.round(bmap['attractor_x'].values[a], 3).tolist()}")
                   for a in range(k)]
        handles += [Patch(color=c, label=name) for code, (c, name) in _NEUTRAL.items()
                    if (labels == code).any()]
        ax.legend(handles=handles, fontsize=7, loc="upper left", framealpha=0.85)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def compare(maps, loss=None, ncols=None):
    """Maps side by side plus the disagreement panel (black: not all maps agree) and
    the pairwise agreement in the titles; returns the figure."""
    from .basins import compare as compare_maps

    plt = _pyplot()
    names = list(maps)
    cmp = compare_maps(maps)
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(5.0 * (len(names) + 1), 4.8))
    for ax, name in zip(axes, names):
        basins(maps[name], ax=ax, loss=loss, title=name, legend=ax is axes[0])
    dis = cmp["disagreement"].values
    x, y = cmp.x.values, cmp.y.values
    axes[-1].imshow(np.where(dis, 0.0, 1.0), origin="lower", cmap="gray", vmin=0, vmax=1,
                    extent=(x[0], x[-1], y[0], y[-1]), aspect="auto", interpolation="nearest")
    pairs = "\n".join(f"{a} vs {b}: {cmp['agreement'].sel(name=a, other=b).item():.1%} agree"
                       for i, a in enumerate(names) for b in names[i + 1:])
    axes[-1].set_title(f"black: maps disagree ({dis.mean():.1%} of starts)\n{pairs}",
                       fontsize=8)
    fig.tight_layout()
    return fig


def probability(bmap, ncols=4):
    """Probability of each outcome per start (stochastic maps) and the outcome entropy."""
    plt = _pyplot()
    prob = bmap["probability"]
    present = [o for o in prob.outcome.values if float(prob.sel(outcome=o).max()) > 0]
    n = len(present) + 1
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), squeeze=False)
    x, y = bmap.x.values, bmap.y.values
    ext = (x[0], x[-1], y[0], y[-1])
    for ax, o in zip(axes.flat, present):
        im = ax.imshow(prob.sel(outcome=o).values, origin="lower", extent=ext, vmin=0, vmax=1,
                       cmap="viridis", aspect="auto", interpolation="nearest")
        ax.set_title(f"P(outcome {o})" if o >= 0 else f"P({_NEUTRAL[o][1]})", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046)
    ax = list(axes.flat)[len(present)]
    im = ax.imshow(bmap["entropy"].values, origin="lower", extent=ext, cmap="magma",
                   aspect="auto", interpolation="nearest")
    ax.set_title("outcome entropy (nats)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def sweep(result, ax=None):
    """Basin fractions (and the boundary fraction, dashed) against the swept parameter."""
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6.5, 4.2))[1]
    param = result.attrs["param"]
    vals = result[param].values
    for o in result.outcome.values:
        f = result["fraction"].sel(outcome=o).values
        if f.max() == 0:
            continue
        color = _BASIN_COLORS[o % 10] if o >= 0 else _NEUTRAL[o][0]
        ax.plot(vals, f, "o-", color=color,
                label=f"attractor {o}" if o >= 0 else _NEUTRAL[o][1])
    ax.plot(vals, result["boundary_fraction"].values, "k--", label="boundary fraction")
    ax.set_xscale("log" if np.all(vals > 0) and vals.max() / vals.min() > 20 else "linear")
    ax.set_xlabel(param)
    ax.set_ylabel("fraction of starts")
    ax.legend(fontsize=7)
    return ax
