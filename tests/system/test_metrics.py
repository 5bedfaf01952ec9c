"""Prometheus metrics at ``/metrics``: one scrape adds up every worker's requests, by
operation and status, and the metadata store's and blockstore's operations."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Backend, Server, free_port, s3_client
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Server]:
    """A server of its own with two workers, so that counts are the tests' alone."""
    data = tmp_path_factory.mktemp(f"metrics-{backend.name}")
    server = Server(data, free_port(), workers=2, backend=backend)
    server.start()
    yield server
    server.stop()


def scrape(server: Server) -> Samples:
    """Every sample of an unsigned ``GET /metrics``, by name and labels."""
    answer = httpx.get(f"{server.url}/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over every series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def new_repository(server: Server, name: str) -> None:
    with server.http() as http:
        answer = http.post(
            "/repositories",
            json={"name": name, "storage_namespace": server.namespace(f"{name}-{uuid.uuid4().hex[:8]}")},
        )
    assert answer.status_code == 201, answer.text


def test_api_requests_are_counted_by_operation_and_status(observed: Server) -> None:
    before = scrape(observed)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    # New connections each time: the requests spread over both workers.
    admin = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    for _ in range(5):
        assert httpx.get(f"{observed.api}/repositories", auth=admin).status_code == 200
    for _ in range(3):
        assert httpx.get(f"{observed.api}/repositories/{missing}", auth=admin).status_code == 404
    for _ in range(2):
        assert httpx.get(f"{observed.api}/repositories").status_code == 401
    # HEAD of an object is lakeFS's headObject; the handler's name differs for commit.
    repo = f"counted-{uuid.uuid4().hex[:8]}"
    new_repository(observed, repo)
    with observed.http() as http:
        headed = http.head(f"/repositories/{repo}/refs/main/objects", params={"path": "none"})
        assert headed.status_code == 404
        committed = http.post(
            f"/repositories/{repo}/branches/main/commits", json={"message": "empty", "allow_empty": True}
        )
        assert committed.status_code == 201, committed.text
    after = scrape(observed)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    duration = "api_request_duration_seconds_count"
    assert delta(duration, operation="listRepositories", code="200") == 5
    assert delta(duration, operation="getRepository", code="404") == 3
    assert delta(duration, operation="createRepository", code="201") == 1
    assert delta(duration, operation="headObject", code="404") == 1
    assert delta(duration, operation="commit", code="201") == 1
    # Refused before any operation is known: counted by method and status alone.
    assert delta("api_requests_total", code="401", method="GET") == 2
    assert delta("api_requests_total", code="200", method="GET") == 5
    assert delta("api_requests_total", code="404", method="GET") == 3
    assert delta("api_requests_total", code="404", method="HEAD") == 1
    # The scrapes themselves are not API requests.
    assert total(after, "api_requests_total") - total(before, "api_requests_total") == 13


def test_gateway_requests_are_counted_by_s3_operation_and_status(observed: Server) -> None:
    repo = f"gateway-{uuid.uuid4().hex[:8]}"
    new_repository(observed, repo)
    before = scrape(observed)
    s3 = s3_client(observed)
    for number in range(2):
        s3.put_object(Bucket=repo, Key=f"main/file-{number}", Body=b"hello")
    for _ in range(3):
        assert s3.get_object(Bucket=repo, Key="main/file-0")["Body"].read() == b"hello"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=repo, Key="main/absent")
    s3.list_objects_v2(Bucket=repo, Prefix="main/")
    assert httpx.get(f"{observed.url}/{repo}/main/file-0").status_code == 403  # unsigned
    after = scrape(observed)

    def delta(operation: str, code: str) -> float:
        name = "gateway_request_duration_seconds_count"
        labels = {"operation": operation, "code": code}
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("PutObject", "200") == 2
    assert delta("GetObject", "200") == 3
    assert delta("HeadObject", "404") == 1
    assert delta("ListObjectsV2", "200") == 1
    assert delta("GetObject", "403") == 1
    # Latency buckets are there, cumulative up to +Inf.
    put = {"operation": "PutObject", "code": "200"}
    inf = value(after, "gateway_request_duration_seconds_bucket", le="+Inf", **put)
    assert inf == value(after, "gateway_request_duration_seconds_count", **put)


def test_metadata_store_and_blockstore_operations_are_timed(observed: Server, backend: Backend) -> None:
    repo = f"stores-{uuid.uuid4().hex[:8]}"
    new_repository(observed, repo)
    s3 = s3_client(observed)
    s3.put_object(Bucket=repo, Key="main/a", Body=b"a" * 1000)
    assert s3.get_object(Bucket=repo, Key="main/a")["Body"].read() == b"a" * 1000
    samples = scrape(observed)
    kv_type = "sqlite" if backend.name == "local" else "postgres"
    for operation in ("get", "set_if", "scan"):
        assert value(samples, "kv_request_duration_seconds_count", type=kv_type, operation=operation) > 0
    assert total(samples, "kv_request_duration_seconds_sum", type=kv_type) > 0
    block = "blockstore_operation_duration_seconds_count"
    kind = backend.blockstore_type
    assert total(samples, block, blockstore_type=kind, error="false") > 0
    reads = sum(total(samples, block, operation=op, blockstore_type=kind) for op in ("get", "read_cached"))
    assert reads > 0
    if backend.name == "local":
        # SQLite commits the writes of concurrent requests together.
        assert value(samples, "kv_write_group_size_count") > 0
        assert value(samples, "kv_write_group_size_sum") >= value(samples, "kv_write_group_size_count")


def test_a_signed_request_for_metrics_is_an_s3_request_for_that_repository(observed: Server) -> None:
    s3 = s3_client(observed)
    with pytest.raises(ClientError) as raised:
        s3.list_objects_v2(Bucket="metrics")
    assert raised.value.response["Error"]["Code"] == "NoSuchBucket"
    new_repository(observed, "metrics")
    s3.put_object(Bucket="metrics", Key="main/data.csv", Body=b"a,b\n")
    listed = s3.list_objects_v2(Bucket="metrics", Prefix="main/")
    assert [item["Key"] for item in listed["Contents"]] == ["main/data.csv"]
    # Signed in the query string (a presigned URL): S3 too.
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "metrics", "Prefix": "main/"})
    answer = httpx.get(url)
    assert answer.status_code == 200 and b"<ListBucketResult" in answer.content
    # A key "metrics" of a bucket named by the host (virtual-host style) is S3's, signed or not.
    virtual = httpx.get(f"{observed.url}/metrics", headers={"Host": "metrics.s3.local.lakefs.io"})
    assert virtual.status_code == 403 and b"<Code>AccessDenied</Code>" in virtual.content
    # Unsigned: the metrics, without credentials (as lakeFS serves them).
    unsigned = httpx.get(f"{observed.url}/metrics")
    assert unsigned.status_code == 200 and "# TYPE api_requests_total counter" in unsigned.text


def test_one_worker_serves_its_metrics_too(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", free_port(), workers=1)
    server.start()
    try:
        with server.http() as http:
            assert http.get("/repositories").status_code == 200
        samples = scrape(server)
    finally:
        server.stop()
    assert value(samples, "api_request_duration_seconds_count", operation="listRepositories", code="200") == 1


def test_the_workers_metrics_directory_goes_with_the_server(tmp_path: Path) -> None:
    """Removed at a stop; left by a server killed outright, and removed by the next start."""

    def directories(server: Server) -> list[Path]:
        assert server.process is not None
        return list(Path(tempfile.gettempdir()).glob(f"limnos-metrics-{server.process.pid}-*"))

    stopped = Server(tmp_path / "stopped", free_port(), workers=2).start()
    assert len(directories(stopped)) == 1
    left = directories(stopped)
    stopped.stop()
    assert not any(path.exists() for path in left)

    killed = Server(tmp_path / "killed", free_port(), workers=2).start()
    left = directories(killed)
    assert len(left) == 1
    killed.kill()
    # Left behind by the killed supervisor; the next server to start removes it (any
    # server: one started by a test running beside this one may be first).
    following = Server(tmp_path / "following", free_port(), workers=2).start()
    try:
        assert not left[0].exists()
        assert len(directories(following)) == 1
    finally:
        following.stop()
