"""The package version, read from the installed distribution's metadata.

A module of its own so that code needing only the version (the generated-module header,
`symnoether --version`) imports neither half of the package.
"""

import importlib.metadata

__all__ = ["__version__"]

try:
    __version__ = importlib.metadata.version("symnoether")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
