"""Drive the lifecycle Lambdas the way EventBridge does: real handlers, real event shapes.

The workflow tests decide when (and whether) an event arrives: delivered, duplicated or lost.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3

from labelchain.core.records import JobRecord
from labelchain.handlers import execution_ended, job_events, reconcile
from labelchain.services.job_events import JOB_STATE_CHANGE
from labelchain.services.runtime import Runtime
from local.lambda_dispatch import LocalLambdaContext
from tests.conftest import ACCOUNT, REGION


def job_state_change_event(job_name: str, status: str) -> dict[str, Any]:
    """SageMaker's EventBridge event for a labeling job's status change (ARN only in resources)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": JOB_STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"],
        "detail": {"LabelingJobStatus": status},
    }


def execution_status_event(execution_arn: str) -> dict[str, Any]:
    """Step Functions' "Execution Status Change" event for an execution, as it is now."""
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(
        executionArn=execution_arn
    )
    detail = {
        "executionArn": execution_arn,
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": described["status"],
        "startDate": int(described["startDate"].timestamp() * 1000),
        "stopDate": int(described["stopDate"].timestamp() * 1000) if described.get("stopDate") else None,
        "input": described.get("input"),
        "output": described.get("output"),
    }
    for key in ("error", "cause"):
        if described.get(key):
            detail[key] = described[key]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [execution_arn],
        "detail": detail,
    }


def deliver_job_event(job_name: str, status: str) -> dict[str, Any]:
    """What the JobEvents Lambda does with one delivery of the event."""
    result: dict[str, Any] = job_events.handler(
        job_state_change_event(job_name, status), LocalLambdaContext()
    )
    return result


def deliver_execution_end(execution_arn: str) -> dict[str, Any]:
    result: dict[str, Any] = execution_ended.handler(
        execution_status_event(execution_arn), LocalLambdaContext()
    )
    return result


def run_reconciler() -> dict[str, Any]:
    result: dict[str, Any] = reconcile.handler({"source": "aws.events", "detail": {}}, LocalLambdaContext())
    return result


def wait_until_waiting(runtime: Runtime, job_name: str, timeout_seconds: float = 120.0) -> JobRecord:
    """Block until the execution's WaitForJob has stored its task token on the job record."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        record = runtime.store.get_job(job_name)
        if record is not None and record.watch_token:
            return record
        assert time.monotonic() < deadline, f"{job_name} never reached WaitForJob"
        time.sleep(0.01)


def wait_for_execution_status(execution_arn: str, status: str, timeout_seconds: float = 120.0) -> None:
    client = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout_seconds
    while client.describe_execution(executionArn=execution_arn)["status"] != status:
        assert time.monotonic() < deadline, f"{execution_arn} never became {status}"
        time.sleep(0.01)


@contextmanager
def job_event_pump(
    job_names: Callable[[], Iterable[str]], interval_seconds: float = 0.02
) -> Iterator[list[str]]:
    """Deliver Ground Truth's state-change event for every job ``job_names()`` lists, over and over, until
    the block ends — as EventBridge would, duplicates included (each delivery after the first is a
    no-op by design). The event claims "Completed"; JobEvents trusts only DescribeLabelingJob. Yields the
    list of errors the deliveries raised (a test asserts it stays empty)."""
    errors: list[str] = []
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            for name in list(job_names()):
                try:
                    deliver_job_event(name, "Completed")
                except Exception as exc:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
            stop.wait(interval_seconds)

    thread = threading.Thread(target=pump, name="job-event-pump", daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(timeout=10)
