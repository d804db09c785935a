"""Validation of names that end up in generated code."""

import builtins
import keyword

__all__ = ["RESERVED_NAMES", "name_problems"]

# Names the generated module itself uses at module or function level.
RESERVED_NAMES = frozenset({"q", "qdot", "jax", "jnp", "lagrangian", "np"})


def name_problems(name: object, what: str) -> list[str]:
    """Every reason why `name` cannot be used as `what`; empty when it is fine."""
    if not isinstance(name, str):
        return [f"{what} {name!r} is a {type(name).__name__}; expected a str"]
    if name == "":
        return [f"{what} is an empty string; give it a non-empty name"]
    fix = "use letters, digits and underscores, starting with a letter (e.g. 'x1')"
    if not name.isidentifier() or not name.isascii():
        return [f"{what} {name!r} is not a Python identifier; {fix}"]
    if name.startswith("_"):
        return [f"{what} {name!r} starts with an underscore, which is reserved; {fix}"]
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return [f"{what} {name!r} is a Python keyword; rename it (e.g. '{name}1')"]
    if hasattr(builtins, name):
        return [f"{what} {name!r} shadows a Python builtin; rename it (e.g. '{name}1')"]
    if name in RESERVED_NAMES:
        return [f"{what} {name!r} is reserved by the generated code; rename it"]
    return []
