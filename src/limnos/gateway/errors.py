"""S3's errors: a code, an HTTP status and a message, answered as S3's XML.

Errors of the layers below arrive as the kinds of :mod:`limnos.errors`; each kind maps
to one S3 code here, so no operation translates errors itself. Operations raise
:class:`S3Error` directly where S3 has a more precise code (``NoSuchKey``, ``NoSuchBucket``).
"""

from __future__ import annotations

from starlette.responses import Response

from limnos import errors as kinds
from limnos.gateway.xml import element, xml_document


class S3Error(Exception):
    """An error answered in S3's format."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_implemented(operation: str) -> S3Error:
    """The answer to an S3 operation the gateway does not serve."""
    return S3Error("NotImplemented", f"{operation} is not implemented by the Limnos S3 gateway", 501)


def malformed_xml() -> S3Error:
    """The answer to a request body that is not the XML document the operation takes."""
    return S3Error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        400,
    )


# Kinds of error of the layers below, most specific first.
KIND_CODES: tuple[tuple[type[Exception], str, int], ...] = (
    (kinds.RepositoryNotFound, "NoSuchBucket", 404),
    (kinds.NotFound, "NoSuchKey", 404),
    (kinds.Conflict, "OperationAborted", 409),
    (kinds.PreconditionFailed, "PreconditionFailed", 412),
    (kinds.Invalid, "InvalidArgument", 400),
    (kinds.Forbidden, "AccessDenied", 403),
    (kinds.Unauthenticated, "AccessDenied", 403),
    (kinds.Gone, "NoSuchKey", 404),
    (kinds.TooManyRequests, "SlowDown", 503),
    (kinds.Unavailable, "ServiceUnavailable", 503),
    # S3 has no code for a full store (AWS never fills up): 507 Insufficient Storage, as
    # S3-compatible stores answer it, under the status's own name. Clients do not retry it.
    (kinds.InsufficientStorage, "InsufficientStorage", 507),
)


def as_s3_error(err: Exception) -> S3Error | None:
    """The S3 error for an error of a layer below (None for an unexpected one)."""
    if isinstance(err, S3Error):
        return err
    for kind, code, status in KIND_CODES:
        if isinstance(err, kind):
            return S3Error(code, str(err) or kind.__name__, status)
    return None


def error_response(err: S3Error, resource: str, request_id: str, *, head: bool = False) -> Response:
    """S3's error document (no body for HEAD, as S3 answers)."""
    body = b""
    if not head:
        body = xml_document(
            element(
                "Error",
                element("Code", err.code),
                element("Message", err.message),
                element("Resource", resource),
                element("RequestId", request_id),
            )
        )
    headers = {"x-amz-request-id": request_id}
    return Response(body, status_code=err.status, media_type="application/xml", headers=headers)
