"""The ``labelchain`` CLI end to end on the offline stack: validate, start --wait, status, stop, jobs
and doctor, each run in-process through ``labelchain.cli.main.main`` exactly as the console script
runs it. The CLI finds the stack as on AWS — CloudFormation DescribeStacks (the stand-in stack
``local/outputs.py`` registers in moto), then the table and state machines its outputs name — through
``AWS_ENDPOINT_URL`` (moto) and ``AWS_ENDPOINT_URL_SAGEMAKER`` (the Ground Truth emulator).

Every job here is simulated by LabelChain's Ground Truth emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from labelchain.cli.main import main
from labelchain.cli.output import usd
from labelchain.cli.project import cdk_bootstrap_parameter
from labelchain.core.cost import CostBreakdown, time_cost
from labelchain.core.naming import job_name_for_execution
from labelchain.core.records import JobRecord
from labelchain.handlers.runtime import get_runtime
from local.stack import LocalOptions, LocalStack, local_stack
from tests.workflow.harness import synthesized_template

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
BIRD_JOB = json.loads((ROOT / "examples" / "bird-bounding-box.json").read_text())
SMALL_JOB = {"auto_labeling": False, "max_concurrent_tasks": 10}
"""Without auto-labeling (which needs 1,250 objects and simulated hours), people label the manifest
in batches of 10: 20 objects take about 45 simulated minutes, 4.5 s at this clock."""
VENDOR_TEAM = {
    "kind": "vendor",
    "workteam_arn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/cli-vendor",
    "workers_per_object": 3,
    "price_per_object_usd": "0.108",
}
"""A vendor work team (an AWS-owned account's ARN) paid 0.108 USD per human-labeled object."""
LABOR_RATE_USD_PER_HOUR = Decimal(20)
LABOR_RATE = {"labor_rate_usd_per_hour": str(LABOR_RATE_USD_PER_HOUR)}
"""The private team's hourly rate for the job followed to its end: its labor is priced from the worker
time in the job's worker-response files (simulated)."""
OPTIONS = LocalOptions(scale=600.0, seed=11)
POLL = "0.1"


@pytest.fixture(autouse=True)
def _offline_aws_environment() -> None:
    """Replaces tests/conftest.py's per-test environment: the module's stack owns the environment
    (``AWS_ENDPOINT_URL`` and the rest) while it runs."""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with local_stack(synthesized_template(), OPTIONS) as running:
        yield running


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exited:  # argparse's own exits (usage errors)
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def write_input(directory: Path, name: str, job_input: dict[str, Any]) -> str:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(job_input))
    return str(path)


def small_job(stack: LocalStack, project: str, objects: int = 20, **overrides: Any) -> dict[str, Any]:
    key = f"{project}/objects.manifest"
    body = "".join(
        json.dumps({"source-ref": f"s3://{stack.data_bucket}/{project}/{n:05d}.png"}) + "\n"
        for n in range(objects)
    )
    stack.client("s3").put_object(Bucket=stack.data_bucket, Key=key, Body=body.encode())
    manifest = f"s3://{stack.data_bucket}/{key}"
    return {**BIRD_JOB, **SMALL_JOB, "manifest": manifest, "project": project, **overrides}


def job_of(stack: LocalStack, execution_name: str) -> str:
    arn = stack.labeling_job_arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"
    return job_name_for_execution(get_runtime().settings.resource_prefix, execution_name, arn)


def record_when(name: str, condition: Callable[[JobRecord], object], timeout: float = 120.0) -> JobRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = get_runtime().store.get_job(name)
        if record is not None and condition(record):
            return record
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: condition not met after {timeout} s ({record})")
        time.sleep(0.05)


# --- the console script ----------------------------------------------------------------------------


def test_the_console_script_is_installed_and_answers_help() -> None:
    script = Path(sys.executable).parent / "labelchain"
    assert script.exists(), f"{script} missing: `make setup` installs the package (pip install -e .)"

    completed = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stderr
    for command in ("validate", "start", "status", "stop", "jobs", "report", "cost", "doctor"):
        assert f"    {command}" in completed.stdout
    assert "exit codes:" in completed.stdout


# --- validate --------------------------------------------------------------------------------------


def test_validate_counts_the_s3_manifest_and_prints_the_cost_range(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_input = small_job(stack, "cli-validate", objects=20)
    path = write_input(tmp_path, "good", job_input)

    run = cli(capsys, "validate", path)

    assert run.code == 0, run.err
    assert f"{path}: valid LabelingJob input (CreateJob's model)" in run.out
    assert f"20 (counted in {job_input['manifest']})" in run.out
    # auto-labeling off: least = most = 20 objects × the 0.08 fee; a private team's worker time is not
    # known before the job runs, and without a rate it is not priced
    assert "expected cost: 1.60 USD" in run.out
    assert "labor not priced (set prices.labor_rate_usd_per_hour)" in run.out


def test_validate_names_the_broken_field_as_create_job_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_input(tmp_path, "bad", {**BIRD_JOB, "auto_labelling": True, "max_concurrent_tasks": 0})

    run = cli(capsys, "validate", path, "--objects", "1250")

    assert run.code == 2
    assert "CreateJob would fail the execution with InvalidJobInput:" in run.err
    assert "auto_labelling: unknown field" in run.err
    assert "max_concurrent_tasks: Input should be greater than or equal to 1" in run.err
    assert run.out == ""


def test_validate_refuses_a_budget_below_the_least_the_job_can_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_input(tmp_path, "budget", {**BIRD_JOB, "workforce": VENDOR_TEAM, "budget_usd": "100"})

    run = cli(capsys, "validate", path, "--objects", "1250")

    assert run.code == 2
    # the validation sample (250 of 1,250) by people at 0.08 + the vendor's 0.108, the rest at 0.08
    assert "budget_usd: 100.00 USD is below the least this job can cost, 127.00 USD" in run.err
    assert "expected cost: 127.00 USD to 235.00 USD" in run.out


# --- start --wait, status, jobs --------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    run: Run
    execution: str
    job: str
    project: str


@pytest.fixture(scope="module")
def finished(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """One job started with ``start --wait`` and followed to its end (capsys is per test: capfd here)."""
    job_input = small_job(stack, "cli-wait", prices=LABOR_RATE)
    path = write_input(tmp_path_factory.mktemp("inputs"), "wait", job_input)
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["start", path, "--name", "cli-wait", "--wait", "--interval", POLL, "--timeout", "90"])
    return Finished(
        Run(code, out.getvalue(), err.getvalue()), "cli-wait", job_of(stack, "cli-wait"), "cli-wait"
    )


def final_cost(finished: Finished) -> CostBreakdown:
    record = get_runtime().store.get_job(finished.job)
    assert record is not None
    assert record.cost is not None
    return record.cost


def test_start_wait_prints_progress_and_exits_0_when_the_job_completes(finished: Finished) -> None:
    run = finished.run
    cost = final_cost(finished)

    assert run.code == 0, run.out + run.err
    assert run.lines[0] == "started LabelingJob execution cli-wait on stack LabelChain"
    progress = [line for line in run.lines if line.startswith("[")]
    assert any("RUNNING" in line and "InProgress" in line for line in progress), run.out
    assert all(f"job {finished.job}" in line for line in progress if "InProgress" in line)
    assert any("(running)" in line for line in progress), "the reconciler's running cost shows while it runs"
    assert any("Completed" in line and "[final]" in line for line in progress)
    assert run.lines[-2].strip() == (
        f"job {finished.job}: Completed, 20 objects: human 20, machine 0 (0.0 % machine), "
        f"cost {usd(cost.total_cost_usd)} (final)"
    )
    # 20 objects × the 0.08 fee, plus the simulated team's worker time at 20 USD an hour
    assert cost.labor_cost_usd is not None
    assert cost.worker_seconds is not None
    assert cost.worker_seconds > 0
    assert cost.total_cost_usd == Decimal("1.60") + cost.labor_cost_usd
    assert cost.labor_cost_usd == time_cost(cost.worker_seconds, LABOR_RATE_USD_PER_HOUR)
    assert run.lines[-1].startswith("SUCCEEDED after ")
    assert run.lines[-1].endswith(": cli-wait")


def test_status_of_a_job_by_execution_name_and_by_job_name(
    finished: Finished, capsys: pytest.CaptureFixture[str]
) -> None:
    by_execution = cli(capsys, "status", finished.execution)
    by_job = cli(capsys, "status", finished.job)

    assert by_execution.code == by_job.code == 0
    assert by_execution.out == by_job.out
    fields = dict(line.split(": ", 1) for line in by_job.lines if ": " in line and not line.startswith(" "))
    assert fields["job"].strip() == finished.job
    assert fields["status"].strip() == "Completed"
    assert fields["execution"].strip() == "cli-wait (labeling-job): SUCCEEDED"
    assert fields["labeled"].strip().startswith("human 20, machine 0 (0.0 % machine), total 20")
    cost = final_cost(finished)
    total, labor = usd(cost.total_cost_usd), usd(cost.labor_cost_usd)
    assert fields["cost"].strip().startswith(f"{total} (final; human {total} (labor {labor}), machine 0.00")
    assert "; worker hours " in fields["cost"]
    assert fields["end detected"].strip().startswith("by ")
    assert fields["simulated"].strip().startswith("yes")


def test_status_of_a_project_is_a_table_and_jobs_shows_the_lineage(
    finished: Finished, capsys: pytest.CaptureFixture[str]
) -> None:
    table = cli(capsys, "status", "--project", finished.project)
    lineage = cli(capsys, "jobs", "--project", finished.project)

    assert table.code == lineage.code == 0
    (row,) = [line for line in table.lines if line.startswith(finished.job)]
    assert row.split()[1:6] == [finished.project, "Completed", "reconciler", "20", "0"] or row.split()[
        1:6
    ] == [finished.project, "Completed", "execution", "20", "0"]
    assert row.split()[7] == f"{final_cost(finished).total_cost_usd:.2f}"
    assert lineage.lines[0].startswith(f"Project {finished.project!r}: 1 job, oldest first (table ")
    assert any(f"  {finished.job}  Completed" in line for line in lineage.lines)


def test_an_unknown_stack_or_job_exits_3(finished: Finished, capsys: pytest.CaptureFixture[str]) -> None:
    no_stack = cli(capsys, "status", "--stack", "NoSuchStack")
    no_job = cli(capsys, "status", "no-such-job")

    assert no_stack.code == no_job.code == 3
    assert "stack 'NoSuchStack' is not deployed in us-east-1" in no_stack.err
    assert "'no-such-job': no job record of that name" in no_job.err


# --- stop ------------------------------------------------------------------------------------------


def test_stop_ends_the_execution_aborted_and_the_record_final_stopped_with_its_reason(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """200 objects in batches of 10 take far longer than the test: the job is running when stopped."""
    path = write_input(tmp_path, "stop", small_job(stack, "cli-stop", objects=200))
    started = cli(capsys, "start", path, "--name", "cli-stop")
    assert started.code == 0, started.err
    job = job_of(stack, "cli-stop")
    record_when(job, lambda r: r.watch_token and r.counters.human_labeled > 0)

    running = cli(capsys, "status")
    stopped = cli(
        capsys, "stop", "cli-stop", "--reason", "wrong batch", "--wait", "--interval", POLL, "--timeout", "60"
    )

    assert running.code == 0
    assert any(line.startswith(job) and "InProgress*" in line for line in running.lines), running.out
    assert stopped.code == 0, stopped.out + stopped.err
    assert stopped.lines[0].startswith("stopped execution cli-stop (labeling-job)")
    assert stopped.lines[-1].startswith("ABORTED after ")
    described = stack.client("stepfunctions").describe_execution(
        executionArn=stack.labeling_job_arn.replace(":stateMachine:", ":execution:") + ":cli-stop"
    )
    assert described["status"] == "ABORTED"
    record = get_runtime().store.get_job(job)
    assert record is not None
    assert record.finalized_at is not None
    assert record.status == "Stopped"
    assert record.stop_reason is not None
    assert "ABORTED" in record.stop_reason
    assert 0 < record.counters.human_labeled < 200
    assert record.cost is not None
    assert f"job {job}: Stopped, 200 objects" in stopped.out

    again = cli(capsys, "stop", job)
    assert again.code == 0
    assert again.out.startswith(f"job {job} is already final: Stopped")


# --- doctor ----------------------------------------------------------------------------------------


def checks_of(run: Run) -> dict[str, str]:
    """Check name → its status (``PASS|FAIL|SKIP name — …``)."""
    found = {}
    for line in run.lines:
        status, _, rest = line.partition(" ")
        if status in {"PASS", "FAIL", "SKIP"}:
            found[rest.split(" — ")[0]] = status
    return found


def test_doctor_reports_each_check_and_fails_on_the_ones_offline_cannot_pass(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = write_input(tmp_path, "private", small_job(stack, "cli-doctor"))

    before = cli(capsys, "doctor", private)
    stack.client("ssm").put_parameter(Name=cdk_bootstrap_parameter(), Value="27", Type="String")
    after = cli(capsys, "doctor", private)

    assert before.code == after.code == 1  # the Powertools parameter: moto reserves /aws/ names
    assert checks_of(before) == {
        "credentials": "PASS",
        "region": "PASS",
        "labeling API": "PASS",
        "work team": "PASS",
        "Powertools layer": "FAIL",
        "CDK bootstrap": "FAIL",
        "stack": "PASS",
    }
    assert checks_of(after)["CDK bootstrap"] == "PASS"
    team = BIRD_JOB["workforce"]["workteam_arn"]  # DescribeWorkteam answered by the emulator (simulated)
    assert f"PASS work team — private workteam {team} exists in us-east-1" in before.lines
    (bootstrap,) = [line for line in before.lines if line.startswith("FAIL CDK bootstrap")]
    assert bootstrap.endswith("npx cdk bootstrap aws://123456789012/us-east-1")
    assert "bootstrap version 27 in 123456789012/us-east-1" in after.out
    (layer,) = [line for line in after.lines if line.startswith("FAIL Powertools layer")]
    assert "/aws/service/powertools/python/arm64/python3.13/" in layer
    assert "set cdk.json powertools_layer_version" in layer
    assert after.lines[-1] == "doctor: 6 PASS, 1 FAIL, 0 SKIP"


def test_doctor_fails_a_work_team_of_another_region(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/birders"
    job_input = small_job(
        stack, "cli-doctor-team", workforce={"kind": "private", "workteam_arn": team, "workers_per_object": 1}
    )
    path = write_input(tmp_path, "private", job_input)

    run = cli(capsys, "doctor", path, "--before-deploy")

    assert run.code == 1
    assert checks_of(run)["work team"] == "FAIL"
    assert checks_of(run)["stack"] == "SKIP"
    (line,) = [line for line in run.lines if line.startswith("FAIL work team")]
    assert f"{team} is in eu-west-1, the jobs run in us-east-1" in line
    assert "use a private workteam of us-east-1" in line
