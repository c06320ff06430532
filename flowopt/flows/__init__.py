"""Optimizers as vector fields with their Lyapunov energies (REFERENCE.md §1).

Flows know their state layout, drift and energy, and never the scheme that integrates
them.
"""

from .adadelta import Adadelta
from .adam import Adam
from .base import AbstractFlow, AbstractPartitionedFlow
from .gradient import GradientFlow
from .heavy_ball import HeavyBall
from .levenberg_marquardt import LevenbergMarquardt
from .nesterov import Nesterov
from .rmsprop import RMSProp

__all__ = ["AbstractFlow", "AbstractPartitionedFlow", "Adadelta", "Adam", "GradientFlow",
           "HeavyBall", "LevenbergMarquardt", "Nesterov", "RMSProp"]
