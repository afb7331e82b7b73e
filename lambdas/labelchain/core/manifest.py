"""Input manifests: one JSON object per line, each naming one data object.

Read line by line from a stream so a 100,000-object manifest never sits in memory. Every line is
checked the way Ground Truth reads it; the first problems are reported with their line numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from labelchain.core.job_input import S3_URI_PATTERN
from labelchain.core.json_stream import iter_lines

S3_OBJECT_URI = re.compile(S3_URI_PATTERN)
MAX_REPORTED_PROBLEMS = 5
MAX_LINE_BYTES = 1024 * 1024
"""A manifest line longer than this is refused (Ground Truth objects are references or short text)."""


class ManifestProblem(BaseModel):
    """One bad line of a manifest."""

    model_config = ConfigDict(frozen=True)
    line: int
    problem: str


class ManifestSummary(BaseModel):
    """What a scan of a manifest found."""

    model_config = ConfigDict(frozen=True)
    objects: int
    blank_lines: int
    duplicates: int
    problems: list[ManifestProblem]
    problem_count: int


def line_problem(raw: bytes, source_field: str) -> tuple[str | None, str | None]:
    """Return ``(object_key, problem)`` for one manifest line; exactly one of them is set."""
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not valid JSON ({exc.__class__.__name__}: {exc})"
    if not isinstance(record, dict):
        return None, f"expected a JSON object, got {type(record).__name__}"
    value = record.get(source_field)
    if source_field == "source-ref":
        if not isinstance(value, str) or not S3_OBJECT_URI.match(value):
            found = "missing" if value is None else repr(value)[:80]
            return None, f"'source-ref' must be an s3://bucket/key URI ({found})"
    elif not isinstance(value, str) or not value.strip():
        return None, "'source' must be non-empty text"
    return value, None


def scan_manifest(chunks: Iterable[bytes], source_field: str) -> ManifestSummary:
    """Count and check every line; duplicate objects are problems (each object is labeled once)."""
    objects = blank = duplicates = problem_count = 0
    problems: list[ManifestProblem] = []
    seen: set[bytes] = set()
    lines = enumerate(iter_lines(chunks, max_line_bytes=MAX_LINE_BYTES), start=1)
    for number, raw in lines:
        if not raw.strip():
            blank += 1
            continue
        key, problem = line_problem(raw, source_field)
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
