"""The catalog: every user operation, below the front ends and above the engine.

See :mod:`limnos.catalog.catalog`.
"""

from limnos.catalog.catalog import Catalog

__all__ = ["Catalog"]
