"""Two ``limnos run`` servers (two workers each) sharing one data directory, under load.

The servers share the SQLite metadata file and the local blockstore, so every request
may land in a different process. The tests prove that:

* no acknowledged upload is lost while commits race the uploads and each other: each
  object answered 201 is, byte-exact, on the branch afterwards (listing, statObject,
  getObject through both servers) and in the final commit; every acknowledged commit is
  in the branch's history; and every commit holds each upload acknowledged before that
  commit was requested;
* branch creations racing deletions of the same names keep each name's history
  consistent: successful creations and deletions alternate, so their difference is 1
  exactly for the branches that exist at the end, and surviving branches work.

No server may answer 5xx. Commits may answer 400 "no changes" and any request may
answer 429 (busy: the client retries).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import Server, create_repository, free_port, started
from helpers import (
    BranchRace,
    Commit,
    Log,
    Upload,
    branch_racer,
    check_branch_race,
    client,
    clients_of,
    history,
    listing,
    put_object,
    send,
)

WRITERS = 8
OBJECTS_PER_WRITER = 200
COMMITTERS = 2
BRANCH_NAMES = 4
RACERS = 6
RACE_OPERATIONS = 60


@pytest.fixture()
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two servers on one data directory."""
    data_dir = tmp_path / "shared"
    first, second = Server(data_dir, free_port()), Server(data_dir, free_port())
    with started(first, second):
        yield first, second


def test_uploads_and_commits_through_two_servers_lose_nothing(
    servers: tuple[Server, Server],
) -> None:
    """8 writers x 200 uploads on one branch through both servers, with commits racing them.

    Every 201 upload must be readable byte-exact on the branch and end up in a commit;
    every commit must contain every upload acknowledged before it was requested.
    """
    log = Log()
    uploads: dict[str, Upload] = {}
    commits: list[Commit] = []
    with client(servers[0]) as http:
        repo = create_repository(http, servers[0])
    writers_done = threading.Event()

    def writer(index: int) -> None:
        with clients_of(servers) as clients:
            rng = random.Random(index)
            for j in range(OBJECTS_PER_WRITER):
                path = f"data/w{index}/obj-{j:04d}"
                data = f"writer {index} object {j} {uuid.uuid4().hex}\n".encode() * rng.randint(1, 40)
                done = put_object(log, clients[(index + j) % 2], repo, "main", path, data)
                if done is not None:
                    with log.lock:
                        uploads[path] = done

    def committer(index: int) -> None:
        with clients_of(servers) as clients:
            n = 0
            while not writers_done.is_set():
                n += 1
                http = clients[(index + n) % 2]
                sent = time.monotonic()
                response = send(
                    log,
                    f"commit {index}.{n}",
                    lambda http=http, n=n: http.post(
                        f"/repositories/{repo}/branches/main/commits",
                        json={"message": f"committer {index} commit {n}"},
                    ),
                )
                if response is None:
                    continue
                if response.status_code == 201:
                    with log.lock:
                        commits.append(Commit(response.json()["id"], sent))
                elif not (response.status_code == 400 and "no changes" in response.text):
                    log.fail(f"commit {index}.{n}", response)
                time.sleep(0.02)

    with ThreadPoolExecutor(WRITERS + COMMITTERS) as pool:
        committing = [pool.submit(committer, i) for i in range(COMMITTERS)]
        writing = [pool.submit(writer, i) for i in range(WRITERS)]
        for future in writing:
            future.result()
        writers_done.set()
        for future in committing:
            future.result()

    assert not log.failures, "\n".join(log.failures[:20])
    print(f"{len(uploads)} uploads, {len(commits)} commits, {log.busy} answers 429")
    assert len(uploads) == WRITERS * OBJECTS_PER_WRITER
    assert commits, "no commit landed while the writers ran"

    with client(servers[0]) as first, client(servers[1]) as second:
        # Everything acknowledged is on the branch (committed or staged), byte-exact.
        listed = listing(first, repo, "main", "data/")
        missing = sorted(set(uploads) - set(listed))
        assert not missing, f"{len(missing)} acknowledged uploads lost, e.g. {missing[:5]}"
        assert set(listed) == set(uploads)
        for n, (path, upload) in enumerate(sorted(uploads.items())):
            http = (first, second)[n % 2]
            assert listed[path]["checksum"] == upload.checksum, path
            assert listed[path]["size_bytes"] == len(upload.data), path
            stat = http.get(f"/repositories/{repo}/refs/main/objects/stat", params={"path": path})
            assert stat.status_code == 200, (path, stat.text)
            assert stat.json()["checksum"] == upload.checksum, path
            body = http.get(f"/repositories/{repo}/refs/main/objects", params={"path": path})
            assert body.status_code == 200, (path, body.text)
            assert body.content == upload.data, path

        # Every acknowledged commit is in the branch's history ...
        reachable = set(history(second, repo, "main"))
        missing = [c.commit_id for c in commits if c.commit_id not in reachable]
        assert not missing, f"acknowledged commits lost from history: {missing}"
        # ... and holds every upload acknowledged before it was requested.
        for commit in commits:
            content = listing(first, repo, commit.commit_id, "data/")
            for path, upload in uploads.items():
                if upload.acked < commit.sent:
                    assert path in content, f"{path} acknowledged before commit {commit.commit_id}"
                    assert content[path]["checksum"] == upload.checksum, (path, commit.commit_id)

        # A last commit takes in whatever is still staged.
        final = first.post(f"/repositories/{repo}/branches/main/commits", json={"message": "final"})
        assert final.status_code in (201, 400), final.text
        head = first.get(f"/repositories/{repo}/branches/main").json()["commit_id"]
        committed = listing(second, repo, head, "data/")
        missing = sorted(set(uploads) - set(committed))
        assert not missing, f"{len(missing)} acknowledged uploads not committed, e.g. {missing[:5]}"
        assert set(committed) == set(uploads)
        for n, (path, upload) in enumerate(sorted(uploads.items())):
            if n % 10 == 0:  # the listing checked every checksum; read a sample again
                body = second.get(f"/repositories/{repo}/refs/{head}/objects", params={"path": path})
                assert body.content == upload.data, path
            assert committed[path]["checksum"] == upload.checksum, path


def test_branch_creations_race_deletions(servers: tuple[Server, Server]) -> None:
    """Creations and deletions of the same few branch names through both servers.

    Each name's successful creations and deletions must alternate (a creation succeeds
    only on an absent name, a deletion only on a present one), so at the end a branch
    exists exactly when it was created once more than it was deleted; the listing
    agrees; and every surviving branch can be written and committed.
    """
    log = Log()
    race = BranchRace([f"race-{k}" for k in range(BRANCH_NAMES)])
    with client(servers[0]) as http:
        repo = create_repository(http, servers[0])

    with ThreadPoolExecutor(RACERS) as pool:
        racing = [
            pool.submit(branch_racer, log, race, servers, repo, i, RACE_OPERATIONS) for i in range(RACERS)
        ]
        for future in racing:
            future.result()
    assert not log.failures, "\n".join(log.failures[:20])
    print(f"created {race.created}, deleted {race.deleted}, {log.busy} answers 429")
    check_branch_race(race, servers, repo)
