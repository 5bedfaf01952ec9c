"""The gateway's ASGI application: address, sign-in, operation, answer."""

from __future__ import annotations

import logging
import uuid

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from limnos.auth import AuthService
from limnos.catalog import Catalog
from limnos.config import Config
from limnos.gateway import buckets, listing, multipart, objects
from limnos.gateway.auth import sign_in
from limnos.gateway.errors import S3Error, as_s3_error, error_response, not_implemented
from limnos.gateway.handlers import Handler
from limnos.gateway.operations import operation
from limnos.gateway.request import S3Request

log = logging.getLogger("limnos.gateway")

# Every operation served, by S3's name.
HANDLERS: dict[str, Handler] = {
    **buckets.handlers,
    **objects.handlers,
    **listing.handlers,
    **multipart.handlers,
}


def virtual_host_bucket(host: str, domain_name: str) -> str | None:
    """The bucket of a virtual-host-style request (``<bucket>.<domain>``), or None."""
    name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
    suffix = "." + domain_name.lower()
    if domain_name and name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


def address(path: str, host: str, domain_name: str) -> tuple[str, str]:
    """(bucket, key) of a request; path-style unless the host names the bucket."""
    bucket = virtual_host_bucket(host, domain_name)
    if bucket is not None:
        return bucket, path.lstrip("/")
    parts = path.lstrip("/").split("/", 1)
    return parts[0], parts[1] if len(parts) == 2 else ""


class Gateway:
    """Serves S3 requests over the catalog."""

    def __init__(self, catalog: Catalog, auth: AuthService, config: Config) -> None:
        self.catalog = catalog
        self.auth = auth
        self.region = config.gateways.s3.region
        self.domain_name = config.gateways.s3.domain_name

    def serves(self, scope: Scope) -> bool:
        """Whether a request's host names a bucket of this gateway (virtual-host style)."""
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        return virtual_host_bucket(host, self.domain_name) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = Request(scope, receive)
        # The server's id of this request (its log lines and X-Request-ID carry it too).
        request_id = scope.get("state", {}).get("request_id") or uuid.uuid4().hex
        response = await self._answer(http, request_id)
        response.headers.setdefault("x-amz-request-id", request_id)
        await response(scope, receive, send)

    async def _answer(self, http: Request, request_id: str) -> Response:
        # The decoded path itself: Starlette's URL re-escapes "?", "#" and "\\", which keys may hold.
        path = http.scope["path"]
        head = http.method == "HEAD"
        try:
            host = http.headers.get("host", "")
            bucket, key = address(path, host, self.domain_name)
            virtual_bucket = virtual_host_bucket(host, self.domain_name)
            name = operation(http.method, bucket, key, http.query_params, http.headers)
            # For the server's metrics and access log (see limnos.server.access_log).
            state = http.scope.setdefault("state", {})
            state["operation"] = name
            user, body = await sign_in(http, self.auth, self.region, virtual_bucket=virtual_bucket)
            state["user"] = user
            handler = HANDLERS.get(name)
            if handler is None:
                raise not_implemented(name.removeprefix("NotImplemented:"))
            request = S3Request(http, self.catalog, user, bucket, key, body, request_id, self.region)
            return await handler(request)
        except ClientDisconnect:
            # Not an error of the server's: one line for whoever follows a connection's fate.
            log.debug("the client disconnected before sending the whole body of %s %s", http.method, path)
            return Response(status_code=400)  # nobody reads it
        except Exception as err:  # noqa: BLE001 - every error is answered in S3's format
            s3_error = as_s3_error(err)
            if s3_error is None:
                log.exception("unexpected error on %s %s", http.method, path)
                s3_error = S3Error("InternalError", "internal error", 500)
            response = error_response(s3_error, path, request_id, head=head)
            if _unread_body(http):
                # The client may still send a body the server did not read (or, after
                # "Expect: 100-continue", hold it back): the connection cannot carry
                # another request.
                response.headers["Connection"] = "close"
            return response


def _unread_body(http: Request) -> bool:
    """Whether a request declared a body that was not read to its end."""
    headers = http.headers
    declared = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
    return declared and not getattr(http, "_stream_consumed", False)
