"""docs/deploy.md works as written: two servers start with its configuration file and its
``limnos run`` command, on one PostgreSQL database and one S3 bucket (moto), and serve one
installation. Only what a test must change is changed: the listen address, the connection
string, the S3 endpoint (with path-style addressing, which moto needs) and the cache
directory."""

from __future__ import annotations

import os
import re
import shlex
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import yaml
from conftest import S3_BUCKET, Server, free_port, fresh_postgres_database, s3_client

from limnos.config import KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def blocks(language: str) -> list[str]:
    """The text of every fenced block of the doc whose info string is ``language``."""
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)


def doc_configuration() -> dict[str, Any]:
    """The configuration file the doc gives every server."""
    (text,) = blocks("yaml")
    tree = yaml.safe_load(text)
    assert isinstance(tree, dict)
    return tree


def run_arguments(config_path: Path) -> list[str]:
    """The arguments of the doc's ``limnos run`` command, with the test's configuration file."""
    (text,) = blocks("sh")
    (line,) = [line for line in text.splitlines() if line.startswith("limnos run")]
    argv = shlex.split(line)
    assert argv[:2] == ["limnos", "run"]
    return [str(config_path) if arg.endswith(".yaml") else arg for arg in argv[2:]]


class DocServer(Server):
    """A server configured only by its file: none of the suite's ``LAKEFS_*`` variables."""

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("LAKEFS_")}


def for_this_test(
    tree: dict[str, Any], port: int, database: str, endpoint: str, cache: Path
) -> dict[str, Any]:
    """The doc's configuration with the test's addresses and directories."""
    tree = yaml.safe_load(yaml.safe_dump(tree))  # a copy
    tree["listen_address"] = f"127.0.0.1:{port}"
    tree["database"]["postgres"]["connection_string"] = database
    tree["blockstore"]["s3"]["endpoint"] = endpoint
    tree["blockstore"]["s3"]["force_path_style"] = True
    tree["committed"]["local_cache"]["dir"] = str(cache)
    return tree


@pytest.fixture()
def database() -> Iterator[str]:
    """A database of this test's own: the doc's admin is not the suite's."""
    with fresh_postgres_database() as dsn:
        yield dsn


@pytest.fixture()
def servers(
    tmp_path: Path, database: str, moto_endpoint: str
) -> Iterator[tuple[list[DocServer], tuple[str, str]]]:
    """Two servers started at the same moment with the doc's configuration; the doc's admin keys."""
    tree = doc_configuration()
    started: list[DocServer] = []
    for name in ("first", "second"):
        port = free_port()
        data = tmp_path / name
        data.mkdir()
        ours = for_this_test(tree, port, database, moto_endpoint, data / "cache")
        (data / "config.yaml").write_text(yaml.safe_dump(ours))
        started.append(DocServer(data, port))
    try:
        # Both start at once: whichever comes first creates the admin, the other finds it.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.start(*run_arguments(s.data_dir / "config.yaml")), started))
        installation = tree["installation"]
        yield started, (installation["access_key_id"], installation["secret_access_key"])
    finally:
        for server in started:
            server.stop()


def keys_of(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys a YAML tree sets."""
    keys: list[str] = []
    for name, value in tree.items():
        keys += keys_of(value, f"{prefix}{name}.") if isinstance(value, dict) else [f"{prefix}{name}"]
    return keys


def test_the_doc_shows_one_configuration_and_how_to_run_it() -> None:
    tree = doc_configuration()
    # the loader ignores keys it does not know: a misspelt one would go unnoticed
    assert [key for key in keys_of(tree) if key not in KEYS] == []
    table = re.findall(r"^\| `([a-z0-9_.]+)`", DOC.read_text(), re.M)
    assert table and [key for key in table if key not in KEYS] == []
    assert tree["database"]["type"] == "postgres"
    assert tree["blockstore"]["type"] == "s3"
    (commands,) = blocks("sh")
    assert "limnos run --config" in commands
    # Limnos is installed from a checkout; it is not on a package index.
    assert "pip install limnos" not in DOC.read_text()


def test_two_servers_serve_one_installation(
    servers: tuple[list[DocServer], tuple[str, str]], moto_endpoint: str
) -> None:
    (first, second), (key, secret) = servers
    a = httpx.Client(base_url=first.api, auth=(key, secret), timeout=60)
    b = httpx.Client(base_url=second.api, auth=(key, secret), timeout=60)
    with a, b:
        assert a.get("/user").json()["user"]["id"] == "admin"
        assert b.get("/user").json()["user"]["id"] == "admin"

        # a repository created through one server is there, and writable, through the other
        repo = f"deploy-{uuid.uuid4().hex[:8]}"
        namespace = f"s3://{S3_BUCKET}/docs-deploy/{repo}"
        created = a.post("/repositories", json={"name": repo, "storage_namespace": namespace})
        assert created.status_code == 201, created.text
        assert b.get(f"/repositories/{repo}").json()["storage_namespace"] == namespace
        branch = b.post(f"/repositories/{repo}/branches", json={"name": "dev", "source": "main"})
        assert branch.status_code == 201, branch.text

        # uploads through one read back through the other, staged and committed
        big = os.urandom(9 << 20)  # past 8 MiB: S3's native multipart upload
        for path, data in (("small.txt", b"from the second server\n"), ("big.bin", big)):
            put = b.post(
                f"/repositories/{repo}/branches/dev/objects",
                params={"path": path},
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert put.status_code == 201, put.text
            assert a.get(f"/repositories/{repo}/refs/dev/objects", params={"path": path}).content == data
        commit = a.post(f"/repositories/{repo}/branches/dev/commits", json={"message": "through the first"})
        assert commit.status_code == 201, commit.text
        merged = b.post(f"/repositories/{repo}/refs/dev/merge/main", json={})
        assert merged.status_code == 200, merged.text
        listed = a.get(f"/repositories/{repo}/refs/main/objects/ls").json()["results"]
        assert [o["path"] for o in listed] == ["big.bin", "small.txt"]
        assert a.get(f"/repositories/{repo}/refs/main/objects", params={"path": "big.bin"}).content == big

        # the objects are in the bucket, under the repository's namespace
        store = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="moto",
            aws_secret_access_key="moto",
        )
        stored = store.list_objects_v2(Bucket=S3_BUCKET, Prefix=f"docs-deploy/{repo}/")
        assert stored["KeyCount"] > 0

    # the S3 gateway of each server, on the same port, serves the same data
    def gateway(server: Server) -> Any:
        return s3_client(server, key, secret)

    gateway(first).put_object(Bucket=repo, Key="main/via-gateway.txt", Body=b"gateway")
    assert gateway(second).get_object(Bucket=repo, Key="main/via-gateway.txt")["Body"].read() == b"gateway"
