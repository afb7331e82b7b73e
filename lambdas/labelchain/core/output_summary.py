"""Per-iteration statistics of a finished labeling job, cross-checked against its ``LabelCounters``.

Counting rules:
- an object is human-labeled once: when consolidation responses of several iterations (or several
  files of one iteration) hold it, it counts at its lowest iteration, with the boxes of that label;
- machine objects per iteration come from ``auto_annotator_output.txt`` files (undocumented layout, see
  ``output_layout``). Without any, per-iteration machine counts are unknown (None), the machine total
  falls back to the output manifest (``human-annotated: "no"``) and ``notes`` says so;
- disagreements with the counters are reported in ``cross_check``, never raised: the caller records
  them and logs a warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from pydantic import Field

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.models import StrictModel
from labelchain.core.output_layout import (
    ManifestTotals,
    OutputFile,
    OutputKind,
    count_auto_annotator_output,
    count_consolidation_response,
    count_output_manifest,
)
from labelchain.errors import OutputLayoutError

CounterName = Literal["HumanLabeled", "MachineLabeled"]


class IterationStats(StrictModel):
    """One active-learning iteration: how many objects humans and the machine labeled, and boxes."""

    iteration: int = Field(ge=0)
    human_objects: int
    machine_objects: int | None
    """None when no ``auto_annotator_output.txt`` was found."""
    boxes: int | None
    """Human plus machine boxes; None for task types without boxes or when machine labels are unknown."""


class OutputTotals(StrictModel):
    """The whole job; with no auto-annotator files, machine objects and boxes come from the manifest."""

    human_objects: int
    machine_objects: int | None
    boxes: int | None
    machine_source: Literal["auto_annotator_output", "output_manifest", "unknown"]


class CrossCheckMismatch(StrictModel):
    """A count from the output files that disagrees with a ``LabelCounters`` value."""

    counter: CounterName
    counter_value: int
    source: str
    counted: int
    message: str


class OutputSummary(StrictModel):
    iterations: tuple[IterationStats, ...]
    """Sorted by iteration number."""
    totals: OutputTotals
    output_manifest: ManifestTotals | None
    cross_check: tuple[CrossCheckMismatch, ...]
    """Empty when every available source agrees with the counters."""
    notes: tuple[str, ...]
    """What was assumed, skipped or could not be checked, in words for the job record."""


class LabelCountersLike(Protocol):
    """``records.Counters`` or any object with the two counters the cross-check needs."""

    @property
    def human_labeled(self) -> int: ...
    @property
    def machine_labeled(self) -> int: ...


def summarize_output(
    files: Iterable[tuple[OutputFile, Iterable[bytes]]],
    label_attribute: str,
    task_type: TaskType | str,
    label_counters: Mapping[str, int] | LabelCountersLike,
) -> OutputSummary:
    """Build per-iteration rows and totals from a job's output files, in any order.

    ``label_counters`` is DescribeLabelingJob's ``LabelCounters`` dict or a model with ``human_labeled``
    and ``machine_labeled``. Only ``SUMMARIZED_KINDS`` are read; other files' chunks stay untouched.
    A consolidation response that is not a JSON array raises ``OutputLayoutError`` naming its key.
    """
    tally = _OutputTally(label_attribute, task_type)
    for output_file, chunks in files:
        try:
            tally.add(output_file, chunks)
        except OutputLayoutError as exc:
            raise OutputLayoutError(f"{output_file.key}: {exc}") from exc
    return tally.summary(label_counters)


class _OutputTally:
    """Running counts over the files; memory grows with distinct human-labeled objects only."""

    def __init__(self, label_attribute: str, task_type: TaskType | str) -> None:
        self.label_attribute = label_attribute
        self.task_type = task_type
        self.has_boxes = spec_for(task_type).has_boxes
        self.first_human_label: dict[str, tuple[int, int | None]] = {}
        """datasetObjectId → (lowest iteration it was human-labeled in, boxes of that label)."""
        self.relabeled: set[str] = set()
        self.skipped: Counter[str] = Counter()
        self.machine_objects: Counter[int | None] = Counter()
        self.machine_boxes: Counter[int | None] = Counter()
        self.machine_files = 0
        self.manifest: ManifestTotals | None = None

    def add(self, output_file: OutputFile, chunks: Iterable[bytes]) -> None:
        iteration = output_file.iteration
        if output_file.kind is OutputKind.CONSOLIDATION_RESPONSE and iteration is not None:
            human = count_consolidation_response(chunks, self.label_attribute, self.task_type)
            for object_id, boxes in human.labeled_objects.items():
                first_iteration, _ = self.first_human_label.setdefault(object_id, (iteration, boxes))
                if first_iteration != iteration:
                    self.relabeled.add(object_id)
                if iteration < first_iteration:
                    self.first_human_label[object_id] = (iteration, boxes)
            self.skipped.update(unlabeled_items=human.unlabeled_items, malformed_items=human.malformed_items)
        elif output_file.kind is OutputKind.AUTO_ANNOTATOR_OUTPUT:
            machine = count_auto_annotator_output(chunks, self.label_attribute, self.task_type)
            self.machine_files += 1
            self.machine_objects[iteration] += machine.objects
            self.machine_boxes[iteration] += machine.boxes or 0
            self.skipped.update(machine_lines=machine.malformed_lines)
        elif output_file.kind is OutputKind.OUTPUT_MANIFEST:
            self.manifest = count_output_manifest(chunks, self.label_attribute, self.task_type)

    def summary(self, label_counters: Mapping[str, int] | LabelCountersLike) -> OutputSummary:
        human_objects: Counter[int] = Counter()
        human_boxes: Counter[int] = Counter()
        for iteration, boxes in self.first_human_label.values():
            human_objects[iteration] += 1
            human_boxes[iteration] += boxes or 0
        machine_known = self.machine_files > 0
        iterations = sorted(set(human_objects) | {i for i in self.machine_objects if i is not None})
        rows = tuple(
            IterationStats(
                iteration=i,
                human_objects=human_objects[i],
                machine_objects=self.machine_objects[i] if machine_known else None,
                boxes=human_boxes[i] + self.machine_boxes[i] if self.has_boxes and machine_known else None,
            )
            for i in iterations
        )
        totals = self._totals(human_objects.total(), human_boxes.total())
        return OutputSummary(
            iterations=rows,
            totals=totals,
            output_manifest=self.manifest,
            cross_check=self._cross_check(totals.human_objects, label_counters),
            notes=self._notes(),
        )

    def _totals(self, human_objects: int, human_boxes: int) -> OutputTotals:
        if self.machine_files:
            return OutputTotals(
                human_objects=human_objects,
                machine_objects=self.machine_objects.total(),
                boxes=human_boxes + self.machine_boxes.total() if self.has_boxes else None,
                machine_source="auto_annotator_output",
            )
        if self.manifest is not None:
            return OutputTotals(
                human_objects=human_objects,
                machine_objects=self.manifest.machine_annotated,
                boxes=self.manifest.boxes,
                machine_source="output_manifest",
            )
        return OutputTotals(
            human_objects=human_objects, machine_objects=None, boxes=None, machine_source="unknown"
        )

    def _cross_check(
        self, human_objects: int, label_counters: Mapping[str, int] | LabelCountersLike
    ) -> tuple[CrossCheckMismatch, ...]:
        names: tuple[CounterName, ...] = ("HumanLabeled", "MachineLabeled")
        counters = {name: _counter(label_counters, name) for name in names}
        checks: list[tuple[CounterName, str, int]] = [
            ("HumanLabeled", "consolidation responses", human_objects)
        ]
        if self.machine_files:
            checks.append(("MachineLabeled", "auto_annotator_output files", self.machine_objects.total()))
        if self.manifest is not None:
            checks.append(("HumanLabeled", "output manifest", self.manifest.human_annotated))
            checks.append(("MachineLabeled", "output manifest", self.manifest.machine_annotated))
        return tuple(
            CrossCheckMismatch(
                counter=name,
                counter_value=counters[name],
                source=source,
                counted=counted,
                message=f"{source}: {counted} objects, but LabelCounters.{name} is {counters[name]}",
            )
            for name, source, counted in checks
            if counted != counters[name]
        )

    def _notes(self) -> tuple[str, ...]:
        notes = []
        if self.relabeled:
            notes.append(
                f"{len(self.relabeled)} objects are in consolidation responses of several iterations;"
                " each counts once, at its first iteration"
            )
        if count := self.skipped["unlabeled_items"]:
            notes.append(f"{count} consolidation-response items carry no '{self.label_attribute}' label")
        if count := self.skipped["malformed_items"]:
            notes.append(f"{count} consolidation-response items are malformed and were not counted")
        if count := self.skipped["machine_lines"]:
            notes.append(f"{count} auto_annotator_output lines are malformed and were not counted")
        if self.manifest is not None and self.manifest.malformed_lines:
            notes.append(f"{self.manifest.malformed_lines} output manifest lines are malformed")
        if count := self.machine_objects[None]:
            notes.append(
                f"{count} machine labels come from auto_annotator_output files without an iteration in"
                " their key: they count in the totals only"
            )
        if not self.machine_files:
            source = (
                "the output manifest" if self.manifest is not None else "nowhere: no output manifest either"
            )
            notes.append(
                "no auto_annotator_output.txt found (undocumented layout): machine objects per iteration"
                f" are unknown; the machine total comes from {source}"
            )
        if self.manifest is None:
            notes.append("no output manifest: its counts were not cross-checked")
        return tuple(notes)


def _counter(label_counters: Mapping[str, int] | LabelCountersLike, name: CounterName) -> int:
    if isinstance(label_counters, Mapping):
        snake_case = "human_labeled" if name == "HumanLabeled" else "machine_labeled"
        value = label_counters.get(name, label_counters.get(snake_case))
        if value is None:
            raise ValueError(f"label counters have no {name}")
        return value
    return label_counters.human_labeled if name == "HumanLabeled" else label_counters.machine_labeled
