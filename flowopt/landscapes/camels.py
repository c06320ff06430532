import numpy as np

from .base import FixedLandscape


class ThreeHumpCamel(FixedLandscape):
    r"""Three-hump camel $2x^2 - c\,x^4 + x^6/6 + xy + y^2$ with $c$ = ``coefficient``.

    The standard function has $c = 1.05$: global minimum 0 at the origin and two local
    minima $(\pm 1.747552, \mp 0.873776)$ at 0.298638. Seed 002 prints $c = 1.04$
    (minima $(\pm 1.728891, \mp 0.864446)$ at 0.389945). The minima are exact: with
    $y = -x/2$, $x(x^4 - 4c x^2 + 7/2) = 0$. Domain $[-5, 5]^2$.

    Example:
        >>> import flowopt as fo
        >>> [round(float(v), 6) for v in fo.landscapes.ThreeHumpCamel().minima_values]
        [0.0, 0.298638, 0.298638]
    """

    coefficient: float = 1.05
    BOUNDS = ((-5.0, 5.0), (-5.0, 5.0))

    def __check_init__(self):
        if not 16 * self.coefficient**2 > 14:
            raise ValueError(
                f"ThreeHumpCamel(coefficient={self.coefficient!r}): the camel has three "
                "humps only for coefficient > sqrt(14)/4 ≈ 0.935."
            )

    @property
    def minima(self):
        c = self.coefficient
        x = np.sqrt((4 * c + np.sqrt(16 * c**2 - 14)) / 2)
        return np.array([[0.0, 0.0], [x, -x / 2], [-x, x / 2]])

    def value(self, x, xp):
        a, b = x[0], x[1]
        return 2 * a**2 - self.coefficient * a**4 + a**6 / 6 + a * b + b**2


class SixHumpCamel(FixedLandscape):
    r"""Six-hump camel $(4 - 2.1x^2 + x^4/3)x^2 + xy + (-4 + 4y^2)y^2$.

    Six minima (REFERENCE.md §5): two global at $(\pm 0.089842, \mp 0.712656)$,
    $f = -1.031628$; two at $(\pm 1.703607, \mp 0.796084)$, $f = -0.215464$; two at
    $(\pm 1.607105, \pm 0.568651)$, $f = 2.104250$. Domain $[-3, 3] \times [-2, 2]$.
    Coordinates refined by Newton's method in float64 (gradient below 2e-15).
    """

    BOUNDS = ((-3.0, 3.0), (-2.0, 2.0))

    @property
    def minima(self):
        a = (0.08984201310031806, -0.7126564030207396)
        b = (1.7036067149699807, -0.7960835686726251)
        c = (1.6071047529201974, 0.5686514548841314)
        return np.array([a, np.negative(a), b, np.negative(b), c, np.negative(c)])

    def value(self, x, xp):
        a, b = x[0], x[1]
        return (4 - 2.1 * a**2 + a**4 / 3) * a**2 + a * b + (-4 + 4 * b**2) * b**2
