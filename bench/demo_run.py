"""Benchmark of the offline demo: wall time, and the poll loop's cost per emulated job-day.

Runs the seed experiment on the offline stack (what ``make demo`` runs, without the synth) and reads
back, for each nested LabelingJob execution, its history events, its Lambda invocations and its
job's simulated duration. The baseline, in the same units: the 30-second poll loop other
implementations use (one Wait → Task → Choice cycle of 9 events and one invocation every 30 s).
Results go to stdout as Markdown (``--json PATH`` for raw numbers); bench/README.md records a run.

    python bench/demo_run.py [--objects 2500] [--scale 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

from labelchain.core.polling import EVENTS_PER_POLL_CYCLE  # noqa: E402

DAY = 86_400.0
BASELINE_POLL_SECONDS = 30.0


def measure(objects: int, scale: float) -> dict[str, Any]:
    from local.demo import load_template, run_experiment  # noqa: PLC0415
    from local.ground_truth import SimulationParams  # noqa: PLC0415
    from local.stack import LocalOptions, local_stack  # noqa: PLC0415

    template = load_template(synthesize=False)
    simulation = SimulationParams()
    started = time.monotonic()
    with local_stack(
        template, LocalOptions(scale=scale, seed=simulation.seed, simulation=simulation)
    ) as stack:
        with contextlib.redirect_stdout(io.StringIO()):
            status = run_experiment(
                stack, objects, simulation.seed, ROOT / "demo-output" / "bench", "bench-demo"
            )
        wall = time.monotonic() - started
        from labelchain.handlers.runtime import get_runtime  # noqa: PLC0415 - after the stack set the env

        stepfunctions = stack.client("stepfunctions")
        rows = []
        children = stepfunctions.list_executions(stateMachineArn=stack.labeling_job_arn)["executions"]
        records = {r.execution_arn: r for r in get_runtime().store.jobs_of_project("birds-experiment")}
        for child in sorted(children, key=lambda c: c["name"]):
            events: list[dict[str, Any]] = []
            for page in stepfunctions.get_paginator("get_execution_history").paginate(
                executionArn=child["executionArn"]
            ):
                events.extend(page["events"])
            invocations = sum(1 for e in events if e["type"] in {"TaskScheduled", "LambdaFunctionScheduled"})
            record = records[child["executionArn"]]
            days = (record.duration_seconds or 0) / DAY
            rows.append(
                {
                    "execution": child["name"],
                    "job_days": days,
                    "history_events": len(events),
                    "lambda_invocations": invocations,
                    "events_per_job_day": len(events) / days,
                    "invocations_per_job_day": invocations / days,
                }
            )
    return {"status": status, "wall_seconds": wall, "objects": objects, "scale": scale, "jobs": rows}


def baseline_per_day() -> tuple[float, float]:
    cycles = DAY / BASELINE_POLL_SECONDS
    return cycles * EVENTS_PER_POLL_CYCLE, cycles


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2500)
    parser.add_argument("--scale", type=float, default=3000.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.objects, args.scale)
    base_events, base_invocations = baseline_per_day()
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}, {args.objects} objects, scale {args.scale}")
    wall = result["wall_seconds"]
    print(f"demo experiment wall time (stack start to figures written, no synth): {wall:.1f} s\n")
    print(
        "| job | simulated duration (h) | history events | Lambda invocations | events / job-day | "
        "vs 30 s loop | invocations / job-day | vs 30 s loop |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for row in result["jobs"]:
        print(
            f"| {row['execution']} | {row['job_days'] * 24:.1f} | {row['history_events']} "
            f"| {row['lambda_invocations']} "
            f"| {row['events_per_job_day']:.0f} | {row['events_per_job_day'] / base_events:.3f}x "
            f"| {row['invocations_per_job_day']:.0f} "
            f"| {row['invocations_per_job_day'] / base_invocations:.3f}x |"
        )
    baseline = f"{base_events:.0f} | 1.000x | {base_invocations:.0f} | 1.000x"
    print(f"| 30 s poll loop (baseline) | — | — | — | {baseline} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
