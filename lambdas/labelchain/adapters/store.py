"""The DynamoDB table: the only module that reads or writes LabelChain's records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel, ValidationError

from labelchain.adapters.aws_errors import aws_call
from labelchain.core.records import (
    ACTIVE_INDEX,
    ACTIVE_INDEX_PARTITION_KEY,
    ACTIVE_SHARDS,
    NOT_FOUND_STATUS,
    NOT_STARTED_STATUS,
    PROJECT_INDEX,
    QUEUED_STATUS,
    SETTINGS_INDEX_PARTITION,
    SNAPSHOT_RETENTION_DAYS,
    TTL_ATTRIBUTE,
    Counters,
    ExecutionFailure,
    JobRecord,
    ModelPointer,
    ProgressSnapshot,
    active_jobs_index_key,
    active_shard_key,
    execution_failure_key,
    experiment_key,
    job_key,
    latest_model_key,
    model_key,
    project_jobs_index_key,
    project_settings_index_key,
    project_settings_key,
    snapshot_key,
    trigger_key,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

if TYPE_CHECKING:  # loaded on use: most handlers never read settings (and it pulls in JobInput)
    from labelchain.core.project_settings import ProjectSettingsRecord


def _to_dynamodb(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamodb(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _from_dynamodb(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _from_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamodb(v) for v in value]
    if isinstance(value, Decimal) and value == value.to_integral_value() and "E" not in str(value):
        return int(value) if "." not in str(value) else value
    return value


def model_to_item(model: BaseModel, keys: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A pydantic record as a DynamoDB item (low-level attribute values)."""
    plain = _to_dynamodb({**model.model_dump(mode="python"), **keys, **extra})
    return {k: _serializer.serialize(v) for k, v in plain.items()}


def item_to_plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python values."""
    return {k: _from_dynamodb(_deserializer.deserialize(v)) for k, v in item.items()}


class RecordExists(Exception):
    """A conditional put found the item already there."""


_NOT_ACTIVE = frozenset({NOT_STARTED_STATUS, NOT_FOUND_STATUS})
"""A queued job is active: the reconciler must see it, in case its execution ends unnoticed."""
NOT_SEALED = "(attribute_not_exists(finalized_at) OR attribute_type(finalized_at, :null_type))"
NOT_FINAL = f"attribute_exists(pk) AND {NOT_SEALED}"
"""Condition of every partial update of a job record: it exists and no finalizer has sealed it (records
store unset fields as NULL, so "not sealed" is: no ``finalized_at``, or a NULL one)."""
NULL_TYPE = {":null_type": {"S": "NULL"}}


def job_item(record: JobRecord) -> dict[str, Any]:
    """The item of a job record: its keys, the project index, and the active-jobs index while the job
    exists in SageMaker and is not final (the reconciler reads that sparse index)."""
    keys = {
        **job_key(record.job_name),
        **project_jobs_index_key(record.project, record.created_at, record.job_name),
    }
    if record.finalized_at is None and record.status not in _NOT_ACTIVE:
        keys.update(active_jobs_index_key(record.job_name, record.created_at))
    return model_to_item(record, keys)


class JobStore:
    """Job records, progress snapshots and model pointers in one table (see core.records)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @property
    def client(self) -> Any:
        """The injected boto3 client (the offline stack attaches fault injection to it)."""
        return self._client

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        with aws_call(
            "DynamoDB", operation, {"ConditionalCheckFailedException": lambda _: RecordExists(operation)}
        ):
            return dict(getattr(self._client, operation)(TableName=self._table, **params))

    def create_job(self, record: JobRecord) -> bool:
        """Record a new (or queued) job; False if a record of it already exists and is not a queued one
        (a retried create). A queued record is replaced by the started job's record."""
        try:
            self._call(
                "put_item",
                Item=job_item(record),
                ConditionExpression="attribute_not_exists(pk) OR #status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":queued": {"S": QUEUED_STATUS}},
            )
        except RecordExists:
            return False
        return True

    def save_job(self, record: JobRecord) -> None:
        """Write the whole job record unless it is final (a final record is never rewritten)."""
        try:
            self._call(
                "put_item",
                Item=job_item(record),
                ConditionExpression=f"attribute_not_exists(pk) OR {NOT_SEALED}",
                ExpressionAttributeValues=NULL_TYPE,
            )
        except RecordExists:
            return

    def seal_job(self, record: JobRecord) -> bool:
        """Write a job's final record (``finalized_at`` set) if no finalizer did first; True if this call
        sealed it. The record leaves the active-jobs index."""
        if record.finalized_at is None:
            raise ValueError("seal_job needs a record with finalized_at set")
        try:
            self._call(
                "put_item",
                Item=job_item(record),
                ConditionExpression=NOT_FINAL,
                ExpressionAttributeValues=NULL_TYPE,
            )
        except RecordExists:
            return False
        return True

    def update_job(
        self,
        job_name: str,
        fields: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        expect: dict[str, Any] | None = None,
        unless_set: tuple[str, ...] = (),
    ) -> bool:
        """Set ``fields`` (and remove ``remove``) on a recorded job that is not final; ``expect`` adds
        equality conditions. False when the record is missing, final or not as expected."""
        names: dict[str, str] = {}
        values: dict[str, Any] = dict(NULL_TYPE)
        sets = []
        for index, (field, value) in enumerate(fields.items()):
            names[f"#f{index}"] = field
            values[f":v{index}"] = _serializer.serialize(_to_dynamodb(value))
            sets.append(f"#f{index} = :v{index}")
        conditions = [NOT_FINAL]
        for index, (field, value) in enumerate((expect or {}).items()):
            names[f"#e{index}"] = field
            values[f":e{index}"] = _serializer.serialize(_to_dynamodb(value))
            conditions.append(f"#e{index} = :e{index}")
        for index, field in enumerate(unless_set):
            names[f"#u{index}"] = field
            conditions.append(f"(attribute_not_exists(#u{index}) OR attribute_type(#u{index}, :null_type))")
        removes = []
        for index, field in enumerate(remove):
            names[f"#r{index}"] = field
            removes.append(f"#r{index}")
        expression = ("SET " + ", ".join(sets)) if sets else ""
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        params: dict[str, Any] = {
            "Key": {k: _serializer.serialize(v) for k, v in job_key(job_name).items()},
            "UpdateExpression": expression.strip(),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        try:
            self._call("update_item", **params)
        except RecordExists:
            return False
        return True

    def active_jobs(self, unreadable: list[str] | None = None) -> Iterator[JobRecord]:
        """Every job that is not final — running, or queued for the account's quota (sparse index gsi2,
        one query per shard). Items that are not valid job records are skipped and their keys appended
        to ``unreadable``."""
        for shard in range(ACTIVE_SHARDS):
            params: dict[str, Any] = {
                "IndexName": ACTIVE_INDEX,
                "KeyConditionExpression": f"{ACTIVE_INDEX_PARTITION_KEY} = :p",
                "ExpressionAttributeValues": {":p": {"S": active_shard_key(shard)}},
            }
            while True:
                page = self._call("query", **params)
                for item in page.get("Items", []):
                    try:
                        yield JobRecord.model_validate(item_to_plain(item))
                    except ValidationError:
                        # One unreadable item must not hide every other job from the reconciler.
                        if unreadable is not None:
                            unreadable.append(str(item.get("pk", {}).get("S", "?")))
                if "LastEvaluatedKey" not in page:
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_job(self, job_name: str) -> JobRecord | None:
        """The job record, or None if LabelChain never recorded a job of that name."""
        keys = {k: _serializer.serialize(v) for k, v in job_key(job_name).items()}
        item = self._call("get_item", Key=keys, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return JobRecord.model_validate(item_to_plain(item))

    def jobs_of_project(self, project: str, newest_first: bool = True) -> Iterator[JobRecord]:
        """A project's jobs in creation order (GSI gsi1)."""
        params: dict[str, Any] = {
            "IndexName": PROJECT_INDEX,
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"PROJECT#{project}"}},
            "ScanIndexForward": not newest_first,
        }
        while True:
            page = self._call("query", **params)
            for item in page.get("Items", []):
                yield JobRecord.model_validate(item_to_plain(item))
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def add_snapshot(self, snapshot: ProgressSnapshot) -> None:
        """Store one poll's counters; snapshots expire after SNAPSHOT_RETENTION_DAYS."""
        expires = int((snapshot.taken_at + timedelta(days=SNAPSHOT_RETENTION_DAYS)).timestamp())
        item = model_to_item(
            snapshot,
            snapshot_key(snapshot.job_name, snapshot.taken_at, snapshot.poll),
            **{TTL_ATTRIBUTE: expires},
        )
        self._call("put_item", Item=item)

    def snapshots(self, job_name: str) -> list[ProgressSnapshot]:
        """A job's snapshots, oldest first."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":pk": {"S": f"JOB#{job_name}"}, ":s": {"S": "SNAPSHOT#"}},
        }
        found: list[ProgressSnapshot] = []
        while True:
            page = self._call("query", **params)
            found.extend(
                ProgressSnapshot.model_validate(item_to_plain(item)) for item in page.get("Items", [])
            )
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def latest_model(self, project: str) -> ModelPointer | None:
        """The project's newest model, or None if no job of the project produced one yet."""
        keys = {k: _serializer.serialize(v) for k, v in latest_model_key(project).items()}
        item = self._call("get_item", Key=keys, ConsistentRead=True).get("Item")
        return None if item is None else ModelPointer.model_validate(item_to_plain(item))

    def advance_latest_model(self, pointer: ModelPointer) -> bool:
        """Point the project at this model unless a newer job's model is already there.

        Conditional write: an older job finishing late never overwrites a newer model. Returns
        whether the pointer now names this model.
        """
        item = model_to_item(pointer, latest_model_key(pointer.project))
        try:
            self._call(
                "put_item",
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR job_created_at < :created "
                "OR (job_created_at = :created AND job_name = :job)",
                ExpressionAttributeValues={
                    ":created": {"S": pointer.job_created_at.isoformat()},
                    ":job": {"S": pointer.job_name},
                },
            )
        except RecordExists:
            return False
        return True

    def remember_model(self, pointer: ModelPointer) -> None:
        """Remember which job trained a model, so ``{"arn": …}`` references can be checked."""
        self._call("put_item", Item=model_to_item(pointer, model_key(pointer.model_arn)))

    def model_by_arn(self, model_arn: str) -> ModelPointer | None:
        """The job facts behind a model ARN, if a LabelChain job produced it."""
        keys = {k: _serializer.serialize(v) for k, v in model_key(model_arn).items()}
        item = self._call("get_item", Key=keys, ConsistentRead=True).get("Item")
        return None if item is None else ModelPointer.model_validate(item_to_plain(item))

    def update_job_progress(
        self,
        job_name: str,
        status: str,
        counters: Counters,
        at: datetime,
        running_cost_usd: str | None,
        *,
        labeled_changed: bool = False,
    ) -> bool:
        """Move a recorded, not yet final job's status, counters and running cost forward
        (``labeled_changed``: the counters moved since the last look)."""
        fields: dict[str, Any] = {"status": status, "counters": counters.model_dump(), "progress_at": at}
        if running_cost_usd is not None:
            fields["running_cost_usd"] = running_cost_usd
        if labeled_changed:
            fields["labeled_changed_at"] = at
        return self.update_job(job_name, fields)

    def record_execution_failure(self, failure: ExecutionFailure) -> None:
        """Keep the error of an execution that never got as far as a job."""
        self._call("put_item", Item=model_to_item(failure, execution_failure_key(failure.execution_arn)))

    def save_comparison(self, execution_name: str, comparison: BaseModel) -> None:
        """Write (or rewrite, idempotently) an experiment's comparison record."""
        self._call("put_item", Item=model_to_item(comparison, experiment_key(execution_name)))

    def get_comparison(self, execution_name: str) -> dict[str, Any] | None:
        """An experiment's comparison record as plain values, or None."""
        keys = {k: _serializer.serialize(v) for k, v in experiment_key(execution_name).items()}
        item = self._call("get_item", Key=keys, ConsistentRead=True).get("Item")
        return None if item is None else item_to_plain(item)

    def claim_trigger(self, bucket: str, key: str, version: str, execution_arn: str, at: datetime) -> str:
        """Claim a manifest upload for one execution; returns the execution that owns it.

        S3 → EventBridge delivers at least once, so the same upload can start two executions; the
        first to claim it wins and the caller compares the returned owner with itself.
        """
        item = {
            **{k: _serializer.serialize(v) for k, v in trigger_key(bucket, key, version).items()},
            "execution_arn": {"S": execution_arn},
            "claimed_at": {"S": at.isoformat()},
        }
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except RecordExists:
            keys = {k: _serializer.serialize(v) for k, v in trigger_key(bucket, key, version).items()}
            existing = self._call("get_item", Key=keys, ConsistentRead=True)["Item"]
            return str(existing["execution_arn"]["S"])
        return execution_arn

    # --- project settings (operator data: written by `labelchain project-settings put` only) -----------

    def project_settings(self, project: str) -> ProjectSettingsRecord | None:
        """The project's current settings item, or None if an operator never wrote any."""
        keys = {k: _serializer.serialize(v) for k, v in project_settings_key(project).items()}
        item = self._call("get_item", Key=keys, ConsistentRead=True).get("Item")
        return None if item is None else _project_settings_record(item)

    def put_project_settings(self, record: ProjectSettingsRecord) -> bool:
        """Write a new version of a project's settings if the stored version is still the one before it
        (none for version 1); False when someone else wrote in between (read again, then retry)."""
        keys = {**project_settings_key(record.project), **project_settings_index_key(record.project)}
        if record.version == 1:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :previous",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":previous": {"N": str(record.version - 1)}},
            }
        try:
            self._call("put_item", Item=model_to_item(record, keys), **condition)
        except RecordExists:
            return False
        return True

    def all_project_settings(self) -> Iterator[ProjectSettingsRecord]:
        """Every project's settings item, by project name (one partition of gsi1, never a table scan)."""
        params: dict[str, Any] = {
            "IndexName": PROJECT_INDEX,
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": SETTINGS_INDEX_PARTITION}},
        }
        while True:
            page = self._call("query", **params)
            for item in page.get("Items", []):
                yield _project_settings_record(item)
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _project_settings_record(item: dict[str, Any]) -> ProjectSettingsRecord:
    from labelchain.core.project_settings import ProjectSettingsRecord  # noqa: PLC0415 - loaded on use

    return ProjectSettingsRecord.model_validate(item_to_plain(item))
