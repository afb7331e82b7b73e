"""Follow an execution and its job records until it ends (``start --wait``) or its jobs are final
(``stop --wait``), printing a line whenever something changes.

Each poll reads DescribeExecution and the job record(s) (``JobStore.get_job``, consistent read): the
record holds what the stack knows — status, the reconciler's counters and running cost while the job
runs, the final counters and cost once the record is sealed. An Experiment execution is followed
through its three child jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labelchain.cli import output
from labelchain.cli.exits import NOT_COMPLETED, OK
from labelchain.cli.stack import StackOutputs
from labelchain.core.cost import percent_of
from labelchain.core.experiment import ROLES, child_execution_name
from labelchain.core.naming import (
    EXPERIMENT_STATE_MACHINE_SUFFIX,
    LABELING_JOB_STATE_MACHINE_SUFFIX,
    job_name_for_execution,
    sibling_execution_arn,
    state_machine_name,
)
from labelchain.core.records import JobRecord

if TYPE_CHECKING:
    from labelchain.adapters.store import JobStore

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True)
class Tracked:
    """One job an execution runs: ``job`` for a LabelingJob execution, a role for an Experiment's."""

    label: str
    job_name: str
    execution_arn: str


def execution_name_of(execution_arn: str) -> str:
    return execution_arn.rsplit(":", 1)[-1]


def tracked_jobs(outputs: StackOutputs, execution_arn: str) -> list[Tracked]:
    """The job(s) an execution of this stack runs (their names are a function of the execution)."""
    prefix = outputs.resource_prefix
    name = execution_name_of(execution_arn)
    kind = outputs.machine_kind(execution_arn)
    if kind == LABELING_JOB_STATE_MACHINE_SUFFIX:
        return [Tracked("job", job_name_for_execution(prefix, name, execution_arn), execution_arn)]
    if kind == EXPERIMENT_STATE_MACHINE_SUFFIX:
        machine = state_machine_name(prefix, LABELING_JOB_STATE_MACHINE_SUFFIX)
        tracked = []
        for role in ROLES:
            child_name = child_execution_name(name, execution_arn, role)
            child_arn = sibling_execution_arn(execution_arn, machine, child_name)
            tracked.append(Tracked(role, job_name_for_execution(prefix, child_name, child_arn), child_arn))
        return tracked
    return []


def machine_percent(record: JobRecord) -> str:
    return output.percent(percent_of(record.counters.machine_labeled, record.object_count))


def cost_text(record: JobRecord) -> str:
    """The final cost once the record is sealed, else the reconciler's running estimate."""
    if record.finalized_at is not None and record.cost is not None:
        return f"cost {output.usd(record.cost.total_cost_usd)} (final)"
    if record.running_cost_usd is not None:
        return f"cost {output.usd(record.running_cost_usd)} (running)"
    return "cost -"


def job_summary(record: JobRecord) -> str:
    """``InProgress  human 250  machine 0 (0.0 % machine)  cost 30.00 USD (running)``."""
    counters = record.counters
    text = (
        f"{record.status}  human {counters.human_labeled:,}  machine {counters.machine_labeled:,} "
        f"of {record.object_count:,} ({machine_percent(record)} machine)  {cost_text(record)}"
    )
    if record.finalized_at is not None:
        text += "  [final]"
    return text


class Watch:
    """Poll an execution and its records; print changes; return the exit code."""

    def __init__(
        self,
        execution_arn: str,
        tracked: list[Tracked],
        stepfunctions: Any,
        store: JobStore,
        *,
        interval: float,
        timeout: float | None = None,
        until_final: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.execution_arn = execution_arn
        self.tracked = tracked
        self._stepfunctions = stepfunctions
        self._store = store
        self._interval = interval
        self._timeout = timeout
        self._until_final = until_final
        self._clock = clock
        self._sleep = sleep
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._started = clock()

    def _elapsed(self) -> str:
        return output.elapsed(self._clock() - self._started).rjust(6)

    def _describe(self) -> dict[str, Any]:
        return dict(self._stepfunctions.describe_execution(executionArn=self.execution_arn))

    def _records(self) -> dict[str, JobRecord | None]:
        return {t.job_name: self._store.get_job(t.job_name) for t in self.tracked}

    def _report(self, status: str, records: dict[str, JobRecord | None]) -> None:
        """A line per job whose record changed (status, counters, cost, sealed); the execution's own
        status shows in each line and in the outcome."""
        if not self.tracked and self._seen.get("execution") != (status,):
            self._seen["execution"] = (status,)
            output.emit(f"[{self._elapsed()}] {status}")
        for tracked in self.tracked:
            record = records[tracked.job_name]
            state: tuple[Any, ...] = (
                (None,)
                if record is None
                else (
                    record.status,
                    record.counters,
                    record.running_cost_usd,
                    record.finalized_at is not None,
                )
            )
            if self._seen.get(tracked.job_name) == state:
                continue
            self._seen[tracked.job_name] = state
            if record is None:
                if status == RUNNING:
                    output.emit(
                        f"[{self._elapsed()}] {status}  {tracked.label} {tracked.job_name}: not created yet"
                    )
                continue
            output.emit(
                f"[{self._elapsed()}] {status}  {tracked.label} {tracked.job_name}  {job_summary(record)}"
            )

    def _done(self, status: str, records: dict[str, JobRecord | None]) -> bool:
        if not self._until_final:
            return status != RUNNING
        if status == RUNNING:
            return False
        return all(r is None or r.finalized_at is not None for r in records.values())

    def run(self) -> int:
        while True:
            described = self._describe()
            status = str(described["status"])
            records = self._records()
            self._report(status, records)
            if self._done(status, records):
                return self._finish(described, records)
            if self._timeout is not None and self._clock() - self._started >= self._timeout:
                output.emit(
                    f"[{self._elapsed()}] still {status} after --timeout {self._timeout:g} s; the execution "
                    f"goes on (labelchain status {execution_name_of(self.execution_arn)})"
                )
                return NOT_COMPLETED
            self._sleep(self._interval)

    def _finish(self, described: dict[str, Any], records: dict[str, JobRecord | None]) -> int:
        status = str(described["status"])
        for tracked in self.tracked:
            record = records[tracked.job_name]
            if record is not None:
                output.emit(f"  {tracked.label} {tracked.job_name}: {final_text(record)}")
        took = output.elapsed(self._clock() - self._started)
        outcome = f"{status} after {took}: {execution_name_of(self.execution_arn)}"
        if described.get("error"):
            cause = str(described.get("cause") or "")
            outcome += f" ({described['error']}{': ' + cause[:400] if cause else ''})"
        output.emit(outcome)
        if self._until_final:  # stop --wait: done means every job record is final
            return OK
        return OK if status == SUCCEEDED else NOT_COMPLETED


def final_text(record: JobRecord) -> str:
    """One line for a job at the end of a watch."""
    counters = record.counters
    text = (
        f"{record.status}, {record.object_count:,} objects: human {counters.human_labeled:,}, machine "
        f"{counters.machine_labeled:,} ({machine_percent(record)} machine), {cost_text(record)}"
    )
    if record.stop_reason:
        text += f"; stopped: {record.stop_reason}"
    if record.failure_reason and record.failure_reason != record.stop_reason:
        text += f"; failure: {record.failure_reason}"
    if record.finalized_at is None:
        text += "; record not final yet (the stack finalizes it when the job has ended)"
    return text
