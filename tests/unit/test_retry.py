"""Retry decisions: idempotent calls retry transient failures; conditional writes only when surely not applied."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from durable_storage._storage.errors import translate
from durable_storage.errors import ConfigurationError, ConflictError, TransientStorageError
from durable_storage.retry import FAST_RETRY, OperationKind, StorageRetryPolicy


class Flaky:
    """Fails with ``errors`` in turn, then returns "done"; counts the calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def busy() -> TransientStorageError:
    return TransientStorageError("queue q: 503 ServerBusy", status=503, may_have_been_applied=False)


def lost_response() -> TransientStorageError:
    return TransientStorageError("table t: no usable response", may_have_been_applied=True)


async def test_an_idempotent_call_is_retried_through_transient_failures() -> None:
    operation = Flaky(busy(), lost_response())
    assert await FAST_RETRY.run(OperationKind.IDEMPOTENT, operation) == "done"
    assert operation.calls == 3


async def test_a_conditional_write_is_resent_when_the_service_surely_did_nothing() -> None:
    operation = Flaky(busy())
    assert await FAST_RETRY.run(OperationKind.CONDITIONAL, operation) == "done"
    assert operation.calls == 2


async def test_a_conditional_write_whose_response_was_lost_is_not_resent() -> None:
    operation = Flaky(lost_response())
    with pytest.raises(TransientStorageError) as caught:
        await FAST_RETRY.run(OperationKind.CONDITIONAL, operation)
    assert caught.value.may_have_been_applied
    assert operation.calls == 1


async def test_a_lost_race_is_never_retried() -> None:
    operation = Flaky(ConflictError("table t: 412 UpdateConditionNotSatisfied", status=412))
    with pytest.raises(ConflictError):
        await FAST_RETRY.run(OperationKind.IDEMPOTENT, operation)
    assert operation.calls == 1


async def test_the_last_error_surfaces_when_attempts_run_out() -> None:
    policy = StorageRetryPolicy(attempts=3, first_delay=0, max_delay=0)
    operation = Flaky(busy(), busy(), busy(), busy())
    with pytest.raises(TransientStorageError, match="503 ServerBusy"):
        await policy.run(OperationKind.IDEMPOTENT, operation)
    assert operation.calls == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attempts": 0}, "retry attempts 0 is invalid: must be an integer, 1 to 100"),
        ({"attempts": True}, "retry attempts True is invalid"),
        ({"attempts": "3"}, "retry attempts '3' is invalid: must be an integer"),
        (
            {"first_delay": 2.0, "max_delay": 1.0},
            "retry first_delay 2.0 is invalid: must be a finite number of seconds, 0 to 1",
        ),
        ({"first_delay": -1.0}, "retry first_delay -1.0 is invalid: must be a finite number of seconds, 0 to 8"),
        ({"max_delay": float("inf")}, "retry max_delay inf is invalid: must be a finite number of seconds"),
        ({"first_delay": None}, "retry first_delay None is invalid"),
    ],
)
def test_a_bad_policy_is_refused_with_the_rule(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StorageRetryPolicy(**options)  # type: ignore[arg-type]


def test_a_request_that_never_left_is_safe_to_resend_but_a_lost_response_is_not() -> None:
    unsent = translate(ServiceRequestError("Cannot connect to host 127.0.0.1:1"), "queue q")
    lost = translate(ServiceResponseError("Connection reset by peer"), "table t")

    assert isinstance(unsent, TransientStorageError) and not unsent.may_have_been_applied
    assert isinstance(lost, TransientStorageError) and lost.may_have_been_applied
    assert str(unsent) == "queue q: could not reach the storage service (ServiceRequestError)"
