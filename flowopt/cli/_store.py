"""Where a map is computed and kept: the executor (in-process, a local Dask cluster, or a
Dask scheduler) and the Zarr store.

SWITCH: ``fo.basins(..., store=, resume=, overwrite=, executor=)`` and
``fo.open_basins(path)`` are being added to the library. Until ``fo.basins`` takes those
keywords, :func:`compute_map` maps in-process and :func:`_write_map` writes the Dataset
itself; :func:`open_map` falls back to ``xarray.open_zarr``. Once they exist, delete
``_write_map``, the fallback branch of :func:`compute_map` and of :func:`open_map`.
"""

import contextlib
import inspect
import pathlib
import shutil
import warnings

import click

from ._problem import library

_STORE_KEYWORDS = ("store", "resume", "overwrite", "executor")


def _library_stores():
    """SWITCH: whether ``fo.basins`` writes stores and runs executors itself."""
    from .. import basins

    params = inspect.signature(basins).parameters
    return all(k in params for k in _STORE_KEYWORDS)


@contextlib.contextmanager
def executor(workers, scheduler, timeout):
    """``None`` (in-process), or a Dask ``Client`` on a local cluster of ``workers``
    single-threaded processes or on the scheduler at ``scheduler``; closed on exit."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise click.UsageError("give --workers N (a local cluster) or --scheduler ADDRESS "
                               "(a running one), not both.")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise click.ClickException(
            "--workers/--scheduler run the map on Dask, which is not installed: "
            "pip install 'flowopt[cluster]'") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise click.ClickException(
                f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                f"({err}). Start one (`dask scheduler`, then `dask worker ADDRESS`), check "
                "the address, or use --workers N for a local cluster.") from None
        with client:
            yield client
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


def _config(bmap):
    return {k: str(v) for k, v in bmap.attrs.items()}


def _write_map(bmap, path, overwrite):
    """SWITCH: the CLI writes the finished map itself (``fo.basins(store=...)`` will)."""
    path = pathlib.Path(path)
    if path.exists() and overwrite:
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # zarr v3 on fixed-width strings and consolidation
        warnings.simplefilter("ignore")
        bmap.to_zarr(path, mode="w-")


def compute_map(flow, scheme, grid, *, store, resume, overwrite, client, **kwargs):
    """``fo.basins(flow, scheme, grid, ..., store=, resume=, overwrite=, executor=)``, the
    map in ``store``. Returns the map."""
    from .. import basins

    store = pathlib.Path(store)
    if _library_stores():
        with library():
            return basins(flow, scheme, grid, store=str(store), resume=resume,
                          overwrite=overwrite, executor=client, **kwargs)
    # SWITCH: fallback until fo.basins stores maps itself
    if store.exists() and not (resume or overwrite):
        raise click.ClickException(f"the store {store} exists; pass --resume to continue it "
                                   "or --overwrite to replace it.")
    if client is not None:
        click.echo("note: this flowopt's fo.basins takes no executor yet; mapping "
                   "in-process.", err=True)
    with library():
        bmap = basins(flow, scheme, grid, **kwargs)
    if resume and store.exists():
        old = open_map(store)
        if _config(old) != _config(bmap):
            differ = sorted(k for k in set(_config(old)) | set(_config(bmap))
                            if _config(old).get(k) != _config(bmap).get(k))
            raise click.ClickException(
                f"--resume: the store {store} holds a map made with a different "
                f"configuration ({', '.join(differ)} differ); pass --overwrite or another "
                "--out.")
        return old
    _write_map(bmap, store, overwrite)
    return bmap


def open_map(path):
    """SWITCH: ``fo.open_basins(path)``, until it exists ``xarray.open_zarr``."""
    import flowopt

    path = pathlib.Path(path)
    if not path.exists():
        raise click.BadParameter(f"no store at {path}.", param_hint="STORE")
    opener = getattr(flowopt, "open_basins", None)
    with library():
        if opener is not None:
            return opener(str(path))
        import xarray as xr

        try:
            return xr.open_zarr(path).load()
        except (OSError, KeyError, ValueError) as err:
            raise click.ClickException(f"{path} is not a basin map store ({err}).") from None
