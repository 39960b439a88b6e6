"""The published SDK's objects given to our context, beyond what the compat scenarios can compare with DF 1.7.

The compat scenarios (tests/replay/compat/scenarios/sdk_objects.py) show our engine records what azure-functions-
durable records when an orchestrator is given the SDK's objects. These cover what DF 1.7 has no counterpart for
(``lock_entities``, our ``timeout`` extension), where it is wrong on purpose (a renamed v2 function), and the errors.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as adf
import azure.functions as func
import pytest

from durable_storage import EntityId, ManagedIdentityTokenSource, RetryOptions
from durable_storage.models import entity_id_of, retry_options_of
from durable_storage.replay import CreateSubOrchestrationAction, ScheduleTaskAction, SendEventAction

from .support import H, failure_of, run

sdk_app = adf.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@sdk_app.function_name("Hello")
@sdk_app.activity_trigger(input_name="city")
def hello(city: str) -> str:
    return city


@sdk_app.activity_trigger(input_name="city", activity="Goodbye")
def goodbye(city: str) -> str:
    return city


@sdk_app.orchestration_trigger(context_name="context", orchestration="Child")
def child(context: Any) -> Any:
    return None
    yield


def test_a_renamed_v2_function_is_called_by_the_name_the_host_registers() -> None:
    # DF 1.7 sends the Python name ("hello", "goodbye", "child"), which the host never registered: such a call
    # fails under the Functions host. We send the registered name, so the call reaches its function.
    def orchestrator(context: Any) -> Any:
        yield context.task_all(
            [context.call_activity(hello, 1), context.call_activity(goodbye, 2), context.call_sub_orchestrator(child)]
        )

    actions = run(orchestrator, H().new().started("o")).actions

    assert [(type(a), a.name) for a in actions] == [
        (ScheduleTaskAction, "Hello"),
        (ScheduleTaskAction, "Goodbye"),
        (CreateSubOrchestrationAction, "Child"),
    ]


def test_lock_entities_takes_the_sdks_entity_ids() -> None:
    def orchestrator(context: Any) -> Any:
        with (yield context.lock_entities(adf.EntityId("Counter", "b"), [adf.EntityId("Counter", "a")])):
            pass

    (lock,) = run(orchestrator, H().new().started("o")).actions

    assert isinstance(lock, SendEventAction) and lock.instance_id == "@counter@a"
    assert [e["key"] for e in json.loads(lock.input or "")["lockset"]] == ["a", "b"]


def test_call_http_writes_our_timeout_as_a_dotnet_timespan() -> None:
    def orchestrator(context: Any) -> Any:
        yield context.call_http("GET", "https://example.com", timeout=timedelta(minutes=2, milliseconds=500))

    (action,) = run(orchestrator, H().new().started("o")).actions

    assert json.loads(action.input or "")["timeout"] == "00:02:00.5000000"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.call_activity_with_retry("a", {"first": 1}), "retry_options of type dict is invalid"),
        (lambda c: c.call_entity(("Counter", "k"), "add"), "entity ('Counter', 'k') is invalid"),
        (lambda c: c.call_http("GET", "https://x", token_source="token"), "token_source of type str is invalid"),
        (lambda c: c.call_http("GET", "https://x", headers={"X": 1}), "HTTP header 'X' value 1 is invalid"),
        (lambda c: c.call_http("GET", "https://x", timeout=5), "timeout 5 is invalid"),
        (lambda c: c.call_activity_with_retry("a", adf.RetryOptions(100, 0)), "max_number_of_attempts 0 is invalid"),
    ],
)
def test_a_wrong_object_fails_the_orchestration_naming_it_and_what_is_allowed(call: Any, message: str) -> None:
    def orchestrator(context: Any) -> Any:
        yield call(context)

    failure = failure_of(run(orchestrator, H().new().started("o")))

    assert failure.error_type == "ValueError"
    assert message in failure.error_message


def test_the_sdks_values_convert_to_ours() -> None:
    assert retry_options_of(adf.RetryOptions(250, 4)).to_json() == RetryOptions(250, 4).to_json()
    assert entity_id_of(adf.EntityId("Counter", "k")) == EntityId("counter", "k")
    assert EntityId("Counter", "k") == adf.EntityId("counter", "k")  # the same scheduler ID, the same entity
    assert ManagedIdentityTokenSource("https://r/").to_json() == adf.ManagedIdentityTokenSource("https://r/").to_json()
