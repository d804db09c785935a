"""Exceptions shared by both halves (no jax, no sympy import)."""

__all__ = ["SpecError", "SymmetryError"]


class SpecError(ValueError):
    """A declaration (coordinates, symmetry, system or spec file) is invalid.

    The message lists every problem found, each with how to fix it.
    """

    def __init__(self, problems: list[str] | str, *, what: str = "declaration"):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid {what} ({len(self.problems)} problem(s)):\n{lines}")


class SymmetryError(ValueError):
    """A symmetry is not what it claims: not closed, or not a symmetry of a Lagrangian.

    The message names the generator(s), the quantity and the non-zero residual.
    """
