"""What a map compiles: another step size reuses the compiled step loop (the step is an
array, not a compile-time constant) and gives the map a fresh compilation gives; the
classification compiles for a few batch sizes, whatever the number of end points."""

import contextlib

import jax
import numpy as np

import flowopt as fo
import schemes
from flowopt.basins import mapper
from flowopt.basins.classify import losses_at

_RECORDING = []  # the lists compiled() is filling


def _listen(event, duration, **kw):
    if event == "/jax/core/compile/backend_compile_duration":
        for names in _RECORDING:
            names.append(kw.get("fun_name"))


jax.monitoring.register_event_duration_secs_listener(_listen)


@contextlib.contextmanager
def compiled():
    """The names (``jit(advance)``, ...) of the programs XLA compiles inside."""
    names = []
    _RECORDING.append(names)
    try:
        yield names
    finally:
        _RECORDING.remove(names)


STEP_LOOP = {"jit(advance)", "jit(run_fixed)", "jit(settled)", "jit(periods)",
             "jit(_init_lanes)"}


def _map(dt0, early_stop):
    # 32^2 starts: one tile of 1024 lanes, never compacted; at t1 = 0.1 most still move,
    # so the end-of-run checks (settled, periods) run in every map
    loss = fo.landscapes.Himmelblau()
    return fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, 32),
                     t1=0.1, dt0=dt0, early_stop=early_stop)


def test_another_step_reuses_the_compiled_step_loop():
    """Early stop: the map at a second dt0 compiles no part of the step loop, and equals
    the map of a process that never compiled for the first dt0."""
    with jax.enable_x64(False):
        first = _map(1e-2, True)
        with compiled() as names:
            second = _map(1.25e-2, True)
        assert not STEP_LOOP & set(names), names
        assert (first.label.values == -2).any()  # the end-of-run checks ran
        mapper._RUNNERS.clear()
        jax.clear_caches()
        with compiled() as names:
            fresh = _map(1.25e-2, True)
        assert "jit(advance)" in names, names
    np.testing.assert_array_equal(second.label.values, fresh.label.values)
    np.testing.assert_array_equal(second.steps.values, fresh.steps.values)
    np.testing.assert_allclose(second.final_x.values, fresh.final_x.values, rtol=0, atol=1e-6)


def test_fixed_budget_another_step_reuses_the_compiled_step_loop():
    """Without early stop likewise (the step count is no constant either), and the end
    points are those of Euler's recursion x - dt grad f(x) with the new step."""
    with jax.enable_x64(False):
        _map(1e-2, False)
        with compiled() as names:
            second = _map(1.25e-2, False)
    assert not STEP_LOOP & set(names), names
    assert (second.steps.values == 8).all()
    x = np.stack(np.meshgrid(second.x.values, second.y.values), -1)
    for _ in range(8):
        u, v = x[..., 0], x[..., 1]
        a, b = u**2 + v - 11, u + v**2 - 7  # Himmelblau: a^2 + b^2
        x = x - 1.25e-2 * np.stack([4 * a * u + 2 * b, 2 * a + 4 * b * v], -1)
    np.testing.assert_allclose(second.final_x.values, x, rtol=1e-5, atol=1e-5)


def test_classification_compiles_for_a_few_batch_sizes():
    """The loss at 100, 120, 5000 and 9000 end points: at most two compilations (calls
    of 128 and of 4096 rows), no conversion program per shape, a plain vmap's values."""
    loss = fo.landscapes.Himmelblau()
    rng = np.random.default_rng(0)
    points = [rng.uniform(-6, 6, (n, 2)) for n in (100, 120, 5000, 9000)]
    with compiled() as names:
        values = [losses_at(loss, p) for p in points]
    assert set(names) <= {"jit(_losses)"} and len(names) <= 2, names  # (fewer if cached)
    for p, v in zip(points, values):  # (XLA's results may differ in the last bit by batch)
        np.testing.assert_allclose(v, jax.vmap(loss)(jax.numpy.asarray(p)), rtol=1e-12,
                                   atol=1e-12)
