"""Dump and restore of a large repository's refs, in-process through the catalog.

A repository is built with ``--commits`` commits (default 10,000), ``--branches``
branches (default 1,000) and ``--tags`` tags (default 1,000) whose ``main`` holds
``--objects`` objects (default 1,000). It is built fast, directly in the stores: the
objects' tree as ``commit_scaling.py`` builds it, then the commits as one chain of
records (each a real commit: its id is the hash of its record, its parent the previous
one, all on that tree) written in batches, and the branches and tags at commits picked
at random. Then, each round (``--repeats``, default 3):

1. **dump**: on fresh services (a newly started server's empty caches), the time from
   ``catalog.dumps.start_dump`` (what dumpSubmit calls) until ``dump_status`` says done,
   polled every 5 ms: the three trees are written to the namespace, and the manifest;
2. the repository is deleted and created again, bare, on the same storage namespace;
3. **restore**: on fresh services again, the time from ``catalog.dumps.start_restore``
   (restoreSubmit) until ``restore_status`` says done: the three trees are read back and
   verified (each commit's id against its record, each ref against the commits), and
   the commits, tags and branches are written;
4. the restored refs are compared with the dumped ones (every branch head, every tag,
   the number of commits): a round whose refs differ fails.

Topologies (``--topology local|postgres-s3|both``, default ``both``): SQLite metadata
with the local blockstore in a temporary directory, and PostgreSQL (a fresh database
created through ``--postgres-dsn``, default ``$LIMNOS_TEST_POSTGRES_DSN`` or
``postgresql://postgres@127.0.0.1:5432/test``, dropped at the end) with a moto S3 server
process on loopback. moto is an in-memory S3 written in Python on this machine: its
figures include its cost.

Printed: the build time, every round's dump and restore times, their medians, the
records per second, and the target: each of dump and restore under 10 s. The exit
status is 1 when a target is missed or a round fails. ``--profile DIR`` writes a
pyinstrument profile of the first round's dump and restore per topology.

    python bench/dump_restore.py                       # both topologies, 3 rounds
    python bench/dump_restore.py --topology local --repeats 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_DSN,
    POSTGRES_DSN_ENV,
    S3_BUCKET,
    MotoServer,
    PostgresDatabase,
    busy_line,
    close_services,
    cpu_line,
    create_lake_repository,
    fmt_seconds,
    median,
    open_services,
    postgres_s3_env,
)

from limnos.graveler.model import Branch, Commit, Repository, Tag  # noqa: E402
from limnos.graveler.staging import new_token  # noqa: E402
from limnos.server.services import Services  # noqa: E402

TARGET_SECONDS = 10.0
BUILD_BATCH = 5000
POLL_SECONDS = 0.005
TASK_LIMIT_SECONDS = 600.0


def build_refs(
    services: Services, repo: Repository, commits: int, branches: int, tags: int, seed: int
) -> None:
    """``commits`` commits in one chain on ``main``'s tree, ``branches`` branches (``main``
    at the newest commit) and ``tags`` tags at commits picked at random."""
    g = services.graveler
    head = g.get_branch(repo, "main").commit_id
    first = g.get_commit(repo, head)
    ids = [head]
    batch: list[tuple[str, bytes]] = []
    # The repository's own first commits count.
    for n in range(commits - sum(1 for _ in g.refs.commit_records(repo))):
        commit = Commit(
            tree_id=first.tree_id,
            parents=(ids[-1],),
            committer="bench",
            message=f"commit {n}",
            creation_date=first.creation_date + n,
            metadata=(("n", str(n)),),
            generation=first.generation + n + 1,
        )
        data = commit.encode()
        ids.append(commit.compute_id())
        batch.append((ids[-1], data))
        if len(batch) >= BUILD_BATCH:
            g.refs.put_commit_records(repo, batch)
            batch = []
    g.refs.put_commit_records(repo, batch)
    rng = random.Random(seed)
    refs = [("main", Branch(ids[-1], new_token()))]
    refs += [(f"branch-{k:05d}", Branch(rng.choice(ids), new_token())) for k in range(branches - 1)]
    g.refs.put_branches(repo, refs)
    g.refs.put_tags(repo, [(f"v{k:05d}", Tag(rng.choice(ids), first.creation_date)) for k in range(tags)])


def snapshot(services: Services, name: str) -> tuple[dict[str, str], dict[str, str], int]:
    """Branch heads, tags and the number of commits of a repository."""
    g = services.graveler
    repo = g.get_repository(name)
    branches = {n: b.commit_id for n, b in g.list_branches(repo)}
    tags = {n: t.commit_id for n, t in g.list_tags(repo)}
    return branches, tags, sum(1 for _ in g.refs.commit_records(repo))


def wait(status: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + TASK_LIMIT_SECONDS
    while True:
        state = status()
        if state.done:
            return state
        if time.monotonic() > deadline:
            raise RuntimeError(f"the task did not finish in {TASK_LIMIT_SECONDS} s")
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """A pyinstrument profile of the block written to ``path`` (nothing when None)."""
    if path is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"    profile: {path}")


def run_round(
    data_dir: Path, backend: dict[str, str] | None, name: str, namespace: str, profile: Path | None
) -> tuple[float, float, bool, str]:
    """One dump and one restore; (dump seconds, restore seconds, refs identical, note)."""
    services = open_services(data_dir, backend)
    try:
        expected = snapshot(services, name)
        with profiled(profile / "dump.txt" if profile else None):
            t0 = time.perf_counter()
            task = services.catalog.dumps.start_dump(name)
            dumped = wait(lambda: services.catalog.dumps.dump_status(name, task))
            dump_s = time.perf_counter() - t0
        if dumped.error:
            return dump_s, 0.0, False, f"dump failed: {dumped.error}"
        services.catalog.repositories.delete(name)
        services.catalog.repositories.create(name, namespace, bare=True)
    finally:
        close_services(services)

    services = open_services(data_dir, backend)
    try:
        with profiled(profile / "restore.txt" if profile else None):
            t0 = time.perf_counter()
            task = asyncio.run(services.catalog.dumps.start_restore(name, dumped.refs))
            restored = wait(lambda: services.catalog.dumps.restore_status(name, task))
            restore_s = time.perf_counter() - t0
        if restored.error:
            return dump_s, restore_s, False, f"restore failed: {restored.error}"
        same = snapshot(services, name) == expected
        return dump_s, restore_s, same, "" if same else "restored refs differ from the dumped ones"
    finally:
        close_services(services)


def run_topology(topology: str, args: argparse.Namespace, parent: Path | None) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"limnos-dump-bench-{topology}-", dir=parent))
    with contextlib.ExitStack() as stack:
        backend: dict[str, str] | None = None
        name = f"dump-{uuid.uuid4().hex[:8]}"
        namespace = f"local://{name}"
        if topology == "postgres-s3":
            database = stack.enter_context(PostgresDatabase(args.postgres_dsn))
            moto = stack.enter_context(MotoServer(data_dir / "moto.log"))
            backend = postgres_s3_env(database.dsn, moto.endpoint)
            namespace = f"s3://{S3_BUCKET}/{name}"
        print(f"[{topology}] data directory: {data_dir}", flush=True)
        services = open_services(data_dir, backend)
        try:
            t0 = time.perf_counter()
            repo = create_lake_repository(services, name, args.objects, namespace)
            build_refs(services, repo, args.commits, args.branches, args.tags, args.seed)
            build_s = time.perf_counter() - t0
            branches, tags, commits = snapshot(services, name)
        finally:
            close_services(services)
        print(
            f"  built {commits:,} commits, {len(branches):,} branches, {len(tags):,} tags "
            f"and {args.objects:,} objects in {build_s:.1f} s",
            flush=True,
        )
        rounds = []
        profile_dir = Path(args.profile) / topology if args.profile else None
        for n in range(args.repeats):
            if profile_dir is not None and n == 0:
                profile_dir.mkdir(parents=True, exist_ok=True)
            dump_s, restore_s, same, note = run_round(
                data_dir, backend, name, namespace, profile_dir if n == 0 else None
            )
            rounds.append((dump_s, restore_s, same, note))
            print(
                f"  round {n + 1}: dump {fmt_seconds(dump_s)}, restore {fmt_seconds(restore_s)}"
                + (f"  FAILED: {note}" if not same else ""),
                flush=True,
            )
    if args.keep:
        print(f"  kept {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"rounds": rounds, "records": commits + len(branches) + len(tags)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topology", choices=["local", "postgres-s3", "both"], default="both")
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--branches", type=int, default=1_000)
    parser.add_argument("--tags", type=int, default=1_000)
    parser.add_argument("--objects", type=int, default=1_000, help="objects in main's tree")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get(POSTGRES_DSN_ENV, DEFAULT_POSTGRES_DSN),
        help="for postgres-s3",
    )
    parser.add_argument("--dir", help="parent directory of the temporary data directories")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument("--profile", metavar="DIR", help="pyinstrument profiles of the first round")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if min(args.commits, args.branches, args.objects, args.repeats) <= 0 or args.tags < 0:
        parser.error("commits, branches, objects and repeats must be positive")

    print("Limnos dump and restore (catalog.dumps: dumpSubmit and restoreSubmit, in-process)")
    print(cpu_line())
    print(busy_line())
    topologies = ["local", "postgres-s3"] if args.topology == "both" else [args.topology]
    parent = Path(args.dir) if args.dir else None
    results = {topology: run_topology(topology, args, parent) for topology in topologies}

    print()
    print(
        f"{'topology':<12} {'dump median':>11} {'restore median':>14} "
        f"{'records/s dump':>15} {'restore':>9}  target"
    )
    ok = True
    for topology, result in results.items():
        rounds = result["rounds"]
        dump_m = median([r[0] for r in rounds])
        restore_m = median([r[1] for r in rounds])
        good = all(r[2] for r in rounds) and max(dump_m, restore_m) < TARGET_SECONDS
        ok = ok and good
        records = result["records"]
        print(
            f"{topology:<12} {fmt_seconds(dump_m):>11} {fmt_seconds(restore_m):>14} "
            f"{records / dump_m:>15,.0f} {records / restore_m:>9,.0f}  "
            f"each < {TARGET_SECONDS:.0f} s: {'PASS' if good else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
