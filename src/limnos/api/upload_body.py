"""Receiving an upload's body, raw or multipart, and handing its bytes to the catalog as they arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from limnos.api.common import ApiError


class Upload(Protocol):
    """What takes an upload's bytes as they arrive (a catalog upload or presigned write)."""

    async def add(self, data: bytes) -> None: ...

    async def abort(self) -> None: ...


@asynccontextmanager
async def receiving(upload: Upload) -> AsyncIterator[None]:
    """Receive ``upload``'s body inside the block: if that fails (the client going away
    mid-body included), what was received is discarded."""
    try:
        yield
    except BaseException:
        await upload.abort()
        raise


async def receive_raw(request: Request, upload: Upload) -> None:
    """Hand the whole request body to ``upload``."""
    async for chunk in request.stream():
        await upload.add(chunk)


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


async def receive_multipart(request: Request, upload: Upload, boundary: bytes) -> str:
    """Hand the ``content`` part of a multipart body to ``upload``; its content type."""
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
            await upload.add(data)
        state.data.clear()
        if state.complete:
            # The rest of the body is not needed; the server discards it.
            break
    if not state.found:
        raise ApiError(400, "multipart upload is missing the 'content' part")
    if not state.complete:
        raise ApiError(400, "multipart body ended before the 'content' part was complete")
    return state.content_type
