"""What catalog operations return: typed records that front ends shape into answers."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import msgspec

from limnos.block.adapter import PartInfo
from limnos.catalog.entry import Entry
from limnos.graveler.dump import RefsDump
from limnos.graveler.engine import ChangeKind
from limnos.graveler.gc_rules import GCRules
from limnos.graveler.model import Commit, Repository

T = TypeVar("T")

#: What a difference reports: the engine's kinds, and "conflict" where both sides of a
#: three-dot comparison changed a path differently.
DiffKind = ChangeKind | Literal["conflict"]
#: How two refs are compared: as they stand, or what the right one changed since the
#: merge base (what a merge of it would bring).
DiffType = Literal["two_dot", "three_dot"]


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a listing, in order, and whether more follow."""

    items: list[T]
    has_more: bool


class RefInfo(msgspec.Struct, frozen=True):
    """A branch or tag name and the commit it points at."""

    name: str
    commit_id: str


class CommitInfo(msgspec.Struct, frozen=True):
    """A commit and its id."""

    id: str
    commit: Commit


class StoredObject(msgspec.Struct, frozen=True):
    """An object at a path: its entry and the full URI of its bytes.

    When a presigned URL was asked for, ``physical_address`` is that URL and
    ``physical_address_expiry`` the Unix second it stops working; a URL that Limnos
    serves itself is relative to the server's root (``/...``).
    """

    path: str
    entry: Entry
    physical_address: str
    physical_address_expiry: int | None = None


class StagingLocation(msgspec.Struct, frozen=True):
    """An address handed out for a direct upload, and the presigned URL that writes it
    (relative to the server's root when Limnos serves it itself)."""

    physical_address: str
    presigned_url: str | None = None
    presigned_url_expiry: int | None = None


class MultipartUpload(msgspec.Struct, frozen=True):
    """A multipart upload started for a direct upload: its id, the address it writes and
    a presigned URL per part asked for."""

    upload_id: str
    physical_address: str
    presigned_urls: list[str]


class Difference(msgspec.Struct, frozen=True):
    """One difference between two states of a path, entries decoded."""

    path: str
    kind: DiffKind
    left: Entry | None
    right: Entry | None
    #: The size reported for the path, as lakeFS reports it: the object's on the side that
    #: has it (right first), but 0 for a path an uncommitted change removes.
    size: int


class PathError(msgspec.Struct, frozen=True):
    """Why one path of a bulk operation was refused, with the kind of the refusal."""

    path: str
    error: Exception


class MergeBase(msgspec.Struct, frozen=True):
    """The commits a merge would join, and their best common ancestor."""

    source_commit_id: str
    destination_commit_id: str
    base_commit_id: str


class ImportState(msgspec.Struct, frozen=True):
    """How an import stands: done or not, when last heard of, objects ingested so far,
    the tree of what it imported, its commit once done, and why it failed if it did."""

    completed: bool
    update_time: float
    ingested_objects: int
    metarange_id: str
    commit: CommitInfo | None
    error: str


class TaskState(msgspec.Struct, frozen=True):
    """How a dump or a restore stands: done or not, when last heard of, why it failed if
    it did, and for a dump that succeeded, the ids of its trees."""

    id: str
    done: bool
    update_time: float
    error: str
    refs: RefsDump | None = None


class StorageInfo(msgspec.Struct, frozen=True):
    """What the installation's object storage offers."""

    blockstore_type: str
    import_enabled: bool
    #: Presigned URLs, direct uploads and presigned multipart uploads.
    presign_enabled: bool
    #: Where clients put new repositories' storage namespaces.
    default_namespace_prefix: str


class ProtectionRules(msgspec.Struct, frozen=True):
    """A repository's branch protection patterns, sorted, and their version (ETag; ""
    while there are none)."""

    patterns: tuple[str, ...]
    etag: str


__all__ = [
    "CommitInfo",
    "DiffKind",
    "DiffType",
    "Difference",
    "GCRules",
    "ImportState",
    "MergeBase",
    "MultipartUpload",
    "Page",
    "PartInfo",
    "PathError",
    "ProtectionRules",
    "RefInfo",
    "RefsDump",
    "Repository",
    "StagingLocation",
    "StorageInfo",
    "StoredObject",
    "TaskState",
]
