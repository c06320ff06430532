"""Bias corrections ``1 - exp(-rate t)`` of the moment estimates of RMSProp and Adam."""

import jax.numpy as jnp

from .base import cast


def corrected(moment, rate, t, limit):
    r"""``moment / (1 - exp(-rate t))``, and its $t \to 0^+$ limit ``limit`` at $t = 0$,
    in the dtype of ``moment``.

    With ``rate = -ln(decay)/lr`` the correction is optax's exact ``1 - decay**k`` at
    $t = k\,lr$; with ``rate = (1 - decay)/lr`` it is the continuous-time one. At $t = 0$
    the moment is 0 and the quotient 0/0: the limit is passed in by the caller.
    """
    rate, t, limit = cast(moment, rate, t, limit)
    positive = t > 0
    c = -jnp.expm1(-rate * jnp.where(positive, t, 1.0))
    return jnp.where(positive, moment / c, limit)


def correction(rate, t, like):
    """``1 - exp(-rate t)``, accurate for small ``rate t``, in the dtype of ``like``."""
    rate, t = cast(like, rate, t)
    return -jnp.expm1(-rate * t)
