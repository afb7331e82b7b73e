"""S3 access: streaming reads and small writes through an injected boto3 S3 client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelchain.adapters.aws_errors import error_code, is_transient, transient

CHUNK_SIZE = 1024 * 1024
_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")


class ObjectMissing(Exception):
    """The S3 object does not exist (or this role may not read it)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    match = _S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return match["bucket"], match["key"]


class ObjectStore:
    """Read objects as chunk streams (never whole), write small text objects, list keys."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def iter_chunks(self, bucket: str, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The object's bytes in chunks; raises ``ObjectMissing`` if it cannot be read."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"}:
                raise ObjectMissing(f"s3://{bucket}/{key}: {error_code(exc)}") from exc
            if is_transient(exc):
                raise transient("S3", "GetObject", exc) from exc
            raise
        except BotoCoreError as exc:
            if is_transient(exc):
                raise transient("S3", "GetObject", exc) from exc
            raise
        body = response["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def put_text(self, bucket: str, key: str, text: str, content_type: str) -> str:
        """Write a small UTF-8 object (bucket default encryption applies); returns its URI."""
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType=content_type)
        except ClientError as exc:
            if is_transient(exc):
                raise transient("S3", "PutObject", exc) from exc
            raise
        return f"s3://{bucket}/{key}"

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under a prefix, page by page."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])
        except ClientError as exc:
            if is_transient(exc):
                raise transient("S3", "ListObjectsV2", exc) from exc
            raise
