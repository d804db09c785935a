"""symnoether: exact Noether conservation for Lagrangian neural networks.

Declare coordinates and a symmetry (SymPy), derive and prove invariants and Noether charges,
generate a JAX module, train an invariant Lagrangian network and integrate it.
"""

import importlib.metadata

from .errors import SpecError as SpecError
from .errors import SymmetryError as SymmetryError
from .symbolic.coordinates import (
    Coordinates as Coordinates,
)
from .symbolic.coordinates import (
    coordinates as coordinates,
)
from .symbolic.coordinates import (
    particles as particles,
)
from .symbolic.groups import (
    SymmetryGroup as SymmetryGroup,
)
from .symbolic.groups import (
    from_generators as from_generators,
)
from .symbolic.groups import (
    lorentz as lorentz,
)
from .symbolic.groups import (
    rotations as rotations,
)
from .symbolic.groups import (
    translations as translations,
)
from .symbolic.system import System as System
from .symbolic.system import load_spec as load_spec

try:
    __version__ = importlib.metadata.version("symnoether")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
