"""Dataset split throughput and memory, as ratios against a bare ``json.loads`` loop in the same run.

PrepareDataset reads the manifest twice (pass 1 checks every line and counts, pass 2 writes the
parts), so it has to cost more than parsing each line once; the question is how much more, and
whether its memory stays flat as the manifest grows. Each sample is a fresh ``python -c`` child
that times itself with ``time.perf_counter`` and reports how much its peak RSS grew during the work
(``resource.getrusage``: every allocation counts, the Bloom filter's bytearray included).

Targets, all on the same generated manifest file (a bird manifest of ~85-byte ``source-ref`` lines):
- ``json.loads loop``: ``for line in file: json.loads(line)``, the floor of any line validator;
- ``split, file order`` / ``split, shuffled``: ``core.dataset_split.split_manifest`` into 2 parts,
  reading the file in 1 MiB chunks as S3 streams it, writing to sinks that discard the bytes;
- ``whole file in memory``: ``read()`` + ``splitlines()`` + ``json.loads`` per line, the approach
  the split avoids (shown for its memory).

Usage: ``python bench/split_manifest.py [--repeats N] [--sizes N ...] [--json PATH]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = ROOT / "lambdas"
DEFAULT_SIZES = (250_000, 500_000, 1_000_000)
LINE = b'{"source-ref": "s3://labelchain-data-123456789012/birds/open-images/train/%016x.jpg"}\n'

CHILD = """
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
from labelchain.core.dataset_split import split_manifest
from labelchain.core.json_stream import iter_stream_chunks

class DiscardingSink:
    def write(self, data, /):
        pass

def chunks():
    with open(path, "rb", buffering=0) as stream:
        yield from iter_stream_chunks(stream, 1024 * 1024)

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "json":
    with open(path, "rb") as stream:
        for line in stream:
            json.loads(line)
elif mode == "whole":
    with open(path, "rb") as stream:
        for line in stream.read().splitlines():
            json.loads(line)
else:
    order, seed = ("file", None) if mode == "split-file" else ("shuffled", 2019)
    outcome = split_manifest(chunks, lambda sizes: [DiscardingSink(), DiscardingSink()], parts=2,
                             source_field="source-ref", order=order, seed=seed)
    candidates = outcome.duplicate_candidates
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
unit = 1 if sys.platform == "darwin" else 1024
print(json.dumps({"seconds": elapsed, "rss_growth": (after - before) * unit, "peak_rss": after * unit,
                  "duplicate_candidates": candidates if mode.startswith("split") else None}))
"""
"""Runs in the child: ``sys.argv[1:]`` is ``<mode> <manifest path>``."""


@dataclass(frozen=True)
class Target:
    label: str
    mode: str


BASELINE = Target("json.loads loop", "json")
SPLIT_FILE = Target("split, file order", "split-file")
SPLIT_SHUFFLED = Target("split, shuffled", "split-shuffled")
WHOLE_FILE = Target("whole file in memory", "whole")


@dataclass
class Row:
    target: Target
    lines: int
    data_bytes: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    paired_baseline: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str, *, baseline: bool = False) -> float:
        return float(statistics.median(run[key] for run in (self.paired_baseline if baseline else self.runs)))


def write_manifest(path: Path, lines: int) -> int:
    """A bird manifest of ``lines`` distinct objects; returns its size in bytes."""
    with path.open("wb") as out:
        for start in range(0, lines, 50_000):
            out.write(b"".join(LINE % number for number in range(start, min(lines, start + 50_000))))
    return path.stat().st_size


def run_child(target: Target, manifest: Path) -> dict[str, Any]:
    env = {"PYTHONPATH": str(LAMBDA_SOURCE), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, target.mode, str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{target.label} on {manifest.name}: child failed\n{completed.stderr}")
    sample: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return sample


def measure(sizes: list[int], repeats: int, workdir: Path) -> list[Row]:
    """Per size and round: the baseline, then every target next to it (rounds rotate the order).

    Only the largest size gets ``repeats`` rounds, and the whole-file reference runs once per size:
    the smaller sizes are there to show how memory grows, and peak RSS barely varies between runs.
    This keeps the default run under a minute on two cores.
    """
    rows: list[Row] = []
    plan: list[tuple[Path, list[Row]]] = []
    for lines in sizes:
        manifest = workdir / f"birds-{lines}.manifest"
        data_bytes = write_manifest(manifest, lines)
        targets = [SPLIT_FILE, WHOLE_FILE] + ([SPLIT_SHUFFLED] if lines == sizes[-1] else [])
        size_rows = [Row(target, lines, data_bytes) for target in [BASELINE, *targets]]
        rows.extend(size_rows)
        plan.append((manifest, size_rows))
    run_child(SPLIT_FILE, plan[0][0])  # warm the page cache; not recorded
    for round_index in range(repeats):
        for manifest, (baseline, *others) in plan:
            if round_index and baseline.lines != sizes[-1]:
                continue
            paired = run_child(baseline.target, manifest)
            baseline.runs.append(paired)
            shift = round_index % len(others)
            for row in others[shift:] + others[:shift]:
                if round_index and row.target is WHOLE_FILE:
                    continue
                row.runs.append(run_child(row.target, manifest))
                row.paired_baseline.append(paired)
    return rows


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| lines | data MB | target | runs | median s (min) | k lines/s | vs json.loads "
        "| peak RSS growth MiB | peak RSS MiB |",
        "|--:|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        seconds = row.median("seconds")
        ratio = seconds / row.median("seconds", baseline=True) if row.paired_baseline else 1.0
        fastest = min(run["seconds"] for run in row.runs)
        lines.append(
            f"| {row.lines:,} | {row.data_bytes / 1e6:.0f} | {row.target.label} | {len(row.runs)} "
            f"| {seconds:.2f} ({fastest:.2f}) | {row.lines / seconds / 1000:.0f} | {ratio:.2f}x "
            f"| {row.median('rss_growth') / 2**20:.1f} | {row.median('peak_rss') / 2**20:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="samples per row at the largest size (default 3)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="LINES")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw sample here")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.sizes) < 2:
        parser.error("--repeats must be at least 1 and every size at least 2 lines")

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labelchain-split-bench-") as tmp:
        rows = measure(sorted(args.sizes), args.repeats, Path(tmp))
    elapsed = time.perf_counter() - started

    when = dt.datetime.now(dt.UTC)
    print(
        f"{when:%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · Python {platform.python_version()} "
        f"({platform.machine()}) · one fresh process per sample, each next to a json.loads run on the "
        f"same file; vs json.loads = median / median of the paired runs; run took {elapsed:.0f} s; "
        f"1-min load average before the run {load_before:.2f}\n"
    )
    print(markdown_table(rows))
    candidates = {run["duplicate_candidates"] for row in rows for run in row.runs} - {None}
    print(
        f"\nBloom-filter candidates in pass 1 (false positives: every line is distinct): {sorted(candidates)}"
    )
    if args.json:
        report = {
            "date": when.isoformat(timespec="seconds"),
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "load": load_before},
            "elapsed_s": elapsed,
            "rows": [
                {
                    "target": row.target.label,
                    "lines": row.lines,
                    "data_bytes": row.data_bytes,
                    "runs": row.runs,
                    "paired_baseline": row.paired_baseline,
                }
                for row in rows
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
