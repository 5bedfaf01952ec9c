"""Presigned multipart uploads: a large object's parts go straight to storage, each with
its own presigned URL (or copied from another object), and are assembled at the end.

On S3 these are the store's own multipart uploads; on the stores whose URLs Limnos
serves, parts wait beside the target address until completion assembles them or an
abort removes them. Either way S3's rules hold: parts are numbered 1 to 10,000, and every
part but the last holds at least 5 MiB.
"""

from __future__ import annotations

import builtins
import time

from limnos.block.adapter import MAX_PARTS, PartInfo, PutResult, fresh_address, join_uri
from limnos.catalog.entry import DEFAULT_CONTENT_TYPE, Entry, encode_entry
from limnos.catalog.errors import Invalid
from limnos.catalog.issued import IssuedAddress, IssuedAddresses
from limnos.catalog.objects import find, stored_object
from limnos.catalog.results import MultipartUpload, StoredObject
from limnos.catalog.stores import Part, Stores, relative_address
from limnos.catalog.threads import run_blocking
from limnos.catalog.upload_ids import UploadRecord, UploadRecords
from limnos.catalog.uploads import StreamedWrite
from limnos.graveler.errors import NotFoundError, PreconditionFailedError
from limnos.graveler.model import Repository
from limnos.graveler.names import check_path


class Multipart(Part):
    """Start, fill, complete and abort multipart uploads to branches."""

    def __init__(self, stores: Stores, issued: IssuedAddresses, records: UploadRecords) -> None:
        super().__init__(stores)
        self._issued = issued
        self._records = records

    async def create(self, repository: str, branch: str, path: str, *, parts: int = 0) -> MultipartUpload:
        """Start an upload of the object to be staged at ``path``, with presigned URLs for
        parts 1 to ``parts``."""
        repo = self._stores.repository(repository)
        self._stores.branch(repo, branch)
        check_path(path)
        self._graveler.check_branch_writable(repo, branch)
        if not 0 <= parts <= MAX_PARTS:
            raise Invalid(f"parts: invalid value: validation error: {parts} is not from 0 to {MAX_PARTS}")
        self._stores.require_presign()
        block = self._stores.block
        uri = join_uri(repo.storage_namespace, fresh_address())
        upload_id = await run_blocking(block.create_multipart, uri)
        issued = self._issued.record(repo.name, branch, path, upload_id)
        await self._stores.writes.run(lambda: self._issued.remember(uri, issued))
        expires = self._stores.presign_expiry(issued.expires)
        urls = [block.presign_part(uri, upload_id, number, expires) for number in range(1, parts + 1)]
        return MultipartUpload(upload_id, uri, urls)

    def part_url(
        self, repository: str, branch: str, path: str, upload_id: str, part_number: int, *, address: str
    ) -> str:
        """A presigned URL that uploads part ``part_number``."""
        _, issued = self._open(repository, branch, path, upload_id, address)
        _check_part_number(part_number)
        expires = self._stores.presign_expiry(issued.expires)
        return self._stores.block.presign_part(address, upload_id, part_number, expires)

    async def copy_part(
        self,
        repository: str,
        branch: str,
        path: str,
        upload_id: str,
        part_number: int,
        *,
        address: str | None = None,
        src_repository: str,
        src_ref: str,
        src_path: str,
        first: int = 0,
        last: int | None = None,
    ) -> str:
        """Upload part ``part_number`` as bytes ``[first, last]`` of an object of any
        repository's ref; the part's ETag. ``address`` is the upload's physical address as
        the client holds it (presigned uploads); without it, the upload is found by its id
        (uploads started with :meth:`start`)."""
        if address is None:
            address = self._opened(repository, branch, path, upload_id)
        else:
            self._open(repository, branch, path, upload_id, address)
        _check_part_number(part_number)
        src_repo = self._stores.repository(src_repository)
        source = find(self._stores, src_repo, self._stores.resolve(src_repo, src_ref), src_path)
        if source is None:
            raise NotFoundError(f"object {src_path!r} not found")
        if first >= max(source.size, 1) or (last is not None and not first <= last < source.size):
            raise Invalid(
                f"InvalidRange: bytes={first}-{'' if last is None else last} is outside the source object"
            )
        src_uri = source.physical_address(src_repo.storage_namespace)
        block = self._stores.block
        return await run_blocking(block.copy_part, src_uri, first, last, address, upload_id, part_number)

    async def complete(
        self,
        repository: str,
        branch: str,
        path: str,
        upload_id: str,
        *,
        address: str,
        parts: builtins.list[tuple[int, str]],
        metadata: dict[str, str] | None = None,
        content_type: str = "",
        if_absent: bool = False,
    ) -> StoredObject:
        """Assemble the parts, in ascending order with their ETags, into the object and
        stage it at ``path``; with ``if_absent``, only where no object is (checked before
        assembling, and again, atomically, when staging)."""
        repo, issued = self._open(repository, branch, path, upload_id, address)
        branch_ref = self._stores.branch(repo, branch)
        self._graveler.check_branch_writable(repo, branch)
        if if_absent and find(self._stores, repo, branch_ref, path) is not None:
            raise PreconditionFailedError(f"path already exists: {path!r}")
        if not parts:
            raise Invalid("parts: required value: validation error")
        previous = 0
        for number, _ in parts:
            _check_part_number(number)
            if number <= previous:
                raise Invalid("InvalidPartOrder: list parts once each, in ascending order of part number")
            previous = number
        block = self._stores.block
        relative = relative_address(repo, address)
        assert relative is not None  # handed out inside the namespace
        graveler = self._graveler

        def assemble() -> PutResult:
            return block.complete_multipart(address, upload_id, parts)

        def link(stored: PutResult) -> StoredObject:
            entry = Entry.stored(
                relative, stored, content_type=content_type or DEFAULT_CONTENT_TYPE, metadata=metadata
            )
            graveler.set(repo, branch, path, encode_entry(entry), if_absent=if_absent)
            return stored_object(repo, path, entry)

        # The upload is taken for this completion: a second one racing with it finds no
        # upload. It is given back when assembling fails (wrong parts), for another try.
        await self._stores.writes.run(lambda: self._issued.claim(address, issued))
        try:
            return await self._stores.writes.stage(
                link, commit=assemble, discard=lambda: block.delete(address)
            )
        except BaseException:
            await self._stores.writes.run(lambda: self._issued.remember(address, issued))
            raise

    async def abort(self, repository: str, branch: str, path: str, upload_id: str, *, address: str) -> None:
        """Abandon the upload: its parts are removed and its id is no longer known."""
        self._open(repository, branch, path, upload_id, address)
        block = self._stores.block
        await run_blocking(block.abort_multipart, address, upload_id)
        await self._stores.writes.run(lambda: self._issued.forget(address))

    # uploads known by id (the S3 protocol's) ------------------------------------------

    async def start(
        self,
        repository: str,
        branch: str,
        path: str,
        *,
        content_type: str = "",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Start an upload of the object to be staged at ``path``, whose parts are sent
        through Limnos (:meth:`receive_part`) or copied; its upload id. The content type
        and user metadata are the object's once completed."""
        repo = self._stores.repository(repository)
        self._stores.branch(repo, branch)
        check_path(path)
        self._graveler.check_branch_writable(repo, branch)
        block = self._stores.block
        uri = join_uri(repo.storage_namespace, fresh_address())
        upload_id = await run_blocking(block.create_multipart, uri)
        issued = self._issued.record(repo.name, branch, path, upload_id)
        record = UploadRecord(
            repo.name, branch, path, uri, content_type, dict(metadata or {}), int(time.time())
        )

        def remember() -> None:
            self._issued.remember(uri, issued)
            self._records.save(upload_id, record)

        await self._stores.writes.run(remember)
        return upload_id

    def receive_part(
        self, repository: str, branch: str, path: str, upload_id: str, part_number: int
    ) -> StreamedWrite:
        """Part ``part_number`` of an upload started with :meth:`start`, to be handed its
        bytes as they arrive."""
        address = self._opened(repository, branch, path, upload_id)
        _check_part_number(part_number)
        block = self._stores.block
        return StreamedWrite(lambda: block.part_writer(address, upload_id, part_number))

    async def finish(
        self,
        repository: str,
        branch: str,
        path: str,
        upload_id: str,
        parts: builtins.list[tuple[int, str]],
        *,
        if_absent: bool = False,
    ) -> StoredObject:
        """:meth:`complete` an upload started with :meth:`start`, with the content type
        and user metadata given then."""
        record = self._records.find(repository, branch, path, upload_id)
        obj = await self.complete(
            repository,
            branch,
            path,
            upload_id,
            address=record.address,
            parts=parts,
            metadata=record.metadata,
            content_type=record.content_type,
            if_absent=if_absent,
        )
        await self._stores.writes.run(lambda: self._records.forget(repository, upload_id))
        return obj

    async def cancel(self, repository: str, branch: str, path: str, upload_id: str) -> None:
        """:meth:`abort` an upload started with :meth:`start`."""
        address = self._opened(repository, branch, path, upload_id)
        await self.abort(repository, branch, path, upload_id, address=address)
        await self._stores.writes.run(lambda: self._records.forget(repository, upload_id))

    async def parts(self, repository: str, branch: str, path: str, upload_id: str) -> builtins.list[PartInfo]:
        """The parts of an upload started with :meth:`start` uploaded so far, by number."""
        address = self._opened(repository, branch, path, upload_id)
        return await run_blocking(self._stores.block.list_parts, address, upload_id)

    def _opened(self, repository: str, branch: str, path: str, upload_id: str) -> str:
        """The address of an open upload started with :meth:`start` (NoSuchUpload)."""
        record = self._records.find(repository, branch, path, upload_id)
        self._open(repository, branch, path, upload_id, record.address)
        return record.address

    def _open(
        self, repository: str, branch: str, path: str, upload_id: str, address: str
    ) -> tuple[Repository, IssuedAddress]:
        """The repository and record of an open upload (NotFound when the repository, the
        branch or the upload is not there)."""
        repo = self._stores.repository(repository)
        self._stores.branch(repo, branch)
        check_path(path)
        if not upload_id:
            raise Invalid("upload_id: required value: validation error")
        if not address:
            raise Invalid("physical_address: required value: validation error")
        return repo, self._issued.check_upload(address, upload_id, repo.name, branch, path)


def _check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise Invalid(f"part number: invalid value: validation error: {number} is not from 1 to {MAX_PARTS}")
