"""How ``limnos run`` spreads client connections over its worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Server, free_port


@pytest.fixture()
def two_workers(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", free_port(), workers=2).start()
    yield server
    server.stop()


def _workers(server: Server) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    workers = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):
            # Workers are spawned processes; multiprocessing's resource tracker is not one.
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(int(child))
    return sorted(workers)


def _established(port: int) -> set[str]:
    """Socket inodes of the established connections accepted on ``port``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                    inodes.add(fields[9])
    return inodes


def _connections_per_worker(server: Server) -> dict[int, int]:
    established = _established(server.port)
    counts: dict[int, int] = {}
    for worker in _workers(server):
        held = 0
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in established:
                    held += 1
        counts[worker] = held
    return counts


def _open_connections(server: Server, count: int) -> list[httpx.Client]:
    clients = [server.http() for _ in range(count)]
    for http in clients:  # one request each: the connection is accepted and stays open
        assert http.get("/user").status_code == 200
    return clients


def test_connections_are_spread_evenly_over_the_workers(two_workers: Server) -> None:
    clients = _open_connections(two_workers, 32)
    try:
        counts = _connections_per_worker(two_workers)
        assert sum(counts.values()) == 32, counts
        assert max(counts.values()) - min(counts.values()) <= 1, counts
    finally:
        for http in clients:
            http.close()


def test_a_dead_worker_does_not_stop_the_others_from_accepting(two_workers: Server) -> None:
    clients = _open_connections(two_workers, 4)
    try:
        victim = _workers(two_workers)[0]
        os.kill(victim, signal.SIGKILL)
        # New connections are served at once by the survivor, and by the replacement
        # worker once it is up.
        started = time.monotonic()
        clients += _open_connections(two_workers, 6)
        assert time.monotonic() - started < 30
        deadline = time.monotonic() + 60
        while victim in _workers(two_workers) or len(_workers(two_workers)) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.1)
        clients += _open_connections(two_workers, 6)
    finally:
        for http in clients:
            http.close()
