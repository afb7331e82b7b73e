"""Specification of the ``labelchain`` CLI offline: its parser, its one output formatter, ``validate``
without AWS, the rules it shares with infra/, and that no Lambda handler imports it."""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelchain.cli import output
from labelchain.cli.main import COMMANDS, main
from labelchain.cli.project import ProjectFiles, powertools_ssm_parameter, project_files, stack_name_for
from labelchain.cli.stack import OUTPUT_KEYS
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
BIRD_JOB: dict[str, Any] = json.loads((ROOT / "examples" / "bird-bounding-box.json").read_text())
EXPERIMENT: dict[str, Any] = json.loads((ROOT / "examples" / "experiment-birds.json").read_text())
VENDOR_BIRD_JOB: dict[str, Any] = {
    **BIRD_JOB,
    "workforce": {
        "kind": "vendor",
        "workteam_arn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/bird-vendor",
        "workers_per_object": 1,
        "price_per_object_usd": "0.06",
    },
}
"""The bird job labeled by a vendor at 0.06 USD per human-labeled object: priced before it runs."""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(directory: Path, name: str, content: Any) -> str:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def manifest(directory: Path, objects: int, bad_line: int | None = None) -> str:
    lines = [json.dumps({"source-ref": f"s3://bucket/images/{n:05d}.png"}) for n in range(objects)]
    if bad_line is not None:
        lines[bad_line - 1] = '{"source-ref": "not-a-uri"}'
    return write(directory, "objects.manifest", "\n".join(lines) + "\n")


# --- the parser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [module.NAME for module in COMMANDS])
def test_every_subcommand_has_help_with_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, command, "--help")

    assert code == 0
    assert f"usage: labelchain {command}" in out
    assert "examples:\n  labelchain " in out
    assert "exit codes:\n  0    success" in out


def test_the_top_level_help_lists_the_subcommands_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")

    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    ") and line[4] != " "]
    assert code == 0
    assert listed == [
        "validate",
        "start",
        "status",
        "stop",
        "jobs",
        "report",
        "cost",
        "doctor",
        "project-settings",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["start"], "the following arguments are required: INPUT.json"),
        (["start", "x.json", "--name", "two words"], "--name: expected 1-80 letters, digits"),
        (["start", "x.json", "--interval", "0"], "--interval: must be a number of seconds above 0"),
        (["validate", "x.json", "--objects", "0"], "--objects: must be a whole number from 1"),
        (["validate", "x.json", "--objects", "5", "--manifest-file", "m"], "not allowed with argument"),
        (["status", "--limit", "0"], "--limit: must be a whole number of at least 1"),
        (["jobs"], "the following arguments are required: --project"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_bad_usage_exits_2_naming_the_argument(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *argv)

    assert code == 2
    assert message in err


def test_cost_under_the_cli_prints_what_the_older_module_prints(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--human", "250", "--machine", "1000", "--workers", "5", "--task-price", "0.036"]
    from labelchain.cost import main as older  # noqa: PLC0415

    code, new, _ = run(capsys, "cost", *argv)
    assert older(argv) == 0

    assert code == 0
    assert new == capsys.readouterr().out
    assert new.splitlines()[-4].split()[-1] == "145.00"  # the total: AWS's tutorial figure


# --- the output formatter --------------------------------------------------------------------------


def test_tables_align_columns_by_their_widest_cell_and_drop_trailing_spaces() -> None:
    text = output.table(["job", "n", "note"], [["a", "1", ""], ["bb", "100", "x"]], "lrl")

    assert text.splitlines() == ["job    n  note", "a      1", "bb   100  x"]


def test_fields_align_their_values() -> None:
    assert (
        output.fields([("job", "a"), ("status", "InProgress")], "  ") == "  job:    a\n  status: InProgress"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [("3.7600", "3.76 USD"), ("1234.5", "1,234.50 USD"), ("0.116", "0.1160 USD"), (None, "-")],
)
def test_amounts_show_cents_and_keep_sub_cent_digits(value: str | None, text: str) -> None:
    assert output.usd(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.9, "59s"), (65, "1m05s"), (3700, "1h01m"), (90_000, "1d01h")]
)
def test_elapsed_times_are_short(seconds: float, text: str) -> None:
    assert output.elapsed(seconds) == text


# --- validate, offline -----------------------------------------------------------------------------


def test_validate_counts_a_local_manifest_and_prices_the_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "job.json", VENDOR_BIRD_JOB)
    local = manifest(tmp_path, 1300)

    code, out, err = run(capsys, "validate", path, "--manifest-file", local)

    assert code == 0, err
    assert f"objects:       1,300 (counted in {local})" in out
    # docs/COST.md: a human-labeled object pays the fee 0.08 + the vendor's 0.06, a machine-labeled one 0.08
    assert "expected cost: 119.60 USD to 182.00 USD" in out  # 260 × 0.14 + 1,040 × 0.08; 1,300 × 0.14
    assert "least: 119.60 USD: 260 by people (the validation sample), 1,040 by the model" in out


def test_validate_prices_a_private_team_without_a_labor_rate_at_the_object_fee_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "job.json", BIRD_JOB)
    local = manifest(tmp_path, 1300)

    code, out, err = run(capsys, "validate", path, "--manifest-file", local)

    assert code == 0, err
    assert "expected cost: 104.00 USD\n" in out  # 1,300 × 0.08, whoever labels them
    assert "labor not priced (set prices.labor_rate_usd_per_hour)" in out


def test_validate_reports_a_bad_manifest_line_as_create_job_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "job.json", BIRD_JOB)
    local = manifest(tmp_path, 1300, bad_line=2)

    code, _, err = run(capsys, "validate", path, "--manifest-file", local)

    assert code == 2
    assert (
        f"manifest: 1 bad line(s) in {local}; first: line 2: 'source-ref' must be an s3://bucket/key URI"
        in err
    )


def test_validate_applies_the_auto_labeling_minimum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "job.json", BIRD_JOB)

    code, _, err = run(capsys, "validate", path, "--objects", "100")

    assert code == 2
    assert "automated data labeling needs at least 1,250 objects" in err


def test_validate_an_experiment_prices_its_three_jobs_and_checks_its_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "experiment.json", EXPERIMENT)

    code, out, _ = run(capsys, "validate", path, "--experiment", "--objects", "2500")
    too_small, _, err = run(capsys, "validate", path, "--experiment", "--objects", "2000")

    assert code == 0
    assert "valid Experiment input (PrepareDataset's model)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1]}
    assert rows["initial"][1] == rows["pretrained"][1] == rows["control"][1] == "1,250"
    # 3 jobs × 1,250 objects × 0.08; the team's labor (20 USD per worker hour) is priced once it ran
    assert rows["total"][1:] == ["300.00", "USD", "300.00", "USD"]
    assert "priced from worker time once the job ran (not in this range)" in out
    assert too_small == 2
    assert "parts of 1,000" in err


def test_validate_json_says_what_it_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "job.json", {**VENDOR_BIRD_JOB, "budget_usd": "200"})

    code, out, _ = run(capsys, "validate", path, "--objects", "1250", "--json")

    document = json.loads(out)
    assert code == 0
    assert document["valid"] is True
    assert document["objects_source"] == "--objects"
    # 250 × (0.08 + 0.06) + 1,000 × 0.08; 1,250 × (0.08 + 0.06)
    assert document["expected_cost_usd"] == {"least": "115.0000", "most": "175.0000"}
    assert document["budget_usd"] == "200"
    assert document["jobs"]["job"]["validation_objects"] == 250


def test_validate_json_of_an_invalid_input_carries_create_jobs_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "job.json", {**BIRD_JOB, "project": "Birds"})

    code, out, err = run(capsys, "validate", path, "--objects", "1250", "--json")

    assert code == 2
    assert json.loads(out) == {
        "valid": False,
        "error": "InvalidJobInput",
        "cause": "project: expected 1-40 lowercase letters, digits and single hyphens, starting and ending "
        "with a letter or digit",
    }
    assert "InvalidJobInput: project: expected 1-40 lowercase letters" in err


def test_validate_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BIRD_JOB)))

    code, out, _ = run(capsys, "validate", "-", "--objects", "1250")

    assert code == 0
    assert out.startswith("-: valid LabelingJob input")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        ("[1, 2]", "input: expected a JSON object, got list"),
    ],
)
def test_validate_refuses_what_is_not_a_json_object(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "validate", write(tmp_path, "job.json", content), "--objects", "1250")

    assert code == 2
    assert message in err


def test_validate_of_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "no/such/input.json", "--objects", "1")

    assert code == 2
    assert "no/such/input.json: no such file" in err


def test_without_credentials_validate_asks_for_the_object_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    code, _, err = run(capsys, "validate", write(tmp_path, "job.json", BIRD_JOB))

    assert code == 2
    assert f"cannot count the objects of {BIRD_JOB['manifest']}: no AWS credentials to read it" in err
    assert "pass --objects N" in err


def test_an_unreadable_s3_manifest_asks_for_the_object_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        code, _, err = run(capsys, "validate", write(tmp_path, "job.json", BIRD_JOB))

    assert code == 2
    assert f"cannot read the manifest {BIRD_JOB['manifest']} (" in err
    assert "NoSuchBucket" in err


def test_validate_counts_the_s3_manifest_when_it_can_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="replace-with-data-bucket-name")
        body = Path(manifest(tmp_path, 1250)).read_bytes()
        s3.put_object(Bucket="replace-with-data-bucket-name", Key="birds/half-a.manifest", Body=body)

        code, out, _ = run(capsys, "validate", write(tmp_path, "job.json", BIRD_JOB))

    assert code == 0
    assert f"1,250 (counted in {BIRD_JOB['manifest']})" in out


# --- the rules shared with infra/, and the import boundary ----------------------------------------


def test_the_stack_name_and_the_powertools_pin_are_infras() -> None:
    from infra.application import stack_name_for as infra_stack_name_for  # noqa: PLC0415
    from infra.functions import powertools_ssm_parameter as infra_parameter  # noqa: PLC0415
    from infra.functions import powertools_version  # noqa: PLC0415

    files = ProjectFiles(ROOT)
    assert project_files(ROOT) == files
    for prefix in ("labelchain", "team-a"):
        assert stack_name_for(prefix) == infra_stack_name_for(prefix)
    assert files.powertools_version() == powertools_version()
    assert powertools_ssm_parameter("1.2.3") == infra_parameter("1.2.3")
    assert files.stack_name() == "LabelChain"


def test_the_outputs_the_cli_reads_are_the_ones_the_stack_publishes() -> None:
    tree = ast.parse((ROOT / "infra" / "stack.py").read_text())
    (outputs,) = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "_outputs"
    ]
    published = {
        key.value
        for node in ast.walk(outputs)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and isinstance(key.value, str)
    }

    assert set(OUTPUT_KEYS) <= published


def test_no_lambda_module_imports_the_cli() -> None:
    package = LAMBDAS / "labelchain"
    # The CLI's own entry points: `python -m labelchain` and the three old module aliases.
    aliases = {package / name for name in ("cost.py", "report.py", "lineage.py", "__main__.py")}
    offenders = []
    for path in package.rglob("*.py"):
        if package / "cli" in path.parents or path in aliases:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path}: {name}" for name in names if name.startswith("labelchain.cli")]

    assert offenders == []


def test_importing_every_handler_loads_neither_the_cli_nor_matplotlib() -> None:
    check = (
        "import importlib, pkgutil, sys, labelchain.handlers as h\n"
        "for m in pkgutil.iter_modules(h.__path__):\n"
        "    importlib.import_module(f'labelchain.handlers.{m.name}')\n"
        "loaded = sorted(n for n in sys.modules if n.startswith(('labelchain.cli', 'matplotlib')))\n"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(LAMBDAS)}

    completed = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=False, timeout=120
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_docs_cli_md_documents_every_subcommand_and_option() -> None:
    from labelchain.cli.main import build_parser  # noqa: PLC0415

    docs = (ROOT / "docs" / "CLI.md").read_text()
    sections = {chunk.split("\n", 1)[0].strip(): chunk for chunk in docs.split("\n## ")[1:] if chunk.split()}
    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {option}"
        for name, parser in subparsers.choices.items()
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help" and option not in sections.get(name, "")
    ]

    assert set(subparsers.choices) <= set(sections), "a subcommand has no section in docs/CLI.md"
    assert missing == []
