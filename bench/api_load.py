"""HTTP load test of a Limnos server: random reads, small writes, branch creations.

By default it prepares everything itself:

1. a temporary data directory (local blockstore + SQLite) in which a repository
   ``bench`` is created **in-process, through the engine**, whose ``main`` commit
   holds ``--objects`` objects (default 1,000,000; the tree is built directly in
   the committed store, the objects' bytes are a handful of shared physical files);
   a branch ``bench-writes`` and a tag ``bench-v1`` are created alongside;
2. ``limnos run --workers N`` (default: one per core) on a free loopback port over
   that directory;
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

Only loopback addresses are accepted. Every scenario is bounded in time
(``--duration``) and in requests (``--max-requests``).

    python bench/api_load.py                 # 1M objects, 10 s per scenario
    python bench/api_load.py --quick         # 10,000 objects, 2 s per scenario
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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    busy_line,
    close_services,
    cpu_line,
    create_lake_repository,
    lake_path,
    open_services,
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


async def _run(
    scenario: Scenario, target: Target, client_kind: str, concurrency: int, duration: float,
    warmup: float, max_requests: int, fixed_indices: range | None,
) -> Result:
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
    if client_kind == "raw":
        raw = RawClient(target)
        tasks = [asyncio.ensure_future(worker_raw(raw)) for _ in range(concurrency)]
    else:
        hc = HttpxClient(target, concurrency)
        tasks = [asyncio.ensure_future(worker_httpx(hc)) for _ in range(concurrency)]
    if fixed_indices is None:
        await asyncio.sleep(warmup)
        measuring = True
        start_measure = time.perf_counter()
    t_start = time.perf_counter() if fixed_indices is None else None
    t_first = time.perf_counter()
    await asyncio.gather(*tasks)
    t_end = time.perf_counter()
    if client_kind == "httpx":
        await hc.aclose()
    result.elapsed = t_end - (t_start if t_start is not None else t_first)
    result.latencies = lat.tobytes()
    return result


def run_load(
    scenario: Scenario, target: Target, client_kind: str, concurrency: int, duration: float,
    warmup: float, max_requests: int, fixed_indices: range | None = None,
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
        _run(scenario, target, client_kind, concurrency, duration, warmup, max_requests, fixed_indices)
    )
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    result.wall = time.perf_counter() - t0
    result.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return result


def run_scenario(
    scenario: Scenario, target: Target, client_kind: str, concurrency: int, duration: float,
    warmup: float, max_requests: int, procs: int,
) -> Result:
    """Run a scenario over ``procs`` load processes; the merged result."""
    if procs <= 1:
        return run_load(scenario, target, client_kind, concurrency, duration, warmup, max_requests)
    shares = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
    with ProcessPoolExecutor(max_workers=procs, mp_context=get_context("fork")) as pool:
        futures = []
        for i, share in enumerate(shares):
            s = Scenario(**{**scenario.__dict__, "proc": i, "_rng": None})
            futures.append(pool.submit(run_load, s, target, client_kind, share, duration, warmup,
                                       max(1, max_requests // procs)))
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
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


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
    """``limnos run`` over a data directory, in its own process group."""

    def __init__(self, data_dir: Path, port: int, workers: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}
        env.update(server_env(self.data_dir, self.port))
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "limnos.cli.main", "run", "--workers", str(self.workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
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


def start_py_spy(out_dir: Path, scenario: str, server: ServerProcess | None,
                 seconds: float, idle: bool) -> list[subprocess.Popen[bytes]]:
    """``py-spy record`` of every worker of our server for ``seconds`` (raw collapsed stacks)."""
    if server is None:
        print("  --py-spy needs the server started by this script; not profiling")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    procs = []
    for pid in server.worker_pids():
        out = out_dir / f"{scenario}-{pid}.txt"
        procs.append(subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "200",
             "--format", "raw", "--nonblocking", *(["--idle"] if idle else []), "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
    return procs


def prepare_in_process(data_dir: Path, objects: int) -> str:
    """Create the bench repository over ``data_dir`` through the engine; its commit id."""
    services = open_services(data_dir)
    try:
        g = services.graveler
        try:
            repo = g.get_repository(REPOSITORY)
        except Exception:  # noqa: BLE001 - not found: create it
            repo = create_lake_repository(services, REPOSITORY, objects)
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

    with httpx.Client(base_url=f"{target.base}/api/v1", timeout=600,
                      headers={"Authorization": target.authorization}) as http:
        r = http.get(f"/repositories/{REPOSITORY}")
        if r.status_code == 404:
            r = http.post("/repositories", json={
                "name": REPOSITORY, "storage_namespace": f"local://{REPOSITORY}-{uuid.uuid4().hex[:8]}",
                "default_branch": "main"})
            if r.status_code != 201:
                raise SystemExit(f"api_load: createRepository failed: {r.status_code} {r.text}")
            print(f"  uploading {objects:,} objects through the API...", flush=True)
            s = Scenario("populate", REPOSITORY, ref="main", payload=os.urandom(UPLOAD_SIZE))
            res = run_load(s, target, client_kind, concurrency, duration=3600, warmup=0,
                           max_requests=objects, fixed_indices=range(objects))
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


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="base URL of a running server (loopback only), e.g. http://127.0.0.1:8000")
    parser.add_argument("--access-key-id", default=os.environ.get("LIMNOS_ACCESS_KEY_ID", ACCESS_KEY_ID))
    parser.add_argument("--secret-access-key",
                        default=os.environ.get("LIMNOS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY))
    parser.add_argument("--data-dir", help="data directory (with --url: the server's own, to build the "
                        "repository in-process; without: where to put the server's data, kept)")
    parser.add_argument("--objects", type=int, help="objects in the read commit (default 1,000,000; "
                        "10,000 with --quick or when filling through the API)")
    parser.add_argument("--concurrency", "-c", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--duration", "-d", type=float, help="measured seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 1)")
    parser.add_argument("--max-requests", type=int, default=1_000_000,
                        help="upper bound of measured requests per scenario (default 1,000,000)")
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                        help=f"comma-separated, among {','.join(ALL_SCENARIOS)} (default %(default)s)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator HTTP client (default raw: asyncio + httptools)")
    parser.add_argument("--procs", type=int, default=1, help="load generator processes (default 1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="server worker processes when starting our own server (default: cores)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 objects, 2 s per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--pause", action="store_true",
                        help="print the server's worker pids and wait for Enter before each scenario "
                        "(to attach a profiler)")
    parser.add_argument("--py-spy", metavar="DIR",
                        help="record each server worker with py-spy during each scenario (collapsed "
                        "stacks in DIR/<scenario>-<pid>.txt); figures of such runs are perturbed")
    parser.add_argument("--py-spy-idle", action="store_true",
                        help="with --py-spy, also sample waiting threads (wall-clock view)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    duration = args.duration if args.duration is not None else (2.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            parser.error(f"unknown scenario {s!r}")
    if args.concurrency <= 0 or args.procs <= 0 or duration <= 0 or args.max_requests <= 0:
        parser.error("concurrency, procs, duration and max-requests must be positive")
    if args.procs > args.concurrency:
        parser.error("--procs must not exceed --concurrency")
    via_api = args.url is not None and args.data_dir is None
    objects = args.objects or (10_000 if (args.quick or via_api) else 1_000_000)

    server: ServerProcess | None = None
    temp_dir: Path | None = None
    print("Limnos API load test")
    print(cpu_line())
    print(busy_line())
    try:
        if args.url:
            parts = urllib.parse.urlsplit(args.url)
            if parts.scheme != "http" or not parts.hostname:
                parser.error("--url must be http://HOST:PORT")
            check_loopback(parts.hostname)
            target = Target(parts.hostname, parts.port or 80, args.access_key_id, args.secret_access_key)
            t0 = time.perf_counter()
            if via_api:
                print(f"preparing repository {REPOSITORY!r} through the API ({objects:,} objects)...",
                      flush=True)
                commit_id = prepare_via_api(target, objects, args.client, min(args.concurrency, 32))
            else:
                print(f"preparing repository {REPOSITORY!r} in-process ({objects:,} objects)...", flush=True)
                commit_id = prepare_in_process(Path(args.data_dir), objects)
            print(f"  ready in {time.perf_counter() - t0:.1f} s; server: {args.url} (not started by us)")
        else:
            if args.data_dir:
                data_dir = Path(args.data_dir)
                data_dir.mkdir(parents=True, exist_ok=True)
            else:
                temp_dir = data_dir = Path(tempfile.mkdtemp(prefix="limnos-api-bench-"))
            print(f"preparing repository {REPOSITORY!r} in-process ({objects:,} objects) in {data_dir}...",
                  flush=True)
            t0 = time.perf_counter()
            commit_id = prepare_in_process(data_dir, objects)
            print(f"  built in {time.perf_counter() - t0:.1f} s")
            port = free_port()
            server = ServerProcess(data_dir, port, args.workers)
            t0 = time.perf_counter()
            server.start()
            print(f"  server: limnos run --workers {args.workers} on 127.0.0.1:{port} "
                  f"(up in {time.perf_counter() - t0:.1f} s)")
            target = Target("127.0.0.1", port, ACCESS_KEY_ID, SECRET_ACCESS_KEY)

        run_id = uuid.uuid4().hex[:8]
        refs = {"stat": commit_id, "get": commit_id, "upload": WRITE_BRANCH, "branch": "main", "repo": ""}
        print(f"read ref: commit {commit_id[:16]}... ({objects:,} objects); "
              f"writes on branch {WRITE_BRANCH!r}")
        print(f"load: concurrency {args.concurrency}, {duration:g} s per scenario after {warmup:g} s warmup, "
              f"client {args.client} on {'uvloop' if _has_uvloop() else 'asyncio'}, "
              f"{args.procs} load process(es)")
        results: dict[str, Result] = {}
        server_cpu: dict[str, list[float]] = {}
        for name in scenarios:
            scenario = Scenario(name, REPOSITORY, ref=refs[name], objects=objects, run_id=run_id,
                                seed=args.seed, payload=os.urandom(UPLOAD_SIZE))
            problem = smoke_check(target, Scenario(**{**scenario.__dict__, "run_id": run_id + "s"}))
            if problem is not None:
                print(f"  {name}: SKIPPED, a first request failed: {problem}", flush=True)
                continue
            if args.pause:
                pids = server.worker_pids() if server else []
                input(f"  {name}: server worker pids {pids}; press Enter to start ")
            print(f"  {name}: running...", flush=True)
            pids = server.worker_pids() if server else []
            server_cpu0 = [process_cpu([pid]) for pid in pids]
            spies = start_py_spy(
                Path(args.py_spy), name, server, warmup + duration, args.py_spy_idle
            ) if args.py_spy else []
            results[name] = run_scenario(scenario, target, args.client, args.concurrency, duration, warmup,
                                         args.max_requests, args.procs)
            if pids:
                server_cpu[name] = [
                    process_cpu([pid]) - c0 for pid, c0 in zip(pids, server_cpu0, strict=True)
                ]
            for spy in spies:
                spy.wait(timeout=60)
    finally:
        if server is not None:
            server.stop()
        if temp_dir is not None:
            if args.keep:
                print(f"kept {temp_dir}")
            else:
                shutil.rmtree(temp_dir, ignore_errors=True)

    print()
    header = (f"{'scenario':<9} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
              f"{'p99.9 ms':>9} {'max ms':>8} {'errors':>7} {'cpu srv':>8} {'cpu gen':>8}   target")
    print(header)
    ok = True
    for name, res in results.items():
        rate = res.count / res.elapsed if res.elapsed else 0.0
        p = percentiles(res.latencies)
        verdict = []
        goal = TARGETS.get(name)
        if goal is not None:
            passed_rate = rate >= goal
            passed_p99 = p["p99"] < TARGET_P99_MS
            verdict.append(f">= {goal:,}/s {'PASS' if passed_rate else 'FAIL'}")
            verdict.append(f"p99 < {TARGET_P99_MS:g} ms {'PASS' if passed_p99 else 'FAIL'}")
            ok &= passed_rate and passed_p99
        verdict.append("errors = 0 " + ("PASS" if res.errors == 0 else "FAIL"))
        ok &= res.errors == 0
        per_worker = server_cpu.get(name)
        srv_text = "n/a" if not per_worker or not res.wall else f"{100 * sum(per_worker) / res.wall:.0f}%"
        gen_text = f"{100 * res.cpu / res.wall:.0f}%" if res.wall else "n/a"
        print(f"{name:<9} {res.count:>9,} {rate:>8,.0f} {p['p50']:>8.2f} {p['p90']:>8.2f} {p['p99']:>8.2f} "
              f"{p['p99.9']:>9.2f} {p['max']:>8.2f} {res.errors:>7} {srv_text:>8} {gen_text:>8}   "
              + ", ".join(verdict))
        for sample in res.samples:
            print(f"    error sample: {sample}")
    missing = [s for s in scenarios if s not in results]
    if missing:
        ok = False
        print(f"not measured: {', '.join(missing)}")
    if args.concurrency != TARGET_CONCURRENCY:
        print(f"note: the p99 target is defined at concurrency {TARGET_CONCURRENCY}, "
              f"this run used {args.concurrency}")
    print("cpu srv / cpu gen: CPU used by the server workers / the load generator, in % of one core "
          "over the scenario (warmup included)")
    if server_cpu:
        print("server CPU per worker: " + "; ".join(
            f"{name} " + "/".join(f"{100 * c / results[name].wall:.0f}%" for c in cpus)
            for name, cpus in server_cpu.items() if name in results and results[name].wall))
    print(cpu_line() + f"; server workers: {args.workers if server else 'n/a (external)'}; "
          f"load generator: {args.procs} process(es) on the same machine")
    return 0 if ok else 1


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
