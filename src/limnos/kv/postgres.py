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
# path of 4,096 bytes is one). The one index is on the key's first ORDER_BYTES bytes and its
# SHA-256: unique as the key itself, and in the order of the keys as far as the heads tell
# them apart (byte order of the heads agrees with byte order of the keys); scans sort ties
# by the whole key.
ORDER_BYTES = 1024
_HEAD = f"substring(key from 1 for {ORDER_BYTES})"
_HEAD_OF = f"substring(%s::bytea from 1 for {ORDER_BYTES})"
_IDENTITY = f"(partition, {_HEAD}, sha256(key))"

_TABLE = """
CREATE TABLE IF NOT EXISTS limnos_kv (
    partition TEXT NOT NULL,
    key BYTEA NOT NULL,
    value BYTEA NOT NULL
)
"""
_INDEX = f"CREATE UNIQUE INDEX IF NOT EXISTS limnos_kv_identity ON limnos_kv {_IDENTITY}"
# Tables of the first layout have a primary key on the whole key; the index above replaces it.
_FIRST_LAYOUT_KEY = "ALTER TABLE limnos_kv DROP CONSTRAINT IF EXISTS limnos_kv_pkey"
# Taken by whichever process sets the schema up: the others wait, then find it done.
_SCHEMA_LOCK = 0x6C696D6E6F73  # "limnos"
# One record, found through the index (the key itself compared too: no collision of
# hashes can mislead).
_ONE = f"partition=%s AND {_HEAD}={_HEAD_OF} AND sha256(key)=sha256(%s::bytea) AND key=%s"
_CONFLICT = f"ON CONFLICT {_IDENTITY}"

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
            cur.execute(f"SELECT value FROM limnos_kv WHERE {_ONE}", (partition, key, key, key))
            row = cur.fetchone()
            return None if row is None else bytes(row[0])

        return self._run(op, idempotent=True)

    def get_many(self, partition: str, keys: list[bytes]) -> dict[bytes, bytes]:
        def op(cur: psycopg.Cursor[Any]) -> dict[bytes, bytes]:
            cur.execute(
                f"SELECT key, value FROM limnos_kv WHERE partition=%s AND ({_HEAD}, sha256(key)) IN "
                f"(SELECT substring(k from 1 for {ORDER_BYTES}), sha256(k) FROM unnest(%s::bytea[]) k) "
                "AND key = ANY(%s)",
                (partition, keys, keys),
            )
            return {bytes(k): bytes(v) for k, v in cur.fetchall()}

        return self._run(op, idempotent=True) if keys else {}

    def set(self, partition: str, key: bytes, value: bytes) -> None:
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                f"{_CONFLICT} DO UPDATE SET value=EXCLUDED.value",
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
                    f"{_CONFLICT} DO UPDATE SET value=EXCLUDED.value",
                    [(partition, k, v) for k, v in items],
                )

        self._run(op, idempotent=True)

    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            if expected is MUST_NOT_EXIST:
                cur.execute(
                    f"INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) {_CONFLICT} DO NOTHING",
                    (partition, key, value),
                )
            else:
                cur.execute(
                    f"UPDATE limnos_kv SET value=%s WHERE {_ONE} AND value=%s",
                    (value, partition, key, key, key, expected),
                )
            return cur.rowcount == 1

        return self._run(op, idempotent=False)

    def delete(self, partition: str, key: bytes) -> None:
        self._run(
            lambda cur: cur.execute(f"DELETE FROM limnos_kv WHERE {_ONE}", (partition, key, key, key)),
            idempotent=True,
        )

    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            cur.execute(
                f"DELETE FROM limnos_kv WHERE {_ONE} AND value=%s",
                (partition, key, key, key, expected),
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
            # In the index's own order (no sort, whatever the planner estimates): by head,
            # then by hash. Keys of one head are put in order here, the last head's all read.
            where, args = _key_range(partition, lower, inclusive, upper)
            sql = f"SELECT key, value FROM limnos_kv WHERE {where} ORDER BY {_HEAD}, sha256(key) LIMIT %s"

            def op(cur: psycopg.Cursor[Any]) -> list[tuple[bytes, bytes]]:
                cur.execute(sql, [*args, count])
                rows: list[tuple[bytes, bytes]] = [(bytes(k), bytes(v)) for k, v in cur.fetchall()]
                if len(rows) == count and len(rows[-1][0]) >= ORDER_BYTES:
                    # The limit may have cut the keys sharing the last head: read them all.
                    head = rows[-1][0][:ORDER_BYTES]
                    cur.execute(
                        f"SELECT key, value FROM limnos_kv WHERE {where} AND {_HEAD} = %s", [*args, head]
                    )
                    rows = [row for row in rows if row[0][:ORDER_BYTES] != head]
                    rows += [(bytes(k), bytes(v)) for k, v in cur.fetchall()]
                return rows

            rows = self._run(op, idempotent=True)
            # Different heads are in order already: sorting by key orders each head's keys.
            rows.sort()
            return rows[:count]

        return scan_in_pages(fetch, start=start, prefix=prefix, limit=limit)

    def close(self) -> None:
        self._pool.close()


def _key_range(partition: str, lower: bytes, inclusive: bool, upper: bytes | None) -> tuple[str, list[Any]]:
    """The condition (and its arguments) of the keys of ``partition`` from ``lower`` to
    before ``upper``, stated on the indexed heads of the keys too, for the index to serve."""
    where = (
        f"partition=%s AND {_HEAD} >= {_HEAD_OF} "
        f"AND ({_HEAD} > {_HEAD_OF} OR key{'>=' if inclusive else '>'}%s)"
    )
    args: list[Any] = [partition, lower, lower, lower]
    if upper is not None:
        where += f" AND {_HEAD} <= {_HEAD_OF} AND key<%s"
        args += [upper, upper]
    return where, args


def _set_up_schema(cur: psycopg.Cursor[Any]) -> None:
    """Create the table and its index, or bring a table of the first layout to the present
    one; one process at a time."""
    with cur.connection.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(_TABLE)
        cur.execute(_INDEX)
        cur.execute(_FIRST_LAYOUT_KEY)
