"""Energy-landscape tools (issue 10): minima catalogues, minimum-energy paths (nudged
elastic band) and transition states, disconnectivity graphs, minima under a changing
parameter. Above :mod:`flowopt.flows` and :mod:`flowopt.landscapes`, beside
:mod:`flowopt.basins`."""

# each module adds its public names here
from .catalogue import Catalogue, catalogue
from .disconnectivity import Disconnectivity, disconnectivity
from .neb import ElasticBand, neb
from .parametric import TrackedMinima, track_minima
