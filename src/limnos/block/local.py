"""The ``local`` blockstore: a directory tree, written atomically."""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from limnos.block.adapter import (
    CHUNK_SIZE,
    DEFAULT_PRESIGN_EXPIRY_SECONDS,
    BlockAdapter,
    BlockstoreFullError,
    BlockWriter,
    InvalidAddressError,
    InvalidPartError,
    ObjectInfo,
    ObjectNotFoundError,
    PutResult,
    fresh_address,
    split_uri,
)
from limnos.block.dirsync import HAVE_SYNCFS, fsync_directory, make_dirs, sync_filesystem
from limnos.block.presign import UrlSigner
from limnos.block.self_served import (
    SelfServedAdapter,
    parts_prefix,
)

_TMP_SUFFIX = ".limnos-tmp"
# Reads that fail at once rather than wait for the disk (Linux only).
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
# What a file system answers when it has no room left: no space, or the owner's quota.
_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def _file_system(uri: str = "") -> Iterator[None]:
    """Errors of a write that the machine or the client caused, as kinds of error: a full
    file system, or a name longer than it takes. Anything else is left as it is."""
    try:
        yield
    except OSError as err:
        if err.errno in _FULL:
            raise BlockstoreFullError(os.strerror(err.errno).lower()) from err
        if err.errno == errno.ENAMETOOLONG:
            raise InvalidAddressError(_too_long(uri)) from err
        raise


def _too_long(uri: str) -> str:
    shown = uri if len(uri) <= 100 else f"{uri[:100]}..."
    return f"invalid address: {shown!r}: a name in it is too long for the file system"


class LocalAdapter(SelfServedAdapter):
    """Objects are files under ``root``; ``local://a/b`` is ``root/a/b``.

    Absolute ``local:///abs/path`` addresses are allowed only below one of
    ``allowed_external_prefixes`` (used by import), and only for reading.
    """

    schemes = ("local",)
    blockstore_type = "local"
    default_namespace_prefix = "local://"
    # One syncfs per filesystem makes a whole group of new files durable: far cheaper than
    # an fdatasync and a directory fsync for each of them.
    syncs_in_groups = HAVE_SYNCFS

    def __init__(
        self,
        root: str | os.PathLike[str],
        allowed_external_prefixes: Iterable[str] = (),
        *,
        signer: UrlSigner | None = None,
        presign_expiry_seconds: int = DEFAULT_PRESIGN_EXPIRY_SECONDS,
    ):
        self.signer = signer
        self.presign_expiry_seconds = presign_expiry_seconds
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # The file system's limits, in bytes: of one name in a path, and of a whole path.
        self._name_max = os.pathconf(self.root, "PC_NAME_MAX")
        self._path_max = os.pathconf(self.root, "PC_PATH_MAX")
        self.allowed_external = [Path(p).resolve() for p in allowed_external_prefixes]
        # An open directory on each filesystem objects were written to, for syncfs.
        self._filesystems: dict[int, int] = {}
        self._devices: dict[str, int] = {}
        self._filesystems_lock = threading.Lock()

    def _path(self, uri: str, *, writing: bool = False) -> Path:
        scheme, rest = split_uri(uri)
        if scheme != "local":
            raise InvalidAddressError(f"invalid address: {uri!r} is not of the local blockstore")
        if "\x00" in rest:
            raise InvalidAddressError(f"invalid address: {uri!r} contains a NUL byte")
        parts = rest.split("/")
        if ".." in parts:
            raise InvalidAddressError(f"invalid address: {uri!r} contains '..'")
        if rest.startswith("/"):
            path = Path(rest).resolve()
            if writing or not any(path.is_relative_to(p) for p in self.allowed_external):
                raise InvalidAddressError(f"invalid address: {uri!r} is outside the blockstore")
            return self._fitting(path, uri)
        path = (self.root / rest).resolve()
        if path != self.root and not path.is_relative_to(self.root):
            raise InvalidAddressError(f"invalid address: {uri!r} resolves outside the blockstore")
        return self._fitting(path, uri)

    def _fitting(self, path: Path, uri: str) -> Path:
        """``path``, if the file system takes a path that long; the system would refuse
        any use of it with ENAMETOOLONG."""
        encoded = os.fsencode(path)
        if len(encoded) > self._name_max and (
            len(encoded) >= self._path_max or max(map(len, encoded.split(b"/"))) > self._name_max
        ):
            raise InvalidAddressError(_too_long(uri))
        return path

    def validate_namespace(self, namespace: str) -> None:
        super().validate_namespace(namespace)
        _, rest = split_uri(namespace)
        if not rest.strip("/") or rest.startswith("/"):
            raise InvalidAddressError(f"invalid namespace: {namespace!r} must be local://<relative path>")
        self._path(namespace, writing=True)

    def canonical_namespace(self, namespace: str) -> str:
        """A namespace is a directory below the root, however written: ``local:///x``,
        ``local://x/``, ``local://./x`` and ``local://x/.`` are all ``local://x`` (as in
        lakeFS, whose local adapter joins the namespace's path onto its root). The root
        itself is refused: it holds every repository's namespace."""
        BlockAdapter.validate_namespace(self, namespace)
        _, rest = split_uri(namespace)
        parts = [part for part in rest.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise InvalidAddressError(f"invalid namespace: {namespace!r} contains '..'")
        if not parts:
            raise InvalidAddressError(
                f"invalid namespace: {namespace!r} is the root of the blockstore; "
                "name a directory below it, such as local://my-repo"
            )
        canonical = "local://" + "/".join(parts)
        self.validate_namespace(canonical)
        return canonical

    def writer(self, uri: str) -> BlockWriter:
        path = self._path(uri, writing=True)
        with _file_system(uri):
            make_dirs(path.parent, self.root)
            return _LocalWriter(path)

    def new_object_writer(self, namespace: str) -> tuple[str, BlockWriter]:
        """Writes the new file in place: its address is fresh, so no rename is needed."""
        address = fresh_address()
        # The namespace is checked (and resolved) once; the fresh address is our own.
        path = self._namespace_dir(namespace) / address
        with _file_system(namespace):
            try:
                writer = _LocalWriter(path, in_place=True)
            except FileNotFoundError:
                # First object of its directory: create the directories (durably), then retry.
                make_dirs(path.parent, self.root)
                writer = _LocalWriter(path, in_place=True)
        writer.device = self._device(path.parent)
        return address, writer

    def sync(self, writers: Sequence[BlockWriter]) -> None:
        """One syncfs per filesystem the finished objects of ``writers`` are on."""
        devices: dict[int, Path] = {}
        for writer in writers:
            assert isinstance(writer, _LocalWriter) and writer.device is not None
            devices.setdefault(writer.device, writer.path.parent)
        for device, directory in devices.items():
            with _file_system():
                sync_filesystem(self._filesystem_fd(device, directory))

    def _device(self, directory: Path) -> int:
        """The filesystem a directory is on (looked up once per directory)."""
        key = str(directory)
        device = self._devices.get(key)
        if device is None:
            device = self._devices[key] = os.stat(directory).st_dev
        return device

    def _filesystem_fd(self, device: int, directory: Path) -> int:
        with self._filesystems_lock:
            fd = self._filesystems.get(device)
            if fd is None:
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
                self._filesystems[device] = fd
            return fd

    def close(self) -> None:
        with self._filesystems_lock:
            for fd in self._filesystems.values():
                os.close(fd)
            self._filesystems.clear()

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the adapter lives as long as the process
    def _namespace_dir(self, namespace: str) -> Path:
        return self._path(namespace, writing=True)

    def get(self, uri: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(uri)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise ObjectNotFoundError(uri) from err
        return _read_file(f, start, end)

    def read_cached(self, uri: str, start: int, end: int) -> bytes | None:
        """A read that the kernel refuses (RWF_NOWAIT) unless the bytes are in the page cache."""
        if _NOWAIT is None:
            return None
        path = self._path(uri)
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError) as err:
            raise ObjectNotFoundError(uri) from err
        try:
            buffer = bytearray(end - start)
            try:
                count = os.preadv(fd, [buffer], start, _NOWAIT)
            except IsADirectoryError as err:
                raise ObjectNotFoundError(uri) from err
            except OSError:
                return None  # not cached (EAGAIN), or the filesystem cannot tell (EOPNOTSUPP)
            # A short read (only part cached, or a shorter file) goes the ordinary way.
            return bytes(buffer) if count == len(buffer) else None
        finally:
            os.close(fd)

    def get_bytes(self, uri: str) -> bytes:
        try:
            return self._path(uri).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise ObjectNotFoundError(uri) from err

    def head(self, uri: str) -> ObjectInfo:
        path, st = self._stat(uri)
        return ObjectInfo(uri=uri, size=st.st_size, etag=_file_md5(path), mtime=_ts(st.st_mtime))

    def size(self, uri: str) -> int:
        """The file's size, without reading it for its MD5 as :meth:`head` does."""
        return self._stat(uri)[1].st_size

    def _stat(self, uri: str) -> tuple[Path, os.stat_result]:
        path = self._path(uri)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as err:
            raise ObjectNotFoundError(uri) from err
        if not path.is_file():
            raise ObjectNotFoundError(uri)
        return path, st

    def exists(self, uri: str) -> bool:
        return self._path(uri).is_file()

    def validate_external(self, uri: str) -> None:
        """Only files below ``allowed_external_prefixes`` (``local:///absolute/path``): the
        blockstore's own directory holds repositories' namespaces, not outside objects."""
        self.validate_address(uri)
        if not split_uri(uri)[1].startswith("/"):
            raise InvalidAddressError(
                f"invalid address: {uri!r} is outside the repository's storage namespace: only "
                "local:///absolute/paths below blockstore.local.allowed_external_prefixes can be linked"
            )
        self._path(uri)

    # multipart uploads: each part is a file named by its number and MD5 in a directory
    # beside the target; completing copies them into the target inside the kernel
    # (without any copy at all on file systems that share extents).

    def part_writer(self, uri: str, upload_id: str, part_number: int) -> BlockWriter:
        directory = self._path(parts_prefix(uri, upload_id), writing=True)
        with _file_system(uri):
            make_dirs(directory, self.root)
            return _LocalWriter(directory / f"{part_number:05d}", name_by_md5=True)

    def assemble(self, uri: str, sources: Sequence[str], sizes: Sequence[int]) -> PutResult:
        with _file_system(uri):
            writer = _LocalWriter(self._path(uri, writing=True))
            try:
                for source, size in zip(sources, sizes, strict=True):
                    with open(self._path(source), "rb") as part:
                        _copy_range(part.fileno(), writer.fd, size)
                writer.size = sum(sizes)
                return writer.commit()
            except BaseException:
                writer.abort()
                raise

    def abort_multipart(self, uri: str, upload_id: str) -> None:
        directory = self._path(parts_prefix(uri, upload_id), writing=True)
        shutil.rmtree(directory, ignore_errors=True)

    def delete(self, uri: str) -> None:
        self._path(uri, writing=True).unlink(missing_ok=True)

    def copy(self, src_uri: str, dst_uri: str) -> PutResult:
        src = self._path(src_uri)
        dst = self._path(dst_uri, writing=True)
        if not src.is_file():
            raise ObjectNotFoundError(src_uri)
        tmp = dst.parent / f".{dst.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
        with _file_system(dst_uri):
            make_dirs(dst.parent, self.root)
            try:
                try:
                    os.link(src, tmp)  # no byte copied: objects are immutable once written
                except OSError:
                    shutil.copyfile(src, tmp)
                    with open(tmp, "rb") as f:
                        os.fsync(f.fileno())
                os.replace(tmp, dst)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            fsync_directory(dst.parent)
        st = dst.stat()
        # The copy's content is the source's: callers keep the checksum they know.
        return PutResult(size=st.st_size, etag="", mtime=_ts(st.st_mtime))

    def list(self, prefix_uri: str, after: str = "") -> Iterator[ObjectInfo]:
        """Streamed in URI order: directories are walked in the order of their entries'
        names (a directory's as ``name/``), so memory holds one directory at a time."""
        _, rest = split_uri(prefix_uri)
        base = self._path(prefix_uri)
        directory = base if base.is_dir() else base.parent
        if not directory.is_dir():
            return
        absolute = rest.startswith("/")
        # Walked from the parent of an allowed directory (whose name the prefix only
        # starts), files beside that directory must be left out.
        check = absolute and not any(directory.is_relative_to(p) for p in self.allowed_external)
        allowed = [f"{p}/" for p in self.allowed_external]
        # Plain strings and one open file per object: this loop is an import's pace.
        cut = 0 if absolute else len(str(self.root)) + 1
        for path in _sorted_files(str(directory)):
            uri = "local://" + path[cut:]
            if not uri.startswith(prefix_uri) or uri <= after:
                continue
            if check and not any(path.startswith(p) for p in allowed):
                continue
            try:
                size, mtime, etag = _file_facts(path)
            except (FileNotFoundError, IsADirectoryError):
                continue  # removed (or replaced) while listed
            yield ObjectInfo(uri=uri, size=size, etag=etag, mtime=_ts(mtime))


class _LocalWriter(BlockWriter):
    """Writes to a temporary file beside the target; commit syncs and renames it.

    ``in_place`` (for fresh, unique addresses nobody reads before commit) writes the
    target itself, created exclusively: a crash leaves at worst a partial file at an
    address nothing refers to, and the rename's extra metadata work is saved.
    The file is written through its bare descriptor: a small object costs three system
    calls (open, write, close) before it is synced, each a chance for another thread to
    take the interpreter lock.
    """

    def __init__(self, path: Path, *, in_place: bool = False, name_by_md5: bool = False) -> None:
        self.path = path
        # Committed as ``<path>.<md5 of the content>`` (the parts of multipart uploads).
        self.name_by_md5 = name_by_md5
        self.tmp = path if in_place else path.parent / f".{path.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if in_place else os.O_TRUNC)
        self.fd = os.open(self.tmp, flags, 0o644)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.committed = False
        self.device: int | None = None  # the filesystem of the file (set for fresh objects)

    splits_hashing = True

    def write(self, chunk: bytes) -> None:
        self.store((chunk,))
        self.md5.update(chunk)

    def store(self, chunks: Sequence[bytes]) -> None:
        with _file_system():
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self.fd, view) :]
                self.size += len(chunk)

    def digest(self, chunks: Sequence[bytes]) -> None:
        for chunk in chunks:
            self.md5.update(chunk)

    def commit(self) -> PutResult:
        with _file_system():
            return self._commit()

    def _commit(self) -> PutResult:
        os.fdatasync(self.fd)  # the content and what is needed to read it back
        self._close()
        etag = self.md5.hexdigest()
        if self.name_by_md5:
            base = self.path.name
            self.path = self.path.with_name(f"{base}.{etag}")
        if self.tmp != self.path:
            os.replace(self.tmp, self.path)
        if self.name_by_md5:
            # As in S3, the last upload of a part replaces the ones before it.
            for older in self.path.parent.glob(f"{base}.*"):
                if older != self.path and not older.name.endswith(_TMP_SUFFIX):
                    older.unlink(missing_ok=True)
        fsync_directory(self.path.parent)
        self.committed = True
        return PutResult(size=self.size, etag=etag, mtime=datetime.now(UTC))

    def finish(self) -> PutResult:
        if self.tmp != self.path or self.device is None:
            raise NotImplementedError("only fresh objects, written in place, can defer durability")
        self._close()
        return PutResult(size=self.size, etag=self.md5.hexdigest(), mtime=datetime.now(UTC))

    def abort(self) -> None:
        self._close()
        if not self.committed:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


def _read_file(f, start: int, end: int | None) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    with f:
        f.seek(start)
        remaining = None if end is None else max(0, end - start)
        while remaining is None or remaining > 0:
            n = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            chunk = f.read(n)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _sorted_files(directory: str) -> Iterator[str]:
    """The files below ``directory`` in the order of their paths as strings; symbolic
    links are not followed (they could lead outside what may be read)."""
    with os.scandir(directory) as found:
        entries = sorted(
            (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e.path)
            for e in found
            if not e.is_symlink()
        )
    for name, path in entries:
        if name.endswith("/"):
            yield from _sorted_files(path)
        elif not name.endswith(_TMP_SUFFIX):
            yield path


def _file_facts(path: str) -> tuple[int, float, str]:
    """Size, modification time and MD5 of a file, read through one descriptor."""
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if st.st_size <= CHUNK_SIZE:  # most files of a lake of small objects: one read
            digest = hashlib.md5(os.read(fd, CHUNK_SIZE), usedforsecurity=False).hexdigest()
        else:
            md5 = hashlib.md5(usedforsecurity=False)
            while chunk := os.read(fd, CHUNK_SIZE):
                md5.update(chunk)
            digest = md5.hexdigest()
    finally:
        os.close(fd)
    return st.st_size, st.st_mtime, digest


def _copy_range(source: int, target: int, size: int) -> None:
    """Append ``size`` bytes of ``source`` (from its start) to ``target``, inside the
    kernel where it can."""
    offset = 0
    while offset < size:
        try:
            copied = os.copy_file_range(source, target, size - offset, offset)
        except OSError:
            copied = 0  # not supported here (another file system type, an old kernel)
        if copied == 0:
            break
        offset += copied
    while offset < size:
        chunk = os.pread(source, min(CHUNK_SIZE * 4, size - offset), offset)
        if not chunk:
            raise InvalidPartError("InvalidPart: a part of the upload was shortened while being assembled")
        view = memoryview(chunk)
        while view:
            view = view[os.write(target, view) :]
        offset += len(chunk)


def _file_md5(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            md5.update(chunk)
    return md5.hexdigest()


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
