"""What LabelChain keeps in DynamoDB, and the single-table key layout that serves its queries.

Access patterns (one table, ``pk``/``sk`` plus GSI ``gsi1``):
  * a job by name ............................ pk=JOB#<name>          sk=JOB
  * a job's progress snapshots in time order . pk=JOB#<name>          sk=SNAPSHOT#<iso time>#<poll>
  * a project's jobs in time order ........... gsi1pk=PROJECT#<p>     gsi1sk=JOB#<created iso>#<name>
  * jobs not yet final (the reconciler) ...... gsi2pk=ACTIVE#<shard>  gsi2sk=<created iso>#<name>
    (sparse: only a job record that is not final carries gsi2pk, so the index holds just those)
  * the project's latest model ............... pk=PROJECT#<p>         sk=MODEL#LATEST
  * which job trained a model ................ pk=MODEL#<arn>          sk=MODEL
  * an execution that failed before a job .... pk=EXECUTION#<arn>      sk=FAILURE
  * an experiment's comparison ............... pk=EXPERIMENT#<name>    sk=COMPARISON
  * a manifest upload that started a job ..... pk=TRIGGER#<s3 uri>     sk=VERSION#<version>
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import Field

from labelchain.core.cost import CostBreakdown, compute_cost
from labelchain.core.labor import WorkerTime
from labelchain.core.models import FrozenModel
from labelchain.core.prices import PriceTable, task_price_usd_for

PARTITION_KEY = "pk"
SORT_KEY = "sk"
PROJECT_INDEX = "gsi1"
PROJECT_INDEX_PARTITION_KEY = "gsi1pk"
PROJECT_INDEX_SORT_KEY = "gsi1sk"
ACTIVE_INDEX = "gsi2"
ACTIVE_INDEX_PARTITION_KEY = "gsi2pk"
ACTIVE_INDEX_SORT_KEY = "gsi2sk"
ACTIVE_SHARDS = 4
"""The active-jobs index spreads its items over a few partition values so one reconciler query per
shard reads them (no table scan, no single hot key)."""
TTL_ATTRIBUTE = "expires_at"
"""The table's key schema: infra/ builds the table from these names, tests and the store use them."""

JobStatus = Literal["Initializing", "InProgress", "Completed", "Failed", "Stopping", "Stopped"]
ENDED_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Stopped"})
QUEUED_STATUS = "Queued"
"""LabelChain's own status: CreateLabelingJob was refused for the account's concurrent-job quota and the
execution retries it; no SageMaker job exists yet."""
NOT_STARTED_STATUS = "NotStarted"
"""LabelChain's own final status: the execution ended while its job was still queued; no job ran."""
NOT_FOUND_STATUS = "NotFoundInSageMaker"
"""LabelChain's own final status: the reconciler found a record whose job SageMaker does not know."""
Watcher = Literal["execution", "reconciler"]
"""Who finalizes a job when it ends: the execution waiting for it, or (when the execution is gone or
gave the job up) the reconciler and the job-event handler."""
SNAPSHOT_RETENTION_DAYS = 400
"""Progress snapshots expire (TTL) after this; job records and model pointers never do."""


def job_key(job_name: str) -> dict[str, str]:
    return {"pk": f"JOB#{job_name}", "sk": "JOB"}


def snapshot_key(job_name: str, taken_at: datetime, poll: int) -> dict[str, str]:
    return {"pk": f"JOB#{job_name}", "sk": f"SNAPSHOT#{taken_at.isoformat()}#{poll:06d}"}


def project_jobs_index_key(project: str, created_at: datetime, job_name: str) -> dict[str, str]:
    return {"gsi1pk": f"PROJECT#{project}", "gsi1sk": f"JOB#{created_at.isoformat()}#{job_name}"}


def active_jobs_index_key(job_name: str, created_at: datetime) -> dict[str, str]:
    """Index attributes of a job that is not final (sparse index ``gsi2``; removed at finalize)."""
    shard = int(hashlib.sha256(job_name.encode()).hexdigest(), 16) % ACTIVE_SHARDS
    return {
        ACTIVE_INDEX_PARTITION_KEY: active_shard_key(shard),
        ACTIVE_INDEX_SORT_KEY: f"{created_at.isoformat()}#{job_name}",
    }


def active_shard_key(shard: int) -> str:
    return f"ACTIVE#{shard}"


def latest_model_key(project: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project}", "sk": "MODEL#LATEST"}


SETTINGS_SORT_KEY = "SETTINGS"
SETTINGS_INDEX_PARTITION = "PROJECT_SETTINGS"
"""``gsi1pk`` of every settings item: one query of ``gsi1`` lists the projects (no table scan)."""


def project_settings_key(project: str) -> dict[str, str]:
    """``pk=PROJECT#<p>, sk=SETTINGS``: a project's settings (``core.project_settings``), next to its
    latest-model pointer."""
    return {"pk": f"PROJECT#{project}", "sk": SETTINGS_SORT_KEY}


def project_settings_index_key(project: str) -> dict[str, str]:
    """The settings item's place in ``gsi1`` (its own partition, apart from every project's jobs)."""
    return {"gsi1pk": SETTINGS_INDEX_PARTITION, "gsi1sk": project}


def model_key(model_arn: str) -> dict[str, str]:
    return {"pk": f"MODEL#{model_arn}", "sk": "MODEL"}


def experiment_key(execution_name: str) -> dict[str, str]:
    return {"pk": f"EXPERIMENT#{execution_name}", "sk": "COMPARISON"}


def trigger_key(bucket: str, key: str, version: str) -> dict[str, str]:
    return {"pk": f"TRIGGER#s3://{bucket}/{key}", "sk": f"VERSION#{version}"}


def execution_failure_key(execution_arn: str) -> dict[str, str]:
    return {"pk": f"EXECUTION#{execution_arn}", "sk": "FAILURE"}


class Counters(FrozenModel):
    """``LabelCounters`` as DescribeLabelingJob reports them."""

    total_labeled: int = 0
    human_labeled: int = 0
    machine_labeled: int = 0
    failed_non_retryable_error: int = 0
    unlabeled: int = 0


class WorkforceUsed(FrozenModel):
    """Who labeled, at what price: the cost model's inputs, kept with the job.

    ``kind: public`` (Amazon Mechanical Turk) is history: such records still load and price as they did.
    """

    kind: Literal["public", "private", "vendor"]
    workteam_arn: str
    workers_per_object: int
    task_price_usd: str = "0"
    """Decimal as text: what one worker's task costs (Mechanical Turk's price; for a team paid per task
    ``prices.task_price_usd``; else 0)."""
    price_per_object_usd: str | None = None
    """Decimal as text: a vendor work team's price per human-labeled object (None for other kinds)."""

    @property
    def vendor_price_per_object_usd(self) -> Decimal:
        return Decimal(self.price_per_object_usd) if self.price_per_object_usd is not None else Decimal(0)


class WorkforceInput(Protocol):
    """What ``workforce_used`` reads from a job input's workforce (private, vendor or public)."""

    @property
    def kind(self) -> str: ...
    @property
    def workers_per_object(self) -> int: ...


def workforce_used(workforce: WorkforceInput, prices: PriceTable, workteam_arn: str) -> WorkforceUsed:
    """The record's workforce from the input's: the one place its prices are resolved.

    A vendor carries ``price_per_object_usd``; a public (Mechanical Turk) input its
    ``price_per_task_usd``; a private team pays ``prices.task_price_usd`` per task if set (labor time is
    priced from the job's output, not here).
    """
    if workforce.kind not in ("public", "private", "vendor"):
        raise ValueError(f"workforce.kind: {workforce.kind!r} is not public, private or vendor")
    public_price = getattr(workforce, "price_per_task_usd", None) if workforce.kind == "public" else None
    vendor_price = getattr(workforce, "price_per_object_usd", None) if workforce.kind == "vendor" else None
    return WorkforceUsed(
        kind=workforce.kind,  # checked above
        workteam_arn=workteam_arn,
        workers_per_object=workforce.workers_per_object,
        task_price_usd="0" if workforce.kind == "vendor" else str(task_price_usd_for(prices, public_price)),
        price_per_object_usd=None if vendor_price is None else str(vendor_price),
    )


class IterationRow(FrozenModel):
    """One active-learning iteration, from the job's S3 output."""

    iteration: int
    human_objects: int
    machine_objects: int | None
    """None when the job's output does not say which iteration machine-labeled what."""
    boxes: int | None
    cost_usd: str
    """This iteration's human + machine labeling cost, labor and compute included (machine part 0 when
    machine_objects is None)."""
    worker_seconds: Decimal | None = None
    """Worker time of the answers of this iteration whose time is known (None: no worker responses read,
    or a record from before cost model v2)."""
    worker_answers: int | None = None
    """Worker answers of this iteration (timed or not); None as for worker_seconds."""
    answers_time_unknown: int = 0


class JobRecord(FrozenModel):
    """One labeling job, from creation to its metrics (pk=JOB#<name>, sk=JOB)."""

    job_name: str
    project: str
    execution_arn: str
    job_arn: str | None = None
    task_type: str
    labels: list[str]
    label_attribute: str
    manifest_uri: str
    manifest_version_id: str | None = None
    """The S3 version of ``manifest_uri`` CreateJob validated and labeled (None: records before pinning)."""
    manifest_sha256: str | None = None
    """Hex sha256 of the validated manifest version's bytes."""
    labeled_manifest_uri: str | None = None
    """The immutable per-job copy Ground Truth was given (LabelChain's prefix, not writable by uploaders)."""
    object_count: int
    auto_labeling: bool
    workforce: WorkforceUsed
    prices: PriceTable
    initial_model_source: str
    """How initial_model was asked for: ``none``, ``latest``, ``latest:none-yet`` (``latest`` with
    ``when_no_model: start_fresh`` and no model yet), ``job:<name>`` or ``arn``."""
    initial_model_arn: str | None = None
    initial_model_check: Literal["not-applicable", "verified", "unverified"] = "not-applicable"
    advance_latest_model: bool = True
    """False for a job whose model must not become the project's latest (an experiment's control)."""
    status: str = "Initializing"
    failure_reason: str | None = None
    created_at: datetime
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    counters: Counters = Field(default_factory=Counters)
    final_model_arn: str | None = None
    model_outcome: Literal["pending", "trained", "no-model"] = "pending"
    pointer_moved: bool = False
    """Whether finalizing this job moved the project's latest-model pointer to its model."""
    output_manifest_uri: str | None = None
    cost: CostBreakdown | None = None
    iterations: list[IterationRow] = Field(default_factory=list)
    cross_check: list[str] = Field(default_factory=list)
    simulated: bool = False
    """True when the job ran on LabelChain's Ground Truth emulator, not on AWS."""
    execution_error: str | None = None
    """Set when the execution gave up on the job (the job itself may still be running)."""
    watcher: Watcher = "execution"
    watch_token: str | None = None
    """The task token of the execution's WaitForJob state while it waits (the job-event handler and the
    reconciler resume the execution with it)."""
    stop_reason: str | None = None
    """Why LabelChain stopped the job (its execution ended, no execution is left, …), with who/what."""
    end_detected_at: datetime | None = None
    end_detected_by: Literal["event", "reconciler", "watch"] | None = None
    """When and how LabelChain first saw the job ended: Ground Truth's event, the reconciler's safety net,
    or the execution's own check when it (re)armed its wait."""
    progress_at: datetime | None = None
    labeled_changed_at: datetime | None = None
    """When the reconciler last saw the job's counters move (the "no progress for N hours" alarm)."""
    running_cost_usd: str | None = None
    """The reconciler's running estimate (counters so far × prices) while the job runs."""
    budget_usd: str | None = None
    """The job's spend limit (the input's, else the project's default); None: no limit."""
    budget_warned_at: datetime | None = None
    queued_since: datetime | None = None
    queue_attempts: int = 0
    not_found_misses: int = 0
    """Consecutive reconciler runs in which SageMaker did not know the job (sealed at 3, not at 1: a
    job just created may not be visible yet)."""
    repairs: list[str] = Field(default_factory=list)
    """What the reconciler repaired on this job (drift notes, with time)."""
    finalized_at: datetime | None = None
    """Set once, by whichever finalizer got there first (the execution, the job-event handler or the
    reconciler); a record with it set is final and never rewritten by a finalizer again."""


def record_cost(
    record: JobRecord,
    human: int,
    machine: int,
    iterations: int,
    *,
    worker_time: WorkerTime | None = None,
    counterfactual_time: WorkerTime | None = None,
    notes: tuple[str, ...] = (),
) -> CostBreakdown:
    """What ``human`` and ``machine`` labeled objects of this job cost, with the job's own prices and
    workforce (a private team's ``worker_time`` at its labor rate, a vendor's price per object)."""
    workforce = record.workforce
    return compute_cost(
        human_objects=human,
        machine_objects=machine,
        workers_per_object=workforce.workers_per_object,
        task_price_usd=Decimal(workforce.task_price_usd),
        prices=record.prices,
        iterations=iterations if record.auto_labeling else 0,
        workforce_kind=workforce.kind,
        vendor_price_per_object_usd=workforce.vendor_price_per_object_usd,
        worker_time=worker_time,
        counterfactual_time=counterfactual_time,
        notes=notes,
    )


class ProgressSnapshot(FrozenModel):
    """Counters at one poll (pk=JOB#<name>, sk=SNAPSHOT#<time>): progress over time."""

    job_name: str
    taken_at: datetime
    status: str
    counters: Counters
    poll: int
    next_wait_seconds: int


class ModelPointer(FrozenModel):
    """The newest model a project's jobs produced (pk=PROJECT#<p>, sk=MODEL#LATEST)."""

    project: str
    model_arn: str
    job_name: str
    job_created_at: datetime
    task_type: str
    labels: list[str]
    label_attribute: str


class ExecutionFailure(FrozenModel):
    """An execution that failed before any job existed (bad input, no model, …)."""

    execution_arn: str
    execution_name: str
    project: str | None
    error: str
    cause: str
    failed_at: datetime
