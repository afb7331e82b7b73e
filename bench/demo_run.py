"""Benchmark of the offline demo: wall time, and each job's history events against the poll loops.

Runs the seed experiment on the offline stack (what ``make demo`` runs, on a freshly synthesized
template) and reads back, for each nested LabelingJob execution, its history events, the Lambda
invocations it scheduled and its job's simulated duration. Baselines, for the same job durations: the
age-proportional poll loop LabelChain used before (a tenth of the job's age, 1–30 min; its per-cycle
events as ``bench/lifecycle_history.py`` measures them) and a fixed 30 s poll loop. Results go to
stdout as Markdown (``--json PATH`` for raw numbers); bench/README.md records a run.

    python bench/demo_run.py [--objects 2500] [--scale 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

from benchlib import (  # noqa: E402
    DAY,
    LambdaTime,
    history,
    machine_line,
    markdown_table,
    quiet_lambda_environment,
    state_events,
    synthesized_template,
)
from poll_loop_baseline import EVENTS_PER_POLL_CYCLE, polls_for_duration  # noqa: E402

FIXED_POLL_SECONDS = 30.0
WAIT_STATE = "WaitForJob"


def measure(objects: int, scale: float) -> dict[str, Any]:
    from local.demo import run_experiment  # noqa: PLC0415
    from local.ground_truth import SimulationParams  # noqa: PLC0415
    from local.stack import LocalOptions, local_stack  # noqa: PLC0415

    with quiet_lambda_environment():
        template = synthesized_template()
    simulation = SimulationParams()
    handlers = LambdaTime()
    started = time.monotonic()
    with local_stack(
        template, LocalOptions(scale=scale, seed=simulation.seed, simulation=simulation)
    ) as stack:
        stack.engine.dispatcher = handlers.wrap(stack.engine.dispatcher)
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
            events = history(stepfunctions, child["executionArn"])
            invocations = sum(1 for e in events if e["type"] in {"TaskScheduled", "LambdaFunctionScheduled"})
            record = records[child["executionArn"]]
            duration = float(record.duration_seconds or 0)
            outside = len(events) - state_events(events, WAIT_STATE)
            polls = polls_for_duration(duration)
            rows.append(
                {
                    "execution": child["name"],
                    "job_seconds": duration,
                    "history_events": len(events),
                    "lambda_invocations": invocations,
                    "end_detected_by": record.end_detected_by,
                    "poll_loop_polls": polls,
                    "poll_loop_events": outside + EVENTS_PER_POLL_CYCLE * polls,
                    "fixed_loop_events": outside
                    + EVENTS_PER_POLL_CYCLE * int(-(-duration // FIXED_POLL_SECONDS)),
                }
            )
    return {
        "status": status,
        "wall_seconds": wall,
        "objects": objects,
        "scale": scale,
        "jobs": rows,
        "handlers": handlers.summary(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=2500)
    parser.add_argument("--scale", type=float, default=3000.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(machine_line())
    result = measure(args.objects, args.scale)
    print(f"{args.objects} objects, clock scale {args.scale:g}, emulator at its calibrated seed")
    wall = result["wall_seconds"]
    print(f"demo experiment wall time (stack start to figures written, synth excluded): {wall:.1f} s")
    print(f"real seconds inside each handler, summed over threads (invocations): {result['handlers']}\n")
    rows = []
    for row in result["jobs"]:
        days = row["job_seconds"] / DAY
        rows.append(
            [
                row["execution"],
                f"{row['job_seconds'] / 3600:.1f}",
                row["end_detected_by"],
                row["history_events"],
                row["lambda_invocations"],
                f"{row['poll_loop_events']:,} ({row['poll_loop_polls']} polls)",
                f"{row['history_events'] / row['poll_loop_events']:.3f}x",
                f"{row['fixed_loop_events']:,}",
                f"{row['history_events'] / row['fixed_loop_events']:.4f}x",
                f"{row['history_events'] / days:,.0f}" if days else "—",
            ]
        )
    print(
        markdown_table(
            [
                "job",
                "simulated h",
                "end seen by",
                "history events",
                "Lambda tasks",
                "age-proportional poll loop: events",
                "LabelChain / poll loop",
                "30 s poll loop: events",
                "LabelChain / 30 s loop",
                "events / job-day",
            ],
            rows,
            align="lrlrrrrrrr",
        )
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
