"""Shared pieces of the benchmarks: configuration, synthetic lake trees, timing helpers.

A synthetic tree is built directly in the committed store (no upload per object):
entries are generated in key order, in chunks, and appended to the tree with
``CommittedStore.apply``; the bytes behind them are a handful of physical files
written once into the repository's storage namespace, so every entry points at
real, readable data with the right size and checksum.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from limnos.block.adapter import join_uri
from limnos.catalog.entry import AddressType, Entry, encode_entry
from limnos.config import Config, load
from limnos.graveler.model import Repository
from limnos.server.services import Services, build

ACCESS_KEY_ID = "AKIALIMNOSBENCHADMIN"
SECRET_ACCESS_KEY = "limnos-bench-secret-access-key-0123456789"
ENCRYPT_SECRET = "limnos-bench-encryption-key"
S3_BUCKET = "limnos-bench"
S3_ACCESS_KEY_ID = "limnos-bench"  # moto accepts any credentials
S3_SECRET_ACCESS_KEY = "limnos-bench-secret"
POSTGRES_DSN_ENV = "LIMNOS_TEST_POSTGRES_DSN"
DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"

# Key layout: data/year=YYYY/month=MM/part-PPPPPP/file-FFFFF.parquet
FILES_PER_PART = 100
PARTS_PER_MONTH = 100
FIRST_YEAR = 2000
PHYSICAL_FILES = 8
BUILD_CHUNK = 100_000


def server_env(data_dir: Path, port: int = 0, backend: dict[str, str] | None = None) -> dict[str, str]:
    """``LAKEFS_*`` variables of a server (or an in-process engine) over ``data_dir``.

    By default metadata (SQLite) and objects (local blockstore) live in ``data_dir``;
    ``backend`` overrides that (see :func:`postgres_s3_env`), and ``data_dir`` then only
    holds the committed store's local cache.
    """
    env = {
        "LAKEFS_DATABASE_TYPE": "local",
        "LAKEFS_DATABASE_LOCAL_PATH": str(data_dir / "metadata"),
        "LAKEFS_BLOCKSTORE_TYPE": "local",
        "LAKEFS_BLOCKSTORE_LOCAL_PATH": str(data_dir / "block"),
        "LAKEFS_COMMITTED_LOCAL_CACHE_DIR": str(data_dir / "cache"),
        "LAKEFS_AUTH_ENCRYPT_SECRET_KEY": ENCRYPT_SECRET,
        "LAKEFS_INSTALLATION_USER_NAME": "admin",
        "LAKEFS_INSTALLATION_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "LAKEFS_LOGGING_LEVEL": "WARNING",
    }
    if port:
        env["LAKEFS_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
    if backend:
        env.update(backend)
    return env


def postgres_s3_env(database_dsn: str, s3_endpoint: str) -> dict[str, str]:
    """``LAKEFS_*`` variables selecting PostgreSQL metadata and an S3 blockstore at ``s3_endpoint``."""
    return {
        "LAKEFS_DATABASE_TYPE": "postgres",
        "LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING": database_dsn,
        "LAKEFS_BLOCKSTORE_TYPE": "s3",
        "LAKEFS_BLOCKSTORE_S3_ENDPOINT": s3_endpoint,
        "LAKEFS_BLOCKSTORE_S3_FORCE_PATH_STYLE": "true",
        "LAKEFS_BLOCKSTORE_S3_REGION": "us-east-1",
        "LAKEFS_BLOCKSTORE_S3_CREDENTIALS_ACCESS_KEY_ID": S3_ACCESS_KEY_ID,
        "LAKEFS_BLOCKSTORE_S3_CREDENTIALS_SECRET_ACCESS_KEY": S3_SECRET_ACCESS_KEY,
    }


def engine_config(data_dir: Path, backend: dict[str, str] | None = None) -> Config:
    """The configuration a server over ``data_dir`` (and ``backend``) would load."""
    return load(environ=server_env(data_dir, backend=backend))


def open_services(data_dir: Path, backend: dict[str, str] | None = None) -> Services:
    """Stores, engine and catalog exactly as a server process builds them
    (``limnos.server.services.build``)."""
    return build(engine_config(data_dir, backend))


def close_services(services: Services) -> None:
    """Release connections and the committed store's writer threads."""
    services.committed.close()
    services.close()


def lake_path(i: int) -> str:
    """The ``i``-th path of the synthetic lake; increasing ``i`` gives increasing paths."""
    file = i % FILES_PER_PART
    part = i // FILES_PER_PART
    month = (part // PARTS_PER_MONTH) % 12 + 1
    year = FIRST_YEAR + part // (PARTS_PER_MONTH * 12)
    return f"data/year={year}/month={month:02d}/part-{part:06d}/file-{file:05d}.parquet"


def write_physical_files(services: Services, namespace: str, count: int = PHYSICAL_FILES) -> list[Entry]:
    """Write ``count`` small data files into ``namespace``; an entry template for each."""
    rng = random.Random(1)
    entries = []
    now = int(time.time())
    for n in range(count):
        data = rng.randbytes(1024 + 512 * n)
        address = f"data/bench/physical-{n:03d}"
        stored = services.block.put_bytes(join_uri(namespace, address), data)
        assert stored.etag == hashlib.md5(data).hexdigest()
        entries.append(
            Entry(
                address=address,
                address_type=AddressType.RELATIVE,
                size=stored.size,
                checksum=stored.etag,
                mtime=now,
                content_type="application/octet-stream",
            )
        )
    return entries


def _values(templates: list[Entry], start: int, stop: int) -> Iterator[tuple[str, bytes]]:
    # Each distinct template encodes once; entries differ by the physical file they point at
    # and by mtime, like files written over time.
    encoded: dict[tuple[int, int], bytes] = {}
    n = len(templates)
    for i in range(start, stop):
        t = templates[i % n]
        mtime = t.mtime - (i // 1000)
        key = (i % n, mtime)
        value = encoded.get(key)
        if value is None:
            value = encode_entry(Entry(t.address, t.address_type, t.size, t.checksum, mtime, t.content_type))
            encoded[key] = value
        yield lake_path(i), value


def build_lake_tree(services: Services, namespace: str, empty_tree: str, count: int) -> str:
    """The tree of ``count`` synthetic objects (built in chunks of appended, sorted keys)."""
    templates = write_physical_files(services, namespace)
    tree = empty_tree
    for start in range(0, count, BUILD_CHUNK):
        stop = min(count, start + BUILD_CHUNK)
        tree = services.committed.apply(namespace, tree, list(_values(templates, start, stop)))
    return tree


def create_lake_repository(
    services: Services, name: str, count: int, namespace: str | None = None
) -> Repository:
    """A repository whose default branch ``main`` holds ``count`` synthetic objects.

    ``namespace`` is its storage namespace (default ``local://<name>``).
    """

    def initial_tree(namespace: str, empty_tree: str) -> str:
        return build_lake_tree(services, namespace, empty_tree, count)

    return services.graveler.create_repository(
        name, namespace or f"local://{name}", "main", initial_tree=initial_tree, committer="bench"
    )


def new_entry_value(rng: random.Random, size: int = 4096) -> bytes:
    """The encoded entry of a freshly uploaded object (a new address, as an upload gets)."""
    token = rng.randbytes(16).hex()
    return encode_entry(
        Entry(
            address=f"data/{token[:2]}/{token}",
            address_type=AddressType.RELATIVE,
            size=size,
            checksum=rng.randbytes(16).hex(),
            mtime=int(time.time()),
            content_type="application/octet-stream",
        )
    )


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fmt_seconds(s: float) -> str:
    """Human-friendly duration."""
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def cpu_times() -> tuple[int, int] | None:
    """(all, idle) CPU time of the machine so far, in clock ticks summed over cores (Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields), idle


def machine_busy(seconds: float = 1.0) -> float | None:
    """Share of all cores busy over ``seconds`` (Linux /proc/stat), before we add load; None elsewhere."""
    a = cpu_times()
    time.sleep(seconds)
    b = cpu_times()
    if a is None or b is None or b[0] == a[0]:
        return None
    return 1.0 - (b[1] - a[1]) / (b[0] - a[0])


def busy_line(seconds: float = 1.0) -> str:
    """A report line on other work running on the machine (it skews every figure here)."""
    busy = machine_busy(seconds)
    if busy is None:
        return "machine load before the run: unknown"
    cores = os.cpu_count() or 1
    line = f"machine busy before the run: {100 * busy:.0f}% of {cores} cores"
    if busy > 0.15:
        line += "  WARNING: other processes are using the CPU, figures are pessimistic"
    return line


def filesystem_note(path: str | os.PathLike[str]) -> str | None:
    """A warning when ``path`` is on ext4 without a journal, where creating files costs far
    more CPU for minutes after many files were deleted (see bench/README.md)."""
    try:
        device = os.stat(path).st_dev
        name = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}").resolve().name
        journal = Path(f"/sys/fs/ext4/{name}/journal_task").read_text().strip()
    except OSError:
        return None  # not Linux, not ext4, or not a block device
    if journal != "<none>":
        return None
    return (
        f"note: {path} is on ext4 without a journal ({name}): within minutes of deleting "
        "many files (a previous run's cleanup), every new file costs far more CPU; "
        "leave a few minutes between runs"
    )


def cpu_line() -> str:
    """The machine's core count, as the reports print it."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return f"os.cpu_count() = {os.cpu_count()}" + (
        f" (usable by this process: {affinity})" if affinity is not None else ""
    )


# --------------------------------------------------------------------------- PostgreSQL + S3 (moto)


class MotoServer:
    """A moto S3 server process on loopback (``python -m moto.server``) with the bench bucket.

    moto keeps everything in memory, in one Python process: figures measured on it include
    its own cost, they are not those of a real S3.
    """

    def __init__(self, log_path: Path, bucket: str = S3_BUCKET) -> None:
        self.log_path = log_path
        self.bucket = bucket
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> MotoServer:
        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = httpx.put(f"{self.endpoint}/{self.bucket}", timeout=2)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"moto server did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def check_postgres_dsn_local(dsn: str, check_host: Callable[[str], None]) -> None:
    """Apply ``check_host`` to every TCP host of ``dsn`` (Unix sockets are local by nature)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    for key in ("host", "hostaddr"):
        for host in str(params.get(key) or "").split(","):
            host = host.strip()
            if host and not host.startswith("/") and not host.startswith("@"):
                check_host(host)


class PostgresDatabase:
    """A fresh database created through ``admin_dsn`` and dropped (``WITH (FORCE)``) on exit."""

    def __init__(self, admin_dsn: str, prefix: str = "limnos_bench") -> None:
        self.admin_dsn = admin_dsn
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.dsn = ""

    def _admin(self):  # -> psycopg.Connection (imported lazily)
        import psycopg

        return psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10)

    def create(self) -> PostgresDatabase:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        with self._admin() as conn:
            conn.execute("SET statement_timeout = '60s'")
            conn.execute(f'CREATE DATABASE "{self.name}"')
        params = conninfo_to_dict(self.admin_dsn)
        params["dbname"] = self.name
        params.setdefault("connect_timeout", "10")
        self.dsn = make_conninfo(**params)
        return self

    def backend_pids(self) -> list[int]:
        """Pids of the PostgreSQL backends connected to this database (the servers' pools)."""
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def drop(self) -> None:
        if not self.dsn:
            return
        with self._admin() as conn:
            conn.execute("SET statement_timeout = '60s'")
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.dsn = ""

    def __enter__(self) -> PostgresDatabase:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.drop()


# --------------------------------------------------------------------------- run limits and logs


class TimeLimit(Exception):
    """Raised by :func:`on_alarm` when a benchmark's ``--time-limit`` ran out."""


def on_alarm(signum: int, frame: object) -> None:
    raise TimeLimit


def scan_log(log: Path) -> list[str]:
    """Lines of the server's log worth reporting (it logs at WARNING and above)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip() and not line.startswith("Limnos ")]


# --------------------------------------------------------------------------- the server's process tree


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            out.extend(int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return out


def _children_by_scan(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(name))
    return out


HAVE_CHILDREN_FILE = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    find = _children if HAVE_CHILDREN_FILE else _children_by_scan
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(find(pid))
    return pids


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """VmRSS of ``pid`` in KiB (0 when it is gone); ``field="VmHWM"``: its peak so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


TICK = os.sysconf("SC_CLK_TCK")


def _stat_cpu(path: str) -> float:
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu(root: int) -> tuple[float, float]:
    """CPU seconds used so far by the processes of the tree: (their main threads, all threads).

    A worker's main thread runs its event loop (socket reads, HTTP parsing, the request
    handlers); the other threads are mostly the pool that writes, hashes and syncs."""
    main = total = 0.0
    for pid in process_tree(root):
        try:
            first = _stat_cpu(f"/proc/{pid}/task/{pid}/stat")
            total += _stat_cpu(f"/proc/{pid}/stat")
        except (OSError, IndexError, ValueError):
            continue
        main += first
    return main, total


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have been busy so far (0 where unknown)."""
    times = cpu_times()
    return (times[0] - times[1]) / TICK if times is not None else 0.0


class RssSampler:
    """Samples the summed VmRSS of a process tree every ``interval`` seconds in a thread."""

    def __init__(self, root: int, interval: float) -> None:
        self.root = root
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def total(self) -> int:
        return sum(rss_kib(pid) for pid in process_tree(self.root))

    def __enter__(self) -> RssSampler:
        self.baseline = self.peak = self.total()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        value = self.total()
        self.samples += 1
        self.peak = max(self.peak, value)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
