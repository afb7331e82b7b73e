"""``report.md``: the experiment's comparison as a page a person reads without the code.

Pure text from an ``ExperimentComparison``. A simulated report (any job ran on LabelChain's Ground
Truth emulator) says so on its first line, before anything else, so its numbers are never mistaken
for AWS results.
"""

from __future__ import annotations

from decimal import Decimal

from labelchain.core.comparison import (
    ROLE_ORDER,
    Delta,
    ExperimentComparison,
    JobFigures,
    JobSide,
    Measure,
    PricesUsed,
    Role,
)

ROLE_TITLES: dict[Role, str] = {
    "initial": "initial: part 1, from scratch",
    "pretrained": "pretrained: part 2, seeded with the initial job's model",
    "control": "control: part 2, without a model",
}
NOT_AVAILABLE = "n/a"


def usd(amount: Decimal | None) -> str:
    """``1,234.50 USD``: two decimal places unless the amount needs up to four to stay exact."""
    if amount is None:
        return NOT_AVAILABLE
    places = 2 if amount == amount.quantize(Decimal("0.01")) else 4
    return f"{amount:,.{places}f} USD"


def duration(seconds: int | None) -> str:
    """``4 h 10 min (15,000 s)``: readable, with the exact seconds."""
    if seconds is None:
        return NOT_AVAILABLE
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    readable = f"{hours} h {minutes} min" if hours else f"{minutes} min {rest % 60} s"
    return f"{readable} ({seconds:,} s)"


def worker_hours(value: Decimal | None) -> str:
    """``12.50 h`` or n/a."""
    return NOT_AVAILABLE if value is None else f"{value:,.2f} h"


def _measure(measure: Measure, unit: str) -> str:
    if measure.value is None:
        return NOT_AVAILABLE
    sign = "+" if unit == "pp" and measure.value > 0 else ""
    return f"{sign}{measure.value} {unit}"


def simulated_banner(report: ExperimentComparison) -> str:
    roles = ", ".join(report.simulated_roles)
    return (
        f"> **SIMULATED: these numbers come from LabelChain's Ground Truth emulator ({roles}); they are "
        "simulated, not AWS results.**"
    )


def _headline(report: ExperimentComparison) -> list[str]:
    lines = [
        "## What the pre-trained model changed",
        "",
        "| comparison | cost reduction | duration reduction | machine-labeled gain |",
        "|---|---:|---:|---:|",
    ]
    deltas: list[tuple[str, Delta]] = [
        ("pretrained vs control (same data)", report.pretrained_vs_control),
        ("pretrained vs initial (other half of the data)", report.pretrained_vs_initial),
    ]
    notes: list[str] = []
    for label, delta in deltas:
        measures = (
            _measure(delta.cost_reduction_percent, "%"),
            _measure(delta.duration_reduction_percent, "%"),
            _measure(delta.machine_labeled_gain_points, "pp"),
        )
        lines.append(f"| {label} | {' | '.join(measures)} |")
        reasons = {
            m.reason
            for m in (
                delta.cost_reduction_percent,
                delta.duration_reduction_percent,
                delta.machine_labeled_gain_points,
            )
            if m.reason
        }
        notes.extend(f"- {delta.subject} vs {delta.baseline}: {reason}" for reason in sorted(reasons))
        notes.extend(f"- {delta.subject} vs {delta.baseline}: caveat: {caveat}" for caveat in delta.caveats)
    lines += [
        "",
        "Reductions are (baseline - pretrained) / baseline; a positive number means the pre-trained "
        "model saved. The gain is in percentage points (pp) of objects machine-labeled.",
    ]
    if notes:
        lines += ["", *notes]
    return lines


def _cell(text: str) -> str:
    """Text safe inside a table cell: a failure reason may hold pipes or line breaks."""
    return " ".join(text.split()).replace("|", "\\|")


def _job_table(figures: JobFigures) -> list[str]:
    rows = [
        ("labeling job", f"`{figures.job_name}`"),
        ("job status", figures.status + (f" ({figures.failure_reason})" if figures.failure_reason else "")),
        (
            "ran on",
            "LabelChain's Ground Truth emulator (simulated)"
            if figures.simulated
            else "AWS SageMaker Ground Truth",
        ),
        ("objects", f"{figures.objects:,}"),
        ("human-labeled", f"{figures.human_labeled:,}"),
        ("machine-labeled", f"{figures.machine_labeled:,} ({figures.machine_labeled_percent} %)"),
        ("workforce", _workforce(figures.workforce_kind)),
        ("human labeling cost", usd(figures.human_cost_usd)),
        ("of which labor", usd(figures.labor_cost_usd)),
        ("machine labeling cost", usd(figures.machine_cost_usd)),
        ("auto-labeling compute", usd(figures.compute_cost_usd)),
        ("total cost", usd(figures.total_cost_usd)),
        ("cost per labeled object", usd(figures.cost_per_object_usd)),
        ("without auto-labeling", usd(figures.cost_without_auto_labeling_usd)),
        ("saving", usd(figures.saving_usd)),
        ("worker hours", worker_hours(figures.worker_hours)),
        ("worker hours without auto-labeling", worker_hours(figures.worker_hours_without_auto_labeling)),
        ("worker hours saved", worker_hours(figures.worker_hours_saved)),
        ("duration", duration(figures.duration_seconds)),
        ("active-learning iterations", str(figures.iterations)),
        ("initial model", f"`{figures.initial_model_arn}`" if figures.initial_model_arn else "none"),
        (
            "final model",
            f"`{figures.final_model_arn}`" if figures.final_model_arn else f"none ({figures.model_outcome})",
        ),
    ]
    table = ["| measure | value |", "|---|---|", *(f"| {name} | {_cell(value)} |" for name, value in rows)]
    if figures.cost_notes:
        table += ["", *(f"- cost note: {note}" for note in figures.cost_notes)]
    return table


def _workforce(kind: str | None) -> str:
    return {
        "private": "private work team (labor = worker time x labor rate)",
        "vendor": "vendor work team (price per human-labeled object)",
        "public": "Amazon Mechanical Turk (history: closed on 2026-09-30)",
    }.get(kind or "", NOT_AVAILABLE)


def _iteration_table(figures: JobFigures) -> list[str]:
    if not figures.iteration_rows:
        return ["No per-iteration rows were recorded for this job."]
    lines = [
        "| iteration | human objects | machine objects | boxes | worker hours | human cost | machine cost "
        "| total cost |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures.iteration_rows:
        machine = NOT_AVAILABLE if row.machine_objects is None else f"{row.machine_objects:,}"
        boxes = NOT_AVAILABLE if row.boxes is None else f"{row.boxes:,}"
        lines.append(
            f"| {row.iteration} | {row.human_objects:,} | {machine} | {boxes} "
            f"| {worker_hours(row.worker_hours)} | {usd(row.human_cost_usd)} | {usd(row.machine_cost_usd)} "
            f"| {usd(row.total_cost_usd)} |"
        )
    return lines


def _job_section(side: JobSide) -> list[str]:
    title = ROLE_TITLES[side.role]
    if side.figures is None:
        return [f"### {title}: MISSING", "", f"No numbers: {side.missing_reason}"]
    heading = f"### {title}"
    lines: list[str] = []
    if side.execution_status == "FAILED":
        heading += ": FAILED"
        lines += [
            "",
            f"The execution failed ({side.execution_error or 'no error recorded'}); these are "
            "the numbers its job recorded.",
        ]
    return [heading, *lines, "", *_job_table(side.figures), "", *_iteration_table(side.figures)]


def _prices(report: ExperimentComparison) -> list[str]:
    lines = ["## Prices used", ""]
    if not report.prices:
        return [*lines, "No job recorded prices."]
    for used in report.prices:
        table = used.price_table
        lines.append(
            f"- `{table.version}` ({', '.join(used.roles)}): {table.object_fee_usd} USD Ground Truth fee "
            f"per labeled object; {_labor_prices(used)}; auto-labeling compute "
            f"{table.auto_labeling_compute_usd_per_iteration} USD per iteration. Source: {table.source}"
        )
    return lines


def _labor_prices(used: PricesUsed) -> str:
    workers = f"{used.workers_per_object} worker{'' if used.workers_per_object == 1 else 's'}"
    if used.workforce_kind == "vendor":
        price = used.price_per_object_usd or "0"
        return f"human-labeled objects also pay the vendor {price} USD (vendor workforce)"
    if used.workforce_kind == "private":
        rate = used.price_table.labor_rate_usd_per_hour
        time = (
            "labor not priced (no labor_rate_usd_per_hour)" if rate is None else f"{rate} USD per worker hour"
        )
        text = f"private work team of {workers} per object: {time}"
        if used.task_price_usd not in ("0", "0.0"):
            text += f", plus {used.task_price_usd} USD per task"
        return text
    history = ", Amazon Mechanical Turk prices" if used.workforce_kind == "public" else ""
    return (
        f"human-labeled objects also pay {workers} x {used.task_price_usd} USD per task "
        f"({used.workforce_kind} workforce{history})"
    )


def _totals(report: ExperimentComparison) -> list[str]:
    totals = report.totals
    if totals is None:
        return []
    return [
        "## The experiment's jobs together",
        "",
        f"Jobs counted: {', '.join(totals.roles)}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| total cost | {usd(totals.total_cost_usd)} |",
        f"| without auto-labeling | {usd(totals.cost_without_auto_labeling_usd)} |",
        f"| saving | {usd(totals.saving_usd)} ({totals.saving_percent} %) |",
        f"| worker hours | {worker_hours(totals.worker_hours)} |",
        f"| worker hours without auto-labeling | {worker_hours(totals.worker_hours_without_auto_labeling)} |",
        f"| worker hours saved | {worker_hours(totals.worker_hours_saved)} |",
        "",
    ]


def render_markdown(report: ExperimentComparison) -> str:
    """The whole report; its first line is the SIMULATED banner when any job was simulated."""
    lines: list[str] = []
    if report.simulated:
        lines += [simulated_banner(report), ""]
    lines += [
        f"# Seed experiment `{report.execution_name}`: pre-trained model vs control",
        "",
        f"Project `{report.project}`, execution `{report.execution_arn}`, compared at "
        f"{report.compared_at.isoformat()}.",
        "",
        *_headline(report),
        "",
        "## Missing jobs",
        "",
    ]
    if report.missing:
        lines += [f"- {role}: {reason}" for role, reason in report.missing.items()]
    else:
        lines.append("None: all three jobs have numbers.")
    if report.stop_reason:
        lines += ["", f"The experiment stopped early: {report.stop_reason}"]
    lines += ["", *_totals(report), "## Jobs"]
    for role in ROLE_ORDER:
        lines += ["", *_job_section(report.jobs[role])]
    lines += [
        "",
        *_prices(report),
        "",
        "## Rounding",
        "",
        report.rounding[0].upper() + report.rounding[1:] + ".",
    ]
    return "\n".join(lines) + "\n"
