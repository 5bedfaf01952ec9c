"""Request input at the edge of the contract: page bounds, UTF-8 in headers and queries,
and objects whose bytes vanished from storage."""

from __future__ import annotations

import httpx
from conftest import Server, assert_error, objects_url, upload_url


def put(http: httpx.Client, repo: str, path: str, data: bytes = b"data", **headers: str | bytes) -> dict:
    response = http.post(
        upload_url(repo),
        params={"path": path},
        content=data,
        headers={"Content-Type": "application/octet-stream", **headers},
    )
    assert response.status_code == 201, response.text
    return response.json()


def stat(http: httpx.Client, repo: str, path: str) -> dict:
    response = http.get(objects_url(repo) + "/stat", params={"path": path})
    assert response.status_code == 200, response.text
    return response.json()


def remove_behind_back(server: Server, uri: str) -> None:
    """Delete the bytes stored at ``uri`` in the server's blockstore, behind its back."""
    scheme, _, rest = uri.partition("://")
    if scheme == "local":
        (server.data_dir / "block" / rest).unlink()
        return
    bucket, _, key = rest.partition("/")
    server._s3().delete_object(Bucket=bucket, Key=key)


# amount ---------------------------------------------------------------------------------


def test_amount_above_the_maximum_is_refused(http: httpx.Client, repo: str) -> None:
    # The contract's PaginationAmount has maximum 1000, and lakeFS validates requests
    # against it: more is a 400, not a silently shorter page.
    lists = [
        objects_url(repo) + "/ls",
        f"/repositories/{repo}/branches",
        f"/repositories/{repo}/tags",
        f"/repositories/{repo}/refs/main/commits",
        "/repositories",
    ]
    for url in lists:
        for amount in ("1001", "99999999999999999999999"):
            assert_error(http.get(url, params={"amount": amount}), 400, "amount", "1000")


def test_amount_within_bounds_pages(http: httpx.Client, repo: str) -> None:
    for name in ("a", "b", "c"):
        put(http, repo, name)
    url = objects_url(repo) + "/ls"
    for amount in ("-1", "0", "1000"):
        page = http.get(url, params={"amount": amount})
        assert page.status_code == 200, page.text
        assert [r["path"] for r in page.json()["results"]] == ["a", "b", "c"]
    assert [r["path"] for r in http.get(url, params={"amount": 2}).json()["results"]] == ["a", "b"]


# UTF-8 in headers -----------------------------------------------------------------------


def test_metadata_headers_are_utf8(http: httpx.Client, repo: str) -> None:
    stats = put(
        http,
        repo,
        "city",
        **{
            "X-Lakefs-Meta-City": "Zürich".encode(),
            "X-Lakefs-Meta-Capital": "東京".encode(),
            # Not UTF-8: kept as the Latin-1 text it is.
            "X-Lakefs-Meta-Legacy": "Zürich".encode("latin-1"),
            "X-Lakefs-Internal-Origin": "Москва".encode(),
        },
    )
    expected = {"city": "Zürich", "capital": "東京", "legacy": "Zürich", "::lakefs::origin": "Москва"}
    assert stats["metadata"] == expected
    assert stat(http, repo, "city")["metadata"] == expected
    listed = http.get(objects_url(repo) + "/ls").json()["results"]
    assert listed[0]["metadata"] == expected


def test_raw_upload_content_type_is_utf8(http: httpx.Client, repo: str) -> None:
    content_type = "text/plain; name=東京-Zürich"
    stats = put(http, repo, "t.txt", b"hello", **{"Content-Type": content_type.encode()})
    assert stats["content_type"] == content_type
    assert stat(http, repo, "t.txt")["content_type"] == content_type
    # Served back as the UTF-8 bytes it arrived as (and not a 5xx: the text is not Latin-1).
    for response in (
        http.get(objects_url(repo), params={"path": "t.txt"}),
        http.head(objects_url(repo), params={"path": "t.txt"}),
    ):
        assert response.status_code == 200
        assert dict(response.headers.raw)[b"content-type"] == content_type.encode()


def test_multipart_part_content_type_is_utf8(http: httpx.Client, repo: str) -> None:
    content_type = "text/plain; name=Zürich"
    body = b"".join(
        [
            b"--limnos-boundary\r\n",
            b'Content-Disposition: form-data; name="content"; filename="z.txt"\r\n',
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n",
            b"hello\r\n",
            b"--limnos-boundary--\r\n",
        ]
    )
    response = http.post(
        upload_url(repo),
        params={"path": "z.txt"},
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=limnos-boundary"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == content_type
    assert stat(http, repo, "z.txt")["content_type"] == content_type


# UTF-8 in query parameters --------------------------------------------------------------

_INVALID = ("%FF", "%C3", "%E2%82", "a%C3%28b")


def test_invalid_utf8_path_is_refused_on_upload(http: httpx.Client, repo: str) -> None:
    for escaped in _INVALID:
        response = http.post(f"{upload_url(repo)}?path={escaped}", content=b"x")
        assert_error(response, 400, "path", "UTF-8")
    # Nothing was staged under a replacement character.
    assert http.get(objects_url(repo) + "/ls").json()["results"] == []


def test_invalid_utf8_query_is_refused_everywhere(http: httpx.Client, repo: str) -> None:
    put(http, repo, "a")
    objects, branch = objects_url(repo), upload_url(repo)
    requests = [
        ("GET", f"{objects}?path=%FF"),
        ("HEAD", f"{objects}?path=%FF"),
        ("GET", f"{objects}/stat?path=%C3"),
        ("GET", f"{objects}/underlyingProperties?path=%E2%82"),
        ("GET", f"{objects}/ls?prefix=%FF"),
        ("GET", f"{objects}/ls?after=%C3"),
        ("GET", f"{objects}/ls?delimiter=%FF"),
        ("DELETE", f"{branch}?path=%FF"),
        ("GET", f"{branch}/stage_allowed?path=%FF"),
        ("POST", f"{branch}/copy?dest_path=%FF"),
        ("PUT", f"{branch}/stat/user_metadata?path=%FF"),
        # A parameter the handler reads after the path is checked too.
        ("GET", f"{objects}/stat?path=a&presign=%FF"),
    ]
    for method, url in requests:
        kwargs = {"json": {"src_path": "a"}} if "copy" in url else {}
        if "user_metadata" in url:
            kwargs = {"json": {"set": {}}}
        response = http.request(method, url, **kwargs)
        assert response.status_code == 400, (method, url, response.status_code)
        if method != "HEAD":
            assert_error(response, 400, "UTF-8")


def test_valid_utf8_query_still_works(http: httpx.Client, repo: str) -> None:
    response = http.post(f"{upload_url(repo)}?path=d%C3%BCr/%E6%9D%B1%E4%BA%AC", content=b"x")
    assert response.status_code == 201, response.text
    assert response.json()["path"] == "dür/東京"
    assert stat(http, repo, "dür/東京")["path"] == "dür/東京"
    listed = http.get(f"{objects_url(repo)}/ls?prefix=d%C3%BCr/").json()["results"]
    assert [r["path"] for r in listed] == ["dür/東京"]


# objects whose bytes are gone ------------------------------------------------------------


def test_copy_of_object_with_missing_bytes_is_gone(server: Server, http: httpx.Client, repo: str) -> None:
    source = put(http, repo, "src/gone.bin", b"soon gone")
    remove_behind_back(server, source["physical_address"])
    assert_error(http.get(objects_url(repo), params={"path": "src/gone.bin"}), 410, "src/gone.bin")
    response = http.post(
        upload_url(repo) + "/copy", params={"dest_path": "dest.bin"}, json={"src_path": "src/gone.bin"}
    )
    message = assert_error(response, 410, "src/gone.bin")
    assert "://" not in message
    # Nothing was staged at the destination.
    assert http.get(objects_url(repo) + "/stat", params={"path": "dest.bin"}).status_code == 404
