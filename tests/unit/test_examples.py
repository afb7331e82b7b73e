"""The example inputs are valid, and docs/INPUT.md documents exactly the fields of ``JobInput``.

The field reference is checked against the model in both directions (every ``### `path` `` heading is
a real field, every field has a heading), so adding, renaming or removing a field fails here until the
page follows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from labelchain import errors
from labelchain.core.catalog import CATALOG, TaskType
from labelchain.core.job_input import (
    JobInput,
    JobModelReference,
    PrivateWorkforce,
    VendorWorkforce,
    parse_job_input,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
INPUT_DOC = ROOT / "docs" / "INPUT.md"
MANIFEST_PLACEHOLDER = "s3://replace-with-data-bucket-name/"
EXAMPLE_ACCOUNT_AND_REGION = ":us-east-1:123456789012:"

FIELD_HEADING = re.compile(r"^#{2,4} `([a-z_.]+)`\s*$", re.MULTILINE)
ERROR_HEADING = re.compile(r"^#{2,4} `([A-Z][A-Za-z]+)`\s*$", re.MULTILINE)
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.MULTILINE | re.DOTALL)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def job_input_examples() -> list[Path]:
    """Every example that is an execution input (other example files, e.g. settings, have no task)."""
    examples = sorted(EXAMPLES_DIR.glob("*.json"))
    return [path for path in examples if {"task", "manifest"} <= set(load_json(path))]


def nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models inside an annotation (through unions, Annotated, lists, optionals)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in get_args(annotation):
        yield from nested_models(argument)


def model_field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of every field, recursively: ``task.instructions.short``, ``workforce.kind``, …"""
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        for nested in nested_models(field.annotation):
            paths |= model_field_paths(nested, f"{path}.")
    return paths


MODEL_PATHS = model_field_paths(JobInput)


def json_key_paths(value: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted key paths of a JSON fragment, descending only into values that are nested models."""
    for key, child in value.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(child, dict) and any(p.startswith(f"{path}.") for p in MODEL_PATHS):
            yield from json_key_paths(child, f"{path}.")


@pytest.fixture(scope="module")
def input_doc() -> str:
    return INPUT_DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bird() -> JobInput:
    return parse_job_input(load_json(EXAMPLES_DIR / "bird-bounding-box.json"))


# --- the example files ------------------------------------------------------------------------


def test_the_expected_examples_exist() -> None:
    names = {path.name for path in job_input_examples()}

    assert {
        "bird-bounding-box.json",
        "bird-bounding-box-chained.json",
        "bird-bounding-box-from-job.json",
        "image-classification-private.json",
        "text-classification-vendor.json",
    } <= names


@pytest.mark.parametrize("path", job_input_examples(), ids=lambda path: path.name)
def test_every_example_input_parses(path: Path) -> None:
    job_input = parse_job_input(load_json(path))

    assert job_input.project


@pytest.mark.parametrize("path", job_input_examples(), ids=lambda path: path.name)
def test_every_example_puts_its_manifest_in_the_placeholder_data_bucket(path: Path) -> None:
    job_input = parse_job_input(load_json(path))

    assert job_input.manifest.startswith(MANIFEST_PLACEHOLDER)


def test_every_example_uses_a_private_team_in_the_example_account_or_a_vendor_team() -> None:
    workforces = [parse_job_input(load_json(path)).workforce for path in job_input_examples()]

    private = [w.workteam_arn for w in workforces if isinstance(w, PrivateWorkforce)]
    vendor = [w for w in workforces if isinstance(w, VendorWorkforce)]

    assert private
    assert vendor
    assert all(EXAMPLE_ACCOUNT_AND_REGION in arn for arn in private), private
    assert all(":us-east-1:" in w.workteam_arn and w.price_per_object_usd > 0 for w in vendor)
    assert all(EXAMPLE_ACCOUNT_AND_REGION not in w.workteam_arn for w in vendor)  # the vendor's account


def test_bird_example_is_the_tutorial_job(bird: JobInput) -> None:
    assert bird.task.type is TaskType.BOUNDING_BOX
    assert bird.task.label_attribute == "category"
    assert bird.auto_labeling is True
    assert bird.initial_model == "none"
    assert isinstance(bird.workforce, PrivateWorkforce)  # Mechanical Turk, the tutorial's, closed in 2026
    assert bird.workforce.workers_per_object == 3


def test_chained_bird_example_seeds_the_same_job_with_the_latest_model(bird: JobInput) -> None:
    chained = parse_job_input(load_json(EXAMPLES_DIR / "bird-bounding-box-chained.json"))

    assert chained.initial_model == "latest"
    assert chained.project == bird.project
    assert chained.task == bird.task  # same type, labels and attribute: the model is compatible
    assert chained.workforce == bird.workforce
    assert chained.manifest != bird.manifest


def test_from_job_bird_example_seeds_the_same_job_with_a_named_jobs_model(bird: JobInput) -> None:
    from_job = parse_job_input(load_json(EXAMPLES_DIR / "bird-bounding-box-from-job.json"))

    assert from_job.initial_model == JobModelReference(job="labelchain-birds-half-a-1a2b3c4d")
    assert from_job.task == bird.task
    assert from_job.workforce == bird.workforce


# --- docs/INPUT.md cannot drift from the model ------------------------------------------------


def test_every_documented_field_exists_in_the_model(input_doc: str) -> None:
    documented = set(FIELD_HEADING.findall(input_doc))

    assert documented - MODEL_PATHS == set()


def test_every_model_field_is_documented(input_doc: str) -> None:
    documented = set(FIELD_HEADING.findall(input_doc))

    assert MODEL_PATHS - documented == set()


def test_every_field_is_documented_once(input_doc: str) -> None:
    headings = FIELD_HEADING.findall(input_doc)

    assert sorted(headings) == sorted(set(headings))


def test_every_json_example_in_the_doc_uses_only_model_fields(input_doc: str) -> None:
    blocks = JSON_BLOCK.findall(input_doc)
    assert blocks, "docs/INPUT.md has no JSON examples"

    unknown = {path for block in blocks for path in json_key_paths(json.loads(block))} - MODEL_PATHS

    assert unknown == set()


def test_every_documented_error_is_a_labelchain_error(input_doc: str) -> None:
    for name in ERROR_HEADING.findall(input_doc):
        assert issubclass(getattr(errors, name), errors.LabelChainError), name


def test_the_doc_states_each_top_level_default(input_doc: str) -> None:
    for name, field in JobInput.model_fields.items():
        if field.is_required():
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(exclude_none=True)
        row = next(line for line in input_doc.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"`{json.dumps(default)}`" in row, name


@pytest.mark.parametrize("task_type", list(TaskType), ids=str)
def test_the_docs_task_table_states_the_catalogs_label_limits(input_doc: str, task_type: TaskType) -> None:
    spec = CATALOG[task_type]
    row = next(line for line in input_doc.splitlines() if line.startswith(f"| `{task_type.value}` | `crowd-"))

    assert f"| {spec.min_labels}–{spec.max_labels}" in row
    if spec.max_labels_with_auto_labeling < spec.max_labels:
        assert f"{spec.min_labels}–{spec.max_labels_with_auto_labeling} with `auto_labeling`" in row


def test_the_doc_no_longer_offers_a_public_workforce(input_doc: str) -> None:
    blocks = [json.loads(block) for block in JSON_BLOCK.findall(input_doc)]

    kinds = {block["workforce"]["kind"] for block in blocks if "kind" in block.get("workforce", {})}

    assert kinds == {"private", "vendor"}


@pytest.mark.parametrize("path", job_input_examples(), ids=lambda path: path.name)
def test_the_doc_links_every_example(input_doc: str, path: Path) -> None:
    assert f"(../examples/{path.name})" in input_doc
