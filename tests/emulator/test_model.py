"""Specification of the automated-labeling model (pure: no HTTP, no S3)."""

from __future__ import annotations

import itertools
import statistics

import pytest

from labelchain.core.catalog import TaskType
from local.ground_truth.calibration import PUBLISHED, ROLES, ExperimentRun, experiment_objects, run_experiment
from local.ground_truth.model import JobPlan, Timeline, difficulty, simulate
from local.ground_truth.params import SimulationParams
from local.ground_truth.workforce import TASK_TIMES

DEFAULTS = SimulationParams()
SWEEP = range(1, 21)
"""Seeds the calibration tolerances are checked over (bench/seed_sweep.py runs 1-50)."""
AT_LEAST_SHARE_OF_SEEDS = 0.9


def plan(count: int = 1250, **overrides: object) -> JobPlan:
    settings: dict[str, object] = {
        "object_ids": experiment_objects(count),
        "auto_labeling": True,
        "batch_size": 200,
        "workers_per_object": 3,
        "task_time_limit_seconds": 300,
    }
    settings.update(overrides)
    return JobPlan(**settings)  # type: ignore[arg-type]


def batches(timeline_iterations: object) -> list[tuple[int, int]]:
    return [(len(i.human_objects), len(i.machine_objects)) for i in timeline_iterations]  # type: ignore[attr-defined]


def largest_machine_batch_is_last(job: Timeline) -> bool:
    sizes = [len(i.machine_objects) for i in job.iterations if i.machine_objects]
    return bool(sizes) and sizes[-1] == max(sizes)


def machine_share_within(job: Timeline, iterations: int) -> float:
    return sum(len(i.machine_objects) for i in job.iterations[:iterations]) / job.object_count


@pytest.fixture(scope="module")
def sweep() -> list[ExperimentRun]:
    return [run_experiment(DEFAULTS.model_copy(update={"seed": seed})) for seed in SWEEP]


# --- calibration: AWS's published per-iteration shape -------------------------------------------


def test_a_from_scratch_job_gets_no_machine_labels_before_its_fourth_iteration(
    sweep: list[ExperimentRun],
) -> None:
    for run in sweep:
        for job in (run.initial, run.control):
            assert batches(job.iterations)[:3] == [(200, 0), (50, 0), (200, 0)]
            assert job.machine_labeled > 0


def test_a_from_scratch_jobs_largest_machine_batch_is_its_last(sweep: list[ExperimentRun]) -> None:
    holds = [largest_machine_batch_is_last(job) for run in sweep for job in (run.initial, run.control)]

    assert sum(holds) >= AT_LEAST_SHARE_OF_SEEDS * len(holds)


def test_the_seeded_job_machine_labels_three_quarters_within_three_iterations(
    sweep: list[ExperimentRun],
) -> None:
    holds = [machine_share_within(run.pretrained, 3) >= 0.75 for run in sweep]

    assert sum(holds) >= AT_LEAST_SHARE_OF_SEEDS * len(holds)
    assert all(batches(run.pretrained.iterations)[:2] == [(200, 0), (50, 0)] for run in sweep)


def test_shares_stay_within_tolerance_of_aws_published_figures_on_average(
    sweep: list[ExperimentRun],
) -> None:
    """AWS's 48 % (job 1) and 60 % (control) are two draws of the same setting; the model makes the
    two from-scratch jobs equal on average, so the control is held to the wider tolerance."""
    mean = {
        role: statistics.mean(100 * run.job(role).machine_labeled_fraction for run in sweep) for role in ROLES
    }

    assert mean["initial"] == pytest.approx(PUBLISHED["initial"][0], abs=5)
    assert mean["pretrained"] == pytest.approx(PUBLISHED["pretrained"][0], abs=5)
    assert mean["control"] == pytest.approx(PUBLISHED["control"][0], abs=15)


def test_the_seeded_job_takes_about_half_the_controls_time_with_fewer_iterations(
    sweep: list[ExperimentRun],
) -> None:
    assert all(len(run.pretrained.iterations) < len(run.control.iterations) for run in sweep)
    assert statistics.mean(run.time_ratio for run in sweep) == pytest.approx(0.5, abs=0.1)
    assert all(run.control.ended_at > 3 * 3600 for run in sweep), "an experiment job takes hours"


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_timelines() -> None:
    assert simulate(plan(), DEFAULTS) == simulate(plan(), DEFAULTS)


def test_another_seed_gives_a_different_timeline() -> None:
    other = DEFAULTS.model_copy(update={"seed": DEFAULTS.seed + 1})

    assert simulate(plan(), other).iterations != simulate(plan(), DEFAULTS).iterations


def test_an_object_is_equally_hard_in_every_job_that_holds_it() -> None:
    identity = experiment_objects(2500)[1700]

    assert difficulty(DEFAULTS, identity) == difficulty(DEFAULTS, identity)
    first_half = simulate(plan(object_ids=experiment_objects(2500)[1250:]), DEFAULTS)
    reordered = simulate(plan(object_ids=tuple(reversed(experiment_objects(2500)[1250:]))), DEFAULTS)
    assert first_half.machine_labeled == reordered.machine_labeled


# --- results move with the data and the parameters ------------------------------------------------


def test_more_data_raises_the_machine_labeled_share() -> None:
    small = simulate(plan(1250), DEFAULTS)
    large = simulate(plan(6000), DEFAULTS)

    assert large.machine_labeled_fraction > small.machine_labeled_fraction + 0.05


def test_a_faster_learner_machine_labels_more() -> None:
    slow = simulate(plan(), DEFAULTS)
    fast = simulate(plan(), DEFAULTS.model_copy(update={"learning_scale_labels": 150.0}))

    assert fast.machine_labeled_fraction > slow.machine_labeled_fraction + 0.05


def test_a_stricter_quality_target_machine_labels_less() -> None:
    half_b = plan(object_ids=experiment_objects(2500)[1250:])
    lenient = simulate(half_b, DEFAULTS)
    strict = simulate(half_b, DEFAULTS.model_copy(update={"quality_target": 0.995}))

    assert strict.machine_labeled_fraction < lenient.machine_labeled_fraction


def test_a_head_start_reduces_human_labels_and_iterations() -> None:
    scratch = simulate(plan(), DEFAULTS)
    seeded = simulate(plan(head_start_labels=600.0), DEFAULTS)

    assert seeded.human_labeled < scratch.human_labeled
    assert len(seeded.iterations) < len(scratch.iterations)
    assert seeded.ended_at < scratch.ended_at


def test_large_datasets_send_ten_percent_to_validation() -> None:
    timeline = simulate(plan(6000, batch_size=1000), DEFAULTS)

    assert batches(timeline.iterations)[:2] == [(600, 0), (1000, 0)]  # validation, then training data


# --- auto-labeling off, stopping conditions, minimums --------------------------------------------


def test_without_auto_labeling_humans_label_everything_in_batches_and_no_model_exists() -> None:
    timeline = simulate(plan(auto_labeling=False), DEFAULTS)

    assert batches(timeline.iterations) == [(200, 0)] * 6 + [(50, 0)]
    assert timeline.machine_labeled == 0
    assert timeline.model_labels is None
    assert timeline.end_status == "Completed"


def test_max_human_labeled_stops_the_job_when_humans_reach_it() -> None:
    timeline = simulate(plan(max_human_labeled=300), DEFAULTS)

    assert timeline.human_labeled == 300
    assert timeline.end_status == "Stopped"
    assert "MaxHumanLabeledObjectCount" in (timeline.stop_reason or "")
    assert timeline.machine_labeled + timeline.human_labeled < 1250


def test_max_percentage_labeled_stops_the_job_at_that_share() -> None:
    timeline = simulate(plan(max_percentage_labeled=40), DEFAULTS)

    assert timeline.human_labeled + timeline.machine_labeled == 500
    assert timeline.end_status == "Stopped"


def test_auto_labeling_below_1250_objects_fails_the_job() -> None:
    timeline = simulate(plan(1000), DEFAULTS)

    assert timeline.end_status == "Failed"
    assert "1250" in (timeline.failure_reason or "")
    assert timeline.iterations == ()


def test_a_job_that_cannot_start_fails_after_initializing() -> None:
    timeline = simulate(plan(failure_reason="ClientError: no manifest"), DEFAULTS)

    assert (timeline.end_status, timeline.ended_at) == ("Failed", DEFAULTS.initializing_seconds)


# --- the work team ----------------------------------------------------------------------------------


def test_a_smaller_team_takes_longer_for_the_same_answers() -> None:
    small = simulate(plan(team_size=5), DEFAULTS)
    large = simulate(plan(team_size=20), DEFAULTS)

    assert batches(small.iterations) == batches(large.iterations)
    assert small.ended_at > large.ended_at + 3600
    first = small.iterations[0]
    assert len(first.answers) == 3 * len(first.human_objects)
    assert len({a.worker for a in first.answers}) == 5


def test_no_team_member_works_two_tasks_at_once_and_an_objects_answers_come_from_different_people() -> None:
    (iteration, *_) = simulate(plan(team_size=4), DEFAULTS).iterations

    by_worker: dict[int, list[tuple[float, float]]] = {}
    by_object: dict[int, set[int]] = {}
    for answer in iteration.answers:
        by_worker.setdefault(answer.worker, []).append((answer.accepted_at, answer.submitted_at))
        by_object.setdefault(answer.object_index, set()).add(answer.worker)
        assert 0 < answer.seconds <= 300
    for spans in by_worker.values():
        spans.sort()
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert all(len(workers) == 3 for workers in by_object.values())


def test_worker_time_follows_the_task_type() -> None:
    boxes = simulate(plan(auto_labeling=False, task_type=TaskType.BOUNDING_BOX), DEFAULTS)
    classes = simulate(plan(auto_labeling=False, task_type=TaskType.IMAGE_CLASSIFICATION), DEFAULTS)

    def median_seconds(job: Timeline) -> float:
        return statistics.median(a.seconds for i in job.iterations for a in i.answers)

    assert median_seconds(boxes) == pytest.approx(TASK_TIMES[TaskType.BOUNDING_BOX].median_seconds, rel=0.1)
    assert median_seconds(classes) == pytest.approx(
        TASK_TIMES[TaskType.IMAGE_CLASSIFICATION].median_seconds, rel=0.1
    )


def test_more_workers_per_object_than_the_team_has_fails_the_job() -> None:
    timeline = simulate(plan(team_size=2), DEFAULTS)

    assert timeline.end_status == "Failed"
    assert "NumberOfHumanWorkersPerDataObject (3)" in (timeline.failure_reason or "")
