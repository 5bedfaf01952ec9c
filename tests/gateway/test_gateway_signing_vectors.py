"""SigV4 verification and aws-chunked decoding against the worked example AWS publishes
for S3 ("transferring payload in multiple chunks"): the same keys, request and chunks must
give the same seed and chunk signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from limnos.gateway import chunked, sigv4
from limnos.gateway.errors import S3Error

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
HEADERS = [
    (b"host", b"s3.amazonaws.com"),
    (b"x-amz-date", AMZ_DATE.encode()),
    (b"x-amz-storage-class", b"REDUCED_REDUNDANCY"),
    (b"x-amz-content-sha256", chunked.STREAMING_SIGNED.encode()),
    (b"content-encoding", b"aws-chunked"),
    (b"x-amz-decoded-content-length", b"66560"),
    (b"content-length", b"66824"),
]
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
    "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    f"x-amz-decoded-content-length;x-amz-storage-class, Signature={SEED}"
)
DATA = b"a" * 66560


def example_body(signatures: tuple[str, ...] = CHUNK_SIGNATURES) -> bytes:
    first, second, last = signatures
    return (
        f"10000;chunk-signature={first}\r\n".encode()
        + DATA[:65536]
        + f"\r\n400;chunk-signature={second}\r\n".encode()
        + DATA[65536:]
        + f"\r\n0;chunk-signature={last}\r\n\r\n".encode()
    )


def decode(body: bytes, block: int) -> bytes:
    sig = sigv4.parse_header(AUTHORIZATION)
    key = sigv4.signing_key(SECRET, sig.credential)
    signing = chunked.ChunkSigning(key, AMZ_DATE, sig.credential.scope, sig.signature)

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), block):
            yield body[i : i + block]

    async def run() -> bytes:
        parts = chunked.decode(
            stream(), signing=signing, trailer=False, decoded_length=len(DATA), on_trailer=lambda n, v: None
        )
        return b"".join([part async for part in parts])

    return asyncio.run(run())


def test_the_seed_signature_of_the_example_verifies() -> None:
    sig = sigv4.parse_header(AUTHORIZATION)
    assert len(example_body()) == 66824
    sigv4.verify(
        sig,
        sigv4.signing_key(SECRET, sig.credential),
        method="PUT",
        raw_path="/examplebucket/chunkObject.txt",
        raw_query="",
        headers=HEADERS,
        amz_date=AMZ_DATE,
        payload_hash=chunked.STREAMING_SIGNED,
    )


@pytest.mark.parametrize("block", [1, 7, 4096, 65536, 1 << 20])
def test_the_example_body_decodes_in_any_blocks(block: int) -> None:
    assert decode(example_body(), block) == DATA


def test_a_wrong_chunk_signature_is_refused() -> None:
    wrong = (CHUNK_SIGNATURES[1], CHUNK_SIGNATURES[0], CHUNK_SIGNATURES[2])
    with pytest.raises(S3Error) as raised:
        decode(example_body(wrong), 65536)
    assert raised.value.code == "SignatureDoesNotMatch"


def test_a_truncated_body_is_refused() -> None:
    with pytest.raises(S3Error) as raised:
        decode(example_body()[:66000], 65536)
    assert raised.value.code == "IncompleteBody"
