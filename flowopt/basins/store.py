"""Durable maps: a Zarr store that receives each tile's raw results as the tile finishes
(chunked by tile, with a SHA-256 per tile written after its data), the map's
specification and hash in its attributes, and at the end the assembled Dataset
(xarray's Zarr support, group ``map``). Resuming computes only the tiles the store does
not hold intact; a tile whose data no longer matches its hash (a chunk half written or
truncated) is recomputed, never read as data.

Layout::

    STORE/              attrs: flowopt_map (format version), spec (field -> text),
                        spec_digest, n_tiles, tile, lanes, dim, complete
    STORE/tiles/final   (lanes, d) float64, chunks (tile, d)
    STORE/tiles/steps, time, status, period      (lanes,), chunks (tile,)
    STORE/tiles/digest  (n_tiles, 32) uint8: SHA-256 of the tile's arrays
    STORE/tiles/done    (n_tiles,) uint8, written last
    STORE/map/          the Dataset (xarray.Dataset.to_zarr)
"""

import contextlib
import hashlib
import os
import shutil
import warnings

import numpy as np
import xarray as xr

from .spec import differences

FORMAT = 1
_FIELDS = ("final", "steps", "time", "status", "period")
_DTYPES = {"final": "f8", "steps": "i8", "time": "f8", "status": "i4", "period": "i4"}


def _zarr():
    import zarr

    return zarr


@contextlib.contextmanager
def _quiet():
    """zarr 3 warns about fixed-width strings and consolidated metadata, which are not
    part of the Zarr v3 specification; flowopt reads its stores with zarr and xarray."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(consolidated|not part of the Zarr|"
                                                  "FixedLengthUTF32|fixed-length).*")
        yield


def _digest(out):
    h = hashlib.sha256()
    for name in _FIELDS:
        h.update(np.ascontiguousarray(out[name], dtype=_DTYPES[name]).tobytes())
    return np.frombuffer(h.digest(), np.uint8)


class MapStore:
    """A map's store on disk (see the module docstring); made by :func:`open_store`."""

    def __init__(self, path, root, spec):
        self.path, self.root, self.spec = path, root, spec
        self.tiles = root["tiles"]
        self._verified = {}

    @property
    def owner(self):
        return f"basins(store={str(self.path)!r})"

    def done_tiles(self):
        """Indices of the tiles stored intact (done flag set and the data matching its
        SHA-256); their data is kept for :meth:`read_into`."""
        done = np.asarray(self.tiles["done"][:])
        digests = np.asarray(self.tiles["digest"][:])
        intact = set()
        for index in np.nonzero(done)[0]:
            a, b = self.spec.tile_lanes(int(index))
            try:
                out = {name: np.asarray(self.tiles[name][a:b]) for name in _FIELDS}
            except Exception:  # a truncated or corrupt chunk: recompute the tile
                continue
            if np.array_equal(_digest(out), digests[index]):
                intact.add(int(index))
                self._verified[int(index)] = out
        return intact

    def write_tile(self, index, out):
        """Commit one tile: its arrays, then its hash, then its done flag."""
        a, b = self.spec.tile_lanes(index)
        with _quiet():
            for name in _FIELDS:
                self.tiles[name][a:b] = np.asarray(out[name], dtype=_DTYPES[name])
            self.tiles["digest"][index] = _digest(out)
            self.tiles["done"][index] = 1

    def read_into(self, raw, skip=()):
        """Copy the stored tiles (all but ``skip``) into the full arrays ``raw``."""
        for index in range(self.spec.n_tiles):
            if index in skip:
                continue
            out = self._verified.get(index)
            if out is None:
                raise ValueError(f"{self.owner}: tile {index} is missing or damaged in the "
                                 "store; resume the map (resume=True) to recompute it.")
            a, b = self.spec.tile_lanes(index)
            for name in _FIELDS:
                raw[name][a:b] = out[name]

    def write_map(self, bmap):
        """The assembled Dataset into group ``map``, chunked like the tiles; then the
        store is marked complete."""
        rows = self.spec.tile // self.spec.replicas
        encoding = {}
        for name, var in bmap.data_vars.items():
            if var.ndim >= 1 and var.dims[0] in ("y", "start"):
                first = max(1, rows // (var.shape[1] if var.dims[0] == "y" else 1))
                encoding[name] = {"chunks": (min(first, var.shape[0]),) + var.shape[1:]}
        with _quiet():
            bmap.to_zarr(self.path, group="map", mode="w", consolidated=False,
                         encoding=encoding, zarr_format=3)
            self.root.attrs["complete"] = True


def open_store(path, spec, *, resume=False, overwrite=False):
    """The store of the map ``spec`` at ``path``: created; or, with ``resume``, an
    existing store of the same specification (refused, with the fields that differ,
    for another one); or, with ``overwrite``, replaced. An existing store is refused
    without either."""
    zarr = _zarr()
    path = os.fspath(path)
    owner = f"basins(store={path!r})"
    if resume and overwrite:
        raise ValueError(f"{owner}: pass resume=True (continue the stored map) or "
                         "overwrite=True (replace it), not both.")
    exists = os.path.exists(path)
    if exists and not (resume or overwrite):
        raise ValueError(f"{owner}: {path} already exists. Pass resume=True to continue the "
                         "map stored there, overwrite=True to replace it, or another path.")
    if exists and overwrite:
        if os.path.isdir(path) and not _is_map(path) and os.listdir(path):
            raise ValueError(f"{owner}: {path} is a folder that is not a flowopt map store; "
                             "refusing to delete it. Choose another path.")
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        exists = False
    if exists:
        root = _open_map_root(path, owner)
        stored = dict(root.attrs.get("spec", {}))
        if root.attrs.get("spec_digest") != spec.digest:
            diff = differences(stored, spec.describe())
            raise ValueError(
                f"{owner}, resume=True: the store holds a different map; resuming would mix "
                "two maps. What differs:\n" + "\n".join(diff or ["  (the hash only)"]) +
                "\nPass the stored settings, or overwrite=True, or another path.")
        return MapStore(path, root, spec)
    with _quiet():
        root = zarr.open_group(path, mode="w-", zarr_format=3)
        root.attrs.update(dict(flowopt_map=FORMAT, spec=spec.describe(),
                               spec_digest=spec.digest, n_tiles=spec.n_tiles,
                               tile=spec.tile, lanes=spec.lanes, dim=spec.dim,
                               complete=False))
        tiles = root.create_group("tiles")
        chunk = min(spec.tile, spec.lanes)
        for name in _FIELDS:
            shape = (spec.lanes, spec.dim) if name == "final" else (spec.lanes,)
            chunks = (chunk, spec.dim) if name == "final" else (chunk,)
            tiles.create_array(name, shape=shape, chunks=chunks, dtype=_DTYPES[name],
                               fill_value=0)
        tiles.create_array("digest", shape=(spec.n_tiles, 32), chunks=(1, 32), dtype="u1",
                           fill_value=0)
        tiles.create_array("done", shape=(spec.n_tiles,), chunks=(1,), dtype="u1",
                           fill_value=0)
    return MapStore(path, root, spec)


def _is_map(path):
    try:
        with _quiet():
            return "flowopt_map" in _zarr().open_group(path, mode="r").attrs
    except Exception:
        return False


def _open_map_root(path, owner):
    zarr = _zarr()
    try:
        with _quiet():
            root = zarr.open_group(path, mode="r+")
    except Exception as e:
        raise ValueError(f"{owner}: {path} is not a Zarr store ({type(e).__name__}: {e}); "
                         "it cannot be a flowopt map.") from None
    if root.attrs.get("flowopt_map") != FORMAT or "tiles" not in root:
        raise ValueError(f"{owner}: {path} is a Zarr store but not a flowopt map (no "
                         "flowopt_map attribute or tiles group).")
    return root


def open_basins(path):
    """A map written by ``fo.basins(..., store=path)`` (a Zarr store) or exported with
    ``bmap.to_netcdf(path)`` (a ``.nc`` file), read back as the Dataset ``fo.basins``
    returned. Raises ValueError naming the path when it is not a finished flowopt map."""
    path = os.fspath(path)
    owner = f"open_basins({path!r})"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{owner}: no such file or folder.")
    if os.path.isfile(path):
        try:
            return xr.load_dataset(path)
        except Exception as e:
            raise ValueError(f"{owner}: not a NetCDF map ({type(e).__name__}: {e}).") from None
    root = _open_map_root(path, owner)
    if not root.attrs.get("complete") or "map" not in root:
        done = int(np.asarray(root["tiles"]["done"][:]).sum())
        raise ValueError(f"{owner}: the map is unfinished ({done} of "
                         f"{root.attrs.get('n_tiles')} tiles stored); finish it with "
                         "fo.basins(..., store=path, resume=True) or `flowopt basins --resume`.")
    with _quiet():
        return xr.open_zarr(path, group="map", consolidated=False).load()
