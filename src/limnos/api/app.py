"""The ASGI application: routes of every resource module under ``/api/v1``."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route

from limnos.api import (
    auth_routes,
    branch_protection,
    branches,
    commits,
    dumps,
    gc_rules,
    health,
    imports,
    metadata,
    multipart,
    objects,
    presigned,
    refs,
    repositories,
    staging,
    tags,
)
from limnos.api.auth_middleware import AuthMiddleware
from limnos.api.common import ApiError, error_response
from limnos.api.errors import STATUS, status_of
from limnos.auth import AuthService
from limnos.catalog import Catalog
from limnos.config import Config

log = logging.getLogger("limnos.api")


async def _handle_error(request: Request, err: Exception) -> Response:
    status = status_of(err)
    if status is None:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_response(500, "internal error")
        # The server closes the connection after an unexpected error (the error goes on
        # up to it); a client told so sends its next request on a new one.
        response.headers["Connection"] = "close"
        return response
    response = error_response(status, str(err) or err.__class__.__name__)
    if status == 413:
        # The rest of the body is not wanted: reading it to keep the connection would be
        # taking what was just refused.
        response.headers["Connection"] = "close"
    return response


async def _client_gone(request: Request, err: Exception) -> Response:
    # Not an error of the server's: one line for whoever follows a connection's fate.
    log.debug(
        "the client disconnected before sending the whole body of %s %s", request.method, request.url.path
    )
    return error_response(400, "the client disconnected before the body was complete")  # nobody reads it


async def _not_found(request: Request, err: Exception) -> Response:
    return error_response(404, f"no matching operation was found: {request.method} {request.url.path}")


async def _method_not_allowed(request: Request, err: Exception) -> Response:
    response = error_response(405, f"method not allowed: {request.method} {request.url.path}")
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
        staging,
        multipart,
        imports,
        branches,
        commits,
        refs,
        tags,
        repositories,
        dumps,
        metadata,
        branch_protection,
        gc_rules,
        auth_routes,
        health,
    ):
        routes.extend(module.routes)
    return routes


def create_app(catalog: Catalog, auth: AuthService, config: Config) -> Starlette:
    """The application serving ``catalog``, signing in with ``auth``."""
    app = Starlette(
        routes=[Mount("/api/v1", routes=api_routes()), *presigned.routes],
        # Known errors get their own entries: a handler registered only for Exception
        # runs in Starlette's outermost middleware, which re-raises after answering, and
        # the server then drops the keep-alive connection.
        exception_handlers={
            ApiError: _handle_error,
            ClientDisconnect: _client_gone,
            **{kind: _handle_error for kind, _ in STATUS},
            Exception: _handle_error,
            404: _not_found,
            405: _method_not_allowed,
        },
    )
    app.state.catalog = catalog
    app.state.auth = auth
    app.state.config = config
    wrapped: Any = AuthMiddleware(app, auth)
    return wrapped  # type: ignore[no-any-return]
