"""Serving with several worker processes on one listening socket.

The parent binds the listen address once and hands the socket to every worker; the
workers take turns accepting so that each holds as many connections as the others
(:mod:`limnos.server.balance`). The parent only supervises: it restarts a worker that dies
and stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from limnos.server.balance import CUT_OFF_EXIT, BalancedServer, ConnectionTable

_PR_SET_PDEATHSIG = 1
#: How long past the grace period a stopping worker may take to exit before it is killed.
_EXIT_MARGIN = 5.0


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, not yet listening; raises OSError when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _die_with_parent() -> None:
    """Ask Linux to stop this worker when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker(server_config: uvicorn.Config, sock: socket.socket, table: ConnectionTable, index: int) -> None:
    _die_with_parent()
    _load(server_config)
    cut_off = BalancedServer(server_config, sock, table, index).run_until_stopped()
    sys.exit(CUT_OFF_EXIT if cut_off else 0)


def run_server(server_config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve alone on the listening socket ``sock`` until stopped: as one worker of
    :func:`serve` does (bounded connections, a drain on SIGTERM), saying when it stopped."""
    _load(server_config)
    table = ConnectionTable(1, multiprocessing.get_context("spawn"))
    BalancedServer(server_config, sock, table, 0, announce_stop=True).run_until_stopped()


def _load(server_config: uvicorn.Config) -> None:
    """Import the application and open its services, before serving."""
    server_config.load()
    # What exists now (modules, the application, its services) lives as long as the
    # process. Frozen, the garbage collector no longer walks it in every full collection:
    # each one paused the worker's event loop for 5-10 ms more.
    gc.freeze()


def serve(server_config: uvicorn.Config, sock: socket.socket, workers: int) -> None:
    """Run ``workers`` uvicorn processes on the listening socket ``sock`` until told to stop."""
    context = multiprocessing.get_context("spawn")
    table = ConnectionTable(workers, context)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> BaseProcess:
        table.forget(index)
        process = context.Process(target=_worker, args=(server_config, sock, table, index), daemon=False)
        process.start()
        return process

    processes = [start(index) for index in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                processes[index] = start(index)
    # The listening socket lives while any process holds it: closed here and in every
    # worker, new connections are refused instead of waiting in a backlog nobody serves.
    sock.close()
    for process in processes:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    # Workers let their requests in flight finish for the grace period, then cancel them.
    grace = server_config.timeout_graceful_shutdown or 0
    deadline = time.monotonic() + grace + _EXIT_MARGIN
    killed = 0
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            killed += 1
            process.kill()
            process.join()
    cut = sum(1 for process in processes if process.exitcode == CUT_OFF_EXIT)
    print(_stop_line(killed, cut, grace), file=sys.stderr, flush=True)


def _stop_line(killed: int, cut: int, grace: float) -> str:
    """What the supervisor says once its workers are gone."""
    if not (killed or cut):
        return "Limnos stopped: the workers finished their requests in flight"
    return (
        f"Limnos stopped: requests in flight were cut off after the grace period of {grace}s "
        f"(server.shutdown_timeout) in {cut} workers; {killed} workers did not exit and were killed"
    )
