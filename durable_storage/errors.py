"""The one exception tree of durable_storage.

::

    DurableStorageError
    ├── ConfigurationError (ValueError)        a bad setting or connection string, caught before any I/O
    │   ├── InvalidNameError                   a task hub name or instance ID that breaks a naming rule
    │   └── TaskHubMismatchError               the hub exists with another partition count
    ├── MessageFormatError (ValueError)        a queue message or table row we must not (or cannot) decode
    ├── InstanceNotFoundError (LookupError)    a client operation names an instance the task hub does not have
    ├── InstanceStateError                     the instance's status does not allow the operation (raise to a
    │   │                                      Completed one, rewind of a Running one)
    │   └── InstanceAlreadyExistsError         start_new with the ID of a Pending, Running or Suspended instance
    ├── TaskFailedError                        an activity, sub-orchestration or entity operation failed
    ├── NonDeterminismError                    the code no longer does what the history recorded
    ├── ReplayDeadlineError (TimeoutError)     orchestrator or entity code ran past the worker's replay deadline
    └── StorageError                           a storage request failed; carries status, code, request id, resource
        ├── ConflictError                      409 / 412: a conditional write lost (stale ETag, row exists)
        ├── ResourceNotFoundError              404
        ├── TransientStorageError              408 / 429 / 5xx / connection failures: worth a retry
        └── StorageAuthenticationError         401 / 403: wrong key, expired SAS, missing role

Messages name the value and the rule that it broke. No error ever carries an account key, a SAS signature, a
token or the server's "string to sign": the storage layer builds these from status, error code, request id and
resource name only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DurableStorageError",
    "InstanceAlreadyExistsError",
    "InstanceNotFoundError",
    "InstanceStateError",
    "InvalidNameError",
    "MessageFormatError",
    "NonDeterminismError",
    "ReplayDeadlineError",
    "ResourceNotFoundError",
    "StorageAuthenticationError",
    "StorageError",
    "TaskFailedError",
    "TaskHubMismatchError",
    "TransientStorageError",
]


class DurableStorageError(Exception):
    """Base class of every error raised by durable_storage."""


class ConfigurationError(DurableStorageError, ValueError):
    """A setting, connection string or argument is invalid; nothing has been written."""


class InvalidNameError(ConfigurationError):
    """A task hub name, instance ID or resource name breaks a naming rule."""


class TaskHubMismatchError(ConfigurationError):
    """The task hub already exists with a layout (such as its partition count) other than the one asked for."""


class MessageFormatError(DurableStorageError, ValueError):
    """A queue message, blob or table row cannot be decoded (malformed JSON, unknown ``$type``, corrupt row)."""


class InstanceNotFoundError(DurableStorageError, LookupError):
    """A client operation names an instance ID that the task hub has no Instances row for.

    Attributes:
        instance_id: the ID that was looked up.
    """

    def __init__(self, message: str, *, instance_id: str) -> None:
        super().__init__(message)
        self.instance_id = instance_id


class InstanceStateError(DurableStorageError):
    """The instance exists, but its runtime status does not allow the operation.

    Attributes:
        instance_id: the instance.
        runtime_status: the status it had (an ``OrchestrationRuntimeStatus``), or None when the stored name is unknown.
    """

    def __init__(self, message: str, *, instance_id: str, runtime_status: Any = None) -> None:
        super().__init__(message)
        self.instance_id = instance_id
        self.runtime_status = runtime_status


class InstanceAlreadyExistsError(InstanceStateError):
    """``start_new`` named an instance that is still Pending, Running, Suspended or ContinuedAsNew.

    The .NET ``OrchestrationAlreadyExistsException``: only instances in a terminal status (Completed, Failed,
    Terminated, Canceled) are re-created with a new execution.
    """


class StorageError(DurableStorageError):
    """A request to Azure Storage failed.

    Attributes:
        status: the HTTP status code, or None when no response arrived (connection failure).
        error_code: the storage error code (``ConditionNotMet``, ``QueueNotFound`` ...), or None.
        request_id: the ``x-ms-request-id`` of the failed request, for support cases, or None.
        resource: what was being accessed, e.g. ``queue myhub-control-00`` or ``table MyHubHistory``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.request_id = request_id
        self.resource = resource

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, status={self.status!r}, error_code={self.error_code!r}, "
            f"request_id={self.request_id!r}, resource={self.resource!r})"
        )


class ConflictError(StorageError):
    """A conditional write lost: the ETag was stale (412) or the entity already existed (409)."""


class ResourceNotFoundError(StorageError):
    """The queue, table, blob, message or entity does not exist (404)."""


class TransientStorageError(StorageError):
    """The service was busy or unreachable (408, 429, 5xx, connection reset): the request may be retried.

    Attributes:
        may_have_been_applied: False only when the service surely did nothing (no connection, 429, 503). A
            conditional write that failed with True here must be re-read, never blindly resent.
    """

    def __init__(self, message: str, *, may_have_been_applied: bool = True, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.may_have_been_applied = may_have_been_applied


class StorageAuthenticationError(StorageError):
    """The account rejected the credential (401/403): a wrong key, an expired SAS or a missing role."""


class TaskFailedError(DurableStorageError):
    """An activity, sub-orchestration or entity operation failed; raised into the orchestrator at its ``yield``.

    ``str()`` keeps Durable Functions' format ``"{reason} \n {details}"`` so existing ``except`` code that parses
    the message still works.

    Attributes:
        reason: the failure's reason (for activities: the error message).
        details: more about it (for activities: the stack trace), or None.
        error_type: the failing exception's type name, or None when unknown.
    """

    def __init__(self, reason: str | None, details: str | None = None, *, error_type: str | None = None) -> None:
        super().__init__(f"{reason} \n {details}")
        self.reason = reason
        self.details = details
        self.error_type = error_type


class ReplayDeadlineError(DurableStorageError, TimeoutError):
    """Orchestrator or entity code did not return within ``WorkerOptions.replay_deadline``.

    It looped or blocked (``time.sleep``, ``input()``, a lock): the instance fails with this error's type and message
    (an entity's operations fail instead), and the worker goes on with the others on a fresh replay thread.
    """


class NonDeterminismError(DurableStorageError):
    """The orchestrator's code did something other than what its history recorded (it changed mid-flight).

    The message starts with "Non-Deterministic workflow detected" and names the sequence number, what history
    recorded and what the code did now.
    """
