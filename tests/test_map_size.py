"""A map that would not fit in memory is refused before anything is allocated, with
the estimate, the limit and the fix named; a map under the bound runs, and the
estimate is within a factor 2 of the peak memory a real map takes. Step counts the
mapper's clock cannot hold are refused, naming t1 and dt0."""

import resource
import subprocess
import sys
import time

import jax
import pytest

import flowopt as fo
import schemes

mapper = sys.modules["flowopt.basins.mapper"]
LOSS = fo.landscapes.Himmelblau()
FLOW = fo.flows.GradientFlow(LOSS)


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.mark.parametrize("side", [20_000, 100_000])
def test_a_grid_too_big_is_refused_quickly(monkeypatch, side):
    monkeypatch.setattr(mapper, "_available_memory", lambda: 16 * 2**30)  # any machine

    def never(self):
        raise AssertionError("Grid.points() called for a grid that does not fit")

    monkeypatch.setattr(fo.Grid, "points", never)
    before, start = _rss(), time.perf_counter()
    with pytest.raises(ValueError, match=r"needs about [\d.]+ GiB.*limit of 8\.0 GiB"
                                         r".*coarser grid, fewer replicas") as err:
        fo.basins(FLOW, schemes.Euler(), fo.Grid(LOSS.domain, (side, side)), t1=1.0,
                  dt0=1e-2)
    assert time.perf_counter() - start < 5.0
    assert _rss() - before < 100 * 2**20
    need = float(str(err.value).split("needs about ")[1].split(" GiB")[0])
    assert need > 20 * (side / 20_000) ** 2  # > 50 bytes per start
    with pytest.raises(ValueError, match=r"limit of 1\.0 GiB \(max_memory\)"):
        fo.basins(FLOW, schemes.Euler(), fo.Grid(LOSS.domain, (side, side)), t1=1.0,
                  dt0=1e-2, max_memory=2**30)


def test_replicas_count_in_the_estimate():
    grid = fo.Grid(LOSS.domain, (300, 300))
    flow = fo.flows.Langevin(LOSS, beta=2.0)
    one = mapper._memory_needed(flow, grid, len(grid), 1, None, 262_144, "float32")
    many = mapper._memory_needed(flow, grid, len(grid), 50, None, 262_144, "float32")
    assert many > 10 * one
    with pytest.raises(ValueError, match=r"90,000 starts x 50 replicas"):
        fo.basins(flow, schemes.Euler(), grid, t1=1.0, dt0=1e-2, key=jax.random.key(0),
                  replicas=50, max_memory=int(one * 5))


def test_a_map_under_the_bound_runs():
    bmap = fo.basins(FLOW, schemes.Euler(), fo.Grid(LOSS.domain, (16, 16)), t1=5.0,
                     dt0=1e-2, max_memory=2**30)
    assert (bmap["label"].values >= 0).all()


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1GB", True])
def test_max_memory_is_checked(bad):
    with pytest.raises((TypeError, ValueError), match="max_memory.*bytes"):
        fo.basins(FLOW, schemes.Euler(), fo.Grid(LOSS.domain, (4, 4)), t1=1.0, dt0=1e-2,
                  max_memory=bad)


MEASURE = """
import sys, threading, time, resource
import jax, flowopt as fo, schemes
mapper = sys.modules["flowopt.basins.mapper"]
loss = fo.landscapes.Himmelblau()
flow = fo.flows.GradientFlow(loss)
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
run = lambda side: fo.basins(flow, schemes.Euler(), fo.Grid(loss.domain, (side, side)),
                             t1=4.0, dt0=1e-2, tile=65_536)
run(300)  # compiled, and the allocator warm
peak, stop = [0], []
def sample():
    while not stop:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
base = rss()
thread = threading.Thread(target=sample)
thread.start()
run(512)
stop.append(1)
thread.join()
grid = fo.Grid(loss.domain, (512, 512))
need = mapper._memory_needed(flow, grid, len(grid), 1, None, 65_536, jax.numpy.result_type(float))
print(peak[0] - base, need)
"""


def test_the_estimate_is_within_a_factor_2_of_a_real_map():
    out = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    measured, estimate = (int(v) for v in out.stdout.split())
    assert measured / 2 <= estimate <= 2 * measured, (measured, estimate)


FLOAT32 = """
import flowopt as fo, schemes
loss = fo.landscapes.Himmelblau()
try:
    fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid(loss.domain, (4, 4)),
              t1=1e5, dt0=1e-3)
except ValueError as e:
    print(e)
"""


def test_float32_step_counts_past_2_24_are_refused():
    out = subprocess.run([sys.executable, "-c", FLOAT32], capture_output=True, text=True,
                         timeout=120)
    assert "basins(t1=100000.0, dt0=0.001)" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "100,000,000 fixed steps" in out.stdout and "2**24" in out.stdout


def test_step_counts_past_int32_are_refused():
    grid = fo.Grid(LOSS.domain, (4, 4))
    with pytest.raises(ValueError, match=r"basins\(t1=3000000\.0, dt0=0\.001\).*int32"):
        fo.basins(FLOW, schemes.Euler(), grid, t1=3e6, dt0=1e-3)
    with pytest.raises(ValueError, match=r"max_steps.*int32"):
        fo.basins(FLOW, schemes.Euler(), grid, t1=1.0, dt0=1e-2, max_steps=2**31,
                  controller=schemes.EnergyController())
