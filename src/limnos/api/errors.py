"""How the REST API answers errors: one table from kinds of error to status codes."""

from __future__ import annotations

from limnos.api.common import ApiError
from limnos.catalog import errors as kinds

# Every error a client may be told about is of one kind; this is the one place that
# turns kinds into status codes.
STATUS: list[tuple[type[BaseException], int]] = [
    (kinds.NotFound, 404),
    (kinds.Conflict, 409),
    (kinds.Invalid, 400),
    (kinds.Forbidden, 403),
    (kinds.PreconditionFailed, 412),
    (kinds.TooManyRequests, 429),
    (kinds.Gone, 410),
    (kinds.Unauthenticated, 401),
    (kinds.Unavailable, 503),
    (kinds.InsufficientStorage, 507),
]


def status_of(err: BaseException) -> int | None:
    """The HTTP status of a known error; None for any other (a bug: 500)."""
    if isinstance(err, ApiError):
        return err.status
    for kind, status in STATUS:
        if isinstance(err, kind):
            return status
    return None


def error_body(err: BaseException) -> dict[str, object]:
    """``status_code`` and ``message`` of a known error, as per-item results report it."""
    return {"status_code": status_of(err) or 500, "message": str(err) or err.__class__.__name__}
