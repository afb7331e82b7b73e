"""Specification of ``python -m labelchain.cost``: same model as the Lambdas, plain or JSON output."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from labelchain.core.cost import CostBreakdown, compute_cost
from labelchain.core.prices import MECHANICAL_TURK_TUTORIAL_PRICES, PriceOverrides, resolve_prices
from labelchain.cost import main

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
SEEDED_JOB = ["--human", "250", "--machine", "1000", "--workers", "5", "--task-price", "0.036"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def line_starting(output: str, label: str) -> str:
    """The table row whose label column is exactly ``label`` (labels are followed by 2+ spaces)."""
    (line,) = [line for line in output.splitlines() if line.startswith(f"{label}  ")]
    return line


def test_table_names_the_price_table_version_in_its_header(capsys: pytest.CaptureFixture[str]) -> None:
    """Given the tutorial's seeded job, when printed as a table, then the header names the prices used."""
    output = run_cli(SEEDED_JOB, capsys)

    header = output.splitlines()[0]
    assert "aws-gt-tutorial-2019" in header
    assert "0.08 USD" in header
    assert "5 workers x 0.036 USD per task" in header


@pytest.mark.parametrize(
    ("label", "objects", "usd"),
    [
        ("human-labeled", "250", "65.00"),
        ("machine-labeled", "1,000", "80.00"),
        ("auto-labeling compute (0 iterations)", "", "0.00"),
        ("total", "1,250", "145.00"),
        ("without auto-labeling", "1,250", "325.00"),
        ("saving", "", "180.00"),
        ("saving (%)", "", "55.38"),
    ],
)
def test_table_shows_each_line_item(
    label: str, objects: str, usd: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the tutorial's seeded job, then each line item shows its object count and amount."""
    output = run_cli(SEEDED_JOB, capsys)

    line = line_starting(output, label)
    assert line.split()[-1] == usd
    if objects:
        assert line.split()[-2] == objects


def test_table_columns_are_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    """Given any breakdown, then every table row ends in the same column (amounts right-aligned)."""
    output = run_cli(SEEDED_JOB, capsys)

    rows = output.splitlines()[1:]
    assert len({len(row) for row in rows}) == 1


def test_table_shows_sub_cent_amounts_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    """Given one worker at 0.036 USD, then amounts are not rounded to cents (0.08 + 0.036 = 0.116)."""
    output = run_cli(["--human", "1", "--machine", "0", "--workers", "1", "--task-price", "0.036"], capsys)

    assert line_starting(output, "human-labeled").split()[-1] == "0.116"


def test_json_output_matches_compute_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """Given --json, then the output parses as the CostBreakdown that compute_cost returns."""
    output = run_cli([*SEEDED_JOB, "--json"], capsys)

    expected = compute_cost(
        human_objects=250,
        machine_objects=1000,
        workers_per_object=5,
        task_price_usd=Decimal("0.036"),
        prices=MECHANICAL_TURK_TUTORIAL_PRICES,
        workforce_kind="public",
    )
    assert CostBreakdown.model_validate_json(output) == expected


def test_price_options_override_the_table_and_name_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Given --object-fee and compute options, then the result uses them and the version names them."""
    output = run_cli(
        [*SEEDED_JOB, "--object-fee", "0.1", "--iterations", "3", "--compute-per-iteration", "2", "--json"],
        capsys,
    )

    prices = resolve_prices(
        MECHANICAL_TURK_TUTORIAL_PRICES,
        PriceOverrides(object_fee_usd=Decimal("0.1"), auto_labeling_compute_usd_per_iteration=Decimal(2)),
    )
    breakdown = CostBreakdown.model_validate_json(output)
    assert breakdown.prices_version == (
        "aws-gt-tutorial-2019+overrides(object_fee_usd,auto_labeling_compute_usd_per_iteration)"
    )
    assert breakdown == compute_cost(
        human_objects=250,
        machine_objects=1000,
        workers_per_object=5,
        task_price_usd=Decimal("0.036"),
        prices=prices,
        iterations=3,
        workforce_kind="public",
    )


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (["--human", "-1"], "argument --human: must be a whole number from 0 to"),
        (["--machine", "many"], "argument --machine: must be a whole number from 0 to"),
        (["--workers", "10"], "argument --workers: must be a whole number from 1 to 9, got '10'"),
        (["--task-price", "0.12345"], "argument --task-price: must be a USD amount from 0 to 100"),
        (["--task-price", "free"], "argument --task-price: must be a USD amount"),
        (["--object-fee", "-0.08"], "argument --object-fee: must be a USD amount from 0 to 100"),
    ],
)
def test_bad_argument_exits_2_naming_the_argument(
    replacement: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given one bad argument, when run, then it exits 2 and stderr names the argument and the rule."""
    argv = [*SEEDED_JOB, *replacement]  # argparse keeps the last occurrence of an option

    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_required_argument_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Given no workforce, then it exits 2 and names the three ways to give one."""
    with pytest.raises(SystemExit) as caught:
        main(["--human", "1", "--machine", "1", "--workers", "1"])

    assert caught.value.code == 2
    assert "one of the arguments --worker-hours --vendor-price --task-price is required" in (
        capsys.readouterr().err
    )


def test_private_team_is_priced_by_worker_hours_with_hours_saved(capsys: pytest.CaptureFixture[str]) -> None:
    """Given 3.5 worker hours at 30 USD for 250 human objects (1 worker) and 1,000 machine objects,
    then labor is 105 USD, and without auto-labeling 5 x the hours (17.5) at 30 USD plus the fees."""
    output = run_cli(
        [
            "--human",
            "250",
            "--machine",
            "1000",
            "--workers",
            "1",
            "--worker-hours",
            "3.5",
            "--labor-rate",
            "30",
        ],
        capsys,
    )

    assert line_starting(output, "  of which labor").split()[-1] == "105.00"
    assert line_starting(output, "total").split()[-1] == "205.00"  # 1,250 x 0.08 + 105
    assert line_starting(output, "without auto-labeling").split()[-1] == "625.00"  # 100 + 17.5 x 30
    assert line_starting(output, "worker hours saved").split()[-1] == "14.00"


def test_vendor_is_priced_per_human_labeled_object(capsys: pytest.CaptureFixture[str]) -> None:
    """Given a vendor at 0.12 USD per object, then human objects pay fee + 0.12 and no hours are shown."""
    output = run_cli(
        ["--human", "250", "--machine", "1000", "--workers", "2", "--vendor-price", "0.12"], capsys
    )

    assert line_starting(output, "human-labeled").split()[-1] == "50.00"  # 250 x (0.08 + 0.12)
    assert line_starting(output, "without auto-labeling").split()[-1] == "250.00"
    assert "worker hours" not in output


def _run_module(argv: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(LAMBDAS_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "labelchain.cost", *argv],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )


def test_module_runs_as_a_program() -> None:
    """Given PYTHONPATH=lambdas, when `python -m labelchain.cost` runs, then it prints the table."""
    completed = _run_module(SEEDED_JOB)

    assert completed.returncode == 0, completed.stderr
    assert "aws-gt-tutorial-2019" in completed.stdout
    assert line_starting(completed.stdout, "total").split()[-1] == "145.00"


def test_module_exits_2_on_a_bad_argument() -> None:
    """Given a bad --workers, when run as a program, then the process exits 2 naming the argument."""
    completed = _run_module([*SEEDED_JOB, "--workers", "0"])

    assert completed.returncode == 2
    assert "argument --workers: must be a whole number from 1 to 9" in completed.stderr
