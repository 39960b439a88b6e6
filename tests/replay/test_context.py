"""The context's own surface: identity, input, replay flag, deterministic ids and the replay-safe logger.

``new_uuid`` and ``new_guid`` must be byte-exact with azure-functions-durable (python-api.md §1.3): the expected
values below are computed from the documented algorithm, not taken from the engine.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage.models import EntityId, RetryOptions

from .support import H, output_of, run

DF_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
INSTANCE = "48d0f95957504c2fa579e810a390b938"
STARTED = datetime(2019, 12, 8, 23, 18, 41, 324092, tzinfo=timezone.utc)
LATER = STARTED + timedelta(minutes=5, microseconds=17)


def df_new_uuid(instance_id: str, now: datetime, counter: int) -> str:
    """azure-functions-durable's new_uuid: uuid5 of the instance, the time with 'Z' and the call counter."""
    return str(uuid.uuid5(DF_UUID_NAMESPACE, f"{instance_id}_{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{counter}"))


def df_new_guid(instance_id: str, now: datetime, counter: int) -> uuid.UUID:
    """azure-functions-durable's new_guid: uuid5 in the URL namespace, with str(datetime) for the time."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{instance_id}_{now}_{counter}")


# --- identity and input -----------------------------------------------------------------------------------------


def identity(context: Any) -> Any:
    return {
        "instance_id": context.instance_id,
        "parent_instance_id": context.parent_instance_id,
        "version": context.version,
        "input": context.get_input(),
    }


def test_a_top_level_orchestration_knows_its_instance_id_and_has_no_parent() -> None:
    output = output_of(run(identity, H("order-42").new().started("identity", input={"qty": 3}, version="1.0")))

    assert output == {"instance_id": "order-42", "parent_instance_id": None, "version": "1.0", "input": {"qty": 3}}


def test_a_sub_orchestration_reads_its_parent_instance_id_from_execution_started() -> None:
    h = H("order-42:0003").new().started("identity", parent=("order-42", "parent-execution", 3))

    assert output_of(run(identity, h))["parent_instance_id"] == "order-42"


def test_an_execution_started_without_a_version_gives_none() -> None:
    assert output_of(run(identity, H().new().started("identity", version=None)))["version"] is None


def test_get_input_decodes_the_raw_input_text() -> None:
    h = H().new().started("identity", raw_input='[1, "two", {"three": 3.0}]')

    assert output_of(run(identity, h))["input"] == [1, "two", {"three": 3.0}]


def test_get_input_is_none_without_input() -> None:
    assert output_of(run(identity, H().new().started("identity")))["input"] is None


# --- azure-functions-durable 1.7 signatures -------------------------------------------------------------------

TWICE = RetryOptions(1000, 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.call_activity("a", 1, expected_type=int),
        lambda c: c.call_activity_with_retry("a", TWICE, 1, expected_type=int),
        lambda c: c.call_sub_orchestrator("child", 1, "c", expected_type=int),
        lambda c: c.call_sub_orchestrator_with_retry("child", TWICE, 1, "c", expected_type=int),
        lambda c: c.wait_for_external_event("e", expected_type=int),
        lambda c: c.call_entity(EntityId("counter", "k"), "get", expected_type=int),
        lambda c: c.get_input(expected_type=int),
    ],
    ids=["call_activity", "with_retry", "sub_orchestrator", "sub_with_retry", "event", "call_entity", "get_input"],
)
def test_the_expected_type_keyword_of_durable_functions_1_7_is_accepted(call: Any) -> None:
    # python-api.md §1.2: 1.7 added expected_type to every call that decodes a payload; code written for it must
    # run unchanged.
    def orchestrator(context: Any) -> str:
        call(context)
        return "accepted"

    assert output_of(run(orchestrator, H().new().started("o", input=1))) == "accepted"


# --- is_replaying -----------------------------------------------------------------------------------------------


def observe_replaying(context: Any) -> Any:
    seen = [context.is_replaying]
    yield context.call_activity("a")
    seen.append(context.is_replaying)
    yield context.call_activity("b")
    seen.append(context.is_replaying)
    return seen


def test_is_replaying_is_false_in_the_first_episode() -> None:
    def first(context: Any) -> Any:
        return context.is_replaying

    assert output_of(run(first, H().new().started("first"))) is False


def test_is_replaying_is_true_over_past_events_and_false_from_the_first_new_one() -> None:
    h = H().started("o").scheduled("a").episode().completed(0).scheduled("b").episode().new().completed(1)

    assert output_of(run(observe_replaying, h)) == [True, True, False]


def test_is_replaying_is_true_throughout_when_every_event_is_past() -> None:
    h = H().started("o").scheduled("a").episode().completed(0).scheduled("b").episode().completed(1)

    assert output_of(run(observe_replaying, h)) == [True, True, True]


# --- new_uuid and new_guid --------------------------------------------------------------------------------------


def ids(context: Any) -> Any:
    first = [context.new_uuid(), str(context.new_guid()), context.new_uuid()]
    yield context.call_activity("a")
    return [*first, context.new_uuid()]


def uuid_history() -> H:
    h = H(INSTANCE, start=STARTED).started("ids").scheduled("a")
    return h.orchestrator_completed().orchestrator_started(LATER).new().completed(0)


def test_the_new_uuid_namespace_is_the_documented_one() -> None:
    assert str(DF_UUID_NAMESPACE) == "5bf3dc27-d91d-5ea7-9c3e-9f1f2ae7c309"


def test_new_uuid_and_new_guid_match_durable_functions_and_share_one_counter() -> None:
    assert output_of(run(ids, uuid_history())) == [
        df_new_uuid(INSTANCE, STARTED, 0),
        str(df_new_guid(INSTANCE, STARTED, 1)),
        df_new_uuid(INSTANCE, STARTED, 2),
        df_new_uuid(INSTANCE, LATER, 3),
    ]


def test_new_guid_returns_a_uuid_object() -> None:
    def guid(context: Any) -> Any:
        return type(context.new_guid()).__name__

    assert output_of(run(guid, H().new().started("guid"))) == "UUID"


def test_new_uuid_gives_the_same_values_live_and_on_replay() -> None:
    seen: list[list[str]] = []

    def record(context: Any) -> Any:
        values = [context.new_uuid(), context.new_uuid()]
        seen.append(values)
        yield context.call_activity("a", values)

    run(record, H(INSTANCE, start=STARTED).new().started("record"))
    run(record, H(INSTANCE, start=STARTED).started("record").scheduled("a").episode().new().event_raised("x"))

    assert seen[0] == seen[1] == [df_new_uuid(INSTANCE, STARTED, 0), df_new_uuid(INSTANCE, STARTED, 1)]


def test_new_uuid_differs_between_instances() -> None:
    def one(context: Any) -> str:
        return context.new_uuid()

    assert output_of(run(one, H("a").new().started("one"))) != output_of(run(one, H("b").new().started("one")))


# --- the replay-safe logger -------------------------------------------------------------------------------------

LOGGER = "tests.replay.orders"


def logging_orchestrator(context: Any) -> Any:
    log = context.create_replay_safe_logger(logging.getLogger(LOGGER))
    log.info("starting %s", context.instance_id)
    yield context.call_activity("a")
    log.info("a done")
    yield context.call_activity("b")
    log.warning("b done")


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_the_replay_safe_logger_logs_in_the_first_episode(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)

    run(logging_orchestrator, H("order-1").new().started("o"))

    assert logged(caplog) == ["starting order-1"]


def test_the_replay_safe_logger_is_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    h = H("order-1").started("o").scheduled("a").episode().completed(0).scheduled("b").episode().new().completed(1)

    run(logging_orchestrator, h)

    assert logged(caplog) == ["b done"]


def test_the_replay_safe_logger_keeps_the_level_and_logger_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    h = H("order-1").started("o").scheduled("a").episode().completed(0).scheduled("b").episode().new().completed(1)

    run(logging_orchestrator, h)

    assert [(r.name, r.levelno) for r in caplog.records if r.name == LOGGER] == [(LOGGER, logging.WARNING)]
