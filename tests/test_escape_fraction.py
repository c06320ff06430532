"""fo.escape_fraction: share of starts near an attractor that end elsewhere (seed 004)."""

import numpy as np
import pytest

import flowopt as fo
import schemes


@pytest.fixture(scope="module")
def neuron_map():
    loss = fo.landscapes.NeuronPoly("polyTwo")
    flow = fo.flows.GradientFlow(loss)
    return fo.basins(flow, schemes.Euler(), fo.Grid(loss.domain, (20, 20)), t1=200.0,
                     dt0=0.1)


def test_against_brute_force(neuron_map):
    xs, ys = np.meshgrid(neuron_map.x.values, neuron_map.y.values)
    lab = neuron_map["label"].values
    for r in (0.3, 0.8, 1.5):
        got = fo.escape_fraction(neuron_map, r)
        for a, pos in enumerate(neuron_map["attractor_x"].values):
            inside = np.hypot(xs - pos[0], ys - pos[1]) <= r
            want = (lab[inside] != a).mean() if inside.any() else np.nan
            np.testing.assert_equal(got.values[a], want)
            assert got.attrs["starts_within"][a] == inside.sum()


def test_consistent_with_capture_radius(neuron_map):
    """Within the capture radius nothing escapes."""
    cr = fo.capture_radius(neuron_map).values
    for a, r in enumerate(cr):
        if 0 < r < np.inf:
            v = fo.escape_fraction(neuron_map, r).values[a]
            assert np.isnan(v) or v == 0.0


def test_bad_input(neuron_map):
    with pytest.raises(ValueError, match="radius"):
        fo.escape_fraction(neuron_map, 0.0)
    with pytest.raises(ValueError, match="radius"):
        fo.escape_fraction(neuron_map, "a")
    with pytest.raises(TypeError, match="fo.basins"):
        fo.escape_fraction(neuron_map["label"].values, 0.5)
