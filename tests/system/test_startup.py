"""Starting `limnos run`: a configuration that cannot work stops it with one line naming
the problem, before anything is written; lakeFS's own values are taken as they are."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import Server, free_port


def start_failure(server: Server, *args: str) -> str:
    """Run the server expecting it to stop at once; its one line of complaint."""
    done = subprocess.run(
        [sys.executable, "-m", "limnos.cli.main", "run", "--workers", "1", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("limnos: "), done.stderr
    return lines[0]


@pytest.fixture()
def unstarted(tmp_path: Path) -> Server:
    """A server's settings, not started."""
    return Server(tmp_path / "data", free_port(), workers=1)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LAKEFS_LISTEN_ADDRESS": "127.0.0.1:99999"}, "listen_address"),
        ({"LAKEFS_LISTEN_ADDRESS": "127.0.0.1"}, "listen_address"),
        ({"LAKEFS_LOGGING_LEVEL": "LOUD"}, "logging.level"),
        ({"LAKEFS_DATABASE_TYPE": "oracle"}, "database.type"),
        ({"LAKEFS_BLOCKSTORE_TYPE": "tape"}, "blockstore.type"),
        ({"LAKEFS_AUTH_LOGIN_DURATION": "7d"}, "auth.login_duration"),
        ({"LAKEFS_INSTALLATION_ACCESS_KEY_ID": ""}, "installation.access_key_id"),
        ({"LAKEFS_INSTALLATION_ACCESS_KEY_ID": "bad id!"}, "installation"),
    ],
)
def test_bad_settings_stop_the_start(unstarted: Server, env: dict[str, str], named: str) -> None:
    unstarted.extra_env.update(env)
    assert named in start_failure(unstarted)


def test_bad_files_stop_the_start(unstarted: Server, tmp_path: Path) -> None:
    unreadable = tmp_path / "latin1.yaml"
    unreadable.write_bytes(b"listen_address: caf\xe9\n")
    assert "UTF-8" in start_failure(unstarted, "--config", str(unreadable))
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("database:\n  type: [local\n")
    assert "YAML" in start_failure(unstarted, "--config", str(malformed))
    # A key left empty is a key not set: here a required one.
    empty = tmp_path / "empty.yaml"
    empty.write_text("auth:\n  encrypt:\n    secret_key:\n")
    env = {k: v for k, v in unstarted.env().items() if k != "LAKEFS_AUTH_ENCRYPT_SECRET_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "limnos.cli.main", "run", "--config", str(empty)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "auth.encrypt.secret_key" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_data_directory_that_cannot_be_made_stops_the_start(unstarted: Server, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    unstarted.extra_env["LAKEFS_DATABASE_LOCAL_PATH"] = str(blocker / "metadata")
    assert str(blocker) in start_failure(unstarted)


def test_an_admin_without_keys_is_refused_and_nothing_is_written(unstarted: Server) -> None:
    # Generated keys would be shown to nobody: the installation would be locked.
    unstarted.extra_env.update(
        {"LAKEFS_INSTALLATION_ACCESS_KEY_ID": "", "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": ""}
    )
    assert "installation.access_key_id" in start_failure(unstarted)
    assert not (unstarted.data_dir / "metadata").exists()


def test_an_address_in_use_is_found_before_anything_is_written(unstarted: Server) -> None:
    other = Server(unstarted.data_dir.parent / "other", unstarted.port, workers=1).start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "limnos.cli.main", "run", "--workers", "1"],
            env=unstarted.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1 and "cannot listen" in done.stderr, done.stderr
        assert not (unstarted.data_dir / "metadata").exists()
    finally:
        other.kill()


def test_lakefs_log_levels_and_ipv6_addresses_are_taken(unstarted: Server) -> None:
    unstarted.extra_env.update(
        {"LAKEFS_LOGGING_LEVEL": "WARN", "LAKEFS_LISTEN_ADDRESS": f"[::1]:{unstarted.port}"}
    )
    unstarted.data_dir.mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "limnos.cli.main", "run", "--workers", "1"],
        env=unstarted.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline().decode()
        assert f"http://[::1]:{unstarted.port}/api/v1" in banner
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://[::1]:{unstarted.port}/api/v1/healthcheck", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not answer on [::1]"
                time.sleep(0.1)
        assert response.status_code == 204
    finally:
        process.kill()
        process.wait()
