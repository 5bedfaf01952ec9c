"""AWS Signature Version 2 as S3 uses it: ``Authorization: AWS <key>:<signature>`` and the
presigned query (``AWSAccessKeyId``, ``Signature``, ``Expires``).

The signature is the base64 HMAC-SHA1 of the method, ``Content-MD5``, ``Content-Type``,
the date (or, presigned, the expiry), the ``x-amz-*`` headers and the resource: the path
as sent, prefixed with ``/<bucket>`` for a virtual-host request, and the subresources of
the query that S3 signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_plus

from limnos.gateway.errors import S3Error
from limnos.gateway.operations import RESPONSE_OVERRIDES
from limnos.gateway.sigv4 import MAX_CLOCK_SKEW, signature_mismatch

# The query parameters S3 includes in the signed resource.
SIGNED_SUBRESOURCES = RESPONSE_OVERRIDES.keys() | frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "delete",
        "encryption",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "select-type",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)
_HEADER = re.compile(r"AWS (?P<akid>[^:\s]+):(?P<signature>\S+)\s*$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SigV2:
    """A parsed Version 2 signature."""

    access_key_id: str
    signature: str
    presigned: bool
    expires: int = 0


def parse_header(value: str) -> SigV2:
    """The signature of an ``Authorization: AWS <key>:<signature>`` header."""
    match = _HEADER.match(value.strip())
    if match is None:
        raise S3Error(
            "InvalidArgument", "Authorization header is invalid -- one and only one ' ' (space) required", 400
        )
    return SigV2(match["akid"], match["signature"], presigned=False)


def parse_query(query: Mapping[str, str]) -> SigV2:
    """The signature of a Version 2 presigned URL."""
    if not query.get("AWSAccessKeyId") or not query.get("Signature") or not query.get("Expires"):
        raise S3Error(
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            403,
        )
    try:
        expires = int(query["Expires"])
    except ValueError:
        raise S3Error("AccessDenied", "Invalid date (should be seconds since epoch)", 403) from None
    return SigV2(query["AWSAccessKeyId"], query["Signature"], presigned=True, expires=expires)


def canonical_amz_headers(headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The ``x-amz-*`` headers, lowercased, sorted, one ``name:value`` line each."""
    values: dict[str, list[str]] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name.startswith("x-amz-"):
            values.setdefault(name, []).append(_SPACES.sub(" ", raw_value.decode("latin-1").strip()))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in sorted(values))


def canonical_resource(raw_path: str, raw_query: str, virtual_bucket: str | None) -> str:
    """The path as sent (``/<bucket>`` first for a virtual-host request) and its signed
    subresources, sorted."""
    resource = raw_path if virtual_bucket is None else f"/{virtual_bucket}{raw_path}"
    subresources: list[tuple[str, str | None]] = []
    for part in raw_query.split("&"):
        name, sep, value = part.partition("=")
        if name in SIGNED_SUBRESOURCES:
            subresources.append((name, unquote_plus(value) if sep else None))
    if subresources:
        subresources.sort(key=lambda item: item[0])
        resource += "?" + "&".join(
            name if value is None else f"{name}={value}" for name, value in subresources
        )
    return resource


def string_to_sign(
    method: str, headers: Mapping[str, str], date: str, amz_headers: str, resource: str
) -> str:
    """The string a Version 2 signature signs."""
    md5 = headers.get("content-md5", "")
    content_type = headers.get("content-type", "")
    return f"{method}\n{md5}\n{content_type}\n{date}\n{amz_headers}{resource}"


def resources(raw_path: str) -> list[str]:
    """The paths a client may have signed: as sent, and a bucket's path with the ``/`` S3's
    resource of a bucket ends with (clients sign ``/bucket/`` and send ``/bucket``)."""
    if raw_path.count("/") == 1 and len(raw_path) > 1:
        return [raw_path, raw_path + "/"]
    return [raw_path]


def verify(sig: SigV2, secret: str, texts: Sequence[str]) -> None:
    """Raise ``SignatureDoesNotMatch`` unless ``sig`` signs one of ``texts`` with ``secret``."""
    for text in texts:
        digest = hmac.new(secret.encode(), text.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode(), sig.signature):
            return
    raise signature_mismatch()


def check_time(sig: SigV2, headers: Mapping[str, str], now: datetime) -> None:
    """Refuse a presigned URL past its expiry, or a request dated too far from now."""
    if sig.presigned:
        if now > datetime.fromtimestamp(sig.expires, UTC):
            raise S3Error("AccessDenied", "Request has expired", 403)
        return
    text = headers.get("x-amz-date") or headers.get("date")
    if not text:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if abs(now - when) > MAX_CLOCK_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        )


def date_line(sig: SigV2, headers: Mapping[str, str]) -> str:
    """The date of the string to sign: the expiry when presigned, empty when ``x-amz-date``
    (signed among the amz headers) is sent, else the ``Date`` header."""
    if sig.presigned:
        return str(sig.expires)
    if "x-amz-date" in headers:
        return ""
    return headers.get("date", "")
