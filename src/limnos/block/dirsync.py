"""Durability on local filesystems.

An entry made in a directory survives a power cut only once the directory itself is
fsynced — that goes for new files and for new directories alike. Where Linux offers
``syncfs``, one call makes everything written to a filesystem durable: data, inodes and
directory entries, for any number of files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """fsync a directory, making its entries durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, root: Path) -> None:
    """Create ``path`` and its missing parents below ``root``, each one durably."""
    missing: list[Path] = []
    current = path
    while current != root and not current.is_dir():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue  # another writer made it, and syncs its parent
        fsync_directory(directory.parent)


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _load_syncfs()

#: Whether :func:`sync_filesystem` is available on this system.
HAVE_SYNCFS = _syncfs is not None


def sync_filesystem(fd: int) -> None:
    """Make everything written so far to the filesystem holding ``fd`` durable (``syncfs``).

    Raises OSError when the system reports a write-back error for that filesystem.
    """
    if _syncfs is None:
        raise OSError("syncfs is not available on this system")
    # ctypes releases the GIL for the call: other threads run while the disk works.
    if _syncfs(fd) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    # On a filesystem without a journal, syncfs may flush the disk's cache before the
    # last metadata blocks it wrote have landed; an fsync after it flushes once more.
    os.fsync(fd)
