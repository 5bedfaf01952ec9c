"""The repository operations of the RepositoriesApi page (createRepository,
getRepository, listRepositories, getRepositoryMetadata, deleteRepository) called as the
page calls them, through the legacy ``lakefs_client`` and through ``lakefs_sdk``, with
every status code the page lists for them.

The page's other operations have their own files: dumps and restores in
``test_dumps.py``, GC rules in ``test_gc_rules.py``, branch protection in
``test_branch_protection.py``. The page also lists 420 ("too many requests", the legacy
client's name for what the contract now numbers 429) and 0 (any other error); neither is
an answer to a well-formed call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lakefs_client
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, Server, status_of
from lakefs_client.api import repositories_api as legacy_repositories_api
from lakefs_client.model.repository_creation import RepositoryCreation as LegacyRepositoryCreation


@dataclass
class Clients:
    """One client library's RepositoriesApi, signed in and not, and its creation model."""

    api: Any
    stranger: Any
    creation: Any


@pytest.fixture(params=["lakefs_client", "lakefs_sdk"])
def clients(request: pytest.FixtureRequest, server: Server, tmp_path: Path) -> Iterator[Clients]:
    if request.param == "lakefs_client":
        signed_in = server.legacy_configuration(tmp_path)
        wrong = server.legacy_configuration(tmp_path)
        wrong.password = "not-the-secret"
        with lakefs_client.ApiClient(signed_in) as good, lakefs_client.ApiClient(wrong) as bad:
            yield Clients(
                legacy_repositories_api.RepositoriesApi(good),
                legacy_repositories_api.RepositoriesApi(bad),
                LegacyRepositoryCreation,
            )
    else:
        wrong_sdk = lakefs_sdk.Configuration(
            host=server.api, username=ACCESS_KEY_ID, password="not-the-secret"
        )
        with server.sdk() as good, lakefs_sdk.ApiClient(wrong_sdk) as bad:
            yield Clients(
                lakefs_sdk.RepositoriesApi(good),
                lakefs_sdk.RepositoriesApi(bad),
                lakefs_sdk.RepositoryCreation,
            )


def metadata(answer: Any) -> dict[str, str]:
    """A RepositoryMetadata answer as a dictionary (a model of the legacy client, a plain
    dictionary from ``lakefs_sdk``)."""
    return dict(answer if isinstance(answer, dict) else answer.to_dict())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_create_repository_as_the_page_does(clients: Clients, server: Server) -> None:
    name = unique("seed")
    # The page's RepositoryCreation: sample data, read-only, default branch main; bare=False.
    creation = clients.creation(
        name=name,
        storage_namespace=server.namespace(name),
        default_branch="main",
        sample_data=True,
        read_only=True,
    )
    created = clients.api.create_repository(creation, bare=False)
    assert (created.id, created.default_branch, created.read_only) == (name, "main", True)
    assert created.storage_namespace == server.namespace(name)

    got = clients.api.get_repository(name)
    assert (got.id, got.read_only, got.creation_date) == (name, True, created.creation_date)
    assert metadata(clients.api.get_repository_metadata(name)) == {}

    # 409: the name is taken
    again = clients.creation(name=name, storage_namespace=server.namespace(unique("other")))
    assert status_of(lambda: clients.api.create_repository(again)) == 409
    # 400: a namespace of another blockstore
    foreign_name = unique("seed")
    foreign = clients.creation(
        name=foreign_name, storage_namespace=server.backend.foreign_namespace(foreign_name)
    )
    assert status_of(lambda: clients.api.create_repository(foreign)) == 400
    assert status_of(lambda: clients.api.get_repository(foreign_name)) == 404
    # 401
    fresh = unique("seed")
    stranger_creation = clients.creation(name=fresh, storage_namespace=server.namespace(fresh))
    assert status_of(lambda: clients.stranger.create_repository(stranger_creation)) == 401
    assert status_of(lambda: clients.api.get_repository(fresh)) == 404

    # deleteRepository: a read-only repository needs force, as the page's second call gives
    assert status_of(lambda: clients.api.delete_repository(name)) == 403
    assert clients.api.get_repository(name).id == name
    assert clients.api.delete_repository(name, force=True) is None
    assert status_of(lambda: clients.api.get_repository(name)) == 404


def test_create_bare_repository(clients: Clients, server: Server) -> None:
    name = unique("seed-bare")
    creation = clients.creation(name=name, storage_namespace=server.namespace(name))
    assert clients.api.create_repository(creation, bare=True).id == name
    with server.http() as http:
        assert http.get(f"/repositories/{name}/branches").json()["results"] == []
        assert http.get(f"/repositories/{name}/refs/main/commits").status_code == 404
    clients.api.delete_repository(name)


def test_get_list_metadata_and_delete_status_codes(clients: Clients, server: Server) -> None:
    prefix = unique("seed-list")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        clients.api.create_repository(clients.creation(name=name, storage_namespace=server.namespace(name)))
    with server.http() as http:
        response = http.post(f"/repositories/{names[0]}/metadata", json={"metadata": {"team": "lake"}})
        assert response.status_code == 204, response.text

    # listRepositories with the page's parameters
    first = clients.api.list_repositories(prefix=prefix, after="", amount=2)
    assert [r.id for r in first.results] == names[:2]
    assert first.pagination.has_more is True
    rest = clients.api.list_repositories(prefix=prefix, after=first.pagination.next_offset, amount=100)
    assert [r.id for r in rest.results] == names[2:]
    assert rest.pagination.has_more is False
    assert status_of(lambda: clients.stranger.list_repositories(prefix=prefix)) == 401

    assert metadata(clients.api.get_repository_metadata(names[0])) == {"team": "lake"}
    missing = unique("missing")
    for call in (
        lambda: clients.api.get_repository(missing),
        lambda: clients.api.get_repository_metadata(missing),
        lambda: clients.api.delete_repository(missing),
    ):
        assert status_of(call) == 404
    for call in (
        lambda: clients.stranger.get_repository(names[0]),
        lambda: clients.stranger.get_repository_metadata(names[0]),
        lambda: clients.stranger.delete_repository(names[0]),
    ):
        assert status_of(call) == 401
    assert clients.api.get_repository(names[0]).id == names[0]  # the stranger deleted nothing

    for name in names:
        assert clients.api.delete_repository(name, force=False) is None
    assert clients.api.list_repositories(prefix=prefix).results == []
