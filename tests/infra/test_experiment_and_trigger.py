"""The Experiment state machine and the manifest trigger, read back from the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.definitions import lambda_arns_by_logical_id, state_machine_definition
from infra.experiment_workflow import NESTED_START_TRANSIENT_ERRORS, ExperimentStates
from labelchain.core.experiment import ROLES
from labelchain.core.trigger import event_pattern, input_transformer
from tests.infra.conftest import CloudAssembly, as_list, render

pytestmark = pytest.mark.infra

E = ExperimentStates
LABELING_JOB_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:labelchain-labeling-job"
START_CHILD = "arn:aws:states:::states:startExecution.sync:2"


@pytest.fixture(scope="module")
def definition(assembly: CloudAssembly) -> dict[str, Any]:
    functions = {lid: f"arn:function:{lid}" for lid in assembly.resources("AWS::Lambda::Function")}
    machines = dict.fromkeys(assembly.resources("AWS::StepFunctions::StateMachine"), LABELING_JOB_ARN)
    lambdas = lambda_arns_by_logical_id(functions)

    def resolve(logical_id: str, attribute: str | None) -> str:
        return (
            machines[logical_id]
            if attribute is None and logical_id in machines
            else lambdas(logical_id, attribute)
        )

    return state_machine_definition(assembly.template, "labelchain-experiment", resolve)


def _all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_all_states(branch))
    return found


def test_every_experiment_state_is_there_and_it_starts_by_preparing_the_dataset(
    definition: dict[str, Any],
) -> None:
    expected = {value for name, value in vars(ExperimentStates).items() if name.isupper()}

    assert set(_all_states(definition)) == expected
    assert definition["StartAt"] == E.PREPARE_DATASET
    # Two LabelingJob executions back to back (30 days + a 24 h quota queue + a day each) plus a day.
    assert definition["TimeoutSeconds"] == (2 * (30 * 24 + 24 + 24) + 24) * 3600


def test_each_job_is_a_named_nested_labeling_job_execution(definition: dict[str, Any]) -> None:
    states = _all_states(definition)
    for state_name, role in (
        (E.INITIAL_JOB, "initial"),
        (E.PRETRAINED_JOB, "pretrained"),
        (E.CONTROL_JOB, "control"),
    ):
        state = states[state_name]
        assert state["Resource"] == START_CHILD
        assert state["Parameters"]["StateMachineArn"] == LABELING_JOB_ARN
        assert state["Parameters"]["Name.$"] == f"$.prepared.jobs.{role}.execution_name"
        assert "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID" not in json.dumps(state["Parameters"])
    assert set(ROLES) == {"initial", "pretrained", "control"}


def test_the_pretrained_job_is_seeded_with_the_initial_jobs_model_by_job_name(
    definition: dict[str, Any],
) -> None:
    states = _all_states(definition)

    assert states[E.INITIAL_JOB]["ResultSelector"]["seed"] == {
        "initial_model": {"job.$": "$.Output.job_name"}
    }
    seed = states[E.SEED_FROM_INITIAL_JOB]["Parameters"]["input.$"]
    assert seed == "States.JsonMerge($.prepared.jobs.pretrained.input, $.initial.seed, false)"
    assert states[E.PRETRAINED_JOB]["Parameters"]["Input.$"] == "$.pretrained.input"
    assert states[E.CONTROL_JOB]["Parameters"]["Input.$"] == "$.prepared.jobs.control.input"


def test_the_second_stage_runs_both_jobs_in_parallel_and_catches_each_failure_in_its_branch(
    definition: dict[str, Any],
) -> None:
    stage = definition["States"][E.SECOND_STAGE]

    assert stage["Type"] == "Parallel"
    assert [branch["StartAt"] for branch in stage["Branches"]] == [E.PRETRAINED_JOB, E.CONTROL_JOB]
    for branch, caught in zip(
        stage["Branches"], (E.PRETRAINED_JOB_CAUGHT, E.CONTROL_JOB_CAUGHT), strict=True
    ):
        (catch,) = branch["States"][branch["StartAt"]]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert catch["Next"] == caught
    assert stage["Next"] == E.COMPARE_JOBS


def test_no_model_and_a_failed_initial_job_are_recorded_before_the_experiment_fails(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]

    assert states[E.INITIAL_MODEL]["Default"] == E.RECORD_NO_MODEL
    assert states[E.RECORD_NO_MODEL]["Next"] == E.NO_MODEL
    assert states[E.NO_MODEL]["Error"] == "NoModelFromInitialJob"
    assert states[E.INITIAL_JOB]["Catch"][0]["Next"] == E.INITIAL_JOB_CAUGHT
    assert states[E.RECORD_INITIAL_JOB_FAILURE]["Next"] == E.INITIAL_JOB_FAILED
    assert states[E.BOTH_JOBS_RAN]["Default"] == E.SECOND_STAGE_INCOMPLETE


def test_the_experiment_role_starts_only_labeling_job_executions_and_calls_no_sagemaker(
    assembly: CloudAssembly,
) -> None:
    (role,) = [
        lid for lid in assembly.resources("AWS::IAM::Role") if lid.startswith("ExperimentStateMachineRole")
    ]
    statements = assembly.role_statements(role)
    actions = {action for statement in statements for action in as_list(statement["Action"])}

    assert not any(action.startswith("sagemaker:") for action in actions)
    (start,) = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]
    assert as_list(start["Resource"]) == [_labeling_job_arn(assembly)]


def test_the_data_bucket_sends_events_to_eventbridge_without_a_custom_resource(
    assembly: CloudAssembly, template: Template
) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )
    assert not assembly.resources("Custom::S3BucketNotifications")


def _manifest_rule(assembly: CloudAssembly) -> dict[str, Any]:
    (rule,) = [
        rule
        for lid, rule in assembly.resources("AWS::Events::Rule").items()
        if lid.startswith("TriggerManifestDropped")
    ]
    return rule


def test_the_rule_pattern_and_input_come_from_labelchain_core_trigger(assembly: CloudAssembly) -> None:
    properties = _manifest_rule(assembly)["Properties"]
    (bucket,) = [lid for lid in assembly.resources("AWS::S3::Bucket") if lid.startswith("StorageDataBucket")]

    assert properties["EventPattern"] == event_pattern({"Ref": bucket})  # type: ignore[arg-type]
    (target,) = properties["Targets"]
    paths, template_text = input_transformer()
    assert target["InputTransformer"] == {"InputPathsMap": paths, "InputTemplate": template_text}
    machines = set(assembly.resources("AWS::StepFunctions::StateMachine"))
    assert render(target["Arn"], state_machines=machines) == _labeling_job_arn(assembly)


def test_only_the_manifest_rule_starts_executions(assembly: CloudAssembly) -> None:
    machines = set(assembly.resources("AWS::StepFunctions::StateMachine"))
    starting = [
        lid
        for lid, rule in assembly.resources("AWS::Events::Rule").items()
        for target in rule["Properties"]["Targets"]
        if render(target["Arn"], state_machines=machines).startswith("arn:aws:states:")
    ]

    assert [lid.startswith("TriggerManifestDropped") for lid in starting] == [True]


def test_the_rule_may_only_start_the_labeling_job_state_machine(assembly: CloudAssembly) -> None:
    (target,) = _manifest_rule(assembly)["Properties"]["Targets"]
    role = target["RoleArn"]["Fn::GetAtt"][0]
    statements = assembly.role_statements(role)

    assert [as_list(s["Action"]) for s in statements] == [["states:StartExecution"]]
    assert as_list(statements[0]["Resource"]) == [_labeling_job_arn(assembly)]


def _labeling_job_arn(assembly: CloudAssembly) -> str:
    """The LabelingJob state machine's ARN as ``render`` writes a Ref to it."""
    (logical_id,) = [
        lid for lid in assembly.resources("AWS::StepFunctions::StateMachine") if lid.startswith("LabelingJob")
    ]
    return f"arn:aws:states:us-east-1:123456789012:stateMachine:<{logical_id}>"


def test_the_plan_replaces_the_input_so_the_state_holds_the_job_settings_once_less(
    definition: dict[str, Any],
) -> None:
    prepare = definition["States"][E.PREPARE_DATASET]

    assert prepare["ResultSelector"] == {"prepared.$": "$"}
    assert prepare["ResultPath"] == "$"


def test_both_state_machines_log_execution_data_to_log_groups_encrypted_with_the_stacks_key(
    assembly: CloudAssembly,
) -> None:
    (key,) = assembly.resources("AWS::KMS::Key")
    machines = assembly.resources("AWS::StepFunctions::StateMachine").values()
    log_groups = assembly.resources("AWS::Logs::LogGroup")

    for machine in machines:
        destination = machine["Properties"]["LoggingConfiguration"]["Destinations"][0]
        group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        assert log_groups[group_id]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    statements = assembly.resources("AWS::KMS::Key")[key]["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsOfThisAccount"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]


def test_nested_jobs_retry_step_functions_throttling_but_never_a_child_that_failed(
    definition: dict[str, Any],
) -> None:
    states = _all_states(definition)
    for state_name in (E.INITIAL_JOB, E.PRETRAINED_JOB, E.CONTROL_JOB):
        retried = {error for retry in states[state_name]["Retry"] for error in retry["ErrorEquals"]}

        assert retried == set(NESTED_START_TRANSIENT_ERRORS), state_name
        assert "StepFunctions.ThrottlingException" in retried
        # A child that failed is an outcome (its job failed or was stopped), caught and recorded, never
        # retried.
        assert not retried & {"States.ALL", "States.TaskFailed", "States.Timeout"}
