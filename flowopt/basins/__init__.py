"""Basins of attraction of optimizer flows: grids, the mapper, metrics, comparison."""

from .classify import CODES, CYCLE, DIVERGED, NOT_CONVERGED, SADDLE, SPURIOUS
from .grid import Grid, Starts, sample_uniform
from .compare import align, compare, sweep
from .mapper import assemble, basins, plan, run_tile
from .spec import MapSpec
from .store import open_basins
from .metrics import (basin_entropy, boundary_fraction, capture_radius, escape_fraction,
                      fractions,
                      stationary_table, uncertainty_exponent)

__all__ = ["CODES", "CYCLE", "DIVERGED", "Grid", "NOT_CONVERGED", "SADDLE", "SPURIOUS",
           "MapSpec", "Starts", "align", "assemble", "open_basins", "plan", "run_tile", "basin_entropy", "basins",
           "boundary_fraction", "capture_radius", "compare", "escape_fraction", "fractions", "sample_uniform",
           "stationary_table", "sweep", "uncertainty_exponent"]
