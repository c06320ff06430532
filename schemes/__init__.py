"""Integration schemes and step-size controllers on diffrax.

Every scheme here is a ``diffrax.AbstractSolver`` and every control a diffrax step-size
controller, so any diffrax solver (``diffrax.Tsit5()``, ``diffrax.Heun()``, ...) can be
used in their place, and these run inside ``diffrax.diffeqsolve``. This package knows
nothing about optimization, losses or flowopt.
"""

from ._markers import AbstractPartitionedSolver, AbstractSecondOrderSolver, PartitionedTerm
from .energy_controller import EnergyController
from .euler import Euler
from .euler_richardson import EulerRichardson
from .hmm import HMM, SlowFastTerm
from .noise import DiagonalNoiseTerm, time_key
from .semi_implicit_euler import SemiImplicitEuler
from .unit_steps import UnitSteps, exact_integer_limit
from .unrolled import unrolled
from .velocity_verlet import VelocityVerlet

__all__ = [
    "AbstractPartitionedSolver",
    "AbstractSecondOrderSolver",
    "DiagonalNoiseTerm",
    "EnergyController",
    "Euler",
    "PartitionedTerm",
    "EulerRichardson",
    "HMM",
    "SemiImplicitEuler",
    "SlowFastTerm",
    "UnitSteps",
    "VelocityVerlet",
    "exact_integer_limit",
    "time_key",
    "unrolled",
]
