"""PostgreSQL driver of the metadata store (psycopg 3 with a connection pool).

Compare-and-set runs as one conditional statement inside the database, so any number
of server processes on any number of machines share one store without losing an
update. Lost connections are retried with backoff; a statement whose outcome is
unknown after a lost connection is reported, never guessed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from limnos.kv.store import (
    MUST_NOT_EXIST,
    KVItem,
    KVStore,
    KVStoreFullError,
    KVUnavailableError,
    _MustNotExist,
    prefix_upper_bound,
    scan_in_pages,
)

T = TypeVar("T")

log = logging.getLogger("limnos.kv")

# A B-tree index entry holds at most about 2,700 bytes, and keys are longer than that (a
# path of 4,096 bytes is one): the key is unique by its SHA-256, and ordered scans use an
# index on its first ORDER_BYTES bytes, ties broken by the whole key. Byte order of the
# heads agrees with byte order of the keys, so the index serves the scans' ranges.
ORDER_BYTES = 1024
_HEAD = f"substring(key from 1 for {ORDER_BYTES})"
_HEAD_OF = f"substring(%s::bytea from 1 for {ORDER_BYTES})"

_TABLE = """
CREATE TABLE IF NOT EXISTS limnos_kv (
    partition TEXT NOT NULL,
    key BYTEA NOT NULL,
    value BYTEA NOT NULL,
    key_hash BYTEA GENERATED ALWAYS AS (sha256(key)) STORED,
    PRIMARY KEY (partition, key_hash)
)
"""
_ORDER_INDEX = f"CREATE INDEX IF NOT EXISTS limnos_kv_order ON limnos_kv (partition, {_HEAD})"
# Tables of the first layout (primary key on the whole key), changed in place.
_MIGRATION = (
    "ALTER TABLE limnos_kv ADD COLUMN key_hash BYTEA GENERATED ALWAYS AS (sha256(key)) STORED",
    "ALTER TABLE limnos_kv DROP CONSTRAINT limnos_kv_pkey",
    "ALTER TABLE limnos_kv ADD PRIMARY KEY (partition, key_hash)",
)
# Taken by whichever process sets the schema up: the others wait, then find it done.
_SCHEMA_LOCK = 0x6C696D6E6F73  # "limnos"
# One record, found by its hash (the key itself compared too: no collision can mislead).
_ONE = "partition=%s AND key_hash=sha256(%s::bytea) AND key=%s"

_RETRIES = 5


class PostgresStore(KVStore):
    """A :class:`KVStore` on a PostgreSQL database."""

    def __init__(
        self,
        connection_string: str,
        *,
        max_open_connections: int = 25,
        min_connections: int = 1,
        max_lifetime_seconds: float = 300.0,
        open_timeout_seconds: float = 30.0,
    ) -> None:
        self._pool = ConnectionPool(
            connection_string,
            min_size=min(min_connections, max_open_connections),
            max_size=max_open_connections,
            max_lifetime=max_lifetime_seconds,
            kwargs={"autocommit": True},
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=open_timeout_seconds)
        except (psycopg.Error, PoolTimeout) as err:
            self._pool.close()
            # Said at startup, to the operator: the driver's words help and reach no client.
            raise KVUnavailableError(f"cannot connect to PostgreSQL: {err}") from None
        self._run(_set_up_schema, idempotent=True)

    def _run(self, op: Callable[[psycopg.Cursor[Any]], T], *, idempotent: bool) -> T:
        """Run ``op`` on a pooled connection, retrying lost connections.

        A non-idempotent statement is retried only when it surely did not reach the
        server (the connection could not be had); otherwise the failure is reported.
        """
        delay = 0.05
        for attempt in range(_RETRIES):
            sent = False
            try:
                with self._pool.connection() as conn, conn.cursor() as cur:
                    sent = True
                    return op(cur)
            except psycopg.errors.DiskFull:
                # The statement failed as a whole: nothing was written.
                raise KVStoreFullError("the database server could not extend its files") from None
            except psycopg.OperationalError as err:
                if (sent and not idempotent) or attempt == _RETRIES - 1:
                    # The driver's message names the database's internals: logged, not answered.
                    log.warning("metadata database error: %s", err)
                    raise KVUnavailableError("the metadata database is unavailable") from None
            except PoolTimeout:
                if attempt == _RETRIES - 1:
                    raise KVUnavailableError("no metadata database connection available") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise KVUnavailableError("metadata database unavailable")

    def get(self, partition: str, key: bytes) -> bytes | None:
        def op(cur: psycopg.Cursor[Any]) -> bytes | None:
            cur.execute(f"SELECT value FROM limnos_kv WHERE {_ONE}", (partition, key, key))
            row = cur.fetchone()
            return None if row is None else bytes(row[0])

        return self._run(op, idempotent=True)

    def get_many(self, partition: str, keys: list[bytes]) -> dict[bytes, bytes]:
        def op(cur: psycopg.Cursor[Any]) -> dict[bytes, bytes]:
            cur.execute(
                "SELECT key, value FROM limnos_kv "
                "WHERE partition=%s AND key_hash = ANY(SELECT sha256(k) FROM unnest(%s::bytea[]) k) "
                "AND key = ANY(%s)",
                (partition, keys, keys),
            )
            return {bytes(k): bytes(v) for k, v in cur.fetchall()}

        return self._run(op, idempotent=True) if keys else {}

    def set(self, partition: str, key: bytes, value: bytes) -> None:
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                "ON CONFLICT (partition, key_hash) DO UPDATE SET value=EXCLUDED.value",
                (partition, key, value),
            ),
            idempotent=True,
        )

    def set_many(self, partition: str, items: list[tuple[bytes, bytes]]) -> None:
        if not items:
            return

        def op(cur: psycopg.Cursor[Any]) -> None:
            with cur.connection.transaction():
                cur.executemany(
                    "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                    "ON CONFLICT (partition, key_hash) DO UPDATE SET value=EXCLUDED.value",
                    [(partition, k, v) for k, v in items],
                )

        self._run(op, idempotent=True)

    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            if expected is MUST_NOT_EXIST:
                cur.execute(
                    "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                    "ON CONFLICT (partition, key_hash) DO NOTHING",
                    (partition, key, value),
                )
            else:
                cur.execute(
                    f"UPDATE limnos_kv SET value=%s WHERE {_ONE} AND value=%s",
                    (value, partition, key, key, expected),
                )
            return cur.rowcount == 1

        return self._run(op, idempotent=False)

    def delete(self, partition: str, key: bytes) -> None:
        self._run(
            lambda cur: cur.execute(f"DELETE FROM limnos_kv WHERE {_ONE}", (partition, key, key)),
            idempotent=True,
        )

    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            cur.execute(
                f"DELETE FROM limnos_kv WHERE {_ONE} AND value=%s",
                (partition, key, key, expected),
            )
            return cur.rowcount == 1

        return self._run(op, idempotent=False)

    def delete_prefix(self, partition: str, prefix: bytes = b"") -> None:
        where, args = _key_range(partition, prefix, True, prefix_upper_bound(prefix))
        self._run(lambda cur: cur.execute(f"DELETE FROM limnos_kv WHERE {where}", args), idempotent=True)

    def scan(
        self,
        partition: str,
        *,
        start: bytes = b"",
        prefix: bytes = b"",
        limit: int | None = None,
    ) -> Iterator[KVItem]:

        def fetch(
            lower: bytes, inclusive: bool, upper: bytes | None, count: int
        ) -> list[tuple[bytes, bytes]]:
            where, args = _key_range(partition, lower, inclusive, upper)
            args.append(count)
            sql = f"SELECT key, value FROM limnos_kv WHERE {where} ORDER BY {_HEAD}, key LIMIT %s"

            def op(cur: psycopg.Cursor[Any]) -> list[tuple[bytes, bytes]]:
                cur.execute(sql, args)
                return cur.fetchall()

            return self._run(op, idempotent=True)

        return scan_in_pages(fetch, start=start, prefix=prefix, limit=limit)

    def close(self) -> None:
        self._pool.close()


def _key_range(partition: str, lower: bytes, inclusive: bool, upper: bytes | None) -> tuple[str, list[Any]]:
    """The condition (and its arguments) of the keys of ``partition`` from ``lower`` to
    before ``upper``, stated on the indexed heads of the keys too, for the index to serve."""
    where = f"partition=%s AND {_HEAD} >= {_HEAD_OF} AND key{'>=' if inclusive else '>'}%s"
    args: list[Any] = [partition, lower, lower]
    if upper is not None:
        where += f" AND {_HEAD} <= {_HEAD_OF} AND key<%s"
        args += [upper, upper]
    return where, args


def _set_up_schema(cur: psycopg.Cursor[Any]) -> None:
    """Create the table and its order index, or bring a table of the first layout to the
    present one; one process at a time."""
    with cur.connection.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(_TABLE)
        cur.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'limnos_kv' AND column_name = 'key_hash'"
        )
        if cur.fetchone() is None:
            for statement in _MIGRATION:
                cur.execute(statement)
        cur.execute(_ORDER_INDEX)
