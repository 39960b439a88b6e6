"""Explicit retry policies, one per kind of storage operation (docs/architecture.md, "Retries").

The SDK's own retries are switched off (``retry_total=0`` on every client): its defaults wait up to 15 s per try
and resend conditional writes blindly. Here tenacity decides, per kind of operation, whether an error is worth
another try, and sleeps with capped exponential back-off and jitter in between.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from durable_storage._settings import check_int, check_seconds
from durable_storage.errors import TransientStorageError

__all__ = ["FAST_RETRY", "OperationKind", "StorageRetryPolicy"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class OperationKind(enum.Enum):
    """How safe an operation is to resend after a failure whose outcome is unknown."""

    IDEMPOTENT = "idempotent"
    """Safe to resend: reads, creates-if-missing, upserts, deletes whose 404 means done, and queue sends (a
    duplicate message is tolerated by every consumer: delivery is at least once)."""
    CONDITIONAL = "conditional"
    """Guarded by an ETag, insert-only, or a pop receipt: resent only when the service surely did nothing."""


def _worth_retrying(kind: OperationKind) -> Callable[[BaseException], bool]:
    def decide(error: BaseException) -> bool:
        if not isinstance(error, TransientStorageError):
            return False
        # A conditional write that may have landed would come back 412/409 and look like a lost race:
        # let the caller re-read instead (reliability.md §3, "executed, then the response was lost").
        return kind is OperationKind.IDEMPOTENT or not error.may_have_been_applied

    return decide


@dataclass(frozen=True, kw_only=True)
class StorageRetryPolicy:
    """How often and how patiently a storage operation is tried.

    Args:
        attempts: tries in all, at least 1.
        first_delay: seconds before the second try; later delays grow exponentially (with jitter).
        max_delay: the cap on one delay, in seconds.
    """

    attempts: int = 6
    first_delay: float = 0.1
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        check_int(self.attempts, "retry attempts", low=1, high=100)
        check_seconds(self.max_delay, "retry max_delay", high=3600.0)
        check_seconds(self.first_delay, "retry first_delay", high=self.max_delay)

    async def run(self, kind: OperationKind, operation: Callable[[], Awaitable[T]]) -> T:
        """Await ``operation()`` until it succeeds, fails for good, or the attempts run out (last error raised)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.first_delay, max=self.max_delay),
            retry=retry_if_exception(_worth_retrying(kind)),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await operation()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    _log.debug("storage call failed (%s), try %d of this call; retrying", error, state.attempt_number)


FAST_RETRY = StorageRetryPolicy(attempts=4, first_delay=0.01, max_delay=0.2)
"""A policy for tests: same decisions, tiny delays."""
