"""Input manifests: one JSON object per line, each naming one data object.

Read line by line from a stream so a 100,000-object manifest never sits in memory. Every line is
checked the way Ground Truth reads it; the first problems are reported with their line numbers.

This module is the one place for a manifest's limits (size, line length, nesting depth, object count)
and for the reach of its ``source-ref`` lines (which bucket and keys a line may name), so that a
manifest can neither exhaust the Lambda reading it nor show workers files it should not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from labelchain.core.job_input import S3_URI_PATTERN
from labelchain.core.json_stream import iter_lines, nesting_exceeds
from labelchain.core.models import FrozenModel
from labelchain.core.s3_layout import LABELCHAIN_PREFIX, incoming_prefix, split_s3_uri
from labelchain.core.strict_json import DuplicateKeyError, loads_strict

S3_OBJECT_URI = re.compile(S3_URI_PATTERN)
MAX_REPORTED_PROBLEMS = 5

# --- limits: checked before reading (object size) and while streaming ------------------------------
MAX_MANIFEST_BYTES = 128 * 1024**2
"""A manifest larger than 128 MiB is refused (from HeadObject's ContentLength, before it is read): at
100,000 objects that is over 1.3 KiB a line, beyond a reference or a short text. The bound is what
CreateJob (512 MB, 60 s) scans with time to spare; a larger manifest would meet the Lambda's timeout
instead of this error."""
MAX_LINE_BYTES = 1024 * 1024
"""A manifest line longer than this is refused (Ground Truth objects are references or short text)."""
MAX_JSON_DEPTH = 16
"""A line whose arrays/objects nest deeper than this is refused before it is parsed."""
MAX_MANIFEST_OBJECTS = 100_000
"""The most objects one labeling job takes (the task type's own, lower maximum applies with automated
labeling); the scan stops at the first line past it."""
MAX_KEY_BYTES = 1024
"""S3's longest object key (UTF-8 bytes)."""

# --- the reach of source-ref ------------------------------------------------------------------------
SourceRefScopeName = Literal["bucket", "project"]
REFUSED_KEY_CHARACTERS = frozenset("%\\#?")
"""Characters a ``source-ref`` key may not hold: ``%`` (keys are read literally, never URL-decoded, so
``a%2Fb`` would be one thing to LabelChain and maybe another to a reader that decodes), ``\\`` (a path
separator to some readers), ``#`` and ``?`` (start a fragment or query when the URI is parsed as a URL).
Control and invisible format characters (Unicode category C*) are refused too."""
_REFUSED_ASCII = re.compile(r"[%\\#?\x00-\x1f\x7f]")
"""The ASCII part of the rule above, as one search: most keys are ASCII and need nothing else."""


class ManifestLimitExceeded(ValueError):
    """The manifest breaks one of the limits above; ``line`` is the 1-based line, when one is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class SourceRefScope:
    """Where a ``source-ref`` may point: an object in ``bucket``, outside ``LABELCHAIN_PREFIX`` (LabelChain's
    own files), and under ``required_prefix`` when set (``source_ref_scope: project``)."""

    bucket: str
    required_prefix: str | None = None

    @classmethod
    def for_job(cls, data_bucket: str, project: str, scope: SourceRefScopeName) -> SourceRefScope:
        """The scope of a job of ``project``: the whole data bucket, or the project's own prefix."""
        prefix = incoming_prefix(project) if scope == "project" else None
        return cls(bucket=data_bucket, required_prefix=prefix)


class ManifestProblem(FrozenModel):
    """One bad line of a manifest."""

    line: int
    problem: str


class ManifestSummary(FrozenModel):
    """What a scan of a manifest found."""

    objects: int
    blank_lines: int
    duplicates: int
    problems: list[ManifestProblem]
    problem_count: int


class ManifestDigest:
    """Passes a manifest's chunks through, computing the sha256 and size of exactly the bytes read, and
    refusing the stream as soon as it outgrows ``max_bytes`` (whatever HeadObject said)."""

    def __init__(self, max_bytes: int = MAX_MANIFEST_BYTES) -> None:
        self._hash = hashlib.sha256()
        self._max_bytes = max_bytes
        self.size = 0

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self._max_bytes:
                raise ManifestLimitExceeded(f"is larger than the limit of {self._max_bytes:,} bytes")
            self._hash.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def check_manifest_size(size: int, max_bytes: int = MAX_MANIFEST_BYTES) -> None:
    """Refuse a manifest by its size before reading a byte of it."""
    if size > max_bytes:
        raise ManifestLimitExceeded(f"is {size:,} bytes, larger than the limit of {max_bytes:,} bytes")


def source_ref_problem(uri: str, scope: SourceRefScope | None) -> str | None:
    """Why ``uri`` (already an ``s3://bucket/key`` string) may not be a ``source-ref``, or None.

    The key rules always apply; the bucket and prefix rules need the job's ``scope``.
    """
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError:
        return f"'source-ref' must be an s3://bucket/key URI ({uri[:80]!r})"
    if len(key.encode()) > MAX_KEY_BYTES:
        return f"'source-ref' key is longer than S3's {MAX_KEY_BYTES} bytes"
    if key.endswith("/"):
        return f"'source-ref' must name an object, not a folder (it ends in '/'): {uri[:120]!r}"
    segments = key.split("/")
    if "" in segments:
        return f"'source-ref' key has an empty path segment ('//' or a leading '/'): {uri[:120]!r}"
    if "." in segments or ".." in segments:
        return f"'source-ref' key has a '.' or '..' path segment: {uri[:120]!r}"
    if _REFUSED_ASCII.search(key) or not key.isascii():
        refused = sorted({c for c in key if c in REFUSED_KEY_CHARACTERS or unicodedata.category(c)[0] == "C"})
    else:
        refused = []
    if refused:
        shown = ", ".join(repr(c) for c in refused)
        return (
            f"'source-ref' key holds {shown}: keys are taken literally (never URL-decoded) and may not "
            "hold %, \\, #, ? or control/invisible characters; rename the object"
        )
    if scope is None:
        return None
    if bucket != scope.bucket:
        return (
            f"'source-ref' must be in the data bucket {scope.bucket!r} (the only bucket the Ground Truth "
            f"role reads), got bucket {bucket!r}"
        )
    if key.startswith(LABELCHAIN_PREFIX):
        return f"'source-ref' may not point under {LABELCHAIN_PREFIX!r}, reserved for LabelChain's own files"
    if scope.required_prefix is not None and not key.startswith(scope.required_prefix):
        return (
            f"'source-ref' must be under s3://{scope.bucket}/{scope.required_prefix} (source_ref_scope is "
            f"'project'), got {uri[:120]!r}"
        )
    return None


def line_problem(
    raw: bytes, source_field: str, *, scope: SourceRefScope | None = None
) -> tuple[str | None, str | None]:
    """Return ``(object_key, problem)`` for one manifest line; exactly one of them is set."""
    if nesting_exceeds(raw, MAX_JSON_DEPTH):
        return None, f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels"
    try:
        record = loads_strict(raw, document="the line")
    except DuplicateKeyError as exc:
        return None, str(exc)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"not valid JSON ({exc.__class__.__name__}: {exc})"
    if not isinstance(record, dict):
        return None, f"expected a JSON object, got {type(record).__name__}"
    other_field = "source" if source_field == "source-ref" else "source-ref"
    if source_field in record and other_field in record:
        return None, (
            f"holds both 'source-ref' and 'source'; this task type reads {source_field!r} only, so keep "
            "exactly that one"
        )
    value = record.get(source_field)
    if source_field == "source-ref":
        if not isinstance(value, str) or not S3_OBJECT_URI.match(value):
            found = "missing" if value is None else repr(value)[:80]
            return None, f"'source-ref' must be an s3://bucket/key URI ({found})"
        problem = source_ref_problem(value, scope)
        if problem is not None:
            return None, problem
    elif not isinstance(value, str) or not value.strip():
        return None, "'source' must be non-empty text"
    return value, None


def scan_manifest(
    chunks: Iterable[bytes],
    source_field: str,
    *,
    scope: SourceRefScope | None = None,
    max_objects: int = MAX_MANIFEST_OBJECTS,
) -> ManifestSummary:
    """Count and check every line; duplicate objects are problems (each object is labeled once).

    Raises ``ManifestLimitExceeded`` at the first non-blank line past ``max_objects`` (the scan stops
    there) and ``MalformedJsonStreamError`` for a line over ``MAX_LINE_BYTES``.
    """
    objects = blank = duplicates = problem_count = 0
    problems: list[ManifestProblem] = []
    seen: set[bytes] = set()
    lines = enumerate(iter_lines(chunks, max_line_bytes=MAX_LINE_BYTES), start=1)
    for number, raw in lines:
        if not raw.strip():
            blank += 1
            continue
        if objects + problem_count >= max_objects:
            raise ManifestLimitExceeded(
                f"holds more than the limit of {max_objects:,} objects (line {number} is object "
                f"{max_objects + 1:,})",
                line=number,
            )
        key, problem = line_problem(raw, source_field, scope=scope)
        if key is not None:
            fingerprint = hashlib.blake2b(key.encode(), digest_size=16).digest()
            if fingerprint in seen:
                duplicates += 1
                problem = f"duplicate object {key[:80]!r}"
            seen.add(fingerprint)
        if problem is not None:
            problem_count += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(ManifestProblem(line=number, problem=problem))
            continue
        objects += 1
    return ManifestSummary(
        objects=objects,
        blank_lines=blank,
        duplicates=duplicates,
        problems=problems,
        problem_count=problem_count,
    )
