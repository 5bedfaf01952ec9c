"""Throughput and request rate of the S3 gateway, next to a moto S3 server and a plain copy.

Three things run side by side on this machine, all on loopback:

a. ``limnos``  a real ``limnos run`` (SQLite metadata, local blockstore, ``--workers``
               worker processes, default one per core) over a temporary directory,
               with a repository ``bench``; objects are written to and read from its
               branch ``main`` through the S3 gateway (``s3://bench/main/...``);
b. ``moto``    a moto S3 server process (``python -m moto.server``), bucket ``limnos-bench``;
c. ``copy``    no server: a plain copy of the same bytes to a new file in the same
               directory tree, then ``fsync`` of the copy (the server's local blockstore
               makes every object durable before it answers): the limit a server that
               stores files on this disk can approach.

Both S3 endpoints are driven by the same client code, with the admin's keys for Limnos and
any keys for moto, by two clients:

* ``boto3``      path-style, SigV4, default checksum settings: what most Python users run.
                 Over plain HTTP it hashes every payload with SHA-256 for the signature and
                 adds a CRC32, in the client and again in the server;
* ``presigned``  URLs presigned by boto3 (SigV4 in the query, ``UNSIGNED-PAYLOAD``, as boto3
                 itself signs over HTTPS) before the timing starts, sent over one keep-alive
                 ``http.client`` connection with ``TCP_NODELAY``: the least a client can cost,
                 so that the figure is the server's.

Operations:

* ``PUT 1 MiB`` / ``GET 1 MiB``: ``--count`` objects (default 32) put one after the other
  with ``put_object``, then read back whole with ``get_object``; MiB/s over the run;
* ``PUT 64 MiB`` / ``GET 64 MiB``: ``--large-count`` objects (default 3), each put in one
  ``put_object`` and read back whole;
* ``PUT 1 KiB`` / ``GET 1 KiB``: the small-object request rate: ``--procs`` load processes
  (default 4), each with its own boto3 client, putting (then getting) 1 KiB objects one
  request after another for ``--duration`` seconds (default 5), at most
  ``--max-requests`` each; requests/s over all of them.

Each GET's body is checked against what was put (the last object of each run byte for byte,
every one by size), each PUT's ETag against the MD5 of its bytes; a run with a failed
check prints no figure. The plain copy is the limit of both directions: moving an object's
bytes from one file to another on this disk.

Targets: Limnos's small-object request rate >= 2x moto's; Limnos's 1 MiB and 64 MiB
throughput >= 70% of the plain copy's (printed for both clients). moto keeps objects in
memory in one Python process; its figures include its own cost. Also printed: MD5's rate
on this machine. An S3 PUT answers with the MD5 of the bytes as its ETag, so one PUT
stream cannot store faster than MD5 runs, whatever the server.

    python bench/s3_gateway.py
    python bench/s3_gateway.py --quick          # smoke run: fewer objects, 2 s rates
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    S3_ACCESS_KEY_ID,
    S3_BUCKET,
    S3_SECRET_ACCESS_KEY,
    SECRET_ACCESS_KEY,
    MotoServer,
    TimeLimit,
    busy_line,
    cpu_line,
    on_alarm,
    scan_log,
)
from api_load import ServerProcess, free_port  # noqa: E402

KIB = 1024
MIB = 1024 * KIB
REPOSITORY = "bench"
RATE_TARGET = 2.0  # Limnos's small-object requests/s over moto's
THROUGHPUT_TARGET = 0.70  # Limnos's MiB/s over the plain copy's


@dataclass(frozen=True)
class Endpoint:
    """Where one S3 endpoint keeps the benchmark's objects."""

    name: str
    url: str
    key: str
    secret: str
    bucket: str
    prefix: str  # Limnos: the branch; moto: nothing

    def client(self, pool: int = 10) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            config=Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 1}, max_pool_connections=pool
            ),
        )


class CheckFailed(Exception):
    """An answer was not what was put."""


class PresignedClient:
    """PUT and GET through URLs boto3 presigns (SigV4 in the query, unsigned payload), sent
    over one keep-alive connection: a client whose own cost is the least it can be."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.signer = endpoint.client()
        self._paths: dict[tuple[str, str], str] = {}
        host, port = endpoint.url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port))
        self.connection.connect()
        assert self.connection.sock is not None
        # One send for head and body as boto3 does, and no waiting for delayed ACKs.
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def prepare(self, keys: list[str]) -> None:
        """Presign the PUT and the GET of each of ``keys`` (before the timing starts, as a
        client that is handed presigned URLs does no signing of its own)."""
        for key in keys:
            for operation in ("put_object", "get_object"):
                url = self.signer.generate_presigned_url(
                    operation, Params={"Bucket": self.endpoint.bucket, "Key": key}, ExpiresIn=3600
                )
                self._paths[operation, key] = str(url).removeprefix(self.endpoint.url)

    def _path(self, operation: str, key: str) -> str:
        return self._paths[operation, key]

    def put(self, key: str, data: bytes) -> str:
        """PUT ``data`` at ``key``; the ETag answered."""
        self.connection.request("PUT", self._path("put_object", key), body=data)
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise CheckFailed(f"{self.endpoint.name}: PUT {key} answered {response.status}")
        return str(response.getheader("ETag", "")).strip('"')

    def get(self, key: str) -> bytes:
        """The bytes at ``key``."""
        self.connection.request("GET", self._path("get_object", key))
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise CheckFailed(f"{self.endpoint.name}: GET {key} answered {response.status}")
        return body

    def close(self) -> None:
        self.connection.close()


class Boto3Client:
    """PUT and GET with boto3's ``put_object`` and ``get_object``."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.client = endpoint.client()

    def prepare(self, keys: list[str]) -> None:
        """Nothing: boto3 signs each request as it sends it."""

    def put(self, key: str, data: bytes) -> str:
        return str(self.client.put_object(Bucket=self.endpoint.bucket, Key=key, Body=data)["ETag"]).strip('"')

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.endpoint.bucket, Key=key)["Body"].read())

    def close(self) -> None:
        self.client.close()


CLIENTS = {"boto3": Boto3Client, "presigned": PresignedClient}


# --------------------------------------------------------------------------- throughput


def s3_throughput(endpoint: Endpoint, kind: str, size: int, count: int) -> tuple[float, float, float, float]:
    """(PUT MiB/s, GET MiB/s, PUT client CPU share, GET client CPU share) of ``count``
    objects of ``size`` bytes, one request at a time, with the client ``kind``; a CPU share
    is the CPU time this process (signing, checksums, HTTP) used over the elapsed time."""
    client = CLIENTS[kind](endpoint)
    data = os.urandom(size)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    run = uuid.uuid4().hex[:8]
    keys = [f"{endpoint.prefix}throughput/{kind}/{run}/{size}/{i:04d}" for i in range(count)]
    client.prepare(keys)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for key in keys:
        etag = client.put(key, data)
        if etag != md5:
            raise CheckFailed(f"{endpoint.name}: PUT {key} answered ETag {etag}, not {md5}")
    put_seconds = time.perf_counter() - t0
    put_cpu = time.process_time() - cpu0
    cpu0, t0 = time.process_time(), time.perf_counter()
    body = b""
    for key in keys:
        body = client.get(key)
        if len(body) != size:
            raise CheckFailed(f"{endpoint.name}: GET {key} answered {len(body)} bytes, not {size}")
    get_seconds = time.perf_counter() - t0
    get_cpu = time.process_time() - cpu0
    client.close()
    if body != data:
        raise CheckFailed(f"{endpoint.name}: GET {keys[-1]} answered other bytes than were put")
    total = size * count / MIB
    return total / put_seconds, total / get_seconds, put_cpu / put_seconds, get_cpu / get_seconds


def md5_rate(size: int = 64 * MIB) -> float:
    """MiB/s of MD5 over ``size`` bytes in memory, on this machine (median of three)."""
    data = os.urandom(size)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        hashlib.md5(data, usedforsecurity=False).digest()
        times.append(time.perf_counter() - t0)
    return size / MIB / sorted(times)[1]


def copy_throughput(work: Path, size: int, count: int) -> float:
    """MiB/s of ``count`` plain copies of a file of ``size`` bytes to new files, each made
    durable (fsync of the file and of its directory) before the next."""
    source = work / f"source-{size}"
    source.write_bytes(os.urandom(size))
    target_dir = work / f"copies-{size}"
    target_dir.mkdir()
    targets = [target_dir / f"{i:04d}" for i in range(count)]
    t0 = time.perf_counter()
    for target in targets:
        shutil.copyfile(source, target)
        for path in (target, target_dir):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    seconds = time.perf_counter() - t0
    for target in targets:
        if target.stat().st_size != size:
            raise CheckFailed(f"copy: {target} is not {size} bytes")
    shutil.rmtree(target_dir)
    source.unlink()
    return size * count / MIB / seconds


# --------------------------------------------------------------------------- request rate


def _rate_worker(
    endpoint: Endpoint, op: str, keys: list[str], duration: float, limit: int
) -> tuple[int, str]:
    """One load process: ``op`` ('put' or 'get') on ``keys`` in turn for ``duration``
    seconds or ``limit`` requests; (requests done, first failure or '')."""
    client = endpoint.client(pool=1)
    data = b"s" * KIB
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    done = 0
    deadline = time.perf_counter() + duration
    while done < limit and time.perf_counter() < deadline:
        key = keys[done % len(keys)]
        try:
            if op == "put":
                etag = client.put_object(Bucket=endpoint.bucket, Key=key, Body=data)["ETag"].strip('"')
                if etag != md5:
                    return done, f"PUT {key}: ETag {etag}"
            else:
                body = client.get_object(Bucket=endpoint.bucket, Key=key)["Body"].read()
                if body != data:
                    return done, f"GET {key}: {len(body)} other bytes"
        except Exception as err:  # noqa: BLE001 - reported as the run's failure
            return done, f"{op.upper()} {key}: {err}"
        done += 1
    return done, ""


def request_rate(
    endpoint: Endpoint, procs: int, duration: float, limit: int, keys_per_proc: int = 50
) -> tuple[float, float]:
    """(PUT requests/s, GET requests/s) of 1 KiB objects from ``procs`` processes."""
    run = uuid.uuid4().hex[:8]
    keys = [[f"{endpoint.prefix}small/{run}/{p}/{i:04d}" for i in range(keys_per_proc)] for p in range(procs)]
    rates = []
    with ProcessPoolExecutor(max_workers=procs) as pool:
        # warm each process up (imports, a connection) and put every key once before timing,
        # so that the GETs find each key whatever number of PUTs the timed run gets through
        warm = [keys_per_proc] * procs
        list(pool.map(_rate_worker, [endpoint] * procs, ["put"] * procs, keys, [60.0] * procs, warm))
        for op in ("put", "get"):
            t0 = time.perf_counter()
            results = list(
                pool.map(
                    _rate_worker, [endpoint] * procs, [op] * procs, keys, [duration] * procs, [limit] * procs
                )
            )
            seconds = time.perf_counter() - t0
            failures = [failure for _, failure in results if failure]
            if failures:
                raise CheckFailed(f"{endpoint.name}: {failures[0]}")
            rates.append(sum(done for done, _ in results) / seconds)
    return rates[0], rates[1]


# --------------------------------------------------------------------------- profile


@contextlib.contextmanager
def profiled(out_dir: Path | None, name: str, server: ServerProcess, active: bool) -> Iterator[None]:
    """With ``out_dir``, ``py-spy record`` of each of the server's workers while the block runs
    (collapsed stacks per worker, ``<name>-<pid>.txt``)."""
    if out_dir is None or not active:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(out_dir / f"{name}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.worker_pids()
    ]
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        for spy_process in spies:
            spy_process.send_signal(signal.SIGINT)
        for spy_process in spies:
            spy_process.wait(timeout=60)


# --------------------------------------------------------------------------- report


def ratio_line(label: str, value: float, reference: float, target: float) -> tuple[str, bool]:
    ratio = value / reference if reference else 0.0
    met = ratio >= target
    mark = "met" if met else "MISSED"
    return f"  {label:<44} {ratio:6.2f}x   target >= {target:.2f}x  {mark}", met


def run(args: argparse.Namespace, work: Path) -> bool:
    """Measure, print; whether every target is met."""
    sizes = [(1 * MIB, args.count), (64 * MIB, args.large_count)]
    server = ServerProcess(work / "limnos", free_port(), args.workers)
    moto = MotoServer(work / "moto.log")
    try:
        server.start()
        created = httpx.post(
            f"http://127.0.0.1:{server.port}/api/v1/repositories",
            json={"name": REPOSITORY, "storage_namespace": f"local://{REPOSITORY}"},
            auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
            timeout=60,
        )
        created.raise_for_status()
        moto.start()
        limnos = Endpoint(
            "limnos", f"http://127.0.0.1:{server.port}", ACCESS_KEY_ID, SECRET_ACCESS_KEY, REPOSITORY, "main/"
        )
        mock = Endpoint("moto", moto.endpoint, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET, "")
        print(f"limnos run --workers {args.workers} on port {server.port}; moto on port {moto.port}\n")

        figures: dict[str, dict[str, float]] = {"limnos": {}, "moto": {}, "copy": {}}
        client_cpu: dict[str, float] = {}
        for size, count in sizes:
            label = f"{size // MIB} MiB"
            for kind in CLIENTS:
                for endpoint in (limnos, mock):
                    part = f"{label.replace(' ', '')}-{kind}"
                    with profiled(args.py_spy, part, server, endpoint is limnos):
                        put, get, put_cpu, get_cpu = s3_throughput(endpoint, kind, size, count)
                    for op, value, cpu in (("PUT", put, put_cpu), ("GET", get, get_cpu)):
                        figures[endpoint.name][f"{op} {label} {kind}"] = value
                        client_cpu[f"{endpoint.name} {op} {label} {kind}"] = cpu
            # moving the bytes of an object from one file to another is the limit of both
            copied = copy_throughput(work, size, count)
            for kind in CLIENTS:
                figures["copy"][f"PUT {label} {kind}"] = copied
                figures["copy"][f"GET {label} {kind}"] = copied
        for endpoint in (limnos, mock):
            with profiled(args.py_spy, "1KiB", server, endpoint is limnos):
                put, get = request_rate(endpoint, args.procs, args.duration, args.max_requests)
            figures[endpoint.name]["PUT 1 KiB"] = put
            figures[endpoint.name]["GET 1 KiB"] = get
    finally:
        server.stop()
        moto.stop()
        for line in scan_log(server.log_path)[:20]:
            print(f"server log: {line}")

    md5 = md5_rate()
    print(f"{'operation':<22} {'limnos':>14} {'moto':>14} {'plain copy':>14}   limnos/moto  limnos/copy")
    for op in figures["limnos"]:
        unit = "req/s" if "KiB" in op else "MiB/s"
        row = [figures[name].get(op) for name in ("limnos", "moto", "copy")]
        cells = [f"{v:8.1f} {unit}" if v is not None else f"{'-':>14}" for v in row]
        vs_moto = f"{row[0] / row[1]:8.2f}x" if row[1] else ""
        vs_copy = f"{row[0] / row[2]:10.2f}x" if row[2] else f"{'':>11}"
        print(f"{op:<22} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}   {vs_moto:>11}  {vs_copy}")

    print("\nthe client's own CPU (signing, checksums, HTTP) over the elapsed time:")
    for kind in CLIENTS:
        shares = {name: share for name, share in client_cpu.items() if name.endswith(kind)}
        shown = (f"{name.removesuffix(' ' + kind)} {100 * share:.0f}%" for name, share in shares.items())
        print(f"  {kind}: " + ", ".join(shown))
    print(
        f"\nMD5 on this machine: {md5:.0f} MiB/s, {md5 / figures['copy']['PUT 64 MiB boto3']:.2f}x the plain "
        "copy of 64 MiB: the most one PUT stream can store (its ETag is the MD5 of its bytes)"
    )

    print("\ntargets:")
    results = []
    for op in ("PUT 1 KiB", "GET 1 KiB"):
        line, met = ratio_line(
            f"{op} requests/s, limnos/moto", figures["limnos"][op], figures["moto"][op], RATE_TARGET
        )
        print(line)
        results.append(met)
    sized = [f"{op} {size}" for size in ("1 MiB", "64 MiB") for op in ("PUT", "GET")]
    for op in (f"{op} {kind}" for kind in CLIENTS for op in sized):
        line, met = ratio_line(
            f"{op} MiB/s, limnos/plain copy", figures["limnos"][op], figures["copy"][op], THROUGHPUT_TARGET
        )
        print(line)
        results.append(met)
    return all(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Limnos worker processes")
    parser.add_argument("--count", type=int, default=32, help="1 MiB objects per run (default 32)")
    parser.add_argument("--large-count", type=int, default=3, help="64 MiB objects per run (default 3)")
    parser.add_argument(
        "--procs", type=int, default=4, help="load processes for the request rate (default 4)"
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds per request-rate run (default 5)"
    )
    parser.add_argument("--max-requests", type=int, default=20_000, help="requests per load process and run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 and 1 objects, 2 s rates")
    parser.add_argument("--dir", type=Path, help="where to create the temporary directory")
    parser.add_argument(
        "--py-spy", type=Path, help="write py-spy profiles (collapsed stacks) of the server's workers here"
    )
    parser.add_argument("--time-limit", type=float, default=900.0, help="stop the whole run after this (s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.large_count, args.duration = 8, 1, 2.0
    if min(args.workers, args.count, args.large_count, args.procs) <= 0 or args.duration <= 0:
        parser.error("counts, workers, procs and duration must be positive")

    print(cpu_line())
    print(busy_line())
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    work = Path(tempfile.mkdtemp(prefix="limnos-s3-bench-", dir=args.dir))
    try:
        met = run(args, work)
    except TimeLimit:
        print(f"\ns3_gateway: time limit of {args.time_limit:g} s reached; servers stopped")
        return 1
    except CheckFailed as err:
        print(f"\ns3_gateway: check failed, no figure printed for the run: {err}")
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        shutil.rmtree(work, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
