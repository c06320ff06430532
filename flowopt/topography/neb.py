"""Minimum-energy paths by the nudged elastic band with a climbing image (REFERENCE.md §6).

The band is just another state: its inner images ``(n - 2, d)`` relax under the NEB force
field until the largest force on any image falls below ``ftol``. NEB forces are not the
gradient of anything (the projections and the climbing image break that), so a minimiser
with a line search on a value would be wrong; what is needed is a stable steady state, and
the band force has one: the climbing image's force ``-grad f + 2 (grad f . t) t``
linearised at a saddle is ``-(I - 2 t t^T) H``, all of whose eigenvalues are negative when
``t`` is the unstable direction. Two relaxations reach it:

- ``method="fire"`` (default): FIRE (Bitzek et al. 2006), the damped dynamics NEB codes
  use (Sheppard, Terrell & Henkelman 2008 found it among the fastest NEB optimizers); one
  force evaluation per step, in any dimension.
- ``method="ode"``: ``dX/dt = F(X)`` by a diffrax solver with a PID step-size controller,
  by default implicit Euler, whose only steady states are the band's and whose steps grow
  without bound as it settles. Each step solves a dense ``(n - 2) d``-square linear system:
  for small bands (in d = 136 it did not finish in 15 minutes). Explicit Runge-Kutta
  methods are no default: on Himmelblau Tsit5, Bosh3 and Heun stalled at spurious fixed
  points of their step maps, image forces near 15, after 10^5 steps.

The highest image is then refined by Newton's method on ``grad f = 0`` (optimistix; if that
fails, Levenberg-Marquardt on ``|grad f|^2``, whose damped steps stay near the band where
the Hessian is singular) and its Hessian index is checked.
"""

import dataclasses

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx

from .. import _arguments


@dataclasses.dataclass(frozen=True, eq=False)
class ElasticBand:
    """A relaxed elastic band between ``a`` and ``b`` (what :func:`neb` returns).

    Positions are in the loss's coordinates, energies in the loss's units; all arrays are
    NumPy float64 (float32 if JAX runs in float32).

    Attributes:
        images: ``(n, d)`` the relaxed band, ``images[0] == a`` and ``images[-1] == b``.
        energies: ``(n,)`` the loss at each image.
        distance: ``(n,)`` Euclidean arc length from ``a`` along the polygon of images.
        index: position of the highest inner image in ``images`` (the climbing image).
        transition_state: ``(d,)`` the Newton-refined saddle when :attr:`refined`, else
            the highest image itself.
        transition_energy: the loss at :attr:`transition_state`.
        barrier: ``transition_energy - f(a)``.
        barrier_back: ``transition_energy - f(b)``.
        refined: whether the highest image was refined to an index-1 saddle (gradient
            below ``gtol``, exactly one negative Hessian eigenvalue, still within the
            band next to the climbing image).
        message: why not, in words, when :attr:`refined` is False; ``"index-1 saddle"``
            (plus a note on zero eigenvalues, if any) when it is.
        converged: whether the band relaxed (largest image force below ``ftol``).
        max_force: the largest image force at the end of the relaxation.
        steps: relaxation steps taken (FIRE steps, or accepted ODE steps).
        gradient_norm: ``|grad f|`` at :attr:`transition_state`.
        eigenvalues: Hessian eigenvalues at :attr:`transition_state`, ascending
            (``None`` if the band diverged or the Hessian is not finite).
        saddle_index: the number of negative Hessian eigenvalues there (below
            ``-eig_tol * max|eigenvalue|``); ``-1`` when not known.
        zero_eigenvalues: how many eigenvalues are zero to that tolerance (flat
            directions: e.g. the rescaling symmetries of a ReLU network).
    """

    images: np.ndarray
    energies: np.ndarray
    distance: np.ndarray
    index: int
    transition_state: np.ndarray
    transition_energy: float
    barrier: float
    barrier_back: float
    refined: bool
    message: str
    converged: bool
    max_force: float
    steps: int
    gradient_norm: float
    eigenvalues: np.ndarray | None = None
    saddle_index: int = -1
    zero_eigenvalues: int = 0

    @property
    def length(self):
        """Total arc length of the band."""
        return float(self.distance[-1])

    def __repr__(self):
        n, d = self.images.shape
        state = "refined" if self.refined else f"NOT refined: {self.message}"
        return (f"ElasticBand(images={n}, d={d}, barrier={self.barrier:.6g}, "
                f"barrier_back={self.barrier_back:.6g}, index={self.index}, {state})")


def tangents(X, V):
    """Improved tangents (Henkelman & Jónsson 2000, eqs. 8-11) at the inner images of a
    band ``X`` ``(n, d)`` with energies ``V`` ``(n,)``: towards the higher neighbour, and a
    mix weighted by the energy differences at a local extremum. Returns unit ``(n-2, d)``
    tangents and the spacings ``|x_{i+1} - x_i|``, ``|x_i - x_{i-1}|`` ``(n-2,)``."""
    tp, tm = X[2:] - X[1:-1], X[1:-1] - X[:-2]
    vp, v0, vm = V[2:], V[1:-1], V[:-2]
    lp, lm = jnp.linalg.norm(tp, axis=-1), jnp.linalg.norm(tm, axis=-1)
    dmax = jnp.maximum(jnp.abs(vp - v0), jnp.abs(vm - v0))[:, None]
    dmin = jnp.minimum(jnp.abs(vp - v0), jnp.abs(vm - v0))[:, None]
    mixed = jnp.where((vp > vm)[:, None], tp * dmax + tm * dmin, tp * dmin + tm * dmax)
    tau = jnp.where(((vp > v0) & (v0 > vm))[:, None], tp,
                    jnp.where(((vp < v0) & (v0 < vm))[:, None], tm, mixed))
    # a flat stretch (equal energies) leaves no preferred side: bisect the two segments
    tiny = jnp.finfo(X.dtype).tiny
    bisect = tp / jnp.maximum(lp, tiny)[:, None] + tm / jnp.maximum(lm, tiny)[:, None]
    norm = jnp.linalg.norm(tau, axis=-1, keepdims=True)
    tau = jnp.where(norm > 0, tau / jnp.maximum(norm, tiny), bisect)
    tau = tau / jnp.maximum(jnp.linalg.norm(tau, axis=-1, keepdims=True), tiny)
    return tau, lp, lm


def band_force(inner, ends, loss, spring, climbing):
    """NEB force on the inner images ``(n - 2, d)`` (REFERENCE.md §6): the potential force
    without its component along the tangent, plus the spring force
    ``k (|x_{i+1} - x_i| - |x_i - x_{i-1}|) t`` along it; the highest image (if
    ``climbing``) feels ``-grad f`` with the tangential part reversed and no spring
    (Henkelman, Uberuaga & Jónsson 2000). ``ends`` = ``(a, b, f(a), f(b))``."""
    a, b, fa, fb = ends
    v, g = jax.vmap(jax.value_and_grad(loss))(inner)
    X = jnp.concatenate([a[None], inner, b[None]])
    V = jnp.concatenate([fa[None], v, fb[None]])
    tau, lp, lm = tangents(X, V)
    along = jnp.sum(g * tau, axis=-1)
    force = -g + (along + spring * (lp - lm))[:, None] * tau
    if climbing:
        top = jnp.argmax(v)
        force = force.at[top].set(-g[top] + 2 * along[top] * tau[top])
    return force


class BandImplicitEuler(diffrax.ImplicitEuler):
    """Implicit Euler whose failed root-finds are rejected steps (a smaller step is then
    tried), as diffrax's implicit Runge-Kutta methods do; plain ``ImplicitEuler`` ends
    the solve instead, which happened at the kinks of a ReLU network's loss."""

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        y1, err, dense, state, result = super().step(terms, t0, t1, y0, args,
                                                     solver_state, made_jump)
        ok = result == diffrax.RESULTS.successful
        err = jax.tree_util.tree_map(lambda e: jnp.where(ok, e, jnp.inf), err)
        return y1, err, dense, state, result


def _largest(force):
    return jnp.max(jnp.linalg.norm(force, axis=-1))


@eqx.filter_jit
def _relax(loss, inner, ends, spring, ftol, t1, rtol, atol, solver, climbing, max_steps):
    def field(t, y, args):
        return band_force(y, ends, loss, spring, climbing)

    def settled(t, y, args, **kwargs):
        return _largest(field(t, y, args)) < ftol

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field), solver, t0=jnp.zeros_like(t1), t1=t1, dt0=None, y0=inner,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(t1=True), event=diffrax.Event(settled),
        max_steps=max_steps, throw=False)
    y = sol.ys[-1]
    return y, _largest(field(sol.ts[-1], y, None)), sol.stats["num_accepted_steps"], \
        sol.result


@eqx.filter_jit
def _fire(loss, inner, ends, spring, ftol, dt0, dtmax, maxmove, climbing, max_steps):
    """FIRE (Bitzek, Bulatov, Gumbsch & Koskinen 2006) on the band force: damped
    dynamics whose velocity is turned towards the force while the force does work, reset
    (and the time step cut) when it does not; each image moves at most ``maxmove`` per
    step. Returns the band, the largest image force, and the steps taken."""
    force = lambda y: band_force(y, ends, loss, spring, climbing)  # noqa: E731
    n_min, f_inc, f_dec, a0, f_a = 5, 1.1, 0.5, 0.1, 0.99

    def cond(c):
        return (c[-1] >= ftol) & (c[5] < max_steps)

    def body(c):
        x, v, dt, alpha, n_pos, k, f, _ = c
        power = jnp.sum(f * v)
        fn = jnp.linalg.norm(f)
        mixed = (1 - alpha) * v + alpha * jnp.linalg.norm(v) * f / jnp.maximum(
            fn, jnp.finfo(fn.dtype).tiny)
        up = power > 0
        grow = up & (n_pos > n_min)
        v = jnp.where(up, mixed, 0.0)
        dt = jnp.where(grow, jnp.minimum(dt * f_inc, dtmax), jnp.where(up, dt, dt * f_dec))
        alpha = jnp.where(grow, alpha * f_a, jnp.where(up, alpha, a0))
        n_pos = jnp.where(up, n_pos + 1, 0)
        v = v + dt * f
        dx = dt * v
        move = jnp.linalg.norm(dx, axis=-1, keepdims=True)
        dx = dx * jnp.minimum(1.0, maxmove / jnp.maximum(move, jnp.finfo(fn.dtype).tiny))
        x = x + dx
        f = force(x)
        return x, v, dt, alpha, n_pos, k + 1, f, _largest(f)

    f = force(inner)
    c = (inner, jnp.zeros_like(inner), dt0, jnp.asarray(a0, dt0.dtype), jnp.asarray(0),
         jnp.asarray(0), f, _largest(f))
    c = jax.lax.while_loop(cond, body, c)
    return c[0], c[-1], c[5]


@eqx.filter_jit
def _curvature(loss, X, iters=30):
    """Largest ``|Hessian eigenvalue|`` over the images ``X`` ``(n, d)``, by power
    iteration with Hessian-vector products (no ``d x d`` matrix)."""
    hvp = jax.vmap(lambda x, v: jax.jvp(jax.grad(loss), (x,), (v,))[1])
    tiny = jnp.finfo(X.dtype).tiny

    def unit(v):
        return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), tiny)

    v = jax.lax.fori_loop(0, iters, lambda _, v: unit(hvp(X, v)),
                          unit(jax.random.normal(jax.random.key(0), X.shape, X.dtype)))
    return jnp.max(jnp.abs(jnp.sum(v * hvp(X, v), axis=-1)))


@eqx.filter_jit
def _stationary(loss, x0, rtol, atol, max_steps, damped):
    """A point where ``grad f = 0`` near ``x0``: Newton's method (SVD solves: flat
    directions of the Hessian do not break it) or, ``damped``, Levenberg-Marquardt on
    ``|grad f|^2``. Returns the point, ``f``, ``|grad f|`` and the Hessian there."""
    grad = lambda x, _: jax.grad(loss)(x)  # noqa: E731
    if damped:
        sol = optx.least_squares(grad, optx.LevenbergMarquardt(rtol=rtol, atol=atol), x0,
                                 max_steps=max_steps, throw=False)
    else:
        sol = optx.root_find(grad, optx.Newton(rtol=rtol, atol=atol, linear_solver=lx.SVD()),
                             x0, max_steps=max_steps, throw=False)
    x = sol.value
    return x, loss(x), jnp.linalg.norm(jax.grad(loss)(x)), jax.hessian(loss)(x)


def _index(hess, eig_tol, dtype):
    """Ascending Hessian eigenvalues, the number below ``-eig_tol * max|eig|`` and the
    number within it of zero (None, -1, 0 for a non-finite Hessian)."""
    if not np.all(np.isfinite(hess)):
        return None, -1, 0
    eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    cut = eig_tol * max(float(np.max(np.abs(eig))), np.finfo(dtype).tiny)
    return eig, int(np.sum(eig < -cut)), int(np.sum(np.abs(eig) <= cut))


def _verdict(x, e, gn, eig, index, zeros, start, reach, gtol):
    """Why ``x`` (from a refinement started at the highest image ``start``) is not an
    index-1 saddle next to the band, or None if it is."""
    if not (np.all(np.isfinite(x)) and np.isfinite(e) and np.isfinite(gn)):
        return "diverged (non-finite)"
    moved = float(np.linalg.norm(x - start))
    if not gn <= gtol:
        return f"stopped at |grad f| = {gn:.3g} > gtol {gtol:.3g}, {moved:.3g} from the image"
    if moved > reach:
        return (f"reached a stationary point (index {index}) {moved:.3g} away, farther than "
                f"the image's longer band segment ({reach:.3g}): not the band's saddle")
    if eig is None:
        return "the Hessian there is not finite"
    if index != 1:
        flat = f" and {zeros} zero" if zeros else ""
        return (f"reached a stationary point of index {index}, not an index-1 saddle "
                f"({index} negative Hessian eigenvalues{flat}; lowest {eig[0]:.3g})")
    return None


def _why(result):
    """diffrax's reason for stopping, in words."""
    if result == diffrax.RESULTS.successful:
        return "the pseudo-time t1 was reached"
    return str(diffrax.RESULTS[result]).strip()


def _check_loss(loss, x):
    if not callable(loss):
        raise TypeError(f"neb(loss={loss!r}): pass a loss, a JAX-traceable function of a "
                        "(d,) array returning a scalar, e.g. fo.landscapes.Himmelblau().")
    _arguments.loss_output("neb", loss, x, argument="loss")


def _endpoints(a, b):
    _arguments.points("neb", "a", a)
    _arguments.points("neb", "b", b)
    dtype = jnp.result_type(float)
    a, b = np.asarray(a, dtype), np.asarray(b, dtype)
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"neb({name}=...): an endpoint is one position of shape (d,), "
                             f"got shape {x.shape}; pass a single point, e.g. "
                             f"{name}=loss.minima[0].")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"neb({name}={x.tolist()}): the endpoint has non-finite "
                             "entries; pass a finite position (e.g. a minimum).")
    if a.shape != b.shape:
        raise ValueError(f"neb(a=..., b=...): the endpoints have different shapes {a.shape} "
                         f"and {b.shape}; both must be positions of the same dimension d.")
    if np.array_equal(a, b):
        raise ValueError("neb(a=..., b=...): the endpoints are the same point; a path needs "
                         "two distinct positions.")
    return a, b


def _band(initial, a, b, n):
    if initial is None:
        s = np.linspace(0.0, 1.0, n, dtype=a.dtype)[:, None]
        return (1 - s) * a + s * b
    band = np.array(_arguments.points("neb", "initial", initial), a.dtype)
    if band.shape != (n, a.size):
        raise ValueError(f"neb(initial=...): the starting band has shape {band.shape}; it "
                         f"must be (images, d) = {(n, a.size)}, ends included.")
    if not np.all(np.isfinite(band)):
        raise ValueError("neb(initial=...): the starting band has non-finite entries.")
    band[0], band[-1] = a, b
    return band


def neb(loss, a, b, *, images=16, climbing=True, spring=1.0, ftol=None, initial=None,
        method="fire", max_steps=20_000, refine=True, gtol=None, eig_tol=1e-8,
        newton_steps=100, solver=None, rtol=1e-3, atol=1e-6, t1=1e6):
    r"""Minimum-energy path from ``a`` to ``b`` by the climbing-image nudged elastic band.

    The band of ``images`` positions, fixed at ``a`` and ``b``, relaxes under the NEB
    force (Jónsson, Mills & Jacobsen 1998): on inner image ``x_i`` with unit tangent
    ``t_i`` (improved tangent: towards the higher neighbour; Henkelman & Jónsson 2000),

    .. math:: F_i = -\nabla f(x_i) + (\nabla f(x_i)\cdot t_i)\,t_i
              + k\,(|x_{i+1} - x_i| - |x_i - x_{i-1}|)\,t_i,

    and, with ``climbing=True``, the highest image feels ``-grad f + 2 (grad f . t) t``
    (no spring) and climbs to the saddle (Henkelman, Uberuaga & Jónsson 2000). The band
    relaxes (FIRE, or an ODE solver: module docstring) until ``max_i |F_i| < ftol``. The
    highest inner image is then refined by Newton's method on ``grad f = 0``
    (``optimistix.Newton``; Levenberg-Marquardt if Newton fails) and accepted as the
    transition state only if the gradient there is below ``gtol``, the Hessian has
    exactly one negative eigenvalue (below ``-eig_tol * max|eigenvalue|``) and the point
    is within the longer of the climbing image's two band segments. Otherwise
    :attr:`ElasticBand.refined` is False, :attr:`ElasticBand.message` says why, and the
    highest image stands in for the transition state. On a loss with kinks (a ReLU
    network) the band may stall at a kink, where no saddle exists to refine to; the
    message then reports the gradient left by each refinement.

    Args:
        loss: a JAX-traceable function from ``(d,)`` to a real scalar.
        a, b: the endpoints, shape ``(d,)`` each (usually two minima).
        images: number of images ``n`` including the two ends, ``>= 3``.
        climbing: make the highest image climb (needed for a saddle, not just a bound).
        spring: spring constant ``k`` (loss units per squared distance). It sets only how
            evenly images are spaced and how fast they get there; the path and the saddle
            do not depend on it.
        ftol: stop when every image force is below this (loss units per distance);
            default ``1e-5 * max(1, max |grad f| on the initial band)``.
        initial: ``(n, d)`` starting band (default: the straight line from ``a`` to
            ``b``); its first and last rows are replaced by ``a`` and ``b``.
        method: ``"fire"`` or ``"ode"`` (module docstring).
        max_steps: relaxation step budget; when it runs out the band is returned as it
            is, with ``converged=False``.
        refine: refine the highest image and check its index.
        gtol: gradient norm a refined saddle must reach; default
            ``sqrt(eps) * max(1, max |grad f| on the initial band)`` (``eps`` of the
            dtype: 1.5e-8 in float64).
        eig_tol: relative tolerance for a Hessian eigenvalue to count as zero.
        newton_steps: iteration budget of each refinement.
        solver, rtol, atol, t1: ``method="ode"`` only: the diffrax solver (default
            implicit Euler that retries failed root-finds with a smaller step), the PID
            controller's tolerances (loose: only the steady state matters) and the
            pseudo-time horizon.

    Returns:
        A :class:`ElasticBand`: ``images (n, d)``, ``energies (n,)``, ``distance (n,)``,
        ``index``, ``transition_state (d,)``, ``barrier``, ``barrier_back``, ``refined``,
        ``message``, ...

    Raises:
        ValueError: endpoints of different shapes, not 1-D, non-finite or equal;
            ``images < 3``; ``initial`` of the wrong shape; a loss that does not return a
            real scalar or is not finite at an endpoint; a non-positive ``spring``,
            ``ftol`` or ``gtol``; an unknown ``method``.
        TypeError: a loss that is not callable, endpoints that are not numbers.

    Example:
        >>> import flowopt as fo
        >>> f = fo.landscapes.Himmelblau()
        >>> path = fo.neb(f, f.minima[0], f.minima[1], images=12)
        >>> path.refined, [round(float(v), 4) for v in path.transition_state]
        (True, [3.3852, 0.0739])
        >>> round(path.barrier, 4), round(path.barrier_back, 4)
        (13.3119, 13.3119)

    References:
        H. Jónsson, G. Mills, K. W. Jacobsen, "Nudged elastic band method for finding
        minimum energy paths of transitions", in Classical and Quantum Dynamics in
        Condensed Phase Simulations (World Scientific, 1998), ch. 16.
        G. Henkelman, B. P. Uberuaga, H. Jónsson, "A climbing image nudged elastic band
        method for finding saddle points and minimum energy paths", J. Chem. Phys. 113,
        9901 (2000).
        G. Henkelman, H. Jónsson, "Improved tangent estimate in the nudged elastic band
        method for finding minimum energy paths and saddle points", J. Chem. Phys. 113,
        9978 (2000).
        E. Bitzek, P. Koskinen, F. Gähler, M. Moseler, P. Gumbsch, "Structural relaxation
        made simple", Phys. Rev. Lett. 97, 170201 (2006).
        D. Sheppard, R. Terrell, G. Henkelman, "Optimization methods for finding minimum
        energy paths", J. Chem. Phys. 128, 134106 (2008).
    """
    a, b = _endpoints(a, b)
    n = _arguments.integer("neb", "images", images, minimum=3,
                           fix="A band needs both ends and at least one image between.")
    _check_loss(loss, jnp.asarray(a))
    if method not in ("fire", "ode"):
        raise ValueError(f"neb(method={method!r}): method is 'fire' (default) or 'ode'.")
    k = _arguments.number("neb", "spring", spring, minimum=0.0)
    for name, v in (("rtol", rtol), ("atol", atol), ("t1", t1), ("eig_tol", eig_tol)):
        _arguments.number("neb", name, v, minimum=0.0)
    steps = _arguments.integer("neb", "max_steps", max_steps)
    nsteps = _arguments.integer("neb", "newton_steps", newton_steps)
    dtype = a.dtype
    band = _band(initial, a, b, n)
    fa, fb = (float(loss(jnp.asarray(x))) for x in (a, b))
    if not (np.isfinite(fa) and np.isfinite(fb)):
        raise ValueError(f"neb(a=..., b=...): the loss is not finite at the endpoints "
                         f"(f(a) = {fa}, f(b) = {fb}); pass endpoints inside the domain.")
    g0 = float(np.max(np.linalg.norm(np.asarray(jax.vmap(jax.grad(loss))(jnp.asarray(band))),
                                     axis=-1)))
    scale = max(1.0, g0) if np.isfinite(g0) else 1.0
    ftol = 1e-5 * scale if ftol is None else \
        _arguments.number("neb", "ftol", ftol, minimum=0.0)
    gtol = float(np.sqrt(np.finfo(dtype).eps)) * scale if gtol is None else \
        _arguments.number("neb", "gtol", gtol, minimum=0.0)

    arr = lambda v: jnp.asarray(v, dtype)  # noqa: E731 - arrays, so new values do not recompile
    ends = (jnp.asarray(a), jnp.asarray(b), arr(fa), arr(fb))
    if method == "fire":
        # time step from the stiffest curvature (Hessian or springs); moves capped at a
        # fifth of a band segment so that no image overtakes its neighbours
        stiff = max(float(_curvature(loss, jnp.asarray(band))), 4 * k, np.finfo(dtype).tiny)
        dt = 0.1 / np.sqrt(stiff)
        cap = 0.2 * float(np.mean(np.linalg.norm(np.diff(band, axis=0), axis=-1)))
        inner, fmax, nacc = _fire(loss, jnp.asarray(band[1:-1]), ends, arr(k), arr(ftol),
                                  arr(dt), arr(10 * dt), arr(cap), bool(climbing), steps)
        stop = "the step budget max_steps ran out"
    else:
        inner, fmax, nacc, result = _relax(
            loss, jnp.asarray(band[1:-1]), ends, arr(k), arr(ftol), arr(t1), arr(rtol),
            arr(atol), BandImplicitEuler() if solver is None else solver, bool(climbing),
            steps)
        stop = _why(result)
    X = np.concatenate([a[None], np.asarray(inner), b[None]])
    V = np.asarray(jax.vmap(loss)(jnp.asarray(X)))
    seg = np.linalg.norm(np.diff(X, axis=0), axis=-1)
    dist = np.concatenate([[0.0], np.cumsum(seg)]).astype(dtype)
    fmax = float(fmax)
    converged = bool(np.isfinite(fmax) and fmax < ftol)
    finite = bool(np.all(np.isfinite(X)) and np.all(np.isfinite(V)))
    top = int(np.argmax(np.where(np.isfinite(V[1:-1]), V[1:-1], -np.inf))) + 1
    relax_note = "" if converged else \
        (f" (the band did not relax: largest image force {fmax:.3g} > ftol {ftol:.3g} "
         f"after {int(nacc)} steps; {stop})" if finite else "")

    ts, e_ts, refined = X[top], float(V[top]), False
    if not finite:
        message = ("the band diverged (non-finite images or energies); try a smaller "
                   "spring, an initial band inside the domain, or method='ode'")
    elif not refine:
        message = "not refined (refine=False)" + relax_note
    else:
        reach = max(seg[top - 1], seg[top])
        why = []
        for damped, name in ((False, "Newton's method"),
                             (True, "Levenberg-Marquardt on |grad f|^2")):
            x, e, gn, hess = _stationary(loss, jnp.asarray(X[top]),
                                         arr(100 * np.finfo(dtype).eps), arr(0.01 * gtol),
                                         nsteps, damped)
            x, e, gn = np.asarray(x), float(e), float(gn)
            eig, index, zeros = _index(np.asarray(hess), eig_tol, dtype)
            bad = _verdict(x, e, gn, eig, index, zeros, X[top], reach, gtol)
            if bad is None:
                refined, ts, e_ts = True, x, e
                message = "index-1 saddle" + (f" ({zeros} zero Hessian eigenvalues: flat "
                                              "directions)" if zeros else "")
                break
            why.append(f"{name} {bad}")
        if not refined:
            message = ("the highest image could not be refined to an index-1 saddle: "
                       + "; ".join(why) + relax_note)
    for name, end in (("a", fa), ("b", fb)):
        if e_ts < end:  # the path's highest point is then that end, not a saddle
            message += (f"; note: f({name}) = {end:.6g} is above the transition state, so "
                        f"the path descends from {name} (no barrier from it: {name} may not "
                        "be a minimum)")
    # what is reported describes the transition state, or the highest image standing in
    if finite and refine and refined:
        gnorm = gn
    else:
        gnorm = float(np.linalg.norm(np.asarray(jax.grad(loss)(jnp.asarray(ts)))))
        eig, index, zeros = _index(np.asarray(jax.hessian(loss)(jnp.asarray(ts))),
                                   eig_tol, dtype) if finite else (None, -1, 0)
    return ElasticBand(images=X, energies=V, distance=dist, index=top,
                transition_state=np.asarray(ts, dtype), transition_energy=e_ts,
                barrier=e_ts - fa, barrier_back=e_ts - fb, refined=refined,
                message=message, converged=converged, max_force=fmax, steps=int(nacc),
                gradient_norm=gnorm, eigenvalues=eig, saddle_index=index,
                zero_eigenvalues=zeros)
