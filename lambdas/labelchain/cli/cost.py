"""``labelchain cost``: price a labeling job from its counts (also ``python -m labelchain.cost``).

Answers "what did (or would) this job cost, and what did automated labeling save?" with the same
model (``labelchain-cost-v2``, docs/COST.md) the Lambdas use, for one of three workforces:

* a private work team: ``--worker-hours H --labor-rate R`` (hours as the job's worker-response files
  add up; every human-labeled object is assumed answered by every worker for the mean per answer);
* a vendor work team: ``--vendor-price P`` per human-labeled object;
* Amazon Mechanical Turk, history only (closed on 2026-09-30): ``--task-price P`` per task, priced
  with the 2019 tutorial table, which reproduces AWS's published totals::

    labelchain cost --human 250 --machine 1000 --workers 5 --task-price 0.036

Offline: no AWS call. Bad arguments exit with status 2 and a message naming the argument and what it
allows.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from labelchain.cli import output
from labelchain.cli.exits import OK, CliError
from labelchain.cli.options import Subparsers, add_command, whole_number
from labelchain.core.cost import (
    MAX_ITERATIONS,
    MAX_OBJECTS,
    MAX_WORKERS_PER_OBJECT,
    CostBreakdown,
    WorkforceKind,
    compute_cost,
)
from labelchain.core.labor import WorkerTime, hours
from labelchain.core.prices import (
    DEFAULT_PRICES,
    MECHANICAL_TURK_TUTORIAL_PRICES,
    PriceOverrides,
    parse_hourly_rate,
    parse_usd_amount,
    resolve_prices,
)

MAX_WORKER_HOURS = Decimal(10_000_000)


def _usd_amount(text: str) -> Decimal:
    try:
        return parse_usd_amount(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _hourly_rate(text: str) -> Decimal:
    try:
        return parse_hourly_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _worker_hours(text: str) -> Decimal:
    rule = f"must be a number of hours from 0 to {MAX_WORKER_HOURS:,} with at most 6 decimal places"
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{rule}, got {text!r}") from None
    if (
        not value.is_finite()
        or not 0 <= value <= MAX_WORKER_HOURS
        or value != value.quantize(Decimal("1e-6"))
    ):
        raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
    return value


NAME = "cost"
DESCRIPTION = (
    "Cost of a Ground Truth labeling job with automated data labeling, and what the same job "
    "would have cost with every object labeled by humans, for a private team (--worker-hours, "
    "--labor-rate), a vendor (--vendor-price) or, as history, Amazon Mechanical Turk (--task-price). "
    f"Prices default to the table {DEFAULT_PRICES.version!r} ({MECHANICAL_TURK_TUTORIAL_PRICES.version!r} "
    "for Mechanical Turk). Offline: no AWS call."
)
EXAMPLES = """\
  labelchain cost --human 250 --machine 1000 --workers 1 --worker-hours 3.5 --labor-rate 30
  labelchain cost --human 250 --machine 1000 --workers 1 --vendor-price 0.12 --json
  labelchain cost --human 250 --machine 1000 --workers 5 --task-price 0.036   # Mechanical Turk (history)"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="price a job from its human/machine counts (offline)",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
        aws=False,
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--human",
        required=True,
        metavar="N",
        type=whole_number(0, MAX_OBJECTS),
        help="human-labeled objects",
    )
    parser.add_argument(
        "--machine",
        required=True,
        metavar="M",
        type=whole_number(0, MAX_OBJECTS),
        help="machine-labeled objects",
    )
    parser.add_argument(
        "--workers",
        metavar="W",
        required=True,
        type=whole_number(1, MAX_WORKERS_PER_OBJECT),
        help="workers per object (NumberOfHumanWorkersPerDataObject, 1-9)",
    )
    workforce = parser.add_mutually_exclusive_group(required=True)
    workforce.add_argument(
        "--worker-hours",
        metavar="H",
        type=_worker_hours,
        help="private work team: the job's worker hours (its worker-response files' time)",
    )
    workforce.add_argument(
        "--vendor-price",
        metavar="USD",
        type=_usd_amount,
        help="vendor work team: its price per human-labeled object in USD",
    )
    workforce.add_argument(
        "--task-price",
        metavar="USD",
        type=_usd_amount,
        help="Amazon Mechanical Turk (history, closed on 2026-09-30): USD paid per task (e.g. 0.036), "
        "priced with the 2019 tutorial table",
    )
    parser.add_argument(
        "--labor-rate",
        metavar="USD",
        type=_hourly_rate,
        help="private work team: USD per worker hour (unset: labor is not priced)",
    )
    parser.add_argument(
        "--object-fee",
        metavar="USD",
        type=_usd_amount,
        help=f"Ground Truth fee per labeled object in USD (default {DEFAULT_PRICES.object_fee_usd})",
    )
    parser.add_argument(
        "--iterations",
        metavar="I",
        type=whole_number(0, MAX_ITERATIONS),
        default=0,
        help="active-learning iterations charged compute (default 0)",
    )
    parser.add_argument(
        "--compute-per-iteration",
        metavar="USD",
        type=_usd_amount,
        help="auto-labeling training and inference USD per iteration "
        f"(default {DEFAULT_PRICES.auto_labeling_compute_usd_per_iteration})",
    )
    parser.add_argument("--json", action="store_true", help="print the breakdown as JSON")


def _places(amounts: list[Decimal]) -> int:
    """Fewest decimal places (2 to 4) that show every amount exactly."""
    for places in (2, 3):
        quantum = Decimal(1).scaleb(-places)
        if all(amount.quantize(quantum) == amount for amount in amounts):
            return places
    return 4


def _workforce_text(breakdown: CostBreakdown) -> str:
    workers = f"{breakdown.workers_per_object} worker{'' if breakdown.workers_per_object == 1 else 's'}"
    if breakdown.workforce_kind == "vendor":
        return f"vendor work team: {breakdown.vendor_price_per_object_usd} USD per human-labeled object"
    if breakdown.workforce_kind == "private":
        rate = breakdown.labor_rate_usd_per_hour
        priced = "labor not priced" if rate is None else f"{rate} USD per worker hour"
        return f"private work team ({workers} per object): {priced}"
    return (
        f"Amazon Mechanical Turk prices (history, closed on 2026-09-30): human-labeled objects also pay "
        f"{workers} x {breakdown.task_price_usd} USD per task"
    )


def format_table(breakdown: CostBreakdown) -> str:
    """The breakdown as an aligned plain-text table headed by the price table version."""
    amounts = [
        breakdown.human_cost_usd,
        breakdown.machine_cost_usd,
        breakdown.compute_cost_usd,
        breakdown.total_cost_usd,
        breakdown.cost_without_auto_labeling_usd,
        breakdown.saving_usd,
    ]
    places = _places(amounts)
    objects = breakdown.human_objects + breakdown.machine_objects
    rows = [
        ("human-labeled", f"{breakdown.human_objects:,}", breakdown.human_cost_usd),
        ("machine-labeled", f"{breakdown.machine_objects:,}", breakdown.machine_cost_usd),
        (
            f"auto-labeling compute ({breakdown.iterations} iterations)",
            "",
            breakdown.compute_cost_usd,
        ),
        ("total", f"{objects:,}", breakdown.total_cost_usd),
        ("without auto-labeling", f"{objects:,}", breakdown.cost_without_auto_labeling_usd),
        ("saving", "", breakdown.saving_usd),
    ]
    cells = [(label, count, f"{amount:,.{places}f}") for label, count, amount in rows]
    cells.append(("saving (%)", "", f"{breakdown.saving_percent}"))
    if breakdown.labor_cost_usd is not None:
        cells.insert(1, ("  of which labor", "", f"{breakdown.labor_cost_usd:,.{places}f}"))
    if breakdown.worker_seconds is not None:
        cells += [
            ("worker hours", "", f"{hours(breakdown.worker_seconds)}"),
            (
                "worker hours without auto-labeling",
                "",
                f"{hours(breakdown.worker_seconds_without_auto_labeling)}",
            ),
            ("worker hours saved", "", f"{hours(breakdown.worker_seconds_saved)}"),
        ]
    heading = (
        f"Labeling cost ({breakdown.cost_model}) with prices {breakdown.prices_version}: object fee "
        f"{breakdown.object_fee_usd} USD; {_workforce_text(breakdown)}"
    )
    notes = "".join(f"\nnote: {note}" for note in breakdown.notes)
    return f"{heading}\n{output.table(('line item', 'objects', 'USD'), cells, 'lrr')}{notes}"


def _workforce_kind(args: argparse.Namespace) -> WorkforceKind:
    if args.task_price is not None:
        return "public"
    return "vendor" if args.vendor_price is not None else "private"


def run(args: argparse.Namespace) -> int:
    """Price the counts; returns 0 (argparse exits 2 on bad arguments)."""
    kind = _workforce_kind(args)
    if args.labor_rate is not None and kind != "private":
        raise CliError("--labor-rate: only a private work team (--worker-hours) is priced by the hour")
    base = MECHANICAL_TURK_TUTORIAL_PRICES if kind == "public" else DEFAULT_PRICES
    prices = resolve_prices(
        base,
        PriceOverrides(
            object_fee_usd=args.object_fee,
            auto_labeling_compute_usd_per_iteration=args.compute_per_iteration,
            labor_rate_usd_per_hour=args.labor_rate,
        ),
    )
    worker_time = None
    if kind == "private":
        worker_time = WorkerTime(
            worker_seconds=args.worker_hours * 3600, timed_answers=args.human * args.workers
        )
    try:
        breakdown = compute_cost(
            human_objects=args.human,
            machine_objects=args.machine,
            workers_per_object=args.workers,
            task_price_usd=args.task_price if kind == "public" else Decimal(0),
            prices=prices,
            iterations=args.iterations,
            workforce_kind=kind,
            vendor_price_per_object_usd=args.vendor_price if kind == "vendor" else Decimal(0),
            worker_time=worker_time,
        )
    except ValueError as exc:  # argument types already enforce every rule; kept as a safety net
        raise CliError(str(exc)) from None
    output.emit(breakdown.model_dump_json(indent=2) if args.json else format_table(breakdown))
    return OK


def main(argv: list[str] | None = None, prog: str = "labelchain cost") -> int:
    """The command on its own (``python -m labelchain.cost``); argparse exits 2 on bad arguments."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CliError as exc:
        parser.error(str(exc))
