"""Base classes of flows: optimizers as vector fields with a Lyapunov energy.

A flow knows its state layout (:meth:`init`, :meth:`position`), its drift, and its
energy; it never knows which scheme integrates it (DESIGN.md, layers).
"""

import abc
import dataclasses
import functools
import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..landscapes.base import total  # noqa: F401 (flows import it from here)


def sqnorm(tree):
    """Sum of squares of all leaves of ``tree``."""
    return sum(total(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


_NOT_A_NUMBER = object()
_FORWARD_SIZE = 8  # ForwardGradient: points of at most this many numbers in forward mode


class ForwardGradient(eqx.Module):
    """``loss``, whose gradient flows take in forward mode (:func:`gradient`) at points of
    at most 8 numbers. Used by the basin mapper's error-controlled lockstep loop, where
    it makes a Tsit5 step ~10x cheaper; elsewhere flows take ``jax.grad``, whose batches
    XLA has compiled to the same bits for every batch size in our tests (the forward-mode
    program of a float64 Langevin map differed in the last bit of 1 end point in 240
    between a 600-lane and a 128-lane tile)."""

    loss: Callable
    forward_gradient: ClassVar[bool] = True

    def __call__(self, x):
        return self.loss(x)


def gradient(loss, x):
    """``grad loss`` at ``x``, shaped like ``x``: ``jax.grad``, or, for a
    :class:`ForwardGradient` loss at a point of at most ``_FORWARD_SIZE`` numbers,
    forward mode, one JVP per coordinate with the coordinates passed as separate scalars:
    XLA:CPU then fuses a batch of such gradients, and a scheme's stages around them, into
    one loop per stage. Reverse mode scatters the cotangent into the vector with pads
    that split the fusions: a vmapped Tsit5 step of 2-d gradient flow on Himmelblau costs
    122 ns per lane in reverse mode and 12 ns in forward mode (CPU time; a hand-written
    gradient: 12 ns). Both are exact derivatives and may differ in the last bits (another
    order of the same products). Losses without a JVP (``jax.custom_vjp``) take reverse
    mode."""
    x = jnp.asarray(x)
    if not getattr(loss, "forward_gradient", False) or x.size > _FORWARD_SIZE or \
            x.size == 0 or not jnp.issubdtype(x.dtype, jnp.floating):
        return jax.grad(loss)(x)
    coords = tuple(x.reshape(-1))
    at = lambda *c: loss(jnp.stack(c).reshape(x.shape))
    one, zero = jnp.ones((), x.dtype), jnp.zeros((), x.dtype)
    try:
        parts = [jax.jvp(at, coords, tuple(one if j == i else zero
                                           for j in range(len(coords))))[1]
                 for i in range(len(coords))]
    except TypeError:  # e.g. a custom_vjp loss: no forward mode
        return jax.grad(loss)(x)
    return jnp.stack(parts).reshape(x.shape).astype(x.dtype)
# examples of valid values in error messages, where no default gives one
_EXAMPLES = {"learning_rate": "1e-2", "momentum": "0.9", "b1": "0.9", "b2": "0.999",
             "decay": "0.9", "rho": "0.9"}


def _real(value):
    """A concrete real scalar (Python, NumPy, 0-d array) as a float; None for a JAX
    tracer (checked where it is concrete); ``_NOT_A_NUMBER`` for anything else (strings,
    bools, complex numbers, arrays with more than one entry)."""
    if isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, (bool, np.bool_)):
        return _NOT_A_NUMBER
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == () and (
            jnp.issubdtype(value.dtype, jnp.integer) or jnp.issubdtype(value.dtype, jnp.floating)):
        return float(value)
    return _NOT_A_NUMBER


def _example(default, ok):
    """The default as the example of a valid value when it is one, else None."""
    valid = isinstance(default, (int, float)) and not isinstance(default, bool) \
        and math.isfinite(default) and ok(default)
    return repr(default) if valid else None


def _check(owner, values, rule, ok, examples):
    for name, value in values.items():
        v = _real(value)
        if v is None:
            continue
        if v is _NOT_A_NUMBER or not ok(v) or not math.isfinite(v):
            finite = "" if v is _NOT_A_NUMBER or math.isfinite(v) else "finite "
            example = examples.get(name) or _EXAMPLES.get(name, "1.0")
            raise ValueError(f"{owner}({name}={value!r}): {name} must be a {finite}number "
                             f"{rule}, e.g. {name}={example}.")


def check_positive(owner, examples=None, **values):
    """Raise a ValueError naming the argument and the fix unless each concrete value is a
    finite real number > 0 (Python, NumPy or 0-d JAX scalar; tracers pass)."""
    _check(owner, values, "> 0", lambda v: v > 0, examples or {})


def check_nonnegative(owner, examples=None, **values):
    """As :func:`check_positive`, for values that must be >= 0."""
    _check(owner, values, ">= 0", lambda v: v >= 0, examples or {})


def check_fraction(owner, examples=None, include_zero=False, **values):
    """As :func:`check_positive`, for values in (0, 1), or [0, 1) with ``include_zero``
    (decay rates, momenta)."""
    if include_zero:
        _check(owner, values, "in [0, 1)", lambda v: 0 <= v < 1, examples or {})
    else:
        _check(owner, values, "in (0, 1)", lambda v: 0 < v < 1, examples or {})


def check_count(owner, **values):
    """Raise a ValueError naming the argument unless each value is an int >= 1 (a Python
    or NumPy integer: counts set array shapes, so they are never traced)."""
    for name, value in values.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or value < 1:
            raise ValueError(f"{owner}({name}={value!r}): {name} must be an int >= 1, e.g. "
                             f"{name}=8.")


def check_flag(owner, **values):
    """Raise a ValueError naming the argument unless each value is a bool."""
    for name, value in values.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{owner}({name}={value!r}): {name} must be True or False.")


def check_fields(flow, *, positive=(), nonnegative=(), counts=(), flags=()):
    """Check the named fields of ``flow`` (a flow's ``__check_init__``): numbers > 0,
    numbers >= 0, ints >= 1, bools. A field whose default is None may be None. Errors name
    the flow, the field, and suggest the field's default."""
    owner = type(flow).__name__
    defaults = {f.name: f.default for f in dataclasses.fields(flow)}
    given = lambda names: {n: getattr(flow, n) for n in names
                           if not (getattr(flow, n) is None and defaults.get(n) is None)}
    for names, check, ok in ((positive, check_positive, lambda v: v > 0),
                             (nonnegative, check_nonnegative, lambda v: v >= 0)):
        examples = {n: _example(defaults.get(n), ok) for n in names}
        check(owner, examples, **given(names))
    check_count(owner, **given(counts))
    check_flag(owner, **given(flags))


def plain(value):
    """A NumPy bool or integer as a Python one, anything else unchanged (for
    ``__check_init__`` to judge): the converter of fields that steer Python control flow
    or set shapes, which must stay static under ``jit``."""
    if isinstance(value, np.bool_):
        return bool(value)
    return int(value) if isinstance(value, np.integer) else value


def cast(like, *values):
    """``values`` as arrays of ``like``'s dtype (None stays None). Where a hyperparameter
    meets the state: a NumPy float64 or an x64 array would promote a float32 state, and
    diffrax's loop refuses a carry whose dtype changes."""
    dtype = jnp.result_type(like)
    return tuple(None if v is None else jnp.asarray(v, dtype) for v in values)


class AbstractFlow(eqx.Module):
    """An optimizer as an ODE ``y' = drift(t, y, args)`` on a state ``y``.

    Subclasses set ``loss`` (any JAX-traceable ``(d,) -> scalar`` callable) and define
    :meth:`drift`; flows whose state holds more than the position also define
    :meth:`initial_state` (state from a start ``x0``) and :meth:`position` (``x`` from a
    state). Flows with a Lyapunov energy set ``has_energy = True`` and define
    :meth:`energy`; :meth:`dissipation` (the rate ``-dE/dt`` along the exact flow) is
    then computed by forward-mode differentiation unless a subclass gives it in closed
    form.

    Parameters are checked in ``__check_init__`` (see :func:`check_fields`), and again
    by :meth:`init`, since ``eqx.tree_at`` builds flows without running it. Every state,
    drift, diffusion and energy has the dtype of the start: hyperparameters are cast
    (:func:`cast`) where they meet the state.

    Interacting flows (``interacting = True``) move N agents: ``x0``, the state's
    position and :meth:`position` have shape ``(N, d)``; :meth:`outcome` reduces them to
    the one point ``(d,)`` where the run ended.
    """

    loss: eqx.AbstractVar[Callable]
    has_energy: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False
    interacting: ClassVar[bool] = False  # state (N, d): N agents, x0 of shape (N, d)

    @property
    def grads_per_drift(self) -> int:
        """Gradient evaluations in one drift evaluation (SAM: 2; Monte Carlo: samples)."""
        return 1

    def __check_init__(self):
        if not callable(self.loss):
            raise TypeError(
                f"{type(self).__name__}(loss={self.loss!r}): loss must be a function of a "
                "position x of shape (d,) returning a real number, e.g. "
                "fo.landscapes.Himmelblau() or lambda x: jnp.sum(x ** 2).")

    def check(self):
        """Raise the ValueError of ``__check_init__`` for a bad parameter. Construction
        runs it; flows built by ``eqx.tree_at`` skip it, so :meth:`init` runs it again."""
        for cls in reversed(type(self).__mro__):  # in the order equinox runs them
            check_init = cls.__dict__.get("__check_init__")
            if check_init is not None:
                check_init(self)

    def init(self, x0):
        """The state at ``t0`` for a start ``x0``, every leaf in ``x0``'s dtype, after
        checking the flow's parameters (:meth:`check`)."""
        self.check()
        x0 = jnp.asarray(x0)
        return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, x0.dtype),
                                      self.initial_state(x0))

    def initial_state(self, x0):
        """The state for a start ``x0``; by default the start itself."""
        return x0

    def position(self, y):
        """The position ``x`` inside a state ``y``, shape ``(d,)`` (``(N, d)``: the agents
        of an interacting flow); by default the state itself."""
        return y

    def outcome(self, y):
        """The one point, shape ``(d,)``, that stands for where a run ending in state ``y``
        went: the position, or for interacting flows the agents' mean (CBO: the
        consensus point)."""
        x = self.position(y)
        return jnp.mean(x, axis=0) if self.interacting else x

    @abc.abstractmethod
    def drift(self, t, y, args):
        """``dy/dt``, a pytree shaped like ``y``."""

    @property
    def second_order(self) -> bool:
        """Whether the state is ``(x, v)`` with ``x' = v`` (needed by Verlet schemes)."""
        return False

    def grad(self, x):
        """The loss's gradient at ``x`` (d,), or at each agent of ``x`` (N, d) for an
        interacting flow (:func:`gradient`)."""
        grad = functools.partial(gradient, self.loss)
        return jax.vmap(grad)(x) if self.interacting and jnp.ndim(x) == 2 else grad(x)

    def loss_at(self, x):
        """The loss at ``x``, in ``x``'s dtype (energies are in the state's dtype)."""
        return jnp.asarray(self.loss(x), jnp.result_type(x))

    def energy(self, t, y, args):
        raise NotImplementedError(f"{type(self).__name__} has no energy.")

    def dissipation(self, t, y, args):
        r"""$-\tfrac{d}{dt}E(t, y(t))$ along the exact flow, by a JVP of the energy."""
        t = jnp.asarray(t, jnp.result_type(jax.tree_util.tree_leaves(y)[0]))
        _, rate = jax.jvp(lambda s, z: self.energy(s, z, args), (t, y),
                          (jnp.ones_like(t), self.drift(t, y, args)))
        return -rate


class AbstractPartitionedFlow(AbstractFlow):
    """A flow on a partitioned state ``y = (p, q)`` with ``p' = drift_p``, ``q' = drift_q``.

    ``q`` holds what the classical optimizer updates first (velocity, moments); both
    parts may depend on the whole state. The partitioned (semi-implicit) Euler scheme
    updates ``q``, then ``p`` with the new ``q``. By default ``p`` is the position.
    """

    @abc.abstractmethod
    def drift_p(self, t, y, args): ...

    @abc.abstractmethod
    def drift_q(self, t, y, args): ...

    def drift(self, t, y, args):
        return self.drift_p(t, y, args), self.drift_q(t, y, args)

    def position(self, y):
        return y[0]


def time_key(key, t):
    """A key for time ``t``: ``fold_in(key, bits of t as float32)``."""
    return jax.random.fold_in(
        key, jax.lax.bitcast_convert_type(jnp.asarray(t, jnp.float32), jnp.int32))


class AbstractStochasticFlow(AbstractFlow):
    r"""An SDE ``dy = drift dt + diffusion ∘ dW`` with diagonal noise: :meth:`diffusion`
    returns a pytree shaped like the state. Solving one needs a ``key``."""

    needs_key: ClassVar[bool] = True

    @abc.abstractmethod
    def diffusion(self, t, y, args): ...


class AbstractRandomFlow(AbstractFlow):
    """An ODE whose drift is random (fresh noise each evaluation, drawn from
    ``time_key(key, t)``): noisy-gradient methods, Monte Carlo smoothing. ``flowopt.solve``
    sets ``key`` from its ``key`` argument."""

    key: eqx.AbstractVar[jax.Array | None]
    needs_key: ClassVar[bool] = True

    def noise_key(self, t):
        if self.key is None:
            raise ValueError(f"{type(self).__name__} needs a key: pass key=jax.random.key(0) "
                             "to fo.solve.")
        return time_key(self.key, t)


class AbstractMultiscaleFlow(AbstractStochasticFlow):
    r"""A fast/slow SDE on ``y = (x, y_fast)``: ``dx = slow dt``,
    ``dy = fast dt + fast_noise ∘ dW``. The slow part holds the position. Schemes that
    average over the fast part (``schemes.HMM``) need this structure."""

    @abc.abstractmethod
    def slow(self, t, y, args): ...

    @abc.abstractmethod
    def fast(self, t, y, args): ...

    @abc.abstractmethod
    def fast_noise(self, t, y, args): ...

    def initial_state(self, x0):
        return x0, x0

    def position(self, y):
        return y[0]

    def drift(self, t, y, args):
        return self.slow(t, y, args), self.fast(t, y, args)

    def diffusion(self, t, y, args):
        return jnp.zeros_like(y[0]), self.fast_noise(t, y, args)
