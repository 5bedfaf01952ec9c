"""Receiving an upload's body: raw or multipart, streamed to storage in batches."""

from __future__ import annotations

from collections.abc import Callable

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from limnos.api.common import ApiError
from limnos.api.threads import run_blocking
from limnos.block.adapter import BlockWriter, PutResult
from limnos.catalog.catalog import Catalog
from limnos.graveler.model import Repository

# Uploaded bytes are handed to storage in batches of this size, so that a small object
# costs one trip to a worker thread and a large one a bounded amount of memory.
WRITE_BATCH = 1024 * 1024


class BodySink:
    """Receives an upload's bytes and writes them to storage in batches, off the event loop.

    The storage writer is created with the first batch, so an object smaller than a batch
    is created, written and committed in a single worker-thread call.
    """

    def __init__(self, catalog: Catalog, repo: Repository) -> None:
        self.catalog = catalog
        self.repo = repo
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.address = ""
        self.writer: BlockWriter | None = None

    async def add(self, data: bytes) -> None:
        """Accept the next bytes of the object."""
        if not data:
            return
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size >= WRITE_BATCH:
            await run_blocking(self._flush)

    def _flush(self) -> None:
        if self.writer is None:
            self.address, self.writer = self.catalog.writer(self.repo)
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            self.pending_size = 0
            self.writer.write(data)

    @property
    def in_memory(self) -> bool:
        """Whether the whole body received so far is still in memory (none of it written)."""
        return self.writer is None

    def finish_unsynced(self) -> PutResult:
        """Write the body and finish it without waiting for durability (see BlockWriter.finish)."""
        self._flush()
        assert self.writer is not None
        return self.writer.finish()

    def commit_now(self) -> PutResult:
        """Make the object durable at :attr:`address` (blocking: call it off the event loop)."""
        self._flush()
        assert self.writer is not None
        return self.writer.commit()

    async def abort(self) -> None:
        """Discard whatever was written."""
        self.pending.clear()
        if self.writer is not None:
            await run_blocking(self.writer.abort)


async def receive_raw(request: Request, sink: BodySink) -> None:
    async for chunk in request.stream():
        await sink.add(chunk)


class _ContentPart:
    """State of a streamed multipart/form-data body: finds the part named ``content``.

    Parser callbacks only collect; the caller drains :attr:`data` after each parser write,
    so at most one received chunk of the file is held in memory at a time.
    """

    def __init__(self) -> None:
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, str] = {}
        self.in_content = False
        self.found = False
        self.complete = False
        self.content_type = ""
        self.data: list[bytes] = []

    def callbacks(self) -> dict[str, Callable[..., None]]:
        """The parser callbacks feeding this state."""
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self.headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        name = self.header_name.decode("latin-1").strip().lower()
        self.headers[name] = self.header_value.decode("latin-1").strip()
        self.header_name.clear()
        self.header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        # Only the first part named "content" is the file, as in lakeFS.
        if options.get(b"name") == b"content" and not self.found:
            self.found = True
            self.in_content = True
            self.content_type = self.headers.get("content-type", "")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_content:
            self.data.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self.in_content:
            self.in_content = False
            self.complete = True


async def receive_multipart(request: Request, sink: BodySink, boundary: bytes) -> str:
    """Stream the ``content`` part of a multipart body into ``sink``; its content type."""
    state = _ContentPart()
    try:
        parser = MultipartParser(boundary, callbacks=state.callbacks())  # type: ignore[arg-type]
    except FormParserError as err:
        raise ApiError(400, f"invalid multipart boundary: {err}") from None
    async for chunk in request.stream():
        try:
            parser.write(chunk)
        except FormParserError as err:
            raise ApiError(400, f"malformed multipart body: {err}") from None
        for data in state.data:
            await sink.add(data)
        state.data.clear()
        if state.complete:
            # The rest of the body is not needed; the server discards it.
            break
    if not state.found:
        raise ApiError(400, "multipart upload is missing the 'content' part")
    if not state.complete:
        raise ApiError(400, "multipart body ended before the 'content' part was complete")
    return state.content_type
