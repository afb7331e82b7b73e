"""The LabelingJob execution input: one pydantic model, validated before anything is created.

Every rule that can be checked without AWS is checked here, against the API limits in
docs/GROUND_TRUTH.md ("The request, field by field", "Quotas and limits"), so a bad input fails with a
message naming the field and what is allowed.
Rules that need AWS (the manifest's content, the initial model) are checked by the create-job
service before its first SageMaker call. docs/INPUT.md documents every field with an example.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from labelchain.core.arns import (
    MODEL_ARN_PATTERN,
    PRIVATE_WORKTEAM_ARN_PATTERN,
    VENDOR_WORKTEAM_ARN_PATTERN,
)
from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.instructions_html import refuse_unsafe_html
from labelchain.core.models import StrictModel
from labelchain.core.prices import PriceOverrides
from labelchain.core.s3_layout import reserved_project_problem
from labelchain.core.strict_input import (
    StrictDecimal,
    label_identity,
    normalised_label,
    refuse_hidden_characters,
)
from labelchain.core.validation import Wording
from labelchain.core.validation import describe_validation_error as describe_errors
from labelchain.errors import InvalidJobInput

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
"""SageMaker's rule for job and label-attribute names (letters, digits, single or repeated hyphens)."""

S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\x00-\x1f\x7f]+$"
"""Anchored: no line breaks or control characters in the key, nothing after it."""
AVAILABILITY_MAX_SECONDS = 2_592_000
"""30 days: TaskAvailabilityLifetimeInSeconds' maximum for private and vendor workforces (API reference,
HumanTaskConfig: "For most users, the maximum is also 30 days")."""
TASK_TIME_LIMIT_MAX_SECONDS = 28_800
"""8 hours: TaskTimeLimitInSeconds' maximum for image and text tasks (the catalog holds it per type)."""
MAX_HUMAN_LABELED_OBJECTS = 1_000_000
"""LabelChain's bound for ``max_human_labeled_objects``: 10 x AWS's default dataset quota (100,000)."""
MAX_VENDOR_PRICE_PER_OBJECT_USD = Decimal("100")
"""LabelChain's bound for a vendor's price per object: a larger one is a typo (cents vs dollars)."""
MECHANICAL_TURK_CLOSED = (
    "kind 'public' is no longer possible: Amazon Mechanical Turk, Ground Truth's public workforce, "
    "closed permanently on 2026-09-30. Use a private work team "
    '{"kind": "private", "workteam_arn": '
    '"arn:aws:sagemaker:<region>:<account>:workteam/private-crowd/<name>", '
    '"workers_per_object": N} or a vendor work team {"kind": "vendor", "workteam_arn": '
    '"arn:aws:sagemaker:<region>:<vendor account>:workteam/vendor-crowd/<name>", "workers_per_object": N, '
    '"price_per_object_usd": "<the vendor\'s price>"} (docs/INPUT.md, workforce)'
)
RESERVED_LABEL_ATTRIBUTES = frozenset({"source", "source-ref"})
RESERVED_TAG_PREFIXES = ("aws:", "labelchain:")
MAX_USER_TAGS = 40
CONTENT_CLASSIFIERS = ("FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent")


class _JobInputPart(StrictModel):
    """A part of the job input: strict, and surrounding whitespace of every string is stripped."""

    model_config = ConfigDict(str_strip_whitespace=True)


Keyword = Annotated[
    str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9]+( [A-Za-z0-9]+)*$")
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(normalised_label)]
"""NFC-normalised, without control, bidirectional or zero-width characters (core/strict_input.py)."""


def _not_reserved(project: str) -> str:
    if (reserved := reserved_project_problem(project)) is not None:
        raise ValueError(reserved)
    return project


ProjectNameShape = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9](-?[a-z0-9])*$")
]
"""What a project name looks like (it is a key segment in S3 and in the table)."""
PROJECT_NAME_SHAPE: TypeAdapter[str] = TypeAdapter(ProjectNameShape)
"""Checks the shape alone, for callers that word their own message (trigger keys, project settings) and
check the reserved names after it."""
ProjectName = Annotated[ProjectNameShape, AfterValidator(_not_reserved)]
"""A project name that is not reserved (``core.s3_layout.RESERVED_PROJECT_NAMES``): one rule for the job
input, the experiment input and project settings."""


def refuse_liquid_markup(text: str) -> str:
    """Text that lands in the worker template must not carry Liquid markup of its own (also when
    written as character references, ``&#123;&#123;``, which an HTML parser turns back into braces)."""
    decoded = html.unescape(text)
    if "{{" in decoded or "{%" in decoded:
        raise ValueError("must not contain Liquid template markup ('{{' or '{%')")
    return text


class WorkerInstructions(_JobInputPart):
    """What workers read: a short summary beside the task and the full instructions behind a link.

    Both are HTML placed in a Liquid template, so Liquid markup (``{{``, ``{%``) is refused: it would
    be evaluated by Ground Truth when it renders the task, not shown to the worker.
    """

    short: str = Field(min_length=1, max_length=2000)
    full: str = Field(min_length=1, max_length=20_000)

    @field_validator("short", "full")
    @classmethod
    def _safe_html(cls, text: str) -> str:
        refuse_hidden_characters(refuse_liquid_markup(text), multiline=True)
        # What the worker's browser shows is the text with character references resolved: `&#x202e;` is
        # the bidi override itself, so hidden characters are refused in that form too.
        refuse_hidden_characters(html.unescape(text), multiline=True)
        return refuse_unsafe_html(text)


class TaskSpec(_JobInputPart):
    """What to label and how workers see it."""

    type: TaskType
    labels: list[Label] = Field(min_length=1)
    label_attribute: str = Field(min_length=1, max_length=127, pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=128, pattern=r"^[\t\n\r\u0020-\ud7ff\ue000-\ufffd]+$")
    description: str = Field(min_length=1, max_length=255, pattern=r"^[^\n\r\u0085\u2028\u2029]+$")
    keywords: list[Keyword] = Field(min_length=1, max_length=5)
    instructions: WorkerInstructions

    @field_validator("title")
    @classmethod
    def _title_is_plain(cls, title: str) -> str:
        return refuse_hidden_characters(refuse_liquid_markup(title), multiline=True)

    @field_validator("description")
    @classmethod
    def _description_is_plain(cls, description: str) -> str:
        return refuse_hidden_characters(description)

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str]) -> list[str]:
        first_of: dict[str, str] = {}
        repeated: list[str] = []
        for label in labels:
            identity = label_identity(label)
            if identity in first_of:
                same = first_of[identity]
                repeated.append(label if label == same else f"{label!r} (same as {same!r})")
            else:
                first_of[identity] = label
        if repeated:
            raise ValueError(
                "labels must be unique, ignoring letter case, width and spacing; repeated: "
                + ", ".join(dict.fromkeys(repeated))
            )
        return labels

    @model_validator(mode="after")
    def _type_rules(self) -> TaskSpec:
        spec = spec_for(self.type)
        if not spec.min_labels <= len(self.labels) <= spec.max_labels:
            raise ValueError(
                f"labels: {self.type.value} needs {spec.min_labels} to {spec.max_labels} labels, "
                f"got {len(self.labels)}"
            )
        attribute = self.label_attribute
        if attribute in RESERVED_LABEL_ATTRIBUTES:
            raise ValueError(f"label_attribute: {attribute!r} is reserved (source, source-ref)")
        if attribute.endswith("-metadata"):
            raise ValueError("label_attribute: must not end in '-metadata'")
        if spec.label_attribute_must_end_with_ref != attribute.endswith("-ref"):
            rule = "must" if spec.label_attribute_must_end_with_ref else "must not"
            raise ValueError(f"label_attribute: {rule} end in '-ref' for {self.type.value}")
        return self


class PrivateWorkforce(_JobInputPart):
    """A private work team: your own people (their labor is your cost; no per-object price)."""

    kind: Literal["private"]
    workteam_arn: str = Field(pattern=PRIVATE_WORKTEAM_ARN_PATTERN, max_length=256)
    workers_per_object: StrictInt = Field(ge=1, le=9)


class VendorWorkforce(_JobInputPart):
    """A vendor work team from AWS Marketplace, paid the vendor's price per human-labeled object."""

    kind: Literal["vendor"]
    workteam_arn: str = Field(pattern=VENDOR_WORKTEAM_ARN_PATTERN, max_length=256)
    workers_per_object: StrictInt = Field(ge=1, le=9)
    price_per_object_usd: StrictDecimal = Field(gt=0, le=MAX_VENDOR_PRICE_PER_OBJECT_USD, decimal_places=4)
    """What the vendor charges per object people labeled (their listing or contract); Ground Truth's
    own per-object fee comes on top."""


TeamWorkforce = PrivateWorkforce | VendorWorkforce
Workforce = Annotated[TeamWorkforce, Field(discriminator="kind")]


class JobModelReference(_JobInputPart):
    """Seed with the final model of an earlier LabelChain job, by job name."""

    job: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)


class ArnModelReference(_JobInputPart):
    """Seed with a model ARN (a FinalActiveLearningModelArn from any earlier job)."""

    arn: str = Field(min_length=20, max_length=2048, pattern=MODEL_ARN_PATTERN)


InitialModel = Literal["none", "latest"] | JobModelReference | ArnModelReference


class StoppingConditions(_JobInputPart):
    """Optional limits after which Ground Truth stops sending objects to people."""

    max_human_labeled_objects: StrictInt | None = Field(default=None, ge=1, le=MAX_HUMAN_LABELED_OBJECTS)
    max_percentage_labeled: StrictInt | None = Field(default=None, ge=1, le=100)


Tags = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:/=+\-@ ]+$")],
    Annotated[str, StringConstraints(max_length=256, pattern=r"^[\w.:/=+\-@ ]*$")],
]


MAX_BUDGET_USD = Decimal("1000000")
"""A budget above a million dollars for one labeling job is a typo, not a limit."""


class JobInput(_JobInputPart):
    """The execution input of the LabelingJob state machine (see docs/INPUT.md)."""

    project: ProjectName
    manifest: str = Field(pattern=S3_URI_PATTERN, max_length=1024)
    manifest_version: str | None = Field(
        default=None, min_length=1, max_length=1024, pattern=r"^[A-Za-z0-9._+/=-]+$"
    )
    """S3 version id of the manifest to label (the trigger sets it from its upload event). Unset: the
    version current when CreateJob validates the manifest. CreateJob labels exactly that version."""
    task: TaskSpec
    workforce: Workforce
    auto_labeling: StrictBool = True
    initial_model: InitialModel = "none"
    when_no_model: Literal["fail", "start_fresh"] = "fail"
    advance_latest_model: StrictBool = True
    """Whether this job's model may become the project's latest (the experiment's control job: no)."""
    stopping_conditions: StoppingConditions = Field(default_factory=StoppingConditions)
    task_time_limit_seconds: StrictInt = Field(default=300, ge=30, le=TASK_TIME_LIMIT_MAX_SECONDS)
    task_availability_lifetime_seconds: StrictInt = Field(default=21_600, ge=60, le=AVAILABILITY_MAX_SECONDS)
    max_concurrent_tasks: StrictInt = Field(default=1000, ge=1, le=5000)
    prices: PriceOverrides | None = None
    tags: Tags = Field(default_factory=dict)
    budget_usd: StrictDecimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD, decimal_places=2)
    """Spend limit of this job: the reconciler warns at 80 % of it and stops the job at 100 %
    (``BudgetExceeded``). Unset: the project's default budget from cdk.json, if any."""

    @field_validator("workforce", mode="before")
    @classmethod
    def _no_public_workforce(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("kind") == "public":
            raise ValueError(MECHANICAL_TURK_CLOSED)
        return value

    @field_validator("initial_model", mode="before")
    @classmethod
    def _initial_model_shape(cls, value: Any) -> Any:
        allowed = "'none', 'latest', {\"job\": <job name>} or {\"arn\": <model ARN>}"
        if isinstance(value, str) and value not in ("none", "latest"):
            raise ValueError(f"expected {allowed}, got {value!r}")
        if isinstance(value, dict):
            if set(value) not in ({"job"}, {"arn"}):
                raise ValueError(f"expected {allowed}, got an object with keys {sorted(value)}")
            key, pattern = ("job", NAME_PATTERN) if "job" in value else ("arn", MODEL_ARN_PATTERN)
            if not isinstance(value[key], str) or not re.fullmatch(pattern.strip("^$"), value[key].strip()):
                raise ValueError(f"{key}: expected {PATTERN_MEANINGS[key]}, got {value[key]!r}")
        if not isinstance(value, str | dict | BaseModel):
            raise ValueError(f"expected {allowed}")
        return value

    @field_validator("manifest")
    @classmethod
    def _manifest_suffix(cls, value: str) -> str:
        if value.endswith("/"):
            raise ValueError("must name a manifest object, not a prefix (got a trailing '/')")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_allowed(cls, tags: dict[str, str]) -> dict[str, str]:
        if len(tags) > MAX_USER_TAGS:
            raise ValueError(f"at most {MAX_USER_TAGS} tags (LabelChain adds its own, SageMaker allows 50)")
        reserved = sorted(k for k in tags if k.lower().startswith(RESERVED_TAG_PREFIXES))
        if reserved:
            raise ValueError(f"keys starting with aws: or labelchain: are reserved: {', '.join(reserved)}")
        return tags

    @model_validator(mode="after")
    def _cross_field_rules(self) -> JobInput:
        spec = spec_for(self.task.type)
        if self.task_time_limit_seconds > spec.max_task_time_limit_seconds:
            raise ValueError(
                f"task_time_limit_seconds: at most {spec.max_task_time_limit_seconds} "
                f"for {spec.task_type.value}"
            )
        if self.auto_labeling and len(self.task.labels) > spec.max_labels_with_auto_labeling:
            raise ValueError(
                f"task.labels: {spec.task_type.value} with automated data labeling takes at most "
                f"{spec.max_labels_with_auto_labeling} labels (AWS's label-category quota), "
                f"got {len(self.task.labels)}"
            )
        if self.auto_labeling and not spec.supports_auto_labeling:
            raise ValueError(
                f"auto_labeling: {spec.task_type.value} does not support automated data labeling"
            )
        if not self.auto_labeling and self.initial_model != "none":
            raise ValueError("initial_model: a model can only seed a job with auto_labeling on")
        if self.task_time_limit_seconds > self.task_availability_lifetime_seconds:
            raise ValueError(
                "task_time_limit_seconds: must not exceed task_availability_lifetime_seconds "
                f"({self.task_availability_lifetime_seconds})"
            )
        return self


PATTERN_MEANINGS: dict[str, str] = {
    "project": "1-40 lowercase letters, digits and single hyphens, "
    "starting and ending with a letter or digit",
    "manifest": "an S3 URI of a manifest object, s3://<bucket>/<key>, on one line",
    "label_attribute": "letters, digits and hyphens, starting and ending with a letter or digit (max 127)",
    "job": "a labeling job name: letters, digits and hyphens, starting and ending with a letter or digit",
    "arn": "a SageMaker model ARN, arn:aws:sagemaker:<region>:<12-digit account>:model/<name>, "
    "<name> 1-63 letters, digits and hyphens",
    "workteam_arn": "a work team ARN, arn:aws:sagemaker:<region>:<12-digit account>:workteam/"
    "private-crowd/<name> for kind private or .../workteam/vendor-crowd/<name> for kind vendor, "
    "<name> 1-63 letters, digits and hyphens, nothing after it",
    "keywords": "1-30 letters or digits, words separated by single spaces",
    "tags": "tag keys and values of letters, digits, spaces and _ . : / = + - @",
    "title": "printable text (no control characters other than tab and newline)",
    "description": "one line of text (no line breaks)",
}


STRICT_TYPE_MESSAGES: dict[str, str] = {
    "int_type": 'expected a whole number such as 3 (not true/false, 3.0 or "3")',
    "bool_type": 'expected true or false (not "true", 1 or 0)',
}


REQUIRED_MEANINGS: dict[str, str] = {
    "price_per_object_usd": "required for a vendor work team: the vendor's price per labeled object "
    '(its AWS Marketplace listing or your contract), e.g. "0.06"',
}


JOB_INPUT_WORDING = Wording(
    union_tags=frozenset({"public", "private", "vendor", "JobModelReference", "ArnModelReference"}),
    patterns=PATTERN_MEANINGS,
    types=STRICT_TYPE_MESSAGES,
    required=REQUIRED_MEANINGS,
    unknown_field="unknown field; remove it or check its spelling against docs/INPUT.md",
)
"""How an execution input's errors are worded (docs/INPUT.md quotes these messages)."""


def describe_validation_error(exc: ValidationError, *, prefix: tuple[int | str, ...] = ()) -> str:
    """Pydantic's errors of a job input (or a part of one, placed under ``prefix``) as one message of
    ``field: what is allowed`` lines."""
    return describe_errors(exc, JOB_INPUT_WORDING, prefix=prefix)


def parse_job_input(raw: Any) -> JobInput:
    """Validate an execution input, raising ``InvalidJobInput`` that names every bad field."""
    if not isinstance(raw, dict):
        raise InvalidJobInput(f"input: expected a JSON object, got {type(raw).__name__}")
    try:
        return JobInput.model_validate(raw)
    except ValidationError as exc:
        raise InvalidJobInput(describe_validation_error(exc)) from exc
