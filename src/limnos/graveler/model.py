"""Records of the versioning engine, as stored in the metadata store."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class Repository(msgspec.Struct, frozen=True):
    """A repository: its storage namespace, default branch and identity."""

    name: str
    storage_namespace: str
    default_branch: str
    creation_date: int
    instance_id: str  # changes when a repository is deleted and re-created
    read_only: bool = False
    metadata: dict[str, str] = {}
    #: Branch name patterns that take no direct writes or commits (graveler/protection.py).
    protected_branches: tuple[str, ...] = ()


class Commit(msgspec.Struct, frozen=True, array_like=True):
    """An immutable commit. Its id is the SHA-256 of its canonical encoding."""

    tree_id: str
    parents: tuple[str, ...]
    committer: str
    message: str
    creation_date: int
    metadata: tuple[tuple[str, str], ...]
    generation: int
    version: int = 1

    def encode(self) -> bytes:
        """The canonical bytes of this commit."""
        return _encoder.encode(self)

    def compute_id(self) -> str:
        """The content-hash id: the same content always gives the same id."""
        return hashlib.sha256(self.encode()).hexdigest()

    @property
    def metadata_dict(self) -> dict[str, str]:
        """Metadata as a dictionary."""
        return dict(self.metadata)


class Branch(msgspec.Struct, frozen=True, array_like=True):
    """A branch: its head commit, live staging token and sealed (committing) tokens.

    Sealed tokens are newest first; they hold writes that a commit in flight is turning
    into a tree, and stay readable until the branch points at that commit.
    """

    commit_id: str
    staging_token: str
    sealed_tokens: tuple[str, ...] = ()
    hidden: bool = False  # left out of listings unless asked for

    def moved(
        self,
        commit_id: str | None = None,
        staging_token: str | None = None,
        sealed_tokens: tuple[str, ...] | None = None,
    ) -> Branch:
        """This branch with some of its pointers changed (and its flags kept)."""
        return msgspec.structs.replace(
            self,
            commit_id=self.commit_id if commit_id is None else commit_id,
            staging_token=self.staging_token if staging_token is None else staging_token,
            sealed_tokens=self.sealed_tokens if sealed_tokens is None else sealed_tokens,
        )

    def encode(self) -> bytes:
        """The stored bytes (also the compare-and-set witness)."""
        return _encoder.encode(self)


class Tag(msgspec.Struct, frozen=True, array_like=True):
    """A tag: a fixed name for a commit."""

    commit_id: str
    creation_date: int = 0


_encoder = msgspec.msgpack.Encoder()
_decoders: dict[type, msgspec.msgpack.Decoder[Any]] = {}


def encode(record: msgspec.Struct) -> bytes:
    """Encode any record of this module."""
    return _encoder.encode(record)


def decode(data: bytes, kind: type[T]) -> T:
    """Decode a record of this module."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.msgpack.Decoder(kind)
    result: T = decoder.decode(data)
    return result
