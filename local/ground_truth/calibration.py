"""AWS's bird experiment, run on the model alone (pure): how the defaults were calibrated.

2,500 objects split in two halves of 1,250 in file order; job 1 labels half A from scratch, job 2
labels half B seeded with job 1's final model, job 3 labels half B from scratch (the control).
Bounding boxes, 3 workers per object, 200 concurrent tasks, 300 s task limit — the tutorial's setup —
worked by a private team of ``SimulationParams.default_team_size`` people.

``python -m local.ground_truth.calibration [--seeds N]`` prints the table docs/EMULATOR.md shows.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from labelchain.core.catalog import TaskType
from local.ground_truth.model import JobPlan, Timeline, simulate
from local.ground_truth.params import SimulationParams

PUBLISHED = {"initial": (48.0, 5), "pretrained": (80.0, 3), "control": (60.0, 4)}
"""AWS's published outcome: % machine-labeled and active-learning iterations per job."""
ROLES = ("initial", "pretrained", "control")


def experiment_objects(count: int = 2500, prefix: str = "birds") -> tuple[str, ...]:
    """Object identities of the demo's generated bird dataset (``source-ref`` keys, any bucket)."""
    return tuple(f"{prefix}/images/bird-{index:05d}.png" for index in range(count))


@dataclass(frozen=True)
class ExperimentRun:
    initial: Timeline
    pretrained: Timeline
    control: Timeline

    def job(self, role: str) -> Timeline:
        return {"initial": self.initial, "pretrained": self.pretrained, "control": self.control}[role]

    @property
    def time_ratio(self) -> float:
        """Pretrained job's simulated duration over the control's."""
        return self.pretrained.ended_at / self.control.ended_at


def run_experiment(
    params: SimulationParams | None = None,
    objects: Sequence[str] | None = None,
    *,
    batch_size: int = 200,
    workers_per_object: int = 3,
    task_time_limit_seconds: int = 300,
) -> ExperimentRun:
    """The three jobs of the experiment on ``objects`` (default: 2,500 generated identities)."""
    params = params or SimulationParams()
    identities = tuple(objects if objects is not None else experiment_objects())
    half = len(identities) // 2
    first, second = identities[:half], identities[half:]

    def plan(ids: tuple[str, ...], head_start: float = 0.0) -> JobPlan:
        return JobPlan(
            object_ids=ids,
            auto_labeling=True,
            batch_size=batch_size,
            workers_per_object=workers_per_object,
            task_time_limit_seconds=task_time_limit_seconds,
            head_start_labels=head_start,
            task_type=TaskType.BOUNDING_BOX,
        )

    initial = simulate(plan(first), params)
    seed_model = (initial.model_labels or 0.0) * params.transfer_factor
    return ExperimentRun(
        initial=initial,
        pretrained=simulate(plan(second, seed_model), params),
        control=simulate(plan(second), params),
    )


def result_table(run: ExperimentRun) -> str:
    """Markdown: measured vs published, per job."""
    lines = [
        "| job | machine-labeled (model) | AWS | iterations (model) | AWS | simulated duration |",
        "|---|---|---|---|---|---|",
    ]
    for role in ROLES:
        job = run.job(role)
        published_share, published_iterations = PUBLISHED[role]
        lines.append(
            f"| {role} | {100 * job.machine_labeled_fraction:.1f} % | {published_share:.0f} % |"
            f" {len(job.iterations)} | {published_iterations} | {job.ended_at / 3600:.2f} h |"
        )
    lines.append(f"\npretrained / control simulated time: {run.time_ratio:.2f} (AWS: about half)")
    return "\n".join(lines)


def seed_sweep(seeds: Sequence[int], params: SimulationParams | None = None) -> str:
    """Markdown: the spread of outcomes over seeds (mean, min–max, iteration counts)."""
    base = params or SimulationParams()
    runs = [run_experiment(base.model_copy(update={"seed": seed})) for seed in seeds]
    lines = ["| job | mean machine-labeled | min – max | iterations seen |", "|---|---|---|---|"]
    for role in ROLES:
        shares = [100 * run.job(role).machine_labeled_fraction for run in runs]
        iterations = statistics.multimode(len(run.job(role).iterations) for run in runs)
        counts = sorted({len(run.job(role).iterations) for run in runs})
        lines.append(
            f"| {role} | {statistics.mean(shares):.1f} % | {min(shares):.1f} – {max(shares):.1f} % |"
            f" {', '.join(map(str, counts))} (most often {iterations[0]}) |"
        )
    ratios = [run.time_ratio for run in runs]
    lines.append(
        f"\npretrained / control simulated time over {len(runs)} seeds: mean {statistics.mean(ratios):.2f},"
        f" max {max(ratios):.2f}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=50, help="seeds in the sweep (1 … N)")
    args = parser.parse_args(argv)
    print(f"Default parameters (seed {SimulationParams().seed}):\n")
    print(result_table(run_experiment()))
    print(f"\nSeeds 1–{args.seeds}:\n")
    print(seed_sweep(range(1, args.seeds + 1)))


if __name__ == "__main__":
    main()
