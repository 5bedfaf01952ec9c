"""A real catalog for engine-level tests: SQLite metadata, an in-memory blockstore, and
one event loop that drives the catalog's async calls."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from limnos.block.mem import MemAdapter
from limnos.catalog import Catalog
from limnos.catalog.entry import same_content
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import Graveler
from limnos.kv.sqlite import SQLiteStore

T = TypeVar("T")


class CatalogEnv:
    """The stores, the engine and the catalog of one process, with nothing mocked."""

    def __init__(self, root: Path) -> None:
        self.kv = SQLiteStore(root / "metadata.db")
        self.block = MemAdapter()
        self.committed = CommittedStore(self.block, same=same_content)
        self.graveler = Graveler(self.kv, self.block, self.committed)
        self.catalog = Catalog(self.kv, self.graveler, self.block, import_enabled=False)
        # One event loop for every call: a loop per call would cost more than the calls.
        self._runner = asyncio.Runner()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Drive an async catalog call to its end."""
        return self._runner.run(coroutine)

    def close(self) -> None:
        self._runner.close()
        self.committed.close()
        self.kv.close()
