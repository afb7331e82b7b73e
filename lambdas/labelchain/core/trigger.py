"""Continuous chaining: a manifest dropped under ``incoming/<project>/`` becomes a LabelingJob input.

One source of truth for the whole trigger path (docs/TRIGGERS.md):

* the EventBridge rule's event pattern and input transformer (``infra/`` imports them), and a pure
  model of how EventBridge fills the transformer's template (tests and the offline stack use it);
* the trigger payload the ResolveTrigger Lambda receives (``ManifestUpload``);
* the key layout (``incoming/<project>/<batch>.manifest``: the folder names the project).

The project's settings are not here: they live in the table, apart from the batches
(``labelchain.core.project_settings``), and an upload under ``incoming/`` cannot change them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from labelchain.core.job_input import PATTERN_MEANINGS, PROJECT_NAME_SHAPE, JobInput
from labelchain.core.models import StrictModel
from labelchain.core.s3_layout import (
    INCOMING_MANIFEST_PATTERN,
    INCOMING_PREFIX,
    MANIFEST_SUFFIX,
    reserved_project_problem,
    s3_uri,
)
from labelchain.errors import InvalidJobInput

EVENT_SOURCE = "aws.s3"
EVENT_DETAIL_TYPE = "Object Created"
MAX_MANIFEST_URI_LENGTH = 1024
"""JobInput's bound on ``manifest`` (checked here so the error names the uploaded key)."""

_BATCH_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
"""Characters that read the same URL-encoded or not: S3's classic notifications URL-encode keys,
so a batch name limited to these arrives identically however S3 and EventBridge deliver it."""
_MISSING_MARKERS = frozenset({"", "null"})
"""Values that mean "no version": an empty substitution, and S3's ``null`` version of objects
written while versioning was off (every such upload of a key shares it)."""


# --- the EventBridge rule ------------------------------------------------------------------------

INPUT_PATHS_MAP: dict[str, str] = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "version_id": "$.detail.object.version-id",
    "sequencer": "$.detail.object.sequencer",
    "event_id": "$.id",
    "event_time": "$.time",
}
"""Transformer variable → JSON path in the S3 "Object Created" event."""

QUOTED_VARIABLES = frozenset({"version_id", "sequencer"})
"""Placeholders written inside quotes in the template; every other one is written bare.

How EventBridge fills an InputTemplate (EventBridge User Guide, "Transforming target input":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html — the
"Simple JSON" and "JSON with strings and variables" examples and "Common issues"):

* a bare placeholder in a JSON template (``"key": <key>``) is replaced by the value *as JSON*: a
  string arrives quoted and escaped (``"i-0123456789"``), so any character in an S3 key survives;
* a placeholder inside quotes (``"state": "<state>"``) is replaced by the string's raw text, and
  "EventBridge doesn't escape values extracted by Input Path": a ``"`` or ``\\`` in the value would
  make the input invalid JSON and EventBridge would fail to start the execution;
* "If you specify a variable to match a JSON path that doesn't exist in the event, that variable
  isn't created": a bare placeholder for a missing path risks an invalid template, while a quoted
  one still yields a JSON string (empty, or the placeholder text itself).

So the key, bucket, event id and time (always present) are bare, and the version id and sequencer
(absent on unversioned buckets, and URL-safe tokens by definition) are quoted. ``ManifestUpload``
treats an empty or unsubstituted version as missing and falls back to the sequencer.
"""


def input_transformer() -> tuple[dict[str, str], str]:
    """The rule target's (InputPathsMap, InputTemplate): the execution input ``{"trigger": {…}}``."""
    fields = ", ".join(
        f'"{name}": "<{name}>"' if name in QUOTED_VARIABLES else f'"{name}": <{name}>'
        for name in INPUT_PATHS_MAP
    )
    return dict(INPUT_PATHS_MAP), f'{{"trigger": {{{fields}}}}}'


def event_pattern(data_bucket: str) -> dict[str, Any]:
    """The rule's pattern: a ``.manifest`` object created under ``incoming/`` in the data bucket."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {
            "bucket": {"name": [data_bucket]},
            "object": {"key": [{"wildcard": INCOMING_MANIFEST_PATTERN}]},
        },
    }


_PLACEHOLDER = re.compile(r'("?)<([A-Za-z0-9_.-]+)>("?)')


def _value_at(event: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def apply_input_transformer(event: Mapping[str, Any]) -> dict[str, Any]:
    """The execution input EventBridge builds from ``event`` (the rules in ``QUOTED_VARIABLES``).

    A model of EventBridge for tests and the offline stack, which starts executions itself. A
    missing path leaves a quoted placeholder empty; a missing path for a bare one is refused, since
    what EventBridge would send is not documented.
    """
    paths, template = input_transformer()

    def substitute(match: re.Match[str]) -> str:
        open_quote, name, close_quote = match.groups()
        found, value = _value_at(event, paths[name])
        if open_quote and close_quote:  # raw text, unescaped, as EventBridge does
            text = "" if not found else value if isinstance(value, str) else json.dumps(value)
            return f'"{text}"'
        if not found:
            raise ValueError(f"the event has no {paths[name]} for the bare placeholder <{name}>")
        return f"{open_quote}{json.dumps(value)}{close_quote}"

    rendered: dict[str, Any] = json.loads(_PLACEHOLDER.sub(substitute, template))
    return rendered


# --- the trigger payload -------------------------------------------------------------------------


class ManifestUpload(StrictModel):
    """``$.trigger`` of a triggered execution: which upload (object version) started it."""

    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    version_id: str | None = None
    sequencer: str | None = None
    event_id: str | None = None
    event_time: str | None = None

    @field_validator("version_id", "sequencer", mode="before")
    @classmethod
    def _absent_when_not_substituted(cls, value: Any) -> Any:
        if isinstance(value, str) and (value.strip() in _MISSING_MARKERS or re.fullmatch(r"<\w+>", value)):
            return None
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> ManifestUpload:
        if self.version_id is None and self.sequencer is None:
            raise ValueError(
                "needs version_id or sequencer to tell this upload apart from other uploads of the "
                "same key; start the job from the console instead"
            )
        return self

    @property
    def upload_id(self) -> str:
        """What tells two uploads of the same key apart: the S3 version, else the event sequencer."""
        return self.version_id if self.version_id is not None else f"sequencer:{self.sequencer}"

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)


# --- the key layout ------------------------------------------------------------------------------

_BATCH_CHARACTERS = "letters, digits, '.', '_', '-' and '/'"
_EXPECTED_SHAPE = (
    f"expected {INCOMING_PREFIX}<project>/<batch>{MANIFEST_SUFFIX} (<project>: "
    f"{PATTERN_MEANINGS['project']}; <batch>: {_BATCH_CHARACTERS})"
)


@dataclass(frozen=True)
class TriggeredManifest:
    """An uploaded manifest key, understood: the project its folder names."""

    project: str
    key: str


def parse_manifest_key(key: str, bucket: str) -> TriggeredManifest:
    """``incoming/<project>/<batch>.manifest`` → its project; else ``InvalidJobInput`` on ``trigger.key``."""
    project, _, batch = key.removeprefix(INCOMING_PREFIX).partition("/")
    if not key.startswith(INCOMING_PREFIX) or not project or not batch:
        raise InvalidJobInput(f"trigger.key: {_EXPECTED_SHAPE}; got {key!r}")
    try:
        PROJECT_NAME_SHAPE.validate_python(project)
    except ValidationError:
        raise InvalidJobInput(
            f"trigger.key: the folder after {INCOMING_PREFIX} names the project and must be "
            f"{PATTERN_MEANINGS['project']}; got {project!r} in {key!r}"
        ) from None
    if (reserved := reserved_project_problem(project)) is not None:
        raise InvalidJobInput(f"trigger.key: project: {reserved}")
    batch_name = batch.rpartition("/")[2]
    if not batch_name.endswith(MANIFEST_SUFFIX) or batch_name == MANIFEST_SUFFIX:
        raise InvalidJobInput(
            f"trigger.key: must name a <batch>{MANIFEST_SUFFIX} file; {_EXPECTED_SHAPE}; got {key!r}"
        )
    if not _BATCH_PATH.match(batch):
        raise InvalidJobInput(
            f"trigger.key: the batch name in {key!r} may use only {_BATCH_CHARACTERS} (they read the "
            "same whether or not S3 URL-encodes the key in its event); rename the file"
        )
    if {".", ".."} & set(batch.split("/")):
        raise InvalidJobInput(
            f"trigger.key: the batch path in {key!r} may not hold '.' or '..' segments (S3 keys are literal; "
            "a reader resolving them would see another folder); rename the file"
        )
    if len(s3_uri(bucket, key)) > MAX_MANIFEST_URI_LENGTH:
        raise InvalidJobInput(
            f"trigger.key: the manifest URI {s3_uri(bucket, key)} is longer than "
            f"{MAX_MANIFEST_URI_LENGTH} characters; use a shorter batch name"
        )
    return TriggeredManifest(project=project, key=key)


# --- the execution input -------------------------------------------------------------------------


def execution_input(job_input: JobInput) -> dict[str, Any]:
    """A JobInput as the LabelingJob execution input CreateJob reads (``parse_job_input`` accepts it)."""
    return job_input.model_dump(mode="json", exclude_none=False)
