"""Where a map is computed and kept: the executor (in-process, a local Dask cluster, or a
Dask scheduler) and the Zarr store (``fo.basins(..., store=, resume=, overwrite=,
executor=)`` and ``fo.open_basins``)."""

import contextlib
import pathlib

import click

from ._problem import library

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


def compute_map(flow, scheme, grid, *, store, resume, overwrite, client, **kwargs):
    """``fo.basins(flow, scheme, grid, ..., store=, resume=, overwrite=, executor=)``: the
    map, its tiles committed to ``store`` as they finish. Returns the map."""
    from .. import basins

    store = pathlib.Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        with library():
            return basins(flow, scheme, grid, store=str(store), resume=resume,
                          overwrite=overwrite, executor=client, **kwargs)
    except click.ClickException as err:  # the store's messages in the command's terms
        for word in ("resume", "overwrite"):
            err.message = err.message.replace(f"{word}=True", f"--{word}")
        raise


def open_map(path):
    """``fo.open_basins(path)``, a missing path named as the STORE argument."""
    from .. import open_basins

    path = pathlib.Path(path)
    if not path.exists():
        raise click.BadParameter(f"no store at {path}.", param_hint="STORE")
    with library():
        return open_basins(str(path))
