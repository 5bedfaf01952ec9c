"""Uploading one large object to a real ``limnos run`` server, three ways, against a plain copy.

One ``limnos run`` server (the embedded default: SQLite metadata, local blockstore, one
worker per core) runs over a temporary directory. A source file of ``--size`` bytes
(default 1 GiB, random content written once) is created in the same directory tree, so
every path below reads the same bytes from and writes them to the same disk:

a. ``copy``      the baseline, no server: the source copied to a new file with
                 ``os.copy_file_range`` (in-kernel, through the page cache; a plain
                 read/write loop where that is not supported), then ``fsync`` of the copy
                 and of its directory: the bytes are durable, as the server's are when it
                 answers. The copy is deleted after each round;
b. ``upload``    uploadObject: ``POST .../branches/main/objects?path=...``, the file
                 streamed as the raw body (``application/octet-stream``), basic auth;
c. ``presign``   one presigned PUT: getPhysicalAddress with ``presign=true``, a plain
                 ``PUT`` of the file to the presigned URL (no credentials), then
                 linkPhysicalAddress with the ETag the PUT answered;
d. ``multipart`` a presigned multipart upload of ``--parts`` parts (default 4):
                 createPresignMultipartUpload, the parts PUT concurrently (one thread and
                 connection each, each streaming its slice of the file), then
                 completePresignMultipartUpload.

Times run from the first request to the last answer (for ``copy``: from opening the
files to the end of the fsyncs). The client (httpx) streams every body from the file in
``--chunk`` pieces, with a Content-Length; it never holds the object in memory.

Every result is checked before its figure counts: size and checksum of the object the
server staged (statObject; MD5, or for ``multipart`` the MD5 of the parts' MD5s and
their count), each part's ETag, and the bytes of two ranges read back through getObject
(across the middle of the object, and its end) against the source. A path with any
failed check prints no figure.

The paths run interleaved, ``--repeat`` rounds of a, b, c, d (default 3), each round at
fresh object paths, because the disk's throughput varies by 15-30% from one run to the
next; medians are printed. While each path runs, the resident memory (VmRSS) of the
server's process tree (supervisor, workers, helpers) is sampled every ``--interval``
seconds (default 0.1) from ``/proc``: the baseline before the path and the peak during it
show whether memory stays flat as 1 GiB goes through. The CPU used during each path is
printed too: by the server's processes (their event-loop threads, which read the sockets
and parse HTTP, and their other threads, mostly the pool that writes, hashes and syncs),
by this process (the client), and by the rest of the machine (other work, and the
kernel's writeback threads): the server and the client share the machine's cores.

Every path writes its bytes into the page cache before they reach the disk. On a virtual
machine whose memory the host maps on first use, writing into pages the guest never used
costs several times the CPU of writing into recycled ones (seen here: ~3 s against
~0.2 s of system time per GiB). The copy's file is deleted each round, so its pages are
recycled, while the server's objects would stay cached: to compare like with like, memory
is touched once before the first round (a scratch file of twice the object's size,
written and deleted), and after its check each object the server stored is dropped from
the page cache (``posix_fadvise(DONTNEED)`` on its file; it stays on disk).
``--no-evict`` turns both off.

Target: both presigned paths (c, d) within 1.5x of the plain copy's time.

    python bench/upload_paths.py                   # 1 GiB, 3 rounds
    python bench/upload_paths.py --size 64MiB --repeat 1
    python bench/upload_paths.py --paths presign --repeat 1   # e.g. to profile one path
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import (  # noqa: E402
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    RssSampler,
    TimeLimit,
    busy_line,
    cpu_line,
    filesystem_note,
    machine_busy_seconds,
    on_alarm,
    process_tree,
    rss_kib,
    scan_log,
    tree_cpu,
)
from api_load import ServerProcess, free_port  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's (and Limnos's) minimum size of every part but the last
REPOSITORY = "bench-upload"
TARGET_RATIO = 1.5  # presigned paths: time / plain copy's time
WARMUP_SIZE = 24 * MIB
DISK_MARGIN = 512 * MIB

PATHS = ("copy", "upload", "presign", "multipart")
LABELS = {
    "copy": "a. plain copy + fsync",
    "upload": "b. uploadObject",
    "presign": "c. presigned PUT + link",
    "multipart": "d. presigned multipart",
}
TARGETED = ("presign", "multipart")


# Run after a path is timed: raises VerifyError, or returns the file the server stored (None
# for the plain copy, which the check deletes).
Check = Callable[[], "Path | None"]


class VerifyError(Exception):
    """A path's result is not the object that was sent."""


# --------------------------------------------------------------------------- sizes


def parse_size(text: str) -> int:
    """``1GiB``, ``512MiB``, ``64M``, ``1G``, ``100k`` or a number of bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b?)\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1GiB, 256MiB, 1048576)")
    unit = {"": 1, "k": 1024, "m": MIB, "g": GIB, "t": 1024 * GIB}[match[2].lower()]
    return int(float(match[1]) * unit)


def fmt_size(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB} GiB"
    if n >= MIB:
        return f"{n / MIB:,.0f} MiB" if n % MIB == 0 else f"{n / MIB:,.1f} MiB"
    return f"{n:,} bytes"


def part_bounds(size: int, parts: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each of ``parts`` near-equal slices of ``size`` bytes."""
    cuts = [size * i // parts for i in range(parts + 1)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


# --------------------------------------------------------------------------- the source file


@dataclass
class Source:
    """The first ``length`` bytes of the source file, and what the server should answer for them."""

    path: Path
    length: int
    md5: str
    parts: list[tuple[int, int]]
    part_md5s: list[str]

    @property
    def multipart_etag(self) -> str:
        digest = hashlib.md5(b"".join(bytes.fromhex(h) for h in self.part_md5s), usedforsecurity=False)
        return f"{digest.hexdigest()}-{len(self.part_md5s)}"


def write_source(path: Path, size: int) -> None:
    """``size`` random bytes into ``path``, durable (and left in the page cache)."""
    block = 4 * MIB
    with open(path, "wb") as f:
        remaining = size
        while remaining > 0:
            n = min(block, remaining)
            f.write(os.urandom(n))
            remaining -= n
        f.flush()
        os.fsync(f.fileno())


def describe(path: Path, length: int, parts: int) -> Source:
    """MD5 of the first ``length`` bytes of ``path`` and of each of their ``parts`` slices."""
    bounds = part_bounds(length, parts)
    whole = hashlib.md5(usedforsecurity=False)
    part_md5s = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for start, end in bounds:
            part = hashlib.md5(usedforsecurity=False)
            for data in read_slice(fd, start, end, 4 * MIB):
                whole.update(data)
                part.update(data)
            part_md5s.append(part.hexdigest())
    finally:
        os.close(fd)
    return Source(path, length, whole.hexdigest(), bounds, part_md5s)


def read_slice(fd: int, start: int, end: int, chunk: int) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of the file open at ``fd``, ``chunk`` at a time."""
    offset = start
    while offset < end:
        data = os.pread(fd, min(chunk, end - offset), offset)
        if not data:
            raise OSError(f"source file shorter than expected at offset {offset}")
        offset += len(data)
        yield data


# --------------------------------------------------------------------------- the four paths


@dataclass
class Run:
    """One measured upload (or copy)."""

    path: str
    round: int
    seconds: float = 0.0
    error: str = ""
    rss_base_kib: int = 0
    rss_peak_kib: int = 0
    rss_samples: int = 0
    srv_cpu_loop: float = 0.0
    srv_cpu_threads: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0  # CPU the rest of the machine used meanwhile
    phases: str = ""


@dataclass
class Bench:
    """What every path needs: the server, the clients and the source."""

    source: Source
    root: Path
    server: ServerProcess
    api: httpx.Client
    plain: httpx.Client
    chunk: int
    copies: Path
    repo: str = REPOSITORY
    evict: bool = True
    phases: str = ""  # how the last run's time splits, where a path has phases
    copy_method: str = ""
    notes: list[str] = field(default_factory=list)

    def body(self, start: int, end: int) -> Iterator[bytes]:
        """The source's bytes ``[start, end)`` as a streamed request body."""
        fd = os.open(self.source.path, os.O_RDONLY)
        try:
            yield from read_slice(fd, start, end, self.chunk)
        finally:
            os.close(fd)

    def headers(self, length: int) -> dict[str, str]:
        return {"Content-Type": "application/octet-stream", "Content-Length": str(length)}


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise VerifyError(f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:300]}")
    return response


def _etag(response: httpx.Response, what: str) -> str:
    etag = response.headers.get("etag")
    if not etag:
        raise VerifyError(f"{what}: no ETag header in the answer")
    return etag.strip().strip('"')


def plain_copy(bench: Bench, length: int) -> Check:
    """Path a; returns the check (run after timing) which also deletes the copy."""
    dst = bench.copies / f"copy-{uuid.uuid4().hex}.bin"
    try:
        _copy(bench, dst, length)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise

    def check() -> Path | None:
        try:
            size = dst.stat().st_size
            if size != length:
                raise VerifyError(f"copy holds {size} bytes, not {length}")
            with open(dst, "rb") as f:
                for first, last in check_ranges(length):
                    f.seek(first)
                    if f.read(last - first + 1) != source_bytes(bench, first, last):
                        raise VerifyError(f"copy: bytes {first}-{last} differ from the source")
        finally:
            dst.unlink(missing_ok=True)
        return None

    return check


def _copy(bench: Bench, dst: Path, length: int) -> None:
    src_fd = os.open(bench.source.path, os.O_RDONLY)
    try:
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            offset = 0
            method = "copy_file_range"
            while offset < length:
                try:
                    copied = os.copy_file_range(src_fd, dst_fd, length - offset, offset)
                except OSError:
                    copied = 0
                if copied == 0:
                    break
                offset += copied
            if offset < length:
                method = "read/write loop"
                for data in read_slice(src_fd, offset, length, 4 * MIB):
                    view = memoryview(data)
                    while view:
                        view = view[os.write(dst_fd, view) :]
            os.fsync(dst_fd)
        finally:
            os.close(dst_fd)
        dir_fd = os.open(bench.copies, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        os.close(src_fd)
    bench.copy_method = method


def upload_object(bench: Bench, key: str, source: Source) -> Check:
    """Path b."""
    length = source.length
    r = bench.api.post(
        f"/repositories/{bench.repo}/branches/main/objects",
        params={"path": key},
        content=bench.body(0, length),
        headers=bench.headers(length),
    )
    stats = _expect(r, 201, "uploadObject").json()

    def check() -> Path | None:
        if stats.get("size_bytes") != length:
            raise VerifyError(f"uploadObject answered size_bytes {stats.get('size_bytes')}, not {length}")
        return verify_object(bench, key, length, source.md5)

    return check


def presigned_put(bench: Bench, key: str, source: Source) -> Check:
    """Path c."""
    length = source.length
    repo = bench.repo
    t0 = time.perf_counter()
    r = bench.api.get(
        f"/repositories/{repo}/branches/main/staging/backing", params={"path": key, "presign": "true"}
    )
    location = _expect(r, 200, "getPhysicalAddress").json()
    url = location.get("presigned_url")
    if not url:
        raise VerifyError(f"getPhysicalAddress gave no presigned_url: {location}")
    t1 = time.perf_counter()
    r = bench.plain.put(url, content=bench.body(0, length), headers=bench.headers(length))
    etag = _etag(_expect(r, 200, "presigned PUT"), "presigned PUT")
    t2 = time.perf_counter()
    r = bench.api.put(
        f"/repositories/{repo}/branches/main/staging/backing",
        params={"path": key},
        json={
            "staging": {"physical_address": location["physical_address"]},
            "checksum": etag,
            "size_bytes": length,
        },
    )
    _expect(r, 200, "linkPhysicalAddress")
    bench.phases = f"address {t1 - t0:.3f} s, PUT {t2 - t1:.2f} s, link {time.perf_counter() - t2:.3f} s"

    def check() -> Path | None:
        if etag != source.md5:
            raise VerifyError(f"presigned PUT answered ETag {etag}, the MD5 is {source.md5}")
        return verify_object(bench, key, length, source.md5)

    return check


def presigned_multipart(bench: Bench, key: str, source: Source) -> Check:
    """Path d: the parts of ``source`` PUT concurrently."""
    length = source.length
    repo = bench.repo
    parts = len(source.parts)
    t0 = time.perf_counter()
    r = bench.api.post(
        f"/repositories/{repo}/branches/main/staging/pmpu", params={"path": key, "parts": str(parts)}
    )
    upload = _expect(r, 201, "createPresignMultipartUpload").json()
    urls = upload.get("presigned_urls") or []
    if len(urls) != parts:
        raise VerifyError(f"createPresignMultipartUpload gave {len(urls)} URLs for {parts} parts")

    ends: list[float] = [0.0] * parts

    def put_part(index: int) -> str:
        start, end = source.parts[index]
        with httpx.Client(timeout=bench.plain.timeout) as client:
            r = client.put(urls[index], content=bench.body(start, end), headers=bench.headers(end - start))
        ends[index] = time.perf_counter() - t0
        return _etag(_expect(r, 200, f"PUT of part {index + 1}"), f"PUT of part {index + 1}")

    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="part") as pool:
        etags = list(pool.map(put_part, range(parts)))
    t1 = time.perf_counter()
    r = bench.api.put(
        f"/repositories/{repo}/branches/main/staging/pmpu/{upload['upload_id']}",
        params={"path": key},
        json={
            "physical_address": upload["physical_address"],
            "parts": [{"part_number": i + 1, "etag": e} for i, e in enumerate(etags)],
        },
    )
    _expect(r, 200, "completePresignMultipartUpload")
    bench.phases = (
        f"parts done at {' '.join(f'{e:.2f}' for e in ends)} s, complete {time.perf_counter() - t1:.2f} s"
    )

    def check() -> Path | None:
        for i, (got, want) in enumerate(zip(etags, source.part_md5s, strict=True)):
            if got != want:
                raise VerifyError(f"part {i + 1}: ETag {got}, its MD5 is {want}")
        return verify_object(bench, key, length, source.multipart_etag)

    return check


def check_ranges(length: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges read back: 1 MiB across the middle, and the last 64 KiB."""
    half = min(MIB, length) // 2
    middle = (length // 2 - half, min(length, length // 2 + half) - 1)
    tail = (max(0, length - 64 * 1024), length - 1)
    return [middle, tail]


def source_bytes(bench: Bench, first: int, last: int) -> bytes:
    with open(bench.source.path, "rb") as f:
        f.seek(first)
        return f.read(last - first + 1)


def verify_object(bench: Bench, key: str, length: int, checksum: str) -> Path | None:
    """statObject's size and checksum, and two ranges of getObject, against the source; the
    file the server stored the object in (None when its address is not a local one)."""
    r = bench.api.get(f"/repositories/{bench.repo}/refs/main/objects/stat", params={"path": key})
    stats = _expect(r, 200, "statObject").json()
    if stats.get("size_bytes") != length:
        raise VerifyError(f"statObject: size_bytes {stats.get('size_bytes')}, not {length}")
    if str(stats.get("checksum", "")).strip('"') != checksum:
        raise VerifyError(f"statObject: checksum {stats.get('checksum')}, expected {checksum}")
    for first, last in check_ranges(length):
        r = bench.api.get(
            f"/repositories/{bench.repo}/refs/main/objects",
            params={"path": key},
            headers={"Range": f"bytes={first}-{last}"},
        )
        _expect(r, 206, f"getObject range {first}-{last}")
        if r.content != source_bytes(bench, first, last):
            raise VerifyError(f"getObject: bytes {first}-{last} differ from the source")
    address = str(stats.get("physical_address", ""))
    if not address.startswith("local://"):
        return None
    return bench.server.data_dir / "block" / address.removeprefix("local://")


def run_path(bench: Bench, name: str, key: str, source: Source) -> Check:
    """Start and finish one path (timed by the caller); its check."""
    if name == "copy":
        return plain_copy(bench, source.length)
    if name == "upload":
        return upload_object(bench, key, source)
    if name == "presign":
        return presigned_put(bench, key, source)
    return presigned_multipart(bench, key, source)


def measure(bench: Bench, name: str, rnd: int, interval: float) -> Run:
    """One timed run of path ``name``, with memory and CPU samples, then its check."""
    run = Run(name, rnd)
    bench.phases = ""
    key = f"round-{rnd}/{name}-{uuid.uuid4().hex[:8]}.bin"
    pid = bench.server.process.pid if bench.server.process else 0
    try:
        cpu0 = tree_cpu(pid)
        client0 = time.process_time()
        machine0 = machine_busy_seconds()
        with RssSampler(pid, interval) as rss:
            t0 = time.perf_counter()
            check = run_path(bench, name, key, bench.source)
            run.seconds = time.perf_counter() - t0
        run.client_cpu = time.process_time() - client0
        cpu1 = tree_cpu(pid)
        machine = machine_busy_seconds() - machine0
        run.srv_cpu_loop = cpu1[0] - cpu0[0]
        run.srv_cpu_threads = max(0.0, cpu1[1] - cpu0[1] - run.srv_cpu_loop)
        run.other_cpu = max(0.0, machine - (cpu1[1] - cpu0[1]) - run.client_cpu)
        run.rss_base_kib, run.rss_peak_kib, run.rss_samples = rss.baseline, rss.peak, rss.samples
        run.phases = bench.phases
        stored = check()
        if bench.evict and stored is not None and not evict(stored):
            bench.notes.append(f"could not drop {stored} from the page cache")
    except (VerifyError, httpx.HTTPError, OSError) as err:
        run.error = f"{type(err).__name__}: {err}"
    return run


def evict(path: Path) -> bool:
    """Drop the (clean, synced) pages of ``path`` from the page cache; whether it could."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def available_memory() -> int:
    """MemAvailable in bytes (from /proc/meminfo; 0 where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def touch_memory(directory: Path, size: int) -> float:
    """Write and delete a scratch file of ``size`` bytes; the seconds it took.

    The pages it used are free again afterwards but have been touched: on a virtual
    machine whose memory the host hands out on first use, writing into never-used page
    cache costs several times the CPU of writing into recycled pages."""
    t0 = time.perf_counter()
    scratch = directory / "scratch.bin"
    block = bytes(4 * MIB)
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        written = 0
        while written < size:
            written += os.write(fd, block[: min(len(block), size - written)])
    finally:
        os.close(fd)
        scratch.unlink(missing_ok=True)
    return time.perf_counter() - t0


def settle() -> None:
    """Flush whatever is dirty (a deleted copy's metadata, the server's SQLite) before the
    next path, so that it does not pay for the previous one."""
    os.sync()


# --------------------------------------------------------------------------- report


def mib_s(length: int, seconds: float) -> float:
    return length / MIB / seconds if seconds > 0 else float("inf")


def print_run(run: Run, length: int) -> None:
    if run.error:
        print(f"  round {run.round}  {LABELS[run.path]:<24} FAILED: {run.error}", flush=True)
        return
    print(
        f"  round {run.round}  {LABELS[run.path]:<24} {run.seconds:7.2f} s"
        f"  {mib_s(length, run.seconds):7.0f} MiB/s"
        f"  cpu s: srv {run.srv_cpu_loop:4.2f}+{run.srv_cpu_threads:4.2f} cli {run.client_cpu:4.2f}"
        f" other {run.other_cpu:4.2f}"
        f"  srv rss {run.rss_base_kib / 1024:4.0f} -> peak {run.rss_peak_kib / 1024:4.0f} MiB"
        f" ({run.rss_samples} samples)" + (f"\n{'':36}{run.phases}" if run.phases else ""),
        flush=True,
    )


def report(runs: list[Run], paths: list[str], length: int, repeat: int) -> bool:
    """The summary table, the ratios to the plain copy and the targets; whether all passed."""
    by_path = {p: [r for r in runs if r.path == p] for p in paths}
    failed = {p for p, rs in by_path.items() if any(r.error for r in rs) or not rs}
    medians = {p: statistics.median(r.seconds for r in rs) for p, rs in by_path.items() if p not in failed}
    copy_rounds = {r.round: r.seconds for r in by_path.get("copy", []) if not r.error}
    print()
    print(f"{fmt_size(length)} object, {repeat} round(s), medians (per path: the {repeat} times)")
    print(
        f"{'path':<25} {'median s':>8} {'MiB/s':>7} {'x copy':>7} {'x copy/rnd':>10} "
        f"{'srv cpu (loop+thr)':>19} {'cli cpu':>7} {'other':>5}  {'rss base':>8} {'peak':>5} {'growth':>6}"
        "  all times (s)"
    )
    for p in paths:
        rs = by_path[p]
        if p in failed:
            errors = [r.error for r in rs if r.error] or ["no run"]
            print(f"{LABELS[p]:<25} FAILED, no figure: {errors[0]}")
            continue
        med = medians[p]
        ratio = f"{med / medians['copy']:.2f}" if "copy" in medians else "n/a"
        per_round = [r.seconds / copy_rounds[r.round] for r in rs if r.round in copy_rounds]
        ratio_rnd = f"{statistics.median(per_round):.2f}" if per_round and p != "copy" else "-"
        loop = statistics.median(r.srv_cpu_loop for r in rs)
        threads = statistics.median(r.srv_cpu_threads for r in rs)
        client = statistics.median(r.client_cpu for r in rs)
        other = statistics.median(r.other_cpu for r in rs)
        base = statistics.median(r.rss_base_kib for r in rs) / 1024
        peak = max(r.rss_peak_kib for r in rs) / 1024
        growth = max(r.rss_peak_kib - r.rss_base_kib for r in rs) / 1024
        times = " ".join(f"{r.seconds:.2f}" for r in rs)
        print(
            f"{LABELS[p]:<25} {med:8.2f} {mib_s(length, med):7.0f} {ratio:>7} {ratio_rnd:>10} "
            f"{f'{loop + threads:.2f} ({loop:.2f}+{threads:.2f})':>19} "
            f"{client:7.2f} {other:5.2f}  "
            f"{base:8.0f} {peak:5.0f} {growth:+6.0f}  {times}"
        )
    print()
    ok = not failed
    for p in TARGETED:
        if p not in paths:
            continue
        if p in failed or "copy" not in medians:
            print(f"{LABELS[p]}: target <= {TARGET_RATIO:g}x the plain copy: not measured -> FAIL")
            ok = False
            continue
        ratio = medians[p] / medians["copy"]
        passed = ratio <= TARGET_RATIO
        ok &= passed
        print(
            f"{LABELS[p]}: {medians[p]:.2f} s / plain copy {medians['copy']:.2f} s = {ratio:.2f}x"
            f"   target <= {TARGET_RATIO:g}x: {'PASS' if passed else 'FAIL'}"
        )
    if "upload" in medians and "copy" in medians:
        print(f"{LABELS['upload']}: {medians['upload'] / medians['copy']:.2f}x the plain copy (no target)")
    return ok


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=GIB, help="object size (default 1GiB)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every path (default 3)")
    parser.add_argument("--parts", type=int, default=4, help="parts of the multipart upload (default 4)")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help="comma-separated paths to run, in this order each round (default %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server workers (default: one per core)"
    )
    parser.add_argument(
        "--chunk",
        type=parse_size,
        default=MIB,
        help="bytes the client reads and sends at a time (default 1MiB)",
    )
    parser.add_argument(
        "--interval", type=float, default=0.1, help="RSS sampling period in seconds (default 0.1)"
    )
    parser.add_argument(
        "--dir", help="parent directory of the temporary directory (put it on the disk to measure)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--no-evict",
        action="store_true",
        help="leave each stored object in the page cache and do not touch memory beforehand (see above)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1800.0,
        help="stop (and clean up) after this many seconds (default 1800)",
    )
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    for p in paths:
        if p not in PATHS:
            parser.error(f"unknown path {p!r} (choose from {', '.join(PATHS)})")
    if args.repeat <= 0 or args.parts <= 0 or args.workers <= 0 or args.chunk <= 0 or args.interval <= 0:
        parser.error("repeat, parts, workers, chunk and interval must be positive")
    if args.size // args.parts < MIN_PART_SIZE and args.parts > 1:
        parser.error(
            f"--size must give parts of at least 5 MiB: at least {fmt_size(args.parts * MIN_PART_SIZE)}"
        )
    size: int = args.size

    root = Path(tempfile.mkdtemp(prefix="limnos-upload-bench-", dir=args.dir))
    uploads = sum(1 for p in paths if p != "copy")
    # The source, the server's objects (they stay until the end), one copy at a time, and
    # the parts of a multipart upload while it is assembled.
    needed = size * (1 + uploads * args.repeat + 1 + ("multipart" in paths)) + DISK_MARGIN
    free = shutil.disk_usage(root).free
    print("Limnos upload paths: one large object, uploadObject / presigned PUT / presigned multipart")
    print(cpu_line())
    print(busy_line())
    print(f"directory: {root} (source file, server data and copies; {fmt_size(free)} free)")
    if (note := filesystem_note(root)) is not None:
        print(note)
    if free < needed:
        shutil.rmtree(root, ignore_errors=True)
        print(f"upload_paths: needs about {fmt_size(needed)} free on that disk, has {fmt_size(free)}")
        return 1

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    server: ServerProcess | None = None
    runs: list[Run] = []
    ok = False
    log_lines: list[str] = []
    try:
        src_dir, copies = root / "source", root / "copies"
        src_dir.mkdir()
        copies.mkdir()
        t0 = time.perf_counter()
        write_source(src_dir / "source.bin", size)
        written = time.perf_counter() - t0
        source = describe(src_dir / "source.bin", size, args.parts)
        print(
            f"source: {fmt_size(size)} of random bytes written in {written:.1f} s, MD5 {source.md5}; "
            f"{args.parts} parts of {fmt_size(source.parts[0][1] - source.parts[0][0])}"
        )
        if not args.no_evict:
            # A multipart round holds its parts and the assembled object at once: touch
            # room for both, and for the source and the object of the path before it.
            scratch = min(4 * size + 256 * MIB, available_memory() // 2)
            seconds = touch_memory(src_dir, scratch)
            print(
                f"memory: {fmt_size(scratch)} of page cache touched (a scratch file written and deleted) "
                f"in {seconds:.1f} s"
            )
        server = ServerProcess(root / "server", free_port(), args.workers)
        t0 = time.perf_counter()
        server.start()
        assert server.process is not None
        tree = process_tree(server.process.pid)
        print(
            f"server: limnos run --workers {args.workers} on 127.0.0.1:{server.port} (SQLite + local "
            f"blockstore in {root / 'server'}; up in {time.perf_counter() - t0:.1f} s); process tree "
            + ", ".join(f"{pid} ({rss_kib(pid) / 1024:.0f} MiB)" for pid in tree)
        )
        timeout = httpx.Timeout(600.0, connect=10.0)
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{server.port}/api/v1",
                auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
                timeout=timeout,
            ) as api,
            httpx.Client(timeout=timeout) as plain,
        ):
            r = api.post(
                "/repositories",
                json={
                    "name": REPOSITORY,
                    "storage_namespace": f"local://{REPOSITORY}-{uuid.uuid4().hex[:8]}",
                    "default_branch": "main",
                },
            )
            if r.status_code != 201:
                raise SystemExit(f"upload_paths: createRepository failed: {r.status_code} {r.text}")
            bench = Bench(source, root, server, api, plain, args.chunk, copies, evict=not args.no_evict)

            # A small upload through each path first: the code paths are warm, and a path
            # that does not work fails here rather than after minutes of copying.
            warm = describe(source.path, min(size, max(WARMUP_SIZE, args.parts * MIN_PART_SIZE)), args.parts)
            for p in paths:
                if p == "copy":
                    continue
                try:
                    stored = run_path(bench, p, f"warmup/{p}.bin", warm)()
                    if bench.evict and stored is not None:
                        evict(stored)
                except (VerifyError, httpx.HTTPError, OSError) as err:
                    print(f"warm-up of {LABELS[p]} ({fmt_size(warm.length)}) failed: {err}")
            settle()
            print(
                f"client: httpx {httpx.__version__}, bodies streamed from the file {fmt_size(args.chunk)} "
                f"at a time with a Content-Length; RSS sampled every {args.interval:g} s; "
                f"rounds of {', '.join(paths)}",
                flush=True,
            )
            for rnd in range(1, args.repeat + 1):
                for p in paths:
                    free = shutil.disk_usage(root).free
                    if free < 2 * size + DISK_MARGIN:
                        raise SystemExit(f"upload_paths: only {fmt_size(free)} free left, stopping")
                    run = measure(bench, p, rnd, args.interval)
                    runs.append(run)
                    print_run(run, size)
                    settle()
        log_lines = scan_log(server.log_path)
        server.stop()
        server = None
        if "copy" in paths:
            bench.notes.append(
                f"a. plain copy: {bench.copy_method or 'not run'} of the source (read from the page cache, "
                "where it sits since it was written) to a new file in the same directory tree, then fsync "
                "of the file and its directory: the disk's write of the bytes plus one in-kernel copy; no "
                "network, no user-space copy, no hashing"
            )
        ok = report(runs, paths, size, args.repeat)
        print()
        if bench.evict:
            bench.notes.append(
                "page cache: after its check, each object the server stored is dropped from the page "
                "cache (posix_fadvise DONTNEED; the copy is deleted), and memory was touched before the "
                "first round, so that every path writes into recycled pages: on a VM that maps guest "
                "memory on first use, writing into never-used page cache costs far more CPU "
                "(--no-evict to see it)"
            )
        for note in bench.notes:
            print(note)
        print(
            "b-d: every request from this process to the server over loopback HTTP/1.1; the server hashes "
            "(MD5) and writes each byte, syncs before answering; multipart also copies the parts into "
            "the final object (copy_file_range) and syncs it."
        )
        print(
            "x copy: median time / the plain copy's median time; x copy/rnd: median over rounds of the "
            "ratio to that round's copy. CPU seconds during the path (medians): srv: the server's "
            "processes (event-loop threads + other threads); cli: this process (reading the file, "
            "sending it, and the RSS sampler); other: the rest of the machine (the kernel's writeback "
            "threads, and any other work: more than a few tenths of a second of that means the figure is "
            "pessimistic). rss: summed VmRSS of the "
            "server's process tree, MiB: median baseline before the path, highest sample during it, "
            "and the largest growth in one run."
        )
    except TimeLimit:
        print(f"\nupload_paths: time limit of {args.time_limit:g} s reached; server stopped")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if server is not None:
            with contextlib.suppress(OSError):
                log_lines = scan_log(server.log_path)
            server.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if log_lines:
        print(f"server log: {len(log_lines)} line(s) at WARNING or above, e.g.:")
        for line in log_lines[:10]:
            print(f"  {line[:200]}")
    else:
        print("server log: no warnings or errors")
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"client peak RSS: {client_peak:.0f} MiB (this process, source generation included)")
    print(cpu_line())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
