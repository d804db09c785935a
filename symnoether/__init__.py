"""symnoether: exact Noether conservation for Lagrangian neural networks.

Declare coordinates and a symmetry (SymPy), derive and prove invariants and Noether charges,
generate a JAX module, train an invariant Lagrangian network and integrate it.
"""

import importlib.metadata

from .codegen.generate import generate as generate, render as render
from .codegen.printer import CodegenError as CodegenError
from .errors import SpecError as SpecError, SymmetryError as SymmetryError
from .numeric.data import (
    Dataset as Dataset,
    load_data as load_data,
    random_data as random_data,
    save_data as save_data,
    trajectory_data as trajectory_data,
)
from .numeric.evaluate import evaluate_models as evaluate_models, evaluate_run as evaluate_run
from .numeric.integrate import integrate as integrate
from .numeric.network import LagrangianNetwork as LagrangianNetwork
from .numeric.run import (
    TrainConfig as TrainConfig,
    load_module as load_module,
    load_run as load_run,
    train_run as train_run,
)
from .numeric.train import TrainingDivergedError as TrainingDivergedError, train as train
from .symbolic.coordinates import (
    Coordinates as Coordinates,
    coordinates as coordinates,
    particles as particles,
)
from .symbolic.groups import (
    SymmetryGroup as SymmetryGroup,
    from_generators as from_generators,
    lorentz as lorentz,
    rotations as rotations,
    translations as translations,
)
from .symbolic.invariants import (
    InvariantSet as InvariantSet,
    derive_invariants as derive_invariants,
)
from .symbolic.noether import energy as energy, noether_charges as noether_charges
from .symbolic.system import System as System, load_spec as load_spec
from .symbolic.verify import VerificationReport as VerificationReport, verify as verify

try:
    __version__ = importlib.metadata.version("symnoether")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
