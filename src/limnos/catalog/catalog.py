"""The catalog: objects on refs, on top of the engine and the blockstore."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from limnos.block.adapter import BlockAdapter, BlockWriter, PutResult, fresh_address, join_uri
from limnos.catalog.entry import (
    RELATIVE,
    Entry,
    decode_entry,
    encode_entry,
    normalize_metadata,
)
from limnos.catalog.listing import Listed, list_page
from limnos.graveler.engine import Change, Graveler
from limnos.graveler.errors import NotFoundError, ValidationError
from limnos.graveler.model import Branch, Repository
from limnos.graveler.names import check_path
from limnos.graveler.revparse import ResolvedRef

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class EntryChange:
    """A difference between two states, with entries decoded."""

    path: str
    kind: str
    left: Entry | None
    right: Entry | None

    @property
    def size(self) -> int | None:
        """Size of the object on the side that has it (right first)."""
        entry = self.right or self.left
        return entry.size if entry is not None else None


class Catalog:
    """Object-level operations of repositories."""

    def __init__(self, graveler: Graveler, block: BlockAdapter) -> None:
        self.graveler = graveler
        self.block = block

    def create_repository(
        self,
        name: str,
        storage_namespace: str,
        default_branch: str = "main",
        *,
        sample_data: bool = False,
        bare: bool = False,
        read_only: bool = False,
        committer: str = "",
    ) -> Repository:
        """Create a repository; with ``sample_data`` its default branch holds the sample set."""
        initial_tree = None
        if sample_data and not bare:
            from limnos.sample import sample_files

            def initial_tree(namespace: str, empty_tree: str) -> str:
                return build_tree(self.graveler, self.block, namespace, empty_tree, sample_files())

        return self.graveler.create_repository(
            name,
            storage_namespace,
            default_branch,
            bare=bare,
            read_only=read_only,
            initial_tree=initial_tree,
            committer=committer,
        )

    # reads --------------------------------------------------------------------------

    def stat(self, repo: Repository, ref: ResolvedRef, path: str) -> Entry:
        """The entry at ``path``; raises NotFoundError."""
        value = self.graveler.get(repo, ref, path)
        if value is None:
            raise NotFoundError(f"object {path!r} not found")
        return decode_entry(value)

    def find(self, repo: Repository, ref: ResolvedRef, path: str) -> Entry | None:
        """The entry at ``path`` or None."""
        value = self.graveler.get(repo, ref, path)
        return None if value is None else decode_entry(value)

    def list_entries(
        self,
        repo: Repository,
        ref: ResolvedRef,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        amount: int = 1000,
    ) -> tuple[list[Listed[Entry]], bool]:
        """A page of objects and common prefixes, and whether more follow."""

        def scan(start: str) -> Iterator[tuple[str, Entry]]:
            for key, value in self.graveler.iterate(repo, ref, start=start, prefix=prefix):
                yield key, decode_entry(value)

        return list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)

    def open(self, repo: Repository, entry: Entry, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream the bytes ``[start, end)`` of an object."""
        return self.block.get(entry.physical_address(repo.storage_namespace), start, end)

    def read_cached(self, repo: Repository, entry: Entry, start: int, end: int) -> bytes | None:
        """The bytes ``[start, end)`` of an object if storage has them at hand (see
        BlockAdapter.read_cached); None when they must be fetched."""
        return self.block.read_cached(entry.physical_address(repo.storage_namespace), start, end)

    # writes -------------------------------------------------------------------------

    def writer(self, repo: Repository) -> tuple[str, BlockWriter]:
        """A fresh relative address in the repository and a writer for its bytes."""
        return self.block.new_object_writer(repo.storage_namespace)

    def link(
        self,
        repo: Repository,
        branch: str,
        path: str,
        address: str,
        stored: PutResult,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        address_type: int = RELATIVE,
        known: Branch | None = None,
    ) -> Entry:
        """Stage an entry for bytes already written at ``address``.

        ``known`` is the branch record if the caller has just read it.
        """
        check_path(path)
        entry = Entry.stored(
            address,
            stored,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            metadata=metadata,
            address_type=address_type,
        )
        self.graveler.set(repo, branch, path, encode_entry(entry), if_absent=if_absent, known=known)
        return entry

    def put(
        self,
        repo: Repository,
        branch: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Entry:
        """Write bytes and stage them at ``path`` (used for sample data and tests)."""
        check_path(path)
        address, writer = self.writer(repo)
        try:
            for chunk in chunks:
                writer.write(chunk)
            stored = writer.commit()
        except BaseException:
            writer.abort()
            raise
        return self.link(repo, branch, path, address, stored, content_type=content_type, metadata=metadata)

    def delete(self, repo: Repository, branch: str, path: str) -> None:
        """Stage the deletion of ``path``; raises NotFoundError."""
        check_path(path)
        self.graveler.delete(repo, branch, path)

    def delete_many(self, repo: Repository, branch: str, paths: list[str]) -> None:
        """Stage the deletion of several paths."""
        for path in paths:
            check_path(path)
        self.graveler.delete_many(repo, branch, paths)

    def copy(
        self,
        repo: Repository,
        src_ref: ResolvedRef,
        src_path: str,
        dest_branch: str,
        dest_path: str,
    ) -> Entry:
        """Copy an object to ``dest_path`` of a branch; storage copies without moving bytes where it can."""
        check_path(dest_path, what="destination path")
        source = self.stat(repo, src_ref, src_path)
        ns = repo.storage_namespace
        address = fresh_address()
        self.block.copy(source.physical_address(ns), join_uri(ns, address))
        entry = Entry(
            address=address,
            address_type=RELATIVE,
            size=source.size,
            checksum=source.checksum,
            # A copy is a new object: its time is now, not the source's (a hard-linked
            # copy would otherwise report the source file's mtime).
            mtime=int(time.time()),
            content_type=source.content_type,
            metadata=source.metadata,
        )
        self.graveler.set(repo, dest_branch, dest_path, encode_entry(entry))
        return entry

    def update_metadata(
        self, repo: Repository, branch: ResolvedRef, path: str, metadata: dict[str, str]
    ) -> None:
        """Replace the user metadata of an object on a branch."""
        if branch.branch_name is None:
            raise ValidationError("user metadata can only be changed on a branch")
        entry = self.stat(repo, branch, path)
        changed = Entry(
            address=entry.address,
            address_type=entry.address_type,
            size=entry.size,
            checksum=entry.checksum,
            mtime=entry.mtime,
            content_type=entry.content_type,
            metadata=normalize_metadata(metadata),
        )
        self.graveler.set(repo, branch.branch_name, path, encode_entry(changed))

    # diffs --------------------------------------------------------------------------

    @staticmethod
    def decode_changes(changes: Iterator[Change]) -> Iterator[EntryChange]:
        """Engine changes with their entries decoded."""
        for change in changes:
            yield EntryChange(
                change.key,
                change.kind,
                None if change.left is None else decode_entry(change.left),
                None if change.right is None else decode_entry(change.right),
            )


def build_tree(
    graveler: Graveler,
    block: BlockAdapter,
    namespace: str,
    base_tree: str,
    files: Iterable[tuple[str, bytes, str]],
) -> str:
    """Write ``files`` (path, content, content type) into storage and return the tree of
    ``base_tree`` plus those files. Used for the sample data of new repositories."""
    changes: list[tuple[str, bytes | None]] = []
    for path, content, content_type in files:
        address = fresh_address()
        stored = block.put_bytes(join_uri(namespace, address), content)
        entry = Entry.stored(address, stored, content_type=content_type)
        changes.append((path, encode_entry(entry)))
    changes.sort(key=lambda c: c[0])
    return graveler.committed.apply(namespace, base_tree, changes)
