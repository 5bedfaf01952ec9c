"""Objects on refs: stat, read, list, delete, copy, and their user metadata."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import NamedTuple

from limnos.block.adapter import (
    CHUNK_SIZE,
    BlockAdapter,
    ObjectNotFoundError,
    PutResult,
    fresh_address,
    join_uri,
)
from limnos.catalog.entry import AddressType, Entry, decode_entry, encode_entry, normalize_metadata
from limnos.catalog.errors import DataMissingError, Invalid, LimnosError
from limnos.catalog.listing import Listed, list_page
from limnos.catalog.results import Page, PathError, StoredObject
from limnos.catalog.stores import Part, Stores
from limnos.catalog.threads import run_blocking
from limnos.graveler.errors import ForbiddenError, NotFoundError, ValidationError
from limnos.graveler.model import Repository
from limnos.graveler.names import check_path
from limnos.graveler.revparse import ResolvedRef

#: The most paths one bulk deletion takes.
MAX_DELETE_PATHS = 1000


def find(stores: Stores, repo: Repository, ref: ResolvedRef, path: str) -> Entry | None:
    """The entry at ``path`` as ``ref`` sees it, or None."""
    value = stores.graveler.get(repo, ref, path)
    return None if value is None else decode_entry(value)


async def read_bytes(block: BlockAdapter, uri: str, start: int, end: int) -> bytes | Iterator[bytes]:
    """Bytes ``[start, end)`` of the object at ``uri``: whole when they are few, otherwise
    as a stream (ObjectNotFoundError)."""
    if end - start > CHUNK_SIZE:
        return await run_blocking(block.get, uri, start, end)
    # A small read is made whole: at once when the bytes are in memory, otherwise in one
    # trip to a worker thread.
    data = block.read_cached(uri, start, end)
    if data is None:
        data = await run_blocking(block.get_bytes_range, uri, start, end)
    return data


def stored_object(repo: Repository, path: str, entry: Entry) -> StoredObject:
    """An entry with the full URI of its bytes."""
    return StoredObject(path, entry, entry.physical_address(repo.storage_namespace))


class _Replacement(NamedTuple):
    """What a copy changes of its source: all user metadata (None keeps it) and the
    content type ("" keeps it)."""

    metadata: dict[str, str] | None
    content_type: str


class Objects(Part):
    """Operations on the objects of a ref."""

    def __init__(self, stores: Stores) -> None:
        super().__init__(stores)
        self._block = stores.block

    # reads --------------------------------------------------------------------------

    def stat(self, repository: str, ref: str, path: str, *, presign: bool = False) -> StoredObject:
        """The object at ``path`` of ``ref`` (NotFound); with ``presign``, its address is a
        URL that reads it without other credentials."""
        repo = self._stores.repository(repository)
        resolved = self._stores.resolve(repo, ref)
        check_path(path)
        if presign:
            self._stores.require_presign()
        entry = find(self._stores, repo, resolved, path)
        if entry is None:
            raise NotFoundError(f"object {path!r} not found")
        obj = stored_object(repo, path, entry)
        return self._presigned(obj, self._stores.presign_expiry()) if presign else obj

    def _presigned(self, obj: StoredObject, expires: int) -> StoredObject:
        url = self._block.presign(obj.physical_address, "GET", expires)
        return StoredObject(obj.path, obj.entry, url, expires)

    async def read(self, obj: StoredObject, start: int, end: int) -> bytes | Iterator[bytes]:
        """The bytes ``[start, end)`` of an object: whole when they are few, otherwise as a
        stream (DataMissing when storage lost them)."""
        try:
            return await read_bytes(self._block, obj.physical_address, start, end)
        except ObjectNotFoundError:
            raise DataMissingError(obj.path) from None

    def list(
        self,
        repository: str,
        ref: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        amount: int,
        presign: bool = False,
    ) -> Page[Listed[StoredObject]]:
        """A page of objects and common prefixes under ``prefix``, folded at ``delimiter``;
        with ``presign``, each object's address is a URL that reads it."""
        repo = self._stores.repository(repository)
        resolved = self._stores.resolve(repo, ref)
        if presign:
            self._stores.require_presign()
        expires = self._stores.presign_expiry()
        graveler = self._graveler

        def scan(start: str) -> Iterator[tuple[str, StoredObject]]:
            for key, value in graveler.iterate(repo, resolved, start=start, prefix=prefix):
                obj = stored_object(repo, key, decode_entry(value))
                yield key, self._presigned(obj, expires) if presign else obj

        items, has_more = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)
        return Page(items, has_more)

    # changes ------------------------------------------------------------------------

    async def delete(self, repository: str, branch: str, path: str, *, force: bool = False) -> None:
        """Stage the deletion of one object; a missing object is no error (and stages nothing)."""
        repo = self._stores.repository(repository, force=force)
        branch_ref = self._stores.branch(repo, branch)
        check_path(path)
        graveler = self._graveler
        graveler.check_branch_writable(repo, branch)  # refused even for a missing path, as in lakeFS
        if find(self._stores, repo, branch_ref, path) is None:
            return

        def delete() -> None:
            try:
                graveler.delete(repo, branch, path)
            except NotFoundError:
                # Deleted meanwhile by someone else: still a success, unless the branch went away.
                graveler.get_branch(repo, branch)

        await self._stores.writes.run(delete)

    async def delete_many(
        self, repository: str, branch: str, paths: builtins.list[str], *, force: bool = False
    ) -> builtins.list[PathError]:
        """Stage the deletion of up to :data:`MAX_DELETE_PATHS` paths; what was refused, per path.

        Missing paths succeed and stage nothing; an empty path deletes nothing (Spark deletes
        ``branch/`` this way and expects success). A refusal of the whole deletion (a
        protected branch, a read-only repository) is reported for each path, as in lakeFS.
        """
        repo = self._stores.repository(repository, force=force)
        branch_ref = self._stores.branch(repo, branch)
        if len(paths) > MAX_DELETE_PATHS:
            raise Invalid(
                f"request size exceeded: at most {MAX_DELETE_PATHS} paths can be deleted in one request"
            )
        errors: builtins.list[PathError] = []
        valid: builtins.list[str] = []
        for path in dict.fromkeys(paths):
            if not path:
                continue
            try:
                check_path(path)
            except ValidationError as err:
                errors.append(PathError(path, err))
                continue
            valid.append(path)
        refused: LimnosError | None = None
        graveler = self._graveler
        try:
            graveler.check_branch_writable(repo, branch)
            existing = [path for path in valid if find(self._stores, repo, branch_ref, path) is not None]
            if existing:
                await self._stores.writes.run(lambda: graveler.delete_many(repo, branch, existing))
        except ForbiddenError as err:
            refused = err
        if refused is not None:
            errors.extend(PathError(path, refused) for path in valid)
        return errors

    async def copy(
        self,
        repository: str,
        branch: str,
        dest_path: str,
        src_path: str,
        *,
        src_ref: str = "",
        src_repository: str = "",
        force: bool = False,
        metadata: dict[str, str] | None = None,
        content_type: str = "",
    ) -> StoredObject:
        """Copy an object from any ref of the repository (default: the branch), or of
        ``src_repository``, to ``dest_path`` of the branch; storage copies without moving
        bytes where it can.

        The copy is a new object: its time is now, not the source's. It keeps the source's
        user metadata and content type unless ``metadata`` (replacing all user metadata)
        or ``content_type`` are given.
        """
        repo = self._stores.repository(repository, force=force)
        self._stores.branch(repo, branch)
        self._graveler.check_branch_writable(repo, branch)  # before any byte is copied
        check_path(dest_path, what="destination path")
        check_path(src_path, what="source path")
        src_repo = self._stores.repository(src_repository) if src_repository else repo
        source_ref = self._stores.resolve(src_repo, src_ref or branch)
        replaced = _Replacement(metadata, content_type)
        # Copying may move bytes through this process (some stores cannot copy server-side).
        return await run_blocking(
            self._copy, src_repo, source_ref, src_path, repo, branch, dest_path, replaced
        )

    def _copy(
        self,
        src_repo: Repository,
        src_ref: ResolvedRef,
        src_path: str,
        repo: Repository,
        branch: str,
        dest_path: str,
        replaced: _Replacement,
    ) -> StoredObject:
        source = find(self._stores, src_repo, src_ref, src_path)
        if source is None:
            raise NotFoundError(f"object {src_path!r} not found")
        ns = repo.storage_namespace
        address = fresh_address()
        target = join_uri(ns, address)

        def copy_bytes() -> PutResult:
            try:
                return self._block.copy(source.physical_address(src_repo.storage_namespace), target)
            except ObjectNotFoundError:
                raise DataMissingError(src_path) from None

        def link(_: PutResult) -> StoredObject:
            entry = Entry(
                address=address,
                address_type=AddressType.RELATIVE,
                size=source.size,
                checksum=source.checksum,
                mtime=int(time.time()),
                content_type=replaced.content_type or source.content_type,
                metadata=source.metadata
                if replaced.metadata is None
                else normalize_metadata(replaced.metadata),
            )
            self._graveler.set(repo, branch, dest_path, encode_entry(entry))
            return stored_object(repo, dest_path, entry)

        return self._stores.writes.stage_now(
            link, commit=copy_bytes, discard=lambda: self._block.delete(target)
        )

    async def update_metadata(
        self, repository: str, branch: str, path: str, metadata: dict[str, str]
    ) -> None:
        """Replace all user metadata of an object on a branch."""
        repo = self._stores.repository(repository)
        branch_ref = self._stores.branch(repo, branch)
        check_path(path)
        graveler = self._graveler
        graveler.check_branch_writable(repo, branch)

        def update() -> None:
            entry = find(self._stores, repo, branch_ref, path)
            if entry is None:
                raise NotFoundError(f"object {path!r} not found")
            changed = Entry(
                address=entry.address,
                address_type=entry.address_type,
                size=entry.size,
                checksum=entry.checksum,
                mtime=entry.mtime,
                content_type=entry.content_type,
                metadata=normalize_metadata(metadata),
            )
            graveler.set(repo, branch, path, encode_entry(changed))

        await self._stores.writes.run(update)
