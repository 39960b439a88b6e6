"""User-facing values: runtime statuses, status reports, purge results, retry options, entity IDs, quarantined
messages; pure.

Orchestration statuses live in ``_orchestration_status``, entity values in ``_entity_values``; this module
re-exports them, so ``durable_storage.models.X`` is the one public path for each.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from durable_storage._durable_http import (
    DurableHttpRequest,
    DurableHttpResponse,
    ManagedIdentityTokenSource,
    TokenSource,
)
from durable_storage._entity_values import (
    CleanEntityStorageResult,
    EntityId,
    EntityMetadata,
    EntityStateResponse,
    entity_id_of,  # noqa: F401 - helpers, not SDK names: still importable from here, not in __all__
    is_entity_id,  # noqa: F401
)
from durable_storage._orchestration_status import (
    DurableOrchestrationStatus,
    OrchestrationRuntimeStatus,
    PurgeHistoryResult,
)

__all__ = [
    "CleanEntityStorageResult",
    "DurableHttpRequest",
    "DurableHttpResponse",
    "DurableOrchestrationStatus",
    "EntityId",
    "EntityMetadata",
    "EntityStateResponse",
    "ManagedIdentityTokenSource",
    "OrchestrationRuntimeStatus",
    "PurgeHistoryResult",
    "QuarantinedMessage",
    "RetryOptions",
    "TokenSource",
]


class RetryOptions:
    """How an activity or sub-orchestration is retried, as in azure-functions-durable.

    After attempt ``k`` (0-based) fails, the next one starts ``first_retry_interval * backoff_coefficient**k``
    later (capped at ``max_retry_interval``), until ``max_number_of_attempts`` attempts have failed or
    ``retry_timeout`` has passed since the first attempt (DTFx ``RetryInterceptor``).

    Args:
        first_retry_interval_in_milliseconds: the delay before the first retry; must be > 0.
        max_number_of_attempts: attempts in all, including the first; must be >= 1.
        backoff_coefficient: growth of the delay per attempt; >= 1 (keyword-only extension).
        max_retry_interval_in_milliseconds: the cap on one delay (keyword-only extension).
        retry_timeout_in_milliseconds: no retry starts after this long since the first attempt (extension).
    """

    def __init__(
        self,
        first_retry_interval_in_milliseconds: int,
        max_number_of_attempts: int,
        *,
        backoff_coefficient: float = 1.0,
        max_retry_interval_in_milliseconds: int | None = None,
        retry_timeout_in_milliseconds: int | None = None,
    ) -> None:
        if not _positive_number(first_retry_interval_in_milliseconds):
            raise ValueError(
                f"first_retry_interval_in_milliseconds {first_retry_interval_in_milliseconds!r} is invalid: "
                "must be a number greater than 0"
            )
        if isinstance(max_number_of_attempts, bool) or not isinstance(max_number_of_attempts, int):
            raise ValueError(f"max_number_of_attempts {max_number_of_attempts!r} is invalid: must be an integer >= 1")
        if max_number_of_attempts < 1:
            raise ValueError(f"max_number_of_attempts {max_number_of_attempts!r} is invalid: must be an integer >= 1")
        if not _positive_number(backoff_coefficient) or backoff_coefficient < 1:
            raise ValueError(f"backoff_coefficient {backoff_coefficient!r} is invalid: must be a number >= 1")
        for name, value in (
            ("max_retry_interval_in_milliseconds", max_retry_interval_in_milliseconds),
            ("retry_timeout_in_milliseconds", retry_timeout_in_milliseconds),
        ):
            if value is not None and not _positive_number(value):
                raise ValueError(f"{name} {value!r} is invalid: must be a number greater than 0, or None")
        self._first_retry_interval_in_milliseconds = first_retry_interval_in_milliseconds
        self._max_number_of_attempts = max_number_of_attempts
        self.backoff_coefficient = backoff_coefficient
        self.max_retry_interval_in_milliseconds = max_retry_interval_in_milliseconds
        self.retry_timeout_in_milliseconds = retry_timeout_in_milliseconds

    @property
    def first_retry_interval_in_milliseconds(self) -> int:
        """The delay before the first retry."""
        return self._first_retry_interval_in_milliseconds

    @property
    def max_number_of_attempts(self) -> int:
        """Attempts in all, the first one included."""
        return self._max_number_of_attempts

    def delay_in_milliseconds(self, attempt: int) -> float:
        """The delay after failed attempt ``attempt`` (0-based) before the next one."""
        delay = float(self.first_retry_interval_in_milliseconds) * self.backoff_coefficient**attempt
        cap = self.max_retry_interval_in_milliseconds
        return min(delay, float(cap)) if cap is not None else delay

    def to_json(self) -> dict[str, int]:
        """The azure-functions-durable JSON form."""
        return {
            "firstRetryIntervalInMilliseconds": self.first_retry_interval_in_milliseconds,
            "maxNumberOfAttempts": self.max_number_of_attempts,
        }

    def __repr__(self) -> str:
        return (
            f"RetryOptions({self.first_retry_interval_in_milliseconds}, {self.max_number_of_attempts}, "
            f"backoff_coefficient={self.backoff_coefficient})"
        )


def retry_options_of(value: object) -> RetryOptions:
    """``value`` as our RetryOptions: ours, or azure-functions-durable's (read through its two properties).

    The SDK's object has only the first interval and the attempts; the Functions host builds .NET RetryOptions
    from those two, with a backoff coefficient of 1, and so do we.

    Raises:
        ValueError: anything else, or values RetryOptions refuses; the message names them.
    """
    if isinstance(value, RetryOptions):
        return value
    first = getattr(value, "first_retry_interval_in_milliseconds", None)
    attempts = getattr(value, "max_number_of_attempts", None)
    if first is None or attempts is None:
        raise ValueError(
            f"retry_options of type {type(value).__name__} is invalid: must be a RetryOptions (durable_storage's "
            "or azure.durable_functions')"
        )
    return RetryOptions(first, attempts)


def _positive_number(value: object) -> bool:
    # Finite too: an infinite retry interval would schedule a timer no datetime can hold.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedMessage:
    """A message in quarantine.

    Attributes:
        queue: the queue it was taken from (and is re-queued to).
        message_id: its queue message ID.
        reason: why it was quarantined.
        instance_id: the orchestration or entity it was for, when it could be read.
        dequeue_count: how often it had been received.
        inserted_on: when it was first enqueued.
        quarantined_at: when it was quarantined.
        body: the raw queue message text.
    """

    queue: str
    message_id: str
    reason: str
    instance_id: str | None
    dequeue_count: int
    inserted_on: datetime | None
    quarantined_at: datetime | None
    body: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-serializable view (times in ISO 8601)."""
        return {
            "queue": self.queue,
            "message_id": self.message_id,
            "reason": self.reason,
            "instance_id": self.instance_id,
            "dequeue_count": self.dequeue_count,
            "inserted_on": self.inserted_on.isoformat() if self.inserted_on else None,
            "quarantined_at": self.quarantined_at.isoformat() if self.quarantined_at else None,
            "body_length": len(self.body),
        }


# What azure-functions-durable's `models` package also exports, so that `from ...models import X` ports. Loaded on
# first use: these live in the client, the replay engine and the entity package, which import this module.
_ELSEWHERE = {
    "DurableOrchestrationBindings": "durable_storage._host_payloads",
    "OrchestratorState": "durable_storage._host_payloads",
    "DurableOrchestrationClient": "durable_storage.client",
    "DurableOrchestrationContext": "durable_storage.replay",
    "DurableEntityContext": "durable_storage.entities",
    "TaskBase": "durable_storage.replay._tasks",
}


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
