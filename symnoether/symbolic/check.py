"""One verified statement of a report: `Check` (see `verify.py`)."""

from dataclasses import dataclass

import sympy

__all__ = ["Check"]


@dataclass(frozen=True)
class Check:
    """One verified statement.

    **Attributes:**

    - `name`: e.g. `"closure"`, `"symmetry[rotation_x0x1]"`, `"conservation[energy]"`.
    - `passed`: whether it holds.
    - `method`: how it was decided, e.g. `"symbolic identity (expand)"`.
    - `detail`: what was checked, in a sentence, with the identity used.
    - `residual`: the simplified non-zero residual when it failed, else None.
    - `generator`: the generator it is about, or None.
    - `undecided`: it could be neither proved nor refuted (then `passed` is False and
      `method` gives the reason).
    - `conserved`: for a balance law (`balance[<name>]`), whether its rate vanishes
      identically (the quantity is exactly conserved) or not (it is balanced); else None.
    """

    name: str
    passed: bool
    method: str
    detail: str
    residual: sympy.Basic | None = None
    generator: str | None = None
    undecided: bool = False
    conserved: bool | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a check needs a non-empty name, got {self.name!r}")
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "undecided", bool(self.undecided))
        if self.passed and self.undecided:
            raise ValueError(f"check {self.name!r} cannot be both passed and undecided")

    @property
    def status(self) -> str:
        """`"passed"`, `"failed"` or `"undecided"`."""
        return "passed" if self.passed else "undecided" if self.undecided else "failed"
