"""The type of an operation's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from limnos.gateway.request import S3Request

Handler = Callable[[S3Request], Awaitable[Response]]
