"""Dumps of a repository's refs, and their restore: a backup of the metadata store's
records of one repository, kept in its own storage namespace.

A dump is three trees written with the committed store, like any commit's tree, so they
land under ``_lakefs/`` beside the ranges they refer to:

- commits: commit id -> the commit's canonical encoding (its id is the hash of it);
- tags: tag name -> the tag (commit id, creation date);
- branches: branch name -> the branch head commit id and whether it is hidden.

It also writes their ids to ``_lakefs/refs_manifest.json`` in the namespace.

Staged changes are not dumped (as in lakeFS): a restored branch starts with an empty
staging area. Restoring verifies everything it reads before any tag or branch is
written: each commit's id is the hash of its record, each parent, tag and branch names a
commit of the dump, and the repository's default branch is among the branches. Commits
go in first (content-addressed records that nothing refers to yet), then tags, then
branches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import msgspec

from limnos.block.adapter import ObjectNotFoundError, join_uri
from limnos.graveler.committed.rangefile import CorruptObjectError
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import ValidationError
from limnos.graveler.model import Branch, Commit, Repository, Tag, decode, encode
from limnos.graveler.names import check_branch_name, check_tag_name
from limnos.graveler.staging import new_token

T = TypeVar("T")
#: Called now and then by a long dump or restore (a task refreshing its status).
Tick = Callable[[], None]

#: Where a dump writes its ids in the storage namespace (lakeFS's name).
MANIFEST = "_lakefs/refs_manifest.json"
#: Records written to the metadata store per transaction.
BATCH = 5000
#: Records read or written between two calls of a restore's or a dump's ``tick``.
_TICK_EVERY = 1000


class RefsDump(msgspec.Struct, frozen=True):
    """The ids of the three trees (metaranges) of a dump."""

    commits_meta_range_id: str
    tags_meta_range_id: str
    branches_meta_range_id: str


class DumpedBranch(msgspec.Struct, frozen=True, array_like=True):
    """A branch as a dump holds it: its head commit, and whether listings hide it."""

    commit_id: str
    hidden: bool = False


def _nothing() -> None:
    pass


def _ticking(items: Iterable[T], tick: Tick) -> Iterator[T]:
    """``items``, calling ``tick`` every few of them (a long task's heartbeat)."""
    for count, item in enumerate(items, 1):
        if count % _TICK_EVERY == 0:
            tick()
        yield item


def dump(g: Graveler, repo: Repository, tick: Tick = _nothing) -> RefsDump:
    """Write the repository's commits, tags and branches as trees in its namespace.

    Branches and tags are read first: every commit they name exists by then (a commit
    is stored before any ref points at it, and none is ever removed), so the commits
    read afterwards include them all, whatever happens meanwhile.
    """
    branches = g.write_tree(
        repo,
        _ticking(
            ((name, encode(DumpedBranch(b.commit_id, b.hidden))) for name, b in g.list_branches(repo)), tick
        ),
    )
    tags = g.write_tree(repo, _ticking(((name, encode(tag)) for name, tag in g.list_tags(repo)), tick))
    commits = g.write_tree(repo, _ticking(g.refs.commit_records(repo), tick))
    refs = RefsDump(commits_meta_range_id=commits, tags_meta_range_id=tags, branches_meta_range_id=branches)
    # The latest dump's ids, where lakeFS keeps them too: the way back to a dump when
    # the metadata store (and the task status in it) is lost.
    manifest = msgspec.json.format(msgspec.json.encode(refs), indent=2)
    g.block.put_bytes(join_uri(repo.storage_namespace, MANIFEST), manifest)
    return refs


def check_restorable(g: Graveler, repo: Repository, refs: RefsDump, *, force: bool) -> None:
    """Refuse a restore that cannot start: into a repository that has branches or tags
    (unless ``force``), into a read-only one (the caller lifts that with ``force``), or
    from trees that are not stored in the repository's storage namespace."""
    if not force and _has_refs(g, repo):
        raise ValidationError(
            f"can only restore into a bare repository: repository {repo.name!r} has branches or tags"
            " (restore with force to replace the refs of the dump and keep the others)"
        )
    g.check_writable(repo)
    for tree_id in (refs.commits_meta_range_id, refs.tags_meta_range_id, refs.branches_meta_range_id):
        g.require_metarange(repo, tree_id)


def restore(g: Graveler, repo: Repository, refs: RefsDump, *, force: bool, tick: Tick = _nothing) -> None:
    """Load a dump into the repository: its commits, then its tags, then its branches.

    With ``force`` the repository need not be bare: the dump's tags and branches replace
    those of the same names (a replaced branch loses its staged changes), and every other
    ref stays. Raises ValidationError, before writing any tag or branch, when the dump
    does not hold together.
    """
    check_restorable(g, repo, refs, force=force)
    commits = _load_commits(g, repo, refs.commits_meta_range_id, tick)
    tags: list[tuple[str, Tag]] = []
    for name, tag in _records(g, repo, refs.tags_meta_range_id, Tag, "tags", tick):
        _check_ref(commits, "tag", name, tag.commit_id, check_tag_name)
        tags.append((name, tag))
    branches: list[tuple[str, DumpedBranch]] = []
    for name, branch in _records(g, repo, refs.branches_meta_range_id, DumpedBranch, "branches", tick):
        _check_ref(commits, "branch", name, branch.commit_id, check_branch_name)
        branches.append((name, branch))
    existing = g.refs.find_branches(repo, [name for name, _ in branches])
    if repo.default_branch not in existing and all(name != repo.default_branch for name, _ in branches):
        raise ValidationError(
            f"branch not found: the dump has no branch {repo.default_branch!r},"
            f" the default branch of repository {repo.name!r}"
        )
    for start in range(0, len(tags), BATCH):
        g.refs.put_tags(repo, tags[start : start + BATCH])
        tick()
    fresh = [
        (name, Branch(b.commit_id, new_token(), hidden=b.hidden))
        for name, b in branches
        if name not in existing
    ]
    for start in range(0, len(fresh), BATCH):
        g.refs.put_branches(repo, fresh[start : start + BATCH])
        tick()
    for name, branch in branches:
        if name in existing:
            # Through the engine, so that the branch's staged changes are retired as by any reset.
            g.hard_reset(repo, name, branch.commit_id, force=True)
            tick()


def _has_refs(g: Graveler, repo: Repository) -> bool:
    return next(g.list_branches(repo), None) is not None or next(g.list_tags(repo), None) is not None


def _check_ref(
    commits: set[str], kind: str, name: str, commit_id: str, check_name: Callable[[str], object]
) -> None:
    """Check a ref of a dump: a valid name, at a commit of the dump."""
    try:
        check_name(name)
    except ValidationError as err:
        raise ValidationError(f"the dump holds an invalid {kind} name: {err}") from None
    if commit_id not in commits:
        raise ValidationError(f"commit not found: {kind} {name!r} of the dump points at {commit_id!r}")


def _entries(g: Graveler, repo: Repository, tree_id: str) -> Iterator[tuple[str, bytes]]:
    """The entries of a dump's tree; ValidationError when they cannot be read."""
    try:
        yield from g.committed.iterate(repo.storage_namespace, tree_id)
    except (ObjectNotFoundError, CorruptObjectError) as err:
        raise ValidationError(f"metarange {tree_id!r} cannot be read: {err}") from None


def _records(
    g: Graveler, repo: Repository, tree_id: str, kind: type[T], what: str, tick: Tick
) -> Iterator[tuple[str, T]]:
    """The decoded records of a dump's tree of ``what``."""
    for key, value in _ticking(_entries(g, repo, tree_id), tick):
        try:
            yield key, decode(value, kind)
        except msgspec.DecodeError:
            raise ValidationError(
                f"metarange {tree_id!r} is not a dump of {what}: entry {key!r} is not one"
            ) from None


def _load_commits(g: Graveler, repo: Repository, tree_id: str, tick: Tick) -> set[str]:
    """Store the commits of a dump, each checked against its id; their ids.

    Parents are checked once every id is known (the tree is in id order, not in order of
    history); the commits stored by then are harmless: nothing refers to them.
    """
    ids: set[str] = set()
    parents: set[str] = set()
    batch: list[tuple[str, bytes]] = []
    for commit_id, commit in _records(g, repo, tree_id, Commit, "commits", _nothing):
        data = commit.encode()  # stored canonical; its hash is Commit.compute_id
        if hashlib.sha256(data).hexdigest() != commit_id:
            raise ValidationError(
                f"metarange {tree_id!r} is not a dump of commits: commit {commit_id!r}"
                " does not match its record (invalid commit id)"
            )
        ids.add(commit_id)
        parents.update(commit.parents)
        batch.append((commit_id, data))
        if len(batch) >= BATCH:
            g.refs.put_commit_records(repo, batch)
            batch = []
            tick()
    g.refs.put_commit_records(repo, batch)
    missing = parents - ids
    if missing:
        raise ValidationError(
            f"commit not found: the dump has no commit {min(missing)!r}, a parent of another"
        )
    return ids
