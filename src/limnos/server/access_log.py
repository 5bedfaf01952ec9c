"""One log line and one set of metrics per request, for both front ends.

:class:`RequestLog` wraps the front door. It gives each request an id (the client's
``X-Request-ID`` when it is a sane one, a new one otherwise), returns it in every answer,
and makes it the id of every line logged while the request is served. When the answer is
done (just before its last bytes are sent) it writes the access line (lakeFS's
``HTTP call ended``, at ``logging.audit_log_level``) and records the request's metrics.

The front ends tell it what they learnt through the request's ``scope["state"]`` (a
dict the HTTP server makes for each request): ``front_end`` (the front door's choice),
``user`` (the user who signed the request, set where the front end authenticates),
``operation`` (the gateway's S3 operation; the API's operationId comes from the route it
matched). The gateway reads ``request_id`` there for its ``x-amz-request-id`` and the
``RequestId`` of its errors.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from limnos.server import metrics
from limnos.server.logs import REQUEST_ID

log = logging.getLogger("limnos.access")

REQUEST_ID_HEADER = b"x-request-id"
# What a client's request id may be: it is echoed in a header and written to the log.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:+=/-]{1,128}")
_SERVICE = {"api": "rest_api", "gateway": "s3_gateway", "metrics": "metrics"}
# New ids: a random prefix of this process and a count. As unique as a UUID for any log
# or trace, and a twentieth of its cost (the kernel's randomness is read once).
_PROCESS = os.urandom(8).hex()
_COUNT = itertools.count(1)


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is a sane one, else a new id."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return f"{_PROCESS}-{next(_COUNT):08x}"


def _duration(seconds: float) -> str:
    """A duration as Go prints one (lakeFS's ``took_str``)."""
    if seconds >= 1:
        return f"{seconds:.6g}s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.6g}ms"
    return f"{seconds * 1e6:.6g}µs"


class RequestLog:
    """ASGI middleware: request ids, the access log and the request metrics."""

    def __init__(self, app: ASGIApp, audit_level: int) -> None:
        self.app = app
        self.audit_level = audit_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_of(scope["headers"])
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 500  # what the client gets if the application fails before answering
        ended = False

        def end() -> None:
            nonlocal ended
            ended = True
            seconds = time.perf_counter() - start
            front_end: str = state.get("front_end", "")
            try:
                metrics.observe(scope, front_end, status, seconds)
                if log.isEnabledFor(self.audit_level):
                    self._log(scope, state, front_end, status, seconds)
            except Exception:  # noqa: BLE001 - recording a request must not fail it
                log.exception("cannot record the request")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != REQUEST_ID_HEADER]
                headers.append(id_header)
                message["headers"] = headers
            elif kind == "http.response.body" and not message.get("more_body", False) and not ended:
                # Recorded before the last bytes go out, as lakeFS does: a client that has
                # its answer finds the request in the log and in the metrics.
                end()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not ended:
                end()  # the application failed, or the client left, before the answer ended
            REQUEST_ID.reset(token)

    def _log(self, scope: Scope, state: dict[str, Any], front_end: str, status: int, seconds: float) -> None:
        user = state.get("user")
        client = scope.get("client")
        host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
        fields = {
            "method": scope["method"],
            "path": scope["path"],
            "host": host,
            "status_code": status,
            "took": int(seconds * 1e9),
            "took_str": _duration(seconds),
            "user": getattr(user, "username", "") if user is not None else "",
            "service_name": _SERVICE.get(front_end, front_end),
            "source_ip": f"{client[0]}:{client[1]}" if client else "",
            "log_audit": True,
        }
        if front_end == "gateway" and state.get("operation"):
            fields["operation"] = state["operation"]
        log.log(self.audit_level, "HTTP call ended", extra={"fields": fields})
