"""flowopt: optimizers as continuous-time flows.

Define a flow (:mod:`flowopt.flows`) on a loss (:mod:`flowopt.landscapes`, or any
JAX-traceable function), pick a scheme from :mod:`schemes` (or any diffrax solver) and a
step-size control, and :func:`solve`.
"""

from . import flows, landscapes, population, restarts
from .basins import (Grid, align, basin_entropy, basins, boundary_fraction, capture_radius,
                     compare, escape_fraction, fractions, open_basins, sample_uniform, stationary_table,
                     sweep, uncertainty_exponent)
from .solve import Solution, solve, solve_batch
from .topography import (Catalogue, Disconnectivity, ElasticBand, TrackedMinima, catalogue,
                         disconnectivity, neb, track_minima)

__version__ = "0.1.0"

__all__ = ["Grid", "Solution", "align", "basin_entropy", "basins", "boundary_fraction",
           "capture_radius", "compare", "escape_fraction", "flows", "fractions", "landscapes", "open_basins", "population", "restarts",
           "sample_uniform", "solve", "solve_batch", "stationary_table", "sweep",
           "uncertainty_exponent"]
__all__ += ["Catalogue", "TrackedMinima", "catalogue", "track_minima"]  # flowopt.topography
__all__ += ["Disconnectivity", "ElasticBand", "disconnectivity", "neb"]  # flowopt.topography
