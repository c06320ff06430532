"""Restart processes of seed 002 (Inan, Liu, Shehu): noise in the model (NiM) and basin
hopping, built from any flow and scheme, counting gradient evaluations so optimizers can
be compared at equal cost.

Each process is a pytree with a ``run(x0, key)`` method that works under ``jax.jit`` and
``jax.vmap`` (over starts and keys): local searches are :func:`flowopt.solve` calls with
fixed steps ``dt`` that stop once the gradient is below ``gtol`` (max norm), and
perturbations are uniform in the ball of radius ``radius``.

Gradient evaluations are counted as steps x gradients per step: one per drift
evaluation of the flow (two for SAM, ``samples`` for SmoothedGradient) times the drift
evaluations of the scheme per step (Euler and semi-implicit Euler 1, Euler–Richardson
and velocity Verlet 2, a diffrax Runge–Kutta method its stages). The stopping test
reuses the step's gradient, as in the seed's algorithms; a perturbation of the model
costs one more (its gradient is recomputed, seed 002 Alg. 2 line 8).
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import schemes

from ._arguments import integer
from .basins.classify import DIVERGED, NOT_CONVERGED, default_radius
from .flows.base import AbstractFlow, check_count, check_positive
from .flows.noisy import uniform_in_ball
from .solve import solve


def grads_per_step(flow, scheme):
    """Gradient evaluations of one step of ``scheme`` on ``flow`` (see module docstring)."""
    stages = {schemes.Euler: 1, schemes.SemiImplicitEuler: 1, schemes.EulerRichardson: 2,
              schemes.VelocityVerlet: 2}
    for kind, count in stages.items():
        if isinstance(scheme, kind):
            return count * flow.grads_per_drift
    tableau = getattr(scheme, "tableau", None)
    if tableau is not None:
        return (len(tableau.c) + 1 - int(bool(tableau.fsal))) * flow.grads_per_drift
    raise ValueError(f"grads_per_step: unknown cost of one {type(scheme).__name__} step; "
                     "use schemes.Euler, SemiImplicitEuler, EulerRichardson, VelocityVerlet "
                     "or a diffrax Runge–Kutta solver.")


class HopResult(eqx.Module):
    """What a restart process returns: final and best position and loss, the gradient
    evaluations spent, and the number of perturbations (and accepted hops)."""

    x: jax.Array
    loss: jax.Array
    best_x: jax.Array
    best_loss: jax.Array
    grad_evals: jax.Array
    perturbations: jax.Array
    accepted: jax.Array


class _Process(eqx.Module):
    flow: AbstractFlow
    scheme: diffrax.AbstractSolver
    dt: float
    local_steps: int
    gtol: float
    radius: float

    def __check_init__(self):
        owner = type(self).__name__
        if not isinstance(self.flow, AbstractFlow):
            raise TypeError(f"{owner}(flow={self.flow!r}): pass a flow, e.g. "
                            "fo.flows.GradientFlow(loss) or fo.flows.NoisyGradient(loss).")
        if not isinstance(self.scheme, diffrax.AbstractSolver):
            raise TypeError(f"{owner}(scheme={self.scheme!r}): pass a scheme instance such as "
                            "schemes.Euler() (note the parentheses).")
        check_positive(owner, dt=self.dt, gtol=self.gtol, radius=self.radius)
        check_count(owner, local_steps=self.local_steps)

    def check(self):
        """Raise the error of ``__check_init__`` for a bad field; :meth:`run` calls it,
        since ``eqx.tree_at`` builds processes without running it."""
        for cls in reversed(type(self).__mro__):
            check_init = cls.__dict__.get("__check_init__")
            if check_init is not None:
                check_init(self)

    def _local(self, x, key, t_stop=None, steps=None, stop_at_minimum=True):
        steps = self.local_steps if steps is None else steps
        sol = solve(self.flow, self.scheme, x, t1=steps * self.dt, dt0=self.dt,
                    gtol=self.gtol if stop_at_minimum else None, t_stop=t_stop, key=key)
        cost = sol.stats["num_accepted_steps"] * grads_per_step(self.flow, self.scheme)
        return sol, cost


class NiM(_Process):
    r"""NoiseInModel-GD (Jin et al. 2017; seed 002 Alg. 2) over a flow and scheme: run
    the flow; once ``wait`` steps have passed, whenever $\|\nabla f\|_\infty <$ ``gtol``
    add $\zeta$ uniform in $B_0(\rho)$ to the model; stop after ``budget`` steps.

    Args:
        flow, scheme: what moves the model between perturbations.
        dt: the step. local_steps: the budget $T$ in steps. gtol: $\epsilon$.
        radius: $\rho$. wait: $\tau$ (steps before the first perturbation).
    """

    wait: int = 0

    def __check_init__(self):
        integer("NiM", "wait", self.wait, minimum=0)

    def run(self, x0, key):
        self.check()
        budget = self.local_steps
        # the first `wait` steps never perturb (seed 002 Alg. 2: "t > tau")
        first, cost = self._local(x0, jax.random.fold_in(key, 0), steps=max(self.wait, 1),
                                  stop_at_minimum=False)
        flat = jnp.max(jnp.abs(self.flow.grad(first.x))) <= self.gtol  # the next step's g
        start = (first.x, first.stats["num_accepted_steps"], cost, jnp.asarray(0), flat)

        def segment(state):
            x, used, cost, kicks, at_min = state
            k = jax.random.fold_in(key, kicks + 1)
            kicked = jnp.where(at_min, x + uniform_in_ball(jax.random.fold_in(k, 1), x,
                                                           self.radius), x)
            sol, seg_cost = self._local(kicked, k, t_stop=(budget - used) * self.dt,
                                        steps=budget)
            return (sol.x, used + sol.stats["num_accepted_steps"],
                    cost + seg_cost + at_min.astype(cost.dtype), kicks + at_min, sol.converged)

        x, used, cost, kicks, _ = jax.lax.while_loop(lambda s: s[1] < budget, segment, start)
        value = self.flow.loss(x)
        return HopResult(x=x, loss=value, best_x=x, best_loss=value, grad_evals=cost,
                         perturbations=kicks, accepted=kicks)


class _Hopping(_Process):
    hops: int = 10

    def __check_init__(self):
        integer(type(self).__name__, "hops", self.hops, minimum=0)

    def run(self, x0, key):
        self.check()
        sol, cost = self._local(x0, jax.random.fold_in(key, 0))
        y, fy = sol.x, self.flow.loss(sol.x)

        def hop(state, h):
            y, fy, best, fbest, cost, accepted = state
            y, fy, c, take = self.hop(y, fy, jax.random.fold_in(key, h + 1))
            better = fy < fbest
            best, fbest = jnp.where(better, y, best), jnp.where(better, fy, fbest)
            return (y, fy, best, fbest, cost + c + 1, accepted + take), None

        init = (y, fy, y, fy, cost, jnp.asarray(0))
        (y, fy, best, fbest, cost, accepted), _ = jax.lax.scan(
            hop, init, jnp.arange(self.hops))
        return HopResult(x=y, loss=fy, best_x=best, best_loss=fbest, grad_evals=cost,
                         perturbations=jnp.asarray(self.hops), accepted=accepted)

    def hop(self, y, fy, key):
        r"""One hop from the current minimum ``y`` (loss ``fy``): perturb by $\zeta$ uniform
        in $B_0(\rho)$, local search, accept (always, or if the loss decreased for the
        monotonic process). Returns ``(y, fy, cost, accepted)``; :meth:`run` makes its
        ``h``-th hop with ``key = jax.random.fold_in(run_key, h + 1)``."""
        self.check()
        x = y + uniform_in_ball(jax.random.fold_in(key, 1), y, self.radius)
        cand, c = self._local(x, key)
        fc = self.flow.loss(cand.x)
        take = (fc < fy) if self.monotonic else jnp.isfinite(fc)
        return jnp.where(take, cand.x, y), jnp.where(take, fc, fy), c, take


class BasinHopping(_Hopping):
    r"""Basin hopping (seed 002 Alg. 4 without line 9): local search (at most
    ``local_steps`` steps of the flow, stopping when the gradient flattens), then
    ``hops`` times: perturb the current minimum by $\zeta \in B_0(\rho)$, local search,
    and always accept. With a noisy flow (``NoisyGradient``) the local search itself
    injects noise in the gradient (NiG-BH); with a plain one this is NiM-BH."""

    monotonic = False


class MonotonicBasinHopping(_Hopping):
    """Monotonic basin hopping (seed 002 Alg. 4 with line 9): as :class:`BasinHopping`,
    but a hop is accepted only if the loss decreased."""

    monotonic = True


def label_points(points, minima, radius=None):
    """Labels of end points of restart processes (``HopResult.x``), in ``fo.basins``'s
    codes: the index of the nearest of ``minima`` (``(k, d)``) within ``radius``
    (Euclidean; default half the closest distance between two minima), -1 (diverged)
    for a non-finite point, else -2 (not at a known minimum, "Else" of seed 002)."""
    x = np.asarray(points, float)
    m = np.asarray(minima, float)
    if x.ndim != 2 or m.ndim != 2 or x.shape[1] != m.shape[1] or len(m) == 0:
        raise ValueError(f"label_points(points=..., minima=...): need shapes (n, d) and "
                         f"(k >= 1, d), not {x.shape} and {m.shape}.")
    if radius is None:
        radius = default_radius(m, np.inf) if len(m) > 1 else np.inf
    if not radius > 0:
        raise ValueError(f"label_points(radius={radius!r}): radius must be > 0.")
    finite = np.all(np.isfinite(x), axis=1)
    dist = np.sqrt(((np.where(finite[:, None], x, 0.0)[:, None] - m[None]) ** 2).sum(-1))
    near = dist.argmin(1)
    lab = np.where(dist[np.arange(len(x)), near] <= radius, near, NOT_CONVERGED)
    return np.where(finite, lab, DIVERGED).astype(np.int64)


def stationary_row(labels, names):
    """Percent of ``labels`` per minimum (one of ``names`` per index, reached or not),
    then "Else" (any other code but diverged) and "Diverged": a row of seed 002's Table 1
    (``fo.stationary_table`` for labels that may miss some minima)."""
    lab = np.asarray(labels).ravel()
    if lab.size == 0 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError("stationary_row(labels=...): pass a non-empty integer label array.")
    if lab.max() >= len(names):
        raise ValueError(f"stationary_row(names=...): label {int(lab.max())} has no name "
                         f"({len(names)} names given).")
    row = {name: 100.0 * float((lab == i).mean()) for i, name in enumerate(names)}
    row["Else"] = 100.0 * float(((lab < 0) & (lab != DIVERGED)).mean())
    row["Diverged"] = 100.0 * float((lab == DIVERGED).mean())
    return row
