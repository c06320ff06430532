import math

import jax.numpy as jnp
import numpy as np

from .base import FixedLandscape

# sigma(z) of each network, and its local minima (w, b) (REFERENCE.md §5, seed 004)
_NETWORKS = {
    "polyTwo": (lambda z: z**2 - 1, [(-2, 1), (2, -1), (0, -1), (0, 1)]),
    "polyThree": (lambda z: 2 * z**3 - 3 * z**2 + 5, [(0, -1), (2, -1), (-2, 1), (0, 1)]),
    "polyFour": (lambda z: z**4 - 2 * z**2 + 3, [(0, -1), (2, -1), (-2, 1), (0, 1)]),
    "polyFive": (lambda z: (z + 1) ** 2 * (z - 3) * (z**2 - 3 * z + 4),
                 [(0, -1), (4, -1), (-4, 3), (0, 3)]),
}


class NeuronPoly(FixedLandscape):
    r"""Single-neuron networks of Bensaid (seed 004) with polynomial activation.

    $z = w x + b$, data $x \in \{0, 1\}$ with target 0, loss
    $R(w, b) = \tfrac14[\sigma(b)^2 + \sigma(w + b)^2] = \tfrac12\|r\|^2$ with residuals
    $r = (\sigma(b), \sigma(w + b))/\sqrt2$ (see :meth:`residuals`, for
    Levenberg–Marquardt). ``kind`` is one of polyTwo, polyThree, polyFour, polyFive;
    their critical points are known exactly (REFERENCE.md §5). For polyFive three of the
    four minima have singular Hessians. Domain $[-3, 3]^2$ (the authors' protocol).

    Example:
        >>> import flowopt as fo
        >>> f = fo.landscapes.NeuronPoly("polyThree")
        >>> f.minima_values.tolist()
        [0.0, 4.0, 4.0, 8.0]
    """

    kind: str = "polyTwo"
    BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))

    def __check_init__(self):
        if self.kind not in _NETWORKS:
            raise ValueError(
                f"NeuronPoly(kind={self.kind!r}): unknown network; valid kinds are "
                f"{', '.join(_NETWORKS)}."
            )

    @property
    def minima(self):
        return np.array(_NETWORKS[self.kind][1], float)

    def residuals(self, x, xp=None):
        """The residual vector ``r`` with ``R = ||r||^2 / 2``, in ``x``'s dtype."""
        sigma = _NETWORKS[self.kind][0]
        w, b = x[0], x[1]
        xp = jnp if xp is None else xp
        # a Python float keeps x's dtype (NumPy's float64 promotes float32 under x64)
        return xp.stack([sigma(b), sigma(w + b)]) / math.sqrt(2.0)

    def value(self, x, xp):
        sigma = _NETWORKS[self.kind][0]
        return 0.25 * (sigma(x[1]) ** 2 + sigma(x[0] + x[1]) ** 2)
