"""``labelchain validate INPUT.json``: check an input offline and price it before anything runs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from labelchain.cli import output
from labelchain.cli.exits import OK, USAGE
from labelchain.cli.inputs import CheckedInput, InvalidInput, ObjectCount, count_objects, load_input
from labelchain.cli.options import Subparsers, add_command, whole_number
from labelchain.core.cost import MAX_OBJECTS
from labelchain.core.estimate import (
    CostEstimate,
    budget_problem,
    estimate_experiment_cost,
    estimate_job_cost,
)
from labelchain.core.prices import PriceTable

NAME = "validate"
DESCRIPTION = """\
Check INPUT.json with the model CreateJob uses (PrepareDataset's with --experiment) — every broken
field is named with what is allowed, exactly as the execution would fail — and print the job's
expected cost range from LabelChain's price model: the least (automated labeling takes everything
it can; people label the validation sample) and the most (people label every object).

The range needs the manifest's object count: --objects N, or --manifest-file PATH (a local copy,
scanned with CreateJob's line checks), else the s3:// manifest itself is read when AWS credentials
are available. A budget_usd below the least the job can cost is refused."""
EXAMPLES = """\
  labelchain validate examples/bird-bounding-box.json --objects 1250
  labelchain validate my-job.json --manifest-file data/birds.manifest
  labelchain validate my-job.json                    # reads the s3:// manifest (credentials needed)
  labelchain validate examples/experiment-birds.json --experiment --objects 2500 --json"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="check INPUT.json offline and print its expected cost range",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
        aws="region",
    )
    parser.add_argument("input", metavar="INPUT.json", help="the execution input ('-': standard input)")
    parser.add_argument(
        "--experiment", action="store_true", help="INPUT.json is an Experiment input (docs/EXPERIMENT.md)"
    )
    count = parser.add_mutually_exclusive_group()
    count.add_argument(
        "--objects", metavar="N", type=whole_number(1, MAX_OBJECTS), help="the manifest's object count"
    )
    count.add_argument("--manifest-file", metavar="PATH", help="a local copy of the manifest to count")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    aws = Aws.from_args(args)
    try:
        checked = load_input(args.input, args.experiment)
    except InvalidInput as exc:
        if args.json:
            output.emit_json(invalid_document(exc))
        raise
    count = count_objects(checked, objects=args.objects, manifest_file=args.manifest_file, aws=aws)
    priced = price(checked, count, *aws.project.default_prices())
    budget = checked.job.budget_usd
    label = "job.budget_usd" if checked.experiment is not None else "budget_usd"
    problems = [p for e in priced.estimates.values() if (p := budget_problem(budget, e, label)) is not None]
    problem = problems[0] if problems else None
    if args.json:
        output.emit_json(_document(checked, priced, problem))
    else:
        output.emit(_text(checked, priced))
    if problem:
        output.warn(NAME, f"{checked.path}: {problem}")
        return USAGE
    return OK


@dataclass(frozen=True)
class Priced:
    """An input's cost range on its object count."""

    count: ObjectCount
    estimates: dict[str, CostEstimate]
    """``job`` for a LabelingJob input; the three roles for an experiment."""
    least: Decimal
    most: Decimal
    prices_source: str


def price(
    checked: CheckedInput, count: ObjectCount, default_prices: PriceTable, prices_source: str
) -> Priced:
    if checked.experiment is not None:
        experiment = estimate_experiment_cost(checked.experiment, count.objects, default_prices)
        return Priced(count, experiment.jobs, experiment.minimum_usd, experiment.maximum_usd, prices_source)
    single = estimate_job_cost(checked.job, count.objects, default_prices)
    return Priced(
        count,
        {"job": single},
        single.minimum.total_cost_usd,
        single.maximum.total_cost_usd,
        prices_source,
    )


def _workforce_text(checked: CheckedInput, prices: PriceTable) -> str:
    workforce = checked.job.workforce
    workers = output.plural(workforce.workers_per_object, "worker")
    vendor_price = getattr(workforce, "price_per_object_usd", None)
    if workforce.kind == "vendor" and vendor_price is not None:
        return f"vendor workteam, {workers}; {vendor_price} USD per human-labeled object"
    rate = prices.labor_rate_usd_per_hour
    labor = (
        "labor not priced (set prices.labor_rate_usd_per_hour)"
        if rate is None
        else f"labor {rate} USD per worker hour, priced from worker time once the job ran (not in this range)"
    )
    text = f"{workforce.kind} workteam, {workers}; {labor}"
    if prices.task_price_usd:
        text += f"; {prices.task_price_usd} USD per task (prices.task_price_usd)"
    return text


def _range(least: Decimal, most: Decimal) -> str:
    return output.usd(least) if least == most else f"{output.usd(least)} to {output.usd(most)}"


def _split(estimate: CostEstimate, side: str) -> str:
    breakdown = estimate.minimum if side == "least" else estimate.maximum
    humans = f"{breakdown.human_objects:,} by people"
    if side == "least" and estimate.auto_labeling:
        humans += " (the validation sample)"
    text = f"{output.usd(breakdown.total_cost_usd)}: {humans}, {breakdown.machine_objects:,} by the model"
    if estimate.labeled < estimate.objects:
        text += f" ({estimate.objects - estimate.labeled:,} left unlabeled by max_percentage_labeled)"
    if breakdown.compute_cost_usd:
        text += f", compute {output.usd(breakdown.compute_cost_usd)} ({breakdown.iterations} iterations)"
    return text


def _text(checked: CheckedInput, priced: Priced) -> str:
    job, count, estimates = checked.job, priced.count, priced.estimates
    least, most = priced.least, priced.most
    first = next(iter(estimates.values()))
    prices = first.prices
    lines = [f"{checked.path}: valid {checked.kind} input ({checked.checked_by})", ""]
    pairs = [
        ("project", job.project),
        ("manifest", job.manifest),
        ("task", f"{job.task.type.value}, {output.plural(len(job.task.labels), 'label')}"),
        ("auto-labeling", "on" if job.auto_labeling else "off"),
        ("workforce", _workforce_text(checked, prices)),
        ("objects", f"{count.objects:,} ({count.source})"),
        ("prices", f"{prices.version} from {priced.prices_source}; object fee {prices.object_fee_usd} USD"),
        ("expected cost", _range(least, most)),
    ]
    lines.append(output.fields(pairs))
    if checked.experiment is None:
        (estimate,) = estimates.values()
        lines.append(
            output.fields([("least", _split(estimate, "least")), ("most", _split(estimate, "most"))], "  ")
        )
    else:
        rows = [
            [
                role,
                f"{e.objects:,}",
                output.usd(e.minimum.total_cost_usd),
                output.usd(e.maximum.total_cost_usd),
            ]
            for role, e in estimates.items()
        ]
        rows.append(["total", "", output.usd(least), output.usd(most)])
        lines += ["", output.table(["job", "objects", "least", "most"], rows, "lrrr")]
    lines += ["", _budget_text(job.budget_usd, estimates, checked.experiment is not None)]
    return "\n".join(lines)


def _budget_text(budget: Decimal | None, estimates: dict[str, CostEstimate], per_job: bool) -> str:
    label = "budget_usd (per job)" if per_job else "budget_usd"
    if budget is None:
        return f"{label}: none set (the project's default budget from cdk.json applies, if any)"
    most = max(e.maximum.total_cost_usd for e in estimates.values())
    least = min(e.minimum.total_cost_usd for e in estimates.values())
    if budget >= most:
        return f"{label}: {output.usd(budget)}, covers the most the job can cost"
    if budget >= least:
        return (
            f"{label}: {output.usd(budget)}, within the range: the reconciler stops the job if its cost "
            "reaches the budget before it ends"
        )
    return f"{label}: {output.usd(budget)}, below the least the job can cost"


def _document(checked: CheckedInput, priced: Priced, problem: str | None) -> dict[str, Any]:
    count, estimates = priced.count, priced.estimates
    return {
        "input": checked.path,
        "kind": checked.kind,
        "valid": problem is None,
        "problem": problem,
        "objects": count.objects,
        "objects_source": count.source,
        "prices_source": priced.prices_source,
        "expected_cost_usd": {"least": str(priced.least), "most": str(priced.most)},
        "budget_usd": None if checked.job.budget_usd is None else str(checked.job.budget_usd),
        "jobs": {
            role: {
                "objects": e.objects,
                "validation_objects": e.validation_objects,
                "least": e.minimum.model_dump(mode="json"),
                "most": e.maximum.model_dump(mode="json"),
            }
            for role, e in estimates.items()
        },
    }


def invalid_document(error: InvalidInput) -> dict[str, Any]:
    """``--json`` output for an input the model refuses."""
    return {"valid": False, "error": "InvalidJobInput", "cause": error.cause}
