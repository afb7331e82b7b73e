"""PrepareDataset: cut the experiment's manifest into parts and plan the experiment's three jobs.

Every check that can refuse the experiment runs before the first byte is written: the input model,
the manifest's bucket, every line of the manifest (pass 1 of ``core.dataset_split``) and the size of
each part against automated data labeling's limits. Duplicates are only confirmed while the parts are
written (pass 2), so a split that fails then, or at any later point, discards every part: multipart
uploads are aborted and parts already committed are deleted. Nothing partial is left behind.

The parts are written under ``s3_layout.EXPERIMENT_PARTS_PREFIX`` at keys derived from the execution's name,
so a retried Lambda rewrites the same objects with the same content (the split is deterministic).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from aws_lambda_powertools import Logger

from labelchain.adapters.s3 import ObjectChanged, ObjectMissing, ObjectStore, StreamingUpload
from labelchain.core.catalog import MIN_OBJECTS_WITH_AUTO_LABELING, TaskTypeSpec, spec_for
from labelchain.core.dataset_split import ManifestChanged, ManifestRejected, split_manifest
from labelchain.core.experiment import (
    PLACEHOLDER_MANIFEST,
    ROLES,
    ExperimentInput,
    child_execution_name,
    parse_experiment_input,
)
from labelchain.core.json_stream import MalformedJsonStreamError
from labelchain.core.s3_layout import experiment_part_key, s3_uri
from labelchain.errors import InvalidJobInput, ManifestNotFound, TransientServiceError
from labelchain.services.create_job import manifest_location
from labelchain.services.experiment_events import (
    DatasetPart,
    PlannedJob,
    PrepareDatasetEvent,
    PrepareDatasetResult,
)
from labelchain.services.runtime import Runtime

logger = Logger(child=True)


PART_CONTENT_TYPE = "application/jsonlines"
PART_OF_ROLE = {"initial": 0, "pretrained": 1, "control": 1}
"""Index into the parts of the part each of the experiment's jobs labels: part 1 is labeled by the
initial job, part 2 by both second-stage jobs; further parts (``split.parts`` > 2) are written for
later batches and labeled by none of the experiment's jobs."""


STATE_LIMIT_BYTES = 256 * 1024
"""Step Functions refuses a state (and a task result) larger than 256 KiB."""
STATE_ALLOWANCE_BYTES = 24 * 1024
"""Room kept for what joins the plan in the state: three job results, the seed, the comparison."""


def check_state_size(plan: PrepareDatasetResult) -> None:
    """Refuse an experiment whose plan would not fit in the Experiment state machine's state.

    The state holds the plan (three complete job inputs) and the pretrained job's merged input, so
    four copies of the job settings; long instructions, many labels or tags can pass 256 KiB, and a
    state over the limit fails the execution with ``States.DataLimitExceeded``, which no Catch sees.
    """
    plan_bytes = len(plan.model_dump_json().encode())
    pretrained_bytes = len(json.dumps(plan.jobs["pretrained"].input).encode())
    needed = plan_bytes + pretrained_bytes + STATE_ALLOWANCE_BYTES
    if needed > STATE_LIMIT_BYTES:
        raise InvalidJobInput(
            f"job: the experiment carries its job settings in its state four times, about "
            f"{needed / 1024:,.0f} KiB here, over Step Functions' {STATE_LIMIT_BYTES // 1024} KiB limit; "
            "shorten task.instructions (or the labels, description or tags) so one job input stays under "
            f"about {(STATE_LIMIT_BYTES - STATE_ALLOWANCE_BYTES) // 4 // 1024} KiB as JSON"
        )


def check_part_sizes(sizes: Sequence[int], manifest: str, spec: TaskTypeSpec) -> None:
    """Refuse a split whose parts automated data labeling would refuse, before anything is written."""
    total = sum(sizes)
    described = f"{len(sizes)} parts of {' and '.join(f'{size:,}' for size in sizes)} objects"
    if min(sizes) < MIN_OBJECTS_WITH_AUTO_LABELING:
        raise InvalidJobInput(
            f"manifest: automated data labeling needs at least {MIN_OBJECTS_WITH_AUTO_LABELING:,} objects "
            f"per job; {manifest} has {total:,} objects, which split into {described} (the experiment "
            f"needs at least {len(sizes) * MIN_OBJECTS_WITH_AUTO_LABELING:,})"
        )
    limit = spec.max_objects_with_auto_labeling
    if max(sizes) > limit:
        raise InvalidJobInput(
            f"manifest: automated data labeling takes at most {limit:,} objects per job for "
            f"{spec.task_type.value}; {manifest} has {total:,} objects, which split into {described} "
            f"(the experiment takes at most {len(sizes) * limit:,})"
        )


def plan_jobs(
    experiment: ExperimentInput, parent_execution: str, parent_arn: str, part_uris: Sequence[str]
) -> dict[str, PlannedJob]:
    """The three nested LabelingJob executions; pretrained's model is merged in after the initial job.

    The control job's model never becomes the project's latest: it was trained without the seed, so
    ``initial_model: latest`` after an experiment means the pretrained job's model.
    """
    return {
        role: PlannedJob(
            execution_name=child_execution_name(parent_execution, parent_arn, role),
            input=experiment.job_input(part_uris[PART_OF_ROLE[role]])
            .model_copy(update={"advance_latest_model": role != "control"})
            .model_dump(mode="json"),
        )
        for role in ROLES
    }


class _PartFiles:
    """The experiment's part objects: opened once the sizes pass the check, kept all or none."""

    def __init__(
        self, objects: ObjectStore, bucket: str, keys: Sequence[str], check: Callable[[Sequence[int]], None]
    ) -> None:
        self._objects = objects
        self._bucket = bucket
        self._keys = keys
        self._check = check
        self.uploads: list[StreamingUpload] = []

    def open(self, sizes: Sequence[int]) -> list[StreamingUpload]:
        self._check(sizes)
        self.uploads = [self._objects.open_upload(self._bucket, key, PART_CONTENT_TYPE) for key in self._keys]
        return self.uploads

    def commit(self) -> list[str]:
        return [upload.commit() for upload in self.uploads]

    def discard(self) -> None:
        """Abort what is still uploading and delete what was committed; never masks the cause."""
        for upload in self.uploads:
            try:
                if upload.committed:
                    self._objects.delete(upload.bucket, upload.key)
                else:
                    upload.abort()
            except Exception:  # the split's own error is the one to report
                logger.warning(
                    "could not discard a part of a failed split",
                    extra={"part": upload.uri},
                    exc_info=True,
                )


def _same_version_reader(objects: ObjectStore, bucket: str, key: str) -> Callable[[], Iterable[bytes]]:
    """Each call streams the object again; every read after the first insists on the first's ETag."""
    etag: str | None = None

    def open_manifest() -> Iterable[bytes]:
        nonlocal etag
        chunks = objects.open_chunks(bucket, key, if_match=etag)
        etag = chunks.etag
        return chunks

    return open_manifest


@contextmanager
def _manifest_errors(manifest: str) -> Iterator[None]:
    """Name the manifest in every way reading or splitting it can fail."""
    try:
        yield
    except ObjectMissing as exc:
        raise ManifestNotFound(f"manifest: {manifest} cannot be read ({exc})") from exc
    except MalformedJsonStreamError as exc:
        raise InvalidJobInput(f"manifest: {manifest} is not a JSON-lines manifest ({exc})") from exc
    except ManifestRejected as exc:
        first = f"; first: {exc.first_problems}" if exc.problems else ""
        raise InvalidJobInput(f"manifest: {exc.summary} in {manifest}{first}") from exc
    except (ObjectChanged, ManifestChanged) as exc:
        raise TransientServiceError(
            f"manifest: {manifest} was replaced while it was being split ({exc}); a retry reads it again"
        ) from exc


def prepare_dataset(event: PrepareDatasetEvent, runtime: Runtime) -> PrepareDatasetResult:
    """Validate the experiment, split its manifest into two checked parts, plan its three jobs."""
    experiment = parse_experiment_input(event.input)
    spec = spec_for(experiment.job_input(PLACEHOLDER_MANIFEST).task.type)
    data_bucket = runtime.settings.data_bucket
    bucket, key = manifest_location(experiment.manifest, data_bucket)
    if event.execution.name in {".", ".."}:
        raise InvalidJobInput(
            f"execution name: {event.execution.name!r} cannot name an experiment: its manifest parts are "
            "stored under labelchain/experiments/<project>/<execution name>/, and a '.' or '..' key segment "
            "is refused as a job's manifest; start the execution with another name"
        )
    keys = [
        experiment_part_key(experiment.project, event.execution.name, part, experiment.split.parts)
        for part in range(1, experiment.split.parts + 1)
    ]
    # The plan's size does not depend on the part sizes: check it before reading the manifest.
    planned_uris = [s3_uri(data_bucket, part) for part in keys]
    check_state_size(
        PrepareDatasetResult(
            project=experiment.project,
            parts=[DatasetPart(uri=uri, objects=0) for uri in planned_uris],
            jobs=plan_jobs(experiment, event.execution.name, event.execution.id, planned_uris),
        )
    )
    files = _PartFiles(
        runtime.objects, data_bucket, keys, lambda sizes: check_part_sizes(sizes, experiment.manifest, spec)
    )
    try:
        with _manifest_errors(experiment.manifest):
            outcome = split_manifest(
                _same_version_reader(runtime.objects, bucket, key),
                files.open,
                parts=experiment.split.parts,
                source_field=spec.source_field,
                order=experiment.split.order,
                seed=experiment.split.seed,
            )
        uris = files.commit()
    except BaseException:
        files.discard()
        raise
    logger.info(
        "dataset split",
        extra={
            "project": experiment.project,
            "manifest": experiment.manifest,
            "order": experiment.split.order,
            "seed": experiment.split.seed,
            "sizes": list(outcome.sizes),
            "blank_lines": outcome.blank_lines,
            "duplicate_candidates": outcome.duplicate_candidates,
            "multipart": [upload.multipart for upload in files.uploads],
        },
    )
    return PrepareDatasetResult(
        project=experiment.project,
        parts=[DatasetPart(uri=uri, objects=size) for uri, size in zip(uris, outcome.sizes, strict=True)],
        jobs=plan_jobs(experiment, event.execution.name, event.execution.id, uris),
    )
