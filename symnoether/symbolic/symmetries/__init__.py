"""The symmetry finder: every Noether point symmetry of a Lagrangian, proved.

One file per stage: `determining.py` (the condition split by powers of the velocities),
`homotheties.py` (the homotheties of the metric and the bound that proves them complete),
`solve.py` with `dae.py` (the remaining blocks as a linear DAE in t, solved exactly),
`brackets.py` (the structure constants), `cases.py` (special parameter values),
`from_model.py` (candidates from a trained model, proved),
`report.py` (the result) and `find.py` (the stages in order).
"""

from .cases import SymmetryCase as SymmetryCase
from .find import find_symmetries as find_symmetries
from .report import NoetherSymmetry as NoetherSymmetry, SymmetryAlgebra as SymmetryAlgebra

__all__ = ["NoetherSymmetry", "SymmetryAlgebra", "SymmetryCase", "find_symmetries"]
