"""SQLite's cached reads (``get_hot``) stay exact across stores, processes and crashes.

Each :class:`SQLiteStore` instance keeps its own cache, as each server process does: two
instances on one file stand for two processes, and real child processes check that the
shared change board works across address spaces and survives a writer killed mid-write.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from limnos.kv.change_board import slot_of
from limnos.kv.sqlite import SQLiteStore
from limnos.kv.store import MUST_NOT_EXIST

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kv.db"


@pytest.fixture
def open_store(db: Path) -> Iterator[Callable[[], SQLiteStore]]:
    """Opens stores on ``db``, each with a cache of its own, as a process has."""
    opened: list[SQLiteStore] = []

    def open_one() -> SQLiteStore:
        opened.append(SQLiteStore(db))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def reader(open_store: Callable[[], SQLiteStore]) -> SQLiteStore:
    return open_store()


@pytest.fixture
def writer(open_store: Callable[[], SQLiteStore]) -> SQLiteStore:
    return open_store()


def run_child(db: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter with ``store`` open on ``db``."""
    script = "import os, signal, sys\nfrom limnos.kv.sqlite import SQLiteStore\n"
    script += f"store = SQLiteStore({str(db)!r})\n" + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], env={"PYTHONPATH": SRC}, capture_output=True, text=True, timeout=120
    )


def test_every_kind_of_write_is_seen(reader: SQLiteStore, writer: SQLiteStore) -> None:
    def check(key: bytes) -> None:
        assert reader.get_hot("p", key) == writer.get("p", key)
        assert reader.get_hot("p", key) == writer.get("p", key)  # the second from the cache

    check(b"a")
    writer.set("p", b"a", b"1")
    check(b"a")
    assert writer.set_if("p", b"a", b"2", b"1")
    check(b"a")
    writer.set_many("p", [(b"a", b"3"), (b"b", b"x")])
    check(b"a")
    check(b"b")
    assert writer.delete_if("p", b"b", b"x")
    check(b"b")
    writer.delete_prefix("p", b"a")
    check(b"a")
    assert writer.set_if("p", b"a", b"4", MUST_NOT_EXIST)
    check(b"a")
    writer.delete("p", b"a")
    check(b"a")


def test_write_groups_are_seen_once_committed(reader: SQLiteStore, writer: SQLiteStore) -> None:
    writer.set("p", b"k", b"old")
    assert reader.get_hot("p", b"k") == b"old"
    with writer.write_group():
        with writer.isolated():
            writer.set("p", b"k", b"new")
        with pytest.raises(RuntimeError), writer.isolated():
            writer.set("p", b"k", b"undone")
            raise RuntimeError("this part fails alone")
        assert writer.get_hot("p", b"k") == b"new"  # the group sees its own write
        assert reader.get_hot("p", b"k") == b"old"  # others do not, until it commits
    assert reader.get_hot("p", b"k") == b"new"
    with pytest.raises(RuntimeError), writer.write_group():
        writer.set("p", b"k", b"rolled back")
        raise RuntimeError("the whole group fails")
    assert reader.get_hot("p", b"k") == b"new"


def test_only_writes_to_its_slot_drop_a_cached_record(
    reader: SQLiteStore, writer: SQLiteStore, db: Path
) -> None:
    other = next(f"q{n}" for n in range(10_000) if slot_of(f"q{n}") != slot_of("p"))
    writer.set("p", b"k", b"v")
    assert reader.get_hot("p", b"k") == b"v"
    writer.set(other, b"k", b"w")
    # A change made behind the board's back tells which reads come from the cache.
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as raw:
        raw.execute("UPDATE kv SET value=? WHERE partition='p' AND key=?", (b"unseen", b"k"))
    assert reader.get("p", b"k") == b"unseen"
    assert reader.get_hot("p", b"k") == b"v"
    writer.set("p", b"other key", b"w")
    assert reader.get_hot("p", b"k") == b"unseen"


def test_readers_see_increments_of_other_processes_in_order(reader: SQLiteStore, db: Path) -> None:
    reader.set("counter", b"n", b"0")
    increments = 150
    body = f"""
        done = 0
        while done < {increments}:
            current = store.get_hot("counter", b"n")
            if store.set_if("counter", b"n", str(int(current) + 1).encode(), current):
                done += 1
        store.close()
    """
    results: list[subprocess.CompletedProcess[str]] = []
    children = [threading.Thread(target=lambda: results.append(run_child(db, body))) for _ in range(2)]
    for child in children:
        child.start()
    seen = 0
    while any(child.is_alive() for child in children):
        value = reader.get_hot("counter", b"n")
        assert value is not None
        assert int(value) >= seen, "a cached read went back in time"
        seen = int(value)
    for child in children:
        child.join()
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    assert reader.get_hot("counter", b"n") == str(2 * increments).encode()


def test_a_writer_killed_before_its_commit(reader: SQLiteStore, writer: SQLiteStore, db: Path) -> None:
    writer.set("p", b"k", b"before")
    assert reader.get_hot("p", b"k") == b"before"
    child = run_child(
        db,
        """
        with store.write_group():
            store.set("p", b"k", b"never committed")
            os.kill(os.getpid(), signal.SIGKILL)
    """,
    )
    assert child.returncode == -9, child.stderr
    assert reader.get_hot("p", b"k") == b"before"
    writer.set("p", b"k", b"after")
    assert reader.get_hot("p", b"k") == b"after"
    assert reader.get_hot("p", b"k") == b"after"


def test_a_writer_killed_between_its_commit_and_its_mark(
    reader: SQLiteStore, writer: SQLiteStore, db: Path
) -> None:
    """The commit is in the file, but the board still says the write is under way."""
    writer.set("p", b"k", b"before")
    assert reader.get_hot("p", b"k") == b"before"
    child = run_child(
        db,
        """
        with store._exclusive():
            store._board.begin("p")
            conn = store._conn()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE kv SET value=? WHERE partition='p' AND key=?", (b"committed", b"k"))
            conn.execute("COMMIT")
            os.kill(os.getpid(), signal.SIGKILL)
    """,
    )
    assert child.returncode == -9, child.stderr
    assert reader.get_hot("p", b"k") == b"committed"
    writer.set("elsewhere", b"k", b"v")  # the next holder of the lock clears the mark...
    assert reader.get_hot("p", b"k") == b"committed"
    # ...and the record is cached again: a change behind the board's back goes unseen
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as raw:
        raw.execute("UPDATE kv SET value=? WHERE partition='p' AND key=?", (b"unseen", b"k"))
    assert reader.get_hot("p", b"k") == b"committed"
    writer.set("p", b"k", b"after")
    assert reader.get_hot("p", b"k") == b"after"
