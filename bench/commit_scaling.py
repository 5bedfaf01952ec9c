"""Commit cost against tree size, through the engine (staging + commit, as the API does).

For each tree size (default 1,000 / 100,000 / 1,000,000 objects) a repository is
created whose ``main`` branch already holds that many objects (the tree is built
directly in the committed store, see ``_common.build_lake_tree``). Then, on a fresh
engine over the same data directory (as a newly started server would have):

(a) ``new-prefix``: stage 100 new objects under one new directory and commit;
(b) ``overwrite``: stage 100 overwrites of random existing paths spread over the
    whole tree and commit.

Each case is repeated ``--repeats`` times; staging (``Graveler.set_many``) and
commit (``Graveler.commit``) are timed separately. The data directory is a
temporary local blockstore + SQLite metadata store, removed at the end unless
``--keep``.

    python bench/commit_scaling.py [--sizes 1000,100000,1000000] [--repeats 5] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    busy_line,
    close_services,
    cpu_line,
    create_lake_repository,
    filesystem_note,
    fmt_seconds,
    lake_path,
    median,
    new_entry_value,
    open_services,
)

BATCH = 100
TARGET_NEW_PREFIX_RATIO = 2.0
TARGET_OVERWRITE_1M_SECONDS = 1.0


def _new_prefix_items(rng: random.Random, size: int, rep: int) -> list[tuple[str, bytes]]:
    # A new directory inside an existing year/month partition picked at random.
    anchor = lake_path(rng.randrange(size)).rsplit("/", 2)[0]
    prefix = f"{anchor}/ingest-{rep:03d}-{rng.randbytes(4).hex()}/"
    return [(f"{prefix}file-{k:05d}.parquet", new_entry_value(rng)) for k in range(BATCH)]


def _overwrite_items(rng: random.Random, size: int) -> list[tuple[str, bytes]]:
    picks = rng.sample(range(size), min(BATCH, size))
    return [(lake_path(i), new_entry_value(rng)) for i in picks]


def run_size(data_dir: Path, size: int, repeats: int, seed: int, profile_dir: Path | None) -> dict:
    name = f"bench-{size}"
    services = open_services(data_dir)
    t0 = time.perf_counter()
    create_lake_repository(services, name, size)
    build_s = time.perf_counter() - t0
    close_services(services)
    print(f"  built tree of {size:,} objects in {build_s:.1f} s", flush=True)

    # A fresh engine, as a newly started server process has: empty in-process caches.
    services = open_services(data_dir)
    graveler = services.graveler
    repo = graveler.get_repository(name)
    head = graveler.get_branch(repo, "main").commit_id
    count = services.committed.count(repo.storage_namespace, graveler.tree_of(repo, head))
    assert count == size, (count, size)
    rng = random.Random(seed + size)
    results: dict[str, dict[str, list[float]]] = {}
    profiler = None
    if profile_dir is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    try:
        for case in ("new-prefix", "overwrite"):
            stage_times: list[float] = []
            commit_times: list[float] = []
            for rep in range(repeats):
                if case == "new-prefix":
                    items = _new_prefix_items(rng, size, rep)
                else:
                    items = _overwrite_items(rng, size)
                t0 = time.perf_counter()
                graveler.set_many(repo, "main", items)
                t1 = time.perf_counter()
                if profiler is not None:
                    profiler.start()
                graveler.commit(repo, "main", committer="bench", message=f"{case} {rep}")
                t2 = time.perf_counter()
                if profiler is not None:
                    profiler.stop()
                stage_times.append(t1 - t0)
                commit_times.append(t2 - t1)
            results[case] = {"stage": stage_times, "commit": commit_times}
            if profiler is not None and profile_dir is not None:
                out = profile_dir / f"commit-{size}-{case}.txt"
                out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
                print(f"  profile: {out}")
                profiler.reset()
    finally:
        close_services(services)
    return {"build": build_s, "cases": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="1000,100000,1000000",
        help="comma-separated tree sizes (objects); default %(default)s",
    )
    parser.add_argument("--repeats", type=int, default=5, help="commits per case and size (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--dir", help="parent directory of the temporary data directory")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="write a pyinstrument profile of the commits of each size/case to DIR",
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) <= 0 or args.repeats <= 0:
        parser.error("sizes and repeats must be positive")

    data_dir = Path(tempfile.mkdtemp(prefix="limnos-commit-bench-", dir=args.dir))
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    print("Limnos commit scaling (engine: Graveler.set_many + Graveler.commit)")
    print(cpu_line())
    print(busy_line())
    print(f"data directory: {data_dir} (local blockstore + SQLite)")
    if (note := filesystem_note(data_dir)) is not None:
        print(note)
    print(f"batch: {BATCH} objects per commit, {args.repeats} commits per case and size")
    all_results: dict[int, dict] = {}
    try:
        for size in sizes:
            print(f"tree of {size:,} objects:", flush=True)
            all_results[size] = run_size(data_dir, size, args.repeats, args.seed, profile_dir)
    finally:
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    print()
    print(
        f"{'case':<11} {'objects':>10}  {'commit median':>13} {'commit min':>10}  "
        f"{'stage median':>12}  all commit times"
    )
    for case in ("new-prefix", "overwrite"):
        for size in sizes:
            r = all_results[size]["cases"][case]
            times = " ".join(fmt_seconds(t) for t in r["commit"])
            print(
                f"{case:<11} {size:>10,}  {fmt_seconds(median(r['commit'])):>13} "
                f"{fmt_seconds(min(r['commit'])):>10}  {fmt_seconds(median(r['stage'])):>12}  {times}"
            )
    print()
    small, large = sizes[0], sizes[-1]
    ok = True
    for case in ("new-prefix", "overwrite"):
        m_small = median(all_results[small]["cases"][case]["commit"])
        m_large = median(all_results[large]["cases"][case]["commit"])
        ratio = m_large / m_small
        line = f"{case}: median ratio {large:,} / {small:,} objects = {ratio:.2f}"
        if case == "new-prefix":
            passed = ratio <= TARGET_NEW_PREFIX_RATIO
            ok &= passed
            line += f"   target <= {TARGET_NEW_PREFIX_RATIO:g}: {'PASS' if passed else 'FAIL'}"
        print(line)
    if 1_000_000 in all_results:
        m = median(all_results[1_000_000]["cases"]["overwrite"]["commit"])
        worst = max(all_results[1_000_000]["cases"]["overwrite"]["commit"])
        passed = m < TARGET_OVERWRITE_1M_SECONDS
        ok &= passed
        print(
            f"overwrite on 1,000,000 objects: median {fmt_seconds(m)}, worst {fmt_seconds(worst)}"
            f"   target < {TARGET_OVERWRITE_1M_SECONDS:g} s: {'PASS' if passed else 'FAIL'}"
        )
    else:
        print("overwrite on 1,000,000 objects: not measured (add 1000000 to --sizes)")
    print("build times: " + ", ".join(f"{s:,}: {all_results[s]['build']:.1f} s" for s in sizes))
    print(cpu_line())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
