"""PostgreSQL driver of the metadata store (psycopg 3 with a connection pool).

Compare-and-set runs as one conditional statement inside the database, so any number
of server processes on any number of machines share one store without losing an
update. Lost connections are retried with backoff; a statement whose outcome is
unknown after a lost connection is reported, never guessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from limnos.kv.store import (
    MUST_NOT_EXIST,
    KVItem,
    KVStore,
    KVUnavailableError,
    _MustNotExist,
    prefix_upper_bound,
    scan_in_pages,
)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS limnos_kv (
    partition TEXT NOT NULL,
    key BYTEA NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (partition, key)
)
"""

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
            raise KVUnavailableError(f"cannot connect to PostgreSQL: {err}") from None
        self._run(lambda cur: cur.execute(_SCHEMA), idempotent=True)

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
            except psycopg.OperationalError as err:
                if (sent and not idempotent) or attempt == _RETRIES - 1:
                    raise KVUnavailableError(f"metadata database error: {err}") from None
            except PoolTimeout:
                if attempt == _RETRIES - 1:
                    raise KVUnavailableError("no metadata database connection available") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise KVUnavailableError("metadata database unavailable")

    def get(self, partition: str, key: bytes) -> bytes | None:
        def op(cur: psycopg.Cursor[Any]) -> bytes | None:
            cur.execute("SELECT value FROM limnos_kv WHERE partition=%s AND key=%s", (partition, key))
            row = cur.fetchone()
            return None if row is None else bytes(row[0])

        return self._run(op, idempotent=True)

    def get_many(self, partition: str, keys: list[bytes]) -> dict[bytes, bytes]:
        def op(cur: psycopg.Cursor[Any]) -> dict[bytes, bytes]:
            cur.execute(
                "SELECT key, value FROM limnos_kv WHERE partition=%s AND key = ANY(%s)",
                (partition, keys),
            )
            return {bytes(k): bytes(v) for k, v in cur.fetchall()}

        return self._run(op, idempotent=True) if keys else {}

    def set(self, partition: str, key: bytes, value: bytes) -> None:
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                "ON CONFLICT (partition, key) DO UPDATE SET value=EXCLUDED.value",
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
                    "ON CONFLICT (partition, key) DO UPDATE SET value=EXCLUDED.value",
                    [(partition, k, v) for k, v in items],
                )

        self._run(op, idempotent=True)

    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            if expected is MUST_NOT_EXIST:
                cur.execute(
                    "INSERT INTO limnos_kv(partition, key, value) VALUES (%s,%s,%s) "
                    "ON CONFLICT (partition, key) DO NOTHING",
                    (partition, key, value),
                )
            else:
                cur.execute(
                    "UPDATE limnos_kv SET value=%s WHERE partition=%s AND key=%s AND value=%s",
                    (value, partition, key, expected),
                )
            return cur.rowcount == 1

        return self._run(op, idempotent=False)

    def delete(self, partition: str, key: bytes) -> None:
        self._run(
            lambda cur: cur.execute("DELETE FROM limnos_kv WHERE partition=%s AND key=%s", (partition, key)),
            idempotent=True,
        )

    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        def op(cur: psycopg.Cursor[Any]) -> bool:
            cur.execute(
                "DELETE FROM limnos_kv WHERE partition=%s AND key=%s AND value=%s",
                (partition, key, expected),
            )
            return cur.rowcount == 1

        return self._run(op, idempotent=False)

    def delete_prefix(self, partition: str, prefix: bytes = b"") -> None:
        upper = prefix_upper_bound(prefix)
        if upper is None:
            sql = "DELETE FROM limnos_kv WHERE partition=%s AND key>=%s"
            args: tuple[Any, ...] = (partition, prefix)
        else:
            sql = "DELETE FROM limnos_kv WHERE partition=%s AND key>=%s AND key<%s"
            args = (partition, prefix, upper)
        self._run(lambda cur: cur.execute(sql, args), idempotent=True)

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
            where = f"partition=%s AND key{'>=' if inclusive else '>'}%s"
            args: list[Any] = [partition, lower]
            if upper is not None:
                where += " AND key<%s"
                args.append(upper)
            args.append(count)
            sql = f"SELECT key, value FROM limnos_kv WHERE {where} ORDER BY key LIMIT %s"

            def op(cur: psycopg.Cursor[Any]) -> list[tuple[bytes, bytes]]:
                cur.execute(sql, args)
                return cur.fetchall()

            return self._run(op, idempotent=True)

        return scan_in_pages(fetch, start=start, prefix=prefix, limit=limit)

    def close(self) -> None:
        self._pool.close()
