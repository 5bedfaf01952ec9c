"""Merges, merge bases, reverts and cherry-picks through a real catalog (SQLite metadata,
in-memory blockstore): what each commits, what it records in commit metadata, and the
kind of error each refusal raises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from catalog_env import CatalogEnv

from limnos.catalog.merges import STRATEGY_KEY
from limnos.errors import Conflict, Forbidden, Invalid, NotFound
from limnos.graveler.merge import CHERRY_PICK_COMMITTER, CHERRY_PICK_ORIGIN
from limnos.graveler.model import Commit

REPO = "merges"
COMMITTER = "merge-tests"


class Env(CatalogEnv):
    """A real catalog over SQLite and an in-memory blockstore, with one repository whose
    main holds ``a`` and ``b`` and a branch ``dev`` made from it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.catalog.repositories.create(REPO, f"mem://{REPO}")
        self.put("main", "a", b"a0")
        self.put("main", "b", b"b0")
        self.base = self.commit("main", "base")
        self.run(self.catalog.branches.create(REPO, "dev", "main"))

    def put(self, branch: str, path: str, data: bytes, repo: str = REPO) -> None:
        async def go() -> None:
            writer = self.catalog.uploads.begin(repo, branch, path, force=True)
            await writer.add(data)
            await writer.finish()

        self.run(go())

    def delete(self, branch: str, path: str) -> None:
        self.run(self.catalog.objects.delete(REPO, branch, path))

    def commit(self, branch: str, message: str, repo: str = REPO) -> str:
        info = self.run(
            self.catalog.commits.commit(repo, branch, committer=COMMITTER, message=message, force=True)
        )
        return info.id

    def head(self, branch: str) -> str:
        return self.catalog.branches.get(REPO, branch).commit_id

    def commit_of(self, ref: str) -> Commit:
        return self.catalog.commits.get(REPO, ref).commit

    def state(self, ref: str, repo: str = REPO) -> dict[str, bytes]:
        """Every object of ``ref`` and its bytes."""
        objects = self.catalog.objects
        page = objects.list(repo, ref, amount=1000)
        result: dict[str, bytes] = {}
        for item in page.items:
            assert item.value is not None
            data = self.run(objects.read(item.value, 0, item.value.entry.size))
            assert isinstance(data, bytes)
            result[item.path] = data
        return result

    def merge(self, source: str, destination: str, **options: Any) -> str:
        return self.run(self.catalog.merges.merge(REPO, source, destination, committer=COMMITTER, **options))

    def revert(self, branch: str, ref: str, **options: Any) -> str:
        return self.run(self.catalog.merges.revert(REPO, branch, ref, committer=COMMITTER, **options))

    def cherry_pick(self, branch: str, ref: str, **options: Any) -> str:
        info = self.run(self.catalog.merges.cherry_pick(REPO, branch, ref, committer=COMMITTER, **options))
        assert info.id == self.head(branch)
        return info.id


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()


# merge ---------------------------------------------------------------------------------


def test_a_merge_records_the_default_strategy_and_both_parents(env: Env) -> None:
    env.put("dev", "c", b"c1")
    dev = env.commit("dev", "add c")
    main = env.head("main")
    merged = env.merge("dev", "main", message="bring c", metadata={"ticket": "42"})
    commit = env.commit_of(merged)
    assert env.head("main") == merged
    assert commit.parents == (main, dev)
    assert commit.message == "bring c"
    assert commit.committer == COMMITTER
    assert commit.metadata_dict == {"ticket": "42", STRATEGY_KEY: "default"}
    assert STRATEGY_KEY == ".lakefs.merge.strategy"
    assert env.state("main") == {"a": b"a0", "b": b"b0", "c": b"c1"}


def test_a_merge_message_names_source_and_destination_by_default(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    assert env.commit_of(env.merge("dev", "main")).message == "Merge 'dev' into 'main'"


def _conflicting(env: Env) -> None:
    """Both branches change "a" differently; dev also adds "c"."""
    env.put("main", "a", b"a-main")
    env.commit("main", "a on main")
    env.put("dev", "a", b"a-dev")
    env.put("dev", "c", b"c1")
    env.commit("dev", "a and c on dev")


def test_a_conflict_is_of_kind_conflict_and_changes_nothing(env: Env) -> None:
    _conflicting(env)
    head = env.head("main")
    with pytest.raises(Conflict) as caught:
        env.merge("dev", "main")
    assert "'a'" in str(caught.value)
    assert env.head("main") == head
    assert env.state("main") == {"a": b"a-main", "b": b"b0"}


@pytest.mark.parametrize(("strategy", "a"), [("dest-wins", b"a-main"), ("source-wins", b"a-dev")])
def test_a_strategy_settles_conflicts_and_is_recorded(env: Env, strategy: str, a: bytes) -> None:
    _conflicting(env)
    merged = env.merge("dev", "main", strategy=strategy)
    assert env.commit_of(merged).metadata_dict[STRATEGY_KEY] == strategy
    assert env.state("main") == {"a": a, "b": b"b0", "c": b"c1"}


def test_an_unknown_strategy_is_invalid(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    with pytest.raises(Invalid):
        env.merge("dev", "main", strategy="theirs")


def test_the_strategy_key_cannot_be_forged_through_metadata(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    merged = env.merge("dev", "main", metadata={STRATEGY_KEY: "source-wins"})
    assert env.commit_of(merged).metadata_dict[STRATEGY_KEY] == "default"


def test_an_empty_merge_needs_force_or_allow_empty(env: Env) -> None:
    """Nothing on dev since the base: refused unless forced (as lakeFS documents) or
    allowed empty; the empty merge commit still joins both histories."""
    head = env.head("main")
    with pytest.raises(Invalid):
        env.merge("dev", "main")
    assert env.head("main") == head
    forced = env.merge("dev", "main", force=True)
    commit = env.commit_of(forced)
    assert commit.parents == (head, env.head("dev"))
    assert commit.tree_id == env.commit_of(head).tree_id
    allowed = env.merge("dev", "main", allow_empty=True)
    assert env.commit_of(allowed).parents == (forced, env.head("dev"))


def test_force_merges_into_a_read_only_repository(env: Env) -> None:
    catalog = env.catalog
    catalog.repositories.create("frozen", "mem://frozen", read_only=True)
    env.run(catalog.branches.create("frozen", "dev", "main", force=True))
    env.put("dev", "x", b"x1", repo="frozen")
    env.commit("dev", "x", repo="frozen")
    with pytest.raises(Forbidden):
        env.run(catalog.merges.merge("frozen", "dev", "main", committer=COMMITTER))
    env.run(catalog.merges.merge("frozen", "dev", "main", committer=COMMITTER, force=True))
    assert env.state("main", repo="frozen") == {"x": b"x1"}


def test_squash_commits_the_merged_tree_with_one_parent(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.delete("dev", "b")
    env.commit("dev", "drop b")
    head = env.head("main")
    squashed = env.merge("dev", "main", squash=True)
    commit = env.commit_of(squashed)
    assert commit.parents == (head,)
    assert commit.metadata_dict[STRATEGY_KEY] == "default"
    assert env.state("main") == {"a": b"a0", "c": b"c1"}


def test_a_merge_into_a_dirty_branch_is_refused(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("main", "d", b"d1")
    with pytest.raises(Invalid):
        env.merge("dev", "main")


def test_a_merge_takes_the_committed_source_only(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("dev", "staged", b"s")
    env.merge("dev", "main")
    assert "staged" not in env.state("main")


def test_merging_into_a_missing_branch_or_from_a_missing_ref_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        env.merge("nope", "main")
    with pytest.raises(NotFound):
        env.merge("dev", "nope")


# merge base ----------------------------------------------------------------------------


def test_the_merge_base_is_the_best_common_ancestor(env: Env) -> None:
    env.put("dev", "c", b"c1")
    dev = env.commit("dev", "add c")
    env.put("main", "d", b"d1")
    main = env.commit("main", "add d")
    base = env.run(env.catalog.merges.base(REPO, "dev", "main"))
    assert (base.source_commit_id, base.destination_commit_id, base.base_commit_id) == (dev, main, env.base)
    env.merge("dev", "main")
    # After the merge, dev's head is the base of the two.
    after = env.run(env.catalog.merges.base(REPO, "dev", "main"))
    assert after.base_commit_id == dev
    assert after.destination_commit_id == env.head("main")


def test_refs_without_a_common_ancestor_have_no_merge_base(env: Env) -> None:
    repo = env.graveler.get_repository(REPO)
    orphan = env.graveler.refs.put_commit(
        repo,
        Commit(
            tree_id=env.commit_of("main").tree_id,
            parents=(),
            committer=COMMITTER,
            message="orphan",
            creation_date=0,
            metadata=(),
            generation=1,
        ),
    )
    with pytest.raises(NotFound):
        env.run(env.catalog.merges.base(REPO, orphan, "main"))


# revert --------------------------------------------------------------------------------


def test_revert_commits_the_inverse_of_a_commit(env: Env) -> None:
    env.put("main", "a", b"a1")
    env.put("main", "c", b"c1")
    env.delete("main", "b")
    changed = env.commit("main", "change a, add c, drop b")
    env.put("main", "d", b"d1")
    env.commit("main", "add d")
    head = env.head("main")
    reverted = env.revert("main", changed, metadata={"why": "test"})
    commit = env.commit_of(reverted)
    assert commit.parents == (head,)
    assert commit.message == f"Revert {changed}"
    assert commit.metadata_dict == {"why": "test"}
    assert env.state("main") == {"a": b"a0", "b": b"b0", "d": b"d1"}


def test_revert_of_a_merge_commit_needs_a_parent_number(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("main", "d", b"d1")
    env.commit("main", "add d")
    merged = env.merge("dev", "main")
    head = env.head("main")
    with pytest.raises(Conflict):
        env.revert("main", merged)
    assert env.head("main") == head
    with pytest.raises(Invalid):
        env.revert("main", merged, parent_number=3)
    with pytest.raises(Invalid):
        env.revert("main", merged, parent_number=-1)
    # Against its first parent, the merge brought "c": reverting removes it.
    env.revert("main", merged, parent_number=1)
    assert env.state("main") == {"a": b"a0", "b": b"b0", "d": b"d1"}


def test_revert_against_the_second_parent_undoes_the_destination_side(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("main", "d", b"d1")
    env.commit("main", "add d")
    merged = env.merge("dev", "main")
    env.revert("main", merged, parent_number=2)
    assert env.state("main") == {"a": b"a0", "b": b"b0", "c": b"c1"}


def test_a_revert_that_conflicts_is_of_kind_conflict(env: Env) -> None:
    env.put("main", "a", b"a1")
    changed = env.commit("main", "a1")
    env.put("main", "a", b"a2")
    env.commit("main", "a2")
    head = env.head("main")
    with pytest.raises(Conflict):
        env.revert("main", changed)
    assert env.head("main") == head


def test_a_revert_with_nothing_to_undo_needs_allow_empty(env: Env) -> None:
    env.put("main", "a", b"a1")
    changed = env.commit("main", "a1")
    env.put("main", "a", b"a0")
    env.commit("main", "back to a0")
    with pytest.raises(Invalid):
        env.revert("main", changed)
    env.revert("main", changed, allow_empty=True)


def test_a_revert_on_a_dirty_branch_is_refused(env: Env) -> None:
    env.put("main", "a", b"a1")
    changed = env.commit("main", "a1")
    env.put("main", "z", b"z")
    with pytest.raises(Invalid):
        env.revert("main", changed)


# cherry-pick ---------------------------------------------------------------------------


def test_cherry_pick_records_its_origin(env: Env) -> None:
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("dev", "a", b"a-dev")
    catalog = env.catalog
    picked_from = env.run(
        catalog.commits.commit(
            REPO, "dev", committer="someone", message="change a", metadata={"origin-key": "v"}
        )
    ).id
    head = env.head("main")
    info = env.run(catalog.merges.cherry_pick(REPO, "main", "dev", committer=COMMITTER))
    commit = info.commit
    assert info.id == env.head("main")
    assert commit.parents == (head,)
    assert commit.message == "change a"
    assert commit.committer == COMMITTER
    assert commit.metadata_dict == {
        "origin-key": "v",
        CHERRY_PICK_ORIGIN: picked_from,
        CHERRY_PICK_COMMITTER: "someone",
    }
    assert CHERRY_PICK_ORIGIN == "cherry-pick-origin"
    # Only the picked commit's own change: not "c" from the commit before it.
    assert env.state("main") == {"a": b"a-dev", "b": b"b0"}


def test_cherry_pick_metadata_and_message_replace_the_originals(env: Env) -> None:
    env.put("dev", "c", b"c1")
    picked_from = env.commit("dev", "add c")
    env.cherry_pick("main", picked_from, message="picked", metadata={"mine": "1"})
    commit = env.commit_of("main")
    assert commit.message == "picked"
    assert commit.metadata_dict == {
        "mine": "1",
        CHERRY_PICK_ORIGIN: picked_from,
        CHERRY_PICK_COMMITTER: COMMITTER,
    }


def test_cherry_pick_of_a_merge_commit_needs_a_parent_number(env: Env) -> None:
    env.run(env.catalog.branches.create(REPO, "side", "main"))
    env.put("dev", "c", b"c1")
    env.commit("dev", "add c")
    env.put("main", "d", b"d1")
    env.commit("main", "add d")
    merged = env.merge("dev", "main")
    with pytest.raises(Invalid):
        env.cherry_pick("side", merged)
    with pytest.raises(Invalid):
        env.cherry_pick("side", merged, parent_number=-1)
    # Against its first parent the merge brought "c".
    env.cherry_pick("side", merged, parent_number=1)
    assert env.state("side") == {"a": b"a0", "b": b"b0", "c": b"c1"}
    assert env.commit_of("side").metadata_dict[CHERRY_PICK_ORIGIN] == merged


def test_a_cherry_pick_that_conflicts_is_of_kind_conflict(env: Env) -> None:
    env.put("dev", "a", b"a-dev")
    picked = env.commit("dev", "a on dev")
    env.put("main", "a", b"a-main")
    env.commit("main", "a on main")
    head = env.head("main")
    with pytest.raises(Conflict):
        env.cherry_pick("main", picked)
    assert env.head("main") == head


def test_a_cherry_pick_already_applied_is_an_empty_commit_refused(env: Env) -> None:
    env.put("dev", "c", b"c1")
    picked = env.commit("dev", "add c")
    env.cherry_pick("main", picked)
    with pytest.raises(Invalid):
        env.cherry_pick("main", picked)
