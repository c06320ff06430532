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


def _map(owner, bmap, needs=("label",), fix="pass a map from fo.basins"):
    """``bmap`` is a Dataset holding the variables ``needs``; else an error naming it."""
    import xarray as xr

    if not isinstance(bmap, xr.Dataset):
        raise TypeError(f"plot.{owner}(bmap={type(bmap).__name__}): {fix}.")
    missing = [v for v in needs if v not in bmap]
    if missing:
        raise ValueError(f"plot.{owner}(bmap=...): the map has no {', '.join(missing)}; "
                         f"{fix}.")
    return bmap


def _runs(owner, runs):
    """``runs``: a dict label -> Solution (or a list of Solutions)."""
    if not isinstance(runs, dict):
        raise TypeError(f"plot.{owner}(runs={type(runs).__name__}): pass a dict label -> "
                        "Solution (or a list of Solutions), e.g. {'Euler': sol}.")
    return {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in runs.items()}


def _count(owner, name, value, minimum=1):
    """An int >= ``minimum`` (panels per row, contour levels, samples per axis)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or \
            value < minimum:
        raise ValueError(f"plot.{owner}({name}={value!r}): {name} must be an int >= "
                         f"{minimum}.")
    return int(value)


def _window(owner, loss, bounds):
    """The plotting window: ``bounds`` or the loss's 2-D domain."""
    if not callable(loss):
        raise TypeError(f"plot.{owner}(loss={loss!r}): pass a loss, e.g. "
                        "fo.landscapes.Himmelblau() or a function of a (2,) array.")
    if bounds is None:
        if getattr(loss, "domain", None) is None:
            raise ValueError(f"plot.{owner}(bounds=None): this loss has no domain to draw; "
                             "pass bounds=((x_lo, x_hi), (y_lo, y_hi)).")
        bounds = loss.domain
    b = np.asarray(bounds, float)
    if b.shape != (2, 2) or not np.all(np.isfinite(b)) or not np.all(b[:, 0] < b[:, 1]):
        raise ValueError(f"plot.{owner}(bounds={bounds!r}): contours are drawn over a 2-D "
                         "window ((x_lo, x_hi), (y_lo, y_hi)) with lo < hi.")
    return b


def landscape(loss, ax=None, bounds=None, levels=30, resolution=200):
    """Log-spaced filled contours of a 2-D loss over ``bounds`` (default: its domain),
    with its known minima marked (stars: global, dots: local). Where the loss is NaN or
    infinite the window is left blank; the rest is contoured. A plain function has no
    domain: pass ``bounds``."""
    import jax
    import jax.numpy as jnp

    bounds = _window("landscape", loss, bounds)
    _count("landscape", "levels", levels, 2)
    _count("landscape", "resolution", resolution, 2)
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 5))[1]
    gx = np.linspace(*bounds[0], resolution)
    gy = np.linspace(*bounds[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    pts = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], 1))
    zz = np.asarray(jax.vmap(loss)(pts), float).reshape(xx.shape)
    logz, span = _log_shift(zz)  # masked where the loss is NaN or infinite
    if logz is not None:
        lv = np.linspace(*span, levels) if np.ndim(levels) == 0 else levels
        ax.contourf(xx, yy, logz, levels=lv, cmap="Greys_r", alpha=0.55)
        ax.contour(xx, yy, logz, levels=lv, colors="k", linewidths=0.25, alpha=0.5)
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
    runs = _runs("trajectories", runs)
    plt = _pyplot()
    ax = landscape(loss, ax=ax, bounds=bounds)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, sols) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        for j, sol in enumerate(sols):
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
    _count("trajectory_grid", "ncols", ncols)
    runs = _runs("trajectory_grid", runs)
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
    runs = _runs("energies", runs)
    for label, sols in runs.items():
        if any(getattr(sol, "energies", None) is None for sol in sols):
            raise ValueError(f"plot.energies(runs=...): run {label!r} has no energies (its "
                             "flow has none, e.g. a stochastic or plain-gradient flow without "
                             "an energy); plot the loss along sol.xs instead.")
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, sols) in enumerate(runs.items()):
        for j, sol in enumerate(sols):
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


# Negative label codes (DESIGN.md), in legend order, each with a neutral colour that no
# basin colour comes close to.
_NEUTRAL = {-1: ("#4d4d4d", "diverged"),
            -2: ("#bdbdbd", "not converged"),
            -3: ("#f4a582", "saddle / non-minimum"),
            -4: ("#fee391", "periodic cycle"),
            -5: ("#08306b", "fixed point of the scheme")}
_UNKNOWN = "#ffffff"  # a label the figure has no name for (left white)

# Basin colours: tab10 without its grey; beyond those, each new colour is the candidate
# (saturated hues, none pale: time shading lightens them) farthest in CIELAB from all basin
# colours so far, and at least _MIN_DELTA_E from the neutral ones, so any number of
# attractors get distinct colours. Extended on demand by _basin_color.
_BASIN_COLORS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#ff7f0e"]
_MIN_DELTA_E = 20.0  # least CIELAB distance of a basin colour from a neutral one


def _lab(rgb):
    """sRGB (..., 3) in [0, 1] -> CIELAB (D65)."""
    rgb = np.asarray(rgb, float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192],
                          [0.1805, 0.0722, 0.9505]]) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1)


def _candidates():
    from matplotlib.colors import hsv_to_rgb

    hsv = [(h / 240, s, v) for h in range(240)
           for s, v in ((0.85, 0.85), (0.75, 0.62), (0.9, 0.5), (0.55, 0.8))]
    return hsv_to_rgb(np.array(hsv))


def _basin_color(a):
    """Colour (hex) of attractor ``a``: distinct for every ``a``, never a neutral colour."""
    from matplotlib.colors import to_hex, to_rgb

    while len(_BASIN_COLORS) <= a:
        used = _lab(np.array([to_rgb(c) for c in _BASIN_COLORS]))
        neutral = _lab(np.array([to_rgb(c) for c, _ in _NEUTRAL.values()]))
        cand = _candidates()
        lab = _lab(cand)
        gap = lambda ref: np.sqrt(((lab[:, None] - ref[None]) ** 2).sum(-1)).min(1)
        to_used, to_neutral = gap(used), gap(neutral)
        score = np.where(to_neutral >= _MIN_DELTA_E, to_used, -np.inf)
        best = int(np.argmax(score))
        color = to_hex(cand[best])
        if not np.isfinite(score[best]) or to_used[best] == 0 or color in _BASIN_COLORS:
            # the candidates are spent (hundreds of attractors): golden-ratio hues
            from matplotlib.colors import hsv_to_rgb

            i = len(_BASIN_COLORS)
            while True:
                h = (i * 0.6180339887498949) % 1.0
                color = to_hex(hsv_to_rgb((h, 0.5 + 0.4 * ((i * 7) % 5) / 4,
                                           0.55 + 0.4 * ((i * 3) % 4) / 3)))
                lab1 = _lab(np.array(to_rgb(color)))
                if color not in _BASIN_COLORS and \
                        np.sqrt(((neutral - lab1) ** 2).sum(-1)).min() >= _MIN_DELTA_E:
                    break
                i += 1
        _BASIN_COLORS.append(color)
    return _BASIN_COLORS[a]


def _code_color(code):
    return _NEUTRAL[code][0] if code in _NEUTRAL else _UNKNOWN


def _code_name(code):
    return _NEUTRAL[code][1] if code in _NEUTRAL else f"code {code}"


def _codes_in_order(codes):
    """Negative codes in legend order: -1, -2, -3, -4, -5, then any others."""
    codes = {int(c) for c in codes if c < 0}
    return [c for c in _NEUTRAL if c in codes] + sorted(codes - set(_NEUTRAL), reverse=True)


def _parse_vector(text, default):
    if text is None:
        return np.asarray(default, float)
    return np.array([float(v) for v in str(text).strip("()[] ").split(",") if v.strip()])


def _plane(bmap):
    """``(c, u, v)`` of the map's plane (points ``c + a u + b v``) and whether it is a plane
    of full states."""
    c = _parse_vector(bmap.attrs.get("grid_center"), (0.0, 0.0))
    u = _parse_vector(bmap.attrs.get("grid_u"), (1.0, 0.0))
    v = _parse_vector(bmap.attrs.get("grid_v"), (0.0, 1.0))
    return c, u, v, bool(int(bmap.attrs.get("grid_state", 0)))


def _extent(x, y):
    """imshow extent whose pixel centres are the grid's cell centres."""
    dx = (x[-1] - x[0]) / (len(x) - 1) if len(x) > 1 else 1.0
    dy = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 1.0
    return (x[0] - dx / 2, x[-1] + dx / 2, y[0] - dy / 2, y[-1] + dy / 2)


def _log_shift(zz):
    """log10 of the loss above its finite minimum, masked where the loss is not finite, and
    its range ``(lo, hi)`` over the finite part; ``(None, None)`` when there is nothing to
    contour (fewer than four finite values, or a constant loss)."""
    zz = np.asarray(zz, float)
    ok = np.isfinite(zz)
    if ok.sum() < 4 or np.ptp(zz[ok]) == 0:
        return None, None
    lo, span = zz[ok].min(), np.ptp(zz[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        logz = np.log10(np.where(ok, zz - lo, 0.0) + 1e-3 * span)
    logz = np.ma.masked_array(logz, ~ok)
    return logz, (float(logz.min()), float(logz.max()))


def _losses(loss, pts):
    import jax
    import jax.numpy as jnp

    flat = pts.reshape(-1, pts.shape[-1])
    return np.asarray(jax.vmap(loss)(jnp.asarray(flat)), float).reshape(pts.shape[:-1])


def _attractor_entries(bmap):
    """Short legend text per attractor: index, position (truncated beyond 3-D), loss."""
    if "attractor_x" not in bmap:
        return [str(a) for a in range(bmap.sizes.get("attractor", 0))]
    pos = np.asarray(bmap["attractor_x"].values, float)
    f = bmap["attractor_loss"].values if "attractor_loss" in bmap else [None] * len(pos)
    return [_attractor_text(a, p, fa) for a, (p, fa) in enumerate(zip(pos, f))]


def _attractor_text(a, p, f):
    p = np.atleast_1d(p)
    coords = ", ".join(f"{c:.3g}" for c in p[:2 if len(p) > 3 else 3])
    coords = f"({coords}, … {len(p)}-d)" if len(p) > 3 else f"({coords})"
    return f"{a}: {coords}" + (f", f={float(f):.3g}" if f is not None and np.isfinite(f)
                               else "")


_LEGEND_FONT = 7
_LEGEND_MAX_COLUMNS = 3


def _legend_handles(entries, codes, rows=None):
    """Patches for ``entries`` (colour index, text) and the negative ``codes`` (in the order
    -1 .. -5). With ``rows``, at most ``_LEGEND_MAX_COLUMNS`` columns of them: attractors
    beyond that are summed up in one last entry ("+ n more attractors")."""
    from matplotlib.patches import Patch

    codes = _codes_in_order(codes)
    entries = list(entries)
    if rows is not None:
        room = _LEGEND_MAX_COLUMNS * rows - len(codes)
        if len(entries) > room:
            more = len(entries) - (room - 1)
            entries = entries[:room - 1] + [(None, f"+ {more} more attractors")]
    handles = [Patch(facecolor=_basin_color(i), edgecolor="none", label=text)
               if i is not None else Patch(facecolor="none", edgecolor="none", label=text)
               for i, text in entries]
    handles += [Patch(facecolor=_code_color(c), edgecolor="0.6", linewidth=0.5,
                      label=_code_name(c)) for c in codes]
    return handles


def _legend_rows(height_in):
    """Legend entries that fit in a column ``height_in`` inches tall."""
    return max(4, int(height_in * 72 / (1.5 * _LEGEND_FONT)) - 1)


def _ax_height(ax):
    return ax.get_position().height * ax.figure.get_figheight()


def _fit_width(fig, legend, base_width):
    """Widen a figure made here so that ``legend``, right of its panels, fits beside them."""
    renderer = fig.canvas.get_renderer()
    width = legend.get_window_extent(renderer).width / fig.dpi
    fig.set_figwidth(base_width + width + 0.3)


def _place_legend(ax, entries, codes, where, own):
    """The legend of one map, outside its axes: right of them (``True``/``"right"``) or
    below (``"below"``); a figure made here grows to hold it."""
    fig = ax.figure
    if where == "below":
        handles = _legend_handles(entries, codes, rows=8)
        ncol = min(len(handles), _LEGEND_MAX_COLUMNS)
        leg = ax.legend(handles=handles, fontsize=_LEGEND_FONT, loc="upper center",
                        bbox_to_anchor=(0.5, -0.13), ncol=ncol, frameon=False)
        if own:
            fig.set_figheight(fig.get_figheight() +
                              -(-len(handles) // ncol) * 1.5 * _LEGEND_FONT / 72 + 0.3)
        return leg
    if where not in (True, "right"):
        raise ValueError(f"basins(legend={where!r}): use True or 'right', 'below', or False.")
    rows = _legend_rows(_ax_height(ax) if not own else fig.get_figheight() - 0.6)
    handles = _legend_handles(entries, codes, rows=rows)
    leg = ax.legend(handles=handles, fontsize=_LEGEND_FONT, loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                    ncol=-(-len(handles) // rows), frameon=False)
    if own:
        _fit_width(fig, leg, 6.0)
    return leg


def _label_rgb(labels, n_attr, ids=None):
    from matplotlib.colors import to_rgb

    ids = np.arange(n_attr) if ids is None else np.asarray(ids)
    rgb = np.ones(labels.shape + (3,))
    for a in range(n_attr):
        rgb[labels == a] = to_rgb(_basin_color(int(ids[a])))
    for code in np.unique(labels[labels < 0]):
        rgb[labels == code] = to_rgb(_code_color(int(code)))
    return rgb


def _on_plane(bmap, c, u, v):
    """Attractors lying on the map's plane, as ``(index, a, b)``: least-squares plane
    coordinates of each attractor, kept where its distance to the plane is under half a
    cell and it falls inside the window."""
    if "attractor_x" not in bmap or bmap.sizes.get("attractor", 0) == 0:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    pos = np.asarray(bmap["attractor_x"].values, float)
    if pos.shape[1] != len(c) or len(u) != len(c) or len(v) != len(c):
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    basis = np.stack([u, v], 1)  # (d, 2)
    coef = np.linalg.lstsq(basis, (pos - c).T, rcond=None)[0]  # (2, k)
    off = np.sqrt(((c + (basis @ coef).T - pos) ** 2).sum(-1))
    x, y = bmap.x.values, bmap.y.values
    x0, x1, y0, y1 = _extent(x, y)
    cell = min(abs(x1 - x0) / len(x) * np.linalg.norm(u),
               abs(y1 - y0) / len(y) * np.linalg.norm(v))
    keep = (off <= 0.5 * cell) & (coef[0] >= min(x0, x1)) & (coef[0] <= max(x0, x1)) & \
        (coef[1] >= min(y0, y1)) & (coef[1] <= max(y0, y1))
    return np.flatnonzero(keep), coef[0][keep], coef[1][keep]


def basins(bmap, ax=None, loss=None, shade_time=True, contours=True, title=None, legend=True,
           colors=None):
    """A basin map: one colour per attractor (stars mark the attractors lying on the map's
    plane), the negative codes in their own neutral colours, shading by convergence time
    (lighter = slower) and, when ``loss`` is given, its contours on the plane (any plane
    through R^d; none on a plane of full states).

    ``legend``: ``True`` or ``"right"`` puts it right of the axes, ``"below"`` under them,
    ``False`` draws none; it never covers the map. ``colors``: the colour index of each
    attractor (default: its own index), to colour matching attractors of several maps
    alike."""
    _map("basins", bmap)
    plt = _pyplot()
    own = ax is None
    if own:
        ax = plt.subplots(figsize=(8.0, 5.4), layout="constrained")[1]
    labels = np.asarray(bmap["label"].values)
    k = bmap.sizes.get("attractor", 0)
    ids = np.arange(k) if colors is None else np.asarray(colors, int)
    rgb = _label_rgb(labels, k, ids)
    if "start" in bmap["label"].dims:  # a set of starts (random restarts): a scatter
        return _start_map(bmap, ax, loss, labels, k, ids, rgb, title, legend, own)
    if shade_time and "time" in bmap:
        t = bmap["time"].values.astype(float)
        ok = (labels >= 0) & np.isfinite(t)
        if ok.any() and np.ptp(t[ok]) > 0:
            rank = np.clip((t - t[ok].min()) / np.ptp(t[ok]), 0, 1)
            rgb = np.where(ok[..., None], rgb * (1 - 0.55 * rank[..., None]) +
                           0.55 * rank[..., None], rgb)
    x, y = bmap.x.values, bmap.y.values
    ext = _extent(x, y)
    ax.imshow(rgb, origin="lower", extent=ext, aspect="auto", interpolation="nearest")
    c, u, v, state = _plane(bmap)
    names = ast.literal_eval(bmap.attrs.get("grid_names", "('x', 'y')"))
    if contours and loss is not None and not state:
        gx, gy = np.linspace(ext[0], ext[1], 150), np.linspace(ext[2], ext[3], 150)
        pts = c + gx[None, :, None] * u + gy[:, None, None] * v  # (150, 150, d)
        logz, span = _log_shift(_losses(loss, pts))
        if logz is not None:
            ax.contour(gx, gy, logz, levels=np.linspace(*span, 17)[1:-1], colors="k",
                       linewidths=0.4, alpha=0.45)
    phase_line = state and bmap.sizes.get("dim") == 1 and "attractor_x" in bmap
    if k and phase_line:  # minima of a 1-D loss in its phase plane, at rest: (x*, 0)
        idx = np.arange(k)
        a_, b_ = bmap["attractor_x"].values[:, 0], np.zeros(k)
    elif k and not state:
        idx, a_, b_ = _on_plane(bmap, c, u, v)
    else:
        idx = np.zeros(0, int)
    if len(idx):
        ax.scatter(a_, b_, marker="*", s=170, c=[_basin_color(int(ids[a])) for a in idx],
                   edgecolors="k", zorder=5)
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    if legend:
        texts = _attractor_entries(bmap)
        shown = sorted(set(labels[(labels >= 0) & (labels < k)].tolist()) |
                       set(np.asarray(idx).tolist()))
        _place_legend(ax, [(int(ids[a]), texts[a]) for a in shown], np.unique(labels),
                      legend, own)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _start_map(bmap, ax, loss, labels, k, ids, rgb, title, legend, own):
    """A map over a set of starts: each start a dot at its first two coordinates in its
    outcome's colour, the attractors as stars, the loss's contours for a 2-D loss."""
    x0 = np.asarray(bmap["x0"].values)
    if x0.shape[1] < 2:
        raise ValueError("plot.basins(bmap): a set of starts in R^1 has no plane to draw; "
                         "use fo.fractions(bmap).")
    lo, hi = x0[:, :2].min(0), x0[:, :2].max(0)
    pad = 0.02 * np.maximum(hi - lo, 1e-12)
    if loss is not None and x0.shape[1] == 2:
        gx, gy = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], 150) for i in (0, 1))
        pts = np.stack(np.meshgrid(gx, gy), -1)
        logz, span = _log_shift(_losses(loss, pts))
        if logz is not None:
            ax.contour(gx, gy, logz, levels=np.linspace(*span, 17)[1:-1], colors="k",
                       linewidths=0.4, alpha=0.45)
    ax.scatter(x0[:, 0], x0[:, 1], c=rgb, s=12, edgecolors="none")
    if k:
        pos = bmap["attractor_x"].values
        ax.scatter(pos[:, 0], pos[:, 1], marker="*", s=170, edgecolors="k", zorder=5,
                   c=[_basin_color(int(i)) for i in ids])
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    if legend:
        texts = _attractor_entries(bmap)
        shown = sorted(set(labels[(labels >= 0) & (labels < k)].tolist()))
        _place_legend(ax, [(int(ids[a]), texts[a]) for a in shown], np.unique(labels),
                      legend, own)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _match_attractors(maps):
    """One list of attractors for several maps, matched by position (never by index:
    :func:`flowopt.basins.compare.shared_attractors`). Returns ``(ids per map, texts)``:
    each map's colour index per attractor and the legend text per colour index."""
    from .basins.compare import shared_attractors

    ids, table, losses = shared_attractors(maps)
    return ids, [_attractor_text(i, p, f) for i, (p, f) in enumerate(zip(table, losses))]


def compare(maps, loss=None, ncols=None):
    """Maps side by side plus the disagreement panel (black: not all maps agree) and
    the pairwise agreement in the titles, with one legend for the whole figure, right of
    the panels: every attractor of any map (matched by position, so the same attractor
    has the same colour in every panel) and every negative code present. Returns the
    figure."""
    from .basins import compare as compare_maps

    cmp = compare_maps(maps)  # checks the maps first
    plt = _pyplot()
    names = list(maps)
    ids, texts = _match_attractors([maps[n] for n in names])
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.6 * (len(names) + 1) + 2.0, 4.6),
                             layout="constrained")
    for ax, name, mine in zip(axes, names, ids):
        basins(maps[name], ax=ax, loss=loss, title=name, legend=False, colors=mine)
    dis = cmp["disagreement"].values
    x, y = cmp.x.values, cmp.y.values
    axes[-1].imshow(np.where(dis, 0.0, 1.0), origin="lower", cmap="gray", vmin=0, vmax=1,
                    extent=_extent(x, y), aspect="auto", interpolation="nearest")
    axes[-1].set_xlabel(axes[0].get_xlabel())
    pairs = "\n".join(f"{a} vs {b}: {cmp['agreement'].sel(name=a, other=b).item():.1%} agree"
                       for i, a in enumerate(names) for b in names[i + 1:])
    axes[-1].set_title(f"black: maps disagree ({dis.mean():.1%} of starts)\n{pairs}",
                       fontsize=8)
    _shared_legend(fig, [maps[n] for n in names], ids, texts, 4.6 * len(axes))
    return fig


def _shared_legend(fig, maps, ids, texts, base_width):
    """One legend right of all panels: the attractors shown in any map (by shared
    index) and every negative code present."""
    codes, shown = set(), set()
    for bmap, mine in zip(maps, ids):
        lab = np.asarray(bmap["label"].values)
        codes |= set(np.unique(lab[lab < 0]).tolist())
        k = len(mine)
        shown |= {int(mine[a]) for a in np.unique(lab[(lab >= 0) & (lab < k)])}
        c, u, v, state = _plane(bmap)
        if not state:
            shown |= {int(mine[a]) for a in _on_plane(bmap, c, u, v)[0]}
    rows = _legend_rows(fig.get_figheight() - 0.6)
    handles = _legend_handles([(i, texts[i]) for i in sorted(shown)], codes, rows=rows)
    leg = fig.legend(handles=handles, loc="outside right upper", fontsize=_LEGEND_FONT,
                     frameon=False, ncol=-(-len(handles) // rows))
    _fit_width(fig, leg, base_width)


def panels(maps, loss=None, ncols=2, title=None):
    """Several basin maps (a dict name -> map) in a grid of panels with one shared legend
    right of them; attractors matched by position, so one minimum has one colour in
    every panel. Returns the figure."""
    from .basins.compare import _check_maps

    names = _check_maps("plot.panels", maps)
    _count("panels", "ncols", ncols)
    plt = _pyplot()
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    ids, texts = _match_attractors([maps[n] for n in names])
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols + 2.0, 4.8 * nrows),
                             squeeze=False, layout="constrained")
    for ax, name, mine in zip(axes.flat, names, ids):
        basins(maps[name], ax=ax, loss=loss, title=name, legend=False, colors=mine)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    _shared_legend(fig, [maps[n] for n in names], ids, texts, 5.2 * ncols)
    return fig


def _outcome_title(bmap, o):
    if o < 0:
        return f"P({_code_name(o)})"
    texts = _attractor_entries(bmap)
    return f"P(attractor {texts[o]})" if o < len(texts) else f"P(attractor {o})"


def probability(bmap, ncols=4):
    """Probability of each outcome per start (stochastic maps), in the order attractors
    0..k-1, then -1 diverged, -2 not converged, -3 saddle, -4 periodic cycle, -5 fixed point
    of the scheme; outcomes never reached are left out. Last panel: the outcome entropy."""
    _count("probability", "ncols", ncols)
    _map("probability", bmap, ("probability", "entropy"),
         "outcome probabilities come from a stochastic flow mapped with replicas > 1 "
         "(fo.basins(..., replicas=16, key=...)); draw a deterministic map with plot.basins")
    plt = _pyplot()
    prob = bmap["probability"]
    given = [int(o) for o in prob.outcome.values]
    order = sorted(o for o in given if o >= 0) + _codes_in_order(given)
    present = [o for o in order if float(prob.sel(outcome=o).max()) > 0]
    n = len(present) + 1
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), squeeze=False,
                             layout="constrained")
    ext = _extent(bmap.x.values, bmap.y.values)
    for ax, o in zip(axes.flat, present):
        im = ax.imshow(prob.sel(outcome=o).values, origin="lower", extent=ext, vmin=0, vmax=1,
                       cmap="viridis", aspect="auto", interpolation="nearest")
        ax.set_title(_outcome_title(bmap, o), fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    ax = list(axes.flat)[len(present)]
    im = ax.imshow(bmap["entropy"].values, origin="lower", extent=ext, cmap="magma",
                   aspect="auto", interpolation="nearest")
    ax.set_title("outcome entropy (nats)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig


def sweep(result, ax=None):
    """Basin fractions (and the boundary fraction, dashed) against the swept parameter,
    one curve per outcome in the order of ``result.outcome``; the legend sits right of
    the axes."""
    import xarray as xr

    if not (isinstance(result, xr.Dataset) and "param" in result.attrs
            and "fraction" in result and "boundary_fraction" in result):
        raise ValueError(f"plot.sweep(result={type(result).__name__}): pass the result of "
                         "fo.sweep(...); for one map use plot.basins.")
    plt = _pyplot()
    own = ax is None
    if own:
        ax = plt.subplots(figsize=(8.0, 4.2), layout="constrained")[1]
    param = result.attrs["param"]
    vals = np.asarray(result[param].values)
    for o in result.outcome.values:
        o = int(o)
        f = result["fraction"].sel(outcome=o).values
        if not np.nanmax(f) > 0:
            continue
        color = _basin_color(o) if o >= 0 else _code_color(o)
        ax.plot(vals, f, "o-", color=color, mec="k" if o < 0 else color, mew=0.5,
                label=f"attractor {o}" if o >= 0 else _code_name(o))
    ax.plot(vals, result["boundary_fraction"].values, "k--", label="boundary fraction")
    ax.set_xscale("log" if np.all(vals > 0) and vals.max() / vals.min() > 20 else "linear")
    ax.set_xlabel(param)
    ax.set_ylabel("fraction of starts")
    rows = _legend_rows(_ax_height(ax) if not own else ax.figure.get_figheight() - 0.6)
    leg = ax.legend(fontsize=_LEGEND_FONT, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    borderaxespad=0.0, frameon=False, ncol=-(-len(ax.get_lines()) // rows))
    if own:
        _fit_width(ax.figure, leg, 6.0)
    return ax


def minima_against(result, ax=None, saddles=True, quantity=None, ylabel=None):
    """The loss of every tracked minimum against the parameter (Niroomand et al., seed
    003, Fig. 3): one line per minimum of ``fo.track_minima``; where a minimum
    disappears (a fold) its last point is ringed and the bracket up to the first value
    without it is shaded. With ``saddles``, the index-1 saddles of each value's
    catalogue are grey dots: at a fold the minimum's line meets them.

    ``quantity``: a ``(t, m)`` array to draw instead of the loss (per tracked minimum and
    value, e.g. a test error), with ``ylabel``."""
    from .topography.parametric import TrackedMinima

    if not isinstance(result, TrackedMinima):
        raise TypeError(f"plot.minima_against(result={type(result).__name__}): pass the "
                        "result of fo.track_minima(...).")
    y = result.losses if quantity is None else np.asarray(quantity, float)
    if y.shape != result.losses.shape:
        raise ValueError(f"plot.minima_against(quantity=array of shape {y.shape}): pass one "
                         f"value per tracked minimum and parameter value, shape "
                         f"{result.losses.shape}.")
    plt = _pyplot()
    own = ax is None
    if own:
        ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")[1]
    vals = result.values
    if saddles and quantity is None:
        sv = [(v, f) for v, c in zip(vals, result.catalogues) for f in c.saddles.losses]
        if sv:
            sv = np.array(sv)
            ax.plot(sv[:, 0], sv[:, 1], ".", color="0.6", ms=3, zorder=1,
                    label="index-1 saddles")
    folds = []
    for t in range(len(result)):
        color = _basin_color(t)
        ax.plot(vals, y[t], "o-", color=color, ms=2.5, lw=1.2, zorder=2,
                label=f"minimum {t}")
        have = np.nonzero(result.present[t])[0]
        # a fold on either side: the minimum ends (disappeared) or begins (absent before)
        for edge, other in ((have.max(), result.disappeared[t]),
                            (have.min(), result.absent_before[t])):
            if np.isfinite(other):
                ax.plot(vals[edge], y[t, edge], "o", ms=9, mfc="none", mec="k", mew=1.2,
                        zorder=3)
                folds.append(ax.axvspan(*sorted((vals[edge], other)), color="0.85",
                                        zorder=0))
    if folds:
        folds[0].set_label("fold (between the last value with the\nminimum and the first "
                           "without)")
    ax.set_xlabel(result.name)
    ax.set_ylabel(ylabel or ("loss at the minimum" if quantity is None else "quantity"))
    rows = _legend_rows(_ax_height(ax) if not own else ax.figure.get_figheight() - 0.6)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("minimum"))
    leg = ax.legend([handles[i] for i in order], [labels[i] for i in order],
                    fontsize=_LEGEND_FONT, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    borderaxespad=0.0, frameon=False, ncol=-(-len(labels) // rows))
    if own:
        _fit_width(ax.figure, leg, 6.0)
    return ax


def _neb_paths(paths):
    """``paths``: one ElasticBand, a list of them, or a dict label -> ElasticBand."""
    if isinstance(paths, dict):
        items = list(paths.items())
    elif isinstance(paths, (list, tuple)):
        items = [(None, p) for p in paths]
    else:
        items = [(None, paths)]
    for _, p in items:
        if not all(hasattr(p, a) for a in ("distance", "energies", "index",
                                            "transition_energy", "refined")):
            raise TypeError(f"plot.neb_profile(paths={type(p).__name__}): pass an "
                            "ElasticBand from fo.neb, a list of them, or a dict label -> "
                            "ElasticBand.")
    return items


def neb_profile(paths, ax=None, images=True, relative=False, color=None, alpha=None):
    """Loss along minimum-energy paths against the distance from their first end
    (seed 001, Figs. 4a-b): one line per :class:`~flowopt.topography.ElasticBand`, its
    images as dots (``images=True``), its transition state as a star (filled: refined
    to an index-1 saddle; white: the highest image, which could not be refined). ``relative=True``
    subtracts each path's starting loss. ``paths``: one ElasticBand, a list, or a dict
    label -> ElasticBand (labels go to the legend). Many paths (over 10) are drawn thin,
    translucent, in one colour and without a legend entry each (seed 001, Fig. 4a)."""
    items = _neb_paths(paths)
    plt = _pyplot()
    if ax is None:
        ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")[1]
    many = len(items) > 10  # more than tab10's colours: one colour, no legend per path
    alpha = (0.35 if many else 1.0) if alpha is None else alpha
    cmap = plt.get_cmap("tab10")
    refined = unrefined = False
    for n, (label, p) in enumerate(items):
        s, e = np.asarray(p.distance), np.asarray(p.energies, float)
        shift = e[0] if relative else 0.0
        c = color or ("0.25" if many else cmap(n % 10))
        line, = ax.plot(s, e - shift, "-", color=c, lw=0.8 if many else 1.4, alpha=alpha,
                        marker="o" if images and not many else None, ms=3.5,
                        label=None if many else label)
        ts_s = s[p.index]
        if p.refined:  # the refined saddle lies between the climbing image's neighbours
            x = np.asarray(p.transition_state)
            ts_s = s[p.index] + np.sign(np.dot(x - p.images[p.index],
                                               p.images[p.index + 1] - p.images[p.index])) \
                * np.linalg.norm(x - p.images[p.index])
        ax.plot([ts_s], [p.transition_energy - shift], "*", ms=7 if many else 12,
                mfc=line.get_color() if p.refined else "w", mec="k", mew=0.8,
                alpha=min(1.0, alpha * 2), zorder=3)
        refined, unrefined = refined or p.refined, unrefined or not p.refined
    ax.set_xlabel("distance along the path")
    ax.set_ylabel("loss - loss at start" if relative else "loss")
    handles = [plt.Line2D([], [], ls="", marker="*", ms=10, mfc="0.5", mec="k",
                          label="transition state (index-1 saddle)")] if refined else []
    if unrefined:
        handles.append(plt.Line2D([], [], ls="", marker="*", ms=10, mfc="w", mec="k",
                                  label="highest image (not refined)"))
    labelled = [h for h in ax.get_lines() if h.get_label() and
                not h.get_label().startswith("_")]
    ax.legend(handles=labelled + handles, fontsize=8, frameon=False)
    return ax


def disconnectivity(tree, ax=None, labels=True, color="k"):
    """Disconnectivity graph (Becker & Karplus 1997; Wales, Miller & Walsh 1998) of a
    :class:`~flowopt.topography.Disconnectivity`: each minimum is a vertical line from
    its loss up to the level where it joins another group, each join a horizontal bar
    over the groups it joins with a line up to the next join; the top of each tree rises
    a little above its last join. Minima are placed left to right in ``tree.order``, so
    no lines cross; ``labels`` writes each minimum's index under its line."""
    if not all(hasattr(tree, a) for a in ("graph", "roots", "order", "energies")):
        raise TypeError(f"plot.disconnectivity(tree={type(tree).__name__}): pass the result "
                        "of fo.disconnectivity(...) or fo.Disconnectivity.from_edges(...).")
    plt = _pyplot()
    if ax is None:
        ax = plt.subplots(figsize=(max(4.0, 0.45 * len(tree.order) + 2), 4.5),
                          layout="constrained")[1]
    g = tree.graph
    x = {m: float(i) for i, m in enumerate(tree.order)}

    def place(node):
        kids = list(g.successors(node))
        if kids:
            x[node] = float(np.mean([place(c) for c in kids]))
        return x[node]

    for r in tree.roots:
        place(r)
    energies = [g.nodes[n]["energy"] for n in g.nodes]
    span = max(energies) - min(energies) or 1.0
    for node in g.nodes:
        e = g.nodes[node]["energy"]
        up = list(g.predecessors(node))
        top = g.nodes[up[0]]["energy"] if up else e + 0.08 * span
        ax.plot([x[node], x[node]], [e, top], "-", color=color, lw=1.2,
                solid_capstyle="butt")
        kids = list(g.successors(node))
        if kids:
            xs = [x[c] for c in kids]
            ax.plot([min(xs), max(xs)], [e, e], "-", color=color, lw=1.2)
    if labels:
        for m in tree.order:
            ax.annotate(str(m), (x[m], tree.energies[m]), xytext=(0, -3),
                        textcoords="offset points", ha="center", va="top", fontsize=8)
    ax.set_xlim(-0.7, len(tree.order) - 0.3)
    ax.set_ylim(min(energies) - 0.06 * span, max(energies) + 0.12 * span)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel("loss")
    return ax


def hessian_spectra(catalogue, kinds=("minimum",), zero=1e-3, linear=1e-9, cmap="viridis"):
    """Hessian eigenvalue spectra of a :class:`~flowopt.topography.Catalogue`'s entries
    of ``kinds`` (default its minima; seed 001 §3.5, "the eigenvalues of the energy
    Hessian at all minima"). Left: each entry's eigenvalues in ascending order against
    their rank, one line per entry coloured by its loss, on a symmetric-log axis that is
    linear within ``linear`` times the median entry's largest ``|lambda|`` (round-off
    zeros sit on the 0 line); the grey band is "near zero". Right: per entry, against its
    loss, how many eigenvalues are negative, near zero (``|lambda| <= zero`` times the
    entry's largest ``|lambda|``; default 1e-3, the share below which the catalogue
    probes an eigenvalue's direction instead of trusting its sign) and positive.
    Returns the figure."""
    from .topography.catalogue import KINDS, Catalogue

    if not isinstance(catalogue, Catalogue):
        raise TypeError(f"plot.hessian_spectra(catalogue={type(catalogue).__name__}): pass "
                        "the result of fo.catalogue(...).")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"plot.hessian_spectra(kinds={kinds!r}): kinds must be some of "
                         f"{KINDS}.")
    if isinstance(zero, (bool, np.bool_)) or not isinstance(zero, (int, float, np.floating)) \
            or not 0 < zero < 1:
        raise ValueError(f"plot.hessian_spectra(zero={zero!r}): zero, the share of an entry's "
                         "largest |eigenvalue| below which an eigenvalue counts as zero, must "
                         "be a number in (0, 1), e.g. 1e-6.")
    cat = catalogue[np.isin(catalogue.kind, kinds)]
    if not len(cat):
        raise ValueError(f"plot.hessian_spectra(catalogue=...): the catalogue has no entry of "
                         f"kind {' or '.join(kinds)} ({catalogue.counts()}).")
    plt = _pyplot()
    from matplotlib.colors import LogNorm, Normalize

    w = np.asarray(cat.eigenvalues, float)
    f = np.asarray(cat.losses, float)
    k, d = w.shape
    thresh = zero * np.maximum(np.abs(w).max(1), np.finfo(float).tiny)
    neg = np.sum(w < -thresh[:, None], 1)
    pos = np.sum(w > thresh[:, None], 1)
    nul = d - neg - pos
    logscale = bool(np.all(f > 0) and f.max() > 10 * f.min())
    norm = LogNorm(f.min(), f.max()) if logscale else Normalize(f.min(), f.max() + (
        0 if f.max() > f.min() else 1))
    colours = plt.get_cmap(cmap)(norm(f))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.6), width_ratios=(1.25, 1),
                                 layout="constrained")
    band = float(np.median(thresh))
    if isinstance(linear, (bool, np.bool_)) or not isinstance(linear, (int, float, np.floating)) \
            or not 0 < linear <= zero:
        raise ValueError(f"plot.hessian_spectra(linear={linear!r}): linear, the symlog axis's "
                         "linear range as a share of the largest |eigenvalue|, must be a "
                         f"number in (0, zero = {zero:g}], e.g. 1e-9.")
    ax.axhspan(-band, band, color="0.88", zorder=0, lw=0)
    rank = np.arange(1, d + 1)
    thin = k > 20
    for i in np.argsort(-f):  # the lowest loss drawn last, on top
        ax.plot(rank, w[i], "-", color=colours[i], lw=0.7 if thin else 1.3,
                alpha=0.55 if thin else 0.9)
    lin = band * linear / zero
    ax.set_yscale("symlog", linthresh=lin, linscale=1.0)
    # every other decade (or sparser) from the linear range up: labels that never collide
    lo = int(np.ceil(np.log10(lin)))
    top, bottom = max(w.max(), band, lin), max(-w.min(), band, lin)  # each side's reach
    hi = int(np.floor(np.log10(max(top, bottom))))
    step = max(2, -(-(hi - lo) // 6))
    dec = 10.0 ** np.arange(hi, lo - 1, -step)
    ax.set_yticks(np.concatenate([-dec[dec <= 3 * bottom], [0.0], dec[dec <= 3 * top][::-1]]))
    ax.yaxis.set_minor_locator(plt.NullLocator())
    ax.set_ylim(-3 * bottom, 3 * top)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlim(0.5, d + 0.5)
    ax.set_xlabel("eigenvalue rank (ascending)")
    ax.set_ylabel("Hessian eigenvalue")
    what = " or ".join("minima" if x == "minimum" else x + (" points" if x == "higher"
                                                               else "s") for x in kinds)
    ax.set_title(f"{k} {what} in d = {d}: sorted Hessian eigenvalues\n(grey: near zero, "
                 f"|eigenvalue| <= {zero:g} x the largest, at the median entry)", fontsize=9)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05,
                 label="loss")
    ms = 16 if thin else 30
    for count, name, colour, marker in ((pos, "positive", "tab:blue", "^"),
                                        (nul, "near zero", "0.45", "o"),
                                        (neg, "negative", "tab:red", "v")):
        bx.scatter(f, count, s=ms, c=colour, marker=marker, alpha=0.7, lw=0,
                   label=f"{name}: median {np.median(count):g}, range "
                         f"{count.min()}-{count.max()}")
    if logscale:
        bx.set_xscale("log")
    bx.set_yscale("symlog", linthresh=1.0, linscale=0.5)  # 0, 1 .. 10 .. d all readable
    ticks = [t for t in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t < 0.8 * d] + [d]
    bx.set_yticks(ticks, [str(t) for t in ticks])
    bx.yaxis.set_minor_locator(plt.NullLocator())
    bx.set_ylim(-0.2, 1.6 * d)
    bx.set_xlabel("loss")
    bx.set_ylabel(f"eigenvalues (of {d})")
    bx.set_title(f"eigenvalues of each entry by sign\n(near zero: |eigenvalue| <= {zero:g} "
                 "x the entry's largest)", fontsize=9)
    bx.legend(fontsize=_LEGEND_FONT + 1, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=2)
    return fig
