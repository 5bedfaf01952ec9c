"""Direct uploads: hand out an address (and a presigned URL that writes it), then link
the bytes a client stored there — or bytes kept outside every namespace — to a path.

Limnos then records only metadata: the bytes go from the client to storage without
passing through the server.
"""

from __future__ import annotations

import time

from limnos.block.adapter import ObjectNotFoundError, fresh_address, join_uri
from limnos.catalog.entry import DEFAULT_CONTENT_TYPE, AddressType, Entry, encode_entry, normalize_metadata
from limnos.catalog.errors import Invalid
from limnos.catalog.issued import IssuedAddresses, LinkAddressError
from limnos.catalog.objects import find, stored_object
from limnos.catalog.results import StagingLocation, StoredObject
from limnos.catalog.stores import Part, Stores, relative_address
from limnos.catalog.threads import run_blocking
from limnos.graveler import protection
from limnos.graveler.errors import PreconditionFailedError
from limnos.graveler.names import check_path


class Staging(Part):
    """Addresses for direct uploads, and linking what was stored at them."""

    def __init__(self, stores: Stores, issued: IssuedAddresses) -> None:
        super().__init__(stores)
        self._issued = issued

    async def physical_address(
        self, repository: str, branch: str, path: str, *, presign: bool = False
    ) -> StagingLocation:
        """A fresh address inside the repository's namespace for the object to be linked at
        ``path`` of the branch; with ``presign``, a URL that writes it with a plain PUT."""
        repo = self._stores.repository(repository)
        self._stores.branch(repo, branch)
        check_path(path)
        # Nothing can be linked to a protected branch: no address is handed out for one.
        # A read-only repository still hands them out, as in lakeFS: a forced link fills it.
        protection.check_write(repo, branch)
        block = self._stores.block
        if presign:
            self._stores.require_presign()
        uri = join_uri(repo.storage_namespace, fresh_address())
        issued = self._issued.record(repo.name, branch, path)
        await self._stores.writes.run(lambda: self._issued.remember(uri, issued))
        if not presign:
            return StagingLocation(uri)
        expires = self._stores.presign_expiry(issued.expires)
        return StagingLocation(uri, block.presign(uri, "PUT", expires), expires)

    async def link(
        self,
        repository: str,
        branch: str,
        path: str,
        *,
        address: str,
        checksum: str,
        size: int,
        metadata: dict[str, str] | None = None,
        content_type: str = "",
        mtime: int | None = None,
        if_absent: bool = False,
        force: bool = False,
    ) -> StoredObject:
        """Stage an entry at ``path`` naming the bytes at ``address``: an address handed out
        by :meth:`physical_address` for this path, or one outside every namespace that the
        blockstore allows. The bytes must be there, ``size`` bytes of them."""
        repo = self._stores.repository(repository, force=force)
        branch_ref = self._stores.branch(repo, branch)
        check_path(path)
        checksum = checksum.strip().strip('"').strip()
        if not checksum:
            raise Invalid("checksum: required value: validation error")
        if size < 0:
            raise Invalid(f"size_bytes: invalid value: validation error: {size} is negative")
        self._graveler.check_branch_writable(repo, branch)
        relative = relative_address(repo, address)
        issued = None
        if relative is not None:
            issued = self._issued.check_link(address, repo.name, branch, path)
        else:
            self._stores.block.validate_external(address)
            holder = self._graveler.namespace_holder(address)
            if holder is not None:
                # Bytes inside another repository's namespace are that repository's to link.
                raise LinkAddressError(
                    f"link address invalid: {address!r} is in the storage namespace of repository {holder!r}"
                )
        await run_blocking(self._check_stored, address, size)
        entry = Entry(
            address=address if relative is None else relative,
            address_type=AddressType.FULL if relative is None else AddressType.RELATIVE,
            size=size,
            checksum=checksum,
            mtime=int(time.time()) if mtime is None else mtime,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            metadata=normalize_metadata(metadata),
        )
        if if_absent and find(self._stores, repo, branch_ref, path) is not None:
            raise PreconditionFailedError(f"path already exists: {path!r}")
        graveler = self._graveler

        def stage() -> None:
            if issued is not None:
                self._issued.claim(address, issued)
            try:
                graveler.set(
                    repo, branch, path, encode_entry(entry), if_absent=if_absent, known=branch_ref.branch
                )
            except BaseException:
                if issued is not None:
                    self._issued.remember(address, issued)  # still linkable, as before
                raise

        await self._stores.writes.run(stage)
        return stored_object(repo, path, entry)

    def _check_stored(self, address: str, size: int) -> None:
        try:
            stored = self._stores.block.size(address)
        except ObjectNotFoundError:
            raise Invalid(
                f"link address invalid: no object is stored at {address!r}: upload it before linking"
            ) from None
        if stored != size:
            raise Invalid(
                f"size_bytes: invalid value: validation error: {size}, but the object at {address!r} holds "
                f"{stored} bytes"
            )
