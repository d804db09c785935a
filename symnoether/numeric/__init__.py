"""The JAX half of symnoether: networks, data, training and integration (never imports sympy)."""
