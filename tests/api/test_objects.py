"""Object operations over HTTP with the official clients: upload, read, ranges, list, delete, copy."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import lakefs
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, objects_url, upload_url
from lakefs.exceptions import NotFoundException, ObjectExistsException
from lakefs_sdk.exceptions import ApiException


def wrapper_branch(server: Server, repo: str, branch: str = "main") -> lakefs.Branch:
    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    return lakefs.Repository(repo, client=client).branch(branch)


def put(http: httpx.Client, repo: str, path: str, data: bytes, branch: str = "main", **headers: str) -> dict:
    response = http.post(
        upload_url(repo, branch),
        params={"path": path},
        content=data,
        headers={"Content-Type": "application/octet-stream", **headers},
    )
    assert response.status_code == 201, response.text
    return response.json()


def get(http: httpx.Client, repo: str, path: str, ref: str = "main", **headers: str) -> httpx.Response:
    return http.get(objects_url(repo, ref), params={"path": path}, headers=headers)


def commit(sdk: lakefs_sdk.ApiClient, repo: str, branch: str = "main") -> str:
    created = lakefs_sdk.CommitsApi(sdk).commit(repo, branch, lakefs_sdk.CommitCreation(message="m"))
    return created.id


def error_message(response: httpx.Response) -> str:
    message = response.json()["message"]
    assert message
    return message


# uploads and reads ----------------------------------------------------------------------


def test_wrapper_round_trip(server: Server, repo: str) -> None:
    branch = wrapper_branch(server, repo)
    obj = branch.object("data/hello.txt")
    assert not obj.exists()
    data = b"hello, world\n" * 100
    info = obj.upload(data=data, content_type="text/plain").stat()
    assert info.size_bytes == len(data)
    assert info.checksum == hashlib.md5(data).hexdigest()
    assert info.content_type == "text/plain"
    assert info.physical_address.startswith(server.namespace(repo) + "/")
    assert obj.exists()
    assert obj.reader(mode="rb").read() == data
    with obj.reader(mode="r") as reader:
        assert reader.read(5) == "hello"
        assert reader.read() == (data[5:]).decode()

    obj.delete()
    assert not obj.exists()
    with pytest.raises(NotFoundException):
        obj.stat()


def test_upload_octet_stream_answer(server: Server, http: httpx.Client, repo: str) -> None:
    data = os.urandom(1000)
    stats = put(http, repo, "raw.bin", data)
    assert stats["path"] == "raw.bin"
    assert stats["path_type"] == "object"
    assert stats["size_bytes"] == 1000
    assert stats["checksum"] == hashlib.md5(data).hexdigest()
    assert stats["content_type"] == "application/octet-stream"
    assert stats["metadata"] == {}
    assert stats["physical_address"].startswith(server.namespace(repo) + "/")
    assert isinstance(stats["mtime"], int) and stats["mtime"] > 0
    # Any other content type is a raw body too, stored as the object's type.
    stats = put(http, repo, "t.csv", b"a,b\n1,2\n", **{"Content-Type": "text/csv"})
    assert stats["content_type"] == "text/csv"
    response = get(http, repo, "t.csv")
    assert response.content == b"a,b\n1,2\n"
    assert response.headers["content-type"] == "text/csv"


def test_upload_multipart_with_sdk(sdk: lakefs_sdk.ApiClient, repo: str, tmp_path: Path) -> None:
    api = lakefs_sdk.ObjectsApi(sdk)
    data = os.urandom(300_000)
    # The SDK sends the file at a local path as the "content" part.
    source = tmp_path / "one.json"
    source.write_bytes(data)
    stats = api.upload_object(repo, "main", "mp/one.bin", content=str(source))
    assert stats.content_type == "application/json"
    assert stats.size_bytes == len(data)
    assert stats.checksum == hashlib.md5(data).hexdigest()
    assert stats.path_type == "object"
    assert bytes(api.get_object(repo, "main", "mp/one.bin")) == data
    assert api.stat_object(repo, "main", "mp/one.bin").checksum == stats.checksum


def test_upload_multipart_part_content_type(http: httpx.Client, repo: str) -> None:
    data = b'{"a": 1}'
    response = http.post(
        upload_url(repo),
        params={"path": "doc.json"},
        data={"before": "ignored"},
        files={"content": ("doc.json", data, "application/json"), "after": ("x", b"ignored too")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "application/json"
    assert response.json()["size_bytes"] == len(data)
    read = get(http, repo, "doc.json")
    assert read.content == data
    assert read.headers["content-type"] == "application/json"


def test_upload_multipart_errors(http: httpx.Client, repo: str) -> None:
    missing = http.post(upload_url(repo), params={"path": "x"}, files={"other": ("x", b"data")})
    assert missing.status_code == 400
    assert "content" in error_message(missing)

    no_boundary = http.post(
        upload_url(repo),
        params={"path": "x"},
        content=b"data",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert no_boundary.status_code == 400

    truncated = http.post(
        upload_url(repo),
        params={"path": "x"},
        content=b'--b\r\nContent-Disposition: form-data; name="content"\r\n\r\npartial data',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert truncated.status_code == 400
    garbage = http.post(
        upload_url(repo),
        params={"path": "x"},
        content=b"not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert garbage.status_code == 400
    assert get(http, repo, "x").status_code == 404


def test_large_object_streams_both_ways(http: httpx.Client, repo: str) -> None:
    size = 20 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    digest = hashlib.md5(block * 20).hexdigest()

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    response = http.post(
        upload_url(repo),
        params={"path": "big.bin"},
        content=body(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == size
    assert response.json()["checksum"] == digest

    md5 = hashlib.md5()
    received = 0
    with http.stream("GET", objects_url(repo), params={"path": "big.bin"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-length"] == str(size)
        for chunk in stream.iter_bytes():
            md5.update(chunk)
            received += len(chunk)
    assert received == size
    assert md5.hexdigest() == digest

    # A range across internal chunk boundaries, deep in the object.
    first = 3 * 1024 * 1024 - 7
    last = first + 600_000
    ranged = get(http, repo, "big.bin", Range=f"bytes={first}-{last}")
    assert ranged.status_code == 206
    expected = (block * 20)[first : last + 1]
    assert ranged.content == expected
    assert ranged.headers["content-range"] == f"bytes {first}-{last}/{size}"

    # Multipart uploads stream too.
    multipart = http.post(
        upload_url(repo),
        params={"path": "big-mp.bin"},
        files={"content": ("big", block * 20, "application/x-big")},
    )
    assert multipart.status_code == 201, multipart.text
    assert multipart.json()["checksum"] == digest
    assert multipart.json()["content_type"] == "application/x-big"


def test_empty_object(server: Server, http: httpx.Client, repo: str) -> None:
    stats = put(http, repo, "empty", b"")
    assert stats["size_bytes"] == 0
    response = get(http, repo, "empty")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    ranged = get(http, repo, "empty", Range="bytes=0-")
    assert ranged.status_code == 416
    assert ranged.headers["content-range"] == "bytes */0"
    assert wrapper_branch(server, repo).object("empty").reader(mode="rb").read() == b""


# ranges and conditional requests ---------------------------------------------------------


def test_ranges(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    data = bytes(range(100))
    put(http, repo, "r.bin", data)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=5-": (5, 99),
        "bytes=-10": (90, 99),
        "bytes=-1000": (0, 99),
        "bytes=95-200": (95, 99),
        "bytes=42-42": (42, 42),
    }
    for header, (first, last) in cases.items():
        response = get(http, repo, "r.bin", Range=header)
        assert response.status_code == 206, header
        assert response.content == data[first : last + 1], header
        assert response.headers["content-range"] == f"bytes {first}-{last}/100", header
        assert response.headers["content-length"] == str(last - first + 1), header
        assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'

    for header in ("bytes=100-", "bytes=100-120", "bytes=-0", "bytes=9-3", "bytes=0-1,5-6"):
        response = get(http, repo, "r.bin", Range=header)
        assert response.status_code == 416, header
        assert response.headers["content-range"] == "bytes */100", header
        assert error_message(response)

    for header in ("items=0-1", "bytes=a-b", "bytes 0-1", "0-1"):
        response = get(http, repo, "r.bin", Range=header)
        assert response.status_code == 400, header
        assert error_message(response)

    api = lakefs_sdk.ObjectsApi(sdk)
    assert bytes(api.get_object(repo, "main", "r.bin", range="bytes=10-19")) == data[10:20]
    with pytest.raises(ApiException) as info:
        api.get_object(repo, "main", "r.bin", range="bytes=500-")
    assert info.value.status == 416


def test_head_object(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    data = b"0123456789" * 10
    put(http, repo, "h.txt", data, **{"Content-Type": "text/plain"})
    head = http.head(objects_url(repo), params={"path": "h.txt"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "100"
    assert head.headers["content-type"] == "text/plain"
    assert head.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert head.headers["accept-ranges"] == "bytes"
    ranged = http.head(objects_url(repo), params={"path": "h.txt"}, headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == "bytes 10-19/100"
    assert ranged.headers["content-length"] == "10"
    assert (
        http.head(objects_url(repo), params={"path": "h.txt"}, headers={"Range": "bytes=200-"}).status_code
        == 416
    )
    assert http.head(objects_url(repo), params={"path": "nope"}).status_code == 404
    api = lakefs_sdk.ObjectsApi(sdk)
    api.head_object(repo, "main", "h.txt")
    with pytest.raises(ApiException) as info:
        api.head_object(repo, "main", "nope")
    assert info.value.status == 404


def test_conditional_get(http: httpx.Client, repo: str) -> None:
    data = b"conditional"
    stats = put(http, repo, "c.txt", data)
    response = get(http, repo, "c.txt")
    etag = response.headers["etag"]
    assert etag == f'"{stats["checksum"]}"'
    assert int(parsedate_to_datetime(response.headers["last-modified"]).timestamp()) == stats["mtime"]

    not_modified = get(http, repo, "c.txt", **{"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    # The bare checksum and weak forms name the same version.
    assert get(http, repo, "c.txt", **{"If-None-Match": stats["checksum"]}).status_code == 304
    assert get(http, repo, "c.txt", **{"If-None-Match": f'"x", W/{etag}'}).status_code == 304

    changed = get(http, repo, "c.txt", **{"If-None-Match": '"0123"'})
    assert changed.status_code == 200
    assert changed.content == data


def test_conditional_upload(server: Server, http: httpx.Client, repo: str) -> None:
    first = http.post(
        upload_url(repo),
        params={"path": "once"},
        content=b"1",
        headers={"If-None-Match": "*", "Content-Type": "application/octet-stream"},
    )
    assert first.status_code == 201, first.text
    again = http.post(
        upload_url(repo),
        params={"path": "once"},
        content=b"2",
        headers={"If-None-Match": "*", "Content-Type": "application/octet-stream"},
    )
    assert again.status_code == 412
    assert error_message(again)
    multipart = http.post(
        upload_url(repo),
        params={"path": "once"},
        files={"content": ("f", b"3")},
        headers={"If-None-Match": "*"},
    )
    assert multipart.status_code == 412
    assert get(http, repo, "once").content == b"1"

    for headers in ({"If-None-Match": '"abc"'}, {"If-Match": '"abc"'}):
        response = http.post(upload_url(repo), params={"path": "once"}, content=b"4", headers=headers)
        assert response.status_code == 400, headers
        assert error_message(response)
    assert get(http, repo, "once").content == b"1"

    obj = wrapper_branch(server, repo).object("exclusive")
    obj.upload(data=b"first", mode="xb")
    with pytest.raises(ObjectExistsException):
        obj.upload(data=b"second", mode="xb")
    assert obj.reader().read() == b"first"


# listing ---------------------------------------------------------------------------------


def test_list_objects_paging(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    api = lakefs_sdk.ObjectsApi(sdk)
    for path in ("a/1", "a/2", "b/x/1", "c"):
        put(http, repo, path, path.encode())
    commit(sdk, repo)
    for path in ("a/3", "b/y", "d"):
        put(http, repo, path, path.encode())
    api.delete_object(repo, "main", "a/2")

    every = [r.path for r in api.list_objects(repo, "main").results]
    assert every == ["a/1", "a/3", "b/x/1", "b/y", "c", "d"]
    committed = [r.path for r in api.list_objects(repo, "main@").results]
    assert committed == ["a/1", "a/2", "b/x/1", "c"]

    paged: list[str] = []
    after = ""
    while True:
        page = api.list_objects(repo, "main", amount=2, after=after)
        paged.extend(r.path for r in page.results)
        assert len(page.results) <= 2
        if not page.pagination.has_more:
            assert page.pagination.next_offset == ""
            break
        assert page.pagination.next_offset == page.results[-1].path
        after = page.pagination.next_offset
    assert paged == every

    top = api.list_objects(repo, "main", delimiter="/")
    assert [(r.path, r.path_type) for r in top.results] == [
        ("a/", "common_prefix"),
        ("b/", "common_prefix"),
        ("c", "object"),
        ("d", "object"),
    ]
    raw = http.get(objects_url(repo) + "/ls", params={"delimiter": "/", "amount": 1}).json()
    assert raw["results"] == [
        {"path": "a/", "path_type": "common_prefix", "checksum": "", "mtime": 0, "physical_address": ""}
    ]
    assert raw["pagination"] == {"has_more": True, "next_offset": "a/", "results": 1, "max_per_page": 1000}
    after_prefix = api.list_objects(repo, "main", delimiter="/", after="a/", amount=1)
    assert [r.path for r in after_prefix.results] == ["b/"]

    under_b = api.list_objects(repo, "main", prefix="b/", delimiter="/")
    assert [r.path for r in under_b.results] == ["b/x/", "b/y"]
    assert [r.path for r in api.list_objects(repo, "main", prefix="a/").results] == ["a/1", "a/3"]

    branch = wrapper_branch(server, repo)
    listed = list(branch.objects(prefix="b/", delimiter="/"))
    assert [type(item).__name__ for item in listed] == ["CommonPrefix", "ObjectInfo"]
    assert [item.path for item in listed] == ["b/x/", "b/y"]
    assert [item.path for item in branch.objects(max_amount=3)] == every[:3]


def test_list_objects_bad_input(http: httpx.Client, repo: str) -> None:
    for params in ({"amount": "abc"}, {"amount": "-5"}, {"user_metadata": "maybe"}, {"presign": "yes!"}):
        response = http.get(objects_url(repo) + "/ls", params=params)
        assert response.status_code == 400, params
        assert error_message(response)
    missing = http.get(objects_url(repo, "no-such-branch") + "/ls")
    assert missing.status_code == 404
    assert error_message(missing)


# deletes ---------------------------------------------------------------------------------


def test_delete_object(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    put(http, repo, "staged", b"s")
    put(http, repo, "committed", b"c")
    commit(sdk, repo)
    put(http, repo, "staged", b"s")
    for path in ("staged", "committed"):
        response = http.delete(upload_url(repo), params={"path": path})
        assert response.status_code == 204
        assert get(http, repo, path).status_code == 404
    # Committed data is unchanged until the next commit.
    assert get(http, repo, "committed", ref="main@").content == b"c"
    # The contract: deleting a missing object is not an error.
    assert http.delete(upload_url(repo), params={"path": "never-there"}).status_code == 204
    assert http.delete(upload_url(repo), params={"path": ""}).status_code == 400
    gone = http.delete(upload_url(repo, "no-such-branch"), params={"path": "x"})
    assert gone.status_code == 404
    assert error_message(gone)


def test_delete_objects(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    api = lakefs_sdk.ObjectsApi(sdk)
    for i in range(5):
        put(http, repo, f"bulk/{i}", b"x")
    commit(sdk, repo)
    put(http, repo, "bulk/staged", b"y")
    result = api.delete_objects(
        repo, "main", lakefs_sdk.PathList(paths=["bulk/0", "bulk/1", "bulk/staged", "missing", ""])
    )
    assert result.errors == []
    remaining = [r.path for r in api.list_objects(repo, "main", prefix="bulk/").results]
    assert remaining == ["bulk/2", "bulk/3", "bulk/4"]

    with_bad = http.post(upload_url(repo) + "/delete", json={"paths": ["bulk/2", "bad\x00path"]})
    assert with_bad.status_code == 200
    errors = with_bad.json()["errors"]
    assert [(e["path"], e["status_code"]) for e in errors] == [("bad\x00path", 400)]
    assert errors[0]["message"]
    assert get(http, repo, "bulk/2").status_code == 404

    too_many = http.post(upload_url(repo) + "/delete", json={"paths": [f"p{i}" for i in range(1001)]})
    assert too_many.status_code == 400
    assert error_message(too_many)
    assert http.post(upload_url(repo) + "/delete", json={"paths": "bulk/3"}).status_code == 400
    assert http.post(upload_url(repo) + "/delete", content=b"{").status_code == 400
    missing = http.post(upload_url(repo, "no-such-branch") + "/delete", json={"paths": ["a"]})
    assert missing.status_code == 404


# copies and metadata ----------------------------------------------------------------------


def test_copy_object(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    api = lakefs_sdk.ObjectsApi(sdk)
    headers = {"Content-Type": "text/plain", "X-Lakefs-Meta-Owner": "ann"}
    source = put(http, repo, "src.txt", b"copy me", **headers)
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="dev", source="main"))

    same_branch = api.copy_object(repo, "main", "dst.txt", lakefs_sdk.ObjectCopyCreation(src_path="src.txt"))
    assert same_branch.path == "dst.txt"
    assert same_branch.checksum == source["checksum"]
    assert same_branch.size_bytes == 7
    assert same_branch.content_type == "text/plain"
    assert same_branch.metadata == {"owner": "ann"}
    assert same_branch.physical_address != source["physical_address"]
    assert get(http, repo, "dst.txt").content == b"copy me"

    # A staged object of main copied to another branch, and back from a commit.
    to_dev = api.copy_object(
        repo, "dev", "from-main.txt", lakefs_sdk.ObjectCopyCreation(src_path="src.txt", src_ref="main")
    )
    assert to_dev.checksum == source["checksum"]
    assert get(http, repo, "from-main.txt", ref="dev").content == b"copy me"
    assert get(http, repo, "from-main.txt").status_code == 404
    commit_id = commit(sdk, repo)
    put(http, repo, "src.txt", b"changed")
    from_commit = api.copy_object(
        repo, "dev", "old.txt", lakefs_sdk.ObjectCopyCreation(src_path="src.txt", src_ref=commit_id)
    )
    assert from_commit.checksum == source["checksum"]
    assert get(http, repo, "old.txt", ref="dev").content == b"copy me"

    url = upload_url(repo) + "/copy"
    missing_src = http.post(url, params={"dest_path": "x"}, json={"src_path": "nope"})
    assert missing_src.status_code == 404
    assert error_message(missing_src)
    missing_branch = http.post(
        upload_url(repo, "nope") + "/copy", params={"dest_path": "x"}, json={"src_path": "src.txt"}
    )
    assert missing_branch.status_code == 404
    missing_ref = http.post(url, params={"dest_path": "x"}, json={"src_path": "src.txt", "src_ref": "nope"})
    assert missing_ref.status_code == 404
    assert http.post(url, params={"dest_path": ""}, json={"src_path": "src.txt"}).status_code == 400
    assert http.post(url, params={"dest_path": "x"}, json={"src_path": ""}).status_code == 400
    assert http.post(url, params={"dest_path": "x"}, json={}).status_code == 400


def test_user_metadata(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    api = lakefs_sdk.ObjectsApi(sdk)
    obj = wrapper_branch(server, repo).object("meta.txt")
    obj.upload(data=b"m", metadata={"color": "blue", "size": "L"})
    assert obj.stat().metadata == {"color": "blue", "size": "L"}

    stats = put(http, repo, "h.txt", b"h", **{"X-Lakefs-Meta-Team": "data", "X-Lakefs-Meta-Run-Id": "7"})
    assert stats["metadata"] == {"team": "data", "run-id": "7"}

    api.update_object_user_metadata(
        repo, "main", "meta.txt", lakefs_sdk.UpdateObjectUserMetadata(set={"color": "red"})
    )
    assert api.stat_object(repo, "main", "meta.txt").metadata == {"color": "red"}
    assert api.stat_object(repo, "main", "meta.txt", user_metadata=False).metadata == {}

    put(http, repo, "plain.txt", b"p")
    listed = http.get(objects_url(repo) + "/ls").json()["results"]
    by_path = {r["path"]: r for r in listed}
    assert by_path["meta.txt"]["metadata"] == {"color": "red"}
    assert "metadata" not in by_path["plain.txt"]
    hidden = http.get(objects_url(repo) + "/ls", params={"user_metadata": "false"}).json()["results"]
    assert all("metadata" not in r for r in hidden)

    url = upload_url(repo) + "/stat/user_metadata"
    answer = http.put(url, params={"path": "h.txt"}, json={"set": {}})
    assert answer.status_code == 201
    assert api.stat_object(repo, "main", "h.txt").metadata == {}
    assert http.put(url, params={"path": "nope"}, json={"set": {"a": "b"}}).status_code == 404
    assert http.put(url, params={"path": "h.txt"}, json={"set": {"a": 1}}).status_code == 400
    assert http.put(url, params={"path": "h.txt"}, json={}).status_code == 400
    assert (
        http.put(
            upload_url(repo, "main@") + "/stat/user_metadata", params={"path": "h.txt"}, json={"set": {}}
        ).status_code
        == 404
    )


# refs ------------------------------------------------------------------------------------


def test_reads_at_refs(sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str) -> None:
    put(http, repo, "v.txt", b"one")
    first = commit(sdk, repo)
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="v1", ref=first))
    put(http, repo, "v.txt", b"two")
    second = commit(sdk, repo)
    put(http, repo, "v.txt", b"three")
    put(http, repo, "new.txt", b"new")

    expected = {
        "main": b"three",
        "main$": b"three",  # the staging area, named explicitly
        "main@": b"two",
        second: b"two",
        second[:12]: b"two",
        "main~1": b"one",
        "main@~1": b"one",
        f"{second}^1": b"one",
        first: b"one",
        "v1": b"one",
    }
    for ref, content in expected.items():
        response = get(http, repo, "v.txt", ref=ref)
        assert response.status_code == 200, ref
        assert response.content == content, ref
        stat = http.get(objects_url(repo, ref) + "/stat", params={"path": "v.txt"})
        assert stat.json()["checksum"] == hashlib.md5(content).hexdigest(), ref

    assert get(http, repo, "new.txt", ref="main@").status_code == 404
    assert get(http, repo, "new.txt", ref="v1").status_code == 404
    # '$' follows a plain branch name only, as in lakeFS.
    for ref, status in (("v1$", 400), (f"{second}$", 400), ("main~1$", 400), ("main$$", 400), ("nope$", 404)):
        assert get(http, repo, "v.txt", ref=ref).status_code == status, ref
    assert [r["path"] for r in http.get(objects_url(repo, "v1") + "/ls").json()["results"]] == ["v.txt"]
    # Writes need a branch: a tag or a commit is not one.
    for ref in ("v1", first, "main@"):
        response = http.post(upload_url(repo, ref), params={"path": "x"}, content=b"x")
        assert response.status_code == 404, ref
        assert error_message(response)


# errors ----------------------------------------------------------------------------------


def test_errors(http: httpx.Client, repo: str) -> None:
    put(http, repo, "e.txt", b"e")
    missing_repo = f"no-repo-{uuid.uuid4().hex[:8]}"
    checks: list[tuple[str, str, dict, int]] = [
        ("GET", objects_url(missing_repo), {"path": "e.txt"}, 404),
        ("GET", objects_url(repo, "nope"), {"path": "e.txt"}, 404),
        ("GET", objects_url(repo), {"path": "nope"}, 404),
        ("GET", objects_url(repo), {"path": ""}, 400),
        ("GET", objects_url(repo), {}, 400),
        ("GET", objects_url(repo), {"path": "nope", "presign": "true"}, 404),
        ("GET", objects_url(repo), {"path": "e.txt", "presign": "perhaps"}, 400),
        ("GET", objects_url(repo, "main~99"), {"path": "e.txt"}, 404),
        ("GET", objects_url(repo) + "/stat", {"path": "nope"}, 404),
        ("GET", objects_url(repo) + "/stat", {"path": "nope", "presign": "true"}, 404),
        ("GET", objects_url(repo) + "/stat", {"path": "e.txt", "user_metadata": "x"}, 400),
        ("GET", objects_url(missing_repo) + "/stat", {"path": "e.txt"}, 404),
        ("GET", objects_url(repo) + "/underlyingProperties", {"path": "nope"}, 404),
        ("GET", objects_url(missing_repo) + "/ls", {}, 404),
        ("POST", upload_url(missing_repo), {"path": "x"}, 404),
        ("POST", upload_url(repo, "nope"), {"path": "x"}, 404),
        ("POST", upload_url(repo), {"path": ""}, 400),
        ("POST", upload_url(repo), {"path": "bad\x00"}, 400),
        ("POST", upload_url(repo), {"path": "x", "force": "sure"}, 400),
        ("DELETE", upload_url(missing_repo), {"path": "x"}, 404),
        ("GET", upload_url(repo) + "/stage_allowed", {"path": "x"}, 204),
        ("GET", upload_url(repo, "nope") + "/stage_allowed", {"path": "x"}, 404),
    ]
    for method, url, params, status in checks:
        response = http.request(method, url, params=params, content=b"body" if method == "POST" else None)
        assert response.status_code == status, (method, url, params, response.text)
        if status >= 400:
            assert error_message(response), (method, url, params)
    props = http.get(objects_url(repo) + "/underlyingProperties", params={"path": "e.txt"})
    assert props.status_code == 200
    assert props.json() == {"storage_class": None}
    assert get(http, repo, "e.txt").content == b"e"


def test_read_only_repository_needs_force(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, read_only_repo: str
) -> None:
    name = read_only_repo
    refused = http.post(upload_url(name), params={"path": "f"}, content=b"x")
    assert refused.status_code == 403
    assert error_message(refused)
    forced = http.post(
        upload_url(name), params={"path": "f", "force": "true", "storageClass": "STANDARD"}, content=b"x"
    )
    assert forced.status_code == 201, forced.text
    assert get(http, name, "f").content == b"x"

    assert http.delete(upload_url(name), params={"path": "f"}).status_code == 403
    assert http.delete(upload_url(name), params={"path": "missing"}).status_code == 403
    bulk = http.post(upload_url(name) + "/delete", json={"paths": ["f", "missing"]})
    assert bulk.status_code == 200
    assert [(e["path"], e["status_code"]) for e in bulk.json()["errors"]] == [("f", 403), ("missing", 403)]
    copy = http.post(upload_url(name) + "/copy", params={"dest_path": "g"}, json={"src_path": "f"})
    assert copy.status_code == 403
    forced_copy = http.post(
        upload_url(name) + "/copy", params={"dest_path": "g"}, json={"src_path": "f", "force": True}
    )
    assert forced_copy.status_code == 201
    assert http.delete(upload_url(name), params={"path": "f", "force": "true"}).status_code == 204
    assert get(http, name, "f").status_code == 404
