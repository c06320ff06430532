"""The options every mapping command shares (landscape or loss, flow and its parameters,
scheme, step control, grid, times, seed) and the objects they build."""

import contextlib
import dataclasses
import math

import click

from . import _names

DEFAULTS = {"landscape": "himmelblau", "flow": "gradient", "scheme": "euler", "n": 256,
            "t1": 10.0, "dt0": 1e-2, "rtol": 1e-6, "atol": 1e-8}


@contextlib.contextmanager
def library():
    """flowopt's own argument errors (they name the argument and the fix) as one clean
    ``Error:`` line, exit code 1."""
    try:
        yield
    except (ValueError, TypeError) as err:
        raise click.ClickException(str(err)) from None


def comma_floats(kind, value, count, what, param, ctx):
    """``value`` ("a,b,..." or a TOML list) as ``count`` floats; else ``kind``'s usage
    error naming ``what`` (e.g. "a point X,Y (e.g. 0.5,-2)")."""
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        numbers = tuple(float(v) for v in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != count:
        kind.fail(f"{value!r} is not {what}.", param, ctx)
    return numbers


class Bounds(click.ParamType):
    """``x0,x1,y0,y1`` -> ``((x0, x1), (y0, y1))``, each pair increasing."""

    name = "X0,X1,Y0,Y1"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        x0, x1, y0, y1 = comma_floats(self, value, 4, "four numbers x0,x1,y0,y1 (e.g. "
                                      "-6,6,-6,6)", param, ctx)
        if not all(math.isfinite(b) for b in (x0, x1, y0, y1)):
            self.fail(f"{value!r}: the bounds must be finite numbers.", param, ctx)
        for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
            if not lo < hi:
                self.fail(f"{value!r}: the {axis} bounds are reversed or empty ({axis}0 = "
                          f"{lo:g} is not below {axis}1 = {hi:g}); give x0,x1,y0,y1 with "
                          "x0 < x1 and y0 < y1.", param, ctx)
        return ((x0, x1), (y0, y1))


class Shape(click.ParamType):
    """``NXxNY`` -> the grid shape ``(ny, nx)``."""

    name = "NXxNY"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = value if isinstance(value, list) else str(value).lower().split("x")
        try:
            nx, ny = (int(p) for p in parts)
        except ValueError:
            self.fail(f"{value!r} is not NXxNY (e.g. 256x128: 256 starts along x, 128 along "
                      "y).", param, ctx)
        if nx < 2 or ny < 2:
            self.fail(f"{value!r}: at least 2 starts along each axis.", param, ctx)
        return (ny, nx)


def _names_help(table):
    return ", ".join(table)


def options(multi_scheme=False, multi_dt0=False, store=False):
    """The shared options, as one decorator. ``multi_*``: the option may repeat
    (``flowopt compare``)."""
    scheme_default = ("euler", "euler-richardson") if multi_scheme else DEFAULTS["scheme"]
    dt0_default = (DEFAULTS["dt0"],) if multi_dt0 else DEFAULTS["dt0"]
    opts = [
        click.option("--landscape", metavar="NAME", default=None,
                     help=f"Registered landscape [default: {DEFAULTS['landscape']}]; one "
                     f"of: {_names_help(_names.landscapes())}."),
        click.option("--loss", metavar="MODULE:ATTRIBUTE", default=None,
                     help="Your own loss instead of a landscape: imports (and so runs) "
                     "MODULE from the current folder or the installed packages and uses its "
                     "ATTRIBUTE, a JAX-traceable function from shape (2,) to a scalar (a "
                     "class is instantiated without arguments). Needs --bounds unless it has "
                     "a domain. [default: none]"),
        click.option("--flow", metavar="NAME", default=DEFAULTS["flow"], show_default=True,
                     help=f"Registered flow; one of: {_names_help(_names.flows())}."),
        click.option("--param", "param", metavar="NAME=VALUE", multiple=True,
                     help="A hyperparameter of the flow (repeatable), typed and checked "
                     "against the flow's fields, e.g. --flow heavy-ball --param friction=0.5. "
                     "[default: the flow's own defaults]"),
        click.option("--scheme", metavar="NAME", default=scheme_default, show_default=True,
                     multiple=multi_scheme,
                     help=("Integration scheme" + (" (repeat to compare several)"
                                                   if multi_scheme else "") +
                           f"; one of: {_names_help(_names.schemes())}.")),
        click.option("--control", type=click.Choice(_names.CONTROLS), default="fixed",
                     show_default=True,
                     help="Step control: fixed steps of --dt0; energy: "
                     "schemes.EnergyController (steps that keep the flow's energy "
                     "decreasing, starting at --dt0); pid: diffrax.PIDController with "
                     "--rtol/--atol (one adaptive solve per start: slower)."),
        click.option("--rtol", type=float, default=DEFAULTS["rtol"], show_default=True,
                     help="Relative tolerance of --control pid (ignored otherwise)."),
        click.option("--atol", type=float, default=DEFAULTS["atol"], show_default=True,
                     help="Absolute tolerance of --control pid (ignored otherwise)."),
        click.option("--n", type=int, default=None,
                     help=f"Starts per axis of the grid [default: {DEFAULTS['n']}]."),
        click.option("--shape", type=Shape(), default=None, metavar="NXxNY",
                     help="Grid shape instead of --n: NXxNY, e.g. 256x128 is 256 starts "
                     "along x and 128 along y. [default: none]"),
        click.option("--bounds", type=Bounds(), default=None,
                     help="The grid's window x0,x1,y0,y1 (x0 < x1, y0 < y1). [default: the "
                     "landscape's domain]"),
        click.option("--t1", type=float, default=DEFAULTS["t1"], show_default=True,
                     help="Physical end time of every run."),
        click.option("--dt0", type=float, default=dt0_default, show_default=True,
                     multiple=multi_dt0,
                     help="Step size (the first step under --control energy/pid)" +
                     (" (repeat to compare several)." if multi_dt0 else ".")),
        click.option("--tol", type=float, default=None,
                     help="Convergence tolerance of the map (see help(flowopt.basins)). "
                     "[default: 1e-6 in float64, 1e-3 in float32]"),
        click.option("--replicas", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Runs per start for stochastic flows (langevin, ...): the map "
                     "then holds the probability of each outcome."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the random key (stochastic flows; random starts)."),
        click.option("--precision", type=click.Choice(["float64", "float32"]),
                     default="float64", show_default=True,
                     help="Floating-point precision of the computation (float32 is faster, "
                     "its tolerances coarser)."),
        click.option("--quiet", is_flag=True, default=False, show_default=True,
                     help="No progress bar. [default: off]"),
    ]

    def decorate(f):
        for o in reversed(opts):
            f = o(f)
        return f

    return decorate


@dataclasses.dataclass
class Problem:
    """What the shared options describe, built and checked."""

    loss: object
    name: str
    flow: object
    grid: object
    controller: object
    key: object
    bounds: tuple


def set_precision(precision):
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")


def loss_of(landscape, loss):
    """(loss, its name) from ``--landscape`` or ``--loss``."""
    if landscape is not None and loss is not None:
        raise click.UsageError("give --landscape NAME or --loss MODULE:ATTRIBUTE, not both.")
    if loss is not None:
        return _names.import_loss(loss), loss
    name = landscape or DEFAULTS["landscape"]
    cls = _names.lookup("landscape", name, _names.landscapes(), "--landscape")
    with library():
        return cls(), _names.kebab(cls.__name__)


def scheme_of(name):
    cls = _names.lookup("scheme", name, _names.schemes(), "--scheme")
    return cls()


def build(landscape, loss, flow, param, control, rtol, atol, n, shape, bounds, seed,
          precision, **_):
    """The loss, flow, grid, controller and key of the shared options."""
    set_precision(precision)
    import diffrax

    import schemes

    from .. import Grid

    fn, name = loss_of(landscape, loss)
    flow_cls = _names.lookup("flow", flow, _names.flows(), "--flow")
    params = _names.parse_parameters(flow_cls, param)
    with library():
        flow_obj = flow_cls(fn, **params)
    if n is not None and shape is not None:
        raise click.UsageError("give --n or --shape, not both.")
    if n is not None and n < 2:
        raise click.BadParameter(f"{n}: at least 2 starts per axis.", param_hint="--n")
    grid_shape = shape or (n or DEFAULTS["n"],) * 2
    if bounds is None:
        domain = getattr(fn, "domain", None)
        if domain is None:
            raise click.UsageError(f"the loss {name} has no domain: give the grid's window "
                                   "with --bounds x0,x1,y0,y1.")
        bounds = tuple(tuple(float(v) for v in row) for row in domain)
    with library():
        grid = Grid(bounds, grid_shape)
    controller = None  # fixed steps
    if control == "energy":
        controller = schemes.EnergyController()
    elif control == "pid":
        with library():
            controller = diffrax.PIDController(rtol=rtol, atol=atol)
    return Problem(fn, name, flow_obj, grid, controller, random_key(seed), bounds)


def random_key(seed):
    """``jax.random.key(seed)``; for threefry (JAX's default) and a seed in [0, 2**32),
    the same key ``[0, seed]`` made on the host, so that no seeding program is compiled."""
    import jax
    import numpy as np

    if 0 <= seed < 2**32 and jax.config.jax_default_prng_impl == "threefry2x32":
        return jax.random.wrap_key_data(np.array([0, seed], np.uint32))
    return jax.random.key(seed)


def save_figure(fig, path):
    """Write ``fig`` (or an Axes' figure) to ``path`` (Agg), and close it."""
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = getattr(fig, "figure", fig)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def use_agg():
    import matplotlib

    matplotlib.use("Agg")
