"""Requests to the S3 gateway signed by hand (through botocore's signers where it has
them), for the cases a client library never sends: tampered signatures, skewed clocks,
expired URLs, aws-chunked bodies with bad chunks or checksums, Version 2."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import httpx
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@contextmanager
def clock(offset: datetime.timedelta) -> Iterator[None]:
    """botocore's signers see a clock ``offset`` from now."""
    when = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + offset
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=when):
        yield


class _FixedPayload(botocore_auth.S3SigV4Auth):  # type: ignore[misc]
    """S3's SigV4 signer with the payload hash given rather than computed."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: Any) -> str:
        if self._payload_hash is not None:
            return self._payload_hash
        return str(super().payload(request))


def credentials(access_key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY) -> Credentials:
    return Credentials(access_key_id, secret)


def sign_v4(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    payload_hash: str | None = None,
    creds: Credentials | None = None,
    region: str = "us-east-1",
) -> httpx.Request:
    """A request signed with SigV4 in its Authorization header."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    _FixedPayload(creds or credentials(), region, payload_hash).add_auth(request)
    return httpx.Request(method, url, headers=dict(request.headers.items()), content=body)


def presign_v4(method: str, url: str, *, expires: int = 3600, creds: Credentials | None = None) -> str:
    """A SigV4 presigned URL."""
    request = AWSRequest(method=method, url=url)
    botocore_auth.S3SigV4QueryAuth(creds or credentials(), "s3", "us-east-1", expires=expires).add_auth(
        request
    )
    return str(request.url)


def sign_v2(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    auth_path: str | None = None,
) -> httpx.Request:
    """A request signed with Signature Version 2 in its Authorization header (``auth_path``:
    the resource signed, ``/<bucket>/...`` for a virtual-host URL)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.auth_path = auth_path
    request.headers["Date"] = botocore_auth.formatdate(usegmt=True)
    botocore_auth.HmacV1Auth(credentials()).add_auth(request)
    return httpx.Request(method, url, headers=dict(request.headers.items()), content=body)


def presign_v2(method: str, url: str, *, expires: int = 3600) -> str:
    """A Signature Version 2 presigned URL."""
    request = AWSRequest(method=method, url=url)
    botocore_auth.HmacV1QueryAuth(credentials(), expires=expires).add_auth(request)
    return str(request.url)


def signing_key(secret: str, date: str, region: str = "us-east-1") -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def chunked_request(
    method: str,
    url: str,
    data: bytes,
    *,
    mode: str,
    chunk_size: int = 65536,
    trailer: tuple[str, str] | None = None,
    tamper_chunk: int | None = None,
) -> httpx.Request:
    """An aws-chunked request: ``mode`` is the x-amz-content-sha256 streaming value; with
    ``trailer`` the body ends with that header; ``tamper_chunk`` flips a byte of that chunk
    after signing."""
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data))}
    if trailer is not None:
        headers["X-Amz-Trailer"] = trailer[0]
    request = AWSRequest(method=method, url=url, data=b"", headers=headers)
    _FixedPayload(credentials(), "us-east-1", mode).add_auth(request)
    signed = "UNSIGNED" not in mode
    amz_date = request.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = signing_key(SECRET_ACCESS_KEY, amz_date[:8])
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]

    def sign(text: str) -> str:
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    body = b""
    for index, piece in enumerate(pieces):
        if signed:
            digest = hashlib.sha256(piece).hexdigest()
            previous = sign(
                f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{digest}"
            )
            header = f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        else:
            header = f"{len(piece):x}\r\n".encode()
        if index == tamper_chunk:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        body += header + piece + (b"\r\n" if piece else b"")
    if trailer is not None:
        line = f"{trailer[0]}:{trailer[1]}"
        body += (line + "\r\n").encode()
        if signed:
            digest = hashlib.sha256((line + "\n").encode()).hexdigest()
            trailer_sig = sign(f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n{digest}")
            body += f"x-amz-trailer-signature:{trailer_sig}\r\n".encode()
    body += b"\r\n"
    return httpx.Request(method, url, headers=dict(request.headers.items()), content=body)
