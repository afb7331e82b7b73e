"""A burst of manifests against the account's concurrent-job quota: do all of them complete?

The issue: "100 manifests dropped at once with a quota of 10 all complete, none fails". On the offline
stack (moto server, in-process engine, Ground Truth emulator on a compressed clock) with
``SimulationParams(max_concurrent_jobs=quota)``, the project's settings (a private work team) are
written to the table (as ``labelchain project-settings put`` writes them) and N manifests of 1,250
objects are dropped with ``stack.drop_manifest`` (the upload and S3's "Object Created" event; the
manifest rule starts one LabelingJob execution each: ResolveTrigger, then CreateJob, which waits out
``LabelingJobQuotaExceeded`` for up to ``create_queue_max_hours``). Every execution is held at
ResolveTrigger until the last manifest is dropped, so all start together in
simulated time. Measured once every execution has ended: how many SUCCEEDED, how many
create attempts SageMaker refused (CreateJob's ``LabelingJobQuotaExceeded`` failures in the histories,
and ``queue_attempts`` on the records), how many jobs ran at once at most (from the jobs' own creation
and end times: exact), each job's queueing time, and the simulated and real duration.

By default the emulator's phases are shortened (a job of about 1.5 simulated hours), so 100 jobs through
10 slots fit the default 24-hour queue window and the run ends in a few minutes: that checks the
mechanism at the issue's size. ``--calibrated-jobs`` keeps the emulator's calibrated model instead (a
from-scratch 1,250-object bird job takes about 6 simulated hours, one seeded with the project's latest
model about 3.3): that is what tests the queue window, best with fewer jobs through fewer slots (e.g.
``--batches 10 --quota 1``, the same ten waves), because one Python process cannot run a 100-execution
burst without falling behind its compressed clock.

    python bench/queue_burst.py [--batches 100] [--quota 10] [--scale 1000] [--calibrated-jobs]
                                [--queue-max-hours H]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

from benchlib import (  # noqa: E402
    ACCOUNT,
    ENDED,
    REGION,
    LambdaTime,
    history,
    machine_line,
    markdown_table,
    quiet_lambda_environment,
    synthesized_template,
)

PROJECT = "birds-burst"
OBJECTS = 1250
QUOTA_ERROR = "LabelingJobQuotaExceeded"
WORKTEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/bird-team"


def project_settings() -> str:
    """examples/project.json with this stack's private work team."""
    settings = json.loads((ROOT / "examples" / "project.json").read_text())
    settings["workforce"] = {"kind": "private", "workteam_arn": WORKTEAM, "workers_per_object": 3}
    return json.dumps(settings)


def write_project_settings(stack: Any) -> None:
    """The project's settings in the stack's table, validated and versioned as the operator CLI does."""
    from labelchain.adapters.store import JobStore  # noqa: PLC0415
    from labelchain.core.project_settings import parse_project_settings, settings_record  # noqa: PLC0415

    document = project_settings()
    parse_project_settings(document, PROJECT)
    record = settings_record(
        PROJECT, document, previous_version=0, updated_by="bench/queue_burst.py", at=datetime.now(UTC)
    )
    JobStore(stack.client("dynamodb"), stack.table_name).put_project_settings(record)


def manifest(bucket: str, batch: int) -> bytes:
    return "".join(
        json.dumps({"source-ref": f"s3://{bucket}/{PROJECT}/batch-{batch:03d}/{n:05d}.png"}) + "\n"
        for n in range(OBJECTS)
    ).encode()


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals [start, end) open at one moment."""
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, change in moments:  # an end sorts before a start at the same moment (-1 < 1)
        open_now += change
        peak = max(peak, open_now)
    return peak


@dataclass(frozen=True)
class Burst:
    """What is dropped and how the offline stack runs it."""

    batches: int = 100
    quota: int = 10
    scale: float = 1000.0
    seed: int = 38
    queue_max_hours: int | None = None
    """create_queue_max_hours for the synthesized stack (None: cdk.json's)."""
    calibrated_jobs: bool = False
    """The emulator's calibrated job durations (3–8 h); False: shortened phases (about 1.5 h)."""


def fast_phases() -> dict[str, float]:
    """Shorter phases of the emulator's model: a job of about an hour instead of 3–8."""
    return {
        "initializing_seconds": 120,
        "crowd_pickup_seconds": 120,
        "training_base_seconds": 600,
        "inference_base_seconds": 120,
        "finishing_seconds": 60,
    }


LAMBDA_TIME = LambdaTime()
"""Real seconds inside each handler during the run (the held wait before ResolveTrigger excluded)."""


def drop_all(stack: Any, batches: int) -> tuple[list[str], float]:
    """Write the project's settings, then drop every manifest with ``stack.drop_manifest`` (8 at a time);
    returns the started executions and the real seconds the drops took.

    "At once" has to hold in simulated time, and the drops take real time that the compressed clock turns
    into hours while the first executions would already be queueing. So every execution is held at its
    first Lambda call (ResolveTrigger) until the last manifest is dropped: all CreateJob attempts then
    start from the same moment, as if the manifests had landed together. Nothing of the product changes.
    """
    from infra.functions import RESOLVE_TRIGGER  # noqa: PLC0415

    bucket = stack.data_bucket
    write_project_settings(stack)
    bodies = [manifest(bucket, batch) for batch in range(batches)]
    released = threading.Event()
    dispatch = LAMBDA_TIME.wrap(stack.engine.dispatcher)

    def held(function: Any, event: Any) -> object:
        if function.name.endswith(RESOLVE_TRIGGER.name_suffix):
            released.wait()
        return dispatch(function, event)

    def drop(batch: int) -> str | None:
        arn: str | None = stack.drop_manifest(PROJECT, f"batch-{batch:03d}", bodies[batch])
        return arn

    stack.engine.dispatcher = held
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            arns = [arn for arn in pool.map(drop, range(batches)) if arn]
    finally:
        released.set()
    if len(arns) != batches:
        raise RuntimeError(f"{len(arns)} executions started for {batches} manifests")
    return arns, time.monotonic() - began


@contextmanager
def progress(stack: Any, since: datetime) -> Iterator[None]:
    """Every 10 real s, the executions' statuses on stderr."""
    stop = threading.Event()
    stepfunctions = stack.client("stepfunctions")

    def report() -> None:
        while not stop.wait(10):
            pages = stepfunctions.get_paginator("list_executions").paginate(
                stateMachineArn=stack.labeling_job_arn
            )
            statuses = Counter(e["status"] for page in pages for e in page["executions"])
            hours = (stack.clock.now() - since).total_seconds() / 3600
            print(f"  … {hours:5.1f} simulated h: {dict(statuses)}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=report, name="burst-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1)


def collect(stack: Any, described: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Refused creates (histories, records), the jobs' run and queue times, and their overlap."""
    from labelchain.handlers.runtime import get_runtime  # noqa: PLC0415

    stepfunctions, sagemaker = stack.client("stepfunctions"), stack.client("sagemaker")
    refused = 0
    failures: Counter[str] = Counter()
    for arn, execution in described.items():
        for event in history(stepfunctions, arn):
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails")
            if details and details.get("error") == QUOTA_ERROR:
                refused += 1
        if execution["status"] != "SUCCEEDED":
            failures[f"{execution.get('error')}: {str(execution.get('cause'))[:120]}"] += 1
    records = list(get_runtime().store.jobs_of_project(PROJECT, newest_first=False))
    intervals, durations, waits = [], [], []
    for record in records:
        if record.job_arn is None:
            continue
        job = sagemaker.describe_labeling_job(LabelingJobName=record.job_name)
        end = job["LastModifiedTime"] if job["LabelingJobStatus"] in ENDED else stack.clock.now()
        intervals.append((job["CreationTime"], end))
        durations.append((end - job["CreationTime"]).total_seconds())
        if record.queued_since is not None:
            waits.append((job["CreationTime"] - record.queued_since).total_seconds())
    return {
        "statuses": dict(Counter(d["status"] for d in described.values())),
        "failures": dict(failures),
        "refused_attempts_in_histories": refused,
        "queue_attempts_on_records": sum(r.queue_attempts for r in records),
        "records": len(records),
        "record_statuses": dict(Counter(r.status for r in records)),
        "jobs_created": len(intervals),
        "max_concurrent_jobs": max_overlap(intervals) if intervals else 0,
        "job_hours": [d / 3600 for d in durations],
        "max_queue_attempts": max((r.queue_attempts for r in records), default=0),
        "queue_wait_hours": [w / 3600 for w in waits],
    }


def run(burst: Burst) -> dict[str, Any]:
    from local.ground_truth import SimulationParams  # noqa: PLC0415
    from local.stack import LocalOptions, local_stack  # noqa: PLC0415

    overrides = {} if burst.queue_max_hours is None else {"create_queue_max_hours": burst.queue_max_hours}
    with quiet_lambda_environment():
        template = synthesized_template(overrides)
    simulation = SimulationParams(
        seed=burst.seed, max_concurrent_jobs=burst.quota, **({} if burst.calibrated_jobs else fast_phases())
    )
    options = LocalOptions(scale=burst.scale, seed=burst.seed, simulation=simulation, log_level="ERROR")
    with local_stack(template, options) as stack:
        arns, drop_real = drop_all(stack, burst.batches)
        dropped_sim, dropped_real = stack.clock.now(), time.monotonic()  # the executions are released now
        with progress(stack, dropped_sim):
            described = {arn: stack.wait(arn, timeout_seconds=3600, poll_seconds=0.5) for arn in arns}
        finished_sim, finished_real = stack.clock.now(), time.monotonic()
        collected = collect(stack, described)
        skipped, bus_errors = stack.bus.skipped_ticks, stack.bus.errors
    return {
        **vars(burst),
        **collected,
        "drop_real_s": drop_real,
        "lambda_time": LAMBDA_TIME.summary(),
        "lambda_real_seconds": LAMBDA_TIME.seconds,
        "lambda_calls": dict(LAMBDA_TIME.calls),
        "simulated_hours": (finished_sim - dropped_sim).total_seconds() / 3600,
        "real_seconds": finished_real - dropped_real,
        "skipped_ticks": skipped,
        "bus_errors": bus_errors[:5],
    }


def print_report(result: dict[str, Any], default_queue_hours: int) -> bool:
    print(result["machine"])
    queue_hours = result["queue_max_hours"] or default_queue_hours
    jobs = "calibrated job durations" if result["calibrated_jobs"] else "shortened job phases"
    print(
        f"offline stack, clock scale {result['scale']:g}; {result['batches']} manifests of "
        f"{OBJECTS:,} objects, account quota {result['quota']} jobs, create_queue_max_hours "
        f"{queue_hours}, emulator seed {result['seed']}, {jobs}\n"
    )
    hours, waits = result["job_hours"], result["queue_wait_hours"]
    rows = [
        ["executions SUCCEEDED", f"{result['statuses'].get('SUCCEEDED', 0)} of {result['batches']}"],
        [
            "executions not SUCCEEDED",
            json.dumps({k: v for k, v in result["statuses"].items() if k != "SUCCEEDED"}),
        ],
        ["why they failed", "; ".join(f"{n}× {cause}" for cause, n in result["failures"].items()) or "—"],
        [
            "create attempts refused (LabelingJobQuotaExceeded in the histories)",
            f"{result['refused_attempts_in_histories']:,}",
        ],
        [
            "queue_attempts summed over the job records (most on one record)",
            f"{result['queue_attempts_on_records']:,} ({result['max_queue_attempts']})",
        ],
        ["job records by status", json.dumps(result["record_statuses"])],
        ["labeling jobs created", result["jobs_created"]],
        ["most jobs running at once (exact, from creation/end times)", result["max_concurrent_jobs"]],
        [
            "job duration, simulated h (median, min–max)",
            f"{statistics.median(hours):.1f} ({min(hours):.1f}–{max(hours):.1f})" if hours else "—",
        ],
        [
            "time queued before the job started, simulated h (median, max)",
            f"{statistics.median(waits):.1f} ({max(waits):.1f})" if waits else "—",
        ],
        [
            "dropping the manifests (executions held until the last one), real s",
            f"{result['drop_real_s']:.1f}",
        ],
        ["release → last execution ended, simulated h", f"{result['simulated_hours']:.1f}"],
        ["release → last execution ended, real s", f"{result['real_seconds']:.0f}"],
        [
            "reconciler ticks coalesced (the stack fell behind its clock)",
            json.dumps(result["skipped_ticks"]) or "—",
        ],
    ]
    print(markdown_table(["", "measured"], rows, align="lr"))
    if hours:
        backlog = math.ceil(result["batches"] / result["quota"]) * statistics.mean(hours)
        print(
            f"\nArithmetic: {result['batches']} jobs through {result['quota']} slots at a mean "
            f"{statistics.mean(hours):.1f} h each need about {backlog:.0f} simulated h; a job may wait "
            f"{queue_hours} h for a slot."
        )
    print(f"\nReal seconds inside each handler, summed over threads (invocations): {result['lambda_time']}")
    if result["bus_errors"]:
        print(f"event bus errors (first 5): {result['bus_errors']}")
    checks = [
        ("all executions SUCCEEDED", result["statuses"].get("SUCCEEDED", 0) == result["batches"]),
        (f"never more than {result['quota']} jobs at once", result["max_concurrent_jobs"] <= result["quota"]),
    ]
    print()
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}: {text}")
    return all(passed for _, passed in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--quota", type=int, default=10)
    parser.add_argument("--scale", type=float, default=1000.0, help="simulated s per real s (default 1000)")
    parser.add_argument("--seed", type=int, default=38)
    parser.add_argument(
        "--queue-max-hours", type=int, default=None, help="create_queue_max_hours (default: cdk.json's)"
    )
    parser.add_argument(
        "--calibrated-jobs", action="store_true", help="the emulator's calibrated job durations (3–8 h)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    default_queue_hours = int(context.get("create_queue_max_hours", 24))
    machine = machine_line()  # the load average before the run
    result = run(
        Burst(args.batches, args.quota, args.scale, args.seed, args.queue_max_hours, args.calibrated_jobs)
    )
    result["machine"] = machine
    passed = print_report(result, default_queue_hours)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
