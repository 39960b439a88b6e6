"""Activities: what each episode schedules, with which sequence id, and how payloads travel (python-api.md §1.2-§1.4).

Sequence ids follow DTFx (storage-layout.md §4): one counter from 0, a task takes its id when it is first yielded,
and an episode returns only the actions history does not hold yet.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import HTTP_ACTIVITY, Completion, ScheduleTaskAction
from durable_storage.testing import run_orchestrator
from tests.user_types import Point, point_json

from .support import H, failure_of, output_of, run


def hello_cities(context: Any) -> Any:
    r1 = yield context.call_activity("say_hello", "Tokyo")
    r2 = yield context.call_activity("say_hello", "Seattle")
    r3 = yield context.call_activity("say_hello", "London")
    return [r1, r2, r3]


# --- the sequence, episode by episode ---------------------------------------------------------------------------


def test_the_first_episode_schedules_the_first_activity_with_sequence_id_0() -> None:
    result = run(hello_cities, H().new().started("hello_cities"))

    assert result.actions == [ScheduleTaskAction(id=0, name="say_hello", input='"Tokyo"')]
    assert result.completion is None


def test_each_later_episode_returns_only_the_new_activity_with_the_next_sequence_id() -> None:
    h = H().started("hello_cities").scheduled("say_hello", "Tokyo")

    second = run(hello_cities, h.episode().new().completed(0, "Hello Tokyo!"))
    h.scheduled("say_hello", "Seattle")
    third = run(hello_cities, h.episode().new().completed(1, "Hello Seattle!"))

    assert second.actions == [ScheduleTaskAction(id=1, name="say_hello", input='"Seattle"')]
    assert third.actions == [ScheduleTaskAction(id=2, name="say_hello", input='"London"')]
    assert [a.id for a in third.all_actions] == [0, 1, 2]


def test_the_last_episode_completes_with_the_output_and_the_next_sequence_id() -> None:
    h = H().started("hello_cities")
    h.activity_completed("say_hello", "Hello Tokyo!", input="Tokyo")
    h.activity_completed("say_hello", "Hello Seattle!", input="Seattle")
    h.activity_completed("say_hello", "Hello London!", input="London")

    result = run_orchestrator(hello_cities, h)

    assert result.actions == []
    assert result.replay.completion == Completion(
        id=3,
        status=OrchestrationRuntimeStatus.Completed,
        output=json.dumps(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
    )


def test_an_episode_with_no_new_completion_schedules_nothing_new() -> None:
    h = H().started("hello_cities").scheduled("say_hello", "Tokyo").episode().new().event_raised("unrelated", 1)

    result = run(hello_cities, h)

    assert result.actions == []
    assert result.all_actions == [ScheduleTaskAction(id=0, name="say_hello", input='"Tokyo"')]
    assert result.completion is None


def test_a_plain_function_orchestrator_completes_at_once_with_its_return_value() -> None:
    def plain(context: Any) -> str:
        return f"input was {context.get_input()}"

    result = run(plain, H().new().started("plain", input=7))

    assert result.completion == Completion(id=0, status=OrchestrationRuntimeStatus.Completed, output='"input was 7"')


def test_returning_none_completes_without_output() -> None:
    def nothing(context: Any) -> Any:
        yield context.call_activity("a")

    result = run_orchestrator(nothing, H().started("nothing").activity_completed("a"))

    assert result.replay.completion == Completion(id=1, status=OrchestrationRuntimeStatus.Completed, output=None)
    assert (result.status, result.output) == (OrchestrationRuntimeStatus.Completed, None)


# --- ids are taken when a task is yielded ---------------------------------------------------------------------


def test_a_task_created_but_never_yielded_takes_no_sequence_id_and_schedules_nothing() -> None:
    def forgetful(context: Any) -> Any:
        context.call_activity("never_yielded")
        result = yield context.call_activity("used")
        return result

    result = run(forgetful, H().new().started("forgetful"))

    assert result.actions == [ScheduleTaskAction(id=0, name="used", input="null")]


def test_ids_follow_the_order_tasks_are_yielded_not_the_order_they_were_created() -> None:
    def reordered(context: Any) -> Any:
        late = context.call_activity("created_first")
        early = context.call_activity("created_second")
        yield early
        yield late

    h = H().started("reordered").scheduled("created_second").episode().new().completed(0)

    assert run(reordered, h).actions == [ScheduleTaskAction(id=1, name="created_first", input="null")]


def test_yielding_a_completed_task_again_returns_its_result_without_a_new_action() -> None:
    def twice(context: Any) -> Any:
        task = context.call_activity("a")
        first = yield task
        second = yield task
        after = yield context.call_activity("b")
        return [first, second, after]

    h = H().started("twice").scheduled("a").episode().new().completed(0, "x")
    waiting = run(twice, h)
    h.scheduled("b").episode().new().completed(1, "y")

    assert waiting.actions == [ScheduleTaskAction(id=1, name="b", input="null")]
    assert output_of(run(twice, h)) == ["x", "x", "y"]


# --- payloads ---------------------------------------------------------------------------------------------------


def test_the_activity_input_is_json_text_with_python_default_separators() -> None:
    def send(context: Any) -> Any:
        yield context.call_activity("a", {"items": [1, 2], "name": "ü", "none": None})

    (action,) = run(send, H().new().started("send")).actions

    assert action.input == '{"items": [1, 2], "name": "\\u00fc", "none": null}'


def test_an_activity_result_reaches_the_code_decoded_from_json() -> None:
    def echo(context: Any) -> Any:
        value = yield context.call_activity("a")
        return {"type": type(value).__name__, "value": value}

    h = H().started("echo").scheduled("a").episode().new().completed(0, {"n": [1, 2.5, None, True]})

    assert output_of(run(echo, h)) == {"type": "dict", "value": {"n": [1, 2.5, None, True]}}


def test_a_custom_object_input_is_encoded_with_its_class_module_and_to_json_data() -> None:
    def send(context: Any) -> Any:
        yield context.call_activity("move", Point(1, 2))

    (action,) = run(send, H().new().started("send")).actions

    assert json.loads(action.input) == point_json(1, 2)


def test_a_custom_object_result_is_rebuilt_through_from_json() -> None:
    def receive(context: Any) -> Any:
        point = yield context.call_activity("move")
        return isinstance(point, Point) and point == Point(3, 4)

    h = H().started("receive").scheduled("move").episode().new().completed(0, Point(3, 4))

    assert output_of(run(receive, h)) is True


def test_with_expected_type_a_custom_result_decodes_without_its_module_being_loaded() -> None:
    # azure-functions-durable 1.7's expected_type: the class given decodes the payload; no module lookup.
    def typed(context: Any) -> Any:
        point = yield context.call_activity("move", None, expected_type=Point)
        return point == Point(5, 6)

    from_elsewhere = {"__class__": "Point", "__module__": "app.not_loaded", "__data__": {"x": 5, "y": 6}}
    h = H().started("typed").scheduled("move").episode().new().completed(0, from_elsewhere)

    assert output_of(run(typed, h)) is True


def test_without_expected_type_a_custom_result_of_a_module_not_loaded_fails_the_task() -> None:
    # Payloads never make the worker import a module (durable_storage._json): the task fails instead.
    def untyped(context: Any) -> Any:
        point = yield context.call_activity("move")
        return point

    from_elsewhere = {"__class__": "Point", "__module__": "app.not_loaded", "__data__": {"x": 5, "y": 6}}
    h = H().started("untyped").scheduled("move").episode().new().completed(0, from_elsewhere)

    assert failure_of(run(untyped, h)).error_type == "MessageFormatError"


def test_custom_objects_travel_in_the_orchestration_input_and_output() -> None:
    def shift(context: Any) -> Point:
        point = context.get_input()
        return Point(point.x + 1, point.y + 1)

    result = run(shift, H().new().started("shift", input=Point(1, 1)))

    assert output_of(result) == point_json(2, 2)


# --- how activities are named -----------------------------------------------------------------------------------


def test_call_activity_with_a_callable_that_is_not_a_registered_activity_raises_value_error() -> None:
    def not_an_activity(value: Any) -> Any:
        return value

    def orchestrator(context: Any) -> Any:
        try:
            context.call_activity(not_an_activity, 1)
        except ValueError as error:
            return f"ValueError: {error}"
        yield context.call_activity("unreachable")

    output = output_of(run(orchestrator, H().new().started("orchestrator")))

    assert output.startswith("ValueError: The `call_activity` API received")


def test_an_unregistered_callable_left_unhandled_fails_the_orchestration_with_value_error() -> None:
    def orchestrator(context: Any) -> Any:
        yield context.call_activity(print)

    assert failure_of(run(orchestrator, H().new().started("orchestrator"))).error_type == "ValueError"


# --- call_http is an activity the worker runs itself ------------------------------------------------------------


def test_call_http_schedules_the_built_in_http_activity_with_the_request_as_json() -> None:
    def fetch(context: Any) -> Any:
        response = yield context.call_http("POST", "https://example.com/api", {"q": 1}, {"X-Trace": "t"})
        return response["statusCode"]

    h = H().new().started("fetch")
    (action,) = run(fetch, h).actions
    h.scheduled(HTTP_ACTIVITY).episode().new().completed(0, {"statusCode": 202, "headers": {}, "content": ""})

    assert (action.id, action.name) == (0, HTTP_ACTIVITY)
    assert json.loads(action.input) == {
        "method": "POST",
        "uri": "https://example.com/api",
        "content": '{"q": 1}',
        "headers": {"X-Trace": "t"},
    }  # no tokenSource key without a token source, as azure-functions-durable 1.7 writes it
    assert output_of(run(fetch, h)) == 202


@pytest.mark.parametrize(
    ("content", "is_raw_str", "sent"),
    [("plain text", False, '"plain text"'), ("plain text", True, "plain text"), (None, False, None)],
)
def test_call_http_json_encodes_a_str_body_unless_it_is_raw_as_in_durable_functions_1_7(
    content: str | None, is_raw_str: bool, sent: str | None
) -> None:
    def fetch(context: Any) -> Any:
        yield context.call_http("PUT", "https://example.com", content, is_raw_str=is_raw_str)

    (action,) = run(fetch, H().new().started("fetch")).actions

    assert json.loads(action.input)["content"] == sent


def test_call_http_with_is_raw_str_and_a_non_str_body_raises_type_error() -> None:
    def fetch(context: Any) -> Any:
        yield context.call_http("PUT", "https://example.com", {"not": "a str"}, is_raw_str=True)

    assert failure_of(run(fetch, H().new().started("fetch"))).error_type == "TypeError"
