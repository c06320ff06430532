import numpy as np

from .base import FixedLandscape


class Himmelblau(FixedLandscape):
    r"""Himmelblau's function $f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2$.

    Four global minima with $f = 0$ (REFERENCE.md §5); domain $[-6, 6]^2$.

    Example:
        >>> import flowopt as fo
        >>> f = fo.landscapes.Himmelblau()
        >>> f.minima.shape, float(f([3.0, 2.0]))
        ((4, 2), 0.0)
    """

    BOUNDS = ((-6.0, 6.0), (-6.0, 6.0))


    @property
    def minima(self):
        return np.array([
            [3.0, 2.0],
            [3.5844283403304917, -1.8481265269644036],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.2831859912861696],
        ])

    def value(self, x, xp):
        return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2
