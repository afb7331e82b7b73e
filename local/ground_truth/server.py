"""The HTTP face of the emulator: SageMaker's JSON 1.1 protocol on 127.0.0.1.

boto3 reaches it with ``AWS_ENDPOINT_URL_SAGEMAKER=<endpoint_url>`` (or ``endpoint_url=``). Every
request is ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` and a JSON body; errors are HTTP 400
with ``{"__type": <code>, "message": …}`` and the same code in ``x-amzn-ErrorType`` — botocore's JSON
parser reads ``__type`` into ``ClientError.response["Error"]["Code"]``. The region of a request comes
from its SigV4 credential scope (the emulator's default region otherwise).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from infra.definitions import DEFAULT_PSEUDO_PARAMETERS
from local.clock import CompressedClock
from local.ground_truth.events import EventSink, EventWatcher
from local.ground_truth.faults import FaultInjection, ThrottleGate
from local.ground_truth.jobs import Clock, LabelingJobService
from local.ground_truth.output_writer import OutputWriter
from local.ground_truth.params import SimulationParams
from local.ground_truth.protocol import ApiError, to_wire, validate_request
from local.ground_truth.workteams import describe_subscribed_workteam, describe_workteam

logger = logging.getLogger(__name__)
_TARGET_PREFIX = "SageMaker."
_SHUTDOWN_POLL_SECONDS = 0.02  # how soon serve_forever notices stop()
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/sagemaker/")


class GroundTruthEmulator:
    """Serves CreateLabelingJob, DescribeLabelingJob, StopLabelingJob and ListLabelingJobs over HTTP,
    and DescribeWorkteam / DescribeSubscribedWorkteam for the teams it staffs (``workteams``; private
    teams of ``account``).

    ``s3_client`` reads manifests and label categories and writes the output; ``clock`` (any callable
    returning an aware datetime, e.g. ``local.clock.CompressedClock``) is the simulated time.
    Use as a context manager, or ``start()`` / ``stop()``.

    State-change events: ``event_sink`` (a constructor keyword, or the attribute of that name, which
    may be set or replaced at any time; None: no events) receives SageMaker's "SageMaker Ground Truth
    Labeling Job State Change" event (a dict; ``local.ground_truth.events``) of every status change of
    every job, at the simulated moment of the change, while the emulator runs: a watcher thread
    started by ``start()`` and joined by ``stop()`` looks for changes every 10 ms of real time and calls
    the sink from that thread, one event at a time. A sink that raises is logged and the watcher goes
    on. ``faults.events`` (``EventFaults``) loses, duplicates or delays events.
    """

    def __init__(
        self,
        s3_client: Any,
        *,
        clock: Clock | None = None,
        params: SimulationParams | None = None,
        faults: FaultInjection | None = None,
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        port: int = 0,
        event_sink: EventSink | None = None,
        account: str = DEFAULT_PSEUDO_PARAMETERS["AWS::AccountId"],
    ) -> None:
        self.region = region
        self.account = account
        self._address = (host, port)
        self._throttle = ThrottleGate(faults or FaultInjection())
        clock = clock or CompressedClock(scale=1.0)
        self.service = LabelingJobService(
            s3_client=s3_client,
            clock=clock,
            params=params or SimulationParams(),
            faults=self._throttle.faults,
            writer=OutputWriter(s3_client),
        )
        self._events = EventWatcher(self.service, clock, sink=event_sink)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._throttled = 0
        self._throttled_lock = threading.Lock()

    @property
    def throttled_requests(self) -> int:
        """How many requests were answered ThrottlingException so far (across fault swaps)."""
        return self._throttled

    @property
    def events_delivered(self) -> int:
        """How many state-change events were handed to the sink so far (duplicates count twice)."""
        return self._events.delivered

    @property
    def events_dropped(self) -> int:
        """How many state-change events ``faults.events.drops`` lost so far."""
        return self._events.dropped

    @property
    def event_sink(self) -> EventSink | None:
        """Receives every state-change event (see the class docstring); None: events go nowhere."""
        return self._events.sink

    @event_sink.setter
    def event_sink(self, sink: EventSink | None) -> None:
        self._events.sink = sink

    @property
    def faults(self) -> FaultInjection:
        return self._throttle.faults

    @faults.setter
    def faults(self, faults: FaultInjection) -> None:
        """Swap the fault switches (a new throttling draw sequence starts from ``throttle_seed``)."""
        self._throttle = ThrottleGate(faults)
        self.service.faults = faults

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Ground Truth emulator is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def endpoint(self) -> str:
        """Alias of ``endpoint_url``."""
        return self.endpoint_url

    @contextmanager
    def running(self) -> Iterator[str]:
        """``with emulator.running() as endpoint_url:`` — start, yield the URL, stop."""
        with self:
            yield self.endpoint_url

    def start(self) -> str:
        """Listen (a free port unless one was given) in a daemon thread and start the state-change
        event watcher; returns the endpoint URL."""
        if self._server is not None:
            return self.endpoint_url
        server = _Server(self._address, _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name="ground-truth-emulator",
            daemon=True,
        )
        self._thread.start()
        self._events.start()
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the event watcher (events not delivered yet are lost), stop serving, close open
        connections and join the threads."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._events.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GroundTruthEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def handle(self, operation: str, body: Any, region: str | None = None) -> dict[str, Any]:
        """Run one operation as the HTTP handler does (throttling, validation, dispatch); raises ApiError."""
        if self._throttle.should_throttle(operation):
            with self._throttled_lock:
                self._throttled += 1
            raise ApiError("ThrottlingException", "Rate exceeded")
        params = validate_request(operation, body)
        service = self.service
        if operation == "CreateLabelingJob":
            return service.create_labeling_job(params, region or self.region)
        if operation == "DescribeLabelingJob":
            return service.describe_labeling_job(params)
        if operation == "StopLabelingJob":
            return service.stop_labeling_job(params)
        if operation == "DescribeWorkteam":
            return describe_workteam(params, region or self.region, self.account)
        if operation == "DescribeSubscribedWorkteam":
            return describe_subscribed_workteam(params, region or self.region)
        return service.list_labeling_jobs(params)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: GroundTruthEmulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Shut keep-alive connections down so their handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_POST(self) -> None:
        request_id = str(uuid.uuid4())
        try:
            payload = self._answer()
        except ApiError as error:
            self._send(error.status, {"__type": error.code, "message": error.message}, request_id, error.code)
            return
        except Exception:
            logger.exception("Ground Truth emulator failed on a request")
            body = {"__type": "InternalFailure", "message": "the emulator failed; see its log"}
            self._send(500, body, request_id, "InternalFailure")
            return
        self._send(200, to_wire(payload), request_id)

    def do_GET(self) -> None:
        body = {"__type": "UnknownOperationException", "message": "SageMaker's JSON protocol is POST /"}
        self._send(400, body, str(uuid.uuid4()), "UnknownOperationException")

    def _answer(self) -> dict[str, Any]:
        target = self.headers.get("X-Amz-Target", "")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not target.startswith(_TARGET_PREFIX):
            raise ApiError("UnknownOperationException", f"unknown X-Amz-Target {target!r}")
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ApiError("SerializationException", f"the request body is not JSON: {exc}") from exc
        scope = _CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
        region = scope["region"] if scope else None
        return self.server.emulator.handle(target[len(_TARGET_PREFIX) :], body, region)

    def _send(
        self, status: int, body: dict[str, Any], request_id: str, error_code: str | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", request_id)
        if error_code is not None:
            self.send_header("x-amzn-ErrorType", error_code)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)
