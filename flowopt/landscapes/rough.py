import numpy as np

from .base import BoxLandscape, total


class RoughQuadratic(BoxLandscape):
    r"""The rough landscape of seed 000 §6.1: $\Phi(x) = \sum_i (x_i \sin(x_i/\delta) + 0.1 x_i)^2$.

    $\Phi = 0$ wherever $\sin(x_i/\delta) = -0.1$, so the global minimum is not unique;
    the paper measures the distance to $x^* = 0$, the one minimum listed here
    (``minima_complete`` is False). Domain $[-10, 10]^d$. With $\delta = 0.01$ the
    curvature reaches about $2\cdot 10^6$ (REFERENCE.md §5).
    """

    delta: float = 0.01
    BOX = (-10.0, 10.0)
    minima_complete = False

    def __check_init__(self):
        if not self.delta > 0:
            raise ValueError(f"RoughQuadratic(delta={self.delta!r}): delta must be > 0.")

    @property
    def minima(self):
        return np.zeros((1, self.d))

    def value(self, x, xp):
        return total((x * xp.sin(x / self.delta) + 0.1 * x) ** 2, xp)
