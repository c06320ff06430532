"""Optimizers as vector fields with their Lyapunov energies (REFERENCE.md §1).

Flows know their state layout, drift and energy, and never the scheme that integrates
them.
"""

from .adadelta import Adadelta
from .adam import Adam
from .base import (AbstractFlow, AbstractMultiscaleFlow, AbstractPartitionedFlow,
                   AbstractRandomFlow, AbstractStochasticFlow)
from .gradient import GradientFlow
from .heavy_ball import HeavyBall
from .homogenized import Homogenized, MeanFieldHomogenized
from .interacting import CBO, McKeanVlasov
from .langevin import Langevin, UnderdampedLangevin
from .levenberg_marquardt import LevenbergMarquardt
from .nesterov import Nesterov
from .noisy import SAM, NoisyGradient, SmoothedGradient
from .rmsprop import RMSProp

__all__ = ["AbstractFlow", "AbstractMultiscaleFlow", "AbstractPartitionedFlow",
           "AbstractRandomFlow", "AbstractStochasticFlow", "Adadelta", "Adam", "CBO",
           "GradientFlow", "HeavyBall", "Homogenized", "LevenbergMarquardt", "McKeanVlasov",
           "MeanFieldHomogenized", "Nesterov", "NoisyGradient", "RMSProp", "SAM",
           "SmoothedGradient", "Langevin", "UnderdampedLangevin"]
