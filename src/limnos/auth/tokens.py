"""HS256 JWTs with ``sub``, ``iat``, ``exp`` and ``jti`` claims."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti"]


def _now() -> int:
    """Current unix time in seconds (a seam for tests)."""
    return int(time.time())


class TokenError(Exception):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of a token."""

    subject: str
    issued_at: int
    expires_at: int
    token_id: str


class TokenSigner:
    """Issues and verifies tokens with one symmetric key. Stateless, thread-safe."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, subject: str, ttl_seconds: int) -> tuple[str, int]:
        """Return ``(token, expires_at)`` for ``subject`` valid ``ttl_seconds`` from now."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        iat = _now()
        exp = iat + ttl_seconds
        claims = {"sub": subject, "iat": iat, "exp": exp, "jti": secrets.token_hex(16)}
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), exp

    def verify(self, token: str) -> TokenClaims:
        """Check signature, algorithm and expiry; raise :class:`TokenError` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as err:
            raise TokenError("token expired") from err
        except jwt.InvalidTokenError as err:
            raise TokenError(f"invalid token: {err}") from err
        sub, iat, exp, jti = claims["sub"], claims["iat"], claims["exp"], claims["jti"]
        if not isinstance(sub, str) or not sub or not isinstance(jti, str):
            raise TokenError("invalid token: malformed claims")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise TokenError("invalid token: malformed claims")
        return TokenClaims(sub, int(iat), int(exp), jti)
