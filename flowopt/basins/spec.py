"""The specification of a basin map: everything that determines its result, validated
once, described field by field in canonical text and hashed. A store records the
description and its hash; resuming with a different specification is refused with the
fields that differ; workers cache their compiled runners by the hash."""

import dataclasses
import functools
import hashlib
import inspect
import json
import math
from typing import Any

import jax
import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class MapSpec:
    """A validated basin map (built by ``flowopt.basins.mapper.plan``): the flow, scheme,
    step control, starts and every setting that changes a label, with the resolved
    defaults (``tol``, ``radius``, ``far``, ``attractors``, ``key``). Tiles are the
    consecutive runs of ``tile`` lanes (start-major, replicas innermost); a tile's result
    is a pure function of (spec, tile index)."""

    flow: Any
    scheme: Any
    grid: Any
    t1: float
    dt0: float
    controller: Any
    key: Any
    replicas: int
    attractors: Any  # (k, d) float array or None
    tol: float
    radius: float
    far: float
    scale: float
    center: Any  # (d,) float array: the far box's centre
    tile: int
    chunk: int
    early_stop: bool
    agents: Any
    spread: float
    max_steps: Any
    max_period: int
    dim: int
    dtype: str

    @property
    def n_starts(self):
        return len(self.grid)

    @property
    def lanes(self):
        return self.n_starts * self.replicas

    @property
    def n_tiles(self):
        return -(-self.lanes // self.tile)

    def tile_lanes(self, index):
        """The lanes ``[a, b)`` of tile ``index``."""
        return index * self.tile, min(self.lanes, (index + 1) * self.tile)

    def describe(self):
        """The specification as a dict field -> canonical text (array values hashed,
        functions by module, name and code): equal texts, equal maps."""
        return {f.name: canonical(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @property
    def digest(self):
        """SHA-256 of :meth:`describe` (hex)."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            text = json.dumps(self.describe(), sort_keys=True)
            cached = hashlib.sha256(text.encode()).hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached


def differences(old, new):
    """Lines ``field: stored ... / now ...`` for the fields of two descriptions that
    differ (values shortened to 160 characters)."""
    short = lambda s: s if len(s) <= 160 else s[:157] + "..."
    keys = sorted(set(old) | set(new))
    return [f"  {k}: stored {short(str(old.get(k)))}\n  {' ' * len(k)}  now    "
            f"{short(str(new.get(k)))}" for k in keys if old.get(k) != new.get(k)]


def _array_text(a):
    a = np.asarray(a)
    if a.size <= 8:
        return f"array({a.dtype}, {list(a.shape)}, {a.tolist()!r})"
    return f"array({a.dtype}, {list(a.shape)}, sha256={hashlib.sha256(a.tobytes()).hexdigest()[:24]})"


def _function_text(fn, depth):
    code = getattr(fn, "__code__", None)
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    if code is None:
        return f"function {name}"
    body = code.co_code + repr(code.co_consts).encode() + repr(code.co_names).encode()
    cells = [canonical(c.cell_contents, depth + 1) for c in (fn.__closure__ or ())]
    defaults = canonical(fn.__defaults__, depth + 1)
    # the globals it reads (data arrays, constants, helper functions), not modules
    space = getattr(fn, "__globals__", {})
    used = [f"{n}={canonical(space[n], depth + 1)}" for n in code.co_names
            if n in space and not inspect.ismodule(space[n])
            and space[n] is not fn]
    digest = hashlib.sha256(body + repr((cells, defaults, used)).encode()).hexdigest()[:24]
    return f"function {name} code={digest}"


def canonical(value, depth=0):
    """Canonical text of a value of a specification: numbers and strings by repr, arrays
    by dtype, shape and values (hashed when large), JAX keys by their data, equinox
    modules and dataclasses by type and fields, functions by name and code. The same
    text in every process (no memory addresses)."""
    if depth > 12:
        return "..."
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if math.isfinite(value) else str(float(value))
    if isinstance(value, jax.Array) and jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
        return f"key({_array_text(jax.random.key_data(value))})"
    if isinstance(value, (np.ndarray, jax.Array)):
        return _array_text(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(canonical(v, depth + 1) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{canonical(k, depth + 1)}: {canonical(v, depth + 1)}"
                               for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if dataclasses.is_dataclass(value) and not inspect.isclass(value):  # equinox modules too
        fields = [f"{f.name}={canonical(getattr(value, f.name), depth + 1)}"
                  for f in dataclasses.fields(value)]
        return f"{name}({', '.join(fields)})"
    if isinstance(value, functools.partial):
        return (f"partial({canonical(value.func, depth + 1)}, {canonical(value.args, depth + 1)}"
                f", {canonical(value.keywords, depth + 1)})")
    if inspect.ismethod(value):
        return f"method {_function_text(value.__func__, depth)} of " \
            f"{canonical(value.__self__, depth + 1)}"
    if inspect.isfunction(value):
        return _function_text(value, depth)
    if callable(value) and hasattr(value, "__call__") and not inspect.isclass(value):
        state = getattr(value, "__dict__", None)
        return f"{name}({canonical(state, depth + 1) if state else ''})"
    if inspect.isclass(value):
        return f"class {value.__module__}.{value.__qualname__}"
    state = getattr(value, "__dict__", None)
    if state is not None:
        return f"{name}({canonical(state, depth + 1)})"
    text = repr(value)
    return f"{name}" if " at 0x" in text else text
