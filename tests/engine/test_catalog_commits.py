"""Commits through a real catalog (SQLite metadata, in-memory blockstore): committing a
branch's changes or a stored metarange, and reading commits by ref expression."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from catalog_env import CatalogEnv

from limnos.catalog.results import CommitInfo
from limnos.errors import Forbidden, Invalid, NotFound

REPO = "commits"
COMMITTER = "commit-tests"


class Env(CatalogEnv):
    """A real catalog over SQLite and an in-memory blockstore, with one repository."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.catalog.repositories.create(REPO, f"mem://{REPO}")

    def put(self, branch: str, path: str, data: bytes, repo: str = REPO, force: bool = False) -> None:
        async def go() -> None:
            writer = self.catalog.uploads.begin(repo, branch, path, force=force)
            await writer.add(data)
            await writer.finish()

        self.run(go())

    def commit(self, branch: str, message: str = "m", repo: str = REPO, **options: Any) -> CommitInfo:
        return self.run(
            self.catalog.commits.commit(repo, branch, committer=COMMITTER, message=message, **options)
        )

    def paths(self, ref: str, repo: str = REPO) -> list[str]:
        return [item.path for item in self.catalog.objects.list(repo, ref, amount=1000).items]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()


def test_a_commit_records_what_it_was_given(env: Env) -> None:
    parent = env.catalog.branches.get(REPO, "main").commit_id
    env.put("main", "a", b"1")
    info = env.commit("main", "first", metadata={"k": "v"}, date=1_700_000_000)
    commit = info.commit
    assert env.catalog.branches.get(REPO, "main").commit_id == info.id
    assert commit.parents == (parent,)
    assert (commit.committer, commit.message, commit.creation_date) == (COMMITTER, "first", 1_700_000_000)
    assert commit.metadata_dict == {"k": "v"}
    assert env.catalog.diffs.uncommitted(REPO, "main", amount=10).items == []


def test_a_commit_without_changes_needs_allow_empty(env: Env) -> None:
    head = env.catalog.branches.get(REPO, "main").commit_id
    with pytest.raises(Invalid):
        env.commit("main")
    info = env.commit("main", allow_empty=True)
    assert info.commit.parents == (head,)
    assert info.commit.tree_id == env.catalog.commits.get(REPO, head).commit.tree_id


def test_only_branches_take_commits(env: Env) -> None:
    env.put("main", "a", b"1")
    first = env.commit("main").id
    env.run(env.catalog.tags.create(REPO, "v1", "main"))
    for ref in ("v1", first, "main~1", "main@", "missing"):
        with pytest.raises(NotFound):
            env.commit(ref, allow_empty=True)
    with pytest.raises(NotFound):
        env.commit("main", repo="no-such-repo")


def test_a_read_only_repository_takes_commits_only_forced(env: Env) -> None:
    env.catalog.repositories.create("frozen", "mem://frozen", read_only=True)
    env.put("main", "a", b"1", repo="frozen", force=True)
    with pytest.raises(Forbidden):
        env.commit("main", repo="frozen")
    env.commit("main", repo="frozen", force=True)
    assert env.paths("main", repo="frozen") == ["a"]


def test_get_reads_a_commit_by_any_ref_expression(env: Env) -> None:
    env.put("main", "a", b"1")
    first = env.commit("main", "first")
    env.put("main", "b", b"2")
    second = env.commit("main", "second")
    env.run(env.catalog.tags.create(REPO, "v1", first.id))
    env.put("main", "staged", b"3")
    get = env.catalog.commits.get
    for ref in ("main", "main@", second.id, second.id[:10]):
        assert get(REPO, ref) == second, ref
    for ref in ("main~1", "v1", first.id):
        assert get(REPO, ref) == first, ref
    with pytest.raises(NotFound):
        get(REPO, "v2")
    with pytest.raises(NotFound):
        get(REPO, "main~5")
    with pytest.raises(NotFound):
        get("no-such-repo", "main")


def test_a_stored_metarange_becomes_the_branch_tree(env: Env) -> None:
    env.put("main", "a", b"1")
    env.put("main", "b", b"2")
    full = env.commit("main", "a and b")
    env.run(env.catalog.branches.create(REPO, "other", "main~1"))
    head = env.catalog.branches.get(REPO, "other").commit_id
    info = env.commit("other", "from a metarange", source_metarange=full.commit.tree_id, metadata={"x": "y"})
    assert info.commit.tree_id == full.commit.tree_id
    assert info.commit.parents == (head,)
    assert info.commit.metadata_dict == {"x": "y"}
    assert env.paths("other") == ["a", "b"]
    # The same tree again is no change, unless allowed.
    with pytest.raises(Invalid):
        env.commit("other", source_metarange=full.commit.tree_id)
    again = env.commit("other", source_metarange=full.commit.tree_id, allow_empty=True)
    assert again.commit.parents == (info.id,)


def test_a_metarange_needs_a_clean_branch(env: Env) -> None:
    env.put("main", "a", b"1")
    full = env.commit("main")
    env.run(env.catalog.branches.create(REPO, "other", "main~1"))
    env.put("other", "staged", b"s")
    head = env.catalog.branches.get(REPO, "other").commit_id
    with pytest.raises(Invalid):
        env.commit("other", source_metarange=full.commit.tree_id)
    assert env.catalog.branches.get(REPO, "other").commit_id == head


def test_a_metarange_from_elsewhere_is_invalid(env: Env) -> None:
    """Ids that name nothing, a range rather than a metarange, and a metarange stored in
    another repository's namespace are all refused as bad input."""
    env.catalog.repositories.create("elsewhere", "mem://elsewhere")
    env.put("main", "z", b"z", repo="elsewhere")
    foreign = env.commit("main", repo="elsewhere").commit.tree_id
    env.put("main", "a", b"1")
    own = env.commit("main").commit.tree_id
    ranges = env.committed.ranges(f"mem://{REPO}", own)
    assert ranges
    for tree_id in ("not-an-id", "0" * 64, ranges[0].id, foreign):
        with pytest.raises(Invalid):
            env.commit("main", source_metarange=tree_id, allow_empty=True)
    assert env.paths("main") == ["a"]
