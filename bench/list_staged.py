"""Listing cost against uncommitted deletions elsewhere on the branch.

A branch holds 1,000,000 committed objects: 100,000 under ``gone/`` and 900,000 under
``kept/``. A page of 1,000 entries of ``kept/`` is listed with the delimiter ``/``, through
the catalog as the API lists (``catalog.objects.list``), first with nothing staged, then
after 100,000 deletions under ``gone/`` are staged on the branch. The page is listed twice
in each state: from the start of ``kept/`` and from the middle (``after`` half-way), since
a listing that walked staged entries it does not need would pay for them at one of the two.

Each listing is repeated ``--repeats`` times and the median is printed; the ratio of the
two states is the figure of merit (target: at most 1.5). The data directory is a
temporary local blockstore + SQLite metadata store, removed at the end unless ``--keep``.

    python bench/list_staged.py [--objects 1000000] [--deletions 100000] [--repeats 20] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BUILD_CHUNK,
    busy_line,
    close_services,
    cpu_line,
    fmt_seconds,
    median,
    open_services,
    write_physical_files,
)

from limnos.catalog.entry import encode_entry  # noqa: E402
from limnos.server.services import Services  # noqa: E402

PAGE = 1000
TARGET_RATIO = 1.5
DELETE_BATCH = 10_000


def _gone(i: int) -> str:
    return f"gone/file-{i:07d}"


def _kept(i: int) -> str:
    return f"kept/file-{i:07d}"


def _build(services: Services, name: str, objects: int, deletions: int) -> None:
    templates = [encode_entry(t) for t in write_physical_files(services, f"local://{name}")]

    def keys() -> Iterator[str]:
        yield from (_gone(i) for i in range(deletions))
        yield from (_kept(i) for i in range(objects - deletions))

    def initial_tree(namespace: str, empty_tree: str) -> str:
        tree = empty_tree
        chunk: list[tuple[str, bytes]] = []
        for n, key in enumerate(keys()):
            chunk.append((key, templates[n % len(templates)]))
            if len(chunk) == BUILD_CHUNK:
                tree = services.committed.apply(namespace, tree, chunk)
                chunk = []
        if chunk:
            tree = services.committed.apply(namespace, tree, chunk)
        return tree

    services.graveler.create_repository(
        name, f"local://{name}", "main", initial_tree=initial_tree, committer="bench"
    )


def _list_once(services: Services, name: str, after: str) -> float:
    t0 = time.perf_counter()
    page = services.catalog.objects.list(
        name, "main", prefix="kept/", delimiter="/", after=after, amount=PAGE
    )
    elapsed = time.perf_counter() - t0
    assert len(page.items) == PAGE and page.has_more, (len(page.items), page.has_more)
    assert all(item.path.startswith("kept/") for item in page.items)
    return elapsed


def _time_listings(services: Services, name: str, pages: dict[str, str], repeats: int) -> dict[str, float]:
    """The median time of each page (case -> ``after``), after one untimed warm-up listing."""
    result = {}
    for case, after in pages.items():
        _list_once(services, name, after)
        result[case] = median([_list_once(services, name, after) for _ in range(repeats)])
    return result


def _stage_deletions(services: Services, name: str, deletions: int) -> float:
    graveler = services.graveler
    repo = graveler.get_repository(name)
    t0 = time.perf_counter()
    for start in range(0, deletions, DELETE_BATCH):
        keys = [_gone(i) for i in range(start, min(deletions, start + DELETE_BATCH))]
        graveler.delete_many(repo, "main", keys)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=1_000_000, help="committed objects")
    parser.add_argument("--deletions", type=int, default=100_000, help="staged deletions")
    parser.add_argument("--repeats", type=int, default=20, help="listings per case (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--dir", help="parent directory of the temporary data directory")
    args = parser.parse_args(argv)
    if args.objects - args.deletions < 2 * PAGE:
        parser.error(f"--objects must exceed --deletions by at least {2 * PAGE}")

    print(cpu_line())
    print(busy_line())
    data_dir = Path(tempfile.mkdtemp(prefix="limnos-list-bench-", dir=args.dir))
    name = "listing"
    pages = {"start": "", "middle": _kept((args.objects - args.deletions) // 2)}
    try:
        services = open_services(data_dir)
        t0 = time.perf_counter()
        _build(services, name, args.objects, args.deletions)
        print(f"built {args.objects:,} committed objects in {time.perf_counter() - t0:.1f} s", flush=True)
        clean = _time_listings(services, name, pages, args.repeats)
        staged_s = _stage_deletions(services, name, args.deletions)
        print(f"staged {args.deletions:,} deletions under gone/ in {staged_s:.1f} s", flush=True)
        dirty = _time_listings(services, name, pages, args.repeats)
        close_services(services)
    finally:
        if args.keep:
            print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    print()
    print(f"list {PAGE:,} entries of kept/ with delimiter '/' (median of {args.repeats})")
    print(
        f"{'page':<8} {'no staged deletions':>20} {f'{args.deletions:,} staged deletions':>26} {'ratio':>7}"
    )
    ok = True
    for case in pages:
        ratio = dirty[case] / clean[case]
        ok = ok and ratio <= TARGET_RATIO
        print(f"{case:<8} {fmt_seconds(clean[case]):>20} {fmt_seconds(dirty[case]):>26} {ratio:>7.2f}")
    print(f"target: ratio <= {TARGET_RATIO}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
