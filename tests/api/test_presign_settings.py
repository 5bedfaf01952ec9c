"""The presigning keys have the effect docs/configuration.md gives them:
``blockstore.s3.pre_signed_expiry`` is the lifetime of the URLs S3 signs, and
``blockstore.signing.secret_key`` the key of the URLs Limnos signs for its own
blockstores (a server with another key refuses them)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from conftest import Server, create_repository, free_port, postgres_s3_backend


def presigned_put(http: httpx.Client, repo: str, path: str) -> dict[str, object]:
    """getPhysicalAddress with ``presign=true``: the StagingLocation."""
    answer = http.get(
        f"/repositories/{repo}/branches/main/staging/backing", params={"path": path, "presign": "true"}
    )
    assert answer.status_code == 200, answer.text
    location: dict[str, object] = answer.json()
    return location


def test_the_s3_presign_lifetime_is_the_configured_one(
    tmp_path: Path, postgres_database: str, moto_endpoint: str
) -> None:
    backend = postgres_s3_backend(postgres_database, moto_endpoint, f"presign-{uuid.uuid4().hex[:8]}")
    server = Server(
        tmp_path,
        free_port(),
        workers=1,
        backend=backend,
        extra_env={"LAKEFS_BLOCKSTORE_S3_PRE_SIGNED_EXPIRY": "90s"},
    ).start()
    try:
        with server.http() as http:
            repo = create_repository(http, server, "presign")
            before = int(time.time())
            location = presigned_put(http, repo, "x")
            after = int(time.time())
        url = str(location["presigned_url"])
        assert url.startswith(moto_endpoint + "/"), url
        query = parse_qs(urlsplit(url).query)
        if "X-Amz-Expires" in query:  # Signature Version 4: a lifetime
            assert query["X-Amz-Expires"] == ["90"]
        else:  # Version 2: the moment it ends
            assert before + 90 <= int(query["Expires"][0]) <= after + 90
        expiry = location["presigned_url_expiry"]
        assert isinstance(expiry, int) and before + 90 <= expiry <= after + 90
        # the URL writes the address
        assert httpx.put(url, content=b"direct").status_code == 200
    finally:
        server.stop()


def test_self_served_urls_are_signed_with_the_signing_key(tmp_path: Path) -> None:
    # Two servers of one installation (one data directory) that differ only in the key.
    first = Server(
        tmp_path, free_port(), workers=1, extra_env={"LAKEFS_BLOCKSTORE_SIGNING_SECRET_KEY": "k-one"}
    )
    other = Server(
        tmp_path, free_port(), workers=1, extra_env={"LAKEFS_BLOCKSTORE_SIGNING_SECRET_KEY": "k-two"}
    )
    first.start()
    try:
        other.start()
        try:
            with first.http() as http:
                repo = create_repository(http, first, "presign")
                url = str(presigned_put(http, repo, "x")["presigned_url"])
            assert url.startswith(f"{first.url}/_limnos/presigned"), url
            refused = httpx.put(url.replace(first.url, other.url), content=b"other key")
            assert refused.status_code == 403, refused.text
            assert httpx.put(url, content=b"same key").status_code in (200, 204)
        finally:
            other.stop()
    finally:
        first.stop()
