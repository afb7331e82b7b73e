"""Specification of the ``labelchain`` CLI's AWS side without the offline stack: doctor's checks over
stubbed clients (the paths offline cannot reach: a published Powertools parameter, Ground Truth
refused, an old bootstrap), the progress watch over scripted answers, ``stop`` of a job whose execution
has already ended, and the stand-in stack ``local/outputs.py`` registers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.adapters.store import JobStore
from labelchain.cli import watch as watch_module
from labelchain.cli.aws import Aws
from labelchain.cli.doctor import CLOSED_TO_NEW_CUSTOMERS, Doctor
from labelchain.cli.exits import NOT_COMPLETED, OK
from labelchain.cli.main import main
from labelchain.cli.project import ProjectFiles, cdk_bootstrap_parameter, powertools_ssm_parameter
from labelchain.cli.stack import OUTPUT_KEYS, StackOutputs, read_stack_outputs
from labelchain.cli.watch import Tracked, Watch
from labelchain.core.naming import LABELING_JOB_STATE_MACHINE_SUFFIX, job_name_for_execution
from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.records import Counters, JobRecord
from local.outputs import register_stack_outputs, resolved_outputs
from local.resources import DeployedStack
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, create_state_machine, create_table

ROOT = Path(__file__).resolve().parents[2]
LAYER = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:18"


# --- doctor ----------------------------------------------------------------------------------------


@dataclass
class StubbedAws:
    """What Doctor asks of ``Aws``, over Stubber-answered clients."""

    region: str = REGION
    project: ProjectFiles = field(default_factory=lambda: ProjectFiles(ROOT))
    stack_name: str = "LabelChain"
    clients: dict[str, Any] = field(default_factory=dict)
    stubs: dict[str, Stubber] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=self.region)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubs[service]

    def outputs(self) -> StackOutputs:
        values = dict.fromkeys(OUTPUT_KEYS, "x")
        return StackOutputs(self.stack_name, self.region, "UPDATE_COMPLETE", values)


def identity(aws: StubbedAws) -> None:
    aws.stub("sts").add_response(
        "get_caller_identity",
        {"UserId": "AIDA", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ops"},
    )


def parameter(aws: StubbedAws, name: str, value: str) -> None:
    aws.stub("ssm").add_response(
        "get_parameter", {"Parameter": {"Name": name, "Type": "String", "Value": value}}, {"Name": name}
    )


def by_name(doctor: Doctor) -> dict[str, Any]:
    return {check.name: check for check in doctor.run()}


def test_doctor_passes_the_published_layer_and_fails_ground_truth_refused_and_an_old_bootstrap() -> None:
    aws = StubbedAws()
    identity(aws)
    aws.stub("sagemaker").add_client_error(
        "list_labeling_jobs", "AccessDeniedException", "User is not authorized to perform ListLabelingJobs"
    )
    version = aws.project.powertools_version()
    assert version is not None
    parameter(aws, powertools_ssm_parameter(version), LAYER)
    parameter(aws, cdk_bootstrap_parameter(), "5")

    checks = by_name(Doctor(aws))  # type: ignore[arg-type]

    assert {name: check.status for name, check in checks.items()} == {
        "credentials": "PASS",
        "region": "PASS",
        "labeling API": "FAIL",
        "work team": "SKIP",
        "Powertools layer": "PASS",
        "CDK bootstrap": "FAIL",
        "stack": "PASS",
    }
    assert checks["labeling API"].fix == CLOSED_TO_NEW_CUSTOMERS
    assert checks["Powertools layer"].detail == f"{powertools_ssm_parameter(version)} = {LAYER}"
    assert checks["CDK bootstrap"].line() == (
        "FAIL CDK bootstrap — bootstrap version 5 is older than 6 — "
        f"npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    )
    for stub in aws.stubs.values():
        stub.assert_no_pending_responses()


def test_without_credentials_the_aws_checks_are_skipped_and_an_unknown_region_fails() -> None:
    aws = StubbedAws(region="eu-north-1")
    aws.stub("sts").add_client_error("get_caller_identity", "InvalidClientTokenId", "The token is invalid")

    checks = by_name(Doctor(aws))  # type: ignore[arg-type]

    assert checks["credentials"].status == "FAIL"
    assert "aws sso login" in checks["credentials"].fix
    assert checks["region"].status == "FAIL"
    assert "eu-north-1 has no Ground Truth built-in task Lambdas" in checks["region"].detail
    assert [checks[name].status for name in ("labeling API", "CDK bootstrap", "stack")] == ["SKIP"] * 3


# --- the progress watch ----------------------------------------------------------------------------


def record(status: str, human: int, *, cost: str | None = None, final: bool = False) -> JobRecord:
    return JobRecord(
        job_name="labelchain-w-1a2b3c4d",
        project="birds",
        execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:labelchain-labeling-job:w",
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
        manifest_uri="s3://bucket/m.manifest",
        object_count=20,
        auto_labeling=False,
        workforce={
            "kind": "public",
            "workteam_arn": "arn",
            "workers_per_object": 1,
            "task_price_usd": "0.036",
        },
        prices=DEFAULT_PRICES,
        initial_model_source="none",
        status=status,
        created_at=EXAMPLE_TIME,
        counters=Counters(human_labeled=human, total_labeled=human),
        running_cost_usd=cost,
        failure_reason="ClientError: simulated" if status == "Failed" else None,
        finalized_at=EXAMPLE_TIME + timedelta(hours=1) if final else None,
    )


class Scripted:
    """DescribeExecution and get_job answers, one per poll (the last repeats)."""

    def __init__(self, polls: list[tuple[dict[str, Any], JobRecord | None]]) -> None:
        self.polls = polls
        self.index = -1

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.index = min(self.index + 1, len(self.polls) - 1)
        return self.polls[self.index][0]

    def get_job(self, job_name: str) -> JobRecord | None:
        return self.polls[self.index][1]


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def watch(polls: list[tuple[dict[str, Any], JobRecord | None]], timeout: float | None = None) -> Watch:
    scripted, ticks = Scripted(polls), Ticks()
    tracked = [Tracked("job", "labelchain-w-1a2b3c4d", "arn:execution:w")]
    return Watch(
        "arn:aws:states:us-east-1:1:execution:labelchain-labeling-job:w",
        tracked,
        scripted,
        scripted,  # type: ignore[arg-type]
        interval=5,
        timeout=timeout,
        clock=ticks,
        sleep=ticks.sleep,
    )


def test_the_watch_prints_a_line_per_change_and_the_failure_it_ended_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = {"status": "RUNNING"}
    failed = {"status": "FAILED", "error": "LabelingJobFailed", "cause": "ClientError: simulated"}
    polls = [
        (running, None),
        (running, record("InProgress", 10, cost="1.16")),
        (running, record("InProgress", 10, cost="1.16")),
        (failed, record("Failed", 10, final=True)),
    ]

    code = watch(polls).run()

    lines = capsys.readouterr().out.splitlines()
    assert code == NOT_COMPLETED
    assert lines == [
        "[    0s] RUNNING  job labelchain-w-1a2b3c4d: not created yet",
        "[    5s] RUNNING  job labelchain-w-1a2b3c4d  InProgress  human 10  machine 0 of 20 (0.0 % machine)  "
        "cost 1.16 USD (running)",
        "[   15s] FAILED  job labelchain-w-1a2b3c4d  Failed  human 10  machine 0 of 20 (0.0 % machine)  "
        "cost -  [final]",
        "  job labelchain-w-1a2b3c4d: Failed, 20 objects: human 10, machine 0 (0.0 % machine), cost -; "
        "failure: ClientError: simulated",
        "FAILED after 15s: w (LabelingJobFailed: ClientError: simulated)",
    ]


def test_the_watch_gives_up_at_its_timeout_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = watch([({"status": "RUNNING"}, record("InProgress", 0))], timeout=12).run()

    assert code == NOT_COMPLETED
    assert capsys.readouterr().out.splitlines()[-1] == (
        "[   15s] still RUNNING after --timeout 12 s; the execution goes on (labelchain status w)"
    )


def test_the_watch_succeeds_only_on_succeeded(capsys: pytest.CaptureFixture[str]) -> None:
    assert watch([({"status": "SUCCEEDED"}, record("Completed", 20, final=True))]).run() == OK
    assert watch([({"status": "ABORTED"}, record("Stopped", 5, final=True))]).run() == NOT_COMPLETED
    assert watch_module.SUCCEEDED == "SUCCEEDED"


# --- stop of a job its execution no longer watches, and the stand-in stack ---------------------------


@pytest.fixture
def deployment() -> Iterator[dict[str, str]]:
    """moto: the table, the LabelingJob state machine and a stand-in stack publishing them."""
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION))
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        machine = create_state_machine(stepfunctions, LABELING_JOB_STATE_MACHINE_SUFFIX)
        deployed = DeployedStack(refs={"Table": TEST_SETTINGS.table_name, "Machine": machine})
        template = {
            "Outputs": {
                "TableName": {"Value": {"Ref": "Table"}},
                "LabelingJobStateMachineArn": {"Value": {"Ref": "Machine"}},
                "ExperimentStateMachineArn": {"Value": machine.replace("labeling-job", "experiment")},
                "MonitoringDashboardName": {"Value": {"Ref": "DashboardTheOfflineStackDoesNotCreate"}},
            }
        }
        name = register_stack_outputs(
            template, deployed, boto3.client("cloudformation", region_name=REGION), "labelchain"
        )
        yield {"stack": name, "machine": machine, **resolved_outputs(template, deployed)}


def test_the_stand_in_stack_publishes_the_resolved_outputs_it_can(deployment: dict[str, str]) -> None:
    outputs = read_stack_outputs(boto3.client("cloudformation", region_name=REGION), "LabelChain", REGION)

    assert deployment["stack"] == "LabelChain"
    assert outputs.status == "CREATE_COMPLETE"
    assert outputs.table_name == TEST_SETTINGS.table_name
    assert outputs.labeling_job_arn == deployment["machine"]
    assert "MonitoringDashboardName" not in outputs.values
    assert outputs.resource_prefix == "labelchain"


def test_stop_of_a_job_whose_execution_ended_stops_it_in_sagemaker_and_records_why(
    deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    execution = stepfunctions.start_execution(stateMachineArn=deployment["machine"], name="adopted")
    stepfunctions.stop_execution(executionArn=execution["executionArn"])
    job = job_name_for_execution("labelchain", "adopted", execution["executionArn"])
    store = JobStore(boto3.client("dynamodb", region_name=REGION), TEST_SETTINGS.table_name)
    adopted = record("InProgress", 5).model_copy(
        update={"job_name": job, "execution_arn": execution["executionArn"], "watcher": "reconciler"}
    )
    store.save_job(adopted)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(sagemaker)
    stub.add_response("stop_labeling_job", {}, {"LabelingJobName": job})
    stub.activate()
    monkeypatch.setattr(Aws, "labeling_jobs", lambda self: LabelingJobs(sagemaker))

    code = main(["stop", job, "--reason", "wrong batch"])

    out = capsys.readouterr().out
    stub.assert_no_pending_responses()
    assert code == OK
    assert out.startswith(f"asked SageMaker to stop job {job} (its execution has ended: ABORTED)")
    after = store.get_job(job)
    assert after is not None
    assert after.stop_reason == (
        f"stopped with `labelchain stop {job}`: wrong batch (its execution adopted was ABORTED)"
    )
    assert after.finalized_at is None  # the job's Stopped event or the reconciler seals it
