"""Crash safety: SIGKILL a loaded server, restart it on the same data, lose nothing acknowledged.

A ``limnos run`` server (two workers) takes uploads on two branches from several
threads while other threads commit both branches. At a random moment the whole process
group is killed with SIGKILL; a new server starts on the same data directory with no
repair step. Three rounds. After each restart:

* the server starts (no manual repair);
* every commit acknowledged before the kill is reachable from its branch head (the
  branch is at its last acknowledged commit, or at a commit that was in flight and
  landed on top of it), and holds every upload acknowledged before it was requested;
* every upload acknowledged before the kill (in any round) reads back byte-exact from
  its branch, whether committed or still staged;
* nothing half-written shows: every object a branch lists is one that was sent, with
  exactly the bytes that were sent (uploads in flight at the kill may be there or not);
* the restarted server takes uploads and commits again.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, free_port

ROUNDS = 3
BRANCHES = ("main", "side")
WRITERS_PER_BRANCH = 3
#: The kill comes this many seconds after the load starts (drawn at random).
KILL_AFTER = (0.3, 2.5)


def client(server: Server) -> httpx.Client:
    """A basic-auth HTTP client of one server."""
    return httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=120)


def listing(http: httpx.Client, repo: str, ref: str) -> dict[str, dict[str, Any]]:
    """Every object of ``ref``: path -> ObjectStats."""
    found: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        response = http.get(
            f"/repositories/{repo}/refs/{ref}/objects/ls", params={"after": after, "amount": 1000}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["results"]:
            found[item["path"]] = item
        if not body["pagination"]["has_more"]:
            return found
        after = body["pagination"]["next_offset"]


def history(http: httpx.Client, repo: str, ref: str) -> set[str]:
    """Ids of every commit reachable from ``ref``."""
    ids: set[str] = set()
    after = ""
    while True:
        response = http.get(
            f"/repositories/{repo}/refs/{ref}/commits", params={"after": after, "amount": 1000}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        ids.update(c["id"] for c in body["results"])
        if not body["pagination"]["has_more"]:
            return ids
        after = body["pagination"]["next_offset"]


@dataclass(frozen=True)
class Upload:
    """An acknowledged upload."""

    branch: str
    data: bytes
    checksum: str
    acked: float  # monotonic time the 201 arrived


@dataclass(frozen=True)
class Commit:
    """An acknowledged commit."""

    branch: str
    commit_id: str
    sent: float  # monotonic time the request left


@dataclass
class Record:
    """What the clients sent and what the server acknowledged, across rounds."""

    sent: dict[str, bytes] = field(default_factory=dict)  # every path ever sent
    uploads: dict[str, Upload] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_round(server: Server, repo: str, round_no: int, record: Record, rng: random.Random) -> None:
    """Load the server from several threads and SIGKILL it at a random moment."""
    killing = threading.Event()

    def call(what: str, request: Callable[[], httpx.Response]) -> httpx.Response | None:
        """The response, or None once the server is gone (errors before the kill fail)."""
        try:
            response = request()
        except httpx.HTTPError as err:
            if not killing.is_set():
                with record.lock:
                    record.failures.append(f"{what}: {err!r}")
            return None
        if response.status_code >= 500 and not killing.is_set():
            with record.lock:
                record.failures.append(f"{what}: {response.status_code} {response.text[:300]}")
        return response

    def writer(branch: str, index: int) -> None:
        with client(server) as http:
            j = 0
            while not killing.is_set():
                j += 1
                path = f"r{round_no}/{branch}/w{index}/obj-{j:05d}"
                data = f"{path} {uuid.uuid4().hex}\n".encode() * (1 + j % 30)
                with record.lock:
                    record.sent[path] = data
                response = call(
                    f"upload {path}",
                    lambda path=path, data=data: http.post(
                        f"/repositories/{repo}/branches/{branch}/objects",
                        params={"path": path},
                        content=data,
                        headers={"Content-Type": "application/octet-stream"},
                    ),
                )
                if response is None:
                    return
                if response.status_code == 201:
                    acked = time.monotonic()
                    with record.lock:
                        record.uploads[path] = Upload(branch, data, response.json()["checksum"], acked)
                elif response.status_code != 429 and not killing.is_set():
                    with record.lock:
                        record.failures.append(f"upload {path}: {response.status_code} {response.text}")

    def committer(branch: str) -> None:
        with client(server) as http:
            n = 0
            while not killing.is_set():
                n += 1
                sent = time.monotonic()
                response = call(
                    f"commit {branch} {n}",
                    lambda n=n: http.post(
                        f"/repositories/{repo}/branches/{branch}/commits",
                        json={"message": f"round {round_no} commit {n}"},
                    ),
                )
                if response is None:
                    return
                if response.status_code == 201:
                    with record.lock:
                        record.commits.append(Commit(branch, response.json()["id"], sent))
                elif response.status_code not in (400, 429) and not killing.is_set():
                    with record.lock:
                        record.failures.append(f"commit {branch}: {response.status_code} {response.text}")
                time.sleep(0.03)

    with ThreadPoolExecutor(len(BRANCHES) * (WRITERS_PER_BRANCH + 1)) as pool:
        futures = [pool.submit(committer, b) for b in BRANCHES]
        futures += [pool.submit(writer, b, i) for b in BRANCHES for i in range(WRITERS_PER_BRANCH)]
        time.sleep(rng.uniform(*KILL_AFTER))
        killing.set()
        server.kill()
        for future in futures:
            future.result()


def verify(server: Server, repo: str, record: Record) -> None:
    """The state after a restart keeps everything acknowledged, and nothing torn."""
    with client(server) as http:
        for branch in BRANCHES:
            response = http.get(f"/repositories/{repo}/branches/{branch}")
            assert response.status_code == 200, response.text
            head = response.json()["commit_id"]
            reachable = history(http, repo, head)
            acked = [c for c in record.commits if c.branch == branch]
            lost = [c.commit_id for c in acked if c.commit_id not in reachable]
            assert not lost, f"{branch} at {head} lost acknowledged commits {lost}"

            listed = listing(http, repo, branch)
            expected = {p: u for p, u in record.uploads.items() if u.branch == branch}
            missing = sorted(set(expected) - set(listed))
            assert not missing, f"{branch} lost acknowledged uploads {missing[:10]}"
            for path, stats in listed.items():
                # Acknowledged or in flight at the kill: either way exactly what was sent.
                assert path in record.sent, f"{branch} lists {path}, never sent"
                body = http.get(f"/repositories/{repo}/refs/{branch}/objects", params={"path": path})
                assert body.status_code == 200, (path, body.text)
                assert body.content == record.sent[path], f"{branch}:{path} is not what was sent"
                if path in expected:
                    assert stats["checksum"] == expected[path].checksum, path

        # Each acknowledged commit holds the uploads acknowledged before it was asked for.
        for commit in record.commits:
            content = listing(http, repo, commit.commit_id)
            for path, upload in record.uploads.items():
                if upload.branch == commit.branch and upload.acked < commit.sent:
                    assert path in content, f"{path} acknowledged before {commit.commit_id}"
                    assert content[path]["checksum"] == upload.checksum, path

        # The restarted server works.
        for branch in BRANCHES:
            path, data = f"alive/{uuid.uuid4().hex}", b"alive"
            record.sent[path] = data
            put = http.post(
                f"/repositories/{repo}/branches/{branch}/objects",
                params={"path": path},
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert put.status_code == 201, put.text
            record.uploads[path] = Upload(branch, data, put.json()["checksum"], time.monotonic())
            commit = http.post(
                f"/repositories/{repo}/branches/{branch}/commits", json={"message": "after restart"}
            )
            assert commit.status_code == 201, commit.text
            record.commits.append(Commit(branch, commit.json()["id"], time.monotonic()))


def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Three rounds of load, SIGKILL at a random moment, restart on the same data, verify."""
    seed = random.randrange(2**32)
    print(f"crash test seed {seed}")
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    record = Record()
    server = Server(data_dir, free_port()).start()
    try:
        with client(server) as http:
            repo = f"crash-{uuid.uuid4().hex[:8]}"
            response = http.post("/repositories", json={"name": repo, "storage_namespace": f"local://{repo}"})
            assert response.status_code == 201, response.text
            response = http.post(f"/repositories/{repo}/branches", json={"name": "side", "source": "main"})
            assert response.status_code == 201, response.text
        for round_no in range(ROUNDS):
            before = (len(record.uploads), len(record.commits))
            run_round(server, repo, round_no, record, rng)
            assert not record.failures, "\n".join(record.failures[:20])
            server = Server(data_dir, free_port()).start()
            print(
                f"round {round_no}: {len(record.uploads) - before[0]} uploads and "
                f"{len(record.commits) - before[1]} commits acknowledged before the kill"
            )
            verify(server, repo, record)
    finally:
        server.stop()
