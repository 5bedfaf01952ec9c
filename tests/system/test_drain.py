"""Stopping with SIGTERM: the server refuses new connections at once, lets the requests in
flight finish (within ``server.shutdown_timeout``), exits, and says so on stderr; what
it acknowledged is there after a restart. With several workers and with one."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
from conftest import Backend, Server, free_port, upload_url
from wire import api_head, connect, read_answer

GRACE = 15.0
#: How long the upload in flight still takes after the signal: more than uvicorn's own
#: grace period (5 s), less than this server's.
UPLOAD_AFTER_SIGNAL = 7.0
PIECE_EVERY = 0.2


def _refuses(server: Server) -> bool:
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False  # a timeout: waiting in a backlog nobody serves
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_the_upload_in_flight_finish(tmp_path: Path, backend: Backend, workers: int) -> None:
    server = Server(
        tmp_path / "data",
        free_port(),
        workers=workers,
        backend=backend,
        extra_env={"LAKEFS_SERVER_SHUTDOWN_TIMEOUT": f"{GRACE:g}s", "LAKEFS_SERVER_BODY_IDLE_TIMEOUT": "5s"},
    ).start()
    try:
        repo = f"repo-{uuid.uuid4().hex[:12]}"
        with server.http() as http:
            body = {"name": repo, "storage_namespace": server.namespace(repo), "default_branch": "main"}
            assert http.post("/repositories", json=body).status_code == 201
        count = int(UPLOAD_AFTER_SIGNAL / PIECE_EVERY) + 5
        pieces = [bytes([i]) * 1000 for i in range(count)]
        data = b"".join(pieces)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        assert server.process is not None
        with connect(server, timeout=GRACE + 10) as sock:
            sock.sendall(api_head("POST", f"{upload_url(repo)}?path=drained", headers))
            refused = False
            for index, piece in enumerate(pieces):
                if index == 5:
                    os.kill(server.process.pid, signal.SIGTERM)  # the `limnos run` process alone
                    signalled = time.monotonic()
                time.sleep(PIECE_EVERY)
                sock.sendall(piece)
                if index >= 5 and not refused:
                    refused = _refuses(server)
            answer = read_answer(sock)
        assert answer.status == 201, answer
        assert answer.headers.get("connection") == "close"
        assert refused, "a new connection was taken after SIGTERM"
        server.process.wait(timeout=GRACE + 10)
        assert time.monotonic() - signalled < GRACE + 10
        assert server.log_path is not None
        log = server.log_path.read_text()
        assert "Limnos stopped:" in log, log
        assert "Traceback" not in log, log
    finally:
        server.kill()
    server.start()
    try:
        with server.http() as http:
            stored = http.get(f"/repositories/{repo}/refs/main/objects", params={"path": "drained"})
        assert stored.status_code == 200, stored.text
        assert stored.content == data
    finally:
        server.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_cuts_off_what_outlasts_the_grace_period(
    tmp_path: Path, backend: Backend, workers: int
) -> None:
    grace = 2.0
    server = Server(
        tmp_path / "data",
        free_port(),
        workers=workers,
        backend=backend,
        extra_env={"LAKEFS_SERVER_SHUTDOWN_TIMEOUT": f"{grace:g}s"},
    ).start()
    try:
        repo = f"repo-{uuid.uuid4().hex[:12]}"
        with server.http() as http:
            body = {"name": repo, "storage_namespace": server.namespace(repo), "default_branch": "main"}
            assert http.post("/repositories", json=body).status_code == 201
        before = server.stored_uris(server.namespace(repo))
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(10**6)}
        assert server.process is not None
        with connect(server, timeout=grace + 20) as sock:
            sock.sendall(api_head("POST", f"{upload_url(repo)}?path=cut", headers) + b"x" * 1000)
            time.sleep(0.5)  # the upload is in flight
            os.kill(server.process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            answered = b""
            sock.settimeout(0.5)
            while time.monotonic() - signalled < grace + 15:  # a byte now and then: never idle
                try:
                    sock.sendall(b"x")
                    answered = sock.recv(65536)
                    if not answered:
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
        took = time.monotonic() - signalled
        assert not answered.startswith(b"HTTP/1.1 201"), answered
        server.process.wait(timeout=grace + 15)
        assert took < grace + 10, took
        assert server.log_path is not None
        log = server.log_path.read_text()
        assert "Limnos stopped:" in log, log
        assert "cut off" in log, log
        if workers == 1:
            assert "1 of 1 request in flight cut off" in log, log
        else:
            assert "in 1 workers; 0 workers did not exit" in log, log
    finally:
        server.kill()
    server.start()
    try:
        with server.http() as http:
            assert http.get(f"/repositories/{repo}/branches/main/diff").json()["results"] == []
        assert server.stored_uris(server.namespace(repo)) == before
    finally:
        server.stop()
