"""Non-determinism (issue 4, acceptance 5): code that no longer does what its history recorded fails the execution.

Each golden history under ``golden/`` was written by the original version of an orchestrator; the test replays it
with a changed version and pins the exact failure message, which starts with "Non-Deterministic workflow
detected" and names the sequence id, what history recorded and what the code did. The original version of each
orchestrator replays the same history cleanly, which shows that the history itself is sound.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage.errors import NonDeterminismError
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.replay import replay

from .support import GOLDEN, H, failure_of, load_golden, run

PREFIX = "Non-Deterministic workflow detected"
TEN_O_CLOCK = datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)


# --- the orchestrators as they were (they wrote the golden histories) ----------------------------------------------


def checkout(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    paid = yield context.call_activity("charge_card", order)
    return paid


def checkout_with_receipt(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    yield context.task_all([context.call_activity("charge_card", order), context.call_activity("email_receipt", order)])


def checkout_then_notify(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    yield context.call_activity("notify_warehouse", order)
    return "notified"


def checkout_then_ship(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    shipped = yield context.call_sub_orchestrator("ship_order", order)
    return shipped


def reminder(context: Any) -> Any:
    yield context.call_activity("send_reminder", context.get_input())
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))


def poller(context: Any) -> Any:
    yield context.create_timer(TEN_O_CLOCK)
    yield context.call_activity("poll")


def tally(context: Any) -> Any:
    total = yield context.call_entity(EntityId("Counter", "k1"), "add", 1)
    return total


# --- the same orchestrators, changed while instances were running ---------------------------------------------


def checkout_bills_instead_of_charging(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    paid = yield context.call_activity("bill_card", order)
    return paid


def checkout_texts_the_receipt(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    yield context.task_all([context.call_activity("charge_card", order), context.call_activity("text_receipt", order)])


def reminder_waits_first(context: Any) -> Any:
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    yield context.call_activity("send_reminder", context.get_input())


def poller_polls_first(context: Any) -> Any:
    yield context.call_activity("poll")
    yield context.create_timer(TEN_O_CLOCK)


def checkout_waits_for_approval(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    approved = yield context.wait_for_external_event("approval")
    return approved


def checkout_returns_early(context: Any) -> Any:
    yield context.call_activity("reserve_stock", context.get_input())
    return "reserved"


def checkout_ships_parcels(context: Any) -> Any:
    order = context.get_input()
    yield context.call_activity("reserve_stock", order)
    shipped = yield context.call_sub_orchestrator("ship_parcel", order)
    return shipped


def tally_on_another_key(context: Any) -> Any:
    total = yield context.call_entity(EntityId("Counter", "k2"), "add", 1)
    return total


CHANGED = {
    f.__name__: f
    for f in (
        checkout_bills_instead_of_charging,
        checkout_texts_the_receipt,
        reminder_waits_first,
        poller_polls_first,
        checkout_waits_for_approval,
        checkout_returns_early,
        checkout_ships_parcels,
        tally_on_another_key,
    )
}
ORIGINAL = {
    "activity_renamed": checkout,
    "fan_out_member_renamed": checkout_with_receipt,
    "timer_instead_of_activity": reminder,
    "activity_instead_of_timer": poller,
    "activity_dropped_code_waits": checkout_then_notify,
    "activity_dropped_code_returns": checkout_then_notify,
    "sub_orchestration_renamed": checkout_then_ship,
    "entity_target_changed": tally,
}
GOLDEN_NAMES = sorted(path.stem for path in GOLDEN.glob("*.json"))


def replay_golden(name: str, orchestrator: Any) -> Any:
    golden = load_golden(name)
    return replay(orchestrator, instance_id=golden.instance_id, past_events=golden.past, new_events=golden.new)


# --- the golden histories ---------------------------------------------------------------------------------------


def test_every_golden_history_has_an_original_and_a_changed_orchestrator() -> None:
    assert sorted(ORIGINAL) == GOLDEN_NAMES
    assert sorted(load_golden(name).orchestrator for name in GOLDEN_NAMES) == sorted(CHANGED)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_the_original_orchestrator_replays_its_golden_history_cleanly(name: str) -> None:
    result = replay_golden(name, ORIGINAL[name])

    assert result.completion is None or result.completion.status is OrchestrationRuntimeStatus.Completed


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_a_changed_orchestrator_fails_with_the_pinned_non_determinism_message(name: str) -> None:
    golden = load_golden(name)

    result = replay_golden(name, CHANGED[golden.orchestrator])

    assert result.completion is not None, golden.description
    assert result.completion.status.value == golden.expected["status"]
    details = failure_of(result)
    assert details.error_type == golden.expected["error_type"]
    assert details.error_message == golden.expected["error_message"]


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_every_pinned_message_starts_with_the_df_prefix_and_names_the_sequence_id(name: str) -> None:
    message = load_golden(name).expected["error_message"]

    assert message.startswith(f"{PREFIX}: at sequence ")
    assert "the history recorded" in message and "but the code now" in message


# --- what is not non-determinism, and what cannot be caught ----------------------------------------------------


def test_a_changed_input_at_the_same_sequence_id_is_not_non_determinism() -> None:
    def other_input(context: Any) -> Any:
        value = yield context.call_activity("reserve_stock", {"order": 43})
        return value

    h = H().started("o").scheduled("reserve_stock", {"order": 42}).episode().new().completed(0, "ok")

    result = run(other_input, h)

    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Completed


def test_the_orchestrator_cannot_catch_non_determinism() -> None:
    def catches_everything(context: Any) -> Any:
        try:
            yield context.call_activity("renamed")
        except Exception:
            return "caught"
        return "done"

    h = H().started("o").scheduled("original").episode().new().completed(0)

    details = failure_of(run(catches_everything, h))

    assert details.error_type == NonDeterminismError.__name__
    assert details.error_message.startswith(PREFIX)


def test_non_determinism_ends_the_execution_with_the_next_sequence_id() -> None:
    h = H().started("o").scheduled("reserve_stock").episode().completed(0).scheduled("charge_card")
    h.episode().new().completed(1)

    result = run(checkout_bills_instead_of_charging, h)

    assert result.completion is not None and result.completion.id == 2
