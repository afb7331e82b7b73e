"""Specification of ``python -m labelchain.lineage``: a project's jobs oldest first, which job's model
seeded which, and the project's latest model — read from the table with boto3 (moto here).

The three jobs are AWS's pre-trained-model tutorial: job 1 from scratch (48 % machine-labeled), job 2
seeded with job 1's model (80 %), job 3 the control without a model (60 %).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelchain.adapters.store import JobStore
from labelchain.core.cost import compute_cost
from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.records import Counters, JobRecord, ModelPointer
from labelchain.lineage import main
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, create_table

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
TABLE = TEST_SETTINGS.table_name
INITIAL, PRETRAINED, CONTROL = (
    "labelchain-birds-half-a-1a2b3c4d",
    "labelchain-birds-half-b-5e6f7a8b",
    "labelchain-birds-control-9c0d1e2f",
)
INITIAL_MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{INITIAL}-model"
PRETRAINED_MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{PRETRAINED}-model"


def tutorial_job(
    name: str, days: int, human: int, machine: int, seed: str | None, model: str | None
) -> JobRecord:
    return JobRecord(
        job_name=name,
        project="birds",
        execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:{name}",
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
        manifest_uri=f"s3://{TEST_SETTINGS.data_bucket}/incoming/birds/{name}.manifest",
        object_count=human + machine,
        auto_labeling=True,
        workforce={
            "kind": "public",
            "workteam_arn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default",
            "workers_per_object": 5,
            "task_price_usd": "0.036",
        },
        prices=DEFAULT_PRICES,
        initial_model_source="none" if seed is None else "latest",
        initial_model_arn=seed,
        status="Completed",
        created_at=EXAMPLE_TIME + timedelta(days=days),
        ended_at=EXAMPLE_TIME + timedelta(days=days, hours=4),
        counters=Counters(total_labeled=human + machine, human_labeled=human, machine_labeled=machine),
        final_model_arn=model,
        model_outcome="trained" if model else "no-model",
        cost=compute_cost(
            human_objects=human,
            machine_objects=machine,
            workers_per_object=5,
            task_price_usd=Decimal("0.036"),
            prices=DEFAULT_PRICES,
        ),
    )


@pytest.fixture
def table() -> Iterator[JobStore]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION))
        yield JobStore(boto3.client("dynamodb", region_name=REGION), TABLE)


@pytest.fixture
def tutorial(table: JobStore) -> JobStore:
    """The three tutorial jobs, saved newest first, and the pointer at job 2's model."""
    table.save_job(tutorial_job(CONTROL, 2, human=500, machine=750, seed=None, model=None))
    table.save_job(
        tutorial_job(PRETRAINED, 1, human=250, machine=1000, seed=INITIAL_MODEL, model=PRETRAINED_MODEL)
    )
    table.save_job(tutorial_job(INITIAL, 0, human=650, machine=600, seed=None, model=INITIAL_MODEL))
    table.advance_latest_model(
        ModelPointer(
            project="birds",
            model_arn=PRETRAINED_MODEL,
            job_name=PRETRAINED,
            job_created_at=EXAMPLE_TIME + timedelta(days=1),
            task_type="bounding_box",
            labels=["Bird"],
            label_attribute="category",
        )
    )
    return table


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def row_of(output: str, job_name: str) -> str:
    (line,) = [line for line in output.splitlines() if f"  {job_name}  " in line]
    return line


# --- the table -----------------------------------------------------------------------------------


def test_jobs_are_listed_oldest_first(tutorial: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run(["--table", TABLE, "--project", "birds"], capsys)

    assert code == 0
    positions = [output.index(name) for name in (INITIAL, PRETRAINED, CONTROL)]
    assert positions == sorted(positions)
    assert output.splitlines()[0] == f"Project 'birds': 3 jobs, oldest first (table {TABLE})"


@pytest.mark.parametrize(
    ("job_name", "cells"),
    [
        (
            INITIAL,
            [
                "1",
                "2026-11-28 12:00",
                "Completed",
                "1,250",
                "48.00",
                "217.00",
                "none → " + INITIAL + "-model",
            ],
        ),
        (
            PRETRAINED,
            ["2", "2026-11-29 12:00", "1,250", "80.00", "145.00", f"#1 {INITIAL}-model → {PRETRAINED}-model"],
        ),
        (CONTROL, ["3", "2026-11-30 12:00", "1,250", "60.00", "190.00", "none → no model"]),
    ],
)
def test_each_row_shows_time_status_objects_share_cost_and_models(
    tutorial: JobStore, capsys: pytest.CaptureFixture[str], job_name: str, cells: list[str]
) -> None:
    _, output, _ = run(["--table", TABLE, "--project", "birds"], capsys)

    row = row_of(output, job_name)

    assert row.lstrip().startswith(cells[0] + "  ")
    assert all(cell in row for cell in cells[1:]), row


def test_the_chain_shows_which_job_seeded_which(
    tutorial: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output, _ = run(["--table", TABLE, "--project", "birds"], capsys)

    chain_section = output.split("Chains (a job's initial model is an earlier job's final model):\n", 1)[1]

    assert chain_section.splitlines()[:2] == ["  #1 → #2", "  not chained: #3"]


def test_the_latest_model_pointer_is_named_with_the_job_that_trained_it(
    tutorial: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output, _ = run(["--table", TABLE, "--project", "birds"], capsys)

    assert f"Latest model of 'birds': {PRETRAINED}-model (from #2 {PRETRAINED};" in output
    assert output.rstrip().endswith(PRETRAINED_MODEL)


def test_json_output_lists_the_jobs_chains_and_pointer(
    tutorial: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, _ = run(["--table", TABLE, "--project", "birds", "--json"], capsys)

    document = json.loads(output)
    assert code == 0
    assert [job["job_name"] for job in document["jobs"]] == [INITIAL, PRETRAINED, CONTROL]
    assert document["jobs"][1] | {"created_at": "-"} == {
        "number": 2,
        "job_name": PRETRAINED,
        "created_at": "-",
        "status": "Completed",
        "objects": 1250,
        "machine_labeled_percent": "80.00",
        "cost_total_usd": "145.0000",
        "initial_model_source": "latest",
        "initial_model_arn": INITIAL_MODEL,
        "final_model_arn": PRETRAINED_MODEL,
        "model_outcome": "trained",
        "seeded_by": INITIAL,
        "seeded": [],
    }
    assert document["chains"] == [[INITIAL, PRETRAINED]]
    assert document["latest_model"]["model_arn"] == PRETRAINED_MODEL


# --- nothing to show -----------------------------------------------------------------------------


def test_a_project_without_jobs_says_so(table: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run(["--table", TABLE, "--project", "fish"], capsys)

    assert code == 0
    assert output.startswith(f"Project 'fish' has no jobs in table {TABLE!r} yet")


def test_a_project_without_jobs_is_an_empty_json_lineage(
    table: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output, _ = run(["--table", TABLE, "--project", "fish", "--json"], capsys)

    assert json.loads(output) == {
        "project": "fish",
        "table": TABLE,
        "jobs": [],
        "chains": [],
        "latest_model": None,
    }


def test_a_missing_table_is_reported_with_exit_status_1(
    table: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, error = run(["--table", "no-such-table", "--project", "birds"], capsys)

    assert code == 1
    assert "table 'no-such-table' does not exist" in error


def test_the_cli_reads_from_the_endpoint_in_aws_endpoint_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given AWS_ENDPOINT_URL (the offline stack), the CLI calls it: here a closed loopback port."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    code, _, error = run(["--table", TABLE, "--project", "birds"], capsys)

    assert code == 1
    assert "http://127.0.0.1:9" in error


# --- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--project", "birds"], "the following arguments are required: --table"),
        (["--table", TABLE], "the following arguments are required: --project"),
        (["--table", TABLE, "--project", "Birds"], "--project: expected a project name: 1-40 lowercase"),
        (["--table", "t", "--project", "birds"], "--table: expected a DynamoDB table name"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_the_module_runs_as_a_program_and_exits_2_on_bad_arguments() -> None:
    environment: dict[str, Any] = {**os.environ, "PYTHONPATH": str(LAMBDAS_DIR)}

    completed = subprocess.run(
        [sys.executable, "-m", "labelchain.lineage", "--table", TABLE, "--project", "Birds"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 2
    assert "usage: python -m labelchain.lineage" in completed.stderr
