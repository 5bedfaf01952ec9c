"""PostgreSQL keeps keys longer than a B-tree index entry can hold, and a database made
with the first table layout (the whole key in the primary key) is brought to the present
one when a server opens it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from conftest import fresh_postgres_database

from limnos.kv.postgres import PostgresStore
from limnos.kv.store import MUST_NOT_EXIST

# Random bytes: no compression makes them fit an index entry (about 2,700 bytes at most).
LONG = 8192


@pytest.fixture()
def database() -> Iterator[str]:
    """A database of its own, empty."""
    with fresh_postgres_database() as dsn:
        yield dsn


def test_keys_longer_than_an_index_entry(postgres_database: str) -> None:
    store = PostgresStore(postgres_database, max_open_connections=2)
    partition = f"long-{uuid.uuid4().hex}"
    try:
        head = secrets.token_bytes(LONG - 1)
        keys = sorted([head + b"\x00", head + b"\x01", head[:2000], b"short"])
        for key in keys:
            assert store.set_if(partition, key, key[-4:], MUST_NOT_EXIST)
        assert not store.set_if(partition, keys[0], b"again", MUST_NOT_EXIST)
        assert store.get(partition, head + b"\x01") == (head + b"\x01")[-4:]
        assert store.get(partition, head + b"\x02") is None
        assert store.get_many(partition, [head + b"\x00", head]) == {head + b"\x00": (head + b"\x00")[-4:]}
        # In byte order, though the first thousands of bytes are the same.
        assert [item.key for item in store.scan(partition)] == keys
        assert [item.key for item in store.scan(partition, prefix=head)] == [head + b"\x00", head + b"\x01"]
        assert [item.key for item in store.scan(partition, start=head + b"\x01")] == [
            k for k in keys if k >= head + b"\x01"
        ]
        assert store.set_if(partition, head + b"\x00", b"new", (head + b"\x00")[-4:])
        assert store.delete_if(partition, head + b"\x00", b"new")
        store.delete_prefix(partition, head)
        assert [item.key for item in store.scan(partition)] == [k for k in keys if not k.startswith(head)]
    finally:
        store.close()


def test_a_table_of_the_first_layout_is_brought_up_to_date(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE limnos_kv (partition TEXT NOT NULL, key BYTEA NOT NULL, "
            "value BYTEA NOT NULL, PRIMARY KEY (partition, key))"
        )
        for key in (b"b", b"a", b"c"):
            conn.execute("INSERT INTO limnos_kv VALUES ('p', %s, %s)", (key, key.upper()))
    # Two servers starting at once: one changes the table, the other finds it changed.
    first = PostgresStore(database, max_open_connections=2)
    second = PostgresStore(database, max_open_connections=2)
    try:
        assert [(i.key, i.value) for i in second.scan("p")] == [(b"a", b"A"), (b"b", b"B"), (b"c", b"C")]
        long_key = secrets.token_bytes(LONG)
        first.set("p", long_key, b"long")
        assert second.get("p", long_key) == b"long"
        assert not second.set_if("p", b"a", b"again", MUST_NOT_EXIST)
    finally:
        first.close()
        second.close()


def test_keys_sharing_their_first_thousands_of_bytes_scan_in_order(postgres_database: str) -> None:
    """Pages end anywhere among keys whose indexed heads are equal; each page is in key
    order and takes up where the one before ended."""
    store = PostgresStore(postgres_database, max_open_connections=2)
    partition = f"shared-{uuid.uuid4().hex}"
    try:
        head = secrets.token_bytes(3000)
        keys = sorted([head + secrets.token_bytes(8) for _ in range(40)] + [head[:500], head + b"\xff" * 9])
        store.set_many(partition, [(k, b"v") for k in reversed(keys)])
        for size in (1, 3, 7, 40):
            for first in range(0, len(keys), 5):
                page = [item.key for item in store.scan(partition, start=keys[first], limit=size)]
                assert page == keys[first : first + size]
        assert [item.key for item in store.scan(partition, prefix=head)] == keys[1:]
    finally:
        store.close()
