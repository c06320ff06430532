"""Basins of attraction of optimizer flows: grids, the mapper, metrics, comparison."""

from .classify import DIVERGED, NOT_CONVERGED, SADDLE
from .grid import Grid, sample_uniform
from .compare import compare, sweep
from .mapper import basins
from .metrics import (basin_entropy, boundary_fraction, capture_radius, fractions,
                      stationary_table, uncertainty_exponent)

__all__ = ["DIVERGED", "Grid", "NOT_CONVERGED", "SADDLE", "basin_entropy", "basins",
           "boundary_fraction", "capture_radius", "compare", "fractions", "sample_uniform",
           "stationary_table", "sweep", "uncertainty_exponent"]
