"""Conditional writes (`If-None-Match: *`) are atomic: of racing creators, one wins."""

from __future__ import annotations

import threading
from pathlib import Path

from limnos.block.mem import MemAdapter
from limnos.graveler.committed import CommittedStore
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import PreconditionFailedError
from limnos.kv.sqlite import SQLiteStore

WRITERS = 8
ROUNDS = 60


def test_racing_creators_of_one_path_have_exactly_one_winner(tmp_path: Path) -> None:
    block = MemAdapter()
    g = Graveler(SQLiteStore(tmp_path / "kv.db"), block, CommittedStore(block))
    repo = g.create_repository("race", "mem://bucket/race")
    g.set(repo, "main", "deleted", b"old")
    g.commit(repo, "main", committer="t", message="m")
    g.delete(repo, "main", "deleted")  # a staged deletion: the path may be created again
    for round_number in range(ROUNDS):
        key = "deleted" if round_number == 0 else f"path-{round_number}"
        barrier = threading.Barrier(WRITERS)
        winners: list[int] = []

        def create(
            n: int,
            key: str = key,
            barrier: threading.Barrier = barrier,
            winners: list[int] = winners,
        ) -> None:
            barrier.wait()
            try:
                g.set(repo, "main", key, f"writer {n}".encode(), if_absent=True)
            except PreconditionFailedError:
                return
            winners.append(n)

        threads = [threading.Thread(target=create, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1, (key, winners)
        ref = g.resolve(repo, "main")
        assert g.get(repo, ref, key) == f"writer {winners[0]}".encode()
