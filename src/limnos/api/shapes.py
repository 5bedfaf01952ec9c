"""Response objects of the API contract shared by several resources (Commit, Ref)."""

from __future__ import annotations

from typing import Any

from limnos.api.common import paginated
from limnos.catalog.results import CommitInfo, Page, RefInfo


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


def ref_body(ref: RefInfo) -> dict[str, Any]:
    """The contract's Ref object: a branch or tag name and the commit it points at."""
    return {"id": ref.name, "commit_id": ref.commit_id}


def ref_page(page: Page[RefInfo]) -> dict[str, Any]:
    """The contract's RefList of a page of branches or tags."""
    results = [ref_body(ref) for ref in page.items]
    return paginated(results, page.has_more, results[-1]["id"] if results else "")
