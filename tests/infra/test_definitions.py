"""The template reader that turns a synthesized state machine into a runnable definition (no synth)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.definitions import (
    TemplateReadError,
    lambda_arns_by_logical_id,
    lambda_functions,
    placeholder_arns,
    resolve_intrinsics,
    state_machine_definition,
)

pytestmark = pytest.mark.infra

DEFINITION_PARTS = [
    '{"StartAt":"Invoke","States":{"Invoke":{"Type":"Task","Resource":"',
    {"Fn::GetAtt": ["WorkerFnABC123", "Arn"]},
    '","Next":"Done"},"Done":{"Type":"Succeed","Comment":"in ',
    {"Ref": "AWS::Region"},
    '"}}}',
]
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "WorkerFnABC123": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "demo-worker", "Handler": "pkg.worker.handler"},
        },
        "FlowSM1": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "demo-flow",
                "DefinitionString": {"Fn::Join": ["", DEFINITION_PARTS]},
            },
        },
    }
}


def test_definition_is_found_by_state_machine_name_and_references_are_resolved() -> None:
    resolver = lambda_arns_by_logical_id(
        {"WorkerFnABC123": "arn:aws:lambda:eu-west-1:000000000000:function:w"}
    )

    definition = state_machine_definition(TEMPLATE, "demo-flow", resolver)

    assert definition["States"]["Invoke"]["Resource"] == "arn:aws:lambda:eu-west-1:000000000000:function:w"
    assert definition["States"]["Done"]["Comment"] == "in us-east-1"


def test_definition_is_found_by_logical_id_with_chosen_pseudo_parameters() -> None:
    pseudo = {"AWS::Region": "eu-west-1", "AWS::Partition": "aws", "AWS::AccountId": "000000000000"}

    definition = state_machine_definition(TEMPLATE, "FlowSM1", placeholder_arns(TEMPLATE, pseudo), pseudo)

    assert (
        definition["States"]["Invoke"]["Resource"]
        == "arn:aws:lambda:eu-west-1:000000000000:function:demo-worker"
    )
    assert definition["States"]["Done"]["Comment"] == "in eu-west-1"


def test_an_object_definition_is_resolved_as_well() -> None:
    template = json.loads(json.dumps(TEMPLATE))
    properties = template["Resources"]["FlowSM1"]["Properties"]
    properties["Definition"] = {
        "StartAt": "A",
        "States": {"A": {"Resource": {"Fn::GetAtt": ["WorkerFnABC123", "Arn"]}}},
    }

    definition = state_machine_definition(template, "demo-flow", placeholder_arns(template))

    assert definition["States"]["A"]["Resource"].endswith(":function:demo-worker")


def test_an_unknown_state_machine_is_reported_with_the_ones_that_exist() -> None:
    with pytest.raises(TemplateReadError, match="FlowSM1"):
        state_machine_definition(TEMPLATE, "other", placeholder_arns(TEMPLATE))


def test_a_reference_the_resolver_does_not_know_is_an_error_not_a_guess() -> None:
    with pytest.raises(TemplateReadError, match=r"WorkerFnABC123\.Arn"):
        state_machine_definition(TEMPLATE, "demo-flow", lambda_arns_by_logical_id({}))


def test_mapping_lookups_are_resolved_from_the_templates_mappings() -> None:
    mappings = {"Accounts": {"us-east-1": {"account": "432418664414"}}}
    lookup = {"Fn::FindInMap": ["Accounts", {"Ref": "AWS::Region"}, "account"]}

    assert resolve_intrinsics(lookup, lambda_arns_by_logical_id({}), mappings=mappings) == "432418664414"
    with pytest.raises(TemplateReadError, match=r"Accounts\.us-east-1\.missing"):
        resolve_intrinsics(
            {"Fn::FindInMap": ["Accounts", "us-east-1", "missing"]},
            lambda_arns_by_logical_id({}),
            mappings=mappings,
        )


def test_unsupported_intrinsics_are_refused() -> None:
    with pytest.raises(TemplateReadError, match="Fn::Sub"):
        resolve_intrinsics({"Fn::Sub": "${AWS::Region}"}, lambda_arns_by_logical_id({}))


def test_lambda_functions_lists_handler_and_name_by_logical_id() -> None:
    assert lambda_functions(TEMPLATE) == {
        "WorkerFnABC123": {"FunctionName": "demo-worker", "Handler": "pkg.worker.handler"}
    }
