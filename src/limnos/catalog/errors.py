"""The catalog's errors: the kinds every front end maps, and the catalog's own.

Front ends catch and map these kinds only (a REST status code, an S3 error code); each
error of a layer below the catalog derives from one of them, so it needs no translation
on its way up.
"""

from __future__ import annotations

from limnos.errors import (
    Conflict,
    Forbidden,
    Gone,
    InsufficientStorage,
    Invalid,
    LimnosError,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from limnos.graveler.errors import BranchNotFoundError, RepositoryNotFoundError

__all__ = [
    "BranchNotFoundError",
    "Conflict",
    "DataMissingError",
    "Forbidden",
    "Gone",
    "InsufficientStorage",
    "Invalid",
    "LimnosError",
    "NotABranchError",
    "NotFound",
    "PreconditionFailed",
    "RepositoryNotFoundError",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
]


class DataMissingError(Gone):
    """An object's entry exists but its bytes are gone from storage.

    The message names the object's path, which the client knows, never its internal
    address.
    """

    def __init__(self, path: str) -> None:
        super().__init__(f"No data: the bytes of object {path!r} are missing from storage")
        self.path = path


class NotABranchError(BranchNotFoundError):
    """A write names a tag or a commit where it needs a branch.

    It is a missing branch to the REST API (as in lakeFS); the S3 gateway tells a write to
    a tag or a commit apart from one to a branch that does not exist.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"branch not found: {name!r}")
        self.name = name
