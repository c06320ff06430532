from collections.abc import Callable
from typing import ClassVar

import jax
import jax.numpy as jnp

from .base import AbstractStochasticFlow, check_nonnegative, check_positive
from .langevin import agents_grad


class McKeanVlasov(AbstractStochasticFlow):
    r"""N interacting Langevin agents with the Curie–Weiss pull (seed 000 eqs. 5–6):

    $$dX^i = -\nabla\Phi(X^i)\,dt - \lambda(X^i - \bar X)\,dt + \sqrt{2/\beta}\,dB^i,
      \qquad \bar X = \tfrac1N \sum_j X^j.$$

    The drift is $-\nabla_i U_N$ with $U_N = \sum_i \Phi(x_i) +
    \tfrac{\lambda}{4N}\sum_{ij}\|x_i - x_j\|^2$; one evaluation costs $O(Nd)$ (the mean,
    not the $N^2$ pairs). State and ``x0``: shape ``(N, d)``.

    Args:
        loss: $\Phi$ on one agent, shape ``(d,)``.
        beta: inverse temperature $\beta > 0$.
        interaction: $\lambda \ge 0$.
    """

    loss: Callable
    beta: float = 1.0
    interaction: float = 1.0
    interacting: ClassVar[bool] = True

    def __check_init__(self):
        check_positive("McKeanVlasov", beta=self.beta)
        check_nonnegative("McKeanVlasov", interaction=self.interaction)

    def drift(self, t, y, args):
        return -agents_grad(self.loss, y) - self.interaction * (y - jnp.mean(y, axis=0))

    def diffusion(self, t, y, args):
        return jnp.full_like(y, jnp.sqrt(2.0 / self.beta))


class CBO(AbstractStochasticFlow):
    r"""Consensus-based optimization (Pinnau et al. 2017; Carrillo et al. 2018):

    $$dX^i = -\lambda(X^i - v_\alpha)\,dt + \sigma\,D(X^i - v_\alpha)\,dW^i,\qquad
      v_\alpha = \frac{\sum_i X^i e^{-\alpha f(X^i)}}{\sum_i e^{-\alpha f(X^i)}},$$

    with $D(u) = \|u\|\,I$ (isotropic) or $\mathrm{diag}(|u|)$ (``anisotropic=True``);
    the weights are a softmax of $-\alpha f$ (a log-sum-exp), so large $\alpha$ does not
    overflow. The position (:meth:`position`) is the consensus point $v_\alpha$; the
    agents are the state, shape ``(N, d)``. Isotropic noise contracts when
    $2\lambda > d\sigma^2$.

    Args:
        loss: $f$ on one agent.
        drift_rate: $\lambda > 0$.
        sigma: $\sigma \ge 0$.
        alpha: $\alpha > 0$.
        anisotropic: component-wise noise.
    """

    loss: Callable
    drift_rate: float = 1.0
    sigma: float = 1.0
    alpha: float = 30.0
    anisotropic: bool = False
    interacting: ClassVar[bool] = True

    def __check_init__(self):
        check_positive("CBO", drift_rate=self.drift_rate, alpha=self.alpha)
        check_nonnegative("CBO", sigma=self.sigma)

    def consensus(self, xs):
        """$v_\alpha$ of the agents ``xs`` (N, d)."""
        weights = jax.nn.softmax(-self.alpha * jax.vmap(self.loss)(xs))
        return weights @ xs

    def position(self, y):
        return self.consensus(y)

    def drift(self, t, y, args):
        return -self.drift_rate * (y - self.consensus(y))

    def diffusion(self, t, y, args):
        u = y - self.consensus(y)
        if self.anisotropic:
            return self.sigma * jnp.abs(u)
        return jnp.broadcast_to(self.sigma * jnp.linalg.norm(u, axis=-1, keepdims=True), u.shape)
