"""SQLite driver of the metadata store: one WAL-mode file shared by every worker process."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from limnos.kv.change_board import ChangeBoard, slot_of
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    partition TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (partition, key)
) WITHOUT ROWID
"""

T = TypeVar("T")

#: Records kept by :meth:`SQLiteStore.get_hot`; past this many, the cache starts over.
HOT_RECORDS = 4096


class _Statement:
    """A queued writing statement and, once run, its outcome."""

    __slots__ = ("partition", "sql", "args", "changed", "error", "failure", "done")

    def __init__(self, partition: str, sql: str, args: tuple[object, ...]) -> None:
        self.partition = partition
        self.sql = sql
        self.args = args
        self.changed = 0
        self.error: sqlite3.Error | None = None  # this statement failed
        self.failure: Exception | None = None  # the whole transaction failed
        self.done = False


_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_FULL = 13
# Attempts of an operation that found the database locked beyond the busy timeout.
_LOCKED_ATTEMPTS = 50


def _is_busy(err: sqlite3.Error) -> bool:
    """Whether ``err`` is SQLITE_BUSY or SQLITE_LOCKED: the database, or a table, is locked.

    Told by SQLite's result code, whose low byte is the primary code of an extended one
    (SQLITE_BUSY_SNAPSHOT is SQLITE_BUSY too), not by the wording of the message. Errors
    raised by the sqlite3 module itself carry no code: they are not busy.
    """
    code = getattr(err, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


@contextmanager
def _room_checked() -> Iterator[None]:
    """A full disk (SQLite's SQLITE_FULL, or ENOSPC/EDQUOT from a file it writes) as a kind
    of error the client may be told of; the transaction that met it is rolled back."""
    try:
        yield
    except sqlite3.Error as err:
        code = getattr(err, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == _SQLITE_FULL:
            raise KVStoreFullError() from err
        raise
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise KVStoreFullError(os.strerror(err.errno).lower()) from err
        raise


def _run_all(conn: sqlite3.Connection, batch: list[_Statement]) -> None:
    for op in batch:
        try:
            op.changed = conn.execute(op.sql, op.args).rowcount
            op.error = None
        except sqlite3.OperationalError as err:
            if _is_busy(err):
                raise  # the whole transaction is retried
            op.error = err
        except sqlite3.Error as err:
            op.error = err  # this statement failed; the others stand


class _WriteAheadLog:
    """Syncs the database's WAL file: what makes the transactions committed so far durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._enabled = True
        self._lock = threading.Lock()
        self._fd = -1
        self._inode = -1
        # Descriptors of WAL files SQLite has replaced: another thread may still be syncing
        # one, so they are closed only with the store.
        self._replaced: list[int] = []

    def disable(self) -> None:
        """Commits sync by themselves (the database is not in WAL mode)."""
        self._enabled = False

    def sync(self) -> None:
        """Make every transaction committed before this call durable."""
        if not self._enabled:
            return
        fd = self._descriptor()
        if fd >= 0:
            os.fdatasync(fd)

    def _descriptor(self) -> int:
        # SQLite deletes the WAL only after checkpointing it into the (synced) database, and
        # creates a new file afterwards: the inode tells whether the one held is current.
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return -1  # no WAL: everything committed is in the database file, synced
        with self._lock:
            if inode != self._inode:
                if self._fd >= 0:
                    self._replaced.append(self._fd)
                self._fd = os.open(self.path, os.O_RDONLY)
                self._inode = os.fstat(self._fd).st_ino
            return self._fd

    def close(self) -> None:
        with self._lock:
            for fd in [self._fd, *self._replaced]:
                if fd >= 0:
                    os.close(fd)
            self._fd, self._inode, self._replaced = -1, -1, []


class SQLiteStore(KVStore):
    """A :class:`KVStore` on one SQLite file.

    Each thread gets its own connection. Every write holds a writer lock (a ``flock``
    on ``<file>.lock``) shared by all processes, and multi-row writes run in one
    ``BEGIN IMMEDIATE`` transaction; a compare-and-set is one conditional statement.

    A write returns only once it survives a crash of the machine, not only of the
    process, but the disk is not waited for under the writer lock: transactions commit
    with ``synchronous=NORMAL`` (WAL frames written, not synced), and the writer syncs
    the WAL after releasing the lock. Meanwhile the next writer, in this process or
    another, commits its own transaction. WAL frames are appended in commit order, so
    the sync also covers every transaction committed before it; SQLite itself syncs the
    WAL before a checkpoint copies it into the database, and the database before the WAL
    is reused. Should the database refuse WAL mode, every commit syncs (``FULL``).

    :meth:`get_hot` answers from a per-process cache that a :class:`ChangeBoard` next
    to the database keeps exact: every write marks its partitions' slots there under
    the writer lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Statement] = []
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._wal = _WriteAheadLog(Path(f"{self.path}-wal"))
        self._board = ChangeBoard(Path(f"{self.path}.board"))
        self._hot: dict[tuple[str, bytes], tuple[int, bytes | None]] = {}
        conn = self._conn()
        self._retry(lambda: conn.execute(_SCHEMA))
        self._wal.sync()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            wal = conn
            mode = self._retry(lambda: wal.execute("PRAGMA journal_mode=WAL").fetchone()[0])
            if str(mode).lower() == "wal":
                conn.execute("PRAGMA synchronous=NORMAL")  # the writer syncs the WAL itself
            else:
                self._wal.disable()
                conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _retry(op: Callable[[], T]) -> T:
        """Run ``op``, retrying while the database is locked beyond the busy timeout.

        Not :func:`limnos.kv.retry.retry`: this one repeats an operation that *failed*
        (and may return None when it succeeds), sleeps a growing delay for the lock to be
        released, and gives up as Unavailable, not as a lost race.
        """
        delay = 0.005
        for _ in range(_LOCKED_ATTEMPTS):
            try:
                return op()
            except sqlite3.OperationalError as err:
                if not _is_busy(err):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        raise KVUnavailableError("metadata database stayed locked")

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the installation's writer lock: one writing thread across all processes.

        Waiters block in the kernel and wake as soon as the lock is free, where SQLite's
        own busy handler would sleep for growing intervals: this keeps write latency flat
        when several worker processes write at once.
        """
        with self._thread_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._board.acquired()
                try:
                    yield
                finally:
                    # The transaction has committed or rolled back by now.
                    self._board.end()
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    groups_writes = True

    @contextmanager
    def write_group(self) -> Iterator[None]:
        with _room_checked():
            yield from self._write_group()

    def _write_group(self) -> Iterator[None]:
        conn = self._conn()
        with self._exclusive():
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            self._local.grouping = True
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._local.grouping = False
        self._wal.sync()

    @contextmanager
    def isolated(self) -> Iterator[None]:
        if not self._grouping():
            raise RuntimeError("isolated() is only meaningful inside write_group()")
        with self._savepoint(self._conn()):
            yield

    @staticmethod
    @contextmanager
    def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            raise
        conn.execute("RELEASE op")

    def _grouping(self) -> bool:
        return getattr(self._local, "grouping", False)

    def _execute(self, partition: str, sql: str, args: tuple[object, ...]) -> int:
        with _room_checked():
            return self._execute_queued(partition, sql, args)

    def _execute_queued(self, partition: str, sql: str, args: tuple[object, ...]) -> int:
        """Run one writing statement; returns the rows it changed.

        Group commit: statements of concurrent threads queue up, and whichever thread
        becomes the leader runs every queued statement, in order, in one transaction —
        one fsync for the lot instead of one each. Each statement still sees the
        effects of those before it, so compare-and-set keeps its meaning. Inside a
        write group the statement simply joins the group's transaction.
        """
        if self._grouping():
            self._board.begin(partition)
            return self._conn().execute(sql, args).rowcount
        op = _Statement(partition, sql, args)
        with self._queue_lock:
            self._queue.append(op)
        with self._leader:
            if not op.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                conn = self._conn()
                try:
                    with self._exclusive():
                        for queued in batch:
                            self._board.begin(queued.partition)
                        self._retry(lambda: self._transaction(conn, lambda c: _run_all(c, batch)))
                    self._wal.sync()
                except BaseException as err:
                    failure = err if isinstance(err, Exception) else KVUnavailableError(str(err))
                    for queued in batch:
                        queued.failure = failure
                    raise
                finally:
                    for queued in batch:
                        queued.done = True
        if op.failure is not None:
            raise op.failure
        if op.error is not None:
            raise op.error
        return op.changed

    def _write(self, partition: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn``, which writes ``partition``, in one transaction under the writer lock
        (inside a write group: as one all-or-nothing part of the group's transaction)."""
        with _room_checked():
            return self._write_unchecked(partition, fn)

    def _write_unchecked(self, partition: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn()
        if self._grouping():
            self._board.begin(partition)
            with self._savepoint(conn):
                return fn(conn)
        with self._exclusive():
            self._board.begin(partition)
            result = self._retry(lambda: self._transaction(conn, fn))
        self._wal.sync()
        return result

    @staticmethod
    def _transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def get(self, partition: str, key: bytes) -> bytes | None:
        row = (
            self._conn()
            .execute("SELECT value FROM kv WHERE partition=? AND key=?", (partition, key))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def get_hot(self, partition: str, key: bytes) -> bytes | None:
        slot = slot_of(partition)
        cached = self._hot.get((partition, key))
        if cached is not None and self._board.still(slot, cached[0]):
            return cached[1]
        stamp = self._board.stamp(slot)  # taken before the read: a later write changes it
        value = self.get(partition, key)
        if stamp is not None:
            if len(self._hot) >= HOT_RECORDS:
                self._hot.clear()
            self._hot[(partition, key)] = (stamp, value)
        return value

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
        self._execute(
            partition,
            "INSERT OR REPLACE INTO kv(partition, key, value) VALUES (?,?,?)",
            (partition, key, value),
        )

    def set_many(self, partition: str, items: list[tuple[bytes, bytes]]) -> None:
        if not items:
            return
        self._write(
            partition,
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO kv(partition, key, value) VALUES (?,?,?)",
                [(partition, k, v) for k, v in items],
            ),
        )

    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        if expected is MUST_NOT_EXIST:
            changed = self._execute(
                partition,
                "INSERT OR IGNORE INTO kv(partition, key, value) VALUES (?,?,?)",
                (partition, key, value),
            )
        else:
            changed = self._execute(
                partition,
                "UPDATE kv SET value=? WHERE partition=? AND key=? AND value=?",
                (value, partition, key, expected),
            )
        return changed == 1

    def delete(self, partition: str, key: bytes) -> None:
        self._execute(partition, "DELETE FROM kv WHERE partition=? AND key=?", (partition, key))

    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        changed = self._execute(
            partition, "DELETE FROM kv WHERE partition=? AND key=? AND value=?", (partition, key, expected)
        )
        return changed == 1

    def delete_prefix(self, partition: str, prefix: bytes = b"") -> None:
        upper = prefix_upper_bound(prefix)
        if upper is None:
            self._execute(partition, "DELETE FROM kv WHERE partition=? AND key>=?", (partition, prefix))
        else:
            self._execute(
                partition, "DELETE FROM kv WHERE partition=? AND key>=? AND key<?", (partition, prefix, upper)
            )

    def scan(
        self,
        partition: str,
        *,
        start: bytes = b"",
        prefix: bytes = b"",
        limit: int | None = None,
    ) -> Iterator[KVItem]:
        conn = self._conn()

        def fetch(
            lower: bytes, inclusive: bool, upper: bytes | None, count: int
        ) -> list[tuple[bytes, bytes]]:
            op = ">=" if inclusive else ">"
            if upper is None:
                sql = f"SELECT key, value FROM kv WHERE partition=? AND key{op}? ORDER BY key LIMIT ?"
                return conn.execute(sql, (partition, lower, count)).fetchall()
            sql = f"SELECT key, value FROM kv WHERE partition=? AND key{op}? AND key<? ORDER BY key LIMIT ?"
            return conn.execute(sql, (partition, lower, upper, count)).fetchall()

        return scan_in_pages(fetch, start=start, prefix=prefix, limit=limit)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._wal.close()
        self._board.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
