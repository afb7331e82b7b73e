"""The manifest version a job labels: pinned by version id, checked while streamed, copied to the job's key.

CreateJob validates one version and Ground Truth must read exactly those bytes. So the version is fixed
first (the trigger's upload, an earlier attempt's pin, else the current version), streamed through the
line checks and limits of ``core.manifest`` while its sha256 is computed, and only once every check has
passed copied to the job's ``input.manifest`` under ``labelchain/`` (``s3_layout.job_file_key``), where
uploaders cannot write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote

from labelchain.adapters.s3 import ObjectMissing
from labelchain.core.catalog import MIN_OBJECTS_WITH_AUTO_LABELING, spec_for
from labelchain.core.job_input import JobInput
from labelchain.core.json_stream import MalformedJsonStreamError
from labelchain.core.manifest import (
    MAX_MANIFEST_OBJECTS,
    ManifestDigest,
    ManifestLimitExceeded,
    SourceRefScope,
    check_manifest_size,
    scan_manifest,
)
from labelchain.core.records import JobRecord
from labelchain.core.s3_layout import (
    EXPERIMENT_PART_KEY,
    LABELCHAIN_PREFIX,
    PINNED_MANIFEST_NAME,
    job_file_key,
    split_s3_uri,
)
from labelchain.errors import InvalidJobInput, ManifestNotFound
from labelchain.services.runtime import Runtime

PIN_METADATA = ("labelchain-source-uri", "labelchain-source-version-id", "labelchain-sha256")
"""User metadata on the per-job copy: where it came from, so a retry finds the version it pinned."""


@dataclass(frozen=True)
class PinnedManifest:
    """The manifest version a job labels: validated, hashed, and (once copied) the URI Ground Truth reads."""

    source_uri: str
    bucket: str
    key: str
    version_id: str
    objects: int = 0
    sha256: str = ""


def manifest_location(manifest: str, data_bucket: str) -> tuple[str, str]:
    """``(bucket, key)`` of a manifest, refused unless it is in the stack's data bucket and outside
    ``labelchain/`` (an experiment's part, ``EXPERIMENT_PART_KEY``, is the one input allowed there)."""
    bucket, key = split_s3_uri(manifest)
    if bucket != data_bucket:
        raise InvalidJobInput(
            f"manifest: must be in the data bucket {data_bucket!r} (the Ground Truth role reads only "
            f"that bucket), got bucket {bucket!r}"
        )
    if key.startswith(LABELCHAIN_PREFIX) and not EXPERIMENT_PART_KEY.match(key):
        raise InvalidJobInput(
            f"manifest: {manifest} is under {LABELCHAIN_PREFIX}, where LabelChain keeps the files it writes "
            "for its jobs (another job's pinned copy is not an input); upload the manifest elsewhere"
        )
    if {"", ".", ".."} & set(key.split("/")):
        raise InvalidJobInput(
            f"manifest: the key of {manifest} has an empty, '.' or '..' path segment; S3 keys are literal, "
            "so name the object exactly"
        )
    return bucket, key


def pin_manifest_version(
    job_input: JobInput, job_name: str, earlier: JobRecord | None, runtime: Runtime
) -> tuple[PinnedManifest, int]:
    """The manifest version this job labels, and its size from HeadObject.

    The input's ``manifest_version`` (the trigger's upload) wins; else the version an earlier attempt of
    this execution pinned (its queued record, or its per-job copy if it died before the record); else
    the version current now. So a retry never moves to a version uploaded after the first validation.
    """
    uri = job_input.manifest
    bucket, key = manifest_location(uri, runtime.settings.data_bucket)
    objects = runtime.objects
    version = job_input.manifest_version
    if version is not None:
        try:
            head = objects.head(bucket, key, version_id=version)
        except ObjectMissing as exc:
            raise InvalidJobInput(
                f"manifest_version: {uri} has no version {version!r} ({exc}); give the version id S3 "
                "reported for the upload, or leave manifest_version out to label the current version"
            ) from exc
        return PinnedManifest(uri, bucket, key, version), head.size
    version = earlier.manifest_version_id if earlier is not None else None
    if version is None:
        version = _version_of_earlier_copy(uri, job_input.project, job_name, runtime)
    if version is not None:
        try:
            head = objects.head(bucket, key, version_id=version)
        except ObjectMissing as exc:
            raise ManifestNotFound(
                f"manifest: version {version!r} of {uri}, validated by an earlier attempt of this "
                f"execution, cannot be read any more ({exc}); start a new execution"
            ) from exc
        return PinnedManifest(uri, bucket, key, version), head.size
    try:
        head = objects.head(bucket, key)
    except ObjectMissing as exc:
        raise ManifestNotFound(f"manifest: {uri} cannot be read ({exc})") from exc
    if head.version_id is None:
        raise InvalidJobInput(
            f"manifest: {uri} has no S3 version id, so the version validated could not be the version "
            f"labeled: the data bucket {bucket!r} must keep versions (versioning enabled, as the stack "
            "creates it); upload the manifest again once it does"
        )
    return PinnedManifest(uri, bucket, key, head.version_id), head.size


def _version_of_earlier_copy(uri: str, project: str, job_name: str, runtime: Runtime) -> str | None:
    bucket = runtime.settings.data_bucket
    try:
        head = runtime.objects.head(bucket, job_file_key(project, job_name, PINNED_MANIFEST_NAME))
    except ObjectMissing:
        return None
    source_key, version_key, _ = PIN_METADATA
    return head.metadata.get(version_key) if head.metadata.get(source_key) == metadata_uri(uri) else None


def check_manifest(job_input: JobInput, pin: PinnedManifest, size: int, runtime: Runtime) -> PinnedManifest:
    """Stream the pinned version, check every line and the limits; its object count and sha256."""
    spec = spec_for(job_input.task.type)
    where = f"{pin.source_uri} (version {pin.version_id})"
    settings = runtime.settings
    scope = SourceRefScope.for_job(settings.data_bucket, job_input.project, settings.source_ref_scope)
    max_objects = spec.max_objects_with_auto_labeling if job_input.auto_labeling else MAX_MANIFEST_OBJECTS
    digest = ManifestDigest()
    try:
        check_manifest_size(size)
        chunks = runtime.objects.iter_chunks(pin.bucket, pin.key, version_id=pin.version_id)
        summary = scan_manifest(digest.feed(chunks), spec.source_field, scope=scope, max_objects=max_objects)
    except ObjectMissing as exc:
        raise ManifestNotFound(f"manifest: {where} cannot be read ({exc})") from exc
    except MalformedJsonStreamError as exc:
        raise InvalidJobInput(f"manifest: {where} is not a JSON-lines manifest ({exc})") from exc
    except ManifestLimitExceeded as exc:
        rule = (
            f"automated data labeling takes at most {max_objects:,} objects for {spec.task_type.value}; "
            if exc.line is not None and job_input.auto_labeling
            else ""
        )
        raise InvalidJobInput(f"manifest: {rule}{where} {exc}") from exc
    if summary.problem_count:
        shown = "; ".join(f"line {p.line}: {p.problem}" for p in summary.problems)
        raise InvalidJobInput(
            f"manifest: {summary.problem_count} bad line(s) in {job_input.manifest}; first: {shown}"
        )
    if summary.objects == 0:
        raise InvalidJobInput(f"manifest: {job_input.manifest} holds no objects")
    if job_input.auto_labeling and summary.objects < MIN_OBJECTS_WITH_AUTO_LABELING:
        raise InvalidJobInput(
            f"manifest: automated data labeling needs at least {MIN_OBJECTS_WITH_AUTO_LABELING:,} "
            f"objects; {job_input.manifest} has {summary.objects:,} (add objects or set auto_labeling "
            "to false)"
        )
    return replace(pin, objects=summary.objects, sha256=digest.sha256)


def metadata_uri(uri: str) -> str:
    """``uri`` as S3 user metadata can hold it (ASCII only): percent-encoded beyond ``/`` and ``:``."""
    return quote(uri, safe=":/")


def copy_pinned_manifest(pin: PinnedManifest, project: str, job_name: str, runtime: Runtime) -> str:
    """Copy exactly the validated version to the job's own key (SSE-KMS, stack key); its URI.

    Uploaders cannot write under ``labelchain/``, so what Ground Truth reads is what was validated.
    S3's SHA-256 of the copy, when it gives one, must equal the scan's.
    """
    settings = runtime.settings
    copied = runtime.objects.copy_version(
        (pin.bucket, pin.key, pin.version_id),
        settings.data_bucket,
        job_file_key(project, job_name, PINNED_MANIFEST_NAME),
        content_type="application/x-ndjson",
        metadata=dict(
            zip(PIN_METADATA, (metadata_uri(pin.source_uri), pin.version_id, pin.sha256), strict=True)
        ),
        kms_key_id=settings.kms_key_arn,
    )
    if copied.sha256 is not None and copied.sha256 != pin.sha256:
        raise ManifestNotFound(
            f"manifest: the copy of {pin.source_uri} version {pin.version_id} has sha256 {copied.sha256}, "
            f"not the validated {pin.sha256}; nothing was started, retry the execution"
        )
    return copied.uri
