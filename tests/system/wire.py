"""Raw HTTP/1.1 on a socket, for tests about what a server does with a connection: heads
sent byte by byte, bodies that stall, and answers read before the request is complete."""

from __future__ import annotations

import base64
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server

BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}".encode()).decode()


def connect(server: Server, timeout: float = 10.0) -> socket.socket:
    """A new connection to ``server``; reads wait at most ``timeout`` seconds."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(method: str, target: str, headers: dict[str, str]) -> bytes:
    """A request head."""
    if not any(name.lower() == "host" for name in headers):
        headers = {"Host": "127.0.0.1", **headers}
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def api_head(method: str, path: str, headers: dict[str, str], *, signed: bool = True) -> bytes:
    """A request head for ``/api/v1{path}``, as the admin when ``signed``."""
    if signed:
        headers = {"Authorization": BASIC, **headers}
    return head(method, f"/api/v1{path}", headers)


class _UnsignedPayload(SigV4Auth):
    """SigV4 over the head only: the body is sent (or not) later, as the test decides."""

    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def s3_head(server: Server, method: str, target: str, headers: dict[str, str]) -> bytes:
    """A request head for the S3 gateway, signed (SigV4) by the admin; ``target`` is the
    path and query, ``headers`` include the Content-Length the body will have."""
    url = f"{server.url}{target}"
    request = AWSRequest(
        method=method, url=url, headers={**headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    _UnsignedPayload(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", "us-east-1").add_auth(request)
    split = urlsplit(url)
    path = split.path + (f"?{split.query}" if split.query else "")
    return head(method, path, {"Host": split.netloc, **dict(request.headers.items())})


@dataclass
class Answer:
    """A response as read from the socket."""

    status: int
    headers: dict[str, str]
    body: bytes


def read_answer(sock: socket.socket) -> Answer:
    """The next response on ``sock`` (its body by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a whole answer: {data!r}")
        data += chunk
    raw_head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length])


def closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float | None:
    """Seconds until the server closes ``sock`` (it reads as ended, or sending to it
    fails), watching at most ``seconds``; None when it is still open then. ``drip`` is
    sent a byte a second meanwhile."""
    start = time.monotonic()
    sock.settimeout(0.2)
    pending = iter(drip)
    next_drip = start
    while time.monotonic() - start < seconds:
        try:
            if time.monotonic() >= next_drip:
                next_drip += 1.0
                byte = next(pending, None)
                if byte is not None:
                    sock.send(bytes([byte]))
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except OSError:  # reset, or a send to a closed connection
            return time.monotonic() - start
    return None
