"""S3 access through an injected boto3 S3 client: streaming reads, small writes, streaming uploads."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from labelchain.adapters.aws_errors import ErrorFor, aws_call, error_code
from labelchain.core.s3_layout import s3_uri

CHUNK_SIZE = 1024 * 1024
MULTIPART_PART_SIZE = 8 * 1024 * 1024
"""Bytes buffered per upload part: S3's minimum is 5 MiB (all parts but the last), its maximum 10,000
parts, so an upload holds at most ~16 MiB at a time and can reach 78 GiB."""
MIN_MULTIPART_PART_SIZE = 5 * 1024 * 1024
MAX_MULTIPART_PARTS = 10_000
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "AccessDenied", "404", "403"})
_BAD_VERSION_CODES = frozenset({"InvalidArgument", "400", "MethodNotAllowed", "405"})
"""What S3 answers for a version id that is malformed (400 InvalidArgument) or names a delete marker
(405): for a read of that version, the object is missing."""
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
"""What GetObject answers when ``If-Match`` names an ETag the object no longer has."""


@dataclass(frozen=True)
class ObjectHead:
    """What HeadObject says about one object version."""

    size: int
    version_id: str | None
    """None when the bucket keeps no versions (S3 says ``null`` or nothing)."""
    metadata: dict[str, str]


@dataclass(frozen=True)
class CopiedObject:
    """The result of ``copy_version``: the copy's URI and version, and S3's SHA-256 of it (hex; None when
    S3 gave no full-object checksum)."""

    uri: str
    version_id: str | None
    sha256: str | None


class ObjectMissing(Exception):
    """The S3 object does not exist (or this role may not read it)."""


class ObjectChanged(Exception):
    """The S3 object is no longer the version read before (``If-Match`` failed)."""


class ObjectStore:
    """Read objects as chunk streams (never whole), write small text objects, list keys."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def iter_chunks(
        self, bucket: str, key: str, chunk_size: int = CHUNK_SIZE, *, version_id: str | None = None
    ) -> Iterator[bytes]:
        """The object's bytes (of ``version_id``, else the current version) in chunks; raises
        ``ObjectMissing`` if it cannot be read."""
        extra = {"VersionId": version_id} if version_id is not None else {}
        response = self._get_object(bucket, key, **extra)
        yield from _body_chunks(response["Body"], chunk_size)

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectHead:
        """Size, version and user metadata of an object (of ``version_id``, else the current version).

        ``ObjectMissing`` when there is no such object or version: an unknown or malformed version id,
        or a version that is a delete marker, is missing too.
        """
        extra = {"VersionId": version_id} if version_id is not None else {}
        what = f"s3://{bucket}/{key}" + (f" version {version_id}" if version_id else "")
        missing = _missing_errors(
            what, version_id is not None, lambda code: _head_error_name(code, version_id)
        )
        with aws_call("S3", "HeadObject", missing):
            response = self._client.head_object(Bucket=bucket, Key=key, **extra)
        version = response.get("VersionId")
        return ObjectHead(
            size=int(response["ContentLength"]),
            version_id=None if version in (None, "null") else str(version),
            metadata={str(k): str(v) for k, v in response.get("Metadata", {}).items()},
        )

    def copy_version(
        self,
        source: tuple[str, str, str],
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        kms_key_id: str,
    ) -> CopiedObject:
        """Copy exactly version ``source = (bucket, key, version id)`` to ``bucket/key``, SSE-KMS with
        ``kms_key_id``, with ``metadata`` replacing the source's, and S3 computing its SHA-256."""
        source_bucket, source_key, version_id = source
        response = StreamingUpload._call(
            "CopyObject",
            self._client.copy_object,
            CopySource={"Bucket": source_bucket, "Key": source_key, "VersionId": version_id},
            Bucket=bucket,
            Key=key,
            ContentType=content_type,
            Metadata=metadata,
            MetadataDirective="REPLACE",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_id,
            ChecksumAlgorithm="SHA256",
        )
        result = response.get("CopyObjectResult", {})
        checksum = result.get("ChecksumSHA256") if result.get("ChecksumType") != "COMPOSITE" else None
        return CopiedObject(
            uri=s3_uri(bucket, key),
            version_id=response.get("VersionId"),
            sha256=base64.b64decode(checksum).hex() if checksum else None,
        )

    @property
    def client(self) -> Any:
        """The injected boto3 client (the offline stack attaches fault injection to it)."""
        return self._client

    def open_chunks(
        self, bucket: str, key: str, *, if_match: str | None = None, chunk_size: int = CHUNK_SIZE
    ) -> ObjectChunks:
        """Start reading an object now (so its ETag is known) and stream its bytes in chunks.

        Pass the ETag of an earlier read as ``if_match`` to read the same version again: a replaced
        object raises ``ObjectChanged`` instead of returning other bytes.
        """
        extra = {"IfMatch": if_match} if if_match is not None else {}
        response = self._get_object(bucket, key, **extra)
        return ObjectChunks(str(response["ETag"]), _body_chunks(response["Body"], chunk_size))

    def _get_object(self, bucket: str, key: str, **extra: str) -> dict[str, Any]:
        uri = f"s3://{bucket}/{key}"
        codes = _missing_errors(uri, "VersionId" in extra)
        codes.update(
            dict.fromkeys(_CHANGED_CODES, lambda _: ObjectChanged(f"{uri} changed since it was first read"))
        )
        with aws_call("S3", "GetObject", codes):
            response: dict[str, Any] = self._client.get_object(Bucket=bucket, Key=key, **extra)
        return response

    def open_upload(
        self, bucket: str, key: str, content_type: str, *, part_size: int = MULTIPART_PART_SIZE
    ) -> StreamingUpload:
        """An object written piece by piece, visible only once committed (see ``StreamingUpload``)."""
        return StreamingUpload(self._client, bucket, key, content_type, part_size=part_size)

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object (in a versioned bucket: add a delete marker)."""
        with aws_call("S3", "DeleteObject"):
            self._client.delete_object(Bucket=bucket, Key=key)

    def put_text(
        self, bucket: str, key: str, text: str, content_type: str, *, kms_key_id: str | None = None
    ) -> str:
        """Write a small UTF-8 object, SSE-KMS with ``kms_key_id`` when given (else the bucket's default
        encryption applies); returns its URI."""
        encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id is not None else {}
        )
        with aws_call("S3", "PutObject"):
            self._client.put_object(
                Bucket=bucket, Key=key, Body=text.encode(), ContentType=content_type, **encryption
            )
        return s3_uri(bucket, key)

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under a prefix, page by page; ``ObjectMissing`` if the prefix may not be listed
        (AccessDenied: e.g. output outside the ``jobs/`` prefix the finalizing roles may list)."""
        paginator = self._client.get_paginator("list_objects_v2")
        denied = dict.fromkeys(
            ("AccessDenied", "403"),
            lambda exc: ObjectMissing(f"s3://{bucket}/{prefix}: listing refused ({error_code(exc)})"),
        )
        with aws_call("S3", "ListObjectsV2", denied):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])


def _head_error_name(code: str, version_id: str | None) -> str:
    """HeadObject's errors have no body, so botocore's code is the HTTP status: name it as GET would."""
    names = {
        "404": "NoSuchVersion" if version_id is not None else "NoSuchKey",
        "403": "AccessDenied",
        "405": "MethodNotAllowed (the version is a delete marker)",
        "400": "InvalidArgument (not a version id of this object)",
    }
    return names.get(code, code)


def _missing_errors(what: str, by_version: bool, name: Callable[[str], str] = str) -> dict[str, ErrorFor]:
    """``ObjectMissing`` for every S3 code that means "no such object" (or, for a read by version id, no
    such version); ``name`` words the code in the message."""
    codes = _MISSING_CODES | (_BAD_VERSION_CODES if by_version else frozenset())
    return dict.fromkeys(codes, lambda exc: ObjectMissing(f"{what}: {name(error_code(exc))}"))


def _body_chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


class ObjectChunks:
    """An object being read: its ETag, and its bytes as an iterable of chunks (iterate once)."""

    def __init__(self, etag: str, chunks: Iterator[bytes]) -> None:
        self.etag = etag
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


class StreamingUpload:
    """Write an object of unknown size with bounded memory; nothing is visible until ``commit``.

    Bytes are buffered until ``part_size``; the first full buffer starts a multipart upload and
    every full buffer becomes one part. An object that never fills a buffer is written by one
    PutObject at ``commit`` (no multipart upload for small objects). ``abort`` discards everything,
    including the parts S3 already holds. The bucket's default encryption applies either way.
    """

    def __init__(
        self, client: Any, bucket: str, key: str, content_type: str, *, part_size: int = MULTIPART_PART_SIZE
    ) -> None:
        if part_size < MIN_MULTIPART_PART_SIZE:
            raise ValueError(f"part_size: S3 parts (but the last) must be at least {MIN_MULTIPART_PART_SIZE}")
        self._client = client
        self.bucket = bucket
        self.key = key
        self._content_type = content_type
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.bytes_written = 0
        self.committed = False

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    @property
    def multipart(self) -> bool:
        """True once a multipart upload was started (the object outgrew one buffer)."""
        return self._upload_id is not None

    def write(self, data: bytes, /) -> None:
        """Append bytes; uploads a part each time the buffer reaches ``part_size``."""
        if self.committed:
            raise ValueError(f"{self.uri} is already committed")
        self._buffer += data
        self.bytes_written += len(data)
        if len(self._buffer) >= self._part_size:
            self._upload_part()

    def commit(self) -> str:
        """Make the object visible (complete the multipart upload, or put it whole); its URI."""
        if self._upload_id is None:
            self._call("PutObject", self._client.put_object, Body=bytes(self._buffer), **self._target())
        else:
            if self._buffer or not self._parts:
                self._upload_part()
            self._call(
                "CompleteMultipartUpload",
                self._client.complete_multipart_upload,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
                Bucket=self.bucket,
                Key=self.key,
            )
        self._buffer = bytearray()
        self.committed = True
        return self.uri

    def abort(self) -> None:
        """Discard the buffer and any uploaded parts (a committed object stays: delete it instead)."""
        self._buffer = bytearray()
        if self._upload_id is not None and not self.committed:
            upload_id, self._upload_id = self._upload_id, None
            self._call(
                "AbortMultipartUpload",
                self._client.abort_multipart_upload,
                Bucket=self.bucket,
                Key=self.key,
                UploadId=upload_id,
            )

    def _target(self) -> dict[str, str]:
        return {"Bucket": self.bucket, "Key": self.key, "ContentType": self._content_type}

    def _upload_part(self) -> None:
        if self._upload_id is None:
            created = self._call(
                "CreateMultipartUpload", self._client.create_multipart_upload, **self._target()
            )
            self._upload_id = str(created["UploadId"])
        number = len(self._parts) + 1
        if number > MAX_MULTIPART_PARTS:
            raise ValueError(f"{self.uri}: more than {MAX_MULTIPART_PARTS} parts of {self._part_size} bytes")
        body, self._buffer = bytes(self._buffer), bytearray()
        uploaded = self._call(
            "UploadPart",
            self._client.upload_part,
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"ETag": uploaded["ETag"], "PartNumber": number})

    @staticmethod
    def _call(operation: str, method: Any, **params: Any) -> dict[str, Any]:
        with aws_call("S3", operation):
            response: dict[str, Any] = method(**params)
        return response
