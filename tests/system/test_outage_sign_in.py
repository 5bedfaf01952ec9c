"""A metadata-store outage while signing in answers as an outage anywhere else does: a
JSON 503 in the REST API, S3's ``ServiceUnavailable`` in the gateway; never a 500.

The server runs on a PostgreSQL database of its own, whose connections the test
terminates, again and again, while requests signed with keys that no server process has
looked up yet arrive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError
from conftest import Server, free_port, fresh_postgres_database, postgres_dsn, s3_client
from psycopg.conninfo import conninfo_to_dict

from limnos.auth import AuthService
from limnos.kv.postgres import PostgresStore

ENCRYPTION_KEY = "limnos-test-encryption-key"  # the one conftest's servers use
# Words of PostgreSQL's and psycopg's own messages, which no answer may carry.
DRIVER_WORDS = ("terminating connection", "administrator command", "server closed", "psycopg", "SSL")
KEYS = 60
# How long requests are sent during the outage (those under way then are answered after).
OUTAGE_SECONDS = 3.0


@pytest.fixture()
def database() -> Iterator[tuple[str, str]]:
    """A database of its own: (its DSN, its name)."""
    with fresh_postgres_database() as dsn:
        yield dsn, conninfo_to_dict(dsn)["dbname"]


@pytest.fixture()
def server(tmp_path: Path, database: tuple[str, str]) -> Iterator[Server]:
    env = {"LAKEFS_DATABASE_TYPE": "postgres", "LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING": database[0]}
    srv = Server(tmp_path / "server", free_port(), extra_env=env).start()
    yield srv
    srv.stop()


def fresh_keys(dsn: str, count: int) -> list[tuple[str, str]]:
    """``count`` new access key pairs of the admin, made in the server's database."""
    kv = PostgresStore(dsn, max_open_connections=2)
    try:
        auth = AuthService(kv, ENCRYPTION_KEY)
        made = [auth.create_credentials("admin") for _ in range(count)]
        return [(c.access_key_id, c.secret_access_key) for c in made]
    finally:
        kv.close()


class Outage:
    """Terminates every connection to one database, over and over, while it runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stop = threading.Event()
        self.terminated = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                ).fetchall()
                self.terminated += len(rows)
                time.sleep(0.005)

    def __enter__(self) -> Outage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def check_api_answer(response: httpx.Response, answers: list[int]) -> None:
    assert response.status_code in (200, 503), (response.status_code, response.text)
    if response.status_code == 503:
        assert response.headers["content-type"].startswith("application/json"), response.text
        message = response.json()["message"]
        assert message, response.text
        assert not any(word in message for word in DRIVER_WORDS), message
    answers.append(response.status_code)


def test_signing_in_during_an_outage_answers_503(server: Server, database: tuple[str, str]) -> None:
    dsn, name = database
    keys = fresh_keys(dsn, KEYS)
    answers: list[int] = []
    failures: list[str] = []

    def sign_in(pairs: list[tuple[str, str]]) -> None:
        deadline = time.monotonic() + OUTAGE_SECONDS
        for key, secret in pairs:
            if time.monotonic() > deadline:
                return
            with httpx.Client(base_url=server.api, auth=(key, secret), timeout=60) as http:
                try:
                    check_api_answer(http.get("/user"), answers)
                except AssertionError as err:
                    failures.append(str(err))

    def list_repositories() -> None:
        # Signed in with the admin's key, cached: the outage meets the operation itself.
        deadline = time.monotonic() + OUTAGE_SECONDS
        with server.http() as http:
            while time.monotonic() < deadline:
                try:
                    check_api_answer(http.get("/repositories"), answers)
                except AssertionError as err:
                    failures.append(str(err))

    with server.http() as http:
        assert http.get("/repositories").status_code == 200
    with Outage(name) as outage:
        threads = [threading.Thread(target=sign_in, args=(keys[i::4],)) for i in range(4)]
        threads.append(threading.Thread(target=list_repositories))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outage.terminated > 0
    assert not failures, failures[:5]
    assert 503 in answers, "no request met the outage"
    # Once the database is back, signing in works again, with keys never looked up.
    key, secret = fresh_keys(dsn, 1)[0]
    with httpx.Client(base_url=server.api, auth=(key, secret), timeout=60) as http:
        again = http.get("/user")
    assert again.status_code == 200, again.text


def test_the_gateway_signing_in_during_an_outage_answers_503(
    server: Server, database: tuple[str, str]
) -> None:
    dsn, name = database
    keys = fresh_keys(dsn, KEYS)
    codes: list[tuple[int, str]] = []

    def s3(key: str, secret: str) -> Any:
        return s3_client(server, key, secret)

    def sign_in(pairs: list[tuple[str, str]]) -> None:
        deadline = time.monotonic() + OUTAGE_SECONDS
        for key, secret in pairs:
            if time.monotonic() > deadline:
                return
            try:
                s3(key, secret).list_buckets()
                codes.append((200, ""))
            except ClientError as err:
                response = err.response
                codes.append((response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]))

    with Outage(name):
        threads = [threading.Thread(target=sign_in, args=(keys[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert set(codes) <= {(200, ""), (503, "ServiceUnavailable")}, sorted(set(codes))
    assert (503, "ServiceUnavailable") in codes, "no request met the outage"
    key, secret = fresh_keys(dsn, 1)[0]
    assert s3(key, secret).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
