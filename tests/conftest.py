"""Test fixtures: real ``limnos run`` processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import lakefs_sdk
import pytest

ACCESS_KEY_ID = "AKIALIMNOSTESTADMIN1"
SECRET_ACCESS_KEY = "limnos-test-secret-access-key-0123456789"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``limnos run`` process group."""

    data_dir: Path
    port: int
    workers: int = 2
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
        env.update(self.extra_env)
        return env

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
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
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

    def http(self) -> httpx.Client:
        """A plain HTTP client authenticated as the admin."""
        return httpx.Client(base_url=self.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=60)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by the API tests (each test uses its own repositories)."""
    srv = Server(tmp_path_factory.mktemp("server"), free_port()).start()
    yield srv
    srv.stop()


@pytest.fixture()
def sdk(server: Server) -> Iterator[lakefs_sdk.ApiClient]:
    with server.sdk() as client:
        yield client


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


@pytest.fixture()
def repo(sdk: lakefs_sdk.ApiClient) -> str:
    """A fresh repository (default branch ``main``) for one test."""
    name = f"repo-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=f"local://{name}")
    )
    return name
