"""The template's EventBridge rules applied offline: pattern rules, schedules and Step Functions events.

moto's EventBridge stores the rules and matches patterns, but cannot deliver to Step Functions or to
the in-process Lambdas, does not run scheduled rules, and moto's Step Functions emits no "Step
Functions Execution Status Change" events. ``LocalEventBus`` does those parts, generically, from what
``local.resources.deploy_template`` created in moto (every ``AWS::Events::Rule`` with its targets):

- ``put_event``: every enabled pattern rule of the template, read back from moto and matched with
  moto's own matcher, delivers to its targets: a state machine gets ``StartExecution``, a function
  gets moto's ``Invoke`` (which ``local.moto_engine`` dispatches in-process to the real handler);
- ``schedules``: a thread firing every ``rate(...)`` rule each period of *simulated* time;
- ``execution_watcher``: a thread turning the executions of the template's state machines into
  "Step Functions Execution Status Change" events (RUNNING, then the terminal status), put on the bus.

Failures follow AWS's two layers, not one:

* EventBridge invokes a Lambda target **asynchronously** (Lambda Developer Guide, "Invoking a Lambda
  function asynchronously"; EventBridge is one of the async sources). Delivery succeeds once Lambda
  accepts the event; an error *raised by the function* is retried by Lambda's async queue (the
  function's ``MaximumRetryAttempts``, default 2, from ``AWS::Lambda::EventInvokeConfig``) and then
  goes to the *function's* dead-letter queue (``AWS::Lambda::Function`` ``DeadLetterConfig``) and/or
  its ``OnFailure`` destination — never to the rule target's DLQ.
* The target's ``RetryPolicy`` and ``DeadLetterConfig`` cover *delivery* failures (EventBridge User
  Guide, "Using dead-letter queues to process undelivered events"): throttling and service errors are
  retried with backoff up to ``MaximumRetryAttempts``/``MaximumEventAgeInSeconds``; a missing target
  or missing permission (no ``AWS::Lambda::Permission`` for ``events.amazonaws.com`` and the rule) is
  not retried and goes straight to the target's DLQ, as on AWS.

Retry pauses are simulated (the bus's clock sleeps them, compressed; without a clock nothing waits).
Deliveries happen synchronously on the caller's thread (the watcher's or scheduler's for theirs), so
``put_event`` returns what each target did; every one is also recorded in ``deliveries``.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, Protocol

import boto3
from botocore.exceptions import ClientError

from infra.definitions import resources_of_type
from local.resources import ACCOUNT, REGION, DeployedStack

SCHEDULED_EVENT: Final = "Scheduled Event"
EXECUTION_STATUS_CHANGE: Final = "Step Functions Execution Status Change"
TERMINAL_STATUSES: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
EVENTS_PRINCIPAL: Final = "events.amazonaws.com"

DEFAULT_TARGET_RETRIES: Final = 185
DEFAULT_TARGET_EVENT_AGE: Final = 24 * 3600
"""EventBridge's retry policy for a rule target that sets none (185 attempts, 24 hours)."""
DEFAULT_FUNCTION_RETRIES: Final = 2
DEFAULT_FUNCTION_EVENT_AGE: Final = 6 * 3600
FUNCTION_RETRY_PAUSES: Final = (60.0, 120.0)
"""Lambda's async retries: 2 by default, 1 minute then 2 minutes apart (simulated)."""
_RETRIABLE_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceException",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "RequestTimeout",
    }
)
_WATCH_POLL_SECONDS: Final = 0.02
_SCHEDULE_POLL_SECONDS: Final = 0.02
_JOIN_SECONDS: Final = 60.0


class SimulatedClock(Protocol):
    """What the bus needs of ``local.clock.CompressedClock``: simulated now, sleep and real duration."""

    def now(self) -> datetime: ...

    def sleep(self, simulated_seconds: float) -> None: ...

    def real_seconds(self, simulated_seconds: float) -> float: ...


class UnsupportedScheduleError(ValueError):
    """A ScheduleExpression the offline bus cannot run (``cron(...)``, or not ``rate(...)``)."""


class InputTransformError(ValueError):
    """A target's Input/InputPath/InputTransformer cannot be applied to the event."""


@dataclass(frozen=True)
class RuleTarget:
    """One target of one rule, as moto's ListTargetsByRule returns it."""

    rule_name: str
    rule_arn: str
    target: Mapping[str, Any]

    @property
    def target_id(self) -> str:
        return str(self.target["Id"])

    @property
    def arn(self) -> str:
        return str(self.target["Arn"])


ExecutionNamer = Callable[[RuleTarget, Mapping[str, Any]], str | None]
"""``(target, event)`` → the name of the execution a state machine target starts; None: AWS's (a UUID)."""


def s3_execution_name(_target: RuleTarget, event: Mapping[str, Any]) -> str | None:
    """``s3-<event id>`` for an S3 event (what the offline stack has always named them), else None."""
    return f"s3-{event['id']}" if event.get("source") == "aws.s3" else None


@dataclass(frozen=True)
class Delivery:
    """What one target did with one event.

    ``ok``: a state machine target started its execution (``result``: the execution ARN); a function
    target ran the event without error (``result``: its decoded return value).
    ``failure``: "delivery" when EventBridge could not hand the event over (target missing, permission
    missing, input transformation failed, throttled past the retry policy); "function" when Lambda
    accepted it but the function raised on every async attempt.
    ``attempts``: calls made to the target (delivery attempts, or function invocations once delivered).
    ``dead_letters``: ARNs of the queues the failed event was sent to (the target's DLQ for a delivery
    failure; the function's DLQ / OnFailure destination for a function failure).
    """

    rule: str
    rule_arn: str
    target_id: str
    target_arn: str
    event_id: str
    detail_type: str
    ok: bool
    input: Any = None
    result: Any = None
    error: str | None = None
    failure: Literal["delivery", "function"] | None = None
    attempts: int = 0
    dead_letters: tuple[str, ...] = ()


# --- target input ------------------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_EVENT_VARIABLES = ("aws.events.event", "aws.events.event.json")


def json_path_value(document: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of a simple JSONPath (``$``, ``$.detail.object.key``, ``$.resources[0]``,
    ``$['detail-type']``) in ``document``; EventBridge's InputPath and InputPathsMap use these."""
    if not path.startswith("$"):
        raise InputTransformError(f"JSONPath {path!r} must start with $")
    value, position = document, 1
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None:
            raise InputTransformError(f"unsupported JSONPath {path!r} at {path[position:]!r}")
        key, index, quoted, double_quoted = match.groups()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
        else:
            name = next(part for part in (key, quoted, double_quoted) if part is not None)
            if not isinstance(value, Mapping) or name not in value:
                return False, None
            value = value[name]
        position = match.end()
    return True, value


def render_input_transformer(
    transformer: Mapping[str, Any], event: Mapping[str, Any], rule_name: str = "", rule_arn: str = ""
) -> str:
    """The text EventBridge sends a target whose ``InputTransformer`` is ``transformer``.

    Each ``<name>`` of ``InputTemplate`` (a key of ``InputPathsMap``, or one of the predefined
    ``aws.events.*`` variables) is replaced as EventBridge does ("Transforming target input", EventBridge
    User Guide): *inside a JSON string* by the value's raw text (unescaped; a non-string as its JSON),
    elsewhere by the value as JSON. A path missing from the event leaves a quoted placeholder empty
    and makes a bare one an error (``InputTransformError``) — the rules ``labelchain.core.trigger``
    models for the manifest rule.
    """
    paths: Mapping[str, str] = transformer.get("InputPathsMap", {})
    template = str(transformer["InputTemplate"])
    values: dict[str, tuple[bool, Any]] = {name: json_path_value(event, path) for name, path in paths.items()}
    values.setdefault("aws.events.rule-arn", (True, rule_arn))
    values.setdefault("aws.events.rule-name", (True, rule_name))
    values.setdefault("aws.events.event.ingestion-time", (True, event.get("time")))
    for name in _EVENT_VARIABLES:
        values.setdefault(name, (True, dict(event)))

    def substitute(name: str, in_string: bool) -> str:
        found, value = values[name]
        if in_string:
            return "" if not found else value if isinstance(value, str) else json.dumps(value)
        if not found:
            raise InputTransformError(f"the event has no {paths[name]} for the bare placeholder <{name}>")
        return json.dumps(value)

    rendered: list[str] = []
    position, in_string = 0, False
    while position < len(template):
        character = template[position]
        if character == "<":
            match = _PLACEHOLDER.match(template, position)
            if match is not None and match.group(1) in values:
                rendered.append(substitute(match.group(1), in_string))
                position = match.end()
                continue
        if in_string and character == "\\":
            rendered.append(template[position : position + 2])
            position += 2
            continue
        if character == '"':
            in_string = not in_string
        rendered.append(character)
        position += 1
    return "".join(rendered)


def target_input(
    target: Mapping[str, Any], event: Mapping[str, Any], rule_name: str = "", rule_arn: str = ""
) -> str:
    """The JSON text a target receives: its constant ``Input``, its ``InputPath`` of the event, its
    ``InputTransformer`` applied, or else the whole event. ``InputTransformError`` if it is not JSON."""
    if "Input" in target:
        text = str(target["Input"])
    elif "InputPath" in target:
        found, value = json_path_value(event, str(target["InputPath"]))
        text = json.dumps(value if found else None)
    elif "InputTransformer" in target:
        text = render_input_transformer(target["InputTransformer"], event, rule_name, rule_arn)
    else:
        text = json.dumps(dict(event))
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputTransformError(f"the target input is not JSON ({exc.msg}): {text[:200]}") from None
    return text


# --- schedules ---------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_period_seconds(expression: str) -> float:
    """Seconds between two firings of ``rate(N unit)``; ``UnsupportedScheduleError`` for anything else."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise UnsupportedScheduleError(
            f"the offline event bus runs only rate(N minute|minutes|hour|hours|day|days) schedules, "
            f"not {expression!r} (cron expressions are not supported offline)"
        )
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    if count <= 0 or (count == 1) != (match.group(2) == unit):
        raise UnsupportedScheduleError(
            f"{expression!r}: EventBridge requires rate(1 {unit}) / rate(N {unit}s)"
        )
    return float(count * _UNIT_SECONDS[unit])


@dataclass
class _Schedule:
    rule_name: str
    rule_arn: str
    period: float
    fired: int = 0


# --- the bus -----------------------------------------------------------------------------------------


class _TargetError(Exception):
    """A failed delivery attempt: the error code EventBridge records, and whether it retries it."""

    def __init__(self, code: str, message: str, retriable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retriable = code, message, retriable


def _client_error(exc: ClientError) -> _TargetError:
    code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    message = str(exc.response.get("Error", {}).get("Message", exc))
    return _TargetError(code, message, code in _RETRIABLE_CODES or status >= 500)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_millis(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, datetime) else None


@functools.lru_cache(maxsize=256)
def _pattern(raw: str) -> Any:
    from moto.events.models import EventPattern  # noqa: PLC0415 - moto is imported lazily

    return EventPattern.load(raw)


class LocalEventBus:
    """The default event bus of the offline stack, for the rules ``deploy_template`` created in moto.

    ``clients``: boto3 clients (moto server or ``mock_aws``) for ``events``, ``lambda`` and
    ``stepfunctions``, and ``sqs`` when the template has dead-letter queues (made if absent).
    ``clock``: simulated time for event times and retry pauses (``CompressedClock``); None: real time,
    no pauses. ``execution_name``: names executions started by state machine targets.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        deployed: DeployedStack,
        clients: Mapping[str, Any],
        *,
        clock: SimulatedClock | None = None,
        execution_name: ExecutionNamer = s3_execution_name,
    ) -> None:
        self.template = template
        self.deployed = deployed
        self.clock = clock
        self.execution_name = execution_name
        self._events = clients["events"]
        self._lambda = clients["lambda"]
        self._stepfunctions = clients["stepfunctions"]
        self._sqs = clients.get("sqs")
        if self._sqs is None and resources_of_type(template, "AWS::SQS::Queue"):
            self._sqs = boto3.client("sqs", region_name=REGION)
        self._rule_names = {
            logical_id: deployed.refs[logical_id]
            for logical_id in resources_of_type(template, "AWS::Events::Rule")
        }
        self._function_dead_letters: dict[str, str] = {}
        for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
            config = resource.get("Properties", {}).get("DeadLetterConfig", {})
            if "TargetArn" in config and logical_id in deployed.arns:
                self._function_dead_letters[deployed.arns[logical_id]] = str(
                    deployed.resolve(config["TargetArn"])
                )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._deliveries: list[Delivery] = []
        self._errors: list[str] = []
        self._emitted: dict[str, set[str]] = {}
        self._skipped_ticks: dict[str, int] = {}

    # --- records -------------------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, in order (a copy)."""
        with self._lock:
            return list(self._deliveries)

    @property
    def errors(self) -> list[str]:
        """Failures of the bus itself (a poll that raised, a dead letter that could not be sent)."""
        with self._lock:
            return list(self._errors)

    @property
    def skipped_ticks(self) -> dict[str, int]:
        """Schedule ticks coalesced because deliveries fell behind, by rule name (a copy)."""
        with self._lock:
            return dict(self._skipped_ticks)

    def wait_for(
        self,
        where: Callable[[Delivery], bool] = lambda _: True,
        count: int = 1,
        timeout_seconds: float = 10.0,
    ) -> list[Delivery]:
        """Block until ``count`` recorded deliveries satisfy ``where`` (bounded); returns them."""
        deadline = time.monotonic() + timeout_seconds
        with self._changed:
            while True:
                found = [delivery for delivery in self._deliveries if where(delivery)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(found)} of {count} deliveries after {timeout_seconds} s")
                self._changed.wait(remaining)

    def _record(self, delivery: Delivery) -> Delivery:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()
        return delivery

    def _skip(self, rule_name: str, ticks: int) -> None:
        with self._lock:
            self._skipped_ticks[rule_name] = self._skipped_ticks.get(rule_name, 0) + ticks

    def _error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    # --- events --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def complete_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """``event`` with the envelope fields PutEvents fills in when absent (id, time, account, …)."""
        if "source" not in event or "detail-type" not in event:
            raise ValueError("an event needs at least 'source' and 'detail-type'")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "time": _iso(self.now()),
            "account": ACCOUNT,
            "region": REGION,
            "resources": [],
            "detail": {},
            **event,
        }

    def put_event(self, event: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``event`` to the targets of every enabled pattern rule of the template that matches
        it (moto's matcher, rules and targets read back from moto); returns the deliveries."""
        complete = self.complete_event(event)
        deliveries: list[Delivery] = []
        for name in self._rule_names.values():
            rule = self._events.describe_rule(Name=name)
            if rule.get("State") != "ENABLED" or not rule.get("EventPattern"):
                continue
            if not _pattern(rule["EventPattern"]).matches_event(complete):
                continue
            deliveries.extend(self._deliver_to_rule(name, rule["Arn"], complete))
        return deliveries

    def _deliver_to_rule(self, rule_name: str, rule_arn: str, event: Mapping[str, Any]) -> list[Delivery]:
        targets = self._events.list_targets_by_rule(Rule=rule_name)["Targets"]
        return [self._deliver(RuleTarget(rule_name, rule_arn, target), event) for target in targets]

    # --- one target ----------------------------------------------------------------------------------

    def _deliver(self, target: RuleTarget, event: Mapping[str, Any]) -> Delivery:
        base = Delivery(
            rule=target.rule_name,
            rule_arn=target.rule_arn,
            target_id=target.target_id,
            target_arn=target.arn,
            event_id=str(event.get("id", "")),
            detail_type=str(event.get("detail-type", "")),
            ok=False,
        )
        try:
            text = target_input(target.target, event, target.rule_name, target.rule_arn)
        except InputTransformError as exc:
            error = _TargetError("InputTransformationFailed", str(exc), retriable=False)
            return self._record(self._undelivered(target, event, base, error, attempts=0, condition=None))
        base = replace(base, input=json.loads(text))
        send: Callable[[], Delivery]
        if target.arn.startswith("arn:aws:states:") and ":stateMachine:" in target.arn:
            send = functools.partial(self._start_execution, target, event, text, base)
        elif target.arn.startswith("arn:aws:lambda:"):
            send = functools.partial(self._invoke_function, target, text, base)
        else:
            error = _TargetError(
                "UnsupportedTarget", f"{target.arn} is not a target the offline bus runs", False
            )
            return self._record(self._undelivered(target, event, base, error, attempts=0, condition=None))

        policy = target.target.get("RetryPolicy", {})
        max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_TARGET_RETRIES))
        max_age = int(policy.get("MaximumEventAgeInSeconds", DEFAULT_TARGET_EVENT_AGE))
        attempts, waited = 0, 0.0
        while True:
            attempts += 1
            try:
                return self._record(send())
            except _TargetError as exc:
                error = exc
            except Exception as exc:  # a bug or an unexpected client failure: recorded, never raised
                error = _TargetError(type(exc).__name__, str(exc), retriable=False)
            condition: str | None = None
            if not error.retriable:
                break
            pause = min(2.0 ** (attempts - 1), 300.0)
            if attempts > max_retries:
                condition = "MaximumRetryAttemptsExhausted"
                break
            if waited + pause > max_age:
                condition = "MaximumEventAgeExhausted"
                break
            self._pause(pause)
            waited += pause
        return self._record(
            self._undelivered(target, event, base, error, attempts=attempts, condition=condition)
        )

    def _undelivered(
        self,
        target: RuleTarget,
        event: Mapping[str, Any],
        base: Delivery,
        error: _TargetError,
        *,
        attempts: int,
        condition: str | None,
    ) -> Delivery:
        dead_letters: tuple[str, ...] = ()
        queue = target.target.get("DeadLetterConfig", {}).get("Arn")
        if queue:
            attributes = {
                "RULE_ARN": target.rule_arn,
                "TARGET_ARN": target.arn,
                "ERROR_CODE": error.code,
                "ERROR_MESSAGE": error.message[:256],
                "RETRY_ATTEMPTS": str(max(0, attempts - 1)),
            }
            if condition:
                attributes["EXHAUSTED_RETRY_CONDITION"] = condition
            if self._send_dead_letter(str(queue), json.dumps(dict(event)), attributes):
                dead_letters = (str(queue),)
        return replace(
            base,
            error=str(error),
            failure="delivery",
            attempts=attempts,
            dead_letters=dead_letters,
        )

    def _start_execution(
        self,
        target: RuleTarget,
        event: Mapping[str, Any],
        text: str,
        base: Delivery,
    ) -> Delivery:
        request = {"stateMachineArn": target.arn, "input": text}
        name = self.execution_name(target, event)
        if name:
            request["name"] = name
        try:
            execution_arn = self._stepfunctions.start_execution(**request)["executionArn"]
        except ClientError as exc:
            raise _client_error(exc) from None
        return replace(base, ok=True, result=execution_arn, attempts=1)

    def _invoke_function(self, target: RuleTarget, text: str, base: Delivery) -> Delivery:
        """Lambda's async invocation: accepted once permitted, then the function's own retries."""
        self._check_permission(target)
        try:
            config = self._lambda.get_function_event_invoke_config(FunctionName=target.arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise _client_error(exc) from None
            if not self._function_exists(target.arn):
                raise _TargetError(
                    "ResourceNotFoundException", f"function {target.arn} not found", False
                ) from None
            config = {}
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_FUNCTION_RETRIES))
        max_age = int(config.get("MaximumEventAgeInSeconds", DEFAULT_FUNCTION_EVENT_AGE))
        invocations, waited, error = 0, 0.0, ""
        while True:
            invocations += 1
            try:
                response = self._lambda.invoke(
                    FunctionName=target.arn, InvocationType="RequestResponse", Payload=text.encode()
                )
            except ClientError as exc:
                if invocations == 1:  # Lambda did not accept the event: a delivery failure
                    raise _client_error(exc) from None
                error = str(_client_error(exc))
            else:
                payload = response["Payload"].read()
                body = json.loads(payload) if payload else None
                if not response.get("FunctionError"):
                    return replace(base, ok=True, result=body, attempts=invocations)
                error = (
                    f"{body.get('errorType', 'Error')}: {body.get('errorMessage', '')}"
                    if isinstance(body, dict)
                    else str(body)
                )
            pause = FUNCTION_RETRY_PAUSES[min(invocations, len(FUNCTION_RETRY_PAUSES)) - 1]
            if invocations > max_retries or waited + pause > max_age:
                break
            self._pause(pause)
            waited += pause
        dead_letters = self._function_failed(target.arn, text, error, invocations, config)
        return replace(
            base,
            error=error,
            failure="function",
            attempts=invocations,
            dead_letters=dead_letters,
        )

    def _function_exists(self, function_arn: str) -> bool:
        try:
            self._lambda.get_function_configuration(FunctionName=function_arn)
        except ClientError:
            return False
        return True

    def _check_permission(self, target: RuleTarget) -> None:
        """The function's resource policy must let EventBridge invoke it for this rule (as on AWS)."""
        try:
            policy = json.loads(self._lambda.get_policy(FunctionName=target.arn)["Policy"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise _client_error(exc) from None
            if not self._function_exists(target.arn):
                raise _TargetError(
                    "ResourceNotFoundException", f"function {target.arn} not found", False
                ) from None
            policy = {"Statement": []}
        if not any(_allows(statement, target.rule_arn) for statement in policy.get("Statement", [])):
            raise _TargetError(
                "AccessDeniedException",
                f"no AWS::Lambda::Permission lets {EVENTS_PRINCIPAL} invoke {target.arn} "
                f"for {target.rule_arn}",
                retriable=False,
            )

    def _function_failed(
        self, function_arn: str, text: str, error: str, invocations: int, config: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """The function's dead-letter queue and OnFailure destination (SQS) get the failed event."""
        sent: list[str] = []
        queue = self._function_dead_letters.get(function_arn)
        request_id = str(uuid.uuid4())
        if queue and self._send_dead_letter(
            queue, text, {"RequestID": request_id, "ErrorCode": "200", "ErrorMessage": error[:256]}
        ):
            sent.append(queue)
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            record = {
                "version": "1.0",
                "timestamp": self.now().isoformat(),
                "requestContext": {
                    "requestId": request_id,
                    "functionArn": f"{function_arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": invocations,
                },
                "requestPayload": json.loads(text),
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": error,
            }
            if self._send_dead_letter(str(destination), json.dumps(record), {}):
                sent.append(str(destination))
        return tuple(sent)

    def _send_dead_letter(self, queue_arn: str, body: str, attributes: Mapping[str, str]) -> bool:
        if not queue_arn.startswith("arn:aws:sqs:"):
            self._error(f"dead letter for {queue_arn} not sent: only SQS queues are supported offline")
            return False
        try:
            if self._sqs is None:
                raise RuntimeError("the event bus has no sqs client")
            url = self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
            self._sqs.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={
                    key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
                },
            )
        except Exception as exc:
            self._error(f"dead letter for {queue_arn} not sent: {exc!r}")
            return False
        return True

    def _pause(self, simulated_seconds: float) -> None:
        if self.clock is not None:
            self.clock.sleep(simulated_seconds)

    # --- schedules -----------------------------------------------------------------------------------

    def _schedule_rules(self) -> dict[str, tuple[str, str, str]]:
        """Logical id → (name, arn, ScheduleExpression) of every schedule rule, read back from moto."""
        found = {}
        for logical_id, name in self._rule_names.items():
            rule = self._events.describe_rule(Name=name)
            if rule.get("ScheduleExpression"):
                found[logical_id] = (name, str(rule["Arn"]), str(rule["ScheduleExpression"]))
        return found

    def scheduled_event(self, rule_arn: str, at: datetime | None = None) -> dict[str, Any]:
        """The event EventBridge sends a schedule rule's targets."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": SCHEDULED_EVENT,
            "source": "aws.events",
            "account": ACCOUNT,
            "time": _iso(at or self.now()),
            "region": REGION,
            "resources": [rule_arn],
            "detail": {},
        }

    def fire_schedule(self, rule: str, at: datetime | None = None) -> list[Delivery]:
        """One tick of the schedule rule ``rule`` (logical id or name), now: its targets' deliveries
        (none when the rule is disabled)."""
        for logical_id, (name, arn, _) in self._schedule_rules().items():
            if rule in (logical_id, name):
                if self._events.describe_rule(Name=name).get("State") != "ENABLED":
                    return []
                return self._deliver_to_rule(name, arn, self.scheduled_event(arn, at))
        raise KeyError(f"no schedule rule {rule!r}; the template has {sorted(self._schedule_rules())}")

    @contextmanager
    def schedules(
        self, clock: SimulatedClock | None = None, min_real_period_seconds: float = 0.0
    ) -> Iterator[None]:
        """Fire every ``rate(...)`` rule once per period of simulated time while the block runs — but
        no more often than every ``min_real_period_seconds`` of real time (on a highly compressed clock
        a 15-minute schedule would otherwise fire several times a real second and the process would do
        little else).

        The first tick comes one period after entry. When deliveries fall behind (a period shorter in
        real time than a tick takes), the missed ticks are coalesced into one (``skipped_ticks`` counts
        them) rather than fired in a burst.
        ``UnsupportedScheduleError`` on entry for a cron (or malformed) expression.
        """
        clock = clock or self.clock
        if clock is None:
            raise ValueError("schedules need a simulated clock (the bus's or one given here)")

        def period(expression: str) -> float:
            simulated = schedule_period_seconds(expression)
            real = clock.real_seconds(simulated)
            if 0 < real < min_real_period_seconds:
                return simulated * min_real_period_seconds / real
            return simulated

        schedules = [
            _Schedule(name, arn, period(expression))
            for name, arn, expression in self._schedule_rules().values()
        ]
        if not schedules:
            yield
            return
        start = clock.now()
        with self._background("schedules", functools.partial(self._run_schedules, clock, start, schedules)):
            yield

    def _run_schedules(
        self, clock: SimulatedClock, start: datetime, schedules: Sequence[_Schedule], stop: threading.Event
    ) -> None:
        while not stop.is_set():
            elapsed = (clock.now() - start).total_seconds()
            for schedule in schedules:
                due = int(elapsed // schedule.period)
                if due <= schedule.fired:
                    continue
                if due > schedule.fired + 1:  # behind (a tick took longer than a period): coalesce
                    self._skip(schedule.rule_name, due - schedule.fired - 1)
                schedule.fired = due
                try:
                    if self._events.describe_rule(Name=schedule.rule_name).get("State") == "ENABLED":
                        at = start + timedelta(seconds=due * schedule.period)
                        event = self.scheduled_event(schedule.rule_arn, at)
                        self._deliver_to_rule(schedule.rule_name, schedule.rule_arn, event)
                except Exception as exc:
                    self._error(f"{schedule.rule_name}: schedule tick failed: {exc!r}")
            elapsed = (clock.now() - start).total_seconds()
            next_due = min((schedule.fired + 1) * schedule.period for schedule in schedules) - elapsed
            stop.wait(min(max(clock.real_seconds(next_due), 0.001), _SCHEDULE_POLL_SECONDS))

    # --- execution status changes --------------------------------------------------------------------

    def execution_status_event(
        self, described: Mapping[str, Any], status: str | None = None
    ) -> dict[str, Any]:
        """The "Step Functions Execution Status Change" event of a DescribeExecution response (as of
        ``status``: RUNNING gives the event sent when the execution started)."""
        status = status or str(described["status"])
        running = status == "RUNNING"
        output = None if running else described.get("output")
        detail: dict[str, Any] = {
            "executionArn": described["executionArn"],
            "stateMachineArn": described["stateMachineArn"],
            "name": described.get("name"),
            "status": status,
            "startDate": _epoch_millis(described.get("startDate")),
            "stopDate": None if running else _epoch_millis(described.get("stopDate")),
            "input": described.get("input"),
            "inputDetails": {"included": True},
            "output": output,
            "outputDetails": None if output is None else {"included": True},
        }
        if not running:
            for key in ("error", "cause"):
                if described.get(key) is not None:
                    detail[key] = described[key]
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": EXECUTION_STATUS_CHANGE,
            "source": "aws.states",
            "account": ACCOUNT,
            "time": _iso(self.now()),
            "region": REGION,
            "resources": [described["executionArn"]],
            "detail": detail,
        }

    def emit_execution_status(self, execution_arn: str) -> list[Delivery]:
        """Put the status change event of the execution's current status on the bus, now (a running
        watcher will not emit it again); returns the deliveries."""
        described = self._stepfunctions.describe_execution(executionArn=execution_arn)
        with self._lock:  # RUNNING too: the watcher must not send a stale RUNNING after this
            self._emitted.setdefault(execution_arn, set()).update({"RUNNING", str(described["status"])})
        return self.put_event(self.execution_status_event(described))

    @contextmanager
    def execution_watcher(self, poll_seconds: float = _WATCH_POLL_SECONDS) -> Iterator[None]:
        """Emit each execution's RUNNING and terminal status change events, once each, while the block
        runs (executions of the template's state machines; those already ended on entry are skipped).
        On exit, one last poll emits what happened up to then."""
        for status, execution_arn in self._list_executions():
            with self._lock:
                seen = self._emitted.setdefault(execution_arn, set())
                seen.add("RUNNING")
                seen.add(status)
        with self._background("execution watcher", functools.partial(self._watch, poll_seconds)):
            yield
        try:
            self._poll_executions()
        except Exception as exc:
            self._error(f"execution watcher: last poll failed: {exc!r}")

    def _list_executions(self) -> Iterator[tuple[str, str]]:
        paginator = self._stepfunctions.get_paginator("list_executions")
        for machine_arn in self.deployed.state_machine_arns.values():
            for page in paginator.paginate(stateMachineArn=machine_arn):
                for execution in page["executions"]:
                    yield str(execution["status"]), str(execution["executionArn"])

    def _watch(self, poll_seconds: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._poll_executions()
            except Exception as exc:
                self._error(f"execution watcher: poll failed: {exc!r}")
            stop.wait(poll_seconds)

    def _poll_executions(self) -> None:
        for status, execution_arn in list(self._list_executions()):
            due = self._claim(execution_arn, status)
            if not due:
                continue
            described = self._stepfunctions.describe_execution(executionArn=execution_arn)
            for emitted in due:
                try:
                    self.put_event(self.execution_status_event(described, emitted))
                except Exception as exc:
                    self._error(f"execution watcher: {emitted} of {execution_arn} not delivered: {exc!r}")

    def _claim(self, execution_arn: str, status: str) -> list[str]:
        """The statuses to emit for an execution now seen in ``status`` (RUNNING first, each once)."""
        with self._lock:
            seen = self._emitted.setdefault(execution_arn, set())
            due = [] if "RUNNING" in seen else ["RUNNING"]
            if status in TERMINAL_STATUSES and status not in seen:
                due.append(status)
            seen.update(due)
            return due

    # --- threads -------------------------------------------------------------------------------------

    @contextmanager
    def _background(self, name: str, loop: Callable[[threading.Event], None]) -> Iterator[None]:
        stop = threading.Event()

        def run() -> None:
            try:
                loop(stop)
            except Exception as exc:  # the loops catch per step; this is a last resort
                self._error(f"{name}: stopped by {exc!r}")

        thread = threading.Thread(target=run, name=f"local-event-bus {name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(_JOIN_SECONDS)
            if thread.is_alive():
                self._error(f"{name}: still running {_JOIN_SECONDS} s after stop")


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows(statement: Mapping[str, Any], rule_arn: str) -> bool:
    """Whether a resource-policy statement lets EventBridge invoke the function for ``rule_arn``."""
    if statement.get("Effect") != "Allow":
        return False
    if not any(
        action in ("lambda:InvokeFunction", "lambda:*", "*") for action in _listify(statement.get("Action"))
    ):
        return False
    principal = statement.get("Principal")
    services = _listify(principal.get("Service", [])) if isinstance(principal, Mapping) else [principal]
    if not any(service in (EVENTS_PRINCIPAL, "*") for service in services):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, expected in conditions.items():
            if key.lower() == "aws:sourcearn":
                patterns = _listify(expected)
                if operator.startswith("ArnLike") or operator.startswith("StringLike"):
                    matched = any(fnmatch.fnmatchcase(rule_arn, str(pattern)) for pattern in patterns)
                else:
                    matched = rule_arn in patterns
                if not matched:
                    return False
            elif key.lower() == "aws:sourceaccount" and ACCOUNT not in _listify(expected):
                return False
    return True
