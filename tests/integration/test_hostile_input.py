"""Specification: hostile or careless inputs are refused by name before anything is created or spent.

A table of inputs an attacker or a careless user would try, grouped by what they attack. Create-path
cases are the bird example (or its manifest) with one change, run through the real CreateJob service on
moto S3/DynamoDB with a Stubber'd SageMaker client; trigger-path cases are one upload (or one stored
project settings document) run through the real ResolveTrigger service. Every case must

* raise the named LabelChain error, its message holding every expected fragment (field, what is allowed),
* make no SageMaker call (no CreateLabelingJob above all),
* write nothing: no object under ``labelchain/``, no table item, no trigger claim
  (``tests.support.hostile.RefusalWorld``).

The tests after the table cover a duplicate key in a CLI input file, what validation keeps, the worker
template, and what a handler lets out when it fails.
"""

from __future__ import annotations

import copy
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from labelchain.cli.main import main as labelchain_cli
from labelchain.core import manifest as manifest_rules
from labelchain.core.arns import check_arns_in_stack
from labelchain.core.job_input import ArnModelReference, TaskSpec, WorkerInstructions, parse_job_input
from labelchain.core.worker_ui import worker_ui_template
from labelchain.errors import (
    InternalError,
    InvalidJobInput,
    LabelChainError,
    ManifestNotFound,
    TransientServiceError,
)
from labelchain.handlers.runtime import lambda_handler
from labelchain.handlers.watch_job import handler as watch_job_handler
from labelchain.services import manifest_pin
from local.lambda_dispatch import LocalLambdaContext
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import manifest_lines, moto_account
from tests.support.hostile import DATA, RefusalWorld, refusal_world
from tests.support.project_settings import example_settings, write_project_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BIRDS = json.loads((EXAMPLES / "bird-bounding-box.json").read_text())
STACK = ("aws", REGION, ACCOUNT)
MANIFEST_KEY = "incoming/birds/batch-1.manifest"
MANIFEST_URI = f"s3://{DATA}/{MANIFEST_KEY}"
PRIVATE_TEAM = BIRDS["workforce"]["workteam_arn"]
VENDOR_TEAM = f"arn:aws:sagemaker:{REGION}:111122223333:workteam/vendor-crowd/acme-labeling"
"""A vendor's team lives in the vendor's account."""
VENDOR = {
    "kind": "vendor",
    "workteam_arn": VENDOR_TEAM,
    "workers_per_object": 1,
    "price_per_object_usd": "0.06",
}
MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-half-a-model"
EXAMPLE_SETTINGS = example_settings()
"""examples/project.json: ceilings of 3 workers, $0.50 an object and a $1,000 budget."""


def manifest_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


VALID_LINES = manifest_lines(1250)
"""1,250 objects: the smallest manifest automated data labeling accepts."""
VALID_MANIFEST = manifest_of(VALID_LINES)


def with_line(line: dict[str, Any] | str) -> bytes:
    """The valid manifest with one hostile line appended: it is line 1251."""
    return manifest_of([*VALID_LINES, line if isinstance(line, str) else json.dumps(line)])


def ref(key: str, bucket: str = DATA) -> dict[str, str]:
    return {"source-ref": f"s3://{bucket}/{key}"}


def depth_bomb(depth: int) -> str:
    """A line whose arrays nest ``depth`` deep: enough to exhaust a recursive JSON parser."""
    return json.dumps(ref("birds/x.jpg"))[:-1] + ', "meta": ' + "[" * depth + "]" * depth + "}"


def with_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The bird example on ``MANIFEST_URI`` with each dotted path set to its value."""
    raw = {**copy.deepcopy(BIRDS), "manifest": MANIFEST_URI}
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = raw
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return raw


Given = Callable[[RefusalWorld, pytest.MonkeyPatch], dict[str, Any] | None]
"""Earlier state a case needs (stored settings, a shrunk limit, …); may return more input changes."""


@dataclass(frozen=True)
class Hostile:
    """One hostile execution input for CreateJob: what changes from the bird example, what is refused."""

    name: str
    says: tuple[str, ...]
    changes: dict[str, Any] = field(default_factory=dict)
    error: type[LabelChainError] = InvalidJobInput
    manifest: bytes = VALID_MANIFEST
    given: Given | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    """Deployment settings changed for the case (e.g. ``source_ref_scope``)."""
    unread: bool = False
    """The manifest must be refused without reading a byte of it (HeadObject only)."""
    group: str = ""


# --- givens -------------------------------------------------------------------------------------------


def stored_settings(document: str | dict[str, Any] = EXAMPLE_SETTINGS) -> Given:
    """The operator stored ``document`` as the birds project's settings (not validated: may be hostile)."""

    def given(world: RefusalWorld, _: pytest.MonkeyPatch) -> None:
        write_project_settings(world.runtime.store, "birds", document)

    return given


def manifest_deleted(world: RefusalWorld, _: pytest.MonkeyPatch) -> None:
    world.s3.delete_object(Bucket=DATA, Key=MANIFEST_KEY)  # versioned: the current version is a marker


def version_is_the_delete_marker(world: RefusalWorld, _: pytest.MonkeyPatch) -> dict[str, Any]:
    marker = world.s3.delete_object(Bucket=DATA, Key=MANIFEST_KEY)["VersionId"]
    world.put_object(MANIFEST_KEY, VALID_MANIFEST)
    return {"manifest_version": marker}


def version_of_another_key(world: RefusalWorld, _: pytest.MonkeyPatch) -> dict[str, Any]:
    return {"manifest_version": world.put_object("incoming/birds/other.manifest", VALID_MANIFEST)}


def at_most_objects(limit: int) -> Given:
    def given(world: RefusalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(manifest_pin, "MAX_MANIFEST_OBJECTS", limit)

    return given


def lines_at_most(max_bytes: int) -> Given:
    def given(world: RefusalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(manifest_rules, "MAX_LINE_BYTES", max_bytes)

    return given


def manifests_at_most(max_bytes: int) -> Given:
    def given(world: RefusalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
        size_check = partial(manifest_rules.check_manifest_size, max_bytes=max_bytes)
        monkeypatch.setattr(manifest_pin, "check_manifest_size", size_check)

    return given


# --- the create path ----------------------------------------------------------------------------------

WORKFORCE = [
    Hostile(
        "public-crowd-after-mechanical-turk-closed",
        ("workforce: kind 'public'", "closed permanently on 2026-09-30", '"kind": "private"', "vendor-crowd"),
        {"workforce": {"kind": "public", "price_per_task_usd": "0.036", "workers_per_object": 3}},
    ),
    Hostile(
        "vendor-without-its-price",
        ("workforce.price_per_object_usd: required for a vendor work team",),
        {"workforce": {k: v for k, v in VENDOR.items() if k != "price_per_object_usd"}},
    ),
    Hostile(
        "vendor-price-above-the-api-bound",
        ("workforce.price_per_object_usd:", "less than or equal to 100"),
        {"workforce": {**VENDOR, "price_per_object_usd": "6000"}},
    ),
    Hostile(
        "vendor-price-not-a-number",
        ("workforce.price_per_object_usd:", "finite"),
        {"workforce": {**VENDOR, "price_per_object_usd": "NaN"}},
    ),
    Hostile(
        "private-team-with-a-vendor-price",
        ("workforce.price_per_object_usd: unknown field",),
        {"workforce.price_per_object_usd": "0.06"},
    ),
]

ARNS = [
    Hostile(
        "workteam-of-another-account",
        (
            "workforce.workteam_arn: must be in this stack's partition, region and account; has account "
            "'999999999999' (this stack: '123456789012')",
        ),
        {"workforce.workteam_arn": PRIVATE_TEAM.replace(ACCOUNT, "999999999999")},
    ),
    Hostile(
        "workteam-of-another-partition",
        ("workforce.workteam_arn:", "partition 'aws-cn' (this stack: 'aws')"),
        {"workforce.workteam_arn": PRIVATE_TEAM.replace("arn:aws:", "arn:aws-cn:")},
    ),
    Hostile(
        "workteam-of-another-region",
        ("workforce.workteam_arn:", "'eu-west-1'", "'us-east-1'"),
        {"workforce.workteam_arn": PRIVATE_TEAM.replace(REGION, "eu-west-1")},
    ),
    Hostile(
        "model-of-another-account",
        ("initial_model.arn: must be in this stack's partition, region and account", "'999999999999'"),
        {"initial_model": {"arn": MODEL.replace(ACCOUNT, "999999999999")}},
    ),
    Hostile(
        "workteam-with-trailing-junk",
        ("workforce.workteam_arn: expected a work team ARN",),
        {"workforce.workteam_arn": PRIVATE_TEAM + " junk"},
    ),
    Hostile(
        "workteam-with-a-second-line",
        ("workforce.workteam_arn: expected a work team ARN", "nothing after it"),
        {"workforce.workteam_arn": PRIVATE_TEAM + "\nworkteam/private-crowd/other"},
    ),
    Hostile(
        "workteam-with-a-path-after-the-name",
        ("workforce.workteam_arn: expected a work team ARN",),
        {"workforce.workteam_arn": PRIVATE_TEAM + "/../vendor-crowd/x"},
    ),
    Hostile(
        "private-kind-with-the-public-crowds-arn",
        ("workforce.workteam_arn: expected a work team ARN",),
        {"workforce.workteam_arn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default"},
    ),
    Hostile(
        "workteam-account-in-non-ascii-digits",
        ("workforce.workteam_arn: expected a work team ARN",),
        {"workforce.workteam_arn": PRIVATE_TEAM.replace(ACCOUNT, "١٢٣٤٥٦٧٨٩٠١٢")},
    ),
    Hostile(
        "model-with-a-second-line",
        ("initial_model.arn: expected a SageMaker model ARN",),
        {"initial_model": {"arn": MODEL + "\narn:aws:sagemaker:us-east-1:999999999999:model/x"}},
    ),
    Hostile(
        "manifest-uri-with-a-second-line",
        ("manifest: expected an S3 URI of a manifest object", "on one line"),
        {"manifest": f"{MANIFEST_URI}\ns3://other/b.manifest"},
    ),
]

NUMBERS = [
    Hostile(
        "workers-true",
        ("workforce.workers_per_object:", "whole number"),
        {"workforce.workers_per_object": True},
    ),
    Hostile(
        "workers-as-float", ("workforce.workers_per_object:", "whole"), {"workforce.workers_per_object": 2.0}
    ),
    Hostile("task-time-9-hours", ("task_time_limit_seconds:", "28800"), {"task_time_limit_seconds": 32_400}),
    Hostile(
        "availability-31-days",
        ("task_availability_lifetime_seconds:", "2592000"),
        {"task_availability_lifetime_seconds": 2_678_400},
    ),
    Hostile(
        "human-objects-above-the-api-bound",
        ("stopping_conditions.max_human_labeled_objects:", "less than or equal to 1000000"),
        {"stopping_conditions": {"max_human_labeled_objects": 10**12}},
    ),
    Hostile(
        "percentage-as-float",
        ("stopping_conditions.max_percentage_labeled:", "whole number"),
        {"stopping_conditions": {"max_percentage_labeled": 95.5}},
    ),
    Hostile("budget-true", ("budget_usd:", "not a boolean"), {"budget_usd": True}),
    Hostile("budget-infinite", ("budget_usd:", "finite"), {"budget_usd": "Infinity"}),
    Hostile("auto-labeling-as-number", ("auto_labeling: expected true or false",), {"auto_labeling": 0}),
]

LABELS = [
    Hostile("labels-full-width-look-alike", ("(same as 'Bird')",), {"task.labels": ["Bird", "Ｂｉｒｄ"]}),
    Hostile("labels-decomposed-accent", ("repeated: Café",), {"task.labels": ["Café", "Cafe\u0301"]}),
    Hostile("label-right-to-left-override", ("task.labels.0:", "U+202E"), {"task.labels": ["Bi\u202erd"]}),
    Hostile("label-zero-width-space", ("task.labels.0:", "U+200B"), {"task.labels": ["Bi\u200brd"]}),
    Hostile("label-control-character", ("task.labels.0:", "U+0007"), {"task.labels": ["Bird\x07"]}),
    Hostile(
        "title-with-bidi-isolate", ("task.title:", "U+2066"), {"task.title": "\u2066Box the birds\u2069"}
    ),
    Hostile(
        "segmentation-21-labels-with-auto-labeling",
        ("task.labels: semantic_segmentation with automated data labeling takes at most 20 labels",),
        {
            "task.type": "semantic_segmentation",
            "task.label_attribute": "mask-ref",
            "task.labels": [f"Class {i}" for i in range(21)],
        },
    ),
]

INSTRUCTIONS_HTML = [
    Hostile(
        "bidi-override-as-a-character-reference",
        ("task.instructions.full:", "U+202E"),
        {"task.instructions.full": "<p>Draw a box around &#x202e;drib&#x202c; every bird</p>"},
    ),
    Hostile(
        "script",
        ("task.instructions.full:", "<script>"),
        {"task.instructions.full": "<p>Hi</p><script>fetch('//x')</script>"},
    ),
    Hostile(
        "event-handler",
        ("task.instructions.short:", "onerror"),
        {"task.instructions.short": '<img src="https://x/a.png" onerror="x()">'},
    ),
    Hostile(
        "form",
        ("<form>",),
        {"task.instructions.full": '<form action="https://evil"><input name="pw"></form>'},
    ),
    Hostile("iframe", ("<iframe>",), {"task.instructions.full": '<iframe src="https://evil"></iframe>'}),
    Hostile(
        "javascript-link", ("href of <a>",), {"task.instructions.full": '<a href="javascript:x()">x</a>'}
    ),
    Hostile(
        "data-uri-image",
        ("src of <img>",),
        {"task.instructions.full": '<img src="data:image/png;base64,AA">'},
    ),
    Hostile(
        "style-attribute",
        ("style attribute",),
        {"task.instructions.full": '<p style="position:fixed;inset:0">Click</p>'},
    ),
    Hostile("comment", ("an HTML comment",), {"task.instructions.full": "<p>x</p><!-- hidden note -->"}),
    Hostile("unbalanced", ("unbalanced or misnested",), {"task.instructions.full": "<p>Draw <b>boxes</p>"}),
    Hostile(
        "liquid-as-character-references",
        ("Liquid template markup",),
        {"task.instructions.full": "<p>&#123;&#123; task.input.taskObject &#125;&#125;</p>"},
    ),
]

MANIFEST_SCOPE = [
    Hostile(
        "project-named-like-the-experiment-parts-prefix",
        ("project: 'experiments' is reserved", "manifest parts under labelchain/experiments/"),
        {"project": "experiments"},
    ),
    Hostile(
        "source-ref-in-the-output-bucket",
        (
            "line 1251: 'source-ref' must be in the data bucket 'labelchain-data'",
            "got bucket 'labelchain-output'",
        ),
        manifest=with_line(ref("birds/another-projects-labels.jpg", bucket=TEST_SETTINGS.output_bucket)),
    ),
    Hostile(
        "source-ref-under-labelchain",
        ("line 1251: 'source-ref' may not point under 'labelchain/'",),
        manifest=with_line(ref("labelchain/cats/job-1/input.manifest")),
    ),
    Hostile(
        "source-ref-a-prefix",
        ("line 1251: 'source-ref' must name an object, not a folder",),
        manifest=with_line(ref("birds/images/")),
    ),
    Hostile(
        "source-and-source-ref",
        ("line 1251: holds both 'source-ref' and 'source'",),
        manifest=with_line({**ref("birds/x.jpg"), "source": "a text object"}),
    ),
    Hostile(
        "source-ref-dot-dot",
        ("line 1251: 'source-ref' key has a '.' or '..' path segment",),
        manifest=with_line(ref("birds/../labelchain/cats/x.jpg")),
    ),
    Hostile(
        "source-ref-percent-encoded-dot-dot",
        ("line 1251: 'source-ref' key holds '%'", "never URL-decoded"),
        manifest=with_line(ref("birds/%2E%2E/labelchain/x.jpg")),
    ),
    Hostile(
        "source-ref-into-another-project-when-scoped",
        ("line 1: 'source-ref' must be under s3://labelchain-data/incoming/birds/", "incoming/cats/x.jpg"),
        manifest=manifest_of(
            [json.dumps(ref("incoming/cats/x.jpg")), *manifest_lines(1250, "incoming/birds/i")]
        ),
        settings={"source_ref_scope": "project"},
    ),
    Hostile(
        "json-depth-bomb",
        ("line 1251: JSON nested deeper than the limit of 16 levels",),
        manifest=with_line(depth_bomb(100_000)),
    ),
    Hostile(
        "line-too-long",
        ("manifest:", "is not a JSON-lines manifest", "line 1251", "longer than 4096 bytes"),
        manifest=with_line(ref("birds/" + "k" * 5000)),
        given=lines_at_most(4096),
    ),
    Hostile(
        "too-many-objects",
        ("manifest:", "holds more than the limit of 20 objects (line 21 is object 21)"),
        {"auto_labeling": False},
        manifest=manifest_of(manifest_lines(21)),
        given=at_most_objects(20),
    ),
    Hostile(
        "manifest-too-large-by-head-object",
        ("manifest:", f"is {len(VALID_MANIFEST):,} bytes, larger than the limit of 1,000 bytes"),
        given=manifests_at_most(1000),
        unread=True,
    ),
    Hostile(
        "manifest-is-another-jobs-pinned-copy",
        ("manifest:", "is under labelchain/, where LabelChain keeps the files it writes"),
        {"manifest": "s3://labelchain-data/labelchain/cats/labelchain-other-1a2b3c4d/input.manifest"},
    ),
    Hostile(
        "manifest-key-with-a-dot-dot-segment",
        ("manifest:", "has an empty, '.' or '..' path segment"),
        {"manifest": "s3://labelchain-data/incoming/birds/../cats/batch-1.manifest"},
    ),
]

MANIFEST_VERSION = [
    Hostile(
        "made-up-version",
        (f"manifest_version: {MANIFEST_URI} has no version 'made-up-version'",),
        {"manifest_version": "made-up-version"},
    ),
    Hostile(
        "version-of-another-key",
        (f"manifest_version: {MANIFEST_URI} has no version",),
        given=version_of_another_key,
    ),
    Hostile(
        "version-that-is-a-delete-marker",
        (f"manifest_version: {MANIFEST_URI} has no version",),
        given=version_is_the_delete_marker,
    ),
    Hostile(
        "current-version-is-a-delete-marker",
        (f"manifest: {MANIFEST_URI} cannot be read",),
        error=ManifestNotFound,
        given=manifest_deleted,
    ),
]

PROJECT_CEILINGS = [
    Hostile(
        "workers-above-the-projects-ceiling",
        (
            "workforce.workers_per_object: 4 exceeds the ceiling",
            "ceilings.max_workers_per_object = 3 of project 'birds'",
        ),
        {"workforce.workers_per_object": 4},
        given=stored_settings(),
    ),
    Hostile(
        "vendor-price-above-the-projects-ceiling",
        ("workforce.price_per_object_usd: 0.75 exceeds", "ceilings.max_price_per_object_usd = 0.50"),
        {"workforce": {**VENDOR, "price_per_object_usd": "0.75"}},
        given=stored_settings(),
    ),
    Hostile(
        "budget-above-the-projects-ceiling",
        ("budget_usd: 5000", "exceeds", "ceilings.max_budget_usd = 1000.00"),
        {"budget_usd": "5000"},
        given=stored_settings(),
    ),
]

DUPLICATE_KEYS = [
    Hostile(
        "project-settings-with-a-repeated-key",
        ("project settings of 'birds': key 'workforce' appears twice in one JSON object",),
        given=stored_settings(
            json.dumps(EXAMPLE_SETTINGS)[:-1]
            + ', "workforce": {"kind": "private", "workteam_arn": "'
            + PRIVATE_TEAM
            + '", "workers_per_object": 9}}'
        ),
    ),
]

CREATE_PATH = [
    replace(case, group=group)
    for group, cases in {
        "workforce": WORKFORCE,
        "arns": ARNS,
        "numbers": NUMBERS,
        "labels": LABELS,
        "instructions-html": INSTRUCTIONS_HTML,
        "manifest-scope-and-limits": MANIFEST_SCOPE,
        "manifest-version": MANIFEST_VERSION,
        "project-ceilings": PROJECT_CEILINGS,
        "duplicate-keys": DUPLICATE_KEYS,
    }.items()
    for case in cases
]


# --- the trigger path ---------------------------------------------------------------------------------

NO_SETTINGS = object()
"""The project has no settings item at all."""


@dataclass(frozen=True)
class HostileUpload:
    """One hostile upload (``$.trigger``) or stored settings document for ResolveTrigger."""

    name: str
    says: tuple[str, ...]
    trigger: dict[str, Any] = field(default_factory=dict)
    settings: Any = field(default_factory=lambda: EXAMPLE_SETTINGS)
    """The birds project's stored settings document (dict or raw text), or ``NO_SETTINGS``."""
    bug: str | None = None
    """Set when LabelChain accepts this case today: the case is a strict xfail naming the bug."""


TRIGGER_PATH = [
    HostileUpload(
        "upload-into-a-reserved-project-folder",
        ("project: 'experiments' is reserved",),
        {"key": "incoming/experiments/batch-1.manifest"},
    ),
    HostileUpload(
        "upload-to-another-bucket",
        (
            "trigger.bucket: manifests must be uploaded to the data bucket 'labelchain-data'",
            "'someone-elses'",
        ),
        {"bucket": "someone-elses"},
    ),
    HostileUpload(
        "key-outside-incoming",
        ("trigger.key: expected incoming/<project>/<batch>.manifest", "got 'birds/batch-1.manifest'"),
        {"key": "birds/batch-1.manifest"},
    ),
    HostileUpload(
        "key-under-labelchains-own-files",
        ("trigger.key: expected incoming/<project>/<batch>.manifest",),
        {"key": "labelchain/birds/labelchain-birds-0a1b/input.manifest"},
    ),
    HostileUpload(
        "project-folder-in-capitals",
        ("trigger.key: the folder after incoming/ names the project", "'Birds'"),
        {"key": "incoming/Birds/batch-1.manifest"},
    ),
    HostileUpload(
        "batch-name-url-encoded",
        ("trigger.key: the batch name in", "may use only letters, digits, '.', '_', '-' and '/'"),
        {"key": "incoming/birds/batch%201.manifest"},
    ),
    HostileUpload(
        "batch-name-with-an-empty-segment",
        ("trigger.key: the batch name in", "may use only"),
        {"key": "incoming/birds//batch-1.manifest"},
    ),
    HostileUpload(
        "batch-path-with-a-dot-dot-segment",
        ("trigger.key:", "'..'"),
        {"key": "incoming/birds/../cats/batch-1.manifest"},
    ),
    HostileUpload(
        "batch-not-a-manifest",
        ("trigger.key: must name a <batch>.manifest file",),
        {"key": "incoming/birds/project.json"},
    ),
    HostileUpload(
        "batch-named-only-the-suffix",
        ("trigger.key: must name a <batch>.manifest file",),
        {"key": "incoming/birds/.manifest"},
    ),
    HostileUpload(
        "project-without-settings",
        ("project settings of 'birds': none in the table", "labelchain project-settings put birds"),
        settings=NO_SETTINGS,
    ),
    HostileUpload(
        "settings-above-their-own-ceiling",
        (
            "project settings of 'birds': workforce.workers_per_object: 3 exceeds the ceiling",
            "max_workers_per_object = 2",
        ),
        settings=example_settings(ceilings={"max_workers_per_object": 2}),
    ),
    HostileUpload(
        "settings-with-the-public-crowd",
        ("project settings of 'birds': workforce: kind 'public'", "2026-09-30"),
        settings=example_settings(
            workforce={"kind": "public", "workers_per_object": 3, "price_per_task_usd": "0.036"}
        ),
    ),
    HostileUpload(
        "settings-naming-the-manifest",
        ("project settings of 'birds': manifest: set by the trigger, not by the settings",),
        settings=example_settings(manifest=f"s3://{DATA}/incoming/cats/their-batch.manifest"),
    ),
    HostileUpload(
        "settings-with-a-script-in-the-instructions",
        ("project settings of 'birds': task.instructions.full:", "<script>"),
        settings=example_settings(
            task={
                **EXAMPLE_SETTINGS["task"],
                "instructions": {"short": "Box birds.", "full": "<script>x()</script>"},
            }
        ),
    ),
    HostileUpload(
        "settings-with-a-repeated-key",
        ("project settings of 'birds': key 'ceilings' appears twice in one JSON object",),
        settings=json.dumps(EXAMPLE_SETTINGS)[:-1] + ', "ceilings": {"max_workers_per_object": 9}}',
    ),
    HostileUpload(
        "settings-larger-than-256-kib",
        ("project settings of 'birds': larger than 256 KiB",),
        settings=json.dumps(EXAMPLE_SETTINGS) + " " * 256 * 1024,
    ),
]


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[Any, Any, Any]]:
    """One moto account for the module (starting moto per case would dominate the run time)."""
    with moto_account() as clients:
        yield clients


@pytest.fixture
def world(account: tuple[Any, Any, Any]) -> Iterator[RefusalWorld]:
    with refusal_world(account) as world:
        yield world


@pytest.mark.parametrize("case", CREATE_PATH, ids=lambda c: f"{c.group}/{c.name}")
def test_create_job_refuses_a_hostile_input_by_name_before_anything_is_created(
    world: RefusalWorld, monkeypatch: pytest.MonkeyPatch, case: Hostile
) -> None:
    world.put_object(MANIFEST_KEY, case.manifest)
    more = case.given(world, monkeypatch) if case.given is not None else None
    settings = TEST_SETTINGS.model_copy(update=case.settings)

    refusal = world.refuse_create(with_changes({**case.changes, **(more or {})}), settings)

    assert type(refusal) is case.error, refusal
    for fragment in case.says:
        assert fragment in str(refusal), str(refusal)
    if case.unread:
        assert "HeadObject" in world.s3_calls
        assert "GetObject" not in world.s3_calls


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=f"trigger/{case.name}",
            marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [],
        )
        for case in TRIGGER_PATH
    ],
)
def test_resolve_trigger_refuses_a_hostile_upload_or_settings_and_claims_nothing(
    world: RefusalWorld, case: HostileUpload
) -> None:
    if case.settings is not NO_SETTINGS:
        write_project_settings(world.runtime.store, "birds", case.settings)
    version = world.put_object(MANIFEST_KEY, VALID_MANIFEST)
    trigger = {"bucket": DATA, "key": MANIFEST_KEY, "version_id": version, **case.trigger}

    refusal = world.refuse_trigger(trigger)

    assert type(refusal) is InvalidJobInput, refusal
    for fragment in case.says:
        assert fragment in str(refusal), str(refusal)


# --- a duplicate key in a CLI input file ---------------------------------------------------------------


def test_labelchain_validate_refuses_an_input_file_with_a_repeated_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(BIRDS)[:-1] + ', "auto_labeling": false}'
    path = tmp_path / "input.json"
    path.write_text(text)

    code = labelchain_cli(["validate", str(path), "--objects", "1250"])

    assert code == 2
    assert f"{path}: key 'auto_labeling' appears twice in one JSON object" in capsys.readouterr().err


# --- what validation keeps ------------------------------------------------------------------------------

MODEL_INPUT = {**BIRDS, "initial_model": {"arn": MODEL}}


def test_a_lone_trailing_newline_after_an_arn_is_stripped_like_any_whitespace() -> None:
    job_input = parse_job_input({**BIRDS, "initial_model": {"arn": MODEL + "\n"}})

    assert isinstance(job_input.initial_model, ArnModelReference)
    assert job_input.initial_model.arn == MODEL


def test_labels_are_stored_in_nfc() -> None:
    raw = copy.deepcopy(BIRDS)
    raw["task"]["labels"] = ["Cafe\u0301"]

    assert parse_job_input(raw).task.labels == ["Café"]


def test_instructions_the_sanitiser_keeps_pass_unchanged() -> None:
    full = (
        "<h2>Rules</h2><p>Box <b>every</b> bird &amp; nest.</p><br/>"
        '<table><tr><td colspan="2">x</td></tr></table>'
        '<a href="https://example.com/guide" title="guide">guide</a><img src="https://e.com/a.png" alt="A">'
    )
    raw = copy.deepcopy(BIRDS)
    raw["task"]["instructions"]["full"] = full

    assert parse_job_input(raw).task.instructions.full == full


def test_a_vendor_team_in_the_vendors_own_account_is_accepted() -> None:
    job_input = parse_job_input({**MODEL_INPUT, "workforce": VENDOR})

    check_arns_in_stack(job_input, *STACK)  # no error: the vendor's account is not the stack's


# --- the worker template ----------------------------------------------------------------------------


def test_the_worker_template_sanitises_instructions_that_bypassed_validation() -> None:
    valid = parse_job_input(BIRDS).task
    instructions = WorkerInstructions.model_construct(
        short="<p onclick='x()'>Box birds</p>",
        full="<script>steal()</script><p>&#123;&#123; x &#125;&#125;</p>",
    )
    task = TaskSpec.model_construct(**{**dict(valid), "instructions": instructions})

    template = worker_ui_template(task)

    assert "steal" not in template
    assert "onclick" not in template
    assert "<p>Box birds</p>" in template
    assert "&#123;&#123; x &#125;&#125;" in template  # shown as braces, never evaluated by Liquid


# --- what a handler lets out when it fails ------------------------------------------------------------


def lambda_error_payload(error: BaseException) -> dict[str, Any]:
    """What AWS's Python runtime puts in the state's cause: message, type and the raised frames."""
    frames = traceback.extract_tb(error.__traceback__)[1:]  # the runtime drops its own (caller) frame
    return {"errorType": type(error).__name__, "errorMessage": str(error), "frames": len(frames)}


def call(handler: Any) -> BaseException:
    try:
        handler({}, LocalLambdaContext("labelchain-create-job"))
    except Exception as error:
        return error
    raise AssertionError("the handler did not fail")


def test_an_unexpected_exception_becomes_an_internal_error_with_a_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @lambda_handler
    def crashing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"value": event["missing-key"]}

    caplog.set_level(logging.ERROR)
    payload = lambda_error_payload(call(crashing))

    assert payload["errorType"] == "InternalError"
    assert LocalLambdaContext.aws_request_id in payload["errorMessage"]
    assert "labelchain-create-job" in payload["errorMessage"]
    assert "KeyError" not in payload["errorMessage"]
    assert "missing-key" not in payload["errorMessage"]
    assert payload["frames"] == 1  # only the wrapper's raise: no code path in the cause
    assert "KeyError" in caplog.text  # the details went to the log


def test_a_labelchain_error_keeps_its_name_and_message_for_the_state_machines_retries() -> None:
    @lambda_handler
    def throttled(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise TransientServiceError("sagemaker DescribeLabelingJob: ThrottlingException")

    error = call(throttled)

    assert isinstance(error, TransientServiceError)
    assert lambda_error_payload(error) == {
        "errorType": "TransientServiceError",
        "errorMessage": "sagemaker DescribeLabelingJob: ThrottlingException",
        "frames": 1,
    }


def test_a_malformed_event_to_a_real_handler_is_a_named_input_error() -> None:
    error = call(watch_job_handler)

    assert isinstance(error, InvalidJobInput)
    assert str(error).startswith("malformed WatchJobEvent payload: job_name:")
    assert not isinstance(error, InternalError)
