import math
from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp

from ._bias import corrected, correction
from .base import (AbstractPartitionedFlow, cast, check_fields, check_fraction,
                   check_positive, total)


class Adam(AbstractPartitionedFlow):
    r"""Adam as a flow (Barakat & Bianchi 2021), state $(x, (m, v))$.

    $$m' = a(g - m), \quad v' = b(g^2 - v), \quad
      x' = -\frac{\hat m}{\sqrt{\hat v + \epsilon_r} + \epsilon}, \quad
      \hat m = \frac{m}{1 - e^{-\hat a t}}, \ \hat v = \frac{v}{1 - e^{-\hat b t}},$$

    $m(0) = v(0) = 0$. The continuous flow has $\hat a = a$, $\hat b = b$;
    :meth:`from_optax` sets $a = (1-\beta_1)/\eta$, $b = (1-\beta_2)/\eta$ and the exact
    corrections $\hat a = -\ln\beta_1/\eta$, $\hat b = -\ln\beta_2/\eta$. At $t = 0$ the
    quotients are 0/0 and their limits $\hat m \to (a/\hat a)\,g$,
    $\hat v \to (b/\hat b)\,g^2$ are used, so every scheme can start at $t = 0$.

    Energy (derived for this exact form; cf. REFERENCE.md §1):
    $E = f + \sum_i m_i^2 / (2 a\, c_1(t)\, S_i)$ with $c_1 = 1 - e^{-\hat a t}$,
    $S = \sqrt{\hat v + \epsilon_r} + \epsilon$; it decreases along the flow when
    $b \lesssim 3a$ (default Adam: $b = 0.01a$). Its dissipation at $t = 0$ is the limit
    $(a/2\hat a)\sum_i g_i^2/S_i$.

    Args:
        loss: the loss $f$.
        a, b: the moments' rates $a, b > 0$. eps, eps_root: $\epsilon, \epsilon_r \ge 0$.
        bias_a, bias_b: the corrections' rates $\hat a, \hat b > 0$ (None: $a$, $b$).
    """

    loss: Callable
    a: float = 1.0
    b: float = 1.0
    eps: float = 1e-8
    eps_root: float = 0.0
    bias_a: float | None = None
    bias_b: float | None = None
    has_energy: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("a", "b", "bias_a", "bias_b"),
                     nonnegative=("eps", "eps_root"))

    @classmethod
    def from_optax(cls, loss, learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0,
                   nesterov=False):
        """The flow whose semi-implicit Euler steps of size ``learning_rate`` are
        ``optax.adam`` with the same arguments."""
        check_positive("Adam.from_optax", learning_rate=learning_rate)
        check_fraction("Adam.from_optax", b1=b1, b2=b2)
        if nesterov:
            raise ValueError("Adam.from_optax(nesterov=True): NAdam has no flow here; "
                             "leave nesterov=False.")
        lr = learning_rate
        return cls(loss, a=(1 - b1) / lr, b=(1 - b2) / lr, eps=eps, eps_root=eps_root,
                   bias_a=-math.log(b1) / lr, bias_b=-math.log(b2) / lr)

    @property
    def _rates(self):
        return (self.a if self.bias_a is None else self.bias_a,
                self.b if self.bias_b is None else self.bias_b)

    def _moments(self, t, x, m, v):
        g = self.grad(x)
        a, b, ra, rb, eps, eps_root = cast(m, self.a, self.b, *self._rates, self.eps,
                                           self.eps_root)
        m_hat = corrected(m, ra, t, a / ra * g)
        v_hat = corrected(v, rb, t, b / rb * g**2)
        return g, m_hat, jnp.sqrt(v_hat + eps_root) + eps

    def initial_state(self, x0):
        return x0, (jnp.zeros_like(x0), jnp.zeros_like(x0))

    def drift_p(self, t, y, args):
        x, (m, v) = y
        _, m_hat, denom = self._moments(t, x, m, v)
        return -m_hat / denom

    def drift_q(self, t, y, args):
        x, (m, v) = y
        g = self.grad(x)
        a, b = cast(m, self.a, self.b)
        return a * (g - m), b * (g**2 - v)

    def energy(self, t, y, args):
        x, (m, v) = y
        _, _, denom = self._moments(t, x, m, v)
        c1 = correction(self._rates[0], t, m)
        safe = jnp.where(c1 > 0, c1, 1.0)
        kinetic = jnp.where(c1 > 0, total(m**2 / denom) / (2 * cast(m, self.a)[0] * safe), 0.0)
        return self.loss_at(x) + kinetic

    def dissipation(self, t, y, args):
        x, (m, v) = y
        g, _, denom = self._moments(0.0, x, m, v)  # S at t = 0, from the limit v_hat
        a, ra = cast(m, self.a, self._rates[0])
        at_start = a / (2 * ra) * total(g**2 / denom)
        return jnp.where(jnp.asarray(t) > 0, super().dissipation(t, y, args), at_start)
