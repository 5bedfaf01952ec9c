"""An unknown access key and a wrong secret get one answer, on the REST API and on the S3
gateway, and take the same path to it: an unknown key's lookup is cached like a known
one's, so neither answer touches the metadata store more than the other (which the
timing of answers would otherwise tell)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import ACCESS_KEY_ID, Server, free_port, started

UNKNOWN_KEY = "AKIAJUNKNOWNKEY00000"
WRONG_SECRET = "not-the-secret-of-this-key-000000000000"
# The credential cache's lifetime in every server process (AuthService's default).
CACHE_SECONDS = 5.0


def request_id_free(body: bytes) -> bytes:
    """An S3 error document without its per-request id."""
    return re.sub(rb"<RequestId>[^<]*</RequestId>", b"", body)


@pytest.fixture()
def plain(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=60) as client:
        yield client


def test_basic_auth_answers_an_unknown_key_as_a_wrong_secret(server: Server, plain: httpx.Client) -> None:
    for _ in range(2):  # the first lookup and the cached one
        unknown = plain.get("/user", auth=(UNKNOWN_KEY, WRONG_SECRET))
        wrong = plain.get("/user", auth=(ACCESS_KEY_ID, WRONG_SECRET))
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()
        assert unknown.headers["content-type"] == wrong.headers["content-type"]


def test_login_answers_an_unknown_key_as_a_wrong_secret(server: Server, plain: httpx.Client) -> None:
    for _ in range(2):
        unknown = plain.post(
            "/auth/login", json={"access_key_id": UNKNOWN_KEY, "secret_access_key": WRONG_SECRET}
        )
        wrong = plain.post(
            "/auth/login", json={"access_key_id": ACCESS_KEY_ID, "secret_access_key": WRONG_SECRET}
        )
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()


def signed(server: Server, key: str, secret: str, *, v2: bool = False) -> httpx.Request:
    """ListBuckets signed with ``key`` and ``secret`` (SigV4, or Version 2)."""
    url = f"{server.url}/"
    request = AWSRequest(method="GET", url=url)
    if v2:
        request.headers["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
        HmacV1Auth(Credentials(key, secret)).add_auth(request)
    else:
        S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    return httpx.Request("GET", url, headers=dict(request.headers.items()))


@pytest.mark.parametrize("v2", [False, True], ids=["sigv4", "sigv2"])
def test_the_gateway_answers_an_unknown_key_as_a_wrong_secret(server: Server, v2: bool) -> None:
    with httpx.Client(timeout=60) as http:
        for _ in range(2):
            unknown = http.send(signed(server, UNKNOWN_KEY, WRONG_SECRET, v2=v2))
            wrong = http.send(signed(server, ACCESS_KEY_ID, WRONG_SECRET, v2=v2))
            assert unknown.status_code == wrong.status_code == 403
            assert b"<Code>SignatureDoesNotMatch</Code>" in wrong.content
            assert request_id_free(unknown.content) == request_id_free(wrong.content)


@pytest.fixture()
def fresh_pair(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two servers on one new data directory, not set up; the first has one worker, so
    one process answers every request sent to it."""
    blank = {
        "LAKEFS_INSTALLATION_USER_NAME": "",
        "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "",
        "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "",
    }
    first = Server(tmp_path, free_port(), workers=1, extra_env=blank)
    second = Server(tmp_path, free_port(), workers=1, extra_env=blank)
    with started(first, second):
        yield first, second


def test_an_unknown_key_is_looked_up_and_cached_as_a_known_one(fresh_pair: tuple[Server, Server]) -> None:
    """A known key's credential is served from the process's cache for its lifetime,
    whatever the store says meanwhile (deleted elsewhere, it still works there). An
    unknown key must take that same path, not a read of the store on every request:
    so a key created by another process after this one was asked for it is still
    refused here until the cache entry expires, and then accepted."""
    first, second = fresh_pair
    key, secret = "AKIAJ" + uuid.uuid4().hex[:15].upper(), "s" * 40
    started = time.monotonic()
    with (
        httpx.Client(base_url=first.api, timeout=60) as one,
        httpx.Client(base_url=second.api, timeout=60) as two,
    ):
        assert one.get("/user", auth=(key, secret)).status_code == 401
        made = two.post(
            "/setup_lakefs",
            json={"username": "admin", "key": {"access_key_id": key, "secret_access_key": secret}},
        )
        assert made.status_code == 200, made.text
        assert two.get("/user", auth=(key, secret)).status_code == 200
        cached = one.get("/user", auth=(key, secret))
        if time.monotonic() - started >= CACHE_SECONDS:
            pytest.skip("the machine was too slow to ask within the cache's lifetime")
        assert cached.status_code == 401, "the unknown key was not cached as a known one is"
        deadline = time.monotonic() + CACHE_SECONDS + 30
        while one.get("/user", auth=(key, secret)).status_code != 200:
            assert time.monotonic() < deadline, "the cached refusal never expired"
            time.sleep(0.2)
