"""Worker time from a labeling job's own output: what a private team's labor cost is computed from.

Ground Truth writes every worker's answer to
``<S3OutputPath><job>/annotations/worker-response/iteration-<N>/<datasetObjectId>/<timestamp>.json``,
a JSON object ``{"answers": [{"workerId", "acceptanceTime", "submissionTime", "timeSpentInSeconds",
"answerContent", "workerMetadata"}, …]}`` (docs/GROUND_TRUTH.md, "What a finished job leaves in S3"). Rules:

* an answer's time is ``timeSpentInSeconds``; without it, ``submissionTime - acceptanceTime``; an answer
  with neither, or with a negative or non-finite time, is counted as *time unknown* (never a crash);
  zero is zero;
* a file that is not such an object is counted as malformed, with its key kept for the record
  (the first few), and the rest of the job is still read;
* files are streamed: the ``answers`` array is read one answer at a time, never the whole file
  (a semantic-segmentation answer can carry a large image), and the keys are classified one by one
  (``output_layout``), so any number of iterations (10 and more) is fine;
* a file can be read anywhere (``read_worker_response_file``, e.g. on one of Finalize's reader threads,
  ``services.worker_responses``) and merged later: the sum does not depend on the order of merges;
* files listed but left unread (the reader's time ran out) make the worker time partial, a lower bound,
  and the notes say how many of how many were read.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pydantic import Field

from labelchain.core.json_stream import MalformedJsonStreamError, iter_json_array
from labelchain.core.models import StrictModel

SECONDS_QUANTUM = Decimal("0.001")
"""Worker seconds are kept to the millisecond (AWS reports ``timeSpentInSeconds`` with decimals)."""
MAX_REPORTED_MALFORMED_KEYS = 5
_ANSWERS_OPENING = re.compile(rb'\A\s*\{\s*"answers"\s*:\s*')
_MAX_OPENING_BYTES = 4096


class WorkerTime(StrictModel):
    """Worker time of one iteration or a whole job, as read from worker-response files."""

    worker_seconds: Decimal = Field(default=Decimal(0), ge=0)
    """Sum of the known answer times."""
    timed_answers: int = Field(default=0, ge=0)
    """Answers whose time is known (zero included)."""
    answers_time_unknown: int = Field(default=0, ge=0)

    @property
    def answers(self) -> int:
        return self.timed_answers + self.answers_time_unknown

    @property
    def mean_seconds_per_answer(self) -> Decimal | None:
        """Mean time of the answers whose time is known; None when there are none."""
        if not self.timed_answers:
            return None
        return self.worker_seconds / self.timed_answers

    def plus(self, other: WorkerTime) -> WorkerTime:
        return WorkerTime(
            worker_seconds=self.worker_seconds + other.worker_seconds,
            timed_answers=self.timed_answers + other.timed_answers,
            answers_time_unknown=self.answers_time_unknown + other.answers_time_unknown,
        )


class WorkerTimeSummary(StrictModel):
    """A job's worker time, per iteration and in total, with what could not be read."""

    iterations: dict[int, WorkerTime]
    total: WorkerTime
    files: int
    malformed_files: int
    malformed_keys: tuple[str, ...]
    """The first ``MAX_REPORTED_MALFORMED_KEYS`` malformed files' keys with why."""
    workers: int
    """Distinct ``workerId`` values seen."""
    files_listed: int = 0
    """Worker-response files the listing showed: read, unreadable, or not read in time."""
    files_not_read: int = 0
    """Listed files left unread because the time budget ran out: the worker time is then partial."""

    def notes(self) -> tuple[str, ...]:
        """What the record should say about the worker time (empty when everything was read)."""
        notes = []
        if not self.files and not self.files_not_read:
            notes.append("no worker-response files found: worker time is unknown")
        if self.files_not_read:
            read = self.files_listed - self.files_not_read
            notes.append(
                f"worker time is partial: {read} of {self.files_listed} worker-response files were read "
                "before the time budget ran out; worker hours and labor cost count only those (a lower "
                "bound)"
            )
        if self.total.answers_time_unknown:
            notes.append(
                f"{self.total.answers_time_unknown} worker answers have no usable time (no "
                "timeSpentInSeconds and no acceptance/submission times, or a negative one): their time "
                "is not counted"
            )
        if self.malformed_files:
            shown = "; ".join(self.malformed_keys)
            notes.append(
                f"{self.malformed_files} worker-response files are malformed and were not counted ({shown})"
            )
        return tuple(notes)


def answer_seconds(answer: object) -> Decimal | None:
    """One answer's time in seconds (see the module rules), or None when it is unknown."""
    if not isinstance(answer, dict):
        return None
    spent = answer.get("timeSpentInSeconds")
    if isinstance(spent, int | float) and not isinstance(spent, bool):
        return _non_negative(Decimal(str(spent)))
    if isinstance(spent, str):
        try:
            return _non_negative(Decimal(spent))
        except InvalidOperation:
            pass
    accepted = _timestamp(answer.get("acceptanceTime"))
    submitted = _timestamp(answer.get("submissionTime"))
    if accepted is None or submitted is None:
        return None
    try:
        elapsed = submitted - accepted
    except TypeError:  # one is timezone-aware, the other naive
        return None
    return _non_negative(Decimal(str(elapsed.total_seconds())))


def _non_negative(seconds: Decimal) -> Decimal | None:
    if not seconds.is_finite() or seconds < 0:
        return None
    return seconds.quantize(SECONDS_QUANTUM)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class MalformedWorkerResponseError(ValueError):
    """A worker-response file is not ``{"answers": [...]}``."""


def _answers_array(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of the ``answers`` array of ``{"answers": [...]}``: the opening and the closing brace
    are cut off as the chunks stream past (one chunk is held back to find the last brace)."""
    iterator = iter(chunks)
    opening = b""
    for chunk in iterator:
        opening += chunk
        if match := _ANSWERS_OPENING.match(opening):
            held = opening[match.end() :]
            break
        if len(opening) > _MAX_OPENING_BYTES or opening.lstrip()[:1] not in (b"", b"{"):
            raise MalformedWorkerResponseError('not a JSON object starting with "answers"')
    else:
        raise MalformedWorkerResponseError('not a JSON object starting with "answers"')
    for chunk in iterator:
        if not chunk.strip():
            held += chunk
            continue
        yield held
        held = chunk
    held = held.rstrip()
    if not held.endswith(b"}"):
        raise MalformedWorkerResponseError('the object does not end after its "answers" array')
    yield held[:-1]


def read_worker_response(chunks: Iterable[bytes]) -> tuple[WorkerTime, set[str]]:
    """The time of every answer in one worker-response file and the worker ids that gave them.

    Raises ``MalformedWorkerResponseError`` when the file is not ``{"answers": [...]}``.
    """
    seconds = Decimal(0)
    timed = unknown = 0
    workers: set[str] = set()
    try:
        for answer in iter_json_array(_answers_array(chunks)):
            spent = answer_seconds(answer)
            if spent is None:
                unknown += 1
            else:
                seconds += spent
                timed += 1
            worker = answer.get("workerId") if isinstance(answer, dict) else None
            if isinstance(worker, str):
                workers.add(worker)
    except MalformedJsonStreamError as exc:
        raise MalformedWorkerResponseError(str(exc)) from exc
    return WorkerTime(worker_seconds=seconds, timed_answers=timed, answers_time_unknown=unknown), workers


@dataclass(frozen=True)
class WorkerResponseFile:
    """What one worker-response file contributed: its answers' time and workers, or why it was not
    counted. Read anywhere (a worker thread), added up by ``WorkerTimeTally.merge``."""

    key: str
    iteration: int
    time: WorkerTime = field(default_factory=WorkerTime)
    workers: frozenset[str] = frozenset()
    problem: str | None = None
    """Why the file was not counted (malformed, or gone from S3); None when it was."""
    fetched: bool = True
    """False when its bytes could not be fetched at all (gone from S3)."""


def read_worker_response_file(key: str, iteration: int, chunks: Iterable[bytes]) -> WorkerResponseFile:
    """Read one file of ``iteration`` (streamed); a malformed one comes back with its problem."""
    try:
        time, workers = read_worker_response(chunks)
    except MalformedWorkerResponseError as exc:
        return WorkerResponseFile(key, iteration, problem=str(exc))
    return WorkerResponseFile(key, iteration, time=time, workers=frozenset(workers))


def unfetched_worker_response(key: str, why: str) -> WorkerResponseFile:
    """A listed file whose bytes could not be fetched (deleted or replaced since the listing)."""
    return WorkerResponseFile(key, 0, problem=why, fetched=False)


class WorkerTimeTally:
    """Adds worker-response files up; memory grows with iterations and workers, not with files.

    ``merge`` is order-independent (exact decimal sums, set unions, the reported malformed keys are the
    first in key order — S3's listing order), so files read concurrently add up to the same summary
    whatever order their reads finish in.
    """

    def __init__(self) -> None:
        self._iterations: dict[int, WorkerTime] = {}
        self._workers: set[str] = set()
        self._files = 0
        self._malformed = 0
        self._malformed_keys: list[tuple[str, str]] = []
        self._listed = 0
        self._not_read = 0

    def add(self, key: str, iteration: int, chunks: Iterable[bytes]) -> None:
        """Read and count one file of ``iteration``; a malformed one is counted, not raised."""
        self.merge(read_worker_response_file(key, iteration, chunks))

    def add_unreadable(self, key: str, why: str) -> None:
        """Count a listed file that could not be fetched (gone from S3)."""
        self.merge(unfetched_worker_response(key, why))

    def merge(self, read: WorkerResponseFile) -> None:
        """Add one file's contribution (see the class doc: the order of merges does not matter)."""
        self._listed += 1
        self._files += read.fetched
        if read.problem is not None:
            self._malformed += 1
            bisect.insort(self._malformed_keys, (read.key, read.problem))
            del self._malformed_keys[MAX_REPORTED_MALFORMED_KEYS:]
            return
        known = self._iterations.get(read.iteration, WorkerTime())
        self._iterations[read.iteration] = known.plus(read.time)
        self._workers |= read.workers

    def skip_unread(self, count: int = 1) -> None:
        """Count files that were listed but not read (the time budget ran out)."""
        self._listed += count
        self._not_read += count

    def summary(self) -> WorkerTimeSummary:
        total = WorkerTime()
        for time in self._iterations.values():
            total = total.plus(time)
        return WorkerTimeSummary(
            iterations=dict(sorted(self._iterations.items())),
            total=total,
            files=self._files,
            malformed_files=self._malformed,
            malformed_keys=tuple(f"{key}: {why}" for key, why in self._malformed_keys),
            workers=len(self._workers),
            files_listed=self._listed,
            files_not_read=self._not_read,
        )


def hours(seconds: Decimal | None) -> Decimal | None:
    """Seconds as hours, two decimal places (half-up), for reports."""
    if seconds is None:
        return None
    return (seconds / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
