"""Read-only repositories: every kind of write is refused (403, "read-only repository" and
the repository's name) and leaves nothing written; ``force`` lets a write through where
lakeFS lets it, which is how such repositories are filled."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import Server, assert_error, repository_state, upload_url
from lakefs_sdk.exceptions import ApiException

REFUSAL = "read-only repository"


@dataclass
class Frozen:
    """A read-only repository filled with forced writes: committed objects and a staged one
    on ``main``, a branch ``dev`` one commit ahead, and a tag ``v1``."""

    server: Server
    http: httpx.Client
    name: str
    first_commit: str
    dev_metarange: str

    def url(self, tail: str = "", branch: str = "main") -> str:
        return f"/repositories/{self.name}/branches/{branch}{tail}"

    def state(self) -> dict[str, Any]:
        return repository_state(self.server, self.http, self.name)


def forced_upload(http: httpx.Client, repo: str, branch: str, path: str, data: bytes) -> None:
    response = http.post(upload_url(repo, branch), params={"path": path, "force": "true"}, content=data)
    assert response.status_code == 201, response.text


def forced_commit(http: httpx.Client, repo: str, branch: str, message: str) -> dict[str, Any]:
    response = http.post(
        f"/repositories/{repo}/branches/{branch}/commits", json={"message": message, "force": True}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture()
def frozen(server: Server, http: httpx.Client, read_only_repo: str) -> Frozen:
    repo = read_only_repo
    forced_upload(http, repo, "main", "a.txt", b"a")
    forced_upload(http, repo, "main", "dir/b.txt", b"b")
    first = forced_commit(http, repo, "main", "first")
    created = http.post(
        f"/repositories/{repo}/branches", json={"name": "dev", "source": "main", "force": True}
    )
    assert created.status_code == 201, created.text
    forced_upload(http, repo, "dev", "dev.txt", b"dev")
    dev = forced_commit(http, repo, "dev", "on dev")
    tagged = http.post(f"/repositories/{repo}/tags", json={"id": "v1", "ref": "main", "force": True})
    assert tagged.status_code == 201, tagged.text
    forced_upload(http, repo, "main", "staged.txt", b"staged")
    return Frozen(server, http, repo, first["id"], dev["meta_range_id"])


IMPORT_BODY = {
    "paths": [{"type": "common_prefix", "path": "s3://elsewhere/data/", "destination": "imported/"}],
    "commit": {"message": "import"},
}

#: Every kind of write to a read-only repository that needs no setup of its own.
WRITES: dict[str, Callable[[Frozen], httpx.Response]] = {
    "upload": lambda f: f.http.post(upload_url(f.name), params={"path": "new.txt"}, content=b"n"),
    "conditional upload": lambda f: f.http.post(
        upload_url(f.name), params={"path": "new.txt"}, content=b"n", headers={"If-None-Match": "*"}
    ),
    "delete": lambda f: f.http.delete(upload_url(f.name), params={"path": "a.txt"}),
    "delete of a missing object": lambda f: f.http.delete(upload_url(f.name), params={"path": "nope"}),
    "copy": lambda f: f.http.post(
        upload_url(f.name) + "/copy",
        params={"dest_path": "copy.txt"},
        json={"src_path": "dev.txt", "src_ref": "dev"},
    ),
    "user metadata": lambda f: f.http.put(
        upload_url(f.name) + "/stat/user_metadata", params={"path": "a.txt"}, json={"set": {"k": "v"}}
    ),
    "multipart upload": lambda f: f.http.post(f.url("/staging/pmpu"), params={"path": "big", "parts": 1}),
    "commit": lambda f: f.http.post(f.url("/commits"), json={"message": "m"}),
    "commit of a metarange": lambda f: f.http.post(
        f.url("/commits", "dev"), params={"source_metarange": f.dev_metarange}, json={"message": "m"}
    ),
    "merge": lambda f: f.http.post(f"/repositories/{f.name}/refs/dev/merge/main", json={}),
    "revert": lambda f: f.http.post(f.url("/revert", "dev"), json={"ref": "dev", "parent_number": 0}),
    "cherry-pick": lambda f: f.http.post(f.url("/cherry-pick"), json={"ref": "dev"}),
    "import": lambda f: f.http.post(f.url("/import"), json=IMPORT_BODY),
    "branch creation": lambda f: f.http.post(
        f"/repositories/{f.name}/branches", json={"name": "b", "source": "main"}
    ),
    "branch deletion": lambda f: f.http.delete(f.url(branch="dev")),
    "reset": lambda f: f.http.put(f.url(), json={"type": "reset"}),
    "reset of an object": lambda f: f.http.put(f.url(), json={"type": "object", "path": "staged.txt"}),
    "reset of a prefix": lambda f: f.http.put(f.url(), json={"type": "common_prefix", "path": "st"}),
    "hard reset": lambda f: f.http.put(f.url("/hard_reset"), params={"ref": f.first_commit}),
    "tag creation": lambda f: f.http.post(f"/repositories/{f.name}/tags", json={"id": "v2", "ref": "main"}),
    "tag deletion": lambda f: f.http.delete(f"/repositories/{f.name}/tags/v1"),
    "repository deletion": lambda f: f.http.delete(f"/repositories/{f.name}"),
    "branch protection rules": lambda f: f.http.put(
        f"/repositories/{f.name}/settings/branch_protection", json=[{"pattern": "main"}]
    ),
    "GC rules": lambda f: f.http.put(
        f"/repositories/{f.name}/settings/gc_rules", json={"default_retention_days": 1, "branches": []}
    ),
    "GC rules deletion": lambda f: f.http.delete(f"/repositories/{f.name}/settings/gc_rules"),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_writes_are_refused(frozen: Frozen, kind: str) -> None:
    before = frozen.state()
    assert_error(WRITES[kind](frozen), 403, REFUSAL, frozen.name)
    assert frozen.state() == before


def test_bulk_delete_refuses_each_path(frozen: Frozen) -> None:
    before = frozen.state()
    response = frozen.http.post(upload_url(frozen.name) + "/delete", json={"paths": ["a.txt", "nope"]})
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == ["a.txt", "nope"]
    for error in errors:
        assert error["status_code"] == 403
        assert REFUSAL in error["message"] and frozen.name in error["message"]
    assert frozen.state() == before


def test_direct_uploads_link_only_with_force(frozen: Frozen, client: lakefs.Client) -> None:
    """An address is handed out, as lakeFS does (a forced link is how bytes written
    straight to storage reach a read-only repository); linking it needs force."""
    http, repo = frozen.http, frozen.name
    location = http.get(frozen.url("/staging/backing"), params={"path": "linked.bin"})
    assert location.status_code == 200, location.text
    address = location.json()["physical_address"]
    data = b"direct bytes"
    frozen.server.write_object(address, data)
    before = frozen.state()
    link: dict[str, Any] = {
        "staging": {"physical_address": address},
        "checksum": hashlib.md5(data).hexdigest(),
        "size_bytes": len(data),
    }
    assert_error(
        http.put(frozen.url("/staging/backing"), params={"path": "linked.bin"}, json=link), 403, REFUSAL
    )
    # the wrapper's presigned upload stores its bytes, then its link is refused
    branch = lakefs.Repository(repo, client=client).branch("main")
    with pytest.raises((ApiException, lakefs.exceptions.ServerException)) as raised:
        branch.object("signed.bin").upload(data=b"signed", pre_sign=True)
    error = raised.value
    assert (error.status if isinstance(error, ApiException) else error.status_code) == 403
    after = frozen.state()
    del before["stored"], after["stored"]  # the presigned PUT's bytes are in storage, named by nothing
    assert after == before
    forced = http.put(
        frozen.url("/staging/backing"), params={"path": "linked.bin"}, json={**link, "force": True}
    )
    assert forced.status_code == 200, forced.text
    assert http.get(f"/repositories/{repo}/refs/main/objects", params={"path": "linked.bin"}).content == data


#: Writes that ``force`` lets into a read-only repository, as lakeFS does.
FORCED: dict[str, Callable[[Frozen], httpx.Response]] = {
    "delete": lambda f: f.http.delete(upload_url(f.name), params={"path": "a.txt", "force": "true"}),
    "bulk delete": lambda f: f.http.post(
        upload_url(f.name) + "/delete", params={"force": "true"}, json={"paths": ["a.txt"]}
    ),
    "copy": lambda f: f.http.post(
        upload_url(f.name) + "/copy",
        params={"dest_path": "copy.txt"},
        json={"src_path": "dev.txt", "src_ref": "dev", "force": True},
    ),
    "reset": lambda f: f.http.put(f.url(), json={"type": "reset", "force": True}),
    "hard reset": lambda f: f.http.put(f.url("/hard_reset"), params={"ref": f.first_commit, "force": "true"}),
    "merge": lambda f: f.http.post(f"/repositories/{f.name}/refs/main/merge/dev", json={"force": True}),
    "revert": lambda f: f.http.post(
        f.url("/revert", "dev"), json={"ref": "dev", "parent_number": 0, "force": True}
    ),
    "cherry-pick": lambda f: (
        f.http.post(f"/repositories/{f.name}/branches", json={"name": "pick", "source": "v1", "force": True}),
        f.http.post(f.url("/cherry-pick", "pick"), json={"ref": "dev", "force": True}),
    )[1],
    "branch deletion": lambda f: f.http.delete(f.url(branch="dev"), params={"force": "true"}),
    "tag deletion": lambda f: f.http.delete(f"/repositories/{f.name}/tags/v1", params={"force": "true"}),
}


@pytest.mark.parametrize("kind", list(FORCED))
def test_force_lets_writes_in(frozen: Frozen, kind: str) -> None:
    before = frozen.state()
    response = FORCED[kind](frozen)
    assert response.status_code < 300, response.text
    assert frozen.state() != before


def test_repository_metadata_is_not_data(http: httpx.Client, read_only_repo: str) -> None:
    """lakeFS changes a read-only repository's metadata (it takes no force): so does Limnos."""
    url = f"/repositories/{read_only_repo}/metadata"
    assert http.post(url, json={"metadata": {"owner": "data-team"}}).status_code == 204
    assert http.get(url).json() == {"owner": "data-team"}
    assert http.request("DELETE", url, json={"keys": ["owner"]}).status_code == 204
    assert http.get(url).json() == {}


def test_sdk_sees_the_refusals(sdk: lakefs_sdk.ApiClient, frozen: Frozen) -> None:
    repo = frozen.name
    before = frozen.state()
    for call in (
        lambda: lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="m")),
        lambda: lakefs_sdk.RefsApi(sdk).merge_into_branch(repo, "dev", "main"),
        lambda: lakefs_sdk.BranchesApi(sdk).create_branch(
            repo, lakefs_sdk.BranchCreation(name="x", source="main")
        ),
        lambda: lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="v9", ref="main")),
        lambda: lakefs_sdk.RepositoriesApi(sdk).delete_repository(repo),
    ):
        with pytest.raises(ApiException) as raised:
            call()
        assert raised.value.status == 403
        assert REFUSAL in str(raised.value.body)
    assert frozen.state() == before
