"""The catalog: the one door below the front ends.

Every user operation of Limnos is one call here, grouped by what it acts on
(``catalog.objects.stat(...)``, ``catalog.branches.create(...)``, ...). Front ends (the
REST API, and any other) parse their input, make the call and shape the result; they
never reach the engine, the metadata store or the blockstore themselves. Errors raised
here are of the kinds in :mod:`limnos.catalog.errors`.

Calls that may wait on storage, or that write, are coroutines: the catalog decides
where they run (grouped with other requests' writes, in a worker thread, or inline), so
every front end gets the same threading. Short reads are plain calls, made inline.
"""

from __future__ import annotations

from limnos.block.adapter import BlockAdapter
from limnos.catalog.branches import Branches
from limnos.catalog.commits import Commits
from limnos.catalog.diff import Diffs
from limnos.catalog.dumps import Dumps
from limnos.catalog.gc_rules import GarbageCollectionRules
from limnos.catalog.imports import Imports
from limnos.catalog.issued import IssuedAddresses
from limnos.catalog.merges import Merges
from limnos.catalog.multipart import Multipart
from limnos.catalog.objects import Objects
from limnos.catalog.presigned import Presigned
from limnos.catalog.protection import BranchProtection
from limnos.catalog.repositories import Repositories
from limnos.catalog.results import StorageInfo
from limnos.catalog.staging import Staging
from limnos.catalog.stores import Stores
from limnos.catalog.tags import Tags
from limnos.catalog.upload_ids import UploadRecords
from limnos.catalog.uploads import Uploads
from limnos.catalog.writes import Writes
from limnos.graveler.engine import Graveler
from limnos.kv.store import KVStore


class Catalog:
    """Every user operation on repositories, refs and objects."""

    def __init__(
        self,
        kv: KVStore,
        graveler: Graveler,
        block: BlockAdapter,
        *,
        import_enabled: bool,
        link_expiry_seconds: int = 24 * 3600,
        default_namespace_prefix: str = "",
    ) -> None:
        self.stores = Stores(graveler, block, Writes(kv, block))
        issued = IssuedAddresses(kv, link_expiry_seconds)
        self.repositories = Repositories(self.stores)
        self.branches = Branches(self.stores)
        self.tags = Tags(self.stores)
        self.commits = Commits(self.stores)
        self.diffs = Diffs(self.stores)
        self.merges = Merges(self.stores)
        self.objects = Objects(self.stores)
        self.uploads = Uploads(self.stores)
        self.staging = Staging(self.stores, issued)
        self.multipart = Multipart(self.stores, issued, UploadRecords(kv))
        self.presigned = Presigned(self.stores, issued)
        # Importing from a local directory must be enabled; S3 always allows it, and the
        # memory store has nothing outside itself to import.
        imports = {"local": import_enabled, "s3": True}.get(block.blockstore_type, False)
        self.imports = Imports(self.stores, kv, enabled=imports)
        self.dumps = Dumps(self.stores, kv)
        self.branch_protection = BranchProtection(self.stores)
        self.gc_rules = GarbageCollectionRules(self.stores, kv)
        self._storage = StorageInfo(
            blockstore_type=block.blockstore_type,
            import_enabled=imports,
            presign_enabled=block.can_presign,
            default_namespace_prefix=default_namespace_prefix or block.default_namespace_prefix,
        )

    def storage(self) -> StorageInfo:
        """What the installation's object storage offers."""
        return self._storage
