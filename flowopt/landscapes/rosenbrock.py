import numpy as np
import scipy.optimize

from .base import BoxLandscape, total


class Rosenbrock(BoxLandscape):
    r"""Rosenbrock's function $\sum_{i<d} 100(x_{i+1} - x_i^2)^2 + (1 - x_i)^2$.

    Global minimum 0 at $(1, \ldots, 1)$. For $4 \le d \le 7$ there is one more local
    minimum near $(-1, 1, \ldots, 1)$ (Kok & Sandrock 2009), listed here after a Newton
    refinement; for $d > 7$ that point is not proven to be the only other minimum, and
    ``minima_complete`` is False. Domain $[-2.048, 2.048]^d$.
    """

    BOX = (-2.048, 2.048)
    MIN_DIM = 2

    @property
    def minima_complete(self):
        return self.d <= 7

    @property
    def minima(self):
        ones = np.ones(self.d)
        if not 4 <= self.d <= 7:
            return ones[None]
        x = np.concatenate([[-1.0], np.ones(self.d - 1)])
        for _ in range(100):
            step = np.linalg.solve(scipy.optimize.rosen_hess(x), scipy.optimize.rosen_der(x))
            x = x - step
            if np.max(np.abs(step)) < 1e-15:
                break
        return np.stack([ones, x])

    def value(self, x, xp):
        return total(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, xp)
