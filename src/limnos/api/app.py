"""The ASGI application: routes of every resource module under ``/api/v1``."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route

from limnos import config as config_module
from limnos import errors as kinds
from limnos.api import (
    auth_routes,
    branches,
    commits,
    health,
    metadata,
    objects,
    refs,
    repositories,
    tags,
)
from limnos.api.auth_middleware import AuthMiddleware
from limnos.api.common import ApiError, error_response
from limnos.api.services import Services, build

log = logging.getLogger("limnos.api")

CONFIG_ENV = "LIMNOS_RESOLVED_CONFIG"

# Every error a client may be told about is of one kind; this is the one place that
# turns kinds into status codes.
_STATUS: list[tuple[type[BaseException], int]] = [
    (kinds.NotFound, 404),
    (kinds.Conflict, 409),
    (kinds.Invalid, 400),
    (kinds.Forbidden, 403),
    (kinds.PreconditionFailed, 412),
    (kinds.TooManyRequests, 429),
    (kinds.Gone, 410),
    (kinds.Unauthenticated, 401),
    (kinds.Unavailable, 503),
]


def status_of(err: BaseException) -> int | None:
    """The HTTP status of a known error."""
    if isinstance(err, ApiError):
        return err.status
    for kind, status in _STATUS:
        if isinstance(err, kind):
            return status
    return None


async def _handle_error(request: Request, err: Exception) -> Response:
    status = status_of(err)
    if status is None:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error")
    return error_response(status, str(err) or err.__class__.__name__)


async def _not_found(request: Request, err: Exception) -> Response:
    return error_response(404, f"no such operation: {request.method} {request.url.path}")


async def _method_not_allowed(request: Request, err: Exception) -> Response:
    response = error_response(405, f"method {request.method} not allowed on {request.url.path}")
    # HTTP requires a 405 to name the methods the path takes; each route of that path
    # knows only its own.
    # Routing starts again from the top: the scope here is the one inside the API mount.
    top = {**request.scope, "root_path": ""}
    response.headers["Allow"] = ", ".join(sorted(_allowed_methods(request.app.routes, top)))
    return response


def _allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> set[str]:
    allowed: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, Mount):
            allowed |= _allowed_methods(route.routes, {**scope, **child})
        elif isinstance(route, Route) and route.methods:
            allowed |= route.methods
    return allowed


def api_routes() -> list[BaseRoute]:
    """Every route of the REST API, relative to ``/api/v1``.

    Routes are matched in order, one regular expression each, so the busiest resources
    come first: object reads and writes skip forty-odd failed matches that way. No two
    modules' paths overlap, so the order changes nothing else.
    """
    routes: list[BaseRoute] = []
    for module in (
        objects,
        branches,
        commits,
        refs,
        tags,
        repositories,
        metadata,
        auth_routes,
        health,
    ):
        routes.extend(module.routes)
    return routes


def create_app(services: Services) -> Starlette:
    """The application serving ``services``."""
    app = Starlette(
        routes=[Mount("/api/v1", routes=api_routes())],
        # Known errors get their own entries: a handler registered only for Exception
        # runs in Starlette's outermost middleware, which re-raises after answering, and
        # the server then drops the keep-alive connection.
        exception_handlers={
            ApiError: _handle_error,
            **{kind: _handle_error for kind, _ in _STATUS},
            Exception: _handle_error,
            404: _not_found,
            405: _method_not_allowed,
        },
    )
    app.state.services = services
    wrapped: Any = AuthMiddleware(app, services)
    return wrapped  # type: ignore[no-any-return]


def app_from_env() -> Callable[..., Awaitable[None]]:
    """Application factory for worker processes: the configuration comes from the parent."""
    config = config_module.from_json(os.environ[CONFIG_ENV])
    return create_app(build(config))  # type: ignore[return-value]
