"""Spreading connections evenly over the worker processes of one server.

Clients keep their connections open, so whichever worker accepts a connection serves
every request sent on it. Left to the kernel, the split is uneven: with one socket per
worker (``SO_REUSEPORT``) it follows a hash of the client's address (32 connections were
measured split 19/13 and 18/14), and with one shared socket whichever worker is waiting
in ``accept`` takes the connection (measured up to 76%/0%). The busier worker then sets
the latency of everything it serves.

Here all workers share one listening socket, and a worker accepts only while no other
live worker holds fewer open connections than it does; each worker publishes its count
in a small table of shared memory. A worker that has not published for a while (hung, or
being restarted) is left out of the comparison, so nobody waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from multiprocessing.context import SpawnContext
from typing import Any

import uvicorn

from limnos.server.protocol import limits_of

logger = logging.getLogger("limnos.serve")

#: A worker silent for this long does not count in the comparison.
STALE_AFTER = 0.5
#: How often a worker publishes its count while it has nothing else to publish.
_HEARTBEAT = 0.05
#: How soon a worker holding more connections than another looks again.
_RECHECK = 0.002
#: How soon a worker holding all the connections it may looks again.
_FULL_RECHECK = 0.01
#: Exit status of a worker that cut off requests in flight when the grace period ended.
CUT_OFF_EXIT = 3


class ConnectionTable:
    """Per worker: its open connections and when it last published, shared by all workers."""

    def __init__(self, workers: int, context: SpawnContext) -> None:
        # Two doubles per worker; a torn or stale read only shifts one accept decision.
        self._cells: Any = context.Array("d", 2 * workers, lock=False)
        self.workers = workers

    def publish(self, index: int, connections: int) -> None:
        """Record that worker ``index`` holds ``connections`` open connections now."""
        self._cells[2 * index] = float(connections)
        self._cells[2 * index + 1] = time.monotonic()

    def forget(self, index: int) -> None:
        """Leave worker ``index`` out until it publishes again (it is being restarted)."""
        self._cells[2 * index] = 0.0
        self._cells[2 * index + 1] = 0.0

    def may_accept(self, index: int) -> bool:
        """Whether worker ``index`` holds no more connections than any other live worker."""
        cells = self._cells
        mine = cells[2 * index]
        now = time.monotonic()
        for other in range(self.workers):
            if other == index or now - cells[2 * other + 1] > STALE_AFTER:
                continue
            if cells[2 * other] < mine:
                return False
        return True


class BalancedServer(uvicorn.Server):
    """A uvicorn server that accepts from a shared socket only when it is its turn, and
    only while it holds fewer connections than ``server.max_connections``: beyond that,
    new connections wait in the listen backlog, costing the worker nothing."""

    def __init__(
        self,
        config: uvicorn.Config,
        listener: socket.socket,
        table: ConnectionTable,
        index: int,
        *,
        announce_stop: bool = False,
    ) -> None:
        super().__init__(config)
        self._listener = listener
        self._table = table
        self._index = index
        self._max_connections = limits_of(config).max_connections
        self._announce_stop = announce_stop
        self._tasks: list[asyncio.Task[None]] = []
        #: Requests in flight cancelled when the grace period of the last stop ended.
        self.cut_off = 0

    def run_until_stopped(self) -> int:
        """Serve until stopped; how many requests in flight were cut off at the end of
        the grace period."""
        # Once drained, uvicorn raises the signal that stopped it again, to the handler
        # in place before it ran. With the default one, the process would end there,
        # before the requests cut off have discarded what they received.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        self.run()
        return self.cut_off

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # No socket for uvicorn itself: connections come from the accept loop below.
        await super().startup(sockets=[])
        if not self.started:
            return
        self._listener.setblocking(False)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._accept()), loop.create_task(self._heartbeat())]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # New connections are refused from here on; the requests in flight finish (their
        # connections close after the answer) within config.timeout_graceful_shutdown,
        # after which uvicorn cancels them.
        for task in self._tasks:
            task.cancel()
        self._listener.close()
        in_flight = set(self.server_state.tasks)
        await super().shutdown(sockets=None)
        self.cut_off = sum(1 for task in in_flight if task.cancelling() or task.cancelled())
        if self._announce_stop:
            grace = self.config.timeout_graceful_shutdown
            print(stop_line(len(in_flight), self.cut_off, grace), file=sys.stderr, flush=True)

    def _publish(self) -> None:
        self._table.publish(self._index, len(self.server_state.connections))

    def _protocol(self) -> asyncio.Protocol:
        # What uvicorn's own listener would build for a new connection, writing through a
        # transport that sends a response's head and body together.
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        made = protocol.connection_made
        loop = asyncio.get_running_loop()

        def connection_made(transport: asyncio.BaseTransport) -> None:
            made(CoalescingTransport(transport, loop))  # type: ignore[arg-type]

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol

    async def _heartbeat(self) -> None:
        while True:
            self._publish()
            await asyncio.sleep(_HEARTBEAT)

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._publish()
            if len(self.server_state.connections) >= self._max_connections:
                await asyncio.sleep(_FULL_RECHECK)
                continue
            if not self._table.may_accept(self._index):
                await asyncio.sleep(_RECHECK)
                continue
            try:
                conn, _ = await loop.sock_accept(self._listener)
            except OSError as err:  # out of descriptors, a connection reset before accept...
                logger.warning("accepting a connection failed: %s", err)
                await asyncio.sleep(_RECHECK)
                continue
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                await loop.connect_accepted_socket(self._protocol, conn)
            except OSError as err:
                logger.warning("setting up a connection failed: %s", err)
                conn.close()


def stop_line(in_flight: int, cut: int, grace: float | None) -> str:
    """The line a stopped server leaves on stderr: what became of the requests in flight."""
    if not in_flight:
        return "Limnos stopped: no request was in flight"
    requests = f"{in_flight} request{'' if in_flight == 1 else 's'} in flight"
    if cut:
        return (
            f"Limnos stopped: {cut} of {requests} cut off after the grace period of {grace}s "
            "(server.shutdown_timeout)"
        )
    return f"Limnos stopped: {requests}, finished"


#: Pending bytes beyond which a write goes out at once rather than at the end of the turn.
_COALESCE_LIMIT = 64 * 1024


class CoalescingTransport:
    """A transport whose writes made in one turn of the event loop leave in one send.

    The HTTP server writes a response's head when the application starts it and its body
    right after, two sends and two TCP segments for a small response. On loopback and
    small machines a send costs as much as a good part of a request (it also runs the
    receiving side's TCP), so the writes of one turn are joined and sent at its end.
    Everything else is the wrapped transport's.
    """

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _COALESCE_LIMIT:
            self._flush()

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return int(self._transport.get_write_buffer_size()) + self._pending_size

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
