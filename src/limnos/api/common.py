"""Shared pieces of the REST handlers: JSON in and out, errors, paging, the catalog."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urljoin

import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from limnos.auth import AuthService, User
from limnos.catalog import Catalog
from limnos.config import Config

T = TypeVar("T")

MAX_PAGE = 1000
DEFAULT_PAGE = 100

_json = msgspec.json.Encoder()

# The largest JSON request body taken, held in memory: the largest legitimate one is a
# bulk delete of 1,000 paths, which fits with paths as long as S3's longest keys (1,024
# bytes) and some escaping.
MAX_JSON_BODY = 2 * 2**20
# The largest JSON body of a request nobody signed in for (setup, comm prefs, login):
# theirs are a few hundred bytes, and clients without credentials must not be able to
# pin much memory.
MAX_PUBLIC_JSON_BODY = 64 * 2**10

# A percent-escape of a non-ASCII byte.
_NON_ASCII_ESCAPE = re.compile(rb"%[89a-fA-F]")


class ApiError(Exception):
    """An error answered with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with msgspec."""
    return Response(_json.encode(body), status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, message: str) -> Response:
    """The contract's error body."""
    return json_response({"message": message}, status)


def no_content() -> Response:
    """204 with an empty body."""
    return Response(status_code=204)


def catalog(request: Request) -> Catalog:
    """The process's catalog: every operation on repositories, refs and objects."""
    found: Catalog = request.app.state.catalog
    return found


def auth_service(request: Request) -> AuthService:
    """The process's users, credentials and tokens."""
    found: AuthService = request.app.state.auth
    return found


def settings(request: Request) -> Config:
    """The server's configuration."""
    found: Config = request.app.state.config
    return found


def absolute_url(request: Request, url: str) -> str:
    """``url`` made absolute: the URLs this server signs itself are relative to its root,
    and are reached at the address the client used for this request."""
    return urljoin(str(request.url), url) if url.startswith("/") else url


def current_user(request: Request) -> User:
    """The authenticated user of this request (set by the auth middleware)."""
    user: User = request.scope["state"]["user"]
    return user


def _decode_body(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as err:
        raise ApiError(400, f"request body has an error: doesn't match schema: {err}") from None
    except (msgspec.DecodeError, UnicodeDecodeError):  # a string that is not UTF-8 is bad JSON
        message = "request body has an error: failed to decode request body: invalid JSON"
        raise ApiError(400, message) from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes (the limit of a JSON body)")


async def _json_body(request: Request) -> bytes:
    """The whole body of a JSON request, refused with 413 beyond its limit (MAX_JSON_BODY,
    or MAX_PUBLIC_JSON_BODY when nobody signed in): on the declared length before any of
    it is read, or as soon as a chunked body crosses it."""
    signed_in = request.scope.get("state", {}).get("user") is not None
    limit = MAX_JSON_BODY if signed_in else MAX_PUBLIC_JSON_BODY
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, kind: type[T]) -> T:
    """Decode and validate the JSON body; 400 naming what is wrong."""
    body = await _json_body(request)
    if not body:
        raise ApiError(400, "request body has an error: value is required but missing")
    return _decode_body(body, kind)


async def read_optional_json(request: Request, kind: type[T], default: Callable[[], T]) -> T:
    """Like :func:`read_json`, but an empty body gives ``default()``."""
    body = await _json_body(request)
    if not body.strip():
        return default()
    return _decode_body(body, kind)


def may_hold_non_ascii(raw: bytes) -> bool:
    """Whether a raw (percent-encoded) path or query string may decode to non-ASCII bytes:
    only such strings can hold invalid UTF-8, so only they pay for a strict decoding."""
    # isascii() first: ten times cheaper than the search alone on these hot paths.
    return not raw.isascii() or _NON_ASCII_ESCAPE.search(raw) is not None


def _strict_utf8(text: str) -> str | None:
    """``text`` (bytes seen as Latin-1) decoded as UTF-8; None when they are not UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return None


def query_params(request: Request) -> QueryParams:
    """The query parameters; 400 naming a parameter that is not valid UTF-8.

    Starlette replaces invalid UTF-8 with U+FFFD, which would make distinct paths
    collide. Raw non-ASCII bytes, which Starlette leaves as Latin-1 text, are decoded as
    UTF-8 here too (uvicorn refuses them today, but the scope allows them).
    """
    raw: bytes = request.scope["query_string"]
    if not may_hold_non_ascii(raw):
        return request.query_params
    pairs: list[tuple[str, str]] = []
    # Unquoted to Latin-1 text first, which keeps every byte, so each byte string is then
    # decoded strictly and the failing parameter can be named.
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        key, text = _strict_utf8(name), _strict_utf8(value)
        if key is None or text is None:
            shown = name.encode("latin-1").decode("utf-8", errors="replace")
            raise ApiError(400, parameter_error(shown, "value is not valid UTF-8"))
        pairs.append((key, text))
    return QueryParams(pairs)


def header_text(value: str) -> str:
    """A header value as the text its sender meant: UTF-8 when its bytes are UTF-8.

    Starlette decodes header bytes as Latin-1, where lakeFS keeps the bytes (mostly
    UTF-8); a value whose bytes are not UTF-8 stays the Latin-1 text.
    """
    if value.isascii():
        return value
    text = _strict_utf8(value)
    return value if text is None else text


def header_value(text: str) -> str:
    """``text`` made a response header value sent as its UTF-8 bytes (the inverse of
    :func:`header_text`; Starlette encodes header values as Latin-1)."""
    if text.isascii():
        return text
    return text.encode("utf-8").decode("latin-1")


def parameter_error(name: str, problem: str) -> str:
    """What a client is told of a bad query parameter, worded as lakeFS's request
    validation words it."""
    return f'parameter "{name}" in query has an error: {problem}'


def query_str(request: Request, name: str, default: str = "") -> str:
    """A string query parameter."""
    return query_params(request).get(name, default)


def query_required(request: Request, name: str) -> str:
    """A required, non-empty query parameter; 400 when missing."""
    value = query_params(request).get(name)
    if not value:
        raise ApiError(400, parameter_error(name, "value is required but missing"))
    return value


def query_int(
    request: Request, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer query parameter; 400 when malformed or out of bounds."""
    raw = query_params(request).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problem = f"value {raw}: an invalid integer: invalid syntax"
        raise ApiError(400, parameter_error(name, problem)) from None
    if minimum is not None and value < minimum:
        raise ApiError(400, parameter_error(name, f"number must be at least {minimum}"))
    if maximum is not None and value > maximum:
        raise ApiError(400, parameter_error(name, f"number must be at most {maximum}"))
    return value


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter; 400 when not true/false."""
    raw = query_params(request).get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, parameter_error(name, f"value {raw}: an invalid boolean: invalid syntax"))


def page_amount(request: Request) -> int:
    """The ``amount`` parameter; 400 outside the contract's bounds (-1 to 1000), which
    lakeFS enforces by validating requests against the spec. -1 and 0 mean the default."""
    amount = query_int(request, "amount", DEFAULT_PAGE, minimum=-1, maximum=MAX_PAGE)
    return DEFAULT_PAGE if amount <= 0 else amount


def paginated(results: Sequence[Any], has_more: bool, next_offset: str) -> dict[str, Any]:
    """The contract's list body: ``{"pagination": ..., "results": [...]}``."""
    return {
        "pagination": {
            "has_more": has_more,
            "next_offset": next_offset if has_more else "",
            "results": len(results),
            "max_per_page": MAX_PAGE,
        },
        "results": list(results),
    }


def upload_if_absent(request: Request) -> bool:
    """Whether the upload is conditional on the path being absent (``If-None-Match: *``).

    Only ``*`` is supported for If-None-Match, and If-Match not at all, as in lakeFS; since
    no client input may produce a 5xx here, the refusal is a 400 (lakeFS's earlier answer)
    rather than the 501 of later lakeFS versions.
    """
    if_match = request.headers.get("if-match")
    if_none_match = request.headers.get("if-none-match")
    if if_match is not None:
        raise ApiError(400, "Not Implemented: If-Match is not supported on upload; use If-None-Match: *")
    if if_none_match is None:
        return False
    if if_none_match.strip() != "*":
        raise ApiError(400, "Not Implemented: If-None-Match only supports '*'")
    return True
