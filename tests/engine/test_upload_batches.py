"""Small uploads staged in groups: each request gets its own outcome, as if staged alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from limnos.api.upload_batches import UploadBatcher
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.catalog.catalog import Catalog, Link
from limnos.catalog.entry import Entry, decode_entry
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import NotFoundError
from limnos.graveler.model import Repository
from limnos.kv.sqlite import SQLiteStore


def _catalog(tmp_path: Path) -> tuple[Catalog, LocalAdapter, Repository]:
    block = LocalAdapter(tmp_path / "block")
    if not block.syncs_in_groups:
        pytest.skip("this system has no syncfs: uploads are staged one by one")
    graveler = Graveler(SQLiteStore(tmp_path / "kv.db"), block, CommittedStore(block))
    catalog = Catalog(graveler, block)
    repo = catalog.create_repository("batches", "local://batches")
    graveler.create_branch(repo, "other", "main")
    return catalog, block, repo


async def _upload(
    batcher: UploadBatcher, catalog: Catalog, repo: Repository, branch: str, path: str, data: bytes
) -> tuple[str, Entry | Exception]:
    address, writer = catalog.writer(repo)
    writer.write(data)
    stored = writer.finish()
    try:
        return address, await batcher.stage(repo, branch, Link(path, address, stored, "text/plain"), writer)
    except NotFoundError as err:
        return address, err


def test_each_upload_of_a_group_gets_its_own_outcome(tmp_path: Path) -> None:
    catalog, block, repo = _catalog(tmp_path)
    batcher = UploadBatcher(catalog, block)
    uploads = [("main", f"m/{i}") for i in range(40)]
    uploads += [("other", f"o/{i}") for i in range(40)]
    uploads += [("missing", f"x/{i}") for i in range(5)]
    uploads += [("main", "same") for _ in range(5)]

    async def run() -> list[tuple[str, Entry | Exception]]:
        return await asyncio.gather(
            *(
                _upload(batcher, catalog, repo, branch, path, f"{n} {branch}:{path}".encode())
                for n, (branch, path) in enumerate(uploads)
            )
        )

    outcomes = asyncio.run(run())
    graveler = catalog.graveler
    for n, ((branch, path), (address, outcome)) in enumerate(zip(uploads, outcomes, strict=True)):
        uri = f"{repo.storage_namespace}/{address}"
        if branch == "missing":
            assert isinstance(outcome, NotFoundError)
            assert not block.exists(uri), "bytes of a refused upload must be removed"
            continue
        assert isinstance(outcome, Entry)
        assert block.get_bytes(uri) == f"{n} {branch}:{path}".encode()
        staged = graveler.get(repo, graveler.resolve(repo, branch), path)
        assert staged is not None
        if path != "same":
            assert decode_entry(staged) == outcome
    # Uploads of one path land in the order they arrived: the last one wins.
    last = outcomes[-1][1]
    staged = graveler.get(repo, graveler.resolve(repo, "main"), "same")
    assert staged is not None and decode_entry(staged) == last


def test_a_blockstore_without_group_sync_is_refused(tmp_path: Path) -> None:
    block = MemAdapter()
    catalog = Catalog(Graveler(SQLiteStore(tmp_path / "kv.db"), block, CommittedStore(block)), block)
    with pytest.raises(ValueError, match="cannot sync objects in groups"):
        UploadBatcher(catalog, block)
