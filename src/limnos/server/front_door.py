"""One port, two front ends: the REST API and the S3 gateway.

A request goes to the REST API when its path is under ``/api/`` (the API and its
documentation) or ``/_limnos/`` (URLs Limnos signs for its own blockstores), unless its
host names a bucket (virtual-host style, under ``gateways.s3.domain_name``). Everything
else is S3: path-style requests address ``/<repository>/<ref>/<path>``, except an unsigned
``GET /metrics``, which is a scrape of the server's metrics (:mod:`limnos.server.metrics`).

The front door notes its choice in the request's ``scope["state"]["front_end"]`` (``api``,
``gateway`` or ``metrics``), for the access log.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from limnos.gateway.app import Gateway
from limnos.server.metrics import is_scrape, serve_metrics

_API_PREFIXES = ("/api/", "/_limnos/")


class FrontDoor:
    """Sends each request to the front end it is for."""

    def __init__(self, api: ASGIApp, gateway: Gateway) -> None:
        self.api = api
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if self.gateway.serves(scope):
            state["front_end"] = "gateway"
            await self.gateway(scope, receive, send)
        elif is_scrape(scope):
            state["front_end"] = "metrics"
            await serve_metrics(scope, receive, send)
        elif self._is_api(scope["path"]):
            state["front_end"] = "api"
            await self.api(scope, receive, send)
        else:
            state["front_end"] = "gateway"
            await self.gateway(scope, receive, send)

    @staticmethod
    def _is_api(path: str) -> bool:
        return path.startswith(_API_PREFIXES) or path in ("/api", "/_limnos")
