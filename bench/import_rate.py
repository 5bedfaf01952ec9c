"""Zero-copy imports into a real ``limnos run`` server: objects/s against merely listing the source.

An import (importStart, ``POST .../branches/main/import`` with one ``common_prefix``
source) lists the source, writes the listing as a tree and commits it; no byte is
copied. This measures how fast that goes, from the request to the status saying
``completed``, next to the rate of merely listing the same source from this process:

1. **local directories** (``--sizes``, default 100,000 and 1,000,000 objects): small
   files (64-127 bytes, distinct contents) created once, with bare ``os.open`` /
   ``os.write`` / ``os.close``, spread over ``--dirs`` directories (default 1,000), in a
   temporary directory on the disk of ``--dir``; free space and inodes are checked first
   and a size that does not fit is skipped, with the reason. The server is one
   ``limnos run`` (SQLite metadata, local blockstore, ``--workers``, default one per core)
   with ``LAKEFS_BLOCKSTORE_LOCAL_IMPORT_ENABLED=true`` and the sources' parent as
   ``LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES``. The listing baseline does what
   the server's local listing does (``limnos.block.local``: the directories walked with
   ``os.scandir`` in path order, each file stat'ed and read for its MD5, the ETag) in a
   plain Python loop; a walk with stat but no MD5 is printed beside it.
2. **S3** (``--s3-objects``, default 100,000 keys; ``--skip-s3`` to leave it out): a moto
   server process on loopback (``python -m moto.server``), one ``limnos run`` on a fresh
   PostgreSQL database (created through ``--postgres-dsn``, default
   ``$LIMNOS_TEST_POSTGRES_DSN`` or ``postgresql://postgres@127.0.0.1:5432/test``, dropped
   at the end) and the moto bucket, as tests/conftest.py's postgres-s3 backend. The keys
   are written with boto3 ``put_object`` from ``--s3-threads`` threads (default 32; the
   time is printed). moto is the bottleneck there: it costs ~2.5 ms of its CPU per key
   and answers each request with ``Connection: close``, so 100,000 keys take minutes
   (~350 keys/s on 2 cores); after ``--s3-create-limit`` seconds (default 900) the
   writing stops and what was written is imported. The baseline is boto3's
   ``list_objects_v2`` paginator over the prefix, what the server's S3 listing calls.
   moto is an in-memory S3 in Python on this machine: both figures include its cost
   (its CPU and the PostgreSQL backends' are printed), neither is that of a real S3.
3. **workflow**: a directory of ``--workflow-files`` small files (default 10,000)
   versioned end to end by one import (importStart to completed, the commit included;
   ``--workflow-rounds`` rounds, each into a fresh repository, median printed), next to
   the same files uploaded through the API (uploadObject: one ``httpx.Client`` shared by
   a pool of ``--concurrency`` threads, default 16, each with a request in flight) and
   committed (createCommit). Not ``httpx.AsyncClient``: with 32 connections its pool
   cost this client ~3.4 ms of CPU per request here (~290 uploads/s, the client
   saturated), against ~0.7 ms for the threads (~1,100 uploads/s).

Every import goes into a fresh repository (so the whole tree is the import), at
destination ``data/``. Its status is polled every 10 ms at first, then at most every
100 ms (1% of the time elapsed), so the end is seen at most that late. A result counts
only when the status has no error, ``ingested_objects`` is the number of sources, the
branch head is the import's commit and a few random objects stat back with the source's
size, checksum (MD5 for files; ETag on S3) and physical address. While each import
runs, the resident memory (VmRSS) of the server's process tree is sampled from ``/proc``
every ``--interval`` seconds (default 0.1): base and peak are printed, and the RSS of
the tree after each import shows growth across imports. The CPU used meanwhile by the
server, by this process and by the rest of the machine (other work; skews the figure)
is printed too. ``phases``: the time until the status first shows the ``metarange_id``
(the listing and its ranges written) and the rest (the branch's new tree and the commit).

Targets: every import at least half the rate of listing its source; at least 50,000
objects/s from a local directory; the 10,000-file workflow import under 1 s. The exit
status is 1 when a target is missed or an import fails; a part skipped (``--skip-s3``,
or a size the disk has no room for) is printed as not measured and fails nothing.

``--py-spy DIR`` (needs ``py-spy`` beside the interpreter or on PATH): after the
measurements, one more import of the local directory of 100,000 objects (or the first
size) with ``py-spy record --threads --nonblocking -f raw`` attached to every worker;
the raw profiles are written to DIR, and the samples of the import thread are summed
by phase (walk/stat, MD5, entries, range writing, status writes, commit). That import
is timed but counts for no target (the sampler takes CPU).

    python bench/import_rate.py                 # 100k + 1M local, 100k S3, workflow
    python bench/import_rate.py --quick         # 10k + 50k local, 5k S3: about a minute
    python bench/import_rate.py --sizes 100000 --skip-s3 --py-spy /tmp/import-prof
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    DEFAULT_POSTGRES_DSN,
    POSTGRES_DSN_ENV,
    S3_ACCESS_KEY_ID,
    S3_BUCKET,
    S3_SECRET_ACCESS_KEY,
    SECRET_ACCESS_KEY,
    MotoServer,
    PostgresDatabase,
    RssSampler,
    TimeLimit,
    busy_line,
    check_postgres_dsn_local,
    cpu_line,
    filesystem_note,
    machine_busy_seconds,
    on_alarm,
    postgres_s3_env,
    process_tree,
    rss_kib,
    scan_log,
    tree_cpu,
)
from api_load import ServerProcess, check_loopback, free_port  # noqa: E402

DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000)
DEFAULT_S3_OBJECTS = 100_000
QUICK_S3_OBJECTS = 5_000
WORKFLOW_FILES = 10_000
DIRECTORIES = 1000
PROFILE_SIZE = 100_000

TARGET_LISTING_SHARE = 0.5  # import rate / listing rate
TARGET_LOCAL_RATE = 50_000.0  # objects/s from a local directory
TARGET_WORKFLOW_SECONDS = 1.0

BLOCK = 4096  # what a small file takes on disk (one block)
DISK_MARGIN = 1024**3  # bytes left free beyond the files (server data, logs)
INODE_MARGIN = 100_000
CHECKS = 5  # objects stat'ed back after each import


class BenchError(Exception):
    """An import (or its setup) did not give what was asked."""


def fmt_count(n: int) -> str:
    return f"{n:,}"


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# --------------------------------------------------------------------------- local sources


def file_content(i: int) -> bytes:
    """The bytes of source file ``i``: 64-127 bytes, distinct for every ``i``."""
    line = f"limnos import bench object {i:09d}\n".encode()
    return (line * 4)[: 64 + i % 64]


def file_name(i: int, per_dir: int) -> str:
    return f"dir-{i // per_dir:05d}/file-{i:08d}.bin"


def create_files(root: Path, count: int, dirs: int) -> float:
    """``count`` small files below ``root`` in ``dirs`` directories; the seconds it took."""
    per_dir = max(1, -(-count // dirs))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    t0 = time.perf_counter()
    root.mkdir(parents=True)
    base = str(root) + "/"
    made = -1
    for i in range(count):
        name = file_name(i, per_dir)
        if i // per_dir != made:
            made = i // per_dir
            os.mkdir(base + name.rsplit("/", 1)[0])
        fd = os.open(base + name, flags, 0o644)
        try:
            os.write(fd, file_content(i))
        finally:
            os.close(fd)
    return time.perf_counter() - t0


def disk_room(path: Path, files: int, dirs: int) -> str | None:
    """Why ``files`` small files (and ``dirs`` directories) do not fit below ``path``, or None."""
    st = os.statvfs(path)
    free_bytes = st.f_bavail * st.f_frsize
    need_bytes = (files + dirs) * BLOCK + DISK_MARGIN
    if st.f_files and st.f_favail < files + dirs + INODE_MARGIN:
        return (
            f"needs {fmt_count(files + dirs + INODE_MARGIN)} free inodes, the file system has "
            f"{fmt_count(st.f_favail)} (df -i)"
        )
    if free_bytes < need_bytes:
        return (
            f"needs {need_bytes / 1024**3:.1f} GiB free, the file system has {free_bytes / 1024**3:.1f} GiB"
        )
    return None


def df_line(path: Path) -> str:
    st = os.statvfs(path)
    used_inodes = st.f_files - st.f_ffree
    return (
        f"{(st.f_bavail * st.f_frsize) / 1024**3:.1f} GiB free; inodes: {fmt_count(st.f_favail)} free of "
        f"{fmt_count(st.f_files)} ({100 * used_inodes / max(1, st.f_files):.0f}% used)"
    )


def _walk(directory: str, md5: bool, out: list[int]) -> None:
    """The server's local listing (``limnos.block.local.list``) in a plain loop: entries of
    each directory sorted by name (a directory's as ``name/``), files stat'ed and, with
    ``md5``, read for their MD5. ``out`` = [files, bytes]."""
    with os.scandir(directory) as found:
        entries = sorted(
            (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e.path)
            for e in found
            if not e.is_symlink()
        )
    for name, path in entries:
        if name.endswith("/"):
            _walk(path, md5, out)
            continue
        st = os.stat(path)
        if md5:
            digest = hashlib.md5(usedforsecurity=False)
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            digest.hexdigest()
        out[0] += 1
        out[1] += st.st_size


def list_local(root: Path, md5: bool = True) -> tuple[int, float]:
    """(files, seconds) of walking ``root`` as the server's listing does."""
    out = [0, 0]
    t0 = time.perf_counter()
    _walk(str(root), md5, out)
    return out[0], time.perf_counter() - t0


# --------------------------------------------------------------------------- S3 sources


def s3_client(endpoint: str, pool: int = 10) -> Any:
    """A boto3 S3 client of the moto server (boto3 is imported here, when needed)."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY_ID,
        aws_secret_access_key=S3_SECRET_ACCESS_KEY,
        config=BotoConfig(max_pool_connections=pool, retries={"max_attempts": 5, "mode": "standard"}),
    )


def create_keys(endpoint: str, prefix: str, count: int, threads: int, deadline: float) -> tuple[int, float]:
    """Objects ``0 .. count-1`` under ``prefix`` (``put_object`` from ``threads`` threads, a
    thousand at a time); (objects written, seconds). Past ``deadline`` it stops after the
    thousand under way: the objects written are then ``0 .. written-1``."""
    client = s3_client(endpoint, pool=threads)
    per_dir = max(1, -(-count // DIRECTORIES))

    def put(i: int) -> None:
        client.put_object(Bucket=S3_BUCKET, Key=prefix + file_name(i, per_dir), Body=file_content(i))

    written = 0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for chunk in range(0, count, 1000):
            stop = min(count, chunk + 1000)
            for _ in pool.map(put, range(chunk, stop)):
                pass
            written = stop
            if time.monotonic() > deadline:
                break
    return written, time.perf_counter() - t0


def list_s3(endpoint: str, prefix: str) -> tuple[int, float]:
    """(keys, seconds) of listing ``prefix`` with boto3's list_objects_v2 paginator."""
    client = s3_client(endpoint)
    count = 0
    t0 = time.perf_counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix):
        count += len(page.get("Contents", []))
    return count, time.perf_counter() - t0


# --------------------------------------------------------------------------- the server side


class Api:
    """An authenticated httpx client of one server, with the few calls the bench makes."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.client = httpx.Client(
            base_url=self.base,
            auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
            timeout=httpx.Timeout(600, connect=10),
        )

    def close(self) -> None:
        self.client.close()

    def expect(self, r: httpx.Response, status: int, what: str) -> httpx.Response:
        if r.status_code != status:
            raise BenchError(f"{what}: HTTP {r.status_code} (expected {status}): {r.text[:400]}")
        return r

    def create_repository(self, name: str, namespace: str) -> None:
        r = self.client.post(
            "/repositories", json={"name": name, "storage_namespace": namespace, "default_branch": "main"}
        )
        self.expect(r, 201, f"createRepository {name}")

    def head(self, repo: str) -> str:
        r = self.expect(self.client.get(f"/repositories/{repo}/branches/main"), 200, "getBranch")
        return str(r.json()["commit_id"])

    def stat(self, repo: str, path: str) -> dict[str, Any]:
        r = self.client.get(f"/repositories/{repo}/refs/main/objects/stat", params={"path": path})
        body: dict[str, Any] = self.expect(r, 200, f"statObject {path}").json()
        return body


@dataclass
class ImportRun:
    """One measured import."""

    label: str
    objects: int
    seconds: float = 0.0
    to_metarange: float = 0.0  # until the status first showed the metarange id
    error: str = ""
    commit: str = ""
    polls: int = 0
    rss_base_kib: int = 0
    rss_peak_kib: int = 0
    rss_after_kib: int = 0
    srv_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0
    extra_cpu: dict[str, float] = field(default_factory=dict)  # e.g. moto

    @property
    def rate(self) -> float:
        return rate(self.objects, self.seconds)


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_import(
    api: Api,
    server: ServerProcess,
    repo: str,
    source: str,
    expected: int,
    check: Callable[[Api, str], None],
    interval: float,
    label: str,
    extra: dict[str, Callable[[], list[int]]] | None = None,
) -> ImportRun:
    """Import ``source`` (a common prefix) at ``data/`` of ``repo``'s main branch, timed from
    the request to the completed status; then checked with ``check``."""
    assert server.process is not None
    root = server.process.pid
    run = ImportRun(label, expected)
    body = {
        "paths": [{"type": "common_prefix", "path": source, "destination": "data/"}],
        "commit": {
            "message": f"import {expected} objects from {source}",
            "metadata": {"bench": "import_rate"},
        },
    }
    url = f"/repositories/{repo}/branches/main/import"
    extra_before = {name: {pid: tree_cpu(pid)[1] for pid in pids()} for name, pids in (extra or {}).items()}
    with RssSampler(root, interval) as rss:
        srv0, cli0, busy0 = tree_cpu(root)[1], process_cpu(), machine_busy_seconds()
        t0 = time.perf_counter()
        r = api.expect(api.client.post(url, json=body), 202, "importStart")
        import_id = r.json()["id"]
        status: dict[str, Any] = {}
        while True:
            elapsed = time.perf_counter() - t0
            time.sleep(min(0.1, max(0.01, elapsed / 100)))
            status = api.expect(api.client.get(url, params={"id": import_id}), 200, "importStatus").json()
            run.polls += 1
            now = time.perf_counter()
            if status.get("metarange_id") and not run.to_metarange:
                run.to_metarange = now - t0
            if status.get("error"):
                run.seconds = now - t0
                run.error = f"import failed: {status['error'].get('message')}"
                break
            if status.get("completed"):
                run.seconds = now - t0
                break
        srv1, cli1, busy1 = tree_cpu(root)[1], process_cpu(), machine_busy_seconds()
    for name, pids in (extra or {}).items():
        run.extra_cpu[name] = sum(tree_cpu(pid)[1] - extra_before[name].get(pid, 0.0) for pid in pids())
    run.rss_base_kib, run.rss_peak_kib = rss.baseline, rss.peak
    run.rss_after_kib = sum(rss_kib(pid) for pid in process_tree(root))
    run.srv_cpu, run.client_cpu = srv1 - srv0, cli1 - cli0
    run.other_cpu = max(0.0, (busy1 - busy0) - run.srv_cpu - run.client_cpu - sum(run.extra_cpu.values()))
    if run.error:
        return run
    try:
        if status.get("ingested_objects") != expected:
            raise BenchError(f"ingested_objects {status.get('ingested_objects')} != {expected} sources")
        run.commit = str(status.get("commit", {}).get("id", ""))
        head = api.head(repo)
        if not run.commit or head != run.commit:
            raise BenchError(f"branch head {head} is not the import's commit {run.commit!r}")
        check(api, repo)
    except (BenchError, httpx.HTTPError, KeyError) as err:
        run.error = str(err)
    return run


def check_local(root: Path, count: int) -> Callable[[Api, str], None]:
    """Stat ``CHECKS`` random imported files back: size, MD5, physical address."""
    per_dir = max(1, -(-count // DIRECTORIES))

    def check(api: Api, repo: str) -> None:
        rng = random.Random(count)
        for i in [0, count - 1, *rng.sample(range(count), min(count, CHECKS - 2))]:
            name = file_name(i, per_dir)
            got = api.stat(repo, "data/" + name)
            data = file_content(i)
            want = (len(data), hashlib.md5(data, usedforsecurity=False).hexdigest(), f"local://{root}/{name}")
            have = (got.get("size_bytes"), got.get("checksum"), got.get("physical_address"))
            if have != want:
                raise BenchError(f"data/{name}: stat gives {have}, expected {want}")

    return check


def check_s3(prefix: str, count: int, layout: int) -> Callable[[Api, str], None]:
    """As :func:`check_local`, for the first ``count`` of ``layout`` keys written."""
    per_dir = max(1, -(-layout // DIRECTORIES))

    def check(api: Api, repo: str) -> None:
        rng = random.Random(count)
        for i in [0, count - 1, *rng.sample(range(count), min(count, CHECKS - 2))]:
            name = file_name(i, per_dir)
            got = api.stat(repo, "data/" + name)
            data = file_content(i)
            want = (
                len(data),
                hashlib.md5(data, usedforsecurity=False).hexdigest(),
                f"s3://{S3_BUCKET}/{prefix}{name}",
            )
            have = (got.get("size_bytes"), got.get("checksum"), got.get("physical_address"))
            if have != want:
                raise BenchError(f"data/{name}: stat gives {have}, expected {want}")

    return check


def print_import(run: ImportRun, listing_rate: float | None = None) -> None:
    if run.error:
        print(f"  {run.label:<34} FAILED after {run.seconds:.2f} s: {run.error}", flush=True)
        return
    ratio = f"  = {run.rate / listing_rate:.2f}x the listing" if listing_rate else ""
    extra = "".join(f" {name} {cpu:.1f}" for name, cpu in run.extra_cpu.items())
    print(
        f"  {run.label:<34} {run.seconds:7.2f} s  {run.rate:9,.0f} obj/s{ratio}\n"
        f"  {'':34} phases: listing+ranges {run.to_metarange:.2f} s, new tree+commit "
        f"{max(0.0, run.seconds - run.to_metarange):.2f} s ({run.polls} polls); "
        f"cpu s: srv {run.srv_cpu:.1f} cli {run.client_cpu:.1f}{extra} other {run.other_cpu:.1f}; "
        f"srv rss {run.rss_base_kib / 1024:.0f} -> peak {run.rss_peak_kib / 1024:.0f} MiB, "
        f"after {run.rss_after_kib / 1024:.0f} MiB",
        flush=True,
    )


# --------------------------------------------------------------------------- uploads (workflow)


def _upload_all(base: str, repo: str, root: Path, count: int, concurrency: int) -> None:
    """uploadObject of every file of ``root`` at ``data/<its path>``, ``concurrency`` at a
    time (threads sharing one httpx.Client)."""
    per_dir = max(1, -(-count // DIRECTORIES))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(
        base_url=base, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), limits=limits, timeout=60
    ) as client:

        def upload(i: int) -> None:
            name = file_name(i, per_dir)
            data = (root / name).read_bytes()
            r = client.post(
                f"/repositories/{repo}/branches/main/objects",
                params={"path": "data/" + name},
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            if r.status_code != 201:
                raise BenchError(f"uploadObject data/{name}: HTTP {r.status_code} {r.text[:200]}")

        with ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(upload, range(count)):
                pass


def upload_and_commit(api: Api, repo: str, root: Path, count: int, concurrency: int) -> tuple[float, float]:
    """(seconds of the uploads, seconds of the commit) of ``count`` files through the API."""
    t0 = time.perf_counter()
    _upload_all(api.base, repo, root, count, concurrency)
    t1 = time.perf_counter()
    r = api.client.post(f"/repositories/{repo}/branches/main/commits", json={"message": f"{count} uploads"})
    api.expect(r, 201, "createCommit")
    return t1 - t0, time.perf_counter() - t1


# --------------------------------------------------------------------------- py-spy


# py-spy raw stacks: "thread (tid): name;frame;...;frame count", outermost frame first, each
# frame "Class.function (module/file.py:line)". Phases of the import thread: the first
# rule matching a frame, looked for from the innermost frame outwards, names the sample's.
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("status writes (KV get + set_if)", ("_Run._save ", "_Run._progress ")),
    (
        "new tree + commit",
        ("Graveler.replace_prefixes ", "Graveler.commit_tree ", "Graveler.tree_of ", "Graveler.get_branch "),
    ),
    ("listing: MD5 (open, read, hash)", ("_file_md5 ",)),
    ("listing: scandir + sort", ("_sorted_files ",)),
    ("listing: stat, Path and URI handling", ("LocalAdapter.list ",)),
    ("listing: S3 pages (boto3)", ("S3Adapter.list ",)),
    ("entries: check_path", ("check_path ",)),
    ("entries: encode", ("_entry ", "encode_entry ")),
    ("entries: merge + dedup", ("_Run._entries ", "merge (heapq", "_Run._source_entries ")),
    ("range writing (in the import thread)", ("CommittedStore.write_tree ", "RangeWriter.", "WriteBatch.")),
]


def _thread_kind(name: str) -> str:
    if "limnos-import-" in name:
        return "import"
    if "range-writer" in name:
        return "range writer threads"
    return "other threads"


def profile_summary(files: list[Path]) -> list[str]:
    """The import thread's samples summed by phase; the other threads' in total."""
    phases: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            kind = _thread_kind(frames[0])
            threads[kind] += count
            if kind != "import":
                continue
            category = "other" if len(frames) > 1 else "no Python frame (native code, waiting for the GIL)"
            for frame in reversed(frames[1:]):
                found = next((name for name, starts in PHASES if frame.startswith(starts)), None)
                if found is not None:
                    category = found
                    break
            phases[category] += count
            leaves[frames[-1] if len(frames) > 1 else "(no Python frame)"] += count
    total = threads["import"]
    if not total:
        return ["no sample of the import thread (is py-spy allowed to attach?)"]
    out = [
        f"py-spy samples (200/s, non-idle): import thread {total}, range writer threads "
        f"{threads['range writer threads']}, other threads {threads['other threads']}",
        "import thread by phase:",
    ]
    for name, count in phases.most_common():
        out.append(f"  {100 * count / total:5.1f}%  {name}")
    out.append("import thread, innermost frames:")
    for name, count in leaves.most_common(12):
        out.append(f"  {100 * count / total:5.1f}%  {name}")
    return out


def py_spy_binary() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def profiled_import(
    api: Api,
    server: ServerProcess,
    out_dir: Path,
    repo: str,
    source: str,
    count: int,
    check: Callable[[Api, str], None],
    interval: float,
) -> list[str]:
    spy = py_spy_binary()
    if spy is None:
        return ["py-spy not found beside the interpreter nor on PATH: no profile"]
    out_dir.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for pid in server.worker_pids():
        out = out_dir / f"import-{count}-{pid}.txt"
        procs.append(
            (
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--threads",
                        "--nonblocking",
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "-o",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
                out,
            )
        )
    time.sleep(1.5)  # attached
    try:
        run = run_import(
            api, server, repo, source, count, check, interval, f"local {fmt_count(count)} (py-spy)"
        )
    finally:
        for proc, _ in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc, _ in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print_import(run)
    lines = [f"profiles: {', '.join(str(p) for _, p in procs)}"]
    for proc, out in procs:
        if not out.exists() and proc.stderr is not None:
            lines.append(f"py-spy on {out.name}: {proc.stderr.read().decode(errors='replace')[-300:]}")
    return lines + profile_summary([p for _, p in procs])


# --------------------------------------------------------------------------- report


@dataclass
class Target:
    name: str
    measured: str
    passed: bool | None  # None: not measured


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    global DIRECTORIES
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="objects of each local import (default 100000,1000000)",
    )
    parser.add_argument(
        "--s3-objects", type=int, default=None, help="objects of the S3 import (default 100000)"
    )
    parser.add_argument("--skip-s3", action="store_true", help="leave out the S3 (moto + PostgreSQL) import")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="local sizes 10000,50000 and 5000 S3 objects (unless given): about a minute",
    )
    parser.add_argument(
        "--workflow-files",
        type=int,
        default=WORKFLOW_FILES,
        help="files of the workflow comparison (default 10000; 0 to skip it)",
    )
    parser.add_argument(
        "--workflow-rounds", type=int, default=3, help="imports of the workflow directory (default 3)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="uploads in flight in the workflow: client threads (default 16)",
    )
    parser.add_argument(
        "--dirs", type=int, default=DIRECTORIES, help="directories the files spread over (default 1000)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server workers (default: one per core)"
    )
    parser.add_argument("--s3-threads", type=int, default=32, help="threads writing the S3 keys (default 32)")
    parser.add_argument(
        "--s3-create-limit",
        type=float,
        default=900.0,
        help="stop writing S3 keys after this many seconds and import what is there (default 900)",
    )
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get(POSTGRES_DSN_ENV) or DEFAULT_POSTGRES_DSN,
        help=f"where to create the S3 half's database (default ${POSTGRES_DSN_ENV} or "
        f"{DEFAULT_POSTGRES_DSN})",
    )
    parser.add_argument("--interval", type=float, default=0.1, help="RSS sampling period (default 0.1 s)")
    parser.add_argument("--py-spy", metavar="DIR", help="profile one more local import with py-spy into DIR")
    parser.add_argument("--dir", help="parent of the temporary directory (the disk to measure)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--time-limit", type=float, default=3600.0, help="stop after this many seconds (default 3600)"
    )
    args = parser.parse_args(argv)
    sizes: list[int] = args.sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    s3_objects: int = args.s3_objects or (QUICK_S3_OBJECTS if args.quick else DEFAULT_S3_OBJECTS)
    DIRECTORIES = max(1, args.dirs)
    if s3_objects <= 0 or args.workflow_files < 0 or args.workers <= 0 or args.concurrency <= 0:
        parser.error("--s3-objects, --workers and --concurrency must be positive")

    print("Limnos import rate: zero-copy imports (importStart -> completed) against listing the source")
    print(cpu_line())
    print(busy_line())
    root = Path(tempfile.mkdtemp(prefix="limnos-import-bench-", dir=args.dir))
    print(f"directory: {root} ({df_line(root)})")
    if (note := filesystem_note(root)) is not None:
        print(note)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    targets: list[Target] = []
    log_lines: list[tuple[str, list[str]]] = []
    servers: list[ServerProcess] = []
    moto: MotoServer | None = None
    database: PostgresDatabase | None = None
    apis: list[Api] = []
    ok = False
    try:
        sources = root / "sources"
        sources.mkdir()
        # ----------------------------------------------------------------- sources on disk
        created: dict[int, Path] = {}
        plan = sorted(set(sizes)) + ([args.workflow_files] if args.workflow_files else [])
        skipped: dict[str, str] = {}  # source directory name -> why it was not created
        for i, count in enumerate(plan):
            workflow = args.workflow_files and i == len(plan) - 1
            path = sources / (f"workflow-{count}" if workflow else f"n{count}")
            dirs = min(DIRECTORIES, count)
            if (why := disk_room(root, count, dirs)) is not None:
                skipped[path.name] = why
                print(f"{'workflow' if workflow else 'local'} {fmt_count(count)}: SKIPPED, {why}")
                continue
            seconds = create_files(path, count, dirs)
            print(
                f"source: {fmt_count(count)} files in {dirs} directories created in {seconds:.1f} s "
                f"({rate(count, seconds):,.0f} files/s; os.open/os.write/os.close) -> {path.name}",
                flush=True,
            )
            if not workflow:
                created[count] = path
        print(f"after creating the sources: {df_line(root)}")

        # ----------------------------------------------------------------- local server
        env = {
            "LAKEFS_BLOCKSTORE_LOCAL_IMPORT_ENABLED": "true",
            "LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES": str(sources),
        }
        local = ServerProcess(root / "server-local", free_port(), args.workers, env)
        t0 = time.perf_counter()
        local.start()
        servers.append(local)
        api = Api(local.port)
        apis.append(api)
        assert local.process is not None
        print(
            f"server: limnos run --workers {args.workers} on 127.0.0.1:{local.port} (SQLite + local "
            f"blockstore; up in {time.perf_counter() - t0:.1f} s), rss "
            f"{sum(rss_kib(p) for p in process_tree(local.process.pid)) / 1024:.0f} MiB",
            flush=True,
        )
        serial = iter(range(1, 1_000_000))

        def new_repo(a: Api, prefix: str, namespace_root: str) -> str:
            name = f"{prefix}-{next(serial)}"
            a.create_repository(name, f"{namespace_root}/{name}-{uuid.uuid4().hex[:6]}")
            return name

        # ----------------------------------------------------------------- local imports
        print()
        print(
            "local directories (import: POST .../import to status completed; listing: walk + stat + MD5 "
            "in this process)",
            flush=True,
        )
        local_results: list[tuple[int, float, float, ImportRun]] = []
        for count in sorted(created):
            path = created[count]
            n_plain, s_plain = list_local(path, md5=False)
            n, s = list_local(path, md5=True)
            if n != count or n_plain != count:
                raise BenchError(f"listing {path} found {n} files, expected {count}")
            listing = rate(n, s)
            print(f" {fmt_count(count)} objects", flush=True)
            print(f"  {'listing: walk + stat':<34} {s_plain:7.2f} s  {rate(n, s_plain):9,.0f} obj/s")
            print(f"  {'listing: walk + stat + MD5':<34} {s:7.2f} s  {listing:9,.0f} obj/s", flush=True)
            run = run_import(
                api,
                local,
                new_repo(api, "imp", "local://bench"),
                f"local://{path}/",
                count,
                check_local(path, count),
                args.interval,
                "import",
            )
            print_import(run, listing)
            local_results.append((count, s, listing, run))
        for count in sorted(set(sizes)):
            label = f"local {fmt_count(count)}"
            why = skipped.get(f"n{count}")
            if why is not None:
                targets.append(
                    Target(
                        f"{label}: import >= {TARGET_LISTING_SHARE:g}x listing rate",
                        f"skipped: {why}",
                        None,
                    )
                )
                targets.append(
                    Target(
                        f"{label}: import >= {TARGET_LOCAL_RATE:,.0f} obj/s",
                        f"skipped: {why}",
                        None,
                    )
                )
                continue
            _, _, listing, run = next(r for r in local_results if r[0] == count)
            if run.error:
                targets.append(Target(f"{label}: import", f"FAILED: {run.error}", False))
                continue
            share = run.rate / listing
            targets.append(
                Target(
                    f"{label}: import >= {TARGET_LISTING_SHARE:g}x listing rate",
                    f"{run.rate:,.0f} / {listing:,.0f} obj/s = {share:.2f}x",
                    share >= TARGET_LISTING_SHARE,
                )
            )
            targets.append(
                Target(
                    f"{label}: import >= {TARGET_LOCAL_RATE:,.0f} obj/s",
                    f"{run.rate:,.0f} obj/s ({run.seconds:.2f} s)",
                    run.rate >= TARGET_LOCAL_RATE,
                )
            )

        # ----------------------------------------------------------------- workflow
        if args.workflow_files:
            count = args.workflow_files
            path = sources / f"workflow-{count}"
            print()
            print(f"workflow: a directory of {fmt_count(count)} small files versioned end to end", flush=True)
            if path.name in skipped:
                targets.append(
                    Target(
                        f"workflow {fmt_count(count)}: import < {TARGET_WORKFLOW_SECONDS:g} s",
                        f"skipped: {skipped[path.name]}",
                        None,
                    )
                )
            else:
                runs = []
                for rnd in range(1, max(1, args.workflow_rounds) + 1):
                    run = run_import(
                        api,
                        local,
                        new_repo(api, "wf-import", "local://bench"),
                        f"local://{path}/",
                        count,
                        check_local(path, count),
                        args.interval,
                        f"import, round {rnd}",
                    )
                    print_import(run)
                    runs.append(run)
                repo = new_repo(api, "wf-upload", "local://bench")
                with RssSampler(local.process.pid, args.interval) as rss:
                    srv0, cli0 = tree_cpu(local.process.pid)[1], process_cpu()
                    try:
                        up, commit = upload_and_commit(api, repo, path, count, args.concurrency)
                        upload_error = ""
                    except (BenchError, httpx.HTTPError) as err:
                        up = commit = 0.0
                        upload_error = str(err)
                    srv1, cli1 = tree_cpu(local.process.pid)[1], process_cpu()
                good = [r.seconds for r in runs if not r.error]
                if upload_error:
                    print(f"  uploadObject x {fmt_count(count)} + commit FAILED: {upload_error}")
                else:
                    print(
                        f"  {'uploadObject x ' + fmt_count(count) + ' + commit':<34} {up + commit:7.2f} s  "
                        f"{rate(count, up + commit):9,.0f} obj/s (uploads {up:.2f} s at {args.concurrency} "
                        f"in flight, commit {commit:.2f} s; "
                        f"cpu s: srv {srv1 - srv0:.1f} cli {cli1 - cli0:.1f}; "
                        f"srv rss {rss.baseline / 1024:.0f} -> peak {rss.peak / 1024:.0f} MiB)"
                    )
                failed = [r for r in runs if r.error]
                if upload_error:
                    targets.append(Target(f"workflow {fmt_count(count)}: uploads", "FAILED", False))
                if failed:
                    targets.append(
                        Target(f"workflow {fmt_count(count)}: import", f"FAILED: {failed[0].error}", False)
                    )
                if good:
                    med = statistics.median(good)
                    print(
                        f"  import median {med:.2f} s (rounds: {' '.join(f'{s:.2f}' for s in good)})"
                        + (
                            f"; upload + commit / import = {(up + commit) / med:.1f}x"
                            if not upload_error
                            else ""
                        )
                    )
                    targets.append(
                        Target(
                            f"workflow {fmt_count(count)}: import < {TARGET_WORKFLOW_SECONDS:g} s",
                            f"median {med:.2f} s",
                            med < TARGET_WORKFLOW_SECONDS,
                        )
                    )

        # ----------------------------------------------------------------- py-spy
        profile_lines: list[str] = []
        if args.py_spy and created:
            count = PROFILE_SIZE if PROFILE_SIZE in created else sorted(created)[0]
            print()
            print(f"py-spy: one more import of {fmt_count(count)} local objects, profiled (not a target)")
            profile_lines = profiled_import(
                api,
                local,
                Path(args.py_spy),
                new_repo(api, "prof", "local://bench"),
                f"local://{created[count]}/",
                count,
                check_local(created[count], count),
                args.interval,
            )
            for line in profile_lines:
                print(line)
        log_lines.append(("local server", scan_log(local.log_path)))
        api.close()
        apis.remove(api)
        local.stop()
        servers.remove(local)

        # ----------------------------------------------------------------- S3
        print()
        if args.skip_s3:
            print("S3: skipped (--skip-s3)")
            targets.append(
                Target(
                    f"S3 {fmt_count(s3_objects)}: import >= {TARGET_LISTING_SHARE:g}x listing rate",
                    "skipped (--skip-s3)",
                    None,
                )
            )
        else:
            check_postgres_dsn_local(args.postgres_dsn, check_loopback)
            moto = MotoServer(root / "moto.log").start()
            database = PostgresDatabase(args.postgres_dsn, prefix="limnos_import_bench").create()
            assert moto.process is not None
            moto_pid = moto.process.pid
            print(
                f"S3: moto on {moto.endpoint} (bucket {S3_BUCKET}), PostgreSQL database {database.name}",
                flush=True,
            )
            prefix = f"import-src-{uuid.uuid4().hex[:8]}/"
            cpu0 = tree_cpu(moto_pid)[1]
            written, seconds = create_keys(
                moto.endpoint, prefix, s3_objects, args.s3_threads, time.monotonic() + args.s3_create_limit
            )
            print(
                f"source: {fmt_count(written)} keys put in {seconds:.1f} s "
                f"({rate(written, seconds):,.0f} keys/s; boto3 put_object from {args.s3_threads} threads; "
                f"moto cpu {tree_cpu(moto_pid)[1] - cpu0:.1f} s)",
                flush=True,
            )
            if written < s3_objects:
                print(
                    f"  only {fmt_count(written)} of {fmt_count(s3_objects)} keys written within "
                    f"--s3-create-limit {args.s3_create_limit:g} s: importing those"
                )
            s3_server = ServerProcess(
                root / "server-s3", free_port(), args.workers, postgres_s3_env(database.dsn, moto.endpoint)
            )
            t0 = time.perf_counter()
            s3_server.start()
            servers.append(s3_server)
            s3_api = Api(s3_server.port)
            apis.append(s3_api)
            print(
                f"server: limnos run --workers {args.workers} on 127.0.0.1:{s3_server.port} "
                f"(PostgreSQL + S3; up in {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            db = database

            def pg_pids() -> list[int]:
                try:
                    return db.backend_pids()
                except Exception:  # noqa: BLE001 - only a figure
                    return []

            cpu0 = tree_cpu(moto_pid)[1]
            n, s = list_s3(moto.endpoint, prefix)
            moto_list_cpu = tree_cpu(moto_pid)[1] - cpu0
            if n != written:
                raise BenchError(f"listing s3://{S3_BUCKET}/{prefix} found {n} keys, expected {written}")
            listing = rate(n, s)
            print(f" {fmt_count(written)} objects")
            print(
                f"  {'listing: list_objects_v2 pages':<34} {s:7.2f} s  {listing:9,.0f} obj/s "
                f"(moto cpu {moto_list_cpu:.1f} s)",
                flush=True,
            )
            run = run_import(
                s3_api,
                s3_server,
                new_repo(s3_api, "imp-s3", f"s3://{S3_BUCKET}/bench-{uuid.uuid4().hex[:8]}"),
                f"s3://{S3_BUCKET}/{prefix}",
                written,
                check_s3(prefix, written, s3_objects),
                args.interval,
                "import",
                extra={"moto": lambda: [moto_pid], "pg": pg_pids},
            )
            print_import(run, listing)
            label = f"S3 {fmt_count(written)}: import >= {TARGET_LISTING_SHARE:g}x listing rate"
            if run.error:
                targets.append(Target(label, f"FAILED: {run.error}", False))
            else:
                share = run.rate / listing
                targets.append(
                    Target(
                        label,
                        f"{run.rate:,.0f} / {listing:,.0f} obj/s = {share:.2f}x",
                        share >= TARGET_LISTING_SHARE,
                    )
                )
            log_lines.append(("S3 server", scan_log(s3_server.log_path)))
            s3_api.close()
            apis.remove(s3_api)
            s3_server.stop()
            servers.remove(s3_server)

        # ----------------------------------------------------------------- targets
        print()
        print(
            "cpu s: CPU seconds used while the import ran, by the server's process tree (srv), this "
            "process (cli: polling, RSS sampling), moto and the PostgreSQL backends of the bench "
            "database where present, and the rest of the machine (other: someone else's work or the "
            "kernel's; more than a few tenths of a second makes that figure pessimistic)"
        )
        print()
        print("targets:")
        for t in targets:
            verdict = "not measured" if t.passed is None else ("PASS" if t.passed else "FAIL")
            print(f"  {t.name:<48} {t.measured:<40} {verdict}")
        ok = all(t.passed is not False for t in targets)
    except TimeLimit:
        print(f"\nimport_rate: time limit of {args.time_limit:g} s reached; servers stopped")
    except BenchError as err:
        print(f"\nimport_rate: {err}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        for a in apis:
            a.close()
        for server in servers:
            with contextlib.suppress(OSError):
                log_lines.append((f"server on port {server.port}", scan_log(server.log_path)))
            server.stop()
        if moto is not None:
            moto.stop()
        if database is not None:
            try:
                database.drop()
            except Exception as err:  # noqa: BLE001 - report, keep cleaning up
                print(f"could not drop database {database.name}: {err}")
        if args.keep:
            print(f"kept {root}")
        else:
            t0 = time.perf_counter()
            shutil.rmtree(root, ignore_errors=True)
            print(f"cleanup: {root} removed in {time.perf_counter() - t0:.1f} s")
    for name, lines in log_lines:
        if lines:
            print(f"{name} log: {len(lines)} line(s) at WARNING or above, e.g.:")
            for line in lines[:10]:
                print(f"  {line[:300]}")
        else:
            print(f"{name} log: no warnings or errors")
    print(f"client peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(cpu_line())
    print(busy_line())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
