"""The versioning engine: repositories, branches, tags, reads, writes and commits.

Values are opaque bytes (the catalog encodes entries); keys are paths. Merge, revert
and cherry-pick live in :mod:`limnos.graveler.merge`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import msgspec

from limnos.block.adapter import BlockAdapter, ObjectNotFoundError, join_uri
from limnos.graveler import history, protection, revparse
from limnos.graveler.committed import CommittedStore
from limnos.graveler.committed.rangefile import CorruptObjectError
from limnos.graveler.errors import (
    AlreadyExistsError,
    BranchNotFoundError,
    DirtyBranchError,
    ForbiddenError,
    NoChangesError,
    NotFoundError,
    PreconditionFailedError,
    TooManyRequestsError,
    ValidationError,
)
from limnos.graveler.model import Branch, Commit, Repository, Tag
from limnos.graveler.names import check_branch_name, check_repository_name, check_tag_name
from limnos.graveler.refs import RefStore
from limnos.graveler.revparse import ResolvedRef
from limnos.graveler.staging import TOMBSTONE, StagingArea, new_token
from limnos.kv.retry import retry
from limnos.kv.store import KVStore

# Sealed staging tokens stay readable this long after their commit lands, so that a
# reader holding the branch record from before the commit still finds the data.
SEALED_GRACE_SECONDS = 60
_RETIRED = "staging-retired"
_MARKER = "_lakefs/repository.json"


class _Marker(msgspec.Struct):
    """What the marker object of a storage namespace says: who holds the namespace."""

    repository: str
    instance_id: str
    installation: str = ""


# lakeFS marks the namespaces of its repositories with this object.
_LAKEFS_MARKER = "_lakefs/dummy"


#: How a path differs between two states (lakeFS's diff types).
ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two states of a branch."""

    key: str
    kind: ChangeKind
    left: bytes | None
    right: bytes | None


def change_kind(left: bytes | None, right: bytes | None) -> ChangeKind:
    """The lakeFS diff type of a difference."""
    if left is None:
        return "added"
    if right is None:
        return "removed"
    return "changed"


def _now() -> int:
    return int(time.time())


def _busy(branch_name: str) -> str:
    """What a client is told when updates of a branch kept losing races."""
    return f"Too many attempts, try again later: branch {branch_name!r} is busy"


def _repository_busy(name: str) -> str:
    """What a client is told when updates of a repository record kept losing races."""
    return f"Too many attempts, try again later: repository {name!r} is busy"


class Graveler:
    """Plain, synchronous access to versioned repositories."""

    def __init__(self, kv: KVStore, block: BlockAdapter, committed: CommittedStore) -> None:
        self.kv = kv
        self.block = block
        self.refs = RefStore(kv)
        self.staging = StagingArea(kv)
        self.committed = committed

    # repositories -------------------------------------------------------------------

    def create_repository(
        self,
        name: str,
        storage_namespace: str,
        default_branch: str = "main",
        *,
        bare: bool = False,
        read_only: bool = False,
        initial_tree: Callable[[str, str], str] | None = None,
        initial_message: str = "Repository created",
        committer: str = "",
    ) -> Repository:
        """Create a repository; unless ``bare``, its default branch with a first commit.

        ``initial_tree(namespace, empty_tree_id)`` may build the first commit's tree
        (sample data). Records of the new instance are written before the repository
        record, so a crash leaves either nothing visible or the whole repository.
        """
        check_repository_name(name)
        check_branch_name(default_branch)
        self.block.validate_namespace(storage_namespace)
        try:
            self.refs.get_repository(name)
            raise AlreadyExistsError(f"not unique: repository {name!r} already exists")
        except NotFoundError:
            pass
        conflict = self.refs.claim_namespace(storage_namespace, name)
        if conflict is not None:
            other, other_repository = conflict
            if other == storage_namespace.rstrip("/"):
                relation = "is"
            elif other.startswith(storage_namespace.rstrip("/") + "/"):
                relation = "contains"
            else:
                relation = "lies inside"
            raise ValidationError(
                f"storage namespace already in use: {storage_namespace!r} {relation} {other!r}, "
                f"the storage namespace of repository {other_repository!r}"
            )
        repo = Repository(
            name=name,
            storage_namespace=storage_namespace,
            default_branch=default_branch,
            creation_date=_now(),
            instance_id=uuid.uuid4().hex,
            read_only=read_only,
        )
        try:
            self._check_marker(storage_namespace)
            if not bare:
                tree_id = self.committed.empty_tree(storage_namespace)
                commit = Commit(
                    tree_id=tree_id,
                    parents=(),
                    committer=committer,
                    message=initial_message,
                    creation_date=repo.creation_date,
                    metadata=(),
                    generation=1,
                )
                commit_id = self.refs.put_commit(repo, commit)
                if initial_tree is not None:
                    sample_tree = initial_tree(storage_namespace, tree_id)
                    sample = Commit(
                        tree_id=sample_tree,
                        parents=(commit_id,),
                        committer=committer,
                        message="Add sample data",
                        creation_date=repo.creation_date,
                        metadata=(),
                        generation=2,
                    )
                    commit_id = self.refs.put_commit(repo, sample)
                self.refs.insert_branch(repo, default_branch, Branch(commit_id, new_token()))
            marker = msgspec.json.encode(_Marker(name, repo.instance_id, self.refs.installation_id()))
            self.block.put_bytes(join_uri(storage_namespace, _MARKER), marker)
            if not self.refs.insert_repository(repo):
                raise AlreadyExistsError(f"not unique: repository {name!r} already exists")
        except BaseException:
            self.refs.delete_repository_instance(repo)
            try:
                holder = self.refs.get_repository(name).storage_namespace
            except NotFoundError:
                holder = None
            if holder != storage_namespace:
                self.refs.release_namespace(storage_namespace, name)
            raise
        return repo

    def _check_marker(self, namespace: str) -> None:
        """Refuse a namespace that holds a living repository.

        That is one whose marker names a repository of this installation that still
        exists, or a repository of another installation sharing the storage, or a lakeFS
        repository. The namespace of a deleted repository of ours may be used again.
        """
        if self.block.exists(join_uri(namespace, _LAKEFS_MARKER)):
            raise ValidationError(
                f"storage namespace already in use: {namespace!r} holds a lakeFS repository"
            )
        try:
            data = self.block.get_bytes(join_uri(namespace, _MARKER))
        except ObjectNotFoundError:
            return
        try:
            marker = msgspec.json.decode(data, type=_Marker)
        except msgspec.DecodeError:
            raise ValidationError(
                f"storage namespace already in use: {namespace!r} holds an unreadable repository marker"
            ) from None
        if marker.installation and marker.installation != self.refs.installation_id():
            raise ValidationError(
                f"storage namespace already in use: {namespace!r} is used by another Limnos installation"
            )
        try:
            other = self.refs.get_repository(marker.repository)
        except NotFoundError:
            return
        if other.instance_id == marker.instance_id:
            raise ValidationError(
                f"storage namespace already in use: {namespace!r} holds repository {marker.repository!r}"
            )

    def get_repository(self, name: str) -> Repository:
        """The repository named ``name``; raises NotFoundError."""
        return self.refs.get_repository(name)

    def list_repositories(self, start: str = "", prefix: str = "") -> Iterator[Repository]:
        """Repositories in name order."""
        return self.refs.list_repositories(start, prefix)

    def delete_repository(self, name: str, *, force: bool = False) -> None:
        """Delete a repository and all its refs (objects in storage are left alone).

        A read-only repository is deleted only with ``force``, as in lakeFS.
        """
        repo = self.refs.get_repository(name)
        if not force:
            self.check_writable(repo)
        tokens = [t for _, b in self.refs.list_branches(repo) for t in (b.staging_token, *b.sealed_tokens)]
        self.refs.delete_repository(repo)
        for token in tokens:
            self.staging.drop(token)
        self.refs.release_namespace(repo.storage_namespace, name)

    def update_repository_metadata(
        self, name: str, update: Callable[[dict[str, str]], dict[str, str]]
    ) -> None:
        """Change a repository's metadata map with compare-and-set."""

        def attempt() -> Literal[True] | None:
            repo, raw = self.refs.repository_record(name)
            changed = msgspec.structs.replace(repo, metadata=update(dict(repo.metadata)))
            return True if self.refs.update_repository(raw, changed) else None

        retry(attempt, busy=_repository_busy(name), error=TooManyRequestsError)

    def update_protected_branches(
        self,
        name: str,
        update: Callable[[tuple[str, ...]], Iterable[str]],
        *,
        if_match: str | None = None,
    ) -> None:
        """Change a repository's branch protection patterns with compare-and-set.

        With ``if_match``, the change is made only while the rules are at that version
        (their ETag, "" for no rules), else PreconditionFailedError. Patterns are
        validated (ValidationError); a read-only repository refuses the change, as in
        lakeFS.
        """

        def attempt() -> Literal[True] | None:
            repo, raw = self.refs.repository_record(name)
            self.check_writable(repo)
            current = repo.protected_branches
            if if_match is not None and not protection.etag_matches(current, if_match):
                raise PreconditionFailedError(
                    f"branch protection rules of repository {name!r} do not match If-Match: "
                    "they changed since it was read"
                )
            changed = msgspec.structs.replace(repo, protected_branches=protection.normalized(update(current)))
            return True if self.refs.update_repository(raw, changed) else None

        retry(attempt, busy=_repository_busy(name), error=TooManyRequestsError)

    # refs ---------------------------------------------------------------------------

    def resolve(self, repo: Repository, ref: str) -> ResolvedRef:
        """Resolve a ref expression; raises NotFoundError or ValidationError."""
        return revparse.resolve(self.refs, repo, ref)

    def get_commit(self, repo: Repository, commit_id: str) -> Commit:
        """A commit by full id."""
        return self.refs.get_commit(repo, commit_id)

    def create_branch(self, repo: Repository, name: str, source_ref: str, *, hidden: bool = False) -> str:
        """Create branch ``name`` at the committed state of ``source_ref``; returns its commit.

        A ``hidden`` branch is left out of listings unless they ask for hidden ones.
        """
        check_branch_name(name)
        self.check_writable(repo)
        source = self.resolve(repo, source_ref)
        self._check_not_a_commit_id(repo, name)
        if self.refs.find_tag(repo, name) is not None:
            raise AlreadyExistsError(f"conflict found: a tag named {name!r} already exists")
        if not self.refs.insert_branch(repo, name, Branch(source.commit_id, new_token(), hidden=hidden)):
            raise AlreadyExistsError(f"branch already exists: {name!r}")
        return source.commit_id

    def _check_not_a_commit_id(self, repo: Repository, name: str) -> None:
        # A ref named like a commit would be shadowed by it (ids resolve first), as lakeFS knows.
        if revparse.is_commit_id(self.refs, repo, name):
            raise AlreadyExistsError(f"conflict found: {name!r} is the id of an existing commit")

    def get_branch(self, repo: Repository, name: str) -> Branch:
        """The branch named ``name``."""
        return self.refs.get_branch(repo, name)

    def list_branches(
        self, repo: Repository, start: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, Branch]]:
        """Branches in name order."""
        return self.refs.list_branches(repo, start, prefix)

    def delete_branch(self, repo: Repository, name: str) -> None:
        """Delete a branch (never the default one, nor a protected one) and its staged changes."""
        protection.check_delete(repo, name)
        self.check_writable(repo)
        if name == repo.default_branch:
            raise ForbiddenError(f"cannot delete repository default branch: {name!r}")

        def attempt() -> Literal[True] | None:
            branch, raw = self.refs.get_branch_record(repo, name)
            if not self.refs.delete_branch(repo, name, raw):
                return None
            self._retire_tokens((branch.staging_token, *branch.sealed_tokens))
            return True

        retry(attempt, busy=_busy(name), error=TooManyRequestsError)

    def create_tag(self, repo: Repository, name: str, ref: str) -> str:
        """Create tag ``name`` at ``ref``'s commit; returns the commit id."""
        check_tag_name(name)
        self.check_writable(repo)
        commit_id = self.resolve(repo, ref).commit_id
        self._check_not_a_commit_id(repo, name)
        if self.refs.find_branch(repo, name) is not None:
            raise AlreadyExistsError(f"conflict found: a branch named {name!r} already exists")
        if not self.refs.insert_tag(repo, name, Tag(commit_id, _now())):
            raise AlreadyExistsError(f"tag already exists: {name!r}")
        return commit_id

    def get_tag(self, repo: Repository, name: str) -> Tag:
        """The tag named ``name``."""
        tag = self.refs.find_tag(repo, name)
        if tag is None:
            raise NotFoundError(f"tag not found: {name!r}")
        return tag

    def delete_tag(self, repo: Repository, name: str) -> None:
        """Delete a tag."""
        self.check_writable(repo)
        self.get_tag(repo, name)
        self.refs.delete_tag(repo, name)

    def list_tags(self, repo: Repository, start: str = "", prefix: str = "") -> Iterator[tuple[str, Tag]]:
        """Tags in name order."""
        return self.refs.list_tags(repo, start, prefix)

    # reads --------------------------------------------------------------------------

    def tree_of(self, repo: Repository, commit_id: str) -> str:
        """The tree id of a commit."""
        return self.refs.get_commit(repo, commit_id).tree_id

    def get(self, repo: Repository, ref: ResolvedRef, key: str) -> bytes | None:
        """The value of ``key`` as seen from ``ref`` (staging first), or None."""
        tokens = ref.staging_tokens
        if tokens:
            staged = self.staging.get(tokens, key)
            if staged is not None:
                return None if staged == TOMBSTONE else staged
        return self.committed.get(repo.storage_namespace, self.tree_of(repo, ref.commit_id), key)

    def iterate(
        self, repo: Repository, ref: ResolvedRef, *, start: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, bytes]]:
        """(key, value) seen from ``ref`` in key order, ``key >= start`` with ``prefix``."""
        committed = self.committed.iterate(
            repo.storage_namespace, self.tree_of(repo, ref.commit_id), start=start, prefix=prefix
        )
        tokens = ref.staging_tokens
        if not tokens:
            yield from committed
            return
        staged = self.staging.iterate(tokens, start=start, prefix=prefix)
        yield from _overlay(staged, committed)

    def diff_uncommitted(
        self, repo: Repository, branch_name: str, *, start: str = "", prefix: str = ""
    ) -> Iterator[Change]:
        """Staged changes of a branch against its head commit, in key order."""
        branch = self.refs.get_branch(repo, branch_name)
        tokens = [branch.staging_token, *branch.sealed_tokens]
        tree = self.tree_of(repo, branch.commit_id)
        ns = repo.storage_namespace
        for key, value in self.staging.iterate(tokens, start=start, prefix=prefix):
            committed = self.committed.get(ns, tree, key)
            staged = None if value == TOMBSTONE else value
            if not self.committed.same_values(committed, staged):
                yield Change(key, change_kind(committed, staged), committed, staged)

    def diff(
        self,
        repo: Repository,
        left_commit: str,
        right_commit: str,
        *,
        start: str = "",
        prefix: str = "",
    ) -> Iterator[Change]:
        """Differences between the trees of two commits, in key order."""
        ns = repo.storage_namespace
        for key, left, right in self.committed.diff(
            ns,
            self.tree_of(repo, left_commit),
            self.tree_of(repo, right_commit),
            start=start,
            prefix=prefix,
        ):
            yield Change(key, change_kind(left, right), left, right)

    def merge_base(self, repo: Repository, left: str, right: str) -> str | None:
        """Best common ancestor of two commits."""
        return history.merge_base(self.refs, repo, left, right)

    def log(
        self, repo: Repository, start: str, *, first_parent: bool = False
    ) -> Iterator[tuple[str, Commit]]:
        """History reachable from a commit, newest first."""
        return history.walk(self.refs, repo, start, first_parent=first_parent)

    # writes -------------------------------------------------------------------------

    def namespace_holder(self, address: str) -> str | None:
        """The repository whose storage namespace holds ``address`` (a full URI), if any."""
        return self.refs.namespace_holder(address)

    def check_writable(self, repo: Repository) -> None:
        """Raise ForbiddenError if the repository is read-only."""
        if repo.read_only:
            raise ForbiddenError(f"read-only repository: {repo.name!r}")

    def check_branch_writable(self, repo: Repository, branch_name: str) -> None:
        """Raise ForbiddenError unless the branch takes staged writes and resets: not
        protected, in a repository that is not read-only (protection first, as in lakeFS)."""
        protection.check_write(repo, branch_name)
        self.check_writable(repo)

    def check_branch_committable(self, repo: Repository, branch_name: str) -> None:
        """Raise ForbiddenError unless the branch takes direct commits: not protected, in a
        repository that is not read-only. Merges into a protected branch do not ask this."""
        protection.check_commit(repo, branch_name)
        self.check_writable(repo)

    def _staged_write(
        self,
        repo: Repository,
        branch_name: str,
        write: Callable[[str], None],
        known: Branch | None = None,
    ) -> None:
        """Run ``write(token)`` until it lands in the branch's live staging token.

        If a commit seals the token meanwhile, the write is repeated on the new token, so
        an acknowledged write is in that commit or still staged: never lost. ``known`` is
        the branch as read earlier by the caller: only the read *after* the write decides,
        so an older record merely costs one more round.
        """
        self.check_branch_writable(repo, branch_name)
        branch = known if known is not None else self.refs.get_branch(repo, branch_name)

        def attempt() -> Literal[True] | None:
            nonlocal branch
            write(branch.staging_token)
            after = self.refs.get_branch(repo, branch_name)
            if after.staging_token == branch.staging_token:
                return True
            branch = after
            return None

        retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)

    def set(
        self,
        repo: Repository,
        branch_name: str,
        key: str,
        value: bytes,
        *,
        if_absent: bool = False,
        known: Branch | None = None,
    ) -> None:
        """Stage ``value`` for ``key`` on a branch.

        With ``if_absent`` a key that exists raises PreconditionFailedError, atomically:
        of several writers racing to create one path, exactly one succeeds. ``known`` is
        the branch record if the caller has just read it (saves a read).
        """
        if not if_absent:
            self._staged_write(repo, branch_name, lambda token: self.staging.set(token, key, value), known)
            return
        ref = revparse.resolve(self.refs, repo, branch_name)
        if ref.branch is None:
            raise BranchNotFoundError(f"branch not found: {branch_name!r}")
        # Read the live token first: the write below succeeds only if that entry is still
        # what was read, so a writer who staged the path meanwhile makes this one fail.
        first = ref.branch.staging_token
        expected = self.staging.get([first], key)
        exists = expected != TOMBSTONE if expected is not None else self.get(repo, ref, key) is not None
        if exists:
            raise PreconditionFailedError(f"path already exists: {key!r}")

        def write(token: str) -> None:
            if token != first:
                # A commit sealed our write into the token it commits; repeat it plainly.
                self.staging.set(token, key, value)
            elif not self.staging.set_if(token, key, value, expected):
                raise PreconditionFailedError(f"path already exists: {key!r}")

        self._staged_write(repo, branch_name, write, ref.branch)

    def set_many(self, repo: Repository, branch_name: str, items: list[tuple[str, bytes]]) -> None:
        """Stage several values in one transaction."""
        self._staged_write(repo, branch_name, lambda token: self.staging.set_many(token, items))

    def delete(self, repo: Repository, branch_name: str, key: str) -> None:
        """Stage the deletion of ``key``; raises NotFoundError when it does not exist."""
        # Before the lookup: a protected branch or a read-only repository refuses any delete.
        self.check_branch_writable(repo, branch_name)
        ref = revparse.resolve(self.refs, repo, branch_name)
        if ref.branch is None:
            raise BranchNotFoundError(f"branch not found: {branch_name!r}")
        if self.get(repo, ref, key) is None:
            raise NotFoundError(f"object {key!r} not found")
        self._staged_write(repo, branch_name, lambda token: self.staging.set(token, key, TOMBSTONE))

    def delete_many(self, repo: Repository, branch_name: str, keys: list[str]) -> None:
        """Stage the deletion of several keys (missing ones included) in one transaction."""
        items = [(k, TOMBSTONE) for k in keys]
        self._staged_write(repo, branch_name, lambda token: self.staging.set_many(token, items))

    def reset_branch(self, repo: Repository, branch_name: str) -> None:
        """Drop every uncommitted change of a branch."""
        self.check_branch_writable(repo, branch_name)

        def attempt() -> Literal[True] | None:
            branch, raw = self.refs.get_branch_record(repo, branch_name)
            fresh = branch.moved(staging_token=new_token(), sealed_tokens=())
            if not self.refs.swap_branch(repo, branch_name, raw, fresh):
                return None
            self._retire_tokens((branch.staging_token, *branch.sealed_tokens))
            return True

        retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)

    def reset_key(self, repo: Repository, branch_name: str, key: str) -> None:
        """Drop the uncommitted change of one key."""
        self.check_branch_writable(repo, branch_name)
        branch = self.refs.get_branch(repo, branch_name)
        self.staging.drop_key([branch.staging_token, *branch.sealed_tokens], key)

    def reset_prefix(self, repo: Repository, branch_name: str, prefix: str) -> None:
        """Drop the uncommitted changes of every key under ``prefix``."""
        self.check_branch_writable(repo, branch_name)
        branch = self.refs.get_branch(repo, branch_name)
        self.staging.drop_prefix([branch.staging_token, *branch.sealed_tokens], prefix)

    def is_dirty(self, branch: Branch) -> bool:
        """Whether a branch has staged changes (tombstones of missing keys count)."""
        return not self.staging.is_empty([branch.staging_token, *branch.sealed_tokens])

    def hard_reset(self, repo: Repository, branch_name: str, ref: str, *, force: bool) -> None:
        """Point a branch at ``ref``'s commit; refused with staged changes unless ``force``."""
        self.check_branch_writable(repo, branch_name)
        target = self.resolve(repo, ref).commit_id

        def attempt() -> Literal[True] | None:
            branch, raw = self.refs.get_branch_record(repo, branch_name)
            dirty = self.is_dirty(branch)
            if dirty and not force:
                raise DirtyBranchError(f"branch {branch_name!r}: uncommitted changes (dirty branch)")
            fresh = branch.moved(target, new_token(), ()) if dirty else branch.moved(target)
            if not self.refs.swap_branch(repo, branch_name, raw, fresh):
                return None
            if dirty:
                self._retire_tokens((branch.staging_token, *branch.sealed_tokens))
            return True

        retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)

    # commits ------------------------------------------------------------------------

    def commit(
        self,
        repo: Repository,
        branch_name: str,
        *,
        committer: str,
        message: str,
        metadata: dict[str, str] | None = None,
        date: int | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Commit a branch's staged changes; returns the new commit id.

        The live staging token is sealed (a new one takes the writes), the sealed tokens
        are applied to the head tree, and the branch moves by compare-and-set. A commit
        racing another retries on top of it. Should the branch stay too busy, it gives up
        with TooManyRequestsError, leaving every staged write staged.
        """
        self.check_branch_committable(repo, branch_name)
        ns = repo.storage_namespace

        def attempt() -> str | None:
            branch, raw = self.refs.get_branch_record(repo, branch_name)
            sealed = (branch.staging_token, *branch.sealed_tokens)
            sealing = branch.moved(staging_token=new_token(), sealed_tokens=sealed)
            if not self.refs.swap_branch(repo, branch_name, raw, sealing):
                return None
            head = self.refs.get_commit(repo, branch.commit_id)
            changes = (
                (key, None if value == TOMBSTONE else value)
                for key, value in self.staging.iterate(list(sealed))
            )
            tree_id = self.committed.apply(ns, head.tree_id, changes)
            if tree_id == head.tree_id and not allow_empty:
                self._unseal(repo, branch_name, branch.commit_id, sealed, branch.commit_id)
                raise NoChangesError(f"commit on branch {branch_name!r}: no changes")
            commit = Commit(
                tree_id=tree_id,
                parents=(branch.commit_id,),
                committer=committer,
                message=message,
                creation_date=date if date is not None else _now(),
                metadata=tuple(sorted((metadata or {}).items())),
                generation=head.generation + 1,
            )
            commit_id = self.refs.put_commit(repo, commit)
            if self._unseal(repo, branch_name, branch.commit_id, sealed, commit_id):
                return commit_id
            return None

        return retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)

    def _unseal(
        self, repo: Repository, branch_name: str, base: str, sealed: tuple[str, ...], target: str
    ) -> bool:
        """Move the branch from ``base`` to ``target``, dropping ``sealed`` from it.

        False when the branch moved or was reset meanwhile (the caller retries). Writers
        that change the record but leave ``base`` and ``sealed`` in it (other commits
        sealing their tokens) make it try again; when they win every race it gives up with
        TooManyRequestsError. ``sealed`` are then neither dropped nor retired: the branch
        still lists them, so their writes stay staged for the next commit.
        """

        def attempt() -> bool | None:
            current, raw = self.refs.get_branch_record(repo, branch_name)
            tail = current.sealed_tokens[len(current.sealed_tokens) - len(sealed) :]
            if current.commit_id != base or tail != sealed:
                return False
            rest = current.sealed_tokens[: len(current.sealed_tokens) - len(sealed)]
            if not self.refs.swap_branch(repo, branch_name, raw, current.moved(target, sealed_tokens=rest)):
                return None
            self._retire_tokens(sealed)  # only once the branch no longer lists them
            return True

        return retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)

    def commit_tree(
        self,
        repo: Repository,
        branch_name: str,
        tree_id: str,
        *,
        expected_head: str,
        committer: str,
        message: str,
        metadata: dict[str, str] | None = None,
        extra_parent: str | None = None,
        date: int | None = None,
        require_clean: bool = True,
        allow_empty: bool = False,
        merging: bool = False,
    ) -> str | None:
        """Commit a tree computed against ``expected_head`` on top of a branch.

        Returns None when the branch head moved meanwhile (the caller recomputes the
        tree and tries again). With ``require_clean`` a branch with staged changes is
        refused (DirtyBranchError). Only a ``merging`` commit may land on a protected
        branch.
        """
        if merging:
            self.check_writable(repo)
        else:
            self.check_branch_committable(repo, branch_name)

        def attempt() -> tuple[str | None] | None:
            branch, raw = self.refs.get_branch_record(repo, branch_name)
            if branch.commit_id != expected_head:
                return (None,)  # the caller recomputes the tree against the new head
            if require_clean and self.is_dirty(branch):
                raise DirtyBranchError(f"branch {branch_name!r}: uncommitted changes (dirty branch)")
            head = self.refs.get_commit(repo, branch.commit_id)
            if tree_id == head.tree_id and not allow_empty:
                raise NoChangesError(f"branch {branch_name!r}: no changes")
            parents: tuple[str, ...] = (branch.commit_id,)
            generation = head.generation + 1
            if extra_parent is not None:
                parents = (branch.commit_id, extra_parent)
                generation = max(generation, self.refs.get_commit(repo, extra_parent).generation + 1)
            commit = Commit(
                tree_id=tree_id,
                parents=parents,
                committer=committer,
                message=message,
                creation_date=date if date is not None else _now(),
                metadata=tuple(sorted((metadata or {}).items())),
                generation=generation,
            )
            commit_id = self.refs.put_commit(repo, commit)
            moved = branch.moved(commit_id)
            return (commit_id,) if self.refs.swap_branch(repo, branch_name, raw, moved) else None

        return retry(attempt, busy=_busy(branch_name), error=TooManyRequestsError)[0]

    def require_metarange(self, repo: Repository, tree_id: str) -> None:
        """Raise ValidationError unless ``tree_id`` is a metarange stored, intact, in the
        repository's storage namespace (a client named it: it is input, not a record)."""
        try:
            self.committed.check_stored(repo.storage_namespace, tree_id)
        except (ObjectNotFoundError, CorruptObjectError):
            raise ValidationError(
                f"metarange not found: {tree_id!r} is not stored in the namespace of repository {repo.name!r}"
            ) from None

    def write_tree(self, repo: Repository, entries: Iterable[tuple[str, bytes]]) -> str:
        """Store a tree of ``entries`` (sorted, unique keys), streamed; its id."""
        return self.committed.write_tree(repo.storage_namespace, entries)

    def replace_prefixes(self, repo: Repository, base_tree: str, tree: str, prefixes: Iterable[str]) -> str:
        """``base_tree`` with every key under ``prefixes`` removed and every entry of
        ``tree`` set, streamed: what an import makes of a branch's tree."""
        return self.committed.replace_prefixes(repo.storage_namespace, base_tree, tree, prefixes)

    # housekeeping -------------------------------------------------------------------

    def _retire_tokens(self, tokens: tuple[str, ...]) -> None:
        """Schedule staging tokens for deletion after a grace period; drop old ones."""
        now = time.time()
        self.kv.set_many(_RETIRED, [(f"{now:017.6f}/{t}".encode(), b"") for t in tokens])
        limit = f"{now - SEALED_GRACE_SECONDS:017.6f}".encode()
        expired = [item.key for item in self.kv.scan(_RETIRED, limit=100) if item.key < limit]
        for key in expired:
            self.staging.drop(key.decode().split("/", 1)[1])
            self.kv.delete(_RETIRED, key)


def _overlay(
    staged: Iterator[tuple[str, bytes]], committed: Iterator[tuple[str, bytes]]
) -> Iterator[tuple[str, bytes]]:
    """Merge staged values over committed ones; tombstones hide keys.

    Once either side runs out, the rest of the other passes through untouched: a listing
    with nothing staged in its range costs what a listing of the commit costs.
    """
    s = next(staged, None)
    c = next(committed, None)
    while s is not None and c is not None:
        if s[0] <= c[0]:
            if s[0] == c[0]:
                c = next(committed, None)
            if s[1] != TOMBSTONE:
                yield s
            s = next(staged, None)
        else:
            yield c
            c = next(committed, None)
    if c is not None:
        yield c
        yield from committed
    elif s is not None:
        if s[1] != TOMBSTONE:
            yield s
        yield from (item for item in staged if item[1] != TOMBSTONE)
