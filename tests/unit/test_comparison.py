"""Specification of the seed experiment's comparison (pure): per-job figures, deltas, report.md.

The tutorial-shaped experiment: three jobs of 1,250 objects, 48 / 80 / 60 % machine-labeled, five
workers at 0.036 USD per task plus the 0.08 USD object fee (0.26 USD per human-labeled object, 0.08
per machine-labeled one), iterations 1 and 2 human-only batches of 200 and 50 objects.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from labelchain.core.comparison import (
    ROLE_ORDER,
    ExecutionStatus,
    ExperimentComparison,
    JobEvidence,
    Role,
    compare_experiment,
)
from labelchain.core.cost import compute_cost
from labelchain.core.prices import MECHANICAL_TURK_TUTORIAL_PRICES as TUTORIAL_PRICES
from labelchain.core.records import Counters, IterationRow, JobRecord
from labelchain.core.report_markdown import render_markdown
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.clock import EXAMPLE_TIME

WORKERS = 5
TASK_PRICE = Decimal("0.036")
EXPERIMENT_NAME = "birds-experiment-1"
EXPERIMENT_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelChain-Experiment:{EXPERIMENT_NAME}"

# (human, machine) objects per iteration, and seconds from creation to end.
TUTORIAL_ITERATIONS: dict[Role, list[tuple[int, int]]] = {
    "initial": [(200, 0), (50, 0), (200, 200), (150, 250), (50, 150)],  # 650 human, 600 machine: 48 %
    "pretrained": [(200, 0), (50, 0), (0, 1000)],  # 250 human, 1,000 machine: 80 %
    "control": [(200, 0), (50, 0), (150, 400), (100, 350)],  # 500 human, 750 machine: 60 %
}
TUTORIAL_DURATIONS: dict[Role, int] = {"initial": 36_000, "pretrained": 15_000, "control": 28_800}


def model_arn(role: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-{role}-model"


def job_name(role: str) -> str:
    return f"labelchain-{EXPERIMENT_NAME}-{role}-0a1b2c3d"


def tutorial_record(
    role: Role,
    *,
    iterations: list[tuple[int, int]] | None = None,
    duration_seconds: int | None = None,
    **changes: Any,
) -> JobRecord:
    """A finished job record shaped like the tutorial's job ``role``, costed by ``compute_cost``."""
    rows = TUTORIAL_ITERATIONS[role] if iterations is None else iterations
    human = sum(h for h, _ in rows)
    machine = sum(m for _, m in rows)

    def cost(human_objects: int, machine_objects: int, iteration_count: int) -> Any:
        return compute_cost(
            human_objects=human_objects,
            machine_objects=machine_objects,
            workers_per_object=WORKERS,
            task_price_usd=TASK_PRICE,
            prices=TUTORIAL_PRICES,
            iterations=iteration_count,
        )

    duration = TUTORIAL_DURATIONS[role] if duration_seconds is None else duration_seconds
    values: dict[str, Any] = {
        "job_name": job_name(role),
        "project": "birds",
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelChain-LabelingJob:x-{role}",
        "task_type": "bounding_box",
        "labels": ["Bird"],
        "label_attribute": "category",
        "manifest_uri": f"s3://{TEST_SETTINGS.data_bucket}/birds/{role}.manifest",
        "object_count": 1250,
        "auto_labeling": True,
        "workforce": {
            "kind": "public",
            "workteam_arn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default",
            "workers_per_object": WORKERS,
            "task_price_usd": str(TASK_PRICE),
        },
        "prices": TUTORIAL_PRICES,
        "initial_model_source": "job:initial" if role == "pretrained" else "none",
        "initial_model_arn": model_arn("initial") if role == "pretrained" else None,
        "status": "Completed",
        "created_at": EXAMPLE_TIME,
        "ended_at": EXAMPLE_TIME + timedelta(seconds=duration),
        "duration_seconds": duration,
        "counters": Counters(total_labeled=human + machine, human_labeled=human, machine_labeled=machine),
        "final_model_arn": model_arn(role),
        "model_outcome": "trained",
        "cost": cost(human, machine, len(rows)),
        "iterations": [
            IterationRow(
                iteration=number,
                human_objects=h,
                machine_objects=m,
                boxes=2 * (h + m),
                cost_usd=str(cost(h, m, 1).total_cost_usd),
            )
            for number, (h, m) in enumerate(rows, start=1)
        ],
    }
    return JobRecord.model_validate({**values, **changes})


def present(role: Role, record: JobRecord | None = None, **changes: Any) -> JobEvidence:
    values: dict[str, Any] = {
        "role": role,
        "execution_status": "SUCCEEDED",
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelChain-LabelingJob:x-{role}",
        "record": record or tutorial_record(role),
    }
    return JobEvidence.model_validate({**values, **changes})


def missing(role: Role, reason: str, status: ExecutionStatus = "NOT_RUN") -> JobEvidence:
    return JobEvidence(role=role, execution_status=status, missing_reason=reason)


def tutorial_comparison(**evidence: JobEvidence) -> ExperimentComparison:
    """The comparison of the tutorial-shaped experiment, with some sides replaced."""
    sides = {role: evidence.get(role) or present(role) for role in ROLE_ORDER}
    return compare_experiment(
        sides,
        execution_name=EXPERIMENT_NAME,
        execution_arn=EXPERIMENT_ARN,
        project="birds",
        compared_at=EXAMPLE_TIME + timedelta(days=1),
    )


def values(comparison: ExperimentComparison, delta: str) -> tuple[Decimal | None, ...]:
    d = getattr(comparison, delta)
    return (
        d.cost_reduction_percent.value,
        d.duration_reduction_percent.value,
        d.machine_labeled_gain_points.value,
    )


# --- the tutorial's numbers ------------------------------------------------------------------------


def test_the_pretrained_job_saves_about_23_percent_against_the_control() -> None:
    """Given the tutorial-shaped jobs, then pretrained vs control is the tutorial's headline.

    By hand: pretrained 250 x 0.26 + 1,000 x 0.08 = 65 + 80 = 145 USD; control 500 x 0.26 + 750 x 0.08
    = 130 + 60 = 190 USD; (190 - 145) / 190 = 45 / 190 = 23.684…% -> 23.68. Duration (28,800 - 15,000)
    / 28,800 = 47.916…% -> 47.92. Machine-labeled 1,000/1,250 - 750/1,250 = 80 % - 60 % = 20.00 pp.
    """
    comparison = tutorial_comparison()

    assert values(comparison, "pretrained_vs_control") == (
        Decimal("23.68"),
        Decimal("47.92"),
        Decimal("20.00"),
    )
    assert comparison.pretrained_vs_control.caveats == []


def test_the_pretrained_job_is_also_compared_with_the_initial_job() -> None:
    """By hand: initial 650 x 0.26 + 600 x 0.08 = 169 + 48 = 217 USD; (217 - 145) / 217 = 72 / 217 =
    33.179…% -> 33.18. Duration (36,000 - 15,000) / 36,000 = 58.333…% -> 58.33. 80 % - 48 % = 32.00 pp.
    """
    assert values(tutorial_comparison(), "pretrained_vs_initial") == (
        Decimal("33.18"),
        Decimal("58.33"),
        Decimal("32.00"),
    )


@pytest.mark.parametrize(
    ("role", "human", "machine", "share", "human_usd", "machine_usd", "total_usd", "iterations"),
    [
        ("initial", 650, 600, "48.00", "169", "48", "217", 5),
        ("pretrained", 250, 1000, "80.00", "65", "80", "145", 3),
        ("control", 500, 750, "60.00", "130", "60", "190", 4),
    ],
)
def test_each_job_reports_its_counts_costs_and_iterations(
    role: Role,
    human: int,
    machine: int,
    share: str,
    human_usd: str,
    machine_usd: str,
    total_usd: str,
    iterations: int,
) -> None:
    figures = tutorial_comparison().jobs[role].figures
    assert figures is not None

    assert (figures.objects, figures.human_labeled, figures.machine_labeled) == (1250, human, machine)
    assert figures.machine_labeled_percent == Decimal(share)
    assert (figures.human_cost_usd, figures.machine_cost_usd, figures.total_cost_usd) == (
        Decimal(human_usd),
        Decimal(machine_usd),
        Decimal(total_usd),
    )
    assert (figures.iterations, figures.duration_seconds) == (iterations, TUTORIAL_DURATIONS[role])
    assert figures.final_model_arn == model_arn(role)


def test_each_iterations_cost_is_split_into_human_and_machine_parts() -> None:
    figures = tutorial_comparison().jobs["control"].figures
    assert figures is not None

    split = [(r.human_cost_usd, r.machine_cost_usd, r.total_cost_usd) for r in figures.iteration_rows]

    # 200 x 0.26 = 52; 50 x 0.26 = 13; 150 x 0.26 + 400 x 0.08 = 39 + 32; 100 x 0.26 + 350 x 0.08 = 26 + 28
    assert split == [
        (Decimal(52), Decimal(0), Decimal(52)),
        (Decimal(13), Decimal(0), Decimal(13)),
        (Decimal(39), Decimal(32), Decimal(71)),
        (Decimal(26), Decimal(28), Decimal(54)),
    ]
    assert sum(row.total_cost_usd for row in figures.iteration_rows) == figures.total_cost_usd


def test_the_prices_used_are_named_once_for_the_jobs_they_priced() -> None:
    (used,) = tutorial_comparison().prices

    assert used.roles == ["initial", "pretrained", "control"]
    assert used.price_table == TUTORIAL_PRICES
    assert (used.workers_per_object, used.task_price_usd) == (5, "0.036")


# --- missing sides ---------------------------------------------------------------------------------


def test_a_missing_control_leaves_only_the_control_delta_unknown() -> None:
    comparison = tutorial_comparison(control=missing("control", "not run: initial job produced no model"))

    delta = comparison.pretrained_vs_control
    assert values(comparison, "pretrained_vs_control") == (None, None, None)
    assert delta.cost_reduction_percent.reason == (
        "control is missing: not run: initial job produced no model"
    )
    assert values(comparison, "pretrained_vs_initial") == (
        Decimal("33.18"),
        Decimal("58.33"),
        Decimal("32.00"),
    )
    assert comparison.missing == {"control": "not run: initial job produced no model"}
    assert comparison.jobs["control"].figures is None


def test_a_missing_pretrained_job_leaves_both_deltas_unknown() -> None:
    comparison = tutorial_comparison(pretrained=missing("pretrained", "the child execution failed"))

    assert values(comparison, "pretrained_vs_control") == (None, None, None)
    assert values(comparison, "pretrained_vs_initial") == (None, None, None)
    assert "pretrained is missing: the child execution failed" in (
        comparison.pretrained_vs_initial.machine_labeled_gain_points.reason or ""
    )
    assert list(comparison.missing) == ["pretrained"]


def test_a_missing_initial_job_leaves_only_the_initial_delta_unknown() -> None:
    comparison = tutorial_comparison(initial=missing("initial", "no record", status="FAILED"))

    assert values(comparison, "pretrained_vs_initial") == (None, None, None)
    assert values(comparison, "pretrained_vs_control") == (
        Decimal("23.68"),
        Decimal("47.92"),
        Decimal("20.00"),
    )


def test_two_missing_sides_are_both_named_in_the_reason() -> None:
    comparison = tutorial_comparison(
        pretrained=missing("pretrained", "not run: stopped"), control=missing("control", "not run: stopped")
    )

    assert comparison.pretrained_vs_control.cost_reduction_percent.reason == (
        "pretrained is missing: not run: stopped; control is missing: not run: stopped"
    )


def test_a_job_without_a_record_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="control: a job without a record needs a missing_reason"):
        JobEvidence(role="control", execution_status="FAILED")


def test_comparing_without_evidence_for_every_role_is_refused() -> None:
    with pytest.raises(ValueError, match="evidence missing for control"):
        compare_experiment(
            {"initial": present("initial"), "pretrained": present("pretrained")},
            execution_name=EXPERIMENT_NAME,
            execution_arn=EXPERIMENT_ARN,
            project="birds",
            compared_at=EXAMPLE_TIME,
        )


# --- guards ----------------------------------------------------------------------------------------


def test_a_control_of_zero_duration_makes_the_duration_reduction_undefined() -> None:
    control = present("control", tutorial_record("control", duration_seconds=0))

    delta = tutorial_comparison(control=control).pretrained_vs_control

    assert delta.duration_reduction_percent.value is None
    assert (
        delta.duration_reduction_percent.reason == "control's duration is 0: a reduction from 0 is undefined"
    )
    assert delta.cost_reduction_percent.value == Decimal("23.68")


def test_a_control_that_cost_nothing_makes_the_cost_reduction_undefined() -> None:
    free = tutorial_record("control", iterations=[(0, 0)], object_count=1250)

    delta = tutorial_comparison(control=present("control", free)).pretrained_vs_control

    assert delta.cost_reduction_percent.value is None
    assert delta.cost_reduction_percent.reason == "control's cost is 0: a reduction from 0 is undefined"


def test_a_job_whose_metrics_were_never_recorded_has_no_cost_to_compare() -> None:
    unpriced = tutorial_record("control", cost=None, duration_seconds=None).model_copy(
        update={"duration_seconds": None}
    )

    delta = tutorial_comparison(control=present("control", unpriced)).pretrained_vs_control

    assert delta.cost_reduction_percent.reason == "control has no recorded cost"
    assert delta.duration_reduction_percent.reason == "control has no recorded duration"
    assert delta.machine_labeled_gain_points.value == Decimal("20.00")


def test_a_job_of_zero_objects_has_no_machine_labeled_share_to_compare() -> None:
    empty = tutorial_record("control", iterations=[(0, 0)], object_count=0)

    delta = tutorial_comparison(control=present("control", empty)).pretrained_vs_control

    assert delta.machine_labeled_gain_points.value is None
    assert delta.machine_labeled_gain_points.reason == (
        "control has 0 objects: its share machine-labeled is undefined"
    )


def test_percentages_are_rounded_half_up_from_exact_values() -> None:
    """1,000 / 32,000 = 3.125 % exactly: half-up gives 3.13 (banker's rounding would give 3.12)."""
    control = present("control", tutorial_record("control", duration_seconds=32_000))
    pretrained = present("pretrained", tutorial_record("pretrained", duration_seconds=31_000))

    delta = tutorial_comparison(control=control, pretrained=pretrained).pretrained_vs_control

    assert delta.duration_reduction_percent.value == Decimal("3.13")


def test_a_failed_side_with_numbers_is_compared_with_a_caveat() -> None:
    failed = tutorial_record(
        "control", iterations=[(200, 0), (50, 0)], status="Failed", failure_reason="ClientError: workers"
    )
    control = present("control", failed, execution_status="FAILED", execution_error="LabelingJobFailed: x")

    comparison = tutorial_comparison(control=control)

    assert comparison.pretrained_vs_control.cost_reduction_percent.value is not None
    assert comparison.pretrained_vs_control.caveats == [
        "control did not complete (job Failed, execution FAILED): its numbers cover only what it labeled "
        "before it ended"
    ]
    assert comparison.missing == {}


def test_a_simulated_job_makes_the_whole_comparison_simulated() -> None:
    simulated = present("control", tutorial_record("control", simulated=True))

    comparison = tutorial_comparison(control=simulated)

    assert (comparison.simulated, comparison.simulated_roles) == (True, ["control"])
    assert "only control is simulated" in comparison.pretrained_vs_control.caveats[0]


def test_the_comparison_survives_a_json_round_trip() -> None:
    comparison = tutorial_comparison(control=missing("control", "not run"))

    assert ExperimentComparison.model_validate_json(comparison.model_dump_json()) == comparison


# --- report.md -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "| pretrained vs control (same data) | 23.68 % | 47.92 % | +20.00 pp |",
        "| pretrained vs initial (other half of the data) | 33.18 % | 58.33 % | +32.00 pp |",
        "| total cost | 217.00 USD |",
        "| total cost | 145.00 USD |",
        "| total cost | 190.00 USD |",
        "| human labeling cost | 169.00 USD |",
        "| machine labeling cost | 80.00 USD |",
        "| machine-labeled | 600 (48.00 %) |",
        "| machine-labeled | 1,000 (80.00 %) |",
        "| machine-labeled | 750 (60.00 %) |",
        "| objects | 1,250 |",
        "| duration | 10 h 0 min (36,000 s) |",
        "| duration | 4 h 10 min (15,000 s) |",
        "| duration | 8 h 0 min (28,800 s) |",
        "| active-learning iterations | 5 |",
        "| 3 | 0 | 1,000 | 2,000 | n/a | 0.00 USD | 80.00 USD | 80.00 USD |",
        f"| labeling job | `{job_name('control')}` |",
        f"| initial model | `{model_arn('initial')}` |",
        "`aws-gt-tutorial-2019` (initial, pretrained, control): 0.08 USD Ground Truth fee per labeled "
        "object; human-labeled objects also pay 5 workers x 0.036 USD per task",
        "None: all three jobs have numbers.",
        "| ran on | AWS SageMaker Ground Truth |",
    ],
)
def test_the_markdown_report_shows_every_number(text: str) -> None:
    assert text in render_markdown(tutorial_comparison())


def test_a_report_of_real_jobs_never_mentions_simulation() -> None:
    markdown = render_markdown(tutorial_comparison())

    assert markdown.startswith(f"# Seed experiment `{EXPERIMENT_NAME}`")
    assert "simulated" not in markdown.lower()


def test_a_report_with_any_simulated_job_says_so_on_its_first_line() -> None:
    comparison = tutorial_comparison(
        pretrained=present("pretrained", tutorial_record("pretrained", simulated=True))
    )

    first_line = render_markdown(comparison).splitlines()[0]

    assert first_line.startswith("> **SIMULATED")
    assert "LabelChain's Ground Truth emulator (pretrained)" in first_line
    assert "not AWS results" in first_line


def test_the_markdown_says_which_side_is_missing_and_why() -> None:
    reason = "not run: initial job produced no model"
    markdown = render_markdown(tutorial_comparison(control=missing("control", reason)))

    assert f"- control: {reason}" in markdown
    assert "### control: part 2, without a model: MISSING" in markdown
    assert "| pretrained vs control (same data) | n/a | n/a | n/a |" in markdown
    assert f"- pretrained vs control: control is missing: {reason}" in markdown


def test_a_failure_reason_with_table_syntax_does_not_break_the_markdown_table() -> None:
    failed = tutorial_record("control", status="Failed", failure_reason="bad | input\nsecond line")

    markdown = render_markdown(tutorial_comparison(control=present("control", failed)))

    assert "| job status | Failed (bad \\| input second line) |" in markdown
