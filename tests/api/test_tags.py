"""Tag operations through the lakeFS clients and plain HTTP."""

from __future__ import annotations

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, assert_error, head
from lakefs_sdk.exceptions import ApiException


def commit_file(sdk: lakefs_sdk.ApiClient, repo: str, path: str) -> str:
    conf = sdk.configuration
    client = lakefs.Client(host=conf.host, username=conf.username, password=conf.password)
    lakefs.Repository(repo, client=client).branch("main").object(path).upload(data=path.encode())
    created = lakefs_sdk.CommitsApi(sdk).commit(
        repo, "main", lakefs_sdk.CommitCreation(message=f"add {path}")
    )
    return str(created.id)


def test_create_get_list_delete_with_paging(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.TagsApi(sdk)
    main = head(sdk, repo, "main")
    names = [f"v{i}" for i in range(5)]
    for name in names:
        created = api.create_tag(repo, lakefs_sdk.TagCreation(id=name, ref="main"))
        assert (created.id, created.commit_id) == (name, main)
    fetched = api.get_tag(repo, "v2")
    assert (fetched.id, fetched.commit_id) == ("v2", main)

    everything = api.list_tags(repo)
    assert [r.id for r in everything.results] == names
    assert everything.pagination.has_more is False

    seen: list[str] = []
    after = ""
    while True:
        page = api.list_tags(repo, after=after, amount=2)
        assert len(page.results) <= 2
        seen.extend(r.id for r in page.results)
        if not page.pagination.has_more:
            break
        after = page.pagination.next_offset
        assert after == page.results[-1].id
    assert seen == names
    assert [r.id for r in api.list_tags(repo, prefix="v", after="v2").results] == ["v3", "v4"]
    assert api.list_tags(repo, prefix="w").results == []

    api.delete_tag(repo, "v0")
    with pytest.raises(ApiException) as err:
        api.get_tag(repo, "v0")
    assert err.value.status == 404
    assert [r.id for r in api.list_tags(repo).results] == names[1:]


def test_tag_refs_and_reading_through_tags(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.TagsApi(sdk)
    first = head(sdk, repo, "main")
    second = commit_file(sdk, repo, "a")
    third = commit_file(sdk, repo, "b")
    cases = {
        "at-commit": (second, second),
        "at-short": (first[:10], first),
        "at-ancestry": ("main~1", second),
        "at-branch": ("main", third),
    }
    for name, (ref, expected) in cases.items():
        assert api.create_tag(repo, lakefs_sdk.TagCreation(id=name, ref=ref)).commit_id == expected
    assert api.create_tag(repo, lakefs_sdk.TagCreation(id="of-tag", ref="at-ancestry")).commit_id == second
    # a tag resolves as a ref: reading through it sees its commit's objects
    lakefs_sdk.ObjectsApi(sdk).stat_object(repo, "at-commit", "a")
    with pytest.raises(ApiException) as err:
        lakefs_sdk.ObjectsApi(sdk).stat_object(repo, "at-commit", "b")
    assert err.value.status == 404


def test_tags_with_lakefs_wrapper(server: Server, repo: str) -> None:
    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    repository = lakefs.Repository(repo, client=client)
    tag = repository.tag("release").create("main")
    assert tag.get_commit().id == repository.branch("main").head.id
    same = repository.tag("release").create("main", exist_ok=True)
    assert same.id == "release"
    assert [t.id for t in repository.tags()] == ["release"]
    tag.delete()
    assert list(repository.tags()) == []


def test_tag_names_with_slashes(http: httpx.Client, repo: str) -> None:
    base = f"/repositories/{repo}/tags"
    created = http.post(base, json={"id": "release/2024.1", "ref": "main"})
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "release/2024.1"
    encoded = f"{base}/release%2F2024.1"
    assert http.get(encoded).json()["id"] == "release/2024.1"
    assert http.delete(encoded).status_code == 204
    assert_error(http.get(encoded), 404)


def test_tag_errors(http: httpx.Client, repo: str) -> None:
    base = f"/repositories/{repo}/tags"
    assert http.post(base, json={"id": "dup", "ref": "main"}).status_code == 201
    assert_error(http.post(base, json={"id": "dup", "ref": "main"}), 409, "dup")
    assert_error(http.post(base, json={"id": "main", "ref": "main"}), 409, "main")
    for bad in ("", "has space", "a..b", "x~1", "ends/", "@", "q?"):
        assert_error(http.post(base, json={"id": bad, "ref": "main"}), 400)
    assert_error(http.post(base, json={"id": "ok", "ref": "nope"}), 404)
    assert_error(http.post(base, json={"id": "ok", "ref": "main~9"}), 404)
    assert_error(http.post(base, json={"id": "ok"}), 400, "ref")
    assert_error(http.post(base, json={"ref": "main"}), 400, "id")
    assert_error(http.post(base, content=b"[]"), 400)
    assert_error(http.get(f"{base}/missing"), 404, "missing")
    assert_error(http.delete(f"{base}/missing"), 404)
    assert_error(http.get(base, params={"amount": "lots"}), 400)
    assert_error(http.get("/repositories/no-such-repo/tags"), 404)
    assert_error(http.post("/repositories/no-such-repo/tags", json={"id": "t", "ref": "main"}), 404)
    assert http.get(f"{base}/dup").json()["id"] == "dup"


def test_read_only_repository_needs_force(http: httpx.Client, read_only_repo: str) -> None:
    name = read_only_repo
    base = f"/repositories/{name}/tags"
    assert_error(http.post(base, json={"id": "t", "ref": "main"}), 403, "read-only")
    assert http.post(base, json={"id": "t", "ref": "main", "force": True}).status_code == 201
    assert_error(http.delete(f"{base}/t"), 403)
    assert http.delete(f"{base}/t", params={"force": "true"}).status_code == 204
