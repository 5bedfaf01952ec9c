"""An upload whose client goes away mid-body leaves nothing behind: no entry, and no
stray bytes in the namespace, while several of its batches were being written."""

from __future__ import annotations

import base64
import socket
import time
from urllib.parse import urlsplit

import httpx
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, objects_url, upload_url

MIB = 1024 * 1024


def send_half(url: str, method: str, declared: int, sent: int, *, auth: bool) -> None:
    """Send a request declaring ``declared`` body bytes, send ``sent`` of them, and hang up."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared}"]
    if auth:
        token = base64.b64encode(f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}".encode()).decode()
        head.append(f"Authorization: Basic {token}")
    head.append("Content-Type: application/octet-stream")
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b"x" * MIB
        for _ in range(sent // MIB):
            sock.sendall(chunk)
        time.sleep(0.3)  # let the server write what it got


def settles_back(server: Server, namespace: str, before: list[str]) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.stored_uris(namespace) == before:
            return True
        time.sleep(0.1)
    return False


def test_upload_object_cut_short(server: Server, http: httpx.Client, repo: str) -> None:
    namespace = server.namespace(repo)
    before = server.stored_uris(namespace)
    url = f"{server.api}{upload_url(repo)}?path=cut.bin"
    send_half(url, "POST", 12 * MIB, 6 * MIB, auth=True)
    assert settles_back(server, namespace, before), server.stored_uris(namespace)
    assert http.get(objects_url(repo) + "/stat", params={"path": "cut.bin"}).status_code == 404


def test_presigned_put_cut_short(server: Server, http: httpx.Client, repo: str) -> None:
    backing = f"/repositories/{repo}/branches/main/staging/backing"
    location = http.get(backing, params={"path": "cut.bin", "presign": "true"}).json()
    namespace = server.namespace(repo)
    before = server.stored_uris(namespace)
    send_half(location["presigned_url"], "PUT", 12 * MIB, 6 * MIB, auth=False)
    assert settles_back(server, namespace, before), server.stored_uris(namespace)
    # Nothing to link: the address holds no bytes.
    body = {
        "staging": {"physical_address": location["physical_address"]},
        "checksum": "x",
        "size_bytes": 12 * MIB,
    }
    assert http.put(backing, params={"path": "cut.bin"}, json=body).status_code == 400
