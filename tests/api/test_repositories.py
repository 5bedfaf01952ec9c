"""Repositories, repository metadata, authentication and server configuration."""

from __future__ import annotations

import uuid

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, assert_error
from lakefs_sdk.exceptions import ApiException


def unique(prefix: str = "repo") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(
    http: httpx.Client, name: str, namespace: str, *, bare: bool = False, **fields: object
) -> httpx.Response:
    body = {"name": name, "storage_namespace": namespace, **fields}
    return http.post("/repositories", json=body, params={"bare": "true"} if bare else {})


# -- create / get / delete ----------------------------------------------------------------


def test_create_get_and_delete(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client) -> None:
    name = unique()
    api = lakefs_sdk.RepositoriesApi(sdk)
    created = api.create_repository(
        lakefs_sdk.RepositoryCreation(
            name=name, storage_namespace=server.namespace(name), default_branch="trunk"
        )
    )
    assert created.id == name
    assert created.default_branch == "trunk"
    assert created.storage_namespace == server.namespace(name)
    assert created.read_only is False
    assert created.creation_date > 0
    assert api.get_repository(name) == created
    trunk = lakefs_sdk.BranchesApi(sdk).get_branch(name, "trunk")
    log = lakefs_sdk.RefsApi(sdk).log_commits(name, "trunk").results
    assert [c.id for c in log] == [trunk.commit_id]
    assert log[0].committer == "admin" and log[0].parents == []

    api.delete_repository(name)
    assert_error(http.get(f"/repositories/{name}"), 404, name)
    assert_error(http.delete(f"/repositories/{name}"), 404)
    assert_error(http.get(f"/repositories/{name}/refs/trunk/commits"), 404)


def test_delete_read_only_repository_needs_force(http: httpx.Client, read_only_repo: str) -> None:
    url = f"/repositories/{read_only_repo}"
    assert_error(http.delete(url), 403, "read-only")
    assert_error(http.delete(url, params={"force": "maybe"}), 400, "force")
    assert http.get(url).status_code == 200
    assert http.delete(url, params={"force": "true"}).status_code == 204
    assert_error(http.get(url), 404)


def test_create_flags(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client) -> None:
    sample = unique("sample")
    assert create(http, sample, server.namespace(sample), sample_data=True).status_code == 201
    log = lakefs_sdk.RefsApi(sdk).log_commits(sample, "main").results
    assert len(log) == 2
    listing = lakefs_sdk.ObjectsApi(sdk).list_objects(sample, "main", amount=1000).results
    assert listing, "sample data holds objects"

    bare = unique("bare")
    response = create(http, bare, server.namespace(bare), bare=True)
    assert response.status_code == 201, response.text
    assert lakefs_sdk.BranchesApi(sdk).list_branches(bare).results == []
    assert_error(http.get(f"/repositories/{bare}/branches/main"), 404)

    read_only = unique("ro")
    response = create(http, read_only, server.namespace(read_only), read_only=True)
    assert response.status_code == 201, response.text
    assert response.json()["read_only"] is True
    assert lakefs_sdk.RepositoriesApi(sdk).get_repository(read_only).read_only is True


def test_create_refusals(server: Server, http: httpx.Client, repo: str) -> None:
    for bad in ("A-Upper", "no", "-leading", "under_score", "x" * 64, "sp ace"):
        assert_error(create(http, bad, server.namespace(unique())), 400)
    name = unique()
    assert_error(create(http, name, server.backend.foreign_namespace(name)), 400)
    assert_error(create(http, name, "no-scheme-at-all"), 400)
    assert_error(create(http, name, server.namespace(repo)), 400, "in use")
    elsewhere = create(http, name, server.namespace(name), storage_id="elsewhere")
    assert_error(elsewhere, 400, "storage id", "elsewhere")
    assert http.get(f"/repositories/{name}").status_code == 404
    assert_error(create(http, repo, server.namespace(unique())), 409, repo)
    assert_error(create(http, name, server.namespace(name), default_branch="bad branch!"), 400)
    assert_error(http.post("/repositories", content=b"{"), 400)
    assert_error(http.post("/repositories", json={"name": name}), 400)
    assert_error(http.post("/repositories", json={"name": 5, "storage_namespace": "local://x"}), 400)
    # None of the refused attempts left anything behind.
    assert create(http, name, server.namespace(name)).status_code == 201


def test_namespace_is_free_again_after_delete(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    first = unique()
    assert create(http, first, server.namespace(first)).status_code == 201
    second = unique()
    assert_error(create(http, second, server.namespace(first)), 400)
    lakefs_sdk.RepositoriesApi(sdk).delete_repository(first)
    assert create(http, second, server.namespace(first)).status_code == 201


def test_create_through_the_lakefs_wrapper(server: Server, client: lakefs.Client) -> None:
    name = unique()
    repo = lakefs.Repository(name, client=client).create(
        storage_namespace=server.namespace(name), default_branch="main", exist_ok=False
    )
    assert repo.properties.id == name
    again = lakefs.Repository(name, client=client).create(
        storage_namespace=server.namespace(name), exist_ok=True
    )
    assert again.properties.storage_namespace == server.namespace(name)
    with pytest.raises(lakefs.exceptions.ConflictException):
        lakefs.Repository(name, client=client).create(storage_namespace=server.namespace(unique()))
    assert name in [r.id for r in lakefs.repositories(client=client, prefix=name)]
    repo.delete()
    with pytest.raises(lakefs.exceptions.NotFoundException):
        _ = lakefs.Repository(name, client=client).properties


# -- list ---------------------------------------------------------------------------------


def test_list_with_prefix_after_and_amount(server: Server, http: httpx.Client) -> None:
    group = f"list-{uuid.uuid4().hex[:8]}"
    names = sorted(f"{group}-{i}" for i in range(5))
    for name in names:
        assert create(http, name, server.namespace(name)).status_code == 201
    listed = http.get("/repositories", params={"prefix": group}).json()
    assert [r["id"] for r in listed["results"]] == names
    assert listed["pagination"]["has_more"] is False

    seen: list[str] = []
    after = ""
    while True:
        page = http.get("/repositories", params={"prefix": group, "amount": 2, "after": after}).json()
        seen.extend(r["id"] for r in page["results"])
        assert page["pagination"]["results"] == len(page["results"]) <= 2
        if not page["pagination"]["has_more"]:
            break
        after = page["pagination"]["next_offset"]
        assert after == seen[-1]
    assert seen == names
    rest = http.get("/repositories", params={"prefix": group, "after": names[2]}).json()
    assert [r["id"] for r in rest["results"]] == names[3:]


# -- metadata -----------------------------------------------------------------------------


def test_repository_metadata(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, client: lakefs.Client, repo: str
) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    assert api.get_repository_metadata(repo) == {}
    internal = lakefs_sdk.InternalApi(sdk)
    internal.set_repository_metadata(repo, lakefs_sdk.RepositoryMetadataSet(metadata={"a": "1", "b": "2"}))
    internal.set_repository_metadata(repo, lakefs_sdk.RepositoryMetadataSet(metadata={"b": "3", "c": "4"}))
    assert api.get_repository_metadata(repo) == {"a": "1", "b": "3", "c": "4"}
    internal.delete_repository_metadata(repo, lakefs_sdk.RepositoryMetadataKeys(keys=["a", "missing"]))
    assert api.get_repository_metadata(repo) == {"b": "3", "c": "4"}
    assert lakefs.Repository(repo, client=client).metadata == {"b": "3", "c": "4"}

    url = f"/repositories/{repo}/metadata"
    assert_error(http.post(url, json={"metadata": {"a": 1}}), 400)
    assert_error(http.post(url, json={}), 400)
    assert_error(http.request("DELETE", url, json={"keys": "a"}), 400)
    assert_error(http.request("DELETE", url), 400)
    assert_error(http.get("/repositories/no-such-repo/metadata"), 404)
    assert_error(http.post("/repositories/no-such-repo/metadata", json={"metadata": {}}), 404)
    assert_error(http.request("DELETE", "/repositories/no-such-repo/metadata", json={"keys": []}), 404)


# -- authentication -----------------------------------------------------------------------


def test_requests_without_or_with_wrong_credentials_are_401(server: Server, repo: str) -> None:
    wrong_secret = (ACCESS_KEY_ID, "not-the-secret")
    unknown_key = ("AKIANOSUCHKEY0000000", SECRET_ACCESS_KEY)
    calls = [
        ("GET", "/repositories", None),
        ("POST", "/repositories", {"name": "x-repo", "storage_namespace": "local://x-repo"}),
        ("GET", f"/repositories/{repo}", None),
        ("DELETE", f"/repositories/{repo}", None),
        ("POST", f"/repositories/{repo}/branches/main/commits", {"message": "m", "allow_empty": True}),
        ("GET", f"/repositories/{repo}/refs/main/commits", None),
        ("GET", f"/repositories/{repo}/refs/main/diff/main", None),
        ("POST", f"/repositories/{repo}/refs/main/merge/main", {}),
        ("GET", f"/repositories/{repo}/metadata", None),
        ("GET", "/user", None),
        ("GET", "/config", None),
    ]
    for auth in (None, wrong_secret, unknown_key):
        with httpx.Client(base_url=server.api, auth=auth, timeout=30) as anonymous:
            for method, path, body in calls:
                response = anonymous.request(method, path, json=body)
                assert_error(response, 401)
    with httpx.Client(base_url=server.api, timeout=30) as anonymous:
        garbled = anonymous.get("/repositories", headers={"Authorization": "Basic !!!"})
        assert_error(garbled, 401)
        bearer = anonymous.get("/repositories", headers={"Authorization": "Bearer not.a.token"})
        assert_error(bearer, 401)
    with httpx.Client(base_url=server.api, timeout=30, cookies={"internal_auth_session": "junk"}) as junk:
        assert_error(junk.get("/repositories"), 401)
    # The repository survived every refused call.
    with server.http() as admin:
        assert admin.get(f"/repositories/{repo}").status_code == 200
        assert admin.get("/repositories", params={"prefix": "x-repo"}).json()["results"] == []


def test_public_operations_answer_without_credentials(server: Server) -> None:
    with httpx.Client(base_url=server.api, timeout=30) as anonymous:
        assert anonymous.get("/healthcheck").status_code == 204
        setup = anonymous.get("/setup_lakefs")
        assert setup.status_code == 200
        assert setup.json()["state"] == "initialized"


def test_login_token_works_as_bearer_and_cookie(server: Server) -> None:
    with httpx.Client(base_url=server.api, timeout=30) as anonymous:
        refused = anonymous.post(
            "/auth/login", json={"access_key_id": ACCESS_KEY_ID, "secret_access_key": "wrong"}
        )
        assert_error(refused, 401)
        login = anonymous.post(
            "/auth/login", json={"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY}
        )
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        assert login.json()["token_expiration"] > 0
    with httpx.Client(base_url=server.api, timeout=30) as fresh:
        by_bearer = fresh.get("/user", headers={"Authorization": f"Bearer {token}"})
        assert by_bearer.status_code == 200, by_bearer.text
        assert by_bearer.json()["user"]["id"] == "admin"
    with httpx.Client(base_url=server.api, timeout=30, cookies={"internal_auth_session": token}) as browser:
        by_cookie = browser.get("/repositories")
        assert by_cookie.status_code == 200, by_cookie.text
    configuration = lakefs_sdk.Configuration(host=server.api, access_token=token)
    with lakefs_sdk.ApiClient(configuration) as with_token:
        assert lakefs_sdk.AuthApi(with_token).get_current_user().user.id == "admin"


def test_sdk_raises_unauthorized(server: Server) -> None:
    configuration = lakefs_sdk.Configuration(host=server.api, username=ACCESS_KEY_ID, password="wrong")
    with lakefs_sdk.ApiClient(configuration) as wrong, pytest.raises(ApiException) as err:
        lakefs_sdk.RepositoriesApi(wrong).list_repositories()
    assert err.value.status == 401


def test_current_user(sdk: lakefs_sdk.ApiClient) -> None:
    user = lakefs_sdk.AuthApi(sdk).get_current_user().user
    assert user.id == "admin"
    assert user.creation_date > 0


# -- configuration ------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:GET /config:DeprecationWarning")
def test_configuration_answers(server: Server, sdk: lakefs_sdk.ApiClient, client: lakefs.Client) -> None:
    config = lakefs_sdk.ConfigApi(sdk).get_config()
    assert config.storage_config is not None
    assert config.storage_config.blockstore_type == server.backend.blockstore_type
    storage = lakefs_sdk.InternalApi(sdk).get_storage_config()
    assert storage.blockstore_namespace_example.startswith(f"{server.backend.blockstore_type}://")
    version = lakefs_sdk.InternalApi(sdk).get_lake_fs_version()
    # A lakeFS release number, which clients compare; Limnos's own version in the context.
    assert tuple(int(part) for part in version.version.split(".")) >= (1, 3, 1)
    assert version.version_context.startswith("limnos ")
    assert client.version
    assert client.storage_config.blockstore_type == server.backend.blockstore_type


def test_namespaces_held_by_other_installations_or_lakefs_are_refused(
    server: Server, http: httpx.Client
) -> None:
    """A namespace marked by another Limnos installation, or holding a lakeFS repository,
    is refused; an unmarked one is fine."""
    foreign = unique("foreign")
    server.write_object(
        f"{server.namespace(foreign)}/_lakefs/repository.json",
        b'{"repository": "theirs", "instance_id": "x", "installation": "someone-else"}',
    )
    assert_error(create(http, unique(), server.namespace(foreign)), 400, "another Limnos installation")
    lakefs_held = unique("lakefs")
    server.write_object(f"{server.namespace(lakefs_held)}/_lakefs/dummy", b"")
    assert_error(create(http, unique(), server.namespace(lakefs_held)), 400, "lakeFS repository")
    free = unique("free")
    assert create(http, free, server.namespace(free)).status_code == 201
    marker = server.read_object(f"{server.namespace(free)}/_lakefs/repository.json")
    assert free.encode() in marker
