"""What the benchmarks in bench/ share: paths, the synthesized template, a quiet Lambda environment, a
scripted SageMaker client, and the machine line every result starts with.

Nothing here comes from tests/: a fresh ``make setup`` has everything these need. Import it after
putting ``lambdas/`` and the project root on ``sys.path`` (each script does that first).
"""

from __future__ import annotations

import copy
import logging
import os
import platform
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
DAY = 86_400.0
ENDED = frozenset({"Completed", "Failed", "Stopped"})

QUIET_LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "LabelChain",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_SERVICE_NAME": "labelchain",
}
"""Fake credentials, and handlers that neither trace, nor print metrics, nor log below ERROR (the
benchmarks time them; their INFO logs would be most of the output)."""


@contextmanager
def quiet_lambda_environment(extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """``QUIET_LAMBDA_ENVIRONMENT`` (plus ``extra``) for the block; nothing of the shell's AWS setup.

    Enter it before anything imports ``labelchain`` (the synth does): Powertools reads the service name
    and log level when a module creates its Logger."""
    with mock.patch.dict(os.environ, {**QUIET_LAMBDA_ENVIRONMENT, **(extra or {})}):
        for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
            os.environ.pop(variable, None)
        import labelchain.handlers.runtime  # noqa: F401, PLC0415 - the service's Logger, parent of the rest

        logging.getLogger("moto").setLevel(logging.CRITICAL)  # e.g. Choice's IsPresent on a missing path
        yield


def synthesized_template(context_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stack's CloudFormation template, synthesized now from the current infra/ (never cdk.out)."""
    from infra.application import build_app, cdk_json_context  # noqa: PLC0415 - jsii starts here
    from infra.stack import STACK_ID  # noqa: PLC0415

    assembly = build_app({**cdk_json_context(), **(context_overrides or {})}).synth()
    template: dict[str, Any] = assembly.get_stack_by_name(STACK_ID).template
    return template


def machine_line() -> str:
    """CPUs, Python and the 1-minute load average: what the milliseconds depend on."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · {platform.machine()} · "
        f"Python {platform.python_version()} · load average {os.getloadavg()[0]:.2f} before the run"
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table; ``align`` has one letter per column (``l`` left, ``r`` right; default: the
    first column left, the others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---" if a == "l" else "--:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first."""
    events: list[dict[str, Any]] = []
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def state_events(events: Sequence[Mapping[str, Any]], state: str) -> int:
    """History events from each ``*StateEntered`` of ``state`` to its ``*StateExited`` (inclusive)."""
    inside, count = False, 0
    for event in events:
        if event.get("stateEnteredEventDetails", {}).get("name") == state:
            inside = True
        if inside:
            count += 1
        if event.get("stateExitedEventDetails", {}).get("name") == state:
            inside = False
    return count


def job_arn(job_name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"


def describe_response(
    job_name: str,
    status: str,
    *,
    created: datetime,
    modified: datetime | None = None,
    human: int = 0,
    machine: int = 0,
    unlabeled: int = 0,
    tags: Mapping[str, str] | None = None,
    output_bucket: str = "bench-output",
) -> dict[str, Any]:
    """A DescribeLabelingJob response shaped as botocore's model requires (a bird bounding-box job)."""
    from labelchain.core.s3_layout import job_output_prefix, s3_uri  # noqa: PLC0415 - after the environment

    response: dict[str, Any] = {
        "LabelingJobStatus": status,
        "LabelCounters": {
            "TotalLabeled": human + machine,
            "HumanLabeled": human,
            "MachineLabeled": machine,
            "FailedNonRetryableError": 0,
            "Unlabeled": unlabeled,
        },
        "CreationTime": created,
        "LastModifiedTime": modified or created,
        "JobReferenceCode": "ref-0001",
        "LabelingJobName": job_name,
        "LabelingJobArn": job_arn(job_name),
        "LabelAttributeName": "category",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://bench-data/m"}}},
        "OutputConfig": {"S3OutputPath": s3_uri(output_bucket, job_output_prefix("birds"))},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/labelchain-ground-truth",
        "HumanTaskConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/bird-team",
            "UiConfig": {"UiTemplateS3Uri": "s3://bench-data/t.html"},
            "PreHumanTaskLambdaArn": f"arn:aws:lambda:{REGION}:432418664414:function:PRE-BoundingBox",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": (
                    f"arn:aws:lambda:{REGION}:432418664414:function:ACS-BoundingBox"
                )
            },
        },
    }
    if tags:
        response["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    if status in ENDED:
        response["LabelingJobOutput"] = {"OutputDatasetS3Uri": f"s3://{output_bucket}/o"}
    return response


class ScriptedSageMaker:
    """A real boto3 SageMaker client whose Create/Describe/Stop calls are answered here, not sent.

    Every request is still validated against botocore's API model (botocore validates before
    ``before-call``). A job reports ``InProgress`` (10 human labels) until ``set_status`` says
    otherwise. ``latency_seconds`` is slept inside each call, to stand for the API's round trip (it
    releases the GIL, as waiting on a socket does). Thread-safe.
    """

    def __init__(
        self,
        latency_seconds: float = 0.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        client: Any = None,
    ) -> None:
        import boto3  # noqa: PLC0415

        self.client = client or boto3.client("sagemaker", region_name=REGION)
        self.latency_seconds = latency_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._params = threading.local()
        self.created: dict[str, dict[str, Any]] = {}
        self.created_at: dict[str, datetime] = {}
        self.status: dict[str, str] = {}
        self.ended_at: dict[str, datetime] = {}
        self.calls: dict[str, int] = {}
        events = self.client.meta.events
        events.register("before-parameter-build.sagemaker", self._remember_params)
        events.register("before-call.sagemaker", self._answer)

    def add_running_job(
        self, job_name: str, created: datetime, tags: Mapping[str, str] | None = None
    ) -> None:
        """A job SageMaker knows as InProgress without a CreateLabelingJob call (pre-existing jobs)."""
        with self._lock:
            self.created[job_name] = {
                "LabelingJobName": job_name,
                "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            }
            self.created_at[job_name] = created
            self.status[job_name] = "InProgress"

    def set_status(self, job_name: str, status: str) -> None:
        with self._lock:
            self.status[job_name] = status
            if status in ENDED:
                self.ended_at[job_name] = self._clock()

    def _remember_params(self, params: dict[str, Any], **_: Any) -> None:
        self._params.value = copy.deepcopy(params)

    def _answer(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse  # noqa: PLC0415
        from botocore.exceptions import ClientError  # noqa: PLC0415

        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        params: dict[str, Any] = self._params.value
        name = params.get("LabelingJobName", "")
        ok = AWSResponse(None, 200, {}, None)
        with self._lock:
            self.calls[model.name] = self.calls.get(model.name, 0) + 1
            if model.name == "CreateLabelingJob":
                if name in self.created:
                    raise ClientError({"Error": {"Code": "ResourceInUse", "Message": name}}, model.name)
                self.created[name] = params
                self.created_at[name] = self._clock()
                self.status[name] = "InProgress"
                return ok, {"LabelingJobArn": job_arn(name), "ResponseMetadata": {"HTTPStatusCode": 200}}
            if name not in self.created:
                raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": name}}, model.name)
            if model.name == "StopLabelingJob":
                self.status[name] = "Stopped"
                self.ended_at[name] = self._clock()
                return ok, {"ResponseMetadata": {"HTTPStatusCode": 200}}
            if model.name == "DescribeLabelingJob":
                status = self.status[name]
                created = self.created_at[name]
                ended = status in ENDED
                tags = {t["Key"]: t["Value"] for t in self.created[name].get("Tags", [])}
                response = describe_response(
                    name,
                    status,
                    created=created,
                    modified=self.ended_at.get(name, created + timedelta(seconds=1)),
                    human=250 if ended else 10,
                    machine=1000 if ended else 0,
                    unlabeled=0 if ended else 1240,
                    tags=tags,
                )
                response["ResponseMetadata"] = {"HTTPStatusCode": 200}
                return ok, response
        raise AssertionError(f"the scripted SageMaker does not answer {model.name}")


class LambdaTime:
    """Real seconds spent in each function's handler, and how many invocations (thread-safe).
    ``wrap`` times a ``local.moto_engine`` dispatcher (``stack.engine.dispatcher = times.wrap(...)``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.calls: Counter[str] = Counter()

    def add(self, function: str, seconds: float) -> None:
        with self._lock:
            self.seconds[function] = self.seconds.get(function, 0.0) + seconds
            self.calls[function] += 1

    def wrap(self, dispatch: Callable[[Any, Any], object]) -> Callable[[Any, Any], object]:
        def timed(function: Any, event: Any) -> object:
            began = time.monotonic()
            try:
                return dispatch(function, event)
            finally:
                self.add(function.name, time.monotonic() - began)

        return timed

    def summary(self) -> str:
        """``name s (calls)``, the most expensive first."""
        with self._lock:
            ranked = sorted(self.seconds.items(), key=lambda item: -item[1])
            return ", ".join(
                f"{name.removeprefix('labelchain-')} {seconds:.1f} s ({self.calls[name]})"
                for name, seconds in ranked
            )


def add_latency(client: Any, service_event_name: str, seconds: float) -> None:
    """Sleep ``seconds`` before every call of ``client`` is sent (an API round trip's wait; the call
    then goes on as usual, e.g. to moto)."""

    def wait(**_: Any) -> None:
        time.sleep(seconds)

    if seconds > 0:
        client.meta.events.register(f"before-call.{service_event_name}", wait)


class RunningExecutions:
    """A Step Functions client that answers every DescribeExecution with RUNNING (after ``latency_seconds``),
    as for jobs whose executions all wait in WaitForJob; other calls are refused."""

    def __init__(self, latency_seconds: float = 0.0) -> None:
        import boto3  # noqa: PLC0415

        self.client = boto3.client("stepfunctions", region_name=REGION)
        self.latency_seconds = latency_seconds
        self.calls = 0
        self._lock = threading.Lock()
        self._params = threading.local()
        events = self.client.meta.events
        events.register("before-parameter-build.sfn", self._remember_params)
        events.register("before-call.sfn", self._answer)

    def _remember_params(self, params: dict[str, Any], **_: Any) -> None:
        self._params.value = dict(params)

    def _answer(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse  # noqa: PLC0415

        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        if model.name != "DescribeExecution":
            raise AssertionError(f"RunningExecutions does not answer {model.name}")
        with self._lock:
            self.calls += 1
        arn = str(self._params.value["executionArn"])
        machine = arn.split(":execution:")[1].rsplit(":", 1)[0]
        return AWSResponse(None, 200, {}, None), {
            "executionArn": arn,
            "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}",
            "name": arn.rsplit(":", 1)[1],
            "status": "RUNNING",
            "startDate": datetime(2026, 11, 28, tzinfo=UTC),
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
