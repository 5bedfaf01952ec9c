"""What an import makes of a tree: a streamed tree of the imported entries, and the
branch's tree with each destination prefix replaced by them — checked against dicts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limnos.block.mem import MemAdapter
from limnos.graveler.committed import CommittedStore
from limnos.graveler.committed.chunking import Chunking
from limnos.graveler.committed.store import replacing

NS = "mem://bucket/repo"
SMALL = Chunking(target_bits=3, max_entries=12)


def store() -> CommittedStore:
    return CommittedStore(MemAdapter(), chunking=SMALL)


def tree_of(s: CommittedStore, model: dict[str, bytes]) -> str:
    return s.write_tree(NS, sorted(model.items()), batch=5)


def test_write_tree_streams_what_apply_builds() -> None:
    s = store()
    model = {f"k/{i:05d}": f"v{i}".encode() for i in range(1000)}
    streamed = s.write_tree(NS, iter(sorted(model.items())), batch=7)
    assert streamed == s.apply(NS, s.empty_tree(NS), sorted(model.items()))  # the same cut, the same id
    assert dict(s.iterate(NS, streamed)) == model
    assert s.write_tree(NS, iter(())) == s.empty_tree(NS)


def test_write_tree_refuses_unsorted_or_repeated_keys() -> None:
    s = store()
    with pytest.raises(ValueError):
        s.write_tree(NS, [("b", b"1"), ("a", b"2")])
    with pytest.raises(ValueError):
        s.write_tree(NS, [("a", b"1"), ("a", b"2")])


def test_apply_stream_in_batches_equals_one_apply() -> None:
    s = store()
    base = tree_of(s, {f"k/{i:04d}": b"old" for i in range(0, 400, 2)})
    changes: list[tuple[str, bytes | None]] = [
        (f"k/{i:04d}", None if i % 3 == 0 else b"new") for i in range(400)
    ]
    assert s.apply_stream(NS, base, iter(changes), batch=17) == s.apply(NS, base, changes)


def test_replacing_sets_added_and_deletes_the_rest_once() -> None:
    added = iter([("a/2", b"x"), ("a/4", b"y"), ("b", b"z")])
    removed = iter([("a/1", b"o"), ("a/2", b"o"), ("a/2", b"o"), ("a/3", b"o"), ("a/3", b"o")])
    assert list(replacing(added, removed)) == [
        ("a/1", None),
        ("a/2", b"x"),
        ("a/3", None),
        ("a/4", b"y"),
        ("b", b"z"),
    ]


keys = st.text(alphabet="ab/", min_size=1, max_size=5)


@settings(max_examples=120, deadline=None)
@given(
    base=st.dictionaries(keys, st.binary(min_size=1, max_size=3), max_size=40),
    imported=st.dictionaries(keys, st.binary(min_size=1, max_size=3), max_size=40),
    prefixes=st.lists(st.text(alphabet="ab/", max_size=3), max_size=3),
)
def test_replace_prefixes_matches_the_model(
    base: dict[str, bytes], imported: dict[str, bytes], prefixes: list[str]
) -> None:
    s = store()
    base_tree, import_tree = tree_of(s, base), tree_of(s, imported)
    result = s.replace_prefixes(NS, base_tree, import_tree, prefixes)
    expected = {k: v for k, v in base.items() if not any(k.startswith(p) for p in prefixes)}
    expected.update(imported)
    assert dict(s.iterate(NS, result)) == expected
