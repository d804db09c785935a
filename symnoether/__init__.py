"""symnoether: exact Noether conservation for Lagrangian neural networks.

Declare coordinates and a symmetry (SymPy), derive and prove invariants and Noether charges,
generate a JAX module, train an invariant Lagrangian network and integrate it.

The public names below are imported on first use (PEP 562), so that importing the numeric
half (`symnoether.numeric...`) never loads SymPy or Jinja2, and the symbolic half never
loads JAX.
"""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

# Public name -> (submodule, attribute).
_EXPORTS: dict[str, tuple[str, str]] = {
    # errors (neither half)
    "CheckFailed": ("errors", "CheckFailed"),
    "ConfigError": ("errors", "ConfigError"),
    "DataError": ("errors", "DataError"),
    "InputError": ("errors", "InputError"),
    "IntegrityError": ("errors", "IntegrityError"),
    "RunFolderError": ("errors", "RunFolderError"),
    "SpecError": ("errors", "SpecError"),
    "SymmetryError": ("errors", "SymmetryError"),
    "SymnoetherError": ("errors", "SymnoetherError"),
    # symbolic
    "Coordinates": ("symbolic.coordinates", "Coordinates"),
    "coordinates": ("symbolic.coordinates", "coordinates"),
    "particles": ("symbolic.coordinates", "particles"),
    "SymmetryGroup": ("symbolic.groups", "SymmetryGroup"),
    "from_generators": ("symbolic.groups", "from_generators"),
    "galilean_boosts": ("symbolic.groups", "galilean_boosts"),
    "lorentz": ("symbolic.groups", "lorentz"),
    "rotations": ("symbolic.groups", "rotations"),
    "translations": ("symbolic.groups", "translations"),
    "InvariantSet": ("symbolic.invariants", "InvariantSet"),
    "derive_invariants": ("symbolic.invariants", "derive_invariants"),
    "energy": ("symbolic.noether", "energy"),
    "NoetherSymmetry": ("symbolic.symmetries", "NoetherSymmetry"),
    "SymmetryAlgebra": ("symbolic.symmetries", "SymmetryAlgebra"),
    "find_symmetries": ("symbolic.symmetries", "find_symmetries"),
    "noether_charges": ("symbolic.noether", "noether_charges"),
    "balances": ("symbolic.balance", "balances"),
    "charge_rates": ("symbolic.balance", "charge_rates"),
    "energy_rate": ("symbolic.balance", "energy_rate"),
    "BoundaryTerm": ("symbolic.boundary", "BoundaryTerm"),
    "boundary_terms": ("symbolic.boundary", "boundary_terms"),
    "TIME": ("symbolic.coordinates", "TIME"),
    "System": ("symbolic.system", "System"),
    "ParticleSystem": ("symbolic.local", "ParticleSystem"),
    "derive_local": ("symbolic.local", "derive_local"),
    "verify_local": ("symbolic.local", "verify_local"),
    "load_local_spec": ("symbolic.local", "load_local_spec"),
    "generate_local": ("codegen.local", "generate_local"),
    "LocalParticleNetwork": ("numeric.local", "LocalParticleNetwork"),
    "LatticeSystem": ("symbolic.lattice", "LatticeSystem"),
    "derive_lattice": ("symbolic.lattice", "derive_lattice"),
    "verify_lattice": ("symbolic.lattice", "verify_lattice"),
    "load_lattice_spec": ("symbolic.lattice", "load_lattice_spec"),
    "generate_lattice": ("codegen.lattice", "generate_lattice"),
    "LatticeNetwork": ("numeric.lattice", "LatticeNetwork"),
    "MatrixFreeVariational": ("numeric.integrate", "MatrixFreeVariational"),
    "load_spec": ("symbolic.system", "load_spec"),
    "VerificationReport": ("symbolic.verify", "VerificationReport"),
    "verify": ("symbolic.verify", "verify"),
    # codegen
    "generate": ("codegen.generate", "generate"),
    "render": ("codegen.generate", "render"),
    "CodegenError": ("codegen.printer", "CodegenError"),
    # numeric
    "Dataset": ("numeric.data", "Dataset"),
    "load_data": ("numeric.data", "load_data"),
    "random_data": ("numeric.data", "random_data"),
    "save_data": ("numeric.data", "save_data"),
    "trajectory_data": ("numeric.data", "trajectory_data"),
    "evaluate_models": ("numeric.evaluate", "evaluate_models"),
    "evaluate_run": ("numeric.evaluate", "evaluate_run"),
    "export_model": ("numeric.export", "export_model"),
    "AbstractIntegrator": ("numeric.integrate", "AbstractIntegrator"),
    "MidpointVariational": ("numeric.integrate", "MidpointVariational"),
    "RK4": ("numeric.integrate", "RK4"),
    "integrate": ("numeric.integrate", "integrate"),
    "ode_term": ("numeric.integrate", "ode_term"),
    "AbstractLagrangian": ("numeric.lagrangian", "AbstractLagrangian"),
    "FunctionLagrangian": ("numeric.lagrangian", "FunctionLagrangian"),
    "MixedPrecision": ("numeric.lagrangian", "MixedPrecision"),
    "LagrangianNetwork": ("numeric.network", "LagrangianNetwork"),
    "AbstractForce": ("numeric.forces", "AbstractForce"),
    "DrivingForce": ("numeric.forces", "DrivingForce"),
    "KnownForce": ("numeric.forces", "KnownForce"),
    "RayleighDissipation": ("numeric.forces", "RayleighDissipation"),
    "ZeroForce": ("numeric.forces", "ZeroForce"),
    "ForcedLagrangian": ("numeric.forced", "ForcedLagrangian"),
    "AbstractTimeLagrangian": ("numeric.timed", "AbstractTimeLagrangian"),
    "TimeFunctionLagrangian": ("numeric.timed", "TimeFunctionLagrangian"),
    "TimeLagrangianNetwork": ("numeric.timed", "TimeLagrangianNetwork"),
    "true_model": ("numeric.forced", "true_model"),
    "forced_trajectory_data": ("numeric.forced", "forced_trajectory_data"),
    "balance_residuals": ("numeric.balance", "balance_residuals"),
    "NaturalLagrangianNetwork": ("numeric.natural", "NaturalLagrangianNetwork"),
    "AbstractLoss": ("numeric.losses", "AbstractLoss"),
    "AccelerationLoss": ("numeric.losses", "AccelerationLoss"),
    "PositionLoss": ("numeric.position_loss", "PositionLoss"),
    "PositionData": ("numeric.positions", "PositionData"),
    "load_positions": ("numeric.positions", "load_positions"),
    "position_data": ("numeric.positions", "position_data"),
    "position_trajectories": ("numeric.positions", "position_trajectories"),
    "save_positions": ("numeric.positions", "save_positions"),
    "smoothed_positions": ("numeric.positions", "smoothed_positions"),
    "AbstractSource": ("numeric.source", "AbstractSource"),
    "AbstractStream": ("numeric.stream", "AbstractStream"),
    "kepler_orbit_sampler": ("numeric.stream", "kepler_orbit_sampler"),
    "state_stream": ("numeric.stream", "state_stream"),
    "trajectory_stream": ("numeric.stream", "trajectory_stream"),
    "TrainConfig": ("numeric.run", "TrainConfig"),
    "load_module": ("numeric.run", "load_module"),
    "load_run": ("numeric.run", "load_run"),
    "train_run": ("numeric.run", "train_run"),
    "TrainingDivergedError": ("numeric.train", "TrainingDivergedError"),
    "train": ("numeric.train", "train"),
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what type checkers and IDEs see; tests/test_layering.py keeps it in step
    from .codegen.generate import generate as generate, render as render
    from .codegen.lattice import generate_lattice as generate_lattice
    from .codegen.local import generate_local as generate_local
    from .codegen.printer import CodegenError as CodegenError
    from .errors import (
        CheckFailed as CheckFailed,
        ConfigError as ConfigError,
        DataError as DataError,
        InputError as InputError,
        IntegrityError as IntegrityError,
        RunFolderError as RunFolderError,
        SpecError as SpecError,
        SymmetryError as SymmetryError,
        SymnoetherError as SymnoetherError,
    )
    from .numeric.balance import balance_residuals as balance_residuals
    from .numeric.data import (
        Dataset as Dataset,
        load_data as load_data,
        random_data as random_data,
        save_data as save_data,
        trajectory_data as trajectory_data,
    )
    from .numeric.evaluate import evaluate_models as evaluate_models, evaluate_run as evaluate_run
    from .numeric.export import export_model as export_model
    from .numeric.forced import (
        ForcedLagrangian as ForcedLagrangian,
        forced_trajectory_data as forced_trajectory_data,
        true_model as true_model,
    )
    from .numeric.forces import (
        AbstractForce as AbstractForce,
        DrivingForce as DrivingForce,
        KnownForce as KnownForce,
        RayleighDissipation as RayleighDissipation,
        ZeroForce as ZeroForce,
    )
    from .numeric.integrate import (
        RK4 as RK4,
        AbstractIntegrator as AbstractIntegrator,
        MatrixFreeVariational as MatrixFreeVariational,
        MidpointVariational as MidpointVariational,
        integrate as integrate,
        ode_term as ode_term,
    )
    from .numeric.lagrangian import (
        AbstractLagrangian as AbstractLagrangian,
        FunctionLagrangian as FunctionLagrangian,
        MixedPrecision as MixedPrecision,
    )
    from .numeric.lattice import LatticeNetwork as LatticeNetwork
    from .numeric.local import LocalParticleNetwork as LocalParticleNetwork
    from .numeric.losses import AbstractLoss as AbstractLoss, AccelerationLoss as AccelerationLoss
    from .numeric.natural import NaturalLagrangianNetwork as NaturalLagrangianNetwork
    from .numeric.network import LagrangianNetwork as LagrangianNetwork
    from .numeric.position_loss import PositionLoss as PositionLoss
    from .numeric.positions import (
        PositionData as PositionData,
        load_positions as load_positions,
        position_data as position_data,
        position_trajectories as position_trajectories,
        save_positions as save_positions,
        smoothed_positions as smoothed_positions,
    )
    from .numeric.run import (
        TrainConfig as TrainConfig,
        load_module as load_module,
        load_run as load_run,
        train_run as train_run,
    )
    from .numeric.source import AbstractSource as AbstractSource
    from .numeric.stream import (
        AbstractStream as AbstractStream,
        kepler_orbit_sampler as kepler_orbit_sampler,
        state_stream as state_stream,
        trajectory_stream as trajectory_stream,
    )
    from .numeric.timed import (
        AbstractTimeLagrangian as AbstractTimeLagrangian,
        TimeFunctionLagrangian as TimeFunctionLagrangian,
        TimeLagrangianNetwork as TimeLagrangianNetwork,
    )
    from .numeric.train import TrainingDivergedError as TrainingDivergedError, train as train
    from .symbolic.balance import (
        balances as balances,
        charge_rates as charge_rates,
        energy_rate as energy_rate,
    )
    from .symbolic.boundary import BoundaryTerm as BoundaryTerm, boundary_terms as boundary_terms
    from .symbolic.coordinates import (
        TIME as TIME,
        Coordinates as Coordinates,
        coordinates as coordinates,
        particles as particles,
    )
    from .symbolic.groups import (
        SymmetryGroup as SymmetryGroup,
        from_generators as from_generators,
        galilean_boosts as galilean_boosts,
        lorentz as lorentz,
        rotations as rotations,
        translations as translations,
    )
    from .symbolic.invariants import (
        InvariantSet as InvariantSet,
        derive_invariants as derive_invariants,
    )
    from .symbolic.lattice import (
        LatticeSystem as LatticeSystem,
        derive_lattice as derive_lattice,
        load_lattice_spec as load_lattice_spec,
        verify_lattice as verify_lattice,
    )
    from .symbolic.local import (
        ParticleSystem as ParticleSystem,
        derive_local as derive_local,
        load_local_spec as load_local_spec,
        verify_local as verify_local,
    )
    from .symbolic.noether import energy as energy, noether_charges as noether_charges
    from .symbolic.symmetries import (
        NoetherSymmetry as NoetherSymmetry,
        SymmetryAlgebra as SymmetryAlgebra,
        find_symmetries as find_symmetries,
    )
    from .symbolic.system import System as System, load_spec as load_spec
    from .symbolic.verify import VerificationReport as VerificationReport, verify as verify


def __getattr__(name: str):
    try:
        submodule, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{submodule}", __name__), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
