"""``python -m labelchain.lineage --table T --project P``: the older form of ``labelchain jobs --project P``
(labelchain/cli/jobs.py), kept so the commands in older notes and docs go on working."""

from __future__ import annotations

import sys

from labelchain.cli import jobs as _command
from labelchain.cli.jobs import Lineage, LineageRow, build_lineage, format_lineage, lineage_document

__all__ = ["Lineage", "LineageRow", "build_lineage", "format_lineage", "lineage_document", "main"]


def main(argv: list[str] | None = None) -> int:
    return _command.main(argv, prog="python -m labelchain.lineage")


if __name__ == "__main__":
    sys.exit(main())
