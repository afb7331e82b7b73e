"""``make demo``: AWS's seed experiment, end to end, on this machine — with Ground Truth SIMULATED.

    python -m local.demo [--objects 2500] [--seed S] [--single-job] [--out demo-output] [--scale 9000]

Synthesizes the stack (or reads ``cdk.out``), starts the offline stack (moto on loopback + the Ground
Truth emulator), uploads a generated bird dataset, starts the Experiment execution (or one
LabelingJob with ``--single-job``), shows progress while the jobs run, then prints the comparison
and writes report.json, report.md and the figures under ``--out``. Every number it prints comes
from LabelChain's Ground Truth emulator: simulated, not AWS results.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "lambdas"))  # the labelchain package, as the Lambdas see it

from labelchain.core.experiment import ROLES  # noqa: E402
from labelchain.core.s3_layout import report_prefix  # noqa: E402

CDK_OUT_TEMPLATE = PROJECT_ROOT / "cdk.out" / "LabelChain.template.json"
BANNER = "SIMULATED — every number below comes from LabelChain's Ground Truth emulator, not from AWS."


def load_template(synthesize: bool) -> dict[str, Any]:
    """The synthesized template: ``cdk.out`` if present (``make synth``), else synthesized now."""
    if synthesize or not CDK_OUT_TEMPLATE.exists():
        from infra.application import build_app  # noqa: PLC0415 - jsii starts only when needed

        build_app(outdir=str(CDK_OUT_TEMPLATE.parent)).synth()
    template: dict[str, Any] = json.loads(CDK_OUT_TEMPLATE.read_text(encoding="utf-8"))
    return template


def _role(job_name: str) -> str:
    for role in ROLES:
        if f"-{role}-" in job_name:
            return role
    return "job"


class Progress:
    """Prints each job's status and counters whenever they change, in simulated time."""

    def __init__(self, stack: Any, project: str) -> None:
        self._stack = stack
        self._project = project
        self._seen: dict[str, tuple[str, int, int, int]] = {}
        self._detected: set[str] = set()
        self._started = stack.clock.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.report()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.report()

    def _iteration(self, record: Any) -> int:
        """The active-learning iteration the emulator has the job in (0: not started)."""
        try:
            timeline = self._stack.emulator.service.timeline(record.job_name)
        except Exception:
            return 0
        elapsed = (self._stack.clock.now() - record.created_at).total_seconds()
        if elapsed < timeline.initialized_at:
            return 0
        landed = sum(1 for iteration in timeline.iterations if iteration.ended_at <= elapsed)
        running = 0 if record.status in {"Completed", "Failed", "Stopped"} else 1
        return min(landed + running, len(timeline.iterations))

    def report(self) -> None:
        from labelchain.handlers.runtime import get_runtime  # noqa: PLC0415

        store = get_runtime().store
        elapsed = self._stack.clock.now() - self._started
        for record in store.jobs_of_project(self._project, newest_first=False):
            counters = record.counters
            iteration = self._iteration(record)
            state = (record.status, iteration, counters.human_labeled, counters.machine_labeled)
            if self._seen.get(record.job_name) == state:
                self._announce_detection(record)
                continue
            self._seen[record.job_name] = state
            hours = elapsed.total_seconds() / 3600
            print(
                f"  [{hours:5.1f} h simulated] {_role(record.job_name):<10} {record.status:<12} "
                f"iteration {iteration or '-':>2}  "
                f"human {counters.human_labeled:>5}  machine {counters.machine_labeled:>5}  "
                f"of {record.object_count}",
                flush=True,
            )
            self._announce_detection(record)

    def _announce_detection(self, record: Any) -> None:
        """Once a job is final: how its end was noticed (event, reconciler, WaitForJob) and how late."""
        if record.finalized_at is None or record.job_name in self._detected:
            return
        self._detected.add(record.job_name)
        if record.ended_at is None or record.end_detected_at is None:
            return
        lag = (record.end_detected_at - record.ended_at).total_seconds()
        print(
            f"  {'':>20} {_role(record.job_name):<10} end detected by {record.end_detected_by} "
            f"{max(lag, 0.0):.0f} s simulated ({self._stack.clock.real_seconds(lag):.2f} s real, the "
            "offline pipeline on a compressed clock) after the job ended; record finalized",
            flush=True,
        )


def _print_comparison(report: dict[str, Any], worker_hours: dict[str, float]) -> None:
    print(f"\n{BANNER}\n")
    header = (
        "job",
        "objects",
        "human",
        "machine",
        "% machine",
        "iterations",
        "hours",
        "worker h",
        "cost USD",
    )
    widths = (-11, 8, 8, 9, 11, 12, 8, 10, 11)
    print(
        "".join(f"{text:<{-w}}" if w < 0 else f"{text:>{w}}" for text, w in zip(header, widths, strict=True))
    )
    for role in ROLES:
        side = report["jobs"][role]
        figures = side.get("figures")
        if figures is None:
            print(f"{role:<11}  missing: {side.get('missing_reason')}")
            continue
        hours = (figures["duration_seconds"] or 0) / 3600
        print(
            f"{role:<11}{figures['objects']:>8}{figures['human_labeled']:>8}{figures['machine_labeled']:>9}"
            f"{figures['machine_labeled_percent']:>10}%{figures['iterations']:>12}{hours:>8.1f}"
            f"{worker_hours.get(role, 0.0):>10.1f}{float(figures['total_cost_usd']):>11.2f}"
        )
    for name in ("pretrained_vs_control", "pretrained_vs_initial"):
        delta = report[name]
        values = {
            key: (delta[key]["value"] if delta[key]["value"] is not None else "n/a")
            for key in ("cost_reduction_percent", "duration_reduction_percent", "machine_labeled_gain_points")
        }
        print(
            f"\n{name.replace('_', ' ')}: cost {values['cost_reduction_percent']} % lower, "
            f"duration {values['duration_reduction_percent']} % shorter, "
            f"machine-labeled {values['machine_labeled_gain_points']} points higher"
        )
    for line in AWS_REFERENCE:
        print(line)


AWS_REFERENCE = (
    "\nFor reference only — not comparable with the simulated jobs above: AWS's published experiment",
    "(its own 2,500 Open Images birds, 1,250 per job) ran on Mechanical Turk, which closed on 2026-09-30.",
    "It machine-labeled about 48 % / 80 % / 60 % (initial / seeded / control); its cost figures used AWS's",
    "Mechanical Turk price constant ($0.08 + 5 workers × $0.036 = $0.26 per human-labeled object).",
    "The jobs above use a simulated private team, priced by worker hours (see docs/EMULATOR.md).",
)
"""What AWS published, said as what it was: Mechanical Turk prices, AWS's data set, no simulated peer."""


def _worker_hours(stack: Any, project: str) -> dict[str, float]:
    """Each role's simulated team time, from the emulator (the sum of its answers' timeSpentInSeconds)."""
    from labelchain.handlers.runtime import get_runtime  # noqa: PLC0415

    hours = {}
    for record in get_runtime().store.jobs_of_project(project, newest_first=False):
        try:
            hours[_role(record.job_name)] = (
                stack.emulator.service.timeline(record.job_name).worker_seconds / 3600
            )
        except Exception:
            continue
    return hours


def run_experiment(stack: Any, objects: int, seed: int, out: Path, name: str) -> int:
    from labelchain.report import load_report, render_figures  # noqa: PLC0415
    from local.dataset import upload_bird_dataset  # noqa: PLC0415

    s3 = stack.client("s3")
    print(f"Uploading {objects:,} generated bird images and their manifest …", flush=True)
    manifest = upload_bird_dataset(s3, stack.data_bucket, "birds", objects=objects, seed=seed)
    experiment = json.loads((PROJECT_ROOT / "examples" / "experiment-birds.json").read_text())
    experiment["manifest"] = manifest
    workforce = experiment["job"]["workforce"]
    team = stack.emulator.service.params.team_size_for(workforce["workteam_arn"])
    print(
        f"Starting the Experiment execution {name!r} on {objects:,} objects ({objects // 2:,} per job):"
        " initial job, then pretrained and control in parallel"
    )
    print(
        f"Work team: {workforce['kind']} {workforce['workteam_arn'].rsplit('/', 1)[-1]!r}, {team} simulated"
        f" people, {workforce['workers_per_object']} answers per object"
    )
    arn = stack.start(stack.experiment_arn, experiment, name)
    with Progress(stack, experiment["project"]):
        described = stack.wait(arn, timeout_seconds=600)
    print(
        f"\nExperiment execution {described['status']}"
        + (
            f": {described.get('error')} — {described.get('cause')}"
            if described["status"] != "SUCCEEDED"
            else ""
        )
    )
    key = report_prefix(experiment["project"], name)
    listing = s3.list_objects_v2(Bucket=stack.output_bucket, Prefix=key).get("Contents", [])
    if not listing:
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for item in listing:
        body = s3.get_object(Bucket=stack.output_bucket, Key=item["Key"])["Body"].read()
        (out / Path(item["Key"]).name).write_bytes(body)
    report_path = out / "report.json"
    _print_comparison(json.loads(report_path.read_text()), _worker_hours(stack, experiment["project"]))
    figures = render_figures(load_report(str(report_path)), out)
    print(f"\nWrote {out / 'report.json'}, {out / 'report.md'} and {len(figures)} figures:")
    for figure in figures:
        print(f"  {figure}")
    return 0 if described["status"] == "SUCCEEDED" else 1


def run_single_job(stack: Any, objects: int, seed: int, out: Path, name: str) -> int:
    from local.dataset import upload_bird_dataset  # noqa: PLC0415

    s3 = stack.client("s3")
    manifest = upload_bird_dataset(s3, stack.data_bucket, "birds-single", objects=objects, seed=seed)
    job_input = json.loads((PROJECT_ROOT / "examples" / "bird-bounding-box.json").read_text())
    job_input.update(manifest=manifest, project="birds-single")
    print(f"Starting one LabelingJob execution {name!r} on {objects:,} objects")
    arn = stack.start(stack.labeling_job_arn, job_input, name)
    with Progress(stack, "birds-single"):
        described = stack.wait(arn, timeout_seconds=600)
    print(f"\n{BANNER}\nLabelingJob execution {described['status']}")
    output = json.loads(described.get("output") or "null")
    if output is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "single-job.json").write_text(json.dumps(output, indent=2) + "\n")
        print(
            json.dumps(
                {
                    k: output[k]
                    for k in (
                        "job_name",
                        "counters",
                        "machine_labeled_percent",
                        "duration_seconds",
                        "iterations",
                        "cost",
                    )
                },
                indent=2,
            )
        )
    return 0 if described["status"] == "SUCCEEDED" else 1


def show_the_cli(argv: list[str]) -> None:
    """Run one ``labelchain`` command against the offline stack, as a user would in a terminal."""
    from labelchain.cli.main import main as labelchain  # noqa: PLC0415

    print(f"\n$ labelchain {' '.join(argv)}", flush=True)
    labelchain(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--objects",
        type=int,
        default=2500,
        help="dataset size (≥ 2,500 for the experiment, ≥ 1,250 for one job)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the emulator and the generated images (default: the emulator's calibrated seed)",
    )
    parser.add_argument(
        "--single-job", action="store_true", help="run one LabelingJob instead of the experiment"
    )
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "demo-output", help="where reports and figures go"
    )
    parser.add_argument("--scale", type=float, default=9000.0, help="simulated seconds per real second")
    parser.add_argument("--synth", action="store_true", help="synthesize even if cdk.out exists")
    args = parser.parse_args(argv)
    minimum = 1250 if args.single_job else 2500
    if args.objects < minimum:
        parser.error(
            f"--objects: at least {minimum:,} (Ground Truth's auto-labeling minimum of 1,250 per job)"
        )
    if args.scale <= 0:
        parser.error("--scale: must be positive")

    started = time.monotonic()
    print(BANNER)
    template = load_template(args.synth)
    from local.ground_truth import SimulationParams  # noqa: PLC0415
    from local.stack import LocalOptions, local_stack  # noqa: PLC0415

    simulation = SimulationParams() if args.seed is None else SimulationParams(seed=args.seed)
    options = LocalOptions(scale=args.scale, seed=simulation.seed, simulation=simulation)
    name = f"demo-{int(time.time())}"
    with local_stack(template, options) as stack:
        print(
            f"Offline stack up: moto at {stack.endpoint}, Ground Truth emulator at {stack.emulator.endpoint}"
        )
        runner = run_single_job if args.single_job else run_experiment
        status = runner(stack, args.objects, simulation.seed, args.out, name)
        show_the_cli(["jobs", "--project", "birds-single" if args.single_job else "birds-experiment"])
    print(f"\nDone in {time.monotonic() - started:.1f} s (wall clock); the offline stack is stopped.")
    return status


if __name__ == "__main__":
    sys.exit(main())
