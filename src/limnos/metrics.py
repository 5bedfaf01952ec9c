"""The Prometheus metrics every layer records, under lakeFS's names where lakeFS has them.

The metric objects live here, at the bottom of the layers, so that the metadata store and
the blockstores can record their own operations without importing anything above them;
the server exposes them at ``/metrics`` (:mod:`limnos.server.metrics`).

Several worker processes serve one port: when ``PROMETHEUS_MULTIPROC_DIR`` is set before
this module is first imported, each process writes its values to files there and one
scrape adds them up (prometheus_client's multiprocess mode). The supervisor sets it before
it starts the workers.

:func:`meter` times the methods of a store class: :class:`~limnos.kv.store.KVStore` and
the blockstore classes call it for each of their subclasses, so a new driver is measured
without doing anything.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter, Histogram

# lakeFS's buckets for request durations.
_REQUEST_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60)
# Store operations are often well under a millisecond (a SQLite point read, a local file
# stat): lakeFS's kv buckets start at 10 ms and would put all of them in the first one.
_STORE_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
)  # fmt: skip

API_REQUESTS = Counter(
    "api_requests_total",
    "Requests to the REST API, by status code and method.",
    ["code", "method"],
)
API_REQUEST_DURATION = Histogram(
    "api_request_duration_seconds",
    "Durations of REST API requests, by lakeFS operationId and status code.",
    ["operation", "code"],
    buckets=_REQUEST_BUCKETS,
)
GATEWAY_REQUEST_DURATION = Histogram(
    "gateway_request_duration_seconds",
    "Durations of S3 gateway requests, by S3 operation and status code.",
    ["operation", "code"],
    buckets=_REQUEST_BUCKETS,
)
KV_REQUEST_DURATION = Histogram(
    "kv_request_duration_seconds",
    "Durations of metadata store (kv) operations.",
    ["type", "operation"],
    buckets=_STORE_BUCKETS,
)
KV_REQUEST_FAILURES = Counter(
    "kv_request_failures_total",
    "Metadata store (kv) operations that raised.",
    ["type", "operation"],
)
BLOCKSTORE_OPERATION_DURATION = Histogram(
    "blockstore_operation_duration_seconds",
    "Durations of blockstore operations (for streams: until the first chunk).",
    ["blockstore_type", "operation", "error"],
    buckets=_STORE_BUCKETS,
)
WRITE_GROUP_SIZE = Histogram(
    "kv_write_group_size",
    "Writes committed together in one metadata store transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

_Method = Callable[..., Any]


def _first_timed(items: Iterator[Any], done: Callable[[bool], None]) -> Iterator[Any]:
    """``items``, calling ``done(failed)`` once the first item (or the end) is reached."""
    try:
        first = next(items)
    except StopIteration:
        done(False)
        return
    except BaseException:
        done(True)
        raise
    done(False)
    yield first
    yield from items


def meter(cls: type, histogram: Histogram, operations: tuple[str, ...], kind: str | None) -> None:
    """Time the methods named ``operations`` that ``cls`` itself defines, in ``histogram``
    labelled ``(kind, operation)`` (and ``error`` for the blockstore's). A ``kind`` of None
    is the instance's ``blockstore_type``, read at each call. Methods that return an
    iterator are timed until its first item: the rest is the caller's pace."""
    for name in operations:
        method = cls.__dict__.get(name)
        if method is None or getattr(method, "__metered__", False):
            continue
        setattr(cls, name, _metered(method, histogram, kind, name))


class _Series:
    """The time series of one operation of one kind of store, resolved once."""

    __slots__ = ("failed", "failure", "passed")

    def __init__(self, histogram: Histogram, kind: str, name: str) -> None:
        if "error" in histogram._labelnames:
            self.passed = histogram.labels(kind, name, "false")
            self.failed = histogram.labels(kind, name, "true")
        else:
            self.passed = self.failed = histogram.labels(kind, name)
        self.failure = KV_REQUEST_FAILURES.labels(kind, name) if histogram is KV_REQUEST_DURATION else None

    def done(self, start: float, error: bool) -> None:
        (self.failed if error else self.passed).observe(time.perf_counter() - start)
        if error and self.failure is not None:
            self.failure.inc()


def _metered(method: _Method, histogram: Histogram, kind: str | None, name: str) -> _Method:
    fixed = _Series(histogram, kind, name) if kind is not None else None
    by_kind: dict[str, _Series] = {}
    clock = time.perf_counter

    @functools.wraps(method)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        series = fixed
        if series is None:
            kind_now: str = self.blockstore_type
            series = by_kind.get(kind_now)
            if series is None:
                series = by_kind[kind_now] = _Series(histogram, kind_now, name)
        start = clock()
        try:
            result = method(self, *args, **kwargs)
        except BaseException:
            series.done(start, True)
            raise
        if isinstance(result, Iterator):
            return _first_timed(result, functools.partial(series.done, start))
        series.done(start, False)
        return result

    timed.__metered__ = True  # type: ignore[attr-defined]
    return timed
