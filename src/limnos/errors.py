"""The kinds of error every layer raises, so that each front end maps kinds, not classes.

An error a client may be told about derives from exactly one kind below; its message is
shown to the client. The REST API turns kinds into HTTP status codes in one table, and
any other front end does the same with its own codes. Nothing here imports anything of
Limnos: every layer, the lowest included, may raise these.
"""

from __future__ import annotations


class LimnosError(Exception):
    """Base of every error whose message may be shown to a client."""


class NotFound(LimnosError):
    """What was named does not exist."""


class RepositoryNotFound(NotFound):
    """The repository named does not exist (S3 tells it apart from a missing object)."""


class Conflict(LimnosError):
    """The operation conflicts with the current state (a name taken, a merge conflict)."""


class PreconditionFailed(LimnosError):
    """A condition the client set does not hold (the path exists already)."""


class Invalid(LimnosError):
    """The input is malformed or not allowed as given."""


class Forbidden(LimnosError):
    """The operation is not allowed here (read-only repository, default branch)."""


class Unauthenticated(LimnosError):
    """No credentials, or credentials that do not sign in."""


class Gone(LimnosError):
    """The record exists, but the bytes it names are missing from storage."""


class TooManyRequests(LimnosError):
    """Retries of a contended update ran out; the client may try again."""


class Unavailable(LimnosError):
    """A store the operation needs cannot be reached or stays locked."""


class InsufficientStorage(LimnosError):
    """A store the operation writes to is full (no space left, or a quota reached)."""
