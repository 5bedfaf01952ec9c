"""Signing in to the S3 gateway: SigV4 (header, presigned, aws-chunked bodies), SigV2, and
each refusal with S3's code. CreateBucket on an existing repository reads its body and
then answers BucketAlreadyExists, so a 409 means the body was accepted."""

from __future__ import annotations

import base64
import datetime
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from conftest import Server, s3_client
from s3_signing import (
    chunked_request,
    clock,
    crc32_b64,
    credentials,
    presign_v2,
    presign_v4,
    sign_v2,
    sign_v4,
)

NAMESPACE = "{http://s3.amazonaws.com/doc/2006-03-01/}"
CONFIGURATION = b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'


@pytest.fixture()
def plain(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


def s3_error(response: httpx.Response, status: int, code: str) -> str:
    """The response is S3's error ``code`` with ``status``; returns its message."""
    assert response.status_code == status, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert root.findtext("Code") == code, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return root.findtext("Message") or ""


def bucket_names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    return [name.text or "" for name in root.iter(f"{NAMESPACE}Name")]


# --- SigV4 in the Authorization header ------------------------------------------------------


def test_v4_header_signs_in(plain: httpx.Client, server: Server, repo: str) -> None:
    assert repo in bucket_names(plain.send(sign_v4("GET", f"{server.url}/")))


def test_v4_tampered_signature(plain: httpx.Client, server: Server) -> None:
    request = sign_v4("GET", f"{server.url}/")
    header = request.headers["Authorization"]
    last = "0" if header[-1] != "0" else "1"
    request.headers["Authorization"] = header[:-1] + last
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_v4_signed_header_changed_after_signing(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v4("GET", f"{server.url}/{repo}?location")
    request.url = request.url.copy_with(query=b"versioning")
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_v4_wrong_secret(plain: httpx.Client, server: Server) -> None:
    request = sign_v4("GET", f"{server.url}/", creds=credentials(secret="not-the-secret"))
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_v4_unknown_access_key(plain: httpx.Client, server: Server) -> None:
    # The same answer as a wrong secret's: which key ids exist is nobody's business.
    request = sign_v4("GET", f"{server.url}/", creds=credentials(access_key_id="AKIAUNKNOWNKEY000000"))
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_no_credentials(plain: httpx.Client, server: Server, repo: str) -> None:
    s3_error(plain.get(f"{server.url}/"), 403, "AccessDenied")
    s3_error(plain.get(f"{server.url}/{repo}?location"), 403, "AccessDenied")
    head = plain.head(f"{server.url}/{repo}")
    assert head.status_code == 403 and head.content == b""


def test_malformed_authorization(plain: httpx.Client, server: Server) -> None:
    bad = {"Authorization": "AWS4-HMAC-SHA256 Credential=x", "x-amz-date": "20240101T000000Z"}
    s3_error(plain.get(f"{server.url}/", headers=bad), 400, "AuthorizationHeaderMalformed")
    s3_error(plain.get(f"{server.url}/", headers={"Authorization": "Bearer abc"}), 400, "InvalidArgument")


def test_v4_credential_scope_of_another_service(plain: httpx.Client, server: Server) -> None:
    request = sign_v4("GET", f"{server.url}/")
    request.headers["Authorization"] = request.headers["Authorization"].replace("/s3/", "/ec2/")
    s3_error(plain.send(request), 400, "AuthorizationHeaderMalformed")


def test_v4_any_region_of_the_scope_is_accepted(plain: httpx.Client, server: Server, repo: str) -> None:
    assert repo in bucket_names(plain.send(sign_v4("GET", f"{server.url}/", region="eu-west-1")))


@pytest.mark.parametrize("minutes", [-16, 16])
def test_v4_clock_skew(plain: httpx.Client, server: Server, minutes: int) -> None:
    with clock(datetime.timedelta(minutes=minutes)):
        request = sign_v4("GET", f"{server.url}/")
    s3_error(plain.send(request), 403, "RequestTimeTooSkewed")


def test_v4_small_skew_is_accepted(plain: httpx.Client, server: Server, repo: str) -> None:
    with clock(datetime.timedelta(minutes=-10)):
        request = sign_v4("GET", f"{server.url}/")
    assert repo in bucket_names(plain.send(request))


# --- payloads of header-signed requests -----------------------------------------------------


def test_v4_signed_payload(plain: httpx.Client, server: Server, repo: str) -> None:
    s3_error(
        plain.send(sign_v4("PUT", f"{server.url}/{repo}", body=CONFIGURATION)), 409, "BucketAlreadyExists"
    )


def test_v4_payload_that_does_not_match_its_hash(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v4(
        "PUT", f"{server.url}/{repo}", body=CONFIGURATION, payload_hash=hashlib.sha256(b"other").hexdigest()
    )
    s3_error(plain.send(request), 400, "XAmzContentSHA256Mismatch")


def test_v4_unsigned_payload(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v4("PUT", f"{server.url}/{repo}", body=CONFIGURATION, payload_hash="UNSIGNED-PAYLOAD")
    s3_error(plain.send(request), 409, "BucketAlreadyExists")


def test_v4_payload_hash_that_is_no_hash(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v4("PUT", f"{server.url}/{repo}", body=CONFIGURATION, payload_hash="abc")
    s3_error(plain.send(request), 400, "InvalidArgument")


def test_content_md5(plain: httpx.Client, server: Server, repo: str) -> None:
    good = base64.b64encode(hashlib.md5(CONFIGURATION).digest()).decode()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    url = f"{server.url}/{repo}"
    ok = sign_v4("PUT", url, body=CONFIGURATION, headers={"Content-MD5": good})
    s3_error(plain.send(ok), 409, "BucketAlreadyExists")
    s3_error(
        plain.send(sign_v4("PUT", url, body=CONFIGURATION, headers={"Content-MD5": wrong})), 400, "BadDigest"
    )
    s3_error(
        plain.send(sign_v4("PUT", url, body=CONFIGURATION, headers={"Content-MD5": "nope"})),
        400,
        "InvalidDigest",
    )


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
def test_checksum_headers(plain: httpx.Client, server: Server, repo: str, algorithm: str) -> None:
    from botocore.httpchecksum import _CHECKSUM_CLS  # botocore's own implementations

    checksum = _CHECKSUM_CLS[algorithm]()
    checksum.update(CONFIGURATION)
    good = base64.b64encode(checksum.digest()).decode()
    url = f"{server.url}/{repo}"
    header = f"x-amz-checksum-{algorithm}"
    s3_error(
        plain.send(sign_v4("PUT", url, body=CONFIGURATION, headers={header: good})),
        409,
        "BucketAlreadyExists",
    )
    other = _CHECKSUM_CLS[algorithm]()
    other.update(b"other")
    wrong = base64.b64encode(other.digest()).decode()
    s3_error(plain.send(sign_v4("PUT", url, body=CONFIGURATION, headers={header: wrong})), 400, "BadDigest")


# --- aws-chunked payloads -------------------------------------------------------------------

DATA = bytes(range(256)) * 1000  # several chunks of 64 KiB and a short last one


@pytest.mark.parametrize(
    "mode",
    [
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    ],
)
def test_chunked_payloads(plain: httpx.Client, server: Server, repo: str, mode: str) -> None:
    trailer = ("x-amz-checksum-crc32", crc32_b64(DATA)) if mode.endswith("TRAILER") else None
    request = chunked_request("PUT", f"{server.url}/{repo}", DATA, mode=mode, trailer=trailer)
    s3_error(plain.send(request), 409, "BucketAlreadyExists")


def test_chunk_altered_after_signing(plain: httpx.Client, server: Server, repo: str) -> None:
    request = chunked_request(
        "PUT", f"{server.url}/{repo}", DATA, mode="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", tamper_chunk=1
    )
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize(
    "mode", ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]
)
def test_trailing_checksum_that_does_not_match(
    plain: httpx.Client, server: Server, repo: str, mode: str
) -> None:
    trailer = ("x-amz-checksum-crc32", crc32_b64(b"other"))
    request = chunked_request("PUT", f"{server.url}/{repo}", DATA, mode=mode, trailer=trailer)
    s3_error(plain.send(request), 400, "BadDigest")


def test_chunked_body_shorter_than_its_decoded_length(plain: httpx.Client, server: Server, repo: str) -> None:
    request = chunked_request(
        "PUT",
        f"{server.url}/{repo}",
        DATA,
        mode="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        trailer=("x-amz-checksum-crc32", crc32_b64(DATA)),
    )
    body = request.content
    cut = body.index(b"\r\n0\r\n")  # drop the last data chunk's end and the final chunk
    request = httpx.Request(
        "PUT",
        request.url,
        headers={k: v for k, v in request.headers.items() if k != "content-length"},
        content=body[: cut - 100],
    )
    s3_error(plain.send(request), 400, "IncompleteBody")


# --- presigned SigV4 ------------------------------------------------------------------------


def test_v4_presigned(plain: httpx.Client, server: Server, repo: str) -> None:
    assert repo in bucket_names(plain.get(presign_v4("GET", f"{server.url}/")))


def test_v4_presigned_expired(plain: httpx.Client, server: Server) -> None:
    with clock(datetime.timedelta(minutes=-10)):
        url = presign_v4("GET", f"{server.url}/", expires=60)
    assert "Request has expired" in s3_error(plain.get(url), 403, "AccessDenied")


def test_v4_presigned_tampered(plain: httpx.Client, server: Server, repo: str) -> None:
    url = presign_v4("GET", f"{server.url}/{repo}?location")
    s3_error(plain.get(url.replace("location", "versioning")), 403, "SignatureDoesNotMatch")


def test_v4_presigned_expiry_over_a_week(plain: httpx.Client, server: Server) -> None:
    url = presign_v4("GET", f"{server.url}/", expires=7 * 24 * 3600 + 1)
    s3_error(plain.get(url), 400, "AuthorizationQueryParametersError")


# --- SigV2 ----------------------------------------------------------------------------------


def test_v2_header(plain: httpx.Client, server: Server, repo: str) -> None:
    assert repo in bucket_names(plain.send(sign_v2("GET", f"{server.url}/")))
    location = plain.send(sign_v2("GET", f"{server.url}/{repo}?location"))
    assert location.status_code == 200 and b"LocationConstraint" in location.content


def test_v2_header_with_body_and_amz_headers(plain: httpx.Client, server: Server, repo: str) -> None:
    md5 = base64.b64encode(hashlib.md5(CONFIGURATION).digest()).decode()
    request = sign_v2(
        "PUT",
        f"{server.url}/{repo}",
        body=CONFIGURATION,
        headers={"Content-MD5": md5, "Content-Type": "application/xml", "x-amz-meta-a": "b"},
    )
    s3_error(plain.send(request), 409, "BucketAlreadyExists")


def test_v2_header_tampered(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v2("GET", f"{server.url}/{repo}?location")
    request.url = request.url.copy_with(query=b"versioning")
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_v2_unknown_key(plain: httpx.Client, server: Server) -> None:
    request = sign_v2("GET", f"{server.url}/")
    request.headers["Authorization"] = (
        "AWS AKIAUNKNOWNKEY000000:" + request.headers["Authorization"].split(":")[1]
    )
    s3_error(plain.send(request), 403, "SignatureDoesNotMatch")


def test_v2_presigned(plain: httpx.Client, server: Server, repo: str) -> None:
    assert repo in bucket_names(plain.get(presign_v2("GET", f"{server.url}/")))
    expired = presign_v2("GET", f"{server.url}/", expires=-60)
    assert "Request has expired" in s3_error(plain.get(expired), 403, "AccessDenied")
    url = presign_v2("GET", f"{server.url}/{repo}?location")
    s3_error(plain.get(url.replace("location", "versioning")), 403, "SignatureDoesNotMatch")


def test_v2_through_boto3(server: Server, repo: str) -> None:
    s3 = s3_client(server, signature_version="s3")
    assert repo in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=repo)["ResponseMetadata"]["HTTPStatusCode"] == 200


# --- virtual-host style ---------------------------------------------------------------------

DOMAIN = "s3.local.lakefs.io"  # gateways.s3.domain_name's default


def test_v4_virtual_host(plain: httpx.Client, server: Server, repo: str) -> None:
    request = sign_v4("GET", f"{server.url}/?location", headers={"Host": f"{repo}.{DOMAIN}"})
    answer = plain.send(request)
    assert answer.status_code == 200, answer.text
    assert ET.fromstring(answer.content).tag == f"{NAMESPACE}LocationConstraint"
    missing = sign_v4("GET", f"{server.url}/?location", headers={"Host": f"no-such-repository.{DOMAIN}"})
    s3_error(plain.send(missing), 404, "NoSuchBucket")


def test_v2_virtual_host(plain: httpx.Client, server: Server, repo: str) -> None:
    request = httpx.Request("GET", f"{server.url}/?location", headers={"Host": f"{repo}.{DOMAIN}"})
    signed = sign_v2("GET", f"http://{repo}.{DOMAIN}/?location", auth_path=f"/{repo}/")
    request.headers["Authorization"] = signed.headers["Authorization"]
    request.headers["Date"] = signed.headers["Date"]
    answer = plain.send(request)
    assert answer.status_code == 200, answer.text
