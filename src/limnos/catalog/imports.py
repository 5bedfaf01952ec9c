"""Zero-copy imports: objects that already exist in object storage become entries of a
branch, in one commit, without a byte copied.

An import lists each source (an S3 prefix or object through the configured S3 store, or
a local directory below ``blockstore.local.allowed_external_prefixes``), streams the
listing, sorted, into a tree of its own, then makes the branch's new tree from its head's:
everything under a prefix destination is replaced by what was imported there. One commit
records it, or none does.

Imports are background tasks (:mod:`limnos.catalog.tasks`): they run in a thread of the
server process that started them, and their status lives in the metadata store, so any
process answers for it or cancels it; an import whose status has not been refreshed for
:data:`~limnos.catalog.tasks.STALE_SECONDS` is reported as failed: its process ended.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Iterator
from typing import Literal

import msgspec

from limnos.block.adapter import ObjectInfo, ObjectNotFoundError
from limnos.catalog.entry import DEFAULT_CONTENT_TYPE, AddressType, Entry, encode_entry
from limnos.catalog.errors import Conflict, Forbidden, Invalid, NotFound
from limnos.catalog.results import CommitInfo, ImportState
from limnos.catalog.stores import Part, Stores
from limnos.catalog.tasks import Heartbeat, TaskRecord, TaskRecords, is_stale, new_task_id, start_task
from limnos.graveler.errors import DirtyBranchError
from limnos.graveler.model import Repository
from limnos.graveler.names import check_path
from limnos.kv.store import KVStore

log = logging.getLogger("limnos.imports")

PARTITION = "imports"
CANCELED = "import canceled"
_STOPPED = "the import stopped without finishing: the server process running it ended"
# Entries handed to the tree writer between two looks at the clock.
_PROGRESS_EVERY = 1000


class ImportSource(msgspec.Struct, frozen=True):
    """One source of an import: a prefix (``common_prefix``) or one ``object``, and where
    it goes on the branch."""

    type: Literal["common_prefix", "object"]
    path: str
    destination: str


class _Record(TaskRecord):
    """An import's status as stored."""

    branch: str
    completed: bool = False
    ingested_objects: int = 0
    metarange_id: str = ""
    commit_id: str = ""
    error: str = ""
    #: Set by a cancellation; the running import stops at its next look.
    canceled: bool = False
    #: Set once the import is about to commit: too late to cancel it.
    committing: bool = False


class _Canceled(Exception):
    pass


class Imports(Part):
    """Start, follow and cancel imports into branches."""

    def __init__(self, stores: Stores, kv: KVStore, *, enabled: bool) -> None:
        super().__init__(stores)
        self._records = TaskRecords(kv, PARTITION, _Record)
        self._enabled = enabled

    def start(
        self,
        repository: str,
        branch: str,
        sources: list[ImportSource],
        *,
        committer: str,
        message: str,
        metadata: dict[str, str] | None = None,
        date: int | None = None,
        force: bool = False,
    ) -> str:
        """Check the import and start it in the background; its id."""
        # ``force`` also lifts a read-only flag, as in lakeFS; it never lifts protection.
        repo = self._stores.repository(repository, force=force)
        branch_ref = self._stores.branch(repo, branch)
        self._graveler.check_branch_committable(repo, branch)
        self._check_sources(repo, sources)
        assert branch_ref.branch is not None
        if not force and self._graveler.is_dirty(branch_ref.branch):
            raise DirtyBranchError(
                f"branch {branch!r}: uncommitted changes (dirty branch): commit them, or import with force"
            )
        record = _Record(id=new_task_id(), branch=branch, update_time=time.time())
        self._records.create(repo, record)
        run = _Run(
            self._stores, self._records, repo, record, sources, committer, message, metadata, date, force
        )
        start_task(f"limnos-import-{record.id[:8]}", run.run, run.failed, log)
        return record.id

    def status(self, repository: str, branch: str, import_id: str) -> ImportState:
        """How the import stands (NotFound for an import this branch never had)."""
        repo = self._stores.repository(repository)
        record = self._find(repo, branch, import_id)
        error = record.error
        if not (record.completed or error) and is_stale(record):
            error = _STOPPED
        commit = None
        if record.commit_id:
            commit = CommitInfo(record.commit_id, self._graveler.get_commit(repo, record.commit_id))
        return ImportState(
            completed=record.completed,
            update_time=record.update_time,
            ingested_objects=record.ingested_objects,
            metarange_id=record.metarange_id,
            commit=commit,
            error=error,
        )

    def cancel(self, repository: str, branch: str, import_id: str) -> None:
        """Stop a running import; no commit is made (Conflict once it completed)."""
        repo = self._stores.repository(repository)
        self._find(repo, branch, import_id)

        def cancel(record: _Record) -> bool:
            if record.completed or record.committing:
                raise Conflict(f"conflict found: import {import_id!r} already completed")
            if record.error or is_stale(record):
                ended = record.error or _STOPPED
                raise Conflict(f"conflict found: import {import_id!r} already ended: {ended}")
            record.canceled = True
            record.error = record.error or CANCELED
            return True

        if self._records.update(repo, import_id, cancel) is None:
            raise NotFound(f"import {import_id!r} not found")

    def _find(self, repo: Repository, branch: str, import_id: str) -> _Record:
        record = self._records.find(repo, import_id)
        if record is None or record.branch != branch:
            raise NotFound(f"import not found: {import_id!r}")
        return record

    def _check_sources(self, repo: Repository, sources: list[ImportSource]) -> None:
        if not sources:
            raise Invalid("paths: required value: validation error: an import needs at least one path")
        block = self._stores.block
        if not self._enabled:
            # lakeFS answers 403 here, with this wording.
            raise Forbidden(
                f"import is not supported for this storage: imports are not enabled on this "
                f"{block.blockstore_type} blockstore"
                + (" (blockstore.local.import_enabled)" if block.blockstore_type == "local" else "")
            )
        namespace = repo.storage_namespace.rstrip("/") + "/"
        for source in sources:
            if source.destination.startswith("/"):
                raise Invalid(f"invalid import source: destination {source.destination!r} must be relative")
            if source.type == "object":
                check_path(source.destination, what="destination")
            block.validate_external(source.path)
            if source.path.startswith(namespace) or (
                source.type == "common_prefix" and namespace.startswith(source.path)
            ):
                raise Invalid(
                    f"invalid import source: {source.path!r} overlaps the repository's storage namespace"
                )


class _Run:
    """One import, run in its own thread."""

    def __init__(
        self,
        stores: Stores,
        records: TaskRecords[_Record],
        repo: Repository,
        record: _Record,
        sources: list[ImportSource],
        committer: str,
        message: str,
        metadata: dict[str, str] | None,
        date: int | None,
        force: bool,
    ) -> None:
        self.stores = stores
        self.records = records
        self.repo = repo
        self.record = record
        self.sources = sources
        self.commit_args = {"committer": committer, "message": message, "metadata": metadata, "date": date}
        self.force = force
        self.heartbeat = Heartbeat()

    def run(self) -> None:
        try:
            self._run()
        except _Canceled:
            pass

    def failed(self, error: str) -> None:
        self._save(error=error, final=True)

    def _run(self) -> None:
        g = self.stores.graveler
        tree = g.write_tree(self.repo, self._entries())
        self._save(metarange_id=tree)
        prefixes = [s.destination for s in self.sources if s.type == "common_prefix"]
        self._save(committing=True)
        branch = self.record.branch
        for _ in range(10):
            head = g.get_branch(self.repo, branch).commit_id
            new_tree = g.replace_prefixes(self.repo, g.tree_of(self.repo, head), tree, prefixes)
            commit_id = g.commit_tree(
                self.repo,
                branch,
                new_tree,
                expected_head=head,
                require_clean=not self.force,
                allow_empty=True,
                **self.commit_args,  # type: ignore[arg-type]
            )
            if commit_id is not None:
                self._save(completed=True, commit_id=commit_id, final=True)
                return
        raise Conflict(f"Too many attempts, try again later: branch {branch!r} kept moving, no import commit")

    def _entries(self) -> Iterator[tuple[str, bytes]]:
        """Every imported entry, sorted by path; a later source wins a path twice imported."""
        streams = [self._source_entries(order, source) for order, source in enumerate(self.sources)]
        # One source lists each path once, in order: nothing to merge.
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams)
        previous: tuple[str, int, bytes] | None = None
        count = 0
        for item in merged:
            if previous is not None and previous[0] != item[0]:
                yield previous[0], previous[2]
                count += 1
                if count % _PROGRESS_EVERY == 0:
                    self._progress(count)
            previous = item
        if previous is not None:
            yield previous[0], previous[2]
            count += 1
        self._progress(count, force=True)

    def _source_entries(self, order: int, source: ImportSource) -> Iterator[tuple[str, int, bytes]]:
        block = self.stores.block
        if source.type == "object":
            try:
                info = block.head(source.path)
            except ObjectNotFoundError:
                raise NotFound(f"import source not found: {source.path!r}") from None
            yield source.destination, order, _entry(info)
            return
        prefix = source.path
        for info in block.list(prefix):
            path = source.destination + info.uri[len(prefix) :]
            check_path(path)
            yield path, order, _entry(info)

    def _progress(self, count: int, *, force: bool = False) -> None:
        if self.heartbeat.due() or force:
            self._save(ingested_objects=count)

    def _save(self, *, final: bool = False, **changes: object) -> None:
        """Write the status with ``changes``; stop (_Canceled) when a cancellation came
        first, unless this is the final word of a failure."""

        def change(record: _Record) -> bool:
            if record.canceled and not final:
                raise _Canceled
            if record.canceled and not changes.get("completed"):
                return False  # canceled: its error says so already
            for name, value in changes.items():
                setattr(record, name, value)
            return True

        written = self.records.update(self.repo, self.record.id, change)
        if written is not None:
            self.record = written


def _entry(info: ObjectInfo) -> bytes:
    """The entry naming an object where it is: its own address, size, ETag, time and,
    where storage reported one, content type."""
    return encode_entry(
        Entry(
            address=info.uri,
            address_type=AddressType.FULL,
            size=info.size,
            checksum=info.etag,
            mtime=int(info.mtime.timestamp()),
            content_type=info.content_type or DEFAULT_CONTENT_TYPE,
        )
    )
