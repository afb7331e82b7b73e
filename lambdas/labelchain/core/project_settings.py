"""Project settings: what every triggered job of a project uses, and the ceilings no input may exceed.

Settings are operator data, not batch data: they live in the table (one item per project, written only
by ``labelchain project-settings put``), never next to the batches under ``incoming/``, so whoever may
upload batches cannot change the workforce, the price or the worker instructions (docs/TRIGGERS.md).

A settings document is one JSON object: every LabelingJob input field except the ones the trigger sets
(``TRIGGER_OWNED_FIELDS``), validated exactly like console input, plus an optional ``ceilings`` object.
Its ``budget_usd`` is the project's default budget. Pure: the store reads and writes the item, the CLI
and ResolveTrigger parse it here.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, StrictInt, TypeAdapter, ValidationError, field_validator

from labelchain.core.job_input import (
    MAX_BUDGET_USD,
    PATTERN_MEANINGS,
    PROJECT_NAME_SHAPE,
    JobInput,
    describe_validation_error,
    parse_job_input,
)
from labelchain.core.models import FrozenModel, StrictModel
from labelchain.core.prices import MAX_USD_AMOUNT, PriceOverrides
from labelchain.core.s3_layout import reserved_project_problem
from labelchain.core.strict_json import DuplicateKeyError, NotStrictJson, loads_strict
from labelchain.errors import InvalidJobInput

SETTINGS_DOC = "docs/TRIGGERS.md"
MAX_PROJECT_SETTINGS_BYTES = 256 * 1024
"""A settings document holds a few KiB; anything far larger is a mistake (and a DynamoDB item holds
at most 400 KB)."""
CEILINGS_FIELD = "ceilings"
TRIGGERED_INITIAL_MODEL = "latest"
TRIGGERED_WHEN_NO_MODEL = "start_fresh"
TRIGGER_OWNED_FIELDS = ("project", "manifest", "manifest_version", "initial_model", "when_no_model")
"""JobInput fields a triggered job takes from its upload, never from the settings."""
SAMPLE_MANIFEST_URI = "s3://settings-check/incoming/project/batch.manifest"
"""Stands in for the upload when a settings document is checked on its own (``put``): never stored."""


_AUTO_LABELING: TypeAdapter[bool] = TypeAdapter(bool)


class ProjectCeilings(StrictModel):
    """Limits every job of the project must stay within, triggered or started from the console."""

    max_workers_per_object: StrictInt | None = Field(default=None, ge=1, le=9)
    max_price_per_object_usd: Decimal | None = Field(default=None, gt=0, le=MAX_USD_AMOUNT, decimal_places=4)
    """Bounds a vendor workforce's ``price_per_object_usd`` (a private team has no per-object price)."""
    max_budget_usd: Decimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD, decimal_places=2)
    """Bounds a job's ``budget_usd``; a job without one gets the project's (or the deployment's) default,
    capped here, so no job of the project runs unbounded."""

    @field_validator("max_price_per_object_usd", "max_budget_usd", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal | None):
            raise ValueError('expected a number of US dollars, e.g. 250 or "0.50"')
        return value


class ProjectSettings(FrozenModel):
    """A project's validated settings: the job fields (as written) and the ceilings."""

    project: str
    job_fields: dict[str, Any]
    """Every LabelingJob input field the settings set (the trigger adds the upload's fields)."""
    ceilings: ProjectCeilings = Field(default_factory=ProjectCeilings)

    @property
    def default_budget_usd(self) -> Decimal | None:
        """The settings' ``budget_usd``: the budget of a job of the project whose input sets none."""
        value = self.job_fields.get("budget_usd")
        return None if value is None else Decimal(str(value))


class ProjectSettingsRecord(FrozenModel):
    """The table item (``core.records.project_settings_key``): the document as the operator wrote it,
    and who, when."""

    project: str
    document: str
    """The settings JSON text, exactly as validated (``show`` prints it back)."""
    sha256: str
    version: int = Field(ge=1)
    """1 for the first write; every ``put`` adds one, conditionally on the version it read."""
    updated_by: str
    """The caller identity (STS ARN) that wrote this version."""
    updated_at: datetime


def settings_record(
    project: str, document: str, *, previous_version: int, updated_by: str, at: datetime
) -> ProjectSettingsRecord:
    """The next version of a project's settings item (``previous_version`` 0: none yet)."""
    return ProjectSettingsRecord(
        project=project,
        document=document,
        sha256=hashlib.sha256(document.encode()).hexdigest(),
        version=previous_version + 1,
        updated_by=updated_by,
        updated_at=at,
    )


# --- reading a settings document ------------------------------------------------------------------


def _where(project: str) -> str:
    return f"project settings of {project!r}"


def check_project_name(project: str) -> str:
    """``project`` if it follows JobInput's project rule and is not reserved; else ``InvalidJobInput``."""
    try:
        checked = PROJECT_NAME_SHAPE.validate_python(project)
    except ValidationError:
        raise InvalidJobInput(f"project: expected {PATTERN_MEANINGS['project']}, got {project!r}") from None
    if (reserved := reserved_project_problem(checked)) is not None:
        raise InvalidJobInput(f"project: {reserved}")
    return checked


def _non_finite_in(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_non_finite_in(item) for item in value.values())
    if isinstance(value, list):
        return any(_non_finite_in(item) for item in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, Decimal) and not value.is_finite()


def load_settings_document(data: bytes | str, project: str) -> dict[str, Any]:
    """The JSON object of a settings document: size, UTF-8, strict JSON (no repeated key, no NaN).

    Numbers with a fraction are read as ``Decimal`` (money is never a binary float)."""
    where = _where(project)
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_PROJECT_SETTINGS_BYTES:
        raise InvalidJobInput(
            f"{where}: larger than {MAX_PROJECT_SETTINGS_BYTES // 1024} KiB; they hold only the job "
            f"settings (see {SETTINGS_DOC})"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidJobInput(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        document = loads_strict(text, document=where, parse_float=Decimal)
    except DuplicateKeyError as exc:
        raise InvalidJobInput(str(exc)) from None
    except NotStrictJson:
        raise InvalidJobInput(f"{where}: not valid JSON (NaN and Infinity are not JSON numbers)") from None
    except json.JSONDecodeError as exc:
        raise InvalidJobInput(
            f"{where}: not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno})"
        ) from None
    if _non_finite_in(document):
        raise InvalidJobInput(f"{where}: not valid JSON (NaN and Infinity are not JSON numbers)")
    if not isinstance(document, dict):
        raise InvalidJobInput(
            f"{where}: expected a JSON object of job settings, got {type(document).__name__}; "
            f"see {SETTINGS_DOC}"
        )
    return document


def parse_project_settings(data: bytes | str, project: str) -> ProjectSettings:
    """Validate a settings document as it will be used: its job fields form a valid LabelingJob input
    for a sample upload (console rules, plus the trigger's), and that input is within its own ceilings.

    ``InvalidJobInput`` names the field; messages start with ``project settings of '<project>':``.
    """
    check_project_name(project)
    document = load_settings_document(data, project)
    raw_ceilings = document.pop(CEILINGS_FIELD, None)
    if raw_ceilings is not None and not isinstance(raw_ceilings, dict):
        raise InvalidJobInput(
            f"{_where(project)}: {CEILINGS_FIELD}: expected a JSON object such as "
            f'{{"max_workers_per_object": 3}}, got {type(raw_ceilings).__name__}'
        )
    try:
        ceilings = ProjectCeilings.model_validate(raw_ceilings or {})
    except ValidationError as exc:
        problems = describe_validation_error(exc, prefix=(CEILINGS_FIELD,))
        raise InvalidJobInput(f"{_where(project)}: {problems}") from None
    settings = ProjectSettings(project=project, job_fields=document, ceilings=ceilings)
    job_input_for_upload(settings, SAMPLE_MANIFEST_URI, None)
    return settings


def settings_of(record: ProjectSettingsRecord | None) -> ProjectSettings | None:
    """The stored settings, validated under today's rules (None: the project has none)."""
    return None if record is None else parse_project_settings(record.document, record.project)


# --- settings → a job input, and the ceilings --------------------------------------------------------


def job_input_for_upload(
    settings: ProjectSettings, manifest_uri: str, manifest_version: str | None
) -> JobInput:
    """The execution input of one upload: the settings plus what the trigger decides, validated by
    ``parse_job_input`` exactly like console input, then held to the project's ceilings."""
    where = _where(settings.project)
    fields = settings.job_fields
    owned = [name for name in TRIGGER_OWNED_FIELDS if name in fields]
    if owned:
        raise InvalidJobInput(
            f"{where}: {', '.join(owned)}: set by the trigger, not by the settings (the project is the "
            f"folder name, the manifest and its version are the uploaded file, initial_model is "
            f"{TRIGGERED_INITIAL_MODEL!r} and when_no_model is {TRIGGERED_WHEN_NO_MODEL!r}); remove "
            f"{'it' if len(owned) == 1 else 'them'}"
        )
    if "auto_labeling" in fields and not _auto_labeling_on(fields["auto_labeling"]):
        raise InvalidJobInput(
            f"{where}: auto_labeling: triggered jobs start from the project's latest model, which needs "
            "auto_labeling on; remove auto_labeling or set it to true (start jobs without auto-labeling "
            "from the console)"
        )
    raw = {
        **fields,
        "project": settings.project,
        "manifest": manifest_uri,
        "manifest_version": manifest_version,
        "initial_model": TRIGGERED_INITIAL_MODEL,
        "when_no_model": TRIGGERED_WHEN_NO_MODEL,
    }
    try:
        job_input = parse_job_input(raw)
        check_ceilings(job_input, settings)  # the stored settings themselves above their own ceilings
    except InvalidJobInput as exc:
        raise InvalidJobInput(f"{where}: {exc}") from exc
    return job_input


def _auto_labeling_on(value: Any) -> bool:
    try:
        return _AUTO_LABELING.validate_python(value)
    except ValidationError:
        return True  # not a boolean: parse_job_input reports it in the console's words


def check_ceilings(job_input: JobInput, project_settings: ProjectSettings) -> None:
    """``InvalidJobInput`` naming the field, the ceiling and the project when ``job_input`` exceeds one
    of the project's ceilings; the same check for triggered and console inputs."""
    ceilings = project_settings.ceilings
    project = project_settings.project
    problems: list[str] = []

    def exceeds(field: str, value: Any, ceiling_name: str, ceiling: Any) -> None:
        problems.append(
            f"{field}: {value} exceeds the ceiling {CEILINGS_FIELD}.{ceiling_name} = {ceiling} of project "
            f"{project!r}"
        )

    workforce = job_input.workforce
    workers = ceilings.max_workers_per_object
    if workers is not None and workforce.workers_per_object > workers:
        exceeds(
            "workforce.workers_per_object", workforce.workers_per_object, "max_workers_per_object", workers
        )
    price = ceilings.max_price_per_object_usd
    price_per_object: Decimal | None = getattr(workforce, "price_per_object_usd", None)
    if price is not None and price_per_object is not None and price_per_object > price:
        exceeds("workforce.price_per_object_usd", price_per_object, "max_price_per_object_usd", price)
    budget = ceilings.max_budget_usd
    if budget is not None and job_input.budget_usd is not None and job_input.budget_usd > budget:
        exceeds("budget_usd", job_input.budget_usd, "max_budget_usd", budget)
    problems.extend(_prices_below_the_projects(job_input, project_settings))
    if problems:
        raise InvalidJobInput(
            "; ".join(problems) + f" (the operator sets ceilings with `labelchain project-settings put "
            f"{project}`; see {SETTINGS_DOC})"
        )


def project_prices(project_settings: ProjectSettings | None) -> PriceOverrides | None:
    """The prices the project's settings declare (None: none), which an input may raise but not lower."""
    raw = project_settings.job_fields.get("prices") if project_settings is not None else None
    return None if raw is None else PriceOverrides.model_validate(raw)


def _prices_below_the_projects(job_input: JobInput, project_settings: ProjectSettings) -> list[str]:
    """Spend, and so every budget, is measured with the declared prices: an input that declared a lower
    object fee, labor rate or vendor price than its project's settings would run past its budget unseen.
    The settings' prices are therefore floors."""
    project = project_settings.project
    floors = project_prices(project_settings)
    problems = []
    if floors is not None and job_input.prices is not None:
        for name in PriceOverrides.model_fields:
            floor, declared = getattr(floors, name), getattr(job_input.prices, name)
            if floor is not None and declared is not None and declared < floor:
                problems.append(
                    f"prices.{name}: {declared} is below project {project!r}'s {floor} (the project's prices "
                    "are floors: spend and budgets are measured with them)"
                )
    team = project_settings.job_fields.get("workforce")
    floor_price = team.get("price_per_object_usd") if isinstance(team, dict) else None
    declared_price: Decimal | None = getattr(job_input.workforce, "price_per_object_usd", None)
    if floor_price is not None and declared_price is not None and declared_price < Decimal(str(floor_price)):
        problems.append(
            f"workforce.price_per_object_usd: {declared_price} is below project {project!r}'s {floor_price} "
            "(the vendor's price in the project's settings is a floor)"
        )
    return problems


def budget_for(
    job_input: JobInput, project_settings: ProjectSettings | None, deployment_default: Decimal | None
) -> Decimal | None:
    """A job's spend limit: its own ``budget_usd``, else the project settings' ``budget_usd``, else the
    deployment's default (cdk.json ``project_budgets``), never above the project's ``max_budget_usd``
    (which is the budget when nothing else sets one). None: no budget."""
    ceiling = project_settings.ceilings.max_budget_usd if project_settings is not None else None
    for candidate in (
        job_input.budget_usd,
        project_settings.default_budget_usd if project_settings is not None else None,
        deployment_default,
    ):
        if candidate is not None:
            return candidate if ceiling is None else min(candidate, ceiling)
    return ceiling
