"""Branch protection: getBranchProtectionRules and setBranchProtectionRules through the
legacy ``lakefs_client`` (as its RepositoriesApi page shows them) and ``lakefs_sdk``, with
ETags and If-Match; the deprecated internal endpoints; and enforcement: every kind of
write to a protected branch is refused and leaves nothing written, while merges into it
land."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import lakefs
import lakefs_client
import lakefs_sdk
import pytest
from conftest import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    Server,
    assert_error,
    head,
    repository_state,
    status_of,
    upload,
    upload_url,
)
from lakefs_client.api import repositories_api
from lakefs_client.model.branch_protection_rule import BranchProtectionRule as LegacyRule
from lakefs_sdk.exceptions import ApiException
from lakefs_spec import LakeFSFileSystem

SETTINGS = "/repositories/{}/settings/branch_protection"
INTERNAL = "/repositories/{}/branch_protection"

WRITE = "cannot write to protected branch"
COMMIT = "cannot commit to protected branch"
DELETE = "cannot delete protected branch"


def rules(http: httpx.Client, repo: str) -> tuple[list[str], str]:
    """The patterns and the ETag, as the settings endpoint answers them."""
    response = http.get(SETTINGS.format(repo))
    assert response.status_code == 200, response.text
    return [rule["pattern"] for rule in response.json()], response.headers["etag"]


def protect(http: httpx.Client, repo: str, *patterns: str) -> None:
    response = http.put(SETTINGS.format(repo), json=[{"pattern": p} for p in patterns])
    assert response.status_code == 204, response.text


def missing_repo() -> str:
    return f"none-{uuid.uuid4().hex[:12]}"


# the seed's operations through the legacy client --------------------------------------------


def test_legacy_client_gets_and_sets_rules(
    legacy_repositories: repositories_api.RepositoriesApi, repo: str
) -> None:
    data, status, headers = legacy_repositories.get_branch_protection_rules(
        repo, _return_http_data_only=False
    )
    assert status == 200 and data == []
    # no rules yet: lakeFS's checksum of a setting not made is the empty string
    assert headers["ETag"] == ""
    # the seed's example body, unconditionally
    branch_protection_rule = [LegacyRule(pattern="stable_*")]
    assert legacy_repositories.set_branch_protection_rules(repo, branch_protection_rule) is None
    data, _, headers = legacy_repositories.get_branch_protection_rules(repo, _return_http_data_only=False)
    assert [rule.pattern for rule in data] == ["stable_*"]
    etag = headers["ETag"]
    assert etag
    # the seed's If-Match is no ETag of these rules: 412, and nothing changes
    replacement = [LegacyRule(pattern="main"), LegacyRule(pattern="release-?")]
    with pytest.raises(lakefs_client.ApiException) as raised:
        legacy_repositories.set_branch_protection_rules(repo, replacement, if_match="If-Match_example")
    assert raised.value.status == 412
    assert [rule.pattern for rule in legacy_repositories.get_branch_protection_rules(repo)] == ["stable_*"]
    # the current ETag lets the change through
    legacy_repositories.set_branch_protection_rules(repo, replacement, if_match=etag)
    data, _, headers = legacy_repositories.get_branch_protection_rules(repo, _return_http_data_only=False)
    assert [rule.pattern for rule in data] == ["main", "release-?"]
    assert headers["ETag"] not in ("", etag)


def test_legacy_client_status_codes(
    server: Server,
    legacy_repositories: repositories_api.RepositoriesApi,
    read_only_repo: str,
    repo: str,
    tmp_path: Path,
) -> None:
    body = [LegacyRule(pattern="stable_*")]
    missing = missing_repo()
    assert status_of(lambda: legacy_repositories.get_branch_protection_rules(missing)) == 404
    assert status_of(lambda: legacy_repositories.set_branch_protection_rules(missing, body)) == 404
    # a read-only repository refuses changes to its settings, as lakeFS does
    assert status_of(lambda: legacy_repositories.set_branch_protection_rules(read_only_repo, body)) == 403
    # a pattern lakeFS's matcher cannot compile
    with pytest.raises(lakefs_client.ApiException) as raised:
        legacy_repositories.set_branch_protection_rules(repo, [LegacyRule(pattern="stable_[")])
    assert raised.value.status == 400
    assert "stable_[" in raised.value.body
    configuration = server.legacy_configuration(tmp_path)
    configuration.password = "wrong-secret"
    with lakefs_client.ApiClient(configuration) as api_client:
        wrong = repositories_api.RepositoriesApi(api_client)
        assert status_of(lambda: wrong.get_branch_protection_rules(repo)) == 401
        assert status_of(lambda: wrong.set_branch_protection_rules(repo, body)) == 401
    assert legacy_repositories.get_branch_protection_rules(repo) == []
    assert legacy_repositories.get_branch_protection_rules(read_only_repo) == []


# lakefs_sdk ----------------------------------------------------------------------------------


def test_sdk_rules_with_etags(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    first = api.get_branch_protection_rules_with_http_info(repo)
    assert first.status_code == 200 and first.data == []
    assert first.headers["ETag"] == ""
    api.set_branch_protection_rules(repo, [lakefs_sdk.BranchProtectionRule(pattern="main")])
    second = api.get_branch_protection_rules_with_http_info(repo)
    assert [rule.pattern for rule in second.data] == ["main"]
    etag = second.headers["ETag"]
    both = [lakefs_sdk.BranchProtectionRule(pattern=p) for p in ("prod-*", "main")]
    api.set_branch_protection_rules(repo, both, if_match=etag)
    third = api.get_branch_protection_rules_with_http_info(repo)
    assert [rule.pattern for rule in third.data] == ["main", "prod-*"]
    # the old ETag no longer names the rules
    assert status_of(lambda: api.set_branch_protection_rules(repo, [], if_match=etag)) == 412
    api.set_branch_protection_rules(repo, [], if_match=third.headers["ETag"])
    assert api.get_branch_protection_rules(repo) == []


def test_sdk_status_codes(server: Server, sdk: lakefs_sdk.ApiClient, read_only_repo: str, repo: str) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    rule = [lakefs_sdk.BranchProtectionRule(pattern="main")]
    missing = missing_repo()
    assert status_of(lambda: api.get_branch_protection_rules(missing)) == 404
    assert status_of(lambda: api.set_branch_protection_rules(missing, rule)) == 404
    assert status_of(lambda: api.set_branch_protection_rules(read_only_repo, rule)) == 403
    bad = [lakefs_sdk.BranchProtectionRule(pattern="{main,prod")]
    assert status_of(lambda: api.set_branch_protection_rules(repo, bad)) == 400
    assert status_of(lambda: api.set_branch_protection_rules(repo, rule, if_match="no-such-etag")) == 412
    configuration = lakefs_sdk.Configuration(host=server.api, username=ACCESS_KEY_ID, password="wrong-secret")
    with lakefs_sdk.ApiClient(configuration) as client:
        stranger = lakefs_sdk.RepositoriesApi(client)
        assert status_of(lambda: stranger.get_branch_protection_rules(repo)) == 401
        assert status_of(lambda: stranger.set_branch_protection_rules(repo, rule)) == 401
    assert api.get_branch_protection_rules(repo) == []


# the wire: ETags, If-Match, bad input, internal endpoints -------------------------------------


def test_etag_versions_the_set_of_rules(http: httpx.Client, repo: str) -> None:
    protect(http, repo, "b", "a", "b")
    patterns, etag = rules(http, repo)
    assert patterns == ["a", "b"]  # each once, in order
    protect(http, repo, "a", "b")
    assert rules(http, repo) == (["a", "b"], etag)  # the same rules, the same ETag
    protect(http, repo, "a")
    assert rules(http, repo)[1] != etag
    protect(http, repo)
    assert rules(http, repo) == ([], "")


def test_if_match(http: httpx.Client, repo: str) -> None:
    url = SETTINGS.format(repo)
    body = [{"pattern": "main"}]
    # an empty If-Match names "no rules yet", as lakeFS's empty checksum does
    assert http.put(url, json=body, headers={"If-Match": ""}).status_code == 204
    _, etag = rules(http, repo)
    assert_error(http.put(url, json=[], headers={"If-Match": ""}), 412, "If-Match", repo)
    assert_error(http.put(url, json=[], headers={"If-Match": etag + "0"}), 412)
    assert rules(http, repo) == (["main"], etag)
    # a quoted ETag is the same ETag
    assert http.put(url, json=[{"pattern": "dev"}], headers={"If-Match": f'"{etag}"'}).status_code == 204
    assert rules(http, repo)[0] == ["dev"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([{"pattern": ""}], ["must not be empty"]),
        ([{"pattern": "main"}, {"pattern": "rel-[0-9"}], ["rel-[0-9", "not closed"]),
        ([{"pattern": "{a,b"}], ["{a,b", "not closed"]),
        ([{"pattern": "x[]"}], ["x[]", "empty"]),
        ([{"pattern": "v[9-0]"}], ["v[9-0]", "reversed"]),
        ([{}], ["pattern"]),
        ([{"pattern": 7}], ["pattern"]),
        ({"pattern": "main"}, ["request body has an error"]),
        (["main"], ["request body has an error"]),
    ],
)
def test_bad_rules_are_400(http: httpx.Client, repo: str, body: Any, words: list[str]) -> None:
    assert_error(http.put(SETTINGS.format(repo), json=body), 400, *words)
    assert rules(http, repo) == ([], "")


def test_malformed_or_missing_body_is_400(http: httpx.Client, repo: str) -> None:
    assert_error(http.put(SETTINGS.format(repo), content=b"[{"), 400, "JSON")
    assert_error(http.put(SETTINGS.format(repo)), 400, "body")
    assert_error(http.post(INTERNAL.format(repo)), 400, "body")
    assert_error(http.request("DELETE", INTERNAL.format(repo), json={}), 400, "pattern")
    assert rules(http, repo) == ([], "")


def test_internal_endpoints(http: httpx.Client, repo: str, read_only_repo: str) -> None:
    internal = INTERNAL.format(repo)
    assert http.get(internal).json() == []
    assert http.post(internal, json={"pattern": "main"}).status_code == 204
    assert http.post(internal, json={"pattern": "release-*"}).status_code == 204
    # adding a rule that is there already changes nothing, as in lakeFS
    _, etag = rules(http, repo)
    assert http.post(internal, json={"pattern": "main"}).status_code == 204
    assert rules(http, repo) == (["main", "release-*"], etag)
    listed = http.get(internal)
    assert listed.json() == [{"pattern": "main"}, {"pattern": "release-*"}]
    assert listed.headers["etag"] == etag
    assert_error(http.post(internal, json={"pattern": ""}), 400, "empty")
    assert http.request("DELETE", internal, json={"pattern": "main"}).status_code == 204
    assert_error(http.request("DELETE", internal, json={"pattern": "main"}), 404, "main", "not found")
    assert rules(http, repo)[0] == ["release-*"]
    assert http.get(f"{internal}/set_allowed").status_code == 204
    missing = missing_repo()
    assert_error(http.get(f"{INTERNAL.format(missing)}/set_allowed"), 404, missing)
    assert_error(http.post(INTERNAL.format(missing), json={"pattern": "x"}), 404)
    assert_error(
        http.post(INTERNAL.format(read_only_repo), json={"pattern": "x"}), 403, "read-only repository"
    )
    assert_error(
        http.request("DELETE", INTERNAL.format(read_only_repo), json={"pattern": "x"}),
        403,
        "read-only repository",
    )


def test_rules_belong_to_one_repository_instance(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    name = f"prot-{uuid.uuid4().hex[:12]}"
    creation = lakefs_sdk.RepositoryCreation(name=name, storage_namespace=server.namespace(name))
    api.create_repository(creation)
    protect(http, name, "main")
    api.delete_repository(name)
    api.create_repository(creation)
    assert rules(http, name) == ([], "")
    upload(sdk, name, "main", "free", b"free")  # the new repository's main is not protected


# enforcement ----------------------------------------------------------------------------------


@dataclass
class Protected:
    """A repository whose ``main`` and ``release-1`` are protected (patterns ``ma?n`` and
    ``release-*``), with committed objects, a staged change on main, a branch ``dev``
    ahead of it, and what existed before the rules were set."""

    server: Server
    http: httpx.Client
    sdk: lakefs_sdk.ApiClient
    name: str
    first_commit: str
    dev_commit: str
    dev_metarange: str

    def state(self) -> dict[str, Any]:
        """Everything a write could change (see ``repository_state``)."""
        return repository_state(self.server, self.http, self.name)


@pytest.fixture()
def protected(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> Protected:
    upload(sdk, repo, "main", "a.txt", b"a")
    upload(sdk, repo, "main", "dir/b.txt", b"b")
    commits = lakefs_sdk.CommitsApi(sdk)
    first = commits.commit(repo, "main", lakefs_sdk.CommitCreation(message="first")).id
    branches = lakefs_sdk.BranchesApi(sdk)
    for name in ("dev", "release-1"):
        branches.create_branch(repo, lakefs_sdk.BranchCreation(name=name, source="main"))
    upload(sdk, repo, "dev", "dev.txt", b"dev")
    dev = commits.commit(repo, "dev", lakefs_sdk.CommitCreation(message="on dev"))
    upload(sdk, repo, "main", "staged.txt", b"staged")
    protect(http, repo, "ma?n", "release-*")
    return Protected(server, http, sdk, repo, first, dev.id, dev.meta_range_id)


def branch_url(p: Protected, branch: str = "main") -> str:
    return f"/repositories/{p.name}/branches/{branch}"


IMPORT_BODY = {
    "paths": [{"type": "common_prefix", "path": "s3://elsewhere/data/", "destination": "imported/"}],
    "commit": {"message": "import"},
}

#: Every kind of write to a protected branch, and the refusal it gets.
REFUSED: dict[str, tuple[Callable[[Protected], httpx.Response], str]] = {
    "upload": (lambda p: p.http.post(upload_url(p.name), params={"path": "new.txt"}, content=b"n"), WRITE),
    "forced upload": (
        lambda p: p.http.post(upload_url(p.name), params={"path": "new.txt", "force": "true"}, content=b"n"),
        WRITE,
    ),
    "conditional upload": (
        lambda p: p.http.post(
            upload_url(p.name), params={"path": "new.txt"}, content=b"n", headers={"If-None-Match": "*"}
        ),
        WRITE,
    ),
    "delete": (lambda p: p.http.delete(upload_url(p.name), params={"path": "a.txt"}), WRITE),
    "delete of a missing object": (
        lambda p: p.http.delete(upload_url(p.name), params={"path": "nope"}),
        WRITE,
    ),
    "copy": (
        lambda p: p.http.post(
            upload_url(p.name) + "/copy",
            params={"dest_path": "copy.txt"},
            json={"src_path": "dev.txt", "src_ref": "dev"},
        ),
        WRITE,
    ),
    "user metadata": (
        lambda p: p.http.put(
            upload_url(p.name) + "/stat/user_metadata", params={"path": "a.txt"}, json={"set": {"k": "v"}}
        ),
        WRITE,
    ),
    "getPhysicalAddress": (
        lambda p: p.http.get(branch_url(p) + "/staging/backing", params={"path": "direct.bin"}),
        WRITE,
    ),
    "presigned getPhysicalAddress": (
        lambda p: p.http.get(
            branch_url(p) + "/staging/backing", params={"path": "direct.bin", "presign": "true"}
        ),
        WRITE,
    ),
    "multipart upload": (
        lambda p: p.http.post(branch_url(p) + "/staging/pmpu", params={"path": "big", "parts": 1}),
        WRITE,
    ),
    "reset": (lambda p: p.http.put(branch_url(p), json={"type": "reset"}), WRITE),
    "forced reset": (lambda p: p.http.put(branch_url(p), json={"type": "reset", "force": True}), WRITE),
    "reset of an object": (
        lambda p: p.http.put(branch_url(p), json={"type": "object", "path": "staged.txt"}),
        WRITE,
    ),
    "reset of a prefix": (
        lambda p: p.http.put(branch_url(p), json={"type": "common_prefix", "path": "st"}),
        WRITE,
    ),
    "hard reset": (
        lambda p: p.http.put(branch_url(p) + "/hard_reset", params={"ref": p.first_commit}),
        WRITE,
    ),
    "forced hard reset": (
        lambda p: p.http.put(branch_url(p) + "/hard_reset", params={"ref": p.first_commit, "force": "true"}),
        WRITE,
    ),
    "commit": (lambda p: p.http.post(branch_url(p) + "/commits", json={"message": "direct"}), COMMIT),
    "forced commit": (
        lambda p: p.http.post(branch_url(p) + "/commits", json={"message": "d", "force": True}),
        COMMIT,
    ),
    "commit of a metarange": (
        lambda p: p.http.post(
            branch_url(p, "release-1") + "/commits",
            params={"source_metarange": p.dev_metarange},
            json={"message": "metarange"},
        ),
        COMMIT,
    ),
    "revert": (
        lambda p: p.http.post(
            branch_url(p, "release-1") + "/revert", json={"ref": "release-1", "parent_number": 0}
        ),
        COMMIT,
    ),
    "cherry-pick": (
        lambda p: p.http.post(branch_url(p, "release-1") + "/cherry-pick", json={"ref": "dev"}),
        COMMIT,
    ),
    "import": (lambda p: p.http.post(branch_url(p) + "/import", json=IMPORT_BODY), COMMIT),
    "branch deletion": (lambda p: p.http.delete(branch_url(p, "release-1")), DELETE),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_writes_to_a_protected_branch_are_refused(protected: Protected, kind: str) -> None:
    write, refusal = REFUSED[kind]
    before = protected.state()
    assert_error(write(protected), 403, refusal, protected.name)
    assert protected.state() == before


def test_bulk_delete_refuses_each_path(protected: Protected) -> None:
    before = protected.state()
    response = protected.http.post(
        upload_url(protected.name) + "/delete", json={"paths": ["a.txt", "dir/b.txt"]}
    )
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == ["a.txt", "dir/b.txt"]
    for error in errors:
        assert error["status_code"] == 403 and WRITE in error["message"]
    assert protected.state() == before


def test_clients_are_refused(protected: Protected, client: lakefs.Client) -> None:
    """The official clients see the same refusals (403)."""
    sdk, repo = protected.sdk, protected.name
    before = protected.state()
    assert (
        status_of(
            lambda: lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="m"))
        )
        == 403
    )
    assert status_of(lambda: lakefs_sdk.ObjectsApi(sdk).delete_object(repo, "main", "a.txt")) == 403
    assert status_of(lambda: lakefs_sdk.BranchesApi(sdk).delete_branch(repo, "release-1")) == 403
    branch = lakefs.Repository(repo, client=client).branch("main")
    # the wrapper passes some refusals on as the SDK's exceptions, others as its own
    for pre_sign in (False, True):
        with pytest.raises((ApiException, lakefs.exceptions.ServerException)) as raised:
            branch.object("w.txt").upload(data=b"w", pre_sign=pre_sign)
        error = raised.value
        assert (error.status if isinstance(error, ApiException) else error.status_code) == 403
    assert protected.state() == before


def test_direct_uploads_handed_out_before_protection_cannot_land(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    """Addresses and multipart uploads handed out before a branch was protected: linking or
    completing them is refused, and so are presigned PUTs that Limnos serves itself."""
    upload(sdk, repo, "main", "a.txt", b"a")
    staging = lakefs_sdk.StagingApi(sdk)
    location = staging.get_physical_address(repo, "main", "linked.bin", presign=True)
    data = b"direct bytes"
    server.write_object(location.physical_address, data)
    spare = staging.get_physical_address(repo, "main", "spare.bin", presign=True)
    part = os.urandom(1024)
    multipart = lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(
        repo, "main", "big.bin", parts=1
    )
    put = httpx.put((multipart.presigned_urls or [""])[0], content=part, timeout=60)
    assert put.status_code == 200
    protect(http, repo, "main")
    before = {
        "objects": http.get(f"/repositories/{repo}/refs/main/objects/ls").json()["results"],
        "changes": http.get(f"/repositories/{repo}/branches/main/diff").json()["results"],
    }
    link = {
        "staging": {"physical_address": location.physical_address},
        "checksum": hashlib.md5(data).hexdigest(),
        "size_bytes": len(data),
    }
    linked = http.put(
        f"/repositories/{repo}/branches/main/staging/backing", params={"path": "linked.bin"}, json=link
    )
    assert_error(linked, 403, WRITE, repo)
    completion = {
        "physical_address": multipart.physical_address,
        "parts": [{"part_number": 1, "etag": put.headers["etag"]}],
    }
    completed = http.put(
        f"/repositories/{repo}/branches/main/staging/pmpu/{multipart.upload_id}",
        params={"path": "big.bin"},
        json=completion,
    )
    assert_error(completed, 403, WRITE, repo)
    if server.backend.blockstore_type == "local":
        # Limnos serves these URLs itself, so it refuses the bytes too; S3 takes them, and
        # they can never be linked.
        spare_put = httpx.put(spare.presigned_url or "", content=b"spare", timeout=60)
        assert_error(spare_put, 403, WRITE)
        assert spare.physical_address not in server.stored_uris(server.namespace(repo))
    after = {
        "objects": http.get(f"/repositories/{repo}/refs/main/objects/ls").json()["results"],
        "changes": http.get(f"/repositories/{repo}/branches/main/diff").json()["results"],
    }
    assert after == before
    # once the rule is gone, the address can still be linked
    protect(http, repo)
    assert (
        http.put(
            f"/repositories/{repo}/branches/main/staging/backing", params={"path": "linked.bin"}, json=link
        ).status_code
        == 200
    )


def test_merges_into_a_protected_branch_land(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    upload(sdk, repo, "main", "base.txt", b"base")
    lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="base"))
    branches = lakefs_sdk.BranchesApi(sdk)
    branches.create_branch(repo, lakefs_sdk.BranchCreation(name="feature", source="main"))
    upload(sdk, repo, "feature", "feature.txt", b"feature")
    lakefs_sdk.CommitsApi(sdk).commit(repo, "feature", lakefs_sdk.CommitCreation(message="feature"))
    protect(http, repo, "main")
    refs = lakefs_sdk.RefsApi(sdk)
    merged = refs.merge_into_branch(repo, "feature", "main")
    assert head(sdk, repo, "main") == merged.reference
    listed = http.get(f"/repositories/{repo}/refs/main/objects/ls").json()["results"]
    assert [o["path"] for o in listed] == ["base.txt", "feature.txt"]
    # a squash merge is a merge too
    upload(sdk, repo, "feature", "more.txt", b"more")
    lakefs_sdk.CommitsApi(sdk).commit(repo, "feature", lakefs_sdk.CommitCreation(message="more"))
    squashed = refs.merge_into_branch(repo, "feature", "main", merge=lakefs_sdk.Merge(squash_merge=True))
    assert head(sdk, repo, "main") == squashed.reference
    # a new branch matching a rule may be created, and is then protected
    protect(http, repo, "main", "release-*")
    branches.create_branch(repo, lakefs_sdk.BranchCreation(name="release-2", source="main"))
    assert head(sdk, repo, "release-2") == squashed.reference
    assert_error(http.post(upload_url(repo, "release-2"), params={"path": "x"}, content=b"x"), 403, WRITE)
    # branches matching no rule take writes
    upload(sdk, repo, "feature", "free.txt", b"free")


def test_patterns_are_lakefs_globs(http: httpx.Client, sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    branches = lakefs_sdk.BranchesApi(sdk)
    names = ["main", "prod", "rel-1", "rel-12", "rel-x", "hotfix_a", "feature"]
    for name in names[1:]:
        branches.create_branch(repo, lakefs_sdk.BranchCreation(name=name, source="main"))
    protect(http, repo, "{main,prod}", "rel-[0-9]", "hotfix?[!b]")
    refused = {
        name
        for name in names
        if http.post(upload_url(repo, name), params={"path": "x"}, content=b"x").status_code == 403
    }
    assert refused == {"main", "prod", "rel-1", "hotfix_a"}


# lakefs-spec ----------------------------------------------------------------------------------


def test_lakefs_spec_raises_permission_error(protected: Protected, tmp_path: Path) -> None:
    fs = LakeFSFileSystem(
        host=protected.server.url,
        username=ACCESS_KEY_ID,
        password=SECRET_ACCESS_KEY,
        skip_instance_cache=True,
        use_listings_cache=False,
        create_branch_ok=False,
    )
    before = protected.state()
    local = tmp_path / "local.txt"
    local.write_bytes(b"local")
    with pytest.raises(PermissionError):
        fs.put_file(str(local), f"{protected.name}/main/put.txt")
    with pytest.raises(PermissionError), fs.open(f"{protected.name}/main/opened.txt", "wb") as handle:
        handle.write(b"opened")
    assert protected.state() == before
    # the same file system writes to a branch that is not protected
    fs.put_file(str(local), f"{protected.name}/dev/put.txt")
    assert fs.cat(f"{protected.name}/dev/put.txt") == b"local"
