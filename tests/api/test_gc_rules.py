"""GC rules of a repository: getGCRules, setGCRules and deleteGCRules through the legacy
``lakefs_client`` (as its RepositoriesApi page shows them) and ``lakefs_sdk``, the
deprecated internal endpoints, and every status code they answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import lakefs_client
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, Server, assert_error, status_of
from lakefs_client.api import repositories_api
from lakefs_client.model.garbage_collection_rule import GarbageCollectionRule as LegacyRule
from lakefs_client.model.garbage_collection_rules import GarbageCollectionRules as LegacyRules

SETTINGS = "/repositories/{}/settings/gc_rules"
INTERNAL = "/repositories/{}/gc/rules"


@pytest.fixture()
def stranger(server: Server) -> Iterator[lakefs_sdk.RepositoriesApi]:
    """``lakefs_sdk`` with credentials that do not sign in."""
    configuration = lakefs_sdk.Configuration(host=server.api, username=ACCESS_KEY_ID, password="wrong-secret")
    with lakefs_sdk.ApiClient(configuration) as client:
        yield lakefs_sdk.RepositoriesApi(client)


def sdk_rules(default: int, **branches: int) -> lakefs_sdk.GarbageCollectionRules:
    return lakefs_sdk.GarbageCollectionRules(
        default_retention_days=default,
        branches=[
            lakefs_sdk.GarbageCollectionRule(branch_id=b, retention_days=d) for b, d in branches.items()
        ],
    )


def missing_repo() -> str:
    return f"none-{uuid.uuid4().hex[:12]}"


# the seed's operations through the legacy client ------------------------------------------


def test_legacy_client_sets_reads_and_deletes_gc_rules(
    legacy_repositories: repositories_api.RepositoriesApi, http: httpx.Client, repo: str
) -> None:
    # 404 while none are set, as lakeFS answers
    assert status_of(lambda: legacy_repositories.get_gc_rules(repo)) == 404
    # the seed's example body
    garbage_collection_rules = LegacyRules(
        default_retention_days=1,
        branches=[LegacyRule(branch_id="branch_id_example", retention_days=1)],
    )
    assert legacy_repositories.set_gc_rules(repo, garbage_collection_rules) is None
    got = legacy_repositories.get_gc_rules(repo)
    assert got.default_retention_days == 1
    assert [(b.branch_id, b.retention_days) for b in got.branches] == [("branch_id_example", 1)]
    # a second set replaces the rules
    legacy_repositories.set_gc_rules(repo, LegacyRules(default_retention_days=7, branches=[]))
    got = legacy_repositories.get_gc_rules(repo)
    assert got.default_retention_days == 7 and got.branches == []
    assert legacy_repositories.delete_gc_rules(repo) is None
    assert status_of(lambda: legacy_repositories.get_gc_rules(repo)) == 404
    # deleting rules that are not set is no error (lakeFS writes empty rules)
    legacy_repositories.delete_gc_rules(repo)
    assert_error(http.get(SETTINGS.format(repo)), 404, "not found")


def test_legacy_client_status_codes(
    server: Server, legacy_repositories: repositories_api.RepositoriesApi, read_only_repo: str, tmp_path: Path
) -> None:
    rules = LegacyRules(default_retention_days=1, branches=[])
    missing = missing_repo()
    assert status_of(lambda: legacy_repositories.get_gc_rules(missing)) == 404
    assert status_of(lambda: legacy_repositories.set_gc_rules(missing, rules)) == 404
    assert status_of(lambda: legacy_repositories.delete_gc_rules(missing)) == 404
    # a read-only repository refuses changes to its settings, as lakeFS does
    assert status_of(lambda: legacy_repositories.set_gc_rules(read_only_repo, rules)) == 403
    assert status_of(lambda: legacy_repositories.delete_gc_rules(read_only_repo)) == 403
    # 401: credentials that do not sign in
    configuration = server.legacy_configuration(tmp_path)
    configuration.password = "wrong-secret"
    with lakefs_client.ApiClient(configuration) as api_client:
        wrong = repositories_api.RepositoriesApi(api_client)
        assert status_of(lambda: wrong.get_gc_rules(read_only_repo)) == 401
        assert status_of(lambda: wrong.set_gc_rules(read_only_repo, rules)) == 401
        assert status_of(lambda: wrong.delete_gc_rules(read_only_repo)) == 401


def test_legacy_client_bad_rules_are_400(
    legacy_repositories: repositories_api.RepositoriesApi, repo: str
) -> None:
    # the legacy client checks types, not signs: a negative period reaches the server
    negative = LegacyRules(default_retention_days=-1, branches=[])
    with pytest.raises(lakefs_client.ApiException) as raised:
        legacy_repositories.set_gc_rules(repo, negative)
    assert raised.value.status == 400
    assert "default_retention_days" in raised.value.body
    assert status_of(lambda: legacy_repositories.get_gc_rules(repo)) == 404


# lakefs_sdk ----------------------------------------------------------------------------------


def test_sdk_gc_rules(sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    assert status_of(lambda: api.get_gc_rules(repo)) == 404
    api.set_gc_rules(repo, sdk_rules(14, main=30, dev=0))
    got = api.get_gc_rules(repo)
    assert got.default_retention_days == 14
    # branches come back in name order
    assert [(b.branch_id, b.retention_days) for b in got.branches] == [("dev", 0), ("main", 30)]
    api.delete_gc_rules(repo)
    assert status_of(lambda: api.get_gc_rules(repo)) == 404


def test_sdk_status_codes(
    sdk: lakefs_sdk.ApiClient, stranger: lakefs_sdk.RepositoriesApi, read_only_repo: str, repo: str
) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    missing = missing_repo()
    for call in (
        lambda: api.get_gc_rules(missing),
        lambda: api.set_gc_rules(missing, sdk_rules(1)),
        lambda: api.delete_gc_rules(missing),
    ):
        assert status_of(call) == 404
    assert status_of(lambda: api.set_gc_rules(read_only_repo, sdk_rules(1))) == 403
    assert status_of(lambda: api.delete_gc_rules(read_only_repo)) == 403
    assert status_of(lambda: api.set_gc_rules(repo, sdk_rules(-3))) == 400
    assert status_of(lambda: api.set_gc_rules(repo, sdk_rules(1, main=-1))) == 400
    for call in (
        lambda: stranger.get_gc_rules(repo),
        lambda: stranger.set_gc_rules(repo, sdk_rules(1)),
        lambda: stranger.delete_gc_rules(repo),
    ):
        assert status_of(call) == 401
    # nothing of the refused calls was stored
    assert status_of(lambda: api.get_gc_rules(repo)) == 404
    assert status_of(lambda: api.get_gc_rules(read_only_repo)) == 404


# the wire: malformed input, internal endpoints, lifetime ------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"default_retention_days": -1, "branches": []}, ["default_retention_days", "negative"]),
        (
            {"default_retention_days": 1, "branches": [{"branch_id": "main", "retention_days": -2}]},
            ["main", "negative"],
        ),
        ({"branches": []}, ["default_retention_days"]),
        ({"default_retention_days": 1}, ["branches"]),
        ({"default_retention_days": 1, "branches": [{"branch_id": "main"}]}, ["retention_days"]),
        ({"default_retention_days": 1, "branches": [{"retention_days": 1}]}, ["branch_id"]),
        ({"default_retention_days": "7", "branches": []}, ["default_retention_days"]),
        ({"default_retention_days": 1.5, "branches": []}, ["default_retention_days"]),
        ({"default_retention_days": 1, "branches": {"main": 1}}, ["branches"]),
        ({"default_retention_days": 2**31, "branches": []}, ["default_retention_days"]),
        (
            {
                "default_retention_days": 1,
                "branches": [
                    {"branch_id": "main", "retention_days": 1},
                    {"branch_id": "main", "retention_days": 2},
                ],
            },
            ["main", "more than one"],
        ),
        (
            {"default_retention_days": 1, "branches": [{"branch_id": "no/such", "retention_days": 1}]},
            ["no/such"],
        ),
        ([], ["request body has an error"]),
    ],
)
def test_bad_rules_are_400_naming_the_problem(
    http: httpx.Client, repo: str, body: Any, words: list[str]
) -> None:
    for url, method in ((SETTINGS, "PUT"), (INTERNAL, "POST")):
        assert_error(http.request(method, url.format(repo), json=body), 400, *words)
    assert_error(http.get(SETTINGS.format(repo)), 404)


def test_malformed_or_missing_body_is_400(http: httpx.Client, repo: str) -> None:
    url = SETTINGS.format(repo)
    assert_error(http.put(url, content=b"{not json"), 400, "JSON")
    assert_error(http.put(url), 400, "body")
    assert_error(http.get(url), 404)


def test_internal_endpoints(http: httpx.Client, repo: str) -> None:
    internal = INTERNAL.format(repo)
    assert_error(http.get(internal), 404, "not found")
    rules = {"default_retention_days": 3, "branches": [{"branch_id": "main", "retention_days": 9}]}
    assert http.post(internal, json=rules).status_code == 204
    # both endpoints see the same rules
    assert http.get(internal).json() == rules
    assert http.get(SETTINGS.format(repo)).json() == rules
    assert http.delete(internal).status_code == 204
    assert_error(http.get(SETTINGS.format(repo)), 404)
    assert http.get(f"{internal}/set_allowed").status_code == 204
    assert_error(http.get(f"{INTERNAL.format(missing_repo())}/set_allowed"), 404)


def test_empty_rules_are_rules(http: httpx.Client, repo: str) -> None:
    url = SETTINGS.format(repo)
    assert http.put(url, json={"default_retention_days": 0, "branches": []}).status_code == 204
    assert http.get(url).json() == {"default_retention_days": 0, "branches": []}


def test_rules_belong_to_one_repository_instance(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    """A repository deleted and created again under its name starts without rules."""
    api = lakefs_sdk.RepositoriesApi(sdk)
    name = f"gc-{uuid.uuid4().hex[:12]}"
    creation = lakefs_sdk.RepositoryCreation(name=name, storage_namespace=server.namespace(name))
    api.create_repository(creation)
    other = f"gc-{uuid.uuid4().hex[:12]}"
    api.create_repository(
        lakefs_sdk.RepositoryCreation(name=other, storage_namespace=server.namespace(other))
    )
    api.set_gc_rules(name, sdk_rules(5, main=6))
    api.set_gc_rules(other, sdk_rules(8))
    api.delete_repository(name)
    assert status_of(lambda: api.get_gc_rules(name)) == 404
    api.create_repository(creation)
    assert status_of(lambda: api.get_gc_rules(name)) == 404
    # another repository's rules are its own
    assert api.get_gc_rules(other).default_retention_days == 8
    assert_error(http.get(SETTINGS.format(name)), 404, name)
