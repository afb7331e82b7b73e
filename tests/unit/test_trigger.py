"""Specification of the trigger core: the key layout and the EventBridge input transformer (checked
by filling its template the way EventBridge does).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from labelchain.core.trigger import (
    QUOTED_VARIABLES,
    ManifestUpload,
    TriggeredManifest,
    apply_input_transformer,
    event_pattern,
    input_transformer,
    parse_manifest_key,
)
from labelchain.errors import InvalidJobInput

BUCKET = "labelchain-data"


def s3_object_created(
    key: str = "incoming/birds/batch-7.manifest", version_id: str | None = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge receives it (the S3 user guide's example shape)."""
    obj = {
        "key": key,
        "size": 5,
        "etag": "b1946ac92492d2347c6235b4d2611184",
        "version-id": version_id,
        "sequencer": "617f08299329d189",
    }
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2026-11-12T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {k: v for k, v in obj.items() if v is not None},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


# --- key → project -------------------------------------------------------------------------------


def test_a_manifest_key_names_its_project() -> None:
    manifest = parse_manifest_key("incoming/birds/batch-7.manifest", BUCKET)

    assert manifest == TriggeredManifest(project="birds", key="incoming/birds/batch-7.manifest")


def test_a_nested_manifest_belongs_to_the_project_of_its_top_folder() -> None:
    manifest = parse_manifest_key("incoming/birds/2026/11/batch_7.v2.manifest", BUCKET)

    assert manifest.project == "birds"


@pytest.mark.parametrize(
    "key",
    [
        "birds/batch-7.manifest",
        "incoming/batch-7.manifest",
        "incoming/birds/",
        "incoming//batch-7.manifest",
        "other/incoming/birds/batch-7.manifest",
    ],
)
def test_a_key_outside_incoming_project_batch_is_refused_with_the_expected_shape(key: str) -> None:
    with pytest.raises(InvalidJobInput) as caught:
        parse_manifest_key(key, BUCKET)

    assert str(caught.value).startswith("trigger.key: ")
    assert "incoming/<project>/<batch>.manifest" in str(caught.value)


@pytest.mark.parametrize("project", ["Birds", "birds_2", "-birds", "b" * 41])
def test_a_folder_that_is_not_a_valid_project_name_is_refused(project: str) -> None:
    with pytest.raises(InvalidJobInput) as caught:
        parse_manifest_key(f"incoming/{project}/batch.manifest", BUCKET)

    message = str(caught.value)
    assert message.startswith("trigger.key: the folder after incoming/ names the project")
    assert "lowercase letters, digits and single hyphens" in message
    assert repr(project) in message


@pytest.mark.parametrize(
    "key",
    ["incoming/birds/batch.json", "incoming/birds/batch.MANIFEST", "incoming/birds/.manifest"],
)
def test_a_file_that_is_not_a_named_manifest_is_refused(key: str) -> None:
    with pytest.raises(InvalidJobInput, match=r"^trigger\.key: must name a <batch>\.manifest file"):
        parse_manifest_key(key, BUCKET)


@pytest.mark.parametrize("key", ["incoming/birds/batch 7.manifest", "incoming/birds/b\u00e4tch.manifest"])
def test_a_batch_name_with_characters_that_url_encoding_changes_is_refused(key: str) -> None:
    with pytest.raises(InvalidJobInput, match="rename the file"):
        parse_manifest_key(key, BUCKET)


def test_a_key_whose_manifest_uri_would_be_too_long_is_refused() -> None:
    key = "incoming/birds/" + "b" * 1000 + ".manifest"

    with pytest.raises(InvalidJobInput, match=r"^trigger\.key: the manifest URI .* longer than 1024"):
        parse_manifest_key(key, BUCKET)


# --- the EventBridge input transformer -----------------------------------------------------------


def test_the_transformer_reads_the_upload_from_the_s3_event() -> None:
    paths, _ = input_transformer()

    assert paths == {
        "bucket": "$.detail.bucket.name",
        "key": "$.detail.object.key",
        "version_id": "$.detail.object.version-id",
        "sequencer": "$.detail.object.sequencer",
        "event_id": "$.id",
        "event_time": "$.time",
    }


def test_the_template_uses_every_variable_once_and_fits_eventbridge_limits() -> None:
    paths, template = input_transformer()

    assert sorted(re.findall(r"<([\w-]+)>", template)) == sorted(paths)
    assert len(template) <= 8192  # InputTemplate's maximum length
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", name) and not name.startswith("AWS") for name in paths)


def test_only_the_possibly_absent_url_safe_values_are_quoted_in_the_template() -> None:
    _, template = input_transformer()

    quoted = set(re.findall(r'"<([\w-]+)>"', template))

    assert quoted == QUOTED_VARIABLES == {"version_id", "sequencer"}
    assert '"key": <key>' in template  # a bare placeholder: EventBridge writes the key as a JSON string


def test_the_filled_template_is_the_trigger_payload_of_the_upload() -> None:
    execution_input = apply_input_transformer(s3_object_created())

    assert execution_input == {
        "trigger": {
            "bucket": BUCKET,
            "key": "incoming/birds/batch-7.manifest",
            "version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": "617f08299329d189",
            "event_id": "17793124-05d4-b198-2fde-7ededc63b103",
            "event_time": "2026-11-12T00:00:00Z",
        }
    }
    assert ManifestUpload.model_validate(execution_input["trigger"]).upload_id == (
        "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    )


@pytest.mark.parametrize("key", ['incoming/birds/say "hi".manifest', "incoming/birds/a\\b.manifest"])
def test_a_key_with_quotes_or_backslashes_still_fills_the_template_as_valid_json(key: str) -> None:
    execution_input = apply_input_transformer(s3_object_created(key))

    assert execution_input["trigger"]["key"] == key  # it reaches ResolveTrigger, which can explain


def test_filling_a_quoted_placeholder_inserts_the_raw_text_without_escaping() -> None:
    """The documented rule, and why only URL-safe values are quoted: a '"' would break the JSON."""
    event = s3_object_created(version_id='has"quote')

    with pytest.raises(json.JSONDecodeError):
        apply_input_transformer(event)


def test_an_unversioned_upload_falls_back_to_the_sequencer() -> None:
    execution_input = apply_input_transformer(s3_object_created(version_id=None))

    upload = ManifestUpload.model_validate(execution_input["trigger"])

    assert execution_input["trigger"]["version_id"] == ""
    assert upload.version_id is None
    assert upload.upload_id == "sequencer:617f08299329d189"


@pytest.mark.parametrize("version_id", ["", "null", "<version_id>", None])
def test_a_version_that_is_missing_null_or_left_unsubstituted_counts_as_absent(
    version_id: str | None,
) -> None:
    upload = ManifestUpload(bucket=BUCKET, key="k", version_id=version_id, sequencer="0A1B")

    assert upload.upload_id == "sequencer:0A1B"


def test_an_upload_without_version_or_sequencer_is_refused() -> None:
    with pytest.raises(ValueError, match="needs version_id or sequencer"):
        ManifestUpload(bucket=BUCKET, key="k", version_id="", sequencer="<sequencer>")


def test_the_rule_matches_manifests_under_incoming_in_the_data_bucket() -> None:
    assert event_pattern(BUCKET) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [BUCKET]},
            "object": {"key": [{"wildcard": "incoming/*/*.manifest"}]},
        },
    }
