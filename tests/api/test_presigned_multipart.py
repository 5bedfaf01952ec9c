"""Presigned multipart uploads with ``lakefs_sdk.ExperimentalApi``: parts go straight to
storage through presigned URLs (or are copied from other objects), then are assembled
into one staged object; refused requests leave nothing staged and nothing stored."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import httpx
import lakefs_sdk
import pytest
from conftest import Server, assert_error, objects_url, upload_url
from lakefs_sdk.exceptions import ApiException

MIB = 1024 * 1024
#: S3's smallest part but the last, which every blockstore enforces.
MIN_PART = 5 * MIB


def pmpu_url(repo: str, branch: str = "main") -> str:
    """Where presigned multipart uploads to ``branch`` are started."""
    return f"/repositories/{repo}/branches/{branch}/staging/pmpu"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_checksum(parts: list[bytes]) -> str:
    """S3's ETag of an object assembled from ``parts``: the MD5 of their MD5s, and their count."""
    digest = hashlib.md5(b"".join(bytes.fromhex(md5(part)) for part in parts)).hexdigest()
    return f"{digest}-{len(parts)}"


def put_part(url: str, data: bytes) -> str:
    """PUT one part to its presigned URL with plain HTTP, no credentials; the ETag answered."""
    response = httpx.put(url, content=data, timeout=120)
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag.strip('"') == md5(data)
    return etag


def assert_presigned_url(server: Server, url: str) -> None:
    """Self-served on local; S3's own (moto's) on S3."""
    if server.backend.blockstore_type == "local":
        assert url.startswith(f"{server.url}/_limnos/presigned?"), url
    else:
        assert url.startswith(server.backend.s3_endpoint + "/"), url


def stat_status(http: httpx.Client, repo: str, path: str) -> int:
    return http.get(objects_url(repo) + "/stat", params={"path": path}).status_code


def completion(address: str, parts: list[tuple[int, str]]) -> dict[str, Any]:
    """The JSON body of completePresignMultipartUpload."""
    return {"physical_address": address, "parts": [{"part_number": n, "etag": e} for n, e in parts]}


def sdk_parts(parts: list[tuple[int, str]]) -> list[lakefs_sdk.UploadPart]:
    return [lakefs_sdk.UploadPart(part_number=number, etag=etag) for number, etag in parts]


def parts_prefix(upload: lakefs_sdk.PresignMultipartUpload) -> str:
    """Where a self-served (local) upload keeps its parts."""
    return f"{upload.physical_address}.upload-{upload.upload_id}/"


def stored_parts(server: Server, repo: str, upload: lakefs_sdk.PresignMultipartUpload) -> list[int] | None:
    """The part numbers the store holds for ``upload``, read behind the server's back;
    None when the store knows no such upload (S3) or holds no part of it (local)."""
    if server.backend.blockstore_type == "local":
        prefix = parts_prefix(upload)
        names = [
            uri[len(prefix) :] for uri in server.stored_uris(server.namespace(repo)) if uri.startswith(prefix)
        ]
        return sorted(int(name.split(".")[0]) for name in names) or None
    bucket, _, key = upload.physical_address.removeprefix("s3://").partition("/")
    s3 = server._s3()
    try:
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload.upload_id)
    except s3.exceptions.NoSuchUpload:
        return None
    return sorted(int(part["PartNumber"]) for part in listed.get("Parts", []))


def start_upload(
    sdk: lakefs_sdk.ApiClient, repo: str, path: str, sizes: list[int]
) -> tuple[lakefs_sdk.PresignMultipartUpload, list[str], list[bytes]]:
    """An upload to ``path`` with parts 1..n of random bytes of ``sizes`` uploaded: the
    upload, the parts' ETags and their bytes."""
    upload = lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(
        repo, "main", path, parts=len(sizes)
    )
    datas = [os.urandom(size) for size in sizes]
    etags = [put_part(url, data) for url, data in zip(upload.presigned_urls or [], datas, strict=True)]
    return upload, etags, datas


# the whole round trip ----------------------------------------------------------------------


def test_three_part_upload_round_trip(server: Server, sdk: lakefs_sdk.ApiClient, repo: str) -> None:
    api = lakefs_sdk.ExperimentalApi(sdk)
    objects = lakefs_sdk.ObjectsApi(sdk)
    path = "big/three-parts.bin"
    upload = api.create_presign_multipart_upload(repo, "main", path, parts=3)
    assert upload.upload_id
    assert upload.physical_address.startswith(server.namespace(repo) + "/")
    urls = upload.presigned_urls
    assert urls is not None and len(urls) == 3 and len(set(urls)) == 3
    for url in urls:
        assert_presigned_url(server, url)

    datas = [os.urandom(MIN_PART), os.urandom(MIN_PART), os.urandom(123_457)]
    etags = [put_part(url, data) for url, data in zip(urls, datas, strict=True)]
    assert stored_parts(server, repo, upload) == [1, 2, 3]
    # Uploaded parts are not an object yet.
    with pytest.raises(ApiException) as info:
        objects.stat_object(repo, "main", path)
    assert info.value.status == 404

    stats = api.complete_presign_multipart_upload(
        repo,
        "main",
        upload.upload_id,
        path,
        lakefs_sdk.CompletePresignMultipartUpload(
            physical_address=upload.physical_address,
            parts=sdk_parts([(1, etags[0]), (2, etags[1]), (3, etags[2])]),
            user_metadata={"owner": "ann", "run-id": "7"},
            content_type="application/x-parquet",
        ),
    )
    data = b"".join(datas)
    assert isinstance(stats, lakefs_sdk.ObjectStats)
    assert stats.path == path
    assert stats.path_type == "object"
    assert stats.physical_address == upload.physical_address
    assert stats.size_bytes == len(data)
    assert stats.checksum == multipart_checksum(datas)
    assert stats.checksum.endswith("-3")
    assert stats.content_type == "application/x-parquet"
    assert stats.metadata == {"owner": "ann", "run-id": "7"}
    assert stats.mtime > 0

    assert bytes(objects.get_object(repo, "main", path)) == data
    assert server.read_object(upload.physical_address) == data
    stat = objects.stat_object(repo, "main", path)
    assert (stat.checksum, stat.size_bytes, stat.content_type) == (
        stats.checksum,
        len(data),
        stats.content_type,
    )
    assert stat.metadata == {"owner": "ann", "run-id": "7"}
    assert [o.path for o in objects.list_objects(repo, "main").results] == [path]
    # The parts are gone from the store (on local: nothing under the parts directory).
    assert stored_parts(server, repo, upload) is None
    assert not [u for u in server.stored_uris(server.namespace(repo)) if u.startswith(parts_prefix(upload))]

    diff = lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results
    assert [(d.path, d.type, d.path_type) for d in diff] == [(path, "added", "object")]
    commit = lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="multipart"))
    assert lakefs_sdk.BranchesApi(sdk).diff_branch(repo, "main").results == []
    committed = lakefs_sdk.RefsApi(sdk).diff_refs(repo, commit.parents[0], commit.id).results
    assert [(d.path, d.type) for d in committed] == [(path, "added")]
    at_commit = objects.stat_object(repo, commit.id, path)
    assert (at_commit.checksum, at_commit.size_bytes) == (stats.checksum, len(data))
    assert at_commit.physical_address == upload.physical_address


def test_upload_part_url_for_a_part_not_requested(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    api = lakefs_sdk.ExperimentalApi(sdk)
    path = "late-url.bin"
    upload = api.create_presign_multipart_upload(repo, "main", path, parts=0)
    assert upload.presigned_urls is None
    raw = http.post(pmpu_url(repo), params={"path": "raw", "parts": 0})
    assert raw.status_code == 201, raw.text
    assert "presigned_urls" not in raw.json()
    assert raw.json()["upload_id"] and raw.json()["physical_address"]

    given = api.upload_part(
        repo,
        "main",
        upload.upload_id,
        path,
        1,
        lakefs_sdk.UploadPartFrom(physical_address=upload.physical_address),
    )
    assert isinstance(given, lakefs_sdk.UploadTo)
    assert_presigned_url(server, given.presigned_url)
    data = os.urandom(300_000)
    etag = put_part(given.presigned_url, data)
    assert stored_parts(server, repo, upload) == [1]

    stats = api.complete_presign_multipart_upload(
        repo,
        "main",
        upload.upload_id,
        path,
        lakefs_sdk.CompletePresignMultipartUpload(
            physical_address=upload.physical_address, parts=sdk_parts([(1, etag)])
        ),
    )
    assert stats.size_bytes == len(data)
    assert stats.checksum == multipart_checksum([data])
    assert stats.checksum.endswith("-1")
    assert stats.metadata == {}
    assert bytes(lakefs_sdk.ObjectsApi(sdk).get_object(repo, "main", path)) == data
    assert stored_parts(server, repo, upload) is None


def test_upload_part_copy_assembles_ranges(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    api = lakefs_sdk.ExperimentalApi(sdk)
    source = os.urandom(2 * MIN_PART + 4096)
    uploaded = http.post(
        upload_url(repo),
        params={"path": "src/big.bin"},
        content=source,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    commit = lakefs_sdk.CommitsApi(sdk).commit(repo, "main", lakefs_sdk.CommitCreation(message="source"))

    path = "assembled.bin"
    upload = api.create_presign_multipart_upload(repo, "main", path, parts=0)
    address = upload.physical_address

    # Part 1: exactly 5 MiB of the committed source, through the SDK.
    first = api.upload_part_copy_with_http_info(
        repo,
        "main",
        upload.upload_id,
        path,
        1,
        lakefs_sdk.UploadPartCopyFrom(
            physical_address=address,
            copy_source=lakefs_sdk.CopyPartSource(
                repository=repo, ref=commit.id, path="src/big.bin", range=f"bytes=0-{MIN_PART - 1}"
            ),
        ),
    )
    assert first.status_code == 204
    assert first.data is None
    etag1 = first.headers["ETag"]
    assert etag1.strip('"') == md5(source[:MIN_PART])

    # Part 2: the rest of it, read from the branch, over plain HTTP.
    second = http.put(
        f"{pmpu_url(repo)}/{upload.upload_id}/parts/2/copy",
        params={"path": path},
        json={
            "physical_address": address,
            "copy_source": {
                "repository": repo,
                "ref": "main",
                "path": "src/big.bin",
                "range": f"bytes={MIN_PART}-{len(source) - 1}",
            },
        },
    )
    assert second.status_code == 204, second.text
    assert second.content == b""
    etag2 = second.headers["etag"]
    assert etag2.strip('"') == md5(source[MIN_PART:])

    # Part 3: uploaded normally.
    tail = os.urandom(2048)
    url = api.upload_part(
        repo, "main", upload.upload_id, path, 3, lakefs_sdk.UploadPartFrom(physical_address=address)
    ).presigned_url
    etag3 = put_part(url, tail)

    stats = api.complete_presign_multipart_upload(
        repo,
        "main",
        upload.upload_id,
        path,
        lakefs_sdk.CompletePresignMultipartUpload(
            physical_address=address, parts=sdk_parts([(1, etag1), (2, etag2), (3, etag3)])
        ),
    )
    assert stats.size_bytes == len(source) + len(tail)
    assert stats.checksum == multipart_checksum([source[:MIN_PART], source[MIN_PART:], tail])
    assert bytes(lakefs_sdk.ObjectsApi(sdk).get_object(repo, "main", path)) == source + tail
    # The source is untouched.
    assert (
        bytes(lakefs_sdk.ObjectsApi(sdk).get_object(repo, "main", "src/big.bin", range="bytes=0-99"))
        == (source[:100])
    )
    assert stored_parts(server, repo, upload) is None


# abort ---------------------------------------------------------------------------------------


def test_abort_removes_the_parts(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    api = lakefs_sdk.ExperimentalApi(sdk)
    namespace = server.namespace(repo)
    path = "aborted.bin"
    upload = api.create_presign_multipart_upload(repo, "main", path, parts=2)
    before = server.stored_uris(namespace)
    etags = [put_part(url, os.urandom(64 * 1024)) for url in upload.presigned_urls or []]
    assert stored_parts(server, repo, upload) == [1, 2]
    if server.backend.blockstore_type == "local":
        assert server.stored_uris(namespace) != before

    abort = lakefs_sdk.AbortPresignMultipartUpload(physical_address=upload.physical_address)
    assert api.abort_presign_multipart_upload(repo, "main", upload.upload_id, path, abort) is None
    assert server.stored_uris(namespace) == before
    assert stored_parts(server, repo, upload) is None
    assert stat_status(http, repo, path) == 404

    url = f"{pmpu_url(repo)}/{upload.upload_id}"
    body = completion(upload.physical_address, [(1, etags[0]), (2, etags[1])])
    assert_error(http.put(url, params={"path": path}, json=body), 404)
    with pytest.raises(ApiException) as info:
        api.complete_presign_multipart_upload(
            repo,
            "main",
            upload.upload_id,
            path,
            lakefs_sdk.CompletePresignMultipartUpload(
                physical_address=upload.physical_address, parts=sdk_parts([(1, etags[0]), (2, etags[1])])
            ),
        )
    assert info.value.status == 404
    # The upload is gone for every operation.
    address = {"physical_address": upload.physical_address}
    assert_error(http.request("DELETE", url, params={"path": path}, json=address), 404)
    assert_error(http.put(f"{url}/parts/1", params={"path": path}, json=address), 404)
    assert stat_status(http, repo, path) == 404
    assert server.stored_uris(namespace) == before


# errors --------------------------------------------------------------------------------------


def test_create_refuses_parts_out_of_range(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    before = server.stored_uris(server.namespace(repo))
    for parts in (-1, 10001):
        response = http.post(pmpu_url(repo), params={"path": "x.bin", "parts": parts})
        assert_error(response, 400, "parts")
    with pytest.raises(ApiException) as info:
        lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(repo, "main", "x.bin", parts=-1)
    assert info.value.status == 400
    assert server.stored_uris(server.namespace(repo)) == before
    assert stat_status(http, repo, "x.bin") == 404


def test_missing_repository_or_branch(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    missing_repo = f"no-repo-{uuid.uuid4().hex[:8]}"
    for url in (pmpu_url(missing_repo), pmpu_url(repo, "no-such-branch")):
        assert_error(http.post(url, params={"path": "x.bin", "parts": 1}), 404)
    with pytest.raises(ApiException) as info:
        lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(
            repo, "no-such-branch", "x.bin", parts=1
        )
    assert info.value.status == 404

    # An open upload addressed through a repository or branch that does not exist.
    path = "open.bin"
    upload, etags, _ = start_upload(sdk, repo, path, [1000])
    address = {"physical_address": upload.physical_address}
    body = completion(upload.physical_address, [(1, etags[0])])
    source = http.post(upload_url(repo), params={"path": "src.bin"}, content=b"source bytes")
    assert source.status_code == 201, source.text
    copy = {**address, "copy_source": {"repository": repo, "ref": "main", "path": "src.bin"}}
    for base in (pmpu_url(missing_repo), pmpu_url(repo, "no-such-branch")):
        url = f"{base}/{upload.upload_id}"
        assert_error(http.put(url, params={"path": path}, json=body), 404)
        assert_error(http.request("DELETE", url, params={"path": path}, json=address), 404)
        assert_error(http.put(f"{url}/parts/2", params={"path": path}, json=address), 404)
        assert_error(http.put(f"{url}/parts/2/copy", params={"path": path}, json=copy), 404)
    assert stat_status(http, repo, path) == 404
    # None of it touched the upload.
    done = http.put(f"{pmpu_url(repo)}/{upload.upload_id}", params={"path": path}, json=body)
    assert done.status_code == 200, done.text


def test_unknown_upload_id(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    path = "unknown.bin"
    upload, etags, _ = start_upload(sdk, repo, path, [1000])
    before = server.stored_uris(server.namespace(repo))
    address = {"physical_address": upload.physical_address}
    body = completion(upload.physical_address, [(1, etags[0])])
    for upload_id in (uuid.uuid4().hex, upload.upload_id + "x"):
        url = f"{pmpu_url(repo)}/{upload_id}"
        assert_error(http.put(url, params={"path": path}, json=body), 404)
        assert_error(http.request("DELETE", url, params={"path": path}, json=address), 404)
        assert_error(http.put(f"{url}/parts/1", params={"path": path}, json=address), 404)
        assert stat_status(http, repo, path) == 404
    # The right id with an address that was never handed out is no upload either.
    url = f"{pmpu_url(repo)}/{upload.upload_id}"
    other = completion(upload.physical_address + "x", [(1, etags[0])])
    assert_error(http.put(url, params={"path": path}, json=other), 404)
    assert stat_status(http, repo, path) == 404
    assert server.stored_uris(server.namespace(repo)) == before

    api = lakefs_sdk.ExperimentalApi(sdk)
    with pytest.raises(ApiException) as info:
        api.upload_part(repo, "main", uuid.uuid4().hex, path, 1, lakefs_sdk.UploadPartFrom(**address))
    assert info.value.status == 404
    with pytest.raises(ApiException) as info:
        api.abort_presign_multipart_upload(
            repo, "main", uuid.uuid4().hex, path, lakefs_sdk.AbortPresignMultipartUpload(**address)
        )
    assert info.value.status == 404
    # The real upload is still there.
    assert http.put(url, params={"path": path}, json=body).status_code == 200


def test_complete_twice(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    path = "twice.bin"
    upload, etags, datas = start_upload(sdk, repo, path, [4096])
    url = f"{pmpu_url(repo)}/{upload.upload_id}"
    body = completion(upload.physical_address, [(1, etags[0])])
    first = http.put(url, params={"path": path}, json=body)
    assert first.status_code == 200, first.text
    before = server.stored_uris(server.namespace(repo))
    assert_error(http.put(url, params={"path": path}, json=body), 404)
    # Completed, the upload is no longer known to abort either.
    address = {"physical_address": upload.physical_address}
    assert_error(http.request("DELETE", url, params={"path": path}, json=address), 404)
    stat = http.get(objects_url(repo) + "/stat", params={"path": path})
    assert stat.status_code == 200
    assert stat.json()["checksum"] == first.json()["checksum"] == multipart_checksum(datas)
    assert http.get(objects_url(repo), params={"path": path}).content == datas[0]
    assert server.stored_uris(server.namespace(repo)) == before


def test_refused_completes_leave_the_upload_open(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    namespace = server.namespace(repo)
    path = "refused.bin"
    upload, (first, second), datas = start_upload(sdk, repo, path, [MIB, MIB])
    url = f"{pmpu_url(repo)}/{upload.upload_id}"
    cases: dict[str, list[tuple[int, str]]] = {
        "empty parts": [],
        "duplicate part number": [(1, first), (1, first)],
        "out of order": [(2, second), (1, first)],
        "ETag of no uploaded part": [(1, f'"{md5(b"not a part")}"')],
        "ETag of another part": [(1, second)],
        "not an ETag": [(1, "not-an-etag")],
        "part never uploaded": [(3, first)],
        "part but the last below 5 MiB": [(1, first), (2, second)],
    }
    for case, parts in cases.items():
        before = server.stored_uris(namespace)
        response = http.put(url, params={"path": path}, json=completion(upload.physical_address, parts))
        assert response.status_code == 400, (case, response.text)
        assert_error(response, 400)
        assert stat_status(http, repo, path) == 404, case
        assert server.stored_uris(namespace) == before, case
        assert stored_parts(server, repo, upload) == [1, 2], case

    # The upload is still open: the right parts complete it.
    done = http.put(url, params={"path": path}, json=completion(upload.physical_address, [(1, first)]))
    assert done.status_code == 200, done.text
    assert done.json()["size_bytes"] == MIB
    assert done.json()["checksum"] == multipart_checksum([datas[0]])
    assert http.get(objects_url(repo), params={"path": path}).content == datas[0]
    assert stored_parts(server, repo, upload) is None


def test_upload_part_number_out_of_range(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    path = "numbers.bin"
    upload = lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(repo, "main", path, parts=0)
    url = f"{pmpu_url(repo)}/{upload.upload_id}/parts"
    address = {"physical_address": upload.physical_address}
    for number in ("0", "10001", "-1"):
        assert_error(http.put(f"{url}/{number}", params={"path": path}, json=address), 400)
    for number in ("1", "10000"):
        response = http.put(f"{url}/{number}", params={"path": path}, json=address)
        assert response.status_code == 200, response.text
        assert_presigned_url(server, response.json()["presigned_url"])
    assert stored_parts(server, repo, upload) in (None, [])


def test_upload_part_copy_refusals(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    namespace = server.namespace(repo)
    source = os.urandom(1000)
    uploaded = http.post(upload_url(repo), params={"path": "src.bin"}, content=source)
    assert uploaded.status_code == 201, uploaded.text
    path = "copied.bin"
    upload = lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(repo, "main", path, parts=0)
    url = f"{pmpu_url(repo)}/{upload.upload_id}/parts/1/copy"

    def copy(**source_fields: str) -> httpx.Response:
        copy_source = {"repository": repo, "ref": "main", "path": "src.bin", **source_fields}
        body = {"physical_address": upload.physical_address, "copy_source": copy_source}
        return http.put(url, params={"path": path}, json=body)

    before = server.stored_uris(namespace)
    for bad in ("bytes=a-b", "0-99", "bytes 0-99", "items=0-99", "bytes=0-9,20-29", "bytes=x"):
        assert_error(copy(range=bad), 400)
    # As in S3, a range must lie within the source: past its end, or ending before it
    # starts, it is refused rather than cut short.
    for outside in ("bytes=500-1000", "bytes=1000-1001", "bytes=9-3"):
        assert_error(copy(range=outside), 400)
    assert_error(copy(path="no-such-object"), 404)
    assert_error(copy(ref="no-such-ref"), 404)
    assert_error(copy(repository=f"no-repo-{uuid.uuid4().hex[:8]}"), 404)
    assert server.stored_uris(namespace) == before
    assert stored_parts(server, repo, upload) in (None, [])
    assert stat_status(http, repo, path) == 404

    # The range is inclusive, as HTTP's; the upload still works after the refusals.
    good = copy(range="bytes=100-299")
    assert good.status_code == 204, good.text
    etag = good.headers["etag"]
    assert etag.strip('"') == md5(source[100:300])
    done = http.put(
        f"{pmpu_url(repo)}/{upload.upload_id}",
        params={"path": path},
        json=completion(upload.physical_address, [(1, etag)]),
    )
    assert done.status_code == 200, done.text
    assert done.json()["size_bytes"] == 200
    assert http.get(objects_url(repo), params={"path": path}).content == source[100:300]


def test_a_part_uploaded_again_replaces_the_first(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    """As in S3: only the last upload of a part number counts, on every blockstore."""
    path = "again.bin"
    upload = lakefs_sdk.ExperimentalApi(sdk).create_presign_multipart_upload(repo, "main", path, parts=1)
    url = (upload.presigned_urls or [])[0]
    first, second = os.urandom(1000), os.urandom(1000)
    first_etag, second_etag = put_part(url, first), put_part(url, second)
    complete = f"{pmpu_url(repo)}/{upload.upload_id}"
    stale = http.put(
        complete, params={"path": path}, json=completion(upload.physical_address, [(1, first_etag)])
    )
    assert_error(stale, 400)
    assert stat_status(http, repo, path) == 404
    done = http.put(
        complete, params={"path": path}, json=completion(upload.physical_address, [(1, second_etag)])
    )
    assert done.status_code == 200, done.text
    assert http.get(objects_url(repo), params={"path": path}).content == second
