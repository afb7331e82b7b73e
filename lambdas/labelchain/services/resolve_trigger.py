"""ResolveTrigger: turn a manifest upload into the LabelingJob input CreateJob validates and runs.

EventBridge starts a LabelingJob execution with ``{"trigger": …}`` (``core.trigger.input_transformer``);
this service's result replaces that state, so it returns exactly an execution input. Every check runs
before the one write (the claim on the upload), so a bad project.json leaves nothing behind. The claim
makes a twice-delivered upload start one job: the second execution fails with ``DuplicateTrigger``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from labelchain.adapters.s3 import ObjectMissing
from labelchain.core.job_input import JobInput
from labelchain.core.trigger import (
    MAX_PROJECT_SETTINGS_BYTES,
    PROJECT_SETTINGS_NAME,
    SETTINGS_DOC,
    TRIGGER_OWNED_FIELDS,
    ManifestUpload,
    TriggeredManifest,
    job_input_from_project_settings,
    load_project_settings,
    parse_manifest_key,
)
from labelchain.errors import DuplicateTrigger, InvalidJobInput
from labelchain.services.events import ExecutionRef
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

SETTINGS_CHUNK_BYTES = 64 * 1024


class ResolveTriggerEvent(BaseModel):
    """The ResolveTrigger payload: the upload (``$.trigger``) and the execution it started."""

    model_config = ConfigDict(frozen=True)
    trigger: ManifestUpload
    execution: ExecutionRef


def read_project_settings(manifest: TriggeredManifest, bucket: str, runtime: Runtime) -> bytes:
    """project.json's bytes, read in chunks and refused once past the size cap."""
    data = bytearray()
    try:
        for chunk in runtime.objects.iter_chunks(bucket, manifest.settings_key, SETTINGS_CHUNK_BYTES):
            data += chunk
            if len(data) > MAX_PROJECT_SETTINGS_BYTES:
                break  # enough to know it is too large; load_project_settings says so
    except ObjectMissing as exc:
        raise InvalidJobInput(
            f"project.json: s3://{bucket}/{manifest.settings_key} cannot be read "
            f"({str(exc).rpartition(': ')[2]}); "
            f"upload it once per project: a JSON object with every LabelingJob input field except "
            f"{', '.join(TRIGGER_OWNED_FIELDS)} (task, workforce, …; see {SETTINGS_DOC} and "
            f"examples/{PROJECT_SETTINGS_NAME})"
        ) from exc
    return bytes(data)


def resolve_trigger(event: ResolveTriggerEvent, runtime: Runtime) -> JobInput:
    """Validate the upload and its project's settings, claim the upload, return the job input."""
    upload, execution = event.trigger, event.execution
    data_bucket = runtime.settings.data_bucket
    if upload.bucket != data_bucket:
        raise InvalidJobInput(
            f"trigger.bucket: manifests must be uploaded to the data bucket {data_bucket!r} (the "
            f"Ground Truth role reads only that bucket), got {upload.bucket!r}"
        )
    manifest = parse_manifest_key(upload.key, upload.bucket)
    settings = load_project_settings(read_project_settings(manifest, upload.bucket, runtime))
    job_input = job_input_from_project_settings(settings, manifest, upload.bucket)

    owner = runtime.store.claim_trigger(
        upload.bucket, upload.key, upload.upload_id, execution.id, runtime.clock()
    )
    if owner != execution.id:
        raise DuplicateTrigger(
            f"trigger: {upload.uri} (upload {upload.upload_id}) already started execution {owner}; "
            f"this execution ({execution.id}) creates no job (EventBridge delivered the upload twice)"
        )
    logger.info(
        "manifest upload resolved to a job input",
        extra={
            "project": job_input.project,
            "manifest": job_input.manifest,
            "upload": upload.upload_id,
            "event_id": upload.event_id,
        },
    )
    return job_input
