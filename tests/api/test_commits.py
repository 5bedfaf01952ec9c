"""Commits: create, read and walk the log, through the lakeFS clients and plain HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import Server, assert_error, head, upload
from lakefs_sdk.exceptions import ApiException


def commit(
    sdk: lakefs_sdk.ApiClient, repo: str, branch: str, message: str = "change", **fields: object
) -> lakefs_sdk.Commit:
    return lakefs_sdk.CommitsApi(sdk).commit(
        repo, branch, lakefs_sdk.CommitCreation(message=message, **fields)
    )


def branch(sdk: lakefs_sdk.ApiClient, repo: str, name: str, source: str = "main") -> None:
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name=name, source=source))


def log_ids(sdk: lakefs_sdk.ApiClient, repo: str, ref: str, **params: object) -> list[str]:
    page = lakefs_sdk.RefsApi(sdk).log_commits(repo, ref, **params)
    return [c.id for c in page.results]


def linear_history(sdk: lakefs_sdk.ApiClient, repo: str, count: int) -> list[str]:
    """``count`` commits on main, each adding ``file-<i>``; their ids, newest first."""
    ids = []
    for i in range(count):
        upload(sdk, repo, "main", f"file-{i}", f"data {i}".encode())
        ids.append(commit(sdk, repo, "main", f"commit {i}").id)
    return ids[::-1]


# -- commit -----------------------------------------------------------------------------


def test_commit_records_message_metadata_date_and_committer(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    parent = head(sdk, repo, "main")
    upload(sdk, repo, "main", "a.txt", b"hello")
    created = commit(sdk, repo, "main", "first data", metadata={"k": "v", "x": "y"}, date=1_700_000_000)
    assert created.message == "first data"
    assert created.metadata == {"k": "v", "x": "y"}
    assert created.creation_date == 1_700_000_000
    assert created.committer == "admin"
    assert created.parents == [parent]
    assert created.generation == 2
    assert created.version == 1
    assert len(created.id) == 64 and len(created.meta_range_id) == 64
    assert head(sdk, repo, "main") == created.id
    fetched = lakefs_sdk.CommitsApi(sdk).get_commit(repo, created.id)
    assert fetched == created


def test_commit_without_changes_is_refused_unless_allowed(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    before = head(sdk, repo, "main")
    response = http.post(f"/repositories/{repo}/branches/main/commits", json={"message": "nothing"})
    assert_error(response, 400)
    assert head(sdk, repo, "main") == before
    empty = commit(sdk, repo, "main", "empty on purpose", allow_empty=True)
    assert empty.parents == [before]
    parent = lakefs_sdk.CommitsApi(sdk).get_commit(repo, before)
    assert empty.meta_range_id == parent.meta_range_id


def test_commit_bad_requests(http: httpx.Client, repo: str) -> None:
    url = f"/repositories/{repo}/branches/main/commits"
    assert_error(http.post(url, content=b"{not json"), 400)
    assert_error(http.post(url, json={"metadata": {"a": "b"}}), 400)
    assert_error(http.post(url, json={"message": "m", "metadata": {"a": 1}}), 400)
    assert_error(http.post(url, json={"message": "m", "date": "yesterday"}), 400)
    assert_error(http.post(url, json={"message": "m", "date": 10**30, "allow_empty": True}), 400)
    assert_error(http.post(f"/repositories/{repo}/branches/nope/commits", json={"message": "m"}), 404)
    assert_error(http.post(f"/repositories/{repo}/branches/main~1/commits", json={"message": "m"}), 404)
    assert_error(http.post("/repositories/no-such-repo/branches/main/commits", json={"message": "m"}), 404)


def test_commit_through_the_lakefs_wrapper(client: lakefs.Client, repo: str) -> None:
    main = lakefs.Repository(repo, client=client).branch("main")
    main.object("data/one.csv").upload(data=b"a,b\n1,2\n")
    ref = main.commit(message="add csv", metadata={"source": "test"})
    got = ref.get_commit()
    assert got.message == "add csv"
    assert got.metadata == {"source": "test"}
    assert main.get_commit().id == got.id
    with pytest.raises(lakefs.exceptions.BadRequestException):
        main.commit(message="again, nothing")


def test_commit_into_read_only_repository_needs_force(http: httpx.Client, read_only_repo: str) -> None:
    name = read_only_repo
    url = f"/repositories/{name}/branches/main/commits"
    assert_error(http.post(url, json={"message": "m", "allow_empty": True}), 403, "read-only")
    forced = http.post(url, json={"message": "m", "allow_empty": True, "force": True})
    assert forced.status_code == 201, forced.text
    assert forced.json()["message"] == "m"


def test_commit_source_metarange(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    branch(sdk, repo, "feature")
    upload(sdk, repo, "feature", "f.txt", b"feature data")
    tree = commit(sdk, repo, "feature", "on feature").meta_range_id
    main_head = head(sdk, repo, "main")

    created = lakefs_sdk.CommitsApi(sdk).commit(
        repo, "main", lakefs_sdk.CommitCreation(message="adopt tree"), source_metarange=tree
    )
    assert created.meta_range_id == tree
    assert created.parents == [main_head]
    stat = lakefs_sdk.ObjectsApi(sdk).stat_object(repo, "main", "f.txt")
    assert stat.size_bytes == len(b"feature data")

    url = f"/repositories/{repo}/branches/main/commits"
    missing = "0" * 64
    assert_error(http.post(url, params={"source_metarange": missing}, json={"message": "m"}), 400, missing)
    assert_error(http.post(url, params={"source_metarange": "../../etc"}, json={"message": "m"}), 400)
    # Same tree again: nothing changes unless allowed.
    assert_error(http.post(url, params={"source_metarange": tree}, json={"message": "m"}), 400)
    # A branch with staged changes cannot take a whole tree.
    upload(sdk, repo, "main", "dirty.txt", b"x")
    assert_error(
        http.post(url, params={"source_metarange": tree}, json={"message": "m", "allow_empty": True}), 400
    )


def test_metarange_of_another_repository_is_refused(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    # Load the other repository's tree into the server's caches first: only what is
    # stored in this repository's own namespace may be named.
    other = f"other-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=other, storage_namespace=server.namespace(other))
    )
    upload(sdk, other, "main", "theirs.txt", b"not yours")
    tree = commit(sdk, other, "main", "theirs").meta_range_id
    assert http.get(f"/repositories/{other}/metadata/meta_range/{tree}").status_code == 200
    lakefs_sdk.ObjectsApi(sdk).stat_object(other, "main", "theirs.txt")

    assert_error(http.get(f"/repositories/{repo}/metadata/meta_range/{tree}"), 404, tree)
    url = f"/repositories/{repo}/branches/main/commits"
    assert_error(http.post(url, params={"source_metarange": tree}, json={"message": "m"}), 400, tree)
    assert log_ids(sdk, repo, "main") == [head(sdk, repo, "main")]


# -- getCommit ----------------------------------------------------------------------------


def test_get_commit_by_any_ref(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    first, second = linear_history(sdk, repo, 2)[::-1]
    api = lakefs_sdk.CommitsApi(sdk)
    assert api.get_commit(repo, second).id == second
    assert api.get_commit(repo, second[:12]).id == second
    # Any unique prefix names a commit, down to one digit, as in lakeFS.
    others = [c for c in log_ids(sdk, repo, "main") if c != second]
    unique = next(n for n in range(1, 65) if not any(c.startswith(second[:n]) for c in others))
    assert api.get_commit(repo, second[:unique]).id == second
    assert api.get_commit(repo, "main").id == second
    assert api.get_commit(repo, "main~1").id == first
    assert api.get_commit(repo, f"{second}^1").id == first
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="release/1.0", ref=first))
    assert api.get_commit(repo, "release/1.0").id == first
    assert_error(http.get(f"/repositories/{repo}/commits/{'f' * 64}"), 404)
    assert_error(http.get(f"/repositories/{repo}/commits/no-such-ref"), 404)
    assert_error(http.get(f"/repositories/{repo}/commits/main~99"), 404)
    assert_error(http.get("/repositories/no-such-repo/commits/main"), 404)


# -- logCommits ---------------------------------------------------------------------------


def test_log_pages_with_after_and_amount(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    ids = linear_history(sdk, repo, 5)
    everything = log_ids(sdk, repo, "main")
    assert everything[:5] == ids and len(everything) == 6
    pages: list[str] = []
    after = ""
    while True:
        page = http.get(f"/repositories/{repo}/refs/main/commits", params={"amount": 2, "after": after})
        assert page.status_code == 200, page.text
        body = page.json()
        pages.extend(c["id"] for c in body["results"])
        assert body["pagination"]["results"] == len(body["results"])
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_offset"] == ""
            break
        assert body["pagination"]["next_offset"] == body["results"][-1]["id"]
        after = body["pagination"]["next_offset"]
    assert pages == everything
    assert log_ids(sdk, repo, ids[2]) == everything[2:]


def test_log_through_the_lakefs_wrapper(client: lakefs.Client, sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    ids = linear_history(sdk, repo, 3)
    main = lakefs.Repository(repo, client=client).branch("main")
    logged = [c.id for c in main.log(amount=1)]
    assert logged[:3] == ids and len(logged) == 4
    assert [c.id for c in main.log(max_amount=2)] == ids[:2]


def test_log_limit_stops_after_amount(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    ids = linear_history(sdk, repo, 3)
    page = lakefs_sdk.RefsApi(sdk).log_commits(repo, "main", amount=2, limit=True)
    assert [c.id for c in page.results] == ids[:2]
    assert page.pagination.has_more is False
    unlimited = lakefs_sdk.RefsApi(sdk).log_commits(repo, "main", amount=2)
    assert unlimited.pagination.has_more is True


def test_log_filters_by_objects_and_prefixes(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    upload(sdk, repo, "main", "a/1.txt", b"1")
    c1 = commit(sdk, repo, "main", "a1").id
    upload(sdk, repo, "main", "b/1.txt", b"1")
    c2 = commit(sdk, repo, "main", "b1").id
    upload(sdk, repo, "main", "a/1.txt", b"changed")
    upload(sdk, repo, "main", "a/2.txt", b"2")
    c3 = commit(sdk, repo, "main", "a1 again, a2").id
    lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "b/1.txt")
    c4 = commit(sdk, repo, "main", "drop b1").id

    assert log_ids(sdk, repo, "main", objects=["a/1.txt"]) == [c3, c1]
    assert log_ids(sdk, repo, "main", objects=["a/2.txt"]) == [c3]
    assert log_ids(sdk, repo, "main", objects=["b/1.txt"]) == [c4, c2]
    assert log_ids(sdk, repo, "main", prefixes=["b/"]) == [c4, c2]
    assert log_ids(sdk, repo, "main", prefixes=["a/"]) == [c3, c1]
    assert log_ids(sdk, repo, "main", objects=["a/2.txt"], prefixes=["b/"]) == [c4, c3, c2]
    assert log_ids(sdk, repo, "main", objects=["nothing/here"]) == []
    # Paging over a filtered log.
    page = lakefs_sdk.RefsApi(sdk).log_commits(repo, "main", prefixes=["a/", "b/"], amount=3)
    assert [c.id for c in page.results] == [c4, c3, c2]
    assert page.pagination.has_more is True
    rest = lakefs_sdk.RefsApi(sdk).log_commits(
        repo, "main", prefixes=["a/", "b/"], amount=3, after=page.pagination.next_offset
    )
    assert [c.id for c in rest.results] == [c1]
    assert rest.pagination.has_more is False
    # The repeated query parameter form, as sent by any HTTP client.
    raw = http.get(
        f"/repositories/{repo}/refs/main/commits", params=[("objects", "a/2.txt"), ("objects", "b/1.txt")]
    )
    assert [c["id"] for c in raw.json()["results"]] == [c4, c3, c2]


def test_log_first_parent_skips_merged_history(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    branch(sdk, repo, "side")
    upload(sdk, repo, "side", "side.txt", b"s")
    side = commit(sdk, repo, "side", "on side").id
    upload(sdk, repo, "main", "main.txt", b"m")
    on_main = commit(sdk, repo, "main", "on main").id
    merged = lakefs_sdk.RefsApi(sdk).merge_into_branch(repo, "side", "main").reference
    full = log_ids(sdk, repo, "main")
    assert full[0] == merged and set(full[1:3]) == {side, on_main}
    first_parent = log_ids(sdk, repo, "main", first_parent=True)
    assert first_parent[:2] == [merged, on_main] and side not in first_parent
    # A merge commit touches no path of its own in a filtered log.
    assert log_ids(sdk, repo, "main", objects=["side.txt"]) == [side]


def test_log_since_and_stop_at(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    dated = []
    for i, date in enumerate((1000, 2000, 3000)):
        upload(sdk, repo, "main", f"f{i}", b"x")
        dated.append(commit(sdk, repo, "main", f"c{i}", date=date).id)
    since = datetime.fromtimestamp(2000, UTC)
    # The root commit (dated now) is reachable only through the dropped, older commit.
    assert log_ids(sdk, repo, "main", since=since) == [dated[2], dated[1]]
    raw = http.get(f"/repositories/{repo}/refs/main/commits", params={"since": "1970-01-01T00:50:00Z"})
    assert [c["id"] for c in raw.json()["results"]] == [dated[2]]
    assert_error(http.get(f"/repositories/{repo}/refs/main/commits", params={"since": "soon"}), 400)

    assert log_ids(sdk, repo, "main", stop_at=dated[1]) == [dated[2], dated[1]]
    assert log_ids(sdk, repo, "main", stop_at="main~2") == dated[::-1]
    page = lakefs_sdk.RefsApi(sdk).log_commits(repo, "main", stop_at=dated[0], amount=2)
    assert page.pagination.has_more is True
    assert_error(http.get(f"/repositories/{repo}/refs/main/commits", params={"stop_at": "nope"}), 404)


def test_log_errors(http: httpx.Client, repo: str) -> None:
    url = f"/repositories/{repo}/refs/main/commits"
    assert_error(http.get(f"/repositories/{repo}/refs/no-such-branch/commits"), 404)
    assert_error(http.get("/repositories/no-such-repo/refs/main/commits"), 404)
    assert_error(http.get(url, params={"amount": "many"}), 400)
    assert_error(http.get(url, params={"limit": "maybe"}), 400)


def test_log_of_a_tag_with_a_slash(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    ids = linear_history(sdk, repo, 2)
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="v/1", ref=ids[1]))
    assert log_ids(sdk, repo, "v/1")[0] == ids[1]
    with pytest.raises(ApiException) as err:
        log_ids(sdk, repo, "v/2")
    assert err.value.status == 404
