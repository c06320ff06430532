"""Names a user types on the command line: landscapes, flows, schemes, controls, a flow's
parameters, and ``--loss module:attribute``. Lists are read from the packages
(``flowopt.landscapes``, ``flowopt.flows``, ``schemes``, ``diffrax``), never kept here."""

import dataclasses
import functools
import importlib
import inspect
import os
import re
import sys
import types
import typing

import click

# display names where splitting the class name at capitals reads badly
_SPELLED = {"GradientFlow": "gradient", "RMSProp": "rmsprop", "McKeanVlasov": "mckean-vlasov",
            "ShARK": "shark", "GeneralShARK": "general-shark", "SPaRK": "spark",
            "ShOULD": "should"}


def kebab(cls_name):
    """``SixHumpCamel`` -> ``six-hump-camel`` (``RMSProp`` -> ``rmsprop``)."""
    if cls_name in _SPELLED:
        return _SPELLED[cls_name]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", cls_name).lower()


def _key(name):
    return re.sub(r"[-_ ]", "", name).lower()


def _concrete(module, base):
    """Public concrete subclasses of ``base`` in ``module.__all__`` (or ``dir``)."""
    names = getattr(module, "__all__", None) or dir(module)
    out = []
    for n in names:
        c = getattr(module, n, None)
        if (isinstance(c, type) and issubclass(c, base) and c is not base
                and not inspect.isabstract(c) and not n.startswith(("Abstract", "_"))):
            out.append(c)
    return out


@functools.cache
def landscapes():
    """name -> Landscape class, for the landscapes that build with their defaults."""
    from .. import landscapes as lmod

    return {kebab(c.__name__): c for c in _concrete(lmod, lmod.Landscape)}


def _loss_first(cls):
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    return bool(fields) and fields[0].name == "loss"


@functools.cache
def flows():
    """name -> flow class, for the flows built as ``Flow(loss, **parameters)``."""
    from .. import flows as fmod

    return {kebab(c.__name__): c for c in _concrete(fmod, fmod.AbstractFlow) if _loss_first(c)}


def _no_arguments(cls):
    try:
        cls()
    except Exception:  # a solver that needs arguments is not a name one can type
        return False
    return True


@functools.cache
def schemes():
    """name -> scheme class: ours (``schemes``) first, then diffrax's solvers."""
    import diffrax

    import schemes as smod

    out = {kebab(c.__name__): c for c in _concrete(smod, diffrax.AbstractSolver)
           if _no_arguments(c)}
    for c in _concrete(diffrax, diffrax.AbstractSolver):
        name = kebab(c.__name__)
        if name not in out and _no_arguments(c):
            out[name] = c
    return out


CONTROLS = ("fixed", "energy", "pid")


def lookup(kind, name, table, option):
    """The entry called ``name`` (case, ``-`` and ``_`` ignored), or a usage error that
    lists the valid names."""
    found = {_key(k): v for k, v in table.items()}
    found.update({_key(v.__name__): v for v in table.values()})
    if _key(name) in found:
        return found[_key(name)]
    raise click.BadParameter(f"unknown {kind} {name!r}; valid names: {', '.join(table)}.",
                             param_hint=option)


def _field_kind(field):
    """``(parse, description)`` for a flow field a user can set, or ``None``."""
    t = field.type
    if isinstance(t, str):  # postponed annotations
        t = {"float": float, "int": int, "bool": bool}.get(t, t)
    optional = False
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        optional = len(args) == 1 and len(typing.get_args(t)) == 2
        t = args[0] if optional else None
    if t is bool:
        return _boolean, "true/false"
    if t is int:
        return int, "int"
    if t is float:
        return ((lambda s: None if s.lower() == "none" else float(s)), "number or none") \
            if optional else (float, "number")
    return None


def _boolean(text):
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise ValueError(text)


def flow_parameters(cls):
    """name -> (parse, description, default) for the fields of a flow a user can set."""
    out = {}
    for f in dataclasses.fields(cls)[1:]:
        kind = _field_kind(f)
        if kind is not None:
            default = f.default if f.default is not dataclasses.MISSING else None
            out[f.name] = (*kind, default)
    return out


def _describe(params):
    return ", ".join(f"{n} ({d}, default {v})" for n, (_, d, v) in params.items()) or "none"


def parse_parameters(cls, items, option="--param"):
    """``["friction=0.5", ...]`` -> ``{"friction": 0.5}``, typed and checked against the
    flow's fields."""
    params = flow_parameters(cls)
    flow = kebab(cls.__name__)
    out = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not eq or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE; parameters of {flow}: "
                                     f"{_describe(params)}.", param_hint=option)
        if name not in params:
            raise click.BadParameter(f"{flow} has no parameter {name!r}; its parameters: "
                                     f"{_describe(params)}.", param_hint=option)
        parse, what, _ = params[name]
        try:
            out[name] = parse(text.strip())
        except ValueError:
            raise click.BadParameter(f"{name}={text!r}: {flow}'s {name} takes a {what}.",
                                     param_hint=option) from None
    return out


def import_loss(path, option="--loss"):
    """``module:attribute`` -> the loss: imports (and so runs) ``module`` from the current
    folder or the installed packages; a class is instantiated with no arguments."""
    module, colon, attribute = path.partition(":")
    if not colon or not module or not attribute:
        raise click.BadParameter(f"{path!r} is not MODULE:ATTRIBUTE (e.g. mylosses:bowl).",
                                 param_hint=option)
    if os.getcwd() not in sys.path:  # the console script does not put the cwd on the path
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise click.BadParameter(f"cannot import module {module!r}: {err}",
                                 param_hint=option) from None
    try:
        obj = functools.reduce(getattr, attribute.split("."), mod)
    except AttributeError:
        raise click.BadParameter(f"module {module!r} has no attribute {attribute!r}.",
                                 param_hint=option) from None
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise click.BadParameter(f"{path} is a {type(obj).__name__}, not a loss (a function "
                                 "from shape (d,) to a scalar).", param_hint=option)
    return obj
