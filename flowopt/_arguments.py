"""Argument checks of the public entry points (``solve``, ``solve_batch``, ``basins``):
each runs before anything compiles and raises an error that names the call, the
argument, the value and the fix (DESIGN.md, reliability rules)."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

import schemes

from .flows.base import _NOT_A_NUMBER, _real


def number(owner, name, value, *, minimum=None, strict=True, allow_none=False, fix=""):
    """A concrete real scalar (Python, NumPy or 0-d JAX array; bools, strings and arrays
    refused) that is finite and above ``minimum``, as a float (None for a tracer or an
    allowed None). Raises TypeError for a non-number, ValueError for a bad value."""
    if value is None and allow_none:
        return None
    v = _real(value)
    if v is _NOT_A_NUMBER:
        raise TypeError(f"{owner}({name}={value!r}): {name} must be a real number such as "
                        f"{name}=1.0, not a {type(value).__name__}. {fix}".rstrip())
    if v is None:
        return None
    bad = not np.isfinite(v) or (minimum is not None and (v <= minimum if strict
                                                           else v < minimum))
    if bad:
        rule = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{owner}({name}={value!r}): {name} must be a finite number"
                         f"{rule}. {fix}".rstrip())
    return v


def integer(owner, name, value, *, minimum=1, fix=""):
    """A Python or NumPy int (not a bool) >= ``minimum``, as an int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError(f"{owner}({name}={value!r}): {name} must be an int >= {minimum}. "
                         f"{fix}".rstrip())
    return int(value)


def points(owner, name, value, *, ndim=None):
    """A numeric array (a start, a set of starts), refusing strings, None and objects by
    name before JAX sees them."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{owner}({name}={value!r}): {name} must be an array of numbers, "
                        f"e.g. {name}=jnp.array([1.0, 2.0]), not a {type(value).__name__}.")
    try:
        dtype = jnp.result_type(value) if isinstance(value, jax.Array) else \
            np.asarray(value).dtype
    except (TypeError, ValueError) as e:
        raise TypeError(f"{owner}({name}=...): {name} must be an array of numbers ({e}).") \
            from None
    if not (np.issubdtype(dtype, np.number) or jnp.issubdtype(dtype, jnp.floating)):
        raise TypeError(f"{owner}({name}=...): {name} must be an array of numbers, not of "
                        f"dtype {dtype}.")
    return value


def loss_output(owner, loss, x0, argument="flow"):
    """``loss`` maps a position like ``x0`` to a real scalar; found by tracing only (no
    compile). Names the loss (given as ``owner(argument=...)``) when it returns a vector
    or an int, or branches in Python on its (traced) input."""
    name = getattr(loss, "__name__", type(loss).__name__)
    x = jax.ShapeDtypeStruct(np.shape(x0)[-1:], jnp.result_type(x0))
    try:
        out = jax.eval_shape(loss, x)
    except (jax.errors.TracerBoolConversionError, jax.errors.ConcretizationTypeError,
            jax.errors.TracerIntegerConversionError) as e:
        raise ValueError(
            f"{owner}({argument}=...): the loss {name} branches in Python on its input (an `if` "
            "or `int()` on a value of x); flowopt traces the loss with JAX, so write the "
            "branch with jnp.where(cond, a, b) or jax.lax.cond. "
            f"({type(e).__name__})") from None
    if out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(
            f"{owner}({argument}=...): the loss {name} returns shape {out.shape} and dtype "
            f"{out.dtype} for a position of shape {x.shape}; a loss must return one real "
            "(floating-point) number, a scalar, e.g. jnp.sum(...) of the residuals.")


_ADAPTIVE = diffrax.AbstractAdaptiveStepSizeController


def estimates_error(scheme):
    """Whether ``scheme`` returns a local error estimate (what an error controller needs):
    diffrax's adaptive solvers, and stochastic Runge–Kutta methods whose tableau has
    error weights (ShARK, SRA1, ...)."""
    if isinstance(scheme, diffrax.AbstractAdaptiveSolver):
        return True
    tableau = getattr(scheme, "tableau", None)
    return isinstance(scheme, diffrax.AbstractSRK) and \
        getattr(tableau, "b_error", None) is not None


def controller(owner, controller, scheme):
    """An error-controlled step (``diffrax.PIDController``) needs a scheme with an error
    estimate, and sensible tolerances; traced fields pass."""
    if not isinstance(controller, _ADAPTIVE):
        return
    if not estimates_error(scheme):
        raise ValueError(
            f"{owner}(scheme={type(scheme).__name__}(), controller="
            f"{type(controller).__name__}(...)): error-controlled steps need a scheme that "
            "estimates its local error, and this one does not. Use schemes.EulerRichardson(), "
            "diffrax.Heun(), diffrax.Tsit5() or diffrax.Dopri5(), or fixed steps "
            "(controller=None) with this scheme.")
    if not isinstance(controller, diffrax.PIDController):
        return
    what = f"{owner}(controller=PIDController(...))"
    tol = {}
    for field in ("rtol", "atol"):
        v = _real(getattr(controller, field))
        if v is _NOT_A_NUMBER or (v is not None and not (np.isfinite(v) and v >= 0)):
            raise ValueError(f"{what}: {field}={getattr(controller, field)!r}; {field} must "
                             "be a finite number >= 0, e.g. rtol=1e-6, atol=1e-9.")
        tol[field] = v
    if tol["rtol"] == 0 and tol["atol"] == 0:
        raise ValueError(f"{what}: rtol and atol are both 0, so no step can pass the error "
                         "test; pass e.g. rtol=1e-6, atol=1e-9.")
    for field in ("dtmin", "dtmax"):
        value = getattr(controller, field)
        if value is not None:
            v = _real(value)
            if v is _NOT_A_NUMBER or (v is not None and not (np.isfinite(v) and v > 0)):
                raise ValueError(f"{what}: {field}={value!r}; {field} must be None or a "
                                 "finite number > 0.")
    lo, hi = (_real(controller.dtmin) if controller.dtmin is not None else None,
              _real(controller.dtmax) if controller.dtmax is not None else None)
    if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
        raise ValueError(f"{what}: dtmin={lo!r} > dtmax={hi!r}; dtmin must not exceed dtmax.")
    for field, ok, rule in (("pcoeff", np.isfinite, "finite"), ("icoeff", np.isfinite, "finite"),
                            ("dcoeff", np.isfinite, "finite"),
                            ("factormin", lambda v: 0 <= v <= 1, "in [0, 1]"),
                            ("factormax", lambda v: 1 <= v < np.inf, "a finite number >= 1"),
                            ("safety", lambda v: 0 < v <= 1, "in (0, 1]")):
        value = getattr(controller, field)
        v = _real(value)
        if v is _NOT_A_NUMBER or (v is not None and not ok(v)):
            raise ValueError(f"{what}: {field}={value!r}; {field} must be {rule}.")


def sde_scheme(owner, flow, scheme):
    """A stochastic flow needs an SDE scheme (Itô or Stratonovich), not an ODE solver
    that diffrax would run with only a warning."""
    if isinstance(scheme, (diffrax.AbstractItoSolver, diffrax.AbstractStratonovichSolver,
                           schemes.AbstractPartitionedSolver, schemes.HMM)):
        return
    raise ValueError(
        f"{owner}(scheme={type(scheme).__name__}()): {type(flow).__name__} is an SDE and "
        f"{type(scheme).__name__} is an ODE solver (it converges to neither the Itô nor "
        "the Stratonovich solution). Use schemes.Euler() (Euler–Maruyama), diffrax.Heun(), "
        "diffrax.SRA1() or diffrax.ShARK().")


def resolvable_tol(owner, loss, tol, dt, attractors, dtype):
    """With fixed steps a start stops where the update ``dt * grad f`` no longer
    changes its position: in ``dtype`` that happens once ``|grad f| < floor = ulp(|x|) /
    (2 dt)`` near the attractors. A start is judged converged when ``|grad f| <= 10
    tol``; a ``tol < floor / 20`` would label converging starts -5 (a fixed point of the
    scheme), so it is refused with the floor and the fix (``tol >= floor / 5``)."""
    if attractors is None or len(attractors) == 0:
        return
    size = float(np.max(np.abs(attractors)))
    floor = float(np.spacing(np.asarray(max(size, 1e-30), dtype))) / (2 * dt)
    # measured (float32, Himmelblau and the six-hump camel, dt 1e-2 .. 1e-4): starts stop
    # with |grad f| between floor / 2 and 2 floor; tol < floor / 20 labelled 46-100% of a
    # map -5, tol = floor / 12 none (10 tol above most stops)
    if tol < floor / 20:
        least = floor / 5
        raise ValueError(
            f"{owner}(tol={tol!r}): in {np.dtype(dtype).name} with steps dt0={dt!r} the scheme "
            f"stops moving once |grad f| < ulp(|x|) / (2 dt0) = {floor:.2g} near the "
            f"attractors (|x| up to {size:.3g}), while a start counts as converged only "
            f"below 10 tol = {10 * tol:.2g}: converging starts would be labelled -5. Pass "
            f"tol >= {least:.2g}, a larger dt0, or float64 "
            "(jax.config.update('jax_enable_x64', True)).")

