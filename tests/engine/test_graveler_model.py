"""Model-based test of the versioning engine.

A hypothesis state machine drives a real :class:`Graveler` (SQLite metadata store in a
temporary directory, in-memory blockstore, real committed tree store) through random
sequences of writes, deletes, commits, branch creations and deletions, resets, merges,
reverts and cherry-picks, and mirrors every operation on a plain in-memory model:

* a commit is a snapshot ``{key: value}`` plus its parents and generation;
* a branch is a head commit plus a staging dictionary ``{key: value | None}`` (None
  stands for a staged deletion);
* a merge is the textbook three-way merge against the best common ancestor (the common
  ancestor of highest generation, ties broken by the smallest id, as
  :func:`limnos.graveler.history.merge_base` documents);
* a revert of C merges C's parent into the branch with C as the base; a cherry-pick
  merges C into the branch with C's parent as the base.

After every step the engine must agree with the model on every branch head, every
key read from every branch (staged view), every ordered listing (with prefixes and
start keys), the committed view (``branch@``), every commit's snapshot and parents,
and the uncommitted diff of every branch. Every operation must also succeed or fail
exactly as the model predicts (not found, already exists, dirty branch, no changes,
merge conflict, precondition failed, ...).

Engine behaviours the model pins down: a commit without effective changes raises
NoChangesError and drops the (no-op) staged entries; a merge, revert or cherry-pick
computes its tree before checking the branch is clean, so on a dirty branch with
conflicts either MergeConflictError or DirtyBranchError is accepted.

Runs 100 examples of up to 50 steps (about 10-15 s); ``--hypothesis-show-statistics``
shows how often each operation succeeded or failed, and with which error.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import history_model
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from limnos.block.mem import MemAdapter
from limnos.graveler import merge as merging
from limnos.graveler.committed import CommittedStore, MergeConflictError
from limnos.graveler.engine import Change, Graveler, change_kind
from limnos.graveler.errors import (
    AlreadyExistsError,
    ConflictError,
    DirtyBranchError,
    ForbiddenError,
    NoChangesError,
    NotFoundError,
    PreconditionFailedError,
    ValidationError,
)
from limnos.kv.sqlite import SQLiteStore

T = TypeVar("T")

#: 20 keys in a few folders, chosen so that prefixes overlap ("a/1" is a prefix of
#: "a/10" and of "a/1/x", "c/x" of "c/x/1", "b/sub/" is not one of "b/sub0") and one
#: key is not ASCII (byte order and code point order must agree).
KEYS = [
    "a", "a/1", "a/1/x", "a/10", "a/2", "a0", "ab",
    "b/1", "b/2", "b/sub/1", "b/sub/2", "b/sub0",
    "c/1", "c/x", "c/x/1", "c/x/2", "c/y", "c/\u00e9",
    "d", "d/1",
]  # fmt: skip
#: Few values, so that both sides of a merge often make the same change.
VALUES = [b"v0", b"v1", b"v2", b"v3"]
PREFIXES = ["a", "a/", "a/1", "b/sub/", "c/x", "c/\u00e9", "d/", "zz"]
STARTS = ["a/10", "b/", "b/sub0", "c/x/1", "d/0", "zz"]
STRATEGIES = ["", "dest-wins", "source-wins"]
MAX_BRANCHES = 5
COMMITTER = "model"

REF_KINDS = ["branch", "branch", "branch@", "commit", "short", "first-parent", "second-parent"]

#: Two draws in three hit a few hot keys, so that branches often change the same keys.
HOT_KEYS = st.sampled_from(["a/1", "b/sub/1", "c/x"])
keys = st.one_of(st.sampled_from(KEYS), HOT_KEYS, HOT_KEYS)
values = st.sampled_from(VALUES)
#: Picks a branch or a commit by position (see GravelerMachine).
picks = st.integers(0, 255)
refs = st.tuples(st.sampled_from(REF_KINDS), picks)

Snapshot = Mapping[str, bytes]
Staging = dict[str, bytes | None]
Outcome = type[BaseException] | tuple[type[BaseException], ...] | None


@dataclass(frozen=True)
class ModelCommit:
    """A commit of the model."""

    snapshot: Snapshot
    parents: tuple[str, ...]
    generation: int


def apply_staging(snapshot: Snapshot, staging: Staging) -> dict[str, bytes]:
    """The snapshot with staged values written and staged deletions removed."""
    result = dict(snapshot)
    for key, value in staging.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def three_way(
    base: Snapshot, dest: Snapshot, source: Snapshot, strategy: str
) -> tuple[dict[str, bytes], list[str]]:
    """The textbook three-way merge of ``source`` into ``dest``; returns (result, conflicts).

    A key changed on one side only takes that side's value; a key changed on both sides
    to the same value keeps it; a key changed differently on both sides (deletion
    included) is a conflict, settled by ``strategy`` when it is not empty.
    """
    result = dict(dest)
    conflicts: list[str] = []
    for key in sorted(set(base) | set(dest) | set(source)):
        b, d, s = base.get(key), dest.get(key), source.get(key)
        if s == b or d == s:
            continue
        if d == b or strategy == "source-wins":
            if s is None:
                del result[key]
            else:
                result[key] = s
        elif strategy == "":
            conflicts.append(key)
    return result, conflicts


def listing(view: Snapshot, *, start: str = "", prefix: str = "") -> list[tuple[str, bytes]]:
    """The model's ordered listing of ``view``."""
    return [(k, view[k]) for k in sorted(view) if k >= start and k.startswith(prefix)]


class GravelerMachine(RuleBasedStateMachine):
    """Random operations on a Graveler repository, checked against a plain model.

    Rules draw plain integers and pick branches and commits with them by position
    (``pick``), never with draws shaped by the model's state: commit ids hash the
    commit time, so anything ordered by id differs from one run to the next, and data
    generation must not.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="limnos-model-"))
        self.kv = SQLiteStore(self.tmp / "metadata.db")
        self.block = MemAdapter()
        self.committed = CommittedStore(self.block)
        self.g = Graveler(self.kv, self.block, self.committed)
        self.repo = self.g.create_repository("model", "mem://model")
        root = self.g.get_branch(self.repo, "main").commit_id
        self.commits: dict[str, ModelCommit] = {root: ModelCommit({}, (), 1)}
        #: Commits in creation order (an id made twice is listed twice).
        self.created: list[str] = [root]
        self.heads: dict[str, str] = {"main": root}
        self.staging: dict[str, Staging] = {"main": {}}
        self.verified: set[str] = set()
        self.counter = 0

    def teardown(self) -> None:
        self.committed.close()
        self.kv.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # model helpers ------------------------------------------------------------------

    def _message(self, what: str) -> str:
        self.counter += 1
        return f"{what} #{self.counter}"

    def branch(self, n: int) -> str:
        names = sorted(self.heads)
        return names[n % len(names)]

    def commit_at(self, n: int) -> str:
        return self.created[n % len(self.created)]

    def head_snapshot(self, branch: str) -> Snapshot:
        return self.commits[self.heads[branch]].snapshot

    def view(self, branch: str) -> dict[str, bytes]:
        """What a branch reads: its head snapshot with its staging applied."""
        return apply_staging(self.head_snapshot(branch), self.staging[branch])

    def dirty(self, branch: str) -> bool:
        """Any staged entry makes a branch dirty (even one that changes nothing)."""
        return bool(self.staging[branch])

    def merge_base(self, left: str, right: str) -> str | None:
        return history_model.merge_base(self.commits, left, right)

    def add_commit(self, commit_id: str, snapshot: Snapshot, parents: tuple[str, ...]) -> None:
        generation = 1 + max(self.commits[p].generation for p in parents)
        commit = ModelCommit(dict(snapshot), parents, generation)
        known = self.commits.get(commit_id)
        # Commit ids are content hashes: seeing one again means seeing the same commit.
        assert known is None or known == commit, (commit_id, known, commit)
        self.commits[commit_id] = commit
        self.created.append(commit_id)

    def ref(self, kind: str, n: int) -> tuple[str, str | None]:
        """A ref expression and the commit the model resolves it to (None: not found)."""
        if kind in ("commit", "short"):
            commit_id = self.commit_at(n)
            return (commit_id if kind == "commit" else commit_id[:12]), commit_id
        branch = self.branch(n)
        head = self.heads[branch]
        parents = self.commits[head].parents
        if kind == "branch":
            return branch, head
        if kind == "branch@":
            return f"{branch}@", head
        if kind == "first-parent":
            return f"{branch}~1", parents[0] if parents else None
        return f"{branch}^2", parents[1] if len(parents) > 1 else None

    @staticmethod
    def unresolved(expr: str) -> type[BaseException]:
        """What resolving ``expr`` raises when the model finds no commit for it: as in
        lakeFS, history too short for ``~N`` is not found, and a missing ``^N`` parent makes
        the ref invalid."""
        return ValidationError if "^" in expr else NotFoundError

    def run(self, what: str, operation: Callable[[], T], expected: Outcome) -> T | None:
        """Run an engine operation; it must raise exactly ``expected`` (None: succeed)."""
        allowed = () if expected is None else expected if isinstance(expected, tuple) else (expected,)
        note(f"{what}: expecting {[e.__name__ for e in allowed] or 'success'}")
        try:
            result = operation()
        except Exception as err:
            assert type(err) in allowed, f"{what}: expected {allowed or 'success'}, got {err!r}"
            event(f"{what.split()[0]}: {type(err).__name__}")
            return None
        assert not allowed, f"{what}: expected {allowed}, the operation succeeded"
        event(f"{what.split()[0]}: ok")
        return result

    def tree_outcome(self, branch: str, merged: Snapshot, conflicts: list[str], allow_empty: bool) -> Outcome:
        """The outcome of committing a merged tree onto a branch (merge, revert, pick).

        The engine computes the tree before looking at the branch's staging, so with
        conflicts on a dirty branch either error is acceptable.
        """
        if conflicts:
            return (MergeConflictError, DirtyBranchError) if self.dirty(branch) else MergeConflictError
        if self.dirty(branch):
            return DirtyBranchError
        if merged == self.head_snapshot(branch) and not allow_empty:
            return NoChangesError
        return None

    def parent_snapshot(self, commit_id: str, parent_number: int) -> Snapshot | None:
        """The snapshot revert/cherry-pick compare a commit with; None: invalid parent."""
        parents = self.commits[commit_id].parents
        if len(parents) > 1 and parent_number < 1:
            return None
        if parent_number > max(1, len(parents)):
            return None
        if not parents:
            return {}
        return self.commits[parents[max(parent_number, 1) - 1]].snapshot

    def do_commit(self, branch: str, allow_empty: bool) -> None:
        """Commit a branch in the engine and the model.

        A commit without effective changes fails and drops the (no-op) staged entries.
        """
        head = self.heads[branch]
        snapshot = self.view(branch)
        expected = NoChangesError if snapshot == self.head_snapshot(branch) and not allow_empty else None
        message = self._message("commit")
        commit_id = self.run(
            f"commit {branch} allow_empty={allow_empty}",
            lambda: self.g.commit(
                self.repo, branch, committer=COMMITTER, message=message, allow_empty=allow_empty
            ),
            expected,
        )
        self.staging[branch].clear()
        if commit_id is not None:
            self.add_commit(commit_id, snapshot, (head,))
            self.heads[branch] = commit_id

    def commit_first(self, branch: str, choice: int) -> None:
        """Mostly commit a dirty branch before merging into it, so that merges land."""
        if self.dirty(branch) and choice % 4:
            self.do_commit(branch, allow_empty=True)

    @initialize()
    def populate(self) -> None:
        """Commit half of the keys on main, then branch twice, so that histories diverge early."""
        self.g.set_many(self.repo, "main", [(k, VALUES[0]) for k in sorted(KEYS[::2])])
        self.staging["main"].update({k: VALUES[0] for k in KEYS[::2]})
        self.do_commit("main", allow_empty=False)
        for name in ("dev", "feature"):
            head = self.heads["main"]
            assert self.g.create_branch(self.repo, name, "main") == head
            self.heads[name] = head
            self.staging[name] = {}

    # writes -------------------------------------------------------------------------

    @rule(b=picks, key=keys, value=values, if_absent=st.booleans())
    def set(self, b: int, key: str, value: bytes, if_absent: bool) -> None:
        branch = self.branch(b)
        expected = PreconditionFailedError if if_absent and key in self.view(branch) else None
        self.run(
            f"set {branch} {key}={value!r} if_absent={if_absent}",
            lambda: self.g.set(self.repo, branch, key, value, if_absent=if_absent),
            expected,
        )
        if expected is None:
            self.staging[branch][key] = value

    @rule(b=picks, items=st.dictionaries(keys, values, min_size=1, max_size=5), commit=st.booleans())
    def set_many(self, b: int, items: dict[str, bytes], commit: bool) -> None:
        """Stage several values, often committing them at once (branches diverge faster)."""
        branch = self.branch(b)
        self.run(
            f"set_many {branch} {items}",
            lambda: self.g.set_many(self.repo, branch, sorted(items.items())),
            None,
        )
        self.staging[branch].update(items)
        if commit:
            self.do_commit(branch, allow_empty=False)

    @rule(b=picks, key=keys)
    def delete(self, b: int, key: str) -> None:
        branch = self.branch(b)
        expected = None if key in self.view(branch) else NotFoundError
        self.run(f"delete {branch} {key}", lambda: self.g.delete(self.repo, branch, key), expected)
        if expected is None:
            self.staging[branch][key] = None

    @rule(b=picks, victims=st.lists(keys, min_size=1, max_size=5, unique=True))
    def delete_many(self, b: int, victims: list[str]) -> None:
        """Deleting missing keys is allowed and still stages a (no-op) deletion."""
        branch = self.branch(b)
        self.run(
            f"delete_many {branch} {victims}",
            lambda: self.g.delete_many(self.repo, branch, victims),
            None,
        )
        for key in victims:
            self.staging[branch][key] = None

    @rule(
        b=picks, what=st.sampled_from(["branch", "key", "prefix"]), key=keys, prefix=st.sampled_from(PREFIXES)
    )
    def reset(self, b: int, what: str, key: str, prefix: str) -> None:
        """Drop all staged changes of a branch, those of one key, or those under a prefix."""
        branch = self.branch(b)
        staging = self.staging[branch]
        if what == "branch":
            self.run(f"reset_branch {branch}", lambda: self.g.reset_branch(self.repo, branch), None)
            staging.clear()
        elif what == "key":
            self.run(f"reset_key {branch} {key}", lambda: self.g.reset_key(self.repo, branch, key), None)
            staging.pop(key, None)
        else:
            self.run(
                f"reset_prefix {branch} {prefix}",
                lambda: self.g.reset_prefix(self.repo, branch, prefix),
                None,
            )
            for k in [k for k in staging if k.startswith(prefix)]:
                del staging[k]

    # commits and refs ---------------------------------------------------------------

    @rule(b=picks, allow_empty=st.booleans())
    def commit(self, b: int, allow_empty: bool) -> None:
        self.do_commit(self.branch(b), allow_empty)

    @rule(ref=refs, existing_name=st.booleans(), b=picks)
    def create_branch(self, ref: tuple[str, int], existing_name: bool, b: int) -> None:
        expr, target = self.ref(*ref)
        if existing_name or len(self.heads) >= MAX_BRANCHES:
            name = self.branch(b)
        else:
            name = f"b{self._message('branch').rsplit('#', 1)[1]}"
        expected: Outcome = None
        if target is None:
            expected = self.unresolved(expr)
        elif name in self.heads:
            expected = AlreadyExistsError
        commit_id = self.run(
            f"create_branch {name} from {expr}",
            lambda: self.g.create_branch(self.repo, name, expr),
            expected,
        )
        if expected is None:
            assert commit_id == target
            self.heads[name] = target
            self.staging[name] = {}

    @precondition(lambda self: len(self.heads) > 2)
    @rule(b=picks)
    def delete_branch(self, b: int) -> None:
        branch = self.branch(b)
        expected = ForbiddenError if branch == "main" else None
        self.run(f"delete_branch {branch}", lambda: self.g.delete_branch(self.repo, branch), expected)
        if expected is None:
            del self.heads[branch]
            del self.staging[branch]

    @rule(b=picks, ref=refs, force=st.booleans())
    def hard_reset(self, b: int, ref: tuple[str, int], force: bool) -> None:
        branch = self.branch(b)
        expr, target = self.ref(*ref)
        expected: Outcome = None
        if target is None:
            expected = self.unresolved(expr)
        elif self.dirty(branch) and not force:
            expected = DirtyBranchError
        self.run(
            f"hard_reset {branch} to {expr} force={force}",
            lambda: self.g.hard_reset(self.repo, branch, expr, force=force),
            expected,
        )
        if expected is None:
            assert target is not None
            self.heads[branch] = target
            self.staging[branch].clear()

    # merges -------------------------------------------------------------------------

    def do_merge(
        self,
        expr: str,
        source: str | None,
        dest: str,
        strategy: str,
        allow_empty: bool,
        squash: bool,
    ) -> None:
        """Merge ``expr`` (the model resolves it to ``source``) into ``dest``."""
        message = self._message("merge")
        what = f"merge {expr} into {dest} strategy={strategy!r} allow_empty={allow_empty} squash={squash}"

        def operation() -> str:
            return merging.merge(
                self.g,
                self.repo,
                expr,
                dest,
                committer=COMMITTER,
                message=message,
                strategy=strategy,
                allow_empty=allow_empty,
                squash=squash,
            )

        if source is None:
            self.run(what, operation, self.unresolved(expr))
            return
        head = self.heads[dest]
        base = self.merge_base(head, source)
        base_snapshot = {} if base is None else self.commits[base].snapshot
        dest_snapshot = self.head_snapshot(dest)
        source_snapshot = self.commits[source].snapshot
        merged, conflicts = three_way(base_snapshot, dest_snapshot, source_snapshot, strategy)
        if strategy and three_way(base_snapshot, dest_snapshot, source_snapshot, "")[1]:
            event(f"merge: conflicts settled by {strategy}")
        commit_id = self.run(what, operation, self.tree_outcome(dest, merged, conflicts, allow_empty))
        if commit_id is not None:
            self.add_commit(commit_id, merged, (head,) if squash else (head, source))
            self.heads[dest] = commit_id

    @rule(
        ref=refs,
        b=picks,
        strategy=st.sampled_from(STRATEGIES),
        allow_empty=st.booleans(),
        squash=st.booleans(),
        first=picks,
    )
    def merge(
        self,
        ref: tuple[str, int],
        b: int,
        strategy: str,
        allow_empty: bool,
        squash: bool,
        first: int,
    ) -> None:
        """Merge any ref (branch, commit, ``~1``, ``^2``...) into a branch."""
        dest = self.branch(b)
        self.commit_first(dest, first)
        expr, source = self.ref(*ref)
        self.do_merge(expr, source, dest, strategy, allow_empty, squash)

    @rule(s=picks, b=picks, strategy=st.sampled_from(STRATEGIES), first=picks)
    def merge_branches(self, s: int, b: int, strategy: str, first: int) -> None:
        """Merge one branch into another one (the case where conflicts arise)."""
        dest = self.branch(b)
        self.commit_first(dest, first)
        others = [name for name in sorted(self.heads) if name != dest]
        source = others[s % len(others)]
        self.do_merge(source, self.heads[source], dest, strategy, False, False)

    @rule(
        b=picks,
        c=picks,
        own_history=st.booleans(),
        parent_number=st.integers(0, 2),
        allow_empty=st.booleans(),
        first=picks,
    )
    def revert(
        self, b: int, c: int, own_history: bool, parent_number: int, allow_empty: bool, first: int
    ) -> None:
        """Revert merges the commit's parent into the branch, with the commit as the base."""
        branch = self.branch(b)
        self.commit_first(branch, first)
        head = self.heads[branch]
        if own_history:
            history = history_model.ancestors(self.commits, head)
            target = [x for x in self.created if x in history][c % len(history)]
        else:
            target = self.commit_at(c)
        message = self._message("revert")
        what = f"revert {target[:12]} on {branch} parent={parent_number} allow_empty={allow_empty}"

        def operation() -> str:
            return merging.revert(
                self.g,
                self.repo,
                branch,
                target,
                committer=COMMITTER,
                parent_number=parent_number,
                allow_empty=allow_empty,
                message=message,
            )

        parent = self.parent_snapshot(target, parent_number)
        if parent is None:
            # A merge commit with no parent chosen is a conflict for revert (as in lakeFS).
            no_parent = len(self.commits[target].parents) > 1 and parent_number < 1
            self.run(what, operation, ConflictError if no_parent else ValidationError)
            return
        merged, conflicts = three_way(self.commits[target].snapshot, self.head_snapshot(branch), parent, "")
        commit_id = self.run(what, operation, self.tree_outcome(branch, merged, conflicts, allow_empty))
        if commit_id is not None:
            self.add_commit(commit_id, merged, (head,))
            self.heads[branch] = commit_id

    @rule(b=picks, c=picks, parent_number=st.integers(0, 2), first=picks)
    def cherry_pick(self, b: int, c: int, parent_number: int, first: int) -> None:
        """Cherry-pick merges the commit into the branch, with its parent as the base."""
        branch = self.branch(b)
        self.commit_first(branch, first)
        head = self.heads[branch]
        target = self.commit_at(c)
        what = f"cherry_pick {target[:12]} onto {branch} parent={parent_number}"

        def operation() -> str:
            return merging.cherry_pick(
                self.g, self.repo, branch, target, committer=COMMITTER, parent_number=parent_number
            )

        parent = self.parent_snapshot(target, parent_number)
        if parent is None:
            self.run(what, operation, ValidationError)
            return
        merged, conflicts = three_way(parent, self.head_snapshot(branch), self.commits[target].snapshot, "")
        commit_id = self.run(what, operation, self.tree_outcome(branch, merged, conflicts, False))
        if commit_id is not None:
            self.add_commit(commit_id, merged, (head,))
            self.heads[branch] = commit_id

    # checks -------------------------------------------------------------------------

    def check_reads(self, ref: str, view: Snapshot, commit_id: str) -> None:
        """Every key, the full listing and the prefix/start listings of ``ref``."""
        resolved = self.g.resolve(self.repo, ref)
        assert resolved.commit_id == commit_id, ref
        for key in KEYS:
            assert self.g.get(self.repo, resolved, key) == view.get(key), (ref, key)

        def engine(**kw: Any) -> list[tuple[str, bytes]]:
            return list(self.g.iterate(self.repo, resolved, **kw))

        assert engine() == listing(view), ref
        for prefix in PREFIXES:
            assert engine(prefix=prefix) == listing(view, prefix=prefix), (ref, prefix)
        for start in STARTS:
            assert engine(start=start) == listing(view, start=start), (ref, start)
        assert engine(start="a/10", prefix="a/1") == listing(view, start="a/10", prefix="a/1"), ref

    @invariant()
    def branches_agree(self) -> None:
        """Branch heads, staged and committed reads, and uncommitted diffs match the model."""
        listed = {name: b.commit_id for name, b in self.g.list_branches(self.repo)}
        assert listed == self.heads
        for branch, head in self.heads.items():
            self.check_reads(branch, self.view(branch), head)
            committed = self.head_snapshot(branch)
            resolved = self.g.resolve(self.repo, f"{branch}@")
            assert resolved.commit_id == head
            assert list(self.g.iterate(self.repo, resolved)) == listing(committed), branch
            expected = [
                Change(key, change_kind(committed.get(key), value), committed.get(key), value)
                for key, value in sorted(self.staging[branch].items())
                if committed.get(key) != value
            ]
            assert list(self.g.diff_uncommitted(self.repo, branch)) == expected, branch
            for prefix in ("a/1", "c/"):
                assert list(self.g.diff_uncommitted(self.repo, branch, prefix=prefix)) == [
                    c for c in expected if c.key.startswith(prefix)
                ], (branch, prefix)
            assert self.g.is_dirty(self.g.get_branch(self.repo, branch)) == self.dirty(branch)

    @invariant()
    def commits_agree(self) -> None:
        """Every commit (checked once: commits are immutable) reads back its snapshot."""
        for commit_id in sorted(set(self.commits) - self.verified):
            model = self.commits[commit_id]
            commit = self.g.get_commit(self.repo, commit_id)
            assert commit.parents == model.parents, commit_id
            assert commit.generation == model.generation, commit_id
            self.check_reads(commit_id, model.snapshot, commit_id)
            self.verified.add(commit_id)
        for branch, head in self.heads.items():
            parents = self.commits[head].parents
            if parents:
                resolved = self.g.resolve(self.repo, f"{branch}~1")
                assert resolved.commit_id == parents[0]
                assert list(self.g.iterate(self.repo, resolved)) == listing(self.commits[parents[0]].snapshot)


GravelerMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestGravelerModel = GravelerMachine.TestCase
