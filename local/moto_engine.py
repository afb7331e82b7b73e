"""Make moto's Step Functions engine run our state machines in-process, fast and without Docker.

moto 5.2.5 executes ASL definitions when its ``stepfunctions.execute_state_machine`` setting is on,
but out of the box it (1) runs Lambda tasks in Docker, (2) really sleeps in ``Wait`` states and
between ``Retry`` attempts, (3) cannot run ``states:startExecution.sync:2`` (its generic request and
response normalisation is empty; it also polls the child every 0.5 s and leaves datetimes in the
output) and (4) names every unnamed execution ``None``. ``in_process_engine`` patches exactly those
private hooks for the duration of a ``with`` block, which is why the moto version is pinned.
Finish (poll) every execution before leaving the block: a worker thread still running afterwards
meets unpatched moto.

Server mode: the engine calls other services at ``http://localhost:$MOTO_PORT``, so a server must
be told its own port and have execution enabled; ``local.moto_server.threaded_moto_server`` does both.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Final, Literal
from unittest import mock

import botocore.session
from botocore import xform_name
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel

SUPPORTED_MOTO_VERSION: Final = "5.2.5"
_SYNC_POLL_SECONDS: Final = 0.01  # moto polls a .sync child every 0.5 s of real time


class UnsupportedMotoVersionError(RuntimeError):
    """The installed moto is not the version whose private hooks these patches target."""


def assert_supported_moto_version() -> None:
    """Fail loudly rather than patch private moto internals that may have moved."""
    import moto  # noqa: PLC0415 - read at call time so the check sees the live version

    installed = getattr(moto, "__version__", "unknown")
    if installed != SUPPORTED_MOTO_VERSION:
        raise UnsupportedMotoVersionError(
            f"local.moto_engine patches private moto {SUPPORTED_MOTO_VERSION} internals, but moto "
            f"{installed} is installed: pin moto=={SUPPORTED_MOTO_VERSION} or re-verify the patches."
        )


@dataclass(frozen=True)
class InvokedFunction:
    """The moto Lambda function being invoked, as configured (e.g. from the CloudFormation template)."""

    name: str
    arn: str
    handler: str | None
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Invocation:
    """One dispatched Lambda invocation and its outcome (``error`` is None when it succeeded)."""

    function: InvokedFunction
    event: Any
    result: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class RecordedDelay:
    """A delay the engine asked for and did not wait: a ``Wait`` state or the pause before a retry."""

    kind: Literal["wait", "retry"]
    state: str | None
    execution_arn: str | None
    seconds: float


Dispatcher = Callable[[InvokedFunction, Any], object]
"""Runs a function for an event and returns its JSON-serialisable result; raising = function error."""


@dataclass
class EngineHandle:
    """What a test can inspect after running executions under ``in_process_engine``."""

    dispatcher: Dispatcher
    sleeper: Callable[[float], None] | None = None
    """Called with each delay's seconds (e.g. a compressed clock's sleep); None: nothing waits."""
    delays: list[RecordedDelay] = field(default_factory=list)  # list.append is atomic: no lock
    invocations: list[Invocation] = field(default_factory=list)
    timeout_scale: float | None = None
    """Simulated seconds per real second for task timeouts (``TimeoutSeconds``): a day-long wait for a
    task token then times out in a fraction of a second. None: timeouts run in real seconds."""
    execution_timeout_scale: float | None = None
    """The same for a whole execution's ``TimeoutSeconds`` (an execution that times out, TIMED_OUT)."""

    @property
    def waits(self) -> list[RecordedDelay]:
        return [delay for delay in self.delays if delay.kind == "wait"]

    @property
    def retries(self) -> list[RecordedDelay]:
        return [delay for delay in self.delays if delay.kind == "retry"]


_active: list[EngineHandle] = []  # innermost last; patches stay installed while non-empty
_patches = ExitStack()
_install_lock = threading.RLock()
_retrier = threading.local()  # the Environment of the retrier evaluating on this thread


def _state_and_execution(env: Any) -> tuple[str | None, str | None]:
    try:
        context = env.states.context_object.context_object_data
        return context["State"]["Name"], context["Execution"]["Id"]
    except (AttributeError, KeyError, TypeError):
        return None, None


def _error_payload(exc: BaseException, error_type: str | None = None) -> str:
    """The body AWS's Python runtime returns for an unhandled exception (key order as on AWS)."""
    frames = traceback.extract_tb(exc.__traceback__.tb_next if exc.__traceback__ else None)
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": error_type or type(exc).__name__,
            "requestId": str(uuid.uuid4()),
            "stackTrace": traceback.format_list(frames),
        }
    )


def _invoke_in_process(function: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replaces ``LambdaFunction._invoke_lambda`` (Docker): returns ``(payload, errored, logs)``."""
    invoked = InvokedFunction(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler,
        environment=dict(function.environment_vars or {}),
    )
    handle = _active[-1]
    event = {} if event is None else event
    try:
        result = handle.dispatcher(invoked, event)
    except Exception as exc:
        handle.invocations.append(Invocation(invoked, event, error=exc))
        return _error_payload(exc, getattr(exc, "lambda_error_type", None)), True, ""
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        handle.invocations.append(Invocation(invoked, event, result=result, error=exc))
        return _error_payload(exc, "Runtime.MarshalError"), True, ""
    handle.invocations.append(Invocation(invoked, event, result=result))
    return payload, False, ""


class LambdaRuntimeFault(Exception):
    """Raised by a dispatcher to make the invocation fail the way the Lambda service does, e.g.
    ``LambdaRuntimeFault("Sandbox.Timedout")`` for a function that ran out of time."""

    def __init__(self, lambda_error_type: str, message: str = "") -> None:
        super().__init__(message or lambda_error_type)
        self.lambda_error_type = lambda_error_type


def _scaled_timeout_seconds(timeout: Any, env: Any) -> float:  # noqa: ARG001 - moto passes env=
    """Replaces ``TimeoutSeconds._eval_seconds``: a task's timeout in compressed time when asked."""
    seconds = float(timeout.timeout_seconds)
    scale = _active[-1].timeout_scale if _active else None
    if scale and not timeout.is_default_value():
        return max(seconds / scale, 0.001)
    return seconds


def _program_eval_with_scaled_timeout(program: Any, env: Any) -> None:
    """Replaces ``Program.eval`` (same logic): the execution's timeout in compressed time when asked."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent  # noqa: PLC0415
    from moto.stepfunctions.parser.utils import TMP_THREADS  # noqa: PLC0415

    timeout = program.timeout_seconds.timeout_seconds if program.timeout_seconds else None
    scale = _active[-1].execution_timeout_scale if _active else None
    if timeout is not None and scale:
        timeout = timeout / scale
    env.next_state_name = program.start_at.start_at_name
    worker = threading.Thread(target=EvalComponent.eval, args=(program, env), daemon=True)
    TMP_THREADS.append(worker)
    worker.start()
    worker.join(timeout=timeout)
    if worker.is_alive():
        env.set_timed_out()


def _stop_interrupts_callbacks(original: Callable[..., None]) -> Callable[..., None]:
    """moto's StopExecution marks the program stopped but leaves a task that waits for a task token
    blocked until its timeout (a day), so the execution would stay RUNNING; AWS ends it at once. Wake
    every callback wait of the execution after stopping it."""

    @functools.wraps(original)
    def stop(execution: Any, *args: Any, **kwargs: Any) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus  # noqa: PLC0415

        original(execution, *args, **kwargs)
        execution.labelchain_aborted = True  # the woken task's error must not turn ABORTED into FAILED
        execution.exec_status = ExecutionStatus.ABORTED
        worker = getattr(execution, "exec_worker", None)
        pool = getattr(getattr(getattr(worker, "env", None), "callback_pool_manager", None), "_pool", {})
        for endpoint in list(pool.values()):
            endpoint.interrupt_all()

    return stop


def _aborted_stays_aborted(original: Callable[[Any], None]) -> Callable[[Any], None]:
    """An execution stopped through the API ends ABORTED, whatever its woken task did afterwards."""

    @functools.wraps(original)
    def reflect(communication: Any) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus  # noqa: PLC0415

        original(communication)
        if getattr(communication.execution, "labelchain_aborted", False):
            communication.execution.exec_status = ExecutionStatus.ABORTED
            communication.execution.error = None
            communication.execution.cause = None

    return reflect


_MOTO_EVENT_TARGETS = frozenset({"logs", "sqs", "events"})
"""Target services moto's EventBridge delivers to itself; SNS is added below, Lambda and Step Functions
targets are the offline bus's (``local/event_bus.py``), never moto's."""


def _send_to_targets_with_sns(original: Callable[..., None]) -> Callable[..., None]:
    """moto's ``Rule.send_to_targets`` raises NotImplementedError for an SNS target (so a handler's
    PutEvents would fail where AWS delivers asynchronously): publish to moto's SNS instead, and leave
    targets moto cannot serve to the offline bus."""

    @functools.wraps(original)
    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        from moto.sns.models import sns_backends  # noqa: PLC0415
        from moto.utilities.arns import parse_arn  # noqa: PLC0415

        if not rule.event_pattern.matches_event(original_event):
            return
        for target in rule.targets:
            arn = parse_arn(target["Arn"])
            if arn.service == "sns":
                sns_backends[arn.account][arn.region].publish(
                    message=json.dumps(original_event), arn=target["Arn"]
                )
        served = [
            target for target in rule.targets if parse_arn(target["Arn"]).service in _MOTO_EVENT_TARGETS
        ]
        if served:
            view = copy.copy(rule)
            view.targets = served
            original(view, original_event, transform_input)

    return send_to_targets


def _closed_tasks_refuse_tokens(original: Callable[..., bool]) -> Callable[..., bool]:
    """moto accepts SendTaskSuccess for a task that already got its outcome (while the execution runs);
    AWS answers TaskTimedOut ("the task associated with the token has already been closed")."""

    @functools.wraps(original)
    def notify(manager: Any, callback_id: str, outcome: Any) -> bool:

        endpoint = manager.get(callback_id)
        if endpoint is not None and endpoint.get_outcome() is not None:
            raise _aws_error("TaskTimedOut", "the task associated with the token has already been closed")
        return bool(original(manager, callback_id, outcome))

    return notify


def _aws_error(code: str, message: str) -> Exception:
    """An error moto's responses render as AWS does (HTTP 400 with ``code``), server mode included."""
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    return JsonRESTError(code, message)


def _task_token_errors_as_aws(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's parser raises its own InvalidToken / TaskDoesNotExist / TaskTimedOut, which moto's responses
    turn into HTTP 500; AWS answers 400 with that error code (what LabelChain's adapter handles)."""

    @functools.wraps(original)
    def send(backend: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.stepfunctions.parser.api import (  # noqa: PLC0415
            InvalidToken,
            TaskDoesNotExist,
            TaskTimedOut,
        )

        try:
            return original(backend, *args, **kwargs)
        except (InvalidToken, TaskDoesNotExist, TaskTimedOut) as exc:
            raise _aws_error(type(exc).__name__, str(exc) or type(exc).__name__) from exc

    return send


def _fresh_token_per_retry(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Give every retry of a ``waitForTaskToken`` task a new task token, as Step Functions does.

    moto 5.2.5 makes the token (and its callback endpoint) once per state entry and retries through
    ``_evaluate_with_timeout``, so a retry would reuse the endpoint the timed-out attempt interrupted:
    every re-arm of WaitForJob after the first would time out at once and the execution fail.
    """

    @functools.wraps(original)
    def evaluate(task: Any, env: Any) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (  # noqa: PLC0415
            ResourceCondition,
        )

        context = env.states.context_object
        waits_for_token = (
            task._is_integration_pattern()
            and ResourceCondition.WaitForTaskToken in task._supported_integration_patterns
        )
        if waits_for_token and context.context_object_data["State"].get("RetryCount", 0) > 0:
            env.callback_pool_manager.add(context.update_task_token())
        original(task, env)

    return evaluate


def _record_delay(delay: RecordedDelay) -> None:
    handle = _active[-1]
    handle.delays.append(delay)
    if handle.sleeper is not None:
        handle.sleeper(delay.seconds)


def _skip_wait(_wait_function: Any, env: Any, wait_seconds: int) -> None:
    """Replaces ``WaitFunction._wait_interval``, which blocks on an Event for the full wait."""
    _record_delay(RecordedDelay("wait", *_state_and_execution(env), seconds=wait_seconds))


def _skip_retry_sleep(seconds: float) -> None:
    """``time.sleep`` as seen by ``retrier_decl`` only (its one use of ``time``): record, return."""
    env = getattr(_retrier, "env", None)
    _record_delay(RecordedDelay("retry", *_state_and_execution(env), seconds=seconds))


def _retrier_eval_body(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Remembers the retrier's Environment so ``_skip_retry_sleep`` can say which state retries, and
    never retries in an execution that has been stopped (moto would start the task again)."""

    @functools.wraps(original)
    def eval_body(retrier: Any, env: Any) -> None:
        from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import (  # noqa: PLC0415
            RetrierOutcome,
        )

        _retrier.env = env
        try:
            original(retrier, env)
        finally:
            _retrier.env = None
        if not env.is_running() and env.stack and env.stack[-1] == RetrierOutcome.Executed:
            env.stack[-1] = RetrierOutcome.Failed

    return eval_body


def _named_start_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto names an unnamed execution ``None``, so the second one collides; AWS uses a UUID."""

    @functools.wraps(original)
    def start_execution(backend: Any, arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(backend, arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start_execution


@functools.cache
def _operation_model(service_name: str, action: str) -> OperationModel | None:
    """The botocore operation whose snake_case name is ``action`` (e.g. ``start_execution``)."""
    try:  # a fresh session per (rare) miss: botocore sessions are not shared across threads
        service = botocore.session.get_session().get_service_model(service_name)
    except UnknownServiceError:
        return None
    for operation_name in service.operation_names:
        if xform_name(operation_name) == action:
            return service.operation_model(operation_name)
    return None


def _resolve_operation(task: Any, service_name: str | None, action: str | None) -> OperationModel | None:
    return _operation_model(
        task._get_boto_service_name(boto_service_name=service_name),
        task._get_boto_service_action(service_action_name=action),
    )


def _normalise_parameters(
    task: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """ASL's PascalCase parameters (``StateMachineArn``) -> botocore's names (``stateMachineArn``)."""
    operation = _resolve_operation(task, boto_service_name, service_action_name)
    if operation is not None and operation.input_shape is not None:
        task._to_boto_request(parameters, operation.input_shape)


def _normalise_response(
    task: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    """botocore's response names (``executionArn``) -> the PascalCase keys AWS gives (``ExecutionArn``).

    botocore's datetimes become epoch milliseconds, as AWS's optimised integrations return them
    (``StartDate: 1700000000000``); left as datetimes, moto's DescribeExecution cannot encode the output.
    """
    operation = _resolve_operation(task, boto_service_name, service_action_name)
    if operation is not None and operation.output_shape is not None:
        task._from_boto_response(response, operation.output_shape)
    if isinstance(response, dict):
        response.update(_epoch_millis(response))


def _epoch_millis(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: _epoch_millis(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_epoch_millis(item) for item in value]
    return value


def _install() -> None:
    from moto.awslambda.models import LambdaFunction  # noqa: PLC0415 - moto is imported lazily
    from moto.events.models import Rule  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (  # noqa: PLC0415
        TimeoutSeconds,
    )
    from moto.stepfunctions.parser.asl.component.program.program import Program  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service,
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (  # noqa: PLC0415
        wait_function,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager  # noqa: PLC0415
    from moto.stepfunctions.parser.backend.execution import (  # noqa: PLC0415
        BaseExecutionWorkerCommunication,
        Execution,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    task_service = state_task_service.StateTaskService
    retrier = retrier_decl.RetrierDecl
    backend = StepFunctionsParserBackend
    for target, attribute, replacement in (
        (LambdaFunction, "_invoke_lambda", _invoke_in_process),
        (wait_function.WaitFunction, "_wait_interval", _skip_wait),
        (retrier_decl, "time", SimpleNamespace(sleep=_skip_retry_sleep)),
        (retrier, "_eval_body", _retrier_eval_body(retrier._eval_body)),
        (state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", _SYNC_POLL_SECONDS),
        (task_service, "_normalise_parameters", _normalise_parameters),
        (task_service, "_normalise_response", _normalise_response),
        (backend, "start_execution", _named_start_execution(backend.start_execution)),
        (TimeoutSeconds, "_eval_seconds", _scaled_timeout_seconds),
        (Program, "eval", _program_eval_with_scaled_timeout),
        (Execution, "stop", _stop_interrupts_callbacks(Execution.stop)),
        (Rule, "send_to_targets", _send_to_targets_with_sns(Rule.send_to_targets)),
        (CallbackPoolManager, "notify", _closed_tasks_refuse_tokens(CallbackPoolManager.notify)),
        (backend, "send_task_success", _task_token_errors_as_aws(backend.send_task_success)),
        (
            state_task_service_callback.StateTaskServiceCallback,
            "_evaluate_with_timeout",
            _fresh_token_per_retry(
                state_task_service_callback.StateTaskServiceCallback._evaluate_with_timeout
            ),
        ),
        (
            BaseExecutionWorkerCommunication,
            "_reflect_execution_status",
            _aborted_stays_aborted(BaseExecutionWorkerCommunication._reflect_execution_status),
        ),
    ):
        _patches.enter_context(mock.patch.object(target, attribute, replacement))


@contextmanager
def in_process_engine(
    dispatcher: Dispatcher,
    sleeper: Callable[[float], None] | None = None,
    timeout_scale: float | None = None,
) -> Iterator[EngineHandle]:
    """Patch moto so Lambda tasks call ``dispatcher`` in-process; undo on exit.

    Waits and retry pauses are recorded and, by default, skipped; with ``sleeper`` (e.g. a
    compressed clock's ``sleep``) each is passed to it instead, so the offline stack waits in
    simulated time. Nested use is allowed: the innermost handle receives invocations and delays.
    Use it with ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`` or a server.
    """
    assert_supported_moto_version()
    handle = EngineHandle(dispatcher, sleeper, timeout_scale=timeout_scale)
    with _install_lock:
        if not _active:
            _install()
        _active.append(handle)
    try:
        yield handle
    finally:
        with _install_lock:
            _active.remove(handle)
            if not _active:
                _patches.close()
