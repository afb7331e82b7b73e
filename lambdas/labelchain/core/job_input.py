"""The LabelingJob execution input: one pydantic model, validated before anything is created.

Every rule that can be checked without AWS is checked here, against the API limits in
ground-truth-facts.md, so a bad input fails with a message naming the field and what is allowed.
Rules that need AWS (the manifest's content, the initial model) are checked by the create-job
service before its first SageMaker call. docs/INPUT.md documents every field with an example.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.prices import PriceOverrides
from labelchain.errors import InvalidJobInput

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
"""SageMaker's rule for job and label-attribute names (letters, digits, single or repeated hyphens)."""

S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+"
WORKTEAM_ARN_PATTERN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:workteam/(private-crowd|vendor-crowd)/.+"
MODEL_ARN_PATTERN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:model/.+"
PUBLIC_AVAILABILITY_MAX_SECONDS = 43_200
AVAILABILITY_MAX_SECONDS = 2_592_000
"""30 days: the API's maximum for private and vendor workforces (12 hours for the public one)."""
RESERVED_LABEL_ATTRIBUTES = frozenset({"source", "source-ref"})
RESERVED_TAG_PREFIXES = ("aws:", "labelchain:")
MAX_USER_TAGS = 40
CONTENT_CLASSIFIERS = ("FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent")

_Strict = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
Keyword = Annotated[
    str, StringConstraints(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9]+( [A-Za-z0-9]+)*$")
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def refuse_liquid_markup(text: str) -> str:
    """Text that lands in the worker template must not carry Liquid markup of its own."""
    if "{{" in text or "{%" in text:
        raise ValueError("must not contain Liquid template markup ('{{' or '{%')")
    return text


class WorkerInstructions(BaseModel):
    """What workers read: a short summary beside the task and the full instructions behind a link.

    Both are HTML placed in a Liquid template, so Liquid markup (``{{``, ``{%``) is refused: it would
    be evaluated by Ground Truth when it renders the task, not shown to the worker.
    """

    model_config = _Strict
    short: str = Field(min_length=1, max_length=2000)
    full: str = Field(min_length=1, max_length=20_000)

    @field_validator("short", "full")
    @classmethod
    def _no_liquid_markup_in(cls, text: str) -> str:
        return refuse_liquid_markup(text)


class TaskSpec(BaseModel):
    """What to label and how workers see it."""

    model_config = _Strict
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
        return refuse_liquid_markup(title)

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str]) -> list[str]:
        seen: set[str] = set()
        duplicates = sorted({label for label in labels if label in seen or seen.add(label)})  # type: ignore[func-returns-value]
        if duplicates:
            raise ValueError(f"labels must be unique; repeated: {', '.join(duplicates)}")
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


class PublicWorkforce(BaseModel):
    """Amazon Mechanical Turk: paid per task at one of the prices AWS allows for the task type."""

    model_config = _Strict
    kind: Literal["public"]
    price_per_task_usd: Decimal = Field(gt=0, le=Decimal("2.999"))
    workers_per_object: int = Field(ge=1, le=9)
    content_classifiers: list[Literal[CONTENT_CLASSIFIERS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(CONTENT_CLASSIFIERS)
    )

    @field_validator("content_classifiers")
    @classmethod
    def _pii_free(cls, classifiers: list[str]) -> list[str]:
        if "FreeOfPersonallyIdentifiableInformation" not in classifiers:
            raise ValueError(
                "a public workforce job fails unless the data is declared "
                "FreeOfPersonallyIdentifiableInformation; use a private workteam for personal data"
            )
        return classifiers


class TeamWorkforce(BaseModel):
    """A private workteam (your people) or a vendor workteam (a Marketplace vendor)."""

    model_config = _Strict
    kind: Literal["private", "vendor"]
    workteam_arn: str = Field(pattern=WORKTEAM_ARN_PATTERN, max_length=256)
    workers_per_object: int = Field(ge=1, le=9)

    @model_validator(mode="after")
    def _crowd_matches_kind(self) -> TeamWorkforce:
        if f"workteam/{self.kind}-crowd/" not in self.workteam_arn:
            raise ValueError(f"workteam_arn: a {self.kind} workforce needs a workteam/{self.kind}-crowd/ ARN")
        # The workteam's region is checked against the stack's region by CreateJob (it is deployment data).
        return self


Workforce = Annotated[PublicWorkforce | TeamWorkforce, Field(discriminator="kind")]


class JobModelReference(BaseModel):
    """Seed with the final model of an earlier LabelChain job, by job name."""

    model_config = _Strict
    job: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)


class ArnModelReference(BaseModel):
    """Seed with a model ARN (a FinalActiveLearningModelArn from any earlier job)."""

    model_config = _Strict
    arn: str = Field(min_length=20, max_length=2048, pattern=MODEL_ARN_PATTERN)


InitialModel = Literal["none", "latest"] | JobModelReference | ArnModelReference


class StoppingConditions(BaseModel):
    """Optional limits after which Ground Truth stops sending objects to people."""

    model_config = _Strict
    max_human_labeled_objects: int | None = Field(default=None, ge=1)
    max_percentage_labeled: int | None = Field(default=None, ge=1, le=100)


Tags = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.:/=+\-@ ]+$")],
    Annotated[str, StringConstraints(max_length=256, pattern=r"^[\w.:/=+\-@ ]*$")],
]


MAX_BUDGET_USD = Decimal("1000000")
"""A budget above a million dollars for one labeling job is a typo, not a limit."""


class JobInput(BaseModel):
    """The execution input of the LabelingJob state machine (see docs/INPUT.md)."""

    model_config = _Strict
    project: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9](-?[a-z0-9])*$")
    manifest: str = Field(pattern=S3_URI_PATTERN, max_length=1024)
    manifest_version: str | None = Field(
        default=None, min_length=1, max_length=1024, pattern=r"^[A-Za-z0-9._+/=-]+$"
    )
    """S3 version id of the manifest to label (the trigger sets it from its upload event). Unset: the
    version current when CreateJob validates the manifest. CreateJob labels exactly that version."""
    task: TaskSpec
    workforce: Workforce
    auto_labeling: bool = True
    initial_model: InitialModel = "none"
    when_no_model: Literal["fail", "start_fresh"] = "fail"
    advance_latest_model: bool = True
    """Whether this job's model may become the project's latest (the experiment's control job: no)."""
    stopping_conditions: StoppingConditions = Field(default_factory=StoppingConditions)
    task_time_limit_seconds: int = Field(default=300, ge=30)
    task_availability_lifetime_seconds: int = Field(default=21_600, ge=60, le=AVAILABILITY_MAX_SECONDS)
    max_concurrent_tasks: int = Field(default=1000, ge=1, le=5000)
    prices: PriceOverrides | None = None
    tags: Tags = Field(default_factory=dict)
    budget_usd: Decimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD, decimal_places=2)
    """Spend limit of this job: the reconciler warns at 80 % of it and stops the job at 100 %
    (``BudgetExceeded``). Unset: the project's default budget from cdk.json, if any."""

    @field_validator("budget_usd", mode="before")
    @classmethod
    def _budget_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal | None):
            raise ValueError('expected a number of US dollars, e.g. 250 or "250.00"')
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
            if not isinstance(value[key], str) or not re.match(pattern, value[key]):
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
        workforce = self.workforce
        if isinstance(workforce, PublicWorkforce):
            if self.task_availability_lifetime_seconds > PUBLIC_AVAILABILITY_MAX_SECONDS:
                raise ValueError(
                    f"task_availability_lifetime_seconds: at most {PUBLIC_AVAILABILITY_MAX_SECONDS} "
                    "(12 hours) for a public workforce"
                )
            if workforce.price_per_task_usd not in spec.public_prices_usd:
                allowed = ", ".join(f"{p}" for p in spec.public_prices_usd)
                raise ValueError(
                    f"workforce.price_per_task_usd: {workforce.price_per_task_usd} is not a public-workforce "
                    f"price for {spec.task_type.value}; allowed: {allowed}"
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
    "manifest": "an S3 URI of a manifest object, s3://<bucket>/<key>",
    "label_attribute": "letters, digits and hyphens, starting and ending with a letter or digit (max 127)",
    "job": "a labeling job name: letters, digits and hyphens, starting and ending with a letter or digit",
    "arn": "a SageMaker model ARN, arn:aws:sagemaker:<region>:<account>:model/<name>",
    "workteam_arn": "a private or vendor workteam ARN, arn:aws:sagemaker:<region>:<account>:workteam/"
    "private-crowd/<name> (or vendor-crowd/<name>)",
    "keywords": "1-30 letters or digits, words separated by single spaces",
    "tags": "tag keys and values of letters, digits, spaces and _ . : / = + - @",
    "title": "printable text (no control characters other than tab and newline)",
    "description": "one line of text (no line breaks)",
}


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [
        str(p)
        for p in loc
        if p not in ("public", "private", "vendor", "function-after[_crowd_matches_kind()]")
    ]
    parts = [
        p
        for p in parts
        if not p.startswith(("function-", "literal[", "JobModelReference", "ArnModelReference"))
    ]
    return ".".join(parts) or "input"


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's errors into one message of ``field: what is allowed`` lines."""
    lines = []
    for error in exc.errors(include_url=False):
        message = re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
        location = _location(error["loc"])
        if error["type"] == "string_pattern_mismatch":
            field = next((str(p) for p in reversed(error["loc"]) if str(p) in PATTERN_MEANINGS), "")
            message = f"expected {PATTERN_MEANINGS.get(field, 'a value matching ' + str(error.get('ctx')))}"
        if error["type"] == "extra_forbidden":
            message = "unknown field; remove it or check its spelling against docs/INPUT.md"
        if ":" in message.split(" ", 1)[0]:  # a model validator named its field, relative to loc
            lines.append(message if location == "input" else f"{location}.{message}")
        else:
            lines.append(f"{location}: {message}")
    return "; ".join(dict.fromkeys(lines))


def parse_job_input(raw: Any) -> JobInput:
    """Validate an execution input, raising ``InvalidJobInput`` that names every bad field."""
    if not isinstance(raw, dict):
        raise InvalidJobInput(f"input: expected a JSON object, got {type(raw).__name__}")
    try:
        return JobInput.model_validate(raw)
    except ValidationError as exc:
        raise InvalidJobInput(describe_validation_error(exc)) from exc
