"""flowopt: optimizers as continuous-time flows.

Define a flow (:mod:`flowopt.flows`) on a loss (:mod:`flowopt.landscapes`, or any
JAX-traceable function), pick a scheme from :mod:`schemes` (or any diffrax solver) and a
step-size control, and :func:`solve`.
"""

from . import flows, landscapes, restarts
from .solve import Solution, solve, solve_batch

__version__ = "0.1.0"

__all__ = ["Solution", "flows", "landscapes", "restarts", "solve", "solve_batch"]
