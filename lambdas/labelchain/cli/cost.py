"""``labelchain cost``: price a labeling job from its counts (also ``python -m labelchain.cost``).

Answers "what did (or would) this job cost, and what did automated labeling save?" with the same
model and price table the Lambdas use, e.g. AWS's tutorial job seeded with a pre-trained model::

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
    compute_cost,
)
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, parse_usd_amount, resolve_prices


def _usd_amount(text: str) -> Decimal:
    try:
        return parse_usd_amount(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


NAME = "cost"
DESCRIPTION = (
    "Cost of a Ground Truth labeling job with automated data labeling, and what the same job "
    "would have cost with every object labeled by humans. Prices default to the table "
    f"{DEFAULT_PRICES.version!r}. Offline: no AWS call."
)
EXAMPLES = """\
  labelchain cost --human 250 --machine 1000 --workers 3 --task-price 0.036
  labelchain cost --human 250 --machine 1000 --workers 3 --task-price 0.036 --json
  labelchain cost --human 1250 --machine 0 --workers 1 --task-price 0 --object-fee 0.08"""


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
    parser.add_argument(
        "--task-price",
        metavar="USD",
        required=True,
        type=_usd_amount,
        help="USD paid per task: the public-workforce price (e.g. 0.036), or what a private or "
        "vendor workforce costs you (0 if nothing)",
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
    workers = f"{breakdown.workers_per_object} worker{'' if breakdown.workers_per_object == 1 else 's'}"
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
    heading = (
        f"Labeling cost with prices {breakdown.prices_version}: object fee "
        f"{breakdown.object_fee_usd} USD; human-labeled objects also pay {workers} x "
        f"{breakdown.task_price_usd} USD per task"
    )
    return f"{heading}\n{output.table(('line item', 'objects', 'USD'), cells, 'lrr')}"


def run(args: argparse.Namespace) -> int:
    """Price the counts; returns 0 (argparse exits 2 on bad arguments)."""
    prices = resolve_prices(
        DEFAULT_PRICES,
        PriceOverrides(
            object_fee_usd=args.object_fee,
            auto_labeling_compute_usd_per_iteration=args.compute_per_iteration,
        ),
    )
    try:
        breakdown = compute_cost(
            human_objects=args.human,
            machine_objects=args.machine,
            workers_per_object=args.workers,
            task_price_usd=args.task_price,
            prices=prices,
            iterations=args.iterations,
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
