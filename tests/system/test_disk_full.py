"""A full disk answers 507 naming the store that is full, in the REST API and the S3
gateway; reads and listings keep working, and no failed write is left staged.

Each test mounts a small tmpfs and puts one store of a server on it (the blockstore, or
the SQLite metadata store), the other on the ordinary disk.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import Server, free_port, objects_url, s3_client, upload_url

SIZE = "4m"
OBJECT = 256 * 1024


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of a few MiB, unmounted afterwards (skipped where mounting is not allowed)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("mounting a tmpfs is not possible here: no mount command")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def start(tmp_path: Path, **stores: Path) -> Server:
    """A server whose stores named in ``stores`` (``metadata``, ``block``) are elsewhere."""
    env = {}
    if "metadata" in stores:
        env["LAKEFS_DATABASE_LOCAL_PATH"] = str(stores["metadata"] / "metadata")
    if "block" in stores:
        env["LAKEFS_BLOCKSTORE_LOCAL_PATH"] = str(stores["block"] / "block")
    return Server(tmp_path / "server", free_port(), workers=1, extra_env=env).start()


def create_repository(http: httpx.Client) -> str:
    name = f"full-{uuid.uuid4().hex[:8]}"
    made = http.post("/repositories", json={"name": name, "storage_namespace": f"local://{name}"})
    assert made.status_code == 201, made.text
    return name


def fill(http: httpx.Client, repo: str, upload: Any, most: int) -> tuple[list[str], httpx.Response]:
    """Upload with ``upload(path)`` until the server refuses; the paths stored, and the refusal."""
    stored: list[str] = []
    for n in range(most):
        path = f"fill/{n:05d}"
        response = upload(path)
        if response.status_code != 201:
            return stored, response
        stored.append(path)
    raise AssertionError(f"{most} uploads fitted on a disk of {SIZE}")


def check_full(response: httpx.Response, store: str) -> None:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["message"]
    assert f"the {store} is full" in message, message


def check_reads(http: httpx.Client, repo: str, stored: list[str], contents: dict[str, bytes]) -> None:
    """Every stored object is listed and read back, and nothing else is staged."""
    listed = http.get(f"{objects_url(repo)}/ls", params={"prefix": "fill/", "amount": 1000})
    assert listed.status_code == 200, listed.text
    assert [o["path"] for o in listed.json()["results"]] == stored
    diff = http.get(f"/repositories/{repo}/branches/main/diff", params={"amount": 1000})
    assert diff.status_code == 200, diff.text
    assert [d["path"] for d in diff.json()["results"]] == stored
    for path in (stored[0], stored[-1]):
        read = http.get(objects_url(repo), params={"path": path})
        assert read.status_code == 200 and read.content == contents[path]


def test_a_full_blockstore_answers_507(tmp_path: Path, small_disk: Path) -> None:
    server = start(tmp_path, block=small_disk)
    try:
        with server.http() as http:
            repo = create_repository(http)
            contents: dict[str, bytes] = {}

            def upload(path: str) -> httpx.Response:
                contents[path] = os.urandom(OBJECT)
                return http.post(upload_url(repo), params={"path": path}, files={"content": contents[path]})

            stored, refusal = fill(http, repo, upload, 64)
            assert stored, "not even one object fitted"
            check_full(refusal, "blockstore")
            check_reads(http, repo, stored, contents)

            s3 = s3_client(server)
            with pytest.raises(ClientError) as raised:
                s3.put_object(Bucket=repo, Key="main/fill/through-s3", Body=os.urandom(OBJECT))
            error = raised.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 507
            assert error["Error"]["Code"] == "InsufficientStorage"
            assert "the blockstore is full" in error["Error"]["Message"]
            got = s3.get_object(Bucket=repo, Key=f"main/{stored[0]}")
            assert got["Body"].read() == contents[stored[0]]
            check_reads(http, repo, stored, contents)
            # The failed writes left no partial file behind: every data file is an object's.
            listed = http.get(f"{objects_url(repo)}/ls", params={"prefix": "fill/", "amount": 1000})
            addresses = {o["physical_address"] for o in listed.json()["results"]}
            root = small_disk / "block"
            files = {f"local://{p.relative_to(root)}" for p in (root / repo).rglob("*") if p.is_file()}
            assert {u for u in files if "/_lakefs/" not in u} == addresses
    finally:
        server.stop()


def test_a_full_metadata_store_answers_507(tmp_path: Path, small_disk: Path) -> None:
    server = start(tmp_path, metadata=small_disk)
    try:
        with server.http() as http:
            repo = create_repository(http)
            contents: dict[str, bytes] = {}
            # Each record large: a long path and user metadata.
            big = {f"x-lakefs-meta-m{i}": secrets.token_hex(2048) for i in range(4)}

            def upload(path: str) -> httpx.Response:
                long_path = f"{path}/{secrets.token_hex(1800)}"
                contents[long_path] = long_path.encode()
                response = http.post(
                    upload_url(repo),
                    params={"path": long_path},
                    files={"content": long_path.encode()},
                    headers=big,
                )
                if response.status_code == 201:
                    stored_paths.append(long_path)
                return response

            stored_paths: list[str] = []
            _, refusal = fill(http, repo, upload, 4000)
            assert stored_paths, "not even one object fitted"
            check_full(refusal, "metadata store")
            check_reads(http, repo, sorted(stored_paths), contents)

            s3 = s3_client(server)
            with pytest.raises(ClientError) as raised:
                s3.put_object(Bucket=repo, Key=f"main/fill/{secrets.token_hex(1800)}", Body=b"x")
            error = raised.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 507
            assert error["Error"]["Code"] == "InsufficientStorage"
            assert "the metadata store is full" in error["Error"]["Message"]
            got = s3.get_object(Bucket=repo, Key=f"main/{stored_paths[0]}")
            assert got["Body"].read() == contents[stored_paths[0]]
            check_reads(http, repo, sorted(stored_paths), contents)
    finally:
        server.stop()
