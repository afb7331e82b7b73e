"""What a CreateLabelingJob request points at: task type, manifest, label categories (read from S3).

The task type comes from the request itself (the PRE Lambda's ``PRE-<Type>`` suffix and the algorithm
ARN's ``/<algo>``), checked against LabelChain's task-type catalog — the one source of truth for
those names. A request the real service would refuse is a ``ValidationException``; inputs it would
only discover while initializing (a missing manifest, a malformed line) make the job fail instead,
with a ``FailureReason`` in the service's ``ClientError: …`` style.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelchain.core import s3_layout
from labelchain.core.catalog import CATALOG, TaskTypeSpec
from local.ground_truth.protocol import validation_error

RESERVED_ATTRIBUTES = frozenset({"source", "source-ref"})
PII_CLASSIFIER = "FreeOfPersonallyIdentifiableInformation"
PUBLIC_WORKTEAM_MARKER = ":workteam/public-crowd/"


class JobInputFailure(Exception):
    """The job cannot start; its message is the FailureReason."""


@dataclass(frozen=True)
class ManifestObjects:
    records: tuple[dict[str, Any], ...]
    identities: tuple[str, ...]
    """What the simulation hashes: a ``source-ref``'s key (so a copy in another bucket is the same
    object), or the ``source`` text."""


def object_identity(source: str) -> str:
    """``s3://bucket/key`` → ``key``; anything else (inline ``source`` text) as it is."""
    try:
        return s3_layout.split_s3_uri(source)[1] or source
    except ValueError:
        return source


def task_type_of(request: dict[str, Any]) -> TaskTypeSpec:
    """The built-in task type of the request; ValidationException when it is not one or is inconsistent."""
    human = request["HumanTaskConfig"]
    pre_arn = human.get("PreHumanTaskLambdaArn", "")
    suffix = pre_arn.rsplit(":function:PRE-", 1)[-1] if ":function:PRE-" in pre_arn else None
    by_suffix = {spec.lambda_suffix: spec for spec in CATALOG.values()}
    spec = by_suffix.get(suffix or "")
    if spec is None:
        raise validation_error(
            f"PreHumanTaskLambdaArn {pre_arn!r} is not the built-in PRE-<Type> Lambda of a task type"
            f" with automated data labeling ({', '.join(sorted(by_suffix))}); LabelChain's Ground Truth"
            " emulator simulates only those"
        )
    algorithm_arn = (request.get("LabelingJobAlgorithmsConfig") or {}).get(
        "LabelingJobAlgorithmSpecificationArn"
    )
    if algorithm_arn is not None:
        algorithm = algorithm_arn.rsplit("/", 1)[-1]
        if algorithm != spec.algorithm:
            raise validation_error(
                f"LabelingJobAlgorithmSpecificationArn {algorithm_arn!r} is for {algorithm!r}, but the"
                f" PreHumanTaskLambdaArn is for {spec.algorithm!r}: the task types must match"
            )
    _check_label_attribute(request["LabelAttributeName"], spec)
    return spec


def _check_label_attribute(attribute: str, spec: TaskTypeSpec) -> None:
    if attribute in RESERVED_ATTRIBUTES:
        raise validation_error(f"LabelAttributeName {attribute!r} is reserved")
    if attribute.endswith("-metadata"):
        raise validation_error(f"LabelAttributeName {attribute!r} must not end with '-metadata'")
    if attribute.endswith("-ref") != spec.label_attribute_must_end_with_ref:
        rule = "must" if spec.label_attribute_must_end_with_ref else "must not"
        raise validation_error(
            f"LabelAttributeName {attribute!r} {rule} end with '-ref' for {spec.task_type}"
        )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    try:
        return s3_layout.split_s3_uri(uri)
    except ValueError:
        raise JobInputFailure(f"ClientError: {uri} is not an s3:// URI") from None


def _read(s3: Any, uri: str, what: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise JobInputFailure(f"ClientError: Could not read the {what} {uri}: {code or exc}") from exc
    except BotoCoreError as exc:
        raise JobInputFailure(f"ClientError: Could not read the {what} {uri}: {exc}") from exc
    return body


def read_manifest(s3: Any, uri: str, spec: TaskTypeSpec) -> ManifestObjects:
    """The manifest's JSON lines and each object's identity (``source-ref`` or ``source``)."""
    records = []
    identities = []
    for number, raw in enumerate(_read(s3, uri, "input manifest").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        identity = record.get(spec.source_field) if isinstance(record, dict) else None
        if not isinstance(identity, str) or not identity:
            raise JobInputFailure(
                f"ClientError: line {number} of the input manifest {uri} is not a JSON object with a"
                f" '{spec.source_field}' string"
            )
        records.append(record)
        identities.append(object_identity(identity))
    if not records:
        raise JobInputFailure(f"ClientError: the input manifest {uri} has no data objects")
    return ManifestObjects(tuple(records), tuple(identities))


def read_label_categories(s3: Any, uri: str | None) -> tuple[str, ...]:
    """The ``labels[].label`` names of the label category configuration file."""
    if uri is None:
        raise JobInputFailure("ClientError: built-in task types need a LabelCategoryConfigS3Uri")
    try:
        document = json.loads(_read(s3, uri, "label category configuration file"))
        names = tuple(str(entry["label"]) for entry in document["labels"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JobInputFailure(
            f"ClientError: the label category configuration file {uri} is not"
            ' {"document-version": "2018-11-28", "labels": [{"label": …}, …]}'
        ) from exc
    if not names:
        raise JobInputFailure(f"ClientError: the label category configuration file {uri} lists no labels")
    return names


def check_workforce(request: dict[str, Any]) -> None:
    """A public (Mechanical Turk) job fails without the PII content classifier."""
    workteam = request["HumanTaskConfig"].get("WorkteamArn", "")
    classifiers = ((request["InputConfig"].get("DataAttributes") or {}).get("ContentClassifiers")) or []
    if PUBLIC_WORKTEAM_MARKER in workteam and PII_CLASSIFIER not in classifiers:
        raise JobInputFailure(
            f"ClientError: jobs for the public workforce must declare {PII_CLASSIFIER} in"
            " InputConfig.DataAttributes.ContentClassifiers"
        )


def check_object_limits(spec: TaskTypeSpec, auto_labeling: bool, objects: int) -> None:
    if auto_labeling and objects > spec.max_objects_with_auto_labeling:
        raise JobInputFailure(
            f"ClientError: automated data labeling supports at most {spec.max_objects_with_auto_labeling}"
            f" data objects for {spec.task_type}; the input manifest has {objects}"
        )
