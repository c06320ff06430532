"""Climbing-image NEB (flowopt.topography.neb): the transition states it finds are the
index-1 saddles found independently, by Newton's method in this file's own NumPy code
(hand-written gradients and Hessians) from a grid of starts."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowopt as fo


def himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def himmelblau_derivatives(x, y):
    g = np.array([4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
                  2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7)])
    h = np.array([[12 * x**2 + 4 * y - 42, 4 * x + 4 * y],
                  [4 * x + 4 * y, 12 * y**2 + 4 * x - 26]])
    return g, h


def camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def camel_derivatives(x, y):
    g = np.array([8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3])
    h = np.array([[8 - 25.2 * x**2 + 10 * x**4, 1.0], [1.0, -8 + 48 * y**2]])
    return g, h


def saddles(derivatives, box, n=41):
    """Index-1 stationary points: Newton's method from an n x n grid of starts over
    ``box``, kept where the gradient vanishes and the Hessian has one negative
    eigenvalue, duplicates merged."""
    found = []
    for x0 in itertools.product(*(np.linspace(lo, hi, n) for lo, hi in box)):
        x = np.array(x0, float)
        for _ in range(60):
            g, h = derivatives(*x)
            try:
                x = x - np.linalg.solve(h, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.abs(x) < 1e3):
                break
        g, h = derivatives(*x)
        if np.all(np.isfinite(x)) and np.linalg.norm(g) < 1e-10 and \
                np.sum(np.linalg.eigvalsh(h) < 0) == 1 and \
                not any(np.linalg.norm(x - s) < 1e-6 for s in found):
            found.append(x)
    return np.array(found)


CASES = {
    "himmelblau": (fo.landscapes.Himmelblau(), himmelblau, himmelblau_derivatives),
    "six-hump camel": (fo.landscapes.SixHumpCamel(), camel, camel_derivatives),
}


@pytest.mark.parametrize("name", list(CASES))
def test_transition_states_are_the_independent_saddles(name):
    loss, f, derivatives = CASES[name]
    reference = saddles(derivatives, loss.domain)
    assert len(reference) == {"himmelblau": 4, "six-hump camel": 7}[name]
    hit = set()
    for i, j in itertools.combinations(range(len(loss.minima)), 2):
        a, b = loss.minima[i], loss.minima[j]
        path = fo.neb(loss, a, b, images=14)
        assert path.refined, path.message
        assert path.saddle_index == 1 and path.converged
        near = np.linalg.norm(reference - path.transition_state, axis=1)
        k = int(np.argmin(near))
        assert near[k] < 1e-6, (i, j, path.transition_state)
        hit.add(k)
        s = reference[k]
        assert abs(path.barrier - (f(*s) - f(*a))) < 1e-8
        assert abs(path.barrier_back - (f(*s) - f(*b))) < 1e-8
        # the band: ends fixed, energies are the loss, distance is the arc length
        np.testing.assert_array_equal(path.images[[0, -1]], [a, b])
        np.testing.assert_allclose(path.energies, [f(*x) for x in path.images], atol=1e-9)
        np.testing.assert_allclose(np.diff(path.distance),
                                   np.linalg.norm(np.diff(path.images, axis=0), axis=1))
        assert path.energies[path.index] == path.energies[1:-1].max()
    # between them, the pairs of minima pass every index-1 saddle of these landscapes
    assert hit == set(range(len(reference)))


def test_ode_relaxation_finds_the_same_saddle():
    loss = fo.landscapes.Himmelblau()
    fire = fo.neb(loss, loss.minima[0], loss.minima[2], images=10)
    ode = fo.neb(loss, loss.minima[0], loss.minima[2], images=10, method="ode")
    assert ode.refined and ode.converged, ode.message
    np.testing.assert_allclose(ode.transition_state, fire.transition_state, atol=1e-9)


def test_without_climbing_the_highest_image_lies_below_the_saddle():
    loss = fo.landscapes.Himmelblau()
    a, b = loss.minima[0], loss.minima[1]
    plain = fo.neb(loss, a, b, images=6, climbing=False, refine=False)
    climb = fo.neb(loss, a, b, images=6)
    assert not plain.refined and "refine=False" in plain.message
    assert plain.transition_energy < climb.transition_energy
    assert climb.refined


def test_unrefinable_top_says_why():
    # the top of -x^4 + y^2 between (-1, 0) and (1, 0) is a degenerate stationary point
    # (Hessian diag(0, 2)): no index-1 saddle to refine to
    loss = lambda x: -x[0] ** 4 + x[1] ** 2  # noqa: E731
    path = fo.neb(loss, jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0]), images=7)
    assert not path.refined
    assert path.message.startswith("the highest image could not be refined")
    assert "index 0, not an index-1 saddle" in path.message
    assert path.saddle_index == 0 and path.zero_eigenvalues == 1


@pytest.mark.parametrize("kwargs, words", [
    (dict(a=np.zeros(2), b=np.zeros(3)), ["a=..., b=...", "different shapes"]),
    (dict(a=np.zeros(2), b=np.ones(2), images=2), ["images=2", ">= 3"]),
    (dict(a=np.array([np.nan, 0.0]), b=np.ones(2)), ["a=", "non-finite"]),
    (dict(a=np.zeros(2), b=np.array([1.0, np.inf])), ["b=", "non-finite"]),
    (dict(a=np.zeros((2, 2)), b=np.ones((2, 2))), ["a=...", "shape (d,)"]),
    (dict(a=np.ones(2), b=np.ones(2)), ["same point"]),
    (dict(a=np.zeros(2), b=np.ones(2), method="lbfgs"), ["method='lbfgs'"]),
    (dict(a=np.zeros(2), b=np.ones(2), initial=np.zeros((3, 2))), ["initial=", "(16, 2)"]),
])
def test_bad_input_is_named(kwargs, words):
    with pytest.raises(ValueError) as err:
        fo.neb(fo.landscapes.Himmelblau(), **kwargs)
    for w in words:
        assert w in str(err.value)


def test_a_loss_that_is_not_a_scalar_is_named():
    with pytest.raises(ValueError, match=r"loss=.*returns shape \(2,\).*scalar"):
        fo.neb(lambda x: x**2, np.zeros(2), np.ones(2))
    with pytest.raises(TypeError, match="loss="):
        fo.neb("himmelblau", np.zeros(2), np.ones(2))


def _trained(loss, seed, steps=6000):
    """A network trained by Adam from equinox's initialization (a local minimum, nearly)."""
    import optax

    opt = optax.adam(optax.exponential_decay(1e-2, steps, 1e-2))

    def step(c, _):
        theta, state = c
        u, state = opt.update(jax.grad(loss)(theta), state, theta)
        return (optax.apply_updates(theta, u), state), None

    theta = loss.init(jax.random.key(seed))
    return jax.jit(lambda t: jax.lax.scan(step, (t, opt.init(t)), None, length=steps)[0][0])(
        theta)


@pytest.mark.slow
def test_in_136_dimensions_from_the_global_minimum_to_a_trained_network():
    # seed 001, Fig. 4a: from the hand-built global minimum W_f of the 5 x 5 ReLU network
    # to a network trained from a random start
    loss, w_f = fo.landscapes.MLP.gamst_walker()
    b = _trained(loss, 0)
    assert w_f.shape == b.shape == (136,) and float(loss(w_f)) < 1e-20 < float(loss(b))
    path = fo.neb(loss, w_f, b, images=12, max_steps=3000)
    assert path.images.shape == (12, 136) and path.energies.shape == (12,)
    assert np.all(np.isfinite(path.energies)) and np.all(np.diff(path.distance) > 0)
    assert path.energies[path.index] == path.energies[1:-1].max()
    assert path.barrier > 0 and path.barrier_back > 0
    if path.refined:
        assert path.saddle_index == 1 and path.gradient_norm < 1e-6
    else:  # and then it says why, in words
        assert path.message.startswith("the highest image could not be refined")
        assert "Newton" in path.message and "Levenberg-Marquardt" in path.message
        assert path.transition_energy == path.energies[path.index]
