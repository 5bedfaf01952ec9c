"""Diffs between refs, merges and merge bases, and metarange/range locations."""

from __future__ import annotations

from typing import Any

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import Server, assert_error, head, upload
from lakefs_sdk.exceptions import ApiException

from limnos.graveler.committed.rangefile import decode_metarange


def remove(sdk: lakefs_sdk.ApiClient, repo: str, branch: str, path: str) -> None:
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, branch, path)


def commit(sdk: lakefs_sdk.ApiClient, repo: str, branch: str, message: str = "change") -> lakefs_sdk.Commit:
    return lakefs_sdk.CommitsApi(sdk).commit(repo, branch, lakefs_sdk.CommitCreation(message=message))


def new_branch(sdk: lakefs_sdk.ApiClient, repo: str, name: str, source: str = "main") -> None:
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name=name, source=source))


def read(sdk: lakefs_sdk.ApiClient, repo: str, ref: str, path: str) -> bytes:
    return bytes(lakefs_sdk.ObjectsApi(sdk).get_object(repo, ref, path))


def diff(http: httpx.Client, repo: str, left: str, right: str, **params: Any) -> list[tuple[str, str, str]]:
    """(type, path, path_type) of every diff entry on one page."""
    response = http.get(f"/repositories/{repo}/refs/{left}/diff/{right}", params=params)
    assert response.status_code == 200, response.text
    return [(d["type"], d["path"], d["path_type"]) for d in response.json()["results"]]


def merge(http: httpx.Client, repo: str, source: str, dest: str, **body: Any) -> httpx.Response:
    return http.post(f"/repositories/{repo}/refs/{source}/merge/{dest}", json=body)


@pytest.fixture()
def diverged(sdk: lakefs_sdk.ApiClient, repo: str) -> str:
    """``main`` and ``feature`` changed differently since they split.

    Before the split main holds keep.txt, change.txt, drop.txt. Then feature adds
    new.txt, changes change.txt and drops drop.txt; main adds main-only.txt.
    """
    for path in ("keep.txt", "change.txt", "drop.txt"):
        upload(sdk, repo, "main", path, path.encode())
    commit(sdk, repo, "main", "base")
    new_branch(sdk, repo, "feature")
    upload(sdk, repo, "feature", "new.txt", b"new!")
    upload(sdk, repo, "feature", "change.txt", b"changed on feature")
    remove(sdk, repo, "feature", "drop.txt")
    commit(sdk, repo, "feature", "feature work")
    upload(sdk, repo, "main", "main-only.txt", b"main")
    commit(sdk, repo, "main", "main work")
    return repo


# -- diffRefs -----------------------------------------------------------------------------


def test_two_dot_diff_compares_the_trees(http: httpx.Client, diverged: str) -> None:
    assert diff(http, diverged, "main", "feature", type="two_dot") == [
        ("changed", "change.txt", "object"),
        ("removed", "drop.txt", "object"),
        ("removed", "main-only.txt", "object"),
        ("added", "new.txt", "object"),
    ]
    body = http.get(f"/repositories/{diverged}/refs/main/diff/feature", params={"type": "two_dot"}).json()
    sizes = {d["path"]: d["size_bytes"] for d in body["results"]}
    assert sizes == {"change.txt": 18, "drop.txt": 8, "main-only.txt": 4, "new.txt": 4}
    assert body["pagination"]["has_more"] is False


def test_three_dot_diff_shows_what_the_right_side_changed(http: httpx.Client, diverged: str) -> None:
    expected = [
        ("changed", "change.txt", "object"),
        ("removed", "drop.txt", "object"),
        ("added", "new.txt", "object"),
    ]
    assert diff(http, diverged, "main", "feature", type="three_dot") == expected
    assert diff(http, diverged, "main", "feature") == expected  # three_dot is the default
    assert diff(http, diverged, "feature", "main") == [("added", "main-only.txt", "object")]
    assert diff(http, diverged, "main", "main") == []


def test_three_dot_diff_marks_conflicts(sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str) -> None:
    upload(sdk, diverged, "main", "change.txt", b"changed on main")
    commit(sdk, diverged, "main", "conflicting change")
    assert ("conflict", "change.txt", "object") in diff(http, diverged, "main", "feature")


def test_two_dot_diff_sees_staged_changes_of_a_right_branch(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str
) -> None:
    upload(sdk, diverged, "feature", "staged.txt", b"s")
    remove(sdk, diverged, "feature", "new.txt")
    assert diff(http, diverged, "main", "feature", type="two_dot") == [
        ("changed", "change.txt", "object"),
        ("removed", "drop.txt", "object"),
        ("removed", "main-only.txt", "object"),
        ("added", "staged.txt", "object"),
    ]
    # '@' reads committed data only; three_dot never reads staging.
    assert ("added", "new.txt", "object") in diff(http, diverged, "main", "feature@", type="two_dot")
    assert ("added", "new.txt", "object") in diff(http, diverged, "main", "feature")


def test_diff_prefix_delimiter_and_paging(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    new_branch(sdk, repo, "wide")
    paths = ["a/1", "a/2", "b/x/1", "b/y/1", "c", "d/1"]
    for path in paths:
        upload(sdk, repo, "wide", path, b"v")
    commit(sdk, repo, "wide")
    assert diff(http, repo, "main", "wide", delimiter="/") == [
        ("prefix_changed", "a/", "common_prefix"),
        ("prefix_changed", "b/", "common_prefix"),
        ("added", "c", "object"),
        ("prefix_changed", "d/", "common_prefix"),
    ]
    assert diff(http, repo, "main", "wide", prefix="b/", delimiter="/") == [
        ("prefix_changed", "b/x/", "common_prefix"),
        ("prefix_changed", "b/y/", "common_prefix"),
    ]
    assert [p for _, p, _ in diff(http, repo, "main", "wide", prefix="b/")] == ["b/x/1", "b/y/1"]
    for delimiter in ("", "/"):
        seen: list[str] = []
        after = ""
        while True:
            body = http.get(
                f"/repositories/{repo}/refs/main/diff/wide",
                params={"amount": 2, "after": after, "delimiter": delimiter},
            ).json()
            seen.extend(d["path"] for d in body["results"])
            if not body["pagination"]["has_more"]:
                break
            after = body["pagination"]["next_offset"]
            assert after == seen[-1]
        assert seen == (paths if not delimiter else ["a/", "b/", "c", "d/"])


def test_diff_through_the_lakefs_wrapper(client: lakefs.Client, diverged: str) -> None:
    main = lakefs.Repository(diverged, client=client).ref("main")
    changes = list(main.diff("feature", type="two_dot", amount=1))
    assert [(c.type, c.path) for c in changes] == [
        ("changed", "change.txt"),
        ("removed", "drop.txt"),
        ("removed", "main-only.txt"),
        ("added", "new.txt"),
    ]


def test_diff_right_stats(http: httpx.Client, diverged: str) -> None:
    body = http.get(
        f"/repositories/{diverged}/refs/main/diff/feature",
        params={"include_right_stats": "true", "type": "two_dot"},
    ).json()
    by_path = {d["path"]: d for d in body["results"]}
    assert by_path["new.txt"]["right"]["checksum"]
    assert by_path["new.txt"]["right"]["content_type"]
    assert "right" not in by_path["drop.txt"]


def test_diff_errors(http: httpx.Client, repo: str) -> None:
    assert_error(http.get(f"/repositories/{repo}/refs/main/diff/main", params={"type": "one_dot"}), 400)
    assert_error(http.get(f"/repositories/{repo}/refs/main/diff/nope"), 404)
    assert_error(http.get(f"/repositories/{repo}/refs/nope/diff/main"), 404)
    assert_error(http.get("/repositories/no-such-repo/refs/main/diff/main"), 404)
    assert_error(http.get(f"/repositories/{repo}/refs/main/diff/main", params={"amount": "x"}), 400)


# -- mergeIntoBranch ----------------------------------------------------------------------


def test_merge_without_conflicts(sdk: lakefs_sdk.ApiClient, diverged: str) -> None:
    main_head = head(sdk, diverged, "main")
    feature_head = head(sdk, diverged, "feature")
    result = lakefs_sdk.RefsApi(sdk).merge_into_branch(diverged, "feature", "main")
    assert head(sdk, diverged, "main") == result.reference
    merged = lakefs_sdk.CommitsApi(sdk).get_commit(diverged, result.reference)
    assert merged.parents == [main_head, feature_head]
    assert merged.message == "Merge 'feature' into 'main'"
    assert merged.committer == "admin"
    assert merged.metadata == {".lakefs.merge.strategy": "default"}
    assert read(sdk, diverged, "main", "new.txt") == b"new!"
    assert read(sdk, diverged, "main", "change.txt") == b"changed on feature"
    assert read(sdk, diverged, "main", "main-only.txt") == b"main"
    with pytest.raises(ApiException) as err:
        read(sdk, diverged, "main", "drop.txt")
    assert err.value.status == 404


def test_merge_message_metadata_and_squash(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str
) -> None:
    main_head = head(sdk, diverged, "main")
    response = merge(
        http, diverged, "feature", "main", message="squashed", metadata={"ticket": "42"}, squash_merge=True
    )
    assert response.status_code == 200, response.text
    merged = lakefs_sdk.CommitsApi(sdk).get_commit(diverged, response.json()["reference"])
    assert merged.parents == [main_head]
    assert merged.message == "squashed"
    assert merged.metadata == {"ticket": "42", ".lakefs.merge.strategy": "default"}


def test_merge_conflict_is_409_naming_the_path(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str
) -> None:
    upload(sdk, diverged, "main", "change.txt", b"changed on main")
    commit(sdk, diverged, "main", "conflicting change")
    before = head(sdk, diverged, "main")
    assert_error(merge(http, diverged, "feature", "main"), 409, "change.txt")
    assert head(sdk, diverged, "main") == before
    with pytest.raises(ApiException) as err:
        lakefs_sdk.RefsApi(sdk).merge_into_branch(diverged, "feature", "main")
    assert err.value.status == 409


@pytest.mark.parametrize(
    ("strategy", "expected"), [("dest-wins", b"changed on main"), ("source-wins", b"changed on feature")]
)
def test_merge_strategies_resolve_conflicts(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str, strategy: str, expected: bytes
) -> None:
    upload(sdk, diverged, "main", "change.txt", b"changed on main")
    commit(sdk, diverged, "main", "conflicting change")
    response = merge(http, diverged, "feature", "main", strategy=strategy)
    assert response.status_code == 200, response.text
    assert read(sdk, diverged, "main", "change.txt") == expected
    assert read(sdk, diverged, "main", "new.txt") == b"new!"
    merged = lakefs_sdk.CommitsApi(sdk).get_commit(diverged, "main")
    assert merged.metadata[".lakefs.merge.strategy"] == strategy


def test_merge_refusals(sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str) -> None:
    assert_error(merge(http, diverged, "feature", "main", strategy="mine"), 400, "strategy")
    assert_error(merge(http, diverged, "feature", "nope"), 404)
    assert_error(merge(http, diverged, "nope", "main"), 404)
    assert_error(merge(http, "no-such-repo", "feature", "main"), 404)
    assert_error(http.post(f"/repositories/{diverged}/refs/feature/merge/main", content=b"[1, 2"), 400)
    upload(sdk, diverged, "main", "dirty.txt", b"uncommitted")
    assert_error(merge(http, diverged, "feature", "main"), 400)


def test_merge_without_changes_needs_allow_empty(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    new_branch(sdk, repo, "same")
    before = head(sdk, repo, "main")
    assert_error(merge(http, repo, "same", "main"), 400)
    assert head(sdk, repo, "main") == before
    response = merge(http, repo, "same", "main", allow_empty=True)
    assert response.status_code == 200, response.text
    assert head(sdk, repo, "main") == response.json()["reference"] != before


def test_merge_with_empty_body_and_by_commit_id(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str
) -> None:
    feature_head = head(sdk, diverged, "feature")
    response = http.post(f"/repositories/{diverged}/refs/{feature_head[:10]}/merge/main")
    assert response.status_code == 200, response.text
    assert lakefs_sdk.CommitsApi(sdk).get_commit(diverged, "main").parents[1] == feature_head


def test_merge_through_the_lakefs_wrapper(
    client: lakefs.Client, sdk: lakefs_sdk.ApiClient, diverged: str
) -> None:
    repo = lakefs.Repository(diverged, client=client)
    reference = repo.branch("feature").merge_into(repo.branch("main"), message="wrapped merge")
    assert reference == head(sdk, diverged, "main")
    assert repo.branch("main").get_commit().message == "wrapped merge"
    upload(sdk, diverged, "feature", "change.txt", b"again")
    commit(sdk, diverged, "feature")
    upload(sdk, diverged, "main", "change.txt", b"and again")
    commit(sdk, diverged, "main")
    with pytest.raises(lakefs.exceptions.ConflictException):
        repo.branch("feature").merge_into("main")


# -- findMergeBase ------------------------------------------------------------------------


def test_find_merge_base(sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str) -> None:
    split = lakefs_sdk.CommitsApi(sdk).get_commit(diverged, "feature~1").id
    result = lakefs_sdk.RefsApi(sdk).find_merge_base(diverged, "feature", "main")
    assert result.source_commit_id == head(sdk, diverged, "feature")
    assert result.destination_commit_id == head(sdk, diverged, "main")
    assert result.base_commit_id == split
    same = lakefs_sdk.RefsApi(sdk).find_merge_base(diverged, "main", "main")
    assert same.base_commit_id == head(sdk, diverged, "main")
    assert_error(http.get(f"/repositories/{diverged}/refs/nope/merge/main"), 404)
    assert_error(http.get(f"/repositories/{diverged}/refs/main/merge/nope"), 404)


def test_refs_named_like_route_words(sdk: lakefs_sdk.ApiClient, http: httpx.Client, diverged: str) -> None:
    """Branches called 'commits', 'diff' or 'merge' and tags with '/' route correctly."""
    for name in ("commits", "diff", "merge"):
        new_branch(sdk, diverged, name, source="feature")
        assert diff(http, diverged, "feature", name) == []
        base = http.get(f"/repositories/{diverged}/refs/main/merge/{name}")
        assert base.status_code == 200, base.text
        assert base.json()["destination_commit_id"] == head(sdk, diverged, "feature")
    lakefs_sdk.TagsApi(sdk).create_tag(diverged, lakefs_sdk.TagCreation(id="v/1.0", ref="feature"))
    assert diff(http, diverged, "v/1.0", "feature") == []
    assert len(diff(http, diverged, "main", "v/1.0")) == 3
    response = merge(http, diverged, "v/1.0", "main")
    assert response.status_code == 200, response.text


# -- getMetaRange / getRange --------------------------------------------------------------


def test_meta_range_and_range_locations(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, server: Server, diverged: str
) -> None:
    tree = lakefs_sdk.CommitsApi(sdk).get_commit(diverged, "main").meta_range_id
    response = http.get(f"/repositories/{diverged}/metadata/meta_range/{tree}")
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    assert location == f"{server.namespace(diverged)}/_lakefs/{tree}"
    assert response.headers["location"] == location
    sdk_answer = lakefs_sdk.MetadataApi(sdk).get_meta_range(diverged, tree)
    assert sdk_answer.location == location

    range_ids = [r.id for r in decode_metarange(server.read_object(location)).ranges]
    assert range_ids
    for range_id in range_ids:
        got = http.get(f"/repositories/{diverged}/metadata/range/{range_id}")
        assert got.status_code == 200, got.text
        assert got.json()["location"] == f"{server.namespace(diverged)}/_lakefs/{range_id}"
        assert got.headers["location"] == got.json()["location"]
        # A range is not a metarange.
        assert_error(http.get(f"/repositories/{diverged}/metadata/meta_range/{range_id}"), 404)

    for bad in ("0" * 64, "not-an-id", "..%2F..%2Fetc"):
        assert_error(http.get(f"/repositories/{diverged}/metadata/meta_range/{bad}"), 404)
        assert_error(http.get(f"/repositories/{diverged}/metadata/range/{bad}"), 404)
    assert_error(http.get(f"/repositories/no-such-repo/metadata/meta_range/{tree}"), 404)


def test_same_content_uploaded_on_both_sides_is_neither_a_change_nor_a_conflict(
    sdk: lakefs_sdk.ApiClient, repo: str
) -> None:
    """Uploading identical bytes again (new address, new mtime) is no change, and the same
    change made on both branches merges without a conflict."""
    commits = lakefs_sdk.CommitsApi(sdk)
    upload(sdk, repo, "main", "same.txt", b"one")
    commits.commit(repo, "main", lakefs_sdk.CommitCreation(message="one"))
    upload(sdk, repo, "main", "same.txt", b"one")
    assert lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results == []

    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="twin", source="main"))
    for branch in ("main", "twin"):
        upload(sdk, repo, branch, "same.txt", b"two")
        commits.commit(repo, branch, lakefs_sdk.CommitCreation(message=f"two on {branch}"))
    diff = lakefs_sdk.RefsApi(sdk).diff_refs(repo, "main", "twin", type="two_dot")
    assert diff.results == []
    merged = lakefs_sdk.RefsApi(sdk).merge_into_branch(
        repo, "twin", "main", merge=lakefs_sdk.Merge(allow_empty=True)
    )
    assert merged.reference
