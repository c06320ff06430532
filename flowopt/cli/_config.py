"""``flowopt run CONFIG.toml``: any command from a TOML file, each field checked (name and
type) against the command's options before anything runs. Nothing is evaluated."""

import pathlib
import tomllib

import click

from ._commands import Point
from ._problem import Bounds, Shape

_NUMBER = (int, float)


def _is_number(v):
    return isinstance(v, _NUMBER) and not isinstance(v, bool)


def _numbers(n):
    return lambda v: isinstance(v, list) and len(v) == n and all(_is_number(x) for x in v)


def _kind(param):
    """(expected type in words, check of one TOML value) for one option."""
    t = param.type
    if getattr(param, "is_flag", False):
        return "true or false", lambda v: isinstance(v, bool)
    if param.name == "param":
        return ('a table of parameters (e.g. {friction = 0.5}) or a list of "NAME=VALUE" '
                "strings"), lambda v: isinstance(v, dict) and all(
                    isinstance(x, (str, bool)) or _is_number(x) for x in v.values())
    if param.name == "values":
        return "a list of numbers or a comma-separated string", lambda v: isinstance(
            v, str) or (isinstance(v, list) and v and all(_is_number(x) for x in v))
    if isinstance(t, Bounds):
        return "a list of four numbers [x0, x1, y0, y1] or a string", \
            lambda v: isinstance(v, str) or _numbers(4)(v)
    if isinstance(t, Shape):
        return 'a list [nx, ny] of integers or a string "NXxNY"', lambda v: isinstance(
            v, str) or (isinstance(v, list) and len(v) == 2 and all(
                isinstance(x, int) and not isinstance(x, bool) for x in v))
    if isinstance(t, Point):
        return "a list [x, y] of numbers or a string", lambda v: isinstance(
            v, str) or _numbers(2)(v)
    if isinstance(t, (click.types.IntParamType, click.IntRange)):
        return "an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)
    if isinstance(t, (click.types.FloatParamType, click.FloatRange)):
        return "a number", _is_number
    if isinstance(t, click.Choice):
        return (f"one of the strings {', '.join(map(repr, t.choices))}",
                lambda v: v in t.choices)
    return "a string", lambda v: isinstance(v, str)


def _tokens(value):
    """One TOML value as the text the option parses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_tokens(v) for v in value)
    return str(value)


def _arguments(path, command, table):
    """The command line that ``table`` describes, each field checked."""
    params = {p.name: p for p in command.params if p.name != "help"}
    argv, positional = [], []
    for field, value in table.items():
        if field not in params:
            raise click.UsageError(
                f"{path}: unknown field {field!r} for command {command.name!r}; valid "
                f"fields: command, {', '.join(params)}.")
        param = params[field]
        what, ok = _kind(param)
        multiple = getattr(param, "multiple", False)
        if field == "param" and isinstance(value, list):
            good = all(isinstance(v, str) for v in value)
        elif multiple and isinstance(value, list) and not (
                isinstance(param.type, (Point,)) and _numbers(2)(value)):
            good = all(ok(v) for v in value)
        else:
            good = ok(value)
        if not good:
            what = f"{what}, or a list of them" if multiple and field != "param" else what
            raise click.UsageError(f"{path}: field {field!r} must be {what} (got "
                                   f"{type(value).__name__} {value!r}).")
        if isinstance(param, click.Argument):
            positional.append(str(value))
            continue
        opt = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            argv += [opt] if value else []
        elif field == "param" and isinstance(value, dict):
            for k, v in value.items():
                argv += [opt, f"{k}={_tokens(v)}"]
        elif multiple and isinstance(value, list) and not (
                isinstance(param.type, Point) and _numbers(2)(value)):
            for v in value:
                argv += [opt, _tokens(v)]
        elif isinstance(param.type, Shape) and isinstance(value, list):
            argv += [opt, "x".join(map(str, value))]
        else:
            argv += [opt, _tokens(value)]
    return argv + ["--"] + positional if positional else argv


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False,
                                          path_type=pathlib.Path))
def run(config):
    """Run any command from a TOML file: a field command = "basins" (or compare, sweep,
    trajectories, show) and one field per option of that command, named as the option
    with underscores (dt0 = 0.01, scheme = "euler-richardson", bounds = [-6, 6, -6, 6],
    param = {friction = 0.5}, resume = true; for show: store = "PATH"). Relative paths
    are relative to the current folder. Fields are checked (name and type) before
    anything runs; nothing in the file is evaluated.
    """
    from ._commands import COMMANDS

    try:
        table = tomllib.loads(config.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise click.UsageError(f"{config}: not valid TOML ({err}).") from None
    commands = {c.name: c for c in COMMANDS}
    name = table.pop("command", None)
    if not isinstance(name, str) or name not in commands:
        got = "missing" if name is None else f"{name!r}"
        raise click.UsageError(f"{config}: field 'command' must be one of the strings "
                               f"{', '.join(map(repr, commands))} (got {got}).")
    command = commands[name]
    argv = _arguments(config, command, table)
    try:
        return command.main(args=argv, prog_name=f"flowopt {name}", standalone_mode=False)
    except click.BadParameter as err:
        field = err.param.name if err.param is not None else str(
            err.param_hint or "").lstrip("-").replace("-", "_")
        raise click.UsageError(f"{config}: field {field!r}: {err.format_message()}") from None
