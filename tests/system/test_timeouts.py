"""Deadlines on what clients send: a request head that never ends, a connection left idle,
a body that stops arriving. Each is closed within its bound (``server.*``, set low
here); a slow but steady body is not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Backend, Server, create_repository, free_port, upload_url
from wire import api_head, closed_within, connect, read_answer, s3_head

HEAD_BOUND = 2.0
BODY_BOUND = 1.0
IDLE_BOUND = 1.0
#: What a loaded test machine may add to a bound before the server acts on it.
SLACK = 2.5


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Server]:
    """A server with low bounds, on each backend."""
    server = Server(
        tmp_path_factory.mktemp(f"bounded-{backend.name}"),
        free_port(),
        backend=backend,
        extra_env={
            "LAKEFS_SERVER_READ_HEADER_TIMEOUT": f"{HEAD_BOUND}s",
            "LAKEFS_SERVER_BODY_IDLE_TIMEOUT": f"{BODY_BOUND}s",
            "LAKEFS_SERVER_IDLE_TIMEOUT": f"{IDLE_BOUND}s",
        },
    ).start()
    yield server
    server.stop()


@pytest.fixture()
def bounded_repo(bounded: Server) -> str:
    with bounded.http() as http:
        return create_repository(http, bounded)


def test_a_head_sent_a_byte_a_second_is_cut_off(bounded: Server) -> None:
    head = api_head("GET", "/healthcheck", {"X-Padding": "p" * 60})
    with connect(bounded) as sock:
        took = closed_within(sock, HEAD_BOUND + SLACK + 5, drip=head)
    assert took is not None and took < HEAD_BOUND + SLACK, took


def test_a_connection_that_sends_nothing_is_closed(bounded: Server) -> None:
    with connect(bounded) as sock:
        took = closed_within(sock, HEAD_BOUND + SLACK + 5)
    assert took is not None and took < HEAD_BOUND + SLACK, took


def test_an_idle_keep_alive_connection_is_closed(bounded: Server) -> None:
    with connect(bounded) as sock:
        sock.sendall(api_head("GET", "/healthcheck", {}))
        assert read_answer(sock).status == 204
        took = closed_within(sock, IDLE_BOUND + SLACK + 5)
    assert took is not None and took < IDLE_BOUND + SLACK, took


def _stored_settles(server: Server, namespace: str, expected: list[str]) -> list[str]:
    """What is stored under ``namespace`` once it equals ``expected`` (or after a while)."""
    deadline = time.monotonic() + 10
    stored = server.stored_uris(namespace)
    while stored != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        stored = server.stored_uris(namespace)
    return stored


def test_a_stalled_upload_is_closed_and_leaves_nothing_staged(bounded: Server, bounded_repo: str) -> None:
    namespace = bounded.namespace(bounded_repo)
    before = bounded.stored_uris(namespace)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(2**30)}
    with connect(bounded) as sock:
        sock.sendall(api_head("POST", f"{upload_url(bounded_repo)}?path=stalled", headers) + b"12345")
        took = closed_within(sock, BODY_BOUND + SLACK + 5)
    assert took is not None and took < BODY_BOUND + SLACK, took
    with bounded.http() as http:
        listed = http.get(f"/repositories/{bounded_repo}/branches/main/diff").json()["results"]
    assert listed == []
    assert _stored_settles(bounded, namespace, before) == before


def test_a_stalled_gateway_put_is_closed_and_leaves_nothing_staged(
    bounded: Server, bounded_repo: str
) -> None:
    namespace = bounded.namespace(bounded_repo)
    before = bounded.stored_uris(namespace)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(2**30)}
    with connect(bounded) as sock:
        sock.sendall(s3_head(bounded, "PUT", f"/{bounded_repo}/main/stalled", headers) + b"12345")
        took = closed_within(sock, BODY_BOUND + SLACK + 5)
    assert took is not None and took < BODY_BOUND + SLACK, took
    with bounded.http() as http:
        listed = http.get(f"/repositories/{bounded_repo}/branches/main/diff").json()["results"]
    assert listed == []
    assert _stored_settles(bounded, namespace, before) == before


def test_a_slow_steady_upload_succeeds(bounded: Server, bounded_repo: str) -> None:
    pieces = [bytes([i]) * 100 for i in range(20)]  # one every 0.2 s: four times the bound in all
    data = b"".join(pieces)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
    with connect(bounded, timeout=30) as sock:
        sock.sendall(api_head("POST", f"{upload_url(bounded_repo)}?path=slow", headers))
        for piece in pieces:
            time.sleep(0.2)
            sock.sendall(piece)
        answer = read_answer(sock)
    assert answer.status == 201, answer
    with bounded.http() as http:
        stored = http.get(f"/repositories/{bounded_repo}/refs/main/objects", params={"path": "slow"})
    assert stored.content == data


def test_a_request_that_takes_longer_than_the_bounds_is_answered(bounded: Server, bounded_repo: str) -> None:
    # The bounds are on the client's sending, not on the server's work: a keep-alive
    # connection reused after its requests stays usable while requests keep coming.
    with connect(bounded, timeout=30) as sock:
        for _ in range(4):
            sock.sendall(api_head("GET", "/healthcheck", {}))
            assert read_answer(sock).status == 204
            time.sleep(IDLE_BOUND / 2)


def test_bounds_are_configuration_keys(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = Server(tmp_path_factory.mktemp("bad-bound"), free_port(), workers=1)
    server.extra_env["LAKEFS_SERVER_BODY_IDLE_TIMEOUT"] = "0s"
    try:
        with pytest.raises(RuntimeError, match="server.body_idle_timeout"):
            server.start()
    finally:
        server.kill()  # started after all: not left running


def test_connections_beyond_the_bound_wait_in_the_backlog(tmp_path: Path, backend: Backend) -> None:
    server = Server(
        tmp_path / "data",
        free_port(),
        workers=1,
        backend=backend,
        extra_env={"LAKEFS_SERVER_MAX_CONNECTIONS": "2", "LAKEFS_SERVER_IDLE_TIMEOUT": "60s"},
    ).start()
    try:
        held = [connect(server), connect(server)]
        for sock in held:  # accepted and served: each holds one of the two places
            sock.sendall(api_head("GET", "/healthcheck", {}))
            assert read_answer(sock).status == 204
        with connect(server, timeout=2) as waiting:
            waiting.sendall(api_head("GET", "/healthcheck", {}))
            with pytest.raises(TimeoutError):
                read_answer(waiting)  # not accepted while the two are open
            held.pop().close()
            waiting.settimeout(10)
            assert read_answer(waiting).status == 204
        for sock in held:
            sock.close()
    finally:
        server.stop()


def test_empty_lines_between_requests_do_not_keep_a_connection_open(bounded: Server) -> None:
    with connect(bounded) as sock:
        sock.sendall(api_head("GET", "/healthcheck", {}))
        assert read_answer(sock).status == 204
        took = closed_within(sock, HEAD_BOUND + IDLE_BOUND + SLACK + 5, drip=b"\r\n" * 20)
    assert took is not None and took < HEAD_BOUND + IDLE_BOUND + SLACK, took


def test_an_upload_that_waits_for_100_continue_is_timed_from_it(bounded: Server, bounded_repo: str) -> None:
    data = b"y" * 500
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data)),
        "Expect": "100-continue",
    }
    with connect(bounded, timeout=30) as sock:
        sock.sendall(api_head("POST", f"{upload_url(bounded_repo)}?path=continued", headers))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        for piece in (data[:250], data[250:]):
            time.sleep(BODY_BOUND / 2)
            sock.sendall(piece)
        answer = read_answer(sock)
    assert answer.status == 201, answer
