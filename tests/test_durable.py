"""Issue 9: maps that outlast a process -- tiles committed to a Zarr store as they finish,
resumed after SIGKILL computing only the missing tiles, bit for bit; damaged tiles
recomputed; a different specification refused with what differs; the same map on a
local Dask cluster (also with a worker killed mid-run); NetCDF export."""

import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
import xarray as xr

import flowopt as fo
import schemes

LOSS = fo.landscapes.Himmelblau()

CASES = {  # name: (setup code, keyword arguments), each run in a subprocess and here
    "deterministic": ("flow = fo.flows.GradientFlow(loss)\n"
                      "grid = fo.Grid(loss.domain, (1024, 1024))",
                      dict(t1=10.0, dt0=1e-2, tile=16_384)),
    "replicas": ("flow = fo.flows.Langevin(loss, beta=5.0)\n"
                 "grid = fo.Grid(loss.domain, (128, 128))",
                 dict(t1=3.0, dt0=1e-2, tile=4096, replicas=8)),
}

SCRIPT = """
import sys, jax
jax.config.update("jax_enable_x64", True)
import flowopt as fo, schemes
loss = fo.landscapes.Himmelblau()
{setup}
fo.basins(flow, schemes.Euler(), grid, store=sys.argv[1], key=jax.random.key(7), **{kw!r})
print("FINISHED", flush=True)
"""


def _objects(name):
    setup, kw = CASES[name]
    space = {"fo": fo, "loss": LOSS}
    exec(setup, space)  # the same two lines the subprocess runs
    return space["flow"], space["grid"], kw


def _done(path):
    """Tiles marked done in the store (0 while it is being created)."""
    import zarr

    try:
        return int(np.asarray(zarr.open_group(path, mode="r")["tiles"]["done"][:]).sum())
    except Exception:
        return 0


def _assert_same_map(a, b):
    """Every variable and coordinate bit for bit (NaN where NaN)."""
    assert set(a.data_vars) == set(b.data_vars) and set(a.coords) == set(b.coords)
    for name in list(a.data_vars) + list(a.coords):
        x, y = a[name].values, b[name].values
        assert x.dtype == y.dtype and x.shape == y.shape, name
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


@pytest.mark.parametrize("name", list(CASES))
def test_sigkill_then_resume_computes_only_the_missing_tiles(name, tmp_path):
    flow, grid, kw = _objects(name)
    path = str(tmp_path / "map.zarr")
    setup, _ = CASES[name]
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(setup=setup, kw=kw), path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    n_tiles = -(-len(grid) * kw.get("replicas", 1) // kw["tile"])
    try:
        deadline = time.time() + 240
        while _done(path) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed: " + \
            proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    stored = _done(path)
    assert 2 <= stored < n_tiles
    with pytest.raises(ValueError, match="unfinished"):
        fo.open_basins(path)
    resumed = fo.basins(flow, schemes.Euler(), grid, store=path, resume=True,
                        key=jax.random.key(7), **kw)
    assert resumed.attrs["tiles_computed"] == n_tiles - stored
    whole = fo.basins(flow, schemes.Euler(), grid, key=jax.random.key(7), **kw)
    assert whole.attrs["tiles_computed"] == n_tiles
    _assert_same_map(resumed, whole)
    _assert_same_map(fo.open_basins(path), whole)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("maps") / "small.zarr")
    grid = fo.Grid(LOSS.domain, (64, 64))
    bmap = fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, t1=10.0, dt0=1e-2,
                     tile=512, store=path)
    return path, grid, bmap


def _resume(path, grid, **kw):
    args = dict(t1=10.0, dt0=1e-2, tile=512)
    args.update(kw)
    return fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, store=path,
                     resume=True, **args)


def test_a_truncated_chunk_is_recomputed_not_read(small_store, tmp_path):
    path, grid, bmap = small_store
    copy = str(tmp_path / "copy.zarr")
    import shutil

    shutil.copytree(path, copy)
    chunk = os.path.join(copy, "tiles", "final", "c", "3", "0")
    assert os.path.getsize(chunk) > 16
    with open(chunk, "r+b") as f:  # half written
        f.truncate(os.path.getsize(chunk) // 2)
    again = _resume(copy, grid)
    assert again.attrs["tiles_computed"] == 1
    _assert_same_map(again, bmap)
    # own case: a chunk with the right size but other numbers fails its hash
    steps = os.path.join(copy, "tiles", "steps", "c", "5")
    data = bytearray(open(steps, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(steps, "wb").write(bytes(data))
    again = _resume(copy, grid)
    assert again.attrs["tiles_computed"] == 1
    _assert_same_map(again, bmap)


def test_a_complete_store_resumes_without_computing(small_store):
    path, grid, bmap = small_store
    again = _resume(path, grid)
    assert again.attrs["tiles_computed"] == 0
    _assert_same_map(again, bmap)
    _assert_same_map(fo.open_basins(path), bmap)


def test_resuming_another_map_shows_what_differs(small_store):
    path, grid, _ = small_store
    with pytest.raises(ValueError) as info:
        _resume(path, grid, dt0=2e-2)
    msg = str(info.value)
    assert "dt0: stored 0.01" in msg and "now    0.02" in msg and path in msg
    with pytest.raises(ValueError, match="flow: stored"):  # own case: another flow
        fo.basins(fo.flows.HeavyBall(LOSS), schemes.SemiImplicitEuler(), grid, t1=10.0,
                  dt0=1e-2, tile=512, store=path, resume=True)


def test_an_existing_store_needs_resume_or_overwrite(small_store, tmp_path):
    path, grid, bmap = small_store
    with pytest.raises(ValueError, match="already exists.*resume=True.*overwrite=True"):
        fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, t1=10.0, dt0=1e-2,
                  tile=512, store=path)
    with pytest.raises(ValueError, match="not both"):
        _resume(path, grid, overwrite=True)
    other = str(tmp_path / "other.zarr")
    import shutil

    shutil.copytree(path, other)
    replaced = fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, t1=10.0,
                         dt0=2e-2, tile=512, store=other, overwrite=True)
    assert replaced.attrs["tiles_computed"] == 8
    assert fo.open_basins(other).attrs["dt0"] == 2e-2


def test_stores_that_are_not_maps_are_named(tmp_path):
    import zarr

    grid = fo.Grid(LOSS.domain, (8, 8))
    plain = str(tmp_path / "plain.zarr")
    zarr.open_group(plain, mode="w").create_array("x", shape=(3,), dtype="f8")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for path, why in ((plain, "not a flowopt map"), (str(folder), "not a")):
        with pytest.raises(ValueError, match=why) as info:
            fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, t1=1.0, dt0=0.1,
                      store=path, resume=True)
        assert path in str(info.value)
        with pytest.raises(ValueError, match=why):
            fo.open_basins(path)
    # overwrite never deletes a folder that is not a map
    with pytest.raises(ValueError, match="refusing to delete"):
        fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, t1=1.0, dt0=0.1,
                  store=str(folder), overwrite=True)
    assert (folder / "notes.txt").exists()


def test_netcdf_export_reads_back_as_the_same_map(small_store, tmp_path):
    _, _, bmap = small_store
    path = str(tmp_path / "map.nc")
    bmap.to_netcdf(path)
    _assert_same_map(fo.open_basins(path), bmap)


def test_any_concurrent_futures_executor_gives_the_same_map():
    from concurrent.futures import ThreadPoolExecutor

    grid = fo.Grid(LOSS.domain, (64, 64))
    kw = dict(t1=10.0, dt0=1e-2, tile=512)
    here = fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, **kw)
    with ThreadPoolExecutor(2) as pool:
        there = fo.basins(fo.flows.GradientFlow(LOSS), schemes.Euler(), grid, executor=pool,
                          **kw)
    _assert_same_map(here, there)


def _worker_pids(client):
    return list(client.run(os.getpid).values())


def test_dask_cluster_equals_in_process_also_after_a_worker_dies(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = fo.Grid(LOSS.domain, (256, 256))
    flow = fo.flows.GradientFlow(LOSS)
    kw = dict(t1=10.0, dt0=1e-2, tile=2048)
    here = fo.basins(flow, schemes.Euler(), grid, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        there = fo.basins(flow, schemes.Euler(), grid, executor=client, **kw)
        _assert_same_map(here, there)
        # kill one worker once the first tiles of a new run are stored
        path = str(tmp_path / "dask.zarr")
        import threading

        victim = _worker_pids(client)[0]
        seen = {}

        def kill():
            deadline = time.time() + 120
            while _done(path) < 2 and time.time() < deadline:
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)
            seen["done at the kill"] = _done(path)

        killer = threading.Thread(target=kill)
        killer.start()
        stored = fo.basins(flow, schemes.Euler(), grid, executor=client, store=path, **kw)
        killer.join()
        assert seen["done at the kill"] < 32  # killed mid-run (32 tiles)
        assert victim not in _worker_pids(client)  # the nanny started a new worker
        _assert_same_map(stored, here)


DATA = np.array([1.0, -0.5])


def _fit(x):
    """A loss that reads a module-level data array (as a user's fitting loss does)."""
    import jax.numpy as jnp

    return jnp.sum((x - DATA) ** 2)


def test_a_loss_whose_data_changed_is_another_map(tmp_path):
    """The specification's text of a function covers the globals it reads: resuming after
    the data changed is refused, naming the flow."""
    global DATA
    path = str(tmp_path / "fit.zarr")
    grid = fo.Grid(((-2.0, 2.0), (-2.0, 2.0)), (8, 8))
    kw = dict(t1=5.0, dt0=0.1, store=path)
    fo.basins(fo.flows.GradientFlow(_fit), schemes.Euler(), grid, **kw)
    old = DATA
    try:
        DATA = np.array([0.0, 0.0])
        with pytest.raises(ValueError, match="flow: stored"):
            fo.basins(fo.flows.GradientFlow(_fit), schemes.Euler(), grid, resume=True, **kw)
    finally:
        DATA = old
    again = fo.basins(fo.flows.GradientFlow(_fit), schemes.Euler(), grid, resume=True, **kw)
    assert again.attrs["tiles_computed"] == 0


def test_a_loss_using_jax_nn_relu_maps():
    """jax.nn.relu is a custom_jvp object whose state holds dataclass classes: the map's
    canonical description read a class as an instance and crashed (found with
    fo.landscapes.MLP). The map runs, and its labels are the minimum at the origin."""
    import jax.numpy as jnp

    import schemes
    from flowopt.basins.spec import canonical

    assert "class " in canonical(jax.nn.relu) or "custom_jvp" in canonical(jax.nn.relu)
    loss = lambda x: jnp.sum(jax.nn.relu(x - 1.0) ** 2) + jnp.sum(x**2)
    bmap = fo.basins(fo.flows.GradientFlow(loss), schemes.Euler(), fo.Grid([[-2, 2], [-2, 2]], 6),
                     t1=20.0, dt0=1e-2)
    assert (bmap["label"].values == 0).all()
    np.testing.assert_allclose(bmap["attractor_x"].values, [[0.0, 0.0]], atol=1e-5)
