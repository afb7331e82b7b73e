"""Specification of CompareJobs: it finds each job's record however its child execution ended,
stores the comparison in DynamoDB and publishes report.json and report.md to the output bucket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelchain.core.comparison import ExperimentComparison, Role
from labelchain.core.experiment import child_execution_name
from labelchain.core.naming import job_name_for_execution
from labelchain.core.records import JobRecord
from labelchain.core.s3_layout import report_prefix
from labelchain.errors import InvalidJobInput
from labelchain.handlers.compare_jobs import handler
from labelchain.handlers.runtime import override_runtime
from labelchain.services.compare_jobs import CompareJobsResult, compare_jobs
from labelchain.services.events import ExecutionRef
from labelchain.services.experiment_events import (
    ChildOutcome,
    CompareJobsEvent,
    DatasetPart,
    PlannedJob,
    PrepareDatasetResult,
)
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, FixedClock, create_buckets, create_table, make_runtime
from tests.unit.test_comparison import tutorial_record

EXPERIMENT = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:labelchain-Experiment:birds-exp-1", name="birds-exp-1"
)
REPORT_PREFIX = report_prefix("birds", EXPERIMENT.name)
NO_MODEL = "the initial job produced no model, so the pretrained and control jobs were not run"


def child_arn(role: str) -> str:
    name = child_execution_name(EXPERIMENT.name, EXPERIMENT.id, role)
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:labelchain-LabelingJob:{name}"


def child_job_name(role: str) -> str:
    """The job name CreateJob gives the child execution of ``role``."""
    return job_name_for_execution(
        TEST_SETTINGS.resource_prefix,
        child_execution_name(EXPERIMENT.name, EXPERIMENT.id, role),
        child_arn(role),
    )


def recorded(role: Role, **changes: Any) -> JobRecord:
    return tutorial_record(role, job_name=child_job_name(role), execution_arn=child_arn(role), **changes)


def succeeded(role: str) -> ChildOutcome:
    """A child that succeeded: its output is RecordMetrics' result (only job_name is read)."""
    result = {"job_name": child_job_name(role), "project": "birds", "status": "Completed", "simulated": False}
    return ChildOutcome(status="SUCCEEDED", execution_arn=child_arn(role), result=result)


def describe_execution_cause(role: str, error: str, cause: str, arn_key: str = "ExecutionArn") -> str:
    """The Cause a ``startExecution.sync:2`` task fails with: the child's DescribeExecution as JSON."""
    return json.dumps(
        {
            arn_key: child_arn(role),
            "StateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:labelchain-LabelingJob",
            "Name": child_execution_name(EXPERIMENT.name, EXPERIMENT.id, role),
            "Status": "FAILED",
            "StartDate": 1796040000000,
            "StopDate": 1796068800000,
            "Input": "{}",
            "Error": error,
            "Cause": cause,
        }
    )


def failed(role: str, error: str, cause: str, arn_key: str = "ExecutionArn") -> ChildOutcome:
    return ChildOutcome(
        status="FAILED",
        error="States.TaskFailed",
        cause=describe_execution_cause(role, error, cause, arn_key),
    )


def experiment_event(
    pretrained: ChildOutcome | None, control: ChildOutcome | None, **changes: Any
) -> CompareJobsEvent:
    prepared = PrepareDatasetResult(
        project="birds",
        parts=[
            DatasetPart(
                uri=f"s3://{TEST_SETTINGS.data_bucket}/experiments/birds/part-{n}.manifest", objects=1250
            )
            for n in (1, 2)
        ],
        jobs={
            role: PlannedJob(
                execution_name=child_execution_name(EXPERIMENT.name, EXPERIMENT.id, role), input={}
            )
            for role in ("initial", "pretrained", "control")
        },
    )
    values: dict[str, Any] = {
        "execution": EXPERIMENT,
        "prepared": prepared,
        "initial": succeeded("initial"),
        "pretrained": pretrained,
        "control": control,
    }
    return CompareJobsEvent.model_validate({**values, **changes})


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_buckets(s3)
        create_table(dynamodb)
        yield s3, dynamodb


@pytest.fixture
def runtime(aws: tuple[Any, Any]) -> Runtime:
    s3, dynamodb = aws
    for item in dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]:
        dynamodb.delete_item(TableName=TEST_SETTINGS.table_name, Key={"pk": item["pk"], "sk": item["sk"]})
    for item in s3.list_objects_v2(Bucket=TEST_SETTINGS.output_bucket).get("Contents", []):
        s3.delete_object(Bucket=TEST_SETTINGS.output_bucket, Key=item["Key"])
    return make_runtime(
        boto3.client("sagemaker", region_name=REGION), FixedClock(EXAMPLE_TIME), s3=s3, dynamodb=dynamodb
    )  # CompareJobs never calls it


def output_text(runtime: Runtime, name: str) -> str:
    chunks = runtime.objects.iter_chunks(TEST_SETTINGS.output_bucket, REPORT_PREFIX + name)
    return b"".join(chunks).decode()


def published_report(runtime: Runtime) -> ExperimentComparison:
    return ExperimentComparison.model_validate_json(output_text(runtime, "report.json"))


def stored_comparison(runtime: Runtime) -> ExperimentComparison:
    item = runtime.store.get_comparison(EXPERIMENT.name)
    assert item is not None
    return ExperimentComparison.model_validate(item)


def save_tutorial_jobs(runtime: Runtime, *roles: Role, **changes: Any) -> None:
    for role in roles:
        runtime.store.save_job(recorded(role, **changes))


# --- all three jobs ran ----------------------------------------------------------------------------


def test_three_finished_jobs_are_compared_and_the_comparison_is_stored(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")

    compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    stored = stored_comparison(runtime)
    delta = stored.pretrained_vs_control
    assert (
        delta.cost_reduction_percent.value,
        delta.duration_reduction_percent.value,
        delta.machine_labeled_gain_points.value,
    ) == (Decimal("23.68"), Decimal("47.92"), Decimal("20.00"))
    assert stored.jobs["control"].figures is not None
    assert stored.jobs["control"].figures.job_name == child_job_name("control")
    assert (stored.execution_name, stored.project, stored.compared_at) == (
        EXPERIMENT.name,
        "birds",
        EXAMPLE_TIME,
    )


def test_the_report_json_in_the_output_bucket_is_the_stored_comparison(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")

    compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    assert published_report(runtime) == stored_comparison(runtime)


def test_the_markdown_report_in_the_output_bucket_shows_the_headline(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")

    compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    markdown = output_text(runtime, "report.md")
    assert markdown.startswith(f"# Seed experiment `{EXPERIMENT.name}`")
    assert "| pretrained vs control (same data) | 23.68 % | 47.92 % | +20.00 pp |" in markdown
    assert f"| labeling job | `{child_job_name('pretrained')}` |" in markdown


def test_the_result_names_the_reports_and_the_headline_deltas(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")

    result = compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    bucket = TEST_SETTINGS.output_bucket
    assert result.report_json_uri == f"s3://{bucket}/{REPORT_PREFIX}report.json"
    assert result.report_markdown_uri == f"s3://{bucket}/{REPORT_PREFIX}report.md"
    assert result.pretrained_vs_control.model_dump() == {
        "cost_reduction_percent": "23.68",
        "duration_reduction_percent": "47.92",
        "machine_labeled_gain_points": "20.00",
    }
    assert result.pretrained_vs_initial.cost_reduction_percent == "33.18"
    assert (result.missing, result.simulated) == ({}, False)


def test_comparing_the_same_experiment_twice_leaves_the_same_report(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")
    event = experiment_event(succeeded("pretrained"), succeeded("control"))
    first = compare_jobs(event, runtime)
    first_json = output_text(runtime, "report.json")

    second = compare_jobs(event, runtime)

    assert second == first
    assert output_text(runtime, "report.json") == first_json


def test_simulated_jobs_make_the_report_open_with_the_simulated_banner(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control", simulated=True)

    result = compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    assert result.simulated is True
    assert output_text(runtime, "report.md").splitlines()[0].startswith("> **SIMULATED")
    assert stored_comparison(runtime).simulated_roles == ["initial", "pretrained", "control"]


# --- failed children -------------------------------------------------------------------------------


@pytest.mark.parametrize("arn_key", ["ExecutionArn", "executionArn"])
def test_a_failed_control_whose_job_was_recorded_keeps_its_numbers_marked_failed(
    runtime: Runtime, arn_key: str
) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained")
    reason = "ClientError: more than 10% of the validation set failed"
    runtime.store.save_job(
        recorded("control", iterations=[(200, 0), (50, 0)], status="Failed", failure_reason=reason)
    )

    result = compare_jobs(
        experiment_event(succeeded("pretrained"), failed("control", "LabelingJobFailed", reason, arn_key)),
        runtime,
    )

    control = stored_comparison(runtime).jobs["control"]
    assert control.execution_status == "FAILED"
    assert control.execution_arn == child_arn("control")
    assert control.execution_error == f"LabelingJobFailed: {reason}"
    assert control.figures is not None
    assert (control.figures.status, control.figures.human_labeled, control.figures.total_cost_usd) == (
        "Failed",
        250,
        Decimal(65),
    )
    assert result.missing == {}
    assert "### control: part 2, without a model: FAILED" in output_text(runtime, "report.md")
    assert stored_comparison(runtime).pretrained_vs_control.caveats[0].startswith("control did not complete")


def test_a_failed_child_without_a_job_record_is_missing_with_the_childs_error(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained")
    lambda_error = json.dumps({"errorMessage": "initial_model: job not found", "errorType": "ModelNotFound"})

    result = compare_jobs(
        experiment_event(succeeded("pretrained"), failed("control", "ModelNotFound", lambda_error)), runtime
    )

    expected = (
        f"the child execution failed before labeling job {child_job_name('control')} was recorded "
        "(ModelNotFound: initial_model: job not found)"
    )
    assert result.missing == {"control": expected}
    assert result.pretrained_vs_control.cost_reduction_percent is None
    assert stored_comparison(runtime).pretrained_vs_control.cost_reduction_percent.reason == (
        f"control is missing: {expected}"
    )
    assert f"- control: {expected}" in output_text(runtime, "report.md")


def test_a_failure_cause_that_is_not_json_still_leaves_a_reason(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained")
    control = ChildOutcome(status="FAILED", error="States.Timeout", cause="the nested execution timed out")

    result = compare_jobs(experiment_event(succeeded("pretrained"), control), runtime)

    assert result.missing == {
        "control": "the child execution failed and its failure names no execution "
        "(States.Timeout: the nested execution timed out)"
    }


def test_a_failed_child_is_found_through_the_outcomes_execution_arn_too(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")
    control = ChildOutcome(
        status="FAILED", execution_arn=child_arn("control"), error="States.Timeout", cause=""
    )

    compare_jobs(experiment_event(succeeded("pretrained"), control), runtime)

    side = stored_comparison(runtime).jobs["control"]
    assert side.figures is not None
    assert side.execution_error == "States.Timeout: no cause given"


def test_a_succeeded_child_without_a_record_is_missing_with_the_reason(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "control")

    result = compare_jobs(experiment_event(succeeded("pretrained"), succeeded("control")), runtime)

    assert result.missing == {
        "pretrained": "the child execution succeeded but LabelChain has no record of labeling job "
        f"{child_job_name('pretrained')}"
    }
    assert result.pretrained_vs_initial.cost_reduction_percent is None


# --- jobs that did not run -------------------------------------------------------------------------


def test_jobs_the_experiment_did_not_run_are_missing_with_its_stop_reason(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial")

    result = compare_jobs(
        experiment_event(ChildOutcome(status="NOT_RUN"), None, stop_reason=NO_MODEL), runtime
    )

    assert result.missing == {"pretrained": f"not run: {NO_MODEL}", "control": f"not run: {NO_MODEL}"}
    assert result.pretrained_vs_control.model_dump() == dict.fromkeys(
        ("cost_reduction_percent", "duration_reduction_percent", "machine_labeled_gain_points")
    )
    stored = stored_comparison(runtime)
    assert (stored.stop_reason, stored.jobs["pretrained"].execution_status) == (NO_MODEL, "NOT_RUN")
    assert stored.jobs["initial"].figures is not None
    markdown = output_text(runtime, "report.md")
    assert f"The experiment stopped early: {NO_MODEL}" in markdown
    assert "### pretrained: part 2, seeded with the initial job's model: MISSING" in markdown


def test_a_job_not_run_without_a_stop_reason_says_none_was_given(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained")

    result = compare_jobs(experiment_event(succeeded("pretrained"), None), runtime)

    assert result.missing == {"control": "not run: the experiment gave no reason"}


# --- the Lambda ------------------------------------------------------------------------------------


class FakeLambdaContext:
    function_name = "labelchain-compare-jobs"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:labelchain-compare-jobs"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


def test_the_handler_returns_the_result_as_the_executions_json_output(runtime: Runtime) -> None:
    save_tutorial_jobs(runtime, "initial", "pretrained", "control")
    event = experiment_event(succeeded("pretrained"), succeeded("control")).model_dump(mode="json")

    with override_runtime(runtime):
        output = handler(event, FakeLambdaContext())

    assert CompareJobsResult.model_validate(output).pretrained_vs_control.cost_reduction_percent == "23.68"
    assert json.loads(json.dumps(output)) == output


def test_a_malformed_event_is_an_input_error(runtime: Runtime) -> None:
    with (
        override_runtime(runtime),
        pytest.raises(InvalidJobInput, match="malformed CompareJobsEvent payload"),
    ):
        handler({"execution": EXPERIMENT.model_dump()}, FakeLambdaContext())
