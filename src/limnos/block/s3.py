"""The ``s3`` blockstore: any S3-compatible object store (AWS, MinIO, Ceph, moto)."""

from __future__ import annotations

import builtins
import hashlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from limnos.block.adapter import (
    BlockAdapter,
    BlockError,
    BlockWriter,
    InvalidAddressError,
    InvalidPartError,
    NoSuchUploadError,
    ObjectInfo,
    ObjectNotFoundError,
    PartInfo,
    PutResult,
    split_uri,
)

PART_SIZE = 8 * 1024 * 1024
_COPY_LIMIT = 5 * 1024**3
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
# What S3 answers a completion whose parts are wrong.
_BAD_PARTS = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML", "InvalidRequest"}
_CLIENT_METHODS = {"GET": "get_object", "PUT": "put_object"}


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Connection settings (lakeFS's ``blockstore.s3.*`` keys)."""

    region: str = "us-east-1"
    endpoint: str = ""
    force_path_style: bool = False
    access_key_id: str = ""
    secret_access_key: str = ""
    max_retries: int = 5
    pre_signed_expiry_seconds: int = 900


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; raises InvalidAddressError."""
    scheme, rest = split_uri(uri)
    if scheme != "s3":
        raise InvalidAddressError(f"invalid address: {uri!r} is not of the s3 blockstore")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidAddressError(f"invalid address: {uri!r} names no bucket")
    return bucket, key


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _is_missing(err: ClientError) -> bool:
    return _code(err) in _MISSING


class S3Adapter(BlockAdapter):
    """Streams objects to and from an S3 endpoint with boto3."""

    schemes = ("s3",)
    blockstore_type = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.presign_expiry_seconds = settings.pre_signed_expiry_seconds
        kwargs: dict[str, Any] = {
            "region_name": settings.region,
            "config": BotoConfig(
                retries={"max_attempts": settings.max_retries, "mode": "standard"},
                s3={"addressing_style": "path" if settings.force_path_style else "auto"},
                max_pool_connections=50,
            ),
        }
        if settings.endpoint:
            kwargs["endpoint_url"] = settings.endpoint
        if settings.access_key_id:
            kwargs["aws_access_key_id"] = settings.access_key_id
            kwargs["aws_secret_access_key"] = settings.secret_access_key
        self.client = boto3.session.Session().client("s3", **kwargs)

    def validate_namespace(self, namespace: str) -> None:
        super().validate_namespace(namespace)
        bucket, _ = parse_s3_uri(namespace)
        if ".." in namespace.split("/"):
            raise InvalidAddressError(f"invalid namespace: {namespace!r} contains '..'")
        del bucket

    def writer(self, uri: str) -> BlockWriter:
        bucket, key = parse_s3_uri(uri)
        return _S3Writer(self.client, bucket, key)

    def get(self, uri: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        bucket, key = parse_s3_uri(uri)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            if end is not None and end <= start:
                return iter(())
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self.client.get_object(**kwargs)["Body"]
        except ClientError as err:
            if _is_missing(err):
                raise ObjectNotFoundError(uri) from None
            raise BlockError(f"reading {uri}: {err}") from None
        return _stream(body)

    def get_bytes(self, uri: str) -> bytes:
        return b"".join(self.get(uri))

    def head(self, uri: str) -> ObjectInfo:
        bucket, key = parse_s3_uri(uri)
        try:
            meta = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if _is_missing(err):
                raise ObjectNotFoundError(uri) from None
            raise BlockError(f"reading {uri}: {err}") from None
        return ObjectInfo(
            uri=uri,
            size=int(meta["ContentLength"]),
            etag=str(meta.get("ETag", "")).strip('"'),
            mtime=meta["LastModified"],
            content_type=str(meta.get("ContentType", "")),
        )

    def delete(self, uri: str) -> None:
        bucket, key = parse_s3_uri(uri)
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if not _is_missing(err):
                raise BlockError(f"deleting {uri}: {err}") from None

    def copy(self, src_uri: str, dst_uri: str) -> PutResult:
        src_bucket, src_key = parse_s3_uri(src_uri)
        dst_bucket, dst_key = parse_s3_uri(dst_uri)
        info = self.head(src_uri)
        source = {"Bucket": src_bucket, "Key": src_key}
        try:
            if info.size <= _COPY_LIMIT:
                self.client.copy_object(CopySource=source, Bucket=dst_bucket, Key=dst_key)
            else:
                self._multipart_copy(source, dst_bucket, dst_key, info.size)
        except ClientError as err:
            if _is_missing(err):
                raise ObjectNotFoundError(src_uri) from None
            raise BlockError(f"copying {src_uri}: {err}") from None
        return PutResult(size=info.size, etag=info.etag, mtime=datetime.now(UTC))

    def _multipart_copy(self, source: dict[str, str], bucket: str, key: str, size: int) -> None:
        upload = self.client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        parts = []
        part_size = 512 * 1024 * 1024
        try:
            for number, offset in enumerate(range(0, size, part_size), start=1):
                last = min(offset + part_size, size) - 1
                result = self.client.upload_part_copy(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={offset}-{last}",
                )
                parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise

    def list(self, prefix_uri: str, after: str = "") -> Iterator[ObjectInfo]:
        bucket, prefix = parse_s3_uri(prefix_uri)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if after:
            after_bucket, after_key = parse_s3_uri(after)
            if after_bucket == bucket:
                kwargs["StartAfter"] = after_key
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        uri=f"s3://{bucket}/{item['Key']}",
                        size=int(item["Size"]),
                        etag=str(item.get("ETag", "")).strip('"'),
                        mtime=item["LastModified"],
                    )
        except ClientError as err:
            if _is_missing(err):
                return
            raise BlockError(f"listing {prefix_uri}: {err}") from None

    def size(self, uri: str) -> int:
        return self.head(uri).size

    @property
    def can_presign(self) -> bool:
        return True

    # presigned URLs and multipart uploads: the store's own -------------------------------

    def presign(self, uri: str, method: Literal["GET", "PUT"], expires: int) -> str:
        bucket, key = parse_s3_uri(uri)
        return self._presigned(_CLIENT_METHODS[method], {"Bucket": bucket, "Key": key}, expires)

    def create_multipart(self, uri: str) -> str:
        bucket, key = parse_s3_uri(uri)
        try:
            upload_id: str = self.client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        except ClientError as err:
            raise BlockError(f"starting an upload to {uri}: {err}") from None
        return upload_id

    def presign_part(self, uri: str, upload_id: str, part_number: int, expires: int) -> str:
        bucket, key = parse_s3_uri(uri)
        params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number}
        return self._presigned("upload_part", params, expires)

    def part_writer(self, uri: str, upload_id: str, part_number: int) -> BlockWriter:
        bucket, key = parse_s3_uri(uri)
        return _S3PartWriter(self, bucket, key, upload_id, part_number)

    def list_parts(self, uri: str, upload_id: str) -> builtins.list[PartInfo]:
        bucket, key = parse_s3_uri(uri)
        parts: builtins.list[PartInfo] = []
        marker = 0
        try:
            while True:
                page = self.client.list_parts(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
                for part in page.get("Parts", []):
                    etag = str(part["ETag"]).strip('"')
                    parts.append(
                        PartInfo(int(part["PartNumber"]), etag, int(part["Size"]), part["LastModified"])
                    )
                if not page.get("IsTruncated"):
                    return parts
                marker = int(page["NextPartNumberMarker"])
        except ClientError as err:
            self._raise_upload_error(err, uri)

    def copy_part(
        self, src_uri: str, first: int, last: int | None, uri: str, upload_id: str, part_number: int
    ) -> str:
        bucket, key = parse_s3_uri(uri)
        src_bucket, src_key = parse_s3_uri(src_uri)
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            "CopySource": {"Bucket": src_bucket, "Key": src_key},
        }
        if first or last is not None:
            if last is None:  # S3 takes only closed ranges
                last = self.size(src_uri) - 1
            kwargs["CopySourceRange"] = f"bytes={first}-{last}"
        try:
            result = self.client.upload_part_copy(**kwargs)
        except ClientError as err:
            self._raise_upload_error(err, uri)
        return str(result["CopyPartResult"]["ETag"]).strip('"')

    def complete_multipart(self, uri: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> PutResult:
        bucket, key = parse_s3_uri(uri)
        listed = [{"PartNumber": number, "ETag": etag} for number, etag in parts]
        try:
            result = self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        except ClientError as err:
            self._raise_upload_error(err, uri)
        info = self.head(uri)
        return PutResult(size=info.size, etag=str(result.get("ETag", info.etag)).strip('"'), mtime=info.mtime)

    def abort_multipart(self, uri: str, upload_id: str) -> None:
        bucket, key = parse_s3_uri(uri)
        try:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as err:
            self._raise_upload_error(err, uri)

    def _presigned(self, operation: str, params: dict[str, Any], expires: int) -> str:
        url: str = self.client.generate_presigned_url(
            operation, Params=params, ExpiresIn=max(1, expires - int(time.time()))
        )
        return url

    @staticmethod
    def _raise_upload_error(err: ClientError, uri: str) -> NoReturn:
        code = _code(err)
        if code == "NoSuchUpload":
            raise NoSuchUploadError(f"NoSuchUpload: no such multipart upload to {uri}") from None
        if code in _BAD_PARTS:
            message = err.response.get("Error", {}).get("Message", "") or code
            raise InvalidPartError(f"{code}: {message}") from None
        if _is_missing(err):
            raise ObjectNotFoundError(uri) from None
        raise BlockError(f"multipart upload to {uri}: {err}") from None

    def close(self) -> None:
        self.client.close()


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(256 * 1024)
    except (BotoCoreError, ClientError) as err:
        raise BlockError(f"reading object: {err}") from None
    finally:
        body.close()


class _S3PartWriter(BlockWriter):
    """One part of a native multipart upload: S3 needs a part's length before its bytes,
    so the part is kept (in memory up to PART_SIZE, then in a temporary file) and sent
    whole on commit."""

    def __init__(self, adapter: S3Adapter, bucket: str, key: str, upload_id: str, number: int) -> None:
        self.adapter = adapter
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id
        self.number = number
        self.file = tempfile.SpooledTemporaryFile(max_size=PART_SIZE)  # noqa: SIM115 - closed on commit/abort
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)

    def commit(self) -> PutResult:
        uri = f"s3://{self.bucket}/{self.key}"
        try:
            self.file.seek(0)
            self.adapter.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=self.number,
                Body=self.file,
                ContentLength=self.size,
            )
        except ClientError as err:
            self.adapter._raise_upload_error(err, uri)
        finally:
            self.file.close()
        return PutResult(size=self.size, etag=self.md5.hexdigest(), mtime=datetime.now(UTC))

    def abort(self) -> None:
        self.file.close()


class _S3Writer(BlockWriter):
    """Buffers up to one part; larger objects become a native multipart upload."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.buffer = bytearray()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        self.md5.update(chunk)
        self.size += len(chunk)
        while len(self.buffer) >= PART_SIZE:
            self._flush_part(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]

    def _flush_part(self, data: bytes) -> None:
        try:
            if self.upload_id is None:
                self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)[
                    "UploadId"
                ]
            number = len(self.parts) + 1
            result = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=data,
            )
        except ClientError as err:
            raise BlockError(f"writing s3://{self.bucket}/{self.key}: {err}") from None
        self.parts.append({"PartNumber": number, "ETag": result["ETag"]})

    def commit(self) -> PutResult:
        try:
            if self.upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
            else:
                if self.buffer:
                    self._flush_part(bytes(self.buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
                self.upload_id = None
        except ClientError as err:
            raise BlockError(f"writing s3://{self.bucket}/{self.key}: {err}") from None
        self.buffer.clear()
        return PutResult(size=self.size, etag=self.md5.hexdigest(), mtime=datetime.now(UTC))

    def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except ClientError:
                pass  # the store expires abandoned uploads itself
            self.upload_id = None
