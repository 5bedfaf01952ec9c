"""Background tasks whose status lives in the metadata store.

A task (an import, a dump, a restore) runs in a thread of the server process that
started it, and keeps its status in a record of the metadata store, so that any process
of the installation answers for it. The running process refreshes the record at least
every :data:`HEARTBEAT_SECONDS`; an unfinished task whose record has not been refreshed
for :data:`STALE_SECONDS` is reported as failed: the process running it ended.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from limnos.catalog.errors import LimnosError
from limnos.graveler.model import Repository
from limnos.kv.store import KVStore

#: How often a running task refreshes its status.
HEARTBEAT_SECONDS = 1.0
#: An unfinished task whose status is older than this is reported as failed.
STALE_SECONDS = 30.0


class TaskRecord(msgspec.Struct):
    """What every task's stored status holds: its id and when it was last written."""

    id: str
    update_time: float


R = TypeVar("R", bound=TaskRecord)


def new_task_id() -> str:
    """A fresh, unguessable task id."""
    return uuid.uuid4().hex


def is_stale(record: TaskRecord) -> bool:
    """Whether the record is too old for its task to be still running."""
    return time.time() - record.update_time > STALE_SECONDS


class TaskRecords(Generic[R]):
    """The status records of one kind of task: one partition of the metadata store,
    keyed by repository, repository instance and task id (a repository created again
    never sees the old one's tasks)."""

    def __init__(self, kv: KVStore, partition: str, kind: type[R]) -> None:
        self._kv = kv
        self._partition = partition
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(kind)

    @staticmethod
    def key(repo: Repository, task_id: str) -> bytes:
        """The key of a task's record."""
        return f"{repo.name}/{repo.instance_id}/{task_id}".encode()

    def create(self, repo: Repository, record: R) -> None:
        """Store the first status of a new task."""
        self._kv.set(self._partition, self.key(repo, record.id), self._encoder.encode(record))

    def find(self, repo: Repository, task_id: str) -> R | None:
        """The stored status of a task, or None."""
        data = self._kv.get(self._partition, self.key(repo, task_id))
        return None if data is None else self._decoder.decode(data)

    def update(self, repo: Repository, task_id: str, change: Callable[[R], bool]) -> R | None:
        """Change a task's status by compare-and-set, stamping it with the time.

        ``change`` edits the record as read (again after a lost race) and returns
        whether to write it; it may raise to stop. Returns the record written, or None
        when ``change`` declined or the record is gone.
        """
        key = self.key(repo, task_id)
        while True:
            current = self._kv.get(self._partition, key)
            if current is None:
                return None
            record = self._decoder.decode(current)
            if not change(record):
                return None
            record.update_time = time.time()
            if self._kv.set_if(self._partition, key, self._encoder.encode(record), current):
                return record


class Heartbeat:
    """Tells a long-running task when its status is due for a refresh."""

    def __init__(self) -> None:
        self._last = time.monotonic()

    def due(self) -> bool:
        """True at most once every :data:`HEARTBEAT_SECONDS`."""
        now = time.monotonic()
        if now - self._last < HEARTBEAT_SECONDS:
            return False
        self._last = now
        return True


def start_task(
    name: str, work: Callable[[], None], failed: Callable[[str], None], log: logging.Logger
) -> None:
    """Run ``work`` in a thread of its own; a failure is passed to ``failed`` as the
    message to report (an error of no known kind is a bug, logged with its trace)."""

    def run() -> None:
        try:
            work()
        except Exception as err:  # noqa: BLE001 - every failure is reported in the status
            if not isinstance(err, LimnosError):
                log.exception("%s failed", name)
            failed(str(err) or type(err).__name__)

    threading.Thread(target=run, name=name, daemon=True).start()
