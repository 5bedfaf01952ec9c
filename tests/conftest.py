"""Test fixtures: real ``limnos run`` processes on free loopback ports."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import lakefs
import lakefs_sdk
import pytest

ACCESS_KEY_ID = "AKIALIMNOSTESTADMIN1"
SECRET_ACCESS_KEY = "limnos-test-secret-access-key-0123456789"
POSTGRES_DSN_ENV = "LIMNOS_TEST_POSTGRES_DSN"
#: Why a test of the PostgreSQL + S3 half is skipped: the one reason the summary counts.
POSTGRES_SKIP_REASON = (
    f"{POSTGRES_DSN_ENV} is not set: the PostgreSQL + S3 half of the suite needs it, "
    f"e.g. {POSTGRES_DSN_ENV}=postgresql://postgres@127.0.0.1:5432/test"
)
S3_BUCKET = "limnos-test"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Backend:
    """Where a server keeps metadata and objects: the environment that says so."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    namespace_prefix: str = "local://"
    blockstore_type: str = "local"
    s3_endpoint: str = ""
    #: What getConfig reports as ``default_namespace_prefix``: set by
    #: ``blockstore.default_namespace_prefix``, or the blockstore's own default.
    default_namespace_prefix: str = "local://"

    def namespace(self, name: str) -> str:
        """A storage namespace for repository ``name`` on this backend."""
        return f"{self.namespace_prefix}{name}"

    def foreign_namespace(self, name: str) -> str:
        """A namespace of another blockstore type, which this backend must refuse."""
        return f"s3://bucket/{name}" if self.blockstore_type == "local" else f"local://{name}"


LOCAL = Backend("local")


@dataclass
class Server:
    """A running ``limnos run`` process group."""

    data_dir: Path
    port: int
    workers: int = 2
    backend: Backend = LOCAL
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}
        env.update(
            {
                "LAKEFS_LISTEN_ADDRESS": f"127.0.0.1:{self.port}",
                "LAKEFS_DATABASE_TYPE": "local",
                "LAKEFS_DATABASE_LOCAL_PATH": str(self.data_dir / "metadata"),
                "LAKEFS_BLOCKSTORE_TYPE": "local",
                "LAKEFS_BLOCKSTORE_LOCAL_PATH": str(self.data_dir / "block"),
                "LAKEFS_COMMITTED_LOCAL_CACHE_DIR": str(self.data_dir / "cache"),
                "LAKEFS_AUTH_ENCRYPT_SECRET_KEY": "limnos-test-encryption-key",
                "LAKEFS_INSTALLATION_USER_NAME": "admin",
                "LAKEFS_INSTALLATION_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "LAKEFS_LOGGING_LEVEL": "WARNING",
            }
        )
        env.update(self.backend.env)
        env.update(self.extra_env)
        return env

    def namespace(self, name: str) -> str:
        """A storage namespace for repository ``name`` on this server's backend."""
        return self.backend.namespace(name)

    def _s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.backend.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="limnos-test",
            aws_secret_access_key="limnos-test-secret",
        )

    def read_object(self, uri: str) -> bytes:
        """The bytes stored at ``uri`` in this server's blockstore, read behind its back."""
        scheme, _, rest = uri.partition("://")
        if scheme == "local":
            return (self.data_dir / "block" / rest).read_bytes()
        bucket, _, key = rest.partition("/")
        body: bytes = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def stored_uris(self, namespace: str) -> list[str]:
        """Every object stored under ``namespace`` in this server's blockstore, listed
        behind its back (files of every kind, temporary ones included)."""
        scheme, _, rest = namespace.partition("://")
        if scheme == "local":
            root = self.data_dir / "block"
            base = root / rest
            if not base.exists():
                return []
            return sorted(f"local://{p.relative_to(root)}" for p in base.rglob("*") if p.is_file())
        bucket, _, prefix = rest.partition("/")
        found: list[str] = []
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []))
        return sorted(found)

    def write_object(self, uri: str, data: bytes) -> None:
        """Store ``data`` at ``uri`` in this server's blockstore, behind its back."""
        scheme, _, rest = uri.partition("://")
        if scheme == "local":
            path = self.data_dir / "block" / rest
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        bucket, _, key = rest.partition("/")
        self._s3().put_object(Bucket=bucket, Key=key, Body=data)

    def start(self, *args: str) -> Server:
        """Start the process and wait until it answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}-{uuid.uuid4().hex[:6]}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "limnos.cli.main", "run", "--workers", str(self.workers), *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.api}/healthcheck", timeout=1).status_code == 204:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group and wait for it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # workers of the group may outlive the parent for a moment
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.process = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def sdk(self) -> lakefs_sdk.ApiClient:
        """A ``lakefs-sdk`` client authenticated as the admin."""
        configuration = lakefs_sdk.Configuration(
            host=self.api, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY
        )
        return lakefs_sdk.ApiClient(configuration)

    def legacy_configuration(self, temp_folder: Path) -> Any:
        """The legacy ``lakefs-client``'s configuration for the admin, as its documentation
        shows; it keeps getObject downloads as files under ``temp_folder``."""
        import lakefs_client

        configuration = lakefs_client.Configuration(
            host=self.api, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY
        )
        configuration.temp_folder_path = str(temp_folder)
        return configuration

    def http(self) -> httpx.Client:
        """A plain HTTP client authenticated as the admin."""
        return httpx.Client(base_url=self.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=60)


@contextlib.contextmanager
def started(*servers: Server) -> Iterator[tuple[Server, ...]]:
    """Start ``servers`` in order; those started are stopped, last first, when the block
    ends or a later start fails."""
    running: list[Server] = []
    try:
        for server in servers:
            running.append(server.start())
        yield tuple(running)
    finally:
        for server in reversed(running):
            server.stop()


def s3_client(
    server: Server, key: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY, **config: Any
) -> Any:
    """boto3's S3 client for the server's gateway: path-style, no retries, the admin's keys
    unless others are given; ``config`` goes to botocore's Config."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


def postgres_dsn() -> str:
    """The DSN of the test PostgreSQL; CI must have one, a developer may skip."""
    dsn = os.environ.get(POSTGRES_DSN_ENV, "")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail(POSTGRES_SKIP_REASON)
        pytest.skip(POSTGRES_SKIP_REASON)
    return dsn


def _skip_reason(report: pytest.TestReport) -> str:
    """The reason a skipped test's report gives (pytest keeps it as ``Skipped: <reason>``)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return ""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """One line saying how many tests were skipped for lack of PostgreSQL, if any were:
    after the other summaries (the outermost wrapper ends last), so it is the line just
    above pytest's final count."""
    yield
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if _skip_reason(report) == POSTGRES_SKIP_REASON
    ]
    if skipped:
        tests = "test" if len(skipped) == 1 else "tests"
        terminalreporter.write_line(
            f"{len(skipped)} {tests} skipped for lack of PostgreSQL: set {POSTGRES_DSN_ENV} "
            "to run them (see README.md, Running the tests)",
            yellow=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server process on loopback, with the test bucket created."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.put(f"{endpoint}/{S3_BUCKET}", timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    yield endpoint
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    log.close()


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server (its DSN); dropped afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    dsn = postgres_dsn()
    name = f"limnos_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(dsn)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test session; dropped afterwards."""
    with fresh_postgres_database() as database:
        yield database


def postgres_s3_backend(database_dsn: str, s3_endpoint: str, prefix: str) -> Backend:
    """A backend on PostgreSQL and S3 (moto), with namespaces under ``prefix`` in the bucket
    (which is also the server's default namespace prefix)."""
    return Backend(
        "postgres-s3",
        env={
            "LAKEFS_DATABASE_TYPE": "postgres",
            "LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING": database_dsn,
            "LAKEFS_BLOCKSTORE_TYPE": "s3",
            "LAKEFS_BLOCKSTORE_S3_ENDPOINT": s3_endpoint,
            "LAKEFS_BLOCKSTORE_S3_FORCE_PATH_STYLE": "true",
            "LAKEFS_BLOCKSTORE_S3_REGION": "us-east-1",
            "LAKEFS_BLOCKSTORE_S3_CREDENTIALS_ACCESS_KEY_ID": "limnos-test",
            "LAKEFS_BLOCKSTORE_S3_CREDENTIALS_SECRET_ACCESS_KEY": "limnos-test-secret",
            "LAKEFS_BLOCKSTORE_DEFAULT_NAMESPACE_PREFIX": f"s3://{S3_BUCKET}/{prefix}",
        },
        namespace_prefix=f"s3://{S3_BUCKET}/{prefix}/",
        blockstore_type="s3",
        s3_endpoint=s3_endpoint,
        default_namespace_prefix=f"s3://{S3_BUCKET}/{prefix}",
    )


@pytest.fixture(scope="session", params=["local", "postgres-s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each API test runs on the embedded backend and on PostgreSQL + S3."""
    if request.param == "local":
        return LOCAL
    database = request.getfixturevalue("postgres_database")
    endpoint = request.getfixturevalue("moto_endpoint")
    return postgres_s3_backend(database, endpoint, f"session-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Server]:
    """One server per backend shared by the API tests (each test uses its own repositories)."""
    srv = Server(tmp_path_factory.mktemp(f"server-{backend.name}"), free_port(), backend=backend)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture()
def sdk(server: Server) -> Iterator[lakefs_sdk.ApiClient]:
    with server.sdk() as client:
        yield client


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    """The admin's plain HTTP client; any 5xx answer fails the test (bad input is a 4xx)."""

    def no_server_error(response: httpx.Response) -> None:
        request = response.request
        assert response.status_code < 500, f"{request.method} {request.url} answered {response.status_code}"

    with server.http() as client:
        client.event_hooks["response"].append(no_server_error)
        yield client


def objects_url(repo: str, ref: str = "main") -> str:
    """Where the objects of ``ref`` are read."""
    return f"/repositories/{repo}/refs/{ref}/objects"


def upload_url(repo: str, branch: str = "main") -> str:
    """Where the objects of ``branch`` are written."""
    return f"/repositories/{repo}/branches/{branch}/objects"


@pytest.fixture()
def read_only_repo(server: Server, sdk: lakefs_sdk.ApiClient) -> str:
    """A fresh read-only repository (writes need ``force``)."""
    name = f"ro-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=server.namespace(name), read_only=True)
    )
    return name


def create_repository(http: httpx.Client, server: Server, prefix: str = "repo") -> str:
    """A fresh repository (default branch ``main``) on ``server``'s backend, created through
    ``http`` (a client of the REST API)."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    response = http.post("/repositories", json={"name": name, "storage_namespace": server.namespace(name)})
    assert response.status_code == 201, response.text
    return name


@pytest.fixture()
def repo(server: Server, sdk: lakefs_sdk.ApiClient) -> str:
    """A fresh repository (default branch ``main``) for one test."""
    name = f"repo-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=server.namespace(name))
    )
    return name


# helpers shared by the API tests ---------------------------------------------------------


@pytest.fixture()
def client(server: Server) -> lakefs.Client:
    """The ``lakefs`` wrapper's client, authenticated as the admin."""
    return lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)


def status_of(call: Callable[[], object]) -> int:
    """The HTTP status of a call of ``lakefs_sdk`` or the legacy ``lakefs_client`` that
    must fail."""
    import lakefs_client

    with pytest.raises((lakefs_sdk.ApiException, lakefs_client.ApiException)) as raised:
        call()
    return int(raised.value.status)


@pytest.fixture()
def legacy_repositories(server: Server, tmp_path: Path) -> Iterator[Any]:
    """The legacy ``lakefs_client``'s RepositoriesApi, configured as its documentation shows."""
    import lakefs_client
    from lakefs_client.api import repositories_api

    with lakefs_client.ApiClient(server.legacy_configuration(tmp_path)) as api_client:
        yield repositories_api.RepositoriesApi(api_client)


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    """The response is an error of ``status`` whose message mentions ``words``."""
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert isinstance(message, str) and message
    for word in words:
        assert word in message
    return message


def head(sdk: lakefs_sdk.ApiClient, repo: str, branch: str) -> str:
    """The commit a branch points at."""
    return str(lakefs_sdk.BranchesApi(sdk).get_branch(repo, branch).commit_id)


def repository_state(server: Server, http: httpx.Client, repo: str) -> dict[str, Any]:
    """Everything a write to a repository could change: its branches and tags, each
    branch's objects (staged ones included) and uncommitted changes, and what its storage
    namespace holds."""
    branches = http.get(f"/repositories/{repo}/branches", params={"amount": 1000}).json()["results"]
    tags = http.get(f"/repositories/{repo}/tags", params={"amount": 1000}).json()["results"]
    state: dict[str, Any] = {
        "branches": {b["id"]: b["commit_id"] for b in branches},
        "tags": {t["id"]: t["commit_id"] for t in tags},
        "stored": server.stored_uris(server.namespace(repo)),
    }
    for branch in state["branches"]:
        listed = http.get(f"/repositories/{repo}/refs/{branch}/objects/ls", params={"amount": 1000})
        state[f"objects of {branch}"] = {
            o["path"]: (o["checksum"], o.get("metadata")) for o in listed.json()["results"]
        }
        diff = http.get(f"/repositories/{repo}/branches/{branch}/diff", params={"amount": 1000})
        state[f"changes of {branch}"] = diff.json()["results"]
    return state


def upload(sdk: lakefs_sdk.ApiClient, repo: str, branch: str, path: str, data: bytes) -> None:
    """Stage ``data`` at ``path`` through the ``lakefs`` wrapper (the SDK uploads only files)."""
    conf = sdk.configuration
    wrapper = lakefs.Client(host=conf.host, username=conf.username, password=conf.password)
    lakefs.Repository(repo, client=wrapper).branch(branch).object(path).upload(data=data)


# clients of the S3 gateway ------------------------------------------------------------------


@pytest.fixture()
def s3fs_fs(server: Server) -> Any:
    """``s3fs`` on the gateway, as a user configures it (its own instance, no listings cache)."""
    import s3fs

    return s3fs.S3FileSystem(
        key=ACCESS_KEY_ID,
        secret=SECRET_ACCESS_KEY,
        client_kwargs={"endpoint_url": server.url, "region_name": "us-east-1"},
        skip_instance_cache=True,
        use_listings_cache=False,
    )


def s3fs_options(server: Server) -> dict[str, Any]:
    """``storage_options`` with which pandas reads ``s3://`` URLs through the gateway."""
    return {
        "key": ACCESS_KEY_ID,
        "secret": SECRET_ACCESS_KEY,
        "client_kwargs": {"endpoint_url": server.url, "region_name": "us-east-1"},
    }


@pytest.fixture()
def arrow_fs(server: Server) -> Any:
    """``pyarrow.fs.S3FileSystem`` on the gateway."""
    from pyarrow import fs

    return fs.S3FileSystem(
        endpoint_override=f"127.0.0.1:{server.port}",
        scheme="http",
        access_key=ACCESS_KEY_ID,
        secret_key=SECRET_ACCESS_KEY,
        region="us-east-1",
    )


@dataclass
class AwsCli:
    """The AWS CLI (``python -m awscli``) against the gateway, in an environment of its own:
    the machine's AWS configuration and credentials never reach it."""

    endpoint: str
    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        config, credentials = self.home / "config", self.home / "credentials"
        config.touch()
        credentials.touch()
        env.update(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            }
        )
        return env

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``aws <args> --endpoint-url <gateway>`` (in ``env``, by default :meth:`env`);
        with ``check``, it must succeed."""
        done = subprocess.run(
            [sys.executable, "-m", "awscli", *args, "--endpoint-url", self.endpoint],
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return done


@pytest.fixture()
def aws(server: Server, tmp_path: Path) -> AwsCli:
    home = tmp_path / "aws"
    home.mkdir()
    return AwsCli(server.url, home)


@dataclass
class Rclone:
    """rclone with a remote ``limnos`` on the gateway, from a configuration file of its own."""

    config: Path

    def run(
        self, *args: str, check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``rclone <args>`` (``input_text`` on its standard input); with ``check``, it must succeed."""
        done = subprocess.run(
            ["rclone", "--config", str(self.config), "--low-level-retries", "1", "--retries", "1", *args],
            env={k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))},
            input=input_text,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, f"rclone {' '.join(args)}: {done.stderr}"
        return done


def rclone_config(endpoint: str) -> str:
    """An rclone remote ``limnos`` on the gateway at ``endpoint``, as a user writes it."""
    return (
        "[limnos]\n"
        "type = s3\n"
        "provider = Other\n"
        f"endpoint = {endpoint}\n"
        f"access_key_id = {ACCESS_KEY_ID}\n"
        f"secret_access_key = {SECRET_ACCESS_KEY}\n"
        "region = us-east-1\n"
        "force_path_style = true\n"
        "no_check_bucket = true\n"
    )


@pytest.fixture()
def rclone(server: Server, tmp_path: Path) -> Rclone:
    config = tmp_path / "rclone.conf"
    config.write_text(rclone_config(server.url))
    return Rclone(config)


BIG_OBJECT_SIZE = 64 * 1024 * 1024


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file of 64 MiB of random bytes, large enough for every client to upload it in parts."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with open(path, "wb") as f:
        for _ in range(BIG_OBJECT_SIZE // (4 << 20)):
            f.write(os.urandom(4 << 20))
    return path


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
