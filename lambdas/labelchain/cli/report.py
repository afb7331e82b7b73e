"""``labelchain report``: draw an experiment's report as PNG figures (also ``python -m labelchain.report``).

    labelchain report s3://<bucket>/experiments/<project>/<execution>/report.json --out figs/

Reads ``report.json`` (what CompareJobs wrote) from a file or from S3 and writes, for each job with
numbers, its cost per iteration, objects per iteration and (when its worker time is known) worker hours
per iteration, plus one figure putting the three jobs' duration, share machine-labeled, total cost and
worker hours side by side. S3 is read with boto3's default
credentials; ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) points it at another endpoint.

matplotlib is a development dependency, not part of the Lambda runtime: it is imported only when
figures are drawn. Bad input exits with status 2 and a message saying what is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from labelchain.cli import output
from labelchain.cli.exits import OK, CliError
from labelchain.cli.options import Subparsers, add_command
from labelchain.core.comparison import ROLE_ORDER, ExperimentComparison, JobFigures, JobSide, Measure
from labelchain.core.validation import validation_problems

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

HUMAN_COLOUR = "#d95f02"
MACHINE_COLOUR = "#1b9e77"
COMPUTE_COLOUR = "#7570b3"
JOB_COLOURS = {"initial": "#7570b3", "pretrained": "#1b9e77", "control": "#d95f02"}
DPI = 120


class ReportUnreadable(Exception):
    """The report could not be read or is not a LabelChain comparison report."""


def _read_s3(uri: str) -> str:
    import boto3  # noqa: PLC0415 - only S3 sources need it
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from labelchain.adapters.aws_errors import error_code  # noqa: PLC0415
    from labelchain.core.s3_layout import split_s3_uri  # noqa: PLC0415

    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as exc:
        raise ReportUnreadable(str(exc)) from None
    if not key:
        raise ReportUnreadable(f"{uri}: names a bucket, not a report.json object")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return str(body.read().decode("utf-8"))
    except ClientError as exc:
        code = error_code(exc, "error")
        raise ReportUnreadable(f"{uri}: cannot read it from S3 ({code})") from None
    except BotoCoreError as exc:
        raise ReportUnreadable(f"{uri}: cannot read it from S3 ({exc})") from None
    except UnicodeDecodeError:
        raise ReportUnreadable(f"{uri}: not UTF-8 text") from None


def load_report(source: str) -> ExperimentComparison:
    """The report at a path or ``s3://`` URI; raises ``ReportUnreadable`` saying what is wrong."""
    if source.startswith("s3://"):
        text = _read_s3(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ReportUnreadable(f"{source}: no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportUnreadable(f"{source}: cannot read it ({exc})") from None
    try:
        return ExperimentComparison.model_validate_json(text)
    except ValidationError as exc:
        first = validation_problems(exc, root="document")[0]
        raise ReportUnreadable(
            f"{source}: not a LabelChain report.json ({exc.error_count()} problem(s), first: {first})"
        ) from None


def _title(text: str, report: ExperimentComparison) -> str:
    return f"SIMULATED: {text}" if report.simulated else text


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - Agg: no display
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _stacked(axes: Axes, x: list[int], layers: list[tuple[str, list[float], str]], fmt: str) -> None:
    """Stacked bars per iteration, each segment labeled with ``fmt`` (empty segments unlabeled)."""
    bottom = [0.0] * len(x)
    for label, values, colour in layers:
        bars = axes.bar(x, values, bottom=bottom, label=label, color=colour, width=0.6)
        if any(values):
            axes.bar_label(bars, labels=[fmt.format(v) if v else "" for v in values], label_type="center")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(x, [str(i) for i in x])
    axes.margins(y=0.2)
    axes.legend(loc="upper right")


def _job_label(side: JobSide, figures: JobFigures) -> str:
    failed = " (FAILED)" if side.execution_status == "FAILED" or figures.status != "Completed" else ""
    return f"{side.role} job{failed}\n{figures.job_name}"


def cost_per_iteration(report: ExperimentComparison, side: JobSide) -> Figure:
    """Stacked bars: each iteration's human and machine labeling cost (and compute, if any) in USD."""
    figures = side.figures
    assert figures is not None
    rows = figures.iteration_rows
    x = [row.iteration for row in rows]
    human = [float(row.human_cost_usd or 0) for row in rows]
    machine = [float(row.machine_cost_usd or 0) for row in rows]
    compute = [float(row.compute_cost_usd or 0) for row in rows]
    layers = [
        ("human-labeled objects", human, HUMAN_COLOUR),
        ("machine-labeled objects", machine, MACHINE_COLOUR),
    ]
    if any(compute):
        layers.append(("auto-labeling compute", compute, COMPUTE_COLOUR))
    figure = _new_figure(8, 5)
    axes = figure.add_subplot()
    _stacked(axes, x, layers, "{:,.2f}")
    if any(row.human_cost_usd is None for row in rows):  # prices could not re-split the total
        axes.bar(
            x, [float(row.total_cost_usd) for row in rows], color="grey", alpha=0.3, label="total as recorded"
        )
        axes.legend()
    axes.set_title(_title(f"Labeling cost per iteration: {_job_label(side, figures)}", report))
    axes.set_xlabel("active-learning iteration")
    axes.set_ylabel("cost (USD)")
    total = sum(Decimal(row.total_cost_usd) for row in rows)
    figure.supxlabel(f"total {total:,.2f} USD; prices {figures.prices_version}", fontsize="small")
    return figure


def objects_per_iteration(report: ExperimentComparison, side: JobSide) -> Figure:
    """Stacked bars: how many objects humans and the model labeled in each iteration."""
    figures = side.figures
    assert figures is not None
    rows = figures.iteration_rows
    x = [row.iteration for row in rows]
    human = [float(row.human_objects) for row in rows]
    machine = [float(row.machine_objects or 0) for row in rows]
    figure = _new_figure(8, 5)
    axes = figure.add_subplot()
    layers = [("human-labeled", human, HUMAN_COLOUR), ("machine-labeled", machine, MACHINE_COLOUR)]
    _stacked(axes, x, layers, "{:,.0f}")
    axes.set_title(_title(f"Objects labeled per iteration: {_job_label(side, figures)}", report))
    axes.set_xlabel("active-learning iteration")
    axes.set_ylabel("objects labeled")
    note = (
        f"{figures.machine_labeled:,} of {figures.objects:,} objects machine-labeled "
        f"({figures.machine_labeled_percent} %)"
    )
    if any(row.machine_objects is None for row in rows):
        note += "; some iterations do not say what was machine-labeled (drawn as 0)"
    figure.supxlabel(note, fontsize="small")
    return figure


def worker_hours_per_iteration(report: ExperimentComparison, side: JobSide) -> Figure:
    """Bars: the worker hours people spent in each iteration (from the worker-response files)."""
    figures = side.figures
    assert figures is not None
    rows = figures.iteration_rows
    x = [row.iteration for row in rows]
    worked = [float(row.worker_hours or 0) for row in rows]
    figure = _new_figure(8, 5)
    axes = figure.add_subplot()
    _stacked(axes, x, [("worker hours", worked, HUMAN_COLOUR)], "{:,.2f}")
    axes.set_title(_title(f"Worker hours per iteration: {_job_label(side, figures)}", report))
    axes.set_xlabel("active-learning iteration")
    axes.set_ylabel("worker hours")
    note = f"{figures.worker_hours or 0:,.2f} worker hours"
    if figures.worker_hours_without_auto_labeling is not None:
        note += (
            f"; without auto-labeling about {figures.worker_hours_without_auto_labeling:,.2f} "
            f"(saved {figures.worker_hours_saved or 0:,.2f})"
        )
    figure.supxlabel(note, fontsize="small")
    return figure


def _job_panel(
    axes: Axes, report: ExperimentComparison, values: dict[str, float | None], ylabel: str, fmt: str
) -> None:
    labels = []
    for index, role in enumerate(ROLE_ORDER):
        side = report.jobs[role]
        value = values.get(role)
        state = "missing" if side.figures is None else ("FAILED" if side.execution_status == "FAILED" else "")
        labels.append(f"{role}\n({state})" if state else role)
        if value is None:
            axes.text(index, 0.03, "no data", transform=axes.get_xaxis_transform(), ha="center", color="grey")
            continue
        bars = axes.bar([index], [value], color=JOB_COLOURS[role], width=0.6)
        axes.bar_label(bars, labels=[fmt.format(value)])
    axes.set_xticks(range(len(ROLE_ORDER)), labels)
    axes.set_xlim(-0.6, len(ROLE_ORDER) - 0.4)
    axes.set_ylabel(ylabel)
    axes.margins(y=0.15)


def _headline_text(report: ExperimentComparison) -> str:
    """The pretrained-vs-control deltas in words (a negative reduction reads as an increase)."""
    delta = report.pretrained_vs_control

    def change(measure: Measure, less: str, more: str) -> str:
        if measure.value is None:
            return "n/a"
        return f"{abs(measure.value)} % {less if measure.value >= 0 else more}"

    gain = delta.machine_labeled_gain_points.value
    return (
        f"pretrained vs control: cost {change(delta.cost_reduction_percent, 'lower', 'higher')}, "
        f"duration {change(delta.duration_reduction_percent, 'shorter', 'longer')}, "
        f"machine-labeled share {'n/a' if gain is None else f'{gain:+} pp'}"
    )


def jobs_compared(report: ExperimentComparison) -> Figure:
    """Four panels side by side: duration, share machine-labeled, total cost and worker hours."""
    present = {role: side.figures for role, side in report.jobs.items() if side.figures is not None}
    longest = max((f.duration_seconds or 0 for f in present.values()), default=0)
    unit, seconds_per_unit = ("hours", 3600) if longest >= 2 * 3600 else ("minutes", 60)
    figure = _new_figure(17, 5)
    duration_axes, share_axes, cost_axes, hours_axes = figure.subplots(1, 4)
    _job_panel(
        duration_axes,
        report,
        {
            r: None if f.duration_seconds is None else f.duration_seconds / seconds_per_unit
            for r, f in present.items()
        },
        f"duration ({unit})",
        "{:,.1f}",
    )
    duration_axes.set_title("How long each job ran")
    _job_panel(
        share_axes,
        report,
        {r: float(f.machine_labeled_percent) for r, f in present.items()},
        "objects machine-labeled (%)",
        "{:.1f} %",
    )
    share_axes.set_ylim(0, 110)
    share_axes.set_title("Share labeled by the model")
    _job_panel(
        cost_axes,
        report,
        {r: None if f.total_cost_usd is None else float(f.total_cost_usd) for r, f in present.items()},
        "total labeling cost (USD)",
        "{:,.2f} USD",
    )
    cost_axes.set_title("What each job cost")
    _job_panel(
        hours_axes,
        report,
        {r: None if f.worker_hours is None else float(f.worker_hours) for r, f in present.items()},
        "worker hours",
        "{:,.2f} h",
    )
    hours_axes.set_title("People's time (worker hours)")
    figure.supxlabel(_headline_text(report), fontsize="small")
    figure.suptitle(
        _title(f"Seed experiment {report.execution_name} ({report.project}): the three jobs", report)
    )
    return figure


def report_figures(report: ExperimentComparison) -> dict[str, Figure]:
    """Every figure of the report by file name: per job with iteration rows, then the three jobs."""
    figures: dict[str, Figure] = {}
    for role in ROLE_ORDER:
        side = report.jobs[role]
        if side.figures is None or not side.figures.iteration_rows:
            continue
        figures[f"{role}-cost-per-iteration.png"] = cost_per_iteration(report, side)
        figures[f"{role}-objects-per-iteration.png"] = objects_per_iteration(report, side)
        if any(row.worker_hours is not None for row in side.figures.iteration_rows):
            figures[f"{role}-worker-hours-per-iteration.png"] = worker_hours_per_iteration(report, side)
    figures["jobs-compared.png"] = jobs_compared(report)
    return figures


def render_figures(report: ExperimentComparison, out: Path) -> list[Path]:
    """Write every figure as PNG into ``out`` (created if needed); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in report_figures(report).items():
        figure.savefig(out / name, format="png")
        written.append(out / name)
    return written


NAME = "report"
DESCRIPTION = "Draw a LabelChain seed experiment's report.json as PNG figures (matplotlib)."
EXAMPLES = """\
  labelchain report demo-output/report.json --out figures/
  labelchain report s3://<OutputBucketName>/experiments/<project>/<execution>/report.json --out figures/"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="draw an experiment's report.json as PNG figures",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
        aws=False,
    )
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", help="path or s3:// URI of the report.json CompareJobs wrote")
    parser.add_argument(
        "--out", metavar="DIR", default=".", help="directory to write the PNG files to (default: .)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the figures and print their paths; ``CliError`` (exit 2) on bad input."""
    try:
        report = load_report(args.report)
    except ReportUnreadable as exc:
        raise CliError(str(exc)) from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {args.out}: exists and is not a directory")
    for role in ROLE_ORDER:
        side = report.jobs[role]
        if side.figures is None:
            output.emit(f"skipped {role}: missing ({side.missing_reason})", sys.stderr)
        elif not side.figures.iteration_rows:
            output.emit(f"skipped {role} per-iteration figures: no per-iteration rows recorded", sys.stderr)
    for path in render_figures(report, out):
        output.emit(str(path))
    return OK


def main(argv: Sequence[str] | None = None, prog: str = "python -m labelchain.report") -> int:
    """The command on its own; returns 0 after printing the files written (exits 2 on bad input)."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except CliError as exc:
        parser.error(str(exc))
