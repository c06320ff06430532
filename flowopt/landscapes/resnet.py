"""The cross-entropy of a ResNet-ODE classifier whose layers are steps of a ``schemes``
integrator (seed 000 §6.2; Haber & Ruthotto 2018)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import schemes

from ._data import check_theta, floating

_SCHEMES = ("verlet", "euler")


def _layer_index(t, step, layers):
    """The layer whose weights act at time ``t``: ``round(t / step)``, clipped to
    ``[0, layers - 1]`` (exact at the grid times ``k * step`` where schemes evaluate the
    force; the final half-kick of velocity Verlet at ``t = layers * step`` uses the last
    layer's weights and changes only the velocity)."""
    k = jnp.round(t / step).astype(jnp.int32)
    return jnp.clip(k, 0, layers - 1)


class ResNetODE(eqx.Module):
    r"""Mean cross-entropy of a classifier built on the second-order network ODE
    $\ddot u = \tanh(K(t)\,u + b(t))$, $u(0) = $ the input, $\dot u(0) = 0$, whose
    ``layers`` layers are steps of size ``step`` of a ``schemes`` integrator.

    The ODE is the second-order (Hamiltonian-type) network of Haber & Ruthotto (2018,
    "Stable architectures for deep neural networks"); with ``scheme="verlet"`` each layer
    is one ``schemes.VelocityVerlet`` step of the state $(u, \dot u)$ — the positions obey
    $u_{j+1} = 2u_j - u_{j-1} + h^2\tanh(K_j u_j + b_j)$ (Störmer–Verlet leapfrog);
    with ``scheme="euler"`` one ``schemes.Euler`` (explicit Euler) step of the same
    first-order system $(u, \dot u)' = (\dot u, \tanh(K u + b))$. $K(t), b(t)$ are
    piecewise constant: layer $j$'s weights act at $t = j h$. The features are the
    positions $u_L$ after ``layers`` steps; the output is ``softmax(W u_L + c)`` over
    ``classes`` classes, the loss the mean cross-entropy $-\frac1n\sum_i \log p_{y_i}$.

    The state has the input's width $w$ (no lifting), so the flat parameter vector
    ``theta`` has $d = L(w^2 + w) + C w + C$ entries (774 for $w = 2$, $C = 2$,
    $L = 128$): layer by layer $K_j$ (row by row) then $b_j$, then $W$ (rows are classes)
    and $c$.

    Args:
        x: ``(n, w)`` inputs.
        labels: ``(n,)`` integer class labels in ``[0, classes)``.
        layers: $L \ge 1$.
        step: the layer step $h > 0$ (default 0.05).
        scheme: ``"verlet"`` (default) or ``"euler"``.
        classes: $C \ge 2$ (default 2).

    Raises:
        ValueError: bad data, labels, counts, step or scheme, naming the argument; (when
            called) ``theta`` not of shape ``(d,)``.

    Example:
        >>> import jax, jax.numpy as jnp, flowopt as fo
        >>> net = fo.landscapes.ResNetODE(jnp.array([[0.1, 0.2], [0.9, -1.5]]),
        ...                               jnp.array([1, 0]), layers=128)
        >>> net.dim
        774
        >>> round(float(net(jnp.zeros(net.dim))), 6)   # uniform output: log 2
        0.693147
    """

    x: jax.Array
    labels: jax.Array
    layers: int = eqx.field(static=True)
    step: float = eqx.field(default=0.05, static=True)
    scheme: str = eqx.field(default="verlet", static=True)
    classes: int = eqx.field(default=2, static=True)

    def __init__(self, x, labels, layers, step=0.05, scheme="verlet", classes=2):
        owner = "ResNetODE"
        for name, value, least in (("layers", layers, 1), ("classes", classes, 2)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                    or value < least:
                raise ValueError(f"{owner}({name}={value!r}): {name} must be an int >= {least}.")
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, float, np.floating)) \
                or not np.isfinite(step) or step <= 0:
            raise ValueError(f"{owner}(step={step!r}): step must be a finite number > 0, "
                             "e.g. step=0.05.")
        if scheme not in _SCHEMES:
            raise ValueError(f"{owner}(scheme={scheme!r}): scheme must be one of {_SCHEMES}.")
        a = floating(owner, "x", x)
        if a.ndim != 2:
            raise ValueError(f"{owner}(x=...): x has shape {a.shape}; pass inputs of shape "
                             "(n, w), one row per sample.")
        lab = np.asarray(labels)
        if lab.shape != (a.shape[0],):
            raise ValueError(f"{owner}(labels=...): labels has shape {lab.shape}; pass one "
                             f"integer label per row of x, shape ({a.shape[0]},).")
        if lab.size and (not np.all(np.equal(np.mod(lab, 1), 0)) or lab.min() < 0
                         or lab.max() >= classes):
            raise ValueError(f"{owner}(labels=...): labels must be integers in [0, {classes}).")
        self.x = jnp.asarray(a)
        self.labels = jnp.asarray(lab.astype(np.int32))
        self.layers = int(layers)
        self.step = float(step)
        self.scheme = scheme
        self.classes = int(classes)

    @property
    def width(self):
        return self.x.shape[1]

    @property
    def dim(self):
        """$d = L(w^2 + w) + C w + C$."""
        w, c = self.width, self.classes
        return self.layers * (w * w + w) + c * w + c

    def unravel(self, theta):
        """``(K, b, W, c)`` of shapes ``(L, w, w)``, ``(L, w)``, ``(C, w)``, ``(C,)``."""
        theta = check_theta("ResNetODE", theta, self.dim, "the network's flat parameters")
        w, c, L = self.width, self.classes, self.layers
        per = w * w + w
        body = theta[:L * per].reshape(L, per)
        K, b = body[:, :w * w].reshape(L, w, w), body[:, w * w:]
        head = theta[L * per:]
        return K, b, head[:c * w].reshape(c, w), head[c * w:]

    def _term(self):
        L, h = self.layers, self.step

        def force(t, y, args):
            K, b = args
            j = _layer_index(t, h, L)
            return jnp.tanh(y[0] @ K[j].T + b[j])

        return schemes.PartitionedTerm(lambda t, y, args: y[1], force)

    def forward(self, theta, points):
        """The state ``(u_L, v_L)`` after the ``layers`` steps from ``points`` ``(m, w)``
        with zero initial velocity; each layer is one step of the scheme (``solver.step``
        between the grid times ``k * step``)."""
        K, b, _, _ = self.unravel(theta)
        points = jnp.asarray(points, theta.dtype)
        solver = schemes.VelocityVerlet() if self.scheme == "verlet" else schemes.Euler()
        term = self._term()
        h = jnp.asarray(self.step, theta.dtype)

        def layer(y, k):
            t0, t1 = k * h, (k + 1) * h
            y1 = solver.step(term, t0, t1, y, (K, b), None, False)[0]
            return y1, None

        ks = jnp.arange(self.layers, dtype=theta.dtype)
        y, _ = jax.lax.scan(layer, (points, jnp.zeros_like(points)), ks)
        return y

    def logits(self, theta, points):
        """``W u_L + c`` at ``points`` ``(m, w)``, shape ``(m, C)``."""
        _, _, W, c = self.unravel(theta)
        u, _ = self.forward(theta, points)
        return u @ W.T + c

    def probabilities(self, theta, points):
        """Class probabilities ``softmax(logits)`` at ``points``, shape ``(m, C)``."""
        return jax.nn.softmax(self.logits(theta, points), axis=-1)

    def predict(self, theta, points):
        """The most probable class at each of ``points``, shape ``(m,)``."""
        return jnp.argmax(self.logits(theta, points), axis=-1)

    def init(self, key, scale=0.1):
        """A random start: every parameter ``N(0, scale^2)``, shape ``(d,)``."""
        return scale * jax.random.normal(key, (self.dim,))

    def __call__(self, theta):
        z = self.logits(theta, self.x)
        logp = jax.nn.log_softmax(z, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, self.labels[:, None], axis=1))


__all__ = ["ResNetODE"]
