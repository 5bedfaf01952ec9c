"""Model-based test of the catalog's differences: uncommitted, two-dot and three-dot.

A hypothesis state machine drives a real :class:`Catalog` (SQLite metadata store in a
temporary directory, in-memory blockstore, committed store comparing entries with
:func:`same_content`) through random uploads, deletions, resets, commits and merges on
two branches, ``main`` (the left side) and ``dev`` (the right side, branched from a
random committed base), and mirrors them on plain dictionaries ``{path: content}``.

Content is what :func:`same_content` compares (bytes, content type, user metadata), so
the same bytes uploaded twice are one content: never a difference. The model computes:

* uncommitted: a branch's staged view against its head commit;
* two-dot: the left branch's head commit against the right ref as it reads (a plain
  branch with its staging, ``dev@`` without);
* three-dot: the right head against the merge base (the common ancestor of highest
  generation, ties to the smallest id), as a merge of right into left sees it: paths
  where the sides agree or right kept the base are dropped, paths where left kept the
  base are reported with their two-dot kind, others are conflicts.

After every step every listing must equal the model (paths, kinds, and the size,
checksum, content type and metadata of both sides); a paging rule lists with a small
``amount``, following ``after``, under a prefix, optionally folded at ``/``, and the
pages joined must be the model's folded listing.

A rule uploads the content a path already holds once more, so that equal content in
other bytes is frequent. Runs 60 examples of up to 30 steps (about 20 s); the tests after
the model pin down, one by one, the cases of content uploaded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import history_model
import pytest
from catalog_env import CatalogEnv
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from limnos.catalog.entry import Entry
from limnos.catalog.listing import Listed
from limnos.catalog.results import Difference, Page
from limnos.errors import Conflict, Invalid, NotFound
from limnos.graveler.model import Commit

DEFAULT_TYPE = "application/octet-stream"
COMMITTER = "model"
#: Few paths, some under others' folders ("b" and "b/c"), two levels deep under "e/", and
#: one ending with the delimiter ("b/": a common prefix at the top, an object under "b/").
PATHS = ["a", "b", "b/", "b/c", "b/d", "e/f/g", "e/h"]
PREFIXES = ["", "b", "b/", "e/", "e/f/"]
SIDES = ["main", "dev"]
STRATEGIES = ["", "dest-wins", "source-wins"]


@dataclass(frozen=True, order=True)
class Content:
    """What makes two objects the same for diff and merge (see ``same_content``)."""

    data: bytes
    content_type: str = ""
    metadata: tuple[tuple[str, str], ...] = ()

    def described(self) -> tuple[int, str, str, tuple[tuple[str, str], ...]]:
        """Size, checksum (the in-memory blockstore's MD5), content type and metadata."""
        checksum = hashlib.md5(self.data, usedforsecurity=False).hexdigest()
        return len(self.data), checksum, self.content_type or DEFAULT_TYPE, self.metadata


#: A small alphabet, so that equal contents are frequent; the last two share the bytes
#: of the first and differ from it in content type or metadata only.
CONTENTS = [
    Content(b"x"),
    Content(b"yy"),
    Content(b"x", "text/plain"),
    Content(b"x", "", (("k", "v"),)),
]
contents = st.sampled_from(CONTENTS)
paths = st.sampled_from(PATHS)
sides = st.sampled_from(SIDES)

Snapshot = Mapping[str, Content]
Expected = dict[str, tuple[str, Content | None, Content | None]]

#: The listings checked after every step: (kind, left, right).
LISTINGS = [
    ("uncommitted", "main", ""),
    ("uncommitted", "dev", ""),
    ("two_dot", "main", "dev"),
    ("two_dot", "dev", "main"),
    ("two_dot", "main", "dev@"),
    ("three_dot", "main", "dev"),
    ("three_dot", "dev", "main"),
]


def observed(entry: Entry | None) -> tuple[int, str, str, tuple[tuple[str, str], ...]] | None:
    if entry is None:
        return None
    return entry.size, entry.checksum, entry.content_type, entry.metadata


def described(content: Content | None) -> tuple[int, str, str, tuple[tuple[str, str], ...]] | None:
    return None if content is None else content.described()


def kind_of(left: Content | None, right: Content | None) -> str:
    if left is None:
        return "added"
    if right is None:
        return "removed"
    return "changed"


def two_dot(left: Snapshot, right: Snapshot) -> Expected:
    """Paths whose content differs between two states."""
    return {
        path: (kind_of(left.get(path), right.get(path)), left.get(path), right.get(path))
        for path in sorted(set(left) | set(right))
        if left.get(path) != right.get(path)
    }


def three_dot(base: Snapshot, left: Snapshot, right: Snapshot) -> Expected:
    """What right changed since ``base``, as a merge of right into left sees it."""
    expected: Expected = {}
    for path, (kind, was, now) in two_dot(left, right).items():
        if now == base.get(path):
            continue  # only left changed it
        expected[path] = (kind if was == base.get(path) else "conflict", was, now)
    return expected


def three_way(
    base: Snapshot, dest: Snapshot, source: Snapshot, strategy: str
) -> tuple[dict[str, Content], list[str]]:
    """The three-way merge of ``source`` into ``dest``: the result and the conflicts."""
    result = dict(dest)
    conflicts: list[str] = []
    for path in sorted(set(base) | set(dest) | set(source)):
        b, d, s = base.get(path), dest.get(path), source.get(path)
        if s == b or d == s:
            continue
        if d == b or strategy == "source-wins":
            if s is None:
                del result[path]
            else:
                result[path] = s
        elif strategy == "":
            conflicts.append(path)
    return result, conflicts


def folded(keys: list[str], prefix: str, delimiter: str) -> list[tuple[str, bool]]:
    """The model's listing of ``keys`` under ``prefix``: (path, is a common prefix)."""
    listed: list[tuple[str, bool]] = []
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        item = (key[: cut + len(delimiter)], True) if cut >= 0 else (key, False)
        if not listed or listed[-1] != item:
            listed.append(item)
    return listed


class Env(CatalogEnv):
    """One real catalog for a whole test; every example works in a repository of its own."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.created = 0

    def new_repository(self) -> str:
        self.created += 1
        name = f"model-{self.created}"
        self.catalog.repositories.create(name, f"mem://{name}")
        return name


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()


def upload(env: Env, repo: str, branch: str, path: str, content: Content) -> None:
    async def go() -> None:
        writer = env.catalog.uploads.begin(repo, branch, path)
        await writer.add(content.data)
        await writer.finish(content_type=content.content_type, metadata=dict(content.metadata))

    env.run(go())


@dataclass(frozen=True)
class ModelCommit:
    snapshot: Snapshot
    parents: tuple[str, ...]
    generation: int


class DiffMachine(RuleBasedStateMachine):
    """Two branches of one repository changed at random; every diff checked against dicts."""

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.catalog = env.catalog
        self.call = env.run
        self.repo = env.new_repository()
        root = self.catalog.branches.get(self.repo, "main").commit_id
        self.commits: dict[str, ModelCommit] = {root: ModelCommit({}, (), 1)}
        self.heads: dict[str, str] = {"main": root}
        self.staging: dict[str, dict[str, Content | None]] = {"main": {}}
        self.counter = 0

    # the model ----------------------------------------------------------------------

    def message(self, what: str) -> str:
        self.counter += 1
        return f"{what} #{self.counter}"

    def head(self, branch: str) -> Snapshot:
        return self.commits[self.heads[branch]].snapshot

    def view(self, branch: str) -> dict[str, Content]:
        """What a branch reads: its head with its staging applied."""
        result = dict(self.head(branch))
        for path, content in self.staging[branch].items():
            if content is None:
                result.pop(path, None)
            else:
                result[path] = content
        return result

    def merge_base(self, left: str, right: str) -> str | None:
        return history_model.merge_base(self.commits, left, right)

    def add_commit(self, branch: str, commit_id: str, snapshot: Snapshot, parents: tuple[str, ...]) -> None:
        generation = 1 + max(self.commits[p].generation for p in parents)
        known = self.commits.get(commit_id)
        commit = ModelCommit(dict(snapshot), parents, generation)
        assert known is None or known == commit, commit_id
        self.commits[commit_id] = commit
        self.heads[branch] = commit_id

    def expected(self, kind: str, left: str, right: str) -> Expected:
        if kind == "uncommitted":
            return two_dot(self.head(left), self.view(left))
        if kind == "two_dot":
            right_view = self.head(right[:-1]) if right.endswith("@") else self.view(right)
            return two_dot(self.head(left), right_view)
        base = self.merge_base(self.heads[left], self.heads[right])
        base_snapshot = {} if base is None else self.commits[base].snapshot
        return three_dot(base_snapshot, self.head(left), self.head(right))

    # the catalog --------------------------------------------------------------------

    def page(
        self,
        kind: str,
        left: str,
        right: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        amount: int = 1000,
    ) -> Page[Listed[Difference]]:
        diffs = self.catalog.diffs
        if kind == "uncommitted":
            return diffs.uncommitted(
                self.repo, left, prefix=prefix, delimiter=delimiter, after=after, amount=amount
            )
        return self.call(
            diffs.refs(
                self.repo,
                left,
                right,
                kind=kind,  # type: ignore[arg-type]
                prefix=prefix,
                delimiter=delimiter,
                after=after,
                amount=amount,
            )
        )

    def commit(self, branch: str) -> None:
        """Commit a branch; without changes in bytes the catalog refuses (then the view
        equals the head in content) and drops the no-op staged entries."""
        view = self.view(branch)
        parent = self.heads[branch]
        try:
            info = self.call(
                self.catalog.commits.commit(
                    self.repo, branch, committer=COMMITTER, message=self.message("commit")
                )
            )
        except Invalid:
            assert view == self.head(branch), "a commit with changes was refused"
            event("commit: no changes")
        else:
            assert info.commit.parents == (parent,)
            self.add_commit(branch, info.id, view, (parent,))
            event("commit: ok")
        self.staging[branch].clear()

    @initialize(base=st.dictionaries(paths, contents, max_size=len(PATHS)))
    def start(self, base: dict[str, Content]) -> None:
        """Commit a base state on main, then branch dev from it."""
        for path, content in sorted(base.items()):
            upload(self.env, self.repo, "main", path, content)
            self.staging["main"][path] = content
        self.commit("main")
        dev = self.call(self.catalog.branches.create(self.repo, "dev", "main"))
        assert dev == self.heads["main"]
        self.heads["dev"] = dev
        self.staging["dev"] = {}

    # steps --------------------------------------------------------------------------

    def put(self, branch: str, path: str, content: Content) -> None:
        note(f"put {branch} {path} {content}")
        upload(self.env, self.repo, branch, path, content)
        self.staging[branch][path] = content

    def delete(self, branch: str, path: str) -> None:
        """Deleting a missing path succeeds and stages nothing."""
        note(f"delete {branch} {path}")
        self.call(self.catalog.objects.delete(self.repo, branch, path))
        if path in self.view(branch):
            self.staging[branch][path] = None

    @rule(
        branch=sides,
        puts=st.dictionaries(paths, contents, min_size=1, max_size=3),
        deletes=st.lists(paths, max_size=2),
        commit=st.sampled_from([False, False, True]),
    )
    def change(self, branch: str, puts: dict[str, Content], deletes: list[str], commit: bool) -> None:
        """Upload and delete a few paths, and often commit them at once (histories
        diverge faster)."""
        for path, content in sorted(puts.items()):
            self.put(branch, path, content)
        for path in deletes:
            self.delete(branch, path)
        if commit:
            self.commit(branch)

    @rule(branch=sides, path=paths, committed=st.booleans(), commit=st.booleans())
    def upload_again(self, branch: str, path: str, committed: bool, commit: bool) -> None:
        """Upload the content the branch reads (or its head holds) at a path once more:
        new bytes in storage, a new entry, the same content."""
        content = (self.head(branch) if committed else self.view(branch)).get(path)
        if content is not None:
            self.put(branch, path, content)
            if commit:
                self.commit(branch)

    @precondition(lambda self: any(self.staging.values()))
    @rule(branch=sides, path=paths)
    def reset_object(self, branch: str, path: str) -> None:
        note(f"reset {branch} {path}")
        self.catalog.branches.reset(self.repo, branch, "object", path)
        self.staging[branch].pop(path, None)

    @precondition(lambda self: any(self.staging.values()))
    @rule(branch=sides)
    def commit_branch(self, branch: str) -> None:
        """Commit a branch with staged entries (the other one when this one has none)."""
        if not self.staging[branch]:
            branch = "dev" if branch == "main" else "main"
        note(f"commit {branch}")
        self.commit(branch)

    @precondition(lambda self: self.heads["main"] != self.heads["dev"])
    @rule(source=sides, strategy=st.sampled_from(STRATEGIES))
    def merge(self, source: str, strategy: str) -> None:
        """Merge one branch into the other (committed first), moving the merge base."""
        dest = "dev" if source == "main" else "main"
        note(f"merge {source} into {dest} strategy={strategy!r}")
        if self.staging[dest]:
            self.commit(dest)
        head, source_head = self.heads[dest], self.heads[source]
        base = self.merge_base(head, source_head)
        base_snapshot = {} if base is None else self.commits[base].snapshot
        merged, conflicts = three_way(base_snapshot, self.head(dest), self.head(source), strategy)
        try:
            commit_id = self.call(
                self.catalog.merges.merge(
                    self.repo,
                    source,
                    dest,
                    committer=COMMITTER,
                    message=self.message("merge"),
                    strategy=strategy,
                )
            )
        except Conflict:
            assert conflicts, "a merge without conflicts failed"
            event("merge: conflict")
            return
        except Invalid:
            assert not conflicts and merged == self.head(dest), "a merge with changes was refused"
            event("merge: no changes")
            return
        assert not conflicts, f"a merge with conflicts {conflicts} succeeded"
        # Where dest's tree is the base's tree (which the model cannot tell from equal
        # content), the merge takes the source tree as it is: the same content in other
        # bytes (uploaded again) is then a change to commit.
        fast_forward = self.head(dest) == base_snapshot
        assert fast_forward or merged != self.head(dest), "a merge without changes succeeded"
        self.add_commit(dest, commit_id, merged, (head, source_head))
        event("merge: ok")

    @rule(
        listing=st.sampled_from(LISTINGS),
        prefix=st.sampled_from(PREFIXES),
        delimiter=st.sampled_from(["", "/"]),
        amount=st.integers(1, 3),
    )
    def pages(self, listing: tuple[str, str, str], prefix: str, delimiter: str, amount: int) -> None:
        """Pages under a prefix, of a few items, joined: the model's listing."""
        self.check_pages(listing, prefix, delimiter, amount)

    # checks -------------------------------------------------------------------------

    def check_difference(self, expected: Expected, diff: Difference, listing: tuple[str, str, str]) -> None:
        assert diff.path in expected, (listing, diff)
        kind, left, right = expected[diff.path]
        assert diff.kind == kind, (listing, diff.path, diff.kind, kind)
        assert observed(diff.left) == described(left), (listing, diff.path, "left")
        assert observed(diff.right) == described(right), (listing, diff.path, "right")
        # lakeFS reports 0 for a path an uncommitted change removes, else the size on the
        # side that has the object (right first).
        shown = right if listing[0] == "uncommitted" else right or left
        assert diff.size == (shown or Content(b"")).described()[0]

    def check_pages(self, listing: tuple[str, str, str], prefix: str, delimiter: str, amount: int) -> None:
        """Pages of ``amount`` followed by ``after`` join to the model's folded listing."""
        kind, left, right = listing
        expected = self.expected(kind, left, right)
        want = folded(list(expected), prefix, delimiter)
        got: list[tuple[str, bool]] = []
        after = ""
        for _ in range(len(want) + 1):
            page = self.page(
                kind, left, right, prefix=prefix, delimiter=delimiter, after=after, amount=amount
            )
            assert len(page.items) <= amount
            for item in page.items:
                got.append((item.path, item.is_prefix))
                if not item.is_prefix:
                    assert item.value is not None
                    self.check_difference(expected, item.value, listing)
            if not page.has_more:
                break
            assert page.items, "an empty page says more follow"
            after = page.items[-1].path
        assert got == want, (listing, prefix, delimiter, amount)

    @invariant()
    def listings_agree(self) -> None:
        """Every listing is the model's: whole, and one item a page (folded at "/" or not)."""
        for listing in LISTINGS:
            expected = self.expected(*listing)
            page = self.page(*listing)
            assert not page.has_more
            assert [item.path for item in page.items] == list(expected), listing
            for item in page.items:
                assert item.value is not None
                self.check_difference(expected, item.value, listing)
            # One item a page, with and without folding at "/".
            self.check_pages(listing, "", "", 1)
            self.check_pages(listing, "", "/", 1)


def test_diffs_agree_with_the_model(env: Env) -> None:
    run_state_machine_as_test(
        lambda: DiffMachine(env),
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            # One failure shrunk, not each kind found: shrinking these examples is slow.
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


# The same bytes uploaded again -----------------------------------------------------


def _two_branches(env: Env, base: dict[str, Content]) -> str:
    repo = env.new_repository()
    for path, content in base.items():
        upload(env, repo, "main", path, content)
    env.run(env.catalog.commits.commit(repo, "main", committer=COMMITTER, message="base"))
    env.run(env.catalog.branches.create(repo, "dev", "main"))
    return repo


def _commit(env: Env, repo: str, branch: str, message: str) -> None:
    env.run(env.catalog.commits.commit(repo, branch, committer=COMMITTER, message=message))


def _paths(page: Page[Listed[Difference]]) -> list[tuple[str, str]]:
    return [(item.path, item.value.kind if item.value is not None else "prefix") for item in page.items]


def test_re_uploaded_bytes_are_no_uncommitted_change(env: Env) -> None:
    x = Content(b"x")
    repo = _two_branches(env, {"a": x})
    upload(env, repo, "main", "a", x)
    assert _paths(env.catalog.diffs.uncommitted(repo, "main", amount=10)) == []


def test_two_dot_ignores_staged_bytes_equal_to_the_left_side(env: Env) -> None:
    """dev changed "a" and committed, then staged the left side's content again: as dev
    reads, "a" is what main has, so two-dot reports nothing."""
    x, y = Content(b"x"), Content(b"yy")
    repo = _two_branches(env, {"a": x})
    upload(env, repo, "dev", "a", y)
    _commit(env, repo, "dev", "y")
    upload(env, repo, "dev", "a", x)
    page = env.run(env.catalog.diffs.refs(repo, "main", "dev", kind="two_dot", amount=10))
    assert _paths(page) == []


def test_three_dot_drops_a_path_right_re_uploaded_unchanged(env: Env) -> None:
    """dev uploaded the base content of "a" again, main changed it: merging dev into main
    brings nothing (the merge says so), and three-dot must agree."""
    x, y = Content(b"x"), Content(b"yy")
    repo = _two_branches(env, {"a": x})
    upload(env, repo, "dev", "a", x)
    _commit(env, repo, "dev", "x again")
    upload(env, repo, "main", "a", y)
    _commit(env, repo, "main", "y")
    page = env.run(env.catalog.diffs.refs(repo, "main", "dev", kind="three_dot", amount=10))
    with pytest.raises(Invalid):  # no changes to merge
        env.run(env.catalog.merges.merge(repo, "dev", "main", committer=COMMITTER))
    assert _paths(page) == []


def test_three_dot_reports_no_conflict_where_left_re_uploaded_unchanged(env: Env) -> None:
    """main uploaded the base content of "a" again, dev changed it: the merge takes dev's
    change without conflict, and three-dot reports it as "changed"."""
    x, y = Content(b"x"), Content(b"yy")
    repo = _two_branches(env, {"a": x})
    upload(env, repo, "main", "a", x)
    _commit(env, repo, "main", "x again")
    upload(env, repo, "dev", "a", y)
    _commit(env, repo, "dev", "y")
    page = env.run(env.catalog.diffs.refs(repo, "main", "dev", kind="three_dot", amount=10))
    assert _paths(page) == [("a", "changed")]
    env.run(env.catalog.merges.merge(repo, "dev", "main", committer=COMMITTER))


# Refs the diff cannot or need not compare ----------------------------------------------


def test_diffs_of_missing_refs_are_not_found(env: Env) -> None:
    repo = _two_branches(env, {"a": Content(b"x")})
    with pytest.raises(NotFound):
        env.catalog.diffs.uncommitted(repo, "nope", amount=10)
    with pytest.raises(NotFound):
        env.catalog.diffs.uncommitted(repo, "main~1", amount=10)
    for left, right in (("nope", "main"), ("main", "nope")):
        for kind in ("two_dot", "three_dot"):
            with pytest.raises(NotFound):
                env.run(env.catalog.diffs.refs(repo, left, right, kind=kind, amount=10))  # type: ignore[arg-type]


def test_three_dot_without_a_common_ancestor_sees_everything_as_new(env: Env) -> None:
    """Right's paths are added where left lacks them and conflicts where left has other
    content; paths only left has, or both hold alike, are not reported."""
    x, y = Content(b"x"), Content(b"yy")
    repo = _two_branches(env, {"same": x, "differs": x, "left-only": x})
    g = env.graveler
    record = g.get_repository(repo)
    upload(env, repo, "dev", "differs", y)
    upload(env, repo, "dev", "right-only", y)
    env.run(env.catalog.objects.delete(repo, "dev", "left-only"))
    tree = env.run(env.catalog.commits.commit(repo, "dev", committer=COMMITTER, message="dev")).commit.tree_id
    orphan = g.refs.put_commit(
        record,
        Commit(
            tree_id=tree,
            parents=(),
            committer=COMMITTER,
            message="orphan",
            creation_date=0,
            metadata=(),
            generation=1,
        ),
    )
    page = env.run(env.catalog.diffs.refs(repo, "main", orphan, kind="three_dot", amount=10))
    assert _paths(page) == [("differs", "conflict"), ("right-only", "added")]


def test_three_dot_against_an_ancestor_is_empty(env: Env) -> None:
    repo = _two_branches(env, {"a": Content(b"x")})
    upload(env, repo, "main", "a", Content(b"yy"))
    upload(env, repo, "main", "b", Content(b"x"))
    _commit(env, repo, "main", "ahead")
    page = env.run(env.catalog.diffs.refs(repo, "main", "dev", kind="three_dot", amount=10))
    assert page.items == [] and not page.has_more
    # The other way round, everything main did since.
    page = env.run(env.catalog.diffs.refs(repo, "dev", "main", kind="three_dot", amount=10))
    assert _paths(page) == [("a", "changed"), ("b", "added")]
