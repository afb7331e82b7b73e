"""Write a job's output to S3 in Ground Truth's layout, once, when the job ends.

Under ``<S3OutputPath><job-name>/`` (docs/GROUND_TRUTH.md, "What a finished job leaves in S3"):

- ``manifests/output/output.manifest`` — every input line; labeled ones gain ``<attr>`` and
  ``<attr>-metadata`` (Completed and Stopped jobs; a Failed job has no output manifest);
- ``manifests/intermediate/<N>/output.manifest`` — the lines labeled up to iteration N;
- ``annotations/consolidated-annotation/consolidation-response/iteration-<N>/<YYYY-MM-DD_HH:MM:SS>.json``
  — one file per iteration with the human labels of that iteration;
- ``annotations/worker-response/iteration-<N>/<datasetObjectId>/<YYYY-MM-DD_HH:MM:SS>.json`` — every
  human-labeled object's raw worker answers, one per worker, stamped with the last submission;
- ``activelearning/simulated/iteration-<N>/auto_annotator_output.txt`` — the machine labels of
  iteration N, one ``<datasetObjectId> <json>`` line each;
- ``training/iteration-<N>/simulated-model.json`` — what the simulated model learned (no weights).

Files are built one at a time and uploaded in parallel; a 1,250-object job is a few hundred PUTs
(one worker-response file per human-labeled object).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from local.ground_truth.labels import LabelContext, human_confidence, object_label, worker_answer
from local.ground_truth.lifecycle import LandedIteration
from local.ground_truth.workforce import Answer, worker_id

ACTIVE_LEARNING_FOLDER = "activelearning/simulated"


@dataclass(frozen=True)
class JobOutput:
    """Everything needed to write one ended job's output."""

    bucket: str
    job_prefix: str
    """Key prefix ``<path of S3OutputPath><job-name>/``."""
    records: Sequence[dict[str, Any]]
    """The input manifest lines, in file order."""
    identities: Sequence[str]
    context: LabelContext
    created_at: datetime
    iterations: Sequence[LandedIteration]
    write_output_manifest: bool
    workteam_arn: str


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d_%H:%M:%S")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _millisecond_clock(created_at: datetime) -> Callable[[float], datetime]:
    """Simulated seconds → moments, on a base cut to the millisecond, so answer times stay exact."""
    base = created_at.replace(microsecond=created_at.microsecond // 1000 * 1000)
    return lambda seconds: base + timedelta(milliseconds=round(seconds * 1000))


def worker_response(job: JobOutput, index: int, answers: Sequence[Answer]) -> tuple[str, bytes]:
    """(``<datasetObjectId>/<stamp>.json``, content) of one object's answers; stamped at the last one."""
    moment = _millisecond_clock(job.created_at)
    identity = job.identities[index]
    seed = job.context.seed
    document = {
        "answers": [
            worker_answer(
                job.context,
                identity,
                worker_id=worker_id(seed, job.workteam_arn, answer.worker),
                accepted_at=moment(answer.accepted_at),
                submitted_at=moment(answer.submitted_at),
                seconds=answer.seconds,
            )
            for answer in answers
        ]
    }
    stamp = _stamp(moment(max(answer.submitted_at for answer in answers)))
    return f"{index}/{stamp}.json", json.dumps(document).encode()


def iter_output_files(job: JobOutput) -> Iterator[tuple[str, bytes]]:
    """Every file of the layout as (key, content), built one at a time (pure)."""
    prefix = job.job_prefix
    context = job.context
    labeled_lines: dict[int, str] = {}
    for landed in job.iterations:
        iteration = landed.iteration
        number = iteration.number
        if landed.machine_objects:
            at = job.created_at + timedelta(seconds=iteration.machine_labeled_at)
            lines = []
            for index, score in zip(landed.machine_objects, iteration.machine_confidence, strict=True):
                record = {
                    **job.records[index],
                    **object_label(
                        context,
                        job.identities[index],
                        str(index),
                        human=False,
                        confidence=score,
                        labeled_at=at,
                    ),
                }
                labeled_lines[index] = _line(record)
                lines.append(f"{index} {labeled_lines[index]}")
            yield (
                f"{prefix}{ACTIVE_LEARNING_FOLDER}/iteration-{number}/auto_annotator_output.txt",
                _text(lines),
            )
        if iteration.trained_on_labels is not None and landed.machine:
            yield (
                f"{prefix}training/iteration-{number}/simulated-model.json",
                json.dumps(
                    {
                        "simulated": True,
                        "note": "no model was trained: the emulator's learning-curve numbers",
                        "trained_on_label_equivalents": iteration.trained_on_labels,
                        "competence": iteration.competence,
                    }
                ).encode(),
            )
        if landed.human_objects:
            at = job.created_at + timedelta(seconds=iteration.ended_at)
            items = []
            answers: dict[int, list[Answer]] = {}
            for answer in iteration.answers:
                answers.setdefault(answer.object_index, []).append(answer)
            for index in landed.human_objects:
                identity = job.identities[index]
                label = object_label(
                    context,
                    identity,
                    str(index),
                    human=True,
                    confidence=human_confidence(context, identity),
                    labeled_at=at,
                )
                labeled_lines[index] = _line({**job.records[index], **label})
                items.append({"datasetObjectId": str(index), "consolidatedAnnotation": {"content": label}})
                name, body = worker_response(job, index, answers[index])
                yield f"{prefix}annotations/worker-response/iteration-{number}/{name}", body
            consolidation = "annotations/consolidated-annotation/consolidation-response"
            yield f"{prefix}{consolidation}/iteration-{number}/{_stamp(at)}.json", json.dumps(items).encode()
        yield (
            f"{prefix}manifests/intermediate/{number}/output.manifest",
            _text([labeled_lines[i] for i in sorted(labeled_lines)]),
        )
    if job.write_output_manifest:
        yield (
            f"{prefix}manifests/output/output.manifest",
            _text([labeled_lines.get(i) or _line(record) for i, record in enumerate(job.records)]),
        )


def _text(lines: Sequence[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode() if lines else b""


class OutputWriter:
    """Uploads a job's files through an injected boto3 S3 client (PUTs in parallel)."""

    def __init__(self, s3_client: Any, parallel_puts: int = 8) -> None:
        self._s3 = s3_client
        self._parallel_puts = parallel_puts

    def write(self, job: JobOutput) -> list[str]:
        """Write every file; returns the keys written.

        Files are built lazily and at most ``2 × parallel_puts`` are in memory at once, so a large
        job's cumulative intermediate manifests never all sit in memory together.
        """
        keys: list[str] = []
        in_flight: deque[Future[None]] = deque()
        with ThreadPoolExecutor(max_workers=self._parallel_puts) as pool:
            for key, body in iter_output_files(job):
                if len(in_flight) >= 2 * self._parallel_puts:
                    in_flight.popleft().result()
                in_flight.append(pool.submit(self._s3.put_object, Bucket=job.bucket, Key=key, Body=body))
                keys.append(key)
            for future in in_flight:
                future.result()
        return keys
