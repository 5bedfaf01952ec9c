"""Signing in S3 requests: AWS Signature Version 4 (header, presigned query, aws-chunked
payloads) and Version 2, with Limnos's access keys.

:func:`sign_in` finds which kind of signature a request carries, looks up the secret of
its access key, verifies the signature and hands back the body wrapped in the checks the
request declares (signed SHA-256, ``Content-MD5``, ``x-amz-checksum-*``, each chunk's
signature), settled as the body is read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.requests import Request

from limnos.auth import AuthService, User
from limnos.gateway import chunked, sigv2, sigv4
from limnos.gateway.checksums import ALGORITHMS, Expected, checksum_header, expected_for
from limnos.gateway.errors import S3Error
from limnos.gateway.payload import Check, sha256_check, verified

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


async def sign_in(
    http: Request, auth: AuthService, region: str, *, virtual_bucket: str | None = None
) -> tuple[User, AsyncIterator[bytes]]:
    """The user who signed ``http`` and its verified body; raises S3Error otherwise.

    ``virtual_bucket`` is the bucket a virtual-host-style request's host names (Version 2
    signs it as part of the resource).

    The region of a Version 4 credential scope is the one the client signed for, as with
    lakeFS: any region is accepted, so clients configured for another region still work.
    """
    authorization = http.headers.get("authorization")
    query = http.query_params
    if authorization is not None:
        if authorization.startswith(sigv4.ALGORITHM):
            return await _sign_in_v4(http, auth, sigv4.parse_header(authorization))
        if authorization.startswith("AWS "):
            return _sign_in_v2(http, auth, sigv2.parse_header(authorization), virtual_bucket)
        raise S3Error("InvalidArgument", "Unsupported Authorization Type", 400)
    if "X-Amz-Algorithm" in query or "X-Amz-Credential" in query:
        return await _sign_in_v4(http, auth, sigv4.parse_query(query))
    if "AWSAccessKeyId" in query or "Signature" in query:
        return _sign_in_v2(http, auth, sigv2.parse_query(query), virtual_bucket)
    raise S3Error("AccessDenied", "Access Denied", 403)


def _signed_by(user: User | None) -> User:
    """The signer of a request whose signature matched; None never signs.

    The signature of a key that is not live was checked all the same, against a secret
    nobody knows (:meth:`AuthService.signing_secret`), and is refused with the same
    SignatureDoesNotMatch as a wrong secret's: neither the answer nor the work behind it
    tells which access key ids exist.
    """
    if user is None:
        raise sigv4.signature_mismatch()
    return user


async def _sign_in_v4(
    http: Request, auth: AuthService, sig: sigv4.SigV4
) -> tuple[User, AsyncIterator[bytes]]:
    if sig.presigned:
        amz_date = http.query_params.get("X-Amz-Date", "")
        payload_hash = sigv4.UNSIGNED_PAYLOAD
    else:
        amz_date = http.headers.get("x-amz-date") or http.headers.get("date", "")
        payload_hash = http.headers.get("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD)
    signed_at = sigv4.request_time(sig, amz_date)
    user, secret = auth.signing_secret(sig.credential.access_key_id)
    key = sigv4.signing_key(secret, sig.credential)
    sigv4.verify(
        sig,
        key,
        method=http.method,
        raw_path=http.scope.get("raw_path", b"").decode("latin-1") or http.scope["path"],
        raw_query=http.scope.get("query_string", b"").decode("latin-1"),
        headers=http.scope["headers"],
        amz_date=amz_date,
        payload_hash=payload_hash,
    )
    signer = _signed_by(user)
    sigv4.check_time(sig, signed_at, datetime.now(UTC))
    checks = _declared_checksums(http)
    if payload_hash == sigv4.UNSIGNED_PAYLOAD:
        return signer, verified(http.stream(), checks)
    if _HEX_SHA256.fullmatch(payload_hash):
        return signer, verified(http.stream(), [sha256_check(payload_hash), *checks])
    if payload_hash in chunked.STREAMING and not sig.presigned:
        signing = None
        if payload_hash != chunked.STREAMING_UNSIGNED_TRAILER:
            signing = chunked.ChunkSigning(key, amz_date, sig.credential.scope, sig.signature)
        return signer, _chunked_body(http, signing, payload_hash != chunked.STREAMING_SIGNED, checks)
    raise S3Error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER "
        "or a valid sha256 value.",
        400,
    )


def _sign_in_v2(
    http: Request, auth: AuthService, sig: sigv2.SigV2, virtual_bucket: str | None
) -> tuple[User, AsyncIterator[bytes]]:
    user, secret = auth.signing_secret(sig.access_key_id)
    raw_path = http.scope.get("raw_path", b"").decode("latin-1") or http.scope["path"]
    raw_query = http.scope.get("query_string", b"").decode("latin-1")
    date = sigv2.date_line(sig, http.headers)
    amz_headers = sigv2.canonical_amz_headers(http.scope["headers"])
    texts = [
        sigv2.string_to_sign(
            http.method,
            http.headers,
            date,
            amz_headers,
            sigv2.canonical_resource(path, raw_query, virtual_bucket),
        )
        for path in sigv2.resources(raw_path)
    ]
    sigv2.verify(sig, secret, texts)
    signer = _signed_by(user)
    sigv2.check_time(sig, http.headers, datetime.now(UTC))
    return signer, verified(http.stream(), _declared_checksums(http))


def _chunked_body(
    http: Request, signing: chunked.ChunkSigning | None, trailer: bool, checks: list[Check]
) -> AsyncIterator[bytes]:
    """The decoded body of an aws-chunked request, with the checksums its trailer states."""
    trailing: dict[str, Expected] = {}
    if trailer:
        for name in http.headers.get("x-amz-trailer", "").split(","):
            name = name.strip().lower()
            if name:
                trailing[name] = expected_for(name)

    def on_trailer(name: str, value: str) -> None:
        expected = trailing.get(name)
        if expected is not None:
            expected.value = expected_for(name, value).value

    length = http.headers.get("x-amz-decoded-content-length")
    if length is not None and not (length.isascii() and length.isdigit()):
        raise S3Error("InvalidArgument", "x-amz-decoded-content-length must be a number of bytes", 400)
    decoded = chunked.decode(
        http.stream(),
        signing=signing,
        trailer=trailer,
        decoded_length=None if length is None else int(length),
        on_trailer=on_trailer,
    )
    return verified(decoded, [*checks, *trailing.values()])


def _declared_checksums(http: Request) -> list[Check]:
    """The checks of ``Content-MD5`` and ``x-amz-checksum-*`` headers over the body.

    CompleteMultipartUpload's ``x-amz-checksum-*`` states the whole object's checksum, not
    its body's, so there only ``Content-MD5`` is about the body.
    """
    checks: list[Check] = []
    md5 = http.headers.get("content-md5")
    if md5 is not None:
        checks.append(expected_for("Content-MD5", md5))
    if http.method == "POST" and "uploadId" in http.query_params:
        return checks
    for algorithm in ALGORITHMS:
        value = http.headers.get(checksum_header(algorithm))
        if value is not None:
            checks.append(expected_for(checksum_header(algorithm), value))
    return checks
