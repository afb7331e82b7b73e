"""The one output formatter of the CLI: aligned tables, ``label: value`` blocks, amounts and times.

Every subcommand prints through these functions so columns, money, percentages, times and JSON look
the same everywhere. Pure: strings in, strings out (``emit``/``emit_json`` print them).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

NO_VALUE = "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """Columns separated by two spaces, each as wide as its widest cell; ``align`` has one letter per
    column, ``l`` or ``r`` (missing letters: ``l``). Trailing spaces are removed."""
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    sides = align.ljust(len(header), "l")
    return "\n".join(
        "  ".join(
            cell.rjust(widths[i]) if sides[i] == "r" else cell.ljust(widths[i]) for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, str]], indent: str = "") -> str:
    """``label: value`` lines with the values aligned."""
    if not pairs:
        return ""
    width = max(len(label) for label, _ in pairs) + 1
    return "\n".join(f"{indent}{label + ':':<{width}} {value}".rstrip() for label, value in pairs)


def count(value: int | None) -> str:
    return NO_VALUE if value is None else f"{value:,}"


def usd(value: Decimal | str | None) -> str:
    """An amount as ``1,234.50 USD`` (two places; sub-cent amounts keep their digits)."""
    if value is None:
        return NO_VALUE
    amount = Decimal(value)
    places = 2 if amount == amount.quantize(Decimal("0.01")) else 4
    return f"{amount:,.{places}f} USD"


def percent(value: Decimal | str | None) -> str:
    return NO_VALUE if value is None else f"{Decimal(value):.1f} %"


def elapsed(seconds: float | int | None) -> str:
    """``42s``, ``3m05s``, ``2h03m``, ``4d02h``: short and sortable by eye."""
    if seconds is None:
        return NO_VALUE
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def when(moment: datetime | None) -> str:
    """A timestamp in UTC, to the minute."""
    if moment is None:
        return NO_VALUE
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def plural(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def emit(text: str = "", stream: TextIO | None = None) -> None:
    """Print one block of output (flushed: progress lines must show while a command waits)."""
    print(text, file=stream or sys.stdout, flush=True)


def emit_json(document: Any) -> None:
    """Print a JSON document (Decimals and datetimes as strings)."""
    emit(json.dumps(document, indent=2, default=str))


def warn(command: str, message: str) -> None:
    """A note on stderr, prefixed with the command."""
    emit(f"labelchain {command}: {message}", sys.stderr)
