from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import AbstractStochasticFlow, cast, check_fields, plain


class McKeanVlasov(AbstractStochasticFlow):
    r"""N interacting Langevin agents with the Curie–Weiss pull (seed 000 eqs. 5–6):

    $$dX^i = -\nabla\Phi(X^i)\,dt - \lambda(X^i - \bar X)\,dt + \sqrt{2/\beta}\,dB^i,
      \qquad \bar X = \tfrac1N \sum_j X^j.$$

    The drift is $-\nabla_i U_N$ with $U_N = \sum_i \Phi(x_i) +
    \tfrac{\lambda}{4N}\sum_{ij}\|x_i - x_j\|^2$; one evaluation costs $O(Nd)$ (the mean,
    not the $N^2$ pairs). State, ``x0`` and :meth:`position`: the agents, shape
    ``(N, d)``; :meth:`outcome` is their mean $\bar X$.

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
        check_fields(self, positive=("beta",), nonnegative=("interaction",))

    def drift(self, t, y, args):
        interaction, = cast(y, self.interaction)
        return -self.grad(y) - interaction * (y - jnp.mean(y, axis=0))

    def diffusion(self, t, y, args):
        return jnp.full_like(y, jnp.sqrt(2.0 / cast(y, self.beta)[0]))


class CBO(AbstractStochasticFlow):
    r"""Consensus-based optimization (Pinnau et al. 2017; Carrillo et al. 2018):

    $$dX^i = -\lambda(X^i - v_\alpha)\,dt + \sigma\,D(X^i - v_\alpha)\,dW^i,\qquad
      v_\alpha = \frac{\sum_i X^i e^{-\alpha f(X^i)}}{\sum_i e^{-\alpha f(X^i)}},$$

    with $D(u) = \|u\|\,I$ (isotropic) or $\mathrm{diag}(|u|)$ (``anisotropic=True``);
    the weights are a softmax of $-\alpha f$ (a log-sum-exp), so large $\alpha$ does not
    overflow. The agents are the state, ``x0`` and :meth:`position`, shape ``(N, d)``
    (as for every interacting flow, so ``fo.solve(...).x`` is the agents); the consensus
    point $v_\alpha$ (:meth:`consensus`) is the :meth:`outcome`. Isotropic noise
    contracts when $2\lambda > d\sigma^2$.

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
    anisotropic: bool = eqx.field(default=False, converter=plain)
    interacting: ClassVar[bool] = True

    def __check_init__(self):
        check_fields(self, positive=("drift_rate", "alpha"), nonnegative=("sigma",),
                     flags=("anisotropic",))

    def consensus(self, xs):
        r"""$v_\alpha$ of the agents ``xs`` (N, d), shape ``(d,)``, in their dtype."""
        alpha, = cast(xs, self.alpha)
        weights = jax.nn.softmax(-alpha * jax.vmap(self.loss_at)(xs))
        return weights @ xs

    def outcome(self, y):
        r"""The consensus point $v_\alpha$ of the agents ``y``."""
        return self.consensus(self.position(y))

    def drift(self, t, y, args):
        return -cast(y, self.drift_rate)[0] * (y - self.consensus(y))

    def diffusion(self, t, y, args):
        u = y - self.consensus(y)
        sigma, = cast(y, self.sigma)
        if self.anisotropic:
            return sigma * jnp.abs(u)
        return jnp.broadcast_to(sigma * jnp.linalg.norm(u, axis=-1, keepdims=True), u.shape)
