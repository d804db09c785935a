"""A strict SymPy -> JAX printer: unsupported nodes raise, never emit partial code."""

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import JaxPrinter

__all__ = ["CodegenError", "StrictJaxPrinter", "VerificationFailed", "print_jax"]


class CodegenError(ValueError):
    """An expression cannot be turned into JAX code; names the output that failed."""


class VerificationFailed(CodegenError):
    """No module was generated because verification checks failed or were undecided.

    **Attributes:**

    - `checks`: the names of those checks.
    """

    def __init__(self, message: str, checks: tuple[str, ...]):
        super().__init__(message)
        self.checks = tuple(checks)


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
