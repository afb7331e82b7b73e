"""Specification of the S3 key layout (``core.s3_layout``): the shape of every key LabelChain builds,
that no key LabelChain writes falls under the Ground Truth role's write grant, and that a reserved
project name is refused on every path that names a project, with one message.

IAM's ``*`` matches any run of characters, ``/`` included; ``fnmatch.fnmatchcase`` does the same for a
pattern without ``?`` or ``[``, so it stands in for IAM's matching here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from labelchain.core import s3_layout
from labelchain.core.experiment import parse_experiment_input
from labelchain.core.job_input import parse_job_input
from labelchain.core.project_settings import parse_project_settings
from labelchain.core.s3_layout import (
    EXPERIMENT_PART_KEY,
    INCOMING_MANIFEST_PATTERN,
    LABEL_CATEGORIES_NAME,
    PINNED_MANIFEST_NAME,
    RESERVED_PROJECT_NAMES,
    WORKER_TEMPLATE_NAME,
    experiment_part_key,
    ground_truth_output_pattern,
    job_file_key,
    job_output_key_prefix,
    job_output_prefix,
    report_prefix,
    reserved_project_problem,
    s3_uri,
    split_s3_uri,
)
from labelchain.core.trigger import parse_manifest_key
from labelchain.errors import InvalidJobInput

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RESOURCE_PREFIX = "labelchain"
HOSTILE_NAMES = (
    "labelchain",
    "labelchain-x",
    f"{RESOURCE_PREFIX}-birds-0123abcd",
    "jobs",
    "experiments",
    "x/labelchain-y",
    "jobs/labelchain-z",
)
"""Project and execution names chosen to look like a Ground Truth job folder (some break the project
rule; the layout must hold even for them)."""


def test_every_key_has_its_documented_shape() -> None:
    assert [
        job_file_key("birds", "lc-job-1", PINNED_MANIFEST_NAME),
        job_file_key("birds", "lc-job-1", LABEL_CATEGORIES_NAME),
        job_file_key("birds", "lc-job-1", WORKER_TEMPLATE_NAME),
        experiment_part_key("birds", "run-1", 2, 3),
        job_output_prefix("birds"),
        job_output_key_prefix("birds", "lc-job-1"),
        report_prefix("birds", "run-1"),
        s3_layout.incoming_prefix("birds"),
    ] == [
        "labelchain/birds/lc-job-1/input.manifest",
        "labelchain/birds/lc-job-1/label-categories.json",
        "labelchain/birds/lc-job-1/worker-template.liquid.html",
        "labelchain/experiments/birds/run-1/part-2-of-3.manifest",
        "jobs/birds/",
        "jobs/birds/lc-job-1/",
        "experiments/birds/run-1/",
        "incoming/birds/",
    ]


def test_a_job_file_key_names_one_of_the_job_files() -> None:
    with pytest.raises(ValueError, match=re.escape("not a job file: 'notes.txt'")):
        job_file_key("birds", "lc-job-1", "notes.txt")


def test_an_experiment_part_is_recognised_and_a_job_file_is_not() -> None:
    assert EXPERIMENT_PART_KEY.match(experiment_part_key("birds", "run-1", 1, 2))
    assert not EXPERIMENT_PART_KEY.match(job_file_key("experiments", "run-1", PINNED_MANIFEST_NAME))


def test_a_trigger_upload_matches_the_rule_and_a_job_file_does_not() -> None:
    assert fnmatchcase("incoming/birds/2026/batch-7.manifest", INCOMING_MANIFEST_PATTERN)
    assert not fnmatchcase(job_file_key("birds", "lc-job-1", PINNED_MANIFEST_NAME), INCOMING_MANIFEST_PATTERN)


def test_ground_truth_output_falls_under_the_ground_truth_grant() -> None:
    """The control for the test below: the pattern does match what Ground Truth writes."""
    job_name = f"{RESOURCE_PREFIX}-run-1-0123abcd"
    key = f"{job_output_key_prefix('birds', job_name)}manifests/output/output.manifest"
    assert fnmatchcase(key, ground_truth_output_pattern(RESOURCE_PREFIX))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_no_key_labelchain_writes_falls_under_the_ground_truth_grant(name: str) -> None:
    pattern = ground_truth_output_pattern(RESOURCE_PREFIX)
    written = [
        f"{report_prefix(name, name)}report.json",
        f"{report_prefix(name, f'{RESOURCE_PREFIX}-{name}')}report.md",
        experiment_part_key(name, name, 1, 2),
        job_file_key(name, f"{RESOURCE_PREFIX}-{name}", PINNED_MANIFEST_NAME),
    ]
    assert [key for key in written if fnmatchcase(key, pattern)] == []


def test_s3_uris_round_trip_and_anything_else_is_refused() -> None:
    assert split_s3_uri(s3_uri("data", "a/b c.manifest")) == ("data", "a/b c.manifest")
    assert split_s3_uri("s3://data") == ("data", "")
    assert split_s3_uri("s3://data/line\nbreak") == ("data", "line\nbreak")
    for not_s3 in ("https://data/key", "data/key", "s3:///key", " s3://data/key"):
        with pytest.raises(ValueError, match="not an s3:// URI"):
            split_s3_uri(not_s3)


def _example(name: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return {**document, **changes}


REFUSING_PATHS: dict[str, Callable[[str], object]] = {
    "job input": lambda project: parse_job_input(_example("bird-bounding-box.json", project=project)),
    "experiment input": lambda project: parse_experiment_input(
        _example("experiment-birds.json", project=project)
    ),
    "trigger key": lambda project: parse_manifest_key(f"incoming/{project}/batch.manifest", "data"),
    "project settings": lambda project: parse_project_settings(
        (EXAMPLES / "project.json").read_text(encoding="utf-8"), project
    ),
}


@pytest.mark.parametrize("path", REFUSING_PATHS)
def test_a_reserved_project_name_is_refused_on_every_path_with_one_message(path: str) -> None:
    for project in RESERVED_PROJECT_NAMES:
        message = reserved_project_problem(project)
        assert message is not None
        with pytest.raises(InvalidJobInput) as refused:
            REFUSING_PATHS[path](project)
        # The field is named ``project`` (first, or after another field's "; ").
        assert re.search(rf"(^|: |; )project: {re.escape(message)}", str(refused.value)), refused.value


def test_an_ordinary_project_name_is_not_reserved() -> None:
    assert reserved_project_problem("birds") is None
    assert reserved_project_problem("experiment") is None
