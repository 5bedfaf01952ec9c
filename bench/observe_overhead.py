"""What the access log and the metrics cost a request, in-process.

A minimal ASGI endpoint (it answers ``200 ok`` and nothing else) is called directly, bare
and wrapped in the server's :class:`~limnos.server.access_log.RequestLog` (request id,
``X-Request-ID``, metrics, the access-line level check), with the access line below the
log level as by default; then a SQLite point read, bare and timed by
``kv_request_duration_seconds``. Each in both modes of prometheus_client: in memory (one
worker) and multiprocess (several workers, values in memory-mapped files). Each figure is
the best of ``--repeats`` runs of ``--calls`` calls. Target: at most 20 µs per request and
10 µs per metadata store operation.

    python bench/observe_overhead.py [--calls 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

TARGET_REQUEST_US = 20.0
TARGET_KV_US = 10.0

_CHILD = r"""
import asyncio, logging, os, sys, tempfile, time
calls, repeats = int(sys.argv[1]), int(sys.argv[2])
from starlette.routing import Route
from limnos.kv.sqlite import SQLiteStore
from limnos.server.access_log import RequestLog

route = Route("/repositories", lambda request: None, methods=["GET"])

async def api(scope, receive, send):
    scope["state"]["front_end"] = "api"
    scope["route"] = route
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})

async def receive():
    return {"type": "http.request", "body": b""}

async def send(message):
    pass

wrapped = RequestLog(api, logging.DEBUG)

async def per_call(app):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            scope = {"type": "http", "method": "GET", "path": "/api/v1/repositories",
                     "headers": [(b"host", b"h")], "state": {}, "client": ("127.0.0.1", 1)}
            await app(scope, receive, send)
        best = min(best, (time.perf_counter() - start) / calls)
    return best

bare = asyncio.run(per_call(api))
full = asyncio.run(per_call(wrapped))
store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "bench.db"))
store.set("p", b"k", b"v")
raw = SQLiteStore.get.__wrapped__
def kv_per_call(fn):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn(store, "p", b"k")
        best = min(best, (time.perf_counter() - start) / calls)
    return best
kv_bare = kv_per_call(raw)
kv_metered = kv_per_call(SQLiteStore.get)
print(bare, full, kv_bare, kv_metered)
"""


def measure(multiprocess: bool, calls: int, repeats: int) -> list[float]:
    """Seconds per call: bare request, wrapped request, bare kv get, metered kv get."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory() as directory:
        if multiprocess:
            # prometheus_client picks its mode when first imported: a process of its own.
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(calls), str(repeats)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return [float(word) for word in done.stdout.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import busy_line, cpu_line

    print(cpu_line())
    print(busy_line())
    met = True
    for multiprocess in (False, True):
        bare, full, kv_bare, kv_metered = measure(multiprocess, args.calls, args.repeats)
        request_us = (full - bare) * 1e6
        kv_us = (kv_metered - kv_bare) * 1e6
        mode = "multiprocess" if multiprocess else "in memory"
        print(
            f"{mode:>12}: request {bare * 1e6:.2f} -> {full * 1e6:.2f} µs (+{request_us:.2f} µs, "
            f"target {TARGET_REQUEST_US:g}); kv get {kv_bare * 1e6:.2f} -> {kv_metered * 1e6:.2f} µs "
            f"(+{kv_us:.2f} µs, target {TARGET_KV_US:g})"
        )
        met = met and request_us <= TARGET_REQUEST_US and kv_us <= TARGET_KV_US
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
