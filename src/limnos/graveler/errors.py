"""Errors of the versioning engine. The API maps each kind to one HTTP status."""

from __future__ import annotations

from limnos import errors as kinds


class GravelerError(kinds.LimnosError):
    """Base class of engine errors; the message is shown to the client."""


class NotFoundError(GravelerError, kinds.NotFound):
    """A repository, branch, tag, commit or object does not exist (404)."""


class RepositoryNotFoundError(NotFoundError, kinds.RepositoryNotFound):
    """The repository named does not exist (404)."""


class BranchNotFoundError(NotFoundError):
    """The branch a write or a branch operation names does not exist."""


class AlreadyExistsError(GravelerError, kinds.Conflict):
    """A repository, branch or tag of that name exists already (409)."""


class ConflictError(GravelerError, kinds.Conflict):
    """The operation conflicts with the current state: merge conflicts, lost races (409)."""


class ValidationError(GravelerError, kinds.Invalid):
    """Bad input: a malformed name, ref or argument (400)."""


class NoChangesError(ValidationError):
    """A commit or merge that would change nothing and was not allowed to be empty (400)."""


class DirtyBranchError(ValidationError):
    """The branch has uncommitted changes where the operation needs none (400)."""


class ForbiddenError(GravelerError, kinds.Forbidden):
    """The operation is not allowed: read-only repository, default branch deletion (403)."""


class PreconditionFailedError(GravelerError, kinds.PreconditionFailed):
    """A conditional write found the path present (412)."""


class TooManyRequestsError(GravelerError, kinds.TooManyRequests):
    """Retries of a contended update ran out (429)."""
