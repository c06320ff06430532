"""Losses with known minima, domains, gradients and Hessians (REFERENCE.md §5).

Any JAX-traceable callable from shape ``(d,)`` to a scalar is a valid loss everywhere in
flowopt; these classes add what a plain function lacks.
"""

from .base import Landscape
from .camels import SixHumpCamel, ThreeHumpCamel
from .classifier import SoftmaxClassifier
from .gp import GaussianProcessNLML, matern
from .himmelblau import Himmelblau
from .mlp import MLP
from .neuron import NeuronPoly
from .resnet import ResNetODE
from .rastrigin import Rastrigin
from .rosenbrock import Rosenbrock
from .rough import RoughQuadratic
from .schwefel import Schwefel

__all__ = ["GaussianProcessNLML", "Himmelblau", "Landscape", "MLP", "NeuronPoly", "Rastrigin",
           "Rosenbrock", "RoughQuadratic", "Schwefel", "SixHumpCamel", "ThreeHumpCamel", "matern"]
__all__ += ["SoftmaxClassifier"]
__all__ += ["ResNetODE"]
