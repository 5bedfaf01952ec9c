"""AWS Signature Version 4 as S3 uses it: the Authorization header and the presigned query.

S3's canonical request differs from other AWS services in one way that matters here: the
path is used as the client sent it, neither normalised nor encoded twice. The raw path of
the request is therefore the canonical URI; a client that sent characters unencoded (which
its signer encoded) is matched by a second candidate, the path encoded as AWS encodes it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, unquote_plus

from limnos.gateway.errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_CLOCK_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_SCOPE_TERMINATOR = "aws4_request"

_HEADER = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)
_CREDENTIAL = re.compile(r"(?P<akid>[^/]+)/(?P<date>[^/]+)/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Credential:
    """The credential scope of a signature: who signed, on which day, where and for what."""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        """``<date>/<region>/<service>/aws4_request``."""
        return f"{self.date}/{self.region}/{self.service}/{_SCOPE_TERMINATOR}"


@dataclass(frozen=True)
class SigV4:
    """A parsed Version 4 signature, from the Authorization header or the query."""

    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool
    expires: int = 0


def malformed_header(message: str) -> S3Error:
    """S3's answer to an Authorization header it cannot read."""
    return S3Error("AuthorizationHeaderMalformed", f"The authorization header is malformed; {message}", 400)


def _query_error(message: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message, 400)


def _credential(text: str, *, presigned: bool) -> Credential:
    match = _CREDENTIAL.fullmatch(text)
    if match is None:
        message = (
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
        if presigned:
            raise _query_error("Error parsing the X-Amz-Credential parameter; " + message)
        raise malformed_header(message)
    credential = Credential(match["akid"], match["date"], match["region"], match["service"])
    if credential.service != "s3":
        text = f"incorrect service {credential.service!r}. This endpoint belongs to 's3'."
        if presigned:
            raise _query_error("Error parsing the X-Amz-Credential parameter; " + text)
        raise malformed_header(text)
    return credential


def parse_header(value: str) -> SigV4:
    """The signature of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""
    match = _HEADER.match(value.strip())
    if match is None:
        raise malformed_header(
            "expecting 'AWS4-HMAC-SHA256 Credential=<credential>, SignedHeaders=<headers>, "
            "Signature=<signature>'"
        )
    return SigV4(
        _credential(match["credential"], presigned=False),
        tuple(match["signed"].lower().split(";")),
        match["signature"].lower(),
        presigned=False,
    )


def parse_query(query: Mapping[str, str]) -> SigV4:
    """The signature of a presigned URL (``X-Amz-Algorithm=AWS4-HMAC-SHA256&...``)."""
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".')
    needed = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires")
    if any(not query.get(name) for name in needed):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_EXPIRES:
        raise _query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
            "must be less than 604800 seconds"
        )
    return SigV4(
        _credential(query["X-Amz-Credential"], presigned=True),
        tuple(query["X-Amz-SignedHeaders"].lower().split(";")),
        query["X-Amz-Signature"].lower(),
        presigned=True,
        expires=expires,
    )


def request_time(sig: SigV4, amz_date: str | None) -> datetime:
    """When the request was signed (its ``X-Amz-Date``), checked against the credential's day."""
    if not amz_date:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)
    try:
        when = datetime.strptime(amz_date, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        if sig.presigned:
            raise _query_error(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
            ) from None
        raise S3Error(
            "AccessDenied", "x-amz-date must be in the ISO8601 Long Format yyyyMMdd'T'HHmmss'Z'", 403
        ) from None
    if when.strftime("%Y%m%d") != sig.credential.date:
        raise malformed_header("Invalid credential date. Date is not the same as X-Amz-Date.")
    return when


def check_time(sig: SigV4, signed_at: datetime, now: datetime) -> None:
    """Refuse a request signed too far from now, or a presigned URL past its expiry."""
    if sig.presigned:
        if signed_at - now > MAX_CLOCK_SKEW:
            raise S3Error("AccessDenied", "Request is not valid yet", 403)
        if now > signed_at + timedelta(seconds=sig.expires):
            raise S3Error("AccessDenied", "Request has expired", 403)
        return
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        )


def uri_encode(text: str) -> str:
    """AWS's URI encoding of one query name or value: everything but unreserved characters."""
    return quote(text, safe="-_.~")


def encode_path(path: str) -> str:
    """AWS's URI encoding of a path: as :func:`uri_encode`, keeping ``/``."""
    return quote(path, safe="-_.~/")


def canonical_query(raw_query: str, *, drop_signature: bool) -> str:
    """The sorted, URI-encoded query string; a presigned URL's own signature is left out."""
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        if drop_signature and name == "X-Amz-Signature":
            continue
        pairs.append((uri_encode(name), uri_encode(value)))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_headers(headers: Sequence[tuple[bytes, bytes]], signed: Sequence[str]) -> str:
    """``name:value`` lines of the signed headers (values trimmed, runs of spaces made one,
    repeated headers joined by commas)."""
    values: dict[str, list[str]] = {name: [] for name in signed}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in values:
            values[name].append(_SPACES.sub(" ", raw_value.decode("latin-1").strip()))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in signed)


def canonical_uris(raw_path: str) -> list[str]:
    """The paths a client may have signed: as sent, and as AWS encodes the decoded path."""
    encoded = encode_path(unquote(raw_path))
    return [raw_path] if encoded == raw_path else [raw_path, encoded]


def signing_key(secret: str, credential: Credential) -> bytes:
    """The key derived from the secret for the credential's day, region and service."""
    key = _hmac(("AWS4" + secret).encode(), credential.date)
    for part in (credential.region, credential.service, _SCOPE_TERMINATOR):
        key = _hmac(key, part)
    return key


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """The string a Version 4 signature signs."""
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signature(key: bytes, text: str) -> str:
    """Hex HMAC-SHA256 of ``text`` under ``key``."""
    return hmac.new(key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def verify(
    sig: SigV4,
    key: bytes,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[bytes, bytes]],
    amz_date: str,
    payload_hash: str,
) -> None:
    """Raise ``SignatureDoesNotMatch`` unless ``sig`` signs this request."""
    query = canonical_query(raw_query, drop_signature=sig.presigned)
    header_lines = canonical_headers(headers, sig.signed_headers)
    signed = ";".join(sig.signed_headers)
    for uri in canonical_uris(raw_path):
        request = f"{method}\n{uri}\n{query}\n{header_lines}\n{signed}\n{payload_hash}"
        expected = signature(key, string_to_sign(amz_date, sig.credential.scope, request))
        if hmac.compare_digest(expected, sig.signature):
            return
    raise signature_mismatch()


def signature_mismatch() -> S3Error:
    """S3's answer to a signature that does not sign the request."""
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        403,
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()
