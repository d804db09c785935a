"""A strict SymPy -> JAX printer: unsupported nodes raise, never emit partial code."""

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import JaxPrinter

from ..errors import EXIT_FAILED, CheckFailed, InputError

__all__ = ["CodegenError", "StrictJaxPrinter", "VerificationFailed", "print_jax"]


class CodegenError(InputError, ValueError):
    """An expression cannot be turned into JAX code; names the output that failed (bad
    input: rewrite the expression; exit code 2)."""


class VerificationFailed(CheckFailed, CodegenError):
    """No module was generated because verification checks failed or were undecided (a
    failed check: exit code 1).

    **Attributes:**

    - `checks`: the names of those checks.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, checks: tuple[str, ...]):
        super().__init__(message)
        self.checks = tuple(checks)


_ADD_CHUNK = 200  # terms per parenthesised group of a long sum


class StrictJaxPrinter(JaxPrinter):
    """JaxPrinter that prints `jnp.` names, nests Max/Min, and refuses unknown nodes."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "strict": True})

    def _module_format(self, fqn, register=True):
        fqn = super()._module_format(fqn, register)
        if fqn.startswith("jax.numpy."):
            return "jnp." + fqn[len("jax.numpy.") :]
        if fqn == "jax.numpy":
            return "jnp"
        return fqn

    def _nested(self, name, args):
        printed = [self._print(a) for a in args]
        out = printed[0]
        for arg in printed[1:]:
            out = f"jnp.{name}({out}, {arg})"
        return out

    def _print_Max(self, expr):
        return self._nested("maximum", sorted(expr.args, key=sympy.default_sort_key))

    def _print_Min(self, expr):
        return self._nested("minimum", sorted(expr.args, key=sympy.default_sort_key))

    def _print_Add(self, expr, order=None):
        # Python parses a + b + c ... as a left-nested tree: thousands of terms (the energy of
        # 64 particles) exceed the compiler's recursion limit. Long sums are printed as
        # parenthesised chunks, which keeps the nesting shallow.
        terms = self._as_ordered_terms(expr, order=order)
        if len(terms) <= _ADD_CHUNK:
            return super()._print_Add(expr, order=order)
        chunks = [sympy.Add(*terms[i:i + _ADD_CHUNK], evaluate=False)
                  for i in range(0, len(terms), _ADD_CHUNK)]
        return " + ".join(f"({super(StrictJaxPrinter, self)._print_Add(c, order=order)})"
                          for c in chunks)

    def _print_Symbol(self, expr):
        name = super()._print_Symbol(expr)
        if not name.isidentifier():
            raise CodegenError(f"symbol {name!r} is not a valid identifier")
        return name


def print_jax(expr: sympy.Expr, *, output: str) -> str:
    """Print `expr` as a JAX expression; `CodegenError` naming `output` when unsupported."""
    printer = StrictJaxPrinter()
    try:
        code = printer.doprint(expr)
    except PrintMethodNotImplementedError as error:
        raise CodegenError(
            f"cannot generate JAX code for output {output!r}: {error}. Rewrite the expression "
            "with functions JAX supports (sqrt, exp, log, sin, cos, ...)."
        ) from error
    if "functools" in code or "numpy." in code.replace("jnp.", ""):
        raise CodegenError(f"output {output!r} printed with an unexpected module: {code}")
    return code
