"""The catalog's log: history newest first, filtered by objects, prefixes and date, with
first parents only, a commit to stop at, and paging; all through a real catalog.

The history most tests read (dates are epoch seconds, ``T`` plus the number shown)::

    main:  R ── C1 ── C2 ── C3 ─────── C4 ── M      R   repository created (empty)
                             \\               /      C1  adds a, b/1         (T+10)
    dev:                      D1 ───────────        C2  changes a           (T+20)
                                                    C3  adds b/2            (T+30)
                                                    D1  changes a, adds c/1 (T+35)
                                                    C4  adds e              (T+40)
                                                    M   merges dev into main (now)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from catalog_env import CatalogEnv

from limnos.catalog.log import LogQuery, touches
from limnos.graveler.model import Commit

EPOCH = 1_700_000_000
COMMITTER = "log-tests"


class Env(CatalogEnv):
    """A real catalog over SQLite and an in-memory blockstore."""

    def upload(self, repo: str, branch: str, path: str, data: bytes) -> None:
        async def go() -> None:
            writer = self.catalog.uploads.begin(repo, branch, path)
            await writer.add(data)
            await writer.finish(content_type="text/plain")

        self.run(go())

    def commit(self, repo: str, branch: str, message: str, date: int | None = None) -> str:
        info = self.run(
            self.catalog.commits.commit(repo, branch, committer=COMMITTER, message=message, date=date)
        )
        return info.id

    def log(self, repo: str, ref: str, **query: Any) -> tuple[list[str], bool]:
        """Commit ids of one page of the log, and whether more follow."""
        page = self.run(self.catalog.commits.log(repo, ref, LogQuery(**{"amount": 100, **query})))
        return [info.id for info in page.items], page.has_more


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()


@dataclass(frozen=True)
class History:
    repo: str
    root: str
    c1: str
    c2: str
    c3: str
    d1: str
    c4: str
    merge: str


@pytest.fixture
def history(env: Env) -> History:
    """The history drawn in the module docstring."""
    repo = "log"
    env.catalog.repositories.create(repo, "mem://log")
    root = env.catalog.branches.get(repo, "main").commit_id
    env.upload(repo, "main", "a", b"a1")
    env.upload(repo, "main", "b/1", b"b1")
    c1 = env.commit(repo, "main", "C1", EPOCH + 10)
    env.upload(repo, "main", "a", b"a2")
    c2 = env.commit(repo, "main", "C2", EPOCH + 20)
    env.upload(repo, "main", "b/2", b"b2")
    c3 = env.commit(repo, "main", "C3", EPOCH + 30)
    env.run(env.catalog.branches.create(repo, "dev", "main"))
    env.upload(repo, "dev", "a", b"a3")
    env.upload(repo, "dev", "c/1", b"c1")
    d1 = env.commit(repo, "dev", "D1", EPOCH + 35)
    env.upload(repo, "main", "e", b"e1")
    c4 = env.commit(repo, "main", "C4", EPOCH + 40)
    merge = env.run(env.catalog.merges.merge(repo, "dev", "main", committer=COMMITTER))
    return History(repo, root, c1, c2, c3, d1, c4, merge)


def test_log_is_newest_first_and_follows_every_parent(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main") == ([h.merge, h.c4, h.d1, h.c3, h.c2, h.c1, h.root], False)
    assert env.log(h.repo, "dev") == ([h.d1, h.c3, h.c2, h.c1, h.root], False)
    assert env.log(h.repo, "main~1") == ([h.c4, h.c3, h.c2, h.c1, h.root], False)


def test_first_parent_leaves_merged_branches_out(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main", first_parent=True) == ([h.merge, h.c4, h.c3, h.c2, h.c1, h.root], False)


def test_objects_filter_lists_commits_that_changed_them(env: Env, history: History) -> None:
    """The merge brought dev's change of "a" to main, but merge commits are left out."""
    h = history
    assert env.log(h.repo, "main", objects=("a",)) == ([h.d1, h.c2, h.c1], False)
    assert env.log(h.repo, "main", objects=("e",)) == ([h.c4], False)
    assert env.log(h.repo, "main", objects=("b/1",)) == ([h.c1], False)
    assert env.log(h.repo, "main", objects=("missing",)) == ([], False)
    # Any of several objects.
    assert env.log(h.repo, "main", objects=("e", "c/1")) == ([h.c4, h.d1], False)
    # A folder is no object.
    assert env.log(h.repo, "main", objects=("b",)) == ([], False)


def test_prefixes_filter_lists_commits_that_changed_under_them(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main", prefixes=("b/",)) == ([h.c3, h.c1], False)
    assert env.log(h.repo, "main", prefixes=("c/",)) == ([h.d1], False)
    assert env.log(h.repo, "main", prefixes=("",)) == ([h.c4, h.d1, h.c3, h.c2, h.c1], False)
    assert env.log(h.repo, "main", prefixes=("z",)) == ([], False)
    # Objects and prefixes together: a commit matching either is listed.
    assert env.log(h.repo, "main", objects=("e",), prefixes=("b/",)) == ([h.c4, h.c3, h.c1], False)


def test_filters_with_first_parent(env: Env, history: History) -> None:
    """On the first-parent chain, dev's commit (and the merge) are out of sight."""
    h = history
    assert env.log(h.repo, "main", objects=("a",), first_parent=True) == ([h.c2, h.c1], False)
    assert env.log(h.repo, "main", prefixes=("c/",), first_parent=True) == ([], False)


def test_amount_and_limit(env: Env, history: History) -> None:
    """Without ``limit`` a full page says more may follow; with it the page is the answer."""
    h = history
    assert env.log(h.repo, "main", amount=2) == ([h.merge, h.c4], True)
    assert env.log(h.repo, "main", amount=2, limit=True) == ([h.merge, h.c4], False)
    assert env.log(h.repo, "main", objects=("a",), amount=2) == ([h.d1, h.c2], True)
    assert env.log(h.repo, "main", objects=("a",), amount=2, limit=True) == ([h.d1, h.c2], False)
    # A page that holds the last match says nothing more follows.
    assert env.log(h.repo, "main", objects=("a",), amount=3) == ([h.d1, h.c2, h.c1], False)
    assert env.log(h.repo, "main", objects=("e",), amount=1) == ([h.c4], False)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"first_parent": True},
        {"objects": ("a",)},
        {"prefixes": ("b/", "c/")},
        {"objects": ("a", "e"), "first_parent": True},
    ],
    ids=["all", "first-parent", "objects", "prefixes", "objects-first-parent"],
)
@pytest.mark.parametrize("amount", [1, 2, 3])
def test_pages_after_the_last_id_join_to_the_whole_log(
    env: Env, history: History, query: dict[str, Any], amount: int
) -> None:
    whole, more = env.log(history.repo, "main", **query)
    assert not more
    joined: list[str] = []
    after = ""
    for _ in range(len(whole) + 1):
        page, more = env.log(history.repo, "main", amount=amount, after=after, **query)
        assert len(page) <= amount
        joined.extend(page)
        if not more:
            break
        after = page[-1]
    assert joined == whole


def test_after_takes_a_ref_expression(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main", after="main~1") == ([h.d1, h.c3, h.c2, h.c1, h.root], False)
    assert env.log(h.repo, "main", after=h.c2[:12]) == ([h.c1, h.root], False)


def test_stop_at_ends_the_log_at_that_commit_inclusive(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main", stop_at=h.c3) == ([h.merge, h.c4, h.d1, h.c3], False)
    assert env.log(h.repo, "main", stop_at="dev") == ([h.merge, h.c4, h.d1], False)
    # With a filter the walk stops there even when that commit is not listed.
    assert env.log(h.repo, "main", objects=("a",), stop_at=h.c3) == ([h.d1], False)
    assert env.log(h.repo, "main", objects=("a",), stop_at=h.c2) == ([h.d1, h.c2], False)
    # The page fills exactly at the stop: nothing more follows.
    assert env.log(h.repo, "main", amount=4, stop_at=h.c3) == ([h.merge, h.c4, h.d1, h.c3], False)
    assert env.log(h.repo, "main", amount=3, stop_at=h.c3) == ([h.merge, h.c4, h.d1], True)
    # Paging continues up to the stop.
    assert env.log(h.repo, "main", after=h.d1, stop_at=h.c2) == ([h.c3, h.c2], False)


def test_since_keeps_newer_commits(env: Env, history: History) -> None:
    h = history
    assert env.log(h.repo, "main", since=EPOCH + 30) == ([h.merge, h.c4, h.d1, h.c3], False)
    assert env.log(h.repo, "main", since=EPOCH + 36) == ([h.merge, h.c4], False)
    assert env.log(h.repo, "main", since=EPOCH + 30, first_parent=True) == ([h.merge, h.c4, h.c3], False)
    assert env.log(h.repo, "main", since=EPOCH + 30, objects=("a",)) == ([h.d1], False)
    assert env.log(h.repo, "main", since=EPOCH + 30, amount=2) == ([h.merge, h.c4], True)
    assert env.log(h.repo, "main", since=EPOCH + 30, after=h.c4) == ([h.d1, h.c3], False)


def test_since_drops_what_is_reachable_only_through_older_commits(env: Env) -> None:
    """A commit dated back in the middle of the history hides its (newer) ancestors."""
    env.catalog.repositories.create("since", "mem://since")
    env.upload("since", "main", "a", b"1")
    newer_ancestor = env.commit("since", "main", "new", EPOCH + 20)
    env.upload("since", "main", "a", b"2")
    env.commit("since", "main", "dated back", EPOCH + 5)
    env.upload("since", "main", "a", b"3")
    head = env.commit("since", "main", "newest", EPOCH + 30)
    assert env.log("since", "main", since=EPOCH + 10) == ([head], False)
    whole, _ = env.log("since", "main")
    assert newer_ancestor in whole


def test_a_root_commit_changed_what_it_holds(env: Env, history: History) -> None:
    """A commit without parents (here, C1's tree committed as a root) is listed for every
    object and prefix it holds; the empty first commit of a repository for none."""
    h = history
    repo = env.graveler.get_repository(h.repo)
    c1 = env.catalog.commits.get(h.repo, h.c1).commit
    root = env.graveler.refs.put_commit(
        repo,
        Commit(
            tree_id=c1.tree_id,
            parents=(),
            committer=COMMITTER,
            message="orphan",
            creation_date=EPOCH,
            metadata=(),
            generation=1,
        ),
    )
    env.run(env.catalog.branches.create(h.repo, "orphan", root))
    assert env.log(h.repo, "orphan", objects=("a",)) == ([root], False)
    assert env.log(h.repo, "orphan", objects=("b/2",)) == ([], False)
    assert env.log(h.repo, "orphan", prefixes=("b/",)) == ([root], False)
    assert env.log(h.repo, "orphan", prefixes=("c/",)) == ([], False)
    assert h.root not in env.log(h.repo, "main", prefixes=("",))[0]


def test_touches_leaves_merge_commits_out(env: Env, history: History) -> None:
    h = history
    g = env.graveler
    repo = g.get_repository(h.repo)
    merge = g.get_commit(repo, h.merge)
    assert len(merge.parents) == 2
    # The merge changed "a" and "c/1" against its first parent...
    changed = [c.key for c in g.diff(repo, merge.parents[0], h.merge)]
    assert changed == ["a", "c/1"]
    # ...and is still not a commit that touched them.
    assert not touches(g, repo, h.merge, merge, ("a", "c/1"), ("",))
    d1 = g.get_commit(repo, h.d1)
    assert touches(g, repo, h.d1, d1, ("c/1",), ())
    assert touches(g, repo, h.d1, d1, (), ("c/",))
    assert not touches(g, repo, h.d1, d1, ("b/1",), ("b/",))


def test_content_uploaded_again_is_no_change_for_either_filter(env: Env) -> None:
    """A commit that uploaded the bytes "a" already held changed nothing the catalog's
    diff reports; the objects filter must agree with the prefixes filter and the diff."""
    env.catalog.repositories.create("again", "mem://again")
    env.upload("again", "main", "a", b"same")
    first = env.commit("again", "main", "first")
    env.upload("again", "main", "a", b"same")
    again = env.commit("again", "main", "same bytes again")
    diff = env.run(env.catalog.diffs.refs("again", first, again, kind="two_dot", amount=10))
    assert diff.items == []
    assert env.log("again", "main", prefixes=("a",)) == ([first], False)
    assert env.log("again", "main", objects=("a",)) == ([first], False)
