import numpy as np

from .base import BoxLandscape, total


def _argmin_1d():
    """Root of d/dt[t sin sqrt t] = sin s + (s/2) cos s (s = sqrt t) near t = 420.9687."""
    s = np.sqrt(420.9687)
    for _ in range(50):
        g = np.sin(s) + 0.5 * s * np.cos(s)
        h = 1.5 * np.cos(s) - 0.5 * s * np.sin(s)
        s -= g / h
    return s * s


class Schwefel(BoxLandscape):
    r"""Schwefel's function $418.9829\,d - \sum_i x_i \sin\sqrt{|x_i|}$ on $[-500, 500]^d$.

    Only the global minimum ($x_i = 420.9687\ldots$, found by Newton's method) is listed;
    the many local minima are not (``minima_complete`` is False). Used in seed 003.
    """

    BOX = (-500.0, 500.0)
    minima_complete = False

    @property
    def minima(self):
        return np.full((1, self.d), _argmin_1d())

    def value(self, x, xp):
        return 418.9829 * self.d - total(x * xp.sin(xp.sqrt(xp.abs(x))), xp)
