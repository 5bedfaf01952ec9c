"""SQLite driver of the metadata store: one WAL-mode file shared by every worker process."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar
from pathlib import Path

from limnos.kv.store import (
    MUST_NOT_EXIST,
    KVItem,
    KVStore,
    KVUnavailableError,
    _MustNotExist,
    prefix_upper_bound,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    partition TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (partition, key)
) WITHOUT ROWID
"""

_SCAN_BATCH = 1000
T = TypeVar("T")


class SQLiteStore(KVStore):
    """A :class:`KVStore` on one SQLite file.

    Each thread gets its own connection. Writes use ``BEGIN IMMEDIATE`` so that a
    compare-and-set reads and writes under one lock, whichever process holds it.
    ``synchronous=FULL`` makes an acknowledged write survive a crash of the machine,
    not only of the process.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        self._retry(lambda: conn.execute(_SCHEMA))

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            wal = conn
            self._retry(lambda: wal.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _retry(op: Callable[[], T]) -> T:
        """Run ``op``, retrying while the database is locked beyond the busy timeout."""
        delay = 0.005
        for _ in range(50):
            try:
                return op()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        raise KVUnavailableError("metadata database stayed locked")

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn()

        def run() -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return self._retry(run)

    def get(self, partition: str, key: bytes) -> bytes | None:
        row = (
            self._conn()
            .execute("SELECT value FROM kv WHERE partition=? AND key=?", (partition, key))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def get_many(self, partition: str, keys: list[bytes]) -> dict[bytes, bytes]:
        out: dict[bytes, bytes] = {}
        conn = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for k, v in conn.execute(
                f"SELECT key, value FROM kv WHERE partition=? AND key IN ({marks})",
                (partition, *chunk),
            ):
                out[bytes(k)] = bytes(v)
        return out

    def set(self, partition: str, key: bytes, value: bytes) -> None:
        self._retry(
            lambda: self._conn().execute(
                "INSERT OR REPLACE INTO kv(partition, key, value) VALUES (?,?,?)",
                (partition, key, value),
            )
        )

    def set_many(self, partition: str, items: list[tuple[bytes, bytes]]) -> None:
        if not items:
            return
        self._write(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO kv(partition, key, value) VALUES (?,?,?)",
                [(partition, k, v) for k, v in items],
            )
        )

    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        if expected is MUST_NOT_EXIST:
            cur = self._retry(
                lambda: self._conn().execute(
                    "INSERT OR IGNORE INTO kv(partition, key, value) VALUES (?,?,?)",
                    (partition, key, value),
                )
            )
            return bool(cur.rowcount == 1)
        cur = self._retry(
            lambda: self._conn().execute(
                "UPDATE kv SET value=? WHERE partition=? AND key=? AND value=?",
                (value, partition, key, expected),
            )
        )
        return bool(cur.rowcount == 1)

    def delete(self, partition: str, key: bytes) -> None:
        self._retry(
            lambda: self._conn().execute("DELETE FROM kv WHERE partition=? AND key=?", (partition, key))
        )

    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        cur = self._retry(
            lambda: self._conn().execute(
                "DELETE FROM kv WHERE partition=? AND key=? AND value=?",
                (partition, key, expected),
            )
        )
        return bool(cur.rowcount == 1)

    def delete_prefix(self, partition: str, prefix: bytes = b"") -> None:
        upper = prefix_upper_bound(prefix)
        if upper is None:
            sql, args = "DELETE FROM kv WHERE partition=? AND key>=?", (partition, prefix)
        else:
            sql = "DELETE FROM kv WHERE partition=? AND key>=? AND key<?"
            args = (partition, prefix, upper)  # type: ignore[assignment]
        self._retry(lambda: self._conn().execute(sql, args))

    def scan(
        self,
        partition: str,
        *,
        start: bytes = b"",
        prefix: bytes = b"",
        limit: int | None = None,
    ) -> Iterator[KVItem]:
        lower = max(start, prefix)
        upper = prefix_upper_bound(prefix) if prefix else None
        remaining = limit
        conn = self._conn()
        inclusive = True
        while remaining is None or remaining > 0:
            batch = _SCAN_BATCH if remaining is None else min(_SCAN_BATCH, remaining)
            op = ">=" if inclusive else ">"
            if upper is None:
                rows = conn.execute(
                    f"SELECT key, value FROM kv WHERE partition=? AND key{op}? ORDER BY key LIMIT ?",
                    (partition, lower, batch),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT key, value FROM kv WHERE partition=? AND key{op}? AND key<? "
                    "ORDER BY key LIMIT ?",
                    (partition, lower, upper, batch),
                ).fetchall()
            for k, v in rows:
                yield KVItem(bytes(k), bytes(v))
            if len(rows) < batch:
                return
            if remaining is not None:
                remaining -= len(rows)
            lower = bytes(rows[-1][0])
            inclusive = False

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
