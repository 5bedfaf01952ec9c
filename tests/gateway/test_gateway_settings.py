"""The gateway's configuration keys have the effect docs/configuration.md gives them:
``gateways.s3.region`` is the region the gateway reports, ``gateways.s3.domain_name``
the domain under which a host names a bucket."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from conftest import Server, free_port
from s3_signing import sign_v4

REGION = "eu-central-1"
DOMAIN = "s3.example.test"
NAMESPACE = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server with its own gateway region and domain, and a repository on it."""
    server = Server(
        tmp_path_factory.mktemp("gateway-settings"),
        free_port(),
        workers=1,
        extra_env={"LAKEFS_GATEWAYS_S3_REGION": REGION, "LAKEFS_GATEWAYS_S3_DOMAIN_NAME": DOMAIN},
    ).start()
    try:
        repo = f"settings-{uuid.uuid4().hex[:8]}"
        with server.http() as http:
            body = {"name": repo, "storage_namespace": server.namespace(repo)}
            created = http.post("/repositories", json=body)
            assert created.status_code == 201, created.text
        yield server, repo
    finally:
        server.stop()


def location(answer: httpx.Response) -> str | None:
    """The region a GetBucketLocation answer gives, or None when it is not one."""
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.content)
    return root.text or "" if root.tag == f"{NAMESPACE}LocationConstraint" else None


def test_the_region_is_the_configured_one(configured: tuple[Server, str]) -> None:
    server, repo = configured
    with httpx.Client(timeout=60) as plain:
        head = plain.send(sign_v4("HEAD", f"{server.url}/{repo}", region=REGION))
        assert head.status_code == 200
        assert head.headers["x-amz-bucket-region"] == REGION
        assert location(plain.send(sign_v4("GET", f"{server.url}/{repo}?location", region=REGION))) == REGION


def test_a_host_under_the_configured_domain_names_the_bucket(configured: tuple[Server, str]) -> None:
    server, repo = configured
    with httpx.Client(timeout=60) as plain:
        ours = sign_v4("GET", f"{server.url}/?location", headers={"Host": f"{repo}.{DOMAIN}"}, region=REGION)
        assert location(plain.send(ours)) == REGION
        # the default domain is no longer one: that host is a plain server name, and the
        # request is the service's (a listing of the buckets), not the bucket's location
        host = {"Host": f"{repo}.s3.local.lakefs.io"}
        listed = plain.send(sign_v4("GET", f"{server.url}/", headers=host, region=REGION))
        assert listed.status_code == 200, listed.text
        assert ET.fromstring(listed.content).tag == f"{NAMESPACE}ListAllMyBucketsResult"
