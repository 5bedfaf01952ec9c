"""Shared pieces of the multi-server system tests: clients, bookkeeping, reads.

Each request goes through :func:`send`, which retries 429 (busy) answers and records
any 5xx or transport error as a failure of the test.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server

RETRIES = 50


def client(server: Server) -> httpx.Client:
    """A basic-auth HTTP client of one server."""
    return httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=120)


@contextmanager
def clients_of(servers: Sequence[Server]) -> Iterator[list[httpx.Client]]:
    """One client per server, closed when the block ends."""
    clients = [client(s) for s in servers]
    try:
        yield clients
    finally:
        for c in clients:
            c.close()


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
    response: httpx.Response | None = None
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


def commit_log(http: httpx.Client, repo: str, ref: str) -> list[dict[str, Any]]:
    """Every commit reachable from ``ref`` (the API's Commit objects), newest first."""
    commits: list[dict[str, Any]] = []
    after = ""
    while True:
        response = http.get(
            f"/repositories/{repo}/refs/{ref}/commits", params={"after": after, "amount": 1000}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        commits += body["results"]
        if not body["pagination"]["has_more"]:
            return commits
        after = body["pagination"]["next_offset"]


def history(http: httpx.Client, repo: str, ref: str) -> list[str]:
    """Ids of every commit reachable from ``ref``."""
    return [c["id"] for c in commit_log(http, repo, ref)]


@dataclass(frozen=True)
class Upload:
    """An acknowledged upload."""

    data: bytes
    checksum: str
    acked: float  # monotonic time the 201 arrived
    sent: float = 0.0  # monotonic time the request left
    branch: str = "main"


def put_object(log: Log, http: httpx.Client, repo: str, branch: str, path: str, data: bytes) -> Upload | None:
    """Upload ``data`` to ``path`` of ``branch``; the acknowledged upload, or None (failure logged)."""
    sent = time.monotonic()
    response = send(
        log,
        f"upload {branch}:{path}",
        lambda: http.post(
            f"/repositories/{repo}/branches/{branch}/objects",
            params={"path": path},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        ),
    )
    if response is None:
        return None
    if response.status_code != 201:
        log.fail(f"upload {branch}:{path}", response)
        return None
    acked = time.monotonic()
    stats = response.json()
    if stats["size_bytes"] != len(data) or stats["path"] != path:
        log.fail(f"upload {branch}:{path} answered {stats}")
        return None
    return Upload(data, stats["checksum"], acked, sent, branch)


@dataclass(frozen=True)
class Commit:
    """An acknowledged commit."""

    commit_id: str
    sent: float  # monotonic time the request left
    acked: float = 0.0  # monotonic time the 201 arrived


@dataclass
class BranchRace:
    """Successful creations and deletions of each raced branch name."""

    names: list[str]
    created: dict[str, int] = field(init=False)
    deleted: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.created = dict.fromkeys(self.names, 0)
        self.deleted = dict.fromkeys(self.names, 0)


def branch_racer(
    log: Log,
    race: BranchRace,
    servers: Sequence[Server],
    repo: str,
    index: int,
    operations: int,
    source: str = "main",
) -> None:
    """Create and delete randomly chosen names of ``race``, alternating between servers."""
    branches = f"/repositories/{repo}/branches"
    with clients_of(servers) as clients:
        rng = random.Random(1000 + index)
        for n in range(operations):
            name = rng.choice(race.names)
            http = clients[(index + n) % len(clients)]
            if (index + n) % 2:
                response = send(
                    log,
                    f"create {name}",
                    lambda http=http, name=name: http.post(branches, json={"name": name, "source": source}),
                )
                if response is None:
                    continue
                if response.status_code == 201:
                    with log.lock:
                        race.created[name] += 1
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
                        race.deleted[name] += 1
                elif response.status_code != 404:
                    log.fail(f"delete {name}", response)


def check_branch_race(race: BranchRace, servers: Sequence[Server], repo: str) -> list[str]:
    """Check the outcome of a creation/deletion race; the names of the surviving branches.

    Each name's successful creations and deletions alternate (a creation succeeds only
    on an absent name, a deletion only on a present one), so a branch exists at the end
    exactly when it was created once more than it was deleted; every server and the
    listing agree; and every surviving branch can be written and committed.
    """
    branches = f"/repositories/{repo}/branches"
    survivors: list[str] = []
    with clients_of(servers) as clients:
        first, second = clients[0], clients[-1]
        listed = {b["id"] for b in first.get(branches, params={"amount": 1000}).json()["results"]}
        for name in race.names:
            balance = race.created[name] - race.deleted[name]
            assert balance in (0, 1), (name, race.created[name], race.deleted[name])
            for http in clients:
                status = http.get(f"{branches}/{name}").status_code
                assert status == (200 if balance else 404), (name, status)
            assert (name in listed) == bool(balance), name
            if balance:
                survivors.append(name)
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
        assert sum(race.created.values()) > 0 and sum(race.deleted.values()) > 0
    return survivors
