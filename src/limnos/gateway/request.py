"""One S3 request as the operations see it: who signed it, what it addresses, its body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request

from limnos.auth import User
from limnos.catalog import Catalog


@dataclass
class S3Request:
    """An authenticated S3 request.

    ``bucket`` is empty for the service (ListBuckets); ``key`` is empty for a request on
    the bucket itself. ``body`` yields the payload's bytes as the client meant them: an
    ``aws-chunked`` body is decoded and each chunk's signature and the checksums the client
    declared are verified as the bytes pass (a mismatch raises an S3 error before the last
    bytes are handed out).
    """

    http: Request
    catalog: Catalog
    user: User
    bucket: str
    key: str
    body: AsyncIterator[bytes]
    request_id: str
    region: str

    @property
    def ref(self) -> str:
        """The ref of the key: its first level."""
        return self.key.split("/", 1)[0]

    @property
    def path(self) -> str:
        """The key without its ref: the object's path in the repository."""
        parts = self.key.split("/", 1)
        return parts[1] if len(parts) == 2 else ""

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (the last value of each)."""
        return dict(self.http.query_params)
