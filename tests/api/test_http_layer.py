"""The HTTP layer in front of every operation: bad bytes, big bodies, sign-in answers,
the public operations, and what HTTP itself requires of some answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ACCESS_KEY_ID, Server, assert_error, free_port


@pytest.fixture()
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=60) as client:
        yield client


def test_json_strings_that_are_not_utf8_are_bad_requests(
    anonymous: httpx.Client, http: httpx.Client, repo: str
) -> None:
    bad_key = b'{"access_key_id":"\xff","secret_access_key":"x"}'
    assert_error(anonymous.post("/auth/login", content=bad_key), 400, "JSON")
    assert_error(anonymous.post("/setup_lakefs", content=b'{"username":"\xc0\xaf"}'), 400, "JSON")
    branch = b'{"name":"x\xed\xa0\x80","source":"main"}'
    assert_error(http.post(f"/repositories/{repo}/branches", content=branch), 400, "JSON")


def test_json_bodies_beyond_the_limit_are_refused(anonymous: httpx.Client) -> None:
    huge = b'{"featureUpdates": true, "securityUpdates": true, "email": "' + b"x" * (16 * 2**20) + b'"}'
    assert_error(anonymous.post("/setup_comm_prefs", content=huge), 413, "larger")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"featureUpdates": true, "email": "'
        for _ in range(17):
            yield b"x" * 2**20
        yield b'"}'

    assert_error(anonymous.post("/setup_comm_prefs", content=chunks()), 413, "larger")


def test_failed_sign_ins_say_the_same_whatever_failed(anonymous: httpx.Client) -> None:
    unknown = anonymous.post("/auth/login", json={"access_key_id": "AKIANOSUCHKEY", "secret_access_key": "x"})
    wrong = anonymous.post("/auth/login", json={"access_key_id": ACCESS_KEY_ID, "secret_access_key": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"message": "error authenticating request"}
    basic = anonymous.get("/user", auth=(ACCESS_KEY_ID, "wrong"))
    assert basic.status_code == 401 and basic.json() == wrong.json()


def test_public_operations(anonymous: httpx.Client) -> None:
    capabilities = anonymous.get("/auth/capabilities")
    assert capabilities.status_code == 200
    assert capabilities.json() == {"invite_user": False, "forgot_password": False}
    prefs = {"featureUpdates": False, "securityUpdates": False, "email": "a@example.com"}
    assert anonymous.post("/setup_comm_prefs", json=prefs).status_code == 200
    assert_error(anonymous.post("/setup_comm_prefs", content=b"garbage"), 400)
    assert_error(anonymous.post("/setup_comm_prefs", json={"email": "a@example.com"}), 400, "featureUpdates")
    assert anonymous.head("/healthcheck").status_code == 204
    assert anonymous.head("/setup_lakefs").status_code == 200
    assert_error(anonymous.get("/repositories"), 401)
    assert anonymous.head("/repositories").status_code == 401


def test_paths_that_are_not_utf8_are_bad_requests(http: httpx.Client, repo: str) -> None:
    assert_error(http.get("/repositories/%FF"), 400, "UTF-8")
    assert_error(http.get(f"/repositories/{repo}/tags/v%FE"), 400, "UTF-8")
    assert http.get(f"/repositories/{repo}/branches/main").status_code == 200
    assert_error(http.get(f"/repositories/{repo}/tags/v%C3%BC"), 404)  # valid UTF-8: just missing


def test_branch_names_are_ascii(http: httpx.Client, repo: str) -> None:
    url = f"/repositories/{repo}/branches"
    for name in ("café", "x²", "日本", "main\n"):
        assert_error(http.post(url, json={"name": name, "source": "main"}), 400, "branch id: invalid value")
    assert http.post(url, json={"name": "Plain_ASCII-1", "source": "main"}).status_code == 201


def test_method_not_allowed_names_the_allowed_methods(http: httpx.Client, repo: str) -> None:
    response = http.put(f"/repositories/{repo}")
    assert_error(response, 405)
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "DELETE"} <= allowed


def test_login_lasts_as_configured(tmp_path: Path) -> None:
    server = Server(tmp_path / "short-login", free_port(), workers=1)
    server.extra_env["LAKEFS_AUTH_LOGIN_DURATION"] = "1m"
    server.start()
    try:
        with server.http() as http:
            before = time.time()
            response = http.post(
                "/auth/login",
                json={
                    "access_key_id": ACCESS_KEY_ID,
                    "secret_access_key": server.env()["LAKEFS_INSTALLATION_SECRET_ACCESS_KEY"],
                },
            )
        assert response.status_code == 200, response.text
        lifetime = response.json()["token_expiration"] - before
        assert 55 <= lifetime <= 65
        cookie = response.headers["set-cookie"]
        assert "internal_auth_session=" in cookie and "Max-Age=60" in cookie
    finally:
        server.stop()
