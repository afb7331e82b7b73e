"""cdk-nag (AwsSolutions) runs on every synth; no finding is open, and every accepted one is justified.

The session fixture synthesizes through ``app.py`` with the checks on, so an open finding would already
have failed it; these tests read cdk-nag's validation report and the acknowledgments recorded in the
cloud assembly metadata to prove each suppression is specific, reasoned and still needed. Acknowledgments
are made where each permission is granted (``infra.permissions.allow``), their findings rendered from the
statement the way cdk-nag prints them (``infra.nag.nag_text``).
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.nag import nag_text, wildcard_details
from infra.stack import STACK_ID
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"


def _aws_solutions_report(assembly: CloudAssembly) -> dict[str, Any]:
    (report,) = [r for r in assembly.validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    aws_solutions: dict[str, Any] = report
    return aws_solutions


def _acknowledgments(assembly: CloudAssembly) -> list[tuple[str, str, str]]:
    """(construct path, acknowledged id, reason) for every acknowledgment in the assembly."""
    return [
        (path, rule_id, reason)
        for path, entries in assembly.metadata.items()
        for entry in entries
        if entry["type"] == ACKNOWLEDGED_RULES
        for rule_id, reason in entry["data"].items()
    ]


def test_aws_solutions_checks_ran_and_found_nothing_open(assembly: CloudAssembly) -> None:
    report = _aws_solutions_report(assembly)

    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_no_other_validation_plugin_reported_anything(assembly: CloudAssembly) -> None:
    for report in assembly.validation_report["pluginReports"]:
        assert report["violations"] == [], report["pluginName"]


def test_every_suppression_sits_on_a_resource_never_on_the_stack_or_app(assembly: CloudAssembly) -> None:
    acknowledgments = _acknowledgments(assembly)

    assert acknowledgments
    for path, rule_id, _ in acknowledgments:
        assert path.startswith(f"/{STACK_ID}/"), (path, rule_id)
        assert path.count("/") >= 3, f"{rule_id} is acknowledged on {path}, not on a resource"


def test_every_suppression_gives_a_specific_reason(assembly: CloudAssembly) -> None:
    for path, rule_id, reason in _acknowledgments(assembly):
        assert len(reason) >= 40, (path, rule_id, reason)


def test_wildcard_findings_are_acknowledged_one_by_one_never_wholesale(assembly: CloudAssembly) -> None:
    for path, rule_id, _ in _acknowledgments(assembly):
        assert rule_id.startswith("AwsSolutions::AwsSolutions-"), rule_id
        if "IAM5" in rule_id:
            assert rule_id.endswith("]"), (path, rule_id)
            assert "[Action::" in rule_id or "[Resource::" in rule_id, (path, rule_id)


def test_every_suppression_is_still_needed(assembly: CloudAssembly) -> None:
    used = {
        (f"/{violation['acknowledgedAt']}", violation["acknowledgedId"])
        for violation in _aws_solutions_report(assembly)["suppressedViolations"]
    }
    declared = {(path, rule_id) for path, rule_id, _ in _acknowledgments(assembly)}

    assert declared - used == set()


def test_suppressed_findings_are_limited_to_wildcards_and_the_pinned_runtime(assembly: CloudAssembly) -> None:
    rules = {
        violation["ruleName"].split("[")[0]
        for violation in _aws_solutions_report(assembly)["suppressedViolations"]
    }

    assert rules == {"AwsSolutions-IAM5", "AwsSolutions-L1", "AwsSolutions-SQS3"}


def test_only_the_event_dead_letter_queue_goes_without_a_dead_letter_queue(assembly: CloudAssembly) -> None:
    (queue,) = assembly.resources("AWS::SQS::Queue")
    paths = {
        path
        for path, rule_id, _ in _acknowledgments(assembly)
        if rule_id == "AwsSolutions::AwsSolutions-SQS3"
    }

    assert paths == {f"/{STACK_ID}/EventDeadLetters/Queue"}
    logical_ids = [
        entry["data"]
        for entry in assembly.metadata[f"/{STACK_ID}/EventDeadLetters/Queue/Resource"]
        if entry["type"] == "aws:cdk:logicalId"
    ]
    assert logical_ids == [queue]


def test_findings_render_references_as_cdk_nag_prints_them() -> None:
    lookup = {"Fn::FindInMap": ["Accounts", {"Ref": "AWS::Region"}, "account"]}
    arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                ":",
                lookup,
                ":function:PRE-*",
            ],
        ]
    }
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": ["DataBucket1", "Arn"]}, "/jobs/*"]]}

    assert nag_text(arn) == (
        'arn:<AWS::Partition>:lambda:<AWS::Region>:{"Fn::FindInMap":["Accounts",{"Ref":"AWS::Region"},'
        '"account"]}:function:PRE-*'
    )
    assert wildcard_details(
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": [objects, "arn:x:bucket"]}
    ) == ["Action::s3:List*", "Resource::<DataBucket1.Arn>/jobs/*"]


def test_every_suppressed_wildcard_was_acknowledged_on_the_role_that_holds_it(
    assembly: CloudAssembly,
) -> None:
    for violation in _aws_solutions_report(assembly)["suppressedViolations"]:
        if violation["ruleName"].startswith("AwsSolutions-IAM5"):
            assert violation["acknowledgedAt"].endswith("Role"), violation["acknowledgedAt"]
