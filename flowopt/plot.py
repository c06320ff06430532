"""Figures (matplotlib, imported lazily: the core never imports it)."""

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
