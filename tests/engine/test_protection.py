"""Branch protection patterns (lakeFS's glob syntax) and the repository settings kept per
repository instance, through a real engine and catalog (SQLite, in-memory blockstore)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_env import CatalogEnv
from hypothesis import given
from hypothesis import strategies as st

from limnos.errors import Forbidden, Invalid, PreconditionFailed
from limnos.graveler import protection
from limnos.graveler.refs import settings_partition


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[CatalogEnv]:
    environment = CatalogEnv(tmp_path)
    yield environment
    environment.close()


@pytest.mark.parametrize(
    ("pattern", "branch", "covered"),
    [
        ("main", "main", True),
        ("main", "main2", False),
        ("stable_*", "stable_", True),
        ("stable_*", "stable_2024", True),
        ("stable_*", "unstable_1", False),
        ("*", "anything-at-all", True),
        ("**", "x", True),
        ("?ain", "main", True),
        ("?ain", "ain", False),
        ("rel-[0-9]", "rel-7", True),
        ("rel-[0-9]", "rel-12", False),
        ("rel-[!0-9]", "rel-x", True),
        ("rel-[!0-9]", "rel-7", False),
        ("v[ab_]", "v_", True),
        ("x[-a]", "x-", True),
        ("{main,prod}", "prod", True),
        ("{main,prod}", "stage", False),
        ("{main,rel-{1,2}}", "rel-2", True),
        ("release-{*}", "release-1", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("a\\{b", "a{b", True),
        ("feature]", "feature]", True),
        ("a,b", "a,b", True),
    ],
)
def test_patterns_follow_lakefs_globs(pattern: str, branch: str, covered: bool) -> None:
    assert protection.matches(protection.check_pattern(pattern), branch) is covered


@pytest.mark.parametrize("pattern", ["", "[abc", "rel-[0-9", "{a,b", "a{b", "[]", "[!]", "[z-a]", "x[\\"])
def test_patterns_lakefs_cannot_compile_are_refused(pattern: str) -> None:
    with pytest.raises(Invalid):
        protection.check_pattern(pattern)


@given(
    st.from_regex(r"[A-Za-z0-9_*?-]{1,12}", fullmatch=True), st.from_regex(r"\w[-\w]{0,12}", fullmatch=True)
)
def test_star_and_question_mark_match_as_fnmatch_does(pattern: str, branch: str) -> None:
    """Without classes and alternatives a pattern means what fnmatch makes of it."""
    assert protection.matches(pattern, branch) is fnmatch.fnmatchcase(branch, pattern)


def test_etags_version_sets_of_rules() -> None:
    assert protection.etag(()) == ""
    one = protection.etag(protection.normalized(["b", "a", "b"]))
    assert one == protection.etag(("a", "b")) and one
    assert protection.etag(("a",)) != one
    assert protection.etag_matches(("a", "b"), f'"{one}"')
    assert not protection.etag_matches(("a",), one)


def test_rules_change_by_compare_and_set(env: CatalogEnv) -> None:
    graveler = env.graveler
    env.catalog.repositories.create("guarded", "mem://guarded")
    graveler.update_protected_branches("guarded", lambda _: ["main"], if_match="")
    etag = protection.etag(("main",))
    with pytest.raises(PreconditionFailed):
        graveler.update_protected_branches("guarded", lambda _: [], if_match="")
    with pytest.raises(Invalid):
        graveler.update_protected_branches("guarded", lambda current: [*current, "[x"])
    assert graveler.get_repository("guarded").protected_branches == ("main",)
    graveler.update_protected_branches("guarded", lambda current: [*current, "dev"], if_match=etag)
    repo = graveler.get_repository("guarded")
    assert repo.protected_branches == ("dev", "main")
    # the rules travel with the record: every write holds them, forced ones included
    with pytest.raises(Forbidden, match="cannot write to protected branch"):
        graveler.set(repo, "main", "x", b"x")
    with pytest.raises(Forbidden, match="cannot commit to protected branch"):
        graveler.commit(repo, "main", committer="c", message="m", allow_empty=True)
    # metadata updates keep the rules
    graveler.update_repository_metadata("guarded", lambda current: {**current, "k": "v"})
    assert graveler.get_repository("guarded").protected_branches == ("dev", "main")


def test_settings_go_with_their_repository(env: CatalogEnv) -> None:
    catalog = env.catalog
    catalog.repositories.create("kept", "mem://kept")
    env.run(catalog.gc_rules.set("kept", 7, [("main", 30)]))
    rules = catalog.gc_rules.rules("kept")
    assert rules is not None and rules.retention_days("main") == 30 and rules.retention_days("dev") == 7
    old = env.graveler.get_repository("kept")
    catalog.repositories.delete("kept")
    assert list(env.kv.scan(settings_partition(old))) == []
    catalog.repositories.create("kept", "mem://kept")
    assert catalog.gc_rules.rules("kept") is None
