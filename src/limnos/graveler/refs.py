"""Repositories, branches, tags and commits as records in the metadata store.

Partitions: ``repos`` (name -> Repository), ``namespaces`` (storage namespace ->
repository name, so one namespace serves one repository), and per repository
instance ``<instance>/branches``, ``<instance>/tags``, ``<instance>/commits`` and
``<instance>/settings`` (repository-level settings such as GC rules).
Branch records change only by compare-and-set.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator

from limnos.graveler.errors import BranchNotFoundError, NotFoundError, RepositoryNotFoundError
from limnos.graveler.model import Branch, Commit, Repository, Tag, decode, encode
from limnos.kv.store import MUST_NOT_EXIST, KVStore

REPOS = "repos"
NAMESPACES = "namespaces"
INSTALLATION = "installation"


def branches_partition(repo: Repository) -> str:
    """Partition of a repository's branches."""
    return f"{repo.instance_id}/branches"


def tags_partition(repo: Repository) -> str:
    """Partition of a repository's tags."""
    return f"{repo.instance_id}/tags"


def commits_partition(repo: Repository) -> str:
    """Partition of a repository's commits."""
    return f"{repo.instance_id}/commits"


def settings_partition(repo: Repository) -> str:
    """Partition of a repository's settings (one record per setting)."""
    return f"{repo.instance_id}/settings"


class _LRU:
    """A small thread-safe LRU for immutable records."""

    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[str, Commit] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: str) -> Commit | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: Commit) -> None:
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._capacity:
                self._data.popitem(last=False)


class RefStore:
    """Typed access to the records of repositories and their refs."""

    def __init__(self, kv: KVStore) -> None:
        self.kv = kv
        self._commits = _LRU(100_000)
        self._installation: str | None = None

    def installation_id(self) -> str:
        """This installation's unique id, made on first use and shared by every server."""
        if self._installation is None:
            self.kv.set_if(INSTALLATION, b"id", uuid.uuid4().hex.encode(), MUST_NOT_EXIST)
            stored = self.kv.get(INSTALLATION, b"id")
            assert stored is not None
            self._installation = stored.decode()
        return self._installation

    # repositories -------------------------------------------------------------------

    def get_repository(self, name: str) -> Repository:
        """The repository named ``name``; raises NotFoundError."""
        data = self.kv.get_hot(REPOS, name.encode())
        if data is None:
            raise RepositoryNotFoundError(f"repository not found: {name!r}")
        return decode(data, Repository)

    def repository_record(self, name: str) -> tuple[Repository, bytes]:
        """The repository and its stored bytes (for compare-and-set)."""
        data = self.kv.get(REPOS, name.encode())
        if data is None:
            raise RepositoryNotFoundError(f"repository not found: {name!r}")
        return decode(data, Repository), data

    def list_repositories(self, start: str = "", prefix: str = "") -> Iterator[Repository]:
        """Repositories in name order with ``name >= start``."""
        for item in self.kv.scan(REPOS, start=start.encode(), prefix=prefix.encode()):
            yield decode(item.value, Repository)

    def insert_repository(self, repo: Repository) -> bool:
        """Create the record; False when the name is taken."""
        return self.kv.set_if(REPOS, repo.name.encode(), encode(repo), MUST_NOT_EXIST)

    def update_repository(self, old: bytes, repo: Repository) -> bool:
        """Compare-and-set a repository record."""
        return self.kv.set_if(REPOS, repo.name.encode(), encode(repo), old)

    def delete_repository(self, repo: Repository) -> None:
        """Remove the repository record and every record of its instance."""
        self.kv.delete(REPOS, repo.name.encode())
        self.delete_repository_instance(repo)

    def delete_repository_instance(self, repo: Repository) -> None:
        """Remove the branches, tags, commits and settings of one repository instance."""
        for partition in (
            branches_partition(repo),
            tags_partition(repo),
            commits_partition(repo),
            settings_partition(repo),
        ):
            self.kv.delete_prefix(partition)

    def claim_namespace(self, namespace: str, repo_name: str) -> tuple[str, str] | None:
        """Reserve a storage namespace for a repository.

        Returns None when ``repo_name`` holds it now, else ``(namespace, repository)``
        of a claim in the way: the same namespace, one that contains it, or one inside
        it (objects of two repositories must never share a path).

        Why this is atomic without a lock: the claim is a compare-and-set of the exact
        namespace (so of several spellings of one namespace exactly one wins), and a
        claim checks for overlapping claims only *after* its own is written, withdrawing
        it when it finds one. Of two overlapping creates, say ``x`` and ``x/y``, each
        writes before it reads, so whichever reads last sees the other's claim: both may
        lose, never both win. Claiming every ancestor prefix instead would need several
        keys changed in one transaction, and serialising every create through one key
        would make unrelated creates retry each other; neither is needed for this.
        """
        key = namespace.rstrip("/")
        fresh = self.kv.set_if(NAMESPACES, key.encode(), repo_name.encode(), MUST_NOT_EXIST)
        if not fresh:
            holder = self.kv.get(NAMESPACES, key.encode())
            if holder is not None and holder != repo_name.encode():
                return key, holder.decode()
            if holder is None:
                return self.claim_namespace(namespace, repo_name)  # released meanwhile
        conflict = self._overlapping(key)
        if conflict is not None and fresh:
            self.kv.delete_if(NAMESPACES, key.encode(), repo_name.encode())
        return conflict

    def _overlapping(self, namespace: str) -> tuple[str, str] | None:
        """A claimed namespace that contains ``namespace`` or lies inside it, and its holder."""
        enclosing = self._enclosing(namespace)
        if enclosing is not None:
            return enclosing
        for item in self.kv.scan(NAMESPACES, prefix=(namespace + "/").encode(), limit=1):
            return item.key.decode(), item.value.decode()
        return None

    def _enclosing(self, address: str) -> tuple[str, str] | None:
        """The claimed namespace that ``address`` (a full URI) lies inside, and its holder."""
        scheme, sep, rest = address.partition("://")
        parts = rest.split("/")
        for end in range(1, len(parts)):
            outer = f"{scheme}{sep}{'/'.join(parts[:end])}"
            holder = self.kv.get(NAMESPACES, outer.encode())
            if holder is not None:
                return outer, holder.decode()
        return None

    def namespace_holder(self, address: str) -> str | None:
        """The repository whose storage namespace holds ``address`` (a full URI), if any."""
        enclosing = self._enclosing(address)
        return None if enclosing is None else enclosing[1]

    def release_namespace(self, namespace: str, repo_name: str) -> None:
        """Free a storage namespace held by ``repo_name``."""
        self.kv.delete_if(NAMESPACES, namespace.rstrip("/").encode(), repo_name.encode())

    # branches -----------------------------------------------------------------------

    def get_branch_record(self, repo: Repository, name: str) -> tuple[Branch, bytes]:
        """The branch and its stored bytes; raises NotFoundError."""
        data = self.kv.get_hot(branches_partition(repo), name.encode())
        if data is None:
            raise BranchNotFoundError(f"branch not found: {name!r}")
        return decode(data, Branch), data

    def get_branch(self, repo: Repository, name: str) -> Branch:
        """The branch named ``name``; raises NotFoundError."""
        return self.get_branch_record(repo, name)[0]

    def find_branch(self, repo: Repository, name: str) -> Branch | None:
        """The branch named ``name`` or None."""
        data = self.kv.get_hot(branches_partition(repo), name.encode())
        return None if data is None else decode(data, Branch)

    def insert_branch(self, repo: Repository, name: str, branch: Branch) -> bool:
        """Create a branch; False when the name is taken."""
        return self.kv.set_if(branches_partition(repo), name.encode(), branch.encode(), MUST_NOT_EXIST)

    def swap_branch(self, repo: Repository, name: str, old: bytes, new: Branch) -> bool:
        """Compare-and-set a branch: the only way a branch moves."""
        return self.kv.set_if(branches_partition(repo), name.encode(), new.encode(), old)

    def delete_branch(self, repo: Repository, name: str, old: bytes) -> bool:
        """Remove a branch if it is still as read."""
        return self.kv.delete_if(branches_partition(repo), name.encode(), old)

    def list_branches(
        self, repo: Repository, start: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, Branch]]:
        """Branches in name order with ``name >= start``."""
        for item in self.kv.scan(branches_partition(repo), start=start.encode(), prefix=prefix.encode()):
            yield item.key.decode(), decode(item.value, Branch)

    def find_branches(self, repo: Repository, names: list[str]) -> dict[str, Branch]:
        """The branches among ``names`` that exist, in one read."""
        found = self.kv.get_many(branches_partition(repo), [name.encode() for name in names])
        return {key.decode(): decode(value, Branch) for key, value in found.items()}

    def put_branches(self, repo: Repository, branches: list[tuple[str, Branch]]) -> None:
        """Write several branches in one transaction, whatever they were (a restore)."""
        self.kv.set_many(branches_partition(repo), [(name.encode(), b.encode()) for name, b in branches])

    # tags ---------------------------------------------------------------------------

    def find_tag(self, repo: Repository, name: str) -> Tag | None:
        """The tag named ``name`` or None."""
        data = self.kv.get(tags_partition(repo), name.encode())
        return None if data is None else decode(data, Tag)

    def insert_tag(self, repo: Repository, name: str, tag: Tag) -> bool:
        """Create a tag; False when it exists."""
        return self.kv.set_if(tags_partition(repo), name.encode(), encode(tag), MUST_NOT_EXIST)

    def delete_tag(self, repo: Repository, name: str) -> None:
        """Remove a tag."""
        self.kv.delete(tags_partition(repo), name.encode())

    def list_tags(self, repo: Repository, start: str = "", prefix: str = "") -> Iterator[tuple[str, Tag]]:
        """Tags in name order with ``name >= start``."""
        for item in self.kv.scan(tags_partition(repo), start=start.encode(), prefix=prefix.encode()):
            yield item.key.decode(), decode(item.value, Tag)

    def put_tags(self, repo: Repository, tags: list[tuple[str, Tag]]) -> None:
        """Write several tags in one transaction, whatever they were (a restore)."""
        self.kv.set_many(tags_partition(repo), [(name.encode(), encode(tag)) for name, tag in tags])

    # commits ------------------------------------------------------------------------

    def put_commit(self, repo: Repository, commit: Commit) -> str:
        """Store a commit (idempotent: the id is its content hash) and return its id."""
        commit_id = commit.compute_id()
        self.kv.set(commits_partition(repo), commit_id.encode(), commit.encode())
        self._commits.put(f"{repo.instance_id}/{commit_id}", commit)
        return commit_id

    def put_commit_records(self, repo: Repository, records: list[tuple[str, bytes]]) -> None:
        """Store several commits as ``(id, canonical encoding)`` in one transaction; the
        caller has checked each id against its encoding."""
        self.kv.set_many(commits_partition(repo), [(cid.encode(), data) for cid, data in records])

    def commit_records(self, repo: Repository) -> Iterator[tuple[str, bytes]]:
        """Every commit of the repository as ``(id, canonical encoding)``, in id order."""
        for item in self.kv.scan(commits_partition(repo)):
            yield item.key.decode(), item.value

    def find_commit(self, repo: Repository, commit_id: str) -> Commit | None:
        """The commit with this full id, or None."""
        cache_key = f"{repo.instance_id}/{commit_id}"
        commit = self._commits.get(cache_key)
        if commit is not None:
            return commit
        data = self.kv.get(commits_partition(repo), commit_id.encode())
        if data is None:
            return None
        commit = decode(data, Commit)
        self._commits.put(cache_key, commit)
        return commit

    def get_commit(self, repo: Repository, commit_id: str) -> Commit:
        """The commit with this full id; raises NotFoundError."""
        commit = self.find_commit(repo, commit_id)
        if commit is None:
            raise NotFoundError(f"commit not found: {commit_id!r}")
        return commit

    def commits_with_prefix(self, repo: Repository, prefix: str, limit: int = 2) -> list[str]:
        """Ids of commits starting with ``prefix`` (at most ``limit``)."""
        return [
            item.key.decode()
            for item in self.kv.scan(commits_partition(repo), prefix=prefix.encode(), limit=limit)
        ]
