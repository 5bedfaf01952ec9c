"""Direct uploads: getPhysicalAddress, presigned PUTs, linkPhysicalAddress and presigned reads.

A client asks for an address inside the repository's storage namespace (with ``presign``,
also a URL that writes it), stores the bytes there without passing through the API, then
links them to a path. Every refusal must leave no entry at the path and no new stored object.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import lakefs_client
import lakefs_sdk
import pytest
from conftest import (
    S3_BUCKET,
    Backend,
    Server,
    assert_error,
    free_port,
    objects_url,
    upload_url,
)
from lakefs_client.api.staging_api import StagingApi as LegacyStagingApi
from lakefs_client.exceptions import ApiException as LegacyApiException
from lakefs_client.model.staging_location import StagingLocation as LegacyStagingLocation
from lakefs_client.model.staging_metadata import StagingMetadata as LegacyStagingMetadata

SELF_SERVED = "/_limnos/presigned"
# The default lifetime of a presigned URL (blockstore.*.pre_signed_expiry).
DEFAULT_PRESIGN_SECONDS = 15 * 60

# helpers ---------------------------------------------------------------------------------


def backing_url(repo: str, branch: str = "main") -> str:
    """Where addresses are handed out (GET) and linked (PUT)."""
    return f"/repositories/{repo}/branches/{branch}/staging/backing"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def issue(http: httpx.Client, repo: str, path: str, *, branch: str = "main", presign: bool = False) -> dict:
    """getPhysicalAddress over plain HTTP: the StagingLocation."""
    params = {"path": path, "presign": "true"} if presign else {"path": path}
    response = http.get(backing_url(repo, branch), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def staged_address(
    server: Server, http: httpx.Client, repo: str, path: str, data: bytes, *, branch: str = "main"
) -> str:
    """An address handed out for ``path``, with ``data`` stored at it behind the server's back."""
    address = str(issue(http, repo, path, branch=branch)["physical_address"])
    server.write_object(address, data)
    return address


def staging_metadata(address: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """A StagingMetadata body describing ``data`` stored at ``address``."""
    return {"staging": {"physical_address": address}, "checksum": md5(data), "size_bytes": len(data), **extra}


def link(
    http: httpx.Client, repo: str, path: str, body: dict[str, Any], *, branch: str = "main", **headers: str
) -> httpx.Response:
    return http.put(backing_url(repo, branch), params={"path": path}, json=body, headers=headers)


def stat(http: httpx.Client, repo: str, path: str, ref: str = "main", **params: str) -> httpx.Response:
    return http.get(objects_url(repo, ref) + "/stat", params={"path": path, **params})


def read(http: httpx.Client, repo: str, path: str, ref: str = "main") -> bytes:
    response = http.get(objects_url(repo, ref), params={"path": path})
    assert response.status_code == 200, response.text
    return response.content


def put_object(http: httpx.Client, repo: str, path: str, data: bytes) -> dict:
    """An object uploaded through the API (not a direct upload)."""
    response = http.post(
        upload_url(repo),
        params={"path": path},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def refused_link(
    server: Server,
    http: httpx.Client,
    repo: str,
    path: str,
    status: int,
    *words: str,
    branch: str = "main",
    body: dict[str, Any] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """linkPhysicalAddress is refused with ``status``; nothing is recorded at ``path`` of
    ``branch`` and nothing is stored in (or removed from) the repository's namespace."""
    namespace = server.namespace(repo)
    before = server.stored_uris(namespace)
    request_headers = dict(headers or {})
    if content is not None:
        request_headers.setdefault("Content-Type", "application/json")
    response = http.put(
        backing_url(repo, branch),
        params={"path": path},
        json=body if content is None else None,
        content=content,
        headers=request_headers,
    )
    message = assert_error(response, status, *words)
    assert server.stored_uris(namespace) == before
    assert stat(http, repo, path, branch).status_code == 404
    return message


def with_query(url: str, **changes: str) -> str:
    """``url`` with some query parameters replaced."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def altered(text: str, index: int) -> str:
    """``text`` with the character at ``index`` changed (staying in the base64url alphabet)."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def require_self_served(server: Server) -> None:
    if server.backend.blockstore_type != "local":
        pytest.skip(
            "only the local blockstore serves its own presigned URLs (/_limnos/presigned); "
            "on S3 the URLs are signed by and sent to the S3 store (moto), not Limnos"
        )


def assert_presigned_read_url(server: Server, url: str) -> None:
    """A presigned GET URL points at the store that serves the bytes."""
    if server.backend.blockstore_type == "local":
        assert url.startswith(f"{server.url}{SELF_SERVED}?"), url
    else:
        assert url.startswith(server.backend.s3_endpoint + "/"), url


@pytest.fixture()
def legacy_staging(server: Server, tmp_path: Path) -> Iterator[LegacyStagingApi]:
    """The legacy client's StagingApi, configured as its documentation shows."""
    with lakefs_client.ApiClient(server.legacy_configuration(tmp_path)) as api_client:
        yield LegacyStagingApi(api_client)


# configuration ---------------------------------------------------------------------------


def test_storage_config_announces_presign(http: httpx.Client) -> None:
    storage = http.get("/config/storage")
    assert storage.status_code == 200
    assert storage.json()["pre_sign_support"] is True
    assert storage.json()["pre_sign_multipart_upload"] is True
    config = http.get("/config")
    assert config.status_code == 200
    assert config.json()["storage_config"]["pre_sign_support"] is True


# the lakefs_sdk StagingApi -------------------------------------------------------------------


def test_sdk_presigned_upload_link_and_commit(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    """The whole direct upload: address and URL, a plain PUT, link, read, diff, commit."""
    staging = lakefs_sdk.StagingApi(sdk)
    objects = lakefs_sdk.ObjectsApi(sdk)
    path = "direct/data.bin"
    data = os.urandom(200_000)

    before = int(time.time())
    location = staging.get_physical_address(repo, "main", path, presign=True)
    after = int(time.time())
    address = location.physical_address
    assert address is not None and address.startswith(server.namespace(repo) + "/")
    assert location.presigned_url is not None
    if server.backend.blockstore_type == "local":
        assert location.presigned_url.startswith(f"{server.url}{SELF_SERVED}?")
    else:
        assert location.presigned_url.startswith(server.backend.s3_endpoint + "/")
    assert location.presigned_url_expiry is not None
    assert (
        before + DEFAULT_PRESIGN_SECONDS <= location.presigned_url_expiry <= after + DEFAULT_PRESIGN_SECONDS
    )
    # Each call hands out a fresh address.
    assert staging.get_physical_address(repo, "main", path).physical_address != address

    uploaded = httpx.put(location.presigned_url, content=data, timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    etag = uploaded.headers["etag"]
    assert etag == f'"{md5(data)}"'
    assert server.read_object(address) == data
    # Uploaded but not linked: not an object yet.
    assert stat(http, repo, path).status_code == 404

    stats = staging.link_physical_address(
        repo,
        "main",
        path,
        lakefs_sdk.StagingMetadata(
            staging=lakefs_sdk.StagingLocation(physical_address=address),
            checksum=etag,
            size_bytes=len(data),
            user_metadata={"origin": "direct"},
            content_type="application/x-direct",
        ),
    )
    assert stats.path == path
    assert stats.path_type == "object"
    assert stats.physical_address == address
    assert stats.checksum == md5(data)
    assert stats.size_bytes == len(data)
    assert stats.content_type == "application/x-direct"
    assert stats.metadata == {"origin": "direct"}
    assert isinstance(stats.mtime, int) and stats.mtime > 0

    assert bytes(objects.get_object(repo, "main", path)) == data
    assert bytes(objects.get_object(repo, "main", path, range="bytes=10-19")) == data[10:20]
    stated = objects.stat_object(repo, "main", path)
    assert (stated.physical_address, stated.checksum, stated.size_bytes) == (address, md5(data), len(data))
    assert stated.content_type == "application/x-direct"
    assert stated.metadata == {"origin": "direct"}
    assert [o.path for o in objects.list_objects(repo, "main", prefix="direct/").results] == [path]

    diff = lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results
    assert [(d.path, d.type) for d in diff] == [(path, "added")]
    commit = lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="direct"))
    assert lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results == []
    assert bytes(objects.get_object(repo, commit.id, path)) == data
    assert objects.stat_object(repo, commit.id, path).physical_address == address


def test_sdk_link_without_presign(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    """Without presign only an address: the client writes it with its own storage access."""
    staging = lakefs_sdk.StagingApi(sdk)
    path = "plain/obj.txt"
    data = b"written straight to the store\n" * 50
    location = staging.get_physical_address(repo, "main", path)
    assert location.physical_address is not None
    assert location.physical_address.startswith(server.namespace(repo) + "/")
    assert location.presigned_url is None
    assert location.presigned_url_expiry is None
    raw = http.get(backing_url(repo), params={"path": path, "presign": "false"}).json()
    assert set(raw) == {"physical_address"}

    server.write_object(location.physical_address, data)
    stats = staging.link_physical_address(
        repo,
        "main",
        path,
        lakefs_sdk.StagingMetadata(
            staging=location, checksum=md5(data), size_bytes=len(data), mtime=1_700_000_000
        ),
    )
    assert stats.physical_address == location.physical_address
    assert stats.mtime == 1_700_000_000
    assert stats.content_type == "application/octet-stream"
    assert stats.metadata == {}
    assert read(http, repo, path) == data
    stated = lakefs_sdk.ObjectsApi(sdk).stat_object(repo, "main", path)
    assert (stated.checksum, stated.size_bytes, stated.mtime) == (md5(data), len(data), 1_700_000_000)
    diff = lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results
    assert [(d.path, d.type) for d in diff] == [(path, "added")]
    lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="plain"))
    assert read(http, repo, path, ref="main@") == data


# the legacy lakefs_client StagingApi -------------------------------------------------------


def test_legacy_client_staging(
    server: Server, legacy_staging: LegacyStagingApi, http: httpx.Client, repo: str
) -> None:
    """The calls of the legacy client's documentation: required values only, then with the
    optional ones (presign, If-None-Match)."""
    api = legacy_staging
    data = os.urandom(50_000)

    # required values only: an address, written with the client's own storage access
    plain = api.get_physical_address(repo, "main", "legacy/plain.bin")
    assert plain.physical_address.startswith(server.namespace(repo) + "/")
    server.write_object(plain.physical_address, data)
    stats = api.link_physical_address(
        repo,
        "main",
        "legacy/plain.bin",
        LegacyStagingMetadata(
            staging=LegacyStagingLocation(physical_address=plain.physical_address),
            checksum=md5(data),
            size_bytes=len(data),
        ),
    )
    assert (stats.path, stats.physical_address) == ("legacy/plain.bin", plain.physical_address)
    assert (stats.checksum, stats.size_bytes) == (md5(data), len(data))

    # with the optional values: a presigned URL, and the whole location sent back
    location = api.get_physical_address(repo, "main", "legacy/signed.bin", presign=True)
    assert location.physical_address.startswith(server.namespace(repo) + "/")
    assert location.presigned_url.startswith("http")
    assert location.presigned_url_expiry > time.time()
    uploaded = httpx.put(location.presigned_url, content=data[::-1], timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    stats = api.link_physical_address(
        repo,
        "main",
        "legacy/signed.bin",
        LegacyStagingMetadata(
            staging=LegacyStagingLocation(
                physical_address=location.physical_address,
                presigned_url=location.presigned_url,
                presigned_url_expiry=location.presigned_url_expiry,
            ),
            checksum=uploaded.headers["etag"],
            size_bytes=len(data),
            user_metadata={"key": "value"},
            content_type="text/x-legacy",
            force=False,
        ),
        if_none_match="*",
    )
    assert stats.checksum == md5(data[::-1])
    assert stats.content_type == "text/x-legacy"
    assert stats.metadata.to_dict() == {"key": "value"}
    assert read(http, repo, "legacy/plain.bin") == data
    assert read(http, repo, "legacy/signed.bin") == data[::-1]

    # If-None-Match: * on a path that holds an object
    again = api.get_physical_address(repo, "main", "legacy/signed.bin")
    server.write_object(again.physical_address, b"other")
    with pytest.raises(LegacyApiException) as err:
        api.link_physical_address(
            repo,
            "main",
            "legacy/signed.bin",
            LegacyStagingMetadata(
                staging=LegacyStagingLocation(physical_address=again.physical_address),
                checksum=md5(b"other"),
                size_bytes=5,
            ),
            if_none_match="*",
        )
    assert err.value.status == 412
    assert read(http, repo, "legacy/signed.bin") == data[::-1]

    with pytest.raises(LegacyApiException) as err:
        api.get_physical_address(repo, "no-such-branch", "x")
    assert err.value.status == 404


# getPhysicalAddress refusals ------------------------------------------------------------------


def test_get_physical_address_errors(server: Server, http: httpx.Client, repo: str) -> None:
    namespace = server.namespace(repo)
    before = server.stored_uris(namespace)
    missing_repo = f"no-repo-{uuid.uuid4().hex[:8]}"
    assert_error(http.get(backing_url(missing_repo), params={"path": "x"}), 404)
    assert_error(http.get(backing_url(repo, "no-such-branch"), params={"path": "x"}), 404)
    assert_error(http.get(backing_url(repo, "no-such-branch"), params={"path": "x", "presign": "true"}), 404)
    assert_error(http.get(backing_url(repo), params={"path": ""}), 400)
    assert_error(http.get(backing_url(repo)), 400)
    assert_error(http.get(backing_url(repo), params={"path": "x", "presign": "perhaps"}), 400)
    # Handing out addresses stores nothing.
    issue(http, repo, "x", presign=True)
    assert server.stored_uris(namespace) == before


# linkPhysicalAddress refusals -----------------------------------------------------------------


def test_link_if_none_match(server: Server, http: httpx.Client, repo: str) -> None:
    original = put_object(http, repo, "taken", b"original")
    data = b"replacement"
    address = staged_address(server, http, repo, "taken", data)
    before = server.stored_uris(server.namespace(repo))
    response = link(http, repo, "taken", staging_metadata(address, data), **{"If-None-Match": "*"})
    assert_error(response, 412)
    assert server.stored_uris(server.namespace(repo)) == before
    unchanged = stat(http, repo, "taken").json()
    assert (unchanged["physical_address"], unchanged["checksum"]) == (
        original["physical_address"],
        original["checksum"],
    )
    assert read(http, repo, "taken") == b"original"

    # A free path is linked with the header (only "*" is supported, and If-Match not at
    # all); the refused address still links without it.
    free = staged_address(server, http, repo, "free", b"free")
    for headers in ({"If-None-Match": '"abc"'}, {"If-Match": '"abc"'}):
        refused_link(server, http, repo, "free", 400, body=staging_metadata(free, b"free"), headers=headers)
    response = link(http, repo, "free", staging_metadata(free, b"free"), **{"If-None-Match": "*"})
    assert response.status_code == 200, response.text
    response = link(http, repo, "taken", staging_metadata(address, data))
    assert response.status_code == 200, response.text
    assert response.json()["physical_address"] == address
    assert read(http, repo, "taken") == data
    assert read(http, repo, "free") == b"free"


def test_link_refuses_addresses_not_handed_out(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    data = b"bytes that are really there"
    namespace = server.namespace(repo)

    made_up = f"{namespace}/data/zz/{'deadbeef' * 4}"
    server.write_object(made_up, data)
    made_up_body = staging_metadata(made_up, data)
    refused_link(server, http, repo, "made-up", 400, "link address invalid", made_up, body=made_up_body)

    # handed out for another path, or another branch
    other_path = staged_address(server, http, repo, "meant/for/this", data)
    invalid = ("link address invalid", other_path)
    body = staging_metadata(other_path, data)
    refused_link(server, http, repo, "but/linked/here", 400, *invalid, body=body)
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="dev", source="main"))
    refused_link(
        server, http, repo, "meant/for/this", 400, branch="dev", body=staging_metadata(other_path, data)
    )
    # ... where it still links
    response = link(http, repo, "meant/for/this", staging_metadata(other_path, data))
    assert response.status_code == 200, response.text
    assert read(http, repo, "meant/for/this") == data
    assert stat(http, repo, "meant/for/this", "dev").status_code == 404

    # the address of another blockstore type
    foreign = server.backend.foreign_namespace(repo) + "/data/ab/cdef"
    refused_link(server, http, repo, "foreign", 400, body=staging_metadata(foreign, data))


def test_link_refuses_local_addresses_outside_namespace(
    server: Server, http: httpx.Client, repo: str, tmp_path: Path
) -> None:
    if server.backend.blockstore_type != "local":
        pytest.skip("local:// addresses outside a namespace exist only on the local blockstore")
    data = b"outside"
    # relative: inside the blockstore's directory, but in no namespace of this repository
    elsewhere = f"local://elsewhere-{uuid.uuid4().hex[:8]}/data/ab/cd"
    server.write_object(elsewhere, data)
    refused_link(server, http, repo, "elsewhere", 400, body=staging_metadata(elsewhere, data))
    # absolute, but no blockstore.local.allowed_external_prefixes are configured
    outside = tmp_path / "outside.bin"
    outside.write_bytes(data)
    refused_link(server, http, repo, "absolute", 400, body=staging_metadata(f"local://{outside}", data))


def test_link_accepts_objects_outside_every_namespace(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str, tmp_path: Path
) -> None:
    """Bytes kept outside every repository (of the blockstore's type, and on local below
    an allowed prefix) link as they are; bytes in another repository's namespace do not."""
    data = os.urandom(5000)
    if server.backend.blockstore_type == "local":
        allowed = tmp_path / "lake"
        allowed.mkdir()
        (allowed / "part-0.parquet").write_bytes(data)
        target = Server(
            tmp_path / "server",
            free_port(),
            backend=server.backend,
            extra_env={"LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES": str(allowed)},
        ).start()
        outside = f"local://{allowed / 'part-0.parquet'}"
    else:
        target = server
        outside = f"s3://{S3_BUCKET}/outside-{uuid.uuid4().hex[:8]}/part-0.parquet"
        server.write_object(outside, data)
    try:
        with target.sdk() as target_sdk, target.http() as target_http:
            name = f"outside-{uuid.uuid4().hex[:8]}"
            lakefs_sdk.RepositoriesApi(target_sdk).create_repository(
                lakefs_sdk.RepositoryCreation(name=name, storage_namespace=target.namespace(name))
            )
            response = link(target_http, name, "lake/part-0.parquet", staging_metadata(outside, data))
            assert response.status_code == 200, response.text
            assert response.json()["physical_address"] == outside
            assert read(target_http, name, "lake/part-0.parquet") == data

            # an object of another repository's namespace is that repository's
            other = f"other-{uuid.uuid4().hex[:8]}"
            lakefs_sdk.RepositoriesApi(target_sdk).create_repository(
                lakefs_sdk.RepositoryCreation(name=other, storage_namespace=target.namespace(other))
            )
            theirs = staged_address(target, target_http, other, "theirs", data)
            refused_link(
                target, target_http, name, "theirs", 400, "namespace", body=staging_metadata(theirs, data)
            )
    finally:
        if target is not server:
            target.stop()


def test_link_twice_refused(server: Server, http: httpx.Client, repo: str) -> None:
    data = b"link me once"
    address = staged_address(server, http, repo, "once", data)
    first = link(http, repo, "once", staging_metadata(address, data, user_metadata={"link": "first"}))
    assert first.status_code == 200, first.text

    before = server.stored_uris(server.namespace(repo))
    second = link(http, repo, "once", staging_metadata(address, data, user_metadata={"link": "second"}))
    assert_error(second, 400)
    assert server.stored_uris(server.namespace(repo)) == before
    assert stat(http, repo, "once").json()["metadata"] == {"link": "first"}
    # nor at another path
    refused_link(server, http, repo, "twice", 400, body=staging_metadata(address, data))
    # nor once the first link is gone (its bytes stay where they are)
    assert http.delete(upload_url(repo), params={"path": "once"}).status_code == 204
    assert address in server.stored_uris(server.namespace(repo))
    refused_link(server, http, repo, "once", 400, body=staging_metadata(address, data))


def test_link_refuses_missing_or_wrong_bytes(server: Server, http: httpx.Client, repo: str) -> None:
    nothing = str(issue(http, repo, "nothing")["physical_address"])
    refused_link(server, http, repo, "nothing", 400, body=staging_metadata(nothing, b"never uploaded"))
    assert nothing not in server.stored_uris(server.namespace(repo))

    data = b"twelve bytes"
    address = staged_address(server, http, repo, "sized", data)
    for size in (len(data) + 1, len(data) - 1, 0):
        body = staging_metadata(address, data, size_bytes=size)
        refused_link(server, http, repo, "sized", 400, "size_bytes", body=body)
    refused_link(server, http, repo, "sized", 400, body=staging_metadata(address, data, size_bytes=-1))
    # The right size still links: the refusals did not use the address up.
    response = link(http, repo, "sized", staging_metadata(address, data))
    assert response.status_code == 200, response.text
    assert read(http, repo, "sized") == data


def test_link_refuses_bad_bodies(server: Server, http: httpx.Client, repo: str) -> None:
    data = b"well formed bytes"
    address = staged_address(server, http, repo, "body", data)
    good = staging_metadata(address, data)
    bad_bodies: list[dict[str, Any]] = [
        {**good, "checksum": ""},
        {**good, "checksum": '""'},
        {**good, "staging": {}},
        {**good, "staging": {"physical_address": ""}},
        {**good, "staging": {"physical_address": None}},
        {key: value for key, value in good.items() if key != "staging"},
        {key: value for key, value in good.items() if key != "checksum"},
        {key: value for key, value in good.items() if key != "size_bytes"},
        {**good, "size_bytes": "17"},
        {**good, "user_metadata": {"a": 1}},
        {**good, "force": "yes"},
    ]
    for body in bad_bodies:
        refused_link(server, http, repo, "body", 400, body=body)
    for content in (b"{", b"", b"[]", b"not json", b'{"staging": '):
        refused_link(server, http, repo, "body", 400, content=content)
    response = link(http, repo, "body", good)
    assert response.status_code == 200, response.text
    assert read(http, repo, "body") == data


def test_link_missing_repository_or_branch(server: Server, http: httpx.Client, repo: str) -> None:
    data = b"nowhere to go"
    address = staged_address(server, http, repo, "lost", data)
    missing_repo = f"no-repo-{uuid.uuid4().hex[:8]}"
    before = server.stored_uris(server.namespace(repo))
    assert_error(link(http, missing_repo, "lost", staging_metadata(address, data)), 404)
    assert_error(http.put(backing_url(repo), json=staging_metadata(address, data)), 400)
    assert_error(link(http, repo, "", staging_metadata(address, data)), 400)
    refused_link(
        server, http, repo, "lost", 404, branch="no-such-branch", body=staging_metadata(address, data)
    )
    assert server.stored_uris(server.namespace(repo)) == before
    assert stat(http, repo, "lost").status_code == 404


def test_link_read_only_repository(server: Server, http: httpx.Client, read_only_repo: str) -> None:
    repo = read_only_repo
    data = b"read only, unless forced"
    address = staged_address(server, http, repo, "ro", data)
    refused_link(server, http, repo, "ro", 403, body=staging_metadata(address, data))
    refused_link(server, http, repo, "ro", 403, body=staging_metadata(address, data, force=False))
    forced = link(http, repo, "ro", staging_metadata(address, data, force=True))
    assert forced.status_code == 200, forced.text
    assert forced.json()["physical_address"] == address
    assert read(http, repo, "ro") == data


# expiry ----------------------------------------------------------------------------------


def test_expired_address_and_urls(backend: Backend, tmp_path: Path) -> None:
    """With 1 s lifetimes an address can no longer be linked once it expired, and (on the
    local blockstore, whose URLs Limnos serves) neither a PUT nor a GET URL works any more.
    One server per backend serves both checks, which share one wait."""
    short = Server(
        tmp_path,
        free_port(),
        backend=backend,
        extra_env={
            "LAKEFS_BLOCKSTORE_LINK_ADDRESS_EXPIRY": "1s",
            "LAKEFS_BLOCKSTORE_LOCAL_PRE_SIGNED_EXPIRY": "1s",
        },
    ).start()
    try:
        with short.sdk() as sdk, short.http() as http:
            repo = f"short-{uuid.uuid4().hex[:12]}"
            namespace = short.namespace(repo)
            lakefs_sdk.RepositoriesApi(sdk).create_repository(
                lakefs_sdk.RepositoryCreation(name=repo, storage_namespace=namespace)
            )
            data = b"linked too late"
            address = staged_address(short, http, repo, "late", data)
            self_served = backend.blockstore_type == "local"
            if self_served:
                put_url = issue(http, repo, "put-late", presign=True)["presigned_url"]
                put_object(http, repo, "readable", b"readable")
                readable = stat(http, repo, "readable", presign="true").json()
                get_url = readable["physical_address"]
                # the short lifetime is in effect (the URL may already have expired here)
                assert readable["physical_address_expiry"] <= time.time() + 1
            issued_by = time.time()
            # Lifetimes count whole seconds from when they were handed out.
            time.sleep(max(0.0, issued_by + 1.1 - time.time()))

            late = staging_metadata(address, data)
            refused_link(short, http, repo, "late", 400, "link address expired", address, body=late)
            if self_served:
                before = short.stored_uris(namespace)
                assert_error(httpx.put(put_url, content=b"too late"), 403)
                assert short.stored_uris(namespace) == before
                assert_error(httpx.get(get_url), 403)
                assert read(http, repo, "readable") == b"readable"
    finally:
        short.stop()


# self-served presigned URLs: tampering ----------------------------------------------------


def test_tampered_put_urls_refused(server: Server, http: httpx.Client, repo: str) -> None:
    require_self_served(server)
    namespace = server.namespace(repo)
    location = issue(http, repo, "target", presign=True)
    address, url = location["physical_address"], location["presigned_url"]
    query = query_of(url)
    assert query["address"] == address
    other = issue(http, repo, "other")["physical_address"]
    signature = query["signature"]
    tampered = {
        "signature": with_query(url, signature=altered(signature, len(signature) // 2)),
        "signature end": with_query(url, signature=altered(signature, -1)),
        "no signature": with_query(url, signature=""),
        "address": with_query(url, address=other),
        "expires": with_query(url, expires=str(int(query["expires"]) + 60)),
        "expires earlier": with_query(url, expires=str(int(query["expires"]) - 1)),
    }
    before = server.stored_uris(namespace)
    for name, bad_url in tampered.items():
        response = httpx.put(bad_url, content=b"tampered")
        assert_error(response, 403)
        assert server.stored_uris(namespace) == before, name
    assert address not in before and other not in before

    data = b"the genuine upload"
    good = httpx.put(url, content=data)
    assert good.status_code == 200, good.text
    assert server.read_object(address) == data
    # after the upload, a tampered URL still writes nothing
    for bad_url in tampered.values():
        assert_error(httpx.put(bad_url, content=b"tampered"), 403)
    assert server.read_object(address) == data
    # the PUT URL does not read
    as_get = httpx.get(url)
    assert_error(as_get, 403)
    assert data not in as_get.content
    assert httpx.head(url).status_code == 403
    assert server.stored_uris(namespace) == sorted([*before, address])


def test_get_url_cannot_write(server: Server, http: httpx.Client, repo: str) -> None:
    require_self_served(server)
    namespace = server.namespace(repo)
    stored = put_object(http, repo, "kept", b"keep these bytes")
    presigned = stat(http, repo, "kept", presign="true").json()
    get_url = presigned["physical_address"]
    assert query_of(get_url)["address"] == stored["physical_address"]
    assert httpx.get(get_url).content == b"keep these bytes"

    before = server.stored_uris(namespace)
    assert_error(httpx.put(get_url, content=b"overwritten"), 403)
    signature = query_of(get_url)["signature"]
    assert_error(httpx.get(with_query(get_url, signature=altered(signature, 3))), 403)
    assert_error(httpx.get(with_query(get_url, expires=str(int(query_of(get_url)["expires"]) + 1))), 403)
    other = put_object(http, repo, "other", b"other bytes")["physical_address"]
    assert_error(httpx.get(with_query(get_url, address=other)), 403)
    assert server.stored_uris(namespace) == sorted([*before, other])
    assert server.read_object(stored["physical_address"]) == b"keep these bytes"
    assert read(http, repo, "kept") == b"keep these bytes"


def test_put_url_of_linked_address_refused(server: Server, http: httpx.Client, repo: str) -> None:
    require_self_served(server)
    namespace = server.namespace(repo)
    location = issue(http, repo, "linked", presign=True)
    address, url = location["physical_address"], location["presigned_url"]
    data = b"linked bytes"
    assert httpx.put(url, content=data).status_code == 200
    response = link(http, repo, "linked", staging_metadata(address, data))
    assert response.status_code == 200, response.text

    before = server.stored_uris(namespace)
    assert_error(httpx.put(url, content=b"changed after linking"), 403)
    assert server.stored_uris(namespace) == before
    assert server.read_object(address) == data
    assert read(http, repo, "linked") == data


def test_put_in_flight_cannot_change_linked_bytes(server: Server, http: httpx.Client, repo: str) -> None:
    """A PUT that began before the link must not change the bytes once they are linked."""
    require_self_served(server)
    namespace = server.namespace(repo)
    location = issue(http, repo, "racy", presign=True)
    address, url = location["physical_address"], location["presigned_url"]
    size = 3 * 1024 * 1024
    linked_bytes = b"A" * size
    assert httpx.put(url, content=linked_bytes).status_code == 200
    linked = threading.Event()

    def late_body() -> Iterator[bytes]:
        # Enough for the server to open its writer, then the rest only after the link.
        yield b"B" * (2 * 1024 * 1024)
        linked.wait(timeout=60)
        yield b"B" * (size - 2 * 1024 * 1024)

    outcome: dict[str, Any] = {}

    def late_put() -> None:
        try:
            outcome["response"] = httpx.put(
                url, content=late_body(), headers={"Content-Length": str(size)}, timeout=60
            )
        except httpx.HTTPError as err:  # a refusal may cut the body short
            outcome["error"] = err

    before = server.stored_uris(namespace)
    writer = threading.Thread(target=late_put)
    writer.start()
    try:
        # The server has accepted the URL once it starts storing the body somewhere.
        deadline = time.monotonic() + 30
        while server.stored_uris(namespace) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.stored_uris(namespace) != before, "the second PUT never reached the store"
        response = link(http, repo, "racy", staging_metadata(address, linked_bytes))
        assert response.status_code == 200, response.text
    finally:
        linked.set()
        writer.join(timeout=60)
    assert server.read_object(address) == linked_bytes
    assert read(http, repo, "racy") == linked_bytes
    late = outcome.get("response")
    assert late is None or late.status_code == 403, late.status_code if late else None


# presigned reads --------------------------------------------------------------------------


def test_get_object_presign_redirects(server: Server, http: httpx.Client, repo: str) -> None:
    data = os.urandom(10_000)
    put_object(http, repo, "r/data.bin", data)
    response = http.get(
        objects_url(repo), params={"path": "r/data.bin", "presign": "true"}, follow_redirects=False
    )
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert_presigned_read_url(server, location)

    # The URL is the credential: fetched by a client that has none.
    with httpx.Client(timeout=60) as anonymous:
        whole = anonymous.get(location)
        assert whole.status_code == 200, whole.text
        assert whole.content == data
        ranged = anonymous.get(location, headers={"Range": "bytes=100-199"})
        assert ranged.status_code == 206, ranged.text
        assert ranged.content == data[100:200]
        assert ranged.headers["content-range"] == f"bytes 100-199/{len(data)}"
    # The API itself still wants credentials.
    assert httpx.get(f"{server.api}{objects_url(repo)}", params={"path": "r/data.bin"}).status_code == 401


def test_stat_and_list_presign(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    objects = lakefs_sdk.ObjectsApi(sdk)
    contents = {"p/a.txt": b"alpha", "p/b.txt": b"bravo" * 100}
    for path, data in contents.items():
        put_object(http, repo, path, data)

    plain = objects.stat_object(repo, "main", "p/a.txt")
    assert plain.physical_address.startswith(server.namespace(repo) + "/")
    assert plain.physical_address_expiry is None

    now = time.time()
    stats = objects.stat_object(repo, "main", "p/a.txt", presign=True)
    assert_presigned_read_url(server, stats.physical_address)
    assert stats.physical_address_expiry is not None and stats.physical_address_expiry > now
    assert (stats.checksum, stats.size_bytes) == (plain.checksum, plain.size_bytes)
    assert httpx.get(stats.physical_address).content == b"alpha"

    listed = objects.list_objects(repo, "main", prefix="p/", presign=True).results
    assert [o.path for o in listed] == sorted(contents)
    for obj in listed:
        assert_presigned_read_url(server, obj.physical_address)
        assert obj.physical_address_expiry is not None and obj.physical_address_expiry > now
        assert httpx.get(obj.physical_address).content == contents[obj.path]
    unsigned = objects.list_objects(repo, "main", prefix="p/").results
    assert all(o.physical_address_expiry is None for o in unsigned)
    assert all(o.physical_address.startswith(server.namespace(repo) + "/") for o in unsigned)


def test_presigned_read_of_linked_object(server: Server, http: httpx.Client, repo: str) -> None:
    """What a direct upload linked reads back through a presigned URL too."""
    location = issue(http, repo, "round/trip.bin", presign=True)
    data = os.urandom(4096)
    uploaded = httpx.put(location["presigned_url"], content=data)
    assert uploaded.status_code == 200, uploaded.text
    body = staging_metadata(location["physical_address"], data, checksum=uploaded.headers["etag"])
    assert link(http, repo, "round/trip.bin", body).status_code == 200
    response = http.get(objects_url(repo), params={"path": "round/trip.bin", "presign": "true"})
    assert response.status_code == 302
    assert httpx.get(response.headers["location"]).content == data
