"""Branch operations through the lakeFS clients and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import assert_error, head, upload
from lakefs_sdk.exceptions import ApiException


def commit(sdk: lakefs_sdk.ApiClient, repo: str, branch: str, message: str = "change") -> str:
    created = lakefs_sdk.CommitsApi(sdk).commit(repo, branch, lakefs_sdk.CommitCreation(message=message))
    return str(created.id)


def exists(sdk: lakefs_sdk.ApiClient, repo: str, ref: str, path: str) -> bool:
    try:
        lakefs_sdk.ObjectsApi(sdk).stat_object(repo, ref, path)
    except ApiException as err:
        assert err.status == 404
        return False
    return True


def read(sdk: lakefs_sdk.ApiClient, repo: str, ref: str, path: str) -> bytes:
    return bytes(lakefs_sdk.ObjectsApi(sdk).get_object(repo, ref, path))


def diff(http: httpx.Client, repo: str, branch: str, **params: str | int) -> dict:
    response = http.get(f"/repositories/{repo}/branches/{branch}/diff", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def diff_all(http: httpx.Client, repo: str, branch: str, **params: str) -> Iterator[dict]:
    after = ""
    while True:
        page = diff(http, repo, branch, after=after, amount=1, **params)
        yield from page["results"]
        if not page["pagination"]["has_more"]:
            return
        after = page["pagination"]["next_offset"]


# create / get / list / delete -------------------------------------------------------------


def test_create_get_list_delete_with_paging(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.BranchesApi(sdk)
    main = head(sdk, repo, "main")
    names = [f"feature-{i}" for i in range(5)]
    for name in names:
        created = api.create_branch(repo, lakefs_sdk.BranchCreation(name=name, source="main"))
        assert created == main
    fetched = api.get_branch(repo, "feature-3")
    assert (fetched.id, fetched.commit_id) == ("feature-3", main)

    everything = api.list_branches(repo)
    assert [r.id for r in everything.results] == [*names, "main"]
    assert everything.pagination.has_more is False
    assert everything.pagination.next_offset == ""

    seen: list[str] = []
    after = ""
    while True:
        page = api.list_branches(repo, after=after, amount=2)
        assert len(page.results) <= 2
        assert page.pagination.results == len(page.results)
        seen.extend(r.id for r in page.results)
        if not page.pagination.has_more:
            break
        after = page.pagination.next_offset
        assert after == page.results[-1].id
    assert seen == [*names, "main"]

    prefixed = api.list_branches(repo, prefix="feature-", after="feature-1")
    assert [r.id for r in prefixed.results] == names[2:]
    assert all(r.commit_id == main for r in prefixed.results)

    api.delete_branch(repo, "feature-0")
    with pytest.raises(ApiException) as err:
        api.get_branch(repo, "feature-0")
    assert err.value.status == 404
    assert "feature-1" in [r.id for r in api.list_branches(repo).results]


def test_create_branch_answers_commit_id_as_text(http: httpx.Client, repo: str) -> None:
    response = http.post(f"/repositories/{repo}/branches", json={"name": "b", "source": "main"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("text/html")
    ref = http.get(f"/repositories/{repo}/branches/b").json()
    assert ref == {"id": "b", "commit_id": response.text}


def test_create_from_tag_commit_and_ancestry(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.BranchesApi(sdk)
    first = head(sdk, repo, "main")
    upload(sdk, repo, "main", "one", b"1")
    second = commit(sdk, repo, "main", "second")
    upload(sdk, repo, "main", "two", b"2")
    third = commit(sdk, repo, "main", "third")
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="v1", ref=second))

    cases = {
        "from-tag": ("v1", second),
        "from-commit": (first, first),
        "from-short-commit": (second[:12], second),
        "from-ancestry": ("main~1", second),
        "from-ancestry-2": ("main~2", first),
        "from-branch": ("main", third),
    }
    for name, (source, expected) in cases.items():
        assert api.create_branch(repo, lakefs_sdk.BranchCreation(name=name, source=source)) == expected
        assert head(sdk, repo, name) == expected
    assert exists(sdk, repo, "from-tag", "one")
    assert not exists(sdk, repo, "from-tag", "two")


def test_create_from_dirty_branch_takes_committed_state(
    sdk: lakefs_sdk.ApiClient, client: lakefs.Client, repo: str
) -> None:
    upload(sdk, repo, "main", "staged", b"x")
    branch = lakefs.Repository(repo, client=client).branch("copy").create(source_reference="main")
    assert branch.head.id == head(sdk, repo, "main")
    assert list(branch.uncommitted()) == []
    assert not exists(sdk, repo, "copy", "staged")


def test_create_branch_errors(http: httpx.Client, repo: str) -> None:
    url = f"/repositories/{repo}/branches"
    assert http.post(url, json={"name": "dup", "source": "main"}).status_code == 201
    assert_error(http.post(url, json={"name": "dup", "source": "main"}), 409, "dup")
    assert_error(http.post(url, json={"name": "main", "source": "dup"}), 409)
    for bad in ("-lead", "has space", "a/b", "", "x~1", "dot.name"):
        assert_error(http.post(url, json={"name": bad, "source": "main"}), 400)
    assert_error(http.post(url, json={"name": "ok", "source": "nope"}), 404)
    assert_error(http.post(url, json={"name": "ok", "source": "main~50"}), 404)
    assert_error(http.post(url, json={"name": "ok", "source": "main^^x"}), 400)
    assert_error(http.post(url, json={"name": "ok"}), 400, "source")
    assert_error(http.post(url, content=b"{not json"), 400)
    assert_error(http.post(url, json={"name": 5, "source": "main"}), 400)
    assert_error(http.post("/repositories/no-such-repo/branches", json={"name": "b", "source": "main"}), 404)
    http.post(f"/repositories/{repo}/tags", json={"id": "taken", "ref": "main"})
    assert_error(http.post(url, json={"name": "taken", "source": "main"}), 409, "taken")
    # A ref named like a commit would be shadowed by that commit: refused, as lakeFS does.
    commit_id = http.get(f"/repositories/{repo}/branches/main").json()["commit_id"]
    assert_error(http.post(url, json={"name": commit_id, "source": "main"}), 409, commit_id)
    tags = f"/repositories/{repo}/tags"
    assert_error(http.post(tags, json={"id": commit_id, "ref": "main"}), 409, commit_id)
    unused = "0" * 64
    assert http.post(url, json={"name": unused, "source": "main"}).status_code == 201


def test_get_and_delete_errors(http: httpx.Client, repo: str) -> None:
    base = f"/repositories/{repo}/branches"
    assert_error(http.get(f"{base}/missing"), 404, "missing")
    assert_error(http.delete(f"{base}/missing"), 404)
    assert_error(http.delete(f"{base}/main"), 403, "default")
    assert_error(http.delete(f"{base}/main", params={"force": "true"}), 403)
    assert_error(http.get("/repositories/no-such-repo/branches/main"), 404)
    assert_error(http.get(base, params={"amount": "many"}), 400, "amount")
    http.post(base, json={"name": "gone", "source": "main"})
    assert http.delete(f"{base}/gone", params={"force": "false"}).status_code == 204
    assert http.get(f"{base}/main").status_code == 200


def test_read_only_repository_needs_force(http: httpx.Client, read_only_repo: str) -> None:
    name = read_only_repo
    base = f"/repositories/{name}/branches"
    assert_error(http.post(base, json={"name": "b", "source": "main"}), 403, "read-only")
    assert http.post(base, json={"name": "b", "source": "main", "force": True}).status_code == 201
    assert_error(http.delete(f"{base}/b"), 403)
    assert http.delete(f"{base}/b", params={"force": "true"}).status_code == 204


# reset --------------------------------------------------------------------------------


def test_reset_each_type(
    sdk: lakefs_sdk.ApiClient, client: lakefs.Client, http: httpx.Client, repo: str
) -> None:
    upload(sdk, repo, "main", "kept", b"k")
    commit(sdk, repo, "main")
    for path in ("a/1", "a/2", "ab", "b/1", "c"):
        upload(sdk, repo, "main", path, b"v")
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "kept")
    branch = lakefs.Repository(repo, client=client).branch("main")

    def changed() -> list[str]:
        return [c.path for c in branch.uncommitted()]

    assert changed() == ["a/1", "a/2", "ab", "b/1", "c", "kept"]
    branch.reset_changes("object", "c")
    assert changed() == ["a/1", "a/2", "ab", "b/1", "kept"]
    branch.reset_changes("object", "kept")
    assert changed() == ["a/1", "a/2", "ab", "b/1"]
    assert read(sdk, repo, "main", "kept") == b"k"
    branch.reset_changes("object", "never-staged")
    branch.reset_changes("common_prefix", "a/")
    assert changed() == ["ab", "b/1"]
    branch.reset_changes("reset")
    assert changed() == []
    assert not exists(sdk, repo, "main", "b/1")

    url = f"/repositories/{repo}/branches/main"
    assert_error(http.put(url, json={"type": "object"}), 400)
    assert_error(http.put(url, json={"type": "everything"}), 400)
    assert_error(http.put(url, json={"path": "x"}), 400, "type")
    assert_error(http.put(f"/repositories/{repo}/branches/missing", json={"type": "reset"}), 404)


# hard reset ---------------------------------------------------------------------------


def test_hard_reset(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    first = head(sdk, repo, "main")
    upload(sdk, repo, "main", "a", b"1")
    second = commit(sdk, repo, "main")
    url = f"/repositories/{repo}/branches/main/hard_reset"

    assert http.put(url, params={"ref": first}).status_code == 204
    assert head(sdk, repo, "main") == first
    assert not exists(sdk, repo, "main", "a")
    lakefs_sdk.ExperimentalApi(sdk).hard_reset_branch(repo, "main", second)
    assert head(sdk, repo, "main") == second
    assert read(sdk, repo, "main", "a") == b"1"

    upload(sdk, repo, "main", "dirty", b"d")
    assert_error(http.put(url, params={"ref": first}), 400, "uncommitted")
    assert head(sdk, repo, "main") == second
    # the seed's call, with force
    lakefs_sdk.ExperimentalApi(sdk).hard_reset_branch(repo, "main", "main~1", force=True)
    assert head(sdk, repo, "main") == first
    assert not exists(sdk, repo, "main", "dirty")
    assert diff(http, repo, "main")["results"] == []

    assert_error(http.put(url), 400, "ref")
    assert_error(http.put(url, params={"ref": "nope"}), 404)
    assert_error(http.put(url, params={"ref": first, "force": "maybe"}), 400)
    assert_error(http.put(f"/repositories/{repo}/branches/missing/hard_reset", params={"ref": first}), 404)


# revert -------------------------------------------------------------------------------


def test_revert(sdk: lakefs_sdk.ApiClient, client: lakefs.Client, http: httpx.Client, repo: str) -> None:
    upload(sdk, repo, "main", "x", b"1")
    added_x = commit(sdk, repo, "main", "add x")
    upload(sdk, repo, "main", "y", b"2")
    added_y = commit(sdk, repo, "main", "add y")

    branch = lakefs.Repository(repo, client=client).branch("main")
    reverted = branch.revert(added_x)
    assert reverted.message == f"Revert {added_x}"
    assert reverted.committer == "admin"
    assert reverted.parents == [added_y]
    assert not exists(sdk, repo, "main", "x")
    assert read(sdk, repo, "main", "y") == b"2"

    url = f"/repositories/{repo}/branches/main/revert"
    response = http.post(
        url,
        json={
            "ref": "main",
            "parent_number": 0,
            "commit_overrides": {"message": "undo", "metadata": {"why": "test"}},
        },
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    latest = lakefs_sdk.CommitsApi(sdk).get_commit(repo, head(sdk, repo, "main"))
    assert (latest.message, latest.metadata) == ("undo", {"why": "test"})
    assert read(sdk, repo, "main", "x") == b"1"

    assert http.post(url, json={"ref": added_y, "parent_number": 0}).status_code == 204
    assert not exists(sdk, repo, "main", "y")
    # y is gone already: reverting it again changes nothing
    before = head(sdk, repo, "main")
    assert_error(http.post(url, json={"ref": added_y, "parent_number": 0}), 400)
    assert head(sdk, repo, "main") == before
    empty = http.post(url, json={"ref": added_y, "parent_number": 0, "allow_empty": True})
    assert empty.status_code == 204, empty.text
    assert head(sdk, repo, "main") != before


def test_revert_errors(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    upload(sdk, repo, "main", "x", b"1")
    first = commit(sdk, repo, "main")
    upload(sdk, repo, "main", "x", b"2")
    commit(sdk, repo, "main")
    url = f"/repositories/{repo}/branches/main/revert"

    # x changed again after the reverted commit
    assert_error(http.post(url, json={"ref": first, "parent_number": 0}), 409)
    upload(sdk, repo, "main", "staged", b"s")
    assert_error(http.post(url, json={"ref": "main", "parent_number": 0}), 400, "uncommitted")
    lakefs_sdk.BranchesApi(sdk).reset_branch(repo, "main", lakefs_sdk.ResetCreation(type="reset"))
    assert_error(http.post(url, json={"ref": "nope", "parent_number": 0}), 404)
    assert_error(http.post(url, json={"ref": "main", "parent_number": 2}), 400, "parent")
    assert_error(http.post(url, json={"ref": "main", "parent_number": -1}), 400, "parent_number")
    assert_error(http.post(url, json={"parent_number": 0}), 400, "ref")
    assert_error(
        http.post(f"/repositories/{repo}/branches/missing/revert", json={"ref": "main", "parent_number": 0}),
        404,
    )


def merge_feature(sdk: lakefs_sdk.ApiClient, repo: str) -> str:
    """A merge commit on main that brings in ``feature``'s ``f``; returns its id."""
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="feature", source="main"))
    upload(sdk, repo, "feature", "f", b"feature")
    commit(sdk, repo, "feature", "feature work")
    upload(sdk, repo, "main", "m", b"main")
    commit(sdk, repo, "main", "main work")
    merged = lakefs_sdk.RefsApi(sdk).merge_into_branch(repo, "feature", "main")
    return str(merged.reference)


def test_revert_merge_commit_with_parent_number(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    merge_id = merge_feature(sdk, repo)
    url = f"/repositories/{repo}/branches/main/revert"
    # No parent chosen: lakeFS answers 409 for a revert (400 for a cherry-pick).
    assert_error(http.post(url, json={"ref": merge_id, "parent_number": 0}), 409, "parent")
    assert_error(http.post(url, json={"ref": merge_id}), 409, "parent")
    assert_error(http.post(url, json={"ref": merge_id, "parent_number": 3}), 400, "parent")
    assert http.post(url, json={"ref": merge_id, "parent_number": 1}).status_code == 204
    assert not exists(sdk, repo, "main", "f")
    assert read(sdk, repo, "main", "m") == b"main"


# cherry-pick --------------------------------------------------------------------------


def test_cherry_pick(sdk: lakefs_sdk.ApiClient, client: lakefs.Client, http: httpx.Client, repo: str) -> None:
    api = lakefs_sdk.BranchesApi(sdk)
    api.create_branch(repo, lakefs_sdk.BranchCreation(name="feature", source="main"))
    upload(sdk, repo, "feature", "a", b"a")
    picked = commit(sdk, repo, "feature", "add a")
    upload(sdk, repo, "feature", "b", b"b")
    commit(sdk, repo, "feature", "add b")
    before = head(sdk, repo, "main")

    created = lakefs.Repository(repo, client=client).branch("main").cherry_pick(picked)
    assert created.message == "add a"
    assert created.parents == [before]
    assert created.committer == "admin"
    # Where it came from, under lakeFS's keys.
    assert created.metadata == {"cherry-pick-origin": picked, "cherry-pick-committer": "admin"}
    assert head(sdk, repo, "main") == created.id
    assert read(sdk, repo, "main", "a") == b"a"
    assert not exists(sdk, repo, "main", "b")

    response = http.post(
        f"/repositories/{repo}/branches/main/cherry-pick",
        json={
            "ref": "feature",
            "commit_overrides": {"message": "picked b", "metadata": {"k": "v"}},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {
        "id",
        "parents",
        "committer",
        "message",
        "creation_date",
        "meta_range_id",
        "metadata",
        "generation",
        "version",
    }
    assert body["message"] == "picked b"
    assert body["metadata"] == {
        "k": "v",
        "cherry-pick-origin": head(sdk, repo, "feature"),
        "cherry-pick-committer": "admin",
    }
    assert body["parents"] == [created.id]
    assert body["id"] == head(sdk, repo, "main")
    commit_view = lakefs_sdk.CommitsApi(sdk).get_commit(repo, body["id"])
    assert commit_view.meta_range_id == body["meta_range_id"]
    assert read(sdk, repo, "main", "b") == b"b"


def test_cherry_pick_errors(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    merge_id = merge_feature(sdk, repo)
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="other", source="main~1"))
    url = f"/repositories/{repo}/branches/other/cherry-pick"
    assert_error(http.post(url, json={"ref": merge_id}), 400, "parent")
    assert_error(http.post(url, json={"ref": merge_id, "parent_number": 5}), 400, "parent")
    assert_error(http.post(url, json={"ref": "nope"}), 404)
    assert_error(http.post(url, json={}), 400, "ref")
    upload(sdk, repo, "other", "dirty", b"d")
    assert_error(http.post(url, json={"ref": merge_id, "parent_number": 1}), 400, "uncommitted")
    lakefs_sdk.BranchesApi(sdk).reset_branch(repo, "other", lakefs_sdk.ResetCreation(type="reset"))
    response = http.post(url, json={"ref": merge_id, "parent_number": 1})
    assert response.status_code == 201, response.text
    assert exists(sdk, repo, "other", "f")
    # the same change again changes nothing
    assert_error(http.post(url, json={"ref": merge_id, "parent_number": 1}), 400)

    upload(sdk, repo, "main", "clash", b"main")
    commit(sdk, repo, "main")
    upload(sdk, repo, "other", "clash", b"other")
    commit(sdk, repo, "other")
    assert_error(http.post(url, json={"ref": "main"}), 409)


# diff ---------------------------------------------------------------------------------


def test_diff_branch(sdk: lakefs_sdk.ApiClient, client: lakefs.Client, http: httpx.Client, repo: str) -> None:
    for path, data in (("dir/old", b"old"), ("dir/sub/gone", b"gone!"), ("top", b"t")):
        upload(sdk, repo, "main", path, data)
    commit(sdk, repo, "main")
    assert diff(http, repo, "main")["results"] == []

    upload(sdk, repo, "main", "dir/new", b"12345")
    upload(sdk, repo, "main", "dir/old", b"changed!")
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "dir/sub/gone")
    upload(sdk, repo, "main", "other/x", b"x")
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "top")
    upload(sdk, repo, "main", "temp", b"t")
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "temp")

    flat = diff(http, repo, "main")
    # A removed path reports size 0, as in lakeFS: the staging area holds only its
    # tombstone (committed diffs report the removed object's size).
    assert flat["results"] == [
        {"type": "added", "path": "dir/new", "path_type": "object", "size_bytes": 5},
        {"type": "changed", "path": "dir/old", "path_type": "object", "size_bytes": 8},
        {"type": "removed", "path": "dir/sub/gone", "path_type": "object", "size_bytes": 0},
        {"type": "added", "path": "other/x", "path_type": "object", "size_bytes": 1},
        {"type": "removed", "path": "top", "path_type": "object", "size_bytes": 0},
    ]
    assert flat["pagination"]["has_more"] is False

    folded = diff(http, repo, "main", delimiter="/")
    assert folded["results"] == [
        {"type": "prefix_changed", "path": "dir/", "path_type": "common_prefix"},
        {"type": "prefix_changed", "path": "other/", "path_type": "common_prefix"},
        {"type": "removed", "path": "top", "path_type": "object", "size_bytes": 0},
    ]
    inner = diff(http, repo, "main", delimiter="/", prefix="dir/")
    assert [(r["path"], r["path_type"]) for r in inner["results"]] == [
        ("dir/new", "object"),
        ("dir/old", "object"),
        ("dir/sub/", "common_prefix"),
    ]

    paged = list(diff_all(http, repo, "main", delimiter="/"))
    assert paged == folded["results"]
    assert list(diff_all(http, repo, "main")) == flat["results"]
    first = diff(http, repo, "main", amount=2)
    assert first["pagination"] == {
        "has_more": True,
        "next_offset": "dir/old",
        "results": 2,
        "max_per_page": 1000,
    }
    after_prefix = diff(http, repo, "main", delimiter="/", after="dir/")
    assert [r["path"] for r in after_prefix["results"]] == ["other/", "top"]

    changes = list(lakefs.Repository(repo, client=client).branch("main").uncommitted())
    assert [(c.type, c.path, c.size_bytes) for c in changes] == [
        (r["type"], r["path"], r["size_bytes"]) for r in flat["results"]
    ]
    assert ("removed", "top", 0) in [(c.type, c.path, c.size_bytes) for c in changes]
    lakefs_sdk_diff = lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main", delimiter="/")
    assert [d.path for d in lakefs_sdk_diff.results] == ["dir/", "other/", "top"]

    assert_error(http.get(f"/repositories/{repo}/branches/missing/diff"), 404)
    assert_error(http.get(f"/repositories/{repo}/branches/main/diff", params={"amount": "x"}), 400)


def test_hidden_branches_are_listed_only_on_request(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.BranchesApi(sdk)
    api.create_branch(repo, lakefs_sdk.BranchCreation(name="shy", source="main", hidden=True))
    assert [b.id for b in api.list_branches(repo).results] == ["main"]
    assert [b.id for b in api.list_branches(repo, show_hidden=True).results] == ["main", "shy"]
    # Still a branch in every other way, and still hidden after writes, commits and resets.
    upload(sdk, repo, "shy", "a.txt", b"a")
    commit(sdk, repo, "shy")
    upload(sdk, repo, "shy", "b.txt", b"b")
    api.reset_branch(repo, "shy", lakefs_sdk.ResetCreation(type="reset"))
    assert api.get_branch(repo, "shy").commit_id == head(sdk, repo, "shy")
    assert [b.id for b in api.list_branches(repo).results] == ["main"]
