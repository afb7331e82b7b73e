"""The files a finished labeling job leaves in S3, and what each one counts.

Ground Truth writes its output under ``<S3OutputPath><job-name>/`` (docs/GROUND_TRUTH.md, "What a
finished job leaves in S3"). An S3
adapter lists the keys, keeps those ``classify_output_key`` recognises (``SUMMARIZED_KINDS`` are the
ones worth downloading) and streams each as byte chunks into the counters here, or all of them into
``output_summary.summarize_output``. Files are streamed, never loaded whole.

Assumed layout of the undocumented ``activelearning/`` tree: a file named ``auto_annotator_output.txt``
anywhere below ``activelearning/`` holds machine labels. Its iteration is ``<N>`` from a path segment
``iteration-<N>`` if there is one, else the first all-digit segment
(``activelearning/<something>/<N>/.../auto_annotator_output.txt``). A file with neither still counts
toward the machine total, not toward an iteration. With no such file at all, per-iteration machine
counts are unknown and the machine total comes from the output manifest (``human-annotated: "no"``).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from enum import StrEnum

from pydantic import Field, model_validator

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.json_stream import MalformedJsonStreamError, iter_json_array, iter_lines
from labelchain.core.models import StrictModel
from labelchain.errors import OutputLayoutError


class OutputKind(StrEnum):
    """What an output file holds."""

    CONSOLIDATION_RESPONSE = "consolidation_response"
    WORKER_RESPONSE = "worker_response"
    INTERMEDIATE_MANIFEST = "intermediate_manifest"
    AUTO_ANNOTATOR_OUTPUT = "auto_annotator_output"
    OUTPUT_MANIFEST = "output_manifest"


SUMMARIZED_KINDS: frozenset[OutputKind] = frozenset(
    {OutputKind.CONSOLIDATION_RESPONSE, OutputKind.AUTO_ANNOTATOR_OUTPUT, OutputKind.OUTPUT_MANIFEST}
)
"""The kinds ``summarize_output`` reads; it skips the others without consuming their chunks."""


class OutputFile(StrictModel):
    """One recognised object of a job's output: its key, what it holds and for which iteration."""

    key: str
    kind: OutputKind
    iteration: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _iteration_fits_kind(self) -> OutputFile:
        numbered = self.kind not in {OutputKind.OUTPUT_MANIFEST, OutputKind.AUTO_ANNOTATOR_OUTPUT}
        if numbered and self.iteration is None:
            raise ValueError(f"a {self.kind} file belongs to an iteration")
        if self.kind is OutputKind.OUTPUT_MANIFEST and self.iteration is not None:
            raise ValueError("the output manifest belongs to no iteration")
        return self

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Numeric iteration order (iteration 10 after 9), files without an iteration last."""
        return (sys.maxsize if self.iteration is None else self.iteration, self.kind.value, self.key)


_NUMBERED_KEYS = (
    (
        OutputKind.CONSOLIDATION_RESPONSE,
        re.compile(
            r"annotations/consolidated-annotation/consolidation-response/iteration-([0-9]+)/[^/]+\.json"
        ),
    ),
    (OutputKind.WORKER_RESPONSE, re.compile(r"annotations/worker-response/iteration-([0-9]+)/.+\.json")),
    (OutputKind.INTERMEDIATE_MANIFEST, re.compile(r"manifests/intermediate/([0-9]+)/output\.manifest")),
)
_OUTPUT_MANIFEST_KEY = "manifests/output/output.manifest"
_ITERATION_SEGMENT = re.compile(r"iteration-([0-9]+)")
_NUMBER_SEGMENT = re.compile(r"[0-9]+")


def classify_output_key(key: str, job_prefix: str) -> OutputFile | None:
    """Say which kind of output file ``key`` is, or None (training/, inference/, anything else)."""
    prefix = job_prefix if not job_prefix or job_prefix.endswith("/") else f"{job_prefix}/"
    if not key.startswith(prefix):
        return None
    relative = key[len(prefix) :]
    if relative == _OUTPUT_MANIFEST_KEY:
        return OutputFile(key=key, kind=OutputKind.OUTPUT_MANIFEST)
    for kind, pattern in _NUMBERED_KEYS:
        if match := pattern.fullmatch(relative):
            return OutputFile(key=key, kind=kind, iteration=int(match[1]))
    segments = relative.split("/")
    if len(segments) > 1 and segments[0] == "activelearning" and segments[-1] == "auto_annotator_output.txt":
        iteration = _active_learning_iteration(segments[1:-1])
        return OutputFile(key=key, kind=OutputKind.AUTO_ANNOTATOR_OUTPUT, iteration=iteration)
    return None


def _active_learning_iteration(folders: list[str]) -> int | None:
    for folder in folders:
        if match := _ITERATION_SEGMENT.search(folder):
            return int(match[1])
    return next((int(folder) for folder in folders if _NUMBER_SEGMENT.fullmatch(folder)), None)


class HumanBatch(StrictModel):
    """The human labels of one consolidation-response file."""

    labeled_objects: dict[str, int | None]
    """datasetObjectId → boxes in its consolidated label (None: the task type draws no boxes)."""
    boxes: int | None
    unlabeled_items: int = 0
    """Items whose content has no label under the label attribute."""
    malformed_items: int = 0
    """Items without a datasetObjectId or content, or a box label without an annotations list."""

    @property
    def object_ids(self) -> frozenset[str]:
        return frozenset(self.labeled_objects)


class MachineBatch(StrictModel):
    """The machine labels of one ``auto_annotator_output.txt``."""

    objects: int
    boxes: int | None
    malformed_lines: int = 0


class ManifestTotals(StrictModel):
    """What the output manifest says: one line per object of the input."""

    objects: int
    human_annotated: int
    machine_annotated: int
    unlabeled: int
    """Lines without a label under the label attribute: not labeled, or failed."""
    malformed_lines: int
    boxes: int | None


class _MalformedRecordError(Exception):
    """One item or line does not have the documented shape; it is counted, not fatal."""


def count_consolidation_response(
    chunks: Iterable[bytes], label_attribute: str, task_type: TaskType | str
) -> HumanBatch:
    """Count the objects (each once) and boxes a consolidation-response JSON array labeled.

    Raises ``OutputLayoutError`` when the file is not a UTF-8 JSON array; a single odd item is only
    counted (``unlabeled_items`` / ``malformed_items``).
    """
    has_boxes = spec_for(task_type).has_boxes
    labeled: dict[str, int | None] = {}
    unlabeled = malformed = 0
    try:
        for item in iter_json_array(chunks):
            try:
                object_id, content = _consolidated_item(item)
                label = content.get(label_attribute)
                if label is None:
                    unlabeled += 1
                    continue
                boxes = _box_count(label, has_boxes)
            except _MalformedRecordError:
                malformed += 1
                continue
            labeled.setdefault(object_id, boxes)
    except MalformedJsonStreamError as exc:
        raise OutputLayoutError(f"consolidation response is not a readable JSON array: {exc}") from exc
    return HumanBatch(
        labeled_objects=labeled,
        boxes=_total_boxes(labeled.values(), has_boxes),
        unlabeled_items=unlabeled,
        malformed_items=malformed,
    )


def count_auto_annotator_output(
    chunks: Iterable[bytes], label_attribute: str, task_type: TaskType | str
) -> MachineBatch:
    """Count the machine labels of ``<token> <json>`` lines (a bare JSON line is accepted too).

    The format is undocumented, so a line that does not parse, or lacks the label, is counted in
    ``malformed_lines`` instead of failing the file.
    """
    has_boxes = spec_for(task_type).has_boxes
    line_boxes: list[int | None] = []
    malformed = 0
    for line in _non_blank_lines(chunks):
        token_and_json = line.split(None, 1)
        payload = line if line.startswith(b"{") else token_and_json[-1]
        try:
            label = _json_object(payload).get(label_attribute)
            if label is None:
                raise _MalformedRecordError
            line_boxes.append(_box_count(label, has_boxes))
        except _MalformedRecordError:
            malformed += 1
    return MachineBatch(
        objects=len(line_boxes), boxes=_total_boxes(line_boxes, has_boxes), malformed_lines=malformed
    )


def count_output_manifest(
    chunks: Iterable[bytes], label_attribute: str, task_type: TaskType | str
) -> ManifestTotals:
    """Split the output manifest's objects by who labeled them (``human-annotated``), and count boxes."""
    has_boxes = spec_for(task_type).has_boxes
    origins: Counter[str] = Counter()
    line_boxes: list[int | None] = []
    for line in _non_blank_lines(chunks):
        try:
            record = _json_object(line)
            label = record.get(label_attribute)
            if label is None:
                origins["unlabeled"] += 1
                continue
            metadata = record.get(f"{label_attribute}-metadata")
            origin = metadata.get("human-annotated") if isinstance(metadata, dict) else None
            if origin not in ("yes", "no"):
                raise _MalformedRecordError
            line_boxes.append(_box_count(label, has_boxes))
            origins[origin] += 1
        except _MalformedRecordError:
            origins["malformed"] += 1
    return ManifestTotals(
        objects=origins.total(),
        human_annotated=origins["yes"],
        machine_annotated=origins["no"],
        unlabeled=origins["unlabeled"],
        malformed_lines=origins["malformed"],
        boxes=_total_boxes(line_boxes, has_boxes),
    )


def _consolidated_item(item: object) -> tuple[str, dict[str, object]]:
    if not isinstance(item, dict):
        raise _MalformedRecordError
    object_id = item.get("datasetObjectId")
    annotation = item.get("consolidatedAnnotation")
    content = annotation.get("content") if isinstance(annotation, dict) else None
    if isinstance(object_id, bool) or not isinstance(object_id, str | int) or not isinstance(content, dict):
        raise _MalformedRecordError
    return str(object_id), content


def _box_count(label: object, has_boxes: bool) -> int | None:
    if not has_boxes:
        return None
    annotations = label.get("annotations") if isinstance(label, dict) else None
    if not isinstance(annotations, list):
        raise _MalformedRecordError
    return len(annotations)


def _total_boxes(boxes: Iterable[int | None], has_boxes: bool) -> int | None:
    return sum(count or 0 for count in boxes) if has_boxes else None


def _json_object(payload: bytes) -> dict[str, object]:
    try:
        record = json.loads(payload)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _MalformedRecordError from exc
    if not isinstance(record, dict):
        raise _MalformedRecordError
    return record


def _non_blank_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    try:
        for line in iter_lines(chunks):
            if stripped := line.strip():
                yield stripped
    except MalformedJsonStreamError as exc:
        raise OutputLayoutError(str(exc)) from exc
