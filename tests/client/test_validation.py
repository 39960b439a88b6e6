"""Bad arguments are refused before anything is written (reliability.md §4.4), with errors naming value and rule.

Checked two ways: a client whose hub does not exist yet must not even create it, and on an existing hub every
queue and table stays empty. Naive datetimes are refused, never read as UTC or as local time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage import ConfigurationError, DurableOrchestrationClient, InvalidNameError
from durable_storage.client._pages import decode_token
from durable_storage.client._validation import check_aware, runtime_statuses
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name

from .support import queue_depths, table_rows

NAIVE = datetime(2026, 1, 1, 12, 0)
AWARE = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
LONG_ID = "/" * 300  # 300 characters, 600 once escaped: 1,200 bytes of UTF-16, over the 1 KiB key limit

Call = Callable[[DurableOrchestrationClient], Awaitable[Any]]


class Unserializable:
    """No to_json: not a payload."""


BAD_CALLS: list[tuple[str, Call, type[Exception], str]] = [
    ("empty name", lambda c: c.start_new(""), ConfigurationError, r"orchestration_function_name '' .*non-empty str"),
    ("empty id", lambda c: c.start_new("o", ""), InvalidNameError, r"instance ID '' is invalid: must not be empty"),
    ("long id", lambda c: c.start_new("o", LONG_ID), InvalidNameError, r"1200 bytes in UTF-16, must be at most 1024"),
    ("id not str", lambda c: c.start_new("o", 42), InvalidNameError, r"instance ID 42 is invalid: must be a str"),
    ("object input", lambda c: c.start_new("o", "i", Unserializable()), ConfigurationError, r"client_input .*JSON"),
    ("nan input", lambda c: c.start_new("o", "i", float("nan")), ConfigurationError, r"client_input nan .*JSON"),
    ("naive start_at", lambda c: c.start_new("o", "i", start_at=NAIVE), ConfigurationError, r"start_at .*aware"),
    ("version", lambda c: c.start_new("o", "i", version=2), ConfigurationError, r"version 2 .*str or None"),
    ("empty event", lambda c: c.raise_event("i", ""), ConfigurationError, r"event_name '' .*non-empty str"),
    ("event data", lambda c: c.raise_event("i", "e", {1, 2}), ConfigurationError, r"event_data \{1, 2\} .*JSON"),
    ("raise id", lambda c: c.raise_event("", "e"), InvalidNameError, r"must not be empty"),
    ("reason", lambda c: c.terminate("i", 7), ConfigurationError, r"reason 7 is invalid: must be a str or None"),
    ("suspend id", lambda c: c.suspend("", "r"), InvalidNameError, r"must not be empty"),
    ("resume id", lambda c: c.resume(LONG_ID, "r"), InvalidNameError, r"at most 1024"),
    ("rewind reason", lambda c: c.rewind("i", ["r"]), ConfigurationError, r"reason \['r'\] .*str or None"),
    (
        "negative timeout",
        lambda c: c.wait_for_completion("i", timeout=-1),
        ConfigurationError,
        r"timeout -1 .*at least 0",
    ),
    ("nan timeout", lambda c: c.wait_for_completion("i", timeout=float("nan")), ConfigurationError, r"timeout nan"),
    ("poll 0", lambda c: c.wait_for_completion("i", poll_interval=0), ConfigurationError, r"greater than 0"),
    ("status flag", lambda c: c.get_status("i", show_input="yes"), ConfigurationError, r"show_input 'yes'"),
    ("history id", lambda c: c.get_history(""), InvalidNameError, r"must not be empty"),
    ("naive from", lambda c: c.get_status_by(created_time_from=NAIVE), ConfigurationError, r"created_time_from"),
    ("naive to", lambda c: c.get_status_by(created_time_to=NAIVE), ConfigurationError, r"created_time_to .*aware"),
    ("status", lambda c: c.get_status_by(runtime_status=["Done"]), ConfigurationError, r"'Done' .*one of Running"),
    ("status type", lambda c: c.get_status_by(runtime_status=7), ConfigurationError, r"runtime_status 7 .*a list"),
    ("prefix", lambda c: c.get_status_by(instance_id_prefix=5), ConfigurationError, r"instance_id_prefix 5"),
    ("restart flag", lambda c: c.restart("i", "no"), ConfigurationError, r"restart_with_new_instance_id 'no'"),
    ("purge id", lambda c: c.purge_instance_history(""), InvalidNameError, r"must not be empty"),
    # Entity IDs are '@name@key': an orchestration under such an ID would be taken for an entity and never run.
    ("@ start", lambda c: c.start_new("o", "@x@", 1), InvalidNameError, r"'@x@' is invalid: must not start with '@'"),
    ("@ entity", lambda c: c.start_new("o", "@counter@victim"), InvalidNameError, r"'@counter@victim' .*entity"),
    ("@@ start", lambda c: c.start_new("o", "@@"), InvalidNameError, r"'@@' is invalid: must not start with '@'"),
    ("@ scheduled", lambda c: c.start_new("o", "@x@", start_at=AWARE), InvalidNameError, r"'@x@'"),
    ("@ restart", lambda c: c.restart("@x@", False), InvalidNameError, r"'@x@' is invalid"),
    ("@ raise", lambda c: c.raise_event("@counter@k", "op", {}), InvalidNameError, r"'@counter@k' is invalid"),
    ("@ terminate", lambda c: c.terminate("@x@", "r"), InvalidNameError, r"'@x@' is invalid"),
    ("@ suspend", lambda c: c.suspend("@x@", "r"), InvalidNameError, r"'@x@' is invalid"),
    ("@ resume", lambda c: c.resume("@x@", "r"), InvalidNameError, r"'@x@' is invalid"),
    ("@ rewind", lambda c: c.rewind("@x@", "r"), InvalidNameError, r"'@x@' is invalid"),
    ("purge naive", lambda c: c.purge_instance_history_by(NAIVE), ConfigurationError, r"created_time_from .*aware"),
    ("purge none", lambda c: c.purge_instance_history_by(None), ConfigurationError, r"created_time_from None"),
    (
        "purge status",
        lambda c: c.purge_instance_history_by(AWARE, runtime_status=["Finished"]),
        ConfigurationError,
        r"'Finished'",
    ),
]


async def first_page(client: DurableOrchestrationClient, **kwargs: Any) -> Any:
    async for page in client.list_instances(**kwargs).by_page():
        return page
    return None


BAD_CALLS += [
    ("page size", lambda c: first_page(c, page_size=0), ConfigurationError, r"page_size 0 .*1 to 1000"),
    ("entities flag", lambda c: first_page(c, include_entities=1), ConfigurationError, r"include_entities 1"),
]


@pytest.fixture
async def unborn(connection_string: str) -> AsyncIterator[DurableOrchestrationClient]:
    """A client of a hub that does not exist yet."""
    client = DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=unique_hub_name(), retry=FAST_RETRY
    )
    async with client:
        try:
            yield client
        finally:
            await client.task_hub.delete()


@pytest.mark.parametrize(("call", "error", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
async def test_bad_arguments_are_refused_before_the_hub_is_even_created(
    unborn: DurableOrchestrationClient, call: Call, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await call(unborn)

    info = await unborn.task_hub.info()
    assert not info.exists
    assert not any(info.tables.values()) and set(info.queues.values()) == {None}


async def test_on_an_existing_hub_bad_arguments_leave_every_queue_and_table_empty(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    for _, call, error, _ in BAD_CALLS:
        with pytest.raises(error):
            await call(client)

    assert set(await queue_depths(hub)) == {0}
    assert await table_rows(hub, "Instances") == 0 and await table_rows(hub, "History") == 0


def test_a_foreign_continuation_token_is_refused_without_echoing_it() -> None:
    for token in ("not base64!", "eyJhIjogMX0=", "W10="):
        with pytest.raises(ConfigurationError, match="continuation_token is invalid") as caught:
            decode_token(token)
        assert token not in str(caught.value)


def test_datetimes_with_any_offset_are_accepted_as_aware() -> None:
    tokyo = datetime(2026, 1, 1, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    assert check_aware(tokyo, "t") == tokyo
    assert runtime_statuses("Running") == runtime_statuses(["Running", "Running"])
