"""Storage namespaces as clients build them: on the server's default namespace prefix, in
whatever spelling, recorded and claimed in one canonical form."""

from __future__ import annotations

import uuid

import httpx
import lakefs
import lakefs_sdk
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, assert_error
from lakefs_spec import LakeFSFileSystem


def unique(prefix: str = "ns") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(http: httpx.Client, name: str, namespace: str) -> httpx.Response:
    return http.post("/repositories", json={"name": name, "storage_namespace": namespace})


def spellings(server: Server, name: str) -> list[str]:
    """Ways of writing the namespace of repository ``name`` that all name one place."""
    if server.backend.blockstore_type == "local":
        return [
            f"local:///{name}",
            f"local://{name}/",
            f"local://./{name}",
            f"local://{name}/.",
            f"local://{name}",
        ]
    prefix = server.backend.default_namespace_prefix
    return [f"{prefix}/{name}/", f"{prefix}//{name}", f"{prefix}/{name}"]


def test_the_server_reports_its_default_namespace_prefix(server: Server, sdk: lakefs_sdk.ApiClient) -> None:
    expected = server.backend.default_namespace_prefix
    config = lakefs_sdk.ConfigApi(sdk).get_config()
    assert config.storage_config is not None
    assert config.storage_config.default_namespace_prefix == expected
    assert [s.default_namespace_prefix for s in config.storage_config_list or []] == [expected]
    assert lakefs_sdk.InternalApi(sdk).get_storage_config().default_namespace_prefix == expected


def test_a_repository_made_as_lakefs_spec_sets_up_its_tests(server: Server, client: lakefs.Client) -> None:
    """lakefs-spec's own test setup: a namespace on the default prefix, a repository with
    the sample data (``exist_ok``), then files written and read through the file system."""
    name = unique("spec")
    storage_namespace = f"{client.storage_config.default_namespace_prefix}/{name}"
    repository = lakefs.Repository(name, client=client).create(
        storage_namespace=storage_namespace, include_samples=True, exist_ok=True
    )
    # local:///name is a directory below the blockstore's root, as in lakeFS.
    canonical = server.namespace(name)
    assert repository.properties.storage_namespace == canonical
    again = lakefs.Repository(name, client=client).create(
        storage_namespace=storage_namespace, include_samples=True, exist_ok=True
    )
    assert again.properties.storage_namespace == canonical

    fs = LakeFSFileSystem(
        host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY, skip_instance_cache=True
    )
    fs.pipe(f"{name}/main/written/by-spec.txt", b"written through lakefs-spec")
    assert fs.cat(f"{name}/main/written/by-spec.txt") == b"written through lakefs-spec"
    assert len(fs.ls(f"{name}/main/", detail=False)) > 1, "the sample data is there too"
    # The bytes are stored inside the canonical namespace, under the blockstore's root.
    stored = server.stored_uris(canonical)
    assert any(server.read_object(uri) == b"written through lakefs-spec" for uri in stored)


def test_every_spelling_of_a_namespace_is_one_namespace(server: Server, http: httpx.Client) -> None:
    name = unique()
    canonical = server.namespace(name)
    first, *others = spellings(server, name)
    created = create(http, name, first)
    assert created.status_code == 201, created.text
    assert created.json()["storage_namespace"] == canonical
    assert http.get(f"/repositories/{name}").json()["storage_namespace"] == canonical
    for spelling in others:
        assert_error(create(http, unique(), spelling), 400, "storage namespace already in use", canonical)
    # Once the repository is deleted, its namespace may be used again, however spelled.
    assert http.delete(f"/repositories/{name}").status_code == 204
    successor = unique()
    recreated = create(http, successor, others[0])
    assert recreated.status_code == 201, recreated.text
    assert recreated.json()["storage_namespace"] == canonical


def test_the_root_of_the_blockstore_is_no_namespace(server: Server, http: httpx.Client) -> None:
    if server.backend.blockstore_type == "local":
        roots = ["local://", "local:///", "local://.", "local://./", "local://x/.."]
    else:
        roots = ["s3://", "s3:///", "s3:///repo", f"{server.backend.default_namespace_prefix}/x/.."]
    for root in roots:
        name = unique()
        assert_error(create(http, name, root), 400, "invalid namespace", root)
        assert http.get(f"/repositories/{name}").status_code == 404
