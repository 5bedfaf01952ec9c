"""Prometheus metrics at ``/metrics``, and the requests' own.

Like lakeFS, ``/metrics`` answers without credentials: it is meant for a scraper on the
operator's network, and holds counts and durations, no names of repositories, objects or
users. Whoever must not see it is kept away in front of the server.

With several workers, the supervisor gives them a private directory for
prometheus_client's multiprocess mode (:func:`multiprocess_dir`); a scrape, answered by
any worker, adds up the files of all of them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from limnos.api.operations import operation_id
from limnos.metrics import API_REQUEST_DURATION, API_REQUESTS, GATEWAY_REQUEST_DURATION

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"


_DIR_PREFIX = "limnos-metrics-"


@contextmanager
def multiprocess_dir() -> Iterator[str]:
    """A private directory for the workers' metrics, named in the environment they
    inherit, and removed with what they wrote when the block ends."""
    _remove_orphans()
    path = tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{os.getpid()}-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _remove_orphans() -> None:
    """Remove the directories of supervisors that died without removing theirs (killed)."""
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        owner = name.removeprefix(_DIR_PREFIX).partition("-")[0]
        if not name.startswith(_DIR_PREFIX) or not owner.isdigit():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except OSError:
            pass  # alive, as another user


def is_scrape(scope: Scope) -> bool:
    """Whether a request is for the metrics: ``GET /metrics`` signed by nobody. A signed
    one is an S3 request for a repository called ``metrics``."""
    if scope["path"] != PATH or scope["method"] not in ("GET", "HEAD"):
        return False
    if any(name == b"authorization" for name, _ in scope["headers"]):
        return False
    query: bytes = scope.get("query_string", b"")
    return not any(word in query for word in (b"X-Amz-Signature", b"X-Amz-Credential", b"Signature="))


def _exposition() -> bytes:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def serve_metrics(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application of ``/metrics``: Prometheus's text format."""
    # Reading every worker's files is file I/O: off the event loop.
    body = await run_in_threadpool(_exposition)
    headers = [(b"content-type", CONTENT_TYPE_LATEST.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


# The series of each label set met so far: ``labels()`` takes a lock and builds its key
# on every call, which costs more than the observation itself. The sets are few
# (operations times status codes).
_counters: dict[tuple[str, str], Counter] = {}
_histograms: dict[tuple[Histogram, str, str], Histogram] = {}
_operations: dict[tuple[str, str], str] = {}  # by method and route path


def _counter(code: str, method: str) -> Counter:
    series = _counters.get((code, method))
    if series is None:
        series = _counters[(code, method)] = API_REQUESTS.labels(code, method)
    return series


def _histogram(histogram: Histogram, operation: str, code: str) -> Histogram:
    series = _histograms.get((histogram, operation, code))
    if series is None:
        series = _histograms[(histogram, operation, code)] = histogram.labels(operation, code)
    return series


def observe(scope: Scope, front_end: str, status: int, seconds: float) -> None:
    """Record a request of ``front_end`` that answered ``status`` after ``seconds``."""
    code = str(status)
    method: str = scope["method"]
    if front_end == "api":
        _counter(code, method).inc()
        route = scope.get("route")
        if isinstance(route, Route) and method in (route.methods or ()):
            operation = _operations.get((method, route.path))
            if operation is None:
                operation = _operations[(method, route.path)] = operation_id(method, route)
            _histogram(API_REQUEST_DURATION, operation, code).observe(seconds)
    elif front_end == "gateway":
        operation = scope.get("state", {}).get("operation")
        if operation:
            _histogram(GATEWAY_REQUEST_DURATION, operation, code).observe(seconds)
