"""Custom status: the value published with the instance's status, under Durable Functions' falsy rule.

azure-functions-durable sends the custom status only when it is truthy (``if self._custom_status:``,
python-api.md §1.2), so 0, "", {} and [] publish nothing. The value is the last one set in the whole replay.
"""

from __future__ import annotations

from typing import Any

import pytest

from .support import H, run


def publish(*statuses: Any) -> Any:
    def orchestrator(context: Any) -> Any:
        for status in statuses:
            context.set_custom_status(status)
        yield context.wait_for_external_event("never")

    return orchestrator


@pytest.mark.parametrize(
    ("status", "published"),
    [
        ("working", '"working"'),
        ({"stage": 2, "of": [1, 2, 3]}, '{"stage": 2, "of": [1, 2, 3]}'),
        (1, "1"),
        (True, "true"),
    ],
)
def test_a_truthy_custom_status_is_published_as_json(status: Any, published: str) -> None:
    assert run(publish(status), H().new().started("o")).custom_status == published


@pytest.mark.parametrize("status", [0, "", {}, [], None, False])
def test_a_falsy_custom_status_publishes_nothing(status: Any) -> None:
    assert run(publish(status), H().new().started("o")).custom_status is None


def test_the_last_value_set_wins_even_when_it_is_falsy() -> None:
    assert run(publish("working", "done"), H().new().started("o")).custom_status == '"done"'
    assert run(publish("working", ""), H().new().started("o")).custom_status is None


def test_the_custom_status_property_returns_the_value_as_set() -> None:
    def read_back(context: Any) -> Any:
        context.set_custom_status({"n": 1})
        return context.custom_status

    assert run(read_back, H().new().started("o")).completion.output == '{"n": 1}'  # type: ignore[union-attr]


def test_a_status_set_before_a_replayed_step_is_still_published() -> None:
    def early(context: Any) -> Any:
        context.set_custom_status("set while replaying")
        yield context.call_activity("a")
        yield context.call_activity("b")

    h = H().started("early").scheduled("a").episode().new().completed(0)

    assert run(early, h).custom_status == '"set while replaying"'


def test_a_custom_status_that_is_not_json_serializable_fails_the_orchestration() -> None:
    # replay() never raises for what the orchestrator does: this ends as Failed, like an unserializable output.
    def bad_status(context: Any) -> Any:
        context.set_custom_status({1, 2})
        yield context.call_activity("a")

    result = run(bad_status, H().new().started("o"))

    assert result.completion is not None
    assert result.completion.failure_details is not None
    assert result.completion.failure_details.error_type == "TypeError"


def test_the_custom_status_is_published_with_the_completion() -> None:
    def finish(context: Any) -> str:
        context.set_custom_status("finished")
        return "output"

    result = run(finish, H().new().started("o"))

    assert (result.custom_status, result.completion is not None) == ('"finished"', True)
