"""Specification of ``python -m labelchain.report``: report.json (file or S3) in, readable PNGs out."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from labelchain.core.comparison import ExperimentComparison
from labelchain.core.s3_layout import report_prefix
from labelchain.report import main, report_figures
from tests.conftest import REGION, TEST_SETTINGS
from tests.unit.test_comparison import missing, present, tutorial_comparison, tutorial_record

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVERY_FIGURE = [
    "control-cost-per-iteration.png",
    "control-objects-per-iteration.png",
    "initial-cost-per-iteration.png",
    "initial-objects-per-iteration.png",
    "jobs-compared.png",
    "pretrained-cost-per-iteration.png",
    "pretrained-objects-per-iteration.png",
]


def write_report(path: Path, report: ExperimentComparison) -> Path:
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return path


def assert_is_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert len(data) > 10_000, f"{path.name} is only {len(data)} bytes: nothing drawn?"


def test_every_figure_is_written_as_a_png_from_a_report_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_report(tmp_path / "report.json", tutorial_comparison())
    out = tmp_path / "figures"

    assert main([str(source), "--out", str(out)]) == 0

    assert sorted(p.name for p in out.iterdir()) == EVERY_FIGURE
    for path in out.iterdir():
        assert_is_png(path)
    assert sorted(capsys.readouterr().out.split()) == [str(out / name) for name in EVERY_FIGURE]


def test_a_missing_job_gets_no_figures_of_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_report(
        tmp_path / "report.json", tutorial_comparison(control=missing("control", "not run"))
    )

    main([str(source), "--out", str(tmp_path / "out")])

    assert not any(p.name.startswith("control-") for p in (tmp_path / "out").iterdir())
    assert_is_png(tmp_path / "out" / "jobs-compared.png")
    assert "skipped control: missing (not run)" in capsys.readouterr().err


def test_the_report_is_read_from_s3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = f"{report_prefix('birds', 'birds-exp-1')}report.json"
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=TEST_SETTINGS.output_bucket)
        s3.put_object(
            Bucket=TEST_SETTINGS.output_bucket, Key=key, Body=tutorial_comparison().model_dump_json()
        )

        main([f"s3://{TEST_SETTINGS.output_bucket}/{key}", "--out", str(tmp_path)])

    assert sorted(p.name for p in tmp_path.iterdir()) == EVERY_FIGURE
    assert_is_png(tmp_path / "jobs-compared.png")


def test_figures_have_titles_axis_labels_with_units_and_legends() -> None:
    figures = report_figures(tutorial_comparison())

    (cost,) = figures["pretrained-cost-per-iteration.png"].axes
    assert cost.get_title().startswith("Labeling cost per iteration: pretrained job")
    assert (cost.get_xlabel(), cost.get_ylabel()) == ("active-learning iteration", "cost (USD)")
    legend = cost.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "human-labeled objects",
        "machine-labeled objects",
    ]
    (objects,) = figures["pretrained-objects-per-iteration.png"].axes
    assert objects.get_ylabel() == "objects labeled"
    assert [a.get_ylabel() for a in figures["jobs-compared.png"].axes] == [
        "duration (hours)",
        "objects machine-labeled (%)",
        "total labeling cost (USD)",
        "worker hours",
    ]
    assert "pretrained-worker-hours-per-iteration.png" not in figures  # no worker time recorded


def test_a_job_with_worker_time_gets_a_worker_hours_per_iteration_figure() -> None:
    """Given the pretrained job's rows carrying worker seconds (1.5 h in iteration 1), then its
    worker-hours figure is drawn with one bar per iteration labeled in hours."""
    record = tutorial_record("pretrained")
    rows = [
        row.model_copy(update={"worker_seconds": Decimal(5400) if row.iteration == 1 else Decimal(0)})
        for row in record.iterations
    ]
    report = tutorial_comparison(
        pretrained=present("pretrained", record.model_copy(update={"iterations": rows}))
    )

    (axes,) = report_figures(report)["pretrained-worker-hours-per-iteration.png"].axes

    assert axes.get_title().startswith("Worker hours per iteration: pretrained job")
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("active-learning iteration", "worker hours")
    assert [text.get_text() for text in axes.texts if text.get_text()] == ["1.50"]


def test_a_simulated_report_is_marked_simulated_in_every_title() -> None:
    simulated = tutorial_comparison(
        pretrained=present("pretrained", tutorial_record("pretrained", simulated=True))
    )

    figures = report_figures(simulated)

    titles = [figure.axes[0].get_title() for name, figure in figures.items() if name != "jobs-compared.png"]
    assert all(title.startswith("SIMULATED: ") for title in titles)
    assert figures["jobs-compared.png"].get_suptitle().startswith("SIMULATED: ")


def test_a_report_of_real_jobs_has_no_simulated_marker() -> None:
    figures = report_figures(tutorial_comparison())

    assert not any("SIMULATED" in figure.axes[0].get_title() for figure in figures.values())
    assert "SIMULATED" not in figures["jobs-compared.png"].get_suptitle()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not a LabelChain report.json"),
        ('{"execution_name": "x"}', "not a LabelChain report.json"),
    ],
    ids=["no-file", "not-json", "not-a-report"],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    source = tmp_path / "report.json"
    if content is not None:
        source.write_text(content, encoding="utf-8")

    with pytest.raises(SystemExit) as exited:
        main([str(source), "--out", str(tmp_path / "out")])

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_report_missing_from_s3_exits_2_naming_the_uri(capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"s3://{TEST_SETTINGS.output_bucket}/experiments/none/report.json"
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=TEST_SETTINGS.output_bucket)

        with pytest.raises(SystemExit) as exited:
            main([uri])

    assert exited.value.code == 2
    assert f"{uri}: cannot read it from S3 (NoSuchKey)" in capsys.readouterr().err


def test_the_lambda_code_never_imports_matplotlib() -> None:
    """matplotlib is not in the Lambda runtime: importing the handler or the CLI must not need it."""
    check = (
        "import sys, labelchain.handlers.compare_jobs, labelchain.report; "
        "sys.exit('matplotlib' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(LAMBDAS_DIR)}

    completed = subprocess.run([sys.executable, "-c", check], env=env, check=False, capture_output=True)

    assert completed.returncode == 0, completed.stderr.decode()
