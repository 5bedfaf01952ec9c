"""Response objects of the API contract shared by several resources (Commit, Ref, ObjectStats)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from limnos.api.common import absolute_url, paginated
from limnos.catalog.results import CommitInfo, Page, RefInfo, StoredObject


def commit_body(info: CommitInfo) -> dict[str, Any]:
    """The contract's Commit object."""
    commit = info.commit
    return {
        "id": info.id,
        "parents": list(commit.parents),
        "committer": commit.committer,
        "message": commit.message,
        "creation_date": commit.creation_date,
        "meta_range_id": commit.tree_id,
        "metadata": commit.metadata_dict,
        "generation": commit.generation,
        "version": commit.version,
    }


def date_time(seconds: float) -> str:
    """A Unix time as the contract's date-time (RFC 3339, UTC)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def ref_body(ref: RefInfo) -> dict[str, Any]:
    """The contract's Ref object: a branch or tag name and the commit it points at."""
    return {"id": ref.name, "commit_id": ref.commit_id}


def ref_page(page: Page[RefInfo]) -> dict[str, Any]:
    """The contract's RefList of a page of branches or tags."""
    results = [ref_body(ref) for ref in page.items]
    return paginated(results, page.has_more, results[-1]["id"] if results else "")


def object_stats(
    obj: StoredObject, *, with_metadata: bool = True, request: Request | None = None
) -> dict[str, Any]:
    """The contract's ObjectStats of an object; ``metadata`` is present only with
    ``with_metadata``. A presigned address is made absolute for ``request``."""
    entry = obj.entry
    body: dict[str, Any] = {
        "path": obj.path,
        "path_type": "object",
        "physical_address": obj.physical_address,
        "checksum": entry.checksum,
        "size_bytes": entry.size,
        "mtime": entry.mtime,
        "content_type": entry.content_type,
    }
    if obj.physical_address_expiry is not None:
        if request is not None:
            body["physical_address"] = absolute_url(request, obj.physical_address)
        body["physical_address_expiry"] = obj.physical_address_expiry
    if with_metadata:
        body["metadata"] = entry.user_metadata
    return body


def common_prefix_stats(path: str) -> dict[str, Any]:
    """The contract's ObjectStats of a common prefix, with the empty required fields lakeFS sends."""
    return {"path": path, "path_type": "common_prefix", "physical_address": "", "checksum": "", "mtime": 0}
