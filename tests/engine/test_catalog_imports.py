"""Import status as any process sees it: the records kept in the metadata store, read
through a real catalog (SQLite metadata, in-memory blockstore)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_env import CatalogEnv

from limnos.catalog import imports, tasks
from limnos.errors import Conflict, NotFound

REPO = "imports"


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[CatalogEnv]:
    env = CatalogEnv(tmp_path)
    env.catalog.repositories.create(REPO, f"mem://{REPO}")
    yield env
    env.close()


def record(env: CatalogEnv, import_id: str, *, age: float) -> None:
    """An import's status as the process running it last wrote it, ``age`` seconds ago."""
    repo = env.graveler.get_repository(REPO)
    written = imports._Record(id=import_id, branch="main", update_time=time.time() - age)
    tasks.TaskRecords(env.kv, imports.PARTITION, imports._Record).create(repo, written)


def test_an_import_whose_process_ended_is_reported_failed(env: CatalogEnv) -> None:
    record(env, "alive", age=1)
    state = env.catalog.imports.status(REPO, "main", "alive")
    assert not state.completed and not state.error
    record(env, "dead", age=tasks.STALE_SECONDS + 1)
    state = env.catalog.imports.status(REPO, "main", "dead")
    assert not state.completed
    assert "process" in state.error
    with pytest.raises(Conflict):
        env.catalog.imports.cancel(REPO, "main", "dead")


def test_a_cancellation_is_recorded_for_the_running_import_to_see(env: CatalogEnv) -> None:
    record(env, "running", age=0)
    env.catalog.imports.cancel(REPO, "main", "running")
    state = env.catalog.imports.status(REPO, "main", "running")
    assert state.error == imports.CANCELED and not state.completed
    with pytest.raises(Conflict):
        env.catalog.imports.cancel(REPO, "main", "running")
    with pytest.raises(NotFound):
        env.catalog.imports.status(REPO, "other-branch", "running")
    with pytest.raises(NotFound):
        env.catalog.imports.status(REPO, "main", "never-started")
