"""The configuration, secrets included, reaches worker processes without passing through
their environment, which every child inherits and ``/proc/<pid>/environ`` shows."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, free_port

# What the test servers are given as secrets (conftest's Server and Backend).
SECRETS = [SECRET_ACCESS_KEY, "limnos-test-encryption-key", "limnos-test-secret"]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name may hold spaces and parentheses: fields follow the last ")".
        if int(text.rpartition(")")[2].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.partition("=")[::2] for item in raw.decode(errors="replace").split("\0") if item)


def test_workers_inherit_no_configuration_and_no_secret(server: Server) -> None:
    assert server.process is not None
    workers = children(server.process.pid)
    assert len(workers) >= server.workers
    for pid in workers:
        env = environment(pid)
        assert "LIMNOS_RESOLVED_CONFIG" not in env
        assert not [name for name in env if name.startswith("LAKEFS_")]
        text = "\0".join(f"{k}={v}" for k, v in env.items())
        for secret in SECRETS:
            assert secret not in text
        dsn = server.backend.env.get("LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING")
        assert dsn is None or dsn not in text
    # The workers got the configuration all the same: new connections, spread over them.
    for _ in range(4 * server.workers):
        with httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=60) as http:
            assert http.get("/user").status_code == 200


def test_a_server_of_one_process_gets_its_configuration(tmp_path: Path) -> None:
    server = Server(tmp_path, free_port(), workers=1).start()
    try:
        assert server.process is not None
        with httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=60) as http:
            assert http.get("/user").json()["user"]["id"] == "admin"
        for pid in children(server.process.pid):
            assert "LIMNOS_RESOLVED_CONFIG" not in environment(pid)
    finally:
        server.stop()
