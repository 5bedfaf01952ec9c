"""Presigned URLs that Limnos serves itself, for blockstores that cannot sign their own
(``local`` and ``mem``).

A URL names one target — an object's address, or one part of a multipart upload to an
address — the HTTP method it allows and the second it stops working, and carries an
HMAC-SHA256 of all of them. It is relative to the server's root (:data:`SELF_SERVED_PATH`);
the front end that hands it out makes it absolute with the address the client used.
Changing any part of the URL, using it with another method, or using it after it expired
makes :meth:`UrlSigner.verify` refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from limnos.errors import Forbidden

#: Where the server answers the URLs it signs.
SELF_SERVED_PATH = "/_limnos/presigned"

# Methods a URL may be signed for; HEAD is allowed wherever GET is.
_METHODS = frozenset({"GET", "PUT"})


class PresignRefusedError(Forbidden):
    """A presigned URL that is malformed, altered, expired or used with another method."""


@dataclass(frozen=True, slots=True)
class SignedTarget:
    """What a presigned URL allows: ``method`` on ``uri`` until ``expires`` (Unix seconds).

    With ``upload_id`` it is the upload of part ``part_number`` of that multipart upload
    to ``uri``, not the object itself.
    """

    method: str
    uri: str
    expires: int
    upload_id: str = ""
    part_number: int = 0

    @property
    def is_part(self) -> bool:
        """Whether the URL uploads a part of a multipart upload."""
        return bool(self.upload_id)


class UrlSigner:
    """Signs and checks self-served presigned URLs with one secret key."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the URL signing key must not be empty")
        self._key = key

    def url(self, target: SignedTarget) -> str:
        """The server-relative URL that allows ``target``."""
        if target.method not in _METHODS:
            raise ValueError(f"cannot presign {target.method}")
        query = {"address": target.uri, "expires": str(target.expires)}
        if target.is_part:
            query["upload_id"] = target.upload_id
            query["part_number"] = str(target.part_number)
        query["signature"] = self._signature(target)
        return f"{SELF_SERVED_PATH}?{urlencode(query)}"

    def verify(self, method: str, query: Mapping[str, str], *, now: float | None = None) -> SignedTarget:
        """The target a request with ``method`` and ``query`` may act on; raises
        :class:`PresignRefusedError` when the URL does not allow it."""
        try:
            target = SignedTarget(
                method="GET" if method == "HEAD" else method,
                uri=query["address"],
                expires=_ascii_int(query["expires"]),
                upload_id=query.get("upload_id", ""),
                part_number=_ascii_int(query["part_number"]) if "upload_id" in query else 0,
            )
            signature = query["signature"]
        except (KeyError, ValueError):
            raise PresignRefusedError("malformed presigned URL") from None
        if target.method not in _METHODS or not hmac.compare_digest(
            signature.encode("ascii", "replace"), self._signature(target).encode("ascii")
        ):
            raise PresignRefusedError("the presigned URL's signature does not match this request")
        if target.expires < (time.time() if now is None else now):
            raise PresignRefusedError("the presigned URL has expired")
        return target

    def _signature(self, target: SignedTarget) -> str:
        text = "\n".join(
            (target.method, target.uri, str(target.expires), target.upload_id, str(target.part_number))
        )
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _ascii_int(text: str) -> int:
    """A non-negative decimal number of ASCII digits (``int`` takes other digits too)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise ValueError(text)
    return int(text)
