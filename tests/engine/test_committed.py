"""The committed tree store, checked against a plain dict model."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from limnos.block.adapter import ObjectNotFoundError, PutResult
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.graveler.committed import CommittedStore, MergeConflictError, RangeInfo
from limnos.graveler.committed.bounds import prefix_end
from limnos.graveler.committed.cache import ByteLRU
from limnos.graveler.committed.chunking import DEFAULT, Chunking
from limnos.graveler.committed.rangefile import METARANGE_MAGIC, RANGE_MAGIC, decode_metarange, decode_range

NS = "mem://bucket/repo"

Model = dict[str, bytes]
Changes = list[tuple[str, bytes | None]]


# -- helpers -----------------------------------------------------------------


class CountingAdapter(MemAdapter):
    """A MemAdapter that records the objects written and read."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[str] = []
        self.gets: list[str] = []

    def put(self, uri: str, chunks: Iterable[bytes]) -> PutResult:
        self.puts.append(uri)
        return super().put(uri, chunks)

    def get(self, uri: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self.gets.append(uri)
        return super().get(uri, start, end)


def path_key(i: int) -> str:
    return f"data/part-{i // 1000:06d}/file-{i % 1000:05d}.parquet"


def value_of(i: int, salt: bytes = b"") -> bytes:
    return hashlib.sha256(salt + i.to_bytes(8, "big")).digest() * 4


def apply_model(model: Model, changes: Changes) -> Model:
    out = dict(model)
    for key, value in changes:
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def model_diff(left: Model, right: Model) -> list[tuple[str, bytes | None, bytes | None]]:
    keys = sorted(set(left) | set(right))
    return [(k, left.get(k), right.get(k)) for k in keys if left.get(k) != right.get(k)]


def select(items: Iterable[tuple[str, object]], start: str, prefix: str) -> list[tuple[str, object]]:
    return [item for item in items if item[0] >= start and item[0].startswith(prefix)]


def build(store: CommittedStore, model: Model, ns: str = NS) -> str:
    return store.apply(ns, store.empty_tree(ns), sorted(model.items()))


#: Ranges of ~8 entries and at most 12, so small trees have many ranges and the size
#: limit is exercised.
SMALL = Chunking(target_bits=3, max_entries=12)


def small_store() -> CommittedStore:
    return CommittedStore(MemAdapter(), chunking=SMALL)


@pytest.fixture(params=["mem", "local"])
def store_ns(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[CommittedStore, str]]:
    if request.param == "mem":
        store = CommittedStore(MemAdapter())
        yield store, NS
    else:
        store = CommittedStore(LocalAdapter(tmp_path / "blocks"))
        yield store, "local://repo1"
    store.close()


@pytest.fixture(scope="module")
def big() -> tuple[CommittedStore, str, Model]:
    """A 30,000-entry tree with the real range parameters (~30 ranges)."""
    store = CommittedStore(MemAdapter())
    model = {path_key(i): value_of(i) for i in range(0, 60_000, 2)}
    return store, build(store, model), model


# -- plain unit tests --------------------------------------------------------


def test_empty_tree(store_ns: tuple[CommittedStore, str]) -> None:
    store, ns = store_ns
    empty = store.empty_tree(ns)
    assert empty == store.empty_tree(ns)
    assert empty == CommittedStore(MemAdapter()).empty_tree(NS)  # content addressed
    assert store.count(ns, empty) == 0
    assert store.ranges(ns, empty) == []
    assert list(store.iterate(ns, empty)) == []
    assert store.get(ns, empty, "a") is None
    assert store.get_many(ns, empty, ["a"]) == {}
    assert store.apply(ns, empty, [("a", None)]) == empty
    assert store.apply(ns, empty, []) == empty


def test_basic_operations(store_ns: tuple[CommittedStore, str]) -> None:
    store, ns = store_ns
    empty = store.empty_tree(ns)
    t1 = store.apply(ns, empty, [("a/1", b"x"), ("a/2", b"y"), ("b/1", b"z")])
    assert store.get(ns, t1, "a/2") == b"y"
    assert store.get(ns, t1, "a/3") is None
    assert store.get(ns, t1, "0") is None
    assert store.get_many(ns, t1, ["b/1", "zz", "a/1", "a/1"]) == {"a/1": b"x", "b/1": b"z"}
    assert list(store.iterate(ns, t1, prefix="a/")) == [("a/1", b"x"), ("a/2", b"y")]
    assert list(store.iterate(ns, t1, start="a/2")) == [("a/2", b"y"), ("b/1", b"z")]
    assert store.count(ns, t1) == 3
    t2 = store.apply(ns, t1, iter([("a/1", None), ("a/2", b"y2"), ("c", b"w"), ("d", None)]))
    assert list(store.iterate(ns, t2)) == [("a/2", b"y2"), ("b/1", b"z"), ("c", b"w")]
    assert list(store.diff(ns, t1, t2)) == [
        ("a/1", b"x", None),
        ("a/2", b"y", b"y2"),
        ("c", None, b"w"),
    ]
    assert list(store.diff(ns, t1, t1)) == []
    # Same content, same id, however it was reached.
    assert store.apply(ns, t2, [("a/1", b"x"), ("a/2", b"y"), ("c", None)]) == t1
    # Setting a key to its current value changes nothing.
    assert store.apply(ns, t1, [("a/1", b"x")]) == t1


def test_missing_tree_raises(store_ns: tuple[CommittedStore, str]) -> None:
    store, ns = store_ns
    with pytest.raises(ObjectNotFoundError):
        store.get(ns, "0" * 64, "a")
    with pytest.raises(ObjectNotFoundError):
        store.iterate(ns, "../../etc/passwd")
    with pytest.raises(ObjectNotFoundError):
        store.diff(ns, store.empty_tree(ns), "f" * 64)
    with pytest.raises(ObjectNotFoundError):
        store.count(ns, "not-a-tree")


def test_missing_range_raises() -> None:
    block = MemAdapter()
    tree = build(CommittedStore(block), {"a": b"1"})
    (info,) = CommittedStore(block).ranges(NS, tree)
    block.delete(f"{NS}/{CommittedStore.address(info.id)}")
    with pytest.raises(ObjectNotFoundError):
        CommittedStore(block).get(NS, tree, "a")


class SlowRangeAdapter(MemAdapter):
    """A MemAdapter whose range files take a while to write, and fail when told to."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def put(self, uri: str, chunks: Iterable[bytes]) -> PutResult:
        data = b"".join(chunks)
        if data.startswith(RANGE_MAGIC):
            time.sleep(0.01)
            if self.fail:
                raise OSError("no space left on device")
        return super().put(uri, [data])


def test_tree_id_comes_once_every_range_is_stored() -> None:
    # The metarange is written while its ranges still are; its id is returned only after.
    block = SlowRangeAdapter()
    store = CommittedStore(block, chunking=SMALL)
    tree = build(store, {path_key(i): value_of(i) for i in range(300)})
    infos = store.ranges(NS, tree)
    assert len(infos) > 20
    assert all(block.exists(f"{NS}/{CommittedStore.address(info.id)}") for info in infos)


def test_failed_range_write_fails_the_change_and_a_retry_succeeds() -> None:
    block = SlowRangeAdapter()
    store = CommittedStore(block, chunking=SMALL)
    empty = store.empty_tree(NS)
    model = {path_key(i): value_of(i) for i in range(300)}
    block.fail = True
    with pytest.raises(OSError, match="no space left"):
        store.apply(NS, empty, sorted(model.items()))
    block.fail = False
    tree = store.apply(NS, empty, sorted(model.items()))
    # A fresh store reads everything from the blockstore, none of it from memory.
    assert dict(CommittedStore(block, chunking=SMALL).iterate(NS, tree)) == model


def test_unsorted_changes_rejected(store_ns: tuple[CommittedStore, str]) -> None:
    store, ns = store_ns
    empty = store.empty_tree(ns)
    with pytest.raises(ValueError):
        store.apply(ns, empty, [("b", b"1"), ("a", b"2")])
    with pytest.raises(ValueError):
        store.apply(ns, empty, [("a", b"1"), ("a", b"2")])


def test_file_format_and_addresses(tmp_path: Path) -> None:
    block = LocalAdapter(tmp_path)
    store = CommittedStore(block)
    ns = "local://repo"
    model = {path_key(i): value_of(i) for i in range(5000)}
    tree = build(store, model, ns)
    assert CommittedStore.address(tree) == "_lakefs/" + tree
    meta_bytes = (tmp_path / "repo" / "_lakefs" / tree).read_bytes()
    assert hashlib.sha256(meta_bytes).hexdigest() == tree
    infos = decode_metarange(meta_bytes).ranges
    assert infos == store.ranges(ns, tree)
    # The file format: the magic, then one msgpack array of five-field rows.
    rows = [[r.id, r.min_key, r.max_key, r.count, r.size_bytes] for r in infos]
    assert meta_bytes == METARANGE_MAGIC + msgspec.msgpack.encode(rows)
    assert len(infos) > 1
    assert all(isinstance(r, RangeInfo) for r in infos)
    keys: list[str] = []
    for info in infos:
        data = (tmp_path / "repo" / "_lakefs" / info.id).read_bytes()
        assert data.startswith(RANGE_MAGIC)
        assert hashlib.sha256(data).hexdigest() == info.id
        assert len(data) == info.size_bytes
        rng = decode_range(data)
        assert (rng.keys[0], rng.keys[-1], len(rng.keys)) == (info.min_key, info.max_key, info.count)
        assert all(isinstance(v, bytes) for v in rng.values)
        keys += rng.keys
    assert keys == sorted(model)
    assert store.count(ns, tree) == len(model)
    # Another store (another process) builds byte-identical files.
    other = tmp_path / "other"
    tree2 = build(CommittedStore(LocalAdapter(other)), model, ns)
    assert tree2 == tree
    assert (other / "repo" / "_lakefs" / tree).read_bytes() == meta_bytes


def test_same_content_other_namespace_is_written_there() -> None:
    block = MemAdapter()
    store = CommittedStore(block)
    model = {path_key(i): value_of(i) for i in range(3000)}
    tree_a = build(store, model, "mem://b/a")
    tree_b = build(store, model, "mem://b/b")
    assert tree_a == tree_b
    for info in store.ranges("mem://b/b", tree_b):
        assert block.exists(f"mem://b/b/_lakefs/{info.id}")
    assert block.exists(f"mem://b/b/_lakefs/{tree_b}")
    assert list(CommittedStore(block).iterate("mem://b/b", tree_b)) == sorted(model.items())


def test_small_change_rewrites_only_touched_ranges(big: tuple[CommittedStore, str, Model]) -> None:
    _, tree, model = big
    block = CountingAdapter()
    store = CommittedStore(block)
    tree = build(store, model)
    old = store.ranges(NS, tree)
    assert len(old) > 10
    middle = old[len(old) // 2]
    changed_key = middle.min_key + "x"  # a new key inside the middle range
    assert middle.min_key < changed_key < middle.max_key

    reader = CommittedStore(block)  # cold caches: count what it must read
    block.puts.clear()
    block.gets.clear()
    new_tree = reader.apply(NS, tree, [(changed_key, b"new")])
    new = reader.ranges(NS, new_tree)
    old_ids = {r.id for r in old}
    fresh = [r for r in new if r.id not in old_ids]
    assert 1 <= len(fresh) <= 3
    # Untouched ranges keep their ids and positions around the rewritten part.
    i = old.index(middle)
    assert new[:i] == old[:i]
    assert new[-(len(old) - i - 3) :] == old[-(len(old) - i - 3) :]
    # Only the metarange and the touched range were read; only new files written.
    assert len(block.gets) <= 1 + 3
    assert sorted(block.puts) == sorted(f"{NS}/_lakefs/{x}" for x in [new_tree, *(r.id for r in fresh)])
    assert reader.get(NS, new_tree, changed_key) == b"new"
    # Undoing the change gives back the old tree and writes nothing.
    block.puts.clear()
    assert reader.apply(NS, new_tree, [(changed_key, None)]) == tree
    assert block.puts == []


def test_new_prefix_costs_one_range(big: tuple[CommittedStore, str, Model]) -> None:
    store, tree, model = big
    changes: Changes = [(f"data/part-000020x/f{j:03d}", b"v") for j in range(100)]
    new_tree = store.apply(NS, tree, changes)
    old_ids = {r.id for r in store.ranges(NS, tree)}
    assert len([r for r in store.ranges(NS, new_tree) if r.id not in old_ids]) <= 2
    assert store.count(NS, new_tree) == len(model) + 100
    assert list(store.iterate(NS, new_tree, prefix="data/part-000020x/")) == changes


def test_big_tree_against_model(big: tuple[CommittedStore, str, Model]) -> None:
    store, tree, model = big
    rnd = random.Random(7)
    current, cur_model = tree, model
    for _ in range(5):
        changes: dict[str, bytes | None] = {}
        for _ in range(rnd.randint(1, 300)):
            i = rnd.randrange(60_000)
            changes[path_key(i)] = None if rnd.random() < 0.3 else value_of(i, b"x")
        batch = sorted(changes.items())
        nxt = store.apply(NS, current, batch)
        nxt_model = apply_model(cur_model, batch)
        assert list(store.iterate(NS, nxt)) == sorted(nxt_model.items())
        assert nxt == build(store, nxt_model)
        assert list(store.diff(NS, current, nxt)) == model_diff(cur_model, nxt_model)
        start, prefix = path_key(rnd.randrange(60_000)), "data/part-00004"
        assert list(store.diff(NS, current, nxt, start=start, prefix=prefix)) == select(
            model_diff(cur_model, nxt_model), start, prefix
        )
        assert list(store.iterate(NS, nxt, start=start, prefix=prefix)) == select(
            sorted(nxt_model.items()), start, prefix
        )
        current, cur_model = nxt, nxt_model


def test_diff_skips_shared_ranges(big: tuple[CommittedStore, str, Model]) -> None:
    _, _, model = big
    block = CountingAdapter()
    tree = build(CommittedStore(block), model)
    key = sorted(model)[len(model) // 2]
    other = CommittedStore(block).apply(NS, tree, [(key, b"changed")])
    reader = CommittedStore(block)
    block.gets.clear()
    assert list(reader.diff(NS, tree, other)) == [(key, model[key], b"changed")]
    assert len(block.gets) <= 2 + 2 * 3  # two metaranges and the few differing ranges


def test_merge_basics(store_ns: tuple[CommittedStore, str]) -> None:
    store, ns = store_ns
    base = build(store, {"a": b"1", "b": b"1", "c": b"1", "d": b"1"}, ns)
    dest = store.apply(ns, base, [("a", b"dest"), ("c", b"same"), ("d", None)])
    source = store.apply(ns, base, [("a", b"source"), ("b", b"source"), ("c", b"same"), ("d", b"2")])
    with pytest.raises(MergeConflictError) as info:
        store.merge(ns, base, dest, source)
    assert info.value.paths == ["a", "d"]
    assert "'a'" in str(info.value)
    merged = store.merge(ns, base, dest, source, "dest-wins")
    assert dict(store.iterate(ns, merged)) == {"a": b"dest", "b": b"source", "c": b"same"}
    merged = store.merge(ns, base, dest, source, "source-wins")
    assert dict(store.iterate(ns, merged)) == {"a": b"source", "b": b"source", "c": b"same", "d": b"2"}
    # Trivial cases.
    assert store.merge(ns, base, dest, base) == dest
    assert store.merge(ns, base, base, source) == source
    assert store.merge(ns, base, dest, dest) == dest
    with pytest.raises(ValueError):
        store.merge(ns, base, dest, source, "ours")


def test_merge_conflicts_are_capped() -> None:
    store = CommittedStore(MemAdapter())
    base = build(store, {f"k{i:04d}": b"0" for i in range(500)})
    dest = store.apply(NS, base, [(f"k{i:04d}", b"d") for i in range(500)])
    source = store.apply(NS, base, [(f"k{i:04d}", b"s") for i in range(500)])
    with pytest.raises(MergeConflictError) as info:
        store.merge(NS, base, dest, source)
    assert 0 < len(info.value.paths) <= 100
    assert info.value.paths == sorted(info.value.paths)


def test_disk_cache_serves_a_later_process(tmp_path: Path) -> None:
    block = MemAdapter()
    cache = tmp_path / "cache"
    model = {path_key(i): value_of(i) for i in range(4000)}
    tree = build(CommittedStore(block, cache_dir=cache), model)
    assert any(cache.rglob(tree))
    for uri in [o.uri for o in block.list(NS)]:
        block.delete(uri)
    later = CommittedStore(block, cache_dir=cache)
    assert list(later.iterate(NS, tree)) == sorted(model.items())
    # A corrupt cache file falls back to the blockstore.
    block2 = MemAdapter()
    tree2 = build(CommittedStore(block2), {"x": b"1"})
    (info,) = CommittedStore(block2).ranges(NS, tree2)
    bad = cache / info.id[:2] / info.id
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"garbage")
    assert CommittedStore(block2, cache_dir=cache).get(NS, tree2, "x") == b"1"


def test_tiny_memory_cache_still_works() -> None:
    store = CommittedStore(MemAdapter(), memory_cache_bytes=1)
    model = {path_key(i): value_of(i) for i in range(3000)}
    tree = build(store, model)
    assert list(store.iterate(NS, tree)) == sorted(model.items())


def test_threads(big: tuple[CommittedStore, str, Model]) -> None:
    store, tree, model = big
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(5):
                keys = sorted(rnd.sample(sorted(model), 20))
                changes: Changes = [(k, value_of(seed, k.encode())) for k in keys]
                new = store.apply(NS, tree, changes)
                expected = apply_model(model, changes)
                assert store.get_many(NS, new, keys) == {k: expected[k] for k in keys}
                assert store.count(NS, new) == len(expected)
                assert list(store.diff(NS, tree, new)) == model_diff(model, expected)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_size_limit_cuts() -> None:
    # No key is a hash boundary: only the size limit cuts, and still deterministically.
    store = CommittedStore(MemAdapter(), chunking=Chunking(target_bits=32, max_entries=10))
    model = {f"k{i:03d}": b"v" for i in range(95)}
    tree = build(store, model)
    assert [r.count for r in store.ranges(NS, tree)] == [10] * 9 + [5]
    t2 = store.apply(NS, tree, [("k000", None)])
    assert [r.count for r in store.ranges(NS, t2)] == [10] * 9 + [4]
    assert t2 == build(store, apply_model(model, [("k000", None)]))


def test_chunking_is_a_store_parameter() -> None:
    assert CommittedStore(MemAdapter()).chunking == DEFAULT == Chunking(target_bits=10, max_entries=16384)
    assert Chunking(target_bits=3, max_entries=12) == SMALL and DEFAULT.target_entries == 1024
    for bad in ({"target_bits": 33}, {"target_bits": -1}, {"max_entries": 0}):
        with pytest.raises(ValueError):
            Chunking(**bad)
    # The default rule is part of the format: these boundaries must never move.
    keys = [path_key(i) for i in range(20_000)]
    assert DEFAULT.hash_boundaries(keys)[:5] == [172, 11554, 13470, 13788, 16391]
    # The same content cut by another rule is another tree.
    model = {path_key(i): value_of(i) for i in range(200)}
    small = small_store()
    small_tree = build(small, model)
    assert len(small.ranges(NS, small_tree)) > 10
    assert list(small.iterate(NS, small_tree)) == sorted(model.items())
    assert small_tree != build(CommittedStore(MemAdapter()), model)


def test_prefix_end_and_lru() -> None:
    assert prefix_end("") is None
    assert prefix_end("ab") == "ac"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    lru: ByteLRU[str] = ByteLRU(10)
    lru.put("a", "A", 4)
    lru.put("b", "B", 4)
    assert lru.get("a") == "A"
    lru.put("c", "C", 4)  # evicts b, the least recently used
    assert lru.get("b") is None and lru.get("a") == "A" and lru.get("c") == "C"
    lru.put("huge", "H", 11)
    assert lru.get("huge") is None and lru.size_bytes == 8


# -- property tests (small ranges so that small trees have many) --------------

KEYS = st.text(alphabet="abc/", min_size=1, max_size=5)
VALUES = st.binary(min_size=0, max_size=3)
MODELS = st.dictionaries(KEYS, VALUES, max_size=120)
CHANGES = st.dictionaries(KEYS, st.none() | VALUES, max_size=40).map(lambda d: sorted(d.items()))
PREFIX = st.text(alphabet="abc/", max_size=2)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(initial=MODELS, batches=st.lists(CHANGES, max_size=5), start=PREFIX, prefix=PREFIX, probe=KEYS)
def test_apply_matches_model(
    initial: Model, batches: list[Changes], start: str, prefix: str, probe: str
) -> None:
    store = small_store()
    tree, model = build(store, initial), initial
    for changes in batches:
        tree, model = store.apply(NS, tree, changes), apply_model(model, changes)
        assert list(store.iterate(NS, tree)) == sorted(model.items())
        assert store.count(NS, tree) == len(model)
        assert store.get(NS, tree, probe) == model.get(probe)
        keys = [probe, *model][:10]
        assert store.get_many(NS, tree, keys) == {k: model[k] for k in keys if k in model}
        assert list(store.iterate(NS, tree, start=start, prefix=prefix)) == select(
            sorted(model.items()), start, prefix
        )
        # Same content, same tree, whatever the history.
        assert tree == build(store, model)
        infos = store.ranges(NS, tree)
        assert all(a.max_key < b.min_key for a, b in zip(infos, infos[1:], strict=False))
        assert all(0 < r.count <= SMALL.max_entries for r in infos)


@SETTINGS
@given(items=MODELS, order=st.randoms(use_true_random=False), cuts=st.integers(1, 5))
def test_same_content_same_id_any_order(items: Model, order: random.Random, cuts: int) -> None:
    store = small_store()
    keys = list(items)
    order.shuffle(keys)
    noise = {k + "x": b"tmp" for k in keys[:5]}
    tree = store.apply(NS, store.empty_tree(NS), sorted(noise.items()))
    size = max(1, len(keys) // cuts)
    for i in range(0, len(keys), size):
        batch = sorted((k, items[k]) for k in keys[i : i + size])
        tree = store.apply(NS, tree, batch)
    removal: Changes = [(k, None) for k in sorted(noise) if k not in items]
    tree = store.apply(NS, tree, removal)
    assert tree == build(store, items)


@SETTINGS
@given(base=MODELS, left=CHANGES, right=CHANGES, start=PREFIX, prefix=PREFIX)
def test_diff_matches_model(base: Model, left: Changes, right: Changes, start: str, prefix: str) -> None:
    store = small_store()
    base_tree = build(store, base)
    lmodel, rmodel = apply_model(base, left), apply_model(base, right)
    ltree, rtree = store.apply(NS, base_tree, left), store.apply(NS, base_tree, right)
    assert list(store.diff(NS, ltree, rtree)) == model_diff(lmodel, rmodel)
    assert list(store.diff(NS, rtree, ltree)) == model_diff(rmodel, lmodel)
    assert list(store.diff(NS, ltree, rtree, start=start, prefix=prefix)) == select(
        model_diff(lmodel, rmodel), start, prefix
    )
    assert list(store.diff(NS, base_tree, rtree)) == model_diff(base, rmodel)


def expected_merge(base: Model, dest: Model, source: Model, strategy: str) -> tuple[Model, list[str]]:
    result = dict(dest)
    conflicts = []
    for key in sorted(set(base) | set(dest) | set(source)):
        b, d, s = base.get(key), dest.get(key), source.get(key)
        if s == b or d == s:
            continue
        if d == b or strategy == "source-wins":
            if s is None:
                result.pop(key, None)
            else:
                result[key] = s
        elif strategy == "":
            conflicts.append(key)
    return result, conflicts


@SETTINGS
@given(
    base=MODELS,
    dest_changes=CHANGES,
    source_changes=CHANGES,
    strategy=st.sampled_from(["", "dest-wins", "source-wins"]),
)
def test_merge_matches_model(
    base: Model, dest_changes: Changes, source_changes: Changes, strategy: str
) -> None:
    store = small_store()
    base_tree = build(store, base)
    dest, source = apply_model(base, dest_changes), apply_model(base, source_changes)
    dest_tree = store.apply(NS, base_tree, dest_changes)
    source_tree = store.apply(NS, base_tree, source_changes)
    expected, conflicts = expected_merge(base, dest, source, strategy)
    if conflicts:
        with pytest.raises(MergeConflictError) as info:
            store.merge(NS, base_tree, dest_tree, source_tree, strategy)
        assert info.value.paths == conflicts
        return
    merged = store.merge(NS, base_tree, dest_tree, source_tree, strategy)
    assert list(store.iterate(NS, merged)) == sorted(expected.items())
    assert merged == build(store, expected)


@SETTINGS
@given(initial=MODELS, changes=CHANGES)
def test_untouched_ranges_keep_ids(initial: Model, changes: Changes) -> None:
    store = small_store()
    tree = build(store, initial)
    old = store.ranges(NS, tree)
    new = store.ranges(NS, store.apply(NS, tree, changes))
    # A range that lies before every change is reused as is, unless it is the
    # last one (not closed by a cut: keys appended after it extend it).
    first_change = changes[0][0] if changes else None
    for info in old[:-1]:
        if first_change is None or info.max_key < first_change:
            assert info in new
    # And every range after the first one past the last change that ends at a hash
    # boundary: both trees cut there, so from there on they are cut alike.
    if changes:
        last_change = changes[-1][0]
        later = [r for r in old if r.max_key > last_change]
        sync = next((i for i, r in enumerate(later) if SMALL.is_boundary(r.max_key)), len(later))
        assert all(r in new for r in later[sync + 1 :])


def test_disk_cache_stays_within_its_bound(tmp_path: Path) -> None:
    """Writing past ``max_bytes`` evicts the least recently used files, down to 90%."""
    from limnos.graveler.committed.cache import DiskCache

    cache = DiskCache(tmp_path / "cache", max_bytes=10_000)
    for i in range(30):
        cache.put(f"{i:064x}", b"x" * 1000)
    stored = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert stored <= 10_000
    assert cache.get(f"{29:064x}") == b"x" * 1000  # the newest survives
    assert cache.get(f"{0:064x}") is None  # the oldest went first
    # A second process on the same directory measures what is there.
    assert DiskCache(tmp_path / "cache", max_bytes=10_000)._size == stored
