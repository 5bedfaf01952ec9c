"""The README's "Without quickstart" works as written: its minimal configuration file, then
``limnos setup`` and ``limnos run`` as it gives them. Only the listen address and the
directories are the test's."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import Server, free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    return README.read_text().split("## Without quickstart", 1)[1].split("\n## ", 1)[0]


def commands() -> list[list[str]]:
    """The ``limnos`` commands of the section's shell block, without their comments."""
    (block,) = re.findall(r"```sh\n(.*?)```", section(), re.S)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


class ReadmeServer(Server):
    """A server configured only by its file (none of the suite's ``LAKEFS_*`` variables),
    with a home directory of its own."""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}
        env["HOME"] = str(self.data_dir / "home")
        return env


def test_setup_then_run_with_the_minimal_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (text,) = re.findall(r"```yaml\n(.*?)```", section(), re.S)
    assert "/var/lib/limnos/" in text
    port = free_port()
    config = yaml.safe_load(text.replace("/var/lib/limnos/", f"{tmp_path}/"))
    config["listen_address"] = f"127.0.0.1:{port}"
    config_name = re.search(r"A minimal file, `([^`]+)`", section())
    assert config_name is not None
    (tmp_path / config_name.group(1)).write_text(yaml.safe_dump(config))

    server = ReadmeServer(tmp_path, port)
    setup, run = commands()
    assert setup[:2] == ["limnos", "setup"] and run[:2] == ["limnos", "run"]
    done = subprocess.run(
        [sys.executable, "-m", "limnos.cli.main", *setup[1:]],
        cwd=tmp_path,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    key, secret = printed["access_key_id"], printed["secret_access_key"]

    # the config path of `limnos run` is relative: the server runs where the file is
    assert run[2:] == ["--config", config_name.group(1)]
    monkeypatch.chdir(tmp_path)
    server.start(*run[2:])
    try:
        with httpx.Client(base_url=server.api, auth=(key, secret), timeout=60) as http:
            assert http.get("/user").json()["user"]["id"] == "admin"
            created = http.post("/repositories", json={"name": "first", "storage_namespace": "local://first"})
            assert created.status_code == 201, created.text
            put = http.post(
                "/repositories/first/branches/main/objects",
                params={"path": "hello.txt"},
                content=b"hello",
                headers={"Content-Type": "application/octet-stream"},
            )
            assert put.status_code == 201, put.text
        # metadata and objects are where the file puts them
        assert (tmp_path / "metadata").is_dir()
        assert any((tmp_path / "block" / "first").rglob("*"))
    finally:
        server.stop()
