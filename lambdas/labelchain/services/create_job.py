"""CreateJob: validate everything, resolve the initial model, then start exactly one labeling job.

Order matters: every check that can refuse the input runs before the first write or SageMaker call,
so a bad input costs nothing. The job name is derived from the execution, so a retried Lambda that
meets ResourceInUse recognises its own job by the execution tag and adopts it.

The job labels exactly the manifest version it validated: read by version id (the trigger's upload,
else the version current at the first attempt), hashed while scanned, then copied to the job's own
key under ``labelchain/``, which is what Ground Truth is given (docs/INPUT.md, "Manifest limits and
scope").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger

from labelchain.adapters.sagemaker import JobNameInUse
from labelchain.core.arns import arn_region, check_arns_in_stack, parse_arn
from labelchain.core.chaining import check_model_compatible, model_region
from labelchain.core.job_input import JobInput, JobModelReference, parse_job_input
from labelchain.core.naming import EXECUTION_TAG, execution_fingerprint, job_name_for_execution
from labelchain.core.notifications import Transition
from labelchain.core.prices import PriceTable, prices_from_json, resolve_prices
from labelchain.core.project_settings import (
    ProjectSettings,
    budget_for,
    check_ceilings,
    project_prices,
    settings_of,
)
from labelchain.core.records import ENDED_STATUSES, QUEUED_STATUS, JobRecord, ModelPointer, workforce_used
from labelchain.core.regions import pre_human_task_lambda_arn
from labelchain.core.request import JobPlacement, build_create_labeling_job_request
from labelchain.core.s3_layout import LABEL_CATEGORIES_NAME, WORKER_TEMPLATE_NAME, job_file_key
from labelchain.core.worker_ui import label_category_document, worker_ui_template
from labelchain.errors import (
    ConfigurationError,
    IncompatibleModel,
    InvalidJobInput,
    JobNameConflict,
    LabelingJobQuotaExceeded,
    ModelNotFound,
)
from labelchain.services.events import CreateJobEvent, CreateJobResult
from labelchain.services.manifest_pin import (
    check_manifest,
    copy_pinned_manifest,
    manifest_location,
    pin_manifest_version,
)
from labelchain.services.notify import notify
from labelchain.services.runtime import Runtime
from labelchain.settings import Settings, project_budget

logger = Logger(child=True)

__all__ = [
    "ResolvedModel",
    "check_workteam_region",
    "create_labeling_job",
    "manifest_location",
    "record_queued",
    "resolve_initial_model",
]
"""``manifest_location`` lives in ``manifest_pin`` and is re-exported here."""


@dataclass(frozen=True)
class ResolvedModel:
    """The initial model a job will use, and how it was found."""

    arn: str | None
    source: str
    check: Literal["not-applicable", "verified", "unverified"]


def check_workteam_region(job_input: JobInput, region: str) -> None:
    """A private or vendor workteam serves jobs in its own region only."""
    workforce = job_input.workforce
    team_region = arn_region(workforce.workteam_arn)
    if team_region != region:
        raise InvalidJobInput(
            f"workforce.workteam_arn: the workteam is in region {team_region!r}, but this stack runs jobs in "
            f"{region!r}; use a workteam of {region!r}"
        )


def resolve_initial_model(job_input: JobInput, runtime: Runtime) -> ResolvedModel:
    """Turn ``initial_model`` into a model ARN (or none), refusing missing or incompatible models."""
    requested = job_input.initial_model
    region = runtime.settings.region
    if requested == "none":
        return ResolvedModel(None, "none", "not-applicable")
    if requested == "latest":
        pointer = runtime.store.latest_model(job_input.project)
        if pointer is None:
            if job_input.when_no_model == "start_fresh":
                return ResolvedModel(None, "latest:none-yet", "not-applicable")
            raise ModelNotFound(
                f"initial_model: project {job_input.project!r} has no model yet (no completed job of it "
                'produced one); use "initial_model": "none", or "when_no_model": "start_fresh"'
            )
        check_model_compatible(pointer, job_input, region)
        return ResolvedModel(pointer.model_arn, "latest", "verified")
    if isinstance(requested, JobModelReference):
        return ResolvedModel(
            _model_of_job(requested.job, job_input, runtime), f"job:{requested.job}", "verified"
        )
    known = runtime.store.model_by_arn(requested.arn)
    if known is None:
        if model_region(requested.arn) != region:
            raise IncompatibleModel(
                f"initial_model.arn: the model is in region {model_region(requested.arn)!r}, the job runs in "
                f"{region!r}; a SageMaker model can only seed a job in its own region"
            )
        logger.warning(
            "initial model was not produced by a LabelChain job; compatibility cannot be checked",
            extra={"model_arn": requested.arn},
        )
        return ResolvedModel(requested.arn, "arn", "unverified")
    check_model_compatible(known, job_input, region)
    return ResolvedModel(requested.arn, "arn", "verified")


def _model_of_job(job_name: str, job_input: JobInput, runtime: Runtime) -> str:
    record = runtime.store.get_job(job_name)
    if record is None:
        raise ModelNotFound(f"initial_model.job: LabelChain has no record of a job named {job_name!r}")
    status, model_arn = record.status, record.final_model_arn
    if status != "Completed" or model_arn is None:
        described = runtime.jobs.describe(job_name)
        status, model_arn = described.status, described.final_model_arn
    if status != "Completed":
        raise ModelNotFound(
            f"initial_model.job: job {job_name!r} is {status}; only a Completed job's model can seed another"
        )
    if model_arn is None:
        raise ModelNotFound(
            f"initial_model.job: job {job_name!r} completed without a model (automated labeling trained none)"
        )
    pointer = ModelPointer(
        project=record.project,
        model_arn=model_arn,
        job_name=record.job_name,
        job_created_at=record.created_at,
        task_type=record.task_type,
        labels=record.labels,
        label_attribute=record.label_attribute,
    )
    check_model_compatible(pointer, job_input, runtime.settings.region)
    return model_arn


def _write_job_files(job_input: JobInput, job_name: str, runtime: Runtime) -> tuple[str, str]:
    settings = runtime.settings
    bucket, key_id = settings.data_bucket, settings.kms_key_arn
    project = job_input.project
    categories = runtime.objects.put_text(
        bucket,
        job_file_key(project, job_name, LABEL_CATEGORIES_NAME),
        label_category_document(job_input.task.labels),
        "application/json",
        kms_key_id=key_id,
    )
    template = runtime.objects.put_text(
        bucket,
        job_file_key(project, job_name, WORKER_TEMPLATE_NAME),
        worker_ui_template(job_input.task),
        "text/html",
        kms_key_id=key_id,
    )
    return categories, template


def checked_input(
    event: CreateJobEvent, runtime: Runtime
) -> tuple[JobInput, ProjectSettings | None, PriceTable]:
    """The execution input validated against everything but S3 and SageMaker: its own rules, this stack's
    region, partition and account, the project's ceilings; with the prices it will be charged at."""
    settings = runtime.settings
    job_input = parse_job_input(event.input)
    pre_human_task_lambda_arn(settings.region, job_input.task.type)  # region must be in the ARN table
    check_workteam_region(job_input, settings.region)
    role = parse_arn(settings.ground_truth_role_arn)
    check_arns_in_stack(job_input, role.partition, settings.region, role.account)
    # The project's ceilings hold for console inputs too (the trigger path checked them already).
    project_settings = settings_of(runtime.store.project_settings(job_input.project))
    if project_settings is not None:
        check_ceilings(job_input, project_settings)
    try:
        default_prices = prices_from_json(settings.default_prices)
    except ValueError as exc:
        raise ConfigurationError(f"LABELCHAIN_DEFAULT_PRICES (cdk.json default_prices): {exc}") from exc
    # A console input without prices of its own is priced like the project's triggered jobs.
    overrides = job_input.prices if job_input.prices is not None else project_prices(project_settings)
    prices = resolve_prices(default_prices, overrides)
    return job_input, project_settings, prices


def create_labeling_job(event: CreateJobEvent, runtime: Runtime) -> CreateJobResult:
    """Validate, resolve the model, write the job's files, create (or adopt) the job, record it."""
    settings = runtime.settings
    job_input, project_settings, prices = checked_input(event, runtime)
    job_name = job_name_for_execution(settings.resource_prefix, event.execution.name, event.execution.id)
    earlier = runtime.store.get_job(job_name)
    pin, size = pin_manifest_version(job_input, job_name, earlier, runtime)
    pin = check_manifest(job_input, pin, size, runtime)
    model = resolve_initial_model(job_input, runtime)

    # Every check has passed: only now does CreateJob write anything.
    labeled_manifest_uri = copy_pinned_manifest(pin, job_input.project, job_name, runtime)
    label_category_uri, ui_template_uri = _write_job_files(job_input, job_name, runtime)
    placement = JobPlacement(
        job_name=job_name,
        region=settings.region,
        role_arn=settings.ground_truth_role_arn,
        output_bucket=settings.output_bucket,
        kms_key_arn=settings.kms_key_arn,
        label_category_uri=label_category_uri,
        ui_template_uri=ui_template_uri,
        execution_arn=event.execution.id,
    )
    labeled_input = job_input.model_copy(update={"manifest": labeled_manifest_uri})
    request = build_create_labeling_job_request(labeled_input, placement, model.arn)
    record = JobRecord(
        job_name=job_name,
        project=job_input.project,
        execution_arn=event.execution.id,
        task_type=job_input.task.type.value,
        labels=list(job_input.task.labels),
        label_attribute=job_input.task.label_attribute,
        manifest_uri=pin.source_uri,
        manifest_version_id=pin.version_id,
        manifest_sha256=pin.sha256,
        labeled_manifest_uri=labeled_manifest_uri,
        object_count=pin.objects,
        auto_labeling=job_input.auto_labeling,
        workforce=workforce_used(job_input.workforce, prices, request["HumanTaskConfig"]["WorkteamArn"]),
        prices=prices,
        initial_model_source=model.source,
        initial_model_arn=model.arn,
        initial_model_check=model.check,
        advance_latest_model=job_input.advance_latest_model,
        created_at=runtime.clock(),
        budget_usd=_budget(job_input, project_settings, settings),
    )
    adopted = False
    try:
        job_arn = runtime.jobs.create(request)
    except LabelingJobQuotaExceeded:
        record_queued(record, runtime)
        raise
    except JobNameInUse:
        existing = runtime.jobs.describe(job_name)
        if existing.tags.get(EXECUTION_TAG) != execution_fingerprint(event.execution.id):
            raise JobNameConflict(
                f"labeling job {job_name!r} already exists and was not started by execution "
                f"{event.execution.id}; start the execution under another name"
            ) from None
        if existing.status in ENDED_STATUSES:
            # Step Functions lets a name be reused (90 days after the execution ended), which gives the
            # same ARN: a retried create meets its job while it is young, never after it has ended.
            raise JobNameConflict(
                f"labeling job {job_name!r} of an earlier execution named {event.execution.name!r} already "
                f"ended ({existing.status}); start the execution under another name"
            ) from None
        job_arn, adopted = existing.arn, True
        logger.info("adopted the job this execution created before a retry", extra={"job_name": job_name})

    queued = runtime.store.get_job(job_name)
    record = record.model_copy(
        update={
            "job_arn": job_arn,
            "queued_since": queued.queued_since if queued is not None else None,
            "queue_attempts": queued.queue_attempts if queued is not None else 0,
        }
    )
    if runtime.store.create_job(record):
        notify(runtime, record, Transition.STARTED)
    else:
        sealed = runtime.store.get_job(job_name)
        if sealed is not None and sealed.finalized_at is not None:
            # The execution ended while this create was in flight and the record was sealed NotStarted:
            # nothing would watch this job, so it must not run.
            runtime.jobs.stop(job_name)
            raise JobNameConflict(
                f"labeling job {job_name!r} started after its execution had ended ({sealed.status}); "
                "it was stopped at once"
            )
    logger.info(
        "labeling job started",
        extra={
            "job_name": job_name,
            "objects": pin.objects,
            "manifest_version_id": pin.version_id,
            "manifest_sha256": pin.sha256,
            "initial_model": model.arn,
            "adopted": adopted,
        },
    )
    return CreateJobResult(job_name=job_name, project=job_input.project, adopted=adopted)


def _budget(job_input: JobInput, project_settings: ProjectSettings | None, settings: Settings) -> str | None:
    """The job's spend limit (``core.project_settings.budget_for``) as text, or None."""
    budget = budget_for(job_input, project_settings, project_budget(settings, job_input.project))
    return None if budget is None else f"{budget:.2f}"


def record_queued(record: JobRecord, runtime: Runtime) -> None:
    """Say on the job record that CreateLabelingJob waits for the account's concurrent-job quota."""
    existing = runtime.store.get_job(record.job_name)
    if existing is not None and existing.status != QUEUED_STATUS:
        return
    runtime.store.create_job(
        record.model_copy(
            update={
                "status": QUEUED_STATUS,
                "queued_since": existing.queued_since if existing is not None else record.created_at,
                "queue_attempts": (existing.queue_attempts if existing is not None else 0) + 1,
            }
        )
    )
    logger.warning(
        "account's labeling-job quota reached: the job is queued and CreateJob retries",
        extra={"job_name": record.job_name},
    )
