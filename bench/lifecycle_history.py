"""History events of one LabelingJob execution: the task-token wait against the poll loops it replaced.

A Standard execution fails at 25,000 history events, and a labeling job may run 30 days. This runs the
*synthesized* LabelingJob definition in moto's engine (``local.moto_engine``, handlers in-process, a
scripted SageMaker), for a job that ends after 1 simulated day and one that ends after 30: WaitForJob's
re-arm timeout (``wait_rearm_hours``) is compressed with ``timeout_scale``, so a simulated day passes
in ``--day-seconds`` of real time, and the job's end is delivered as Ground Truth does it — the
JobEvents handler gets a "Labeling Job State Change" event — once the wanted number of re-arms has
happened (the engine gives every retry of the wait a new task token, as Step Functions does; the script
checks that a D-day job saw exactly D re-arm timeouts). The baseline runs in the same engine, in the same
run: a minimal definition with the old poll loop's shape (Wait ``SecondsPath`` → Lambda Task → Choice),
to *measure* its events per cycle; ``bench/poll_loop_baseline.py`` says how many cycles a job of a given
length needed.

    python bench/lifecycle_history.py [--day-seconds 0.5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

from benchlib import (  # noqa: E402
    ACCOUNT,
    DAY,
    REGION,
    ScriptedSageMaker,
    history,
    machine_line,
    markdown_table,
    quiet_lambda_environment,
    state_events,
    synthesized_template,
)
from poll_loop_baseline import HISTORY_EVENT_LIMIT, next_wait_seconds, polls_for_duration  # noqa: E402

SHORT_DAYS = 1
LONG_DAYS = 30
FIXED_POLL_SECONDS = 30
TARGET_EVENTS_PER_DAY = 60
TARGET_EVENTS_30_DAYS = 1_000
POLLER_FUNCTION = "bench-poll-loop-poller"
POLL_LOOP_MACHINE = "bench-poll-loop"
SERVICES = ("s3", "kms", "dynamodb", "iam", "lambda", "stepfunctions", "events", "sqs", "sns")
WAIT_STATE = "WaitForJob"


@dataclass
class Run:
    """One execution's history, as measured."""

    label: str
    status: str
    events: list[dict[str, Any]]
    watch_invocations: int = 0
    polls: int = 0
    """Poll cycles (the poll-loop baseline only)."""

    @property
    def total(self) -> int:
        return len(self.events)

    def types(self) -> Counter[str]:
        return Counter(str(e["type"]) for e in self.events)

    def state_events(self, state: str) -> int:
        return state_events(self.events, state)


def wait_until_ended(stepfunctions: Any, execution_arn: str, timeout_seconds: float) -> str:
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = str(stepfunctions.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING":
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout_seconds} s")
        time.sleep(0.005)


def job_state_change_event(job_name: str, status: str) -> dict[str, Any]:
    """Ground Truth's EventBridge event for a labeling job's status change (the ARN only in resources)."""
    from labelchain.services.job_events import JOB_STATE_CHANGE  # noqa: PLC0415

    return {
        "version": "0",
        "id": f"bench-{job_name}-{status}",
        "detail-type": JOB_STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"],
        "detail": {"LabelingJobStatus": status},
    }


class Bench:
    """moto with the synthesized stack deployed, the handlers' Runtime, and the poll-loop baseline."""

    def __init__(self, template: dict[str, Any], clients: dict[str, Any], day_seconds: float) -> None:
        from labelchain.adapters.s3 import ObjectStore  # noqa: PLC0415
        from labelchain.adapters.sagemaker import LabelingJobs  # noqa: PLC0415
        from labelchain.adapters.stepfunctions import Executions  # noqa: PLC0415
        from labelchain.adapters.store import JobStore  # noqa: PLC0415
        from labelchain.services.runtime import Runtime  # noqa: PLC0415
        from labelchain.settings import settings_from_environment  # noqa: PLC0415
        from local.resources import deploy_template  # noqa: PLC0415

        self.clients = clients
        self.stepfunctions = clients["stepfunctions"]
        self.day_seconds = day_seconds
        self.deployed = deploy_template(template, clients)
        environment = next(iter(self.deployed.function_environments.values()))
        self.settings = settings_from_environment({**environment, "AWS_REGION": REGION})
        self.sagemaker = ScriptedSageMaker()
        self.runtime = Runtime(
            settings=self.settings,
            jobs=LabelingJobs(self.sagemaker.client),
            objects=ObjectStore(clients["s3"]),
            store=JobStore(clients["dynamodb"], self.settings.table_name),
            executions_adapter=Executions(self.stepfunctions),
        )
        self.labeling_job_arn = self.deployed.state_machine("LabelingJob")
        definition = json.loads(
            self.stepfunctions.describe_state_machine(stateMachineArn=self.labeling_job_arn)["definition"]
        )
        self.rearm_seconds = float(definition["States"][WAIT_STATE]["TimeoutSeconds"])
        self.timeout_scale = DAY / day_seconds  # simulated seconds per real second
        self.poll_loop_arn = self._create_poll_loop(definition)
        self.manifest_uri = self._put_manifest(1250)

    # --- the poll-loop baseline ------------------------------------------------------------------

    def _create_poll_loop(self, product: dict[str, Any]) -> str:
        """The old LabelingJob loop's shape: Wait (SecondsPath) → PollJob (a Lambda task shaped like the
        product's own, with its Retry) → Choice, around a poller that says when the job has ended."""
        from local.resources import placeholder_zip  # noqa: PLC0415

        role = next(arn for arn in self.deployed.arns.values() if ":role/" in arn)
        function_arn = self.clients["lambda"].create_function(
            FunctionName=POLLER_FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="bench.poller",
            Code={"ZipFile": placeholder_zip()},
        )["FunctionArn"]
        template_task = product["States"]["Finalize"]
        definition = {
            "StartAt": "WaitForProgress",
            "States": {
                "WaitForProgress": {"Type": "Wait", "SecondsPath": "$.poll.wait_seconds", "Next": "PollJob"},
                "PollJob": {
                    "Type": "Task",
                    "Resource": function_arn,
                    "Parameters": {"job_name.$": "$.job_name", "previous.$": "$.poll"},
                    "ResultPath": "$.poll",
                    "Retry": template_task["Retry"],
                    "Next": "JobStatus",
                },
                "JobStatus": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.poll.status", "StringEquals": "Completed", "Next": "JobSucceeded"}
                    ],
                    "Default": "WaitForProgress",
                },
                "JobSucceeded": {"Type": "Succeed"},
            },
        }
        return str(
            self.stepfunctions.create_state_machine(
                name=POLL_LOOP_MACHINE, definition=json.dumps(definition), roleArn=role
            )["stateMachineArn"]
        )

    @staticmethod
    def poller(event: dict[str, Any]) -> dict[str, Any]:
        """What PollJob answered: the job's status and the next wait (a tenth of its age, 1–30 min)."""
        previous = event["previous"]
        polls = previous["polls"] + 1
        elapsed = previous["elapsed"] + previous["wait_seconds"]
        done = polls >= previous["stop_after"]
        return {
            "status": "Completed" if done else "InProgress",
            "polls": polls,
            "elapsed": elapsed,
            "wait_seconds": next_wait_seconds(elapsed),
            "stop_after": previous["stop_after"],
        }

    def run_poll_loop(self, polls: int) -> Run:
        first = {"polls": 0, "elapsed": 0, "wait_seconds": 60, "stop_after": polls}
        arn = self.stepfunctions.start_execution(
            stateMachineArn=self.poll_loop_arn,
            name=f"poll-loop-{polls}",
            input=json.dumps({"job_name": "bench-poll-loop", "poll": first}),
        )["executionArn"]
        status = wait_until_ended(self.stepfunctions, arn, 60)
        return Run(f"poll loop, {polls} polls", status, history(self.stepfunctions, arn), polls=polls)

    # --- LabelChain's LabelingJob ----------------------------------------------------------------

    def _put_manifest(self, objects: int) -> str:
        bucket = self.settings.data_bucket
        key = f"birds/bench-{objects}.manifest"
        body = "".join(
            json.dumps({"source-ref": f"s3://{bucket}/birds/images/{n:05d}.jpg"}) + "\n"
            for n in range(objects)
        )
        self.clients["s3"].put_object(Bucket=bucket, Key=key, Body=body.encode())
        return f"s3://{bucket}/{key}"

    def run_labeling_job(self, days: int, engine: Any) -> Run:
        """One LabelingJob execution whose job ends after ``days`` simulated days: WaitForJob is re-armed
        once per ``wait_rearm_hours``, then Ground Truth's Completed event reaches JobEvents."""
        from infra.functions import WATCH_JOB  # noqa: PLC0415
        from labelchain.core.naming import job_name_for_execution  # noqa: PLC0415
        from labelchain.handlers import job_events  # noqa: PLC0415
        from local.lambda_dispatch import LocalLambdaContext  # noqa: PLC0415

        job_input = json.loads((ROOT / "examples" / "bird-bounding-box.json").read_text())
        job_input["manifest"] = self.manifest_uri
        name = f"history-{days}d-{time.monotonic_ns()}"
        arn = self.stepfunctions.start_execution(
            stateMachineArn=self.labeling_job_arn, name=name, input=json.dumps(job_input)
        )["executionArn"]
        job_name = job_name_for_execution(self.settings.resource_prefix, name, arn)
        rearms = math.floor(days * DAY / self.rearm_seconds)
        deadline = time.monotonic() + 60 + (rearms + 2) * self.day_seconds * 4

        def arms() -> list[Any]:
            return [
                i
                for i in list(engine.invocations)
                if i.function.name.endswith(WATCH_JOB.name_suffix) and i.event.get("job_name") == job_name
            ]

        while len(arms()) < rearms + 1:  # the first arm, then one per re-arm
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: {len(arms())} WatchJob invocations, wanted {rearms + 1}")
            time.sleep(0.001)
        self.sagemaker.set_status(job_name, "Completed")
        delivered = job_events.handler(job_state_change_event(job_name, "Completed"), LocalLambdaContext())
        status = wait_until_ended(self.stepfunctions, arn, 60)
        run = Run(f"LabelChain, {days} d", status, history(self.stepfunctions, arn), len(arms()))
        timed_out = run.types().get("TaskTimedOut", 0)
        if delivered.get("action") != "resumed" or timed_out != rearms or status != "SUCCEEDED":
            raise RuntimeError(
                f"{name}: event action {delivered.get('action')!r}, {timed_out} re-arm timeouts (wanted "
                f"{rearms}), status {status}: the event raced a timeout; rerun with a larger --day-seconds"
            )
        return run


def measure(day_seconds: float) -> dict[str, Any]:

    with quiet_lambda_environment():
        return _measure(synthesized_template(), day_seconds)


def _measure(template: dict[str, Any], day_seconds: float) -> dict[str, Any]:
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        from labelchain.handlers.runtime import override_runtime  # noqa: PLC0415
        from local.lambda_dispatch import dispatch_to_handler  # noqa: PLC0415
        from local.moto_engine import InvokedFunction, in_process_engine  # noqa: PLC0415

        clients = {service: boto3.client(service, region_name=REGION) for service in SERVICES}
        bench = Bench(template, clients, day_seconds)

        def dispatch(function: InvokedFunction, event: Any) -> object:
            if function.name == POLLER_FUNCTION:
                return Bench.poller(event)
            return dispatch_to_handler(function, event)

        with (
            override_runtime(bench.runtime),
            in_process_engine(dispatch, timeout_scale=bench.timeout_scale) as engine,
        ):
            short_loop, long_loop = bench.run_poll_loop(3), bench.run_poll_loop(8)
            started = time.monotonic()
            short = bench.run_labeling_job(SHORT_DAYS, engine)
            long = bench.run_labeling_job(LONG_DAYS, engine)
            labelchain_seconds = time.monotonic() - started
    return {
        "day_seconds": day_seconds,
        "rearm_seconds": bench.rearm_seconds,
        "labelchain_real_seconds": labelchain_seconds,
        "runs": [short_loop, long_loop, short, long],
    }


def fixed_loop_polls(days: float, seconds: int = FIXED_POLL_SECONDS) -> int:
    return math.ceil(days * DAY / seconds)


def report(measured: dict[str, Any]) -> dict[str, Any]:
    runs: list[Run] = measured["runs"]
    short_loop, long_loop, short, long = runs
    for run in measured["runs"]:
        if run.status != "SUCCEEDED":
            raise RuntimeError(f"{run.label}: {run.status}")
    cycles = long_loop.polls - short_loop.polls
    per_cycle = float(long_loop.total - short_loop.total) / cycles
    loop_fixed = short_loop.total - per_cycle * short_loop.polls
    # Everything outside the wait (start, CreateJob, Finalize, the outcome, the end) is the same whether
    # the execution waits on a token or polls: the poll loops are charged LabelChain's own events there.
    outside = int(short.total - short.state_events(WAIT_STATE))
    days = {SHORT_DAYS: short, LONG_DAYS: long}

    def proportional(d: int) -> int:
        return outside + round(per_cycle * polls_for_duration(d * DAY))

    def fixed(d: int) -> int:
        return outside + round(per_cycle * fixed_loop_polls(d))

    steady = (long.total - short.total) / (LONG_DAYS - SHORT_DAYS)
    steady_proportional = (proportional(LONG_DAYS) - proportional(SHORT_DAYS)) / (LONG_DAYS - SHORT_DAYS)
    steady_fixed = per_cycle * fixed_loop_polls(1)
    invocations_per_day = (long.watch_invocations - short.watch_invocations) / (LONG_DAYS - SHORT_DAYS)
    fixed_dies_hours = (HISTORY_EVENT_LIMIT - outside) / per_cycle * FIXED_POLL_SECONDS / 3600
    return {
        "per_cycle": per_cycle,
        "loop_fixed": loop_fixed,
        "outside_wait": outside,
        "labelchain": {d: run.total for d, run in days.items()},
        "labelchain_wait": {d: run.state_events(WAIT_STATE) for d, run in days.items()},
        "labelchain_types_30d": dict(long.types()),
        "proportional": {d: proportional(d) for d in days},
        "fixed": {d: fixed(d) for d in days},
        "polls": {d: polls_for_duration(d * DAY) for d in days},
        "steady": steady,
        "steady_proportional": steady_proportional,
        "steady_fixed": steady_fixed,
        "invocations_per_day": invocations_per_day,
        "proportional_invocations_per_day": (polls_for_duration(LONG_DAYS * DAY) - polls_for_duration(DAY))
        / (LONG_DAYS - SHORT_DAYS),
        "fixed_dies_hours": fixed_dies_hours,
        "short_loop_types": dict(short_loop.types()),
        "short_loop_polls": short_loop.polls,
    }


def print_report(measured: dict[str, Any], figures: dict[str, Any]) -> bool:
    print(measured["machine"])
    print(
        f"moto's engine runs the synthesized LabelingJob definition; WaitForJob re-arms every "
        f"{measured['rearm_seconds'] / 3600:.0f} simulated h, compressed to {measured['day_seconds']} real s "
        f"(timeout_scale); both LabelChain runs took {measured['labelchain_real_seconds']:.1f} real s.\n"
    )
    per_cycle = figures["per_cycle"]
    print(
        f"Poll-loop baseline, measured in the same engine: {per_cycle:g} history events per "
        f"Wait → PollJob → Choice cycle ({figures['short_loop_types']} for {figures['short_loop_polls']} "
        "cycles). Both poll loops are "
        f"charged LabelChain's own {figures['outside_wait']} events outside WaitForJob (start, CreateJob, "
        "Finalize, outcome, end).\n"
    )
    lc, prop, fixed = figures["labelchain"], figures["proportional"], figures["fixed"]
    rows = []
    for label, values, steady in (
        ("LabelChain: task token, re-armed daily (measured)", lc, figures["steady"]),
        ("poll loop: a tenth of the job's age, 1–30 min (measured cycle × polls)", prop, None),
        (f"fixed {FIXED_POLL_SECONDS} s poll loop (measured cycle × polls)", fixed, None),
    ):
        steady_value = steady
        if steady_value is None:
            steady_value = figures["steady_proportional"] if values is prop else figures["steady_fixed"]
        dies = ""
        if values[LONG_DAYS] > HISTORY_EVENT_LIMIT:
            dies = f" (fails at 25,000 events after {figures['fixed_dies_hours']:.1f} h)"
        rows.append(
            [
                label,
                f"{values[SHORT_DAYS]:,}",
                f"{values[LONG_DAYS]:,}{dies}",
                f"{steady_value:,.1f}",
                f"{figures['steady'] / steady_value:.2g}x" if values is not lc else "1x",
            ]
        )
    print(
        markdown_table(
            [
                "execution",
                "events, 1-day job",
                "events, 30-day job",
                "events per job-day (steady state)",
                "LabelChain's per-day events as a share of this",
            ],
            rows,
        )
    )
    print(
        f"\nLabelChain's 30-day job: {lc[LONG_DAYS] / prop[LONG_DAYS]:.3f}x the events of the "
        f"age-proportional poll loop ({prop[LONG_DAYS]:,}, {figures['polls'][LONG_DAYS]:,} polls) and "
        f"{lc[LONG_DAYS] / fixed[LONG_DAYS]:.4f}x those of the 30 s loop ({fixed[LONG_DAYS]:,}); "
        f"{lc[LONG_DAYS] / HISTORY_EVENT_LIMIT:.3f}x the 25,000-event limit."
    )
    print(
        "Lambda invocations per job-day inside the execution: LabelChain "
        f"{figures['invocations_per_day']:.1f} (the re-arm's WatchJob), the age-proportional loop "
        f"{figures['proportional_invocations_per_day']:.1f}, the 30 s loop {fixed_loop_polls(1):,}. "
        "(The reconciler's runs are per account, not per job.)"
    )
    print(
        f"WaitForJob's own events: {figures['labelchain_wait'][SHORT_DAYS]} for 1 day, "
        f"{figures['labelchain_wait'][LONG_DAYS]} for 30 days; event types of the 30-day history: "
        f"{figures['labelchain_types_30d']}\n"
    )
    checks = [
        (
            f"steady state ≤ {TARGET_EVENTS_PER_DAY} events per job-day",
            figures["steady"] <= TARGET_EVENTS_PER_DAY,
        ),
        (f"30-day job ≤ {TARGET_EVENTS_30_DAYS:,} events", lc[LONG_DAYS] <= TARGET_EVENTS_30_DAYS),
    ]
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}: {text}")
    return all(passed for _, passed in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--day-seconds",
        type=float,
        default=0.5,
        help="real seconds one re-arm period (a simulated day) takes (default 0.5)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    machine = machine_line()  # the load average before the run
    measured = {**measure(args.day_seconds), "machine": machine}
    figures = report(measured)
    passed = print_report(measured, figures)
    if args.json:
        raw = {key: value for key, value in measured.items() if key != "runs"}
        args.json.write_text(json.dumps({**raw, **figures}, indent=2, default=str) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
