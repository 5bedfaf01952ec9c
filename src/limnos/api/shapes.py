"""Response objects of the API contract shared by several resources (Commit, Ref)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from limnos.api.common import paginated, take_page
from limnos.graveler.model import Commit


def commit_body(commit_id: str, commit: Commit) -> dict[str, Any]:
    """The contract's Commit object for ``commit`` stored under ``commit_id``."""
    return {
        "id": commit_id,
        "parents": list(commit.parents),
        "committer": commit.committer,
        "message": commit.message,
        "creation_date": commit.creation_date,
        "meta_range_id": commit.tree_id,
        "metadata": commit.metadata_dict,
        "generation": commit.generation,
        "version": commit.version,
    }


def ref_body(name: str, commit_id: str) -> dict[str, Any]:
    """The contract's Ref object: a branch or tag name and the commit it points at."""
    return {"id": name, "commit_id": commit_id}


def ref_page(items: Iterable[tuple[str, str]], after: str, amount: int) -> dict[str, Any]:
    """A RefList page of (name, commit id) pairs in name order, names strictly after ``after``."""
    page, has_more = take_page(items, after, amount, lambda item: item[0])
    results = [ref_body(name, commit_id) for name, commit_id in page]
    return paginated(results, has_more, results[-1]["id"] if results else "")
