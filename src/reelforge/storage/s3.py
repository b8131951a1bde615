"""A BlobStore on any S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2...).

Publishing is atomic without a rename: an object appears only when its PutObject or
CompleteMultipartUpload succeeds, so a reader sees the whole file or nothing, and an attempt
that dies mid-upload leaves at most an incomplete multipart upload, which no reader can see
(a bucket lifecycle rule ``AbortIncompleteMultipartUpload`` reclaims its parts).

Every failure of the store or of the network surfaces as ``BlobStoreError`` (an ``OSError``),
so callers that already retry or fail an attempt on disk errors treat an outage the same way;
a missing object is ``FileNotFoundError``. Messages carry the bucket, the key and the error
code, never credentials.
"""

from __future__ import annotations

import io
import mimetypes
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from reelforge.domain.errors import ConfigError
from reelforge.storage.layout import job_prefixes
from reelforge.storage.location import BAD_SEGMENT, S3Location

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ListObjectsV2OutputTypeDef, ObjectIdentifierTypeDef

MULTIPART_CHUNK = 8 << 20
"""Files larger than this go up in parts of this size (S3's minimum part is 5 MiB)."""
DELETE_BATCH = 1000
"""DeleteObjects takes at most 1000 keys per request."""
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_REFUSED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId"}
)
T = TypeVar("T")


class BlobStoreError(OSError):
    """The object store failed or could not be reached (retry later, or fail the attempt)."""


class S3BlobStore:
    """``client``: a boto3 S3 client (thread-safe; shared by every thread of the process).
    ``probe_client``: the same with a short timeout and few retries, for ``check_writable``.
    ``presign_client``: signs download URLs, when clients reach the store at another endpoint."""

    def __init__(
        self,
        client: S3Client,
        location: S3Location,
        *,
        probe_client: S3Client | None = None,
        presign_client: S3Client | None = None,
        multipart_chunk: int = MULTIPART_CHUNK,
        page_size: int = DELETE_BATCH,
    ) -> None:
        self.client = client
        self.location = location
        self.bucket = location.bucket
        self._probe = probe_client or client
        self._presigner = presign_client or client
        self.page_size = min(page_size, DELETE_BATCH)
        self.transfer = TransferConfig(
            multipart_threshold=multipart_chunk,
            multipart_chunksize=multipart_chunk,
            max_concurrency=4,
        )

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or key.endswith("/") or BAD_SEGMENT.search(key):
            raise ValueError(f"invalid blob key {key!r}")
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def _call(self, what: str, key: str, action: Callable[[], T]) -> T:
        """Run one request; S3's and the network's errors become OSErrors."""
        try:
            return action()
        except ClientError as exc:
            code = _code(exc)
            if code in _MISSING:
                raise FileNotFoundError(f"no blob {key!r} in {self.location.url}") from None
            raise BlobStoreError(
                f"S3 {what} {key!r} in {self.location.url} failed: {code}"
            ) from exc
        except (BotoCoreError, Boto3Error) as exc:  # Boto3Error: managed uploads' failures
            raise BlobStoreError(
                f"S3 {what} {key!r} in {self.location.url} failed: {type(exc).__name__}"
            ) from exc

    def put_file(self, key: str, source: Path) -> None:
        full = self._key(key)
        extra = {"ContentType": _content_type(key)}
        self._call(
            "upload",
            key,
            lambda: self.client.upload_file(
                str(source), self.bucket, full, ExtraArgs=extra, Config=self.transfer
            ),
        )

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._key(key)
        self._call(
            "put",
            key,
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=full, Body=data, ContentType=_content_type(key)
            ),
        )

    def open(self, key: str) -> BinaryIO:
        full = self._key(key)
        reply = self._call("get", key, lambda: self.client.get_object(Bucket=self.bucket, Key=full))
        return cast(BinaryIO, _Body(reply["Body"], f"S3 read of {key!r} in {self.location.url}"))

    def open_range(self, key: str, start: int, stop: int) -> BinaryIO:
        full, span = self._key(key), f"bytes={start}-{stop - 1}"
        reply = self._call(
            "get", key, lambda: self.client.get_object(Bucket=self.bucket, Key=full, Range=span)
        )
        return cast(BinaryIO, _Body(reply["Body"], f"S3 read of {key!r} in {self.location.url}"))

    def size(self, key: str) -> int:
        full = self._key(key)
        head = self._call(
            "head", key, lambda: self.client.head_object(Bucket=self.bucket, Key=full)
        )
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(
        self, key: str, expires_seconds: int, filename: str, media_type: str, method: str = "GET"
    ) -> str:
        """A GET (or HEAD) URL valid for ``expires_seconds``, answered with our type and file
        name."""
        operation = "head_object" if method.upper() == "HEAD" else "get_object"
        params = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ResponseContentType": media_type,
            "ResponseContentDisposition": f'inline; filename="{filename}"',
        }
        url: str = self._presigner.generate_presigned_url(
            operation, Params=params, ExpiresIn=expires_seconds
        )
        return url

    def list_prefix(self, prefix: str) -> Iterator[str]:
        strip = len(self.location.prefix) + 1 if self.location.prefix else 0
        for page in self._pages(prefix):
            for item in page.get("Contents", ()):
                yield str(item["Key"])[strip:]

    def _pages(self, prefix: str) -> Iterator[ListObjectsV2OutputTypeDef]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self._key(prefix) + "/",
            PaginationConfig={"PageSize": self.page_size},
        )
        iterator = iter(pages)
        while True:
            page = self._call("list", prefix + "/", lambda: next(iterator, None))
            if page is None:
                return
            yield page

    def delete_prefix(self, prefix: str) -> int:
        """Delete page by page: each listed page (at most 1000 keys) is one DeleteObjects."""
        removed = 0
        for page in self._pages(prefix):
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": item["Key"]} for item in page.get("Contents", ())
            ]
            if keys:
                removed += self._delete_batch(prefix, keys)
        return removed

    def _delete_batch(self, prefix: str, keys: list[ObjectIdentifierTypeDef]) -> int:
        reply = self._call(
            "delete",
            prefix + "/",
            lambda: self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
            ),
        )
        errors = reply.get("Errors", [])
        if errors:
            first = errors[0]
            raise BlobStoreError(
                f"S3 delete of {len(errors)} key(s) under {prefix!r} failed: "
                f"{first.get('Code')} ({first.get('Key')})"
            )
        return len(keys)

    def remove_job(self, job_id: str) -> None:
        for prefix in job_prefixes(job_id):
            self.delete_prefix(prefix)

    def check_writable(self) -> None:
        """Write and delete a probe object under the prefix, failing fast with what to fix."""
        probe = self._key(f".probe-{uuid.uuid4().hex}")
        try:
            self._probe.put_object(Bucket=self.bucket, Key=probe, Body=b"")
            self._probe.delete_object(Bucket=self.bucket, Key=probe)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigError(self._explain(exc)) from None

    def _explain(self, exc: Exception) -> str:
        where = f"blob store {self.location.url} at {self._probe.meta.endpoint_url}"
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return (
                f"{where}: no S3 credentials found; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or REELFORGE_S3_ACCESS_KEY_ID and "
                "REELFORGE_S3_SECRET_ACCESS_KEY)"
            )
        if isinstance(exc, EndpointConnectionError | ConnectionError):
            return (
                f"{where} is unreachable ({type(exc).__name__}); check REELFORGE_S3_ENDPOINT_URL "
                "or AWS_ENDPOINT_URL and that the store is running"
            )
        code = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        if code in _NO_BUCKET:
            return (
                f"{where}: bucket {self.bucket!r} does not exist; create it or fix "
                "REELFORGE_BLOB_URL"
            )
        if code in _REFUSED:
            return (
                f"{where} refused the credentials ({code}); check the access key, the secret "
                f"and that they may write to bucket {self.bucket!r}"
            )
        return f"{where} cannot be written ({code}); check REELFORGE_BLOB_URL and the S3 settings"


class _Body(io.RawIOBase):
    """An object's body whose read errors (a connection cut mid-transfer) are OSErrors too."""

    def __init__(self, body: StreamingBody, what: str) -> None:
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._body.read(None if size is None or size < 0 else size)
        except BotoCoreError as exc:
            raise BlobStoreError(f"{self._what} failed: {type(exc).__name__}") from exc

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def _content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"
