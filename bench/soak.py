"""Soak test: mixed load on real ``limnos run`` servers, alone and beside idle and slow connections.

Two servers (SQLite + local blockstore, ``--workers`` worker processes each, default one per
core), each over a fresh data directory holding the same repository, take the same mixed
load by turns:

* **A**, alone;
* **B**, beside ``--idle`` connections (default 200) that sit open doing nothing, half of
  them after one keep-alive request, and ``--slow`` connections (default 50) that send a
  request a few bytes per second (``--slow-rate``, default 4 bytes/s), half of them a
  request head, half an upload body; all held from B's start to its stop.

The turns (``--slices`` per server, default 6) go A B B A A B..., so that the other work of
a shared machine, which comes and goes, weighs on both alike; ``--duration`` seconds per
server in all (default 60), the first turn of each after ``--warmup`` seconds not counted.

The mixed load is ``--concurrency`` connections (default 16) spread over ``--procs`` load
processes (default 2), plain HTTP/1.1 through ``api_load.py``'s client (``--client httpx``:
httpx), closed loop (each connection sends its next request when the answer has been
read). Each request is drawn at random in these proportions (``MIX``, or ``--mix``):

    stat    35%  statObject of a random existing path on branch main
    get     35%  getObject of the same kind of path
    upload  20%  uploadObject of 4 KiB at a new path of the connection's own branch
    commit   5%  commit of the connection's own branch (allow_empty: it may hold no upload)
    branch   3%  createBranch from main, a new name each time
    merge    2%  merge of the connection's own branch into one branch shared by all

A server-closed idle or slow connection is expected (a server may time them out): it is
counted and opened again, so that the counts stay at ``--idle`` and ``--slow``.

Printed for each server: operations/s per kind and in total, p50/p99 latency, answers that
were not 2xx by status, connection errors, the VmRSS of its workers when it came up, after
the warm-up, along its time under load and at the end, each worker's peak (VmHWM), the CPU
of its workers, of the load processes and of the rest of the machine; for B what became of
the idle and slow connections. Then the targets: the idle and slow connections cost under
10% of the throughput (B/A), the workers' memory stays flat on both (end within 10% + 16
MiB per worker of after the warm-up), no 5xx and no connection error of the mixed load.
Exit status 0 when all are met.

    python bench/soak.py             # 60 s per server in 6 turns, after 5 s of warm-up
    python bench/soak.py --quick     # smoke run: 6 s per server in 2 turns
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    TimeLimit,
    busy_line,
    cpu_line,
    cpu_times,
    filesystem_note,
    lake_path,
    on_alarm,
    rss_kib,
    scan_log,
)
from api_load import (  # noqa: E402
    REPOSITORY,
    HttpxClient,
    RawClient,
    ServerProcess,
    Target,
    cpu_by_pid,
    free_port,
    percentiles,
    prepare_in_process,
    spread,
)

MIX = (("stat", 35), ("get", 35), ("upload", 20), ("commit", 5), ("branch", 3), ("merge", 2))
KINDS = tuple(kind for kind, _ in MIX)


UPLOAD_SIZE = 4096
INTEGRATION_BRANCH = "soak-integration"  # every connection merges its branch here
SLOW_BRANCH = "soak-slow"  # where the slow uploads land, if one ever completes
SLOW_BODY_SIZE = 200  # bytes of a slow upload: 50 s at 4 bytes/s
CONNECT_TIMEOUT = 10.0

THROUGHPUT_RATIO = 0.90  # with idle and slow connections / alone
FLAT_RATIO = 1.10  # end RSS of the workers <= after warm-up x 1.10 + 16 MiB per worker
FLAT_MIB_PER_WORKER = 16.0
# The servers' cache of decoded ranges, per worker. Each commit and merge writes new ranges
# that land in it; at the server's default size (512 MiB) it is still filling when a run
# ends, and the workers' memory rises with it: the cache working, not a leak. Small, it
# holds far less, so that growth of anything else shows within a run.
DEFAULT_MEMORY_CACHE_MIB = 16.0

PEST_KINDS = ("idle", "idle-keepalive", "slow-head", "slow-body")


def parse_mix(text: str) -> tuple[int, ...]:
    """The weights of ``--mix`` (``stat=35,get=35,...``; a kind left out has weight 0)."""
    weights = dict.fromkeys(KINDS, 0)
    for part in text.split(","):
        kind, _, value = part.strip().partition("=")
        if kind not in weights or not value.isdigit():
            raise ValueError(f"{part.strip()!r}: expected KIND=WEIGHT with KIND among {', '.join(KINDS)}")
        weights[kind] = int(value)
    if not any(weights.values()):
        raise ValueError("at least one weight must be positive")
    return tuple(weights[kind] for kind in KINDS)


def describe_mix(weights: tuple[int, ...]) -> str:
    """The proportions of the mixed load, in %."""
    total = sum(weights)
    return ", ".join(f"{kind} {100 * w / total:.0f}%" for kind, w in zip(KINDS, weights, strict=True) if w)


def work_branch(conn: int) -> str:
    """The branch connection ``conn`` of the mixed load uploads to, commits and merges."""
    return f"soak-w{conn}"


# --------------------------------------------------------------------------- the mixed load


@dataclass
class LoadPlan:
    """What one load process does."""

    target: Target
    client: str
    proc: int
    first_conn: int  # global number of this process's first connection
    connections: int
    objects: int
    duration: float
    warmup: float
    seed: int
    weights: tuple[int, ...]  # of each of KINDS
    slice: int  # the server's turn of load: names made in different turns differ


@dataclass
class KindResult:
    """What was measured for one kind of request."""

    count: int = 0
    latencies: bytes = b""  # array('d') of seconds, every answered request
    statuses: dict[int, int] = field(default_factory=dict)  # non-2xx answers by status
    conn_errors: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass
class MixResult:
    """What one (or all merged) load process(es) measured."""

    kinds: dict[str, KindResult] = field(default_factory=dict)
    elapsed: float = 0.0  # measured seconds (after warm-up)
    cpu: float = 0.0  # CPU seconds of the load process(es), warm-up included
    wall: float = 0.0


def make_request(
    kind: str, conn: int, tag: str, rng: random.Random, objects: int
) -> tuple[str, str, bytes, str]:
    """``(method, target, body, content_type)`` of a request of connection ``conn``; ``tag``
    (unique to the request on its connection) names what it creates."""
    q = urllib.parse.quote
    repo = f"/api/v1/repositories/{q(REPOSITORY, safe='')}"
    if kind in ("stat", "get"):
        path = q(lake_path(rng.randrange(objects)), safe="/")
        return "GET", f"{repo}/refs/main/objects{'/stat' if kind == 'stat' else ''}?path={path}", b"", ""
    if kind == "upload":
        path = q(f"soak/c{conn}/obj-{tag}.bin", safe="/")
        body = rng.randbytes(UPLOAD_SIZE)
        return (
            "POST",
            f"{repo}/branches/{work_branch(conn)}/objects?path={path}",
            body,
            "application/octet-stream",
        )
    if kind == "commit":
        body = json.dumps({"message": f"soak {conn}/{tag}", "allow_empty": True}).encode()
        return "POST", f"{repo}/branches/{work_branch(conn)}/commits", body, "application/json"
    if kind == "branch":
        body = json.dumps({"name": f"soak-b{conn}-{tag}", "source": "main"}).encode()
        return "POST", f"{repo}/branches", body, "application/json"
    if kind == "merge":
        body = json.dumps({"message": f"soak merge {conn}/{tag}", "allow_empty": True}).encode()
        return "POST", f"{repo}/refs/{work_branch(conn)}/merge/{INTEGRATION_BRANCH}", body, "application/json"
    raise ValueError(f"unknown kind {kind!r}")


async def _mix(plan: LoadPlan) -> MixResult:
    loop = asyncio.get_running_loop()
    lat = {kind: array("d") for kind in KINDS}
    result = MixResult(kinds={kind: KindResult() for kind in KINDS})
    start_measure = float("inf")
    stop_at = loop.time() + plan.warmup + plan.duration

    def record(kind: str, t0: float, t1: float, status: int, body: bytes) -> None:
        if t0 < start_measure:
            return
        res = result.kinds[kind]
        res.count += 1
        lat[kind].append(t1 - t0)
        if not 200 <= status < 300:
            res.statuses[status] = res.statuses.get(status, 0) + 1
            if len(res.samples) < 3:
                res.samples.append(f"{status} {body[:200]!r}")

    def record_error(kind: str, t0: float, err: BaseException) -> None:
        if t0 < start_measure:
            return
        res = result.kinds[kind]
        res.conn_errors += 1
        if len(res.samples) < 3:
            res.samples.append(f"{type(err).__name__}: {err}")

    shared = HttpxClient(plan.target, plan.connections) if plan.client == "httpx" else None

    async def connection(conn_no: int) -> None:
        rng = random.Random(plan.seed * 100_003 + conn_no)
        raw = RawClient(plan.target) if shared is None else None
        conn: Any = None
        n = 0
        try:
            while loop.time() < stop_at:
                kind = rng.choices(KINDS, plan.weights)[0]
                req = make_request(kind, conn_no, f"{plan.slice}-{n}", rng, plan.objects)
                n += 1
                t0 = time.perf_counter()
                try:
                    if shared is not None:
                        status, text = await shared.request(*req)
                    else:
                        assert raw is not None
                        if conn is None or conn.closed:
                            conn = await asyncio.wait_for(raw.connect(), CONNECT_TIMEOUT)
                        status, text = await raw.request(conn, *req)
                except Exception as err:  # noqa: BLE001 - refused, reset, closed, timed out
                    record_error(kind, t0, err)
                    if raw is not None and conn is not None:
                        await raw.close(conn)
                    conn = None
                    await asyncio.sleep(0.05)  # a server that is gone is not hammered
                    continue
                record(kind, t0, time.perf_counter(), status, text)
        finally:
            if raw is not None and conn is not None:
                await raw.close(conn)

    tasks = [asyncio.ensure_future(connection(plan.first_conn + j)) for j in range(plan.connections)]
    await asyncio.sleep(plan.warmup)
    start_measure = time.perf_counter()
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start_measure
    if shared is not None:
        await shared.aclose()
    for kind in KINDS:
        result.kinds[kind].latencies = lat[kind].tobytes()
    return result


def _event_loop_runner():  # -> asyncio.run or uvloop.run
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run
    return uvloop.run


def run_mix(plan: LoadPlan) -> MixResult:
    """One load process: its connections for warm-up + duration (uvloop when available)."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result: MixResult = _event_loop_runner()(_mix(plan))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    result.wall = time.perf_counter() - t0
    result.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return result


def merge_results(parts: list[MixResult]) -> MixResult:
    """The results of all load processes as one."""
    merged = MixResult(kinds={kind: KindResult() for kind in KINDS})
    for part in parts:
        merged.elapsed = max(merged.elapsed, part.elapsed)
        merged.wall = max(merged.wall, part.wall)
        merged.cpu += part.cpu
        for kind, res in part.kinds.items():
            into = merged.kinds[kind]
            into.count += res.count
            into.latencies += res.latencies
            into.conn_errors += res.conn_errors
            for status, count in res.statuses.items():
                into.statuses[status] = into.statuses.get(status, 0) + count
            into.samples += res.samples[: max(0, 3 - len(into.samples))]
    return merged


# --------------------------------------------------------------------------- idle and slow connections


@dataclass
class PestPlan:
    """The idle and slow connections to hold open beside the load."""

    host: str
    port: int
    authorization: str
    idle: int
    slow: int
    rate: float  # bytes per second of a slow connection


@dataclass
class PestStats:
    """What happened to the idle and slow connections."""

    opened: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEST_KINDS, 0))
    closed_by_server: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEST_KINDS, 0))
    completed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEST_KINDS, 0))
    open_now: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEST_KINDS, 0))
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEST_KINDS, 0))
    statuses: dict[int, int] = field(default_factory=dict)  # answers the server sent them
    connect_errors: int = 0
    min_open: int = -1  # fewest open at once after all were first connected
    cpu: float = 0.0


def pest_mix(plan: PestPlan) -> list[str]:
    """The kind of each connection: half of the idle ones silent, half after one request;
    half of the slow ones trickle a request head, half an upload body."""
    silent = plan.idle - plan.idle // 2
    heads = plan.slow - plan.slow // 2
    return (
        ["idle"] * silent
        + ["idle-keepalive"] * (plan.idle // 2)
        + ["slow-head"] * heads
        + ["slow-body"] * (plan.slow // 2)
    )


async def _pests(plan: PestPlan, ready: Event, stop: Event) -> PestStats:
    loop = asyncio.get_running_loop()
    stats = PestStats()
    kinds = pest_mix(plan)
    for kind in kinds:
        stats.held[kind] += 1
    stopping: asyncio.Future[None] = loop.create_future()
    connected_once = [False] * len(kinds)
    host = f"{plan.host}:{plan.port}"
    step = 2  # bytes per write of a slow connection
    interval = step / plan.rate

    async def read_all(reader: asyncio.StreamReader) -> bytes:
        # Until the server closes the connection; what it sent (the head of it).
        data = b""
        try:
            while chunk := await reader.read(65536):
                if len(data) < 4096:
                    if not data and chunk.startswith(b"HTTP/"):
                        with contextlib.suppress(ValueError, IndexError):
                            status = int(chunk.split(b" ", 2)[1])
                            stats.statuses[status] = stats.statuses.get(status, 0) + 1
                    data += chunk
        except OSError:
            pass
        return data

    def request_bytes(kind: str, i: int, n: int) -> tuple[bytes, bytes]:
        """(head, body) of the request of connection ``i``; ``n`` counts its requests."""
        repo = f"/api/v1/repositories/{REPOSITORY}"
        auth = f"Authorization: {plan.authorization}\r\n"
        if kind == "idle-keepalive":
            return f"GET /api/v1/healthcheck HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), b""
        if kind == "slow-head":
            path = urllib.parse.quote(lake_path(i), safe="/")
            head = (
                f"GET {repo}/refs/main/objects/stat?path={path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
                "User-Agent: limnos-soak-slow\r\nConnection: close\r\n\r\n"
            )
            return head.encode(), b""
        path = f"slow/c{i}/obj-{n:06d}.bin"
        head = (
            f"POST {repo}/branches/{SLOW_BRANCH}/objects?path={path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
            "User-Agent: limnos-soak-slow\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {SLOW_BODY_SIZE}\r\nConnection: close\r\n\r\n"
        )
        return head.encode(), random.Random(i).randbytes(SLOW_BODY_SIZE)

    async def wait_read(reading: asyncio.Task[bytes], timeout: float | None) -> None:
        await asyncio.wait({reading, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def trickle(writer: asyncio.StreamWriter, reading: asyncio.Task[bytes], data: bytes) -> bool:
        """Send ``data`` ``step`` bytes at a time; False when stopped or the server closed first."""
        for k in range(0, len(data), step):
            await wait_read(reading, interval)
            if reading.done() or stopping.done():
                return False
            try:
                writer.write(data[k : k + step])
                await writer.drain()
            except OSError:
                return False
        return True

    async def hold(i: int, kind: str) -> None:
        n = 0
        await asyncio.sleep(random.random() * min(1.0, interval))  # not all in step
        while not stopping.done():
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(plan.host, plan.port), 10)
            except (OSError, TimeoutError):
                stats.connect_errors += 1
                await asyncio.sleep(0.2)
                continue
            stats.opened[kind] += 1
            stats.open_now[kind] += 1
            if not connected_once[i]:
                connected_once[i] = True
                if all(connected_once):
                    ready.set()
            reading = asyncio.ensure_future(read_all(reader))
            completed = False
            try:
                head, body = request_bytes(kind, i, n) if kind != "idle" else (b"", b"")
                n += 1
                if kind == "idle-keepalive":
                    writer.write(head)
                    await wait_read(reading, None)
                elif kind == "slow-head":
                    completed = await trickle(writer, reading, head)
                elif kind == "slow-body":
                    writer.write(head)
                    completed = await trickle(writer, reading, body)
                if completed:  # the whole request went: its answer, then the server closes
                    await wait_read(reading, None)
                    completed = reading.done() and reading.result().startswith(b"HTTP/")
                else:
                    await wait_read(reading, None)
            except OSError:
                pass
            finally:
                stats.open_now[kind] -= 1
                writer.close()
                reading.cancel()
            if stopping.done():
                return
            if completed:
                stats.completed[kind] += 1
            else:
                stats.closed_by_server[kind] += 1
                await asyncio.sleep(0.05)

    async def watch() -> None:
        while not stop.is_set():
            if all(connected_once):
                now = sum(stats.open_now.values())
                stats.min_open = now if stats.min_open < 0 else min(stats.min_open, now)
            await asyncio.sleep(0.1)
        stopping.set_result(None)

    if not kinds:
        ready.set()
    tasks = [asyncio.ensure_future(hold(i, kind)) for i, kind in enumerate(kinds)]
    await watch()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats


def run_pests(plan: PestPlan, ready: Event, stop: Event, out: Connection) -> None:
    """The idle and slow connections' process: hold them until ``stop``; send the stats to ``out``."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    stats: PestStats = _event_loop_runner()(_pests(plan, ready, stop))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    stats.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    out.send(stats)
    out.close()


# --------------------------------------------------------------------------- the two servers


@dataclass
class Settings:
    """What both servers are measured with."""

    workers: int
    procs: int
    concurrency: int
    client: str
    objects: int
    duration: float  # measured seconds per server, over all its slices
    warmup: float
    slices: int
    idle: int
    slow: int
    slow_rate: float
    sample_every: float
    memory_cache_mib: float | None  # committed.memory_cache.size_bytes of the servers (None: default)
    seed: int
    weights: tuple[int, ...]  # of each of KINDS


SETTLE = 0.5  # seconds of each later slice not measured (its connections are new)


def _rss(pids: list[int], field_name: str = "VmRSS") -> dict[int, int]:
    return {pid: rss_kib(pid, field_name) for pid in pids}


def prepare_branches(target: Target, connections: int) -> None:
    """The branches of the load, created through the API before it starts."""
    import httpx

    names = [work_branch(c) for c in range(connections)] + [INTEGRATION_BRANCH, SLOW_BRANCH]
    with httpx.Client(
        base_url=f"{target.base}/api/v1/repositories/{REPOSITORY}",
        headers={"Authorization": target.authorization},
        timeout=60,
    ) as http:
        for name in names:
            r = http.post("/branches", json={"name": name, "source": "main"})
            if r.status_code != 201:
                raise SystemExit(f"soak: createBranch {name} failed: {r.status_code} {r.text[:300]}")


class Deployment:
    """One server over its own data directory and what its share of the load measured;
    with ``pests``, the idle and slow connections are held beside it from start to stop."""

    def __init__(self, title: str, data_dir: Path, st: Settings, pests: bool) -> None:
        self.title = title
        self.data_dir = data_dir
        self.st = st
        self.with_pests = pests
        settings = {}
        if st.memory_cache_mib is not None:
            settings["LAKEFS_COMMITTED_MEMORY_CACHE_SIZE_BYTES"] = str(int(st.memory_cache_mib * 2**20))
        self.server = ServerProcess(data_dir, free_port(), st.workers, settings)
        self.target = Target("127.0.0.1", self.server.port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        self.pids: list[int] = []
        self.parts: list[MixResult] = []
        self.loaded = 0.0  # seconds this server has been under load so far
        self.rss_up: dict[int, int] = {}  # KiB per worker once it answers, before any load
        self.rss_warm: dict[int, int] | None = None  # after the warm-up of its first slice
        self.rss_end: dict[int, int] = {}
        self.hwm: dict[int, int] = {}  # VmHWM per worker at the end
        self.timeline: list[tuple[float, dict[int, int]]] = []  # (seconds under load, KiB per worker)
        self.server_cpu = 0.0  # CPU s of its workers during its slices
        self.machine_cpu = 0.0  # CPU s of the whole machine during its slices
        self.busy = ""
        self.restarted = False
        self.pests: PestStats | None = None
        self.pests_ready = True
        self.pests_seconds = 0.0
        self._pest_proc: BaseProcess | None = None
        self._pest_out: Connection | None = None
        self._stop = multiprocessing.get_context("fork").Event()
        self._pests_started = 0.0

    def start(self) -> None:
        """Build the repository, start the server and (with pests) the idle and slow connections."""
        print(f"\n== {self.title}", flush=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if (note := filesystem_note(self.data_dir)) is not None:
            print(f"  {note}")
        t0 = time.perf_counter()
        prepare_in_process(self.data_dir, self.st.objects)
        os.sync()  # the build's files reach the disk before the load's durable writes start
        print(
            f"  repository {REPOSITORY!r}: {self.st.objects:,} objects, "
            f"built in {time.perf_counter() - t0:.1f} s"
        )
        self.server.start()
        prepare_branches(self.target, self.st.concurrency)
        self.pids = self.server.worker_pids()
        self.rss_up = _rss(self.pids)
        print(
            f"  server: limnos run --workers {self.st.workers} on 127.0.0.1:{self.server.port}, "
            f"worker pids {self.pids}",
            flush=True,
        )
        if not self.with_pests:
            return
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Event()
        self._pest_out, send = ctx.Pipe(duplex=False)
        st = self.st
        plan = PestPlan(
            "127.0.0.1", self.server.port, self.target.authorization, st.idle, st.slow, st.slow_rate
        )
        self._pest_proc = ctx.Process(
            target=run_pests, args=(plan, ready, self._stop, send), name="soak-pests"
        )
        self._pests_started = time.monotonic()
        self._pest_proc.start()
        send.close()
        self.pests_ready = ready.wait(60)
        print(
            f"  {st.idle} idle and {st.slow} slow connections "
            + ("open" if self.pests_ready else "NOT all open after 60 s"),
            flush=True,
        )

    def run_slice(self, duration: float, warmup: float) -> None:
        """Load this server for ``warmup`` + ``duration`` seconds, sampling its workers' memory."""
        st = self.st
        if not self.busy:
            self.busy = busy_line()
        plans = []
        first = 0
        for proc, share in enumerate(spread(st.concurrency, st.procs)):
            plans.append(
                LoadPlan(
                    self.target,
                    st.client,
                    proc,
                    first,
                    share,
                    st.objects,
                    duration,
                    warmup,
                    st.seed + len(self.parts),
                    st.weights,
                    len(self.parts),
                )
            )
            first += share
        machine0 = cpu_times()
        cpu0 = cpu_by_pid(self.pids)
        t_start = time.monotonic()
        next_sample = 0.0
        with ProcessPoolExecutor(
            max_workers=st.procs, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            futures = [pool.submit(run_mix, plan) for plan in plans]
            while not all(f.done() for f in futures):
                now = time.monotonic() - t_start
                if now >= next_sample:
                    rss = _rss(self.pids)
                    self.timeline.append((self.loaded + now, rss))
                    if self.rss_warm is None and now >= warmup:
                        self.rss_warm = rss
                    next_sample += st.sample_every
                time.sleep(min(0.05, max(0.0, next_sample - now)))
            self.parts.append(merge_results([f.result() for f in futures]))
        cpu1 = cpu_by_pid(self.pids)
        machine1 = cpu_times()
        self.loaded += time.monotonic() - t_start
        self.rss_end = _rss(self.pids)
        self.timeline.append((self.loaded, self.rss_end))
        if self.rss_warm is None:
            self.rss_warm = self.rss_end
        self.server_cpu += sum(cpu1.get(pid, c) - c for pid, c in cpu0.items())
        if machine0 is not None and machine1 is not None:
            ticks = (machine1[0] - machine1[1]) - (machine0[0] - machine0[1])
            self.machine_cpu += ticks / os.sysconf("SC_CLK_TCK")

    @property
    def load(self) -> MixResult:
        """Everything its slices measured, as one result."""
        merged = merge_results(self.parts)
        merged.elapsed = sum(p.elapsed for p in self.parts)
        merged.wall = sum(p.wall for p in self.parts)
        return merged

    def stop(self) -> None:
        """Stop the idle and slow connections (collecting what happened to them), then the server."""
        if self.pids:
            self.hwm = _rss(self.pids, "VmHWM")
            self.restarted = set(self.server.worker_pids()) != set(self.pids)
        self._stop.set()
        if self._pest_proc is not None:
            if self._pest_out is not None and self._pest_out.poll(60):
                with contextlib.suppress(EOFError):
                    self.pests = self._pest_out.recv()
            self._pest_proc.join(10)
            if self._pest_proc.is_alive():
                self._pest_proc.kill()
                self._pest_proc.join()
            self.pests_seconds = time.monotonic() - self._pests_started
            self._pest_proc = None
        self.server.stop()
        lines = scan_log(self.server.log_path)
        if lines:
            print(f"  {self.title}: server log has {len(lines)} line(s) at WARNING or above, e.g.:")
            for line in lines[:5]:
                print(f"    {line[:200]}")


def schedule(slices: int) -> list[int]:
    """The order in which the two servers (0: alone, 1: beside idle and slow connections) take
    the load: 0 1 1 0 0 1 1 0..., so that a trend of the machine's other work weighs on both alike."""
    order = []
    for k in range(slices):
        order += [0, 1] if k % 2 == 0 else [1, 0]
    return order


def run_both(st: Settings, root: Path) -> list[Deployment]:
    """Start both servers, give them the load by turns, stop them."""
    both = [
        Deployment("alone: the mixed load only", root / "alone", st, pests=False),
        Deployment(
            f"with {st.idle} idle and {st.slow} slow connections", root / "with-idle-slow", st, pests=True
        ),
    ]
    try:
        for dep in both:
            dep.start()
        per_slice = st.duration / st.slices
        print(
            f"\n  {st.slices} slice(s) of {per_slice:g} s per server, by turns "
            f"({' '.join('AB'[i] for i in schedule(st.slices))}; A alone, B with), the first of each "
            f"after {st.warmup:g} s of warm-up, the others after {SETTLE:g} s",
            flush=True,
        )
        for i in schedule(st.slices):
            dep = both[i]
            warmup = st.warmup if not dep.parts else SETTLE
            print(f"  {'AB'[i]}: {warmup:g} s + {per_slice:g} s...", flush=True)
            dep.run_slice(per_slice, warmup)
    finally:
        for dep in both:
            dep.stop()
    return both


# --------------------------------------------------------------------------- reporting


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def rate(count: int, elapsed: float) -> float:
    return count / elapsed if elapsed else 0.0


def total_ops(res: MixResult) -> int:
    return sum(k.count for k in res.kinds.values())


def print_run(run: Deployment, st: Settings) -> dict[str, bool]:
    """The figures of one server; the verdict of its own targets (memory flat, no 5xx)."""
    load = run.load
    print(f"\n{run.title}: {load.elapsed:.1f} s measured in {len(run.parts)} slice(s)")
    print(
        f"{'kind':<7} {'share':>6} {'ops':>8} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'conn err':>9}"
    )
    all_lat = b""
    for kind, weight in zip(KINDS, st.weights, strict=True):
        if not weight:
            continue
        res = load.kinds[kind]
        p = percentiles(res.latencies)
        all_lat += res.latencies
        print(
            f"{kind:<7} {100 * weight / sum(st.weights):>5.0f}% {res.count:>8,} "
            f"{rate(res.count, load.elapsed):>8,.1f} "
            f"{p['p50']:>8.2f} {p['p99']:>8.2f} {sum(res.statuses.values()):>8} {res.conn_errors:>9}"
        )
    p = percentiles(all_lat)
    non2xx = {}
    for res in load.kinds.values():
        for status, count in res.statuses.items():
            non2xx[status] = non2xx.get(status, 0) + count
    conn_errors = sum(k.conn_errors for k in load.kinds.values())
    print(
        f"{'all':<7} {'':>6} {total_ops(load):>8,} {rate(total_ops(load), load.elapsed):>8,.1f} "
        f"{p['p50']:>8.2f} {p['p99']:>8.2f} {sum(non2xx.values()):>8} {conn_errors:>9}"
    )
    if non2xx:
        print(
            "  answers that were not 2xx, by status: "
            + ", ".join(f"{s}: {c}" for s, c in sorted(non2xx.items()))
        )
    for kind in KINDS:
        for sample in load.kinds[kind].samples:
            print(f"    {kind} sample: {sample}")

    # Memory: the workers' VmRSS along the time this server was under load.
    pids = run.pids
    rss_warm = run.rss_warm or {}
    total = {
        name: sum(d.values()) for name, d in (("up", run.rss_up), ("warm", rss_warm), ("end", run.rss_end))
    }
    marks = []
    span = run.timeline[-1][0] if run.timeline else 0.0
    for k in range(1, 8):  # seven points between the warm-up and the end
        at = st.warmup + (span - st.warmup) * k / 8
        point = next(((t, rss) for t, rss in run.timeline if t >= at), None)
        if point is not None:
            marks.append(f"{point[0]:.{0 if span >= 30 else 1}f} s {mib(sum(point[1].values()))}")
    print(
        f"  memory, VmRSS of the {len(pids)} worker(s) summed (MiB), by seconds under load: server up "
        f"{mib(total['up'])}; after warm-up ({st.warmup:g} s) {mib(total['warm'])}; then "
        + ", ".join(marks)
        + f"; end ({span:.0f} s) {mib(total['end'])}"
    )
    print(
        "  per worker (MiB, up / after warm-up / end / peak VmHWM): "
        + "; ".join(
            f"pid {pid} {mib(run.rss_up.get(pid, 0))} / {mib(rss_warm.get(pid, 0))} / "
            f"{mib(run.rss_end.get(pid, 0))} / {mib(run.hwm.get(pid, 0))}"
            for pid in pids
        )
    )
    if run.restarted:
        print("  WARNING: a worker process was replaced during the run (did one die?)")
    allowed = total["warm"] * FLAT_RATIO + FLAT_MIB_PER_WORKER * 1024 * len(pids)
    flat = total["end"] <= allowed
    print(
        f"  memory flat: end {mib(total['end'])} MiB <= after warm-up x {FLAT_RATIO:g} + "
        f"{FLAT_MIB_PER_WORKER:g} MiB x {len(pids)} worker(s) = {mib(allowed)} MiB: "
        + ("PASS" if flat else "FAIL")
    )

    # CPU shares over its slices (warm-up included), in % of one core.
    wall = load.wall or 1.0
    other = max(0.0, run.machine_cpu - run.server_cpu - load.cpu)
    print(
        f"  CPU during its slices, % of one core: server {100 * run.server_cpu / wall:.0f}%, "
        f"load {100 * load.cpu / wall:.0f}%, everything else on the machine {100 * other / wall:.0f}% "
        f"(the other server and the idle/slow clients included; {os.cpu_count()} cores)"
    )
    if run.pests is not None and run.pests_seconds:
        print(
            f"  the idle/slow clients used {100 * run.pests.cpu / run.pests_seconds:.1f}% of one core "
            f"over their {run.pests_seconds:.0f} s"
        )

    five = sum(c for s, c in non2xx.items() if s >= 500)
    if run.pests is not None:
        ps = run.pests
        five += sum(c for s, c in ps.statuses.items() if s >= 500)
        idle_closed = ps.closed_by_server["idle"] + ps.closed_by_server["idle-keepalive"]
        slow_closed = ps.closed_by_server["slow-head"] + ps.closed_by_server["slow-body"]
        print(
            f"  idle connections: {st.idle} held ({ps.held['idle']} silent, {ps.held['idle-keepalive']} "
            f"after one keep-alive healthcheck); opened {ps.opened['idle'] + ps.opened['idle-keepalive']}, "
            f"closed by the server {idle_closed} (silent {ps.closed_by_server['idle']}, "
            f"keep-alive {ps.closed_by_server['idle-keepalive']}), each opened again"
        )
        print(
            f"  slow connections: {st.slow} held at {st.slow_rate:g} bytes/s ({ps.held['slow-head']} "
            f"trickling a request head, {ps.held['slow-body']} an upload body of {SLOW_BODY_SIZE} bytes); "
            f"requests completed {ps.completed['slow-head'] + ps.completed['slow-body']}, "
            f"closed by the server {slow_closed} (head {ps.closed_by_server['slow-head']}, "
            f"body {ps.closed_by_server['slow-body']}), each opened again"
        )
        answers = ", ".join(f"{s}: {c}" for s, c in sorted(ps.statuses.items())) or "none"
        print(
            f"  answers to the idle/slow connections by status: {answers}; connect errors "
            f"{ps.connect_errors}; fewest open at once during the run {max(0, ps.min_open)} of "
            f"{st.idle + st.slow}"
        )
    elif run.with_pests:
        print("  WARNING: no report from the idle/slow connections' process")
    return {"flat": flat, "no5xx": five == 0, "noconn": conn_errors == 0, "ready": run.pests_ready}


def print_summary(base: Deployment, pest: Deployment, verdicts: list[dict[str, bool]], st: Settings) -> bool:
    """The comparison and the targets; whether all are met."""
    print("\ncomparison: with idle and slow connections / alone (ops/s)")
    for kind in (*(k for k, w in zip(KINDS, st.weights, strict=True) if w), "all"):
        if kind == "all":
            a, b = total_ops(base.load), total_ops(pest.load)
        else:
            a, b = base.load.kinds[kind].count, pest.load.kinds[kind].count
        ra, rb = rate(a, base.load.elapsed), rate(b, pest.load.elapsed)
        print(f"  {kind:<7} {ra:>9,.1f} {rb:>9,.1f}  {rb / ra if ra else float('nan'):.2f}")
    ra = rate(total_ops(base.load), base.load.elapsed)
    rb = rate(total_ops(pest.load), pest.load.elapsed)
    ratio = rb / ra if ra else 0.0
    ok_ratio = ratio >= THROUGHPUT_RATIO and all(v["ready"] for v in verdicts)
    ok_flat = all(v["flat"] for v in verdicts)
    ok_5xx = all(v["no5xx"] for v in verdicts)
    ok_conn = all(v["noconn"] for v in verdicts)
    print("\ntargets:")
    print(
        f"  idle + slow connections cost < {100 * (1 - THROUGHPUT_RATIO):.0f}% of throughput: "
        f"ratio {ratio:.2f} >= {THROUGHPUT_RATIO:g} {'PASS' if ok_ratio else 'FAIL'}"
        + ("" if all(v["ready"] for v in verdicts) else " (not all idle/slow connections could be opened)")
    )
    print(f"  memory of the workers flat on both servers: {'PASS' if ok_flat else 'FAIL'}")
    print(f"  no 5xx answer (mixed load and idle/slow connections): {'PASS' if ok_5xx else 'FAIL'}")
    print(f"  no connection error in the mixed load: {'PASS' if ok_conn else 'FAIL'}")
    return ok_ratio and ok_flat and ok_5xx and ok_conn


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cores = os.cpu_count() or 1
    parser.add_argument(
        "--duration",
        "-d",
        type=float,
        help="measured seconds per server, over all its slices (default 60; 6 with --quick)",
    )
    parser.add_argument(
        "--slices",
        type=int,
        help="turns of load each server takes, alternately (default 6; 2 with --quick)",
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds of load before measuring (default 5; 1.5 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 10,000 objects, 6 s per server in 2 slices"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=cores,
        help="worker processes of the server (default: cores, %(default)s)",
    )
    parser.add_argument("--procs", type=int, default=2, help="load processes (default 2)")
    parser.add_argument(
        "--concurrency", "-c", type=int, default=16, help="connections of the mixed load, in all (default 16)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="HTTP client of the mixed load (default raw: api_load.py's asyncio + httptools one)",
    )
    parser.add_argument(
        "--mix",
        default=",".join(f"{kind}={weight}" for kind, weight in MIX),
        help="weights of the kinds of request (default %(default)s)",
    )
    parser.add_argument(
        "--memory-cache",
        type=float,
        default=DEFAULT_MEMORY_CACHE_MIB,
        metavar="MIB",
        help="committed.memory_cache.size_bytes of the servers, in MiB per worker (default "
        "%(default)g; 0: the server's own default, 512)",
    )
    parser.add_argument("--objects", type=int, help="objects on main (default 100,000; 10,000 with --quick)")
    parser.add_argument("--idle", type=int, default=200, help="idle connections (default 200)")
    parser.add_argument("--slow", type=int, default=50, help="slow connections (default 50)")
    parser.add_argument(
        "--slow-rate", type=float, default=4.0, help="bytes per second a slow connection sends (default 4)"
    )
    parser.add_argument(
        "--time-limit", type=float, help="stop everything after this many seconds (default 900)"
    )
    parser.add_argument(
        "--data-dir", help="where to put the two runs' data (kept); default a temporary directory"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    duration = args.duration if args.duration is not None else (6.0 if args.quick else 60.0)
    warmup = args.warmup if args.warmup is not None else (1.5 if args.quick else 5.0)
    objects = args.objects or (10_000 if args.quick else 100_000)
    time_limit = args.time_limit if args.time_limit is not None else 900.0
    slices = args.slices if args.slices is not None else (2 if args.quick else 6)
    if slices <= 0:
        parser.error("slices must be positive")
    if duration <= 0 or warmup < 0 or objects <= 0 or time_limit <= 0 or args.slow_rate <= 0:
        parser.error("duration, objects, time-limit and slow-rate must be positive, warmup not negative")
    if args.workers <= 0 or args.procs <= 0 or args.concurrency < args.procs:
        parser.error("workers and procs must be positive, concurrency at least procs")
    if args.idle < 0 or args.slow < 0:
        parser.error("idle and slow must not be negative")
    try:
        weights = parse_mix(args.mix)
    except ValueError as err:
        parser.error(f"--mix: {err}")
    st = Settings(
        args.workers,
        args.procs,
        args.concurrency,
        args.client,
        objects,
        duration,
        warmup,
        slices,
        args.idle,
        args.slow,
        args.slow_rate,
        0.5 if duration <= 20 else 1.0,
        args.memory_cache or None,
        args.seed,
        weights,
    )
    print("Limnos soak test")
    print(cpu_line())
    print(
        f"server: (SQLite, local) x {st.workers} worker(s), cache of decoded ranges "
        + (f"{st.memory_cache_mib:g} MiB" if st.memory_cache_mib else "at its default size")
        + f" per worker; mixed load: {st.concurrency} connections over "
        f"{st.procs} process(es), client {st.client}, {st.duration:g} s per server in {st.slices} slice(s); "
        "mix: " + describe_mix(st.weights)
    )
    print(
        f"two servers: A alone, B beside {st.idle} idle and {st.slow} slow connections "
        f"({st.slow_rate:g} bytes/s); "
        f"time limit {time_limit:g} s"
    )

    temp_dir: Path | None = None
    if args.data_dir:
        root = Path(args.data_dir)
        root.mkdir(parents=True, exist_ok=True)
    else:
        temp_dir = root = Path(tempfile.mkdtemp(prefix="limnos-soak-"))
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    runs: list[Deployment] = []
    try:
        runs = run_both(st, root)
    except TimeLimit:
        print(f"\nsoak: time limit of {time_limit:g} s reached; servers stopped")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if temp_dir is not None:
            if args.keep:
                print(f"kept {temp_dir}")
            else:
                shutil.rmtree(temp_dir, ignore_errors=True)

    verdicts = [print_run(run, st) for run in runs]
    ok = len(runs) == 2 and print_summary(runs[0], runs[1], verdicts, st)
    print()
    print(
        cpu_line() + f"; {st.workers} worker(s) per server; the load processes and the idle/slow "
        "clients share the machine with the servers"
    )
    for run in runs:
        print(f"{run.title}: {run.busy}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
