"""Dumps and restores of a repository's refs: a backup of its commits, tags and branches,
written as trees into its own storage namespace, and loaded back into a repository (a
bare one, or any with force) on the same namespace.

Each is available as a background task (dumpSubmit, restoreSubmit), whose status lives
in the metadata store (:mod:`limnos.catalog.tasks`) so that any server process answers
for it, and as one call that returns when it is done (dumpRefs, restoreRefs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from limnos.catalog.errors import NotFound
from limnos.catalog.results import RefsDump, TaskState
from limnos.catalog.stores import Part, Stores
from limnos.catalog.tasks import Heartbeat, TaskRecord, TaskRecords, is_stale, new_task_id, start_task
from limnos.catalog.threads import run_blocking
from limnos.graveler import dump as refs_dump
from limnos.graveler.model import Repository
from limnos.kv.store import KVStore

log = logging.getLogger("limnos.dumps")

PARTITION = "refs-tasks"

Kind = Literal["dump", "restore"]
#: What a task does, given its heartbeat: a dump returns its trees.
_Work = Callable[[refs_dump.Tick], RefsDump | None]


class _Record(TaskRecord):
    """A dump's or a restore's status as stored."""

    kind: Kind
    done: bool = False
    error: str = ""
    #: A finished dump's trees.
    refs: RefsDump | None = None


class Dumps(Part):
    """Dump a repository's refs to its storage namespace, and restore them."""

    def __init__(self, stores: Stores, kv: KVStore) -> None:
        super().__init__(stores)
        self._records = TaskRecords(kv, PARTITION, _Record)

    async def dump(self, repository: str) -> RefsDump:
        """Dump the refs now; the ids of the dump's trees."""
        repo = self._stores.repository(repository)
        return await run_blocking(refs_dump.dump, self._graveler, repo)

    async def restore(self, repository: str, refs: RefsDump, *, force: bool = False) -> None:
        """Restore a dump now. Refused into a repository that has branches or tags, or a
        read-only one, unless ``force``."""
        repo = self._stores.repository(repository, force=force)
        await run_blocking(refs_dump.restore, self._graveler, repo, refs, force=force)

    def start_dump(self, repository: str) -> str:
        """Start a dump in the background; its task id."""
        repo = self._stores.repository(repository)
        return self._start(repo, "dump", lambda tick: refs_dump.dump(self._graveler, repo, tick))

    async def start_restore(self, repository: str, refs: RefsDump, *, force: bool = False) -> str:
        """Check a restore and start it in the background; its task id. What a restore
        needs at first (see :meth:`restore`) is checked here, the rest by the task."""
        repo = self._stores.repository(repository, force=force)
        g = self._graveler
        await run_blocking(refs_dump.check_restorable, g, repo, refs, force=force)

        def work(tick: refs_dump.Tick) -> None:
            refs_dump.restore(g, repo, refs, force=force, tick=tick)

        return self._start(repo, "restore", work)

    def dump_status(self, repository: str, task_id: str) -> TaskState:
        """How a dump stands (NotFound for a dump this repository never had)."""
        return self._status(repository, "dump", task_id)

    def restore_status(self, repository: str, task_id: str) -> TaskState:
        """How a restore stands (NotFound for a restore this repository never had)."""
        return self._status(repository, "restore", task_id)

    def _status(self, repository: str, kind: Kind, task_id: str) -> TaskState:
        repo = self._stores.repository(repository)
        record = self._records.find(repo, task_id)
        if record is None or record.kind != kind:
            raise NotFound(f"{kind} task {task_id!r} not found")
        done, error = record.done, record.error
        if not done and is_stale(record):
            done, error = True, f"the {kind} stopped without finishing: the server process running it ended"
        return TaskState(record.id, done, record.update_time, error, record.refs)

    def _start(self, repo: Repository, kind: Kind, work: _Work) -> str:
        record = _Record(id=new_task_id(), update_time=time.time(), kind=kind)
        self._records.create(repo, record)
        records = self._records
        heartbeat = Heartbeat()

        def tick() -> None:
            if heartbeat.due():
                records.update(repo, record.id, lambda _: True)

        def finish(refs: RefsDump | None = None, error: str = "") -> None:
            def change(current: _Record) -> bool:
                current.done, current.refs, current.error = True, refs, error
                return True

            records.update(repo, record.id, change)

        def run() -> None:
            result = work(tick)
            finish(refs=result if isinstance(result, RefsDump) else None)

        start_task(f"limnos-{kind}-{record.id[:8]}", run, lambda error: finish(error=error), log)
        return record.id
