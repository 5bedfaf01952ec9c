"""The HTTP protocol of one connection, with deadlines on what the client sends.

uvicorn times out only a keep-alive connection idle after a response. A connection that
never sends a complete request head, or a request whose body stops arriving, would hold
its descriptor, its memory and (for a body) a staged upload forever: a few hundred such
clients exhaust a worker. Here, whenever the client owes the server bytes, a clock runs:

* from the connection's start, or a request's first byte, to the end of its head:
  ``read_header_timeout``;
* while a body is expected, between two of its reads: ``body_idle_timeout`` (a pause
  the server causes, not reading while its buffer is full or before it answered a
  100-continue, does not count);
* while the application works on a request, none (the client waits for the answer);
* after a response, until the next request begins: ``idle_timeout`` (uvicorn's own
  keep-alive timeout).

A connection past its bound is closed; an application reading the body then sees the
client gone, and discards what it received.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from limnos.config import Server as ServerSettings

logger = logging.getLogger("limnos.serve")


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on each connection of a worker, in seconds, and on their number."""

    read_header_timeout: float
    body_idle_timeout: float
    max_connections: int

    @classmethod
    def of(cls, bounds: ServerSettings) -> HttpLimits:
        """The bounds the ``server.*`` keys set."""
        return cls(
            read_header_timeout=bounds.read_header_timeout.total_seconds(),
            body_idle_timeout=bounds.body_idle_timeout.total_seconds(),
            max_connections=bounds.max_connections,
        )


class LimitedConfig(uvicorn.Config):
    """A uvicorn configuration that serves with :class:`BoundedHttpProtocol` under ``limits``."""

    def __init__(self, app: Any, *, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(app, http=BoundedHttpProtocol, **kwargs)
        self.limits = limits


def limits_of(config: uvicorn.Config) -> HttpLimits:
    """The bounds ``config`` serves under (the defaults for a plain uvicorn configuration)."""
    limits = getattr(config, "limits", None)
    return limits if isinstance(limits, HttpLimits) else HttpLimits.of(ServerSettings())


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on the request head and body reads.

    It reads the parser state of the protocol it extends (``cycle``, ``flow``,
    ``headers``, ``timeout_keep_alive_task``): tests/system/test_timeouts.py holds it to it.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = limits_of(config)
        self._deadline: asyncio.TimerHandle | None = None
        self._body_expected = False
        self._body_seen = 0.0  # loop time of the last read of the body expected
        self._held = False  # whether the server held the body back when the clock last looked

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._limits.read_header_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Bytes that begin no request (empty lines between requests are skipped) stopped
        # uvicorn's keep-alive clock without starting a request's: the head's clock runs.
        between_requests = self.cycle is None or self.cycle.response_complete
        unwatched = self._deadline is None and self.timeout_keep_alive_task is None
        if unwatched and between_requests and not self.transport.is_closing():
            self._arm(self._limits.read_header_timeout, self._head_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_expected = False
        self._arm(self._limits.read_header_timeout, self._head_late)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._disarm()
        self._body_expected = _declares_body(self.headers)
        if self._body_expected:
            self._body_seen = self.loop.time()
            self._held = False
            self._arm(self._limits.body_idle_timeout, self._body_late)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        # Only noted: the timer looks at it when it fires (a timer per read would cost
        # a large upload thousands of timer handles).
        self._body_seen = self.loop.time()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._body_expected = False
        self._disarm()

    def _head_late(self) -> None:
        self._deadline = None
        logger.debug(
            "closing a connection: no complete request head within %ss", self._limits.read_header_timeout
        )
        self._close()

    def _body_late(self) -> None:
        self._deadline = None
        cycle = self.cycle
        now = self.loop.time()
        held = self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)
        if held or self._held:
            # The server held the body back, now or at the last look (its buffer was full,
            # or the client was not yet told to send): the client is not the one late,
            # and its clock starts again.
            self._body_seen = now
        self._held = held
        quiet = now - self._body_seen
        if quiet < self._limits.body_idle_timeout:
            self._arm(self._limits.body_idle_timeout - quiet, self._body_late)
            return
        logger.debug("closing a connection: no request body bytes for %ss", self._limits.body_idle_timeout)
        self._close()

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request head announces a body (a length above 0, or chunks)."""
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False
