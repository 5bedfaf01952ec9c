"""Small request bodies held in memory (JSON for the REST API, XML for the S3 gateway) are
bounded: too large a declared length is refused before any of the body is sent, and a
chunked body is refused as soon as it crosses the bound. Object uploads are not bounded
by it."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from conftest import Server, upload_url
from wire import api_head, connect, read_answer, s3_head

LIMIT = 2 * 1024 * 1024
PUBLIC_LIMIT = 64 * 1024
TOO_LARGE = 3 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "signed"),
    [("/setup_lakefs", False), ("/auth/login", False), ("/repositories", True)],
)
def test_a_json_body_declared_too_large_is_refused_before_it_is_sent(
    server: Server, path: str, signed: bool
) -> None:
    with connect(server) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": str(TOO_LARGE)}
        sock.sendall(api_head("POST", path, headers, signed=signed))
        answer = read_answer(sock)  # no byte of the body was sent
    assert answer.status == 413, answer
    assert "larger than" in json.loads(answer.body)["message"]
    assert answer.headers.get("connection") == "close"


@pytest.mark.parametrize(
    ("path", "signed", "limit"), [("/setup_lakefs", False, PUBLIC_LIMIT), ("/repositories", True, LIMIT)]
)
def test_a_chunked_json_body_is_refused_when_it_crosses_the_limit(
    server: Server, path: str, signed: bool, limit: int
) -> None:
    chunk = b"[" + b" " * (16 * 1024 - 1)
    with connect(server) as sock:
        sock.sendall(api_head("POST", path, {"Transfer-Encoding": "chunked"}, signed=signed))
        for _ in range(limit // len(chunk)):  # exactly the limit
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # one byte more crosses it, in one small write: the server answers and closes
        # only once the client has nothing more to send
        sock.sendall(b"1\r\n \r\n")
        answer = read_answer(sock)  # the body is not finished: no last chunk
    assert answer.status == 413, answer
    assert f"larger than {limit} bytes" in json.loads(answer.body)["message"]


@pytest.mark.parametrize("path", ["/setup_lakefs", "/setup_comm_prefs", "/auth/login"])
def test_routes_open_without_credentials_take_small_json_bodies_only(server: Server, path: str) -> None:
    # over the limit of unsigned requests, far under that of signed ones
    body = json.dumps({"username": "x" * (PUBLIC_LIMIT + 1)}).encode()
    with connect(server) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        sock.sendall(api_head("POST", path, headers, signed=False))
        answer = read_answer(sock)  # no byte of the body was sent
    assert answer.status == 413, answer
    assert f"larger than {PUBLIC_LIMIT} bytes" in json.loads(answer.body)["message"]


def test_a_json_body_within_the_limit_is_taken(http: httpx.Client, repo: str) -> None:
    # 1,000 paths of 1,000 bytes: the largest bulk delete
    paths = [f"{i:04d}/" + "p" * 995 for i in range(1000)]
    response = http.post(f"/repositories/{repo}/branches/main/objects/delete", json={"paths": paths})
    assert response.status_code == 200, response.text


def test_uploads_are_not_held_to_the_json_limit(http: httpx.Client, repo: str) -> None:
    data = bytes(range(256)) * (TOO_LARGE // 256)
    response = http.post(upload_url(repo), params={"path": "big"}, content=data)
    assert response.status_code == 201, response.text
    assert http.get(f"/repositories/{repo}/refs/main/objects", params={"path": "big"}).content == data


def test_a_delete_objects_body_declared_too_large_is_refused_before_it_is_sent(
    server: Server, repo: str
) -> None:
    headers = {"Content-Type": "application/xml", "Content-Length": str(TOO_LARGE)}
    with connect(server) as sock:
        sock.sendall(s3_head(server, "POST", f"/{repo}?delete", headers))
        answer = read_answer(sock)
    assert answer.status == 400, answer
    assert b"<Code>MaxMessageLengthExceeded</Code>" in answer.body
    assert answer.headers.get("connection") == "close"


def test_a_complete_multipart_upload_body_declared_too_large_is_refused(server: Server, repo: str) -> None:
    headers = {"Content-Type": "application/xml", "Content-Length": str(TOO_LARGE)}
    target = f"/{repo}/main/key?uploadId={uuid.uuid4().hex}"
    with connect(server) as sock:
        sock.sendall(s3_head(server, "POST", target, headers))
        answer = read_answer(sock)
    assert answer.status == 400, answer
    assert b"<Code>MaxMessageLengthExceeded</Code>" in answer.body


def test_gateway_puts_are_not_held_to_the_xml_limit(server: Server, repo: str) -> None:
    data = bytes(range(256)) * (TOO_LARGE // 256)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
    with connect(server, timeout=60) as sock:
        sock.sendall(s3_head(server, "PUT", f"/{repo}/main/big", headers) + data)
        answer = read_answer(sock)
    assert answer.status == 200, answer
