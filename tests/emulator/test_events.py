"""Specification of the labeling-job state-change events the emulator sends, as SageMaker sends them to
EventBridge: one per status change, at its simulated moment, and as unreliable as asked."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.events.models import EventPattern

from local.clock import CompressedClock
from local.ground_truth import (
    EventDrop,
    EventFaults,
    FaultInjection,
    GroundTruthEmulator,
    JobFailure,
    JobStop,
    SimulationParams,
)
from local.ground_truth.events import DETAIL_TYPE, event_time
from local.ground_truth.lifecycle import Interruption, status_at, status_changes
from local.ground_truth.model import JobPlan, simulate
from tests.conftest import ACCOUNT, REGION
from tests.emulator import (
    DATA_BUCKET,
    OUTPUT_BUCKET,
    SAGEMAKER_PASSES_THROUGH_MOTO,
    World,
    emulator_world,
    labeling_request,
    manifest_lines,
    put_labels,
    put_manifest,
    sagemaker_client,
)

DEFAULTS = SimulationParams()
SMALL_MANIFEST = f"s3://{DATA_BUCKET}/birds/small.manifest"
"""Ten objects, labeled by humans in one batch: InProgress at 600 s, Completed at 1,770 s."""
TIMEOUT = 60.0
WATCHER_THREAD = "ground-truth-emulator-events"


class Sink:
    """Collects the events delivered to it (thread-safe), with the clock's time of each delivery."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.delivered_at: list[datetime] = []
        self.clock = clock
        self._arrived = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        with self._arrived:
            self.events.append(event)
            if self.clock is not None:
                self.delivered_at.append(self.clock())
            self._arrived.notify_all()

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Block until ``count`` events have arrived; returns them."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.events) >= count, TIMEOUT):
                raise AssertionError(
                    f"{len(self.events)} events within {TIMEOUT} s, not {count}: {self.seen}"
                )
            return list(self.events)

    @property
    def seen(self) -> list[tuple[str, str, str]]:
        """(job name, status, time) of each event, in delivery order."""
        return [
            (e["resources"][0].rsplit("/", 1)[1], e["detail"]["LabelingJobStatus"], e["time"])
            for e in self.events
        ]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {TIMEOUT} s")
        time.sleep(0.005)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def world(sink: Sink) -> Iterator[World]:
    with emulator_world(event_sink=sink) as world:
        world.put_dataset("birds/small.manifest", 10)
        yield world


def create(world: World, name: str = "birds-1", manifest: str = SMALL_MANIFEST) -> datetime:
    """Create a human-only job; returns its creation moment."""
    created = world.clock.now
    world.sagemaker.create_labeling_job(**labeling_request(name, manifest, auto_labeling=False))
    return created


def at(created: datetime, seconds: float) -> str:
    """The ``time`` of an event ``seconds`` after ``created``."""
    return event_time(created + timedelta(seconds=seconds))


def test_a_completed_job_sends_in_progress_then_completed_at_their_simulated_moments(
    world: World, sink: Sink
) -> None:
    created = create(world)
    timeline = world.emulator.service.timeline("birds-1")

    world.clock.advance(timeline.ended_at + 1)
    sink.wait_for(2)
    world.emulator.stop()  # joins the watcher: nothing more can arrive

    assert sink.seen == [
        ("birds-1", "InProgress", at(created, timeline.initialized_at)),
        ("birds-1", "Completed", at(created, timeline.ended_at)),
    ]
    assert at(created, timeline.ended_at) == "2026-11-28T12:27:19Z"


def test_an_event_has_the_shape_sagemaker_sends_to_eventbridge(world: World, sink: Sink) -> None:
    create(world)
    arn = world.sagemaker.describe_labeling_job(LabelingJobName="birds-1")["LabelingJobArn"]

    world.clock.advance(DEFAULTS.initializing_seconds)
    (event,) = sink.wait_for(1)

    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "SageMaker Ground Truth Labeling Job State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-11-28T12:10:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {"LabelingJobStatus": "InProgress", "simulated": True},
    }
    assert uuid.UUID(event["id"])


def test_a_rule_on_source_detail_type_and_status_matches_the_simulated_event(
    world: World, sink: Sink
) -> None:
    rule = EventPattern.load(
        '{"source": ["aws.sagemaker"], "detail-type": ["' + DETAIL_TYPE + '"],'
        ' "detail": {"LabelingJobStatus": ["InProgress", "Completed"]}}'
    )
    create(world)

    world.clock.advance(DEFAULTS.initializing_seconds)
    (event,) = sink.wait_for(1)

    assert rule.matches_event(event)


def test_no_event_is_sent_before_the_change_happens_on_the_simulated_clock(world: World, sink: Sink) -> None:
    create(world)

    world.clock.advance(DEFAULTS.initializing_seconds - 1)
    time.sleep(0.1)  # about ten looks of the watcher
    early = list(sink.events)
    world.clock.advance(1)
    sink.wait_for(1)

    assert early == []
    assert [status for _, status, _ in sink.seen] == ["InProgress"]


def test_stop_labeling_job_sends_stopping_then_stopped(world: World, sink: Sink) -> None:
    created = create(world)
    world.clock.advance(DEFAULTS.initializing_seconds + 60)
    sink.wait_for(1)

    world.sagemaker.stop_labeling_job(LabelingJobName="birds-1")
    world.clock.advance(DEFAULTS.stopping_seconds)
    sink.wait_for(3)
    world.emulator.stop()

    assert sink.seen == [
        ("birds-1", "InProgress", at(created, 600)),
        ("birds-1", "Stopping", at(created, 660)),
        ("birds-1", "Stopped", at(created, 960)),
    ]


def test_an_injected_failure_sends_failed_at_its_moment(sink: Sink) -> None:
    failure = JobFailure("birds", reason="ClientError: workers walked away", at_fraction=0.5)
    with emulator_world(faults=FaultInjection(failures=(failure,)), event_sink=sink) as world:
        created = create(world, manifest=world.put_dataset("birds/small.manifest", 10))
        ended_at = world.emulator.service.timeline("birds-1").ended_at

        world.clock.advance(ended_at)
        sink.wait_for(2)
        world.emulator.stop()

    assert sink.seen == [
        ("birds-1", "InProgress", at(created, 600)),
        ("birds-1", "Failed", at(created, 0.5 * ended_at)),
    ]


def test_an_injected_stop_sends_stopping_then_stopped(sink: Sink) -> None:
    with emulator_world(
        faults=FaultInjection(stops=(JobStop("birds", at_fraction=0.5),)), event_sink=sink
    ) as world:
        created = create(world, manifest=world.put_dataset("birds/small.manifest", 10))
        stop_at = 0.5 * world.emulator.service.timeline("birds-1").ended_at

        world.clock.advance(stop_at + DEFAULTS.stopping_seconds + 1)
        sink.wait_for(3)
        world.emulator.stop()

    assert sink.seen == [
        ("birds-1", "InProgress", at(created, 600)),
        ("birds-1", "Stopping", at(created, stop_at)),
        ("birds-1", "Stopped", at(created, stop_at + DEFAULTS.stopping_seconds)),
    ]


def test_a_job_that_cannot_start_sends_only_failed(world: World, sink: Sink) -> None:
    created = create(world, manifest=f"s3://{DATA_BUCKET}/birds/missing.manifest")

    world.clock.advance(DEFAULTS.initializing_seconds)
    sink.wait_for(1)
    world.emulator.stop()

    assert sink.seen == [("birds-1", "Failed", at(created, DEFAULTS.initializing_seconds))]


def test_events_of_several_jobs_arrive_in_simulated_time_order(world: World, sink: Sink) -> None:
    create(world, "birds-1")
    world.clock.advance(700)
    create(world, "birds-2")

    world.clock.advance(3600)
    sink.wait_for(4)

    assert [(name, status) for name, status, _ in sink.seen] == [
        ("birds-1", "InProgress"),
        ("birds-2", "InProgress"),
        ("birds-1", "Completed"),
        ("birds-2", "Completed"),
    ]


def test_a_sink_assigned_while_the_emulator_runs_receives_the_events() -> None:
    sink = Sink()
    with emulator_world() as world:
        create(world, manifest=world.put_dataset("birds/small.manifest", 10))

        world.emulator.event_sink = sink
        world.clock.advance(DEFAULTS.initializing_seconds)
        sink.wait_for(1)

    assert [status for _, status, _ in sink.seen] == ["InProgress"]


def test_a_sink_that_raises_does_not_stop_the_events(caplog: pytest.LogCaptureFixture) -> None:
    received: list[str] = []

    def failing_sink(event: dict[str, Any]) -> None:
        received.append(event["detail"]["LabelingJobStatus"])
        if len(received) == 1:
            raise RuntimeError("the target is down")

    with (
        caplog.at_level(logging.ERROR, logger="local.ground_truth.events"),
        emulator_world(event_sink=failing_sink) as world,
    ):
        create(world, manifest=world.put_dataset("birds/small.manifest", 10))
        world.clock.advance(DEFAULTS.initializing_seconds)
        wait_until(lambda: received == ["InProgress"])

        world.clock.advance(3600)
        wait_until(lambda: received == ["InProgress", "Completed"])

    assert "the target is down" in caplog.text
    assert "sink raised" in caplog.text


def test_drop_everything_loses_every_event(sink: Sink) -> None:
    faults = FaultInjection(events=EventFaults(drops=(EventDrop(),)))
    with emulator_world(faults=faults, event_sink=sink) as world:
        create(world, manifest=world.put_dataset("birds/small.manifest", 10))

        world.clock.advance(3600)
        wait_until(lambda: world.emulator.events_dropped == 2)
        world.emulator.stop()

    assert sink.events == []
    assert world.emulator.events_delivered == 0


def test_a_drop_by_name_loses_only_the_events_of_jobs_whose_name_contains_it(sink: Sink) -> None:
    faults = FaultInjection(events=EventFaults(drops=(EventDrop(name_contains="CONTROL"),)))
    with emulator_world(faults=faults, event_sink=sink) as world:
        manifest = world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-control", manifest)
        create(world, "birds-pretrained", manifest)

        world.clock.advance(3600)
        sink.wait_for(2)
        world.emulator.stop()

    assert [(name, status) for name, status, _ in sink.seen] == [
        ("birds-pretrained", "InProgress"),
        ("birds-pretrained", "Completed"),
    ]
    assert world.emulator.events_dropped == 2


def test_a_drop_by_status_loses_only_the_events_of_that_status(sink: Sink) -> None:
    faults = FaultInjection(events=EventFaults(drops=(EventDrop(statuses=frozenset({"Completed"})),)))
    with emulator_world(faults=faults, event_sink=sink) as world:
        manifest = world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-1", manifest)
        create(world, "birds-2", manifest)

        world.clock.advance(3600)
        sink.wait_for(2)
        world.emulator.stop()

    assert [(name, status) for name, status, _ in sink.seen] == [
        ("birds-1", "InProgress"),
        ("birds-2", "InProgress"),
    ]


def test_a_drop_by_name_and_status_loses_only_that_status_of_those_jobs(sink: Sink) -> None:
    drop = EventDrop(name_contains="control", statuses=frozenset({"Completed"}))
    with emulator_world(faults=FaultInjection(events=EventFaults(drops=(drop,))), event_sink=sink) as world:
        manifest = world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-control", manifest)
        create(world, "birds-pretrained", manifest)

        world.clock.advance(3600)
        sink.wait_for(3)
        world.emulator.stop()

    assert [(name, status) for name, status, _ in sink.seen] == [
        ("birds-control", "InProgress"),
        ("birds-pretrained", "InProgress"),
        ("birds-pretrained", "Completed"),
    ]


def test_an_unknown_status_in_a_drop_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="Initializing"):
        EventDrop(statuses=frozenset({"Initializing"}))


def test_duplicate_delivers_every_event_twice_with_the_same_id(sink: Sink) -> None:
    with emulator_world(faults=FaultInjection(events=EventFaults(duplicate=True)), event_sink=sink) as world:
        create(world, manifest=world.put_dataset("birds/small.manifest", 10))

        world.clock.advance(3600)
        events = sink.wait_for(4)
        world.emulator.stop()

    assert [status for _, status, _ in sink.seen] == ["InProgress", "InProgress", "Completed", "Completed"]
    assert events[0] == events[1]
    assert events[2] == events[3]
    assert events[0]["id"] != events[2]["id"]
    assert world.emulator.events_delivered == 4


def test_a_delay_delivers_each_event_that_many_simulated_seconds_after_the_change() -> None:
    faults = FaultInjection(events=EventFaults(delay_seconds=3600))
    sink = Sink()
    with emulator_world(faults=faults, event_sink=sink) as world:
        sink.clock = world.clock
        created = create(world, manifest=world.put_dataset("birds/small.manifest", 10))
        ended_at = world.emulator.service.timeline("birds-1").ended_at

        world.clock.advance(ended_at + 1)  # both changes have happened, neither is due
        time.sleep(0.1)
        early = list(sink.events)
        world.clock.advance(600 + 3600 - (ended_at + 1))
        sink.wait_for(1)
        world.clock.advance(ended_at - 600)
        sink.wait_for(2)

    assert early == []
    assert sink.seen == [
        ("birds-1", "InProgress", at(created, 600)),
        ("birds-1", "Completed", at(created, ended_at)),
    ]
    assert sink.delivered_at == [
        created + timedelta(seconds=600 + 3600),
        created + timedelta(seconds=ended_at + 3600),
    ]


def test_on_a_compressed_clock_each_event_arrives_after_its_simulated_moment() -> None:
    clock = CompressedClock(scale=20_000)
    sink = Sink(clock)
    with mock_aws(config=SAGEMAKER_PASSES_THROUGH_MOTO):  # type: ignore[arg-type]
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DATA_BUCKET, OUTPUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        put_labels(s3, ["Bird"])
        manifest = put_manifest(s3, "birds/small.manifest", manifest_lines(10))
        with GroundTruthEmulator(s3, clock=clock, event_sink=sink) as emulator:
            sagemaker = sagemaker_client(emulator.endpoint_url)
            sagemaker.create_labeling_job(**labeling_request("birds-1", manifest, auto_labeling=False))
            created = sagemaker.describe_labeling_job(LabelingJobName="birds-1")["CreationTime"]
            timeline = emulator.service.timeline("birds-1")
            events = sink.wait_for(2)

    moments = [created + timedelta(seconds=s) for s in (timeline.initialized_at, timeline.ended_at)]
    stamped = [datetime.fromisoformat(e["time"]) for e in events]
    assert [e["detail"]["LabelingJobStatus"] for e in events] == ["InProgress", "Completed"]
    assert all(abs((s - m).total_seconds()) < 1 for s, m in zip(stamped, moments, strict=True))
    assert all(d >= m for d, m in zip(sink.delivered_at, moments, strict=True))


def test_stopping_the_emulator_ends_the_event_watcher_and_starting_it_again_restarts_it(
    world: World, sink: Sink
) -> None:
    world.emulator.stop()
    stopped = [thread.name for thread in threading.enumerate()]

    world.sagemaker = sagemaker_client(world.emulator.start())  # a new port
    create(world)
    world.clock.advance(DEFAULTS.initializing_seconds)
    sink.wait_for(1)

    assert WATCHER_THREAD not in stopped
    assert WATCHER_THREAD in [thread.name for thread in threading.enumerate()]


PLAN = JobPlan(object_ids=tuple(f"objects/{i}" for i in range(10)), auto_labeling=False, batch_size=4)


@pytest.mark.parametrize(
    ("plan", "interruption"),
    [
        pytest.param(PLAN, None, id="completed"),
        pytest.param(
            JobPlan(PLAN.object_ids, auto_labeling=False, batch_size=4, max_human_labeled=5),
            None,
            id="stopping-condition",
        ),
        pytest.param(
            JobPlan(PLAN.object_ids, auto_labeling=False, failure_reason="ClientError: no manifest"),
            None,
            id="cannot-start",
        ),
        pytest.param(PLAN, Interruption("stop", 0.0, stopping_seconds=300), id="stopped-at-creation"),
        pytest.param(PLAN, Interruption("stop", 300.0, stopping_seconds=300), id="stopped-initializing"),
        pytest.param(PLAN, Interruption("stop", 2000.0, stopping_seconds=300), id="stopped-in-progress"),
        pytest.param(PLAN, Interruption("fail", 2000.0, reason="ClientError: x"), id="failed-in-progress"),
    ],
)
def test_the_status_changes_are_where_the_status_changes(
    plan: JobPlan, interruption: Interruption | None
) -> None:
    timeline = simulate(plan, DEFAULTS)

    changes = status_changes(timeline, interruption)

    previous = "Initializing"
    for change in changes:
        assert status_at(timeline, interruption, change.at) == change.status != previous
        if change.at > 0:
            assert status_at(timeline, interruption, change.at - 1e-6) == previous
        previous = change.status
    assert status_at(timeline, interruption, float("inf")) == previous
    assert previous in {"Completed", "Failed", "Stopped"}
