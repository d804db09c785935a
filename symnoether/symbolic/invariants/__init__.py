"""The invariant scalars of a symmetry and their certificate.

`derive_invariants` picks a route (classical contractions or general polynomial
invariants), `certify` proves any set exactly.
"""

from .certificate import Certificate as Certificate, certify as certify
from .derive import InvariantSet as InvariantSet, derive_invariants as derive_invariants

__all__ = ["Certificate", "InvariantSet", "certify", "derive_invariants"]
