"""LabelChain's Ground Truth emulator: SageMaker labeling jobs simulated offline (docs/EMULATOR.md).

No workers and no model: a parameterised model of automated data labeling decides who labels what and
when, on a compressed clock, and the emulator writes Ground Truth's output layout to S3, marked
simulated. ``GroundTruthEmulator`` serves it over HTTP for boto3 and sends Ground Truth's job
state-change events to an optional sink.
"""

from local.ground_truth.events import EventSink, state_change_event
from local.ground_truth.faults import EventDrop, EventFaults, FaultInjection, JobFailure, JobStop, StatusDelay
from local.ground_truth.model import JobPlan, Timeline, simulate
from local.ground_truth.params import SimulationParams
from local.ground_truth.server import GroundTruthEmulator

__all__ = [
    "EventDrop",
    "EventFaults",
    "EventSink",
    "FaultInjection",
    "GroundTruthEmulator",
    "JobFailure",
    "JobPlan",
    "JobStop",
    "SimulationParams",
    "StatusDelay",
    "Timeline",
    "simulate",
    "state_change_event",
]
