import itertools

import numpy as np

from .base import BoxLandscape, total

_MAX_LISTED = 4096  # list every local minimum only while there are at most this many


def _minima_1d(amplitude):
    """Local minima of ``t^2 - A cos(2 pi t)`` on [-5.12, 5.12], by Newton from each integer."""
    out = []
    for n in range(-5, 6):
        t = float(n)
        for _ in range(50):
            g = 2 * t + 2 * np.pi * amplitude * np.sin(2 * np.pi * t)
            h = 2 + 4 * np.pi**2 * amplitude * np.cos(2 * np.pi * t)
            t -= g / h
        out.append(t)
    return np.array(out)


class Rastrigin(BoxLandscape):
    r"""Rastrigin's function $A d + \sum_i (x_i^2 - A\cos 2\pi x_i)$, $A = 10$.

    Global minimum 0 at the origin; one local minimum near every integer point, found
    exactly per coordinate (the function is separable). ``minima`` lists all $11^d$ of
    them in the domain $[-5.12, 5.12]^d$ while that is at most 4096 ($d \le 3$),
    otherwise only the global one (``minima_complete`` is then False).
    """

    BOX = (-5.12, 5.12)
    amplitude: float = 10.0

    @property
    def minima_complete(self):
        return 11**self.d <= _MAX_LISTED

    @property
    def minima(self):
        if not self.minima_complete:
            return np.zeros((1, self.d))
        m1 = _minima_1d(self.amplitude)
        return np.array(list(itertools.product(m1, repeat=self.d)))

    def value(self, x, xp):
        return self.amplitude * self.d + total(x**2 - self.amplitude * xp.cos(2 * np.pi * x), xp)
