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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, free_port

WRITERS = 8
OBJECTS_PER_WRITER = 200
COMMITTERS = 2
BRANCH_NAMES = 4
RACERS = 6
RACE_OPERATIONS = 60
RETRIES = 50


@pytest.fixture()
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two servers on one data directory."""
    data_dir = tmp_path / "shared"
    first = Server(data_dir, free_port()).start()
    try:
        second = Server(data_dir, free_port()).start()
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def client(server: Server) -> httpx.Client:
    """A basic-auth HTTP client of one server."""
    return httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=120)


@dataclass
class Log:
    """What the threads saw, shared between them."""

    failures: list[str] = field(default_factory=list)
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, what: str, response: httpx.Response | None = None, err: Exception | None = None) -> None:
        detail = f"{response.status_code} {response.text[:300]}" if response is not None else repr(err)
        with self.lock:
            self.failures.append(f"{what}: {detail}")


def send(log: Log, what: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    """Send a request, retrying while the server answers 429; None after a failure."""
    for _ in range(RETRIES):
        try:
            response = call()
        except httpx.HTTPError as err:
            log.fail(what, err=err)
            return None
        if response.status_code != 429:
            if response.status_code >= 500:
                log.fail(what, response)
                return None
            return response
        with log.lock:
            log.busy += 1
        time.sleep(0.01)
    log.fail(f"{what} (still busy after {RETRIES} tries)", response)
    return None


def create_repository(http: httpx.Client) -> str:
    name = f"repo-{uuid.uuid4().hex[:12]}"
    response = http.post(
        "/repositories", json={"name": name, "storage_namespace": f"local://{name}"}
    )
    assert response.status_code == 201, response.text
    return name


def listing(http: httpx.Client, repo: str, ref: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every object of ``ref`` under ``prefix``: path -> ObjectStats."""
    found: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        response = http.get(
            f"/repositories/{repo}/refs/{ref}/objects/ls",
            params={"prefix": prefix, "after": after, "amount": 1000},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["results"]:
            assert item["path"] not in found, f"{item['path']} listed twice"
            found[item["path"]] = item
        if not body["pagination"]["has_more"]:
            return found
        after = body["pagination"]["next_offset"]


def history(http: httpx.Client, repo: str, ref: str) -> list[str]:
    """Ids of every commit reachable from ``ref``."""
    ids: list[str] = []
    after = ""
    while True:
        response = http.get(
            f"/repositories/{repo}/refs/{ref}/commits", params={"after": after, "amount": 1000}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [c["id"] for c in body["results"]]
        if not body["pagination"]["has_more"]:
            return ids
        after = body["pagination"]["next_offset"]


@dataclass(frozen=True)
class Upload:
    """An acknowledged upload."""

    data: bytes
    checksum: str
    acked: float  # monotonic time the 201 arrived


@dataclass(frozen=True)
class Commit:
    """An acknowledged commit."""

    commit_id: str
    sent: float  # monotonic time the request left


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
        repo = create_repository(http)
    objects = f"/repositories/{repo}/branches/main/objects"
    writers_done = threading.Event()

    def writer(index: int) -> None:
        clients = [client(s) for s in servers]
        rng = random.Random(index)
        try:
            for j in range(OBJECTS_PER_WRITER):
                path = f"data/w{index}/obj-{j:04d}"
                data = f"writer {index} object {j} {uuid.uuid4().hex}\n".encode() * rng.randint(1, 40)
                http = clients[(index + j) % 2]
                response = send(
                    log,
                    f"upload {path}",
                    lambda http=http, path=path, data=data: http.post(
                        objects,
                        params={"path": path},
                        content=data,
                        headers={"Content-Type": "application/octet-stream"},
                    ),
                )
                if response is None:
                    continue
                if response.status_code != 201:
                    log.fail(f"upload {path}", response)
                    continue
                acked = time.monotonic()
                stats = response.json()
                if stats["size_bytes"] != len(data) or stats["path"] != path:
                    log.fail(f"upload {path} answered {stats}")
                with log.lock:
                    uploads[path] = Upload(data, stats["checksum"], acked)
        finally:
            for c in clients:
                c.close()

    def committer(index: int) -> None:
        clients = [client(s) for s in servers]
        n = 0
        try:
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
        finally:
            for c in clients:
                c.close()

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
    names = [f"race-{k}" for k in range(BRANCH_NAMES)]
    created = dict.fromkeys(names, 0)
    deleted = dict.fromkeys(names, 0)
    with client(servers[0]) as http:
        repo = create_repository(http)
    branches = f"/repositories/{repo}/branches"

    def racer(index: int) -> None:
        clients = [client(s) for s in servers]
        rng = random.Random(1000 + index)
        try:
            for n in range(RACE_OPERATIONS):
                name = rng.choice(names)
                http = clients[(index + n) % 2]
                if (index + n) % 2:
                    response = send(
                        log,
                        f"create {name}",
                        lambda http=http, name=name: http.post(
                            branches, json={"name": name, "source": "main"}
                        ),
                    )
                    if response is None:
                        continue
                    if response.status_code == 201:
                        with log.lock:
                            created[name] += 1
                    elif response.status_code != 409:
                        log.fail(f"create {name}", response)
                else:
                    response = send(
                        log, f"delete {name}", lambda http=http, name=name: http.delete(f"{branches}/{name}")
                    )
                    if response is None:
                        continue
                    if response.status_code == 204:
                        with log.lock:
                            deleted[name] += 1
                    elif response.status_code != 404:
                        log.fail(f"delete {name}", response)
        finally:
            for c in clients:
                c.close()

    with ThreadPoolExecutor(RACERS) as pool:
        for future in [pool.submit(racer, i) for i in range(RACERS)]:
            future.result()
    assert not log.failures, "\n".join(log.failures[:20])
    print(f"created {created}, deleted {deleted}, {log.busy} answers 429")

    with client(servers[0]) as first, client(servers[1]) as second:
        listed = {b["id"] for b in first.get(branches, params={"amount": 1000}).json()["results"]}
        for name in names:
            balance = created[name] - deleted[name]
            assert balance in (0, 1), (name, created[name], deleted[name])
            for http in (first, second):
                status = http.get(f"{branches}/{name}").status_code
                assert status == (200 if balance else 404), (name, status)
            assert (name in listed) == bool(balance), name
            if balance:
                put = second.post(
                    f"{branches}/{name}/objects",
                    params={"path": "after-race"},
                    content=name.encode(),
                    headers={"Content-Type": "application/octet-stream"},
                )
                assert put.status_code == 201, put.text
                commit = first.post(f"{branches}/{name}/commits", json={"message": "after the race"})
                assert commit.status_code == 201, commit.text
                body = second.get(f"/repositories/{repo}/refs/{name}/objects", params={"path": "after-race"})
                assert body.content == name.encode()
        assert sum(created.values()) > 0 and sum(deleted.values()) > 0
