"""The bridge: SymPy expressions -> a JAX module rendered from the templates."""
