"""Connections that end badly: a client that goes away mid-body is no error of the
server's (nothing in its log but a debug line), and an unexpected error's answer tells
the client that the connection closes after it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Backend, Server, create_repository, free_port, upload_url
from wire import api_head, connect, read_answer, s3_head


@pytest.fixture()
def own(tmp_path: Path, backend: Backend) -> Iterator[Server]:
    """A server of this test alone (its log is read), on each backend."""
    server = Server(tmp_path / "data", free_port(), backend=backend).start()
    yield server
    server.stop()


def _repository(server: Server) -> str:
    with server.http() as http:
        return create_repository(http, server)


def _drop_mid_body(server: Server, request_head: bytes) -> None:
    """Send ``request_head`` (declaring 100,000 bytes of body) and 5,000 of them, then go."""
    with connect(server) as sock:
        sock.sendall(request_head + b"x" * 5000)
        time.sleep(0.3)  # the server is reading the body when the client goes


def test_a_client_gone_mid_body_leaves_no_error_in_the_log(own: Server) -> None:
    repo = _repository(own)
    json_body = {"Content-Type": "application/json", "Content-Length": "100000"}
    raw_body = {"Content-Type": "application/octet-stream", "Content-Length": "100000"}
    _drop_mid_body(own, api_head("POST", f"{upload_url(repo)}?path=dropped", raw_body))
    _drop_mid_body(own, api_head("POST", f"/repositories/{repo}/branches/main/objects/delete", json_body))
    _drop_mid_body(own, api_head("POST", "/setup_lakefs", json_body, signed=False))
    _drop_mid_body(own, s3_head(own, "PUT", f"/{repo}/main/dropped", raw_body))
    _drop_mid_body(
        own, s3_head(own, "POST", f"/{repo}?delete", {**raw_body, "Content-Type": "application/xml"})
    )
    # The server still serves, and has had the time to log whatever it logs.
    with own.http() as http:
        assert http.get(f"/repositories/{repo}/branches/main/diff").json()["results"] == []
    assert own.log_path is not None
    log = own.log_path.read_text()
    assert "Traceback" not in log, log
    assert "ERROR" not in log and "unexpected error" not in log, log


def test_an_unexpected_error_says_the_connection_closes(own: Server) -> None:
    if own.backend.blockstore_type != "local":
        pytest.skip("the failure is provoked in the local blockstore's directory")
    repo = _repository(own)
    # The repository's directory becomes a file behind the server's back: writing an
    # object there fails in a way no handler expects.
    directory = own.data_dir / "block" / repo
    directory.rename(directory.with_name(f"{repo}.moved"))
    directory.write_text("not a directory")
    upload = api_head("POST", f"{upload_url(repo)}?path=a", {"Content-Length": "5"}) + b"hello"
    with connect(own) as sock:
        sock.sendall(upload + api_head("GET", "/healthcheck", {}))  # two requests, pipelined
        first = read_answer(sock)
        assert first.status == 500, first
        if first.headers.get("connection") != "close":
            # Not told the connection closes: the next request must be answered on it.
            assert read_answer(sock).status == 204
