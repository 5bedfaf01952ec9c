"""``limnos run --quickstart``, whose credentials are public, serves this machine only
unless a listen address is configured, and its banner says what is true: where it
listens, and which metadata store and blockstore it uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, free_port, postgres_s3_backend

QUICKSTART_PORT = 8000  # lakeFS's, and quickstart's when no listen address is configured
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def listening(pid: int, port: int) -> list[str]:
    """Local addresses (``/proc/net/tcp`` hex) of the listening TCP sockets on ``port`` in
    the network namespace of process ``pid``."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].rpartition(":")
            if fields[3] == _LISTEN and int(hex_port, 16) == port:
                found.append(address)
    return found


def quickstart_env(data_dir: Path) -> dict[str, str]:
    """The environment of a quickstart that configures no listen address (nor anything
    else but where its files go)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}
    env.update(
        {
            "LAKEFS_DATABASE_LOCAL_PATH": str(data_dir / "metadata"),
            "LAKEFS_BLOCKSTORE_LOCAL_PATH": str(data_dir / "block"),
            "LAKEFS_COMMITTED_LOCAL_CACHE_DIR": str(data_dir / "cache"),
        }
    )
    return env


def _private_network_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture()
def private_quickstart(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A quickstart with no listen address configured, so on port 8000: started in a
    network namespace of its own (``unshare -rn``, loopback up), where that port is free
    whatever else runs on this machine. Yields its pid and its log."""
    if not _private_network_works():
        pytest.skip("no unprivileged network namespaces here (unshare -rn)")
    log_path = tmp_path / "quickstart.log"
    script = 'ip link set lo up && exec "$0" -m limnos.cli.main run --quickstart --workers 2'
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["unshare", "-rn", "sh", "-c", script, sys.executable],
            env=quickstart_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log_path.read_text() or not listening(process.pid, QUICKSTART_PORT):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield process.pid, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_quickstart_listens_on_loopback_only(private_quickstart: tuple[int, Path]) -> None:
    pid, log_path = private_quickstart
    assert listening(pid, QUICKSTART_PORT) == ["0100007F"]  # 127.0.0.1, nothing else
    banner = log_path.read_text()
    assert f"listening on http://127.0.0.1:{QUICKSTART_PORT}/api/v1" in banner
    assert "all interfaces" not in banner and "warning" not in banner
    # It serves there (asked from inside its network namespace).
    probe = "import httpx; print(httpx.get('http://127.0.0.1:8000/api/v1/healthcheck').status_code)"
    answer = subprocess.run(
        ["nsenter", "-t", str(pid), "-U", "-n", "--preserve-credentials", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.stdout.strip() == "204", answer.stderr


def blank_installation() -> dict[str, str]:
    return {
        "LAKEFS_INSTALLATION_USER_NAME": "",
        "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "",
        "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "",
    }


def test_a_configured_listen_address_is_kept_and_told(tmp_path: Path) -> None:
    port = free_port()
    server = Server(
        tmp_path, port, extra_env={**blank_installation(), "LAKEFS_LISTEN_ADDRESS": f"0.0.0.0:{port}"}
    )
    server.start("--quickstart")
    try:
        assert server.process is not None and server.log_path is not None
        assert listening(server.process.pid, port) == ["00000000"]  # 0.0.0.0
        banner = server.log_path.read_text()
        assert f"listening on 0.0.0.0:{port} (all interfaces)" in banner
        assert "warning: these credentials are public" in banner
    finally:
        server.stop()


def test_the_banner_names_postgresql_and_s3(
    tmp_path: Path, postgres_database: str, moto_endpoint: str
) -> None:
    backend = postgres_s3_backend(postgres_database, moto_endpoint, f"quickstart-{uuid.uuid4().hex[:8]}")
    server = Server(tmp_path, free_port(), backend=backend, extra_env=blank_installation())
    server.start("--quickstart")
    try:
        assert server.log_path is not None
        banner = server.log_path.read_text()
        assert "SQLite" not in banner
        assert "PostgreSQL metadata" in banner
        assert f"objects in S3 ({moto_endpoint})" in banner
        assert "postgres@" not in banner  # the connection string is not printed whole
    finally:
        server.stop()
