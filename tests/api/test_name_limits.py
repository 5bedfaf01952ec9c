"""Paths, branch names and tag names up to 4,096 bytes work on both metadata stores; one
byte more is refused as the input it is, before it reaches a store."""

from __future__ import annotations

import secrets
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import (
    Server,
    assert_error,
    objects_url,
    s3_client,
    upload_url,
)

LIMIT = 4096


def random_text(size: int) -> str:
    """``size`` random hex digits: nothing a database could compress to make them fit."""
    return secrets.token_hex(size // 2 + 1)[:size]


def name_of(size: int, *, middle: str = "-é-") -> str:
    """A unique name of ``size`` bytes of UTF-8 (with multi-byte characters in it, unless
    ``middle`` has none)."""
    start = f"{uuid.uuid4().hex[:8]}{middle}"
    return start + random_text(size - len(start.encode()))


def path_of(size: int) -> str:
    """A unique object path of ``size`` bytes, in directories, with multi-byte characters."""
    start = f"dir-é/{uuid.uuid4().hex[:8]}/"
    return start + random_text(size - len(start.encode()))


def test_a_path_of_the_limit_is_stored_listed_committed_and_read(http: httpx.Client, repo: str) -> None:
    path = path_of(LIMIT)
    assert len(path.encode()) == LIMIT
    sibling = path[:-1] + "q"  # the same first thousands of bytes: told apart all the same
    for p, data in ((path, b"at the limit"), (sibling, b"its sibling")):
        put = http.post(upload_url(repo), params={"path": p}, files={"content": data})
        assert put.status_code == 201, put.text
    stat = http.get(f"{objects_url(repo)}/stat", params={"path": path})
    assert stat.status_code == 200, stat.text
    assert stat.json()["path"] == path
    listed = http.get(f"{objects_url(repo)}/ls", params={"prefix": "dir-é/"}).json()["results"]
    assert [o["path"] for o in listed] == sorted([path, sibling])
    commit = http.post(f"/repositories/{repo}/branches/main/commits", json={"message": "long paths"})
    assert commit.status_code == 201, commit.text
    for ref in ("main", commit.json()["id"]):
        read = http.get(objects_url(repo, ref), params={"path": path})
        assert read.status_code == 200 and read.content == b"at the limit"
    deleted = http.delete(f"/repositories/{repo}/branches/main/objects", params={"path": sibling})
    assert deleted.status_code == 204, deleted.text


def test_a_path_over_the_limit_is_refused(http: httpx.Client, repo: str) -> None:
    path = path_of(LIMIT + 1)
    put = http.post(upload_url(repo), params={"path": path}, files={"content": b"x"})
    message = assert_error(put, 400, "path", f"longer than {LIMIT} bytes")
    assert path not in message  # the message names what is wrong, without echoing it all
    stat = http.get(f"{objects_url(repo)}/stat", params={"path": path})
    assert_error(stat, 400, "longer than")
    diff = http.get(f"/repositories/{repo}/branches/main/diff").json()["results"]
    assert diff == []


def test_branch_names_up_to_the_limit(http: httpx.Client, repo: str) -> None:
    name = name_of(LIMIT, middle="-_-")  # branch names are ASCII
    assert len(name.encode()) == LIMIT
    made = http.post(f"/repositories/{repo}/branches", json={"name": name, "source": "main"})
    assert made.status_code == 201, made.text
    put = http.post(upload_url(repo, name), params={"path": "a"}, files={"content": b"on a long branch"})
    assert put.status_code == 201, put.text
    commit = http.post(f"/repositories/{repo}/branches/{name}/commits", json={"message": "on it"})
    assert commit.status_code == 201, commit.text
    got = http.get(f"/repositories/{repo}/branches/{name}")
    assert got.status_code == 200 and got.json()["commit_id"] == commit.json()["id"]
    listed = http.get(f"/repositories/{repo}/branches", params={"amount": 10}).json()["results"]
    assert name in [b["id"] for b in listed]
    assert http.get(objects_url(repo, name), params={"path": "a"}).content == b"on a long branch"

    over = name + "b"
    refused = http.post(f"/repositories/{repo}/branches", json={"name": over, "source": "main"})
    assert_error(refused, 400, "branch", f"longer than {LIMIT} bytes")
    assert http.get(f"/repositories/{repo}/branches/{over}").status_code == 404


def test_tag_names_up_to_the_limit(http: httpx.Client, repo: str) -> None:
    name = name_of(LIMIT)
    made = http.post(f"/repositories/{repo}/tags", json={"id": name, "ref": "main"})
    assert made.status_code == 201, made.text
    got = http.get(f"/repositories/{repo}/tags/{name}")
    assert got.status_code == 200 and got.json()["id"] == name
    listed = http.get(f"/repositories/{repo}/tags", params={"amount": 10}).json()["results"]
    assert [t["id"] for t in listed] == [name]
    assert http.get(f"{objects_url(repo, name)}/ls").status_code == 200

    refused = http.post(f"/repositories/{repo}/tags", json={"id": name + "t", "ref": "main"})
    assert_error(refused, 400, "tag", f"longer than {LIMIT} bytes")
    listed = http.get(f"/repositories/{repo}/tags", params={"amount": 10}).json()["results"]
    assert [t["id"] for t in listed] == [name]


def test_the_gateway_keeps_the_same_limit(server: Server, repo: str) -> None:
    s3 = s3_client(server)
    # The key holds the branch ("main/") before the path.
    path = path_of(LIMIT)
    s3.put_object(Bucket=repo, Key=f"main/{path}", Body=b"through S3")
    assert s3.get_object(Bucket=repo, Key=f"main/{path}")["Body"].read() == b"through S3"
    listed = s3.list_objects_v2(Bucket=repo, Prefix="main/dir-é/")
    assert [o["Key"] for o in listed["Contents"]] == [f"main/{path}"]
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=repo, Key=f"main/{path}x", Body=b"one byte too long")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert f"longer than {LIMIT} bytes" in error["Error"]["Message"]
