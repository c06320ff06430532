"""The subcommands: basins, compare, sweep, trajectories, show."""

import pathlib
import time

import click
import numpy as np

from . import _names, _problem, _store
from ._problem import build, library, save_figure, scheme_of

_STORE = "flowopt-out/basins.zarr"


def _title(p, scheme, dt0, t1, grid=True):
    ny, nx = p.grid.shape
    return (f"{p.name}, {_names.kebab(type(p.flow).__name__)} flow, {scheme}, dt0={dt0:g}, "
            f"t1={t1:g}" + (f", {nx}x{ny} starts" if grid else ""))


def _basin_kwargs(o, p):
    return dict(t1=o["t1"], controller=p.controller, key=p.key, replicas=o["replicas"],
                tol=o["tol"], progress=not o["quiet"])


def _report(name, bmap):
    from ..__main__ import report

    with library():
        report(name, bmap)


def _outcome_names(outcomes):
    from ..basins import CODES

    return [f"min {o}" if o >= 0 else CODES[int(o)] for o in outcomes]


def _table(rows, header):
    """Rows of (name, values...) as aligned text."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  " + "  ".join(c.rjust(w) if i else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(r, widths)))
                     for r in cells)


def _done(paths, start):
    click.echo(f"\nwrote {', '.join(str(p) for p in paths)}  "
               f"({time.perf_counter() - start:.1f} s)")


@click.command()
@_problem.options()
@click.option("--out", default=_STORE, show_default=True, metavar="STORE",
              help="Zarr store the map is written to (a folder).")
@click.option("--figure", default=None, metavar="PNG",
              help="Where the figure of the map goes. [default: next to the store, "
              "STORE with .png: flowopt-out/basins.png]")
@click.option("--resume", is_flag=True, default=False, show_default=True,
              help="Continue an interrupted map in STORE: only missing tiles are computed; "
              "refused if STORE was made with another configuration. [default: off]")
@click.option("--overwrite", is_flag=True, default=False, show_default=True,
              help="Replace an existing STORE (without --resume or --overwrite an existing "
              "STORE is an error). [default: off]")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Map on a local Dask cluster of N single-threaded worker processes "
              "(needs pip install 'flowopt[cluster]'). [default: in-process]")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Map on a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (needs "
              "pip install 'flowopt[cluster]'). [default: in-process]")
@click.option("--scheduler-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for --scheduler before giving up.")
def basins(**o):
    """Basins of attraction: which minimum each start of a grid reaches under a flow and
    scheme, how fast, or whether it diverges or never settles.

    Writes the map to a Zarr store (--out) and its figure (--figure), and prints the basin
    fractions and boundary metrics (boundary fraction, basin entropy, uncertainty
    exponent). With no options: gradient flow on Himmelblau, Euler, 256x256 starts,
    t1 = 10, dt0 = 0.01.
    """
    start = time.perf_counter()
    if o["resume"] and o["overwrite"]:
        raise click.UsageError("give --resume or --overwrite, not both.")
    p = build(**o)
    scheme = scheme_of(o["scheme"])
    with _store.executor(o["workers"], o["scheduler"], o["scheduler_timeout"]) as client:
        bmap = _store.compute_map(p.flow, scheme, p.grid, dt0=o["dt0"], store=o["out"],
                                  resume=o["resume"], overwrite=o["overwrite"],
                                  client=client, **_basin_kwargs(o, p))
    title = _title(p, o["scheme"], o["dt0"], o["t1"])
    _report(title, bmap)
    figure = _map_figure(bmap, p.loss, title, o["figure"], o["out"])
    _done([o["out"], figure], start)


def _map_figure(bmap, loss, title, figure, store):
    from .. import plot

    figure = pathlib.Path(figure) if figure else pathlib.Path(store).with_suffix(".png")
    _problem.use_agg()
    with library():
        ax = plot.basins(bmap, loss=loss, title=title)
    return save_figure(ax, figure)


@click.command()
@_problem.options(multi_scheme=True, multi_dt0=True)
@click.option("--figure", default="flowopt-out/compare.png", show_default=True,
              metavar="PNG", help="Where the comparison figure goes.")
def compare(**o):
    """Compare schemes or step sizes on one grid: every --scheme at every --dt0 (at least
    two runs), matched attractor by attractor; prints the agreement between each pair and
    their basin fractions, and draws the maps side by side with their disagreement.

    With no options: Euler against Euler-Richardson, gradient flow on Himmelblau.
    """
    from .. import compare as compare_maps, plot

    start = time.perf_counter()
    p = build(**o)
    runs = [(s, d) for s in o["scheme"] for d in o["dt0"]]
    if len(runs) < 2:
        raise click.UsageError("compare needs at least two runs: repeat --scheme (e.g. "
                               "--scheme euler --scheme euler-richardson) or --dt0.")
    maps = {}
    for s, d in runs:
        name = (s if len(o["dt0"]) == 1 else f"dt0={d:g}" if len(o["scheme"]) == 1
                else f"{s}, dt0={d:g}")
        with library():
            maps[name] = _store_free_map(p, scheme_of(s), d, o)
    with library():
        cmp = compare_maps(maps)
    names = list(maps)
    click.echo(f"\n{p.name}, {_names.kebab(type(p.flow).__name__)} flow, t1={o['t1']:g}")
    click.echo("\nagreement (share of starts with the same outcome)")
    agree = cmp["agreement"].values
    click.echo(_table([[n] + [f"{100 * a:.2f}%" for a in agree[i]]
                       for i, n in enumerate(names)], [""] + names))
    click.echo("\nbasin fractions")
    frac = cmp["fraction"].values
    keep = frac.max(0) > 0
    outcomes = _outcome_names(cmp.outcome.values[keep])
    click.echo(_table([[n] + [f"{100 * f:.2f}%" for f in frac[i, keep]]
                       for i, n in enumerate(names)], [""] + outcomes))
    _problem.use_agg()
    with library():
        fig = plot.compare(maps, loss=p.loss)
    _done([save_figure(fig, o["figure"])], start)


def _store_free_map(p, scheme, dt0, o):
    from .. import basins as basins_map

    return basins_map(p.flow, scheme, p.grid, dt0=dt0, **_basin_kwargs(o, p))


def _sweep_values(param, text, flow_cls):
    """``--values`` as numbers of the swept parameter's type."""
    parse = float
    if param not in ("dt0", "t1", "tol"):
        fields = _names.flow_parameters(flow_cls)
        if param not in fields:
            valid = ["dt0", "t1", "tol"] + list(fields)
            raise click.BadParameter(
                f"{param!r} is neither a step setting nor a parameter of "
                f"{_names.kebab(flow_cls.__name__)}; valid: {', '.join(valid)}.",
                param_hint="--param-name")
        parse = fields[param][0]
    items = text if isinstance(text, list) else [v for v in str(text).split(",") if v.strip()]
    try:
        values = [parse(str(v).strip()) for v in items]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers.",
                                 param_hint="--values") from None
    if not values:
        raise click.BadParameter("give at least one value.", param_hint="--values")
    return values


@click.command()
@_problem.options()
@click.option("--param-name", default="dt0", show_default=True, metavar="NAME",
              help="What to sweep: dt0, t1, tol, or a parameter of the flow (e.g. friction "
              "for --flow heavy-ball).")
@click.option("--values", default="0.005,0.01,0.013,0.016,0.02", show_default=True,
              metavar="V1,V2,...", help="The values of --param-name, comma-separated.")
@click.option("--figure", default="flowopt-out/sweep.png", show_default=True, metavar="PNG",
              help="Where the sweep figure goes.")
def sweep(**o):
    """Basin fractions (and boundary fraction, basin entropy) against a step size or a
    flow parameter: one map per value, attractors matched by position.

    With no options: gradient flow on Himmelblau under Euler at dt0 from 0.005 to 0.02
    (past 2/133.8 one minimum turns unstable for Euler).
    """
    from .. import plot, sweep as sweep_maps

    start = time.perf_counter()
    p = build(**o)
    values = _sweep_values(o["param_name"], o["values"], type(p.flow))
    kwargs = _basin_kwargs(o, p)
    if o["param_name"] != "dt0":
        kwargs["dt0"] = o["dt0"]
    with library():
        result = sweep_maps(p.flow, scheme_of(o["scheme"]), p.grid, param=o["param_name"],
                            values=values, **kwargs)
    frac = result["fraction"].values
    keep = frac.max(0) > 0
    click.echo(f"\n{_title(p, o['scheme'], o['dt0'], o['t1'])}: sweep of {o['param_name']}")
    click.echo(_table([[f"{v:g}"] + [f"{100 * f:.2f}%" for f in frac[i, keep]] +
                       [f"{result['boundary_fraction'].values[i]:.3f}",
                        f"{result['Sb'].values[i]:.3f}"]
                       for i, v in enumerate(values)],
                      [o["param_name"]] + _outcome_names(result.outcome.values[keep]) +
                      ["boundary", "Sb"]))
    _problem.use_agg()
    with library():
        ax = plot.sweep(result)
    _done([save_figure(ax, o["figure"])], start)


class Point(click.ParamType):
    name = "X,Y"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        return _problem.comma_floats(self, value, 2, "a point X,Y (e.g. 0.5,-2)", param, ctx)


@click.command()
@_problem.options()
@click.option("--start", "starts", type=Point(), multiple=True,
              help="A start X,Y (repeatable). [default: --count random starts in the "
              "window]")
@click.option("--count", type=click.IntRange(min=1), default=8, show_default=True,
              help="How many random starts (uniform in --bounds, from --seed) when no "
              "--start is given.")
@click.option("--saves", type=click.IntRange(min=2), default=200, show_default=True,
              help="Points saved along each trajectory (evenly spaced in time).")
@click.option("--figure", default="flowopt-out/trajectories.png", show_default=True,
              metavar="PNG", help="Where the figure goes.")
def trajectories(**o):
    """A few trajectories of the flow over the landscape's contours (dots: starts,
    crosses: ends); prints where each one ends.

    The grid options (--n, --shape) are not used; --bounds is the window the random starts
    are drawn from and the figure shows.
    """
    import jax

    from .. import plot, solve

    start = time.perf_counter()
    p = build(**o)
    scheme = scheme_of(o["scheme"])
    lo, hi = np.array(p.bounds)[:, 0], np.array(p.bounds)[:, 1]
    points = (np.array(o["starts"], float) if o["starts"] else
              np.random.default_rng(o["seed"]).uniform(lo, hi, (o["count"], 2)))
    sols = []
    click.echo(f"\n{_title(p, o['scheme'], o['dt0'], o['t1'], grid=False)}")
    for i, x0 in enumerate(points):
        with library():
            sol = solve(p.flow, scheme, jax.numpy.asarray(x0), t1=o["t1"], dt0=o["dt0"],
                        controller=p.controller, saveat=o["saves"],
                        key=jax.random.fold_in(p.key, i))
        sols.append(sol)
        x = np.asarray(sol.x)
        click.echo(f"  start ({x0[0]: .3f}, {x0[1]: .3f}) -> ({x[0]: .4f}, {x[1]: .4f}), "
                   f"loss {float(p.loss(sol.x)):.3g}, {sol.status}")
    label = f"{_names.kebab(type(p.flow).__name__)}, {o['scheme']}, dt0={o['dt0']:g}"
    _problem.use_agg()
    with library():
        ax = plot.trajectories(p.loss, {label: sols}, bounds=p.bounds)
    _done([save_figure(ax, o["figure"])], start)


@click.command()
@click.argument("store", type=click.Path(path_type=pathlib.Path))
@click.option("--figure", default=None, metavar="PNG",
              help="Where the figure goes. [default: STORE with .png]")
@click.option("--landscape", metavar="NAME", default=None,
              help="Draw this landscape's contours under the map. [default: the landscape "
              "the map was made on, when it is a registered one; else none]")
def show(store, figure, landscape):
    """Metrics and figure of a stored map (a STORE written by flowopt basins)."""
    start = time.perf_counter()
    bmap = _store.open_map(store)
    loss = None
    if landscape is not None:
        loss, _ = _problem.loss_of(landscape, None)
    else:
        loss = _stored_landscape(bmap)
    _report(str(store), bmap)
    fig = _map_figure(bmap, loss, str(store), figure, store)
    _done([fig], start)


def _stored_landscape(bmap):
    """The registered landscape named in the map's ``flow`` attribute, built with its
    defaults (matched by its repr; nothing is evaluated)."""
    flow = str(bmap.attrs.get("flow", ""))
    for cls in _names.landscapes().values():
        try:
            loss = cls()
        except Exception:  # a landscape that cannot be built with defaults is no match
            continue
        if f"loss={loss!r}" in flow:
            return loss
    return None


COMMANDS = [basins, compare, sweep, trajectories, show]
