"""Serving with several worker processes, each with its own listening socket.

Every worker binds the listen address with ``SO_REUSEPORT``, so the kernel spreads new
connections evenly over the workers. (With one shared socket, whichever worker happens
to be waiting in ``accept`` takes the connection, and keep-alive clients stay piled on
one worker while another idles.) The parent only supervises: it restarts a worker that
dies and stops them all on SIGTERM or SIGINT.
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

_PR_SET_PDEATHSIG = 1


def reserve(host: str, port: int) -> socket.socket:
    """Bind (without listening) to check the address is free before workers start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _die_with_parent() -> None:
    """Ask Linux to stop this worker when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker(server_config: uvicorn.Config, host: str, port: int) -> None:
    _die_with_parent()
    sock = reserve(host, port)
    sock.listen(server_config.backlog)
    run_server(server_config, sock)


def run_server(server_config: uvicorn.Config, sock: socket.socket) -> None:
    """Load the application, then serve on the listening socket ``sock`` until stopped."""
    server_config.load()  # imports the application and opens its services
    # What exists now (modules, the application, its services) lives as long as the
    # process. Frozen, the garbage collector no longer walks it in every full collection:
    # each one paused the worker's event loop for 5-10 ms more.
    gc.freeze()
    uvicorn.Server(server_config).run(sockets=[sock])


def serve(server_config: uvicorn.Config, host: str, port: int, workers: int) -> None:
    """Run ``workers`` uvicorn processes on ``host:port`` until told to stop."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(server_config, host, port), daemon=False)
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                processes[index] = start()
    for process in processes:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
