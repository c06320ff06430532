"""Running a map's tiles: in this process, on any executor with the
``concurrent.futures`` ``submit`` interface, or on a Dask cluster; each finished tile is
handed to the store (if any) as it arrives, and a progress bar (tqdm) shows tiles done,
starts per second and the time left."""

import concurrent.futures
import time

import numpy as np

_FIELDS = {"final": float, "steps": np.int64, "time": float, "status": np.int32,
           "period": np.int32}


def _empty(spec):
    return {name: np.zeros((spec.lanes, spec.dim) if name == "final" else spec.lanes, dtype)
            for name, dtype in _FIELDS.items()}


def _is_dask(executor):
    return type(executor).__module__.split(".")[0] == "distributed"


def _completed(executor, futures):
    """Futures in the order they finish (Dask's own ``as_completed`` for a Dask client)."""
    if _is_dask(executor):
        from distributed import as_completed

        return as_completed(list(futures))
    return concurrent.futures.as_completed(list(futures))


class _Progress:
    """Tiles done, starts per second and time left (tqdm); silent when off."""

    def __init__(self, spec, todo, on):
        self.bar = None
        self.start = time.perf_counter()
        self.lanes = 0
        if on:
            from tqdm.auto import tqdm

            done = spec.n_tiles - len(todo)
            self.bar = tqdm(total=spec.n_tiles, initial=done, unit="tile", desc="basins",
                            dynamic_ncols=True, mininterval=0.5)

    def update(self, lanes):
        self.lanes += lanes
        if self.bar is not None:
            rate = self.lanes / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{rate:,.0f} starts/s", refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_tiles(spec, order, work, *, executor=None, store=None, progress=False):
    """All tiles of ``spec`` (those ``store`` does not hold yet), in ``order``: each is
    ``work(spec, index)`` (pure), run here one after the other (``executor=None``) or
    submitted to ``executor`` (a ``concurrent.futures.Executor``, a
    ``dask.distributed.Client``, or anything whose ``submit(fn, *args)`` returns a future
    with ``result()``). Finished tiles are written to ``store`` as they arrive, so an
    interrupted run loses only the tiles in flight. Returns the raw arrays over all
    lanes (stored tiles read back) and the number of tiles computed here. On an interrupt or error, submitted tiles are
    cancelled."""
    raw = _empty(spec)
    done = store.done_tiles() if store is not None else set()
    todo = [i for i in order if i not in done]
    bar = _Progress(spec, todo, progress)

    def keep(index, out):
        a, b = spec.tile_lanes(index)
        for name in _FIELDS:
            raw[name][a:b] = out[name]
        if store is not None:
            store.write_tile(index, out)
        bar.update(b - a)

    try:
        if executor is None:
            for index in todo:
                keep(index, work(spec, index))
        else:
            futures = {}
            payload = spec
            if _is_dask(executor):  # ship the specification to the workers once
                payload = executor.scatter(spec, broadcast=True)
            try:
                for index in todo:
                    kwargs = {"pure": False, "key": f"flowopt-tile-{spec.digest[:16]}-{index}"} \
                        if _is_dask(executor) else {}
                    futures[executor.submit(work, payload, index, **kwargs)] = index
                for future in _completed(executor, futures):
                    keep(futures[future], future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        bar.close()
    if store is not None:
        store.read_into(raw, skip=set(todo))
    return raw, len(todo)
