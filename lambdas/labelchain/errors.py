"""Domain errors.

A Lambda that raises one of these reports its class name as ``errorType``; Step Functions uses that
name as the state's error, so the state machine retries and catches by these names. Renaming a class
is therefore an interface change: ``infra/`` reads the names from here.
"""

from __future__ import annotations


class LabelChainError(Exception):
    """Base of every error LabelChain raises on purpose."""


class InvalidJobInput(LabelChainError):
    """The execution input (or a file it points at) breaks a rule; nothing was created or spent."""


class ManifestNotFound(InvalidJobInput):
    """The input manifest does not exist or cannot be read."""


class ModelNotFound(LabelChainError):
    """``initial_model`` names a job or project pointer that has no usable model."""


class IncompatibleModel(LabelChainError):
    """The initial model was trained for another task type, label set or label attribute."""


class JobNameConflict(LabelChainError):
    """The deterministic job name is taken by a job this execution did not start."""


class LabelingJobNotFound(LabelChainError):
    """SageMaker does not know the labeling job (DescribeLabelingJob → ResourceNotFound)."""


class LabelingJobRejected(LabelChainError):
    """SageMaker refused CreateLabelingJob as invalid (ValidationException): fix the input or setup."""


class LabelingJobQuotaExceeded(LabelChainError):
    """SageMaker refused CreateLabelingJob with ResourceLimitExceeded (the account's concurrent-job quota).

    The job is recorded as ``Queued`` and the state machine retries CreateJob with a long backoff (up to
    ``create_queue_max_hours``): a running job ending frees a slot.
    """


class BudgetExceeded(LabelChainError):
    """The job's running cost reached its budget: the reconciler stopped it (the execution ends with this
    error; the job's record keeps the cost of what was labeled)."""


class JobStillRunning(LabelChainError):
    """Finalize was asked for a job that has not ended yet (its final counters are not known)."""


class TransientServiceError(LabelChainError):
    """Throttling or a 5xx from an AWS service: the state machine retries these with backoff."""


class ConfigurationError(LabelChainError):
    """The deployment is misconfigured (environment, region outside the ARN table)."""


class DuplicateTrigger(LabelChainError):
    """A manifest upload already started another execution (EventBridge delivered it twice)."""


class OutputLayoutError(LabelChainError):
    """The job's S3 output does not have the documented layout or disagrees with its counters."""


class InternalError(LabelChainError):
    """Something failed that LabelChain did not expect (a bug or an unplanned AWS answer).

    The execution's error and cause show only this name and a correlation id (the Lambda request id);
    the exception and its traceback are in the function's log under that id. Not retried.
    """


RETRYABLE_ERRORS: tuple[type[LabelChainError], ...] = (TransientServiceError,)
"""Errors the state machine retries with backoff; every other domain error fails fast (the quota error
has its own, longer retry)."""
