"""Specification of the automated-labeling model (pure: no HTTP, no S3)."""

from __future__ import annotations

import statistics

import pytest

from local.ground_truth.calibration import PUBLISHED, ROLES, experiment_objects, run_experiment
from local.ground_truth.model import JobPlan, difficulty, simulate
from local.ground_truth.params import SimulationParams

DEFAULTS = SimulationParams()
TOLERANCE_POINTS = 5.0
"""Default seed: each job's % machine-labeled within this many points of AWS's published figure."""
SWEEP_TOLERANCE_POINTS = 10.0
"""Seed sweep: each job's mean % machine-labeled within this many points of AWS's figure."""


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


# --- the calibrated experiment ------------------------------------------------------------------


def test_default_experiment_lands_near_aws_published_shares_and_iterations() -> None:
    run = run_experiment()

    for role in ROLES:
        share, iterations = PUBLISHED[role]
        job = run.job(role)
        assert 100 * job.machine_labeled_fraction == pytest.approx(share, abs=TOLERANCE_POINTS), role
        assert len(job.iterations) == iterations, role


def test_seeded_job_takes_at_most_sixty_percent_of_the_controls_time_with_fewer_iterations() -> None:
    run = run_experiment()

    assert run.pretrained.ended_at <= 0.6 * run.control.ended_at
    assert len(run.pretrained.iterations) < len(run.control.iterations)
    assert run.control.ended_at > 3 * 3600, "an experiment job takes hours of simulated time"


def test_first_two_iterations_are_human_only_batches_of_200_and_50() -> None:
    run = run_experiment()

    for role in ROLES:
        assert batches(run.job(role).iterations)[:2] == [(200, 0), (50, 0)], role


def test_calibration_holds_on_average_over_seeds_not_only_for_the_default_seed() -> None:
    runs = [run_experiment(DEFAULTS.model_copy(update={"seed": seed})) for seed in range(12)]

    for role in ROLES:
        mean = statistics.mean(100 * run.job(role).machine_labeled_fraction for run in runs)
        assert mean == pytest.approx(PUBLISHED[role][0], abs=SWEEP_TOLERANCE_POINTS), role
    assert all(len(run.pretrained.iterations) < len(run.control.iterations) for run in runs)
    assert statistics.mean(run.time_ratio for run in runs) < 0.6


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

    assert batches(timeline.iterations)[0] == (600, 0)


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
