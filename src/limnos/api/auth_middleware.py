"""Authentication of every API request: HTTP basic, Bearer JWT, or the login cookie."""

from __future__ import annotations

import base64
import binascii
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec

from limnos.api.common import may_hold_non_ascii
from limnos.api.errors import status_of
from limnos.auth import AuthError, AuthService, User

LOGIN_COOKIE = "internal_auth_session"
PREFIX = "/api/v1"
# Operations that answer without credentials (the contract's `security: []`).
PUBLIC = {
    ("GET", "/healthcheck"),
    ("GET", "/setup_lakefs"),
    ("POST", "/setup_lakefs"),
    ("POST", "/setup_comm_prefs"),
    ("POST", "/auth/login"),
    ("GET", "/auth/capabilities"),
}


def _error(status: int, message: str) -> tuple[dict[str, Any], bytes]:
    body = msgspec.json.encode({"message": message})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, body


# HEAD is answered wherever GET is, with the same need for credentials.
_PUBLIC_METHOD = {"HEAD": "GET"}


def _is_utf8_path(raw_path: bytes | None) -> bool:
    """Whether the percent-decoded request path is UTF-8 (cheap for ASCII-only names)."""
    if raw_path is None or not may_hold_non_ascii(raw_path):
        return True
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class AuthMiddleware:
    """Pure ASGI middleware: resolves the user or answers 401 with a message."""

    def __init__(self, app: Any, auth: AuthService) -> None:
        self.app = app
        self.auth = auth
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(PREFIX):
            route = path[len(PREFIX) :].rstrip("/") or "/"
            refusal: tuple[dict[str, Any], bytes] | None = None
            if not _is_utf8_path(scope.get("raw_path")):
                # The server decodes with U+FFFD for bad bytes: distinct names would collide.
                refusal = _error(400, "the request path is not valid UTF-8")
            elif (_PUBLIC_METHOD.get(scope["method"], scope["method"]), route) not in PUBLIC:
                try:
                    scope.setdefault("state", {})["user"] = self._authenticate(scope)
                except AuthError as err:
                    refusal = _error(401, str(err))
                except Exception as err:
                    # A store the lookup needs is down or busy: answered here, in JSON,
                    # as it would be past sign-in (the app's handlers are not around us).
                    status = status_of(err)
                    if status is None:
                        raise
                    refusal = _error(status, str(err) or err.__class__.__name__)
            if refusal is not None:
                start, body = refusal
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _authenticate(self, scope: dict[str, Any]) -> User:
        auth = self.auth
        header = b""
        cookie_header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
            elif name == b"cookie":
                cookie_header = value
        if header:
            scheme, _, credentials = header.decode("latin-1").partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":
                try:
                    decoded = base64.b64decode(credentials.strip(), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise AuthError("malformed basic authorization header") from None
                key, sep, secret = decoded.partition(":")
                if not sep:
                    raise AuthError("malformed basic authorization header")
                return auth.authenticate(key, secret)
            if scheme == "bearer":
                return auth.verify_token(credentials.strip())
            raise AuthError(f"unsupported authorization scheme {scheme!r}")
        if cookie_header:
            cookies: SimpleCookie = SimpleCookie()
            try:
                cookies.load(cookie_header.decode("latin-1"))
            except Exception:  # noqa: BLE001 - any malformed cookie is just "no credentials"
                raise AuthError("malformed cookie header") from None
            morsel = cookies.get(LOGIN_COOKIE)
            if morsel is not None and morsel.value:
                return auth.verify_token(morsel.value)
        raise AuthError("authentication required: no credentials in the request")
