"""Writes of many requests run in groups: each gets its own outcome, as if it ran alone."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from limnos.block.adapter import BlockWriter
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.catalog.entry import Entry, decode_entry, encode_entry
from limnos.catalog.writes import WriteGroups
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import AlreadyExistsError, NotFoundError, PreconditionFailedError
from limnos.graveler.model import Repository
from limnos.kv.sqlite import SQLiteStore


def _engine(tmp_path: Path) -> tuple[Graveler, LocalAdapter, SQLiteStore, Repository]:
    block = LocalAdapter(tmp_path / "block")
    kv = SQLiteStore(tmp_path / "kv.db")
    graveler = Graveler(kv, block, CommittedStore(block))
    repo = graveler.create_repository("groups", "local://groups")
    graveler.create_branch(repo, "other", "main")
    return graveler, block, kv, repo


async def _upload(
    writes: WriteGroups,
    graveler: Graveler,
    repo: Repository,
    branch: str,
    path: str,
    data: bytes,
    *,
    if_absent: bool = False,
) -> tuple[str, Entry | Exception]:
    address, writer = graveler.block.new_object_writer(repo.storage_namespace)
    stored = []

    def produce() -> BlockWriter:
        writer.write(data)
        stored.append(writer.finish())
        return writer

    def link() -> Entry:
        entry = Entry.stored(address, stored[0])
        graveler.set(repo, branch, path, encode_entry(entry), if_absent=if_absent)
        return entry

    try:
        return address, await writes.run(link, produce=produce)
    except (NotFoundError, PreconditionFailedError) as err:
        return address, err


def test_each_upload_of_a_group_gets_its_own_outcome(tmp_path: Path) -> None:
    graveler, block, kv, repo = _engine(tmp_path)
    if not block.syncs_in_groups:
        pytest.skip("this system has no syncfs: uploads are made durable one by one")
    writes = WriteGroups(kv, block)
    uploads = [("main", f"m/{i}", False) for i in range(40)]
    uploads += [("other", f"o/{i}", False) for i in range(40)]
    uploads += [("missing", f"x/{i}", False) for i in range(5)]
    uploads += [("main", "same", False) for _ in range(5)]
    uploads += [("other", "first-only", True) for _ in range(5)]

    async def run() -> list[tuple[str, Entry | Exception]]:
        return await asyncio.gather(
            *(
                _upload(writes, graveler, repo, branch, path, f"{n} {branch}:{path}".encode(), if_absent=once)
                for n, (branch, path, once) in enumerate(uploads)
            )
        )

    outcomes = asyncio.run(run())
    created_once = []
    for n, ((branch, path, once), (address, outcome)) in enumerate(zip(uploads, outcomes, strict=True)):
        uri = f"{repo.storage_namespace}/{address}"
        if branch == "missing" or isinstance(outcome, PreconditionFailedError):
            assert isinstance(outcome, NotFoundError if branch == "missing" else PreconditionFailedError)
            assert not block.exists(uri), "bytes of a refused upload must be removed"
            continue
        assert isinstance(outcome, Entry), outcome
        assert block.get_bytes(uri) == f"{n} {branch}:{path}".encode()
        staged = graveler.get(repo, graveler.resolve(repo, branch), path)
        assert staged is not None
        if once:
            created_once.append(outcome)
        if path != "same":
            assert decode_entry(staged) == outcome
    # Of the conditional uploads of one path exactly one won.
    assert len(created_once) == 1
    # Uploads of one path land in the order they arrived: the last one wins.
    staged = graveler.get(repo, graveler.resolve(repo, "main"), "same")
    last_same = max(n for n, (_, path, _) in enumerate(uploads) if path == "same")
    assert staged is not None and decode_entry(staged) == outcomes[last_same][1]


def test_a_failed_write_is_undone_alone(tmp_path: Path) -> None:
    graveler, block, kv, repo = _engine(tmp_path)
    writes = WriteGroups(kv, block)

    def create_twice(name: str) -> str:
        # The first write lands, then the operation fails: its first write must go too.
        graveler.create_branch(repo, name, "main")
        return graveler.create_branch(repo, name, "main")

    async def run() -> list[object]:
        return await asyncio.gather(
            writes.run(functools.partial(graveler.create_branch, repo, "kept-1", "main")),
            writes.run(functools.partial(create_twice, "undone")),
            writes.run(functools.partial(graveler.create_branch, repo, "kept-2", "main")),
            return_exceptions=True,
        )

    first, failed, last = asyncio.run(run())
    assert isinstance(failed, AlreadyExistsError)
    head = graveler.get_branch(repo, "main").commit_id
    assert first == last == head
    assert graveler.get_branch(repo, "kept-1").commit_id == head
    assert graveler.get_branch(repo, "kept-2").commit_id == head
    with pytest.raises(NotFoundError):
        graveler.get_branch(repo, "undone")


def test_a_store_that_cannot_group_writes_is_refused(tmp_path: Path) -> None:
    class NoGroups(SQLiteStore):
        groups_writes = False

    with pytest.raises(ValueError, match="cannot group writes"):
        WriteGroups(NoGroups(tmp_path / "kv.db"), MemAdapter())


def test_an_upload_whose_object_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    graveler, block, kv, repo = _engine(tmp_path)
    if not block.syncs_in_groups:
        pytest.skip("this system has no syncfs: uploads are made durable one by one")
    writes = WriteGroups(kv, block)
    ran: list[str] = []

    def disk_full() -> BlockWriter:
        raise OSError(28, "No space left on device")

    def never() -> str:
        ran.append("staged")
        return "staged"

    async def run() -> list[object]:
        return await asyncio.gather(
            writes.run(never, produce=disk_full),
            _upload(writes, graveler, repo, "main", "fine", b"fine"),
            return_exceptions=True,
        )

    failed, (address, fine) = asyncio.run(run())
    assert isinstance(failed, OSError) and failed.errno == 28
    assert ran == []  # nothing is staged for an object that was never written
    assert isinstance(fine, Entry)
    assert block.get_bytes(f"{repo.storage_namespace}/{address}") == b"fine"
