"""The cross-entropy of a small fully connected softmax classifier, as a loss on its flat
weights (for population studies on real data, e.g. scikit-learn's digits)."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._data import check_theta, floating


@functools.cache
def _shapes(inputs, hidden, classes):
    sizes = (inputs,) + tuple(hidden) + (classes,)
    return tuple(((m, n), (m,)) for n, m in zip(sizes[:-1], sizes[1:]))


class SoftmaxClassifier(eqx.Module):
    r"""Mean cross-entropy of a fully connected network with a softmax output, on its flat
    weight vector.

    $h_0 = x$, $h_l = \sigma(W_l h_{l-1} + b_l)$ for the hidden layers, logits
    $z = W_{K+1} h_K + b_{K+1}$; the loss of ``theta`` on data $(x_i, c_i)_{i=1}^n$ is
    $L(\theta) = -\frac1n \sum_i \log \mathrm{softmax}(z(\theta; x_i))_{c_i}$.
    ``theta`` holds, layer by layer from the input, each weight matrix (out, in) row by
    row, then its bias; ``d = sum (in + 1) * out``.

    Args:
        x: ``(n, p)`` inputs (features).
        labels: ``(n,)`` integer classes in ``0 .. classes - 1``.
        hidden: widths of the hidden layers (a tuple of ints >= 1; ``()``: logistic
            regression).
        classes: number of classes (default ``labels.max() + 1``).
        activation: the hidden layers' elementwise activation (default ``jnp.tanh``).

    Raises:
        ValueError: ``x`` not 2-D or not finite, ``labels`` not integers in range or of
            another length, bad ``hidden``/``classes``; (when called) ``theta`` not ``(d,)``.

    Example:
        >>> import jax, numpy as np, flowopt as fo
        >>> loss = fo.landscapes.SoftmaxClassifier(np.eye(3), [0, 1, 2], hidden=(4,))
        >>> loss.dim, round(float(loss(jax.numpy.zeros(loss.dim))), 4)  # log 3 at 0
        (31, 1.0986)
    """

    x: jax.Array
    labels: jax.Array
    hidden: tuple = eqx.field(static=True)
    classes: int = eqx.field(static=True)
    activation: object = eqx.field(static=True)

    def __init__(self, x, labels, hidden=(32,), classes=None, activation=jnp.tanh):
        x = floating("SoftmaxClassifier", "x", x)
        if x.ndim != 2:
            raise ValueError(f"SoftmaxClassifier(x=...): x has shape {x.shape}; pass one row "
                             "of features per sample, shape (n, p).")
        lab = np.asarray(labels)
        if lab.ndim != 1 or len(lab) != len(x) or not (
                np.issubdtype(lab.dtype, np.integer) or (
                    np.issubdtype(lab.dtype, np.floating) and np.all(lab == np.round(lab)))):
            raise ValueError(f"SoftmaxClassifier(labels=...): pass {len(x)} integer class "
                             f"labels, shape ({len(x)},), not shape {lab.shape} of {lab.dtype}.")
        lab = lab.astype(np.int64)
        if classes is None:
            classes = int(lab.max()) + 1
        if isinstance(classes, (bool, np.bool_)) or not isinstance(classes, (int, np.integer)) \
                or classes < 2:
            raise ValueError(f"SoftmaxClassifier(classes={classes!r}): classes must be an int "
                             ">= 2.")
        if lab.min() < 0 or lab.max() >= classes:
            raise ValueError(f"SoftmaxClassifier(labels=...): labels must lie in 0 .. "
                             f"{classes - 1}, found {lab.min()} .. {lab.max()}.")
        hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        if any(isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)) or h < 1
               for h in hidden):
            raise ValueError(f"SoftmaxClassifier(hidden={hidden!r}): hidden must be a tuple of "
                             "ints >= 1, e.g. hidden=(32,).")
        if not callable(activation):
            raise ValueError(f"SoftmaxClassifier(activation={activation!r}): pass an "
                             "elementwise function such as jnp.tanh.")
        self.x = jnp.asarray(x)
        self.labels = jnp.asarray(lab)
        self.hidden = tuple(int(h) for h in hidden)
        self.classes = int(classes)
        self.activation = activation

    @property
    def dim(self) -> int:
        """The number of parameters ``d``."""
        return sum(int(np.prod(w)) + int(np.prod(b))
                   for w, b in _shapes(self.x.shape[1], self.hidden, self.classes))

    def unravel(self, theta):
        """``[(W_1, b_1), ..., (W_{K+1}, b_{K+1})]`` from the flat ``theta``."""
        theta = check_theta("SoftmaxClassifier", theta, self.dim, "the network's weights, "
                            "e.g. loss.init(key)")
        out, i = [], 0
        for w, b in _shapes(self.x.shape[1], self.hidden, self.classes):
            nw, nb = int(np.prod(w)), int(np.prod(b))
            out.append((theta[i:i + nw].reshape(w), theta[i + nw:i + nw + nb]))
            i += nw + nb
        return out

    def init(self, key, dtype=jnp.float32) -> jax.Array:
        """A random ``theta``: each layer's weights and biases uniform on
        $\\pm 1/\\sqrt{\\text{fan-in}}$ (the default of ``eqx.nn.Linear``)."""
        parts = []
        for j, (w, b) in enumerate(_shapes(self.x.shape[1], self.hidden, self.classes)):
            lim = 1.0 / np.sqrt(w[1])
            k = jax.random.fold_in(key, j)
            parts.append(jax.random.uniform(jax.random.fold_in(k, 0), (int(np.prod(w)),),
                                            dtype, -lim, lim))
            parts.append(jax.random.uniform(jax.random.fold_in(k, 1), b, dtype, -lim, lim))
        return jnp.concatenate(parts)

    def logits(self, theta, x) -> jax.Array:
        """Logits ``(m, classes)`` of the network ``theta`` at inputs ``x`` ``(m, p)``."""
        layers = self.unravel(jnp.asarray(theta))
        h = jnp.asarray(x, jnp.result_type(theta))
        for w, b in layers[:-1]:
            h = self.activation(h @ w.T + b)
        w, b = layers[-1]
        return h @ w.T + b

    def cross_entropy(self, theta, x, labels) -> jax.Array:
        """Mean cross-entropy of ``theta`` on the data ``(x, labels)`` (any split)."""
        z = self.logits(theta, x)
        lab = jnp.asarray(labels)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), lab[:, None], 1))

    def accuracy(self, theta, x, labels) -> jax.Array:
        """Share of ``(x, labels)`` whose largest logit is the label's."""
        return jnp.mean(jnp.argmax(self.logits(theta, x), axis=1) == jnp.asarray(labels))

    def __call__(self, theta):
        theta = jnp.asarray(theta)
        if not jnp.issubdtype(theta.dtype, jnp.floating):
            theta = theta.astype(float)
        return self.cross_entropy(theta, self.x.astype(theta.dtype), self.labels)
