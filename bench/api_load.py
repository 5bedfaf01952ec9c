"""HTTP load test of Limnos servers: random reads, small writes, branch creations.

One run measures two topologies one after the other (``--topology local|postgres-s3|both``,
default both) and prints a table for each, then a comparison (req/s and p99 per
scenario, and their ratios):

* (SQLite, local): one ``limnos run --workers N`` (default: one worker per core) over a
  temporary data directory (SQLite metadata, local blockstore);
* (PostgreSQL, S3): ``--servers`` servers (default 2) with ``--workers-per-server``
  workers each (default cores/2), on one fresh PostgreSQL database (created through
  ``--postgres-dsn``, dropped at the end) and one bucket of a moto S3 server process
  started on loopback. The load generator spreads its connections round-robin over
  the servers. moto is an in-memory S3 in Python on the same machine: these figures
  include its cost, they are not those of a real S3.

For each topology:

1. a repository ``bench`` is created **in-process, through the engine** opened as
   ``limnos.server.services.build`` opens it from the topology's configuration, whose ``main``
   commit holds ``--objects`` objects (default 1,000,000; the tree is built directly
   in the committed store, the objects' bytes are a handful of shared physical
   files); a branch ``bench-writes`` and a tag ``bench-v1`` are created alongside;
2. the server(s) start on free loopback ports;
3. each scenario, at ``--concurrency`` requests in flight (default 32), for
   ``--duration`` seconds (default 10) after ``--warmup`` seconds not counted:

   ``stat``      statObject of a random existing path on the commit id
   ``get``       getObject of a random existing path on the commit id
   ``upload``    uploadObject of 1 KiB (application/octet-stream) at a new path of
                 branch ``bench-writes``
   ``branch``    createBranch from ``main`` with a unique name
   ``repo``      getRepository (not in the default set: the cost floor of one
                 authenticated request)

Against a server that is already running, pass ``--url`` and credentials; with
``--data-dir`` (the server's own data directory, on this machine) the repository
is built in-process as above, otherwise it is filled through the API (uploads and
a commit, so keep ``--objects`` small).

The load generator is one process running asyncio on uvloop with hand-written
HTTP/1.1 keep-alive connections (one per in-flight request) and the httptools C
parser; ``--client httpx`` uses ``httpx.AsyncClient`` instead, ``--procs`` splits
the connections over several processes. Latency is measured per request, from
writing it to having read the whole response (closed loop: a new request starts
when one ends). Any non-2xx answer or connection failure counts as an error.

Only loopback addresses are used or accepted. Every scenario is bounded in time
(``--duration``) and in requests (``--max-requests``), the whole run by
``--time-limit``.

    python bench/api_load.py                 # both topologies, 1M objects, 10 s per scenario
    python bench/api_load.py --quick         # 10,000 objects, 2 s per scenario
    python bench/api_load.py --topology postgres-s3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from array import array
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    DEFAULT_POSTGRES_DSN,
    POSTGRES_DSN_ENV,
    S3_BUCKET,
    SECRET_ACCESS_KEY,
    MotoServer,
    PostgresDatabase,
    busy_line,
    check_postgres_dsn_local,
    close_services,
    cpu_line,
    cpu_times,
    create_lake_repository,
    filesystem_note,
    lake_path,
    open_services,
    postgres_s3_env,
    server_env,
)

REPOSITORY = "bench"
WRITE_BRANCH = "bench-writes"
TAG = "bench-v1"
UPLOAD_SIZE = 1024
DEFAULT_SCENARIOS = ("stat", "get", "upload", "branch")
ALL_SCENARIOS = (*DEFAULT_SCENARIOS, "repo")

TARGETS = {  # scenario -> minimum requests/s
    "stat": 2000,
    "get": 2000,
    "upload": 1000,
    "branch": 1000,
}
TARGET_P99_MS = 25.0
TARGET_CONCURRENCY = 32

REQUEST_TIMEOUT = 30.0


# --------------------------------------------------------------------------- requests


@dataclass
class Target:
    """Where and as whom to send requests."""

    host: str
    port: int
    access_key_id: str
    secret_access_key: str

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authorization(self) -> str:
        raw = f"{self.access_key_id}:{self.secret_access_key}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Scenario:
    """A kind of request; ``make(n)`` gives the n-th request of one load process."""

    name: str
    repository: str
    ref: str = ""
    objects: int = 0
    run_id: str = ""
    proc: int = 0
    seed: int = 0
    payload: bytes = b""
    _rng: random.Random | None = field(default=None, repr=False)

    def make(self, n: int) -> tuple[str, str, bytes, str]:
        """``(method, target, body, content_type)`` of request ``n``."""
        if self._rng is None:
            self._rng = random.Random(self.seed * 1000 + self.proc)
        repo = urllib.parse.quote(self.repository, safe="")
        q = urllib.parse.quote
        name = self.name
        if name in ("stat", "get"):
            path = q(lake_path(self._rng.randrange(self.objects)), safe="/")
            suffix = "/stat" if name == "stat" else ""
            return "GET", f"/api/v1/repositories/{repo}/refs/{self.ref}/objects{suffix}?path={path}", b"", ""
        if name == "upload":
            path = q(f"uploads/run-{self.run_id}/p{self.proc}/obj-{n:08d}.bin", safe="/")
            return (
                "POST",
                f"/api/v1/repositories/{repo}/branches/{q(self.ref, safe='')}/objects?path={path}",
                self.payload,
                "application/octet-stream",
            )
        if name == "populate":
            path = q(lake_path(n), safe="/")
            return (
                "POST",
                f"/api/v1/repositories/{repo}/branches/{q(self.ref, safe='')}/objects?path={path}",
                self.payload,
                "application/octet-stream",
            )
        if name == "branch":
            body = json.dumps({"name": f"b-{self.run_id}-{self.proc}-{n}", "source": self.ref}).encode()
            return "POST", f"/api/v1/repositories/{repo}/branches", body, "application/json"
        if name == "repo":
            return "GET", f"/api/v1/repositories/{repo}", b"", ""
        if name == "yardstick":
            # bench/yardstick.py: the endpoint's name travels in ``repository``.
            return "GET", f"/{self.repository}", b"", ""
        raise ValueError(f"unknown scenario {name!r}")


# --------------------------------------------------------------------------- raw client


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.body: list[bytes] = []
        self.keep_body = False  # only error answers are kept (for the report)
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception as err:  # noqa: BLE001 - malformed response: fail the request
            self._fail(err)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("connection closed by the server"))

    def _fail(self, err: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(err)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = []
        self.keep_body = False

    def on_headers_complete(self) -> None:
        self.keep_body = not 200 <= self.parser.get_status_code() < 300

    def on_body(self, body: bytes) -> None:
        if self.keep_body:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())


class RawClient:
    """Requests over hand-written keep-alive connections (no per-request allocation beyond bytes)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.head = (
            f"Host: {target.host}:{target.port}\r\nAuthorization: {target.authorization}\r\n"
            "User-Agent: limnos-bench\r\n"
        )

    async def connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.target.host, self.target.port)
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    async def request(
        self, conn: _Conn, method: str, target: str, body: bytes, ctype: str
    ) -> tuple[int, bytes]:
        """Send one request on ``conn``; its status and, for an error status, its body."""
        head = f"{method} {target} HTTP/1.1\r\n{self.head}"
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
            if ctype:
                head += f"Content-Type: {ctype}\r\n"
        data = (head + "\r\n").encode() + body
        waiter = asyncio.get_running_loop().create_future()
        conn.waiter = waiter
        assert conn.transport is not None
        conn.transport.write(data)
        status = await asyncio.wait_for(waiter, REQUEST_TIMEOUT)
        return status, b"".join(conn.body)

    async def close(self, conn: _Conn) -> None:
        if conn.transport is not None:
            conn.transport.close()


class HttpxClient:
    """The same requests through ``httpx.AsyncClient`` (for comparing client overhead)."""

    def __init__(self, target: Target, connections: int) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=target.base,
            headers={"Authorization": target.authorization},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=REQUEST_TIMEOUT,
        )

    async def request(self, method: str, target: str, body: bytes, ctype: str) -> tuple[int, bytes]:
        headers = {"Content-Type": ctype} if ctype else None
        resp = await self.client.request(method, target, content=body or None, headers=headers)
        return resp.status_code, resp.content

    async def aclose(self) -> None:
        await self.client.aclose()


# --------------------------------------------------------------------------- one load process


@dataclass
class Result:
    """What one load process measured."""

    count: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: bytes = b""  # array('d') of seconds
    samples: list[str] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds the load process used (warmup included)
    wall: float = 0.0  # seconds the load process ran (warmup included)


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` shares differing by at most one (the first ones larger)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def _run(
    scenario: Scenario,
    targets: list[Target],
    offset: int,
    client_kind: str,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
    fixed_indices: range | None,
) -> Result:
    """Load ``targets`` with ``concurrency`` connections; connection ``j`` goes to server
    ``(offset + j) % len(targets)`` (round-robin over the servers)."""
    lat = array("d")
    result = Result()
    counter = 0
    loop = asyncio.get_running_loop()
    measuring = False
    stop_at = 0.0

    def next_index() -> int | None:
        nonlocal counter
        if fixed_indices is not None:
            if counter >= len(fixed_indices):
                return None
            n = fixed_indices[counter]
        else:
            n = counter
        counter += 1
        return n

    def record(t0: float, t1: float, status: int, body: bytes) -> None:
        if not measuring or t0 < start_measure:
            return
        lat.append(t1 - t0)
        result.count += 1
        if not 200 <= status < 300:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"{status} {body[:300]!r}")

    def record_exc(t0: float, err: BaseException) -> None:
        if not measuring or t0 < start_measure:
            return
        result.count += 1
        result.errors += 1
        if len(result.samples) < 5:
            result.samples.append(f"{type(err).__name__}: {err}")

    async def worker_raw(client: RawClient) -> None:
        conn = await client.connect()
        try:
            while True:
                now = loop.time()
                if now >= stop_at or result.count >= max_requests:
                    return
                n = next_index()
                if n is None:
                    return
                method, tgt, body, ctype = scenario.make(n)
                t0 = time.perf_counter()
                try:
                    if conn.closed:
                        conn = await client.connect()
                    status, text = await client.request(conn, method, tgt, body, ctype)
                except (OSError, TimeoutError) as err:
                    record_exc(t0, err)
                    await client.close(conn)
                    try:
                        conn = await client.connect()
                    except OSError as again:  # the server is gone: stop this connection
                        record_exc(time.perf_counter(), again)
                        return
                    continue
                record(t0, time.perf_counter(), status, text)
        finally:
            await client.close(conn)

    async def worker_httpx(client: HttpxClient) -> None:
        while True:
            if loop.time() >= stop_at or result.count >= max_requests:
                return
            n = next_index()
            if n is None:
                return
            method, tgt, body, ctype = scenario.make(n)
            t0 = time.perf_counter()
            try:
                status, text = await client.request(method, tgt, body, ctype)
            except Exception as err:  # noqa: BLE001 - any transport failure is an error
                record_exc(t0, err)
                continue
            record(t0, time.perf_counter(), status, text)

    start_measure = float("inf")
    stop_at = loop.time() + warmup + duration
    if fixed_indices is not None:
        measuring, start_measure = True, 0.0
    n_targets = len(targets)
    hcs: list[HttpxClient] = []
    if client_kind == "raw":
        raws = [RawClient(t) for t in targets]
        tasks = [
            asyncio.ensure_future(worker_raw(raws[(offset + j) % n_targets])) for j in range(concurrency)
        ]
    else:
        per_target = [0] * n_targets
        for j in range(concurrency):
            per_target[(offset + j) % n_targets] += 1
        hcs = [HttpxClient(t, max(1, c)) for t, c in zip(targets, per_target, strict=True)]
        tasks = [
            asyncio.ensure_future(worker_httpx(hcs[(offset + j) % n_targets])) for j in range(concurrency)
        ]
    if fixed_indices is None:
        await asyncio.sleep(warmup)
        measuring = True
        start_measure = time.perf_counter()
    t_start = time.perf_counter() if fixed_indices is None else None
    t_first = time.perf_counter()
    await asyncio.gather(*tasks)
    t_end = time.perf_counter()
    for hc in hcs:
        await hc.aclose()
    result.elapsed = t_end - (t_start if t_start is not None else t_first)
    result.latencies = lat.tobytes()
    return result


def run_load(
    scenario: Scenario,
    targets: list[Target],
    client_kind: str,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
    fixed_indices: range | None = None,
    offset: int = 0,
) -> Result:
    """Run one load process's share of a scenario (uvloop when available)."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    import resource

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result: Result = runner(
        _run(
            scenario, targets, offset, client_kind, concurrency, duration, warmup, max_requests, fixed_indices
        )
    )
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    result.wall = time.perf_counter() - t0
    result.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return result


def run_scenario(
    scenario: Scenario,
    targets: list[Target],
    client_kind: str,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
    procs: int,
) -> Result:
    """Run a scenario over ``procs`` load processes; the merged result.

    The ``concurrency`` connections are spread round-robin over ``targets`` (also across
    load processes: connection ``j`` of all of them goes to ``targets[j % len(targets)]``).
    """
    if procs <= 1:
        return run_load(scenario, targets, client_kind, concurrency, duration, warmup, max_requests)
    shares = spread(concurrency, procs)
    with ProcessPoolExecutor(max_workers=procs, mp_context=get_context("fork")) as pool:
        futures = []
        offset = 0
        for i, share in enumerate(shares):
            s = Scenario(**{**scenario.__dict__, "proc": i, "_rng": None})
            futures.append(
                pool.submit(
                    run_load,
                    s,
                    targets,
                    client_kind,
                    share,
                    duration,
                    warmup,
                    max(1, max_requests // procs),
                    None,
                    offset,
                )
            )
            offset += share
        parts = [f.result() for f in futures]
    merged = Result()
    lat = array("d")
    for p in parts:
        merged.count += p.count
        merged.errors += p.errors
        merged.samples += p.samples
        merged.elapsed = max(merged.elapsed, p.elapsed)
        merged.wall = max(merged.wall, p.wall)
        merged.cpu += p.cpu
        lat.frombytes(p.latencies)
    merged.latencies = lat.tobytes()
    return merged


# --------------------------------------------------------------------------- reporting


def percentiles(latencies: bytes) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in milliseconds (nearest rank)."""
    values = sorted(array("d", latencies))
    if not values:
        return {k: float("nan") for k in ("p50", "p90", "p99", "p99.9", "max")}
    out = {}
    for label, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999)):
        idx = min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))
        out[label] = values[idx] * 1e3
    out["max"] = values[-1] * 1e3
    return out


# --------------------------------------------------------------------------- server and data


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` (Linux /proc; 0 elsewhere)."""
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of ``pids`` still alive (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_loopback(host: str) -> None:
    """Refuse anything but loopback addresses."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as err:
        raise SystemExit(f"api_load: cannot resolve {host!r}: {err}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not addr.is_loopback:
            raise SystemExit(f"api_load: {host!r} is not a loopback address; refusing to load it")


class ServerProcess:
    """``limnos run`` over a data directory (and a backend), in its own process group."""

    def __init__(
        self, data_dir: Path, port: int, workers: int, backend: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.backend = backend
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}
        env.update(server_env(self.data_dir, self.port, self.backend))
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "limnos.cli.main", "run", "--workers", str(self.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()}")
            try:
                health = f"http://127.0.0.1:{self.port}/api/v1/healthcheck"
                if httpx.get(health, timeout=1).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def worker_pids(self) -> list[int]:
        """Pids of the server's worker processes (children of the supervisor)."""
        if self.process is None:
            return []
        try:
            out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        except FileNotFoundError:
            return []
        pids = []
        for p in out.stdout.split():
            try:
                cmdline = Path(f"/proc/{p}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in cmdline:
                pids.append(int(p))
        return pids or [self.process.pid]  # one worker: uvicorn serves in the process itself

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None


def start_py_spy(
    out_dir: Path, scenario: str, servers: list[ServerProcess], seconds: float, idle: bool
) -> list[subprocess.Popen[bytes]]:
    """``py-spy record`` of every worker of our servers for ``seconds`` (raw collapsed stacks)."""
    if not servers:
        print("  --py-spy needs the server started by this script; not profiling")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    procs = []
    for server in servers:
        for pid in server.worker_pids():
            out = out_dir / f"{scenario}-{pid}.txt"
            procs.append(
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(max(1, round(seconds))),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "--nonblocking",
                        *(["--idle"] if idle else []),
                        "-o",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    return procs


def prepare_in_process(
    data_dir: Path, objects: int, backend: dict[str, str] | None = None, namespace: str | None = None
) -> str:
    """Create the bench repository through the engine (``limnos.server.services.build`` of the configuration
    a server over ``data_dir`` and ``backend`` loads); its commit id."""
    services = open_services(data_dir, backend)
    try:
        g = services.graveler
        try:
            repo = g.get_repository(REPOSITORY)
        except Exception:  # noqa: BLE001 - not found: create it
            repo = create_lake_repository(services, REPOSITORY, objects, namespace)
        else:
            head = g.get_branch(repo, repo.default_branch).commit_id
            have = services.committed.count(repo.storage_namespace, g.tree_of(repo, head))
            if have < objects:
                raise SystemExit(
                    f"api_load: repository {REPOSITORY!r} already exists with {have:,} objects "
                    f"(< {objects:,}); use a fresh data directory"
                )
        commit_id = g.get_branch(repo, "main").commit_id
        for make, name in ((g.create_branch, WRITE_BRANCH), (g.create_tag, TAG)):
            with contextlib.suppress(Exception):  # exists from an earlier run
                make(repo, name, commit_id)
        return commit_id
    finally:
        close_services(services)


def prepare_via_api(target: Target, objects: int, client_kind: str, concurrency: int) -> str:
    """Create and fill the bench repository through the API (uploads + commit); its commit id."""
    import httpx

    with httpx.Client(
        base_url=f"{target.base}/api/v1", timeout=600, headers={"Authorization": target.authorization}
    ) as http:
        r = http.get(f"/repositories/{REPOSITORY}")
        if r.status_code == 404:
            r = http.post(
                "/repositories",
                json={
                    "name": REPOSITORY,
                    "storage_namespace": f"local://{REPOSITORY}-{uuid.uuid4().hex[:8]}",
                    "default_branch": "main",
                },
            )
            if r.status_code != 201:
                raise SystemExit(f"api_load: createRepository failed: {r.status_code} {r.text}")
            print(f"  uploading {objects:,} objects through the API...", flush=True)
            s = Scenario("populate", REPOSITORY, ref="main", payload=os.urandom(UPLOAD_SIZE))
            res = run_load(
                s,
                [target],
                client_kind,
                concurrency,
                duration=3600,
                warmup=0,
                max_requests=objects,
                fixed_indices=range(objects),
            )
            if res.errors:
                raise SystemExit(f"api_load: {res.errors} uploads failed, e.g. {res.samples}")
            r = http.post("/repositories/bench/branches/main/commits", json={"message": "bench data"})
            if r.status_code != 201:
                raise SystemExit(f"api_load: commit failed: {r.status_code} {r.text}")
        r = http.get(f"/repositories/{REPOSITORY}/branches/main")
        if r.status_code != 200:
            raise SystemExit(f"api_load: getBranch failed: {r.status_code} {r.text}")
        commit_id = r.json()["commit_id"]
        http.post(f"/repositories/{REPOSITORY}/branches", json={"name": WRITE_BRANCH, "source": "main"})
        http.post(f"/repositories/{REPOSITORY}/tags", json={"id": TAG, "ref": commit_id})
        return commit_id


def smoke_check(target: Target, scenario: Scenario) -> str | None:
    """One request of the scenario; an error message, or None when it answers 2xx."""
    import httpx

    method, tgt, body, ctype = scenario.make(0)
    headers = {"Authorization": target.authorization}
    if ctype:
        headers["Content-Type"] = ctype
    try:
        r = httpx.request(method, target.base + tgt, content=body or None, headers=headers, timeout=60)
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}"
    if 200 <= r.status_code < 300:
        return None
    return f"{r.status_code} {r.text[:200]}"


# --------------------------------------------------------------------------- topologies


@dataclass
class Topology:
    """One deployment under test and what was measured on it."""

    name: str  # "local", "postgres-s3" or "external"
    title: str
    targets: list[Target]
    servers: list[ServerProcess] = field(default_factory=list)
    workers: int = 0  # per server (0: not started by us)
    objects: int = 0
    commit_id: str = ""
    targets_count: bool = True  # whether the req/s and p99 targets decide the exit status
    # other processes whose CPU is reported: label -> () -> pids (e.g. PostgreSQL backends, moto)
    aux: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    busy: str = ""
    results: dict[str, Result] = field(default_factory=dict)
    server_cpu: dict[str, list[list[float]]] = field(default_factory=dict)  # per server, per worker
    aux_cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    machine_cpu: dict[str, float] = field(default_factory=dict)  # CPU s of all processes, all cores
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class Settings:
    """What every topology is measured with."""

    scenarios: list[str]
    objects: int
    concurrency: int
    duration: float
    warmup: float
    max_requests: int
    client: str
    procs: int
    seed: int
    pause: bool
    py_spy: str | None
    py_spy_idle: bool


def _aux_snapshot(topo: Topology) -> dict[str, dict[int, float]]:
    out = {}
    for label, pids in topo.aux.items():
        try:
            out[label] = cpu_by_pid(pids())
        except Exception:  # noqa: BLE001 - a report column, never a reason to stop
            out[label] = {}
    return out


def measure(topo: Topology, st: Settings) -> None:
    """Run every scenario against ``topo`` (its servers are up), filling its results."""
    run_id = uuid.uuid4().hex[:8]
    commit_id = topo.commit_id
    refs = {"stat": commit_id, "get": commit_id, "upload": WRITE_BRANCH, "branch": "main", "repo": ""}
    topo.busy = busy_line()
    print(f"  {topo.busy}")
    print(
        f"  read ref: commit {commit_id[:16]}... ({topo.objects:,} objects); "
        f"writes on branch {WRITE_BRANCH!r}; {st.concurrency} connections round-robin over "
        f"{len(topo.targets)} server(s)",
        flush=True,
    )
    for name in st.scenarios:
        scenario = Scenario(
            name,
            REPOSITORY,
            ref=refs[name],
            objects=topo.objects,
            run_id=run_id,
            seed=st.seed,
            payload=os.urandom(UPLOAD_SIZE),
        )
        problem = None
        for i, target in enumerate(topo.targets):  # every server must answer
            problem = smoke_check(target, Scenario(**{**scenario.__dict__, "run_id": f"{run_id}s{i}"}))
            if problem is not None:
                problem = f"{target.base}: {problem}"
                break
        if problem is not None:
            topo.skipped[name] = problem
            print(f"  {name}: SKIPPED, a first request failed: {problem}", flush=True)
            continue
        if st.pause:
            pids = [s.worker_pids() for s in topo.servers]
            input(f"  {name}: server worker pids {pids}; press Enter to start ")
        print(f"  {name}: running...", flush=True)
        pids_by_server = [s.worker_pids() for s in topo.servers]
        cpu0 = [[process_cpu([pid]) for pid in pids] for pids in pids_by_server]
        aux0 = _aux_snapshot(topo)
        machine0 = cpu_times()
        spies = (
            start_py_spy(
                Path(st.py_spy), f"{topo.name}-{name}", topo.servers, st.warmup + st.duration, st.py_spy_idle
            )
            if st.py_spy
            else []
        )
        topo.results[name] = run_scenario(
            scenario,
            topo.targets,
            st.client,
            st.concurrency,
            st.duration,
            st.warmup,
            st.max_requests,
            st.procs,
        )
        machine1 = cpu_times()
        aux1 = _aux_snapshot(topo)
        if machine0 is not None and machine1 is not None:
            tick = os.sysconf("SC_CLK_TCK")
            topo.machine_cpu[name] = ((machine1[0] - machine1[1]) - (machine0[0] - machine0[1])) / tick
        if topo.servers:
            topo.server_cpu[name] = [
                [process_cpu([pid]) - c0 for pid, c0 in zip(pids, c0s, strict=True)]
                for pids, c0s in zip(pids_by_server, cpu0, strict=True)
            ]
        topo.aux_cpu[name] = {
            label: sum(c - aux0[label].get(pid, 0.0) for pid, c in aux1[label].items()) for label in topo.aux
        }
        for spy in spies:
            spy.wait(timeout=60)


def run_local(st: Settings, data_dir: Path, workers: int) -> Topology:
    """(SQLite, local): one server over ``data_dir``."""
    print(f"\n== (SQLite, local): 1 server x {workers} worker(s), data in {data_dir}")
    data_dir.mkdir(parents=True, exist_ok=True)
    if (note := filesystem_note(data_dir)) is not None:
        print(f"  {note}")
    print(f"  preparing repository {REPOSITORY!r} in-process ({st.objects:,} objects)...", flush=True)
    t0 = time.perf_counter()
    commit_id = prepare_in_process(data_dir, st.objects)
    print(f"  built in {time.perf_counter() - t0:.1f} s")
    flush_to_disk()
    server = ServerProcess(data_dir, free_port(), workers)
    try:
        t0 = time.perf_counter()
        server.start()
        print(
            f"  server: limnos run --workers {workers} on 127.0.0.1:{server.port} "
            f"(up in {time.perf_counter() - t0:.1f} s)"
        )
        topo = Topology(
            "local",
            f"(SQLite, local): 1 server x {workers} worker(s)",
            [Target("127.0.0.1", server.port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)],
            servers=[server],
            workers=workers,
            objects=st.objects,
            commit_id=commit_id,
        )
        measure(topo, st)
    finally:
        server.stop()
    return topo


def flush_to_disk() -> None:
    """Write the build out to disk before measuring (``sync``), so that the first durable
    write of a scenario does not pay for flushing the build's hundreds of MiB."""
    t0 = time.perf_counter()
    os.sync()
    print(f"  build flushed to disk in {time.perf_counter() - t0:.1f} s", flush=True)


def _tree_size(path: Path) -> tuple[int, int]:
    """Files and bytes under ``path``."""
    files = size = 0
    for f in path.rglob("*"):
        if f.is_file():
            files += 1
            size += f.stat().st_size
    return files, size


def run_postgres_s3(
    st: Settings, root: Path, servers: int, workers: int, admin_dsn: str, cold_cache: bool
) -> Topology:
    """(PostgreSQL, S3): ``servers`` servers on one fresh database and one moto bucket.

    Unless ``cold_cache``, each server's local cache of committed ranges starts as a copy
    of the one the in-process build filled (a server that has been serving for a while),
    so that the figures compare with the local topology, whose ranges are local files
    from the start; cold, the first scenario mostly measures fetching ~1,000 ranges per
    server from moto (the event loop waits for each, see the README)."""
    print(
        f"\n== (PostgreSQL, S3 on moto): {servers} servers x {workers} worker(s), "
        f"local caches and logs in {root}"
    )
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        t0 = time.perf_counter()
        moto = stack.enter_context(MotoServer(root / "moto.log"))
        print(
            f"  moto S3 server on {moto.endpoint} (bucket {S3_BUCKET!r}, up in "
            f"{time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        db = stack.enter_context(PostgresDatabase(admin_dsn))
        print(f"  PostgreSQL database {db.name!r} created (dropped at the end)", flush=True)
        backend = postgres_s3_env(db.dsn, moto.endpoint)
        namespace = f"s3://{S3_BUCKET}/{REPOSITORY}-{uuid.uuid4().hex[:8]}"
        print(
            f"  preparing repository {REPOSITORY!r} in-process on PostgreSQL + S3 ({st.objects:,} "
            f"objects, namespace {namespace})...",
            flush=True,
        )
        t0 = time.perf_counter()
        commit_id = prepare_in_process(root / "build", st.objects, backend, namespace)
        print(f"  built in {time.perf_counter() - t0:.1f} s")
        flush_to_disk()
        build_cache = root / "build" / "cache"
        if cold_cache:
            print("  range caches: cold (each server fetches the ranges it reads from S3)")
        else:
            files, size = _tree_size(build_cache)
            print(
                f"  range caches: warm, each server's local cache starts as a copy of the build's "
                f"({files:,} files, {size / 2**20:,.0f} MiB; --cold-cache to start empty)",
                flush=True,
            )
        procs: list[ServerProcess] = []

        def stop_servers() -> None:
            for srv in procs:
                srv.stop()

        stack.callback(stop_servers)
        for i in range(servers):  # one after the other: the first creates the admin
            srv = ServerProcess(root / f"server-{i + 1}", free_port(), workers, backend)
            if not cold_cache and build_cache.is_dir():
                shutil.copytree(build_cache, srv.data_dir / "cache", dirs_exist_ok=True)
            t0 = time.perf_counter()
            procs.append(srv)
            srv.start()
            print(
                f"  server {i + 1}: limnos run --workers {workers} on 127.0.0.1:{srv.port} "
                f"(up in {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
        moto_pid = moto.process.pid if moto.process else 0
        topo = Topology(
            "postgres-s3",
            f"(PostgreSQL, S3 on moto): {servers} servers x {workers} worker(s)",
            [Target("127.0.0.1", s.port, ACCESS_KEY_ID, SECRET_ACCESS_KEY) for s in procs],
            servers=procs,
            workers=workers,
            objects=st.objects,
            commit_id=commit_id,
            targets_count=False,
            aux={"pg": db.backend_pids, "moto": lambda: [moto_pid]},
        )
        measure(topo, st)
    return topo


def run_external(st: Settings, target: Target, data_dir: str | None, via_api: bool) -> Topology:
    """A server already running (not started by us)."""
    print(f"\n== external server {target.base}")
    t0 = time.perf_counter()
    if via_api:
        print(
            f"  preparing repository {REPOSITORY!r} through the API ({st.objects:,} objects)...", flush=True
        )
        commit_id = prepare_via_api(target, st.objects, st.client, min(st.concurrency, 32))
    else:
        print(f"  preparing repository {REPOSITORY!r} in-process ({st.objects:,} objects)...", flush=True)
        commit_id = prepare_in_process(Path(str(data_dir)), st.objects)
    print(f"  ready in {time.perf_counter() - t0:.1f} s; server: {target.base} (not started by us)")
    topo = Topology(
        "external", f"external server {target.base}", [target], objects=st.objects, commit_id=commit_id
    )
    measure(topo, st)
    return topo


# --------------------------------------------------------------------------- reporting


def rate_of(res: Result) -> float:
    return res.count / res.elapsed if res.elapsed else 0.0


def print_topology(topo: Topology, st: Settings) -> bool:
    """The table of one topology; whether its targets are met."""
    print()
    print(
        f"{topo.title}: {topo.objects:,} objects, concurrency {st.concurrency}, {st.duration:g} s per "
        f"scenario after {st.warmup:g} s warmup"
    )
    aux_labels = list(topo.aux)
    header = (
        f"{'scenario':<9} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'p99.9 ms':>9} {'max ms':>8} {'errors':>7} {'cpu srv':>8} {'cpu gen':>8}"
        + "".join(f" {'cpu ' + label:>8}" for label in aux_labels)
        + f" {'other':>6}   target"
    )
    print(header)
    ok = True
    for name, res in topo.results.items():
        rate = rate_of(res)
        p = percentiles(res.latencies)
        verdict = []
        goal = TARGETS.get(name)
        if goal is not None:
            passed_rate = rate >= goal
            passed_p99 = p["p99"] < TARGET_P99_MS
            info = "" if topo.targets_count else " (info)"
            verdict.append(f">= {goal:,}/s {'PASS' if passed_rate else 'FAIL'}{info}")
            verdict.append(f"p99 < {TARGET_P99_MS:g} ms {'PASS' if passed_p99 else 'FAIL'}{info}")
            if topo.targets_count:
                ok &= passed_rate and passed_p99
        verdict.append("errors = 0 " + ("PASS" if res.errors == 0 else "FAIL"))
        ok &= res.errors == 0
        per_server = topo.server_cpu.get(name)
        total_srv = sum(sum(w) for w in per_server) if per_server else 0.0
        srv_text = "n/a" if not per_server or not res.wall else f"{100 * total_srv / res.wall:.0f}%"
        gen_text = f"{100 * res.cpu / res.wall:.0f}%" if res.wall else "n/a"
        aux_text = "".join(
            f" {(f'{100 * topo.aux_cpu[name][label] / res.wall:.0f}%' if res.wall else 'n/a'):>8}"
            for label in aux_labels
        )
        other_text = "n/a"
        if name in topo.machine_cpu and res.wall and per_server:
            ours = total_srv + res.cpu + sum(topo.aux_cpu.get(name, {}).values())
            other_text = f"{100 * max(0.0, topo.machine_cpu[name] - ours) / res.wall:.0f}%"
        print(
            f"{name:<9} {res.count:>9,} {rate:>8,.0f} {p['p50']:>8.2f} {p['p90']:>8.2f} {p['p99']:>8.2f} "
            f"{p['p99.9']:>9.2f} {p['max']:>8.2f} {res.errors:>7} {srv_text:>8} {gen_text:>8}{aux_text} "
            f"{other_text:>6}   " + ", ".join(verdict)
        )
        for sample in res.samples:
            print(f"    error sample: {sample}")
    missing = [s for s in st.scenarios if s not in topo.results]
    if missing:
        ok = False
        print(f"not measured: {', '.join(missing)}")
    if topo.server_cpu:
        many = len(topo.servers) > 1
        parts = []
        for name, per_server in topo.server_cpu.items():
            wall = topo.results[name].wall if name in topo.results else 0.0
            if not wall:
                continue
            parts.append(
                f"{name} "
                + " ".join(
                    (f"s{i + 1} " if many else "") + "/".join(f"{100 * c / wall:.0f}%" for c in w)
                    for i, w in enumerate(per_server)
                )
            )
        print("server CPU per worker" + (" (s1, s2...: servers)" if many else "") + ": " + "; ".join(parts))
    if not topo.targets_count and any(n in TARGETS for n in topo.results):
        print("targets marked (info) do not decide the exit status: the figures include moto's cost")
    print(f"({topo.busy})")
    return ok


def print_comparison(a: Topology, b: Topology) -> None:
    """Per scenario: req/s and p99 of ``a`` and ``b``, and the ratios b/a."""
    common = [n for n in a.results if n in b.results]
    if not common:
        return
    print()
    print(f"comparison: A = {a.title}; B = {b.title}")
    print(
        f"{'scenario':<9} {'A req/s':>9} {'B req/s':>9} {'B/A':>7}   "
        f"{'A p99 ms':>9} {'B p99 ms':>9} {'B/A':>7}"
    )
    for name in common:
        ra, rb = rate_of(a.results[name]), rate_of(b.results[name])
        pa, pb = percentiles(a.results[name].latencies)["p99"], percentiles(b.results[name].latencies)["p99"]
        r_rate = f"{rb / ra:.2f}x" if ra else "n/a"
        r_p99 = f"{pb / pa:.2f}x" if pa else "n/a"
        print(f"{name:<9} {ra:>9,.0f} {rb:>9,.0f} {r_rate:>7}   {pa:>9.2f} {pb:>9.2f} {r_p99:>7}")
    print("B/A: req/s ratio (> 1: B serves more) and p99 ratio (> 1: B is slower)")


# --------------------------------------------------------------------------- main


class _TimeLimit(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _TimeLimit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cores = os.cpu_count() or 1
    parser.add_argument(
        "--topology",
        choices=("local", "postgres-s3", "both"),
        help="what to start and measure: (SQLite, local) with one server, (PostgreSQL, S3) "
        "with --servers servers on moto, or both one after the other (default both)",
    )
    parser.add_argument(
        "--url", help="base URL of a running server (loopback only), e.g. http://127.0.0.1:8000"
    )
    parser.add_argument("--access-key-id", default=os.environ.get("LIMNOS_ACCESS_KEY_ID", ACCESS_KEY_ID))
    parser.add_argument(
        "--secret-access-key", default=os.environ.get("LIMNOS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    )
    parser.add_argument(
        "--data-dir",
        help="data directory (with --url: the server's own, to build the "
        "repository in-process; without: where to put the servers' data, kept: "
        "DIR/local and DIR/postgres-s3)",
    )
    parser.add_argument(
        "--objects",
        type=int,
        help="objects in the read commit (default 1,000,000; "
        "10,000 with --quick or when filling through the API)",
    )
    parser.add_argument("--concurrency", "-c", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--duration", "-d", type=float, help="measured seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 1)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=1_000_000,
        help="upper bound of measured requests per scenario (default 1,000,000)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_SCENARIOS),
        help=f"comma-separated, among {','.join(ALL_SCENARIOS)} (default %(default)s)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator HTTP client (default raw: asyncio + httptools)",
    )
    parser.add_argument("--procs", type=int, default=1, help="load generator processes (default 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=cores,
        help="worker processes of the (SQLite, local) server (default: cores, %(default)s)",
    )
    parser.add_argument(
        "--servers", type=int, default=2, help="servers of the (PostgreSQL, S3) topology (default 2)"
    )
    parser.add_argument(
        "--workers-per-server",
        type=int,
        default=max(1, cores // 2),
        help="worker processes of each (PostgreSQL, S3) server (default: cores/2, "
        "%(default)s, so that 2 servers use one worker per core)",
    )
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get(POSTGRES_DSN_ENV) or DEFAULT_POSTGRES_DSN,
        help=f"PostgreSQL where a fresh database is created and dropped (loopback or Unix "
        f"socket only; default ${POSTGRES_DSN_ENV} or {DEFAULT_POSTGRES_DSN})",
    )
    parser.add_argument(
        "--cold-cache",
        action="store_true",
        help="(PostgreSQL, S3): start the servers with empty local caches of committed "
        "ranges (default: a copy of the one the in-process build filled)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 objects, 2 s per scenario")
    parser.add_argument(
        "--time-limit",
        type=float,
        help="stop everything (and clean up) after this many seconds (default 1800; 600 with --quick)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument(
        "--pause",
        action="store_true",
        help="print the servers' worker pids and wait for Enter before each scenario (to attach a profiler)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="record each server worker with py-spy during each scenario (collapsed "
        "stacks in DIR/<topology>-<scenario>-<pid>.txt); figures of such runs are perturbed",
    )
    parser.add_argument(
        "--py-spy-idle",
        action="store_true",
        help="with --py-spy, also sample waiting threads (wall-clock view)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    duration = args.duration if args.duration is not None else (2.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    time_limit = args.time_limit if args.time_limit is not None else (600.0 if args.quick else 1800.0)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            parser.error(f"unknown scenario {s!r}")
    if args.concurrency <= 0 or args.procs <= 0 or duration <= 0 or args.max_requests <= 0:
        parser.error("concurrency, procs, duration and max-requests must be positive")
    if args.workers <= 0 or args.servers <= 0 or args.workers_per_server <= 0 or time_limit <= 0:
        parser.error("workers, servers, workers-per-server and time-limit must be positive")
    if args.procs > args.concurrency:
        parser.error("--procs must not exceed --concurrency")
    if args.url and args.topology:
        parser.error("--topology starts our own servers; it does not go with --url")
    topology = args.topology or "both"
    via_api = args.url is not None and args.data_dir is None
    objects = args.objects or (10_000 if (args.quick or via_api) else 1_000_000)
    if not args.url and topology in ("postgres-s3", "both"):
        check_postgres_dsn_local(args.postgres_dsn, check_loopback)
    st = Settings(
        scenarios,
        objects,
        args.concurrency,
        duration,
        warmup,
        args.max_requests,
        args.client,
        args.procs,
        args.seed,
        args.pause,
        args.py_spy,
        args.py_spy_idle,
    )

    print("Limnos API load test")
    print(cpu_line())
    print(busy_line())
    print(
        f"load: concurrency {args.concurrency}, {duration:g} s per scenario after {warmup:g} s warmup, "
        f"client {args.client} on {'uvloop' if _has_uvloop() else 'asyncio'}, "
        f"{args.procs} load process(es) on this machine; time limit {time_limit:g} s"
    )
    if not args.url:
        plan = []
        if topology in ("local", "both"):
            plan.append(f"(SQLite, local) 1 server x {args.workers} worker(s)")
        if topology in ("postgres-s3", "both"):
            plan.append(
                f"(PostgreSQL, S3 on moto) {args.servers} servers x {args.workers_per_server} "
                f"worker(s) [+ moto + PostgreSQL on this machine]"
            )
        print("topologies: " + "; ".join(plan))

    topologies: list[Topology] = []
    temp_dir: Path | None = None
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    timed_out = False
    try:
        if args.url:
            parts = urllib.parse.urlsplit(args.url)
            if parts.scheme != "http" or not parts.hostname:
                parser.error("--url must be http://HOST:PORT")
            check_loopback(parts.hostname)
            target = Target(parts.hostname, parts.port or 80, args.access_key_id, args.secret_access_key)
            topologies.append(run_external(st, target, args.data_dir, via_api))
        else:
            if args.data_dir:
                root = Path(args.data_dir)
                root.mkdir(parents=True, exist_ok=True)
            else:
                temp_dir = root = Path(tempfile.mkdtemp(prefix="limnos-api-bench-"))
            if topology in ("local", "both"):
                topologies.append(run_local(st, root / "local", args.workers))
            if topology in ("postgres-s3", "both"):
                topologies.append(
                    run_postgres_s3(
                        st,
                        root / "postgres-s3",
                        args.servers,
                        args.workers_per_server,
                        args.postgres_dsn,
                        args.cold_cache,
                    )
                )
    except _TimeLimit:
        timed_out = True
        print(f"\napi_load: time limit of {time_limit:g} s reached; servers stopped, database dropped")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if temp_dir is not None:
            if args.keep:
                print(f"kept {temp_dir}")
            else:
                shutil.rmtree(temp_dir, ignore_errors=True)

    ok = not timed_out
    for topo in topologies:
        ok &= print_topology(topo, st)
    by_name = {t.name: t for t in topologies}
    if "local" in by_name and "postgres-s3" in by_name:
        print_comparison(by_name["local"], by_name["postgres-s3"])
    print()
    if args.concurrency != TARGET_CONCURRENCY:
        print(
            f"note: the p99 target is defined at concurrency {TARGET_CONCURRENCY}, "
            f"this run used {args.concurrency}"
        )
    print(
        "cpu srv / cpu gen: CPU used by all server workers / the load generator, in % of one core "
        "over the scenario (warmup included); cpu pg: PostgreSQL backends of the bench database; "
        "cpu moto: the moto S3 process; other: CPU used meanwhile by every other process of the "
        "machine (other work, PostgreSQL's background processes, the kernel): more than a few % "
        "means the figures of that row are pessimistic"
    )
    workers_text = "; ".join(
        f"{t.name}: {len(t.servers)} server(s) x {t.workers} worker(s)"
        if t.servers
        else f"{t.name}: n/a (external)"
        for t in topologies
    )
    print(
        cpu_line() + f"; server workers: {workers_text or 'none'}; load generator: {args.procs} "
        "process(es) on the same machine"
    )
    return 0 if ok else 1


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
