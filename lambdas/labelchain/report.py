"""``python -m labelchain.report``: an alias of ``labelchain report`` (labelchain/cli/report.py), kept so
the commands in older notes and docs go on working. matplotlib is imported only when figures are drawn."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from labelchain.cli import report as _command
from labelchain.cli.report import ReportUnreadable, load_report, render_figures, report_figures

__all__ = ["ReportUnreadable", "load_report", "main", "render_figures", "report_figures"]


def main(argv: Sequence[str] | None = None) -> int:
    return _command.main(argv, prog="python -m labelchain.report")


if __name__ == "__main__":
    sys.exit(main())
