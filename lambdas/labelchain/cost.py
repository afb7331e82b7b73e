"""``python -m labelchain.cost``: an alias of ``labelchain cost`` (labelchain/cli/cost.py), kept so the
commands in older notes and docs go on working."""

from __future__ import annotations

import sys

from labelchain.cli import cost as _command
from labelchain.cli.cost import format_table

__all__ = ["format_table", "main"]


def main(argv: list[str] | None = None) -> int:
    return _command.main(argv, prog="python -m labelchain.cost")


if __name__ == "__main__":
    sys.exit(main())
