"""The metadata store contract, on both drivers: SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import postgres_dsn

from limnos.kv.postgres import PostgresStore
from limnos.kv.sqlite import SQLiteStore, _is_busy
from limnos.kv.store import MUST_NOT_EXIST, KVStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    if request.param == "sqlite":
        kv: KVStore = SQLiteStore(tmp_path / "kv.db")
    else:
        database = request.getfixturevalue("postgres_database")
        kv = PostgresStore(database, max_open_connections=8)
    yield kv
    kv.close()


def test_get_set_delete(store: KVStore) -> None:
    assert store.get("p", b"a") is None
    store.set("p", b"a", b"1")
    assert store.get("p", b"a") == b"1"
    assert store.get("other", b"a") is None
    store.set("p", b"a", b"2")
    assert store.get("p", b"a") == b"2"
    store.delete("p", b"a")
    store.delete("p", b"missing")
    assert store.get("p", b"a") is None


def test_compare_and_set(store: KVStore) -> None:
    assert store.set_if("p", b"k", b"1", MUST_NOT_EXIST)
    assert not store.set_if("p", b"k", b"2", MUST_NOT_EXIST)
    assert not store.set_if("p", b"k", b"3", b"wrong")
    assert store.set_if("p", b"k", b"3", b"1")
    assert store.get("p", b"k") == b"3"
    assert not store.delete_if("p", b"k", b"1")
    assert store.delete_if("p", b"k", b"3")
    assert store.get("p", b"k") is None


def test_scan_order_prefix_start_limit(store: KVStore) -> None:
    keys = [f"{i:05d}".encode() for i in range(2500)] + [b"a\xff", b"a\xff\xff", b"b"]
    store.set_many("s", [(k, k) for k in keys])
    assert [i.key for i in store.scan("s")] == sorted(keys)
    assert [i.key for i in store.scan("s", start=b"02498")][:3] == [b"02498", b"02499", b"a\xff"]
    assert len(list(store.scan("s", prefix=b"001"))) == 100
    assert [i.key for i in store.scan("s", prefix=b"a\xff")] == [b"a\xff", b"a\xff\xff"]
    assert len(list(store.scan("s", limit=1001))) == 1001
    assert store.get_many("s", [b"00001", b"nope"]) == {b"00001": b"00001"}
    store.delete_prefix("s", b"0")
    assert [i.key for i in store.scan("s")] == [b"a\xff", b"a\xff\xff", b"b"]
    store.delete_prefix("s", b"a\xff")
    assert [i.key for i in store.scan("s")] == [b"b"]
    store.delete_prefix("s")
    assert list(store.scan("s")) == []


def test_concurrent_compare_and_set_has_one_winner(store: KVStore) -> None:
    """Many threads race to create and then to advance one key; every step has one winner."""
    winners: list[int] = []
    advanced: list[int] = []

    def race(n: int) -> None:
        if store.set_if("race", b"k", str(n).encode(), MUST_NOT_EXIST):
            winners.append(n)
        for _ in range(20):
            current = store.get("race", b"k")
            assert current is not None
            if store.set_if("race", b"k", current + b"+", current):
                advanced.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    final = store.get("race", b"k")
    assert final is not None
    assert final == str(winners[0]).encode() + b"+" * len(advanced)


def test_postgres_retries_a_lost_connection(postgres_database: str) -> None:
    """Connections killed by the server are replaced; idempotent operations go on."""
    store = PostgresStore(postgres_database, max_open_connections=2)
    try:
        store.set("p", b"k", b"v")
        with psycopg.connect(postgres_database, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert store.get("p", b"k") == b"v"
        store.set("p", b"k2", b"v2")
        assert [i.key for i in store.scan("p")] == [b"k", b"k2"]
    finally:
        store.close()


def test_postgres_unreachable_is_reported() -> None:
    """A database that cannot be reached is an error naming the cause, not a hang."""
    from limnos.kv.store import KVUnavailableError

    postgres_dsn()  # same skip/fail rule as the other PostgreSQL tests
    with pytest.raises(KVUnavailableError):
        PostgresStore(
            f"postgresql://postgres@127.0.0.1:1/{uuid.uuid4().hex}?connect_timeout=1",
            max_open_connections=1,
            open_timeout_seconds=2,
        )


def _error_of(conn: sqlite3.Connection, sql: str) -> sqlite3.OperationalError:
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute(sql)
    return caught.value


def test_sqlite_busy_and_locked_are_told_by_their_code(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("INSERT INTO t VALUES (1), (2)")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    busy = _error_of(other, "INSERT INTO t VALUES (3)")
    assert busy.sqlite_errorname == "SQLITE_BUSY"
    assert _is_busy(busy)
    holder.execute("ROLLBACK")

    reading = other.execute("SELECT x FROM t")  # a statement still reading the table...
    reading.fetchone()
    locked = _error_of(other, "DROP TABLE t")  # ...locks it against its own connection
    assert locked.sqlite_errorname == "SQLITE_LOCKED"
    assert _is_busy(locked)
    reading.close()

    # Other failures are not busy, whatever their message says.
    assert not _is_busy(_error_of(other, "SELECT * FROM locked"))  # no such table: locked
    assert not _is_busy(_error_of(other, "SELECT 1 busy busy"))  # near "busy": syntax error
    assert not _is_busy(sqlite3.OperationalError("database is locked"))  # raised by no database
    other.close()
    holder.close()
