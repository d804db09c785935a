"""The SymPy half of symnoether. Nothing under this package imports jax."""
