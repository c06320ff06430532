"""Checks of the data and parameter vectors of the model losses (MLP, GaussianProcessNLML):
each error names the call, the argument and the fix."""

import jax
import jax.numpy as jnp
import numpy as np


def floating(owner, name, value):
    """``value`` as a finite, non-empty float64 NumPy array (any shape)."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}({name}=...): {name} must be an array of real numbers, "
                         f"not {type(value).__name__}.") from None
    if a.size == 0:
        raise ValueError(f"{owner}({name}=...): {name} is empty; pass at least one sample.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}({name}=...): {name} has non-finite entries (NaN or inf); "
                         "drop or fix those samples.")
    return a


def targets(owner, y, n):
    """The targets ``y`` as a finite ``(n,)`` float array, one per input row."""
    y = floating(owner, "y", y)
    if y.ndim != 1:
        raise ValueError(f"{owner}(y=...): y has shape {y.shape}; pass one scalar target per "
                         "sample, shape (n,) (y.ravel() for a column).")
    if len(y) != n:
        raise ValueError(f"{owner}(x, y): x has {n} samples but y has {len(y)}; pass one "
                         "target per input (x and y of the same length n).")
    return y


def check_theta(owner, theta, d, what):
    """``theta`` as an array of shape ``(d,)`` (shapes are static: checked while tracing)."""
    if isinstance(theta, (str, bytes)) or theta is None:
        raise ValueError(f"{owner}(theta={theta!r}): theta must be an array of shape ({d},) "
                         f"({what}).")
    theta = theta if isinstance(theta, jax.Array) else jnp.asarray(theta)
    if theta.shape != (d,):
        raise ValueError(f"{owner}(theta): theta has shape {tuple(theta.shape)} but this loss "
                         f"takes one vector of shape ({d},) ({what}).")
    return theta
