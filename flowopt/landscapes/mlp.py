"""The mean squared error of a K x N fully connected network, as a loss on its flat weights."""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._data import check_theta, floating, targets


def relu(z):
    """ReLU, max(z, 0), with derivative 0 at z = 0 (``jax.nn.relu``'s convention; W_f puts
    many pre-activations exactly at 0). A plain function, which the basin mapper's
    specification hashes by its code (``jax.nn.relu``, a ``custom_jvp`` object, trips it)."""
    return jnp.where(z > 0, z, jnp.zeros_like(z))


@functools.cache
def _layout(depth, width, activation):
    """(static part, unravel, size) of the ``eqx.nn.MLP`` with these sizes: the layout of
    the flat vector, computed once per architecture from shapes alone (nothing drawn)."""
    net = eqx.filter_eval_shape(eqx.nn.MLP, "scalar", "scalar", width, depth,
                                activation=activation, key=jax.random.key(0))
    params, static = eqx.partition(net, lambda v: isinstance(v, jax.ShapeDtypeStruct))
    zeros = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), params)
    flat, unravel = ravel_pytree(zeros)
    return static, unravel, flat.size


@eqx.filter_jit
def _init(key, depth, width, activation):
    params = eqx.filter(eqx.nn.MLP("scalar", "scalar", width, depth, activation=activation,
                                   key=key), eqx.is_array)
    return ravel_pytree(params)[0]


class MLP(eqx.Module):
    r"""Mean squared error of a $K \times N$ ReLU network, on its flat weight vector.

    The network (Gamst & Walker, seed 001, §2) has one input, $K$ hidden fully connected
    layers of $N$ nodes with activation $\sigma$ (ReLU by default), and a linear output
    node: $h_0 = x$, $h_l = \sigma(W_l h_{l-1} + b_l)$, $\hat y = W_{K+1} h_K + b_{K+1}$.
    The loss of ``theta`` on data $(x_i, y_i)_{i=1}^n$ is
    $L(\theta) = \frac1n \sum_i (\hat y(\theta; x_i) - y_i)^2$.

    ``theta`` has shape ``(d,)``, $d = 2N + (K - 1)(N^2 + N) + N + 1$ (136 for the 5 x 5
    network): the leaves of ``eqx.nn.MLP("scalar", "scalar", N, K)`` raveled by
    ``jax.flatten_util.ravel_pytree`` -- layer by layer from the input, each weight matrix
    (out, in) row by row, then its bias. Any flow, scheme, grid plane and the basin mapper
    take the loss as it is (a callable from ``(d,)`` to a scalar); the loss has ``theta``'s
    dtype (the data are cast to it). ``fo.Grid.plane`` flattens a network's parameters in
    the same order, so ``fo.Grid.plane(eqx.filter(loss.to_network(w), eqx.is_array), u, v,
    extent, shape, normalize="filter")`` (``u``, ``v`` networks too) gives starts of this
    loss.

    Args:
        x: ``(n,)`` inputs.
        y: ``(n,)`` targets, one per input.
        depth: $K$, the number of hidden layers (>= 1).
        width: $N$, the nodes per hidden layer (>= 1).
        activation: the hidden layers' activation (default :func:`relu`; any
            elementwise function, e.g. ``jnp.tanh``).

    Raises:
        ValueError: ``x``/``y`` not 1-D, of different lengths, empty or not finite; ``depth``
            or ``width`` not an int >= 1; (when called) ``theta`` not of shape ``(d,)``.

    Example:
        >>> import jax, flowopt as fo
        >>> loss, w_f = fo.landscapes.MLP.gamst_walker()
        >>> loss.dim, float(loss(w_f)) < 1e-12
        (136, True)
        >>> float(loss(loss.init(jax.random.key(0)))) > 0.01
        True
    """

    x: jax.Array
    y: jax.Array
    depth: int = eqx.field(default=5, static=True)
    width: int = eqx.field(default=5, static=True)
    activation: object = eqx.field(default=relu, static=True)

    def __init__(self, x, y, depth=5, width=5, activation=relu):
        for name, value in (("depth", depth), ("width", width)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"MLP({name}={value!r}): {name} must be an int >= 1 (a "
                                 "5 x 5 network is MLP(x, y, depth=5, width=5)).")
        if not callable(activation):
            raise ValueError(f"MLP(activation={activation!r}): pass an elementwise function "
                             "such as flowopt.landscapes.mlp.relu (the default) or jnp.tanh.")
        x = floating("MLP", "x", x)
        if x.ndim != 1:
            raise ValueError(f"MLP(x=...): x has shape {x.shape}; the network has one input, "
                             "so pass x of shape (n,), one input per sample (x.ravel()).")
        self.x = jnp.asarray(x)
        self.y = jnp.asarray(targets("MLP", y, len(x)))
        self.depth, self.width, self.activation = int(depth), int(width), activation

    @property
    def dim(self) -> int:
        """The number of parameters ``d``."""
        return _layout(self.depth, self.width, self.activation)[2]

    def to_network(self, theta) -> eqx.nn.MLP:
        """The ``eqx.nn.MLP`` whose raveled weights are ``theta`` (shape ``(d,)``)."""
        static, unravel, _ = _layout(self.depth, self.width, self.activation)
        theta = check_theta(type(self).__name__, theta, self.dim, "the network's weights, "
                            "e.g. loss.init(key) or loss.from_network(net)")
        return eqx.combine(unravel(theta), static)

    def from_network(self, net) -> jax.Array:
        """The flat vector ``theta`` of shape ``(d,)`` of an ``eqx.nn.MLP`` of this shape."""
        params = eqx.filter(net, eqx.is_array)
        want = eqx.filter(self.to_network(jnp.zeros(self.dim)), eqx.is_array)
        if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(want) or any(
                jnp.shape(a) != jnp.shape(b) for a, b in zip(jax.tree_util.tree_leaves(params),
                                                              jax.tree_util.tree_leaves(want))):
            raise ValueError(f"MLP.from_network(net): net is not a scalar-in, scalar-out "
                             f"eqx.nn.MLP of depth {self.depth} and width {self.width}; "
                             "build it as eqx.nn.MLP('scalar', 'scalar', width, depth, ...).")
        return ravel_pytree(params)[0]

    flatten = from_network

    def init(self, key) -> jax.Array:
        """A random ``theta`` of shape ``(d,)``: equinox's default initialization of
        ``eqx.nn.MLP`` (each layer's weights and biases uniform on
        $\\pm 1/\\sqrt{\\text{fan-in}}$) drawn with ``key``."""
        return _init(key, self.depth, self.width, self.activation)

    @eqx.filter_jit
    def predict(self, theta, x) -> jax.Array:
        """The network's outputs $\\hat y(\\theta; x)$ at inputs ``x`` of shape ``(m,)``,
        shape ``(m,)`` (a scalar for a scalar ``x``)."""
        net = self.to_network(theta)
        x = jnp.asarray(x, jnp.result_type(theta))
        return jax.vmap(net)(x.reshape(-1)).reshape(x.shape)

    @eqx.filter_jit
    def __call__(self, theta):
        theta = jnp.asarray(theta)
        dtype = theta.dtype if jnp.issubdtype(theta.dtype, jnp.floating) else float
        r = self.predict(theta.astype(dtype), self.x.astype(dtype)) - self.y.astype(dtype)
        return jnp.mean(r * r)

    def transform(self, theta, permutations, scales) -> jax.Array:
        """``theta`` moved along a symmetry of the ReLU network (same function): hidden
        layer ``l``'s new unit ``i`` is its old unit ``permutations[l][i]``, with incoming
        weights and bias times ``scales[l][i] > 0`` and outgoing weights divided by it.
        ``permutations``, ``scales``: shape ``(depth, width)``. ReLU only (ValueError)."""
        from . import _symmetry
        return _symmetry.transform(self, theta, permutations, scales)

    def align_to(self, theta, reference, nearest=True) -> jax.Array:
        """De-symmetrize ``theta`` into ``reference``'s gauge (before a NEB path or a
        distance between two networks): the same function as ``theta``, its hidden units
        permuted and positively rescaled to match ``reference``'s. Layer by layer from the
        input: every unit of both networks is scaled to unit incoming norm (weights and
        bias; a unit with norm below 1e-12 keeps its scale), ``theta``'s units are
        permuted to the assignment nearest the reference's (squared distance of the
        normalized incoming rows plus the sorted normalized outgoing columns, which tells
        apart units with equal incoming weights; ``scipy.optimize.linear_sum_assignment``),
        and then take the reference's own scales. With ``nearest`` (default) the unit
        scales then descend, one layer at a time in closed form, to a local minimum of the
        Euclidean distance to ``reference`` (the nearest point of the orbit for that
        permutation; the distance never grows). A permuted and rescaled copy of
        ``reference`` maps back onto it (to round-off). ReLU only (ValueError)."""
        from . import _symmetry
        return _symmetry.align_to(self, theta, reference, nearest=bool(nearest))

    def canonical(self, theta) -> jax.Array:
        """Seed 001's de-symmetrization (§3.3): the positive rescaling of the hidden units
        that minimizes the whole weight vector's L2 norm (exact per-layer minimizations
        swept to convergence; the problem is convex in the log-scales), then each hidden
        layer's units sorted by increasing norm (at the optimum a unit's incoming and
        outgoing norms are equal, so the seed's "columns" order is unambiguous). Same
        function as ``theta``. ReLU only (ValueError)."""
        from . import _symmetry
        return _symmetry.canonical(self, theta)

    @classmethod
    def gamst_walker(cls, amplitude=0.25):
        r"""Seed 001's hand-built 5 x 5 network $W_f$ and its training data:
        ``(loss, w_f)`` with ``loss(w_f) == 0`` (up to round-off), ``w_f`` of shape (136,).

        $f = a\,s + g$ on $[0, 1]$. The sawtooth $s = T^5$ ($T(t) = 2t$ on $[0, \frac12]$,
        $2 - 2t$ on $[\frac12, 1]$: 16 teeth of height 1, knots at $j/32$) is built by
        the left 2 nodes of each layer, $\mathrm{relu}(u)$ and $\mathrm{relu}(u - \frac12)$
        of the previous layer's $u = 2a - 4b$ (Telgarsky's tent map). The low-frequency
        linear spline $g$ (:data:`SPLINE_KNOTS`, :data:`SPLINE_VALUES`) is built by the
        right 3 nodes: a pass-through of $x$ ($\mathrm{relu}(x) = x$ on $[0, 1]$), one
        new hinge $\mathrm{relu}(x - k_l)$ per layer, and the running sum of the hinges
        plus an offset (4) that keeps it positive through the ReLUs. The output node adds
        the two and removes the offset. The two halves share no weight (the bold lines of
        the seed's Fig. 1); all other weights are 0. The data are $f$ at all of its knots
        and at 9 equally spaced points between each pair: the spline's knots are chosen
        among the sawtooth's, so the knots are $j/32$, $j = 0..32$ (the ends 0 and 1
        included: the network has kinks there), 321 points in all, with $f$ computed from
        its closed form, not from the network.

        The seed gives neither the weights, the knots, the spline nor the sawtooth's
        height (REFERENCE.md §5): all of these are this construction's choices, as is
        the domain $[0, 1]$ and ``amplitude`` $a = 1/4$ (the spline's range is
        $[-\frac12, 1]$). Measured: the loss at $W_f$ is 9.6e-32 in float64, and the
        Hessian's largest eigenvalue there is about 4.7e3 (explicit Euler on the gradient
        flow is stable near $W_f$ only for steps below about 4e-4).
        """
        a = float(amplitude)
        if not math.isfinite(a):
            raise ValueError(f"MLP.gamst_walker(amplitude={amplitude!r}): amplitude, the "
                             "sawtooth's height, must be a finite number (default 0.25).")
        x = np.concatenate([np.linspace(k / 32, (k + 1) / 32, 11)[:-1] for k in range(32)]
                           + [np.ones(1)])
        sawtooth = 1 - np.abs(2 * np.mod(16 * x, 1) - 1)
        y = a * sawtooth + np.interp(x, SPLINE_KNOTS, SPLINE_VALUES)
        loss = cls(x, y, depth=5, width=5)
        return loss, loss.from_network(_gamst_walker_network(loss, a))


# the spline of gamst_walker: knots (0, 5 hinges, 1), values at them; slopes 4, 0, -6, 0, 4, -2
SPLINE_KNOTS = (0.0, 0.25, 0.375, 0.625, 0.75, 0.875, 1.0)
SPLINE_VALUES = (0.0, 1.0, 1.0, -0.5, -0.5, 0.0, -0.25)


def _gamst_walker_network(loss, a):
    """W_f as an eqx.nn.MLP (nodes 0, 1: sawtooth; 2: x; 3: hinge; 4: running sum)."""
    knots, values = np.array(SPLINE_KNOTS), np.array(SPLINE_VALUES)
    slopes = np.diff(values) / np.diff(knots)
    turns = np.diff(slopes)  # slope change at each inner knot k_1..k_5
    hinge_at = knots[1:-1]
    # offset c keeping every running sum c + g_0(x) + sum_{i<l} turns_i relu(x - k_i) >= 1
    lows = [min(values[0] + slopes[0] * t + sum(turns[i] * max(t - hinge_at[i], 0)
                                                for i in range(l)) for t in knots)
            for l in range(len(turns))]
    c = math.ceil(1 - min(lows))
    w = [np.zeros((5, 1))] + [np.zeros((5, 5)) for _ in range(4)] + [np.zeros((1, 5))]
    b = [np.zeros(5) for _ in range(5)] + [np.zeros(1)]
    # layer 1 from the input x
    w[0][:, 0] = [1, 1, 1, 1, slopes[0]]
    b[0][:] = [0, -0.5, 0, -hinge_at[0], values[0] + c]
    for l in range(1, 5):  # layers 2..5 from the previous layer's nodes
        w[l][0, :2] = w[l][1, :2] = (2, -4)       # tent map u = 2a - 4b
        b[l][1] = -0.5
        w[l][2, 2] = 1                            # pass x on
        w[l][3, 2], b[l][3] = 1, -hinge_at[l]     # new hinge relu(x - k_l)
        w[l][4, 3:] = (turns[l - 1], 1)           # running sum + previous hinge
    w[5][0] = (2 * a, -4 * a, 0, turns[4], 1)
    b[5][0] = -c
    net = loss.to_network(jnp.zeros(loss.dim))
    for l in range(6):
        net = eqx.tree_at(lambda n, l=l: (n.layers[l].weight, n.layers[l].bias), net,
                          (jnp.asarray(w[l], float), jnp.asarray(b[l], float)))
    return net
