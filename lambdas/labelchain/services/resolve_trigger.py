"""ResolveTrigger: turn a manifest upload into the LabelingJob input CreateJob validates and runs.

EventBridge starts a LabelingJob execution with ``{"trigger": …}`` (``core.trigger.input_transformer``);
this service's result replaces that state, so it returns exactly an execution input. The project's
settings come from the table (written only by ``labelchain project-settings put``), never from the data
bucket: whoever uploads batches cannot change them. Every check runs before the one write (the claim on
the upload), so bad settings leave nothing behind. The claim makes a twice-delivered upload start one
job: the second execution fails with ``DuplicateTrigger``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from labelchain.core.job_input import JobInput
from labelchain.core.models import FrozenModel
from labelchain.core.project_settings import (
    SETTINGS_DOC,
    TRIGGER_OWNED_FIELDS,
    job_input_for_upload,
    parse_project_settings,
)
from labelchain.core.trigger import ManifestUpload, parse_manifest_key
from labelchain.errors import DuplicateTrigger, InvalidJobInput
from labelchain.services.events import ExecutionRef
from labelchain.services.runtime import Runtime

logger = Logger(child=True)


class ResolveTriggerEvent(FrozenModel):
    """The ResolveTrigger payload: the upload (``$.trigger``) and the execution it started."""

    trigger: ManifestUpload
    execution: ExecutionRef


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
    record = runtime.store.project_settings(manifest.project)
    if record is None:
        raise InvalidJobInput(
            f"project settings of {manifest.project!r}: none in the table; an operator writes them once "
            f"per project with `labelchain project-settings put {manifest.project} --file SETTINGS.json`: "
            f"a JSON object with every LabelingJob input field except {', '.join(TRIGGER_OWNED_FIELDS)} "
            f"(task, workforce, …; see {SETTINGS_DOC} and examples/project.json). A project.json "
            "uploaded under incoming/ is not read"
        )
    settings = parse_project_settings(record.document, record.project)  # today's rules, not the put's
    job_input = job_input_for_upload(settings, upload.uri, upload.version_id)

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
            "settings_version": record.version,
            "event_id": upload.event_id,
        },
    )
    return job_input
