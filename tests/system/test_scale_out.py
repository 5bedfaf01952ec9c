"""Two ``limnos run`` servers (two workers each) on ONE PostgreSQL database and ONE S3 bucket.

Each server has its own data directory (caches only); metadata and objects are shared,
so the servers are two replicas of one installation. Every thread alternates its
requests between the two servers. At the same time:

* writers upload to ``alpha`` and ``beta`` (several per branch, each under its own
  prefix) while one committer per branch commits whatever is staged;
* ``gamma`` takes batches of uploads, each followed by a commit, while ``alpha`` is
  merged into it over and over; ``gamma`` and ``beta`` are merged into ``main``, which
  takes nothing else. Prefixes are disjoint, so no merge conflicts: a merge may only
  be refused because there is nothing to merge or the destination has staged changes;
* racers create and delete the same few branch names (from ``main``).

Afterwards:

* every acknowledged upload reads back byte-exact on its branch through both servers,
  and each branch lists exactly the uploads made to it;
* the first-parent history of each branch is exactly its acknowledged commits and
  merges, in the order they were acknowledged;
* each acknowledged commit holds every upload to its branch acknowledged before the
  commit was requested, keeps everything of its parent, and adds only uploads to its
  branch sent before the commit was acknowledged; each merge commit merges an
  acknowledged state of the source (its second parent is a commit acknowledged on the
  source), is exactly the union of its parents, and holds at least the source's last
  commit acknowledged before the merge was requested; nothing in any commit was never
  uploaded, and every listed checksum is the one the upload answered;
* after final commits and merges ``main`` holds every upload, byte-exact;
* branch creations and deletions alternate per name, the final branch list agrees,
  and each surviving raced branch started from a commit of ``main``.

No server may answer 5xx (nor log an unexpected error). Requests answered 429 (busy)
are retried.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Server, create_repository, free_port, postgres_s3_backend, started
from helpers import (
    BranchRace,
    Commit,
    Log,
    Upload,
    branch_racer,
    check_branch_race,
    client,
    clients_of,
    commit_log,
    listing,
    put_object,
    send,
)

WRITTEN = ("alpha", "beta")  # several writers and a committer each
WRITERS_PER_BRANCH = 3
OBJECTS_PER_WRITER = 50
GAMMA = "gamma"  # batches of uploads, each batch committed; alpha merged into it
GAMMA_BATCHES = 20
GAMMA_BATCH = 5
GAMMA_CLEAN_SECONDS = 0.5  # at most, after each batch: see gamma_batcher
MERGES = (("alpha", GAMMA), (GAMMA, "main"), ("beta", "main"))
MIN_MERGES = 3  # successful merges each flow must reach while the load runs
RACE_NAMES = 3
RACERS = 4
RACE_OPERATIONS = 40
BYTE_SAMPLES_PER_COMMIT = 2
LOAD_SECONDS_LIMIT = 60


@pytest.fixture()
def servers(tmp_path: Path, postgres_database: str, moto_endpoint: str) -> Iterator[tuple[Server, Server]]:
    """Two servers on one PostgreSQL database and one S3 namespace prefix."""
    backend = postgres_s3_backend(postgres_database, moto_endpoint, f"scale-out-{uuid.uuid4().hex[:8]}")
    first = Server(tmp_path / "first", free_port(), backend=backend)
    second = Server(tmp_path / "second", free_port(), backend=backend)
    with started(first, second):
        yield first, second
    for server in (first, second):
        assert server.log_path is not None
        text = server.log_path.read_text(errors="replace")
        assert "Traceback" not in text and "unexpected error" not in text, text[-3000:]


@dataclass
class Record:
    """Everything the servers acknowledged, shared by the threads."""

    log: Log = field(default_factory=Log)
    uploads: dict[str, Upload] = field(default_factory=dict)  # path -> upload
    commits: dict[str, list[Commit]] = field(default_factory=dict)  # branch -> commits, in ack order
    merged_from: dict[str, str] = field(default_factory=dict)  # merge commit id -> source branch
    merges: Counter[str] = field(default_factory=Counter)  # "source->dest[ refused: why]" -> count

    def landed(self, branch: str, commit: Commit, source: str | None = None) -> None:
        with self.log.lock:
            self.commits.setdefault(branch, []).append(commit)
            if source is not None:
                self.merged_from[commit.commit_id] = source
                self.merges[f"{source}->{branch}"] += 1


def commit(record: Record, http: httpx.Client, repo: str, branch: str, message: str) -> bool:
    """Commit ``branch``; True when a commit landed (recorded), False for "no changes"."""
    sent = time.monotonic()
    response = send(
        record.log,
        f"commit {branch} {message!r}",
        lambda: http.post(f"/repositories/{repo}/branches/{branch}/commits", json={"message": message}),
    )
    if response is None:
        return False
    if response.status_code == 201:
        record.landed(branch, Commit(response.json()["id"], sent, time.monotonic()))
        return True
    if not (response.status_code == 400 and "no changes" in response.text):
        record.log.fail(f"commit {branch} {message!r}", response)
    return False


def merge(record: Record, http: httpx.Client, repo: str, source: str, dest: str) -> bool:
    """Merge ``source`` into ``dest``; True when a merge commit landed (recorded).

    Refusals for nothing to merge, or for staged changes on gamma, are counted; anything
    else (a conflict above all: the prefixes are disjoint) is a failure.
    """
    sent = time.monotonic()
    flow = f"{source}->{dest}"
    response = send(
        record.log,
        f"merge {flow}",
        lambda: http.post(f"/repositories/{repo}/refs/{source}/merge/{dest}", json={"message": flow}),
    )
    if response is None:
        return False
    if response.status_code == 200:
        record.landed(dest, Commit(response.json()["reference"], sent, time.monotonic()), source)
        return True
    # Only gamma takes uploads among the destinations: main must never be found dirty.
    refusals = ("no changes", "uncommitted changes") if dest == GAMMA else ("no changes",)
    reason = next((r for r in refusals if r in response.text), None)
    if response.status_code == 400 and reason is not None:
        with record.log.lock:
            record.merges[f"{flow} refused: {reason}"] += 1
    else:
        record.log.fail(f"merge {flow}", response)
    return False


def run_load(servers: Sequence[Server], repo: str, record: Record, race: BranchRace) -> None:
    """Writers, committers, merges and branch racers, all at once, through both servers."""
    load_done = threading.Event()
    merged_into_gamma = threading.Event()

    def stage(clients: list[httpx.Client], n: int, path: str, repeat: int) -> None:
        """Upload ``path`` (to the branch its first component names) through server ``n % 2``."""
        branch = path.split("/", 1)[0]
        data = f"{path} {uuid.uuid4().hex}\n".encode() * repeat
        done = put_object(record.log, clients[n % 2], repo, branch, path, data)
        if done is not None:
            with record.log.lock:
                record.uploads[path] = done

    def writer(branch: str, index: int) -> None:
        with clients_of(servers) as clients:
            rng = random.Random(f"{branch}{index}")
            for j in range(OBJECTS_PER_WRITER):
                path = f"{branch}/w{index}/obj-{j:04d}"
                stage(clients, index + j, path, rng.randint(1, 60))

    def gamma_batcher() -> None:
        """Batches of uploads to gamma by parallel writers, each batch then committed."""
        with clients_of(servers) as clients:
            rng = random.Random(GAMMA)
            with ThreadPoolExecutor(GAMMA_BATCH) as writers:
                for b in range(GAMMA_BATCHES):
                    batch = [
                        (b + k, f"{GAMMA}/b{b:03d}/obj-{k:02d}", rng.randint(1, 60))
                        for k in range(GAMMA_BATCH)
                    ]
                    list(writers.map(lambda item: stage(clients, *item), batch))
                    if not commit(record, clients[b % 2], repo, GAMMA, f"batch {b}"):
                        record.log.fail(f"batch {b} of {GAMMA} did not commit")
                    # gamma is clean now: leave a merge of alpha the time to land
                    merged_into_gamma.clear()
                    merged_into_gamma.wait(GAMMA_CLEAN_SECONDS)

    def committer(branch: str) -> None:
        with clients_of(servers) as clients:
            n = 0
            while not load_done.is_set():
                n += 1
                commit(record, clients[n % 2], repo, branch, f"commit {n}")
                time.sleep(0.03)

    def merger(source: str, dest: str) -> None:
        with clients_of(servers) as clients:
            n = 0
            while not load_done.is_set():
                n += 1
                if merge(record, clients[n % 2], repo, source, dest) and dest == GAMMA:
                    merged_into_gamma.set()
                time.sleep(0.01)

    workers = len(WRITTEN) * (WRITERS_PER_BRANCH + 1) + 1 + len(MERGES) + RACERS
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        loops = [pool.submit(committer, branch) for branch in WRITTEN]
        loops += [pool.submit(merger, source, dest) for source, dest in MERGES]
        load = [pool.submit(writer, b, i) for b in WRITTEN for i in range(WRITERS_PER_BRANCH)]
        load.append(pool.submit(gamma_batcher))
        load += [
            pool.submit(branch_racer, record.log, race, servers, repo, i, RACE_OPERATIONS)
            for i in range(RACERS)
        ]
        try:
            for future in load:
                future.result(timeout=max(1.0, started + LOAD_SECONDS_LIMIT - time.monotonic()))
        finally:
            load_done.set()
        for future in loops:
            future.result()


def first_parents(log: dict[str, dict[str, Any]], head: str, base: str) -> list[str]:
    """The first-parent chain from ``base`` (excluded) up to ``head``, oldest first."""
    chain: list[str] = []
    current = head
    while current != base:
        chain.append(current)
        parents = log[current]["parents"]
        assert parents, f"first-parent chain from {head} does not reach {base}"
        current = parents[0]
    return chain[::-1]


def test_two_servers_on_one_database_and_bucket(servers: tuple[Server, Server]) -> None:
    """Writers, committers, merges and branch races through two replicas lose nothing."""
    record = Record()
    race = BranchRace([f"race-{k}" for k in range(RACE_NAMES)])
    with client(servers[0]) as first:
        repo = create_repository(first, servers[0])
        base = first.get(f"/repositories/{repo}/branches/main").json()["commit_id"]
        for branch in (*WRITTEN, GAMMA):
            created = first.post(f"/repositories/{repo}/branches", json={"name": branch, "source": "main"})
            assert created.status_code == 201, created.text

    started = time.monotonic()
    run_load(servers, repo, record, race)
    assert not record.log.failures, "\n".join(record.log.failures[:20])
    print(
        f"load {time.monotonic() - started:.1f}s: {len(record.uploads)} uploads, "
        f"commits { {b: len(c) for b, c in record.commits.items()} }, merges {dict(record.merges)}, "
        f"race created {race.created} deleted {race.deleted}, {record.log.busy} answers 429"
    )
    expected = len(WRITTEN) * WRITERS_PER_BRANCH * OBJECTS_PER_WRITER + GAMMA_BATCHES * GAMMA_BATCH
    assert len(record.uploads) == expected
    for branch in WRITTEN:
        assert len(record.commits.get(branch, [])) >= MIN_MERGES, f"too few commits landed on {branch}"
    for source, dest in MERGES:
        assert record.merges[f"{source}->{dest}"] >= MIN_MERGES, f"too few merges {source}->{dest}"

    first, second = client(servers[0]), client(servers[1])
    pool = ThreadPoolExecutor(8)
    try:
        # 1. Every acknowledged upload is on its branch (committed or staged), byte-exact,
        # through both servers; each branch lists exactly the uploads made to it.
        def read_back(item: tuple[str, Upload]) -> None:
            path, done = item
            for http in (first, second):
                ref = f"/repositories/{repo}/refs/{done.branch}/objects"
                stat = http.get(f"{ref}/stat", params={"path": path})
                assert stat.status_code == 200, (path, stat.text)
                assert stat.json()["checksum"] == done.checksum, path
                body = http.get(ref, params={"path": path})
                assert body.status_code == 200, (path, body.text)
                assert body.content == done.data, f"{path} on {done.branch} read back different bytes"

        list(pool.map(read_back, sorted(record.uploads.items())))
        for branch in (*WRITTEN, GAMMA):
            listed = listing(second, repo, branch, f"{branch}/")
            made = {p for p, u in record.uploads.items() if u.branch == branch}
            missing = sorted(made - set(listed))
            assert not missing, f"{len(missing)} acknowledged uploads lost on {branch}, e.g. {missing[:5]}"
            assert set(listed) == made, f"{branch} lists paths never uploaded"
            for path, stats in listed.items():
                assert stats["checksum"] == record.uploads[path].checksum, path

        # 2. Raced branches: bookkeeping matches the branch list; survivors started from main.
        main_history = {c["id"] for c in commit_log(first, repo, "main")}
        for name in race.names:
            found = second.get(f"/repositories/{repo}/branches/{name}")
            if found.status_code == 200:
                assert found.json()["commit_id"] in main_history, f"{name} not created from main"
        survivors = check_branch_race(race, servers, repo)
        for http in (first, second):
            response = http.get(f"/repositories/{repo}/branches", params={"amount": 1000})
            assert response.status_code == 200, response.text
            assert not response.json()["pagination"]["has_more"]
            names = {b["id"] for b in response.json()["results"]}
            assert names == {"main", *WRITTEN, GAMMA, *survivors}, names

        # 3. Final commits and merges: then main holds every upload, byte-exact.
        for n, branch in enumerate((*WRITTEN, GAMMA)):
            commit(record, (first, second)[n % 2], repo, branch, "final")
        for n, (source, dest) in enumerate(MERGES):
            merge(record, (first, second)[n % 2], repo, source, dest)
        assert not record.log.failures, "\n".join(record.log.failures[:20])
        main_head = first.get(f"/repositories/{repo}/branches/main").json()["commit_id"]
        on_main = listing(second, repo, main_head)
        assert set(on_main) == set(record.uploads), "main does not hold exactly the uploads"

        def read_on_main(item: tuple[int, tuple[str, Upload]]) -> None:
            n, (path, done) = item
            http = (first, second)[n % 2]
            assert on_main[path]["checksum"] == done.checksum, path
            body = http.get(f"/repositories/{repo}/refs/{main_head}/objects", params={"path": path})
            assert body.status_code == 200, (path, body.text)
            assert body.content == done.data, f"{path} in {main_head} has different bytes"

        list(pool.map(read_on_main, enumerate(sorted(record.uploads.items()))))

        # 4. Histories: each branch's first-parent chain is exactly its acknowledged commits
        # and merges, in acknowledgement order.
        log: dict[str, dict[str, Any]] = {}
        for branch in ("main", *WRITTEN, GAMMA):
            log.update({c["id"]: c for c in commit_log(first, repo, branch)})
        for branch in ("main", *WRITTEN, GAMMA):
            head = second.get(f"/repositories/{repo}/branches/{branch}").json()["commit_id"]
            chain = first_parents(log, head, base)
            acked = [c.commit_id for c in record.commits[branch]]
            assert len(set(acked)) == len(acked), f"a commit id acknowledged twice on {branch}"
            lost = [c for c in acked if c not in chain]
            assert not lost, f"acknowledged commits lost from {branch}: {lost}"
            assert len(chain) == len(acked), f"{branch} holds commits nobody was answered for"
            position = {commit_id: n for n, commit_id in enumerate(chain)}
            for earlier in record.commits[branch]:
                for later in record.commits[branch]:
                    if earlier.acked < later.sent:
                        assert position[earlier.commit_id] < position[later.commit_id], (
                            f"{branch}: {later.commit_id} was requested after {earlier.commit_id} "
                            "was acknowledged, but comes before it"
                        )

        # 5. Contents of every acknowledged commit.
        every = [base] + [c.commit_id for commits in record.commits.values() for c in commits]
        contents = dict(zip(every, pool.map(lambda ref: listing(first, repo, ref), every), strict=True))
        assert contents[base] == {}, "the first commit already holds objects"
        known = {b: {base} | {c.commit_id for c in commits} for b, commits in record.commits.items()}
        for branch, commits in record.commits.items():
            for landed in commits:
                check_commit(record, branch, landed, log[landed.commit_id], contents, known)

        def sample_bytes(item: tuple[int, str]) -> None:
            n, commit_id = item
            content = contents[commit_id]
            samples = min(len(content), BYTE_SAMPLES_PER_COMMIT)
            picked = random.Random(commit_id).sample(sorted(content), samples)
            for path in picked:
                http = (first, second)[n % 2]
                body = http.get(f"/repositories/{repo}/refs/{commit_id}/objects", params={"path": path})
                assert body.status_code == 200, (path, body.text)
                assert body.content == record.uploads[path].data, f"{path} in {commit_id}: other bytes"

        list(pool.map(sample_bytes, enumerate(every[1:])))
    finally:
        pool.shutdown()
        first.close()
        second.close()


def check_commit(
    record: Record,
    branch: str,
    landed: Commit,
    commit: dict[str, Any],
    contents: dict[str, dict[str, dict[str, Any]]],
    known: dict[str, set[str]],
) -> None:
    """The content of one acknowledged commit (or merge) on ``branch``."""
    commit_id = landed.commit_id
    content = contents[commit_id]
    # Nothing in the commit was never uploaded: every object is an upload, with its
    # checksum and size, sent before the commit was acknowledged.
    for path, stats in content.items():
        done = record.uploads.get(path)
        assert done is not None, f"{path} in {commit_id} on {branch} was never uploaded"
        assert stats["checksum"] == done.checksum and stats["size_bytes"] == len(done.data), (path, commit_id)
        assert done.sent < landed.acked, f"{path} in {commit_id} was sent after the commit was answered"
    # Everything acknowledged on the branch before the commit was requested is in it.
    for path, done in record.uploads.items():
        if done.branch == branch and done.acked < landed.sent:
            assert path in content, f"{path} acknowledged on {branch} before {commit_id}, missing from it"
    parents = commit["parents"]
    parent = contents.get(parents[0])
    assert parent is not None, f"{commit_id} on {branch}: parent {parents[0]} is no acknowledged commit"
    source = record.merged_from.get(commit_id)
    if source is None:
        assert len(parents) == 1, f"{commit_id} on {branch} has parents {parents}"
        dropped = sorted(p for p in parent if content.get(p) != parent[p])
        assert not dropped, f"{commit_id} on {branch} lost or changed {dropped[:5]} of its parent"
        foreign = sorted(p for p in set(content) - set(parent) if record.uploads[p].branch != branch)
        assert not foreign, f"{commit_id} on {branch} took in {foreign[:5]} not uploaded to {branch}"
        return
    # A merge: the second parent is an acknowledged state of the source, the result is
    # the union of both parents, and at least the source as acknowledged before the merge.
    assert len(parents) == 2, f"merge {commit_id} into {branch} has parents {parents}"
    assert parents[1] in known.get(source, set()), (
        f"merge {commit_id} of {source} into {branch}: {parents[1]} is no acknowledged state of {source}"
    )
    theirs = contents[parents[1]]
    union = {**parent, **theirs}
    clash = sorted(p for p in set(parent) & set(theirs) if parent[p] != theirs[p])
    assert not clash, f"merge {commit_id}: parents disagree on {clash[:5]}"
    assert content == union, (
        f"merge {commit_id} of {source} into {branch} is not the union of its parents: "
        f"missing {sorted(set(union) - set(content))[:5]}, extra {sorted(set(content) - set(union))[:5]}"
    )
    before = [c for c in record.commits.get(source, []) if c.acked < landed.sent]
    if before:
        latest = max(before, key=lambda c: c.acked)
        missing = sorted(set(contents[latest.commit_id]) - set(content))
        assert not missing, (
            f"merge {commit_id} of {source} into {branch} misses {missing[:5]} of {latest.commit_id}, "
            "acknowledged on the source before the merge was requested"
        )
