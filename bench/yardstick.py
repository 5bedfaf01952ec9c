"""How fast is this machine? The yardstick the API load targets were set against.

The targets of ``api_load.py`` were set for a 2-core machine on which a bare FastAPI
endpoint doing one SQLite read serves about 4,800 requests/s from one uvicorn worker, and
about half that when the read is moved into the thread pool. This script measures those
two endpoints here, with the same load generator, connections and concurrency as
``api_load.py``, and prints them beside the reference: a ratio below 1 means this
machine is slower than the one the targets assume.

It then measures the disk: the latency of a 4 KiB write followed by ``fdatasync``,
repeated for ``--duration`` seconds in the temporary directory. Every acknowledged
write of Limnos waits for at least one such flush, so the tail of this distribution is
a floor under the tail of the write scenarios. Last, it creates small files as uploads
do (a new 1 KiB file in one of 256 directories: open, write, close, no flush) and
prints what each costs, in time and in CPU: on a local blockstore every upload pays
that once, and that CPU is the kernel's, so no change to Limnos can remove it.

Needs ``fastapi`` (``pip install fastapi``); nothing of Limnos is involved.

    python bench/yardstick.py [--concurrency 32] [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import Scenario, Target, free_port, percentiles, rate_of, run_scenario  # noqa: E402

REFERENCE_INLINE = 4_800  # requests/s of the inline endpoint on the reference machine
ROWS = 10_000

APP = textwrap.dedent(
    """
    import os
    import random
    import sqlite3
    import threading

    from fastapi import FastAPI

    app = FastAPI()
    _local = threading.local()


    def _read() -> dict:
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = _local.conn = sqlite3.connect(os.environ["YARDSTICK_DB"], check_same_thread=False)
        key = random.randrange({rows})
        (value,) = conn.execute("SELECT value FROM items WHERE id = ?", (key,)).fetchone()
        return {{"id": key, "value": value}}


    @app.get("/inline")
    async def inline() -> dict:
        return _read()


    @app.get("/threaded")
    def threaded() -> dict:
        return _read()
    """
).format(rows=ROWS)


def _make_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
    conn.executemany("INSERT INTO items VALUES (?, ?)", ((i, f"value-{i}") for i in range(ROWS)))
    conn.commit()
    conn.close()


def _start(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YARDSTICK_DB": str(workdir / "items.db"), "PYTHONPATH": str(workdir)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "yardstick_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the yardstick server exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/inline", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the yardstick server did not start")


def flush_latency(directory: Path, seconds: float) -> list[float]:
    """Latencies (seconds) of 4 KiB write + fdatasync, one after another, every 2 ms."""
    fd = os.open(directory / "flush-probe", os.O_WRONLY | os.O_CREAT, 0o644)
    latencies = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.pwrite(fd, os.urandom(4096), 0)
            start = time.perf_counter()
            os.fdatasync(fd)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.002)
    finally:
        os.close(fd)
    return sorted(latencies)


def creation_cost(directory: Path, count: int) -> tuple[list[float], float]:
    """Latencies (seconds, sorted) of creating ``count`` new 1 KiB files spread over 256
    directories, and the CPU time per file (mostly the kernel's)."""
    subdirectories = [directory / "create-probe" / f"{index:02x}" for index in range(256)]
    for subdirectory in subdirectories:
        subdirectory.mkdir(parents=True)
    data = os.urandom(1024)
    latencies = []
    cpu_start = time.thread_time()
    for index in range(count):
        path = subdirectories[index % 256] / f"object-{index}"
        start = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        latencies.append(time.perf_counter() - start)
    cpu_per_file = (time.thread_time() - cpu_start) / count
    return sorted(latencies), cpu_per_file


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", "-c", type=int, default=32)
    parser.add_argument("--duration", "-d", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=2_000, help="files the creation test makes")
    args = parser.parse_args()
    try:
        import fastapi  # noqa: F401
    except ImportError:
        print("the yardstick needs fastapi: pip install fastapi", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="limnos-yardstick-") as tmp:
        workdir = Path(tmp)
        (workdir / "yardstick_app.py").write_text(APP)
        _make_database(workdir / "items.db")
        port = free_port()
        server = _start(workdir, port)
        try:
            target = Target("127.0.0.1", port, "unused", "unused")
            print(
                f"bare FastAPI, 1 uvicorn worker, one SQLite read per request; concurrency "
                f"{args.concurrency}, {args.duration:g} s after {args.warmup:g} s warmup"
            )
            print(f"{'endpoint':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  reference   ratio")
            for name, reference in (("inline", REFERENCE_INLINE), ("threaded", REFERENCE_INLINE / 2)):
                scenario = Scenario(name="yardstick", repository=name)
                result = run_scenario(
                    scenario, [target], "raw", args.concurrency, args.duration, args.warmup, 10_000_000, 1
                )
                if result.errors:
                    print(f"{name}: {result.errors} errors: {result.samples[:2]}")
                    return 1
                rate = rate_of(result)
                pct = percentiles(result.latencies)
                print(
                    f"{name:<10} {rate:>8,.0f} {pct['p50']:>8.2f} {pct['p99']:>8.2f}  "
                    f"{reference:>9,.0f}   {rate / reference:.2f}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
        flushes = flush_latency(workdir, args.duration)
        n = len(flushes)
        over = sum(1 for x in flushes if x > 0.025)
        print(
            f"disk flush (4 KiB write + fdatasync, {n:,} times over {args.duration:g} s): "
            f"p50 {flushes[n // 2] * 1e3:.2f} ms, p99 {flushes[int(n * 0.99)] * 1e3:.2f} ms, "
            f"max {flushes[-1] * 1e3:.1f} ms, {over} over 25 ms"
        )
        created, cpu_per_file = creation_cost(workdir, args.files)
        n = len(created)
        print(
            f"file creation (new 1 KiB file in one of 256 directories, no flush, {n:,} files): "
            f"p50 {created[n // 2] * 1e3:.3f} ms, p99 {created[int(n * 0.99)] * 1e3:.3f} ms, "
            f"CPU {cpu_per_file * 1e3:.3f} ms per file"
        )
    print(f"os.cpu_count() = {os.cpu_count()}; load generator: 1 process on the same machine")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
