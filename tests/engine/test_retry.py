"""The bounded retry of optimistic updates, and the engine giving up through it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from limnos import errors as kinds
from limnos.block.mem import MemAdapter
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import _RETIRED, Graveler
from limnos.graveler.errors import TooManyRequestsError
from limnos.graveler.refs import branches_partition
from limnos.graveler.revparse import ResolvedRef
from limnos.kv.retry import MAX_ATTEMPTS, retry
from limnos.kv.sqlite import SQLiteStore


def test_returns_the_first_result_that_is_not_none() -> None:
    results: list[int | None] = [None, None, 0, 7]
    calls: list[int] = []

    def attempt() -> int | None:
        calls.append(1)
        return results[len(calls) - 1]

    assert retry(attempt, busy="busy") == 0  # a falsy result is a result
    assert len(calls) == 3


def test_gives_up_after_the_given_attempts_with_the_given_error() -> None:
    calls: list[int] = []

    def attempt() -> str | None:
        calls.append(1)
        return None

    with pytest.raises(TooManyRequestsError, match="^branch 'x' is busy, try again$"):
        retry(attempt, busy="branch 'x' is busy, try again", error=TooManyRequestsError, attempts=4)
    assert len(calls) == 4


def test_gives_up_with_too_many_requests_by_default() -> None:
    calls: list[int] = []

    def attempt() -> bool | None:
        calls.append(1)
        return None

    with pytest.raises(kinds.TooManyRequests, match="^busy$"):
        retry(attempt, busy="busy")
    assert len(calls) == MAX_ATTEMPTS


def test_an_error_of_the_attempt_ends_the_retries() -> None:
    calls: list[int] = []

    def attempt() -> bool | None:
        calls.append(1)
        raise kinds.Conflict("lost for good")

    with pytest.raises(kinds.Conflict, match="lost for good"):
        retry(attempt, busy="busy")
    assert len(calls) == 1


def test_a_commit_whose_branch_never_settles_gives_up_and_keeps_its_writes_staged(
    tmp_path: Path,
) -> None:
    """Bounded ``_unseal``: the commit's last compare-and-set keeps failing, and it gives up.

    The database plays the racing writers: a trigger drops every update that would shorten
    the branch record (unsealing does; sealing lengthens it) and counts them, so each
    compare-and-set of ``_unseal`` fails as if another commit had just sealed.
    """
    path = tmp_path / "kv.db"
    kv = SQLiteStore(path)
    block = MemAdapter()
    g = Graveler(kv, block, CommittedStore(block))
    repo = g.create_repository("busy", "mem://bucket/busy")
    head = g.get_branch(repo, "main").commit_id
    g.set(repo, "main", "k", b"v")
    partition = branches_partition(repo).replace("'", "''")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE lost_races (n INTEGER)")
    db.execute(
        f"""CREATE TRIGGER never_settles BEFORE UPDATE ON kv
        WHEN OLD.partition = '{partition}' AND OLD.key = CAST('main' AS BLOB)
            AND length(NEW.value) < length(OLD.value)
        BEGIN INSERT INTO lost_races VALUES (1); SELECT RAISE(IGNORE); END"""
    )

    busy = "^Too many attempts, try again later: branch 'main' is busy$"
    with pytest.raises(TooManyRequestsError, match=busy):
        g.commit(repo, "main", committer="t", message="m")

    assert db.execute("SELECT count(*) FROM lost_races").fetchone() == (MAX_ATTEMPTS,)
    branch = g.get_branch(repo, "main")
    assert branch.commit_id == head
    assert len(branch.sealed_tokens) == 1  # the sealed write is still on the branch...
    assert g.get(repo, g.resolve(repo, "main"), "k") == b"v"  # ...and readable
    retired = {item.key.split(b"/", 1)[1].decode() for item in kv.scan(_RETIRED)}
    assert retired.isdisjoint((branch.staging_token, *branch.sealed_tokens))

    db.execute("DROP TRIGGER never_settles")
    commit_id = g.commit(repo, "main", committer="t", message="m")
    assert g.get(repo, ResolvedRef(commit_id), "k") == b"v"
    assert not g.is_dirty(g.get_branch(repo, "main"))
    db.close()
    kv.close()
